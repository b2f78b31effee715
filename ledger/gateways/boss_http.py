"""HTTP adapter of the BOSS gateway (JSON, amounts in fen), as the BOSS emulator speaks it.

Another operator's BOSS needs another adapter of `ledger.gateways.boss.BossGateway`; this one
speaks the emulator's API of ARCHITECTURE.md and shows what every adapter must promise.

Time-outs: each call has `timeout_ms` in all (a pooled connection, connecting, sending, BOSS's
work, reading the answer); the TCP connect alone gets at most `connect_timeout_ms_max` of it,
so a BOSS that is down is noticed before the whole budget is spent. Past either, the outcome
is unknown: the request may have reached BOSS. Redirects are not followed (a money call must
not land anywhere else); a 3xx is an answer outside the API, so unknown.

Answer mapping; a definite answer must name the reference (or number) that was asked about:

- recharge, billpay, transfer, reversal: 200 `applied` → `BossApplied`; 422 `failed` with a
  `reason` → `BossFailed(reason)`; 409 `cancelled` → `BossFailed("boss_cancelled")` (BOSS
  refuses this reference for good).
- status: 200 `applied` → `BossApplied`, `failed` with a `reason` → `BossFailed`, `cancelled`
  → `BossCancelled`; 404 `not_found` → `BossNotFound`.
- cancel: 200 `cancelled` → `BossCancelled`; 200 `applied` or `failed` with a `reason` (how
  BOSS had decided before the cancel came) → `BossApplied`, `BossFailed`.
- subscriber: 200 with `type` prepaid and an integer `balance` ≥ 0, or postpaid and an integer
  `bill_due`, and a `language` tag → `BossSubscriber`; 404 `{"error": "unknown_subscriber"}` →
  `BossNoSubscriber`.

Anything else is unknown (`BossUnknown`, `BossLookupUnknown`), never failed: a failed answer
voids money, so only a definite refusal by BOSS may produce it. Unknown are: a time-out, a
refused or reset connection, any 5xx; a 409 `conflict` (the reference is known at BOSS with
other content: a person must look, the money must not be voided); a 400 (BOSS did not accept
what we sent: our bug, not a refusal of the operation); a 404 without the body above (a wrong
URL must not read as "never seen"); a body that is not JSON, is over `answer_bytes_max`, lacks
a field, names another reference or number, or holds a status the call does not answer with
(`not_found` from a cancel, say).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final, TypeVar
from urllib.parse import quote

import aiohttp

from ledger.gateways.boss import (
    BossApplied,
    BossCancelled,
    BossCancelResult,
    BossFailed,
    BossLookupUnknown,
    BossNoSubscriber,
    BossNotFound,
    BossResult,
    BossStatusResult,
    BossSubscriber,
    BossSubscriberResult,
    BossUnknown,
    SubscriberType,
)
from ledger.money import Fen, Msisdn

log = logging.getLogger(__name__)

# Room for one SYN retransmission (Linux sends the first after 1 s).
connect_timeout_ms_max: Final = 2_000
answer_bytes_max: Final = 64 * 1024  # an answer is a few hundred bytes
read_chunk_bytes: Final = 16 * 1024
reason_length_max: Final = 64  # what the operations table keeps of BOSS's reason

_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}")


class OutcomeUnknownError(Exception):
    """No definite answer; the message is the detail an unknown result carries."""


class NoAnswerError(OutcomeUnknownError):
    """BOSS did not answer: time-out, connection refused or reset, a 5xx."""


class BadAnswerError(OutcomeUnknownError):
    """BOSS answered something the API does not promise."""


class HttpBossGateway:
    def __init__(self, base_url: str, timeout_ms: int) -> None:
        assert timeout_ms > 0, timeout_ms
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(
            total=timeout_ms / 1000,
            sock_connect=min(timeout_ms, connect_timeout_ms_max) / 1000,
        )
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- money calls -------------------------------------------------------------------------

    async def recharge(self, ref: str, msisdn: Msisdn, amount: Fen) -> BossResult:
        return await self._money("/boss/recharge", ref, {"msisdn": msisdn, "amount": amount})

    async def billpay(self, ref: str, msisdn: Msisdn, amount: Fen) -> BossResult:
        return await self._money("/boss/billpay", ref, {"msisdn": msisdn, "amount": amount})

    async def transfer(
        self, ref: str, from_msisdn: Msisdn, to_msisdn: Msisdn, amount: Fen
    ) -> BossResult:
        body = {"from": from_msisdn, "to": to_msisdn, "amount": amount}
        return await self._money("/boss/transfer", ref, body)

    async def reversal(self, ref: str, original_ref: str) -> BossResult:
        return await self._money("/boss/reversal", ref, {"original_ref": original_ref})

    async def _money(self, path: str, ref: str, fields: dict[str, Any]) -> BossResult:
        try:
            status, body = await self._call("POST", path, ref, {"ref": ref, **fields})
            return _ref_answer(status, body, ref, _MONEY_ANSWERS)
        except OutcomeUnknownError as error:
            return BossUnknown(ref, _unknown("POST", path, ref, error))

    # -- the resolver's questions ------------------------------------------------------------

    async def status(self, ref: str) -> BossStatusResult:
        path = f"/boss/recharge/{quote(ref, safe='')}"
        try:
            status, body = await self._call("GET", path, ref)
            return _ref_answer(status, body, ref, _STATUS_ANSWERS)
        except OutcomeUnknownError as error:
            return BossUnknown(ref, _unknown("GET", path, ref, error))

    async def cancel(self, ref: str) -> BossCancelResult:
        path = f"/boss/recharge/{quote(ref, safe='')}/cancel"
        try:
            status, body = await self._call("POST", path, ref)
            return _ref_answer(status, body, ref, _CANCEL_ANSWERS)
        except OutcomeUnknownError as error:
            return BossUnknown(ref, _unknown("POST", path, ref, error))

    async def subscriber(self, msisdn: Msisdn) -> BossSubscriberResult:
        path = f"/boss/subscribers/{quote(msisdn, safe='')}"
        try:
            status, body = await self._call("GET", path, msisdn)
            if status == 200:
                return _subscriber(body, msisdn)
            if (
                status == 404
                and isinstance(body, dict)
                and body.get("error") == "unknown_subscriber"
            ):
                return BossNoSubscriber(msisdn)
            raise BadAnswerError(f"HTTP {status}")
        except OutcomeUnknownError as error:
            return BossLookupUnknown(msisdn, _unknown("GET", path, msisdn, error))

    # -- transport ---------------------------------------------------------------------------

    async def _call(
        self, method: str, path: str, about: str, body: dict[str, Any] | None = None
    ) -> tuple[int, object]:
        """The HTTP status and the decoded JSON body; OutcomeUnknownError when there is none."""
        if self._session is None:
            raise RuntimeError("HttpBossGateway.start() was not called")
        try:
            async with self._session.request(
                method, self._base_url + path, json=body, allow_redirects=False
            ) as response:
                status = response.status
                raw = await _read_capped(response)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise NoAnswerError(type(exc).__name__) from exc
        if status >= 500:
            raise NoAnswerError(f"http_{status}")
        if raw is None:
            raise BadAnswerError(f"HTTP {status} answer over {answer_bytes_max} bytes")
        try:
            return status, json.loads(raw)
        except ValueError as error:  # JSONDecodeError and UnicodeDecodeError alike
            raise BadAnswerError(f"HTTP {status} answer is not JSON") from error


async def _read_capped(response: aiohttp.ClientResponse) -> bytes | None:
    """The whole body, or None as soon as it is longer than `answer_bytes_max`."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(read_chunk_bytes):
        size += len(chunk)
        if size > answer_bytes_max:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _unknown(method: str, path: str, about: str, error: OutcomeUnknownError) -> str:
    detail = str(error) if isinstance(error, NoAnswerError) else f"bad_answer: {error}"
    log.warning("BOSS %s %s (%s): outcome unknown (%s)", method, path, about, detail)
    return detail


