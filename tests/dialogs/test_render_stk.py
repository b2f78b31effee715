"""SIM Toolkit commands: the top-up screens in both languages written out by hand, GET INPUT
constraints for every input kind, menu limits, and a hypothesis property over the catalogue."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialogs.catalogue import Catalogue
from dialogs.engine import CONFIRM_CHOICES
from dialogs.events import INPUTS, Ask, End, Event, Message, RunOperation, Value
from dialogs.render.stk import (
    DisplayText,
    GetInput,
    SelectItem,
    SendShortMessage,
    SetUpMenu,
    StkScreen,
    items_per_menu_max,
    render_stk,
    render_stk_menu,
    response_length_max,
)
from tests.dialogs.strategies import events

CATALOGUE = Catalogue.load()
LANGUAGES = ("zh-CN", "en")
REF = "AC250101120000A1B2C3D4E5"
TOPUP: Mapping[str, Value] = {"msisdn": "8613900000001", "amount_fen": 5050}
MENU = Ask(Message("agent.menu"), (Message("agent.menu.topup"), Message("agent.menu.balance")))

SCREENS: dict[str, Event] = {
    "menu": MENU,
    "ask msisdn": Ask(Message("topup.ask_msisdn"), input=INPUTS["msisdn"]),
    "ask amount": Ask(Message("topup.ask_amount"), input=INPUTS["amount"]),
    "ask amount again": Ask(
        Message("topup.ask_amount"), (), INPUTS["amount"], notice=Message("input.invalid.amount")
    ),
    "ask pin": Ask(Message("common.ask_pin"), input=INPUTS["pin"]),
    "confirm": Ask(Message("topup.confirm", TOPUP), CONFIRM_CHOICES),
    "done": End(
        Message("topup.done", {**TOPUP, "pin": "333333", "ref": REF, "balance_fen": 44950})
    ),
    "refusal": End(Message("outcome.wrong_pin")),
}

GOLDEN: dict[str, dict[str, StkScreen]] = {
    "menu": {
        "zh-CN": SelectItem("代理商服务", ("话费充值", "余额查询")),
        "en": SelectItem("Agent services", ("Top up", "Balance")),
    },
    "ask msisdn": {
        "zh-CN": GetInput("请输入充值号码", 11, 15, digits_only=True, hidden=False),
        "en": GetInput("Enter the number to top up", 11, 15, digits_only=True, hidden=False),
    },
    "ask amount": {
        "zh-CN": GetInput("请输入充值金额（元）", 1, 10, digits_only=False, hidden=False),
        "en": GetInput("Enter the amount (CNY)", 1, 10, digits_only=False, hidden=False),
    },
    "ask amount again": {
        "zh-CN": GetInput(
            "金额无效，请输入元，最多两位小数，如50或50.5。\n请输入充值金额（元）",
            1,
            10,
            digits_only=False,
            hidden=False,
        ),
        "en": GetInput(
            "Invalid amount. Enter yuan with at most 2 decimals, e.g. 50 or 50.5.\n"
            "Enter the amount (CNY)",
            1,
            10,
            digits_only=False,
            hidden=False,
        ),
    },
    "ask pin": {
        "zh-CN": GetInput("请输入6位密码", 6, 6, digits_only=True, hidden=True),
        "en": GetInput("Enter your 6-digit PIN", 6, 6, digits_only=True, hidden=True),
    },
    "confirm": {
        "zh-CN": SelectItem("为13900000001充值50.50元，确认吗？", ("确认", "取消")),
        "en": SelectItem("Top up 13900000001 with CNY 50.50?", ("Confirm", "Cancel")),
    },
    "done": {
        "zh-CN": DisplayText(f"充值成功：13900000001到账50.50元，流水号{REF}，余额449.50元。"),
        "en": DisplayText(
            f"Done: 13900000001 received CNY 50.50. Ref {REF}. Your balance: CNY 449.50."
        ),
    },
    "refusal": {
        "zh-CN": DisplayText("密码错误，交易未执行。"),
        "en": DisplayText("Wrong PIN; nothing was done."),
    },
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("screen", list(SCREENS))
def test_golden_top_up_screens(screen: str, language: str) -> None:
    assert render_stk(SCREENS[screen], CATALOGUE, language) == GOLDEN[screen][language]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("choice", (1, 2, True, False)),
        ("msisdn", (11, 15, True, False)),
        ("amount", (1, 10, False, False)),  # the decimal point needs the SMS alphabet
        ("pin", (6, 6, True, True)),
        ("code", (4, 8, True, False)),
        ("regex", (1, 32, False, False)),
    ],
)
def test_get_input_constraints_for_every_kind(
    kind: str, expected: tuple[int, int, bool, bool]
) -> None:
    command = render_stk(Ask(Message("common.ask_pin"), input=INPUTS[kind]), CATALOGUE, "en")
    assert isinstance(command, GetInput)
    assert (command.min_length, command.max_length, command.digits_only, command.hidden) == (
        expected
    )


def test_every_input_kind_is_covered() -> None:
    assert set(INPUTS) == {"choice", "msisdn", "amount", "pin", "code", "regex"}


def test_the_root_menu_is_set_up_menu() -> None:
    assert render_stk_menu(MENU, CATALOGUE, "zh-CN") == SetUpMenu(
        "代理商服务", ("话费充值", "余额查询")
    )
    assert render_stk_menu(MENU, CATALOGUE, "en") == SetUpMenu(
        "Agent services", ("Top up", "Balance")
    )
    noticed = Ask(MENU.prompt, MENU.choices, notice=Message("input.invalid.choice"))
    with pytest.raises(ValueError, match="notice"):
        render_stk_menu(noticed, CATALOGUE, "en")
    with pytest.raises(ValueError, match=r"1\.\.9 items"):
        render_stk_menu(Ask(Message("agent.menu")), CATALOGUE, "en")


def test_a_menu_has_at_most_nine_items() -> None:
    choices = tuple(Message("agent.menu.topup") for _ in range(items_per_menu_max))
    select = render_stk(Ask(Message("agent.menu"), choices), CATALOGUE, "en")
    assert isinstance(select, SelectItem)
    assert len(select.items) == 9
    too_many = Ask(Message("agent.menu"), (*choices, choices[0]))
    with pytest.raises(ValueError, match=r"1\.\.9 items"):
        render_stk(too_many, CATALOGUE, "en")
    with pytest.raises(ValueError, match=r"1\.\.9 items"):
        render_stk_menu(too_many, CATALOGUE, "en")
    with pytest.raises(ValueError, match=r"1\.\.9 items"):
        SelectItem("title", ())


def test_commands_refuse_what_the_sim_cannot_do() -> None:
    with pytest.raises(ValueError, match="lengths"):
        GetInput("x", 1, response_length_max + 1, digits_only=True, hidden=False)
    with pytest.raises(ValueError, match="lengths"):
        GetInput("x", 6, 5, digits_only=True, hidden=False)
    with pytest.raises(ValueError, match="digit entry only"):
        GetInput("x", 1, 6, digits_only=False, hidden=True)
    assert SendShortMessage("1888", "STK1 …").destination == "1888"
    with pytest.raises(ValueError, match="digits"):
        SendShortMessage("+1888", "STK1 …")
    with pytest.raises(TypeError):
        render_stk(RunOperation("topup", {}), CATALOGUE, "en")


# --- a property over every message of the catalogue -------------------------------------


@given(events(), st.sampled_from(LANGUAGES))
def test_any_message_renders(event: Event, language: str) -> None:
    command = render_stk(event, CATALOGUE, language)
    match event:
        case End():
            assert isinstance(command, DisplayText)
        case Ask(choices=()):
            assert isinstance(command, GetInput)
        case Ask():
            assert isinstance(command, SelectItem)
            assert len(command.items) == len(event.choices)
