"""What the SMS channel needs from a sealed-answer intake (the SIM applet's `STK1` SMS,
implemented by `channels.stk.gate`): the SMS channel stays the one path of an MO — stored,
acknowledged, processed, recovered — and knows nothing of SIMs or keys.

An MO the intake recognises (`is_sealed`) never reaches the grammar as text. `open` checks it
before it is stored and answers either `Opened` (the command, the SIM's number as the actor,
the idempotency origin of its operations, and the `Claim` to make when it is stored) or
`Refused`. `claim` runs inside the transaction that stores the MO: it advances the SIM's
counter, or says what the MO is stored as instead, so acceptance and counter are one commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection

from channels.sms.contract import InboundSms
from dialogs.grammar import Command


@dataclass(frozen=True, slots=True)
class Claim:
    """What the storing transaction claims: this SIM's counter, for this text (its digest)."""

    sim_id: str
    counter: int
    digest: str


@dataclass(frozen=True, slots=True)
class Opened:
    actor: str  # the SIM's number (E.164 digits), which is the sender's
    command: Command  # PINs as typed: the SMS channel seals them before storing
    origin: str  # `<channel>:<sim id>:<counter>`: operations' keys are `<origin>:<n>:<name>`
    stored_text: str  # what the MO row keeps as its text (no PIN in clear)
    claim: Claim


@dataclass(frozen=True, slots=True)
class Refused:
    reason: str  # the MO's outcome, e.g. `stk_bad_mac`; `redelivery` for the same SMS again
    stored_text: str  # no PIN in clear
    answer: bool  # answer the sender (an old counter from the SIM's own number)


class SealedIntake(Protocol):
    def is_sealed(self, text: str) -> bool: ...

    async def open(self, message: InboundSms, sender: str | None, digest: str) -> Opened | Refused:
        """`sender`: the sender as E.164 digits (None: a short code or alphanumeric);
        `digest`: a keyed digest of the text, kept with the counter it advances."""
        ...

    def claim(self, conn: Connection, claim: Claim) -> str | None:
        """In the storing transaction: None when the counter advanced, else the outcome the
        MO is stored `ignored` with."""
        ...

    def refused_late(self, claim: Claim, outcome: str) -> None:
        """`claim` refused an MO `open` had let through (a race): log and count it."""
        ...


__all__ = ["Claim", "Opened", "Refused", "SealedIntake"]
