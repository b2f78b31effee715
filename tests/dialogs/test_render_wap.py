"""WAP pages: the top-up screens as WML 1.3 decks and XHTML-MP 1.2 pages, their forms,
escaping (XML and WML's `$`), and well-formedness for any parameter text.

Expectations are written out by hand; pages are read back with the standard library's XML
parser. Validation against the WML 1.3 and XHTML-MP 1.2 DTDs is in `test_render_wap_dtd.py`."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialogs.catalogue import Catalogue
from dialogs.engine import CONFIRM_CHOICES, Engine
from dialogs.events import INPUTS, Ask, End, Event, Message, RunOperation, Value
from dialogs.flow import load_flows
from dialogs.render.wap import (
    WML_CONTENT_TYPE,
    XHTML_CONTENT_TYPE,
    ZERO_WIDTH_SPACE,
    FormTarget,
    PageLink,
    WapPage,
    allow_line_breaks,
    render_wml,
    render_xhtml,
    wml_format,
)
from tests.dialogs.readers import XML_LANG, X, parse_page, wml_summary, xhtml_summary

CATALOGUE = Catalogue.load()
FORM = FormTarget("/wap/step?s=7&v=2", "tok-123", {"session": "sess-42"})
MSISDN = "8613900000001"

MENU = Ask(Message("agent.menu"), (Message("agent.menu.topup"), Message("agent.menu.balance")))
ASK_MSISDN = Ask(Message("topup.ask_msisdn"), input=INPUTS["msisdn"])
ASK_AMOUNT = Ask(Message("topup.ask_amount", {"msisdn": MSISDN}), input=INPUTS["amount"])
ASK_PIN = Ask(Message("common.ask_pin"), input=INPUTS["pin"])
CONFIRM = Ask(Message("topup.confirm", {"msisdn": MSISDN, "amount_fen": 5000}), CONFIRM_CHOICES)
DONE = End(
    Message("topup.done", {"msisdn": MSISDN, "amount_fen": 5000, "ref": "R1", "balance_fen": 95000})
)
REFUSED = Ask(
    Message("topup.ask_amount"), input=INPUTS["amount"], notice=Message("input.invalid.amount")
)
SCREENS: dict[str, Event] = {
    "menu": MENU,
    "msisdn": ASK_MSISDN,
    "amount": ASK_AMOUNT,
    "pin": ASK_PIN,
    "confirm": CONFIRM,
    "done": DONE,
    "refused": REFUSED,
}

WML_ENTRY = {
    "msisdn": {
        "name": "input",
        "type": "text",
        "format": "*N",
        "maxlength": "15",
        "emptyok": "false",
    },
    "amount": {
        "name": "input",
        "type": "text",
        "format": "*m",
        "maxlength": "10",
        "emptyok": "false",
    },
    "pin": {
        "name": "input",
        "type": "password",
        "format": "NNNNNN",
        "maxlength": "6",
        "emptyok": "false",
    },
}
XHTML_ENTRY = {
    "msisdn": {
        "type": "text",
        "name": "input",
        "id": "input",
        "size": "10",  # what fits 128 pixels; the field scrolls to 15
        "maxlength": "15",
        "inputmode": "digits",
    },
    "amount": {"type": "text", "name": "input", "id": "input", "size": "10", "maxlength": "10"},
    "pin": {
        "type": "password",
        "name": "input",
        "id": "input",
        "size": "6",
        "maxlength": "6",
        "inputmode": "digits",
    },
}

# (screen, language) -> title, notice, prompt, choices as (value, label), entry kind, submit.
EXPECTED: dict[tuple[str, str], dict[str, Any]] = {
    ("menu", "zh-CN"): {
        "title": "空中充值",
        "notice": None,
        "text": "代理商服务",
        "choices": [("1", "话费充值"), ("2", "余额查询")],
        "entry": None,
        "submit": "确定",
    },
    ("menu", "en"): {
        "title": "AirCharge",
        "notice": None,
        "text": "Agent services",
        "choices": [("1", "Top up"), ("2", "Balance")],
        "entry": None,
        "submit": "OK",
    },
    ("msisdn", "zh-CN"): {
        "title": "空中充值",
        "notice": None,
        "text": "请输入充值号码",
        "choices": [],
        "entry": "msisdn",
        "submit": "确定",
    },
    ("msisdn", "en"): {
        "title": "AirCharge",
        "notice": None,
        "text": "Enter the number to top up",
        "choices": [],
        "entry": "msisdn",
        "submit": "OK",
    },
    ("amount", "zh-CN"): {
        "title": "空中充值",
        "notice": None,
        "text": "请输入充值金额（元）",
        "choices": [],
        "entry": "amount",
        "submit": "确定",
    },
    ("amount", "en"): {
        "title": "AirCharge",
        "notice": None,
        "text": "Enter the amount (CNY)",
        "choices": [],
        "entry": "amount",
        "submit": "OK",
    },
    ("pin", "zh-CN"): {
        "title": "空中充值",
        "notice": None,
        "text": "请输入6位密码",
        "choices": [],
        "entry": "pin",
        "submit": "确定",
    },
    ("pin", "en"): {
        "title": "AirCharge",
        "notice": None,
        "text": "Enter your 6-digit PIN",
        "choices": [],
        "entry": "pin",
        "submit": "OK",
    },
    ("confirm", "zh-CN"): {
        "title": "空中充值",
        "notice": None,
        "text": "为13900000001充值50.00元，确认吗？",
        "choices": [("1", "确认"), ("2", "取消")],
        "entry": None,
        "submit": "确定",
    },
    ("confirm", "en"): {
        "title": "AirCharge",
        "notice": None,
        "text": "Top up 13900000001 with CNY 50.00?",
        "choices": [("1", "Confirm"), ("2", "Cancel")],
        "entry": None,
        "submit": "OK",
    },
    ("done", "zh-CN"): {
        "title": "空中充值",
        "notice": None,
        "text": "充值成功：13900000001到账50.00元，流水号R1，余额950.00元。",
        "choices": [],
        "entry": None,
        "submit": None,
    },
    ("done", "en"): {
        "title": "AirCharge",
        "notice": None,
        "text": "Done: 13900000001 received CNY 50.00. Ref R1. Your balance: CNY 950.00.",
        "choices": [],
        "entry": None,
        "submit": None,
    },
    ("refused", "zh-CN"): {
        "title": "空中充值",
        "notice": "金额无效，请输入元，最多两位小数，如50或50.5。",
        "text": "请输入充值金额（元）",
        "choices": [],
        "entry": "amount",
        "submit": "确定",
    },
    ("refused", "en"): {
        "title": "AirCharge",
        "notice": "Invalid amount. Enter yuan with at most 2 decimals, e.g. 50 or 50.5.",
        "text": "Enter the amount (CNY)",
        "choices": [],
        "entry": "amount",
        "submit": "OK",
    },
}

WML_MENU_ZH = """\
<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE wml PUBLIC "-//WAPFORUM//DTD WML 1.3//EN" "http://www.wapforum.org/DTD/wml13.dtd">
<wml xml:lang="zh-CN">
<card id="screen" title="空中充值" newcontext="true">
<p>代理商服务</p>
<p><select name="input">
<option value="1">话费充值</option>
<option value="2">余额查询</option>
</select></p>
<do type="accept" label="确定">
<go method="post" href="/wap/step?s=7&amp;v=2">
<postfield name="token" value="tok-123"/>
<postfield name="session" value="sess-42"/>
<postfield name="input" value="$(input)"/>
</go>
</do>
</card>
</wml>
"""

XHTML_REFUSED_PIN_EN = """\
<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE html PUBLIC "-//WAPFORUM//DTD XHTML Mobile 1.2//EN" \
"http://www.openmobilealliance.org/tech/DTD/xhtml-mobile12.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en">
<head>
<title>AirCharge</title>
</head>
<body>
<p><strong>The PIN is 6 digits.</strong></p>
<form method="post" action="/wap/step?s=7&amp;v=2">
<div>
<input type="hidden" name="token" value="tok-123" />
<input type="hidden" name="session" value="sess-42" />
</div>
<p><label for="input">Enter your 6-digit PIN</label><br />
<input type="password" name="input" id="input" size="6" maxlength="6" inputmode="digits" /></p>
<p><input type="submit" value="OK" /></p>
</form>
</body>
</html>
"""

XHTML_CONFIRM_ZH_CHOICES = """\
<p>为13900000001充值50.00元，确认吗？</p>
<p>
<input type="radio" name="input" id="input-1" value="1" accesskey="1" />\
<label for="input-1">1. 确认</label><br />
<input type="radio" name="input" id="input-2" value="2" accesskey="2" />\
<label for="input-2">2. 取消</label>
</p>
"""


def _wml_post(page: WapPage) -> tuple[str | None, str | None, list[tuple[str, str]]]:
    root = parse_page(page)
    do = root.find("card/do")
    assert do is not None
    assert do.get("type") == "accept"
    go = do.find("go")
    assert go is not None
    fields = [(f.get("name", ""), f.get("value", "")) for f in go.findall("postfield")]
    return go.get("method"), go.get("href"), fields


def _xhtml_post(page: WapPage) -> tuple[str | None, str | None, list[tuple[str, str]]]:
    form = parse_page(page).find(f"{X}body/{X}form")
    assert form is not None
    hidden = [
        (i.get("name", ""), i.get("value", ""))
        for i in form.iter(f"{X}input")
        if i.get("type") == "hidden"
    ]
    return form.get("method"), form.get("action"), hidden


@pytest.mark.parametrize(("screen", "language"), sorted(EXPECTED))
def test_top_up_screens_as_wml(screen: str, language: str) -> None:
    page = render_wml(SCREENS[screen], CATALOGUE, language, FORM)
    expected = dict(EXPECTED[(screen, language)])
    kind = expected["entry"]
    expected["entry"] = None if kind is None else WML_ENTRY[kind]
    assert page.content_type == "text/vnd.wap.wml; charset=utf-8"
    assert wml_summary(page) == expected
    assert parse_page(page).get(XML_LANG) == language


@pytest.mark.parametrize(("screen", "language"), sorted(EXPECTED))
def test_top_up_screens_as_xhtml(screen: str, language: str) -> None:
    page = render_xhtml(SCREENS[screen], CATALOGUE, language, FORM)
    expected = dict(EXPECTED[(screen, language)])
    kind = expected["entry"]
    expected["entry"] = None if kind is None else XHTML_ENTRY[kind]
    expected["choices"] = [(value, f"{value}. {label}") for value, label in expected["choices"]]
    assert page.content_type == "application/vnd.wap.xhtml+xml; charset=utf-8"
    assert xhtml_summary(page) == expected
    assert parse_page(page).get(XML_LANG) == language


def test_content_type_constants() -> None:
    assert WML_CONTENT_TYPE == "text/vnd.wap.wml; charset=utf-8"
    assert XHTML_CONTENT_TYPE == "application/vnd.wap.xhtml+xml; charset=utf-8"


def test_whole_documents() -> None:
    assert render_wml(MENU, CATALOGUE, "zh-CN", FORM).body == WML_MENU_ZH
    pin_again = Ask(
        Message("common.ask_pin"), input=INPUTS["pin"], notice=Message("input.invalid.pin")
    )
    assert render_xhtml(pin_again, CATALOGUE, "en", FORM).body == XHTML_REFUSED_PIN_EN
    assert XHTML_CONFIRM_ZH_CHOICES in render_xhtml(CONFIRM, CATALOGUE, "zh-CN", FORM).body


@pytest.mark.parametrize("screen", ["menu", "msisdn", "amount", "pin", "confirm", "refused"])
def test_forms_post_the_token_the_fields_and_the_input(screen: str) -> None:
    wml = render_wml(SCREENS[screen], CATALOGUE, "en", FORM)
    assert _wml_post(wml) == (
        "post",
        "/wap/step?s=7&v=2",
        [("token", "tok-123"), ("session", "sess-42"), ("input", "$(input)")],
    )
    xhtml = render_xhtml(SCREENS[screen], CATALOGUE, "en", FORM)
    assert _xhtml_post(xhtml) == (
        "post",
        "/wap/step?s=7&v=2",
        [("token", "tok-123"), ("session", "sess-42")],
    )


def test_the_end_has_no_form() -> None:
    wml = render_wml(DONE, CATALOGUE, "zh-CN", FORM).body
    xhtml = render_xhtml(DONE, CATALOGUE, "zh-CN", FORM).body
    for absent in ("<do", "<go", "postfield", "tok-123", "sess-42"):
        assert absent not in wml
    for absent in ("<form", "<input", "tok-123", "sess-42"):
        assert absent not in xhtml


def test_an_end_may_carry_a_link_and_needs_no_form() -> None:
    link = PageLink('/wap/?a=1&b="$"', Message("wap.again"))
    wml = render_wml(DONE, CATALOGUE, "zh-CN", None, link)
    xhtml = render_xhtml(DONE, CATALOGUE, "en", None, link)
    assert '<p><a href="/wap/?a=1&amp;b=&#34;$$&#34;">重新开始</a></p>' in wml.body
    assert '<p><a href="/wap/?a=1&amp;b=&#34;$&#34;">Start again</a></p>' in xhtml.body
    for page in (wml, xhtml):
        parse_page(page)
    assert "<a " not in render_wml(DONE, CATALOGUE, "zh-CN", None).body
    with pytest.raises(AssertionError, match="needs a form"):
        render_xhtml(ASK_PIN, CATALOGUE, "zh-CN", None)


def test_parameters_are_escaped_in_both_formats() -> None:
    hostile = "<&\"'>$"
    done = End(
        Message(
            "topup.done",
            {"msisdn": MSISDN, "amount_fen": 5000, "ref": hostile, "balance_fen": 95000},
        )
    )
    wml = render_wml(done, CATALOGUE, "zh-CN", FORM)
    xhtml = render_xhtml(done, CATALOGUE, "en", FORM)
    assert "流水号&lt;&amp;&#34;&#39;&gt;$$，" in wml.body
    assert "Ref &lt;&amp;&#34;&#39;&gt;$. " in xhtml.body
    assert "<&\"'>" not in wml.body
    assert "<&\"'>" not in xhtml.body
    assert wml_summary(wml)["text"] == (
        "充值成功：13900000001到账50.00元，流水号<&\"'>$$，余额950.00元。"
    )
    assert xhtml_summary(xhtml)["text"] == (
        "Done: 13900000001 received CNY 50.00. Ref <&\"'>$. Your balance: CNY 950.00."
    )


def test_dollar_is_doubled_everywhere_in_wml_but_the_input_reference() -> None:
    form = FormTarget('/wap/?a=1&b="$"', "to$ken", {"session": "s$<1>"})
    prompt = Message("outcome.pending", {"ref": "$(input) $5"})
    wml = render_wml(Ask(prompt, CONFIRM_CHOICES), CATALOGUE, "en", form)
    assert re.findall(r"(?<!\$)\$\(input\)", wml.body) == ["$(input)"]  # the postfield only
    assert 'href="/wap/?a=1&amp;b=&#34;$$&#34;"' in wml.body
    assert _wml_post(wml) == (
        "post",
        '/wap/?a=1&b="$$"',
        [("token", "to$$ken"), ("session", "s$$<1>"), ("input", "$(input)")],
    )
    assert wml_summary(wml)["text"] == (
        "Processing; you will get an SMS with the result. Ref $$(input) $$5."
    )
    xhtml = render_xhtml(Ask(prompt, CONFIRM_CHOICES), CATALOGUE, "en", form)
    assert _xhtml_post(xhtml) == (
        "post",
        '/wap/?a=1&b="$"',
        [("token", "to$ken"), ("session", "s$<1>")],
    )
    assert xhtml_summary(xhtml)["text"] == (
        "Processing; you will get an SMS with the result. Ref $(input) $5."
    )


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_xhtml_has_no_script_style_table_or_width(screen: str) -> None:
    for language in ("zh-CN", "en"):
        body = render_xhtml(SCREENS[screen], CATALOGUE, language, FORM).body.lower()
        for banned in ("<script", "style", "<table", "width", "onclick", "&nbsp;"):
            assert banned not in body


LONG_REF = "AC261126235959ABCDEF0123"


def test_long_runs_may_break_in_xhtml_only() -> None:
    z = ZERO_WIDTH_SPACE
    assert allow_line_breaks("Call 13900000001 now") == "Call 13900000001 now"  # 11 digits
    assert allow_line_breaks("+8613900000001") == f"+8613900{z}000001"
    assert allow_line_breaks(f"Ref {LONG_REF}.") == f"Ref AC261126{z}235959AB{z}CDEF0123{z}."
    assert allow_line_breaks("CNY 10,000,000.00") == f"CNY 10,{z}000,{z}000.{z}00"
    assert allow_line_breaks("余额10,000,000.00元") == f"余额10,{z}000,{z}000.{z}00元"
    assert allow_line_breaks("请输入充值号码请输入充值号码") == "请输入充值号码请输入充值号码"
    done = End(
        Message(
            "topup.done",
            {"msisdn": MSISDN, "amount_fen": 5000, "ref": LONG_REF, "balance_fen": 95000},
        )
    )
    form = FormTarget(f"/wap/?ref={LONG_REF}", LONG_REF, {"session": LONG_REF})
    xhtml = render_xhtml(done, CATALOGUE, "en", form).body
    assert f"Ref AC261126{z}235959AB{z}CDEF0123{z}." in xhtml
    wml = render_wml(done, CATALOGUE, "en", form).body
    assert z not in wml
    asking = render_xhtml(Ask(Message("agent.menu"), CONFIRM_CHOICES), CATALOGUE, "en", form)
    assert asking.body.count(LONG_REF) == 3  # the URL, the token and the field stay whole
    assert z not in asking.body


def test_input_masks() -> None:
    assert wml_format(INPUTS["pin"]) == "NNNNNN"
    assert wml_format(INPUTS["msisdn"]) == "*N"
    assert wml_format(INPUTS["amount"]) == "*m"
    assert wml_format(INPUTS["choice"]) == "*N"


def test_an_unknown_language_falls_back_to_chinese() -> None:
    assert parse_page(render_wml(MENU, CATALOGUE, "fr", FORM)).get(XML_LANG) == "zh-CN"
    assert xhtml_summary(render_xhtml(MENU, CATALOGUE, "fr", FORM))["text"] == "代理商服务"


def test_an_operation_is_never_rendered() -> None:
    run = RunOperation("topup", {"msisdn": MSISDN})
    with pytest.raises(TypeError, match="RunOperation"):
        render_wml(run, CATALOGUE, "en", FORM)
    with pytest.raises(TypeError, match="RunOperation"):
        render_xhtml(run, CATALOGUE, "en", FORM)


@pytest.mark.parametrize("name", ["token", "input", "bad name", ""])
def test_form_fields_may_not_shadow_the_renderers_own(name: str) -> None:
    with pytest.raises(AssertionError):
        FormTarget("/wap/", "t", {name: "x"})


def test_a_whole_top_up_journey_renders_in_both_formats() -> None:
    engine = Engine(load_flows())
    step = engine.start("agent_main", "en")
    shown = []
    for text in ("1", "13900000001", "fifty", "50", "333333", "1"):
        shown.append(step.event)
        step = engine.feed(step.state, text, lambda pin: f"sealed:{pin}")
    assert isinstance(step.event, RunOperation)
    with pytest.raises(TypeError):
        render_wml(step.event, CATALOGUE, "en", FORM)
    step = engine.resume(step.state, "ok", {"ref": "R9", "balance_fen": 45000})
    shown.append(step.event)
    texts = [xhtml_summary(render_xhtml(event, CATALOGUE, "en", FORM))["text"] for event in shown]
    assert texts == [
        "Agent services",
        "Enter the number to top up",
        "Enter the amount (CNY)",
        "Enter the amount (CNY)",
        "Enter your 6-digit PIN",
        "Top up 13900000001 with CNY 50.00?",
        "Done: 13900000001 received CNY 50.00. Ref R9. Your balance: CNY 450.00.",
    ]
    notices = [wml_summary(render_wml(event, CATALOGUE, "en", FORM))["notice"] for event in shown]
    assert notices == [
        None,
        None,
        None,
        "Invalid amount. Enter yuan with at most 2 decimals, e.g. 50 or 50.5.",
        None,
        None,
        None,
    ]


# --- any catalogue message, any parameter text -------------------------------------------

HOSTILE = [
    "<",
    ">",
    "&",
    '"',
    "'",
    "$",
    "$(input)",
    "<script>alert(1)</script>",
    "</p></card></wml>",
    "]]>",
    "<!--",
    "&nbsp;",
    "&#0;",
    "\x00",
    "\x1b",
    "\x0c",
    "\ud800",
    "\udfff",
    "\ufffe",
    "\uffff",
    "\r\n",
    "\r",
    "{msisdn}",
]
PARAMS: st.SearchStrategy[Value] = st.one_of(
    st.text(st.characters(exclude_categories=())),
    st.lists(st.sampled_from(HOSTILE)).map("".join),
    st.integers(),
)
KEYS = sorted(CATALOGUE.keys())


@st.composite
def messages(draw: st.DrawFn) -> Message:
    key = draw(st.sampled_from(KEYS))
    return Message(key, {name: draw(PARAMS) for name in sorted(CATALOGUE.placeholders(key))})


SHAPE_MESSAGES = {"end": 1, "entry": 2, "choice": 3}  # how many of the three a shape shows


def _shape(shape: str, parts: list[Message]) -> Event:
    first, second, third = parts
    if shape == "end":
        return End(first)
    if shape == "choice":
        return Ask(first, (second, third), notice=third)
    return Ask(first, input=INPUTS["pin"], notice=second)


def _plain(message: Message) -> Message:
    return Message(message.key, dict.fromkeys(message.params, "x"))


def _is_xml_char(code: int) -> bool:
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


def _as_parsed(text: str, wml: bool) -> str:
    """The text an XML parser reads back: forbidden characters as U+FFFD, line ends as LF;
    in WML `$` doubled, in XHTML long runs with their break opportunities."""
    text = "".join(c if _is_xml_char(ord(c)) else "\ufffd" for c in text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("$", "$$") if wml else allow_line_breaks(text)


@given(
    shape=st.sampled_from(["end", "choice", "entry"]),
    parts=st.lists(messages(), min_size=3, max_size=3),
    language=st.sampled_from(["zh-CN", "en"]),
)
def test_any_message_renders_to_well_formed_xml(
    shape: str, parts: list[Message], language: str
) -> None:
    event = _shape(shape, parts)
    plain = _shape(shape, [_plain(part) for part in parts])
    for render, wml in ((render_wml, True), (render_xhtml, False)):
        page = render(event, CATALOGUE, language, FORM)
        root = parse_page(page)  # well-formed, and no named entity
        # A parameter adds no markup: as many '<' as with harmless parameters.
        assert page.body.count("<") == render(plain, CATALOGUE, language, FORM).body.count("<")
        shown = "".join(root.itertext())
        for part in parts[: SHAPE_MESSAGES[shape]]:
            assert _as_parsed(CATALOGUE.text(language, part), wml) in shown
