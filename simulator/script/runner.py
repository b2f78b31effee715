"""Replays a scripted session on the simulator's phones, headless, and says where it differs.

The runner drives `simulator.phones.Phones` over a `World`, as the terminal simulator does:
SMS through the SMSC emulator, USSD through the gateway, calls through the Asterisk
emulator, WAP pages through the WAP gateway emulator and the browser model, BOSS balances
from its emulator and the agents' deposits from `/api/v1`. Actions happen at once; every
expectation waits (up to its `within_s`) for what it looks for, so a script states outcomes,
not timings.

Received SMS and heard prompts are read once: `expect_sms` takes the first unread message
that matches, in any order (a receipt and a notice may cross), and `expect_heard` the prompts
played since the last one it took. What the handsets held before the script began is not
unread: scripts run one after another against a platform elsewhere share its SMSC.
Balances are compared with their value when the script started (`*_change_fen`) or as they
are (`*_fen`).

An agent's SIM menu runs on the phone's emulated service SIM (`phone.stk`); its answer SMS
leaves through the SMSC like the phone's own, and the step that sent it waits until the
platform has it acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import string
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from simulator.boss.model import Msisdn
from simulator.masking import mask_pins
from simulator.phones import CallState, Phone, Phones, SmsMessage
from simulator.script.format import STK_SCREEN_ACTIONS, SUBSTITUTED, Script, Step, Text
from simulator.smsc.handsets import international
from simulator.stk import HandsetError
from simulator.world import ApiError, World

poll_s: Final = 0.05  # how often a waiting expectation looks again without a change event
shown_max: Final = 5  # unread messages or prompts quoted in a mismatch

_T = TypeVar("_T")


class Mismatch(Exception):
    """What the script expected did not happen; the message says what happened instead."""


@dataclass(frozen=True, slots=True)
class StepResult:
    step: Step
    ok: bool
    seconds: float
    detail: str = ""


@dataclass
class _Reading:
    """Where the script has read a phone up to."""

    read_sms: list[SmsMessage] = field(default_factory=list)  # objects: identity, not value
    call: CallState | None = None
    heard: int = 0  # prompts of `call` taken


class ScriptRun:
    """One run of `script` on `phones`; `run()` returns every step's result, stopping at the
    first mismatch."""

    def __init__(self, script: Script, world: World, phones: Phones) -> None:
        self.script = script
        self.world = world
        self.phones = phones
        self._readings: dict[str, _Reading] = {}
        self._boss_start: dict[str, tuple[int, int]] = {}
        self._ledger_start: dict[str, tuple[int, int]] = {}
        self.saved: dict[str, str] = {}  # what `save:` took, for `${name}`
        # What the handsets held before the script began is not the script's to read (a
        # platform elsewhere runs one script after another over the same SMSC).
        self._before = {
            message.message_id
            for handset in world.smsc.handsets.values()
            for message in handset.inbox
        }

    async def run(self, report: Callable[[StepResult], None] = lambda _: None) -> list[StepResult]:
        results: list[StepResult] = []
        try:
            await self._baselines()
        except Mismatch as exc:
            result = StepResult(self.script.steps[0], False, 0.0, str(exc))
            report(result)
            return [result]
        for step in self.script.steps:
            started = time.perf_counter()
            try:
                await self._do(step)
            except Mismatch as exc:
                result = StepResult(step, False, time.perf_counter() - started, str(exc))
            else:
                result = StepResult(step, True, time.perf_counter() - started)
            results.append(result)
            report(result)
            if not result.ok:
                break
        return results

    # -- balances ---------------------------------------------------------------------------

    async def _baselines(self) -> None:
        for step in self.script.steps:
            if step.action == "expect_boss":
                number = step.value["number"]
                self._boss_start.setdefault(number, self._boss(number, step))
            elif step.action == "expect_ledger":
                agent = step.value["agent"]
                if agent not in self._ledger_start:
                    self._ledger_start[agent] = await self._ledger(agent, step)

    def _boss(self, number: str, step: Step) -> tuple[int, int]:
        subscriber = self.world.boss.subscriber(Msisdn(international(number)))
        if subscriber is None:
            raise Mismatch(f"line {step.line}: {number} is not a BOSS subscriber")
        return subscriber.balance_fen, subscriber.bill_due_fen

    async def _ledger(self, agent: str, step: Step) -> tuple[int, int]:
        try:
            answer = await self.world.api.agent(agent)
        except (ApiError, OSError, TimeoutError) as exc:
            raise Mismatch(f"line {step.line}: the ledger has no agent {agent}: {exc}") from None
        return answer["deposit"]["posted_fen"], answer["commission"]["posted_fen"]

    async def _boss_holds(self, step: Step) -> str | None:
        number = step.value["number"]
        balance, due = self._boss(number, step)
        start_balance, start_due = self._boss_start[number]
        now = {
            "balance_fen": balance,
            "balance_change_fen": balance - start_balance,
            "bill_due_fen": due,
            "bill_due_change_fen": due - start_due,
        }
        return _differences(step.value, now, "BOSS")

    async def _ledger_holds(self, step: Step) -> str | None:
        agent = step.value["agent"]
        answer = await self.world.api.agent(agent)
        deposit, commission = answer["deposit"], answer["commission"]
        start_deposit, start_commission = self._ledger_start[agent]
        now = {
            "deposit_fen": deposit["posted_fen"],
            "deposit_change_fen": deposit["posted_fen"] - start_deposit,
            "available_fen": deposit["available_fen"],
            "commission_fen": commission["posted_fen"],
            "commission_change_fen": commission["posted_fen"] - start_commission,
        }
        return _differences(step.value, now, "the ledger")

    # -- steps ------------------------------------------------------------------------------

    async def _do(self, step: Step) -> None:
        phone = self.phones.add(step.phone)
        reading = self._readings.setdefault(phone.msisdn, _Reading())
        action, value = step.action, step.value
        if action in SUBSTITUTED:
            value = string.Template(value).substitute(self.saved)
        if action == "phone":
            return
        if action == "wait_s":
            await asyncio.sleep(value)
        elif action == "sms":
            sent = phone.send_sms(value, step.options.get("to"))
            await self._until(
                phone,
                step,
                lambda: sent.state == "delivered" or None,
                lambda: f"the platform did not acknowledge the SMS ({sent.state})",
            )
        elif action == "expect_sms":
            await self._expect_sms(phone, reading, step, value)
        elif action == "expect_no_sms":
            await self._expect_no_sms(phone, reading, value)
        elif action in ("dial", "answer", "end_ussd", "expect_page", "expect_ussd"):
            await self._ussd(phone, step, value)
        elif action in ("call", "press", "hang_up", "expect_heard", "expect_call"):
            await self._ivr(phone, reading, step, value)
        elif action in ("wap", "wap_answer", "wap_follow", "expect_wap"):
            await self._wap(phone, step, value)
        elif action == "stk" or action in STK_SCREEN_ACTIONS:
            await self._stk(phone, step, value)
        elif action in ("expect_boss", "expect_ledger"):
            holds = self._boss_holds if action == "expect_boss" else self._ledger_holds
            await self._until_balance(step, holds)
        else:  # pragma: no cover - the format refuses other actions
            raise AssertionError(action)

    async def _expect_sms(self, phone: Phone, reading: _Reading, step: Step, text: Text) -> None:
        def found() -> tuple[SmsMessage, str] | None:
            for message in _unread(phone, reading, self._before):
                matched = text.found_in(message.text)
                if matched is not None:
                    return message, matched
            return None

        def otherwise() -> str:
            unread = [mask_pins(m.text) for m in _unread(phone, reading, self._before)][:shown_max]
            return f"no SMS with {text} within {step.within_s:g} s; unread: {unread or 'none'}"

        message, matched = await self._until(phone, step, found, otherwise)
        reading.read_sms.append(message)
        self._save(step, matched)

    async def _expect_no_sms(self, phone: Phone, reading: _Reading, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            unread = _unread(phone, reading, self._before)
            if unread:
                raise Mismatch(f"an SMS came: {mask_pins(unread[0].text)!r}")
            if time.monotonic() >= deadline:
                return
            await asyncio.sleep(poll_s)

    async def _ussd(self, phone: Phone, step: Step, value: Any) -> None:
        action, state = step.action, phone.ussd
        if action == "dial":
            async with _limit(step, "the USSD gateway did not answer the dial"):
                await phone.dial_ussd(value)
            _ussd_went_through(phone)
        elif action == "answer":
            if not phone.ussd_open:
                raise Mismatch(f"no USSD session open to answer (it is {state.status})")
            async with _limit(step, "the USSD gateway did not answer"):
                await phone.answer_ussd(value)
            _ussd_went_through(phone)
        elif action == "end_ussd":
            await phone.end_ussd()
        elif action == "expect_page":
            matched = await self._until(
                phone,
                step,
                lambda: value.found_in(phone.ussd.page) if phone.ussd.status != "waiting" else None,
                lambda: (
                    f"the page shown is {phone.ussd.page!r} ({phone.ussd.status}), without {value}"
                ),
            )
            self._save(step, matched)
        else:
            await self._until(
                phone,
                step,
                lambda: phone.ussd.status == value or None,
                lambda: f"the USSD session is {phone.ussd.status}, not {value}",
            )

    async def _ivr(self, phone: Phone, reading: _Reading, step: Step, value: Any) -> None:
        action = step.action
        if action == "call":
            options = step.options
            phone.call(value, options.get("language", "zh"), withheld="withheld" in options)
            reading.call, reading.heard = phone.call_state, 0
            await self._until(
                phone,
                step,
                lambda: phone.call_state.status == "connected" or None,
                lambda: f"the call did not connect ({_ending(phone.call_state)})",
            )
        elif action in ("press", "hang_up"):
            if not phone.in_call:
                raise Mismatch(f"no call to {action.replace('_', ' ')} in"
                               f" ({_ending(phone.call_state)})")  # fmt: skip
            if action == "press":  # when the platform listens, as a caller who heard it out
                await self._until(
                    phone,
                    step,
                    lambda: phone.call_state.awaiting_keys or not phone.in_call or None,
                    lambda: "the platform did not wait for keys",
                )
                if not phone.in_call:
                    raise Mismatch(f"the call ended before the keys ({_ending(phone.call_state)})")
                phone.call_state.awaiting_keys = False
                phone.press(value)
            else:
                phone.hang_up()
        elif action == "expect_heard":
            await self._expect_heard(phone, reading, step, value)
        else:
            await self._until(
                phone,
                step,
                lambda: (
                    (
                        phone.call_state.status == "ended"
                        and phone.call_state.ending.startswith(value)
                    )
                    or None
                ),
                lambda: f"the call is {_ending(phone.call_state)}, not ended by {value}",
            )

    async def _wap(self, phone: Phone, step: Step, value: Any) -> None:
        action, state = step.action, phone.wap
        if action == "wap":
            gateway = self.world.wap
            if gateway is None:
                raise Mismatch("no WAP gateway in this world (is the platform's /wap/ on?)")
            gateway.enrich = step.options.get("enrich", True)
            async with _limit(step, "the WAP gateway did not answer"):
                await phone.open_wap(step.options.get("browser", "xhtml"))
        elif action == "expect_wap":
            matched = await self._until(
                phone,
                step,
                lambda: value.found_in(phone.wap.page) if phone.wap.status == "shown" else None,
                lambda: (
                    f"the WAP page shows {phone.wap.page!r} ({phone.wap.status}), without {value}"
                ),
            )
            self._save(step, matched)
            return
        else:
            if state.status != "shown":
                raise Mismatch(f"no WAP page shown to {action.removeprefix('wap_')}"
                               f" (it is {state.status})")  # fmt: skip
            async with _limit(step, "the WAP gateway did not answer"):
                if action == "wap_answer":
                    await phone.wap_answer(value)
                else:
                    await phone.wap_follow(value)
        if phone.wap.refused:
            raise Mismatch(mask_pins(f"the page refused {value!r}: {phone.wap.refused}"))
        if phone.wap.status == "failed":
            raise Mismatch(mask_pins(f"the WAP page failed: {phone.wap.error}"))

    async def _stk(self, phone: Phone, step: Step, value: Any) -> None:
        """The SIM menu: an action at once (a refused entry stays on the screen with the
        handset's notice, for `expect_stk`); when it made the SIM send its answer SMS, until
        the platform has it acknowledged, as `sms` does."""
        stk, action = phone.stk, step.action
        if action == "expect_stk":
            matched = await self._until(
                phone,
                step,
                lambda: value.found_in(stk.text()) if stk.has_sim else None,
                lambda: f"the SIM shows {mask_pins(stk.text())!r}, without {value}",
            )
            self._save(step, matched)
            return
        before = stk.last_sent
        try:
            async with _limit(step, "the SIM did not answer"):
                if action == "stk":
                    await stk.open()
                elif action == "stk_select":
                    await stk.select(value)
                elif action == "stk_enter":
                    await stk.enter(value)
                elif action == "stk_ok":
                    await stk.ok()
                elif action == "stk_back":
                    await stk.back()
                else:
                    await stk.cancel()
        except HandsetError as exc:
            raise Mismatch(f"{exc}; the SIM shows {mask_pins(stk.text())!r}") from None
        if stk.error:
            raise Mismatch(stk.error)
        sent = stk.last_sent
        if sent is not None and sent is not before:
            await self._until(
                phone,
                step,
                lambda: sent.state == "delivered" or None,
                lambda: f"the platform did not acknowledge the SIM's SMS ({sent.state})",
            )

    async def _expect_heard(self, phone: Phone, reading: _Reading, step: Step, text: Text) -> None:
        call = reading.call
        if call is None or call is not phone.call_state:
            raise Mismatch("no call placed by this script on this phone")

        def found() -> tuple[int, str] | None:
            for end in range(reading.heard, len(call.prompts)):
                matched = text.found_in("".join(call.prompts[reading.heard : end + 1]))
                if matched is not None:
                    return end + 1, matched
            return None

        def otherwise() -> str:
            heard = call.prompts[reading.heard :][-shown_max:]
            return f"not heard {text} within {step.within_s:g} s; heard since: {heard or 'nothing'}"

        reading.heard, matched = await self._until(phone, step, found, otherwise)
        self._save(step, matched)

    def _save(self, step: Step, matched: str) -> None:
        if "save" in step.options:
            self.saved[step.options["save"]] = matched

    # -- waiting ----------------------------------------------------------------------------

    async def _until(
        self, phone: Phone, step: Step, found: Callable[[], _T | None], otherwise: Callable[[], str]
    ) -> _T:
        """`found()` once it is not None, re-checked on the phone's changes and every
        `poll_s`; `Mismatch(otherwise())` after the step's `within_s`."""
        changed = asyncio.Event()

        def listener(_: Phone) -> None:
            changed.set()

        phone.on_change(listener)
        deadline = time.monotonic() + step.within_s
        try:
            while (result := found()) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Mismatch(otherwise())
                changed.clear()
                try:
                    async with asyncio.timeout(min(left, poll_s)):
                        await changed.wait()
                except TimeoutError:
                    pass
            return result
        finally:
            phone.remove_listener(listener)

    async def _until_balance(self, step: Step, holds: Callable[[Step], Any]) -> None:
        deadline = time.monotonic() + step.within_s
        while True:
            try:
                difference = await holds(step)
            except (ApiError, OSError, TimeoutError) as exc:
                difference = f"could not read it: {exc}"
            if difference is None:
                return
            if time.monotonic() >= deadline:
                raise Mismatch(f"{difference} after {step.within_s:g} s")
            await asyncio.sleep(poll_s * 2)


def _differences(expected: dict[str, Any], now: dict[str, int], where: str) -> str | None:
    wrong = [
        f"{key} {now[key]} (expected {want})"
        for key, want in expected.items()
        if key in now and now[key] != want
    ]
    return f"{where} shows " + ", ".join(wrong) if wrong else None


def _unread(phone: Phone, reading: _Reading, before: set[str]) -> list[SmsMessage]:
    read = reading.read_sms
    return [
        m
        for m in phone.messages
        if not m.outgoing and m.message_id not in before and not any(m is r for r in read)
    ]


def _ussd_went_through(phone: Phone) -> None:
    if phone.ussd.status in ("failed", "timed out"):
        raise Mismatch(f"the USSD session {phone.ussd.status}: {phone.ussd.error}")


def _ending(call: CallState) -> str:
    return f"{call.status}: {call.ending}" if call.ending else call.status


@contextlib.asynccontextmanager
async def _limit(step: Step, what: str) -> AsyncIterator[None]:
    """`asyncio.timeout(step.within_s)`, a `Mismatch` saying `what` when it expires."""
    try:
        async with asyncio.timeout(step.within_s):
            yield
    except TimeoutError:
        raise Mismatch(f"{what} within {step.within_s:g} s") from None


__all__ = ["Mismatch", "ScriptRun", "StepResult"]
