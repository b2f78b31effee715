"""Load helpers for `aircharge bench sms`: paced MOs, MO -> first-MT latency, a raw submit client.

- `LatencyRecorder` (every `Smsc` has one as `smsc.latency`): when a handset sends an MO and has
  no MO waiting for an answer, the time is kept; the first MT to that handset afterwards closes
  it and records the latency. Bounded: at most `samples_max` samples kept, `count` counts all.
- `send_mo_at_rate(smsc, senders, text, rate_per_s, count)`: MOs at a steady rate, cycling over
  the senders, in batches per tick (not one timer per message).
- `measure_submit_rate(host, port, ...)`: a trivial ESME built from the codec that binds as a
  transmitter and keeps `window` submit_sm in flight; the submit_sm/s the SMSC answered.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from channels.smpp import constants as c
from channels.smpp.pdu import BindRequest, Framer, SubmitSm

if TYPE_CHECKING:
    from simulator.smsc.server import Smsc

samples_max: Final = 1_000_000
tick_s: Final = 0.005  # the pacing step of send_mo_at_rate
_HEADER: Final = struct.Struct("!IIII")


class LatencyRecorder:
    __slots__ = ("_clock", "_waiting", "count", "samples")

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._waiting: dict[str, float] = {}
        self.samples: list[float] = []  # seconds
        self.count = 0

    def mo_sent(self, msisdn: str) -> None:
        self._waiting.setdefault(msisdn, self._clock())

    def mt_received(self, msisdn: str) -> None:
        started = self._waiting.pop(msisdn, None)
        if started is None:
            return
        self.count += 1
        if len(self.samples) < samples_max:
            self.samples.append(self._clock() - started)

    @property
    def waiting(self) -> int:
        """Handsets that sent an MO and have had no MT since."""
        return len(self._waiting)

    def reset(self) -> None:
        self._waiting.clear()
        self.samples.clear()
        self.count = 0

    def percentile(self, fraction: float) -> float:
        """The `fraction` (0..1) percentile of the samples in seconds (0.0 with none)."""
        if not self.samples:
            return 0.0
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def send_mo_at_rate(
    smsc: Smsc,
    senders: Sequence[str],
    text: str | Callable[[str, int], str],
    rate_per_s: float,
    count: int,
    *,
    to: str = "1888",
) -> float:
    """Send `count` MOs at `rate_per_s`, cycling over `senders`; the seconds it took.

    `text` is a string or `text(sender, index)`. Returns once all are handed to the SMSC (use
    `await mo.delivered` or `smsc.latency` to wait for acknowledgements and answers).
    """
    assert senders, "at least one sender"
    assert rate_per_s > 0, "a positive rate"
    started = time.perf_counter()
    sent = 0
    while sent < count:
        due = min(count, int((time.perf_counter() - started) * rate_per_s) + 1)
        while sent < due:
            sender = senders[sent % len(senders)]
            smsc.send_sms(sender, text if isinstance(text, str) else text(sender, sent), to)
            sent += 1
        await asyncio.sleep(tick_s)
    return time.perf_counter() - started


async def measure_submit_rate(
    host: str,
    port: int,
    count: int = 100_000,
    *,
    window: int = 64,
    system_id: str = "aircharge",
    password: str = "demosmpp",  # noqa: S107 -- the demo account's
    destination: str = "8613900000001",
) -> float:
    """Bind as a transmitter, submit `count` short messages with `window` in flight; per second."""
    reader, writer = await asyncio.open_connection(host, port)
    framer = Framer()
    writer.write(BindRequest(kind="transmitter", system_id=system_id, password=password)
                 .to_bytes(1))  # fmt: skip
    await _read_frames(reader, framer, 1)
    template = SubmitSm(source_addr="1888", destination_addr=destination,
                        short_message=b"bench").to_bytes(0)  # fmt: skip
    body = template[c.header_length :]
    length = len(template)
    started = time.perf_counter()
    sent = answered = 0
    while answered < count:
        burst = min(window - (sent - answered), count - sent)
        if burst:
            writer.write(b"".join(
                _HEADER.pack(length, c.SUBMIT_SM, 0, sequence) + body
                for sequence in range(sent + 2, sent + 2 + burst)
            ))  # fmt: skip
            sent += burst
        answered += await _read_frames(reader, framer, 1)
    elapsed = time.perf_counter() - started
    writer.close()
    await writer.wait_closed()
    return count / elapsed


async def _read_frames(reader: asyncio.StreamReader, framer: Framer, at_least: int) -> int:
    """Read until at least `at_least` frames came; how many came (responses counted only)."""
    frames = 0
    while frames < at_least:
        data = await reader.read(65536)
        if not data:
            raise ConnectionError("the SMSC closed the link")
        framer.feed(data)
        while framer.next_frame() is not None:
            frames += 1
    return frames
