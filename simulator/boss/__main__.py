"""Run the BOSS emulator alone: `python -m simulator.boss [--state FILE] [--port 8081]`."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from aiohttp import web

from simulator.boss.app import create_boss_app
from simulator.boss.demo import seed_demo_subscribers
from simulator.boss.store import StateFileError, open_boss_state

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8081


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, open (and on first use seed) the state file, serve until stopped."""
    parser = argparse.ArgumentParser(prog="python -m simulator.boss", description=__doc__)
    parser.add_argument(
        "--state", type=Path, help="SQLite state file, created when absent (default: in memory)"
    )
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    try:
        state = open_boss_state(args.state)
    except StateFileError as error:
        sys.exit(f"python -m simulator.boss: {error}")
    try:
        seed_demo_subscribers(state)
        # No access log: a line per request at INFO cost more than the request itself.
        web.run_app(create_boss_app(state), host=args.host, port=args.port, access_log=None)
    finally:
        state.close()


if __name__ == "__main__":
    main()
