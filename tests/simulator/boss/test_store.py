"""The SQLite state file: restarts restore everything, commits are durable before any answer,
a reference applies at most once across restarts, and unusable files are refused by name."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from contextlib import closing
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Final

import aiohttp
import pytest

from simulator.boss import (
    BossState,
    Fen,
    Ref,
    StateFileError,
    create_boss_app,
    open_boss_state,
    seed_demo_subscribers,
)
from simulator.boss.model import business_day
from simulator.boss.store import APPLICATION_ID, BossStore
from tests.simulator.boss.helpers import B1, P1, P2, UNKNOWN, FakeClock, balance, bill_due

ROOT: Final = Path(__file__).resolve().parents[3]
process_start_timeout_s: Final = 30
process_exit_timeout_s: Final = 10

DEMO_EVENTS: Final = 15  # one subscriber_set per demo subscriber
REFS: Final = ("r1", "r2", "b1", "t1", "x1", "f1", "c1", "n1", "zz")


def _busy_day(state: BossState, clock: FakeClock) -> None:
    """Every kind of event, a minute apart, on two Asia/Shanghai days (the clock runs in UTC)."""
    for call in (
        lambda: state.recharge(Ref("r1"), P1, Fen(500)),
        lambda: state.recharge(Ref("r2"), P2, Fen(100)),
        lambda: state.billpay(Ref("b1"), B1, Fen(6000)),
        lambda: clock.advance(
            hours=8
        ),  # t1 at 16:34 UTC on the 14th: 00:34 on the 15th in Shanghai
        lambda: state.transfer(Ref("t1"), P1, B1, Fen(300)),
        lambda: state.reversal(Ref("x1"), Ref("r2")),
        lambda: state.recharge(Ref("f1"), UNKNOWN, Fen(100)),
        lambda: state.cancel(Ref("c1")),
    ):
        call()
        clock.advance(minutes=1)


def _snapshot(state: BossState) -> tuple[object, ...]:
    return (
        state.subscribers(),
        [state.status(Ref(ref)) for ref in REFS],
        state.records(date(2025, 3, 14)),
        state.records(date(2025, 3, 15)),
    )


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    """Read the file with a connection of our own (only while no store holds its lock)."""
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute(sql).fetchall()


@pytest.fixture
def utc_clock() -> FakeClock:
    return FakeClock(datetime(2025, 3, 14, 8, 30, tzinfo=UTC))


def test_a_restart_restores_subscribers_references_and_records(
    tmp_path: Path, utc_clock: FakeClock
):
    path = tmp_path / "boss.db"
    state = open_boss_state(path, clock=utc_clock)
    assert seed_demo_subscribers(state)
    _busy_day(state, utc_clock)
    before = _snapshot(state)
    state.close()

    state = open_boss_state(path, clock=utc_clock)
    assert not seed_demo_subscribers(state)
    assert _snapshot(state) == before
    assert (balance(state, P1), balance(state, P2), bill_due(state, B1)) == (1200, 1000, -500)
    statuses = {ref: state.status(Ref(ref)).status for ref in REFS}
    assert statuses == {
        **dict.fromkeys(("r1", "r2", "b1", "t1", "x1"), "applied"),
        "f1": "failed",
        "c1": "cancelled",
        "n1": "not_found",
        "zz": "not_found",
    }
    assert state.status(Ref("r2")).reversed_by == "x1"
    # the CSV of each Shanghai day, times as they were recorded (UTC here)
    day_one = state.records(date(2025, 3, 14)).splitlines()
    day_two = state.records(date(2025, 3, 15)).splitlines()
    assert [line.split(",")[0] for line in day_one[1:]] == ["r1", "r2", "b1"]
    assert [line.split(",")[0] for line in day_two[1:]] == ["t1", "x1"]
    assert day_two[1].endswith(",2025-03-14T16:34:00+00:00")
    # the rules still hold after the restart
    assert state.recharge(Ref("r1"), P1, Fen(500)).replayed
    assert state.recharge(Ref("r1"), P1, Fen(5)).status == "conflict"
    assert state.recharge(Ref("c1"), P1, Fen(500)).status == "cancelled"
    assert state.cancel(Ref("r1")).status == "applied"
    assert state.reversal(Ref("x9"), Ref("r2")).operation.reason == "already_reversed"  # type: ignore[union-attr]
    assert balance(state, P1) == 1200
    state.close()


def test_one_event_per_decision_and_none_for_replays_conflicts_or_queries(tmp_path: Path):
    path = tmp_path / "boss.db"
    state = open_boss_state(path)
    seed_demo_subscribers(state)
    state.recharge(Ref("r1"), P1, Fen(500))
    state.recharge(Ref("f1"), UNKNOWN, Fen(500))
    state.cancel(Ref("c1"))
    state.recharge(Ref("r1"), P1, Fen(500))  # replay
    state.recharge(Ref("r1"), P1, Fen(1))  # conflict
    state.recharge(Ref("c1"), P1, Fen(1))  # refused: cancelled
    state.cancel(Ref("r1"))  # answers applied
    state.cancel(Ref("c1"))  # answers cancelled again
    state.status(Ref("r1"))
    state.records(date.today())
    state.close()
    assert _rows(path, "SELECT type, count(*) FROM event GROUP BY type ORDER BY type") == [
        ("cancellation", 1),
        ("operation", 2),
        ("subscriber_set", DEMO_EVENTS),
    ]
    assert _rows(path, "SELECT ref, status, reason FROM operation ORDER BY seq") == [
        ("r1", "applied", None),
        ("f1", "failed", "unknown_subscriber"),
    ]
    assert _rows(path, "SELECT ref, idx, msisdn, amount_fen FROM position") == [("r1", 0, P1, 1500)]


def test_the_file_is_durable_and_marked_as_ours(tmp_path: Path):
    path = tmp_path / "boss.db"
    store = BossStore.open(path)
    connection = store._connection  # the store's own settings are per connection
    assert connection is not None
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert connection.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    assert connection.execute("PRAGMA locking_mode").fetchone() == ("exclusive",)
    store.close()
    assert _rows(path, "PRAGMA application_id") == [(APPLICATION_ID,)]
    assert _rows(path, "PRAGMA user_version") == [(1,)]


def test_a_failed_commit_changes_nothing(tmp_path: Path):
    path = tmp_path / "boss.db"
    state = open_boss_state(path)
    seed_demo_subscribers(state)
    state.close()
    # A real SQLite failure in the middle of the commit: its event row is already written
    # when the operation row is refused, so the whole transaction must roll back.
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TRIGGER full_disk BEFORE INSERT ON operation WHEN NEW.ref = 'r1'"
            " BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
    connection.close()

    state = open_boss_state(path)
    with pytest.raises(sqlite3.IntegrityError, match="disk is full"):
        state.recharge(Ref("r1"), P1, Fen(500))
    assert balance(state, P1) == 1000
    assert state.status(Ref("r1")).status == "not_found"
    assert state.recharge(Ref("r2"), P1, Fen(100)).status == "applied"  # the file is usable
    state.close()
    assert _rows(path, "SELECT count(*) FROM event") == [(DEMO_EVENTS + 1,)]
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TRIGGER full_disk")
    connection.close()

    state = open_boss_state(path)
    assert balance(state, P1) == 1100
    assert state.recharge(Ref("r1"), P1, Fen(500)).status == "applied"
    state.close()
    assert balance(open_boss_state(path), P1) == 1600


def test_the_file_refuses_a_second_decision_for_a_reference(tmp_path: Path):
    path = tmp_path / "boss.db"
    state = open_boss_state(path)
    seed_demo_subscribers(state)
    state.recharge(Ref("r1"), P1, Fen(500))
    state.cancel(Ref("c1"))
    state.close()
    with sqlite3.connect(path) as connection:
        for sql in (
            "INSERT INTO cancellation (ref, seq, at) VALUES ('r1', 99, '2025-03-14T09:30+08:00')",
            "INSERT INTO operation (ref, seq, kind, msisdn, amount_fen, status, recorded_at,"
            " applied_at) VALUES ('c1', 99, 'recharge', '8613900000001', 1, 'applied',"
            " '2025-03-14T09:30:00+08:00', '2025-03-14T09:30:00+08:00')",
            "INSERT INTO operation (ref, seq, kind, msisdn, amount_fen, status, recorded_at,"
            " applied_at) VALUES ('r1', 99, 'recharge', '8613900000001', 1, 'applied',"
            " '2025-03-14T09:30:00+08:00', '2025-03-14T09:30:00+08:00')",
        ):
            with pytest.raises(sqlite3.IntegrityError):
                connection.execute(sql)
    connection.close()


def test_a_second_emulator_on_the_same_file_is_refused(tmp_path: Path):
    path = tmp_path / "boss.db"
    state = open_boss_state(path)
    with pytest.raises(StateFileError, match="in use by another process") as caught:
        open_boss_state(path)
    assert caught.value.path == path
    assert str(path) in str(caught.value)
    state.close()
    open_boss_state(path).close()  # free again once closed


def _platform_database(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY)")
    connection.close()


def _future_layout(path: Path) -> None:
    open_boss_state(path).close()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA user_version = 2")
    connection.close()


def _dropped_table(path: Path) -> None:
    open_boss_state(path).close()
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE cancellation")
    connection.close()


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda path: path.write_bytes(b"{}\n" * 100), "not a BOSS emulator state file"),
        (lambda path: path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200), "not a BOSS"),
        (_platform_database, r"not a BOSS emulator state file \(application_id 0x0, tables: acc"),
        (_future_layout, "layout 2; this emulator reads layout 1"),
        (_dropped_table, "lacks tables: cancellation"),
        (lambda path: path.mkdir(), "is a directory"),
    ],
)
def test_a_foreign_or_broken_file_is_refused_by_name(tmp_path: Path, make, why: str):
    path = tmp_path / "boss.db"
    make(path)
    before = path.read_bytes() if path.is_file() else None
    with pytest.raises(StateFileError, match=why) as caught:
        open_boss_state(path)
    assert caught.value.path == path
    assert str(caught.value).startswith(f"{path}: ")
    if before is not None:
        assert path.read_bytes() == before  # refused without writing


def test_a_missing_directory_is_refused_by_name(tmp_path: Path):
    path = tmp_path / "absent" / "boss.db"
    with pytest.raises(StateFileError, match="cannot be opened") as caught:
        open_boss_state(path)
    assert caught.value.path == path


def test_an_edited_amount_is_caught_on_replay(tmp_path: Path):
    path = tmp_path / "boss.db"
    state = open_boss_state(path)
    seed_demo_subscribers(state)
    state.recharge(Ref("r1"), P1, Fen(500))
    state.close()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE operation SET amount_fen = 5000 WHERE ref = 'r1'")
    connection.close()
    with pytest.raises(StateFileError, match=rf"boss\.db: event {DEMO_EVENTS + 1}: .*positions"):
        open_boss_state(path)


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("DELETE FROM position WHERE ref = 'r1'", "positions"),
        ("DELETE FROM operation WHERE ref = 'r1'", "its operation row is missing"),
        ("UPDATE operation SET recorded_at = '2025-03-14T09:30:00' WHERE ref = 'r1'", "offset"),
        ("UPDATE operation SET reason = 'bogus' WHERE ref = 'r1'", "reason 'bogus'"),
        ("UPDATE subscriber_set SET language = 'fr' WHERE seq = 1", "language 'fr'"),
        ("UPDATE subscriber_set SET balance_fen = -1 WHERE seq = 1", "below zero"),
        ("UPDATE event SET seq = 100 WHERE seq = 1", "event 100: its subscriber_set row is"),
        ("UPDATE event SET type = 'cancellation' WHERE seq = 1", "event 1: its cancellation"),
    ],
)
def test_rows_that_make_no_event_are_refused_by_name(tmp_path: Path, sql: str, why: str):
    path = tmp_path / "boss.db"
    state = open_boss_state(path)
    seed_demo_subscribers(state)
    state.recharge(Ref("r1"), P1, Fen(500))
    state.close()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA foreign_keys = OFF")
        connection.execute(sql)
    connection.close()
    with pytest.raises(StateFileError, match=why) as caught:
        open_boss_state(path)
    assert caught.value.path == path


async def test_http_answers_survive_a_restart(aiohttp_client, tmp_path: Path):
    path = tmp_path / "boss.db"
    state = open_boss_state(path)
    seed_demo_subscribers(state)
    client = await aiohttp_client(create_boss_app(state))
    response = await client.post(
        "/boss/recharge", json={"ref": "r1", "msisdn": "13900000001", "amount": 500}
    )
    assert response.status == 200
    first = await response.json()
    await client.close()
    state.close()

    state = open_boss_state(path)
    assert not seed_demo_subscribers(state)
    client = await aiohttp_client(create_boss_app(state))
    assert (await (await client.get("/boss/subscribers/13900000001")).json())["balance"] == 1500
    response = await client.post(
        "/boss/recharge", json={"ref": "r1", "msisdn": "+86 139 0000 0001", "amount": 500}
    )
    assert (response.status, await response.json()) == (200, first)
    assert (await (await client.get("/boss/recharge/r1")).json())["status"] == "applied"
    await client.close()
    state.close()


# -- a real process, SIGKILLed between the commit and the answer ---------------------------------


async def _start_process(path: Path, *extra: str) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.simulator.boss.boss_process",
        "--state",
        str(path),
        *extra,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), process_start_timeout_s)
    assert line.startswith(b"listening "), line
    return process, line.decode().split()[1]


async def _post(http: aiohttp.ClientSession, url: str, body: dict[str, object]) -> object:
    async with http.post(f"{url}/boss/recharge", json=body) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_a_process_killed_after_the_commit_keeps_the_operation(tmp_path: Path):
    path = tmp_path / "boss.db"
    process, url = await _start_process(path, "--kill-after-commit-of", "k1")
    async with aiohttp.ClientSession() as http:
        await _post(http, url, {"ref": "r1", "msisdn": P1, "amount": 100})
        with pytest.raises(aiohttp.ClientConnectionError):  # no answer: the process is gone
            await _post(http, url, {"ref": "k1", "msisdn": P1, "amount": 500})
    await asyncio.wait_for(process.wait(), process_exit_timeout_s)
    assert process.returncode == -signal.SIGKILL

    # a new emulator on the same file: the killed call was applied, once
    process, url = await _start_process(path)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/boss/recharge/k1") as response:
                assert (await response.json())["status"] == "applied"
            again = await _post(http, url, {"ref": "k1", "msisdn": "139 0000 0001", "amount": 500})
            assert again["balance"] == 1000 + 100 + 500  # type: ignore[index]
            async with http.get(f"{url}/boss/subscribers/{P1}") as response:
                assert (await response.json())["balance"] == 1600
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), process_exit_timeout_s)
    state = open_boss_state(path)
    assert balance(state, P1) == 1600
    killed = state.status(Ref("k1")).operation
    assert killed is not None
    assert killed.applied_at is not None
    records = state.records(business_day(killed.applied_at)).splitlines()
    assert [line.split(",")[0] for line in records].count("k1") == 1
    state.close()
