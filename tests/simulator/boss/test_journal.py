"""Persistence: the journal survives restarts, tolerates a torn last line, rejects corruption."""

from __future__ import annotations

import json
import logging
import os
from datetime import date
from pathlib import Path

import pytest

from simulator.boss import (
    BossState,
    Fen,
    JournalCorruptError,
    Ref,
    create_boss_app,
    open_boss_state,
    seed_demo_subscribers,
)
from tests.simulator.boss.helpers import B1, P1, P2, UNKNOWN, FakeClock, balance, bill_due


def _busy_day(state: BossState) -> None:
    state.recharge(Ref("r1"), P1, Fen(500))
    state.recharge(Ref("r2"), P2, Fen(100))
    state.billpay(Ref("b1"), B1, Fen(6000))
    state.transfer(Ref("t1"), P1, B1, Fen(300))
    state.reversal(Ref("x1"), Ref("r2"))
    state.recharge(Ref("f1"), UNKNOWN, Fen(100))
    state.cancel(Ref("c1"))


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_state_survives_a_restart(tmp_path: Path, clock: FakeClock):
    path = tmp_path / "boss.jsonl"
    state = open_boss_state(path, clock=clock)
    assert seed_demo_subscribers(state)
    _busy_day(state)
    before = (state.subscribers(), state.records(date(2025, 3, 14)))
    state.close()

    state = open_boss_state(path, clock=clock)
    assert not seed_demo_subscribers(state)
    assert (state.subscribers(), state.records(date(2025, 3, 14))) == before
    assert (balance(state, P1), balance(state, P2), bill_due(state, B1)) == (1200, 1000, -500)
    statuses = {ref: state.status(Ref(ref)).status for ref in ("r1", "x1", "f1", "c1", "zz")}
    assert statuses == {
        "r1": "applied",
        "x1": "applied",
        "f1": "failed",
        "c1": "cancelled",
        "zz": "not_found",
    }
    assert state.status(Ref("r2")).reversed_by == "x1"
    # the rules still hold after the restart
    assert state.recharge(Ref("r1"), P1, Fen(500)).replayed
    assert state.recharge(Ref("c1"), P1, Fen(500)).status == "cancelled"
    assert state.reversal(Ref("x9"), Ref("r2")).operation.reason == "already_reversed"  # type: ignore[union-attr]
    assert balance(state, P1) == 1200
    state.close()


def test_one_line_per_mutation_and_none_for_replays_conflicts_or_queries(tmp_path: Path):
    path = tmp_path / "boss.jsonl"
    state = open_boss_state(path)
    seed_demo_subscribers(state)
    assert len(_lines(path)) == 15
    state.recharge(Ref("r1"), P1, Fen(500))
    state.recharge(Ref("f1"), UNKNOWN, Fen(500))
    state.cancel(Ref("c1"))
    assert len(_lines(path)) == 18
    state.recharge(Ref("r1"), P1, Fen(500))
    state.recharge(Ref("r1"), P1, Fen(1))
    state.recharge(Ref("c1"), P1, Fen(1))
    state.cancel(Ref("r1"))
    state.status(Ref("r1"))
    state.records(date.today())
    assert len(_lines(path)) == 18
    state.close()


def test_every_append_is_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    state = open_boss_state(tmp_path / "boss.jsonl")
    seed_demo_subscribers(state)
    synced.clear()
    state.recharge(Ref("r1"), P1, Fen(500))
    assert len(synced) == 1
    state.close()


def test_a_failed_write_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "boss.jsonl"
    state = open_boss_state(path)
    seed_demo_subscribers(state)
    size = path.stat().st_size
    real_write = os.write

    def disk_full(fd: int, data: bytes) -> int:
        real_write(fd, bytes(data[:10]))  # a partial line reaches the file, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", disk_full)
    with pytest.raises(OSError, match="No space"):
        state.recharge(Ref("r1"), P1, Fen(500))
    monkeypatch.undo()
    assert path.stat().st_size == size
    assert balance(state, P1) == 1000
    assert state.status(Ref("r1")).status == "not_found"
    assert state.recharge(Ref("r1"), P1, Fen(500)).status == "applied"
    state.close()
    assert balance(open_boss_state(path), P1) == 1500


