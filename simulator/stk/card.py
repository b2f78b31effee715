"""The SIM card side: runs the exported menu program, one proactive command at a time, as bytes.

The handset (or a test) talks to it the way a phone talks to a UICC:

    set_up_menu()            -> the SET UP MENU command (issued once the phone is on)
    envelope(MENU SELECTION) -> the item's first proactive command
    terminal_response(bytes) -> the next proactive command, or None: the session is over

Running an item follows `channels.stk.program`: GET INPUT answers are kept and numbered, the
placeholders `{n}` of the next screens filled with them; a confirmation answered "no" shows
the closing text; a backward move re-issues the step before (from the first step: back to the
menu); a user's termination or no response ends the session and sends nothing. At the end
the SMS template is filled, sealed with `channels.stk.secure.protect` under the profile's keys
and its next counter (saved *before* the SEND SHORT MESSAGE leaves), and sent to the profile's
service number with the program's alpha identifier.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from channels.stk.commands import (
    BACKWARD_MOVE,
    NO_RESPONSE,
    OK,
    TERMINATED_BY_USER,
    Command,
    CommandDetails,
    DisplayText,
    GetInput,
    SelectItem,
    SendShortMessage,
    decode_envelope,
    decode_terminal_response,
    details_of,
    encode_command,
)
from channels.stk.program import Item, Program, confirm_no, confirm_yes, fill, load_program
from channels.stk.secure import protect
from channels.stk.tlv import MalformedTlv, StkError
from channels.stk.tpdu import SmsSubmit
from simulator.stk.profile import SimProfile, load_profile, save_profile

DIGIT_KEYS: Final = frozenset("0123456789*#+")


class CardError(StkError):
    """The terminal asked something the card cannot do now (the terminal's fault)."""


@dataclass(slots=True)
class _Session:
    item: Item
    position: int = 0  # the step being shown; len(steps): the SMS
    answers: dict[int, str] = dataclasses.field(default_factory=dict)  # step -> text
    issued: CommandDetails | None = None
    phase: str = "step"  # step | sms | cancelled


class SimCard:
    """One SIM: a loaded program, a profile, and the running session (at most one)."""

    def __init__(
        self,
        program: Program,
        profile: SimProfile,
        save: Callable[[SimProfile], None] | None = None,
    ) -> None:
        self.program = program
        self._profile = profile
        self._save = save or (lambda _profile: None)
        self._session: _Session | None = None

    @classmethod
    def from_files(cls, program_path: Path, profile_path: Path) -> SimCard:
        """A SIM from an exported program and a profile file the counter is written back to."""
        program = load_program(program_path.read_bytes())
        return cls(program, load_profile(profile_path), lambda p: save_profile(profile_path, p))

    @property
    def profile(self) -> SimProfile:
        return self._profile

    @property
    def busy(self) -> bool:
        return self._session is not None

    def set_up_menu(self) -> bytes:
        return self.program.menu_bytes

    def envelope(self, data: bytes) -> bytes:
        """A MENU SELECTION: the chosen item's first command (a running session is dropped)."""
        selection = decode_envelope(data)
        if not 0 < selection.item <= len(self.program.items):
            raise CardError(f"the menu has no item {selection.item}")
        self._session = _Session(self.program.items[selection.item - 1])
        return self._issue_current()

    def terminal_response(self, data: bytes) -> bytes | None:
        """The next command after the terminal's answer, or None when the session is over."""
        session = self._session
        if session is None:
            raise CardError("a terminal response, but no command is pending")
        response = decode_terminal_response(data)
        if response.details != session.issued:
            raise MalformedTlv(f"the response is for {response.details}, not {session.issued}")
        if response.result in (TERMINATED_BY_USER, NO_RESPONSE):
            return self._end()
        if response.result == BACKWARD_MOVE:
            if session.phase != "step" or session.position == 0:
                return self._end()
            session.position -= 1
            session.answers = {k: v for k, v in session.answers.items() if k < session.position}
            return self._issue_current()
        if response.result != OK:
            return self._end()
        if session.phase in ("sms", "cancelled"):
            return self._end()
        step = session.item.steps[session.position]
        if isinstance(step, GetInput):
            session.answers[session.position] = self._checked(step, response.text or "")
        elif isinstance(step, SelectItem):
            if response.item == confirm_no:
                return self._cancelled()
            if response.item != confirm_yes:
                raise MalformedTlv(f"item {response.item} is not on the confirmation")
        session.position += 1
        return self._issue_current()

    def _checked(self, step: GetInput, text: str) -> str:
        if not step.min_length <= len(text) <= step.max_length:
            raise MalformedTlv(f"{len(text)} characters for {step.min_length}..{step.max_length}")
        if step.digits_only and not set(text) <= DIGIT_KEYS:
            raise MalformedTlv("a digits-only answer with other characters")
        return text

    def _answers(self) -> list[str]:
        session = self._session
        assert session is not None
        return [session.answers[k] for k in sorted(session.answers)]

    def _issue(self, command: Command) -> bytes:
        session = self._session
        assert session is not None
        data = encode_command(command)
        session.issued = details_of(command)
        return data

    def _issue_current(self) -> bytes:
        session = self._session
        assert session is not None
        if session.position == len(session.item.steps):
            return self._send()
        step = session.item.steps[session.position]
        answers = self._answers()
        match step:
            case SelectItem():
                filled: Command = dataclasses.replace(step, title=fill(step.title, answers))
            case GetInput() | DisplayText():
                filled = dataclasses.replace(step, text=fill(step.text, answers))
        return self._issue(filled)

    def _cancelled(self) -> bytes | None:
        session = self._session
        assert session is not None
        if session.item.cancelled is None:
            return self._end()
        session.phase = "cancelled"
        return self._issue(session.item.cancelled)

    def _send(self) -> bytes:
        session = self._session
        assert session is not None
        plaintext = fill(session.item.template, self._answers())
        profile = self._profile.next_counter()
        self._save(profile)  # before the message leaves: a counter is never used twice
        self._profile = profile
        sealed = protect(plaintext, profile.sim_id, profile.counter, profile.keys())
        template = session.item.sms
        tpdu = SmsSubmit(profile.service_number, sealed)
        session.phase = "sms"
        return self._issue(SendShortMessage(tpdu, template.alpha, template.service_centre))

    def _end(self) -> bytes | None:
        """The session is over: no command follows."""
        self._session = None
        return None
