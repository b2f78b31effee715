"""The emulator against a FastAGI script built from the platform's end of the codec, over real
sockets on 127.0.0.1: the environment, each reply's exact bytes, hang-ups, drops, pacing."""

from __future__ import annotations

import asyncio
import re
import time

from channels.ivr.agi import answer, get_data, hangup, stream_file, verbose
from channels.ivr.agi_wire import Command, format_usage
from simulator.asterisk import (
    AsteriskEmulator,
    CallEnded,
    CallSpec,
    CallStarted,
    CommandAnswered,
    EmulatorConfig,
    Ending,
    HangUp,
    HungUp,
    KeyPressed,
    Pacing,
    Press,
    PromptPlaying,
    SoundLibrary,
    SoundMissing,
    Step,
    Wait,
)
from simulator.asterisk.channel import _USAGE
from tests.simulator.asterisk.fastagi import Session, fastagi_server

TEXTS = {
    "zh": {
        "aircharge/welcome": "欢迎使用空中充值",
        "aircharge/menu": "充值请按1，缴费请按2",
        "aircharge/ask.number": "请输入手机号码",
        "aircharge/ask.amount": "请输入金额",
    },
    "en": {"aircharge/welcome": "Welcome to aircharge", "aircharge/only.en": "English only"},
}
SOUNDS = SoundLibrary.from_texts(TEXTS)
ENVIRONMENT_ORDER = [
    "network", "network_script", "request", "channel", "language", "type", "uniqueid",
    "version", "callerid", "calleridname", "callingpres", "callingani2", "callington",
    "callingtns", "dnid", "rdnis", "context", "extension", "priority", "enhanced",
    "accountcode", "threadid", "arg_1", "arg_2",
]  # fmt: skip


def samples(name: str, language: str = "zh") -> int:
    sound = SOUNDS.find(name, language)
    assert sound is not None
    return sound.samples


def emulator(port: int, **config: object) -> AsteriskEmulator:
    return AsteriskEmulator("127.0.0.1", port, SOUNDS, config=EmulatorConfig(**config))  # type: ignore[arg-type]


async def test_environment_in_asterisk_order_and_values():
    async def script(session: Session) -> None:
        await session.command(hangup())

    async with fastagi_server(script) as (port, sessions):
        asterisk = emulator(port)
        first = await asterisk.place_call("main", "13800000003", "zh", arguments=["x", "a b"])
        second = await asterisk.place_call("main", None, "en")
    raw = bytes(sessions[0].received).split(b"\n\n")[0].decode().splitlines()
    assert [line.split(":")[0] for line in raw] == [f"agi_{n}" for n in ENVIRONMENT_ORDER]
    values = dict(line.split(": ", 1) for line in raw)
    assert values["agi_network"] == "yes"
    assert values["agi_network_script"] == "main"
    assert values["agi_request"] == f"agi://127.0.0.1:{port}/main"
    assert re.fullmatch(r"SIP/carrier-[0-9a-f]{8}", values["agi_channel"])
    assert values["agi_language"] == "zh"
    assert values["agi_type"] == "SIP"
    assert re.fullmatch(r"\d{10}\.\d+", values["agi_uniqueid"])
    assert (values["agi_callerid"], values["agi_calleridname"]) == ("13800000003", "unknown")
    assert values["agi_callingpres"] == "0"
    assert (values["agi_dnid"], values["agi_rdnis"]) == ("1888", "unknown")
    assert (values["agi_context"], values["agi_extension"]) == ("default", "1888")
    assert (values["agi_priority"], values["agi_enhanced"]) == ("1", "0.0")
    assert values["agi_accountcode"] == ""
    assert raw[-2:] == ["agi_arg_1: x", "agi_arg_2: a b"]
    withheld = bytes(sessions[1].received).decode()
    assert "agi_callerid: unknown\n" in withheld
    assert "agi_callingpres: 67\n" in withheld
    assert "agi_language: en\n" in withheld
    assert "agi_arg_1" not in withheld
    assert first.call_id != second.call_id
    assert first.channel != second.channel
    assert (first.ending, second.ending) == (Ending.PLATFORM_HUNG_UP, Ending.PLATFORM_HUNG_UP)


