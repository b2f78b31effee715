"""The SMPP link (ESME): the asyncio transport around `EsmeSession`, and the platform's
`SmsTransport`.

One `SmppLink` is one bind (transceiver by default; "transmitter" or "receiver" for a
one-way link) to one SMSC or USSD centre: the SMS link and an optional USSD bind are the same
class configured twice. It connects, binds, re-connects with capped exponential back-off and
jitter after a dropped link or a refused bind, sends enquire_link on silence, unbinds cleanly on
`close()`, and times out responses.

MT (`submit`): coding from `CodingMap.choose_mt_coding`, 8-bit-reference UDH parts from
`concat.split_text` (one rolling reference per link), registered_delivery 1 only when asked; the
window bounds parts in flight, the `Pacer` bounds parts per second; ESME_RTHROTTLED and
ESME_RMSGQFUL slow the link down and resubmit the same part. A part in flight when the link
drops, or unanswered in time, fails the message temporarily (the outbox retries the whole
message: the SMSC may then have a part twice). A link that stays down `down_wait_ms` answers
`SubmitFailed(temporary=True)`.

MO (deliver_sm): a receipt goes to `SmsReceiver.receipt`; a USSD indication is acknowledged at
once and handed to the `UssdHandler`; an SMS part is acknowledged when it is held for
reassembly, a whole SMS only after `SmsReceiver.accept` returns (the SMS channel hands the
SIM applet's `STK1 ` answers to `channels/stk` itself). If accept raises, the answer is
ESME_RX_T_APPN so the SMSC delivers again later.
Decision: a text we cannot decode (unknown data_coding, bad octets) is answered ESME_RINVDCS
and counted (`mo_rejected`) — re-delivering the same octets cannot help, and an ESME_ROK would
claim we took a message nobody can read; the link stays up.

Credentials: the password is in `LinkSettings` (not in its repr) and in the bind PDU only;
nothing here logs either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from channels.smpp import constants as c
from channels.smpp import ussd as ussd_codec
from channels.smpp.coding import CodingMap
from channels.smpp.concat import Reassembler, concat_info, split_text
from channels.smpp.counters import SmppCounters
from channels.smpp.errors import CodingError, PduError, SmppError
from channels.smpp.pacing import Pacer
from channels.smpp.pdu import BindKind, DeliverSm, SubmitSm, SubmitSmResp
from channels.smpp.receipt import parse_receipt
from channels.smpp.session import (
    BindRefused,
    Bound,
    ConnectionLost,
    DeliverReceived,
    EsmeSession,
    Event,
    LocalProtocolError,
    PeerError,
    Response,
    TimedOut,
    Unbound,
    bind_request,
    enquire_link_ms_default,
    response_timeout_ms_default,
    window_default,
)
from channels.smpp.ussd import UssdHandler, UssdIndication
from channels.sms.contract import InboundSms, OutboundSms, SmsReceiver, SubmitFailed, Submitted

log = logging.getLogger(__name__)

THROTTLING_STATUSES: Final = frozenset({c.ESME_RTHROTTLED, c.ESME_RMSGQFUL})
# Statuses worth trying again later; the rest (bad address, bad coding, vendor codes) are final.
TEMPORARY_STATUSES: Final = frozenset(
    {c.ESME_RSYSERR, c.ESME_RX_T_APPN, c.ESME_RTHROTTLED, c.ESME_RMSGQFUL, c.ESME_RUNKNOWNERR}
)
read_size: Final = 64 * 1024  # octets per read
tick_ms_max: Final = 1_000  # the timer wakes at least this often while connected
ussd_answer_wait_ms: Final = 5_000  # a USSD answer waits this long for the link


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkSettings:
    """One bind. `password` never appears in a repr or a log."""

    name: str = "smsc"
    host: str = "127.0.0.1"
    port: int = 2775
    system_id: str = "aircharge"
    password: str = field(default="", repr=False)
    system_type: str = ""
    bind: BindKind = "transceiver"
    window: int = window_default
    submit_rate_per_s: float = 0  # 0: unlimited
    enquire_link_ms: int = enquire_link_ms_default
    response_timeout_ms: int = response_timeout_ms_default
    reconnect_min_ms: int = 500
    reconnect_max_ms: int = 30_000
    connect_timeout_ms: int = 5_000
    unbind_timeout_ms: int = 1_000  # close() waits this long for unbind_resp
    down_wait_ms: int = 5_000  # a submit waits this long for a down link
    throttle_retries_max: int = 50  # per part, then SubmitFailed(temporary=True)
    codings: CodingMap = field(default_factory=CodingMap.sms)
    ussd_codings: CodingMap = field(default_factory=CodingMap.ussd)
    source_addr: str = "1888"  # MT sender: the service number
    source_ton: int = 0
    source_npi: int = 0
    dest_ton: int = 1  # international: recipients are E.164 digits
    dest_npi: int = 1

    def __post_init__(self) -> None:
        assert self.window > 0, "window is positive"
        assert self.submit_rate_per_s >= 0, "rate is 0 (unlimited) or positive"
        assert 0 < self.reconnect_min_ms <= self.reconnect_max_ms, "back-off bounds"


class _LinkDropped(Exception):
    """The connection went away with the request in flight."""


def _monotonic_ms() -> int:
    return time.monotonic_ns() // 1_000_000


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class SmppLink:
    """See the module docstring. Implements `SmsTransport`."""

    def __init__(
        self,
        settings: LinkSettings,
        *,
        receiver: SmsReceiver | None = None,
        ussd: UssdHandler | None = None,
        counters: SmppCounters | None = None,
        clock_ms: Callable[[], int] = _monotonic_ms,
        wall_ms: Callable[[], int] = _wall_ms,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.receiver = receiver
        self.ussd = ussd
        self.counters = counters or SmppCounters()
        self._clock_ms = clock_ms
        self._wall_ms = wall_ms
        self._rng = rng or random.Random()  # noqa: S311 -- jitter and a UDH reference, not secrets
        self._pacer = Pacer(settings.submit_rate_per_s, clock_ms())
        self._reassembler = Reassembler()
        self._reference = self._rng.randrange(256)
        self._session: EsmeSession | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._out: bytearray | None = None  # frames of this loop turn, not yet written
        self._out_writer: asyncio.StreamWriter | None = None
        self._up = asyncio.Event()
        self._window_waiters: deque[asyncio.Future[None]] = deque()
        self._bind_result: asyncio.Future[int] | None = None
        self._connection_done = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._closing = False

    def __repr__(self) -> str:
        s = self.settings
        return f"<SmppLink {s.name} {s.system_id}@{s.host}:{s.port} up={self.up}>"

    @property
    def up(self) -> bool:
        return self._up.is_set()

    async def start(self) -> None:
        assert self._runner is None, "start once"
        self._runner = asyncio.create_task(self._run(), name=f"smpp-{self.settings.name}")

    async def wait_up(self, timeout_ms: int) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._up.wait(), timeout_ms / 1000)
        return self.up

    def _send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        """Frames of one turn of the event loop go out in one write: one `send` for many
        submit_sm and deliver_sm_resp, not one each (they were ~10 % of the process's CPU at
        a few hundred messages a second). Order is kept; frames for a connection that has
        closed meanwhile are dropped with it (their requests fail as in flight)."""
        if self._out is not None and self._out_writer is not writer:
            self._flush()
        if self._out is None:
            self._out, self._out_writer = bytearray(), writer
            asyncio.get_running_loop().call_soon(self._flush)
        self._out += data

    def _flush(self) -> None:
        out, writer = self._out, self._out_writer
        self._out = self._out_writer = None
        if out and writer is not None and not writer.is_closing():
            writer.write(out)

    async def close(self) -> None:
        """Unbind (waiting `unbind_timeout_ms` for unbind_resp), then close the connection."""
        self._closing = True
        session, writer = self._session, self._writer
        if session is not None and writer is not None and session.state == "bound":
            self._send(writer, session.unbind(self._clock_ms()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._connection_done.wait(), self.settings.unbind_timeout_ms / 1000
                )
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- connection loop -------------------------------------------------------------------

    async def _run(self) -> None:
        s = self.settings
        delay_ms = s.reconnect_min_ms
        attempt = 0
        while not self._closing:
            if attempt:
                self.counters.add("reconnects")
            attempt += 1
            if await self._connection():
                delay_ms = s.reconnect_min_ms
            if self._closing:
                return
            pause = delay_ms * (0.5 + self._rng.random() / 2)  # jitter: 50..100 %
            log.info("smpp %s: connecting again in %.0f ms", s.name, pause)
            await asyncio.sleep(pause / 1000)
            delay_ms = min(s.reconnect_max_ms, delay_ms * 2)

    async def _connection(self) -> bool:
        """One TCP connection: connect, bind, serve until it ends; True if it was bound."""
        s = self.settings
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(s.host, s.port), s.connect_timeout_ms / 1000
            )
        except (OSError, TimeoutError) as error:
            self.counters.add("bind_failures")
            log.warning("smpp %s: cannot connect to %s:%s: %s", s.name, s.host, s.port, error)
            return False
        session = EsmeSession(
            now_ms=self._clock_ms(), window=s.window, response_timeout_ms=s.response_timeout_ms,
            enquire_link_ms=s.enquire_link_ms,
        )  # fmt: skip
        self._session, self._writer = session, writer
        self._connection_done.clear()
        self._bind_result = asyncio.get_running_loop().create_future()
        request = bind_request(s.bind, s.system_id, s.password, s.system_type)
        writer.write(session.bind(request, self._clock_ms()))
        reading = asyncio.create_task(self._read(reader, session, writer))
        ticking = asyncio.create_task(self._tick(session, writer))
        bound = False
        try:
            status = await self._bind_answer(reading)
            if status != c.ESME_ROK:
                self.counters.add("bind_failures")
                log.warning("smpp %s: bind as %s refused: %s", s.name, s.system_id,
                            c.status_name(status))  # fmt: skip
                return False
            bound = True
            self.counters.add("binds")
            self.counters.set("up", 1)
            self._up.set()
            log.info("smpp %s: bound as %s to %s:%s (%s)", s.name, s.system_id, s.host, s.port,
                     s.bind)  # fmt: skip
            await reading
            return True
        finally:
            self._up.clear()
            if bound:
                self.counters.set("up", 0)
            for task in (reading, ticking):
                task.cancel()
            await asyncio.gather(reading, ticking, return_exceptions=True)
            if session.state != "closed":
                self._handle(session.close(), session, writer)
            self._session = self._writer = None
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()
            self._wake_window_waiters(all_of_them=True)
            self._connection_done.set()
            if bound and not self._closing:
                self.counters.add("link_drops")
                log.warning("smpp %s: link down", s.name)

    async def _bind_answer(self, reading: asyncio.Task[None]) -> int:
        assert self._bind_result is not None, "set before the bind is sent"
        done, _ = await asyncio.wait(
            (self._bind_result, reading), timeout=self.settings.response_timeout_ms / 1000,
            return_when=asyncio.FIRST_COMPLETED,
        )  # fmt: skip
        if self._bind_result in done:
            return self._bind_result.result()
        self._bind_result.cancel()
        return c.ESME_RBINDFAIL  # no answer, or the connection closed first

    async def _read(
        self, reader: asyncio.StreamReader, session: EsmeSession, writer: asyncio.StreamWriter
    ) -> None:
        while session.state != "closed":
            try:
                data = await reader.read(read_size)
            except (OSError, ConnectionError):
                return
            if not data:
                return
            self._handle(session.receive_data(data, self._clock_ms()), session, writer)

    async def _tick(self, session: EsmeSession, writer: asyncio.StreamWriter) -> None:
        while True:
            now = self._clock_ms()
            wait_ms = max(1, min(tick_ms_max, session.next_deadline_ms() - now))
            await asyncio.sleep(wait_ms / 1000)
            self._handle(session.tick(self._clock_ms()), session, writer)

    def _handle(
        self, events: list[Event], session: EsmeSession, writer: asyncio.StreamWriter
    ) -> None:
        out = session.data_to_send()
        if out and not writer.is_closing():
            self._send(writer, out)
        freed = False
        for event in events:
            if type(event) is Response:
                freed = True
                token = event.token
                if isinstance(token, asyncio.Future) and not token.done():
                    token.set_result(event)
            elif isinstance(event, TimedOut):
                freed = True
                token = event.token
                if isinstance(token, asyncio.Future) and not token.done():
                    dropped = session.state == "closed"
                    token.set_exception(_LinkDropped() if dropped else TimeoutError())
            elif isinstance(event, DeliverReceived):
                self._spawn(self._deliver(event, session, writer))
            else:
                self._other_event(event, writer)
        if freed:
            self._wake_window_waiters()

    def _other_event(self, event: Event, writer: asyncio.StreamWriter) -> None:
        name = self.settings.name
        if isinstance(event, Bound | BindRefused):
            status = c.ESME_ROK if isinstance(event, Bound) else event.status
            if self._bind_result is not None and not self._bind_result.done():
                self._bind_result.set_result(status)
            if isinstance(event, BindRefused):
                writer.close()
        elif isinstance(event, Unbound):
            log.info("smpp %s: unbound (%s)", name, "by the SMSC" if event.by_peer else "by us")
            writer.close()
        elif isinstance(event, ConnectionLost):
            if event.enquire_link:
                self.counters.add("enquire_link_timeouts")
            log.warning("smpp %s: dropping the link: %s", name, event.reason)
            writer.close()
        elif isinstance(event, PeerError):
            self.counters.add("peer_errors")
            log.warning("smpp %s: %s", name, event.error)

    def _spawn(self, coroutine: object) -> None:
        task = asyncio.ensure_future(coroutine)  # type: ignore[call-overload]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- MT -------------------------------------------------------------------------------------

    async def submit(self, message: OutboundSms) -> Submitted | SubmitFailed:
        s = self.settings
        coding = s.codings.choose_mt_coding(message.text)
        self._reference = (self._reference + 1) & 0xFF
        parts = split_text(message.text, coding.codec, self._reference)
        deadline_ms = self._clock_ms() + s.down_wait_ms
        ids = []
        for part in parts:
            pdu = SubmitSm(
                source_addr_ton=s.source_ton, source_addr_npi=s.source_npi,
                source_addr=s.source_addr, dest_addr_ton=s.dest_ton, dest_addr_npi=s.dest_npi,
                destination_addr=message.recipient, esm_class=part.esm_class,
                registered_delivery=1 if message.receipt else 0,
                data_coding=coding.data_coding, short_message=part.short_message,
            )  # fmt: skip
            result = await self.submit_pdu(pdu, deadline_ms)
            if isinstance(result, SubmitFailed):
                return result
            ids.append(result)
        return Submitted(tuple(ids))

    async def submit_pdu(self, pdu: SubmitSm, deadline_ms: int) -> str | SubmitFailed:
        """One submit_sm: its message id, or why not. Waits for the link until `deadline_ms`."""
        throttles = 0
        while True:
            session = await self._ready(deadline_ms)
            if session is None:
                self.counters.add("submits_failed")
                return SubmitFailed("the SMPP link is down", temporary=True)
            future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
            try:
                _, frame = session.submit(pdu, self._clock_ms(), future)
            except LocalProtocolError:
                continue  # the link went down or another part took the slot meanwhile
            assert self._writer is not None, "a bound session has a writer"
            self._send(self._writer, frame)
            try:
                response = await future
            except TimeoutError:
                self.counters.add("submits_failed")
                return SubmitFailed("no submit_sm_resp in time", temporary=True)
            except _LinkDropped:
                self.counters.add("submits_failed")
                return SubmitFailed("the SMPP link dropped with the part in flight", True)
            status = response.status
            if status == c.ESME_ROK:
                self._pacer.succeeded()
                self.counters.add("submits_ok")
                pdu_resp = response.pdu
                return pdu_resp.message_id if isinstance(pdu_resp, SubmitSmResp) else ""
            if status in THROTTLING_STATUSES and throttles < self.settings.throttle_retries_max:
                throttles += 1
                self.counters.add("submits_throttled")
                pause = self._pacer.throttled(self._clock_ms())
                log.info("smpp %s: %s, pausing %d ms and resubmitting", self.settings.name,
                         c.status_name(status), pause)  # fmt: skip
                deadline_ms = max(deadline_ms, self._clock_ms() + self.settings.down_wait_ms)
                continue
            self.counters.add("submits_failed")
            return SubmitFailed(c.status_name(status), temporary=status in TEMPORARY_STATUSES)

    async def _ready(self, deadline_ms: int) -> EsmeSession | None:
        """The bound session with a token and a window slot for one part, or None at the
        deadline."""
        waited = False
        while True:
            session = self._session
            if session is None or session.state != "bound":
                remaining = deadline_ms - self._clock_ms()
                if remaining <= 0 or self._closing or not await self.wait_up(remaining):
                    return None
                continue
            delay = self._pacer.delay_ms(self._clock_ms())
            if delay:
                await asyncio.sleep(delay / 1000)
                continue
            if session.window_free > 0:
                return session
            if not waited:
                waited = True
                self.counters.add("window_full_waits")
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._window_waiters.append(waiter)
            await waiter

    def _wake_window_waiters(self, *, all_of_them: bool = False) -> None:
        session = self._session
        free = len(self._window_waiters) if all_of_them or session is None else session.window_free
        while free > 0 and self._window_waiters:
            waiter = self._window_waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1

    # --- MO -------------------------------------------------------------------------------------

    async def _deliver(
        self, event: DeliverReceived, session: EsmeSession, writer: asyncio.StreamWriter
    ) -> None:
        try:
            status = await self._mo(event.pdu, event)
        except Exception:
            log.exception("smpp %s: handling an MO failed; asking the SMSC to deliver again",
                          self.settings.name)  # fmt: skip
            self.counters.add("mo_rejected")
            status = c.ESME_RX_T_APPN
        if session.state != "closed" and not writer.is_closing():
            self._send(writer, session.deliver_sm_resp(event.sequence, status))

    async def _mo(self, pdu: DeliverSm, event: DeliverReceived) -> int:
        name = self.settings.name
        if pdu.is_receipt:
            return await self._receipt(pdu)
        if ussd_codec.is_ussd(pdu):
            return self._ussd_indication(pdu)
        try:
            info, user_data = concat_info(pdu)
        except PduError as error:
            self.counters.add("peer_errors")
            log.warning("smpp %s: MO from %s: %s", name, pdu.source_addr, error)
            return error.command_status
        if info is not None:
            joined = self._reassembler.add(pdu.source_addr, info, user_data, event.received_ms)
            if joined is None:
                return c.ESME_ROK  # a part held for reassembly
            user_data = joined
        try:
            text = self.settings.codings.decode(pdu.data_coding, user_data)
        except CodingError as error:
            self.counters.add("mo_rejected")
            log.warning("smpp %s: MO from %s (%d octets, data_coding 0x%02X) not decoded: %s",
                        name, pdu.source_addr, len(user_data), pdu.data_coding, error)  # fmt: skip
            return error.command_status
        message = InboundSms(
            link=name, sender=pdu.source_addr, sender_ton=pdu.source_addr_ton,
            recipient=pdu.destination_addr, text=text, reference=pdu.user_message_reference,
            received_ms=self._wall_ms(),
        )  # fmt: skip
        if self.receiver is None:
            log.warning("smpp %s: no SMS receiver attached; the SMSC will deliver again", name)
            return c.ESME_RX_T_APPN
        else:
            await self.receiver.accept(message)
        self.counters.add("mo_received")
        return c.ESME_ROK

    async def _receipt(self, pdu: DeliverSm) -> int:
        try:
            receipt = parse_receipt(pdu)
        except SmppError as error:
            self.counters.add("peer_errors")
            log.warning("smpp %s: unreadable receipt: %s", self.settings.name, error)
            return error.command_status
        assert receipt is not None, "is_receipt was checked"
        if self.receiver is None:
            return c.ESME_RX_T_APPN
        await self.receiver.receipt(receipt.message_id, receipt.state, receipt.error or None)
        self.counters.add("receipts")
        return c.ESME_ROK

    def _ussd_indication(self, pdu: DeliverSm) -> int:
        if self.ussd is None:
            log.warning("smpp %s: a USSD indication and no USSD handler", self.settings.name)
            return c.ESME_RX_P_APPN
        try:
            indication = ussd_codec.indication(self.settings.name, pdu, self.settings.ussd_codings)
        except SmppError as error:
            self.counters.add("mo_rejected")
            log.warning("smpp %s: USSD from %s: %s", self.settings.name, pdu.source_addr, error)
            return error.command_status
        self.counters.add("ussd_received")
        self._spawn(self._answer_ussd(self.ussd, indication))
        return c.ESME_ROK  # USSD is not stored like SMS: acknowledged at once

    async def _answer_ussd(self, handler: UssdHandler, indication: UssdIndication) -> None:
        try:
            answer = await handler.handle(indication)
        except Exception:
            log.exception("smpp %s: the USSD handler failed", self.settings.name)
            return
        if answer is None or indication.abort:
            return
        pdu = ussd_codec.answer_submit(
            indication, answer, self.settings.ussd_codings, dest_ton=self.settings.dest_ton,
            dest_npi=self.settings.dest_npi,
        )  # fmt: skip
        result = await self.submit_pdu(pdu, self._clock_ms() + ussd_answer_wait_ms)
        if isinstance(result, SubmitFailed):
            log.warning("smpp %s: USSD answer to %s not sent: %s", self.settings.name,
                        indication.msisdn, result.reason)  # fmt: skip


__all__ = ["LinkSettings", "SmppLink"]