# -- reading answers -----------------------------------------------------------------------------


_Answer = TypeVar("_Answer")
_AnswerTable = Mapping[tuple[int, str], Callable[[str, dict[str, Any]], _Answer]]


def _ref_answer(status: int, body: object, ref: str, table: _AnswerTable[_Answer]) -> _Answer:
    """The answer the table gives for (HTTP status, body `status`) of an answer about `ref`;
    BadAnswerError for an answer about another reference or one the table does not hold."""
    if not isinstance(body, dict):
        raise BadAnswerError(f"HTTP {status}: the answer is not a JSON object")
    if body.get("ref") != ref:
        raise BadAnswerError(f"HTTP {status}: the answer names reference {body.get('ref')!r}")
    state = body.get("status")
    make = table.get((status, state)) if isinstance(state, str) else None
    if make is None:
        raise BadAnswerError(f"HTTP {status} with status {state!r}")
    try:
        return make(ref, body)
    except BadAnswerError as error:
        raise BadAnswerError(f"HTTP {status}: {error}") from error


def _applied(ref: str, _body: dict[str, Any]) -> BossApplied:
    return BossApplied(ref)


def _failed(ref: str, body: dict[str, Any]) -> BossFailed:
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason:
        raise BadAnswerError("a failed answer without its reason")
    return BossFailed(ref, reason[:reason_length_max])


