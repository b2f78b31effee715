"""The scripted session format: what a flow author writes is read as written, and every
mistake names its file and line before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.script import ScriptError, load_script, parse_script
from simulator.script.format import Text, within_s_default

GOOD = """\
name: a merchant's day
within_s: 4
steps:
  - phone: 13800000003
    sms: CZ 13900000001 50 333333
  - expect_sms: {regex: "Y (\\\\d+)"}
    save: code
    within_s: 2
  - sms: Y ${code} costs $$1
  - dial: "*123#"
  - answer: 0123
  - phone: "+86 139 0000 0001"
  - call: null
    language: en
  - press: 0123#
  - expect_boss: {number: 13900000001, balance_change_fen: 5000}
  - wait_s: 0.5
"""


def test_a_good_script_reads_as_written() -> None:
    script = parse_script(GOOD, "good.yaml")
    assert (script.name, script.paced, len(script.steps)) == ("a merchant's day", False, 10)
    sms, code, confirm, dial, answer, switch, call, press, boss, wait = script.steps
    assert (sms.line, sms.phone, sms.action, sms.value) == (
        4, "13800000003", "sms", "CZ 13900000001 50 333333"
    )  # fmt: skip
    assert (code.value, code.options, code.within_s) == (
        Text("Y (\\d+)", True),
        {"save": "code"},
        2,
    )
    assert confirm.within_s == 4  # the script's own default
    assert confirm.value == "Y ${code} costs $$1"
    assert dial.value == "*123#"
    assert answer.value == "0123"  # not 123, nor YAML 1.1's octal 83
    assert switch.action == "phone"
    assert (call.phone, call.value, call.options) == ("+86 139 0000 0001", None, {"language": "en"})
    assert press.value == "0123#"
    assert boss.value == {"number": "13900000001", "balance_change_fen": 5000}
    assert wait.value == 0.5


def test_wap_steps_read_as_written() -> None:
    script = parse_script(
        """\
steps:
  - phone: 13800000003
    wap: true
    browser: wml
    enrich: false
  - expect_wap: {regex: "验证码(\\\\d{6})"}
    save: code
    within_s: 3
  - wap_answer: ${code}
  - wap_answer: 0123
  - phone: "+86 138 0000 0003"
    wap_follow: 重新开始
