"""What the terminal simulator drives: the emulators and a client of the platform's `/api/v1`.

A plain object, built by whoever starts the emulators (the demo's composition root, later
`aircharge sim --config`), so that nothing here reaches into the platform: handsets speak SMS
and USSD through the SMSC emulator or a USSD gateway, browse WAP pages through the WAP gateway,
calls go through the Asterisk emulator, an agent's service SIM answers by SMS through the
SMSC like its phone (`simulator.stk_phone`), and the ledger is read over `/api/v1` with its
bearer token, as any tool would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import aiohttp

from simulator.asterisk import AsteriskEmulator
from simulator.bank import BankState, Notifier
from simulator.boss import BossState
from simulator.boss.faults import FaultInjector
from simulator.smsc import Smsc
from simulator.stk.store import SimStore
from simulator.ussd_gateway import Page
from simulator.ussd_gateway.events import EventBus as UssdEvents
from simulator.wap_gateway import WapGateway

api_timeout_s: Final = 5.0  # one /api/v1 request; the consoles poll, a slow answer is skipped
outcomes_page_max: Final = 100  # unsettled outcomes shown per state

DEMO_AGENTS: Final = ("13800000001", "13800000002", "13800000003")
DEMO_NUMBERS: Final = (*DEMO_AGENTS, "13900000001", "13900000002", "13700000001")
SERVICE_NUMBER: Final = "1888"
USSD_CODE: Final = "*123#"


class UssdSession(Protocol):
    """One USSD session as a handset sees it, over either gateway."""

    @property
    def page(self) -> Page: ...

    @property
    def ended(self) -> bool: ...

    async def reply(self, text: str) -> Page: ...

    async def abort(self) -> None: ...


class UssdGateway(Protocol):
    """`UssdGatewayEmulator` (HTTP profile) or `SmppUssdGateway` (through the SMSC)."""

    async def dial(self, msisdn: str, ussd_string: str) -> UssdSession: ...


class ApiError(Exception):
    """`/api/v1` did not answer as documented (status and body in the message)."""


class ApiClient:
    """A small reader of the platform's `/api/v1` (docs/api.md)."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self._http: aiohttp.ClientSession | None = None

    async def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        if self._http is None:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=api_timeout_s),
                headers={"Authorization": f"Bearer {self._token}"},
            )
        async with self._http.get(f"{self.url}/api/v1{path}", params=params) as response:
            if response.status != 200:
                raise ApiError(f"GET /api/v1{path}: {response.status} {await response.text()}")
            return await response.json()

    async def agent(self, msisdn: str) -> dict[str, Any]:
        """`GET /api/v1/agents/{msisdn}`: level, status, deposit and commission in fen."""
        answer: dict[str, Any] = await self._get(f"/agents/{msisdn}")
        return answer

    async def outcomes(self, state: str) -> list[dict[str, Any]]:
        """`GET /api/v1/outcomes?state=pending|manual`, oldest first (the first page)."""
        answer = await self._get("/outcomes", {"state": state, "limit": str(outcomes_page_max)})
        items: list[dict[str, Any]] = answer["items"]
        return items

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None


@dataclass
class World:
    """The emulators and the platform's API, as the simulator's phones and consoles use them."""

    smsc: Smsc
    ussd: UssdGateway
    asterisk: AsteriskEmulator | None  # None: the platform's IVR is off
    boss: BossState
    bank: BankState
    api: ApiClient
    numbers: Sequence[str] = DEMO_NUMBERS  # one handset each, in the switcher's order
    agents: Sequence[str] = DEMO_AGENTS  # shown in the ledger console
    service_number: str = SERVICE_NUMBER  # SMS and IVR
    ussd_code: str = USSD_CODE
    ivr_path: str = "main"  # the FastAGI path the service number reaches
    ivr_paced: bool = True  # prompts take their playing time (False in tests: instant)
    closers: list[Any] = field(default_factory=list)  # more things to close, e.g. a gateway
    boss_faults: FaultInjector | None = None  # the BOSS emulator's faults, when in this process
    bank_notifier: Notifier | None = None  # books deposits at the bank, when in this process
    ussd_events: UssdEvents | None = None  # the HTTP USSD gateway's callbacks (None over SMPP)
    wap: WapGateway | None = None  # in front of the platform's /wap/: `attach(msisdn)` a handset
    sims: SimStore | None = None  # the service SIMs (STK menu program, profiles by number)

    async def close(self) -> None:
        """Close what the world opened itself (the API client, a USSD gateway's HTTP client);
        the emulators belong to whoever started them."""
        await self.api.close()
        for closer in self.closers:
            await closer.close()


__all__ = [
    "DEMO_AGENTS",
    "DEMO_NUMBERS",
    "SERVICE_NUMBER",
    "USSD_CODE",
    "ApiClient",
    "ApiError",
    "UssdGateway",
    "UssdSession",
    "World",
]
