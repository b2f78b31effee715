"""The scripted STK steps: read as written, `${name}` in what is chosen or typed, and the
mistakes named by file and line before anything runs."""

from __future__ import annotations

import pytest

from simulator.script import ScriptError, parse_script
from simulator.script.format import Text

GOOD = """\
steps:
  - phone: 13800000003
    stk: true
  - expect_stk: {regex: "为(\\\\d+)充值"}
    save: number
    within_s: 2
  - stk_select: 1
  - stk_select: 话费充值
  - stk_enter: 0123
  - stk_enter: ${number}
  - stk_enter: ""
  - stk_ok: true
  - stk_back: true
  - stk_cancel: true
  - phone: "+86 138 0000 0003"
    stk_select: 确认
"""


def test_stk_steps_read_as_written() -> None:
    script = parse_script(GOOD, "stk.yaml")
    opened, seen, one, label, digits, saved, empty, ok, back, cancel, other = script.steps
    assert (opened.line, opened.action, opened.value) == (2, "stk", True)
    assert (seen.value, seen.options, seen.within_s) == (
        Text("为(\\d+)充值", True),
        {"save": "number"},
        2,
    )
    assert (one.value, label.value, digits.value) == ("1", "话费充值", "0123")  # as written
    assert (saved.value, empty.value) == ("${number}", "")
    assert [step.action for step in (ok, back, cancel)] == ["stk_ok", "stk_back", "stk_cancel"]
    assert (other.phone, other.value) == ("+86 138 0000 0003", "确认")  # the same phone


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "steps:\n  - phone: '13800000003'\n    stk_select: 1\n",
            "bad.yaml:2: `stk_select` needs the SIM menu on 13800000003: open it with a"
            " `stk: true` step on this phone before",
        ),
        (
            "steps:\n  - phone: '13800000003'\n    stk: true\n"
            "  - phone: '13800000002'\n    expect_stk: 代理商服务\n",
            "bad.yaml:4: `expect_stk` needs the SIM menu on 13800000002",
        ),
        (
            "steps:\n  - phone: '138'\n    stk: false\n",
            "bad.yaml:2: steps/0/stk: True was expected",
        ),
        ("steps:\n  - phone: '138'\n    stk: true\n  - stk_select: ''\n", "steps/1/stk_select"),
        (
            "steps:\n  - phone: '138'\n    stk: true\n  - stk_enter: ${pin}\n",
            "bad.yaml:4: `${pin}` is not saved by a step before",
        ),
        (
            "steps:\n  - phone: '138'\n    stk: true\n  - stk_enter: '1'\n    within_s: 2\n",
            "bad.yaml:4: `within_s` goes with an expectation, not `stk_enter`",
        ),
        (
            "steps:\n  - phone: '138'\n    stk: true\n  - stk_ok: true\n    save: x\n",
            "bad.yaml:4: `save` goes with",
        ),
        (
            "steps:\n  - phone: '138'\n    stk: true\n  - stk_back: true\n    stk_cancel: true\n",
            "bad.yaml:4: a step does one thing",
        ),
        (
            "steps:\n  - phone: '138'\n    stk: true\n  - expect_stk: {regex: '['}\n",
            "bad.yaml:4: bad regular expression",
        ),
    ],
)
def test_stk_mistakes_name_the_line(text: str, error: str) -> None:
    with pytest.raises(ScriptError) as raised:
        parse_script(text, "bad.yaml")
    assert error in str(raised.value)
