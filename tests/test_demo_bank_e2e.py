"""End to end, as in the demo: a deposit paid at the bank emulator reaches the merchant's
deposit over the signed notification, the USSD balance shows it, and `aircharge ledger verify`
passes on the demo database afterwards."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from aircharge.demo import DATABASE_FILE, banner, start_demo
from ledger.accounts import get_account
from ledger.money import Msisdn
from tests.conftest import loopback_config
from tests.test_demo_e2e import Handset

DELIVERY_WAIT_S = 20.0


async def test_a_bank_deposit_reaches_the_merchant_and_verifies(tmp_path: Path):
    stack = await start_demo(loopback_config(), tmp_path / "demo")
    try:
        assert f"{stack.bank.url}/bank/" in banner(stack)
        async with aiohttp.ClientSession() as http:
            payment = {
                "payer_name": "王五",
                "payer_account": "6222000011112222",
                "agent_msisdn": "+86 138 0000 0003",
                "amount": 10_000,
            }
            async with http.post(f"{stack.bank.url}/bank/transfers", json=payment) as response:
                assert response.status == 201
                txn_id = (await response.json())["txn_id"]
            transfer = await _delivered(http, f"{stack.bank.url}/bank/transfers/{txn_id}")
            assert transfer["notification"]["last_status"] == "200"

            phone = Handset(http, stack.platform.url, "BANK-1", "13800000003")
            await phone.dial()
            await phone.send("4")
            assert await phone.send("333333") == ("END 您的预存款余额600.00元，佣金余额0.00元。")
        merchant = await stack.platform.operations.find_agent(Msisdn("8613800000003"))
        assert merchant is not None
        async with stack.platform.engine.connect() as conn:
            deposit = await get_account(conn, merchant.deposit_account_id)
        assert deposit.balance == 50_000 + 10_000
    finally:
        await stack.close()
    env = {
        **os.environ,
        "AIRCHARGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo' / DATABASE_FILE}",
    }
    verified = subprocess.run(  # noqa: ASYNC221 -- the demo is closed; nothing else runs
        [sys.executable, "-m", "aircharge", "ledger", "verify"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "OK" in verified.stdout


async def _delivered(http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + DELIVERY_WAIT_S
    while True:
        async with http.get(url) as response:
            transfer: dict[str, Any] = await response.json()
        if transfer["notification"]["state"] == "delivered":
            return transfer
        assert asyncio.get_running_loop().time() < deadline, transfer
        await asyncio.sleep(0.02)
