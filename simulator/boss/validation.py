"""Parsing of what the BOSS emulator receives: numbers, amounts, references, dates, bodies.

Every function either returns a strong domain value or raises `InvalidInputError` whose message
names the field and says what was expected; the HTTP layer answers it with 400.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

import phonenumbers

from simulator.boss.model import Fen, Msisdn, Ref

AMOUNT_MAX_FEN = 10**9
REF_LENGTH_MAX = 64
MSISDN_LENGTH_MAX = 64  # input characters, before normalisation

_REF_PATTERN = re.compile(rf"[A-Za-z0-9_.:-]{{1,{REF_LENGTH_MAX}}}")
_DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class InvalidInputError(ValueError):
    """Input the caller got wrong; the message names the field."""


def parse_msisdn(value: object, field: str = "msisdn") -> Msisdn:
    """Any written form of a number (national, 86…, +86 …, 0086…, full-width, spaces, dashes)
    as E.164 digits; a number with an extension is refused."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{field} must be a string holding a phone number")
    if len(value) > MSISDN_LENGTH_MAX:
        raise InvalidInputError(f"{field} is longer than {MSISDN_LENGTH_MAX} characters")
    text = unicodedata.normalize("NFKC", value)
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException as error:
        raise InvalidInputError(f"{field} {value!r} is not a phone number") from error
    if number.extension:
        # phonenumbers reads "…0001#" or "… ext. 5" as an extension and would drop it
        # silently, leaving a different (shorter) number: a mobile number has none.
        raise InvalidInputError(f"{field} {value!r} has an extension; a mobile number has none")
    if not phonenumbers.is_possible_number(number):
        raise InvalidInputError(f"{field} {value!r} is not a possible phone number")
    e164: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Msisdn(e164.removeprefix("+"))


def parse_amount(value: object, field: str = "amount") -> Fen:
    """A positive whole number of fen, at most AMOUNT_MAX_FEN; floats and booleans refused."""
    if type(value) is not int:
        raise InvalidInputError(
            f"{field} must be an integer number of fen, not {type(value).__name__}"
        )
    if not 0 < value <= AMOUNT_MAX_FEN:
        raise InvalidInputError(f"{field} must be between 1 and {AMOUNT_MAX_FEN} fen, not {value}")
    return Fen(value)


def parse_ref(value: object, field: str = "ref") -> Ref:
    """A platform reference: 1 to REF_LENGTH_MAX characters of [A-Za-z0-9_.:-]."""
    if not isinstance(value, str) or _REF_PATTERN.fullmatch(value) is None:
        raise InvalidInputError(
            f"{field} must be 1 to {REF_LENGTH_MAX} characters of A-Z a-z 0-9 _ . : -"
        )
    return Ref(value)


def parse_date(value: str | None, field: str = "date") -> date:
    """A calendar day written YYYY-MM-DD."""
    if value is None:
        raise InvalidInputError(f"{field} is required, as YYYY-MM-DD")
    if _DATE_PATTERN.fullmatch(value) is None:
        raise InvalidInputError(f"{field} must be YYYY-MM-DD, not {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise InvalidInputError(f"{field} {value!r} is not a calendar day") from error


def check_fields(
    body: Mapping[str, Any], required: Collection[str], optional: Collection[str] = ()
) -> None:
    """Every required field present, and no field the endpoint does not know."""
    for name in required:
        if name not in body:
            raise InvalidInputError(f"missing field {name!r}")
    for name in body:
        if name not in required and name not in optional:
            raise InvalidInputError(f"unexpected field {name!r}")
