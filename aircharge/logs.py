"""Logging for every command: one line per event, level and logger named, to stderr.

No module logs a PIN: channels log node ids and outcome codes, never what was typed.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    # aiohttp's access log would print query strings; our middleware counts requests instead.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def log_to_file(path: Path) -> None:
    """Send every log line to `path` (started afresh) instead of stderr: while the terminal
    simulator draws the screen, a line on stderr would tear it."""
    root = logging.getLogger()
    level = root.level
    logging.basicConfig(
        level=level,
        handlers=[logging.FileHandler(path, mode="w", encoding="utf-8")],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
