"""What a person types, checked and normalised: phone numbers, amounts in yuan, PINs.

Numbers accept every form people use (`139…`, `86139…`, `+86 139…`, full-width digits,
spaces, dashes) via NFKC and `phonenumbers`; the result is E.164 digits without '+'. Whether
a number is in-network is BOSS's decision (number portability), not the prefix's.
Amounts are yuan with at most two decimals and come back as integer fen, never floats.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import phonenumbers

DEFAULT_REGION = "CN"
amount_fen_max = 10**9  # ¥10,000,000: above any operation; stops absurd input early
numbers_cached_max = 65_536  # typed numbers and stored numbers kept parsed (each a few 100 B)

_AMOUNT = re.compile(r"^(?P<yuan>[0-9]{1,10})(?:\.(?P<jiao_fen>[0-9]{1,2}))?$")
_PIN = re.compile(r"^[0-9]{6}$")
_CODE = re.compile(r"^[0-9]{4,8}$")
_SEPARATORS = re.compile(r"[\s\-()]")


def normalise_text(text: str) -> str:
    """NFKC (full-width digits and letters to ASCII) and trimmed."""
    return unicodedata.normalize("NFKC", text).strip()


@functools.lru_cache(maxsize=numbers_cached_max)
def parse_msisdn(text: str, region: str = DEFAULT_REGION) -> str | None:
    """E.164 digits without '+' for a valid number, else None. Cached: `phonenumbers` takes
    ~100 µs a number and every SMS and USSD request reads several (a pure function)."""
    cleaned = _SEPARATORS.sub("", normalise_text(text))
    if not cleaned or not re.fullmatch(r"\+?[0-9]+", cleaned):
        return None
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    try:
        number = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    e164: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164.removeprefix("+")


@functools.lru_cache(maxsize=numbers_cached_max)
def national_number(msisdn: str, region: str = DEFAULT_REGION) -> str:
    """How a person reads a stored number: national digits for home numbers, '+…' otherwise."""
    try:
        number = phonenumbers.parse("+" + msisdn, None)
    except phonenumbers.NumberParseException:
        return msisdn
    if phonenumbers.region_code_for_number(number) == region:
        return str(number.national_number)
    return "+" + msisdn


def parse_amount_fen(text: str) -> int | None:
    """'50' -> 5000, '50.5' -> 5050, '50.05' -> 5005; None for anything else or zero."""
    match = _AMOUNT.match(normalise_text(text))
    if match is None:
        return None
    fraction = (match.group("jiao_fen") or "").ljust(2, "0")
    amount = int(match.group("yuan")) * 100 + int(fraction)
    if not 0 < amount <= amount_fen_max:
        return None
    return amount


def parse_code(text: str) -> str | None:
    """A one-time confirmation code: 4 to 8 digits, leading zeros kept."""
    code = normalise_text(text)
    return code if _CODE.match(code) else None


def parse_pin(text: str) -> str | None:
    pin = normalise_text(text)
    return pin if _PIN.match(pin) else None


def format_yuan(amount_fen: int) -> str:
    """5000 -> '50.00'."""
    sign = "-" if amount_fen < 0 else ""
    whole, cents = divmod(abs(amount_fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"
