"""`aircharge agi`: classic AGI for Asterisk's `AGI()`, relayed to the FastAGI server.

Asterisk runs a classic AGI script per call with the environment and replies on its stdin and
reads commands from its stdout. This relay reads that environment, connects to the platform's
FastAGI server, sends the environment as a FastAGI one (`agi_network: yes`, the entry path in
`agi_network_script` and `agi_request`), then copies bytes both ways until either side ends.
So there is one IVR implementation and one database writer, whichever way Asterisk calls.

Asterisk tells a classic script that the caller hung up with SIGHUP; FastAGI says it with a
`HANGUP` line, which the relay sends on. Errors (no environment, server unreachable) go to
stderr, which Asterisk logs, and the exit status is 1: the dialplan goes on to its next step.

    exten => 1888,1,AGI(/opt/aircharge/.venv/bin/aircharge,agi,--path,main)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import BinaryIO, Final

from channels.ivr.agi_wire import (
    HANGUP_LINE,
    AgiPeerError,
    Environment,
    EnvironmentReader,
    LineBuffer,
    format_environment,
)

connect_timeout_s: Final = 2.0  # as Asterisk's own FastAGI client
chunk_bytes: Final = 4096


class RelayError(Exception):
    """The relay cannot start: the message says why."""


def add_agi_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    agi = commands.add_parser(
        "agi",
        parents=[common],
        help="classic AGI script for Asterisk's AGI(): relays to the FastAGI server",
    )
    agi.add_argument("--host", default=None, help="FastAGI host (default: platform.host)")
    agi.add_argument(
        "--port", type=int, default=None, help="FastAGI port (default: platform.fastagi_port)"
    )
    agi.add_argument("--path", default="main", help="entry path, as in agi://host/PATH")


def read_environment(stream: BinaryIO) -> Environment:
    """The environment Asterisk writes to a classic script's stdin, up to the blank line."""
    lines = LineBuffer()
    reader = EnvironmentReader()
    while True:
        chunk = stream.readline(chunk_bytes)
        if not chunk:
            raise RelayError("stdin ended before the AGI environment did (run from Asterisk)")
        lines.feed(chunk)
        for line in lines.lines():
            environment = reader.feed(line)
            if environment is not None:
                return environment


def fastagi_environment(env: Environment, host: str, port: int, path: str) -> bytes:
    variables = {"network": "yes", "network_script": path, "request": f"agi://{host}:{port}/{path}"}
    for name, value in env.variables.items():
        variables.setdefault(name, value)
    return format_environment(variables)


async def relay(env: Environment, host: str, port: int, path: str) -> int:
    """Relay one call between this process's stdin/stdout and the FastAGI server."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(connect_timeout_s):
            server_in, server_out = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError) as exc:
        raise RelayError(f"cannot reach the FastAGI server at {host}:{port}: {exc}") from exc
    server_out.write(fastagi_environment(env, host, port, path))
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    hung_up = asyncio.Event()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGHUP, hung_up.set)

    async def asterisk_to_server() -> None:
        while chunk := await stdin.read(chunk_bytes):
            server_out.write(chunk)
            await server_out.drain()

    async def hangup_to_server() -> None:
        await hung_up.wait()
        server_out.write(f"{HANGUP_LINE}\n".encode())
        await server_out.drain()

    async def server_to_asterisk() -> None:
        out = sys.stdout.buffer
        # A reset after the server's last line is its way of ending too (our HANGUP line
        # crossed its close): the call is over either way.
        with contextlib.suppress(ConnectionResetError):
            while chunk := await server_in.read(chunk_bytes):
                out.write(chunk)
                out.flush()

    upstream = [asyncio.create_task(asterisk_to_server()), asyncio.create_task(hangup_to_server())]
    try:
        await server_to_asterisk()  # the server ends the call by closing its side
    finally:
        for task in upstream:
            task.cancel()
        await asyncio.gather(*upstream, return_exceptions=True)
        server_out.close()
        with contextlib.suppress(OSError):
            await server_out.wait_closed()
    return 0


def run_agi(args: argparse.Namespace, host: str, port: int) -> int:
    """`aircharge agi`: 0 when the call ran to its end, 1 with a reason on stderr otherwise."""
    try:
        env = read_environment(sys.stdin.buffer)
        return asyncio.run(relay(env, args.host or host, args.port or port, args.path))
    except (RelayError, AgiPeerError) as exc:
        print(f"aircharge agi: {exc}", file=sys.stderr)
        return 1


__all__ = ["add_agi_parser", "fastagi_environment", "read_environment", "relay", "run_agi"]
