"""Properties of every packaged flow, driven the way a channel drives the engine.

Hypothesis plays a channel against `Engine` for each flow `load_flows()` returns, in each
language: it answers every `Ask` with a random entry (garbage, blanks, over-long text,
full-width digits, out-of-range menu numbers, `98`/`0`, and numbers, amounts, PINs and codes
from small pools, so journeys really get somewhere), answers every `RunOperation` with a
random outcome code of the ledger's contract and a value for every placeholder a message may
name, and stores the state (`to_dict` → JSON → `from_dict`) between every two steps. After
each step it checks what the engine promises:

- it never raises, and its status matches its event (input ↔ Ask, outcome ↔ RunOperation,
  ended ↔ End); a stored state reads back equal;
- a session ends within the named limits: at most `inputs_per_session_max` inputs are
  answered, fewer than `attempts_per_input_max` refusals at one node, no more operations in a
  row than the flow has operation nodes (more would be a cycle no input breaks); an ended
  session keeps no slots;
- no PIN from the pool is ever in clear: not in the stored state, not in an event (so not in
  operation parameters), not in anything a renderer makes; a secret parameter is the seal of a
  PIN that was typed;
- every screen renders on USSD (every page of a long menu fits a page, every choice is on
  one), SMS, IVR (menus of at most nine choices), STK, WML and XHTML (both parse as XML);
  an End's notifications go to the actor or to E.164 digits and render as SMS in both
  languages (the recipient's language is not the session's to know).

Entries are drawn with the screen in view: half of them what the screen takes, a quarter
near misses, a quarter anything at all. Drawn blind, a top-up (five right answers in a row)
would almost never reach its operation. A pool PIN typed where the screen shows what it takes
(an amount, a code) is the user's own disclosure, so the no-clear-PIN check leaves that PIN
out for the session. SMS commands (`start_command`) are driven the same way from their
operation on.
"""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace

import pytest
from hypothesis import event as hypothesis_event
from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs.catalogue import LANGUAGES, Catalogue
from dialogs.engine import (
    Engine,
    SessionState,
    Step,
    attempts_per_input_max,
    inputs_per_session_max,
    is_secret,
)
from dialogs.events import Ask, End, RunOperation, Value
from dialogs.flow import ACTOR, Flow, OperationNode, load_flows
from dialogs.grammar import COMMAND_SLOTS
from dialogs.inputs import normalise_text, parse_amount_fen, parse_code, parse_msisdn
from dialogs.render.ivr import PRESS_DIGIT, PRESS_LABEL, choices_per_menu_max, render_ivr
from dialogs.render.sms import render_sms
from dialogs.render.stk import DisplayText, GetInput, SelectItem, render_stk
from dialogs.render.ussd import BACK, MORE, fits_page, navigation, render_ussd
from dialogs.render.wap import FormTarget, render_wml, render_xhtml
from ledger.operations.contract import OK, OUTCOME_CODES

FLOWS = load_flows()
ENGINE = Engine(FLOWS)
CATALOGUE = Catalogue.load()
# Hostile on purpose: `&`, `<`, quotes and WML's `$` must all come out well-formed.
FORM = FormTarget("/wap/step?s=7&v=$2", "tok<&>'\"", {"session": "sess-42"})
SEAL_PREFIX = "sealed:"

# PINs no other pool, seal or catalogue text contains (test_pools_keep_pins_apart).
PINS = ("583920", "741096", "269305")
# Entries by the kind of screen: what it takes (in every form people type), then what not.
VALID_ENTRIES: Mapping[str, tuple[str, ...]] = {
    "msisdn": (
        "13900000001",
        "139 0000 0002",
        "+86 138-0000-0003",
        "8613700000004",
        "１３９０００００００１",
        "+44 7911 123456",
    ),
    "amount": ("50", "0.5", "50.05", "100", "10000000.00", "１００"),
    "pin": (*PINS, "５８３９２０", " 741096 "),
    "code": ("4821", "00482193"),
}
INVALID_ENTRIES: Mapping[str, tuple[str, ...]] = {
    "msisdn": ("12345", "1390000000", "+86"),
    "amount": ("5.001", "0", "-5", "10000000.01", "50元"),
    "pin": ("12345", "1234567", "abcdef", "５８３９", "58 3920"),
    "code": ("123", "123456789"),
}
MSISDN_VALUES = ("8613900000001", "8613800000003", "447911123456", "861390000000123")
FEN_VALUES = (0, 1, 5000, 5050, 99_999_999, 10**9, -100)
REFS = ("R1", "AC261126235959ABCDEF0123", "R<&>$1", "")
OTHER_VALUES = ("88888888", "x")


