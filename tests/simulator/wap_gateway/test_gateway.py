"""The WAP gateway emulator over real loopback HTTP: the attached handset's number added, a
number sent by the handset stripped, the switch that adds none, redirects kept on the bearer,
and the gateway's own error pages when the platform is down, slow or answers too much."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET

import aiohttp
import pytest
from yarl import URL

from simulator.wap_gateway import MSISDN_HEADER, WapGateway
from simulator.wap_gateway.events import Attached, Detached, Forwarded, ForwardFailed
from tests.simulator.wap_gateway.mimic import Mimic

AGENT = "13800000003"
OTHER = "13800000001"
WML = "text/vnd.wap.wml"
XHTML = "application/vnd.wap.xhtml+xml"


async def _get(url: str | URL, **kwargs) -> tuple[int, dict[str, str], bytes]:
    async with aiohttp.ClientSession() as http, http.get(url, **kwargs) as response:
        return response.status, dict(response.headers), await response.read()


async def test_the_attached_handsets_number_is_added(gateway: WapGateway, mimic: Mimic):
    bearer = await gateway.attach(AGENT)
    headers = {"Accept": WML, "User-Agent": "Nokia6230i/2.0", "Accept-Language": "en"}
    status, returned, body = await _get(f"{bearer.url}/wap/echo", headers=headers)
    assert (status, body) == (200, b"echo")
    seen = mimic.received[-1].headers
    assert seen["x-msisdn"] == [AGENT]
    assert seen["x-up-calling-line-id"] == [AGENT]
    assert seen["accept"] == [WML]
    assert seen["user-agent"] == ["Nokia6230i/2.0"]
    assert seen["accept-language"] == ["en"]
    assert seen["via"] == ["1.1 aircharge-wap-gateway"]
    assert returned["Set-Cookie"].startswith("seen=1")
    assert returned["Cache-Control"] == "no-store"
    assert "X-Internal" not in returned  # only the listed headers come back


async def test_each_handset_has_its_own_bearer(gateway: WapGateway, mimic: Mimic):
    first = await gateway.attach(AGENT)
    second = await gateway.attach(OTHER)
    assert first.port != second.port
    assert await gateway.attach(AGENT) == first  # attaching again keeps the bearer
    await _get(f"{second.url}/wap/echo")
    await _get(f"{first.url}/wap/echo")
    assert [r.headers["x-msisdn"] for r in mimic.received] == [[OTHER], [AGENT]]
    assert set(gateway.bearers) == {AGENT, OTHER}


async def test_a_number_sent_by_the_handset_is_stripped(gateway: WapGateway, mimic: Mimic):
    bearer = await gateway.attach(AGENT)
    events = gateway.events.subscribe()
    spoof = {
        "X-MSISDN": OTHER,
        "X-Up-Calling-Line-Id": OTHER,
        "X-Nokia-MSISDN": OTHER,
        "X-Forwarded-For": "10.0.0.1",
    }
    await _get(f"{bearer.url}/wap/echo", headers=spoof)
    seen = mimic.received[-1].headers
    assert seen["x-msisdn"] == [AGENT]
    assert seen["x-up-calling-line-id"] == [AGENT]
    assert "x-nokia-msisdn" not in seen
    assert "x-forwarded-for" not in seen
    [event] = events.pending()
    assert isinstance(event, Forwarded)
    assert {name.lower() for name in event.stripped} == {
        "x-msisdn",
        "x-up-calling-line-id",
        "x-nokia-msisdn",
    }
    assert (event.msisdn, event.status, event.enriched) == (AGENT, 200, True)


async def test_without_enrichment_no_number_reaches_the_platform(gateway: WapGateway, mimic: Mimic):
    bearer = await gateway.attach(AGENT)
    gateway.enrich = False
    await _get(f"{bearer.url}/wap/echo", headers={"X-MSISDN": OTHER})
    seen = mimic.received[-1].headers
    assert "x-msisdn" not in seen
    assert "x-up-calling-line-id" not in seen
    gateway.enrich = True
    await _get(f"{bearer.url}/wap/echo")
    assert mimic.received[-1].headers["x-msisdn"] == [AGENT]


async def test_the_headers_added_can_be_chosen(platform: str, mimic: Mimic):
    async with WapGateway(platform, headers=(MSISDN_HEADER,)) as gateway:
        bearer = await gateway.attach(AGENT)
        await _get(f"{bearer.url}/wap/echo")
    seen = mimic.received[-1].headers
    assert seen["x-msisdn"] == [AGENT]
    assert "x-up-calling-line-id" not in seen


async def test_method_query_body_and_content_type_are_forwarded(gateway: WapGateway, mimic: Mimic):
    bearer = await gateway.attach(AGENT)
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            URL(f"{bearer.url}/wap/echo?a=1&b=%24", encoded=True),
            data={"input": "50", "token": "t"},
        ) as r,
    ):
        assert r.status == 200
    received = mimic.received[-1]
    assert (received.method, received.path_qs) == ("POST", "/wap/echo?a=1&b=%24")
    assert received.body == b"input=50&token=t"
    assert received.headers["content-type"] == ["application/x-www-form-urlencoded"]


async def test_a_redirect_to_the_platform_comes_back_through_the_bearer(
    gateway: WapGateway, mimic: Mimic
):
    bearer = await gateway.attach(AGENT)
    status, headers, _ = await _get(f"{bearer.url}/wap/redirect", allow_redirects=False)
    assert status == 302
    assert headers["Location"] == f"{bearer.url}/wap/echo?from=redirect"
    status, _, body = await _get(f"{bearer.url}/wap/redirect")  # followed: through the gateway
    assert (status, body) == (200, b"echo")
    assert mimic.received[-1].path_qs == "/wap/echo?from=redirect"
    assert mimic.received[-1].headers["x-msisdn"] == [AGENT]


async def test_only_the_services_pages_are_carried(gateway: WapGateway, mimic: Mimic):
    bearer = await gateway.attach(AGENT)
    status, headers, body = await _get(f"{bearer.url}/api/v1/secret", headers={"Accept": WML})
    assert status == 404
    assert headers["Content-Type"].startswith(WML)
    assert "此网关只提供本服务的页面" in body.decode()
    assert mimic.received == []  # the platform never saw it
    for climbing in ("/wap/../api/v1/secret", "/wap/%2e%2e/api/v1/secret", "/wap/./echo"):
        status, _, body = await _get(URL(f"{bearer.url}{climbing}", encoded=True))
        assert (status, "此网关只提供本服务的页面" in body.decode()) == (404, True), climbing
    assert mimic.received == []
    status, headers, _ = await _get(f"{bearer.url}/", allow_redirects=False)
    assert (status, headers["Location"]) == (302, "/wap/")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("accept", "language", "content_type", "root", "text"),
    [
        (WML, "", WML, "wml", "无法连接到服务，请稍后再试。 (502)"),
        (XHTML, "en-GB", XHTML, "html", "The service cannot be reached."),
        ("text/html", "", XHTML, "html", "无法连接到服务"),
    ],
)
async def test_a_platform_that_is_down_gets_the_502_page(
    accept: str, language: str, content_type: str, root: str, text: str
):
    async with WapGateway(f"http://127.0.0.1:{_closed_port()}") as gateway:
        events = gateway.events.subscribe()
        bearer = await gateway.attach(AGENT)
        headers = {"Accept": accept, "Accept-Language": language}
        status, returned, body = await _get(f"{bearer.url}/wap/?pin=123456", headers=headers)
    assert status == 502
    assert returned["Content-Type"].startswith(content_type)
    document = ET.fromstring(body)
    assert document.tag.rpartition("}")[2] == root
    assert text in "".join(document.itertext())
    [attached, failed, detached] = events.pending()
    assert attached == Attached(AGENT, bearer.url)
    assert isinstance(failed, ForwardFailed)
    assert (failed.status, failed.path) == (502, "/wap/?pin=******")
    assert detached == Detached(AGENT)


async def test_a_platform_that_does_not_answer_in_time_gets_the_504_page(
    platform: str, mimic: Mimic
):
    mimic.slow_s = 30
    async with WapGateway(platform, timeout_s=0.2) as gateway:
        bearer = await gateway.attach(AGENT)
        status, _, body = await _get(f"{bearer.url}/wap/slow", headers={"Accept-Language": "en"})
    assert status == 504
    assert "did not answer in time" in body.decode()


async def test_a_page_too_large_for_a_handset_is_refused(gateway: WapGateway):
    bearer = await gateway.attach(AGENT)
    status, _, body = await _get(f"{bearer.url}/wap/big")
    assert status == 502
    assert "页面过大" in body.decode()


async def test_a_detached_handset_cannot_reach_the_gateway(gateway: WapGateway):
    bearer = await gateway.attach(AGENT)
    await gateway.detach(AGENT)
    await gateway.detach(AGENT)  # nothing attached: nothing to do
    assert gateway.bearers == {}
    with pytest.raises(aiohttp.ClientConnectionError):
        await _get(f"{bearer.url}/wap/echo")


def test_the_target_is_an_origin():
    with pytest.raises(ValueError, match="origin"):
        WapGateway("http://127.0.0.1:1/wap/")
    with pytest.raises(ValueError, match="origin"):
        WapGateway("/wap/")