def test_a_torn_last_line_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    path = tmp_path / "boss.jsonl"
    state = open_boss_state(path)
    seed_demo_subscribers(state)
    state.recharge(Ref("r1"), P1, Fen(500))
    state.close()
    whole = path.read_bytes()
    torn_line = b'{"event":"operation","ref":"r2","kind":"rech'
    path.write_bytes(whole + torn_line)

    with caplog.at_level(logging.WARNING, logger="simulator.boss.journal"):
        state = open_boss_state(path)
    assert "torn last line" in caplog.text
    assert f"{path}:17" in caplog.text
    assert balance(state, P1) == 1500
    assert state.status(Ref("r2")).status == "not_found"
    assert path.read_bytes() == whole  # cut, so the next line starts clean
    state.recharge(Ref("r2"), P1, Fen(100))
    state.close()
    assert balance(open_boss_state(path), P1) == 1600


@pytest.mark.parametrize("corrupt", [b"not json", b'{"event": "bogus"}', b"[1, 2]", b""])
@pytest.mark.parametrize("where", ["middle", "last"])
def test_a_corrupt_line_names_file_and_line(tmp_path: Path, corrupt: bytes, where: str):
    path = tmp_path / "boss.jsonl"
    state = open_boss_state(path)
    seed_demo_subscribers(state)
    state.close()
    lines = path.read_bytes().splitlines(keepends=True)
    index = 3 if where == "middle" else len(lines)
    lines.insert(index, corrupt + b"\n")
    path.write_bytes(b"".join(lines))
    with pytest.raises(JournalCorruptError, match=f"boss.jsonl:{index + 1}:") as caught:
        open_boss_state(path)
    assert caught.value.path == path
    assert caught.value.line_number == index + 1


def test_a_tampered_amount_is_caught_on_replay(tmp_path: Path):
    path = tmp_path / "boss.jsonl"
    state = open_boss_state(path)
    seed_demo_subscribers(state)
    state.recharge(Ref("r1"), P1, Fen(500))
    state.close()
    lines = _lines(path)
    event = json.loads(lines[-1])
    event["amount_fen"] = 5000
    lines[-1] = json.dumps(event)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(JournalCorruptError, match=r"boss.jsonl:16: .*positions"):
        open_boss_state(path)


def test_a_cancel_after_a_decision_is_caught_on_replay(tmp_path: Path):
    path = tmp_path / "boss.jsonl"
    state = open_boss_state(path)
    seed_demo_subscribers(state)
    state.recharge(Ref("r1"), P1, Fen(500))
    state.close()
    with path.open("a") as file:
        file.write('{"event":"cancelled","ref":"r1","at":"2025-03-14T09:30:00+08:00"}\n')
    with pytest.raises(JournalCorruptError, match=r"boss\.jsonl:17:"):
        open_boss_state(path)


async def test_http_answers_survive_a_restart(aiohttp_client, tmp_path: Path):
    path = tmp_path / "boss.jsonl"
    state = open_boss_state(path)
    seed_demo_subscribers(state)
    client = await aiohttp_client(create_boss_app(state))
    response = await client.post(
        "/boss/recharge", json={"ref": "r1", "msisdn": "13900000001", "amount": 500}
    )
    assert response.status == 200
    await client.close()
    state.close()

    state = open_boss_state(path)
    assert not seed_demo_subscribers(state)
    client = await aiohttp_client(create_boss_app(state))
    assert (await (await client.get("/boss/subscribers/13900000001")).json())["balance"] == 1500
    response = await client.post(
        "/boss/recharge", json={"ref": "r1", "msisdn": "+86 139 0000 0001", "amount": 500}
    )
    assert response.status == 200
    assert (await response.json())["balance"] == 1500
    assert (await (await client.get("/boss/recharge/r1")).json())["status"] == "applied"
    state.close()
