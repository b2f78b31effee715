"""The benches' tables: one row per measured cell, columns named and formatted once."""

from __future__ import annotations

from collections.abc import Sequence

Column = tuple[str, str, str]  # attribute, format, title


def render(rows: Sequence[object], columns: Sequence[Column], text_columns: int = 1) -> str:
    """A plain-text table: the first `text_columns` columns left-aligned, the rest right."""
    cells = [[fmt.format(getattr(row, name)).strip() for name, fmt, _ in columns] for row in rows]
    widths = [
        max([len(title)] + [len(line[i]) for line in cells])
        for i, (_, _, title) in enumerate(columns)
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            value.ljust(width) if i < text_columns else value.rjust(width)
            for i, (value, width) in enumerate(zip(values, widths, strict=True))
        )

    header = line([title for _, _, title in columns])
    return "\n".join([header, "-" * len(header), *(line(c) for c in cells)])


__all__ = ["Column", "render"]
