"""The SMS command grammar as data-driven tables, plus hypothesis properties.

The tables hold their own oracle (keywords, fields, expected slots written out by hand); they
do not read the parser's private tables, so a slip there shows up here.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialogs.grammar import (
    COMMAND_KINDS,
    PARSE_ERROR_REASONS,
    Command,
    ParseError,
    mask_pins,
    parse_command,
    pin_mask,
    text_length_max,
)

Slots = Mapping[str, str | int]

TOPUP: Slots = {"msisdn": "8613900000001", "amount_fen": 5000, "pin": "333333"}
AGENT: Slots = {"msisdn": "8613800000003", "amount_fen": 5000, "pin": "222222"}
TRANSFER: Slots = {"msisdn": "8613900000002", "amount_fen": 1050}

# kind -> (every keyword and alias, the fields after it, the slots they give)
KEYWORDS: dict[str, tuple[tuple[str, ...], str, Slots]] = {
    "topup": (("CZ", "TOPUP", "充值"), "13900000001 50 333333", TOPUP),
    "billpay": (("JF", "PAY", "缴费"), "13900000001 50 333333", TOPUP),
    "allot": (("HB", "ALLOT", "划拨"), "13800000003 50 222222", AGENT),
    "transfer": (("ZZ", "SEND", "转账"), "13900000002 10.5", TRANSFER),
    "confirm": (("Y", "是"), "4821", {"code": "4821"}),
    "balance": (("YE", "BAL", "余额"), "333333", {"pin": "333333"}),
    "history": (("CX", "HIST", "查询"), "333333", {"pin": "333333"}),
    "change_pin": (
        ("MM", "PIN", "密码"),
        "333333 482193 482193",
        {"old_pin": "333333", "new_pin": "482193"},
    ),
    "help": (("BZ", "HELP", "帮助", "?", "？"), "", {}),
}

SEPARATORS = [" ", "#", "*", ",", "＃", "＊", "，", "、", "\u3000", "\t", "\n"]


def full_width(text: str) -> str:
    """ASCII printable characters as their full-width forms (NFKC maps them back)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def case_forms(keyword: str) -> list[str]:
    if not keyword.isascii() or not keyword.isalpha():
        return [keyword]
    forms = {
        keyword.upper(),
        keyword.lower(),
        keyword.capitalize(),
        keyword.capitalize().swapcase(),
        full_width(keyword),
        full_width(keyword.lower()),
    }
    return sorted(forms)


def keyword_cases() -> list[tuple[str, str, Slots]]:
    cases = []
    for kind, (keywords, fields, slots) in KEYWORDS.items():
        for keyword in keywords:
            for form in case_forms(keyword):
                cases.append((f"{form} {fields}".strip(), kind, slots))
    return cases


def test_the_tables_cover_every_kind() -> None:
    assert set(KEYWORDS) == COMMAND_KINDS


@pytest.mark.parametrize(("text", "kind", "slots"), keyword_cases())
def test_every_keyword_and_alias_in_every_case_form(text: str, kind: str, slots: Slots) -> None:
    assert parse_command(text) == Command(kind, slots)


@pytest.mark.parametrize("separator", SEPARATORS)
@pytest.mark.parametrize("kind", sorted(COMMAND_KINDS - {"help"}))
def test_every_separator_between_every_field(kind: str, separator: str) -> None:
    keywords, fields, slots = KEYWORDS[kind]
    text = separator.join([keywords[0], *fields.split()])
    assert parse_command(text) == Command(kind, slots)


@pytest.mark.parametrize(
    "text",
    [
        "CZ#13900000001#50#333333",
        "CZ*13900000001*50*333333#",  # the USSD habit
        "CZ,13900000001,50,333333",
        "CZ＃13900000001＊50，333333",
        "CZ、13900000001、50、333333",
        "CZ\u300013900000001\u300050\u3000333333",
        "CZ# 13900000001 ,50*＊333333",  # mixtures
        "CZ   13900000001,,,50##333333",  # repeats collapse
        "  #CZ 13900000001 50 333333 ,* ",  # leading and trailing ignored
        "CZ\r\n13900000001\n50\n333333\n",
        "CZ﹟13900000001﹡50﹐333333",  # small forms: NFKC maps them onto separators too
        "\u3000".join(full_width(f) for f in ["CZ", "13900000001", "50", "333333"]),  # full-width
    ],
)
def test_separators_full_width_mixed_repeated_leading_trailing(text: str) -> None:
    assert parse_command(text) == Command("topup", TOPUP)


