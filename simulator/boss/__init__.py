"""The BOSS emulator: the operator's billing system as an aiohttp JSON service (port 8081).

`open_boss_state(path)` replays (or starts) a SQLite state file, `seed_demo_subscribers` fills
a fresh one, `create_boss_app(state)` serves it. See ARCHITECTURE.md, "BOSS emulator API".
"""

from simulator.boss.app import FAULTS_KEY, STATE_KEY, create_boss_app
from simulator.boss.demo import demo_subscribers, seed_demo_subscribers
from simulator.boss.faults import FaultConfig
from simulator.boss.model import (
    SHANGHAI,
    BossOperation,
    Fen,
    Lookup,
    Msisdn,
    Outcome,
    Ref,
    Subscriber,
)
from simulator.boss.state import BossState
from simulator.boss.store import StateFileError, open_boss_state
from simulator.boss.validation import InvalidInputError, parse_msisdn

__all__ = [
    "FAULTS_KEY",
    "SHANGHAI",
    "STATE_KEY",
    "BossOperation",
    "BossState",
    "FaultConfig",
    "Fen",
    "InvalidInputError",
    "Lookup",
    "Msisdn",
    "Outcome",
    "Ref",
    "StateFileError",
    "Subscriber",
    "create_boss_app",
    "demo_subscribers",
    "open_boss_state",
    "parse_msisdn",
    "seed_demo_subscribers",
]
