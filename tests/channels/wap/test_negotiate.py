"""Which format a browser gets, and whose number a request carries: pure functions."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from channels.wap.identity import caller
from channels.wap.negotiate import accepted, page_format, xhtml_media_type

GATEWAYS = (ip_network("10.1.0.0/16"), ip_network("::1/128"))


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "xhtml"),
        ("", "xhtml"),
        ("*/*", "xhtml"),
        # a WAP 1.x browser: WML and a wildcard (the wildcard does not count as XHTML)
        ("text/vnd.wap.wml, image/vnd.wap.wbmp, */*", "wml"),
        ("text/vnd.wap.wml", "wml"),
        ("TEXT/VND.WAP.WML; charset=utf-8", "wml"),
        # a WAP 2.0 browser lists both: a tie goes to XHTML-MP
        ("application/vnd.wap.xhtml+xml, text/vnd.wap.wml, text/html, */*", "xhtml"),
        ("application/vnd.wap.xhtml+xml;q=0.8, text/vnd.wap.wml", "wml"),
        ("text/vnd.wap.wml;q=0.5, application/xhtml+xml;q=0.9", "xhtml"),
        ("text/vnd.wap.wml;q=0", "xhtml"),  # q=0: not acceptable
        ("text/vnd.wap.wml;q=banana", "xhtml"),  # a malformed q is no preference
        ("text/vnd.wap.wml;q=2", "xhtml"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "xhtml"),  # Chrome
        (",,;;,text/vnd.wap.wml;level=1.3", "wml"),
    ],
)
def test_page_format(accept: str | None, expected: str) -> None:
    assert page_format(accept) == expected


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/vnd.wap.xhtml+xml"),
        ("*/*", "application/vnd.wap.xhtml+xml"),  # names none: the registered type
        (
            "application/vnd.wap.xhtml+xml, text/vnd.wap.wml, text/html, */*",
            "application/vnd.wap.xhtml+xml",
        ),
        # Chromium names only these; it would save the WAP type as a download
        (
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "application/xhtml+xml",
        ),
        ("text/html, application/vnd.wap.xhtml+xml;q=0.5", "text/html"),
        ("text/html", "text/html"),
        ("application/xhtml+xml;q=0, text/html;q=0", "application/vnd.wap.xhtml+xml"),
    ],
)
def test_xhtml_media_type(accept: str | None, expected: str) -> None:
    assert xhtml_media_type(accept) == expected


def test_accepted_keeps_the_highest_quality_of_a_type_named_twice() -> None:
    assert accepted("text/html;q=0.2, text/html;q=0.7, */*") == {"text/html": 0.7}


def test_a_header_is_believed_only_from_a_gateway() -> None:
    trusted = caller({"X-MSISDN": "8613800000003"}, "10.1.2.3", GATEWAYS)
    assert (trusted.msisdn, trusted.verdict) == ("8613800000003", "trusted")
    assert caller({"X-Up-Calling-Line-Id": "13800000003"}, "::1", GATEWAYS).msisdn == (
        "8613800000003"
    )
    forged = caller({"X-MSISDN": "8613800000003"}, "10.2.0.1", GATEWAYS)
    assert (forged.msisdn, forged.verdict, forged.origin) == (None, "untrusted", "wap@10.2.0.1")
    assert caller({}, "10.1.2.3", GATEWAYS).verdict == "absent"
    assert caller({"X-MSISDN": "8613800000003"}, None, GATEWAYS).verdict == "untrusted"


@pytest.mark.parametrize(
    "headers",
    [
        {"X-MSISDN": "<script>alert(1)</script>"},
        {"X-MSISDN": ""},
        {"X-MSISDN": "8" * 200},
        {"X-MSISDN": "8613800000003", "X-Up-Calling-Line-Id": "8613800000002"},
    ],
)
def test_a_gateway_header_that_is_not_one_number_is_no_number(headers: dict[str, str]) -> None:
    found = caller(headers, "10.1.0.9", GATEWAYS)
    assert (found.msisdn, found.verdict) == (None, "invalid")
