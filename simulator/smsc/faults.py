"""Seeded fault injection for the SMSC emulator, settable at run time.

`Faults` is the configuration (all zero: a well-behaved SMSC); `FaultPlan` draws from
`random.Random(seed)` (restarted by every `Smsc.set_faults`), so the same seed and the same
traffic give the same faults. Draws are made only for the faults that are switched on, in a
fixed order per PDU: drop (every PDU received when `drop_rate` is set), then one draw per
submit_sm for throttle / vendor status (cumulative rates), then one per MO deliver_sm_resp for
`resp_lost_rate`.

- throttle: ESME_RTHROTTLED for a fraction of submit_sm (`throttle_rate`) and for every
  submit_sm above `throttle_above_per_s` in the current second;
- vendor status: `vendor_status` (default 0x401) for a fraction of submit_sm;
- slow responses: `submit_latency_ms` added to every submit_sm_resp;
- dropped link: `drop_after_pdus` (the link is closed, without unbind, when it has received that
  many PDUs since the faults were set), `drop_rate` (per PDU received); `Smsc.drop_links()`
  closes them now;
- lost MO acknowledgements: `resp_lost_rate` of the deliver_sm_resp to an MO are ignored, so the
  MO is re-delivered after `SmscConfig.redelivery_ms` (as for a missing or non-OK resp).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final, Literal

latency_max_ms: Final = 60_000
vendor_status_default: Final = 0x401

SubmitFault = Literal["throttle", "vendor status"] | None


@dataclass(frozen=True, slots=True)
class Faults:
    throttle_rate: float = 0.0
    throttle_above_per_s: int = 0  # 0: no rate limit
    vendor_status_rate: float = 0.0
    vendor_status: int = vendor_status_default
    submit_latency_ms: int = 0
    drop_after_pdus: int = 0  # 0: never
    drop_rate: float = 0.0
    resp_lost_rate: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("throttle_rate", "vendor_status_rate", "drop_rate", "resp_lost_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be from 0 to 1")
        if self.throttle_rate + self.vendor_status_rate > 1.0:
            raise ValueError("throttle_rate + vendor_status_rate must not exceed 1")
        if not 0 <= self.submit_latency_ms <= latency_max_ms:
            raise ValueError(f"submit_latency_ms must be from 0 to {latency_max_ms}")
        if self.throttle_above_per_s < 0 or self.drop_after_pdus < 0:
            raise ValueError("throttle_above_per_s and drop_after_pdus must not be negative")
        if not 0 <= self.vendor_status <= 0xFFFFFFFF:
            raise ValueError("vendor_status must fit 32 bits")

    @property
    def submit_draws(self) -> bool:
        return bool(self.throttle_rate or self.vendor_status_rate)


class FaultPlan:
    """The reproducible sequence of faults for one `Faults` setting."""

    __slots__ = ("_random", "_second", "_submits_this_second", "faults")

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        # Reproducible on purpose: a seed replays the same run (not for secrets).
        self._random = random.Random(self.faults.seed)  # noqa: S311
        self._second = -1
        self._submits_this_second = 0

    def drop_now(self) -> bool:
        """One draw for a PDU received, when `drop_rate` is set."""
        rate = self.faults.drop_rate
        return bool(rate) and self._random.random() < rate

    def submit_fault(self, now_s: float) -> SubmitFault:
        """What to answer the next submit_sm with (None: a normal answer)."""
        faults = self.faults
        if faults.throttle_above_per_s:
            second = int(now_s)
            if second != self._second:
                self._second, self._submits_this_second = second, 0
            self._submits_this_second += 1
            if self._submits_this_second > faults.throttle_above_per_s:
                return "throttle"
        if not faults.submit_draws:
            return None
        draw = self._random.random()
        if draw < faults.throttle_rate:
            return "throttle"
        if draw < faults.throttle_rate + faults.vendor_status_rate:
            return "vendor status"
        return None

    def resp_lost(self) -> bool:
        """One draw per MO deliver_sm_resp, when `resp_lost_rate` is set."""
        rate = self.faults.resp_lost_rate
        return bool(rate) and self._random.random() < rate
