"""Run the SMSC emulator alone: `python -m simulator.smsc [--host] [--port 2775] [--seed N]`.

The demo account binds: system_id "aircharge", password "demosmpp".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from simulator.smsc.server import DEFAULT_PORT, Smsc

DEFAULT_HOST = "127.0.0.1"


async def serve(host: str, port: int, seed: int) -> None:
    smsc = Smsc(seed=seed)
    await smsc.start(host, port)
    try:
        await asyncio.Event().wait()
    finally:
        await smsc.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m simulator.smsc", description=__doc__)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault sequence")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.seed))


if __name__ == "__main__":
    main()
