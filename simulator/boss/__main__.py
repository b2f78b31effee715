"""Run the BOSS emulator alone: `python -m simulator.boss [--journal FILE] [--port 8081]`."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from aiohttp import web

from simulator.boss.app import create_boss_app
from simulator.boss.demo import seed_demo_subscribers
from simulator.boss.journal import open_boss_state

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8081


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, open (and on first use seed) the journal, serve until stopped."""
    parser = argparse.ArgumentParser(prog="python -m simulator.boss", description=__doc__)
    parser.add_argument("--journal", type=Path, help="journal file (default: in memory)")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    state = open_boss_state(args.journal)
    try:
        seed_demo_subscribers(state)
        web.run_app(create_boss_app(state), host=args.host, port=args.port)
    finally:
        state.close()


if __name__ == "__main__":
    main()
