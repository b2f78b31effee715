"""The engine as data-driven golden cases (goflow style): a flow, a script of inputs and
outcomes, and the events expected after each, with nothing else running."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialogs.engine import (
    Engine,
    EngineError,
    SessionState,
    attempts_per_input_max,
    is_secret,
    session_age_max_s,
    steps_per_input_max,
    subflow_depth_max,
)
from dialogs.events import INPUTS, Ask, End, Message, Notification, RunOperation
from dialogs.flow import FlowError, load_flows, parse_flow

ENGINE = Engine(load_flows())


def seal(pin: str) -> str:
    return f"sealed:{pin}"


# Each step: ("in", text) or ("outcome", code, values); then the expected event summary.
CASES: list[dict[str, Any]] = [
    {
        "description": "a top-up walks number, amount, PIN, confirm, then runs the operation",
        "steps": [
            (("in", "1"), ("ask", "topup.ask_msisdn")),
            (("in", "139 0000 0001"), ("ask", "topup.ask_amount")),
            (("in", "50"), ("ask", "common.ask_pin")),
            (("in", "333333"), ("ask", "topup.confirm")),
            (
                ("in", "1"),
                (
                    "run",
                    "topup",
                    {"msisdn": "8613900000001", "amount_fen": 5000, "pin": "sealed:333333"},
                ),
            ),
            (("outcome", "ok", {"ref": "R1", "balance_fen": 45000}), ("end", "topup.done")),
        ],
    },
    {
        "description": "declining the confirmation cancels without running anything",
        "steps": [
            (("in", "1"), ("ask", "topup.ask_msisdn")),
            (("in", "13900000001"), ("ask", "topup.ask_amount")),
            (("in", "50"), ("ask", "common.ask_pin")),
            (("in", "333333"), ("ask", "topup.confirm")),
            (("in", "2"), ("end", "common.cancelled")),
        ],
    },
    {
        "description": "a refusal from the ledger shows the outcome's own message",
        "steps": [
            (("in", "4"), ("ask", "common.ask_pin")),
            (("in", "000000"), ("run", "balance", {"pin": "sealed:000000"})),
            (("outcome", "wrong_pin", {}), ("end", "outcome.wrong_pin")),
        ],
    },
    {
        "description": "a new PIN must be typed twice alike; only the old and new reach the ledger",
        "steps": [
            (("in", "6"), ("ask", "change_pin.ask_old")),
            (("in", "111111"), ("ask", "change_pin.ask_new")),
            (("in", "222222"), ("ask", "change_pin.ask_repeat")),
            (("in", "222223"), ("ask", "change_pin.ask_repeat", "input.invalid.repeat")),
            (
                ("in", "222222"),
                ("run", "change_pin", {"old_pin": "sealed:111111", "new_pin": "sealed:222222"}),
            ),
            (("outcome", "unavailable", {}), ("end", "outcome.unavailable")),
        ],
    },
    {
        "description": "invalid input re-asks with a notice, then gives up",
        "steps": [
            (("in", "abc"), ("ask", "agent.menu", "input.invalid.choice")),
            (("in", "1"), ("ask", "topup.ask_msisdn")),
            (("in", "12"), ("ask", "topup.ask_msisdn", "input.invalid.msisdn")),
            (("in", "13900000001"), ("ask", "topup.ask_amount")),
            (("in", "0"), ("ask", "topup.ask_amount", "input.invalid.amount")),
            (("in", "5.001"), ("ask", "topup.ask_amount", "input.invalid.amount")),
            (("in", "x"), ("end", "common.too_many_attempts")),
        ],
    },
]


def _summary(event: object) -> tuple[Any, ...]:
    match event:
        case Ask(prompt=prompt, notice=None):
            return ("ask", prompt.key)
        case Ask(prompt=prompt, notice=notice):
            assert notice is not None
            return ("ask", prompt.key, notice.key)
        case RunOperation(name=name, params=params):
            return ("run", name, dict(params))
        case End(message=message):
            return ("end", message.key)
    raise AssertionError(event)


@pytest.mark.parametrize("case", CASES, ids=[c["description"] for c in CASES])
def test_golden(case: dict[str, Any]) -> None:
    step = ENGINE.start("agent_main", "zh-CN")
    assert _summary(step.event) == ("ask", "agent.menu")
    for action, expected in case["steps"]:
        state = SessionState.from_dict(step.state.to_dict())  # survives storage
        if action[0] == "in":
            step = ENGINE.feed(state, action[1], seal)
        else:
            step = ENGINE.resume(state, action[1], action[2])
        assert _summary(step.event) == expected


def test_end_message_carries_slots_and_outcome_values() -> None:
    step = ENGINE.start("agent_main", "en")
    for text in ("1", "13900000001", "50", "333333", "1"):
        step = ENGINE.feed(step.state, text, seal)
    step = ENGINE.resume(step.state, "ok", {"ref": "R1", "balance_fen": 45000})
    assert isinstance(step.event, End)
    assert step.event.message == Message(
        "topup.done",
        {
            "msisdn": "8613900000001",
            "amount_fen": 5000,
            "pin": "sealed:333333",
            "ref": "R1",
            "balance_fen": 45000,
        },
    )
    params = step.event.message.params
    assert step.event.notifications == (
        Notification("8613900000001", Message("topup.notify", params)),
        Notification("actor", Message("topup.receipt", params)),
    )
    assert step.state.slots == {}, "an ended session keeps no PIN"
    assert step.state.language == "en"


def test_out_of_turn_calls_are_refused() -> None:
    step = ENGINE.start("agent_main", "zh-CN")
    with pytest.raises(EngineError):
        ENGINE.resume(step.state, "ok", {})
    for text in ("4", "333333"):
        step = ENGINE.feed(step.state, text, seal)
    with pytest.raises(EngineError):
        ENGINE.feed(step.state, "1", seal)


def test_attempt_limit_is_the_named_constant() -> None:
    step = ENGINE.start("agent_main", "zh-CN")
    for _ in range(attempts_per_input_max - 1):
        step = ENGINE.feed(step.state, "9", seal)
        assert isinstance(step.event, Ask)
    step = ENGINE.feed(step.state, "9", seal)
    assert isinstance(step.event, End)


def test_no_state_ever_holds_a_pin_in_clear() -> None:
    assert is_secret("pin")
    assert is_secret("new_pin")
    assert not is_secret("msisdn")
    step = ENGINE.start("agent_main", "zh-CN")
    for text in ("1", "13900000001", "50", "333333", "1"):
        step = ENGINE.feed(step.state, text, seal)
        assert "333333" not in json.dumps(step.state.to_dict()).replace("sealed:333333", "")


def test_an_sms_command_enters_at_its_operation_with_sealed_slots() -> None:
    slots: dict[str, str | int] = {"msisdn": "8613900000001", "amount_fen": 5000, "pin": "333333"}
    step = ENGINE.start_command("agent_main", "topup", slots, "en", seal)
    assert step.event == RunOperation("topup", {**slots, "pin": "sealed:333333"})
    done = ENGINE.resume(step.state, "ok", {"ref": "R1", "balance_fen": 1})
    assert isinstance(done.event, End)
    assert done.event.message.key == "topup.done"


# A flow of the less common node kinds, with catalogue keys that exist (texts are not the point).
EXTRAS = parse_flow(
    {
        "id": "extras",
        "start": "hello",
        "nodes": {
            "hello": {"type": "message", "message": "common.cancelled", "next": "ref"},
            "ref": {
                "type": "input",
                "kind": "regex",
                "pattern": "AC[0-9A-F]{6}",
                "invalid": "input.invalid.code",
                "prompt": "topup.ask_msisdn",
                "slot": "ref",
                "next": "bye",
            },
            "bye": {"type": "end", "message": "topup.ask_amount"},
        },
    },
    "extras.yaml",
)
EXTRA_ENGINE = Engine({"extras": EXTRAS})


def test_a_message_node_shows_above_the_next_screen() -> None:
    step = EXTRA_ENGINE.start("extras", "zh-CN")
    assert step.event == Ask(
        Message("topup.ask_msisdn"), input=INPUTS["regex"], notice=Message("common.cancelled")
    )
    assert step.state.node == "ref"


def test_a_regex_input_matches_the_whole_nfkc_entry_and_names_its_own_notice() -> None:
    step = EXTRA_ENGINE.start("extras", "en")
    refused = EXTRA_ENGINE.feed(step.state, "AC12345G", seal)
    assert isinstance(refused.event, Ask)
    assert refused.event.notice == Message("input.invalid.code")
    assert isinstance(EXTRA_ENGINE.feed(step.state, "xAC123456", seal).event, Ask)
    assert isinstance(EXTRA_ENGINE.feed(step.state, "AC123456" * 5, seal).event, Ask)
    done = EXTRA_ENGINE.feed(step.state, "ＡＣ１２３４５Ｆ", seal)  # full-width
    assert isinstance(done.event, End)


def test_a_session_past_its_age_ends_however_active() -> None:
    step = ENGINE.start("agent_main", "zh-CN", now_s=1_000)
    step = ENGINE.feed(step.state, "1", seal, now_s=1_000 + session_age_max_s)
    assert isinstance(step.event, Ask)
    step = ENGINE.feed(step.state, "13900000001", seal, now_s=1_001 + session_age_max_s)
    assert step.event == End(Message("common.session_expired"))


def _menu_with_subflow(child: str) -> dict[str, object]:
    return {
        "id": "parent",
        "start": "menu",
        "nodes": {
            "menu": {
                "type": "menu",
                "prompt": "agent.menu",
                "options": [
                    {"label": "agent.menu.topup", "next": "sub"},
                    {"label": "agent.menu.balance", "next": "bye"},
                ],
            },
            "sub": {"type": "flow", "flow": child, "next": "menu"},
            "bye": {"type": "end", "message": "common.cancelled"},
        },
    }


CHILD = {
    "id": "child",
    "start": "ask",
    "nodes": {
        "ask": {
            "type": "input",
            "kind": "msisdn",
            "prompt": "topup.ask_msisdn",
            "slot": "msisdn",
            "next": "done",
        },
        "done": {
            "type": "end",
            "message": "history.done",
            "notify": [{"to": "msisdn", "message": "allot.notify"}],
        },
    },
}


def test_a_subflow_comes_back_with_its_message_and_its_notifications_are_sent_at_the_end() -> None:
    engine = Engine(
        {"parent": parse_flow(_menu_with_subflow("child"), "p"), "child": parse_flow(CHILD, "c")}
    )
    step = engine.start("parent", "en")
    step = engine.feed(step.state, "1", seal)
    assert step.event == Ask(Message("topup.ask_msisdn", {}), input=INPUTS["msisdn"])
    step = engine.feed(SessionState.from_dict(step.state.to_dict()), "13900000002", seal)
    assert isinstance(step.event, Ask)
    assert step.event.prompt == Message("agent.menu")
    assert step.event.notice == Message("history.done", {"msisdn": "8613900000002"})
    assert step.state.flow == "parent"
    step = engine.feed(SessionState.from_dict(step.state.to_dict()), "2", seal)
    assert isinstance(step.event, End)
    assert [(n.to, n.message.key) for n in step.event.notifications] == [
        ("8613900000002", "allot.notify")
    ]


def test_a_flow_running_itself_stops_at_the_depth_limit() -> None:
    engine = Engine({"parent": parse_flow(_menu_with_subflow("parent"), "p")})
    step = engine.start("parent", "zh-CN")
    for _ in range(subflow_depth_max):
        step = engine.feed(step.state, "1", seal)
        assert isinstance(step.event, Ask)
    step = engine.feed(step.state, "1", seal)
    assert step.event == End(Message("common.service_unavailable"))


def test_a_subflow_must_exist() -> None:
    with pytest.raises(FlowError, match="runs unknown flow 'ghost'"):
        Engine({"parent": parse_flow(_menu_with_subflow("ghost"), "p")})


def test_flows_that_run_into_each_other_without_input_stop_at_the_step_limit() -> None:
    parent = {
        "id": "spin",
        "start": "sub",
        "nodes": {"sub": {"type": "flow", "flow": "blink", "next": "sub"}},
    }
    blink = {"id": "blink", "start": "bye", "nodes": {"bye": {"type": "end", "message": "m"}}}
    engine = Engine({"spin": parse_flow(parent, "s"), "blink": parse_flow(blink, "b")})
    step = engine.start("spin", "en")
    assert step.event == End(Message("common.service_unavailable"))
    assert steps_per_input_max >= 8


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["1", "2", "13900000001", "50", "333333", "x", "", "９"]),
            st.integers(0, 400),  # seconds since the previous input (a slow or timed-out user)
        ),
        max_size=20,
    )
)
def test_time_outs_end_a_session_exactly_past_its_age(inputs: list[tuple[str, int]]) -> None:
    started = 10_000
    step = ENGINE.start("agent_main", "zh-CN", now_s=started)
    now = started
    for text, elapsed in inputs:
        if step.state.status != "input":
            break
        now += elapsed
        step = ENGINE.feed(step.state, text, seal, now_s=now)
        if now - started > session_age_max_s:
            assert step.event == End(Message("common.session_expired"))
            break
        assert step.event != End(Message("common.session_expired"))
