"""Submit pacing, sans-IO: a token bucket (parts/s) that throttling responses slow down.

`delay_ms(now_ms)` takes a token and answers 0, or answers how long to wait first. A throttling
status (ESME_RTHROTTLED, ESME_RMSGQFUL) halves the rate (down to `rate_min_per_s`) and pauses
the link with a doubling back-off; each success clears the back-off and wins back 1% of the
rate up to the configured one. Rate 0 is unlimited: then only the pause applies.
"""

from __future__ import annotations

from typing import Final

throttle_pause_ms_min: Final = 50
throttle_pause_ms_max: Final = 5_000
rate_min_per_s: Final = 1.0
_recovery_factor: Final = 1.01


class Pacer:
    __slots__ = ("_allowance", "_last_ms", "_pause_ms", "_paused_until_ms", "rate", "rate_max")

    def __init__(self, rate_per_s: float, now_ms: int) -> None:
        assert rate_per_s >= 0, "a rate is zero (unlimited) or positive"
        self.rate_max = float(rate_per_s)
        self.rate = float(rate_per_s)
        self._allowance = 1.0
        self._last_ms = now_ms
        self._pause_ms = 0
        self._paused_until_ms = now_ms

    def delay_ms(self, now_ms: int) -> int:
        """0 and a token taken, or the milliseconds to wait before asking again."""
        if now_ms < self._paused_until_ms:
            return self._paused_until_ms - now_ms
        if self.rate == 0:
            return 0
        elapsed = now_ms - self._last_ms
        self._last_ms = now_ms
        burst = max(1.0, self.rate / 10)  # at most 100 ms worth at once
        self._allowance = min(burst, self._allowance + elapsed * self.rate / 1000)
        if self._allowance >= 1:
            self._allowance -= 1
            return 0
        return max(1, int((1 - self._allowance) * 1000 / self.rate) + 1)

    def throttled(self, now_ms: int) -> int:
        """The peer said slow down: the pause now in force (ms)."""
        self._pause_ms = min(throttle_pause_ms_max, max(throttle_pause_ms_min, self._pause_ms * 2))
        self._paused_until_ms = max(self._paused_until_ms, now_ms + self._pause_ms)
        if self.rate_max:
            self.rate = max(rate_min_per_s, self.rate / 2)
        return self._pause_ms

    def succeeded(self) -> None:
        self._pause_ms = 0
        if self.rate_max and self.rate < self.rate_max:
            self.rate = min(self.rate_max, self.rate * _recovery_factor)


__all__ = ["Pacer", "rate_min_per_s", "throttle_pause_ms_max", "throttle_pause_ms_min"]
