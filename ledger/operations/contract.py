"""The service interface channels call: an operation named by the dialog, and its outcome.

Dialogs describe operations by name and parameters; channels hand those to
`OperationService.execute`; the outcome's `code` picks the dialog's next node and its
`values` fill the message. Amount values end in `_fen`, numbers in `msisdn`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from ledger.money import Msisdn

Value = str | int

OK: Final = "ok"
PENDING: Final = "pending"  # outcome unknown at BOSS; the resolver finishes it

# Every code an operation may answer; dialogs and catalogues are checked against this list.
OUTCOME_CODES: Final = frozenset(
    {
        OK,
        PENDING,
        "bad_request",
        "unknown_agent",
        "agent_inactive",
        "wrong_pin",
        "amount_below_min",
        "amount_above_max",
        "insufficient_funds",
        "unknown_subscriber",
        "not_prepaid",
        "not_postpaid",
        "subscriber_inactive",
        "rejected",
        "conflict",
        "daily_amount_reached",
        "daily_count_reached",
        "subscriber_daily_reached",
        "pin_locked",
        "too_many_attempts",
        "weak_pin",
        "same_pin",
        "not_your_agent",
        "unknown_reference",
        "not_reversible",
        "reversal_window_passed",
        "insufficient_balance",
        "not_allowed_to_sell",
        "same_subscriber",
        "wrong_code",
        "code_expired",
        "unavailable",  # an operation the flows offer that this platform does not run yet
    }
)


operation_key_length_max: Final = 128  # what the outcome record's key column holds


@dataclass(frozen=True, slots=True)
class OperationRequest:
    name: str
    actor: Msisdn
    params: Mapping[str, Value]
    key: str  # idempotency key chosen by the channel (same key, same request → same result)
    channel: str
    # Where the request came from, for the wrong-PIN throttle: a WAP client's address, an IVR
    # caller; empty means the acting number itself, which SMS and USSD networks vouch for.
    origin: str = ""

    @property
    def source(self) -> str:
        return f"{self.channel}:{self.origin or self.actor}"

    def __post_init__(self) -> None:
        assert 0 < len(self.key) <= operation_key_length_max, "a channel's key is 1..128 chars"


@dataclass(frozen=True, slots=True)
class OperationOutcome:
    code: str
    values: Mapping[str, Value] = field(default_factory=dict)
    # A list an operation answers (the last transactions), each entry named like `values`;
    # the channel that sends it renders each with its own message (SMS: one line each).
    items: tuple[Mapping[str, Value], ...] = ()

    def __post_init__(self) -> None:
        assert self.code in OUTCOME_CODES, self.code

    @property
    def ok(self) -> bool:
        return self.code == OK
