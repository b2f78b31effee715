"""The FastAGI server (port 4573): Asterisk connects once per call to `AGI(agi://host/main)`.

A connection from an address outside the allow-list is closed at once, before a byte is
read, and logged. An allowed one has `environment_timeout_s` to send its environment block
whole (a peer that never finishes is dropped), then the call runs (`channels.ivr.call`).
Whatever ends a call — the caller hanging up, the socket closing, a protocol error from the
peer — is logged with the call's unique id and counted; a bug in one call never stops the
server. `close()` stops listening, cancels the calls still up, and waits for operations
they had started to finish (those are shielded from the calls).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Final

from channels.access import Network, allowed
from channels.counters import Counters, Observer
from channels.ivr.agi_wire import AgiPeerError
from channels.ivr.call import EVENTS as CALL_EVENTS
from channels.ivr.call import IvrCalls
from channels.ivr.session import AgiSession, CallGone

log = logging.getLogger(__name__)

environment_timeout_s: Final = 5.0  # Asterisk sends its environment at once, in one write
calls_max: Final = 10_000  # concurrent calls; more are refused (the PBX plays its failure)
SERVER_EVENTS: Final = (
    "connection_refused",
    "calls_over_limit",
    "environment_timeout",
    "protocol_error",
    "call_failed",
)
GAUGES: Final = ("calls_active",)


def ivr_counters(observer: Observer | None = None) -> Counters:
    """The IVR's counters: the calls' events, the server's, and the active calls."""
    return Counters(CALL_EVENTS + SERVER_EVENTS, GAUGES, observer)


class FastAgiServer:
    def __init__(self, calls: IvrCalls, networks: Sequence[Network]) -> None:
        self._calls = calls
        self._networks = tuple(networks)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.counters = calls.counters

    @property
    def port(self) -> int:
        assert self._server is not None, "not listening"
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self, host: str, port: int) -> None:
        try:
            self._server = await asyncio.start_server(self._connected, host, port)
        except OSError as exc:
            raise OSError(
                f"cannot listen for FastAGI on {host}:{port}: {exc.strerror} (is another"
                " aircharge running? ports are set in the config or AIRCHARGE_* variables)"
            ) from exc
        log.info("FastAGI listening on %s:%d", host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._calls.drain()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        address = peer[0] if peer else None
        if not allowed(address, self._networks):
            log.warning("FastAGI: connection from %s refused (not an allowed Asterisk)", address)
            self.counters.add("connection_refused")
            writer.close()
            return
        if len(self._tasks) >= calls_max:
            log.error("FastAGI: %d calls up, call from %s refused", calls_max, address)
            self.counters.add("calls_over_limit")
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.counters.set("calls_active", len(self._tasks))
        session = AgiSession(reader, writer)
        try:
            await self._serve(session, str(address))
        finally:
            self._tasks.discard(task)
            self.counters.set("calls_active", len(self._tasks))
            await session.close()

    async def _serve(self, session: AgiSession, address: str) -> None:
        started = time.monotonic()
        try:
            env = await session.environment(environment_timeout_s)
        except TimeoutError:
            log.warning(
                "FastAGI: %s sent no whole environment in %.0f s", address, environment_timeout_s
            )
            self.counters.add("environment_timeout")
            return
        except CallGone:
            return
        except AgiPeerError as exc:
            log.warning("FastAGI: %s broke the protocol before the call: %s", address, exc)
            self.counters.add("protocol_error")
            return
        call = env.get("uniqueid") or "?"
        try:
            await self._calls.handle(session, env, address)
        except CallGone as exc:
            log.info("ivr call %s from %s: %s", call, address, exc)
        except AgiPeerError as exc:
            log.warning("ivr call %s from %s: Asterisk broke the protocol: %s", call, address, exc)
            self.counters.add("protocol_error")
        except TimeoutError:
            log.warning("ivr call %s from %s: no reply in time", call, address)
            self.counters.add("call_failed")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("ivr call %s from %s failed", call, address)
            self.counters.add("call_failed")
        else:
            log.info(
                "ivr call %s from %s: ended after %.1f s and %d commands",
                call,
                address,
                time.monotonic() - started,
                session.commands,
            )


__all__ = ["FastAgiServer", "environment_timeout_s", "ivr_counters"]
