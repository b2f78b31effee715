"""A tiny test ESME built from the codec: send PDUs, read frames, answer deliver_sm at will."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from channels.smpp import constants as c
from channels.smpp.pdu import (
    BIND_IDS,
    BindKind,
    DeliverSm,
    DeliverSmResp,
    Frame,
    Framer,
    Pdu,
    decode,
)
from simulator.smsc import DEMO_PASSWORD, DEMO_SYSTEM_ID, Smsc, SmscConfig


def bind_bytes(kind: BindKind, system_id: str, password: str, sequence: int) -> bytes:
    """A bind PDU built by hand, so a test can send what the codec would refuse (a password
    longer than SMPP 3.4's 8 characters)."""
    body = b"".join((system_id.encode(), b"\0", password.encode(), b"\0", b"\0\x34\0\0\0"))
    return struct.pack("!IIII", 16 + len(body), BIND_IDS[kind], 0, sequence) + body


class Esme:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.framer = Framer()
        self.sequence = 0
        self.auto_ack: int | None = None  # answer every deliver_sm with this status
        self.delivered: list[DeliverSm] = []
        self._frames: asyncio.Queue[Frame | None] = asyncio.Queue()
        self._task = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, port: int) -> Esme:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    def send(self, pdu: Pdu, status: int = c.ESME_ROK, sequence: int | None = None) -> int:
        if sequence is None:
            self.sequence += 1
            sequence = self.sequence
        self.writer.write(pdu.to_bytes(sequence, status))
        return sequence

    def send_raw(self, data: bytes) -> None:
        self.writer.write(data)

    async def frame(self, wait_s: float = 3.0) -> Frame:
        frame = await asyncio.wait_for(self._frames.get(), wait_s)
        if frame is None:
            raise ConnectionError("closed")
        return frame

    async def closed(self, wait_s: float = 3.0) -> bool:
        while True:
            frame = await asyncio.wait_for(self._frames.get(), wait_s)
            if frame is None:
                return True

    async def bind(
        self,
        kind: BindKind = "transceiver",
        system_id: str = DEMO_SYSTEM_ID,
        password: str = DEMO_PASSWORD,
    ) -> Frame:
        self.sequence += 1
        self.writer.write(bind_bytes(kind, system_id, password, self.sequence))
        return await self.frame()

    async def request(self, pdu: Pdu) -> Frame:
        """Send and wait for the response with the same sequence (other frames queued back)."""
        sequence = self.send(pdu)
        others: list[Frame] = []
        while True:
            frame = await self.frame()
            if frame.sequence == sequence and c.is_response(frame.command_id):
                for other in others:
                    self._frames.put_nowait(other)
                return frame
            others.append(frame)

    async def deliver(self, wait_s: float = 3.0) -> tuple[Frame, DeliverSm]:
        """The next deliver_sm (not acknowledged unless auto_ack)."""
        while True:
            frame = await self.frame(wait_s)
            if isinstance(frame.pdu, DeliverSm):
                return frame, frame.pdu

    def ack(self, frame: Frame, status: int = c.ESME_ROK) -> None:
        self.send(DeliverSmResp(), status, sequence=frame.sequence)

    async def close(self) -> None:
        self.writer.close()
        self._task.cancel()

    async def _read(self) -> None:
        try:
            while data := await self.reader.read(65536):
                self.framer.feed(data)
                while (raw := self.framer.next_frame()) is not None:
                    frame = decode(raw)
                    if isinstance(frame.pdu, DeliverSm):
                        self.delivered.append(frame.pdu)
                        if self.auto_ack is not None:
                            self.ack(frame, self.auto_ack)
                    self._frames.put_nowait(frame)
        except ConnectionError:
            pass
        self._frames.put_nowait(None)


@asynccontextmanager
async def running_smsc(config: SmscConfig | None = None, seed: int = 0) -> AsyncIterator[Smsc]:
    smsc = Smsc(config=config, seed=seed)
    await smsc.start("127.0.0.1", 0)
    try:
        yield smsc
    finally:
        await smsc.close()


async def settle(condition: object, wait_s: float = 3.0) -> None:
    """Wait until `condition()` is true."""
    assert callable(condition)
    async with asyncio.timeout(wait_s):
        while not condition():  # noqa: ASYNC110 -- polling state the server owns
            await asyncio.sleep(0.005)
