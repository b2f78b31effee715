"""The neutral turn and the gateway profiles as sans-IO codecs, with wire fixtures."""

from __future__ import annotations

import json

import pytest

from channels.ussd.profiles import PROFILES, UssdGatewayReplyError, africastalking, json_gateway
from channels.ussd.signature import SignatureRefused, sign, verify_signature
from channels.ussd.turn import UssdProtocolError, UssdTurn, parse_dialled


@pytest.mark.parametrize(
    ("dialled", "expected"),
    [
        ("*123#", ("*123#", ())),
        ("*123*1#", ("*123#", ("1",))),
        ("*123*1*13900000001#", ("*123#", ("1", "13900000001"))),
        (" *123*1*13900000001*50# ", ("*123#", ("1", "13900000001", "50"))),
    ],
)
def test_a_dialled_string_splits_into_code_and_shortcuts(dialled, expected) -> None:
    assert parse_dialled(dialled) == expected


@pytest.mark.parametrize("dialled", ["123#", "*123", "", "*#", "*12a#", "*123*1#*2#"])
def test_a_bad_dialled_string_is_refused(dialled: str) -> None:
    with pytest.raises(UssdProtocolError):
        parse_dialled(dialled)


def test_a_turn_validates_itself() -> None:
    with pytest.raises(UssdProtocolError, match="sessionId"):
        UssdTurn("a b", "139", "*123#", "begin")
    with pytest.raises(UssdProtocolError, match="operation"):
        UssdTurn("s", "139", "*123#", "restart")  # type: ignore[arg-type]
    assert UssdTurn("s", "139", "*123#", "continue", ("1", "2")).text == "1*2"


AT_FORM = (
    b"sessionId=ATUid_1&serviceCode=%2A123%23&phoneNumber=%2B8613800000003"
    b"&networkCode=46000&text=1%2A13900000001"
)


def test_africastalking_form_to_turn_and_back() -> None:
    turn = africastalking.parse_request(AT_FORM)
    assert turn == UssdTurn(
        "ATUid_1",
        "+8613800000003",
        "*123#",
        "continue",
        ("1", "13900000001"),
        cumulative=True,
        retry_key="1*13900000001",
    )
    reply = africastalking.render_reply(turn, "请输入充值金额（元）", False)
    assert (reply.status, reply.content_type) == (200, "text/plain; charset=utf-8")
    assert reply.body.decode() == "CON 请输入充值金额（元）"
    assert africastalking.decode_reply(200, reply.body) == ("请输入充值金额（元）", False)
    assert africastalking.decode_reply(200, b"END bye") == ("bye", True)
    body, content_type = africastalking.encode_request(
        "ATUid_1", "+8613800000003", "*123#", "1*13900000001"
    )
    assert africastalking.parse_request(body) == turn
    assert content_type == "application/x-www-form-urlencoded"
    first = africastalking.parse_request(AT_FORM.replace(b"text=1%2A13900000001", b"text="))
    assert (first.op, first.inputs) == ("begin", ())


def test_africastalking_refusals() -> None:
    with pytest.raises(UssdProtocolError, match="not a form in UTF-8"):
        africastalking.parse_request(bytes(range(128, 256)))
    with pytest.raises(UssdProtocolError, match="phoneNumber"):
        africastalking.parse_request(b"sessionId=s&serviceCode=%2A123%23&text=")
    with pytest.raises(UssdGatewayReplyError):
        africastalking.decode_reply(200, b"hello")
    assert africastalking.render_error(400, "x").body == b"bad request: x"


def _json(**fields: object) -> bytes:
    base: dict[str, object] = {
        "sessionId": "gw-1",
        "msisdn": "8613800000003",
        "serviceCode": "*123#",
        "operation": "continue",
        "input": "1",
        "sequence": 2,
    }
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not None}).encode()


def test_json_turns() -> None:
    turn = json_gateway.parse_request(_json())
    assert (turn.op, turn.inputs, turn.cumulative) == ("continue", ("1",), False)
    assert turn.retry_key is not None
    begin = json_gateway.parse_request(
        _json(operation="begin", serviceCode="*123*1*13900000001#", input=None, sequence=1)
    )
    assert (begin.op, begin.service_code, begin.inputs) == ("begin", "*123#", ("1", "13900000001"))
    for operation in ("end", "abort", "timeout"):
        closed = json_gateway.parse_request(_json(operation=operation, input=None))
        assert (closed.op, closed.inputs) == ("abort", ())
    unsequenced = json_gateway.parse_request(_json(sequence=None))
    assert unsequenced.retry_key is None
    reply = json_gateway.render_reply(turn, "请输入充值号码", False)
    assert reply.content_type == "application/json; charset=utf-8"
    assert json.loads(reply.body) == {
        "sessionId": "gw-1",
        "operation": "continue",
        "message": "请输入充值号码",
    }
    assert json_gateway.decode_reply(200, reply.body) == ("请输入充值号码", False)
    body, _ = json_gateway.encode_request("gw-1", "8613800000003", "*123#", "continue", "1", 2)
    assert json_gateway.parse_request(body) == turn


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (_json(operation="restart"), "operation 'restart' is not one of"),
        (_json(sessionId=7), "sessionId is a int, not a string"),
        (_json(msisdn=None), "msisdn is missing"),
        (_json(input=None), "input is missing"),
        (_json(input=5), "input is a int"),
        (_json(sequence="2"), "sequence must be an integer"),
        (_json(sequence=0), "sequence must be an integer"),
        (_json(serviceCode="123"), "is not a USSD string"),
        (b"\xff\xfe", "not JSON in UTF-8"),
    ],
)
def test_json_refusals_name_the_reason(body: bytes, reason: str) -> None:
    with pytest.raises(UssdProtocolError, match=reason):
        json_gateway.parse_request(body)


def test_every_profile_has_the_same_five_functions() -> None:
    for profile in PROFILES.values():
        for name in ("parse_request", "render_reply", "render_error", "encode_request"):
            assert callable(getattr(profile, name))
        assert callable(profile.decode_reply)


def test_signatures() -> None:
    body = b'{"a": 1}'
    header = sign(b"k", body, 1_700_000_000.7)
    assert header.startswith("t=1700000000,v1=")
    verify_signature(b"k", header, body, 1_700_000_100, 300)
    for bad_header, now, reason in [
        (None, 1_700_000_000, "missing X-Aircharge-Signature"),
        ("t=1,v1=zz", 1_700_000_000, "is not t="),
        (sign(b"other", body, 1_700_000_000), 1_700_000_000, "does not match"),
        (header, 1_700_000_301, "outside"),
    ]:
        with pytest.raises(SignatureRefused, match=reason) as caught:
            verify_signature(b"k", bad_header, body, now, 300)
        assert caught.value.http_status == 401
        assert "k" not in str(caught.value).split()
