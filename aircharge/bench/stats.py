"""Small statistics and the table/JSON output every benchmark shares."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path


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
)
HEADERS = (
    "storage",
    "shape",
    "conc",
    "ops/s",
    "transfers/s",
    "p50 ms",
    "p99 ms",
    "per tx",
    "raw tr/s",
    "ratio",
)


def table(rows: Sequence[Row]) -> str:
    widths = [len(fmt.format(getattr(rows[0], name))) if rows else 8 for name, fmt in COLUMNS]
    header = "  ".join(
        h.rjust(w) if i > 1 else h.ljust(w)
        for i, (h, w) in enumerate(zip(HEADERS, widths, strict=True))
    )
    lines = [header, "-" * len(header)]
    lines += ["  ".join(fmt.format(getattr(row, name)) for name, fmt in COLUMNS) for row in rows]
    return "\n".join(lines)


def write_json(path: Path, rows: Sequence[Row], context: Mapping[str, object]) -> None:
    path.write_text(
        json.dumps({"context": context, "rows": [asdict(r) for r in rows]}, indent=2) + "\n",
        encoding="utf-8",
    )
