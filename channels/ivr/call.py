"""One IVR call: the shared flows played through Asterisk, DTMF fed back to the engine.

A call (one AGI conversation) goes:

1. The request path picks the entry (`main`: the agent menu for agents, the subscriber menu
   for everyone else); `agi_language` picks zh-CN or en (else the agent's own language,
   else the platform default); `agi_callerid` is the caller. A withheld or unusable caller
   ID (`unknown`, `anonymous`, empty, not a number) is asked for: the caller types the number.
   The number only says whose account is meant; the PIN the flows ask before every agent
   operation authenticates, and a subscriber's transfer is confirmed by a code sent by SMS to
   that number. Wrong PINs from withheld calls are throttled per Asterisk address as well.
2. Each `Ask` is played as its prompt plan (`dialogs.render.ivr`): every item becomes sound
   files (`dialogs.render.ivr_speech`), each a STREAM FILE that a key interrupts (barge-in);
   the rest of the input is collected with GET DATA (max digits, time-out, `#` ends). `*`
   types the decimal point of an amount. No input or a wrong one is fed to the engine like
   any other: it re-prompts with a notice, and after three tries ends the session.
3. A `RunOperation` runs in a task of its own, shielded from the call: a caller who hangs up,
   or a call cancelled at shutdown, does not stop an operation half-way. Its outcome is fed
   back to the engine in that task, and the session's end notifications for the actor (the
   agent's receipt) are queued by SMS before anything is played — so the receipt goes out
   even when nobody is left to hear it. Notices to the other party (the subscriber credited)
   are the ledger's own (`SmsLink`), not sent twice here.
4. `End` plays its message and a goodbye, then HANGUP.

The operation's idempotency key is the call's own (a random nonce with the call's Asterisk
address, `agi_uniqueid` and channel), the input count and the operation. A call is never
retried as such — a caller who calls again makes a new call — so nothing is lost by the
nonce, and it keeps two calls apart even when their uniqueids meet (two Asterisk servers
behind one address, a PBX restarted within a second).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from channels.counters import Counters
from channels.ivr.agi import DTMF_DIGITS, answer, get_data, hangup, stream_file
from channels.ivr.agi_wire import Environment
from channels.ivr.session import AgiSession, CallGone
from channels.receipts import FlowNotifier, send_receipts
from channels.shielded import ShieldedWork
from dialogs.catalogue import DEFAULT_LANGUAGE, Catalogue
from dialogs.engine import Engine, Step
from dialogs.events import INPUTS, Ask, End, Message, RunOperation
from dialogs.inputs import parse_msisdn
from dialogs.render.ivr import PromptPlan, render_ivr
from dialogs.render.ivr_speech import ASTERISK_LANGUAGES, PROMPT_FOLDER, SILENCE_SOUND, sounds
from ledger.money import Msisdn
from ledger.operations import OperationRequest, OperationService

log = logging.getLogger(__name__)

CHANNEL: Final = "ivr"
AGENT_FLOW: Final = "agent_main"
SUBSCRIBER_FLOW: Final = "subscriber_main"
ENTRY_PATHS: Final = frozenset({"main"})
WITHHELD_CALLER_IDS: Final = frozenset({"", "unknown", "anonymous", "private", "restricted"})
# agi_language (Asterisk's language codes, as the dialplan set them) -> the catalogue's
LANGUAGES: Final[Mapping[str, str]] = {
    **{asterisk: ours for ours, asterisk in ASTERISK_LANGUAGES.items()},
    "zh_cn": "zh-CN",
    "cn": "zh-CN",
    "en_us": "en",
    "en_gb": "en",
}
identify_attempts_max: Final = 3  # tries at typing one's own number
operations_per_input_max: Final = 4  # an input leads to at most this many operations
AMOUNT_POINT_KEY: Final = "*"  # typed for the decimal point of an amount

EVENTS: Final = (
    "call_started",
    "call_completed",
    "caller_hung_up",
    "unknown_entry",
    "caller_withheld",
    "operation",
    "receipt_queued",
    "missing_sound",
)


@dataclass(frozen=True, slots=True)
class IvrSettings:
    default_language: str = DEFAULT_LANGUAGE
    sound_folder: str = PROMPT_FOLDER  # STREAM FILE names are "<folder>/<sound>"


@dataclass(frozen=True, slots=True)
class _Caller:
    msisdn: Msisdn
    origin: str  # "" when the network gave the number; else where the call came from
    key: str  # what makes this call's operation keys unique


def entry_path(env: Environment) -> str:
    """`main` from `agi_network_script: main` or `agi_request: agi://host:4573/main?x=1`."""
    script = env.get("network_script") or urlsplit(env.request).path
    return script.strip("/")


def call_language(env: Environment) -> str | None:
    """The catalogue language `agi_language` names, None when it names none of ours."""
    return LANGUAGES.get(env.get("language").strip().lower().replace("-", "_"))


class IvrCalls:
    """What every call of a FastAGI server shares: the engine, the ledger, the notifier."""

    def __init__(
        self,
        *,
        engine: Engine,
        catalogue: Catalogue,
        operations: OperationService,
        notifier: FlowNotifier | None,
        settings: IvrSettings,
        clock_ms: Callable[[], int],
        counters: Counters | None = None,
    ) -> None:
        self.engine = engine
        self.catalogue = catalogue
        self.operations = operations
        self.notifier = notifier
        self.settings = settings
        self.clock_ms = clock_ms
        self.counters = counters or Counters(EVENTS)
        self.completing = ShieldedWork()  # operations outliving their calls

    async def drain(self) -> None:
        """Wait for operations still completing after their calls ended (shutdown)."""
        await self.completing.drain()

    async def handle(self, session: AgiSession, env: Environment, peer: str) -> None:
        """Serve one call to its end; CallGone when the caller left (the server logs it)."""
        self.counters.add("call_started")
        call = _Call(self, session, env, peer)
        try:
            await call.run()
        except CallGone:
            self.counters.add("caller_hung_up")
            raise
        self.counters.add("call_completed")

    def now_s(self) -> int:
        return self.clock_ms() // 1000


class _Call:
    def __init__(self, calls: IvrCalls, session: AgiSession, env: Environment, peer: str) -> None:
        self._calls = calls
        self._session = session
        self._env = env
        self._peer = peer
        self._language = call_language(env) or calls.settings.default_language
        unique = f"{secrets.token_hex(16)}\0{peer}\0{env.get('uniqueid')}\0{env.get('channel')}"
        self._call_key = hashlib.sha256(unique.encode()).hexdigest()[:32]
        self._name = env.get("uniqueid") or self._call_key  # what logs call it (Asterisk's)

    @property
    def _catalogue(self) -> Catalogue:
        return self._calls.catalogue

    async def run(self) -> None:
        calls = self._calls
        path = entry_path(self._env)
        await self._session.run(answer())
        if path not in ENTRY_PATHS:
            log.warning("ivr call %s: unknown entry %r", self._name, path)
            calls.counters.add("unknown_entry")
            await self._finish(End(Message("common.service_unavailable")))
            return
        await self._play(render_ivr(End(Message("ivr.welcome")), self._catalogue, self._language))
        caller = await self._caller()
        if caller is None:
            await self._finish(End(Message("common.too_many_attempts")))
            return
        agent = await calls.operations.find_agent(caller.msisdn)
        if agent is not None:
            flow = AGENT_FLOW
            if call_language(self._env) is None:
                self._language = agent.language
        else:
            flow = SUBSCRIBER_FLOW
        step = calls.engine.start(flow, self._language, calls.now_s())
        await self._converse(caller, step)

    async def _converse(self, caller: _Caller, step: Step) -> None:
        calls = self._calls
        seal = functools.partial(calls.operations.protect_pin, caller.msisdn)
        while True:
            event = step.event
            if isinstance(event, End):
                await self._finish(event)
                return
            if isinstance(event, RunOperation):
                step = await self._operate(caller, step)
                continue
            value = await self._ask(event)
            if event.input.kind == "amount":
                value = value.replace(AMOUNT_POINT_KEY, ".")
            step = calls.engine.feed(step.state, value, seal, calls.now_s())

    async def _caller(self) -> _Caller | None:
        """The calling number: the network's, or typed by the caller when withheld."""
        raw = self._env.get("callerid").strip()
        parsed = None if raw.lower() in WITHHELD_CALLER_IDS else parse_msisdn(raw)
        if parsed is not None:
            return _Caller(Msisdn(parsed), "", self._call_key)
        self._calls.counters.add("caller_withheld")
        ask = Ask(Message("ivr.ask_number"), input=INPUTS["msisdn"])
        for _ in range(identify_attempts_max):
            typed = parse_msisdn(await self._ask(ask))
            if typed is not None:
                log.info("ivr call %s: caller ID withheld, number typed", self._name)
                return _Caller(Msisdn(typed), f"withheld@{self._peer}", self._call_key)
            ask = Ask(ask.prompt, input=ask.input, notice=Message("input.invalid.msisdn"))
        return None

    async def _operate(self, caller: _Caller, step: Step) -> Step:
        """Run the step's operation(s) in a task of its own (see the module docstring)."""
        return await self._calls.completing.run(self._complete(caller, step))

    async def _complete(self, caller: _Caller, step: Step) -> Step:
        calls = self._calls
        for _ in range(operations_per_input_max):
            event = step.event
            if not isinstance(event, RunOperation):
                break
            key = f"{CHANNEL}:{caller.key}:{step.state.inputs}:{event.name}"
            request = OperationRequest(
                name=event.name,
                actor=caller.msisdn,
                params=event.params,
                key=key,
                channel=CHANNEL,
                origin=caller.origin,
            )
            outcome = await calls.operations.execute(request)
            calls.counters.add("operation")
            log.info("ivr call %s: %s -> %s", self._name, event.name, outcome.code)
            step = calls.engine.resume(step.state, outcome.code, outcome.values)
        else:
            step = Step(step.state, End(Message("common.service_unavailable")))
        if isinstance(step.event, End):
            await self._notify(caller, step.event)
        return step

    async def _notify(self, caller: _Caller, end: End) -> None:
        where = f"ivr call {self._name}"
        queued = await send_receipts(self._calls.notifier, caller.msisdn, end, where)
        for _ in range(queued):
            self._calls.counters.add("receipt_queued")

    async def _finish(self, end: End) -> None:
        goodbye = render_ivr(End(Message("ivr.goodbye")), self._catalogue, self._language)
        await self._play(render_ivr(end, self._catalogue, self._language))
        await self._play(goodbye)
        await self._session.run(hangup())

    def _sound_names(self, plan: PromptPlan) -> Iterator[str]:
        folder = self._calls.settings.sound_folder
        for item in plan.items:
            for name in sounds(item, self._language):
                yield f"{folder}/{name}"

    async def _play(self, plan: PromptPlan, escape: str = "") -> str:
        """Play the plan's sounds; the key that interrupted one ("" when none did)."""
        for name in self._sound_names(plan):
            reply = await self._session.run(stream_file(name, escape))
            code = reply.number
            if code == -1:
                log.warning("ivr: Asterisk could not play %r (missing sound file?)", name)
                self._calls.counters.add("missing_sound")
            elif code is not None and code > 0:
                return chr(code)
        return ""

    async def _ask(self, event: Ask) -> str:
        """Play the ask and collect its keys: what the caller typed ("" for nothing)."""
        plan = render_ivr(event, self._catalogue, self._language)
        collect = plan.collect
        assert collect is not None, "an Ask always collects"
        first = await self._play(plan, DTMF_DIGITS)
        if first == collect.terminator:
            return ""
        if len(first) >= collect.max_digits:
            return first
        silence = f"{self._calls.settings.sound_folder}/{SILENCE_SOUND}"
        command = get_data(silence, collect.timeout_ms, collect.max_digits - len(first))
        reply = await self._session.run(command)
        typed = "" if reply.result == "-1" else reply.result
        return first + typed


__all__ = [
    "EVENTS",
    "IvrCalls",
    "IvrSettings",
    "call_language",
    "entry_path",
]
