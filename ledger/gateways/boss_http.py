"""HTTP adapter of the BOSS gateway (JSON, amounts in fen), as the BOSS emulator speaks it.

Answer mapping: 200 with status `applied` → applied; 422 with status `failed` → failed with
its reason; 409 `cancelled` → failed (BOSS refuses this reference for good); anything else
(time-out, connection reset, 5xx, a 409 `conflict`, an unexpected body) → unknown: a conflict
means the reference is known at BOSS with other content, which needs a person, never a void.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp

from ledger.gateways.boss import BossApplied, BossFailed, BossResult, BossUnknown
from ledger.money import Fen, Msisdn

log = logging.getLogger(__name__)


class HttpBossGateway:
    def __init__(self, base_url: str, timeout_ms: int) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_ms / 1000)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def recharge(self, ref: str, msisdn: Msisdn, amount: Fen) -> BossResult:
        body = {"ref": ref, "msisdn": msisdn, "amount": amount}
        return await self._post("/boss/recharge", ref, body)

    async def _post(self, path: str, ref: str, body: dict[str, Any]) -> BossResult:
        if self._session is None:
            raise RuntimeError("HttpBossGateway.start() was not called")
        try:
            async with self._session.post(self._base_url + path, json=body) as response:
                status = response.status
                answer = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            log.warning("BOSS %s ref=%s: outcome unknown (%s)", path, ref, type(exc).__name__)
            return BossUnknown(ref, type(exc).__name__)
        return _interpret(ref, status, answer)


def _interpret(ref: str, status: int, answer: Any) -> BossResult:
    state = answer.get("status") if isinstance(answer, dict) else None
    if status == 200 and state == "applied":
        return BossApplied(ref)
    if status == 422 and state == "failed":
        return BossFailed(ref, str(answer.get("reason") or "failed"))
    if status == 409 and state == "cancelled":
        return BossFailed(ref, "boss_cancelled")
    log.warning("BOSS ref=%s: unexpected answer HTTP %s %r", ref, status, state)
    return BossUnknown(ref, f"http_{status}")
