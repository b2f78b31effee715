"""What a call's environment decides before anything is played: the entry, the language."""

from __future__ import annotations

import pytest

from channels.ivr.agi_wire import Environment
from channels.ivr.call import call_language, entry_path


@pytest.mark.parametrize(
    ("variables", "path"),
    [
        ({"network_script": "main"}, "main"),
        ({"request": "agi://127.0.0.1:4573/main"}, "main"),
        ({"request": "agi://127.0.0.1/main?lang=zh"}, "main"),
        ({"request": "agi://10.0.0.5:4573/main/"}, "main"),
        ({"network_script": "other", "request": "agi://h/main"}, "other"),
        ({"request": "/usr/bin/aircharge"}, "usr/bin/aircharge"),  # classic AGI: not an entry
        ({}, ""),
    ],
)
def test_the_entry_is_the_request_path(variables: dict[str, str], path: str) -> None:
    assert entry_path(Environment(variables)) == path


@pytest.mark.parametrize(
    ("agi_language", "language"),
    [("zh", "zh-CN"), ("ZH", "zh-CN"), ("zh_CN", "zh-CN"), ("zh-CN", "zh-CN"), ("cn", "zh-CN"),
     ("en", "en"), ("en_US", "en"), ("fr", None), ("", None)],
)  # fmt: skip
def test_agi_language_names_a_catalogue_language(agi_language: str, language: str | None) -> None:
    assert call_language(Environment({"language": agi_language})) == language
