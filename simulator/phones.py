"""Handsets as plain objects: one per number, on every channel, free of any UI.

A `Phone` holds what its screen shows: the SMS conversation with the service number (sent
messages with their delivery state, received ones whole however many parts they came in), the
USSD session (pages and answers, ended or timed out), the IVR call (the text of every
prompt as it plays, the keys pressed, how it ended), and the WAP browser's screen
(`simulator.wap_phone`, behind the world's WAP gateway). `Phones` creates them on first use and
routes the emulators' events to them. The Textual app (`simulator.tui`) draws them; the
headless script runner (`simulator.script`) drives the same objects.

An agent's phone also holds its service SIM's menu (`phone.stk`, `simulator.stk_phone`), whose
answer SMS leave as the phone's own.

Every change calls the phone's listeners (`on_change`), in the event loop's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from simulator.asterisk import (
    AwaitingKeys,
    CallEnded,
    CallStarted,
    HangUp,
    KeyPressed,
    PromptPlaying,
)
from simulator.asterisk import Event as AsteriskEvent
from simulator.smsc import Event as SmscEvent
from simulator.smsc import MoAcked, MoRedelivered, MtReceived
from simulator.smsc.handsets import international
from simulator.stk_phone import StkPhone
from simulator.wap_browser import Flavour
from simulator.wap_phone import WapPhone, WapState
from simulator.world import UssdSession, World

log = logging.getLogger(__name__)

messages_max: Final = 200  # SMS kept per phone; older ones are dropped
prompts_max: Final = 500  # prompt texts kept per call
ussd_lines_max: Final = 100  # pages and answers kept per USSD session
ussd_timeout_s_default: Final = 180.0  # the network ends a silent USSD session after this
COUNTRY_CODE: Final = "86"

SmsState = Literal["sending", "delivered", "retrying", "received"]
CallStatus = Literal["idle", "calling", "connected", "ended"]
Clock = Callable[[], datetime]


def national(msisdn: str) -> str:
    """`8613900000001` → `13900000001`; short codes and other forms stay as they are."""
    if msisdn.startswith(COUNTRY_CODE) and len(msisdn) == len(COUNTRY_CODE) + 11:
        return msisdn[len(COUNTRY_CODE) :]
    return msisdn


@dataclass
class SmsMessage:
    outgoing: bool
    peer: str  # the other end: the service number, or who sent it
    text: str
    state: SmsState
    parts: int
    at: datetime
    reference: int | None = None  # an MO's message reference, to match its acknowledgement
    message_id: str = ""  # a received message's id at the SMSC (its last part's)


@dataclass
class UssdLine:
    outgoing: bool  # what the user typed (True) or a page the network showed
    text: str


@dataclass
class UssdState:
    status: Literal["idle", "waiting", "open", "ended", "timed out", "failed"] = "idle"
    lines: list[UssdLine] = field(default_factory=list)
    error: str = ""

    @property
    def page(self) -> str:
        """The last page shown ("" before the first)."""
        pages = [line.text for line in self.lines if not line.outgoing]
        return pages[-1] if pages else ""


@dataclass
class CallState:
    status: CallStatus = "idle"
    number: str = ""
    prompts: list[str] = field(default_factory=list)  # every prompt's text, in order
    keys: str = ""  # keys the platform took
    ending: str = ""  # an `Ending` value, or why the call did not start
    call_id: str = ""
    awaiting_keys: bool = False  # the platform waits for keys, nothing playing
    withheld: bool = False  # the caller ID was not sent

    @property
    def heard(self) -> str:
        return "".join(self.prompts)


class Phone:
    """One handset: `send_sms`, `dial_ussd` / `answer_ussd` / `end_ussd`, `call` / `press` /
    `hang_up`, `open_wap` / `wap_answer` / `wap_follow`."""

    def __init__(self, msisdn: str, world: World, clock: Clock, *, ussd_timeout_s: float) -> None:
        self.msisdn = national(international(msisdn))
        self.address = international(msisdn)  # as the SMSC carries it
        self.world = world
        self.messages: list[SmsMessage] = []
        self.ussd = UssdState()
        self.call_state = CallState()
        self._clock = clock
        self._ussd_timeout_s = ussd_timeout_s
        self._ussd_session: UssdSession | None = None
        self._ussd_timer: asyncio.TimerHandle | None = None
        self._keypad: asyncio.Queue[str | HangUp] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._listeners: list[Callable[[Phone], None]] = []
        self.wap_phone = WapPhone(self.msisdn, world.wap, self.changed)
        self.stk = StkPhone(self)  # the service SIM's menu, when the number has a SIM

    # -- listeners ---------------------------------------------------------------------------

    def on_change(self, listener: Callable[[Phone], None]) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[Phone], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def changed(self) -> None:
        for listener in list(self._listeners):
            listener(self)

    def _spawn(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        task = asyncio.create_task(work())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- SMS ---------------------------------------------------------------------------------

    def send_sms(self, text: str, to: str | None = None) -> SmsMessage:
        """An MO to `to` (the service number by default); its state follows the SMSC."""
        to = to or self.world.service_number
        mo = self.world.smsc.send_sms(self.address, text, to)
        message = SmsMessage(True, to, text, "sending", mo.parts, self._clock(), mo.reference)
        self._add_message(message)
        return message

    def received(self, event: MtReceived) -> None:
        sender = national(event.source)
        at, message_id = self._clock(), event.message_id
        self._add_message(
            SmsMessage(
                False, sender, event.text, "received", event.parts, at, message_id=message_id
            )
        )

    def mo_state(self, reference: int, state: SmsState) -> None:
        for message in reversed(self.messages):
            if message.outgoing and message.reference == reference:
                if message.state != "delivered":
                    message.state = state
                    self.changed()
                return

    def _add_message(self, message: SmsMessage) -> None:
        self.messages.append(message)
        del self.messages[:-messages_max]
        self.changed()

    # -- USSD --------------------------------------------------------------------------------

    @property
    def ussd_open(self) -> bool:
        return self._ussd_session is not None and not self._ussd_session.ended

    async def dial_ussd(self, code: str | None = None) -> None:
        """Dial `code` (the service code by default), ending a session still open."""
        await self.end_ussd(quiet=True)
        code = code or self.world.ussd_code
        self.ussd = UssdState("waiting", [UssdLine(True, code)])
        self.changed()
        try:
            self._ussd_session = await self.world.ussd.dial(self.msisdn, code)
        except Exception as exc:  # the gateway or the network failed: the phone shows it
            self._ussd_failed(exc)
            return
        self._ussd_page()

    async def answer_ussd(self, text: str) -> None:
        """Answer the page shown."""
        session = self._ussd_session
        if session is None or session.ended:
            return
        self._add_ussd_line(UssdLine(True, text))
        self.ussd.status = "waiting"
        self.changed()
        try:
            await session.reply(text)
        except Exception as exc:
            self._ussd_failed(exc)
            return
        self._ussd_page()

    async def end_ussd(self, *, quiet: bool = False) -> None:
        """The user leaves the session (abort)."""
        self._cancel_ussd_timer()
        session, self._ussd_session = self._ussd_session, None
        if session is None or session.ended:
            return
        with contextlib.suppress(Exception):
            await session.abort()
        if not quiet:
            self.ussd.status = "ended"
            self.changed()

    def _ussd_page(self) -> None:
        session = self._ussd_session
        assert session is not None
        self._add_ussd_line(UssdLine(False, session.page.text))
        self.ussd.status = "ended" if session.ended else "open"
        self._cancel_ussd_timer()
        if session.ended:
            self._ussd_session = None
        else:
            loop = asyncio.get_running_loop()
            self._ussd_timer = loop.call_later(self._ussd_timeout_s, self._ussd_timed_out)
        self.changed()

    def _ussd_timed_out(self) -> None:
        self._ussd_timer = None
        self._spawn(lambda: self.end_ussd(quiet=True))
        self.ussd.status = "timed out"
        self.changed()

    def _ussd_failed(self, exc: BaseException) -> None:
        self._cancel_ussd_timer()
        self._ussd_session = None
        self.ussd.status = "timed out" if isinstance(exc, TimeoutError) else "failed"
        self.ussd.error = str(exc) or type(exc).__name__
        self.changed()

    def _add_ussd_line(self, line: UssdLine) -> None:
        self.ussd.lines.append(line)
        del self.ussd.lines[:-ussd_lines_max]

    def _cancel_ussd_timer(self) -> None:
        if self._ussd_timer is not None:
            self._ussd_timer.cancel()
            self._ussd_timer = None

    # -- IVR ---------------------------------------------------------------------------------

    @property
    def in_call(self) -> bool:
        return self.call_state.status in ("calling", "connected")

    def call(
        self, number: str | None = None, language: str = "zh", *, withheld: bool = False
    ) -> None:
        """Call `number` (the service number by default) with a live keypad, in `language`
        (the channel's, `agi_language`), the caller ID shown or `withheld`."""
        if self.in_call:
            return
        number = number or self.world.service_number
        self.call_state = CallState("calling", number, withheld=withheld)
        asterisk = self.world.asterisk
        if number != self.world.service_number or asterisk is None:
            why = "no IVR in this world" if asterisk is None else "number not in service"
            self.call_state = CallState("ended", number, ending=why)
            self.changed()
            return
        keypad: asyncio.Queue[str | HangUp] = asyncio.Queue()
        self._keypad = keypad

        async def run() -> None:
            try:
                caller = None if withheld else self.msisdn
                record = await asterisk.place_call(
                    self.world.ivr_path, caller, language, keypad, self.world.ivr_paced
                )
                ending = record.ending.value if record.ending is not None else "unknown"
                ending += f": {record.error}" if record.error else ""
            except Exception as exc:
                log.exception("call from %s failed", self.msisdn)
                ending = f"failed: {exc}"
            self._keypad = None
            self.call_state.status = "ended"
            self.call_state.ending = ending
            self.changed()

        self._spawn(run)
        self.changed()

    def press(self, keys: str) -> None:
        """DTMF keys into the call (lost while the platform is not listening, as in Asterisk)."""
        if self._keypad is not None and keys:
            self._keypad.put_nowait(keys)

    def hang_up(self) -> None:
        if self._keypad is not None:
            self._keypad.put_nowait(HangUp())

    def call_event(self, event: AsteriskEvent) -> None:
        state = self.call_state
        state.awaiting_keys = isinstance(event, AwaitingKeys)
        if isinstance(event, CallStarted):
            state.status, state.call_id = "connected", event.call_id
        elif isinstance(event, PromptPlaying):
            state.prompts.append(event.text)
            del state.prompts[:-prompts_max]
        elif isinstance(event, KeyPressed) and event.taken:
            state.keys += event.key
        elif isinstance(event, CallEnded):
            return  # the call's task reports the ending, with the record's error
        self.changed()

    # -- WAP ---------------------------------------------------------------------------------

    @property
    def wap(self) -> WapState:
        """What the WAP browser shows."""
        return self.wap_phone.state

    @property
    def wap_flavour(self) -> Flavour:
        return self.wap_phone.flavour

    def toggle_wap_flavour(self) -> Flavour:
        """WML 1.3 or XHTML-MP from the next home page on, like the call language."""
        return self.wap_phone.toggle_flavour()

    async def open_wap(self, flavour: Flavour | None = None) -> None:
        """The WAP home page through the world's gateway (the handset attached on first use)."""
        await self.wap_phone.open(flavour)

    async def wap_answer(self, text: str) -> None:
        """Choose or type `text` on the page shown and submit it; a refused answer sends
        nothing and shows why (`wap.refused`)."""
        await self.wap_phone.answer(text)

    async def wap_follow(self, label: str) -> None:
        """Follow the page's link `label` (an end page's "start again")."""
        await self.wap_phone.follow(label)

    async def close(self) -> None:
        self.hang_up()
        await self.wap_phone.close()
        await self.end_ussd(quiet=True)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task


class Phones:
    """The handsets of a world, by number; routes the SMSC's and Asterisk's events to them."""

    def __init__(
        self,
        world: World,
        clock: Clock,
        *,
        ussd_timeout_s: float = ussd_timeout_s_default,
    ) -> None:
        self.world = world
        self._clock = clock
        self._ussd_timeout_s = ussd_timeout_s
        self._phones: dict[str, Phone] = {}
        self._calls: dict[str, Phone] = {}  # call_id → phone
        self.numbers: list[str] = []
        for number in world.numbers:
            self.add(number)
        world.smsc.events.add_callback(self._smsc_event)
        if world.asterisk is not None:
            world.asterisk.events.add_callback(self._asterisk_event)

    def add(self, msisdn: str) -> Phone:
        """The phone for `msisdn` (any form), added to the switcher when new with the SMS its
        handset already holds at the SMSC."""
        key = international(msisdn)
        phone = self._phones.get(key)
        if phone is None:
            phone = Phone(msisdn, self.world, self._clock, ussd_timeout_s=self._ussd_timeout_s)
            handset = self.world.smsc.handsets.get(key)
            for message in handset.inbox if handset is not None else ():
                # What the SMSC delivered before the phone was shown (the time it is shown).
                m = message
                phone.received(
                    MtReceived(m.sender, key, m.text, m.data_coding, m.parts, m.message_id)
                )
            self._phones[key] = phone
            self.numbers.append(phone.msisdn)
        return phone

    def __getitem__(self, msisdn: str) -> Phone:
        return self._phones[international(msisdn)]

    def __contains__(self, msisdn: str) -> bool:
        return international(msisdn) in self._phones

    def _smsc_event(self, event: SmscEvent) -> None:
        if isinstance(event, MtReceived):
            phone = self._phones.get(international(event.destination))
            if phone is not None:
                phone.received(event)
        elif isinstance(event, MoAcked | MoRedelivered):
            phone = self._phones.get(international(event.msisdn))
            if phone is not None:
                phone.mo_state(event.reference, _mo_state(event))

    def _asterisk_event(self, event: AsteriskEvent) -> None:
        if isinstance(event, CallStarted):
            for phone in self._phones.values():  # a withheld caller: the one calling withheld
                state = phone.call_state
                if state.status == "calling" and event.caller == (
                    None if state.withheld else phone.msisdn
                ):
                    self._calls[event.call_id] = phone
                    break
        caller = self._calls.get(event.call_id)
        if caller is not None:
            caller.call_event(event)
        if isinstance(event, CallEnded):
            self._calls.pop(event.call_id, None)

    async def close(self) -> None:
        self.world.smsc.events.remove_callback(self._smsc_event)
        if self.world.asterisk is not None:
            self.world.asterisk.events.remove_callback(self._asterisk_event)
        for phone in self._phones.values():
            await phone.close()


def _mo_state(event: MoAcked | MoRedelivered) -> SmsState:
    return "delivered" if isinstance(event, MoAcked) else "retrying"


__all__ = [
    "CallState",
    "Clock",
    "Phone",
    "Phones",
    "SmsMessage",
    "UssdLine",
    "UssdState",
    "national",
]
