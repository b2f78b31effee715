"""`aircharge agi` on its own: what it tells Asterisk (stderr, exit status) when it cannot relay,
and the FastAGI environment it makes of a classic one."""

from __future__ import annotations

import subprocess
import sys

from aircharge.agi_relay import fastagi_environment
from aircharge.bench.processes import free_port
from channels.ivr.agi_wire import Environment

CLASSIC = b"agi_request: /usr/bin/aircharge\nagi_channel: SIP/a-1\nagi_callerid: 13800000003\n\n"


def relay(stdin: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "aircharge", "agi", *args],
        input=stdin,
        capture_output=True,
        timeout=30,
        check=False,
    )


def test_an_unreachable_server_is_reported_on_stderr_with_status_1() -> None:
    port = free_port()  # nobody listens there
    done = relay(CLASSIC, "--port", str(port))
    assert done.returncode == 1
    assert done.stdout == b"", "nothing for Asterisk to misread as a command"
    assert f"cannot reach the FastAGI server at 127.0.0.1:{port}" in done.stderr.decode()


def test_no_environment_is_reported() -> None:
    done = relay(b"agi_request: x\n")
    assert done.returncode == 1
    assert "stdin ended before the AGI environment did" in done.stderr.decode()
    garbage = relay(b"hello\n\n")
    assert garbage.returncode == 1
    assert "not an AGI environment line" in garbage.stderr.decode()


def test_the_fastagi_environment_names_the_entry_and_keeps_the_rest() -> None:
    env = Environment({"request": "/usr/bin/aircharge", "callerid": "13800000003"})
    wire = fastagi_environment(env, "127.0.0.1", 4573, "main").decode()
    assert wire == (
        "agi_network: yes\nagi_network_script: main\nagi_request: agi://127.0.0.1:4573/main\n"
        "agi_callerid: 13800000003\n\n"
    )