@pytest.mark.parametrize(
    ("text", "kind", "slots"),
    [
        ("充值13900000001 50 333333", "topup", TOPUP),
        ("缴费13900000001#50#333333", "billpay", TOPUP),
        ("划拨13800000003，50，222222", "allot", AGENT),
        ("转账13900000002 10.5", "transfer", TRANSFER),
        ("是4821", "confirm", {"code": "4821"}),
        ("余额333333", "balance", {"pin": "333333"}),
        ("余额３３３３３３", "balance", {"pin": "333333"}),
        ("查询333333", "history", {"pin": "333333"}),
        ("密码333333 482193 482193", "change_pin", {"old_pin": "333333", "new_pin": "482193"}),
        ("  充值+8613900000001 50 333333", "topup", TOPUP),
    ],
)
def test_chinese_keywords_glued_to_the_first_field(text: str, kind: str, slots: Slots) -> None:
    assert parse_command(text) == Command(kind, slots)


@pytest.mark.parametrize(
    ("text", "reason", "kind", "field"),
    [
        ("CZ13900000001 50 333333", "unknown_keyword", None, None),  # Latin keywords never glue
        ("YE333333", "unknown_keyword", None, None),
        ("Y4821", "unknown_keyword", None, None),
        ("?4821", "unknown_keyword", None, None),
        ("余额x", "bad_pin", "balance", "pin"),
        ("帮助me", "extra_field", "help", None),
        ("充值", "missing_field", "topup", "msisdn"),
    ],
)
def test_gluing_limits(text: str, reason: str, kind: str | None, field: str | None) -> None:
    assert parse_command(text) == ParseError(reason, kind, field)


@pytest.mark.parametrize(
    "number",
    [
        "13900000001",
        "8613900000001",
        "+8613900000001",
        "008613900000001",
        "139-0000-0001",
        full_width("13900000001"),
        full_width("+8613900000001"),
    ],
)
def test_number_forms_written_as_one_field(number: str) -> None:
    assert parse_command(f"CZ {number} 50 333333") == Command("topup", TOPUP)


@pytest.mark.parametrize(
    "number",
    ["+86 139 0000 0001", "139 0000 0001", "+86 13900000001", "86 13900000001", "139,0000,0001"],
)
def test_a_number_with_separators_inside_is_a_clean_error_never_a_wrong_number(
    number: str,
) -> None:
    # A field is a separator-delimited token: in SMS a number is written without spaces.
    assert parse_command(f"CZ {number} 50 333333") == ParseError("bad_msisdn", "topup", "msisdn")
    assert parse_command(f"ZZ {number} 50") == ParseError("bad_msisdn", "transfer", "msisdn")


@pytest.mark.parametrize(
    ("amount", "fen"),
    [
        ("50", 5000),
        ("50.5", 5050),
        ("50.00", 5000),
        ("50.05", 5005),
        ("0.01", 1),
        ("５０．５", 5050),
    ],
)
def test_amounts_in_yuan(amount: str, fen: int) -> None:
    assert parse_command(f"ZZ 13900000002 {amount}") == Command(
        "transfer", {"msisdn": "8613900000002", "amount_fen": fen}
    )


@pytest.mark.parametrize(
    "amount", ["0", "0.00", "5.123", "-1", "abc", "50元", "¥50", "5.", ".5", "1e3", "50.5.5"]
)
def test_bad_amounts(amount: str) -> None:
    expected = ParseError("bad_amount", "topup", "amount_fen")
    assert parse_command(f"CZ 13900000001 {amount} 333333") == expected


