"""What the platform needs from the bank, independent of transport: trusting and reading a
deposit notification, and a day's statement for reconciliation.

A notification is `POST /bank/notify` with a JSON body and the header
`X-Bank-Signature: t=<unix seconds>,v1=<hex>`, where the hex is HMAC-SHA256 under the shared
secret of `<t>.` followed by the exact body bytes. The timestamp must lie within
`signature_tolerance_s` of our clock (either way), which bounds how long a captured request
can be replayed; the bank signs each delivery afresh, so its own retries are never stale, and
a replay inside the window is harmless anyway: deposits are idempotent on the bank's txn id.

The body (UTF-8 JSON object; unknown keys are ignored, as banks add fields):

| key | meaning |
|---|---|
| `txn_id` | the bank's transaction id, 1–64 of `A-Z a-z 0-9 _ . : -`; the idempotency key |
| `amount` | positive integer fen |
| `currency` | `CNY` |
| `payer_name`, `payer_account` | who paid (text, at most 100 / 34 characters) |
| `reference` | what the payer quoted: the agent's number, as typed (at most 64 characters) |
| `value_date` | `YYYY-MM-DD`, the Asia/Shanghai business day the money counts for |
| `booked_at` | ISO 8601 with a UTC offset |

Functions here raise a `NotificationRefused` subclass carrying the HTTP status to answer:
403 not an allowed source, 401 a bad, missing or stale signature, 400 a malformed body
(the message names the field). Each is checked before anything is written.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final, Literal, Protocol

import phonenumbers

from ledger.money import CURRENCY, Fen, Msisdn, amount_fen_max, msisdn

SIGNATURE_HEADER: Final = "X-Bank-Signature"
SIGNATURE_SCHEME: Final = "v1"
signature_tolerance_s: Final = 300  # the default; `bank.signature_tolerance_s` sets it
body_bytes_max: Final = 16_384
txn_id_length_max: Final = 64  # `bank:<txn_id>` must fit the operations key (128)
payer_name_length_max: Final = 100
payer_account_length_max: Final = 34
reference_length_max: Final = 64
signature_header_length_max: Final = 256

_TXN_ID = re.compile(rf"[A-Za-z0-9_.:-]{{1,{txn_id_length_max}}}")
_SIGNATURE = re.compile(r"t=([0-9]{1,12}),v1=([0-9a-f]{64})")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# What people put between the digits of a number they type: spaces, dashes, dots, brackets.
_NUMBER_SEPARATORS = re.compile(r"[\s\-.()]")
HOME_REGION: Final = "CN"
_MOBILE_TYPES: Final = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


class NotificationRefused(Exception):
    """A notification the platform does not act on; `http_status` is the answer."""

    http_status = 400


class SourceRefused(NotificationRefused):
    http_status = 403


class SignatureRefused(NotificationRefused):
    """Missing, malformed, wrong or stale signature."""

    http_status = 401


class MalformedNotification(NotificationRefused):
    """A body that is not what the table in the module docstring says; names the field."""

    http_status = 400


@dataclass(frozen=True, slots=True)
class BankNotification:
    """One credit to the operator's collection account, as the bank reports it."""

    txn_id: str
    amount: Fen
    currency: str
    payer_name: str
    payer_account: str
    reference: str
    value_date: date
    booked_at: datetime

    def content_hash(self) -> str:
        """What a redelivery must repeat: every field, in a fixed order."""
        content = [
            "deposit",
            self.txn_id,
            self.amount,
            self.currency,
            self.payer_name,
            self.payer_account,
            self.reference,
            self.value_date.isoformat(),
            self.booked_at.isoformat(),
        ]
        return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()

    @property
    def agent_number(self) -> Msisdn | None:
        """The quoted reference as an agent's number, when it reads as one."""
        return number_from_reference(self.reference)


DepositVerdict = Literal["credited", "suspense", "duplicate", "conflict"]


@dataclass(frozen=True, slots=True)
class DepositReceipt:
    """What the platform did with a notification: credited the agent, parked the money in
    suspense, recognised a redelivery (nothing written), or refused other content under a
    known txn id (nothing written). `ref` is the platform reference of the deposit."""

    verdict: DepositVerdict
    ref: str


Depositor = Callable[[BankNotification], Awaitable[DepositReceipt]]


# -- checking a notification ---------------------------------------------------------------


def verify_signature(
    secret: bytes, header: str | None, body: bytes, now_s: float, tolerance_s: int
) -> None:
    """Raise `SignatureRefused` unless `header` signs `body` under `secret`, made within
    `tolerance_s` of `now_s`. The MAC is compared in constant time."""
    if header is None:
        raise SignatureRefused(f"missing {SIGNATURE_HEADER}")
    match = _SIGNATURE.fullmatch(header.strip()[:signature_header_length_max])
    if match is None:
        raise SignatureRefused(f"{SIGNATURE_HEADER} is not t=<unix seconds>,v1=<64 hex>")
    timestamp, offered = int(match[1]), match[2]
    expected = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, offered):
        raise SignatureRefused("signature does not match")
    if abs(now_s - timestamp) > tolerance_s:
        raise SignatureRefused(f"signature timestamp {timestamp} is outside ±{tolerance_s} s")


