"""Which phone gets a SIM: profiles by number in the directory (or under another name),
provisioned in memory, the program in the profile's language; counters kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from channels.stk.compiler import STK_FLOW, compile_program
from dialogs.catalogue import Catalogue
from dialogs.flow import load_flows
from simulator.stk import SimProfile, save_profile
from simulator.stk.store import SimStore

KIC = "000102030405060708090a0b0c0d0e0f"
KID = "101112131415161718191a1b1c1d1e1f"
AGENT = "8613800000001"


@pytest.fixture(scope="module")
def programs() -> dict[str, bytes]:
    flow, catalogue = load_flows()[STK_FLOW], Catalogue.load()
    return {lang: compile_program(flow, catalogue, lang, "1888") for lang in ("en", "zh-CN")}


def profile(language: str = "en", msisdn: str = AGENT) -> SimProfile:
    return SimProfile("0123456789abcdef", msisdn, "1888", KIC, KID, 0, language)


def test_a_profile_by_number_or_under_another_name(
    programs: dict[str, bytes], tmp_path: Path
) -> None:
    store = SimStore(programs, tmp_path)
    assert store.card(AGENT) is None
    assert store.where(AGENT) == f"no profile for {AGENT} in {tmp_path}"
    save_profile(tmp_path / "agent-sim.json", profile("en"))
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")  # skipped
    card = store.card(AGENT)
    assert card is not None
    assert card.program.menu.title == "Agent services"  # the profile's language
    card._save(card.profile.next_counter())  # what the card does before its SMS leaves
    assert json.loads((tmp_path / "agent-sim.json").read_text())["counter"] == 1
    save_profile(tmp_path / f"{AGENT}.json", profile("zh-CN"))  # its own name comes first
    named = store.card(AGENT)
    assert named is not None
    assert named.program.menu.title == "代理商服务"


def test_a_provisioned_sim_keeps_its_counter_and_a_missing_language_falls_back(
    programs: dict[str, bytes],
) -> None:
    store = SimStore({"zh-CN": programs["zh-CN"]})
    assert store.where(AGENT) == "no SIM profiles in this simulator"
    store.provision(profile("fr"))
    card = store.card(AGENT)
    assert card is not None
    assert card.program.language == "zh-CN"
    card._save(card.profile.next_counter())
    again = store.card(AGENT)
    assert again is not None
    assert again.profile.counter == 1
    with pytest.raises(ValueError, match="at least one language"):
        SimStore({})