ERRORS: list[tuple[str, str, str | None, str | None]] = [
    ("", "empty", None, None),
    ("   ", "empty", None, None),
    ("#*,、　＃＊，", "empty", None, None),
    ("HELLO", "unknown_keyword", None, None),
    ("CZZ 13900000001 50 333333", "unknown_keyword", None, None),
    ("??", "unknown_keyword", None, None),
    ("13900000001 50 333333", "unknown_keyword", None, None),
    ("CZ", "missing_field", "topup", "msisdn"),
    ("CZ 13900000001", "missing_field", "topup", "amount_fen"),
    ("JF 13900000001 50", "missing_field", "billpay", "pin"),
    ("HB 13800000003 50", "missing_field", "allot", "pin"),
    ("ZZ 13900000002", "missing_field", "transfer", "amount_fen"),
    ("Y", "missing_field", "confirm", "code"),
    ("YE", "missing_field", "balance", "pin"),
    ("CX", "missing_field", "history", "pin"),
    ("MM", "missing_field", "change_pin", "old_pin"),
    ("MM 333333", "missing_field", "change_pin", "new_pin"),
    ("MM 333333 482193", "missing_field", "change_pin", "new_pin_repeat"),
    ("CZ 13900000001 50 333333 333333", "extra_field", "topup", None),
    ("ZZ 13900000002 50 333333", "extra_field", "transfer", None),
    ("ZZ 13900000002 1,000", "extra_field", "transfer", None),  # ',' separates: never ¥1
    ("Y 4821 4821", "extra_field", "confirm", None),
    ("YE 333333 333333", "extra_field", "balance", None),
    ("MM 333333 482193 482193 482193", "extra_field", "change_pin", None),
    ("BZ CZ", "extra_field", "help", None),
    ("CZ 139 50 333333", "bad_msisdn", "topup", "msisdn"),
    ("HB agent 50 222222", "bad_msisdn", "allot", "msisdn"),
    ("CZ 13900000001x 50 333333", "bad_msisdn", "topup", "msisdn"),
    ("CZ 13900000001 abc 333333", "bad_amount", "topup", "amount_fen"),
    ("CZ 13900000001 50 33333", "bad_pin", "topup", "pin"),
    ("CZ 13900000001 50 3333333", "bad_pin", "topup", "pin"),
    ("CZ 13900000001 50 33333a", "bad_pin", "topup", "pin"),
    ("CZ 13900000001 50 ٣٣٣٣٣٣", "bad_pin", "topup", "pin"),  # Arabic-Indic: not after NFKC
    ("YE 12345", "bad_pin", "balance", "pin"),
    ("MM 33333 482193 482193", "bad_pin", "change_pin", "old_pin"),
    ("MM 333333 4821 4821", "bad_pin", "change_pin", "new_pin"),
    ("MM 333333 482193 4821", "bad_pin", "change_pin", "new_pin_repeat"),
    ("Y 123", "bad_code", "confirm", "code"),
    ("Y 123456789", "bad_code", "confirm", "code"),
    ("Y 12a4", "bad_code", "confirm", "code"),
    ("Y ٤٨٢١", "bad_code", "confirm", "code"),
    ("MM 333333 482193 482194", "pin_mismatch", "change_pin", "new_pin_repeat"),
    ("密码333333，482193，193482", "pin_mismatch", "change_pin", "new_pin_repeat"),
    ("x" * (text_length_max + 1), "too_long", None, None),
    ("CZ 13900000001 50 333333" + " " * text_length_max, "too_long", None, None),
]


def test_the_error_table_covers_every_reason() -> None:
    assert {reason for _, reason, _, _ in ERRORS} == PARSE_ERROR_REASONS


@pytest.mark.parametrize(("text", "reason", "kind", "field"), ERRORS)
def test_every_error_reason(text: str, reason: str, kind: str | None, field: str | None) -> None:
    assert parse_command(text) == ParseError(reason, kind, field)


def test_the_length_bound_is_inclusive() -> None:
    text = "CZ 13900000001 50 333333"
    assert parse_command(text.ljust(text_length_max)) == Command("topup", TOPUP)
    assert parse_command(text.ljust(text_length_max + 1)) == ParseError("too_long")


def test_confirmation_codes_keep_leading_zeros() -> None:
    assert parse_command("Y 0042") == Command("confirm", {"code": "0042"})
    assert parse_command("是 ０１２３４５６７") == Command("confirm", {"code": "01234567"})


