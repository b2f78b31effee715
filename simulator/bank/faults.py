"""Faults of the bank emulator's notifications, for chaos tests of the platform's deposit path.

`PUT /bank/faults` sets a `FaultConfig`:
- `duplicate_deliveries`: after the platform acknowledged a notification, send it this many
  times more (same body, fresh signature) — what a bank does when it lost the acknowledgement;
- `delay_ms`: hold each new notification back this long before its first attempt (a bank that
  batches its notifications). The delay is stored with the notification, so it survives a
  restart.
Both are deterministic; absent keys are zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

from simulator.boss.validation import InvalidInputError, check_fields

DUPLICATE_DELIVERIES_MAX: Final = 10
DELAY_MAX_MS: Final = 3_600_000


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """The fault settings; all zero means a well-behaved bank."""

    duplicate_deliveries: int = 0
    delay_ms: int = 0

    @classmethod
    def from_json(cls, body: object) -> FaultConfig:
        """Parse a PUT body; InvalidInputError names a bad field."""
        if not isinstance(body, Mapping):
            raise InvalidInputError("the body must be a JSON object")
        check_fields(body, required=(), optional=("duplicate_deliveries", "delay_ms"))
        return cls(
            duplicate_deliveries=_whole(body, "duplicate_deliveries", DUPLICATE_DELIVERIES_MAX),
            delay_ms=_whole(body, "delay_ms", DELAY_MAX_MS),
        )

    def to_json(self) -> dict[str, Any]:
        """The settings as GET /bank/faults answers them."""
        return asdict(self)


def _whole(body: Mapping[str, Any], name: str, maximum: int) -> int:
    value = body.get(name, 0)
    if type(value) is not int or not 0 <= value <= maximum:
        raise InvalidInputError(f"{name} must be an integer from 0 to {maximum}")
    return int(value)
