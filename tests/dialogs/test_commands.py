"""SMS commands into flows: pre-filled slots, sealed PINs, help for anything else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialogs.commands import Entered, Help, Unavailable, enter_command
from dialogs.engine import Engine
from dialogs.events import End, RunOperation
from dialogs.flow import load_flows
from dialogs.grammar import COMMAND_KINDS

ENGINE = Engine(load_flows())
AGENT = ["agent_main"]


def seal(pin: str) -> str:
    return f"sealed:{pin}"


def test_a_topup_command_runs_the_operation_then_ends() -> None:
    entered = enter_command(ENGINE, AGENT, "CZ 13900000001 50 333333", "zh-CN", seal)
    assert isinstance(entered, Entered)
    assert entered.step.event == RunOperation(
        "topup", {"msisdn": "8613900000001", "amount_fen": 5000, "pin": "sealed:333333"}
    )
    done = ENGINE.resume(entered.step.state, "wrong_pin", {})
    assert isinstance(done.event, End)
    assert done.event.message.key == "outcome.wrong_pin"


def test_balance_in_chinese_glued_to_its_pin() -> None:
    entered = enter_command(ENGINE, AGENT, "余额333333", "zh-CN", seal)
    assert isinstance(entered, Entered)
    assert entered.step.event == RunOperation("balance", {"pin": "sealed:333333"})


@pytest.mark.parametrize(
    ("text", "kind"),
    [("CZ 13900000001 50", "topup"), ("hello", None), ("", None), ("BZ", None)],
)
def test_anything_else_is_help(text: str, kind: str | None) -> None:
    answer = enter_command(ENGINE, AGENT, text, "zh-CN", seal)
    assert isinstance(answer, Help)
    assert (answer.error.kind if answer.error else None) == kind


def test_a_command_none_of_the_senders_flows_offers_is_unavailable() -> None:
    # a subscriber cannot allot deposit; an agent cannot confirm a subscriber's transfer
    assert enter_command(
        ENGINE, ["subscriber_main"], "HB 13800000003 50 333333", "zh-CN", seal
    ) == Unavailable("allot")
    assert enter_command(ENGINE, AGENT, "Y 4821", "en", seal) == Unavailable("confirm")
    assert enter_command(ENGINE, [], "YE 333333", "en", seal) == Unavailable("balance")


def test_every_command_has_a_flow() -> None:
    offered = {kind for flow in load_flows().values() for kind in flow.commands}
    assert offered == COMMAND_KINDS - {"help"}


@given(st.text(max_size=200))
def test_no_text_reaches_an_operation_unless_it_parses(text: str) -> None:
    answer = enter_command(ENGINE, AGENT, text, "zh-CN", seal)
    if isinstance(answer, Entered):
        assert isinstance(answer.step.event, RunOperation)
        assert all(
            not name.endswith("pin") or str(value).startswith("sealed:")
            for name, value in answer.step.event.params.items()
        )
