"""The browser model on the platform's own pages (rendered by `dialogs.render.wap`): what the
screen shows, what the fields take, and the request a submit makes, in WML and XHTML-MP."""

from __future__ import annotations

import urllib.parse

import pytest

from dialogs.events import Ask, Message
from dialogs.render.wap import FormTarget
from simulator.wap_browser import (
    FORM_TYPE,
    Choice,
    Entry,
    EntryRefused,
    Hidden,
    WapBrowser,
)
from tests.simulator.wap_browser.pages import (
    ASK_AMOUNT,
    ASK_MSISDN,
    ASK_PIN,
    CONFIRM,
    DONE,
    MENU,
    URL,
    browser_on,
)


def test_a_wml_menu_is_a_select_with_the_first_option_chosen():
    browser = browser_on(MENU, "wml")
    screen = browser.screen
    assert screen is not None
    assert (screen.flavour, screen.title, screen.lines) == ("wml", "空中充值", ("代理商服务",))
    [choice] = screen.inputs
    assert isinstance(choice, Choice)
    assert [(o.value, o.label) for o in choice.options] == [("1", "话费充值"), ("2", "余额查询")]
    assert browser.values == {"input": "1"}  # WML selects the first option on arrival
    assert browser.lines() == [
        "空中充值",
        "------------------",
        "代理商服务",
        "(*) 1. 话费充值",
        "( ) 2. 余额查询",
        "[ 确定 ]",
    ]
    browser.choose("2")
    assert browser.lines()[4] == "(*) 2. 余额查询"
    with pytest.raises(EntryRefused, match="not one of the choices"):
        browser.choose("3")
    assert browser.values == {"input": "2"}


def test_an_xhtml_menu_is_radio_buttons_with_none_chosen():
    browser = browser_on(MENU, "xhtml", "en")
    screen = browser.screen
    assert screen is not None
    assert (screen.title, screen.lines) == ("AirCharge", ("Agent services",))
    assert browser.lines() == [
        "AirCharge",
        "------------------",
        "Agent services",
        "( ) 1. Top up",
        "( ) 2. Balance",
        "[ OK ]",
    ]
    assert screen.form is not None
    assert [f for f in screen.form.fields if isinstance(f, Hidden)] == [
        Hidden("token", "tok-1"),
        Hidden("session", "s-1"),
    ]
    # Nothing chosen: the browser sends no `input` (the engine answers "invalid choice").
    assert browser.submission().fields == (("token", "tok-1"), ("session", "s-1"))
    browser.choose("1")
    assert browser.submission().fields == (("token", "tok-1"), ("session", "s-1"), ("input", "1"))


def test_a_wml_pin_takes_six_digits_shown_masked():
    browser = browser_on(ASK_PIN, "wml")
    [entry] = browser.screen.inputs if browser.screen else ()
    assert isinstance(entry, Entry)
    assert (entry.password, entry.max_length, entry.empty_ok) == (True, 6, False)
    with pytest.raises(EntryRefused, match="may not be left empty"):
        browser.submission()
    browser.type("1234")
    refused = "'a' refused at position 6: format NNNNNN takes a digit there"
    with pytest.raises(EntryRefused, match=refused):
        browser.type("5a")
    assert browser.values["input"] == "1234"  # a refused key types nothing
    with pytest.raises(EntryRefused, match="incomplete: format NNNNNN needs 6 characters, 4"):
        browser.submission()
    browser.type("56")
    with pytest.raises(EntryRefused, match="at most 6 characters"):
        browser.type("7")
    assert browser.lines()[-2:] == ["[******]", "[ 确定 ]"]
    assert "123456" not in browser.text()
    browser.erase(count=2)
    assert browser.values["input"] == "1234"


def test_a_wml_number_takes_digits_up_to_its_maxlength():
    browser = browser_on(ASK_MSISDN, "wml")
    with pytest.raises(EntryRefused, match="takes a digit"):
        browser.type("+86")
    browser.type("139000000011234")
    with pytest.raises(EntryRefused, match="at most 15 characters"):
        browser.type("5")
    browser.fill("13900000001")
    assert browser.submission().fields[-1] == ("input", "13900000001")


def test_a_wml_amount_takes_a_decimal_point():
    browser = browser_on(ASK_AMOUNT, "wml")
    browser.type("50.5")
    assert browser.submission().fields[-1] == ("input", "50.5")


def test_an_xhtml_pin_is_limited_by_maxlength_only():
    browser = browser_on(ASK_PIN, "xhtml")
    [entry] = browser.screen.inputs if browser.screen else ()
    assert isinstance(entry, Entry)
    assert (entry.password, entry.max_length, entry.digits_hint) == (True, 6, True)
    browser.type("12345a")  # inputmode is a hint the user can switch: a letter goes in
    with pytest.raises(EntryRefused, match="at most 6 characters"):
        browser.type("7")
    assert browser.lines()[-2:] == ["[******]", "[ 确定 ]"]


def test_a_confirmation_and_the_end_page():
    browser = browser_on(CONFIRM, "xhtml", "en")
    assert browser.lines()[2:] == [
        "Top up",
        "+13900000001 with",
        "CNY 50.00?",
        "( ) 1. Confirm",
        "( ) 2. Cancel",
        "[ OK ]",
    ]
    browser = browser_on(DONE, "wml")
    assert browser.screen is not None
    assert browser.screen.form is None
    assert browser.lines()[2:] == [
        "充值成功：",
        "+13900000001到账",
        "50.00元，流水号",
        "R1，余额950.00元。",
    ]
    with pytest.raises(EntryRefused, match="no form"):
        browser.submission()


HOSTILE_FORM = FormTarget('/wap/?a=1&b="$"', "to$ken", {"session": "s$<1>"})


@pytest.mark.parametrize("flavour", ["wml", "xhtml"])
def test_a_submit_posts_the_token_the_fields_and_the_input(flavour):
    browser = browser_on(ASK_AMOUNT, flavour, form=HOSTILE_FORM)
    browser.fill("5$0")
    sent = browser.submission()
    assert (sent.method, sent.url, sent.content_type) == (
        "POST",
        'http://127.0.0.1:9/wap/?a=1&b="$"',
        FORM_TYPE,
    )
    fields = (("token", "to$ken"), ("session", "s$<1>"), ("input", "5$0"))
    assert sent.fields == fields
    assert sent.body == b"token=to%24ken&session=s%24%3C1%3E&input=5%240"
    assert urllib.parse.parse_qsl(sent.body.decode()) == list(fields)


def test_hostile_text_is_shown_as_text():
    script = "<script>alert(1)</script> $(input) $$"
    notice = Message("outcome.pending", {"ref": script})
    event = Ask(Message("topup.ask_amount"), input=ASK_AMOUNT.input, notice=notice)
    for flavour in ("wml", "xhtml"):
        browser = browser_on(event, flavour)
        assert browser.screen is not None
        assert any(script in line for line in browser.screen.lines), browser.screen.lines


def test_keys_need_a_page():
    browser = WapBrowser("wml")
    with pytest.raises(EntryRefused, match="no page"):
        browser.type("1")
    assert URL.endswith("/wap/")