def seal(pin: str) -> str:
    """What a session may keep of a PIN: a proof, never the digits."""
    return SEAL_PREFIX + hashlib.sha256(pin.encode()).hexdigest()


# --- what a user types -------------------------------------------------------------------

_OVERLONG = st.builds(
    lambda char, count: char * count,
    st.sampled_from(["9", "a", "１", "密", "$<"]),
    st.integers(100, 600),
)
_ANYTHING = st.one_of(
    st.integers(-1, 12).map(str),
    st.sampled_from([MORE, BACK, " 1 ", "01", "１"]),
    st.sampled_from([entry for entries in VALID_ENTRIES.values() for entry in entries]),
    st.sampled_from([entry for entries in INVALID_ENTRIES.values() for entry in entries]),
    st.sampled_from(["", " ", "\t"]),
    st.text(max_size=12),
    _OVERLONG,
)


def _entries(ask: Ask) -> st.SearchStrategy[str]:
    """Mostly what the screen takes, so journeys get somewhere; else near misses or anything."""
    count = len(ask.choices)
    if count:
        valid = st.integers(1, count).map(str)
        near = st.sampled_from(["0", str(count + 1), "-1", MORE, BACK, " 1 ", "01", "１"])
    elif ask.input.kind in VALID_ENTRIES:
        valid = st.sampled_from(VALID_ENTRIES[ask.input.kind])
        near = st.sampled_from(INVALID_ENTRIES[ask.input.kind])
    else:  # a kind this test does not know yet
        valid = near = _ANYTHING
    # Not `st.one_of`: it would flatten `_ANYTHING`'s own branches in, and valid entries
    # would come one time in five, too rarely for a journey to reach its operation.
    return st.sampled_from([valid, valid, near, _ANYTHING]).flatmap(lambda entries: entries)


# --- what the ledger answers ---------------------------------------------------------------


def _value(name: str) -> st.SearchStrategy[Value]:
    if name.endswith("_fen"):
        return st.sampled_from(FEN_VALUES) | st.integers(0, 99_999)
    if name == "msisdn" or name.endswith("_msisdn"):
        return st.sampled_from(MSISDN_VALUES)
    if name == "ref":
        return st.sampled_from(REFS)
    return st.sampled_from(OTHER_VALUES) | st.integers(0, 99_999)


# Every placeholder of every message (but the IVR carrier's own), so that whatever message an
# outcome leads to has all it names.
MESSAGE_KEYS = sorted(CATALOGUE.keys())
PLACEHOLDERS = sorted(
    {name for key in MESSAGE_KEYS for name in CATALOGUE.placeholders(key)}
    - {PRESS_LABEL, PRESS_DIGIT}
)
OUTCOMES = st.tuples(
    st.just(OK) | st.sampled_from(sorted(OUTCOME_CODES)),
    st.fixed_dictionaries({name: _value(name) for name in PLACEHOLDERS}),
)


# --- every medium ----------------------------------------------------------------------------


def _ussd_pages(event: Ask | End, language: str) -> list[str]:
    first = render_ussd(event, CATALOGUE, language)
    assert first.end == isinstance(event, End)
    pages = [render_ussd(event, CATALOGUE, language, index) for index in range(first.pages)]
    assert [page.page for page in pages] == list(range(first.pages))
    texts = [page.text for page in pages]
    if isinstance(event, Ask):
        for text in texts:
            assert fits_page(text), f"{language}: a USSD page too long: {text!r}"
        for number, choice in enumerate(event.choices, start=1):
            line = f"{number}. {CATALOGUE.text(language, choice)}"
            assert any(line in text.split("\n") for text in texts), f"{line!r} on no page"
    return texts


def _xml(body: str) -> str:
    ET.fromstring(body.encode("utf-8"))  # well-formed, or ParseError
    return body


