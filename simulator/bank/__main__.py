"""Run the bank emulator alone:
`python -m simulator.bank [--db FILE] [--port 8082] [--platform URL]`; the shared secret comes
from `AIRCHARGE_SECRETS_BANK_SECRET` (the platform's variable), else the demo value."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from simulator.bank import DEMO_SECRET
from simulator.bank.app import create_bank_app
from simulator.bank.notifier import Notifier
from simulator.bank.state import BankState

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8082
DEFAULT_PLATFORM = "http://127.0.0.1:8080"
SECRET_VARIABLE = "AIRCHARGE_SECRETS_BANK_SECRET"  # noqa: S105 -- a variable's name


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, open the book, serve and notify until stopped."""
    parser = argparse.ArgumentParser(prog="python -m simulator.bank", description=__doc__)
    parser.add_argument("--db", type=Path, help="SQLite file (default: in memory)")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--platform", default=DEFAULT_PLATFORM, help="platform base URL")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    secret = os.environ.get(SECRET_VARIABLE, DEMO_SECRET).encode()
    state = BankState(args.db)
    notifier = Notifier(state, secret)

    async def notifying(app: web.Application) -> AsyncIterator[None]:
        notifier.start(args.platform)
        yield
        await notifier.close()

    try:
        app = create_bank_app(state, notifier)
        app.cleanup_ctx.append(notifying)
        web.run_app(app, host=args.host, port=args.port)
    finally:
        state.close()


if __name__ == "__main__":
    main()
