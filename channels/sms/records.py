"""What the SMS channel writes and reads: plain records between the service and its tables."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from channels.sms.contract import InboundSms
from channels.sms.sealed import Claim
from dialogs.grammar import Command, ParseError

MT_REPLY: Final = "reply"
MT_NOTICE: Final = "notice"
MT_CODE: Final = "code"

# What an MO's `outcome` records besides an operation's outcome code.
REDELIVERY: Final = "redelivery"  # the SMSC sent it again: stored, never processed
NO_REPLY: Final = "no_reply"  # a short code or an alphanumeric sender: stored only
NOT_OURS: Final = "not_ours"  # sent to a number that is not our service number
DUPLICATE: Final = "duplicate"  # a repeat inside the window: answered with a code
HELP: Final = "help"
UNAVAILABLE: Final = "unavailable"
APPLIED_OUTCOMES: Final = frozenset({"ok", "pending"})  # what makes a later repeat a duplicate


@dataclass(frozen=True, slots=True)
class NewMo:
    """An MO as `accept` stores it: PINs masked in `text`, sealed in `command`."""

    message: InboundSms
    masked_text: str
    command: str | None  # `encode_parsed` JSON; None when the MO is ignored
    actor: str | None  # the sender in E.164 digits, when it is a number we answer
    content_digest: str | None
    delivery_digest: str | None
    ignored: str | None  # NO_REPLY | NOT_OURS, or None: to be processed
    claim: Claim | None = None  # a sealed answer's counter, claimed in the storing transaction


@dataclass(frozen=True, slots=True)
class StoredMo:
    """What processing needs of a stored MO (from `accept`, or from the table on recovery)."""

    id: int
    actor: str
    command: str
    content_digest: str | None
    received_ms: int


@dataclass(frozen=True, slots=True)
class Reply:
    recipient: str
    text: str  # clear text, kept in memory only for a code
    stored_text: str  # what the outbox row holds (a code masked)
    kind: str
    receipt: bool


@dataclass(frozen=True, slots=True)
class NewConfirmation:
    sender: str
    code_hash: str
    command: str
    expires_ms: int


@dataclass(frozen=True, slots=True)
class Finish:
    """The end of processing one MO: its outcome, its reply, a confirmation it offers."""

    mo_id: int
    outcome: str
    processed_ms: int
    reply: Reply | None
    confirmation: NewConfirmation | None = None


@dataclass(frozen=True, slots=True)
class Finished:
    done: bool  # False: another process (or a recovery) finished this MO first
    mt_id: int | None  # the reply's outbox row, when one was queued
    capped: bool  # the reply was not sent: the number reached its daily cap


@dataclass(frozen=True, slots=True)
class SealedRefusal:
    """A sealed answer refused and answered all the same (an old counter from the SIM's own
    number): processed only to send that answer; it runs nothing."""

    reason: str


def encode_refusal(actor: str, reason: str) -> str:
    return json.dumps({"actor": actor, "refused": reason}, sort_keys=True)


def encode_parsed(actor: str, parsed: Command | ParseError, origin: str | None = None) -> str:
    """A parse result as JSON (slots as given: the caller seals PINs first); `origin`, for a
    sealed answer, is what its operations' idempotency keys start with."""
    if isinstance(parsed, ParseError):
        body: dict[str, Any] = {
            "error": {"reason": parsed.reason, "kind": parsed.kind, "field": parsed.field}
        }
    else:
        body = {"kind": parsed.kind, "slots": dict(parsed.slots)}
    if origin is not None:
        body["origin"] = origin
    return json.dumps({"actor": actor, **body}, ensure_ascii=False, sort_keys=True)


def origin_of(text: str) -> str | None:
    """The origin `encode_parsed` was given, if any (None for a plain SMS command)."""
    if '"origin"' not in text:  # a plain SMS command: no second parse on the hot path
        return None
    origin = json.loads(text).get("origin")
    return None if origin is None else str(origin)


def decode_parsed(text: str) -> tuple[str, Command | ParseError | SealedRefusal]:
    data: Mapping[str, Any] = json.loads(text)
    refused = data.get("refused")
    if refused is not None:
        return data["actor"], SealedRefusal(str(refused))
    error = data.get("error")
    if error is not None:
        return data["actor"], ParseError(error["reason"], error["kind"], error["field"])
    return data["actor"], Command(data["kind"], dict(data["slots"]))