def _rendered(event: Ask | End, language: str) -> Iterator[str]:
    """Everything each medium makes of one screen, checked on the way."""
    yield from _ussd_pages(event, language)
    yield render_sms(event, CATALOGUE, language).text
    if isinstance(event, Ask):
        assert len(event.choices) <= choices_per_menu_max, "an IVR menu takes one key a choice"
    plan = render_ivr(event, CATALOGUE, language)
    assert plan.hangup == isinstance(event, End)
    yield repr(plan)
    screen = render_stk(event, CATALOGUE, language)
    match event:
        case End():
            assert isinstance(screen, DisplayText)
        case Ask(choices=()):
            assert isinstance(screen, GetInput)
            assert screen.hidden == event.input.hidden
        case Ask():
            assert isinstance(screen, SelectItem)
            assert len(screen.items) == len(event.choices)
    yield repr(screen)
    yield _xml(render_wml(event, CATALOGUE, language, FORM).body)
    yield _xml(render_xhtml(event, CATALOGUE, language, FORM).body)
    if isinstance(event, End):
        for note in event.notifications:
            assert note.to == ACTOR or (note.to.isascii() and note.to.isdigit()), note.to
            for either in LANGUAGES:
                yield render_sms(End(note.message), CATALOGUE, either).text


# --- the driver ------------------------------------------------------------------------------


def _stored(state: SessionState) -> SessionState:
    """The state as a channel keeps it between requests: a dict, as JSON, and back."""
    stored = SessionState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert stored == state
    return stored


@dataclass
class _Channel:
    """One session's channel side: what it has seen, and the checks after every step."""

    flow: Flow
    language: str
    typed_pins: set[str] = field(default_factory=set)  # pool PINs typed at a PIN screen
    proofs: set[str] = field(default_factory=set)  # the seal of every entry typed hidden
    disclosed: set[str] = field(default_factory=set)  # entries typed where they show
    feeds: int = 0
    operations_in_a_row: int = 0
    page: int = 0

    @property
    def operations_max(self) -> int:
        """Operations between two inputs: each operation node once, or it is a cycle."""
        return sum(isinstance(node, OperationNode) for node in self.flow.nodes.values())

    def answer(self, step: Step, text: str) -> Step:
        """Type `text` at the screen `step` shows; `98`/`0` page a long USSD menu."""
        ask = step.event
        assert isinstance(ask, Ask)
        state = _stored(step.state)
        move = navigation(text)
        if move is not None and render_ussd(ask, CATALOGUE, self.language).pages > 1:
            again = ENGINE.screen(state)
            assert again.state == state
            assert again.event == replace(ask, notice=None)
            target = self.page + (1 if move == "more" else -1)
            self.page = render_ussd(ask, CATALOGUE, self.language, target).page
            return again
        if not ask.choices:
            entry = normalise_text(text)
            if not ask.input.hidden:
                self.disclosed.add(entry)
            else:
                self.proofs.add(seal(entry))
                if entry in PINS:
                    self.typed_pins |= {entry, text.strip()}
        self.feeds += 1
        self.operations_in_a_row = 0
        self.page = 0
        return ENGINE.feed(state, text, seal)

    def run(self, step: Step, outcome: tuple[str, dict[str, Value]]) -> Step:
        assert isinstance(step.event, RunOperation)
        return ENGINE.resume(_stored(step.state), *outcome)

    def check(self, step: Step) -> None:
        state, event = step.state, step.event
        expected = {"input": Ask, "outcome": RunOperation, "ended": End}[state.status]
        assert isinstance(event, expected), f"status {state.status} with {event!r}"
        assert state.flow == self.flow.id
        assert state.language == self.language
        assert state.inputs == self.feeds, "every input counts, across storage"
        answered = self.feeds - (1 if isinstance(event, End) else 0)
        assert answered <= inputs_per_session_max, f"{self.feeds} inputs and going on"
        if isinstance(event, RunOperation):
            self.operations_in_a_row += 1
            assert self.operations_in_a_row <= self.operations_max, "operations never end"
            self._check_sealed(event)
        if state.status == "input":
            assert state.attempts < attempts_per_input_max
        if isinstance(event, End):
            assert state.slots == {}, "an ended session keeps no slots"
            hypothesis_event(f"ends with {event.message.key}")
        texts = [json.dumps(state.to_dict(), ensure_ascii=False), repr(event)]
        if isinstance(event, Ask | End):
            texts += _rendered(event, self.language)
        self._check_no_pin(texts)

    def _check_sealed(self, run: RunOperation) -> None:
        for name, value in run.params.items():
            if is_secret(name):
                assert value in self.proofs, f"{run.name}: {name}={value!r} is no PIN's seal"

    def _check_no_pin(self, texts: list[str]) -> None:
        for pin in sorted(self.typed_pins):
            if any(normalise_text(pin) in entry for entry in self.disclosed):
                continue  # the user typed it where it shows, too
            for text in texts:
                assert pin not in text, f"PIN {pin!r} in clear: {text!r}"


