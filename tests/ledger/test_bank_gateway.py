"""The bank gateway's pure parts: signatures, references read as agents' numbers, statements."""

from __future__ import annotations

import pytest

from ledger.gateways.bank import (
    STATEMENT_COLUMNS,
    BankUnavailable,
    SignatureRefused,
    number_from_reference,
    parse_statement,
    verify_signature,
)
from simulator.bank import sign

SECRET = b"k"


@pytest.mark.parametrize(
    ("reference", "number"),
    [
        ("13800000003", "8613800000003"),
        ("138 0000 0003", "8613800000003"),
        ("138-0000-0003", "8613800000003"),
        ("+86 138 0000 0003", "8613800000003"),
        ("0086 13800000003", "8613800000003"),
        ("8613800000003", "8613800000003"),
        ("１３８００００００03", "8613800000003"),  # full-width digits
        ("(+86) 138.0000.0003", "8613800000003"),
        ("1380000000", None),  # ten digits
        ("23800000003", None),  # not a mobile number
        ("+1 415 555 0100", None),  # another country
        ("for shop 3", None),
        ("", None),
    ],
)
def test_references_read_as_agents_numbers(reference, number):
    assert number_from_reference(reference) == number


def test_signatures_are_checked_in_both_directions_of_time():
    body = b'{"a":1}'
    verify_signature(SECRET, sign(SECRET, body, 1000), body, 1300.0, 300)
    verify_signature(SECRET, sign(SECRET, body, 1300), body, 1000.0, 300)
    for now in (1301.0, 699.0):
        with pytest.raises(SignatureRefused, match="outside"):
            verify_signature(SECRET, sign(SECRET, body, 1000), body, now, 300)
    with pytest.raises(SignatureRefused, match="does not match"):
        verify_signature(SECRET, sign(SECRET, body, 1000), body + b" ", 1000.0, 300)
    with pytest.raises(SignatureRefused, match="missing"):
        verify_signature(SECRET, None, body, 1000.0, 300)
    with pytest.raises(SignatureRefused, match="is not t="):
        verify_signature(SECRET, "t=1000,v1=" + "A" * 64, body, 1000.0, 300)


def test_a_statement_is_read_line_by_line():
    header = ",".join(STATEMENT_COLUMNS)
    text = (
        f"{header}\n"
        'BK1,2025-03-14T07:50:00+08:00,2025-03-14,622202,100,CNY,"Li, Si",6222,13800000003\n'
    )
    [line] = parse_statement(text)
    assert (line.txn_id, line.amount, line.payer_name) == ("BK1", 100, "Li, Si")
    assert parse_statement(header + "\n") == ()
    for broken in ("", "a,b\n", f"{header}\nBK1,x\n", f"{header}\n" + "BK1,," * 3 + "x\n"):
        with pytest.raises(BankUnavailable):
            parse_statement(broken)