def _refused(ref: str, _body: dict[str, Any]) -> BossFailed:
    return BossFailed(ref, "boss_cancelled")  # a money call under a cancelled reference


def _cancelled(ref: str, _body: dict[str, Any]) -> BossCancelled:
    return BossCancelled(ref)


def _not_found(ref: str, _body: dict[str, Any]) -> BossNotFound:
    return BossNotFound(ref)


# (HTTP status, body status) -> answer; anything else is unknown (see the module docstring)
_MONEY_ANSWERS: Final[_AnswerTable[BossResult]] = MappingProxyType(
    {(200, "applied"): _applied, (422, "failed"): _failed, (409, "cancelled"): _refused}
)
_STATUS_ANSWERS: Final[_AnswerTable[BossStatusResult]] = MappingProxyType(
    {
        (200, "applied"): _applied,
        (200, "failed"): _failed,
        (200, "cancelled"): _cancelled,
        (404, "not_found"): _not_found,
    }
)
_CANCEL_ANSWERS: Final[_AnswerTable[BossCancelResult]] = MappingProxyType(
    {(200, "applied"): _applied, (200, "failed"): _failed, (200, "cancelled"): _cancelled}
)


def _subscriber(body: object, msisdn: Msisdn) -> BossSubscriber:
    if not isinstance(body, dict):
        raise BadAnswerError("the answer is not a JSON object")
    if body.get("msisdn") != msisdn:
        raise BadAnswerError(f"the answer names number {body.get('msisdn')!r}")
    language = body.get("language")
    if not isinstance(language, str) or _LANGUAGE_TAG.fullmatch(language) is None:
        raise BadAnswerError(f"language {language!r} is not a language tag")
    kind = body.get("type")
    if kind == "prepaid":
        balance = _fen(body, "balance")
        if balance < 0:
            raise BadAnswerError(f"a prepaid balance below zero: {balance}")
        return BossSubscriber(msisdn, SubscriberType.PREPAID, balance, None, language)
    if kind == "postpaid":
        bill_due = _fen(body, "bill_due")
        return BossSubscriber(msisdn, SubscriberType.POSTPAID, None, bill_due, language)
    raise BadAnswerError(f"subscriber type {kind!r}")


def _fen(body: dict[str, Any], key: str) -> Fen:
    value = body.get(key)
    if type(value) is not int:  # neither a float nor a bool
        raise BadAnswerError(f"{key} {value!r} is not an integer number of fen")
    return Fen(value)
