"""Parsing of numbers, amounts, references and dates."""

from __future__ import annotations

from datetime import date

import pytest

from simulator.boss.validation import (
    AMOUNT_MAX_FEN,
    InvalidInputError,
    parse_amount,
    parse_date,
    parse_msisdn,
    parse_ref,
)

FULL_WIDTH = str.maketrans("0123456789+ ", "０１２３４５６７８９＋　")


@pytest.mark.parametrize(
    "text",
    [
        "13900000001",
        "8613900000001",
        "+8613900000001",
        "+86 139 0000 0001",
        "86 139-0000-0001",
        "008613900000001",
        "13900000001".translate(FULL_WIDTH),
        "+86 139 0000 0001".translate(FULL_WIDTH),
    ],
)
def test_every_form_of_a_number_is_e164_digits(text: str):
    assert parse_msisdn(text) == "8613900000001"


@pytest.mark.parametrize("value", ["", "abc", "123", "1390000000123456789", 13900000001, None])
def test_not_a_number(value: object):
    with pytest.raises(InvalidInputError, match="msisdn"):
        parse_msisdn(value)


@pytest.mark.parametrize("value", ["139 0000 0001#", "13900000001 ext. 5", "+86 139 0000 0001 #12"])
def test_a_number_with_an_extension_is_refused(value: str):
    with pytest.raises(InvalidInputError, match=r"msisdn .* has an extension"):
        parse_msisdn(value)


@pytest.mark.parametrize("value", [1, 500, AMOUNT_MAX_FEN])
def test_amounts(value: int):
    assert parse_amount(value) == value


@pytest.mark.parametrize(
    "value", [0, -1, AMOUNT_MAX_FEN + 1, 1.0, 10.5, True, False, "100", None, [100]]
)
def test_bad_amounts(value: object):
    with pytest.raises(InvalidInputError, match="amount"):
        parse_amount(value)


@pytest.mark.parametrize("value", ["a", "R-2025.03.14:0001_x", "x" * 64])
def test_refs(value: str):
    assert parse_ref(value) == value


@pytest.mark.parametrize("value", ["", "x" * 65, "a b", "a/b", "ü", "a\n", 12, None])
def test_bad_refs(value: object):
    with pytest.raises(InvalidInputError, match="ref"):
        parse_ref(value)


def test_dates():
    assert parse_date("2025-03-14") == date(2025, 3, 14)
    for bad in (None, "20250314", "2025-02-30", "2025-3-14", "２０２５-03-14"):
        with pytest.raises(InvalidInputError, match="date"):
            parse_date(bad)
