"""Logging for every command: one line per event, level and logger named, to stderr.

No module logs a PIN: channels log node ids and outcome codes, never what was typed.
"""

from __future__ import annotations

import logging
import sys


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    # aiohttp's access log would print query strings; our middleware counts requests instead.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