""",
        "wap.yaml",
    )
    opened, expect, answer, digits, follow = script.steps
    assert (opened.action, opened.value, opened.options) == (
        "wap", True, {"browser": "wml", "enrich": False}
    )  # fmt: skip
    assert (expect.value, expect.options, expect.within_s) == (
        Text("验证码(\\d{6})", True), {"save": "code"}, 3
    )  # fmt: skip
    assert answer.value == "${code}"
    assert digits.value == "0123"  # as written
    assert (follow.action, follow.value) == ("wap_follow", "重新开始")  # the same phone


def test_defaults() -> None:
    script = parse_script("steps:\n  - phone: '138'\n", "s/minimal.yaml")
    assert (script.name, script.steps[0].within_s) == ("minimal", within_s_default)


def test_text_matches_substrings_and_regex_groups() -> None:
    assert Text("充值").found_in("充值成功") == "充值"
    assert Text("失败").found_in("充值成功") is None
    assert Text(r"Y (\d+)", regex=True).found_in("reply Y 123456 now") == "123456"
    assert Text(r"\d{3}", regex=True).found_in("ab 9876") == "987"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "bad.yaml: a script is a mapping with `steps`"),
        ("- a\n- b\n", "bad.yaml: a script is a mapping with `steps`"),
        ("steps: [\n", "bad.yaml: not YAML"),
        ("steps: []\n", "bad.yaml:1: steps: [] should be non-empty"),
        (
            "steps:\n  - phone: '138'\n  - sms: x\n    dial: '*1#'\n",
            "bad.yaml:3: a step does one thing",
        ),
        ("steps:\n  - sms: hi\n", "bad.yaml:2: which phone?"),
        (
            "steps:\n  - phone: '138'\n    press: '1'\n    to: '1888'\n",
            "`to` goes with `sms`, not `press`",
        ),
        (
            "steps:\n  - phone: '138'\n    sms: x\n    within_s: 2\n",
            "`within_s` goes with an expectation",
        ),
        (
            "steps:\n  - phone: '138'\n    sms: Y ${code}\n",
            "bad.yaml:2: `${code}` is not saved by a step before",
        ),
        ("steps:\n  - phone: '138'\n    sms: costs $5\n", "a lone `$`"),
        ("steps:\n  - phone: '138'\n    expect_sms: {regex: '('}\n", "bad regular expression"),
        ("steps:\n  - phone: '138'\n    shout: hi\n", "bad.yaml:2: steps/0: Additional properties"),
        (
            "steps:\n  - phone: '138'\n    press: 12a\n",
            "bad.yaml:2: steps/0/press: '12a' does not match",
        ),
        ("steps:\n  - phone: '138'\n    wait_s: 0\n", "steps/0/wait_s: 0 is less than or equal"),
        ("steps:\n  - phone: '138'\n  - expect_boss: {number: '138'}\n", "steps/1/expect_boss"),
        (
            "steps:\n  - phone: '138'\n    expect_call: gone\n",
            "steps/0/expect_call: 'gone' is not one of",
        ),
        ("stpes: []\n", "bad.yaml:1: the document: 'steps' is a required property"),
        (
            "steps:\n  - phone: '138'\n    wap: true\n    browser: html\n",
            "bad.yaml:2: steps/0/browser: 'html' is not one of ['xhtml', 'wml']",
        ),
        (
            "steps:\n  - phone: '138'\n    dial: null\n    browser: wml\n",
            "bad.yaml:2: `browser` goes with `wap`, not `dial`",
        ),
        (
            "steps:\n  - phone: '138'\n    sms: x\n    enrich: false\n",
            "bad.yaml:2: `enrich` goes with `wap`, not `sms`",
        ),
        ("steps:\n  - phone: '138'\n    wap: false\n", "steps/0/wap: True was expected"),
        (
            "steps:\n  - phone: '138'\n    wap: true\n    enrich: 'no'\n",
            "steps/0/enrich: 'no' is not of type 'boolean'",
        ),
        (
            "steps:\n  - phone: '13800000003'\n    wap: true\n"
            "  - phone: '13900000001'\n    wap_answer: '1'\n",
            "bad.yaml:4: `wap_answer` needs a WAP page on 13900000001: open it with a `wap: true`",
        ),
        (
            "steps:\n  - phone: '138'\n    expect_wap: 充值\n",
            "bad.yaml:2: `expect_wap` needs a WAP page on 138",
        ),
        (
            "steps:\n  - phone: '138'\n    wap: true\n  - wap_follow: x\n    within_s: 2\n",
            "bad.yaml:4: `within_s` goes with an expectation, not `wap_follow`",
        ),
        (
            "steps:\n  - phone: '138'\n    wap: true\n  - wap_answer: ${code}\n",
            "bad.yaml:4: `${code}` is not saved by a step before",
        ),
        (
            "steps:\n  - phone: '138'\n    wap: true\n  - expect_wap: {regex: '[1'}\n",
            "bad.yaml:4: bad regular expression",
        ),
    ],
)
def test_mistakes_name_the_line(text: str, error: str) -> None:
    with pytest.raises(ScriptError) as raised:
        parse_script(text, "bad.yaml")
    assert error in str(raised.value)


def test_an_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match="cannot read"):
        load_script(tmp_path / "absent.yaml")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ScriptError, match="cannot read"):
        load_script(binary)


def test_the_shipped_sessions_are_valid() -> None:
    sessions = sorted((Path(__file__).parents[2] / "sessions").glob("*.yaml"))
    assert sessions
    for path in sessions:
        assert load_script(path).steps
