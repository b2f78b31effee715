"""The command line as an operator meets it: real processes, real files, exit codes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

AIRCHARGE = [sys.executable, "-m", "aircharge"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*AIRCHARGE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_version_and_help() -> None:
    assert run("version").stdout.startswith("aircharge ")
    help_text = run("--help").stdout
    for command in ("demo", "serve", "db", "version"):
        assert command in help_text


def test_db_upgrade_and_seed_on_a_fresh_file(tmp_path: Path) -> None:
    env = {"AIRCHARGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"}
    upgraded = run("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "schema is current" in upgraded.stdout
    for _ in range(2):  # seeding twice is harmless
        seeded = run("db", "seed-demo", env=env)
        assert seeded.returncode == 0, seeded.stderr


def test_serve_refuses_demo_secrets(tmp_path: Path) -> None:
    result = run("serve")
    assert result.returncode == 1
    assert (
        "refusing to serve with demo secrets:"
        " secrets.pin_key, secrets.api_token, secrets.bank_secret, secrets.smpp_password,"
        " secrets.smpp_ussd_password" in result.stderr
    )


def test_a_broken_config_names_key_value_and_expectation(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[boss]\ntimeout_ms = -5\n", encoding="utf-8")
    result = run("serve", "--config", str(config))
    assert result.returncode == 2
    assert "boss.timeout_ms = -5" in result.stderr
    assert "positive integer" in result.stderr


def test_serve_starts_with_real_secrets_and_stops_on_sigterm(tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 's.db'}"
    env = {
        **os.environ,
        "AIRCHARGE_DATABASE_URL": database,
        "AIRCHARGE_SECRETS_PIN_KEY": "k" * 32,
        "AIRCHARGE_SECRETS_API_TOKEN": "t" * 32,
        "AIRCHARGE_SECRETS_BANK_SECRET": "b" * 32,
        "AIRCHARGE_SECRETS_SMPP_PASSWORD": "p" * 8,
        "AIRCHARGE_SECRETS_SMPP_USSD_PASSWORD": "u" * 8,
        "AIRCHARGE_PLATFORM_HTTP_PORT": "0",
    }
    assert run("db", "upgrade", env=env).returncode == 0
    process = subprocess.Popen(
        [*AIRCHARGE, "serve"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("aircharge platform listening on http://127.0.0.1:")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_demo_headless_prints_where_it_listens_and_stops_cleanly(
    tmp_path: Path, signum: int
) -> None:
    env = {
        **os.environ,
        "AIRCHARGE_PLATFORM_HTTP_PORT": "0",
        "AIRCHARGE_SIMULATOR_BOSS_PORT": "0",
    }
    process = subprocess.Popen(
        [*AIRCHARGE, "demo", "--headless", "--data-dir", str(tmp_path / "d")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
        assert lines[0].startswith("aircharge demo is running")
        assert "platform HTTP   http://127.0.0.1:" in lines[2]
        assert "BOSS emulator   http://127.0.0.1:" in lines[3]
        time.sleep(0.2)
        process.send_signal(signum)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert (tmp_path / "d" / "aircharge.db").exists()


def test_ledger_verify_passes_then_names_a_tampered_transfer(tmp_path: Path) -> None:
    database = tmp_path / "v.db"
    env = {"AIRCHARGE_DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    assert run("db", "upgrade", env=env).returncode == 0
    assert run("db", "seed-demo", env=env).returncode == 0
    clean = run("ledger", "verify", env=env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "3 transfers" in clean.stdout
    assert clean.stdout.rstrip().endswith("OK")
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE transfers SET amount = amount + 1 WHERE seq = 2")
    tampered = run("ledger", "verify", env=env)
    assert tampered.returncode == 1
    assert "FAILED" in tampered.stdout
    assert "writer 1 seq 2 transfer 'seed:deposit:8613800000002'" in tampered.stdout
