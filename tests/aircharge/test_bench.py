"""`aircharge bench ledger` runs end to end and reports every cell with its baseline.
Figures are printed, never asserted: only the shape of the report is checked here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import require_postgres


def test_bench_ledger_prints_a_table_and_writes_json(tmp_path: Path) -> None:
    storages = "sqlite-durable,sqlite-relaxed"
    if os.environ.get("CI"):
        require_postgres()
        storages += ",postgresql"
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [
            sys.executable, "-m", "aircharge", "bench", "ledger", "--operations", "40",
            "--concurrency", "1,8", "--agents", "5", "--storage", storages, "--json", str(out),
            "--repeat", "2",
        ],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["storage", "shape", "conc"]
    report = json.loads(out.read_text(encoding="utf-8"))
    cells = {(r["storage"], r["shape"], r["concurrency"]) for r in report["rows"]}
    expected_storages = storages.split(",")
    assert cells == {
        (s, shape, c) for s in expected_storages for shape in ("single", "topup") for c in (1, 8)
    }
    for row in report["rows"]:
        per_operation = 1 if row["shape"] == "single" else 5
        assert row["transfers"] == row["operations"] * per_operation
        assert row["raw_transfers_per_s"] > 0
        assert 0 < row["ratio_min"] <= row["ratio"] <= row["ratio_max"]
        assert row["runs"] == 2
    assert len(lines) == 2 + len(cells)


def test_bench_ussd_runs_tiny_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "ussd.json"
    result = subprocess.run(
        [
            sys.executable, "-m", "aircharge", "bench", "ussd", "--sessions", "3",
            "--duration", "1", "--profile", "africastalking,json", "--journey", "topup,menu",
            "--load-processes", "2", "--cpu-profile", "--json", str(out),
        ],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["target", "profile", "journey", "sess"]
    report = json.loads(out.read_text(encoding="utf-8"))
    cells = {(row["target"], row["profile"], row["journey"]) for row in report["rows"]}
    assert cells == {
        (t, p, j)
        for t in ("baseline", "platform")
        for p in ("africastalking", "json")
        for j in ("topup", "menu")
    }
    for row in report["rows"]:
        assert row["failures"] == 0
        assert row["journeys"] > 0
        per_journey = 6 if row["journey"] == "topup" else 4
        assert row["requests"] >= per_journey * row["journeys"]
        assert 0 < row["p50_ms"] <= row["p99_ms"]
    assert len(report["cpu"]) == 4  # one profiled run per platform cell
    for cell in report["cpu"]:
        names = {component["component"] for component in cell["components"]}
        assert "session store" in names or cell["requests"] == 0
        assert cell["process_cpu_s"] > 0


def test_bench_sms_runs_tiny_checks_the_money_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "sms.json"
    result = subprocess.run(
        [
            sys.executable, "-m", "aircharge", "bench", "sms", "--rate", "20", "--duration", "1",
            "--merchants", "30", "--profile", "--raw", "--raw-messages", "500",
            "--json", str(out),
        ],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "top-ups/s" in result.stdout
    figures = json.loads(out.read_text(encoding="utf-8"))["figures"]
    assert figures["mo_sent"] == figures["replies"] == 20
    assert figures["money_ok"]
    assert figures["boss_credited_fen"] == figures["expected_fen"] > 0
    assert 0 < figures["p50_ms"] <= figures["p99_ms"]
    assert figures["rss_after_mb"] > 0
    assert figures["rss_samples_mb"]
    assert all(mb > 0 for mb in figures["rss_samples_mb"])
    assert set(figures["cpu_s"]) == {"platform", "boss", "smsc+load"}
    assert abs(sum(figures["components"].values()) - 1) < 0.01
    assert [raw["target"] for raw in figures["raw"]] == ["emulator", "minimal"]
    assert all(raw["failed"] == 0 and raw["submits_per_s"] > 0 for raw in figures["raw"])


def test_bench_ops_runs_tiny_and_writes_json(tmp_path: Path) -> None:
    storages = "sqlite-durable"
    if os.environ.get("CI"):
        require_postgres()
        storages += ",postgresql"
    out = tmp_path / "ops.json"
    result = subprocess.run(
        [
            sys.executable, "-m", "aircharge", "bench", "ops", "--operations", "30",
            "--concurrency", "1,8", "--agents", "3", "--storage", storages, "--json", str(out),
        ],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["storage", "conc", "ops"]
    report = json.loads(out.read_text(encoding="utf-8"))
    cells = {(row["storage"], row["concurrency"]) for row in report["rows"]}
    assert cells == {(s, c) for s in storages.split(",") for c in (1, 8)}
    for row in report["rows"]:
        assert row["failures"] == 0, row["outcomes"]
        assert row["operations"] == (30 if row["concurrency"] > 1 else 3)
        assert row["ops_per_s"] > 0
        assert 0 < row["p50_ms"] <= row["p99_ms"]
    assert len(lines) == 2 + len(cells)


def test_bench_ivr_runs_tiny_both_models_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "ivr.json"
    result = subprocess.run(
        [
            sys.executable, "-m", "aircharge", "bench", "ivr", "--calls", "3", "--duration", "1",
            "--paced-calls", "4", "--paced-duration", "1", "--speed", "50", "--json", str(out),
        ],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "AGI commands" in result.stderr  # the recorded call the baseline replays
    assert result.stdout.splitlines()[0].split()[:4] == ["target", "mode", "calls", "up"]
    report = json.loads(out.read_text(encoding="utf-8"))
    cells = [(row["target"], row["mode"]) for row in report["rows"]]
    assert cells == [("baseline", "unpaced"), ("platform", "unpaced"), ("platform", "paced")]
    for row in report["rows"]:
        assert row["failures"] == 0, report["failures"]
        assert row["completed"] > 0
        assert row["commands_per_s"] > 0
        assert 0 < row["p50_ms"] <= row["p99_ms"]
    platform = [row for row in report["rows"] if row["target"] == "platform"]
    assert all(row["operation_p99_ms"] > 0 for row in platform)  # every call ran a top-up
    assert not any(row["held"] for row in report["rows"]), "sped-up calls prove nothing"
    assert [(cell["mode"], cell["calls"]) for cell in report["stalls"]] == [
        ("unpaced", 3),
        ("paced", 4),
    ]
    assert "loop lag p99" in result.stdout
