"""Query and path parameters of `/api/v1`, read strictly, and the opaque page cursor.

Strict because the callers are scripts: a misspelt parameter (`agnet=`) silently ignored
would answer every operation instead of one agent's, so unknown, repeated and empty
parameters are refused, naming the parameter.

The cursor is the sort key of the last item handed out — `(created_at, id)` — plus the
listing it belongs to, base64url-encoded. Keyset pagination: the next page starts strictly
after that key, so operations recorded meanwhile neither shift nor repeat the pages that
follow. It is opaque to callers and carries no secret (a forged cursor only moves the
starting point of a listing the caller may read anyway).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from dialogs.inputs import parse_msisdn
from ledger.money import Msisdn, msisdn
from webadmin.api.errors import BadParameter

page_items_default: Final = 50
page_items_max: Final = 500
parameter_length_max: Final = 200  # characters; no value we accept is longer

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_LIMIT_SHAPE: Final = re.compile(r"^[0-9]{1,6}$")
_CURSOR_SHAPE: Final = re.compile(
    r"^(?P<listing>[a-z]+)\.(?P<at_us>-?[0-9]{1,18})\.(?P<id>[0-9]{1,19})$"
)


def single_values(query: Mapping[str, str], allowed: Collection[str]) -> dict[str, str]:
    """The query as a plain dict: each parameter known, given once, not empty."""
    values: dict[str, str] = {}
    for name, value in query.items():
        if name not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            raise BadParameter(
                name, f"unknown parameter (known: {known})", code="unknown_parameter"
            )
        if name in values:
            raise BadParameter(name, "given more than once")
        if not value:
            raise BadParameter(name, "empty; leave the parameter out instead")
        if len(value) > parameter_length_max:
            raise BadParameter(name, f"longer than {parameter_length_max} characters")
        values[name] = value
    return values


def phone_number(name: str, text: str) -> Msisdn:
    """Any form a person writes (`138…`, `86138…`, `+86 138…`, full-width) as E.164 digits."""
    normalised = parse_msisdn(text)
    if normalised is None:
        raise BadParameter(name, f"not a valid phone number: {text!r}", code="bad_msisdn")
    return msisdn(normalised)


def timestamp(name: str, text: str) -> datetime:
    """ISO 8601 with a UTC offset (`2026-11-26T08:00:00+08:00`, `…Z`); naive times are
    refused rather than guessed (server zone? Asia/Shanghai? UTC?)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        hint = " (a '+' in a URL query must be sent as %2B)" if " " in text else ""
        raise BadParameter(name, f"not an ISO 8601 date and time: {text!r}{hint}") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise BadParameter(name, f"needs a UTC offset, e.g. {text}+08:00 or {text}Z")
    return parsed.astimezone(UTC)


def page_limit(text: str | None) -> int:
    if text is None:
        return page_items_default
    if not _LIMIT_SHAPE.match(text) or not 1 <= int(text) <= page_items_max:
        raise BadParameter("limit", f"expected a whole number from 1 to {page_items_max}")
    return int(text)


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ended: the last item's creation time and row id (the tie-break)."""

    listing: str
    created_at: datetime
    id: int

    def __post_init__(self) -> None:
        assert re.fullmatch(r"[a-z]+", self.listing), self.listing
        assert self.created_at.tzinfo is not None, "cursor times are aware"

    def encode(self) -> str:
        at_us = (self.created_at - _EPOCH) // _MICROSECOND
        raw = f"{self.listing}.{at_us}.{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, listing: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
        except (binascii.Error, ValueError):
            raise BadParameter("cursor", "not a cursor this API handed out") from None
        match = _CURSOR_SHAPE.match(raw)
        if match is None:
            raise BadParameter("cursor", "not a cursor this API handed out")
        if match["listing"] != listing:
            raise BadParameter("cursor", "belongs to another listing")
        try:
            created_at = _EPOCH + int(match["at_us"]) * _MICROSECOND
        except OverflowError:
            raise BadParameter("cursor", "not a cursor this API handed out") from None
        return cls(listing, created_at, int(match["id"]))
