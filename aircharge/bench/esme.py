"""Raw speed of the SMPP link: submit_sm per second against a minimal fast SMSC.

The SMSC is a tiny asyncio server built from our codec's header layout (it answers bind and
submit_sm and nothing else), run in its own process so that the link has one core and the SMSC
the other. node-smpp was not used here: it decodes every PDU into a JavaScript object and
answers one at a time, and on this machine it tops out below the link, so it would measure
itself. `aircharge bench sms --raw` calls `measure_raw_submit`.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import struct
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any, Final

from aircharge.bench.processes import free_port
from channels.smpp import constants as c
from channels.smpp.link import LinkSettings, SmppLink
from channels.smpp.pdu import BindResponse, SubmitSm
from simulator.smsc.server import DEMO_PASSWORD, DEMO_SYSTEM_ID

_HEADER: Final = struct.Struct("!IIII")
messages_default: Final = 100_000
concurrency_default: Final = 256  # submitting tasks; the window caps what is in flight


@dataclass(frozen=True, slots=True)
class RawSubmitFigures:
    target: str  # "emulator" (simulator.smsc) or "minimal" (answers and nothing else)
    messages: int
    window: int
    concurrency: int
    seconds: float
    submits_per_s: float
    failed: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _FastSmsc(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.message_id = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        out = []
        pos = 0
        while len(buf) - pos >= c.header_length:
            length, command_id, _, sequence = _HEADER.unpack_from(buf, pos)
            if len(buf) - pos < length:
                break
            pos += length
            if command_id == c.SUBMIT_SM:
                self.message_id += 1
                body = b"%x\0" % self.message_id
                out.append(_HEADER.pack(16 + len(body), c.SUBMIT_SM_RESP, 0, sequence) + body)
            elif command_id == c.BIND_TRANSCEIVER:
                out.append(BindResponse(kind="transceiver", system_id="FAST").to_bytes(sequence))
            elif command_id in (c.ENQUIRE_LINK, c.UNBIND):
                out.append(_HEADER.pack(16, command_id | c.RESPONSE_BIT, 0, sequence))
        del buf[:pos]
        if out and self.transport is not None:
            self.transport.write(b"".join(out))


def _serve(port_queue: Any) -> None:
    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(_FastSmsc, "127.0.0.1", 0)
        port_queue.put(server.sockets[0].getsockname()[1])
        await asyncio.sleep(3600)

    asyncio.run(main())


async def _measure(
    target: str, port: int, messages: int, window: int, concurrency: int
) -> RawSubmitFigures:
    password = DEMO_PASSWORD if target == "emulator" else "bench"
    link = SmppLink(
        LinkSettings(port=port, system_id=DEMO_SYSTEM_ID, password=password, window=window)
    )
    await link.start()
    if not await link.wait_up(5000):
        raise RuntimeError(f"the {target} SMSC did not bind")
    pdu = SubmitSm(source_addr="1888", dest_addr_ton=1, dest_addr_npi=1,
                   destination_addr="8613900000001", short_message=b"Balance 50.00")  # fmt: skip
    failed = 0
    remaining = messages

    async def worker() -> None:
        nonlocal failed, remaining
        while remaining > 0:
            remaining -= 1
            result = await link.submit_pdu(pdu, time.monotonic_ns() // 1_000_000 + 5_000)
            if not isinstance(result, str):
                failed += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    await link.close()
    figures = (seconds, messages / seconds, failed)
    return RawSubmitFigures(target, messages, window, concurrency, *figures)


def measure_raw_submit(
    messages: int = messages_default,
    window: int = 64,
    concurrency: int = concurrency_default,
    target: str = "minimal",
) -> RawSubmitFigures:
    """Submit `messages` single-part submit_sm through one link to the `target` SMSC (in a
    process of its own); figures for the report."""
    if target == "emulator":
        return _against_emulator(messages, window, concurrency)
    assert target == "minimal", target
    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    server = context.Process(target=_serve, args=(ports,), daemon=True)
    server.start()
    try:
        port = ports.get(timeout=30)
        return asyncio.run(_measure(target, port, messages, window, concurrency))
    finally:
        server.terminate()
        server.join(5)


def _against_emulator(messages: int, window: int, concurrency: int) -> RawSubmitFigures:
    port = free_port()
    command = [sys.executable, "-m", "simulator.smsc", "--port", str(port)]
    emulator = subprocess.Popen(  # noqa: S603 -- our own interpreter and module
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the SMSC emulator did not start") from None
                time.sleep(0.05)
        return asyncio.run(_measure("emulator", port, messages, window, concurrency))
    finally:
        emulator.terminate()
        emulator.wait(10)


if __name__ == "__main__":
    print(measure_raw_submit())
