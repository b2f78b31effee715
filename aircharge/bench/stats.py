"""Small statistics and the table/JSON output every benchmark shares."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(fraction * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


@dataclass(frozen=True, slots=True)
class Row:
    storage: str
    shape: str
    concurrency: int
    operations: int
    transfers: int
    seconds: float
    ops_per_s: float
    transfers_per_s: float
    p50_ms: float
    p99_ms: float
    transfers_per_commit: float
    raw_transfers_per_s: float
    ratio: float
    runs: int = 1  # the figures are each the median of this many runs of the cell
    ratio_min: float = 0.0  # the ratio's range over those runs
    ratio_max: float = 0.0


COLUMNS = (
    ("storage", "{:<15}"),
    ("shape", "{:<7}"),
    ("concurrency", "{:>5}"),
    ("ops_per_s", "{:>10,.0f}"),
    ("transfers_per_s", "{:>11,.0f}"),
    ("p50_ms", "{:>8.2f}"),
    ("p99_ms", "{:>8.2f}"),
    ("transfers_per_commit", "{:>8.1f}"),
    ("raw_transfers_per_s", "{:>11,.0f}"),
    ("ratio", "{:>6.2f}"),
    ("ratio_range", "{}"),
)
HEADERS = (
    "storage",
    "shape",
    "conc",
    "ops/s",
    "transfers/s",
    "p50 ms",
    "p99 ms",
    "tr/commit",
    "raw tr/s",
    "ratio",
    "range",
)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def _cell(row: Row, name: str) -> str:
    if name == "ratio_range":
        return f"{row.ratio_min:.2f}–{row.ratio_max:.2f}" if row.runs > 1 else "-"
    return dict(COLUMNS)[name].format(getattr(row, name)).strip()


def table(rows: Sequence[Row]) -> str:
    """Text columns left-aligned, figures right-aligned, each as wide as its widest cell."""
    cells = [[_cell(row, name) for name, _ in COLUMNS] for row in rows]
    widths = [
        max([len(title)] + [len(line[i]) for line in cells]) for i, title in enumerate(HEADERS)
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            value.ljust(width) if i < 2 else value.rjust(width)
            for i, (value, width) in enumerate(zip(values, widths, strict=True))
        )

    header = line(HEADERS)
    return "\n".join([header, "-" * len(header), *(line(c) for c in cells)])
