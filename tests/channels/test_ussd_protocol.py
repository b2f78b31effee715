from __future__ import annotations

import pytest

from channels.ussd.protocol import (
    UssdProtocolError,
    format_reply,
    new_inputs,
    parse_callback,
    split_inputs,
)

FORM = {
    "sessionId": "ATUid_1",
    "serviceCode": "*123#",
    "phoneNumber": "+8613800000003",
    "networkCode": "46000",
    "text": "1*13900000001",
}


def test_a_callback_parses() -> None:
    request = parse_callback(FORM)
    assert (request.session_id, request.text, request.network_code) == (
        "ATUid_1",
        "1*13900000001",
        "46000",
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("sessionId", ""), ("sessionId", "a b"), ("sessionId", "x" * 129), ("serviceCode", "")],
)
def test_bad_fields_are_the_gateways_fault(field: str, value: str) -> None:
    with pytest.raises(UssdProtocolError):
        parse_callback({**FORM, field: value})


def test_missing_phone_and_overlong_text() -> None:
    with pytest.raises(UssdProtocolError, match="phoneNumber"):
        parse_callback({k: v for k, v in FORM.items() if k != "phoneNumber"})
    with pytest.raises(UssdProtocolError, match="text"):
        parse_callback({**FORM, "text": "1" * 1025})


def test_inputs_split_and_new_ones_found() -> None:
    assert split_inputs("") == []
    assert split_inputs("1*139") == ["1", "139"]
    assert new_inputs("1*139*50", 2) == ["50"]
    assert new_inputs("1*139*50", 0) == ["1", "139", "50"]
    # a gateway that sends only the latest input
    assert new_inputs("50", 2) == ["50"]


def test_replies() -> None:
    assert format_reply("menu", end=False) == "CON menu"
    assert format_reply("bye", end=True) == "END bye"
