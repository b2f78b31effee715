"""More of Asterisk's answers, each over a real FastAGI connection."""

from __future__ import annotations

from collections.abc import Sequence

from channels.ivr.agi import get_data, stream_file
from channels.ivr.agi_wire import Command, format_usage
from simulator.asterisk import AsteriskEmulator, CallRecord, Ending, HangUp, Press, Step, Wait
from simulator.asterisk.channel import _USAGE
from tests.simulator.asterisk.fastagi import Session, fastagi_server
from tests.simulator.asterisk.test_fastagi import SOUNDS, samples

DEAD = b"511 Command Not Permitted on a dead channel or intercept routine\n"


async def run(commands: Sequence[Command], steps: Sequence[Step] = ()) -> tuple[bytes, CallRecord]:
    async def script(session: Session) -> None:
        for command in commands:
            if await session.command(command) is None:
                return

    async with fastagi_server(script) as (port, sessions):
        record = await AsteriskEmulator("127.0.0.1", port, SOUNDS).place_call(script=steps)
    return sessions[0].after_environment, record


async def test_get_data_of_a_missing_prompt_answers_minus_one():
    wire, record = await run([get_data("aircharge/nope", 5000, 4)])
    assert wire == b"200 result=-1\n"
    assert record.missing_sounds == ["aircharge/nope"]


async def test_a_key_during_get_datas_prompt_stops_it_and_counts():
    steps = [Press("5", barge_in=True, think_ms=300), Press("0#")]
    wire, record = await run([get_data("aircharge/ask.amount", 5000, 6)], steps)
    assert wire == b"200 result=50\n"
    assert record.prompts[0].played_ms == 300


async def test_keys_that_are_not_escape_digits_are_ignored_by_the_prompt():
    steps = [Press("9", barge_in=True, think_ms=100)]
    wire, record = await run([stream_file("aircharge/menu", "12")], steps)
    assert wire == f"200 result=0 endpos={samples('aircharge/menu')}\n".encode()
    assert (record.keys, record.lost_keys) == ("9", "9")


async def test_stream_file_from_an_offset_counts_endpos_from_the_start_of_the_file():
    steps = [Press("1", barge_in=True, think_ms=100)]
    command = Command(("STREAM", "FILE"), ("aircharge/menu", "1", "800"))
    wire, _ = await run([command], steps)
    assert wire == b"200 result=49 endpos=1600\n"  # 100 ms from 100 ms in
    missing = Command(("STREAM", "FILE"), ("aircharge/nope", "", "800"))
    assert (await run([missing]))[0] == b"200 result=-1 endpos=800\n"


async def test_exec_applications():
    commands = [
        Command(("EXEC",), ("Playback", "aircharge/welcome&aircharge/nope")),
        Command(("GET", "VARIABLE"), ("PLAYBACKSTATUS",)),
        Command(("EXEC",), ("Set", "A=b")),
        Command(("GET", "VARIABLE"), ("A",)),
        Command(("EXEC",), ("Wait", "0.5")),
        Command(("EXEC",), ("Hangup",)),
        Command(("EXEC",), ("NoOp",)),
    ]
    wire, record = await run(commands)
    assert wire == (
        b"200 result=0\n200 result=1 (FAILED)\n200 result=0\n200 result=1 (b)\n200 result=0\n"
        b"200 result=-1\nHANGUP\n200 result=0\n"
    )
    assert record.texts == ["欢迎使用空中充值"]
    assert record.ending is Ending.PLATFORM_HUNG_UP


async def test_channel_status_hangup_of_another_channel_and_built_in_variables():
    commands = [
        Command(("CHANNEL", "STATUS")),
        Command(("ANSWER",)),
        Command(("CHANNEL", "STATUS")),
        Command(("CHANNEL", "STATUS"), ("SIP/other-00000001",)),
        Command(("HANGUP",), ("SIP/other-00000001",)),
        Command(("GET", "VARIABLE"), ("EXTEN",)),
        Command(("GET", "VARIABLE"), ("CALLERID(num)",)),
    ]
    wire, _ = await run(commands)
    assert wire == (
        b"200 result=4\n200 result=0\n200 result=6\n200 result=-1\n200 result=-1\n"
        b"200 result=1 (1888)\n200 result=1 (13800000003)\n"
    )


async def test_wrong_argument_counts_answer_the_usage_block():
    commands = [
        Command(("SAY", "DIGITS"), ("12",)),
        Command(("SAY", "NUMBER"), ("abc", "")),
        Command(("WAIT", "FOR", "DIGIT")),
        Command(("GET", "VARIABLE")),
        Command(("SET", "VARIABLE"), ("A",)),
        Command(("GET", "DATA")),
        Command(("VERBOSE",)),
        Command(("EXEC",)),
        Command(("HANGUP",), ("a", "b")),
    ]
    wire, _ = await run(commands)
    names = ["SAY DIGITS", "SAY NUMBER", "WAIT FOR DIGIT", "GET VARIABLE", "SET VARIABLE",
             "GET DATA", "VERBOSE", "EXEC", "HANGUP"]  # fmt: skip
    assert wire == b"".join(format_usage(_USAGE[name]) for name in names)


async def test_a_caller_with_nothing_left_to_do_hangs_up_rather_than_wait_for_ever():
    commands = [Command(("WAIT", "FOR", "DIGIT"), ("-1",)), Command(("ANSWER",))]
    wire, record = await run(commands, [Wait()])
    assert wire == b"200 result=-1\nHANGUP\n" + DEAD
    assert record.ending is Ending.CALLER_HUNG_UP


async def test_a_hangup_first_reaches_the_platform_before_any_command():
    wire, record = await run([Command(("ANSWER",))], [HangUp()])
    assert wire == b"HANGUP\n" + DEAD
    assert record.ending is Ending.CALLER_HUNG_UP


async def test_a_wait_longer_than_the_time_out_splits_the_input():
    steps: list[Step] = [Press("12", think_ms=100), Wait(3000), Press("3#", think_ms=100)]
    commands = [get_data("aircharge/ask.amount", 2000, 6)] * 2
    wire, _ = await run(commands, steps)
    assert wire == b"200 result=12 (timeout)\n200 result=3\n"
