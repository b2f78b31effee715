"""The BOSS emulator in its own OS process, for the crash tests.

    python -m tests.simulator.boss.boss_process --state FILE [--kill-after-commit-of REF]

Opens (and on first use seeds) the state file, serves the real emulator app on a free loopback
port and prints `listening <url>` once it accepts connections. With `--kill-after-commit-of`,
the process SIGKILLs itself as soon as the event that decides REF is committed to the file:
after the commit and before memory changes or any answer leaves, the worst moment for a crash.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from pathlib import Path

from aircharge.platform import listen
from simulator.boss import BossState, create_boss_app, seed_demo_subscribers
from simulator.boss.model import Event, OperationRecorded
from simulator.boss.store import BossStore


class KillAfterCommit:
    """The real store, then SIGKILL once the event deciding `ref` is on disk."""

    def __init__(self, store: BossStore, ref: str | None) -> None:
        self._store = store
        self._ref = ref

    def append(self, event: Event) -> None:
        self._store.append(event)
        if isinstance(event, OperationRecorded) and event.operation.ref == self._ref:
            os.kill(os.getpid(), signal.SIGKILL)

    def close(self) -> None:
        self._store.close()


async def serve(path: Path, kill_ref: str | None) -> None:
    store = BossStore.open(path)
    sink = KillAfterCommit(store, kill_ref)
    state = BossState.replay([event for _, event in store.events()], sink=sink)
    seed_demo_subscribers(state)
    listener = await listen(create_boss_app(state), "127.0.0.1", 0)
    print(f"listening {listener.url}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await listener.runner.cleanup()
        state.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--kill-after-commit-of")
    args = parser.parse_args()
    asyncio.run(serve(args.state, args.kill_after_commit_of))


if __name__ == "__main__":
    main()
