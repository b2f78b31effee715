"""The side-effect-free dialog engine: (session state, input) -> (new state, one event).

`start` enters a flow, `feed` consumes one input while the session awaits input, `resume`
takes an operation's outcome while it awaits one. States are frozen and JSON-serialisable
(`to_dict`/`from_dict`) so a channel can keep them in its own table between requests.
Nothing here reads a clock, a socket or a database; every limit is a named constant.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

from dialogs.events import INPUTS, Ask, End, Event, Message, Notification, RunOperation, Value
from dialogs.flow import (
    ACTOR,
    OUTCOME_MESSAGE,
    ConfirmNode,
    EndNode,
    Flow,
    InputNode,
    MenuNode,
    MessageNode,
    OperationNode,
    SubflowNode,
    check_subflows,
)
from dialogs.inputs import (
    normalise_text,
    parse_amount_fen,
    parse_code,
    parse_msisdn,
    parse_pin,
)

attempts_per_input_max: Final = 3  # invalid entries at one node before the session ends
inputs_per_session_max: Final = 60  # a session that goes on longer is ended
regex_entry_length_max: Final = 32  # characters a flow's own pattern is ever matched against
steps_per_input_max: Final = 32  # nodes entered on one input, outcome or start (no loop spins)
subflow_depth_max: Final = 4  # flows within flows (a flow may run itself: this bounds it)
session_age_max_s: Final = 600  # a session older than this ends, however active (channels also
# end silent ones sooner: USSD after 180 s)

Status = Literal["input", "outcome", "ended"]
Seal = Callable[[str], str]  # PIN -> what a session may keep of it
SECRET_SLOT_SUFFIX: Final = "pin"  # noqa: S105 - a naming rule, not a secret
CONFIRM_CHOICES: Final = (Message("common.confirm.yes"), Message("common.confirm.no"))


class EngineError(Exception):
    """A channel called the engine out of turn (a programmer error on the channel's side)."""


@dataclass(frozen=True, slots=True)
class SessionState:
    flow: str
    node: str
    language: str
    status: Status = "input"
    slots: Mapping[str, Value] = field(default_factory=dict)
    outcome: str | None = None
    outcome_values: Mapping[str, Value] = field(default_factory=dict)
    attempts: int = 0
    inputs: int = 0
    started_s: int | None = None  # the caller's clock, in seconds, when the session began
    stack: tuple[tuple[str, str], ...] = ()  # (flow, node to come back to) per sub-flow
    carried: tuple[Notification, ...] = ()  # notifications of sub-flows' ends, sent at the end
    steps: int = field(default=0, compare=False)  # nodes entered since the last input (transient)

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "node": self.node,
            "language": self.language,
            "status": self.status,
            "slots": dict(self.slots),
            "outcome": self.outcome,
            "outcome_values": dict(self.outcome_values),
            "attempts": self.attempts,
            "inputs": self.inputs,
            "started_s": self.started_s,
            "stack": [list(frame) for frame in self.stack],
            "carried": [
                {"to": n.to, "key": n.message.key, "params": dict(n.message.params)}
                for n in self.carried
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SessionState:
        return cls(
            flow=data["flow"],
            node=data["node"],
            language=data["language"],
            status=data["status"],
            slots=dict(data["slots"]),
            outcome=data["outcome"],
            outcome_values=dict(data["outcome_values"]),
            attempts=data["attempts"],
            inputs=data["inputs"],
            started_s=data.get("started_s"),
            stack=tuple((str(f), str(n)) for f, n in data.get("stack", [])),
            carried=tuple(
                Notification(n["to"], Message(n["key"], dict(n["params"])))
                for n in data.get("carried", [])
            ),
        )


@dataclass(frozen=True, slots=True)
class Step:
    state: SessionState
    event: Event


_PARSERS: Final[Mapping[str, Callable[[str], Value | None]]] = {
    "msisdn": parse_msisdn,
    "amount": parse_amount_fen,
    "pin": parse_pin,
    "code": parse_code,
}


class Engine:
    def __init__(self, flows: Mapping[str, Flow]) -> None:
        check_subflows(flows)
        self._flows = flows

    def flow(self, flow_id: str) -> Flow:
        return self._flows[flow_id]

    def start_command(
        self, flow_id: str, kind: str, slots: Mapping[str, Value], language: str, seal: Seal
    ) -> Step:
        """Enter a flow where an SMS command of `kind` goes, its fields as slots (PINs
        sealed): the step asks for the operation at once."""
        flow = self._flows[flow_id]
        node_id = flow.commands[kind]
        sealed = {name: _sealed(name, value, seal) for name, value in slots.items()}
        state = SessionState(flow=flow.id, node=node_id, language=language, slots=sealed)
        return self._enter(flow, state, node_id)

    def start(self, flow_id: str, language: str, now_s: int | None = None) -> Step:
        flow = self._flows[flow_id]
        state = SessionState(flow=flow.id, node=flow.start, language=language, started_s=now_s)
        return self._enter(flow, state, flow.start)

    def feed(self, state: SessionState, text: str, seal: Seal, now_s: int | None = None) -> Step:
        """Take one input. `seal` turns a PIN into what the session may keep (a proof the
        ledger accepts), so no state this engine returns holds a PIN in clear. With `now_s`
        (the caller's clock) a session older than `session_age_max_s` ends instead."""
        if state.status != "input":
            raise EngineError(f"session at {state.node!r} is not waiting for input")
        flow = self._flows[state.flow]
        state = replace(state, inputs=state.inputs + 1, steps=0)
        if state.inputs > inputs_per_session_max:
            return _end(state, Message("common.too_many_attempts"))
        started = state.started_s
        if now_s is not None and started is not None and now_s - started > session_age_max_s:
            return _end(state, Message("common.session_expired"))
        node = flow.node(state.node)
        match node:
            case MenuNode():
                index = _choice(text, len(node.options))
                if index is not None:
                    return self._enter(flow, state, node.options[index].next)
                return self._invalid(flow, state, "input.invalid.choice")
            case ConfirmNode():
                index = _choice(text, 2)
                if index is not None:
                    return self._enter(flow, state, node.yes if index == 0 else node.no)
                return self._invalid(flow, state, "input.invalid.choice")
            case InputNode():
                value = _parse(node, text)
                if value is None:
                    return self._invalid(flow, state, node.invalid or f"input.invalid.{node.kind}")
                value = _sealed(node.slot, value, seal)
                if node.must_equal is not None and state.slots.get(node.must_equal) != value:
                    return self._invalid(flow, state, "input.invalid.repeat")
                slots = {**state.slots, node.slot: value}
                return self._enter(flow, replace(state, slots=slots), node.next)
            case _:
                raise EngineError(f"node {node.id!r} takes no input")

    def screen(self, state: SessionState) -> Step:
        """The screen of the node a session waits at, again (to page through a long menu)."""
        if state.status != "input":
            raise EngineError(f"session at {state.node!r} is not waiting for input")
        return self._enter(self._flows[state.flow], replace(state, steps=0), state.node)

    def resume(self, state: SessionState, outcome: str, values: Mapping[str, Value]) -> Step:
        if state.status != "outcome":
            raise EngineError(f"session at {state.node!r} is not waiting for an outcome")
        flow = self._flows[state.flow]
        node = flow.node(state.node)
        assert isinstance(node, OperationNode)
        target = node.outcomes.get(outcome, node.otherwise)
        state = replace(state, outcome=outcome, outcome_values=dict(values), steps=0)
        return self._enter(flow, state, target)

    def _invalid(self, flow: Flow, state: SessionState, notice: str) -> Step:
        attempts = state.attempts + 1
        if attempts >= attempts_per_input_max:
            return _end(state, Message("common.too_many_attempts"))
        step = self._enter(flow, replace(state, attempts=attempts), state.node)
        assert isinstance(step.event, Ask)
        return Step(step.state, replace(step.event, notice=Message(notice)))

    def _enter(self, flow: Flow, state: SessionState, node_id: str) -> Step:
        attempts = state.attempts if node_id == state.node else 0
        state = replace(state, node=node_id, attempts=attempts, steps=state.steps + 1)
        if state.steps > steps_per_input_max:  # flows that run into each other with no input
            return _end(state, Message("common.service_unavailable"), state.carried)
        node = flow.node(node_id)
        params = {**state.slots, **state.outcome_values}
        match node:
            case MenuNode():
                choices = tuple(Message(option.label) for option in node.options)
                return Step(replace(state, status="input"), Ask(Message(node.prompt), choices))
            case InputNode():
                ask = Ask(Message(node.prompt, params), input=INPUTS[node.kind])
                return Step(replace(state, status="input"), ask)
            case ConfirmNode():
                ask = Ask(Message(node.prompt, params), CONFIRM_CHOICES)
                return Step(replace(state, status="input"), ask)
            case SubflowNode():
                return self._enter_subflow(flow, state, node)
            case MessageNode():  # the loader makes sure `next` asks something
                step = self._enter(flow, state, node.next)
                assert isinstance(step.event, Ask)
                return Step(step.state, replace(step.event, notice=Message(node.message, params)))
            case OperationNode():
                arguments = {name: state.slots[name] for name in node.params}
                run = RunOperation(node.operation, arguments)
                return Step(replace(state, status="outcome"), run)
            case EndNode():
                key = node.message
                if key == OUTCOME_MESSAGE:
                    key = f"outcome.{state.outcome}"
                # The number comes from the slots, or from the outcome's values when an SMS
                # command entered mid-flow (a `Y code` confirmation carries no number itself:
                # the operation's outcome names it); a notification without one is not sent.
                notes = tuple(
                    Notification(
                        spec.to if spec.to == ACTOR else str(params[spec.to]),
                        Message(spec.message, params),
                    )
                    for spec in node.notify
                    if spec.to == ACTOR or spec.to in params
                )
                if state.stack:
                    return self._return(state, Message(key, params), notes)
                return _end(state, Message(key, params), state.carried + notes)

    def _enter_subflow(self, flow: Flow, state: SessionState, node: SubflowNode) -> Step:
        if len(state.stack) >= subflow_depth_max:
            return _end(state, Message("common.service_unavailable"), state.carried)
        child = self._flows[node.flow]
        state = replace(state, flow=child.id, stack=(*state.stack, (flow.id, node.next)))
        return self._enter(child, state, child.start)

    def _return(
        self, state: SessionState, message: Message, notes: tuple[Notification, ...]
    ) -> Step:
        """A sub-flow ended: back to the node after it, its end message above that screen."""
        parent_id, back = state.stack[-1]
        parent = self._flows[parent_id]
        carried = state.carried + notes
        state = replace(state, flow=parent_id, stack=state.stack[:-1], carried=carried)
        step = self._enter(parent, state, back)
        if isinstance(step.event, Ask) and step.event.notice is None:
            return Step(step.state, replace(step.event, notice=message))
        return step


def _parse(node: InputNode, text: str) -> Value | None:
    if node.pattern is None:
        return _PARSERS[node.kind](text)
    entry = normalise_text(text)
    if len(entry) > regex_entry_length_max:
        return None
    return entry if re.fullmatch(node.pattern, entry) else None


def is_secret(slot: str) -> bool:
    """PIN slots are named so (`pin`, `old_pin`, `new_pin`); the flow loader enforces it."""
    return slot.endswith(SECRET_SLOT_SUFFIX)


def _sealed(slot: str, value: Value, seal: Seal) -> Value:
    return seal(str(value)) if is_secret(slot) else value


def _end(
    state: SessionState, message: Message, notifications: tuple[Notification, ...] = ()
) -> Step:
    # Slots may hold PIN proofs: an ended session keeps none of them.
    return Step(replace(state, status="ended", slots={}), End(message, notifications))


def _choice(text: str, count: int) -> int | None:
    text = text.strip()
    if text.isascii() and text.isdigit() and 1 <= int(text) <= count:
        return int(text) - 1
    return None
