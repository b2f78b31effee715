"""The raw SMPP submit benchmark runs and reports figures (speed is printed, never asserted)."""

from __future__ import annotations

from aircharge.bench.esme import measure_raw_submit


def test_raw_submit_reports_figures() -> None:
    figures = measure_raw_submit(messages=2_000, window=16, concurrency=32)
    assert figures.failed == 0
    assert figures.messages == 2_000
    assert figures.submits_per_s > 0
