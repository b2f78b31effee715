"""The AGI codec against exchanges in Asterisk's own formats (res_agi.c), both ends."""

from __future__ import annotations

import pytest

from channels.ivr.agi import (
    CLOSED,
    NEED_DATA,
    AgiConnection,
    AgiLocalError,
    State,
    answer,
    get_data,
    hangup,
    stream_file,
)
from channels.ivr.agi_wire import (
    HANGUP,
    AgiPeerError,
    Command,
    Environment,
    Reply,
    ReplyReader,
    format_environment,
    format_error,
    format_reply,
    format_usage,
    line_bytes_max,
    parse_command,
    usage_lines_max,
)

# What Asterisk 20 sends on a FastAGI connection for `AGI(agi://127.0.0.1:4573/main)`.
ASTERISK_ENVIRONMENT = (
    b"agi_network: yes\n"
    b"agi_network_script: main\n"
    b"agi_request: agi://127.0.0.1:4573/main\n"
    b"agi_channel: SIP/handset-00000001\n"
    b"agi_language: zh\n"
    b"agi_type: SIP\n"
    b"agi_uniqueid: 1764160000.1\n"
    b"agi_version: 20.5.0\n"
    b"agi_callerid: 13800000003\n"
    b"agi_calleridname: Village Shop\n"
    b"agi_callingpres: 0\n"
    b"agi_callingani2: 0\n"
    b"agi_callington: 0\n"
    b"agi_callingtns: 0\n"
    b"agi_dnid: 1888\n"
    b"agi_rdnis: unknown\n"
    b"agi_context: default\n"
    b"agi_extension: 1888\n"
    b"agi_priority: 1\n"
    b"agi_enhanced: 0.0\n"
    b"agi_accountcode: \n"
    b"agi_threadid: 140234\n"
    b"agi_arg_1: zh\n"
    b"agi_arg_2: second arg\n"
    b"\n"
)


def _connected() -> AgiConnection:
    conn = AgiConnection()
    conn.receive_data(ASTERISK_ENVIRONMENT)
    event = conn.next_event()
    assert isinstance(event, Environment)
    return conn


def test_the_environment_block_is_read_whole() -> None:
    conn = AgiConnection()
    conn.receive_data(ASTERISK_ENVIRONMENT[:100])
    assert conn.next_event() is NEED_DATA
    conn.receive_data(ASTERISK_ENVIRONMENT[100:])
    env = conn.next_event()
    assert isinstance(env, Environment)
    assert env.request == "agi://127.0.0.1:4573/main"
    assert env.get("callerid") == "13800000003"
    assert env.get("calleridname") == "Village Shop"
    assert env.get("accountcode") == ""
    assert env.arguments == ("zh", "second arg")
    assert conn.state is State.IDLE


def test_crlf_and_split_reads_are_one_line() -> None:
    conn = AgiConnection()
    for byte in ASTERISK_ENVIRONMENT.replace(b"\n", b"\r\n"):
        conn.receive_data(bytes([byte]))
    assert isinstance(conn.next_event(), Environment)


@pytest.mark.parametrize(
    "garbage",
    [
        b"hello world\n\n",  # not name: value
        b"callerid: 1\n\n",  # no agi_ prefix
        b"\n",  # empty block
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # a web client on the AGI port
    ],
)
def test_a_garbage_environment_is_the_peers_error(garbage: bytes) -> None:
    conn = AgiConnection()
    conn.receive_data(garbage)
    with pytest.raises(AgiPeerError):
        conn.next_event()


def test_an_endless_environment_or_line_is_bounded() -> None:
    conn = AgiConnection()
    conn.receive_data(b"".join(b"agi_x%d: y\n" % i for i in range(200)))
    with pytest.raises(AgiPeerError, match="more than"):
        conn.next_event()
    conn = AgiConnection()
    conn.receive_data(b"agi_x: " + b"y" * (line_bytes_max + 1))
    with pytest.raises(AgiPeerError, match="longer than"):
        conn.next_event()


def test_a_stream_that_ends_before_the_blank_line_is_closed() -> None:
    conn = AgiConnection()
    conn.receive_data(ASTERISK_ENVIRONMENT[:50])
    conn.receive_data(b"")
    assert conn.next_event() is CLOSED
    assert conn.state is State.CLOSED


@pytest.mark.parametrize(
    ("command", "wire"),
    [
        (answer(), b"ANSWER\n"),
        (hangup(), b"HANGUP\n"),
        (
            stream_file("aircharge/agent.menu.0", "0123456789*#"),
            b"STREAM FILE aircharge/agent.menu.0 0123456789*#\n",
        ),
        (stream_file("beep"), b'STREAM FILE beep ""\n'),
        (get_data("aircharge/silence", 10_000, 11), b"GET DATA aircharge/silence 10000 11\n"),
        (Command(("VERBOSE",), ('say "hi" \\ bye', "1")), b'VERBOSE "say \\"hi\\" \\\\ bye" 1\n'),
    ],
)
def test_commands_on_the_wire(command: Command, wire: bytes) -> None:
    assert command.encode() == wire
    assert parse_command(wire.decode().rstrip("\n")) == (*command.words, *command.arguments)