async def test_every_reply_in_asterisk_bytes():
    async def script(session: Session) -> None:
        commands = [
            answer(),
            stream_file("aircharge/welcome"),
            stream_file("aircharge/menu", "12"),
            get_data("aircharge/ask.number", 5000, 3),
            get_data("aircharge/ask.amount", 5000, 10),
            get_data("aircharge/ask.amount", 5000, 6),
            get_data("aircharge/ask.amount", 5000, 6),
            get_data("aircharge/ask.amount", 5000, 6),
            Command(("FOO", "BAR")),
            Command(("STREAM", "FILE")),
            stream_file("aircharge/nope"),
            stream_file("aircharge/only.en"),
            verbose("hello world"),
            Command(("SET", "VARIABLE"), ("X", "a b")),
            Command(("GET", "VARIABLE"), ("X",)),
            Command(("GET", "VARIABLE"), ("Y",)),
            Command(("CHANNEL", "STATUS")),
            Command(("EXEC",), ("NoOp", "x")),
            Command(("EXEC",), ("Nonsense",)),
            Command(("WAIT", "FOR", "DIGIT"), ("3000",)),
            Command(("SAY", "DIGITS"), ("12", "")),
            Command(("SAY", "NUMBER"), ("21", "")),
            hangup(),
            stream_file("aircharge/welcome"),
            Command(("NOOP",)),
            Command(("GET", "VARIABLE"), ("X",)),
        ]
        for command in commands:
            await session.command(command)
        await session.line("answer")  # lowercase: Asterisk matches words case-insensitively

    script_steps: list[Step] = [
        Press("1", barge_in=True, think_ms=100),  # stops the menu 100 ms in
        Press("139"),  # GET DATA, 3 digits at most: complete
        Press("50#"),  # '#' ends it
        Press("12"),  # 2 of 6 digits ...
        Wait(),  # ... then silence: partial time-out
        Wait(),  # nothing at all: empty time-out
        Press("#"),  # '#' first: empty result
        Press("7", think_ms=500),  # WAIT FOR DIGIT 3000
    ]
    async with fastagi_server(script) as (port, sessions):
        record = await emulator(port).place_call("main", script=script_steps)
    expected = (
        b"200 result=0\n"
        + f"200 result=0 endpos={samples('aircharge/welcome')}\n".encode()
        + b"200 result=49 endpos=800\n"
        + b"200 result=139\n"
        + b"200 result=50\n"
        + b"200 result=12 (timeout)\n"
        + b"200 result= (timeout)\n"
        + b"200 result=\n"
        + b"510 Invalid or unknown command\n"
        + format_usage(_USAGE["STREAM FILE"])
        + b"200 result=-1 endpos=0\n"
        + f"200 result=0 endpos={samples('aircharge/only.en')}\n".encode()  # en fallback
        + b"200 result=1\n"
        + b"200 result=1\n"
        + b"200 result=1 (a b)\n"
        + b"200 result=0\n"
        + b"200 result=6\n"
        + b"200 result=0\n"
        + b"200 result=-2\n"
        + b"200 result=55\n"
        + b"200 result=0\n"
        + b"200 result=0\n"
        + b"200 result=1\nHANGUP\n"
        + b"511 Command Not Permitted on a dead channel or intercept routine\n"
        + b"200 result=0\n"  # NOOP, GET VARIABLE and EXEC run on a dead channel too
        + b"200 result=1 (a b)\n"
        + b"511 Command Not Permitted on a dead channel or intercept routine\n"
    )
    assert sessions[0].after_environment == expected
    assert format_usage(_USAGE["STREAM FILE"]).startswith(
        b"520-Invalid command syntax.  Proper usage follows:\n Usage: STREAM FILE <filename>"
    )
    assert record.ending is Ending.PLATFORM_HUNG_UP
    assert record.closed_by == "platform"
    assert record.keys == "1139" + "50#" + "12" + "#" + "7"
    assert record.lost_keys == ""
    assert record.missing_sounds == ["aircharge/nope"]
    assert record.commands[9].reply.startswith("520-Invalid command syntax.")
    assert len(record.commands) == 27
    assert [p.name for p in record.prompts][:3] == [
        "aircharge/welcome", "aircharge/menu", "aircharge/ask.number",
    ]  # fmt: skip
    assert record.prompts[1].played_ms == 100
    assert {p.name: p.language for p in record.prompts}["aircharge/only.en"] == "en"
    say = [p.name for p in record.prompts if p.name.startswith("digits/")]
    assert say == ["digits/1", "digits/2", "digits/20", "digits/1"]


