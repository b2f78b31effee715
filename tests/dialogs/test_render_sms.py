"""SMS replies: the top-up screens and the help for every command kind in both languages
written out by hand, SMS part counting at the GSM 7-bit and UCS-2 boundaries, and a
hypothesis property over the catalogue."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialogs.catalogue import Catalogue
from dialogs.engine import CONFIRM_CHOICES
from dialogs.events import INPUTS, Ask, End, Event, Message, RunOperation, Value
from dialogs.grammar import COMMAND_KINDS, ParseError, parse_command
from dialogs.gsm import DEFAULT_ALPHABET, EXTENSION
from dialogs.gsm import septets as gsm_septets
from dialogs.render.sms import (
    SmsReply,
    render_sms,
    sms_help,
    sms_segments,
)
from tests.dialogs.strategies import events

CATALOGUE = Catalogue.load()
LANGUAGES = ("zh-CN", "en")
REF = "AC250101120000A1B2C3D4E5"
TOPUP: Mapping[str, Value] = {"msisdn": "8613900000001", "amount_fen": 5050}

SCREENS: dict[str, Event] = {
    "menu": Ask(
        Message("agent.menu"), (Message("agent.menu.topup"), Message("agent.menu.balance"))
    ),
    "ask msisdn": Ask(Message("topup.ask_msisdn"), input=INPUTS["msisdn"]),
    "ask amount": Ask(Message("topup.ask_amount"), input=INPUTS["amount"]),
    "ask pin again": Ask(
        Message("common.ask_pin"), (), INPUTS["pin"], notice=Message("input.invalid.pin")
    ),
    "confirm": Ask(Message("topup.confirm", TOPUP), CONFIRM_CHOICES),
    "done": End(
        Message("topup.done", {**TOPUP, "pin": "333333", "ref": REF, "balance_fen": 44950})
    ),
    "refusal": End(Message("outcome.unknown_subscriber", {"msisdn": "8613600000000"})),
    "transfer code": Ask(Message("transfer.ask_code"), input=INPUTS["code"]),
}

GOLDEN: dict[str, dict[str, str]] = {
    "menu": {
        "zh-CN": "代理商服务\n1. 话费充值\n2. 余额查询",
        "en": "Agent services\n1. Top up\n2. Balance",
    },
    "ask msisdn": {"zh-CN": "请输入充值号码", "en": "Enter the number to top up"},
    "ask amount": {"zh-CN": "请输入充值金额（元）", "en": "Enter the amount (CNY)"},
    "ask pin again": {
        "zh-CN": "密码须为6位数字。\n请输入6位密码",
        "en": "The PIN is 6 digits.\nEnter your 6-digit PIN",
    },
    "confirm": {
        "zh-CN": "为13900000001充值50.50元，确认吗？\n1. 确认\n2. 取消",
        "en": "Top up 13900000001 with CNY 50.50?\n1. Confirm\n2. Cancel",
    },
    "done": {
        "zh-CN": f"充值成功：13900000001到账50.50元，流水号{REF}，余额449.50元。",
        "en": f"Done: 13900000001 received CNY 50.50. Ref {REF}. Your balance: CNY 449.50.",
    },
    "refusal": {
        "zh-CN": "号码13600000000不存在，未扣款。",
        "en": "Number 13600000000 does not exist; nothing was charged.",
    },
    "transfer code": {  # worded for SMS (`transfer.ask_code.sms`): no session to type into
        "zh-CN": "验证码已通过短信发送，请回复 Y 验证码 确认转赠。",
        "en": "A code was sent to you by SMS; reply Y and the code to confirm.",
    },
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("screen", list(SCREENS))
def test_golden_top_up_screens(screen: str, language: str) -> None:
    assert render_sms(SCREENS[screen], CATALOGUE, language) == SmsReply(GOLDEN[screen][language])


def test_operations_are_not_replies() -> None:
    with pytest.raises(TypeError):
        render_sms(RunOperation("topup", {}), CATALOGUE, "en")


GENERAL_HELP = {
    "zh-CN": "短信指令（金额以元为单位）：充值 CZ 手机号 金额 密码；缴费 JF 手机号 金额 密码；"
    "划拨 HB 下级代理商手机号 金额 密码；转账 ZZ 手机号 金额；确认 Y 确认码；余额 YE 密码；"
    "查询 CX 密码；改密 MM 旧密码 新密码 新密码；帮助 BZ。",
    "en": "SMS commands (fields separated by spaces, amounts in yuan): "
    "TOPUP number amount PIN; PAY number amount PIN; ALLOT agent-number amount PIN; "
    "SEND number amount; Y code to confirm; BAL PIN; HIST PIN; PIN old new new; HELP.",
}

USAGE: dict[str, dict[str, str]] = {
    "topup": {
        "zh-CN": "充值：CZ 手机号 金额 密码，如 CZ 13900000001 50 123456",
        "en": "Top up: TOPUP number amount PIN, e.g. TOPUP 13900000001 50 123456",
    },
    "billpay": {
        "zh-CN": "缴费：JF 手机号 金额 密码，如 JF 13700000001 58 123456",
        "en": "Pay a bill: PAY number amount PIN, e.g. PAY 13700000001 58 123456",
    },
    "allot": {
        "zh-CN": "划拨：HB 下级代理商手机号 金额 密码，如 HB 13800000003 500 123456",
        "en": "Allot deposit: ALLOT agent-number amount PIN, e.g. ALLOT 13800000003 500 123456",
    },
    "transfer": {
        "zh-CN": "转账：ZZ 手机号 金额，如 ZZ 13900000002 10，收到确认码后回复 Y 确认码",
        "en": "Send balance: SEND number amount, e.g. SEND 13900000002 10,"
        " then reply Y and the code you receive",
    },
    "confirm": {"zh-CN": "确认：Y 确认码，如 Y 4821", "en": "Confirm: Y code, e.g. Y 4821"},
    "balance": {
        "zh-CN": "余额查询：YE 密码，如 YE 123456",
        "en": "Balance: BAL PIN, e.g. BAL 123456",
    },
    "history": {
        "zh-CN": "查询最近5笔交易：CX 密码，如 CX 123456",
        "en": "Last 5 transactions: HIST PIN, e.g. HIST 123456",
    },
    "change_pin": {
        "zh-CN": "修改密码：MM 旧密码 新密码 新密码，如 MM 123456 802417 802417",
        "en": "Change PIN: PIN old new new, e.g. PIN 123456 802417 802417",
    },
    "help": GENERAL_HELP,  # the help command's usage is the general help
}


def test_usage_is_written_for_every_command_kind() -> None:
    assert set(USAGE) == COMMAND_KINDS


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", sorted(COMMAND_KINDS))
def test_help_for_a_recognised_keyword_is_its_usage(kind: str, language: str) -> None:
    reply = sms_help(ParseError("extra_field", kind), CATALOGUE, language)
    assert reply == SmsReply(USAGE[kind][language])
    assert reply.segments == (2 if kind == "help" else 1), "a usage line is one SMS"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("error", [None, ParseError("unknown_keyword"), ParseError("empty")])
def test_general_help_without_a_keyword(error: ParseError | None, language: str) -> None:
    assert sms_help(error, CATALOGUE, language) == SmsReply(GENERAL_HELP[language])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CZ 13900000001 50", USAGE["topup"]["zh-CN"]),  # missing PIN
        ("余额12345", USAGE["balance"]["zh-CN"]),  # a bad PIN glued to a Chinese keyword
        ("MM 111111 222222 333333", USAGE["change_pin"]["zh-CN"]),
        ("BZ CZ", GENERAL_HELP["zh-CN"]),
        ("hello", GENERAL_HELP["zh-CN"]),
    ],
)
def test_help_answers_what_the_parser_found(text: str, expected: str) -> None:
    error = parse_command(text)
    assert isinstance(error, ParseError)
    assert sms_help(error, CATALOGUE, "zh-CN").text == expected


# --- counting SMS parts -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),  # 2 x 153
        ("a" * 307, 3),
        ("中" * 70, 1),
        ("中" * 71, 2),
        ("中" * 134, 2),  # 2 x 67
        ("中" * 135, 3),
        ("a" * 159 + "中", 3),  # one Chinese character turns all of it to UCS-2
        ("€" * 80, 1),  # extension characters take two septets each
        ("€" * 81, 2),
        ("^" * 80, 1),
        ("^" * 80 + "a", 2),
        ("{" * 80, 1),
        ("{" * 81, 2),
        ("a" * 159 + "€", 2),
        ("a" * 152 + "€" + "a" * 7, 2),  # 161 septets; the escape pair moves whole: 152 + 9
        ("a" * 152 + "€" + "a" * 152, 3),  # 306 septets, but the pair cannot be split
        ("😀" * 35, 1),  # outside the BMP: two UTF-16 units each
        ("😀" * 36, 2),
        ("中" * 66 + "😀" + "中" * 3, 2),  # 70 units in 1 part fits; this one is 71
    ],
)
def test_sms_parts(text: str, parts: int) -> None:
    assert sms_segments(text) == parts


def test_the_gsm_tables() -> None:
    assert len(DEFAULT_ALPHABET) == 128
    assert (DEFAULT_ALPHABET[0x00], DEFAULT_ALPHABET[0x7F]) == ("@", "à")
    basic = "@£$¥ \n\rÄÖÑÜ§¿äöñüàΔ_ΦΓΛΩΠΨΣΘΞ"
    assert gsm_septets(basic) == len(basic)
    assert gsm_septets(EXTENSION) == 2 * len(EXTENSION)
    assert gsm_septets("\x1b") is None, "the escape is not a character of its own"
    assert (gsm_septets("中"), gsm_septets("`"), gsm_septets("ç")) == (None, None, None)


# --- a property over every message of the catalogue -------------------------------------


@given(events(), st.sampled_from(LANGUAGES))
def test_any_message_renders(event: Event, language: str) -> None:
    reply = render_sms(event, CATALOGUE, language)
    assert reply.segments >= 1


def _fits(total: int, parts: int, single_max: int, concatenated_max: int) -> bool:
    """One part when it fits one; else every part but the last is full, give or take the
    one unit an unsplit pair leaves empty."""
    if total <= single_max:
        return parts == 1
    return (concatenated_max - 1) * (parts - 1) < total <= concatenated_max * parts


GSM_CHARACTERS = DEFAULT_ALPHABET.replace("\x1b", "") + EXTENSION


@given(st.text(st.sampled_from(GSM_CHARACTERS), max_size=700) | st.text(max_size=300))
def test_parts_hold_the_text(text: str) -> None:
    parts = sms_segments(text)
    septets = gsm_septets(text)
    if septets is not None:
        assert _fits(septets, parts, 160, 153)
    else:
        assert _fits(len(text.encode("utf-16-le", "surrogatepass")) // 2, parts, 70, 67)
