"""IVR prompt plans: golden transcripts of the top-up screens in both languages, the plan for
one confirmation written out item by item, menu limits, DTMF collection per input kind, and a
hypothesis property over every catalogue message.

A transcript reads a plan aloud: each `Sound` as its text from `prompt_texts`, typed items as
`<tel:…>`, `<digits:…>`, `<number:…>`, `<amount:…>` (`<amount:… 元>` said with its unit) and
`<speak:…>`. Expected transcripts are
written by hand from what a caller should hear.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialogs.catalogue import Catalogue
from dialogs.engine import CONFIRM_CHOICES
from dialogs.events import INPUTS, Ask, End, Event, Message, RunOperation, Value
from dialogs.render.ivr import (
    PRESS_KEY,
    DtmfCollect,
    SayAmount,
    SayDigits,
    SayNumber,
    Sound,
    Speak,
    choice_timeout_ms,
    choices_per_menu_max,
    input_timeout_ms,
    prompt_texts,
    render_ivr,
)
from tests.dialogs.readers import transcript
from tests.dialogs.strategies import events

CATALOGUE = Catalogue.load()
LANGUAGES = ("zh-CN", "en")
REF = "AC250101120000A1B2C3D4E5"
TOPUP: Mapping[str, Value] = {"msisdn": "8613900000001", "amount_fen": 5050}
AGENT_MENU = (Message("agent.menu.topup"), Message("agent.menu.balance"))

SCREENS: dict[str, Event] = {
    "menu": Ask(Message("agent.menu"), AGENT_MENU),
    "ask msisdn": Ask(Message("topup.ask_msisdn"), input=INPUTS["msisdn"]),
    "ask amount": Ask(
        Message("topup.ask_amount", {"msisdn": "8613900000001"}), (), INPUTS["amount"]
    ),
    "ask amount again": Ask(
        Message("topup.ask_amount"), (), INPUTS["amount"], notice=Message("input.invalid.amount")
    ),
    "ask pin": Ask(Message("common.ask_pin", TOPUP), input=INPUTS["pin"]),
    "confirm": Ask(Message("topup.confirm", TOPUP), CONFIRM_CHOICES),
    "done": End(
        Message("topup.done", {**TOPUP, "pin": "333333", "ref": REF, "balance_fen": 44950})
    ),
    "refusal": End(
        Message("outcome.insufficient_funds", {"available_fen": 1234, "amount_fen": 5050})
    ),
}

MENU = (1, choice_timeout_ms)
# screen -> language -> (transcript, (max digits, time-out) or None for a hang-up)
GOLDEN: dict[str, dict[str, tuple[str, tuple[int, int] | None]]] = {
    "menu": {
        "zh-CN": ("代理商服务 话费充值 请按 <digits:1> 余额查询 请按 <digits:2>", MENU),
        "en": ("Agent services For Top up press <digits:1> For Balance press <digits:2>", MENU),
    },
    "ask msisdn": {
        "zh-CN": ("请输入充值号码", (15, input_timeout_ms)),
        "en": ("Enter the number to top up", (15, input_timeout_ms)),
    },
    "ask amount": {
        "zh-CN": ("请输入充值金额（元）", (10, input_timeout_ms)),
        "en": ("Enter the amount (CNY)", (10, input_timeout_ms)),
    },
    "ask amount again": {
        "zh-CN": (
            "金额无效，请输入元，最多两位小数，如50或50.5。 请输入充值金额（元）",
            (10, input_timeout_ms),
        ),
        "en": (
            "Invalid amount. Enter yuan with at most 2 decimals, e.g. 50 or 50.5."
            " Enter the amount (CNY)",
            (10, input_timeout_ms),
        ),
    },
    "ask pin": {
        "zh-CN": ("请输入6位密码", (6, input_timeout_ms)),
        "en": ("Enter your 6-digit PIN", (6, input_timeout_ms)),
    },
    "confirm": {
        "zh-CN": (
            "为 <tel:13900000001> 充值 <amount:5050 元> ，确认吗？"
            " 确认 请按 <digits:1> 取消 请按 <digits:2>",
            MENU,
        ),
        "en": (
            "Top up <tel:13900000001> with CNY <amount:5050>"
            " For Confirm press <digits:1> For Cancel press <digits:2>",
            MENU,
        ),
    },
    "done": {
        "zh-CN": (
            f"充值成功： <tel:13900000001> 到账 <amount:5050 元> ，流水号 <speak:{REF}>"
            " 余额 <amount:44950 元>",  # "元。" is the amount's unit, then nothing to say
            None,
        ),
        "en": (
            f"Done: <tel:13900000001> received CNY <amount:5050> Ref <speak:{REF}>"
            " Your balance: CNY <amount:44950>",
            None,
        ),
    },
    "refusal": {
        "zh-CN": ("余额不足：可用 <amount:1234 元> ，需要 <amount:5050 元>", None),
        "en": ("Insufficient deposit: CNY <amount:1234> available, <amount:5050> needed.", None),
    },
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("screen", list(SCREENS))
def test_golden_top_up_screens(screen: str, language: str) -> None:
    plan = render_ivr(SCREENS[screen], CATALOGUE, language)
    expected_words, expected_collect = GOLDEN[screen][language]
    assert transcript(plan, CATALOGUE, language) == expected_words
    if expected_collect is None:
        assert (plan.collect, plan.hangup) == (None, True)
    else:
        max_digits, timeout_ms = expected_collect
        assert plan.collect == DtmfCollect(max_digits, timeout_ms, "#")
        assert not plan.hangup


def test_the_confirmation_plan_item_by_item() -> None:
    press_1 = SayDigits("1", telephone=False)
    press_2 = SayDigits("2", telephone=False)
    number = SayDigits("13900000001", telephone=True)
    zh = render_ivr(SCREENS["confirm"], CATALOGUE, "zh-CN")
    assert zh.items == (
        Sound("topup.confirm.0"),  # 为
        number,
        Sound("topup.confirm.1"),  # 充值
        SayAmount(5050, unit=True),  # 五十元五角: the template's 元 is the amount's
        Sound("topup.confirm.2"),  # ，确认吗？
        Sound("common.confirm.yes.0"),
        Sound("ivr.press.0"),  # 请按
        press_1,
        Sound("common.confirm.no.0"),
        Sound("ivr.press.0"),
        press_2,
    )
    en = render_ivr(SCREENS["confirm"], CATALOGUE, "en")
    assert en.items == (
        Sound("topup.confirm.0"),  # Top up
        number,
        Sound("topup.confirm.1"),  # with CNY
        SayAmount(5050),  # the final "?" says nothing and has no sound
        Sound("ivr.press.0"),  # For
        Sound("common.confirm.yes.0"),
        Sound("ivr.press.1"),  # press
        press_1,
        Sound("ivr.press.0"),
        Sound("common.confirm.no.0"),
        Sound("ivr.press.1"),
        press_2,
    )
    assert zh.collect == en.collect == DtmfCollect(1, 5_000, "#")


@pytest.mark.parametrize(
    ("fen", "yuan", "jiao", "fen_digit", "decimals", "negative"),
    [
        (5050, 50, 5, 0, "5", False),  # 五十元五角, 五十点五
        (5005, 50, 0, 5, "05", False),  # 五十元零五分, 五十点零五
        (5000, 50, 0, 0, "", False),  # 五十元, 五十
        (7, 0, 0, 7, "07", False),  # 七分, 零点零七
        (123456, 1234, 5, 6, "56", False),
        (-250, 2, 5, 0, "5", True),
    ],
)
def test_an_amount_is_split_in_yuan_jiao_and_fen(
    fen: int, yuan: int, jiao: int, fen_digit: int, decimals: str, negative: bool
) -> None:
    amount = SayAmount(fen)
    assert (amount.yuan, amount.jiao, amount.fen_digit) == (yuan, jiao, fen_digit)
    assert (amount.decimals, amount.negative) == (decimals, negative)
    assert not amount.unit


def test_the_unit_word_after_an_amount_is_the_amounts_in_mandarin_only() -> None:
    amounts = "{a_fen} 元 {b_fen}元。{c_fen}块{n}元{d_fen}"
    templates = {
        "zh-CN": "为{amount_fen}元，确认吗？" + amounts,
        "en": "CNY {amount_fen}, " + amounts,
    }
    catalogue = Catalogue(
        {language: {"m": text, PRESS_KEY: "{label}{digit}"} for language, text in templates.items()}
    )
    params: dict[str, Value] = {
        "amount_fen": 3000, "a_fen": 1, "b_fen": 2, "c_fen": 3, "n": 4, "d_fen": 5,
    }  # fmt: skip
    zh = render_ivr(End(Message("m", params)), catalogue, "zh-CN")
    assert zh.items == (
        Sound("m.0"),  # 为
        SayAmount(3000, unit=True),  # 三十元
        Sound("m.1"),  # ，确认吗？ (its 元 was the amount's)
        SayAmount(1, unit=True),  # " 元 ": the unit word, spaces aside; nothing left to say
        SayAmount(2, unit=True),  # "元。": nothing left to say, so no sound and no number
        SayAmount(3),  # followed by 块, not 元: said without a unit
        Sound("m.2"),  # 块
        SayNumber(4),  # not an amount: its 元 stays a literal
        Sound("m.3"),  # 元
        SayAmount(5),  # nothing follows
    )
    assert prompt_texts(catalogue, "zh-CN") == {
        "m.0": "为", "m.1": "，确认吗？", "m.2": "块", "m.3": "元",
    }  # fmt: skip
    en = render_ivr(End(Message("m", params)), catalogue, "en")
    assert en.items == (
        Sound("m.0"),  # CNY: English has no unit word, its amounts are said without a unit
        SayAmount(3000),  # ", " says nothing
        SayAmount(1),
        Sound("m.1"),  # 元
        SayAmount(2),
        Sound("m.2"),  # 元。
        SayAmount(3),
        Sound("m.3"),  # 块
        SayNumber(4),
        Sound("m.4"),  # 元
        SayAmount(5),
    )


def test_every_mandarin_amount_of_the_catalogue_is_said_with_its_unit() -> None:
    """Every zh-CN template writes 元 right after its amounts: all are said 元角分 (a `*_fen`
    placeholder without 元 would be said without a unit); English never is."""
    for key in sorted(CATALOGUE.keys()):
        params: dict[str, Value] = dict.fromkeys(CATALOGUE.placeholders(key), 5050)
        for language in LANGUAGES:
            items = render_ivr(End(Message(key, params)), CATALOGUE, language).items
            units = {item.unit for item in items if isinstance(item, SayAmount)}
            assert units <= {language == "zh-CN"}, (key, language)


def test_parameters_become_typed_items() -> None:
    catalogue = Catalogue(
        {
            language: {
                "m": "a{msisdn}b{to_msisdn}c{n}d{code}e{name}f{blank}g{amount_fen}",
                PRESS_KEY: "{label}{digit}",
            }
            for language in LANGUAGES
        }
    )
    params: dict[str, Value] = {
        "msisdn": "447911123456",  # abroad: all its digits
        "to_msisdn": "8613800000003",
        "n": 5,
        "code": "0042",
        "name": "Village Shop",
        "blank": " ",
        "amount_fen": 100,
    }
    plan = render_ivr(End(Message("m", params)), catalogue, "en")
    assert plan.items == (
        Sound("m.0"),
        SayDigits("447911123456", telephone=True),
        Sound("m.1"),
        SayDigits("13800000003", telephone=True),
        Sound("m.2"),
        SayNumber(5),
        Sound("m.3"),
        SayDigits("0042", telephone=False),
        Sound("m.4"),
        Speak("Village Shop", "en"),
        Sound("m.5"),
        Sound("m.6"),
        SayAmount(100),
    )


def test_an_unknown_language_falls_back_like_the_catalogue() -> None:
    plan = render_ivr(SCREENS["refusal"], CATALOGUE, "fr")
    assert transcript(plan, CATALOGUE, "zh-CN") == GOLDEN["refusal"]["zh-CN"][0]


def test_a_menu_has_at_most_nine_choices() -> None:
    choices = tuple(Message("agent.menu.topup") for _ in range(choices_per_menu_max))
    plan = render_ivr(Ask(Message("agent.menu"), choices), CATALOGUE, "zh-CN")
    assert plan.items[-1] == SayDigits("9", telephone=False)
    with pytest.raises(ValueError, match="at most 9 choices"):
        render_ivr(Ask(Message("agent.menu"), (*choices, choices[0])), CATALOGUE, "zh-CN")


def test_collection_follows_the_input_spec_of_every_kind() -> None:
    expected = {
        "choice": 2,
        "msisdn": 15,
        "amount": 10,
        "pin": 6,
        "code": 8,
        "regex": 32,
    }  # no choices
    for kind, spec in INPUTS.items():
        plan = render_ivr(Ask(Message("common.ask_pin"), input=spec), CATALOGUE, "en")
        timeout_ms = choice_timeout_ms if kind == "choice" else input_timeout_ms
        assert plan.collect == DtmfCollect(expected[kind], timeout_ms, "#"), kind


def test_the_carrier_names_label_and_digit_in_both_languages() -> None:
    assert CATALOGUE.placeholders(PRESS_KEY) == {"label", "digit"}


def test_missing_parameters_and_operations_are_refused() -> None:
    with pytest.raises(KeyError, match="amount_fen"):
        render_ivr(End(Message("topup.confirm", {"msisdn": "8613900000001"})), CATALOGUE, "en")
    with pytest.raises(TypeError):
        render_ivr(RunOperation("topup", {}), CATALOGUE, "en")


def test_prompt_texts_cover_every_literal_part() -> None:
    for language in LANGUAGES:
        texts = prompt_texts(CATALOGUE, language)
        assert all(text and text == text.strip() for text in texts.values())
    assert prompt_texts(CATALOGUE, "zh-CN")["topup.confirm.2"] == "，确认吗？"  # 元: the amount's
    assert "topup.done.4" not in prompt_texts(CATALOGUE, "zh-CN")  # "元。": nothing left to say
    assert prompt_texts(CATALOGUE, "en")["ivr.press.1"] == "press"
    assert "topup.confirm.2" not in prompt_texts(CATALOGUE, "en")  # "?" is silent


# --- a property over every message of the catalogue -------------------------------------


@given(events(), st.sampled_from(LANGUAGES))
def test_any_message_renders_and_names_only_known_sounds(event: Event, language: str) -> None:
    plan = render_ivr(event, CATALOGUE, language)
    known = prompt_texts(CATALOGUE, language)
    assert all(item.name in known for item in plan.items if isinstance(item, Sound))
    assert plan.hangup == isinstance(event, End)