async def test_hang_up_in_the_middle_of_get_data_sends_hangup_after_the_reply():
    seen: list[object] = []

    async def script(session: Session) -> None:
        await session.command(answer())
        reply = await session.command(get_data("aircharge/ask.number", 5000, 11))
        seen.append(reply)
        await session.until_hangup()
        seen.append(session.connection.hung_up)
        seen.append(await session.command(stream_file("aircharge/welcome")))
        seen.append(await session.command(Command(("CHANNEL", "STATUS"))))

    async with fastagi_server(script) as (port, sessions):
        record = await emulator(port).place_call(script=[Press("138"), HangUp()])
    dead = b"511 Command Not Permitted on a dead channel or intercept routine\n"
    assert sessions[0].after_environment == b"200 result=0\n200 result=-1\nHANGUP\n" + dead * 2
    assert seen[1] is True
    assert record.ending is Ending.CALLER_HUNG_UP
    assert record.keys == "138"
    assert record.replies[1] == "200 result=-1"


async def test_hang_up_between_commands_arrives_while_the_platform_thinks():
    async def script(session: Session) -> None:
        await session.command(answer())
        await session.command(verbose("one"))
        await session.until_hangup()
        await session.command(Command(("NOOP",)))
        await session.command(answer())

    async with fastagi_server(script) as (port, sessions):
        record = await emulator(port).place_call(script=[HangUp(after_commands=2)])
    assert sessions[0].after_environment == (
        b"200 result=0\n200 result=1\nHANGUP\n200 result=0\n"
        b"511 Command Not Permitted on a dead channel or intercept routine\n"
    )
    assert record.ending is Ending.CALLER_HUNG_UP


async def test_hang_up_half_way_through_a_prompt():
    async def script(session: Session) -> None:
        await session.command(stream_file("aircharge/welcome", "12"))
        await session.command(stream_file("aircharge/menu", "12"))
        await session.until_hangup()

    async with fastagi_server(script) as (port, sessions):
        record = await emulator(port).place_call(script=[HangUp(on_prompt="aircharge/menu")])
    half = samples("aircharge/menu") // 8 // 2 * 8  # whole ms, in samples
    assert sessions[0].after_environment == (
        f"200 result=0 endpos={samples('aircharge/welcome')}\n"
        f"200 result=-1 endpos={half}\nHANGUP\n".encode()
    )
    assert record.ending is Ending.CALLER_HUNG_UP
    assert record.prompts[-1].played_ms == half // 8


async def test_drop_closes_the_connection_with_no_hangup_line():
    async def script(session: Session) -> None:
        await session.command(answer())
        assert await session.command(get_data("aircharge/ask.number", 5000, 11)) is None

    async with fastagi_server(script) as (port, sessions):
        record = await emulator(port).place_call(script=[Press("13"), HangUp(drop=True)])
    assert sessions[0].after_environment == b"200 result=0\n"
    assert sessions[0].closed
    assert sessions[0].hangups == 0
    assert record.ending is Ending.DROPPED
    assert record.closed_by == "asterisk"


async def test_a_script_that_stays_after_the_hangup_is_closed_after_the_grace_time():
    async def script(session: Session) -> None:
        await session.command(hangup())

    async with fastagi_server(script, close=False) as (port, sessions):
        started = time.perf_counter()
        record = await emulator(port, grace_ms=100).place_call()
        elapsed = time.perf_counter() - started
    assert sessions[0].closed
    assert record.ending is Ending.PLATFORM_HUNG_UP
    assert record.closed_by == "asterisk"
    assert elapsed >= 0.09


async def test_paced_prompts_take_their_length_and_time_outs_theirs():
    async def script(session: Session) -> None:
        await session.command(stream_file("aircharge/welcome"))  # 2000 ms
        await session.command(get_data("aircharge/ask.amount", 1000, 4))  # 1250 + 1000 ms
        await session.command(hangup())

    pacing = Pacing(speed=20)
    async with fastagi_server(script) as (port, _):
        started = time.perf_counter()
        record = await emulator(port, pacing=pacing).place_call(script=[Wait()], paced=True)
        elapsed = time.perf_counter() - started
        unpaced = await emulator(port, pacing=pacing).place_call(script=[Wait()])
    assert record.replies == unpaced.replies
    assert record.replies[1] == "200 result= (timeout)"
    assert elapsed >= (2000 + 1250 + 1000) / 20 / 1000 * 0.9


