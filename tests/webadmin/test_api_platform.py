"""`/api/v1` as the running platform serves it: the demo (its demo token), a top-up made
over USSD, and the API reporting it, the balances and its own traffic in /metrics."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from aircharge.demo import start_demo
from tests.conftest import loopback_config


async def test_the_platform_serves_the_api_with_the_configured_token(tmp_path: Path) -> None:
    config = loopback_config()
    stack = await start_demo(config, tmp_path / "demo")
    base = stack.platform.url
    auth = {"Authorization": f"Bearer {config.secrets.api_token}"}
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/api/v1/agents/13800000003") as response:
                assert response.status == 401
            for step, text in enumerate(["", "1", "1*13900000001", "1*13900000001*50"]):
                form = {"sessionId": "api-1", "serviceCode": "*123#", "text": text}
                form |= {"phoneNumber": "13800000003", "networkCode": "46000"}
                async with http.post(f"{base}/ussd/callback", data=form) as response:
                    assert response.status == 200, step
            for text in ["1*13900000001*50*333333", "1*13900000001*50*333333*1"]:
                form["text"] = text
                async with http.post(f"{base}/ussd/callback", data=form) as response:
                    reply = await response.text()
            assert reply.startswith("END 充值成功"), reply

            async with http.get(f"{base}/api/v1/agents/13800000003", headers=auth) as response:
                assert response.status == 200
                agent = await response.json()
            assert agent["deposit"] == {"posted_fen": 45_000, "available_fen": 45_000}
            assert agent["parent_msisdn"] == "8613800000002"

            url = f"{base}/api/v1/transactions?agent=13800000003"
            async with http.get(url, headers=auth) as response:
                assert response.status == 200
                (item,) = (await response.json())["items"]
            assert item["channel"] == "ussd"
            assert (item["msisdn"], item["amount_fen"], item["state"]) == (
                "8613900000001",
                5_000,
                "posted",
            )
            assert reply.find(item["ref"]) > 0  # the reference the merchant was told

            async with http.get(f"{base}/api/v1/outcomes", headers=auth) as response:
                assert (await response.json())["items"] == []
            async with http.get(f"{base}/metrics") as response:
                metrics = await response.text()
        assert (
            'aircharge_http_requests_total{route="/api/v1/agents/{msisdn}",status="200"} 1.0'
            in metrics
        )
        assert 'route="/api/v1/agents/{msisdn}",status="401"} 1.0' in metrics
    finally:
        await stack.close()
