"""What the engine hands to a channel after each step: exactly one of Ask, RunOperation, End.

The engine never sends, stores or calls anything; a channel renders `Ask` and `End` in its
own medium and runs `RunOperation` through the ledger's service, then resumes the engine
with the outcome (goflow's "events, not actions").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

Value = str | int


@dataclass(frozen=True, slots=True)
class Message:
    """A catalogue key and its parameters; renderers turn it into text per language."""

    key: str
    params: Mapping[str, Value] = field(default_factory=dict)

    def __post_init__(self) -> None:
        assert self.key, "a message needs a key"


@dataclass(frozen=True, slots=True)
class Ask:
    """Show `prompt` (after `notice`, if any) and the numbered `choices`; wait for input."""

    prompt: Message
    choices: tuple[Message, ...] = ()
    kind: str = "choice"
    notice: Message | None = None


@dataclass(frozen=True, slots=True)
class RunOperation:
    """Run the named operation with these parameters; resume with its outcome."""

    name: str
    params: Mapping[str, Value]


@dataclass(frozen=True, slots=True)
class End:
    """Show `message` and close the session."""

    message: Message


Event = Ask | RunOperation | End