async def test_paced_keys_come_after_thinking_and_late_ones_time_out():
    async def script(session: Session) -> None:
        await session.command(get_data("aircharge/ask.amount", 1000, 4))
        await session.command(get_data("aircharge/ask.amount", 2000, 4))
        await session.command(hangup())

    steps = [Press("12#", think_ms=1500)]
    async with fastagi_server(script) as (port, _):
        paced = await emulator(port, pacing=Pacing(speed=50)).place_call(script=steps, paced=True)
        unpaced = await emulator(port).place_call(script=steps)
    # 1500 ms of thinking is more than the 1000 ms time-out: the press goes to the next GET DATA
    assert paced.replies[:2] == ["200 result= (timeout)", "200 result=12"]
    assert unpaced.replies == paced.replies
    assert paced.lost_keys == ""


async def test_latency_is_the_platforms_time_from_our_reply_to_its_next_command():
    async def script(session: Session) -> None:
        await asyncio.sleep(0.05)
        await session.command(answer())
        await session.command(verbose("x"))
        await asyncio.sleep(0.03)
        await session.command(hangup())

    async with fastagi_server(script) as (port, _):
        record = await emulator(port).place_call()
    first, second, third = record.latencies_ms
    assert first >= 45
    assert second >= 0
    assert third >= 25
    assert all(c.at_ms >= 0 for c in record.commands)


async def test_live_caller_keys_and_a_hangup_while_the_platform_thinks():
    keypad: asyncio.Queue[str | HangUp] = asyncio.Queue()
    replies: list[object] = []

    async def script(session: Session) -> None:
        await session.command(answer())
        task = asyncio.create_task(session.command(get_data("aircharge/ask.amount", 2000, 3)))
        await asyncio.sleep(0.05)
        keypad.put_nowait("12")
        keypad.put_nowait("3")
        replies.append(await task)
        keypad.put_nowait(HangUp())
        await session.until_hangup()
        replies.append(await session.command(answer()))

    async with fastagi_server(script) as (port, sessions):
        record = await emulator(port).place_call(script=keypad)
    assert sessions[0].after_environment == (
        b"200 result=0\n200 result=123\nHANGUP\n"
        b"511 Command Not Permitted on a dead channel or intercept routine\n"
    )
    assert record.ending is Ending.CALLER_HUNG_UP
    assert record.keys == "123"


async def test_a_platform_that_is_not_there_fails_the_call_with_a_clear_error():
    async def script(session: Session) -> None:
        pass

    async with fastagi_server(script) as (port, _):
        pass  # the port is free again
    record = await emulator(port).place_call()
    assert record.ending is Ending.FAILED
    assert not record.ok
    assert f"agi://127.0.0.1:{port}/main" in record.error
    assert "failed" in record.error
    assert record.commands == []


async def test_many_calls_at_once_each_with_its_own_channel():
    async def script(session: Session) -> None:
        await session.command(answer())
        await session.command(get_data("aircharge/ask.amount", 5000, 2))
        await session.command(hangup())

    async with fastagi_server(script) as (port, sessions):
        asterisk = emulator(port)
        specs = [CallSpec(script=[Press(f"{i % 100:02d}")]) for i in range(60)]
        records = await asterisk.place_calls(specs, concurrency=20)
    assert len(records) == len(sessions) == 60
    assert [r.replies[1] for r in records] == [f"200 result={i % 100:02d}" for i in range(60)]
    assert len({r.call_id for r in records}) == 60
    assert all(r.ending is Ending.PLATFORM_HUNG_UP for r in records)
    assert asterisk.calls_active == 0


async def test_events_for_the_terminal_ui():
    async def script(session: Session) -> None:
        await session.command(stream_file("aircharge/menu", "12"))
        await session.command(stream_file("aircharge/nope"))
        await session.command(hangup())

    async with fastagi_server(script) as (port, _):
        asterisk = emulator(port)
        events = asterisk.events.subscribe()
        record = await asterisk.place_call(script=[Press("2", barge_in=True, think_ms=0)])
    kinds = [type(event) for event in events.pending()]
    assert kinds == [
        CallStarted, PromptPlaying, KeyPressed, CommandAnswered, SoundMissing, CommandAnswered,
        CommandAnswered, HungUp, CallEnded,
    ]  # fmt: skip
    assert record.replies[0] == "200 result=50 endpos=0"