def test_adversarial_inputs_at_the_bound_are_refused_cleanly() -> None:
    texts = [
        "9" * text_length_max,
        "CZ " + "9" * (text_length_max - 3),
        "CZ " + "+9" * ((text_length_max - 3) // 2),
        "CZ 13900000001 " + "5." * ((text_length_max - 15) // 2),
        "#*," * (text_length_max // 3),
        "充值" * (text_length_max // 2),
        "¨" * text_length_max,  # NFKC expands it to a space and a combining mark
    ]
    for text in texts:
        assert isinstance(parse_command(text), ParseError)
        assert isinstance(mask_pins(text), str)  # and does not raise


def test_commands_are_immutable_hashable_and_self_checking() -> None:
    command = parse_command("CZ 13900000001 50 333333")
    assert isinstance(command, Command)
    assert hash(command) == hash(Command("topup", dict(TOPUP)))
    assert {command, Command("topup", TOPUP)} == {command}
    with pytest.raises(TypeError):
        command.slots["pin"] = "000000"  # type: ignore[index]
    with pytest.raises(AssertionError):
        Command("refund", {})
    with pytest.raises(AssertionError):
        Command("balance", {"pin": "333333", "code": "1234"})
    with pytest.raises(AssertionError):
        Command("transfer", {"msisdn": "8613900000002", "amount_fen": "1050"})
    with pytest.raises(AssertionError):
        ParseError("typo")
    with pytest.raises(AssertionError):
        ParseError("bad_pin", "topup", "password")


# --- masking -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("CZ 13900000001 50 333333", "CZ 13900000001 50 ******"),
        ("充值13900000001＃50，３３３３３３", "充值13900000001＃50，******"),
        ("余额333333", "余额******"),
        ("YE 333333", "YE ******"),
        ("cx#333333#", "cx#******#"),
        ("MM 111111 222222 222222", "MM ****** ****** ******"),
        ("密码111111，222222，222223", "密码******，******，******"),  # mismatch: still masked
        # PIN positions are masked whatever they hold: a mistyped PIN is still a secret.
        ("CZ 13900000001 50 33333", "CZ 13900000001 50 ******"),
        ("YE 3333333", "YE ******"),
        ("MM 11111 2222222 x", "MM ****** ****** ******"),
        # A PIN in the wrong place or after the end is caught as a six-digit run.
        ("CZ 13900000001 333333 50", "CZ 13900000001 ****** ******"),
        ("ZZ 13900000002 50 333333", "ZZ 13900000002 50 ******"),
        ("CZ 13900000001 50 333333 444444", "CZ 13900000001 50 ****** ******"),
        # Unrecognised text: every run of exactly six digits.
        ("my pin is 333333 please", "my pin is ****** please"),
        ("CZX 13900000001 50 333333", "CZX 13900000001 50 ******"),
        ("pin:333333.", "pin:******."),
        ("１２３４５６", "******"),
        ("1234567 12345 123456", "1234567 12345 ******"),
        ("x" * text_length_max + " 333333", "x" * text_length_max + " ******"),
        # What is not a PIN stays.
        ("CZ 13900000001 50", "CZ 13900000001 50"),
        ("Y 4821", "Y 4821"),
        ("", ""),
        ("帮助", "帮助"),
    ],
)
def test_mask_pins(text: str, masked: str) -> None:
    assert mask_pins(text) == masked


# --- properties ----------------------------------------------------------------------------


def digit_runs(text: str) -> list[str]:
    """Maximal runs of characters that NFKC reads as one decimal digit each."""
    runs, current = [], ""
    for char in text:
        normal = unicodedata.normalize("NFKC", char)
        if len(normal) == 1 and normal.isdecimal():
            current += normal
            continue
        if current:
            runs.append(current)
        current = ""
    if current:
        runs.append(current)
    return runs


# Pieces of the grammar, so that arbitrary text also reaches deep into it, not only the keyword.
GRAMMAR_PIECES = [
    *"0123456789 #*,.+-?、\u3000＃＊，？１３６",
    *("CZ", "cz", "ZZ", "Y", "YE", "MM", "BZ", "HELP", "ＣＺ"),
    *("充值", "转账", "是", "余额", "密码", "帮助"),
    *("13900000001", "+8613900000001", "50", "50.5", "333333", "482193", "4821"),
]
GRAMMAR_HEADS = ["", "CZ ", "jf#", "HB*", "ZZ ", "Y ", "YE,", "cx ", "MM ", "BZ", "充值", "余额"]
any_text = st.tuples(
    st.sampled_from(GRAMMAR_HEADS),
    st.lists(st.sampled_from(GRAMMAR_PIECES) | st.characters(), max_size=200),
).map(lambda parts: parts[0] + "".join(parts[1]))


@given(any_text)
def test_parse_command_never_raises(text: str) -> None:
    result = parse_command(text)
    assert isinstance(result, Command | ParseError)
    if len(text) > text_length_max:
        assert result == ParseError("too_long")
    if isinstance(result, Command):
        assert result.kind in COMMAND_KINDS


@given(any_text)
def test_no_pin_survives_masking(text: str) -> None:
    masked = mask_pins(text)
    assert not [run for run in digit_runs(masked) if len(run) == 6]
    result = parse_command(text)
    if isinstance(result, Command):
        pins = {v for k, v in result.slots.items() if k.endswith("pin")}
        assert not pins & set(digit_runs(masked))


ALIASES: dict[str, tuple[str, ...]] = {kind: spec[0] for kind, spec in KEYWORDS.items()}
CHINESE_KEYWORDS = {"充值", "缴费", "划拨", "转账", "是", "余额", "查询", "密码", "帮助"}
FIELDS: dict[str, tuple[str, ...]] = {
    "topup": ("msisdn", "amount_fen", "pin"),
    "billpay": ("msisdn", "amount_fen", "pin"),
    "allot": ("msisdn", "amount_fen", "pin"),
    "transfer": ("msisdn", "amount_fen"),
    "confirm": ("code",),
    "balance": ("pin",),
    "history": ("pin",),
    "change_pin": ("old_pin", "new_pin", "new_pin"),
    "help": (),
}
separators = st.text(alphabet=st.sampled_from(SEPARATORS), min_size=1, max_size=3)
digits = st.sampled_from("0123456789")


def maybe_full_width(draw: st.DrawFn, text: str) -> str:
    return full_width(text) if draw(st.booleans()) else text


def draw_keyword(draw: st.DrawFn, kind: str) -> tuple[str, bool]:
    """A keyword of `kind` in a random case form, and whether it may be glued (Chinese)."""
    keyword = draw(st.sampled_from(ALIASES[kind]))
    if not keyword.isascii():
        return keyword, keyword in CHINESE_KEYWORDS
    keyword = "".join(c.lower() if draw(st.booleans()) else c for c in keyword)
    return maybe_full_width(draw, keyword), False


def draw_msisdn(draw: st.DrawFn) -> tuple[str, str]:
    national = "13" + draw(st.text(digits, min_size=9, max_size=9))
    prefix = draw(st.sampled_from(["", "86", "+86", "0086"]))
    return maybe_full_width(draw, prefix + national), "86" + national


def draw_amount(draw: st.DrawFn) -> tuple[str, int]:
    fen = draw(st.integers(min_value=1, max_value=10**9))
    yuan, cents = divmod(fen, 100)
    forms = [f"{yuan}.{cents:02d}"]
    if cents % 10 == 0:
        forms.append(f"{yuan}.{cents // 10}")
    if cents == 0:
        forms.append(str(yuan))
    return maybe_full_width(draw, draw(st.sampled_from(forms))), fen


def draw_digits(draw: st.DrawFn, low: int, high: int) -> tuple[str, str]:
    value = draw(st.text(digits, min_size=low, max_size=high))
    return maybe_full_width(draw, value), value


FIELD_DRAWERS: dict[str, Callable[[st.DrawFn], tuple[str, str | int]]] = {
    "msisdn": draw_msisdn,
    "amount_fen": draw_amount,
    "pin": lambda draw: draw_digits(draw, 6, 6),
    "old_pin": lambda draw: draw_digits(draw, 6, 6),
    "code": lambda draw: draw_digits(draw, 4, 8),
}


@st.composite
def valid_commands(draw: st.DrawFn) -> tuple[str, str, dict[str, str | int]]:
    kind = draw(st.sampled_from(sorted(COMMAND_KINDS)))
    keyword, gluable = draw_keyword(draw, kind)
    texts: list[str] = []
    slots: dict[str, str | int] = {}
    for name in FIELDS[kind]:
        if name == "new_pin" and name in slots:  # the repeat: the same PIN, maybe written wider
            texts.append(maybe_full_width(draw, str(slots[name])))
            continue
        written, value = FIELD_DRAWERS.get(name, FIELD_DRAWERS["pin"])(draw)
        texts.append(written)
        slots[name] = value
    glue = gluable and bool(texts) and draw(st.booleans())
    text = keyword if glue else keyword + draw(separators)
    for index, written in enumerate(texts):
        text += (draw(separators) if index else "") + written
    lead = draw(st.text(alphabet=st.sampled_from(SEPARATORS), max_size=2))
    trail = draw(st.text(alphabet=st.sampled_from(SEPARATORS), max_size=2))
    return lead + text + trail, kind, slots


@given(valid_commands())
def test_generated_valid_commands_parse_to_exactly_their_slots(
    case: tuple[str, str, dict[str, str | int]],
) -> None:
    text, kind, slots = case
    assert parse_command(text) == Command(kind, slots)


@given(valid_commands())
def test_generated_valid_commands_lose_every_pin_to_masking(
    case: tuple[str, str, dict[str, str | int]],
) -> None:
    text, _, slots = case
    masked = mask_pins(text)
    pins = {value for name, value in slots.items() if name.endswith("pin")}
    assert not pins & set(digit_runs(masked))
    assert masked.count(pin_mask) >= len([name for name in slots if name.endswith("pin")])
