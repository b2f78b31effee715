from __future__ import annotations

from pathlib import Path

import pytest

from dialogs.catalogue import Catalogue, CatalogueError
from dialogs.engine import Engine
from dialogs.events import Message
from dialogs.flow import load_flows
from dialogs.lint import flow_message_keys
from ledger.operations import OUTCOME_CODES


def test_every_flow_message_and_outcome_exists_in_both_languages() -> None:
    catalogue = Catalogue.load()
    wanted = {f"outcome.{code}" for code in OUTCOME_CODES}
    for flow in load_flows().values():
        wanted |= flow_message_keys(flow)
    assert wanted <= catalogue.keys()
    assert Engine(load_flows())  # and the flows load


def test_parameters_are_formatted_by_name() -> None:
    catalogue = Catalogue.load()
    message = Message("topup.confirm", {"msisdn": "8613900000001", "amount_fen": 5050})
    assert catalogue.text("zh-CN", message) == "为13900000001充值50.50元，确认吗？"
    assert catalogue.text("en", message) == "Top up 13900000001 with CNY 50.50?"


def test_languages_must_agree(tmp_path: Path) -> None:
    (tmp_path / "zh-CN.yaml").write_text("a: '{x}'\nb: b\n", encoding="utf-8")
    (tmp_path / "en.yaml").write_text("a: '{y}'\nb: b\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="placeholders differ"):
        Catalogue.load(tmp_path)
    (tmp_path / "en.yaml").write_text("a: '{x}'\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"keys not in both languages: \['b'\]"):
        Catalogue.load(tmp_path)
