"""An SMS command becomes a dialog: its fields fill a flow's slots and the flow runs from the
operation node its `commands:` map names, to the end, with no menu and no confirmation (the
command itself is the confirmation). Anything unparseable is answered with help and never
reaches an operation. Pure: the SMS channel supplies the text, the sender's flows and the
seal for PINs, runs the operation the step asks for, and renders what comes back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dialogs.engine import Engine, Seal, Step
from dialogs.grammar import Command, ParseError, parse_command


@dataclass(frozen=True, slots=True)
class Entered:
    """The command entered `flow`; `step` asks for its operation."""

    flow: str
    step: Step


@dataclass(frozen=True, slots=True)
class Help:
    """Answer with help: the command's own usage when its keyword was recognised."""

    error: ParseError | None


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A well-formed command that none of the sender's flows offers (yet)."""

    kind: str


def enter_command(
    engine: Engine, flows: Sequence[str], text: str, language: str, seal: Seal
) -> Entered | Help | Unavailable:
    parsed = parse_command(text)
    if isinstance(parsed, ParseError):
        return Help(parsed)
    return enter_parsed(engine, flows, parsed, language, seal)


def enter_parsed(
    engine: Engine, flows: Sequence[str], command: Command, language: str, seal: Seal
) -> Entered | Help | Unavailable:
    """`enter_command` for a command parsed before (the SMS channel parses at `accept`, stores
    the command with PINs sealed, and enters it later, after a restart too)."""
    if command.kind == "help":
        return Help(None)
    for flow_id in flows:
        if command.kind in engine.flow(flow_id).commands:
            step = engine.start_command(flow_id, command.kind, command.slots, language, seal)
            return Entered(flow_id, step)
    return Unavailable(command.kind)
