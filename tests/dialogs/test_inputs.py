from __future__ import annotations

import pytest

from dialogs.inputs import format_yuan, national_number, parse_amount_fen, parse_msisdn, parse_pin


@pytest.mark.parametrize(
    "text",
    [
        "13900000001",
        "8613900000001",
        "+8613900000001",
        "+86 139 0000 0001",
        "008613900000001",
        "１３９０００００００１",  # full-width digits
        " 139-0000-0001 ",
    ],
)
def test_every_form_of_a_number_normalises_to_e164_digits(text: str) -> None:
    assert parse_msisdn(text) == "8613900000001"


@pytest.mark.parametrize("text", ["", "abc", "139", "1390000000100000", "+", "13900000001x", "*"])
def test_non_numbers_are_refused(text: str) -> None:
    assert parse_msisdn(text) is None


def test_national_display() -> None:
    assert national_number("8613900000001") == "13900000001"
    assert national_number("447911123456") == "+447911123456"


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("50", 5000),
        ("50.5", 5050),
        ("50.05", 5005),
        ("50.00", 5000),
        ("０.０１", 1),
        ("500", 50000),
    ],
)
def test_amounts_in_yuan_become_fen(text: str, fen: int) -> None:
    assert parse_amount_fen(text) == fen


@pytest.mark.parametrize("text", ["0", "0.00", "-5", "5.123", "abc", "", "1e3", "5.", ".5", "50元"])
def test_bad_amounts_are_refused(text: str) -> None:
    assert parse_amount_fen(text) is None


def test_pins_are_six_digits() -> None:
    assert parse_pin("333333") == "333333"
    assert parse_pin("３３３３３３") == "333333"
    assert parse_pin("33333") is None
    assert parse_pin("33333a") is None


def test_format_yuan() -> None:
    assert format_yuan(45000) == "450.00"
    assert format_yuan(1_000_000) == "10,000.00"
    assert format_yuan(-5) == "-0.05"
