"""pyst2, a third-party AGI library, runs against the emulator as a classic AGI script (a pipe):
what the script saw and what the emulator recorded agree with Asterisk's protocol."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from simulator.asterisk import AsteriskEmulator, Ending, Press, SoundLibrary

SCRIPT = Path(__file__).parent / "data" / "pyst2_agi.py"
SOUNDS = SoundLibrary.from_texts(
    {
        "zh": {
            "aircharge/welcome": "欢迎使用空中充值",
            "aircharge/menu": "充值请按1，缴费请按2",
            "aircharge/ask.number": "请输入手机号码",
        }
    }
)


async def test_a_pyst2_script_over_classic_agi(tmp_path: Path):
    out = tmp_path / "seen.json"
    with (tmp_path / "stderr.txt").open("wb") as stderr:
        record = await AsteriskEmulator(sounds=SOUNDS).run_agi(
            [sys.executable, str(SCRIPT)],
            arguments=[str(out)],
            request=str(SCRIPT),
            script=[Press("1", barge_in=True, think_ms=200), Press("13900000001")],
            stderr=stderr,
        )
    assert record.exit_code == 0, (tmp_path / "stderr.txt").read_text()
    seen = json.loads(out.read_text(encoding="utf-8"))
    env = seen["env"]
    assert "agi_network" not in env
    assert env["agi_request"] == str(SCRIPT)
    assert env["agi_arg_1"] == str(out)
    assert (env["agi_callerid"], env["agi_language"], env["agi_type"]) == (
        "13800000003", "zh", "SIP",
    )  # fmt: skip
    assert seen["welcome"] == ""  # played out
    assert seen["menu"] == "1"  # stopped by the caller's key
    assert seen["number"] == "13900000001"
    assert seen["say"] == ""
    assert seen["sighup"] is True
    assert [c.line for c in record.commands] == [
        "ANSWER",
        'STREAM FILE aircharge/welcome "" 0',
        'STREAM FILE aircharge/menu "12" 0',
        "GET DATA aircharge/ask.number 5000 11",
        'SAY DIGITS "123" ""',
        'VERBOSE "done" 1',
        "HANGUP",
    ]
    welcome = SOUNDS.find("aircharge/welcome", "zh")
    assert welcome is not None
    assert record.replies == [
        "200 result=0",
        f"200 result=0 endpos={welcome.samples}",
        "200 result=49 endpos=1600",
        "200 result=13900000001",
        "200 result=0",
        "200 result=1",
        "200 result=1",
    ]
    assert record.ending is Ending.PLATFORM_HUNG_UP
    assert record.closed_by == "platform"
    assert record.texts[:3] == ["欢迎使用空中充值", "充值请按1，缴费请按2", "请输入手机号码"]


async def test_a_program_that_cannot_start_fails_the_call(tmp_path: Path):
    record = await AsteriskEmulator(sounds=SOUNDS).run_agi([str(tmp_path / "missing")])
    assert record.ending is Ending.FAILED
    assert "did not start" in record.error