def _drive(channel: _Channel, step: Step, data: st.DataObject) -> None:
    channel.check(step)
    while not isinstance(step.event, End):
        if isinstance(step.event, Ask):
            step = channel.answer(step, data.draw(_entries(step.event), label="entry"))
        else:
            step = channel.run(step, data.draw(OUTCOMES, label="outcome"))
        channel.check(step)


# --- the properties --------------------------------------------------------------------------


def test_pools_keep_pins_apart() -> None:
    """The PIN check is only as good as the pools: no PIN may show up by coincidence, not
    even as what another screen makes of an entry (`58392` as an amount is 5839200 fen)."""
    everything = [
        e for pool in (VALID_ENTRIES, INVALID_ENTRIES) for es in pool.values() for e in es
    ]
    # A PIN typed where its screen shows it is the user's disclosure; the driver allows for it.
    entries = [entry for entry in everything if normalise_text(entry) not in PINS]
    kept = [
        str(value)
        for entry in entries
        for parse in (parse_amount_fen, parse_code, parse_msisdn)
        if (value := parse(entry)) is not None
    ]
    others = [
        *entries,
        *kept,
        *MSISDN_VALUES,
        *map(str, FEN_VALUES),
        *REFS,
        *OTHER_VALUES,
        *(seal(pin) for pin in PINS),
        FORM.action,
        FORM.token,
        *FORM.fields.values(),
        *(CATALOGUE.template(lang, key) for lang in LANGUAGES for key in MESSAGE_KEYS),
    ]
    for pin in PINS:
        assert not any(pin in text for text in others), pin


def test_there_are_flows_to_drive() -> None:
    assert FLOWS, "no flows: the properties below would pass vacuously"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("flow_id", sorted(FLOWS))
@settings(max_examples=200, deadline=None, database=None)
@given(data=st.data())
def test_random_sessions_keep_every_promise(
    flow_id: str, language: str, data: st.DataObject
) -> None:
    channel = _Channel(FLOWS[flow_id], language)
    _drive(channel, ENGINE.start(flow_id, language), data)


def _command_slot(name: str) -> st.SearchStrategy[Value]:
    if is_secret(name):
        return st.sampled_from(PINS)
    if name.endswith("_fen"):
        return st.sampled_from([fen for fen in FEN_VALUES if fen > 0])  # as the grammar parses
    if name == "msisdn" or name.endswith("_msisdn"):
        return st.sampled_from(MSISDN_VALUES)
    return st.sampled_from(VALID_ENTRIES["code"])


# Bugs these properties found, by (flow, command): the case fails until the bug is fixed,
# and then (strict) fails as XPASS until its line here goes.
KNOWN_BUGS: dict[tuple[str, str], str] = {}
COMMANDS = [
    pytest.param(
        flow.id,
        kind,
        marks=[pytest.mark.xfail(strict=True, raises=KeyError, reason=KNOWN_BUGS[flow.id, kind])]
        if (flow.id, kind) in KNOWN_BUGS
        else [],
    )
    for flow in sorted(FLOWS.values(), key=lambda flow: flow.id)
    for kind in sorted(flow.commands)
]


@pytest.mark.parametrize(("flow_id", "kind"), COMMANDS)
@settings(max_examples=50, deadline=None, database=None)
@given(data=st.data(), language=st.sampled_from(LANGUAGES))
def test_sms_commands_keep_every_promise(
    flow_id: str, kind: str, language: str, data: st.DataObject
) -> None:
    """An SMS command enters at its operation with its fields as slots, PINs sealed."""
    slots = data.draw(
        st.fixed_dictionaries({name: _command_slot(name) for name in COMMAND_SLOTS[kind]}),
        label="slots",
    )
    channel = _Channel(FLOWS[flow_id], language)
    pins = {str(value) for name, value in slots.items() if is_secret(name)}
    channel.typed_pins |= pins
    channel.proofs |= {seal(pin) for pin in pins}
    step = ENGINE.start_command(flow_id, kind, slots, language, seal)
    _drive(channel, step, data)
