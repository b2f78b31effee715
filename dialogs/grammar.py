"""The SMS command grammar: an MO text becomes a typed `Command` or a typed `ParseError`.

A parse error is answered with help; it never becomes an operation. Pure: no I/O, no clock.

Grammar (ARCHITECTURE.md, "SMS" → "Command grammar")::

    text    = [seps] keyword { seps field } [seps]
    seps    = one or more separators: any whitespace (U+3000 included), '#', '*', ',', '、',
              and whatever NFKC maps onto them (full-width '＃＊，', small and vertical forms)
    keyword = a Latin keyword or alias, case-insensitive (full-width letters too), or a Chinese
              keyword, which may be glued to the first field: '余额333333', '充值13900000001 50 …'

    CZ | TOPUP | 充值          msisdn amount pin        → topup
    JF | PAY   | 缴费          msisdn amount pin        → billpay
    HB | ALLOT | 划拨          msisdn amount pin        → allot (msisdn is the agent's)
    ZZ | SEND  | 转账          msisdn amount            → transfer
    Y  | 是                    code                     → confirm
    YE | BAL   | 余额          pin                      → balance
    CX | HIST  | 查询          pin                      → history
    MM | PIN   | 密码          old_pin new_pin new_pin  → change_pin
    BZ | HELP  | 帮助 | ?      (nothing)                → help ('？' is '?' after NFKC)

Fields are read with `dialogs.inputs`: numbers with `parse_msisdn` (E.164 digits without '+'),
amounts in yuan with at most two decimals with `parse_amount_fen` (integer fen), PINs with
`parse_pin` (6 digits). A confirmation code is 4 to 8 ASCII digits, kept as text.

Decisions:

- A field is a separator-delimited token, so a number must be written without spaces:
  `+8613900000001`, `8613900000001`, `13900000001`, `139-0000-0001` all work, while
  `+86 139 0000 0001` splits into several fields and fails on its first chunk (`bad_msisdn`) —
  never a wrong number. Likewise `,` is a separator, so `1,000` is two fields, not a thousand.
- Fields are checked left to right and the first problem wins: a missing field
  (`missing_field`), an unreadable one (`bad_msisdn`, `bad_amount`, `bad_pin`, `bad_code`);
  only then are surplus fields refused (`extra_field`, no field name). So `CZ 139 0000 0001 50
  333333` reports the number, which is the helpful answer.
- Only Chinese keywords may be glued to the first field. Latin ones may not: `Y` is a prefix of
  `YE` and a glued `Y1234` would be guesswork.
- `MM` takes the new PIN twice; the third field is named `new_pin_repeat` in errors
  (`missing_field`, `bad_pin`, `pin_mismatch`) and does not appear in the slots. Whether a PIN
  is too trivial is the ledger's PIN policy, not grammar.
- Help takes no fields: `BZ CZ` is `extra_field` with kind `help`, answered with help anyway.
- Text longer than `text_length_max` characters is `too_long` before anything else is done.
- Normalisation is NFKC, applied per character to find separators and per token (inside
  `dialogs.inputs`) to read fields. This equals NFKC of the whole text for every character that
  can matter (digits, separators, keywords) and keeps each token's place in the original text,
  which is what `mask_pins` needs to replace PINs in the text as received.
- No regular expressions here: one left-to-right pass, linear in the length of the text.

`mask_pins` replaces, in the text as received, every field in a PIN position of a recognised
keyword (valid or not: a mistyped PIN is still a secret) and, for any text, every maximal run
of exactly six digits (a PIN in the wrong position, or a text the grammar does not know), each
with `pin_mask`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Final, NamedTuple

from dialogs.inputs import normalise_text, parse_amount_fen, parse_msisdn, parse_pin

text_length_max: Final = 480  # characters (code points); a few concatenated SMS, no more
code_length_min: Final = 4  # digits in a confirmation code
code_length_max: Final = 8
pin_length: Final = 6  # digits in a PIN, as `parse_pin` accepts them; the masking run length
pin_mask: Final = "******"

_SEPARATOR_MARKS: Final = frozenset("#*,、")  # besides whitespace, after NFKC
_ASCII_SEPARATORS: Final = frozenset(" \t\n\r\v\f#*,")  # fast path for the common case
# Distinct characters whose class (separator, digit) is remembered: each MO's text is walked
# character by character twice (tokens, PIN runs), and NFKC per character cost ~0.1 ms an MO.
char_class_cache_max: Final = 4_096

PARSE_ERROR_REASONS: Final[frozenset[str]] = frozenset(
    {
        "empty",
        "unknown_keyword",
        "missing_field",
        "extra_field",
        "bad_msisdn",
        "bad_amount",
        "bad_pin",
        "bad_code",
        "pin_mismatch",
        "too_long",
    }
)

SlotValue = str | int


@dataclass(frozen=True, slots=True)
class Command:
    """A well-formed command: its kind and its slots, named as in the module docstring."""

    kind: str
    slots: Mapping[str, SlotValue]

    def __post_init__(self) -> None:
        assert self.kind in COMMAND_KINDS, f"unknown command kind {self.kind!r}"
        assert set(self.slots) == set(_SLOT_NAMES[self.kind]), f"slots for {self.kind}"
        for name, value in self.slots.items():
            expected = int if name == "amount_fen" else str
            assert type(value) is expected, f"slot {name} must be {expected.__name__}"
        object.__setattr__(self, "slots", MappingProxyType(dict(self.slots)))

    def __hash__(self) -> int:
        return hash((self.kind, frozenset(self.slots.items())))


@dataclass(frozen=True, slots=True)
class ParseError:
    """Why a text is not a command; `kind` when the keyword was recognised, `field` if any."""

    reason: str
    kind: str | None = None
    field: str | None = None

    def __post_init__(self) -> None:
        assert self.reason in PARSE_ERROR_REASONS, f"unknown reason {self.reason!r}"
        assert self.kind is None or self.kind in COMMAND_KINDS, f"unknown kind {self.kind!r}"
        assert self.field is None or self.field in _FIELD_NAMES, f"unknown field {self.field!r}"


def _parse_code(text: str) -> str | None:
    """A confirmation code: 4 to 8 ASCII digits after NFKC, leading zeros kept."""
    code = normalise_text(text)
    if not (code.isascii() and code.isdigit()):
        return None
    return code if code_length_min <= len(code) <= code_length_max else None


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    parse: Callable[[str], SlotValue | None]
    bad_reason: str
    secret: bool = False  # masked by `mask_pins` whatever it contains


@dataclass(frozen=True, slots=True)
class _CommandSpec:
    kind: str
    keywords: tuple[str, ...]
    fields: tuple[_Field, ...]


_MSISDN: Final = _Field("msisdn", parse_msisdn, "bad_msisdn")
_AMOUNT: Final = _Field("amount_fen", parse_amount_fen, "bad_amount")
_PIN: Final = _Field("pin", parse_pin, "bad_pin", secret=True)
_CODE: Final = _Field("code", _parse_code, "bad_code")
_OLD_PIN: Final = _Field("old_pin", parse_pin, "bad_pin", secret=True)
_NEW_PIN: Final = _Field("new_pin", parse_pin, "bad_pin", secret=True)
_NEW_PIN_REPEAT: Final = _Field("new_pin_repeat", parse_pin, "bad_pin", secret=True)
_CHECK_ONLY_FIELDS: Final = frozenset({_NEW_PIN_REPEAT.name})  # compared, not returned

_SPECS: Final[tuple[_CommandSpec, ...]] = (
    _CommandSpec("topup", ("CZ", "TOPUP", "充值"), (_MSISDN, _AMOUNT, _PIN)),
    _CommandSpec("billpay", ("JF", "PAY", "缴费"), (_MSISDN, _AMOUNT, _PIN)),
    _CommandSpec("allot", ("HB", "ALLOT", "划拨"), (_MSISDN, _AMOUNT, _PIN)),
    _CommandSpec("transfer", ("ZZ", "SEND", "转账"), (_MSISDN, _AMOUNT)),
    _CommandSpec("confirm", ("Y", "是"), (_CODE,)),
    _CommandSpec("balance", ("YE", "BAL", "余额"), (_PIN,)),
    _CommandSpec("history", ("CX", "HIST", "查询"), (_PIN,)),
    _CommandSpec("change_pin", ("MM", "PIN", "密码"), (_OLD_PIN, _NEW_PIN, _NEW_PIN_REPEAT)),
    _CommandSpec("help", ("BZ", "HELP", "帮助", "?"), ()),
)

COMMAND_KINDS: Final[frozenset[str]] = frozenset(spec.kind for spec in _SPECS)
_SPEC_BY_KIND: Final = {spec.kind: spec for spec in _SPECS}
_SLOT_NAMES: Final = {
    spec.kind: tuple(f.name for f in spec.fields if f.name not in _CHECK_ONLY_FIELDS)
    for spec in _SPECS
}
COMMAND_SLOTS: Final[Mapping[str, tuple[str, ...]]] = _SLOT_NAMES  # the slots each kind fills
_FIELD_NAMES: Final = frozenset(f.name for spec in _SPECS for f in spec.fields)
# Every field of each kind in the order the text carries it, the repeated PIN included (an STK
# applet writes the whole text), and the field each repetition repeats.
COMMAND_FIELDS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {spec.kind: tuple(f.name for f in spec.fields) for spec in _SPECS}
)
REPEATED_FIELDS: Final[Mapping[str, str]] = MappingProxyType({_NEW_PIN_REPEAT.name: _NEW_PIN.name})
# The spelled-out Latin keyword of each kind (TOPUP, PAY, ALLOT, BAL, HIST, PIN, ...): what
# machine-written texts such as the STK applet's answer use.
ENGLISH_KEYWORDS: Final[Mapping[str, str]] = MappingProxyType(
    {spec.kind: max((w for w in spec.keywords if w.isascii()), key=len) for spec in _SPECS}
)
# Keys are casefolded: the lookup casefolds the NFKC form of the first token.
_KIND_BY_KEYWORD: Final = {word.casefold(): spec.kind for spec in _SPECS for word in spec.keywords}
_GLUABLE_KEYWORDS: Final = {
    word: spec.kind for spec in _SPECS for word in spec.keywords if not word.isascii()
}
_gluable_keyword_length_max: Final = max(len(word) for word in _GLUABLE_KEYWORDS)

assert len(_KIND_BY_KEYWORD) == sum(len(spec.keywords) for spec in _SPECS), "keyword clash"
# A gluable keyword that prefixed another would make the split ambiguous.
_gluable_prefix_clash: Final = any(
    a != b and b.startswith(a) for a in _GLUABLE_KEYWORDS for b in _GLUABLE_KEYWORDS
)
assert not _gluable_prefix_clash, "a gluable keyword prefixes another"


class _Token(NamedTuple):
    """A separator-delimited stretch of the original text: `text[start:end]`."""

    start: int
    end: int


def _nfkc_char(char: str) -> str:
    return char if char.isascii() else unicodedata.normalize("NFKC", char)


@lru_cache(maxsize=char_class_cache_max)
def _is_separator(char: str) -> bool:
    if char in _ASCII_SEPARATORS:
        return True
    normal = _nfkc_char(char)
    return bool(normal) and all(c.isspace() or c in _SEPARATOR_MARKS for c in normal)


@lru_cache(maxsize=char_class_cache_max)
def _is_digit(char: str) -> bool:
    """One character that reads as one decimal digit after NFKC (full-width, Arabic-Indic…)."""
    if char.isascii():
        return "0" <= char <= "9"
    normal = _nfkc_char(char)
    return len(normal) == 1 and normal.isdecimal()


def _tokenise(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    start: int | None = None
    for index, char in enumerate(text):
        if _is_separator(char):
            if start is not None:
                tokens.append(_Token(start, index))
                start = None
        elif start is None:
            start = index
    if start is not None:
        tokens.append(_Token(start, len(text)))
    return tokens


def _split_glued_keyword(text: str, head: _Token) -> tuple[str, _Token] | None:
    """A Chinese keyword at the start of `head` and the field glued to it, if there is one."""
    prefix = ""
    for index in range(head.start, head.end - 1):  # at least one character must follow
        prefix += _nfkc_char(text[index])
        if len(prefix) > _gluable_keyword_length_max:
            return None
        kind = _GLUABLE_KEYWORDS.get(prefix)
        if kind is not None:
            return kind, _Token(index + 1, head.end)
    return None


def _recognise(text: str, tokens: Sequence[_Token]) -> tuple[_CommandSpec, list[_Token]] | None:
    """The command spec named by the first token, and the field tokens after the keyword."""
    head = tokens[0]
    keyword = normalise_text(text[head.start : head.end]).casefold()
    kind = _KIND_BY_KEYWORD.get(keyword)
    if kind is not None:
        return _SPEC_BY_KIND[kind], list(tokens[1:])
    glued = _split_glued_keyword(text, head)
    if glued is None:
        return None
    kind, first_field = glued
    return _SPEC_BY_KIND[kind], [first_field, *tokens[1:]]


def _parse_fields(text: str, spec: _CommandSpec, fields: Sequence[_Token]) -> Command | ParseError:
    """Left to right, the first problem wins; surplus fields are refused only after that."""
    values: dict[str, SlotValue] = {}
    for position, field in enumerate(spec.fields):
        if position >= len(fields):
            return ParseError("missing_field", spec.kind, field.name)
        token = fields[position]
        value = field.parse(text[token.start : token.end])
        if value is None:
            return ParseError(field.bad_reason, spec.kind, field.name)
        values[field.name] = value
    if len(fields) > len(spec.fields):
        return ParseError("extra_field", spec.kind, None)
    if spec.kind == "change_pin" and values["new_pin"] != values[_NEW_PIN_REPEAT.name]:
        return ParseError("pin_mismatch", spec.kind, _NEW_PIN_REPEAT.name)
    slots = {name: value for name, value in values.items() if name not in _CHECK_ONLY_FIELDS}
    return Command(spec.kind, slots)


def parse_command(text: str) -> Command | ParseError:
    """The command an MO text asks for, or why it asks for none (answer that with help)."""
    if len(text) > text_length_max:
        return ParseError("too_long")
    tokens = _tokenise(text)
    if not tokens:
        return ParseError("empty")
    recognised = _recognise(text, tokens)
    if recognised is None:
        return ParseError("unknown_keyword")
    spec, fields = recognised
    return _parse_fields(text, spec, fields)


def _pin_length_digit_runs(text: str) -> Iterator[_Token]:
    """Every maximal run of exactly `pin_length` digits."""
    start: int | None = None
    for index, char in enumerate(text):
        if _is_digit(char):
            if start is None:
                start = index
            continue
        if start is not None and index - start == pin_length:
            yield _Token(start, index)
        start = None
    if start is not None and len(text) - start == pin_length:
        yield _Token(start, len(text))


def _secret_fields(text: str) -> Iterator[_Token]:
    """The tokens in PIN positions of a recognised keyword, whatever they contain."""
    tokens = _tokenise(text)
    recognised = _recognise(text, tokens) if tokens else None
    if recognised is None:
        return
    spec, fields = recognised
    for field, token in zip(spec.fields, fields, strict=False):
        if field.secret:
            yield token


def _replace_spans(text: str, spans: Sequence[_Token]) -> str:
    """`text` with each span, overlapping ones merged, replaced by `pin_mask`."""
    pieces: list[str] = []
    cursor = 0
    for span in sorted(spans):
        if span.end <= cursor:
            continue
        if span.start >= cursor:
            pieces.append(text[cursor : span.start])
            pieces.append(pin_mask)
        cursor = span.end  # an overlapping span extends the mask already written
    pieces.append(text[cursor:])
    return "".join(pieces)


def mask_pins(text: str) -> str:
    """`text` as received with every PIN (and every six-digit run) replaced by `pin_mask`.

    For logs, stored MO and consoles. Not length-bounded: a log line longer than
    `text_length_max` may still carry a PIN.
    """
    spans = [*_secret_fields(text), *_pin_length_digit_runs(text)]
    return _replace_spans(text, spans)


__all__ = [
    "COMMAND_FIELDS",
    "COMMAND_KINDS",
    "COMMAND_SLOTS",
    "ENGLISH_KEYWORDS",
    "PARSE_ERROR_REASONS",
    "REPEATED_FIELDS",
    "Command",
    "ParseError",
    "SlotValue",
    "code_length_max",
    "code_length_min",
    "mask_pins",
    "parse_command",
    "pin_length",
    "pin_mask",
    "text_length_max",
]