def test_asterisk_splits_arguments_like_parse_args() -> None:
    assert parse_command('EXEC Dial "SIP/a b,30"   x') == ("EXEC", "Dial", "SIP/a b,30", "x")
    assert parse_command('SET VARIABLE v ""') == ("SET", "VARIABLE", "v", "")
    assert parse_command("a\\ b c") == ("a b", "c")
    with pytest.raises(AgiPeerError):
        parse_command(" ".join(["w"] * 40))


def test_a_line_break_in_an_argument_is_refused() -> None:
    with pytest.raises(ValueError, match="line break"):
        Command(("VERBOSE",), ("two\nlines",)).encode()


@pytest.mark.parametrize(
    ("wire", "reply"),
    [
        (b"200 result=0\n", Reply(200, "0")),
        (b"200 result=1\n", Reply(200, "1")),
        (b"200 result=-1\n", Reply(200, "-1")),
        (b"200 result=12345 (timeout)\n", Reply(200, "12345", "timeout")),
        (b"200 result= (timeout)\n", Reply(200, "", "timeout")),
        (b"200 result=49 endpos=8000\n", Reply(200, "49", extras={"endpos": "8000"})),
        (b"200 result=-1 endpos=0\n", Reply(200, "-1", extras={"endpos": "0"})),
        (b"200 result=1 (SIP/handset-00000001)\n", Reply(200, "1", "SIP/handset-00000001")),
        (b"510 Invalid or unknown command\n", Reply(510, text="Invalid or unknown command")),
        (
            b"511 Command Not Permitted on a dead channel or intercept routine\n",
            Reply(511, text="Command Not Permitted on a dead channel or intercept routine"),
        ),
    ],
)
def test_replies_in_asterisks_formats(wire: bytes, reply: Reply) -> None:
    conn = _connected()
    conn.send(answer())
    conn.receive_data(wire)
    assert conn.next_event() == reply
    assert conn.state is State.IDLE


def test_the_multi_line_520_usage_block_is_one_reply() -> None:
    usage = (
        b"520-Invalid command syntax.  Proper usage follows:\n"
        b" Usage: STREAM FILE <filename> <escape digits> [sample offset]\n"
        b"   Send the given file, allowing playback to be interrupted by the given digits.\n"
        b"520 End of proper usage.\n"
    )
    conn = _connected()
    conn.send(Command(("STREAM", "FILE")))
    conn.receive_data(usage[:70])
    assert conn.next_event() is NEED_DATA
    conn.receive_data(usage[70:])
    reply = conn.next_event()
    assert isinstance(reply, Reply)
    assert reply.code == 520
    assert "Usage: STREAM FILE" in reply.text
    assert reply.text.endswith("End of proper usage.")


def test_hangup_arrives_between_a_command_and_its_reply() -> None:
    conn = _connected()
    conn.send(get_data("aircharge/silence", 5000, 1))
    conn.receive_data(b"HANGUP\n200 result=-1\n")
    assert conn.next_event() is HANGUP
    assert conn.hung_up
    assert conn.state is State.AWAITING
    assert conn.next_event() == Reply(200, "-1")
    conn.send(answer())
    conn.receive_data(format_error(511))
    assert conn.next_event() == Reply(511, text=format_error(511).decode()[4:].rstrip())


def test_hangup_when_idle_and_the_socket_closing_at_any_moment() -> None:
    conn = _connected()
    conn.receive_data(b"HANGUP\n")
    assert conn.next_event() is HANGUP
    conn.send(answer())
    conn.receive_data(b"200 res")
    conn.receive_data(b"")
    assert conn.next_event() is CLOSED


def test_a_reply_nobody_asked_for_is_the_peers_error() -> None:
    conn = _connected()
    conn.receive_data(b"200 result=0\n")
    with pytest.raises(AgiPeerError, match="no command in flight"):
        conn.next_event()


def test_garbage_replies_are_the_peers_error() -> None:
    for wire in (b"hello\n", b"200 nonsense\n", b"299\n"):
        conn = _connected()
        conn.send(answer())
        conn.receive_data(wire)
        with pytest.raises(AgiPeerError):
            conn.next_event()


def test_an_endless_usage_block_is_bounded() -> None:
    reader = ReplyReader()
    assert reader.feed("520-Invalid command syntax.  Proper usage follows:") is None
    for _ in range(usage_lines_max - 1):
        assert reader.feed("more usage") is None
    with pytest.raises(AgiPeerError, match="usage block"):
        reader.feed("more usage")


def test_two_commands_in_flight_is_our_error() -> None:
    conn = _connected()
    conn.send(answer())
    with pytest.raises(AgiLocalError):
        conn.send(answer())
    with pytest.raises(AgiLocalError):
        AgiConnection().send(answer())


def test_the_asterisk_side_formats_round_trip() -> None:
    variables = {"network": "yes", "request": "agi://h/main", "callerid": "unknown"}
    conn = AgiConnection()
    conn.receive_data(format_environment(variables))
    env = conn.next_event()
    assert isinstance(env, Environment)
    assert dict(env.variables) == variables
    replies = [
        format_reply(0),
        format_reply("", "timeout"),
        format_reply(49, endpos=1600),
        format_usage("Usage: GET DATA <file> [timeout] [maxdigits]"),
        format_error(510),
    ]
    for wire in replies:
        conn.send(answer())
        conn.receive_data(wire)
        reply = conn.next_event()
        assert isinstance(reply, Reply)
    assert Reply(200, "", "timeout").timed_out
    assert Reply(200, "49").number == 49
    assert Reply(200, "").number is None
