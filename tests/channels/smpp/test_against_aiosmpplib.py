"""Our bytes equal an independent encoder's (aiosmpplib 0.7.4 `pdu()`) for ordinary PDUs."""

from __future__ import annotations

import pytest

from channels.smpp.pdu import BindRequest, DeliverSmResp, EnquireLink, SubmitSm, decode

aiosmpplib = pytest.importorskip("aiosmpplib")
from aiosmpplib import protocol, state  # type: ignore[import-untyped]  # noqa: E402


def test_bind_transceiver() -> None:
    theirs = protocol.BindTransceiver(
        sequence_num=1, system_id="aircharge", password="secret", system_type="VMA"
    ).pdu()
    ours = BindRequest(
        kind="transceiver", system_id="aircharge", password="secret", system_type="VMA"
    ).to_bytes(1)
    assert ours == theirs
    assert decode(theirs).pdu == BindRequest(
        kind="transceiver", system_id="aircharge", password="secret", system_type="VMA"
    )


def test_submit_sm_plain_ascii() -> None:
    theirs = protocol.SubmitSm(
        sequence_num=42,
        short_message="Balance 50.00",
        source=state.PhoneNumber("1888", state.TON.NATIONAL, state.NPI.ISDN),
        destination=state.PhoneNumber("8613900000001", state.TON.INTERNATIONAL, state.NPI.ISDN),
        registered_delivery=0,
        encoding="ascii",
    ).pdu()
    ours = SubmitSm(
        source_addr_ton=2, source_addr_npi=1, source_addr="1888",
        dest_addr_ton=1, dest_addr_npi=1, destination_addr="8613900000001",
        data_coding=1, short_message=b"Balance 50.00",
    ).to_bytes(42)  # fmt: skip
    assert ours == theirs


def test_enquire_link() -> None:
    assert EnquireLink().to_bytes(9) == protocol.EnquireLink(sequence_num=9).pdu()


def test_deliver_sm_resp() -> None:
    theirs = protocol.DeliverSmResp(sequence_num=7, message_id="").pdu()
    assert DeliverSmResp("").to_bytes(7) == theirs
