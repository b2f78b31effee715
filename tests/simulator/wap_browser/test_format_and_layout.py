"""WML format masks as a keypad enforces them, and the 128-pixel text layout (CJK characters
two columns wide, no line starting with closing punctuation, nothing wider than the screen)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.wap_browser import EntryRefused, PageError, parse_format, wrap
from simulator.wap_browser.layout import text_width


@pytest.mark.parametrize(
    ("mask", "good", "bad"),
    [
        ("NNNNNN", ["", "1", "123456"], ["a", "1234567", "12 3"]),
        ("*N", ["", "13900000001" * 3], ["1a", "+86"]),
        ("3N", ["", "123"], ["1234", "x"]),
        ("AA", ["AB", "A-", "中文"], ["a", "1"]),
        ("aa", ["ab", "a-", "中"], ["A", "1"]),
        ("n", ["1", "-", " "], ["a", "A"]),
        ("X*x", ["A", "1abc", "-"], ["a", "1A"]),
        ("\\+NN", ["+8", "+86"], ["86", "-86"]),
        ("*m", ["", "50.5", "Hello 中"], []),
        ("M", ["a", "Z"], ["ab"]),
    ],
)
def test_a_mask_takes_what_it_allows_where_it_allows_it(mask, good, bad):
    parsed = parse_format(mask)
    for value in good:
        parsed.check(value)
    for value in bad:
        with pytest.raises(EntryRefused, match=f"format {re.escape(mask)}"):
            parsed.check(value)


def test_a_mask_is_complete_when_its_fixed_positions_are_filled():
    parse_format("NN*a").check_complete("12")
    parse_format("NN*a").check_complete("12ab")
    with pytest.raises(EntryRefused, match="needs 2 characters, 1 typed"):
        parse_format("NN*a").check_complete("1")
    assert parse_format("NN3a").max_length == 5
    assert parse_format("NN*a").max_length is None
    assert parse_format("NNNNNN").max_length == 6


@pytest.mark.parametrize("mask", ["", "N*", "*NN", "Q", "N2", "*", "NN*N*N"])
def test_a_mask_wml_does_not_allow_is_the_pages_error(mask):
    with pytest.raises(PageError, match="format"):
        parse_format(mask)


def test_wrapping_latin_and_chinese():
    assert wrap("Done: +13900000001 received CNY 50.00. Ref R1.") == [
        "Done: +13900000001",
        "received CNY",
        "50.00. Ref R1.",
    ]
    assert wrap("充值成功：+13900000001到账50.00元，流水号R1。") == [
        "充值成功：",
        "+13900000001到账",
        "50.00元，流水号",
        "R1。",
    ]
    # Nine Chinese characters fill 18 columns; the comma may not start the next line, so
    # the ninth character comes down with it.
    assert wrap("一二三四五六七八九，十") == ["一二三四五六七八", "九，十"]
    # An opening bracket does not end a line: it goes down with what it opens.
    assert wrap("请输入充值金额（元）") == ["请输入充值金额", "（元）"]
    assert wrap("Enter amount (CNY) now", 14) == ["Enter amount", "(CNY) now"]
    assert wrap("abcdefghijklmnopqrstuvwxyz", 10) == ["abcdefghij", "klmnopqrst", "uvwxyz"]
    assert wrap("  a   b  ") == ["a b"]
    assert wrap("") == []


@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))), st.integers(2, 30))
def test_no_line_is_wider_than_the_screen_and_nothing_is_lost(text, columns):
    lines = wrap(text, columns)
    assert all(text_width(line) <= columns for line in lines)
    assert "".join("".join(lines).split()) == "".join(text.split())
