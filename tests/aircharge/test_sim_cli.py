"""`aircharge sim` as a flow author and an operator meet it: real processes, exit codes.

Every shipped flow's scripted sessions (tests/sessions/) run here, each in a demo world of its
own; a wrong file is refused before anything runs; a mismatch fails with the line; and the
same script passes against a platform elsewhere (`aircharge serve`), configured by the same
variables as the simulator.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from aircharge.demo_data import write_demo_sim_profiles

AIRCHARGE = [sys.executable, "-m", "aircharge"]
SESSIONS = Path(__file__).parents[1] / "sessions"


def sim(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*AIRCHARGE, "sim", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_every_shipped_flows_sessions_pass(tmp_path: Path) -> None:
    scripts = sorted(str(path) for path in SESSIONS.glob("*.yaml"))
    flows = {path.stem for path in (Path(__file__).parents[2] / "dialogs" / "flows").glob("*.yaml")}
    assert flows == {"agent_main", "subscriber_main"}, "a new flow needs its sessions here"
    result = sim("--demo", "--script", *scripts, "--junit", "report.xml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(scripts)} of {len(scripts)} sessions passed" in result.stdout
    suite = ET.parse(tmp_path / "report.xml").getroot()
    assert (suite.get("tests"), suite.get("failures")) == (str(len(scripts)), "0")
    assert [case.get("classname") for case in suite] == scripts
    assert "FAIL" not in result.stdout
    assert "333333" not in result.stdout  # PINs are masked in the report
    assert (tmp_path / "sim-data" / "aircharge-sim.log").exists()


def test_a_wrong_file_is_refused_with_its_line_and_nothing_runs(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("steps:\n  - phone: '13800000003'\n    sms: YE 333333\n", encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "steps:\n  - phone: '13800000003'\n  - sms: hi\n    press: '1'\n", encoding="utf-8"
    )
    result = sim("--demo", "--script", str(good), str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert f"{bad}:3: a step does one thing" in result.stderr
    assert result.stdout == ""  # not even the good one ran
    assert not (tmp_path / "sim-data").exists()


def test_a_mismatch_fails_at_its_line_and_says_what_came(tmp_path: Path) -> None:
    script = tmp_path / "wrong.yaml"
    script.write_text(
        "within_s: 3\n"
        "steps:\n"
        "  - phone: '13800000003'\n"
        "    sms: YE 333333\n"
        "  - expect_sms: 余额是一百万元\n"
        "  - sms: YE 333333\n",
        encoding="utf-8",
    )
    result = sim("--demo", "--script", str(script), "--junit", "report.xml", cwd=tmp_path)
    assert result.returncode == 1
    assert f"{script}:5: no SMS with '余额是一百万元' within 3 s; unread:" in result.stdout
    [case] = ET.parse(tmp_path / "report.xml").getroot()
    [failure] = case
    assert failure.get("message", "").startswith(f"{script}:5: no SMS with '余额是一百万元'")
    assert "333333" not in ET.tostring(case, encoding="unicode")
    assert "您的预存款余额500.00元" in result.stdout  # what came instead
    assert "0 of 1 sessions passed (2 steps run)" in result.stdout  # it stopped there


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def test_a_session_against_a_platform_elsewhere(tmp_path: Path) -> None:
    http, fastagi, smsc, boss, bank, smsc_http, asterisk_http = _free_ports(7)
    env = {
        **os.environ,
        "AIRCHARGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'platform.db'}",
        "AIRCHARGE_SECRETS_PIN_KEY": "k" * 32,
        "AIRCHARGE_SECRETS_API_TOKEN": "t" * 32,
        "AIRCHARGE_SECRETS_BANK_SECRET": "b" * 32,
        "AIRCHARGE_SECRETS_SMPP_PASSWORD": "p" * 8,
        "AIRCHARGE_SECRETS_SMPP_USSD_PASSWORD": "u" * 8,
        "AIRCHARGE_PLATFORM_HTTP_PORT": str(http),
        "AIRCHARGE_PLATFORM_FASTAGI_PORT": str(fastagi),
        "AIRCHARGE_SMPP_PORT": str(smsc),
        "AIRCHARGE_SMPP_RECONNECT_MAX_MS": "500",
        "AIRCHARGE_BOSS_URL": f"http://127.0.0.1:{boss}",
        "AIRCHARGE_BANK_URL": f"http://127.0.0.1:{bank}",
        "AIRCHARGE_SIMULATOR_SMSC_PORT": str(smsc),
        "AIRCHARGE_SIMULATOR_BOSS_PORT": str(boss),
        "AIRCHARGE_SIMULATOR_BANK_PORT": str(bank),
        "AIRCHARGE_SIMULATOR_SMSC_HTTP_PORT": str(smsc_http),
        "AIRCHARGE_SIMULATOR_ASTERISK_HTTP_PORT": str(asterisk_http),
    }
    for step in (["db", "upgrade"], ["db", "seed-demo"]):
        done = subprocess.run([*AIRCHARGE, *step], env=env, capture_output=True, check=False)
        assert done.returncode == 0, done.stderr
    platform = subprocess.Popen(
        [*AIRCHARGE, "serve"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert platform.stdout is not None
        assert platform.stdout.readline().startswith("aircharge platform listening")
        # The demo agents' SIMs (seed-demo provisioned them) as their cards carry them.
        write_demo_sim_profiles(tmp_path / "sim-data", "1888")
        names = ("agent_topup_ussd.yaml", "agent_topup_ivr.yaml", "agent_topup_stk.yaml")
        scripts = [str(SESSIONS / name) for name in names]
        result = sim("--script", *scripts, cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "3 of 3 sessions passed" in result.stdout
        assert "waiting for the platform at http://127.0.0.1:" in result.stderr
        # the emulators' state stays for the next run: BOSS remembers both top-ups
        assert (tmp_path / "sim-data" / "boss.db").exists()
    finally:
        platform.send_signal(signal.SIGTERM)
        platform.wait(timeout=30)


def test_the_emulators_refuse_a_config_that_points_the_platform_elsewhere(tmp_path: Path) -> None:
    env = {
        "AIRCHARGE_BOSS_URL": "http://127.0.0.1:9",  # not where the BOSS emulator listens
        "AIRCHARGE_SIMULATOR_BOSS_PORT": "0",
        "AIRCHARGE_SIMULATOR_BANK_PORT": "0",
        "AIRCHARGE_SIMULATOR_SMSC_PORT": "0",
        "AIRCHARGE_SIMULATOR_SMSC_HTTP_PORT": "0",
        "AIRCHARGE_SIMULATOR_ASTERISK_HTTP_PORT": "0",
    }
    script = SESSIONS / "agent_topup_sms.yaml"
    result = sim("--script", str(script), cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "would not reach the emulators: boss.url = http://127.0.0.1:9" in result.stderr
