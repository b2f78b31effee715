"""SVG snapshots of the simulator's screens, compared with the files in `snapshots/`.

pytest-textual-snapshot pins syrupy 4.8, which wants pytest < 9, so the project compares
Textual's own SVG export itself: `AIRCHARGE_UPDATE_SNAPSHOTS=1 pytest tests/simulator/tui`
writes the files afresh (look at them before committing); otherwise a missing or different
snapshot fails, leaving the screen as drawn in `<name>.actual.svg` beside the expected one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.widgets import Input

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE_VARIABLE = "AIRCHARGE_UPDATE_SNAPSHOTS"


def assert_snapshot(app: App[Any], name: str) -> None:
    for entry in app.query(Input):  # a blinking cursor is drawn or not by the clock
        entry.cursor_blink = False
    svg = app.export_screenshot(title=name)
    expected = SNAPSHOTS / f"{name}.svg"
    actual = SNAPSHOTS / f"{name}.actual.svg"
    if os.environ.get(UPDATE_VARIABLE) == "1":
        expected.write_text(svg, encoding="utf-8")
        actual.unlink(missing_ok=True)
        return
    if not expected.exists():
        actual.write_text(svg, encoding="utf-8")
        pytest.fail(f"no snapshot {expected}; {UPDATE_VARIABLE}=1 writes it (see {actual})")
    if expected.read_text(encoding="utf-8") != svg:
        actual.write_text(svg, encoding="utf-8")
        pytest.fail(f"the screen differs from {expected}: see {actual}")
    actual.unlink(missing_ok=True)
