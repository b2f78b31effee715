"""The chaos run at the suite's size: several hundred sales, bill payments, transfers and
allotments against a faulty BOSS (time-outs, errors, lost responses, late applies), some
delivered twice, the platform killed with SIGKILL twice — once just after BOSS applied
something — and every money invariant holding afterwards. `aircharge bench chaos` runs the
same at any size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from aircharge.bench.chaos import make_plan, run_chaos


async def test_every_money_invariant_holds_after_faults_duplicates_and_kills(
    tmp_path: Path,
) -> None:
    checks = await run_chaos(600, seed=11, kills=2, directory=tmp_path, progress=print)
    failed = [check for check in checks if not check.ok]
    assert not failed, "\n".join(f"{c.name}: {c.figure}" for c in failed)
    killed = checks[0]
    assert "just after BOSS applied" in killed.figure
    assert killed.figure.count("run ") == 2


def test_the_plan_mixes_every_kind_and_repeats_some_requests() -> None:
    plan = make_plan(1000, seed=3)
    kinds = {item["name"] for item in plan}
    assert kinds == {"topup", "billpay", "transfer", "allot"}
    keys = [item["key"] for item in plan]
    assert 40 <= len(keys) - len(set(keys)) <= 60  # about 5 % delivered twice
    assert plan == make_plan(1000, seed=3)


def test_the_command_prints_each_check_and_fails_on_bad_arguments() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "aircharge", "bench", "chaos", "--requests", "5"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "--requests at least 10" in done.stderr