def parse_notification(body: bytes) -> BankNotification:
    """The notification in a (signed) body; `MalformedNotification` names what is wrong."""
    if len(body) > body_bytes_max:
        raise MalformedNotification(f"the body is longer than {body_bytes_max} bytes")
    try:
        obj = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedNotification("the body is not JSON in UTF-8") from exc
    if not isinstance(obj, dict):
        raise MalformedNotification("the body is not a JSON object")
    txn_id = _field(obj, "txn_id")
    if not isinstance(txn_id, str) or _TXN_ID.fullmatch(txn_id) is None:
        raise MalformedNotification(
            f"txn_id must be 1 to {txn_id_length_max} characters of A-Z a-z 0-9 _ . : -"
        )
    currency = _field(obj, "currency")
    if currency != CURRENCY:
        raise MalformedNotification(f"currency must be {CURRENCY!r}")
    return BankNotification(
        txn_id=txn_id,
        amount=_amount(obj),
        currency=CURRENCY,
        payer_name=_text(obj, "payer_name", payer_name_length_max),
        payer_account=_text(obj, "payer_account", payer_account_length_max),
        reference=_text(obj, "reference", reference_length_max),
        value_date=_date(obj, "value_date"),
        booked_at=_moment(obj, "booked_at"),
    )


def number_from_reference(reference: str) -> Msisdn | None:
    """A mobile number in any common written form (`138 0000 0003`, `+86-138…`, `0086…`,
    full-width digits) as E.164 digits without '+'; None when it is not one. Read with
    `phonenumbers` (home region CN), as every number the platform takes in.

    A reference that does not read as a number lands in suspense, where a person places it.
    """
    text = _NUMBER_SEPARATORS.sub("", unicodedata.normalize("NFKC", reference))
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, HOME_REGION)
    except phonenumbers.NumberParseException:
        return None
    if number.extension or not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.region_code_for_number(number) != HOME_REGION:
        return None  # agents are the operator's own subscribers
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        return None
    return msisdn(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:])


def _field(obj: dict[str, Any], name: str) -> object:
    if name not in obj:
        raise MalformedNotification(f"missing field {name!r}")
    return obj[name]


def _amount(obj: dict[str, Any]) -> Fen:
    value = _field(obj, "amount")
    if type(value) is not int or not 0 < value <= amount_fen_max:
        raise MalformedNotification(f"amount must be an integer from 1 to {amount_fen_max} fen")
    return Fen(value)


def _text(obj: dict[str, Any], name: str, length_max: int) -> str:
    value = _field(obj, name)
    if not isinstance(value, str) or not value.strip() or len(value) > length_max:
        raise MalformedNotification(f"{name} must be a non-empty string of at most {length_max}")
    return value


def _date(obj: dict[str, Any], name: str) -> date:
    value = _field(obj, name)
    if not isinstance(value, str) or _DATE.fullmatch(value) is None:
        raise MalformedNotification(f"{name} must be YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise MalformedNotification(f"{name} {value!r} is not a calendar day") from exc


def _moment(obj: dict[str, Any], name: str) -> datetime:
    value = _field(obj, name)
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise MalformedNotification(f"{name} must be an ISO 8601 time with a UTC offset")
    return moment


# -- statements ----------------------------------------------------------------------------

STATEMENT_COLUMNS: Final = (
    "txn_id",
    "booked_at",
    "value_date",
    "account",
    "amount",
    "currency",
    "payer_name",
    "payer_account",
    "reference",
)


class BankUnavailable(Exception):
    """The bank did not answer, or answered something we cannot read; try again later."""


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One credit on the bank's statement of a day."""

    txn_id: str
    booked_at: datetime
    value_date: date
    account: str
    amount: Fen
    currency: str
    payer_name: str
    payer_account: str
    reference: str


def parse_statement(text: str) -> tuple[StatementLine, ...]:
    """A statement CSV (header row first, columns `STATEMENT_COLUMNS`) as its lines."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or tuple(header) != STATEMENT_COLUMNS:
        raise BankUnavailable(f"statement header is {header!r}, not {STATEMENT_COLUMNS}")
    lines = []
    for number, row in enumerate(reader, start=2):
        if len(row) != len(STATEMENT_COLUMNS):
            raise BankUnavailable(f"statement line {number} has {len(row)} columns")
        values = dict(zip(STATEMENT_COLUMNS, row, strict=True))
        try:
            lines.append(
                StatementLine(
                    txn_id=values["txn_id"],
                    booked_at=datetime.fromisoformat(values["booked_at"]),
                    value_date=date.fromisoformat(values["value_date"]),
                    account=values["account"],
                    amount=Fen(int(values["amount"])),
                    currency=values["currency"],
                    payer_name=values["payer_name"],
                    payer_account=values["payer_account"],
                    reference=values["reference"],
                )
            )
        except ValueError as exc:
            raise BankUnavailable(f"statement line {number}: {exc}") from exc
    return tuple(lines)


class BankGateway(Protocol):
    async def statement(self, day: date) -> tuple[StatementLine, ...]:
        """The credits the bank booked on one Asia/Shanghai day; `BankUnavailable` when the
        bank cannot be asked now."""
        ...
