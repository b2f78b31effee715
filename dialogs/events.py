"""What the engine hands to a channel after each step: exactly one of Ask, RunOperation, End.

The engine never sends, stores or calls anything; a channel renders `Ask` and `End` in its
own medium and runs `RunOperation` through the ledger's service, then resumes the engine
with the outcome (goflow's "events, not actions").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

Value = str | int


@dataclass(frozen=True, slots=True)
class Message:
    """A catalogue key and its parameters; renderers turn it into text per language."""

    key: str
    params: Mapping[str, Value] = field(default_factory=dict)

    def __post_init__(self) -> None:
        assert self.key, "a message needs a key"


@dataclass(frozen=True, slots=True)
class InputSpec:
    """What a screen collects, so each medium can constrain entry: STK GET INPUT (lengths,
    digits only, hidden), IVR DTMF collection (max digits), WAP input format, USSD nothing."""

    kind: str  # choice | msisdn | amount | pin | code (one-time) | regex (a flow's pattern)
    min_length: int
    max_length: int
    digits_only: bool  # amounts are not: they may carry a decimal point
    hidden: bool  # PINs: masked on screen, never echoed

    def __post_init__(self) -> None:
        assert 0 < self.min_length <= self.max_length, self


INPUTS: Final[Mapping[str, InputSpec]] = {
    "choice": InputSpec("choice", 1, 2, digits_only=True, hidden=False),
    "msisdn": InputSpec("msisdn", 11, 15, digits_only=True, hidden=False),
    "amount": InputSpec("amount", 1, 10, digits_only=False, hidden=False),
    "pin": InputSpec("pin", 6, 6, digits_only=True, hidden=True),
    "code": InputSpec("code", 4, 8, digits_only=True, hidden=False),
    "regex": InputSpec("regex", 1, 32, digits_only=False, hidden=False),  # a flow's own pattern
}


@dataclass(frozen=True, slots=True)
class Ask:
    """Show `prompt` (after `notice`, if any) and the numbered `choices`; wait for input."""

    prompt: Message
    choices: tuple[Message, ...] = ()
    input: InputSpec = INPUTS["choice"]
    notice: Message | None = None


@dataclass(frozen=True, slots=True)
class RunOperation:
    """Run the named operation with these parameters; resume with its outcome."""

    name: str
    params: Mapping[str, Value]


@dataclass(frozen=True, slots=True)
class Notification:
    """An SMS to send when the session ends: to the person in it (`to` = "actor", which
    the channel resolves) or to a number (E.164 digits)."""

    to: str
    message: Message


@dataclass(frozen=True, slots=True)
class End:
    """Show `message` and close the session; send `notifications`."""

    message: Message
    notifications: tuple[Notification, ...] = ()


Event = Ask | RunOperation | End
