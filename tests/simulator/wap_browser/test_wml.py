"""WML by hand: variables and `$$`, the context a card with `newcontext` clears, cards of one
deck, `<go method="get">` postfields, links; and pages the browser refuses with a clear error
(malformed, undefined entities, a lone `$`, the wrong format for the browser)."""

from __future__ import annotations

import pytest

from simulator.wap_browser import EntryRefused, PageError, Text, WapBrowser
from simulator.wap_browser.wml import substitute

WML = "text/vnd.wap.wml; charset=utf-8"
URL = "http://127.0.0.1:9/wap/deck"
HEAD = (
    '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE wml PUBLIC "-//WAPFORUM//DTD WML 1.3//EN"'
    ' "http://www.wapforum.org/DTD/wml13.dtd">\n'
)


def deck(cards: str) -> bytes:
    return f"{HEAD}<wml>{cards}</wml>".encode()


ASK = """<card id="ask" title="T"{context}>
<p>Name: <input name="who" format="*M" maxlength="8"/></p>
<do type="accept" label="Go"><go method="post" href="/wap/next">
<postfield name="who" value="$(who)"/></go></do>
</card>"""


def test_substitution_and_conversions():
    values = {"a": "x y", "b": "%41"}
    assert substitute("$(a) $a $(a:e) $(a:escape) $(b:u) $(b:n) $$ $(c)", values) == (
        "x y x y x%20y x%20y A %41 $ "
    )
    assert substitute("/p?q=$(a)", values, escape=True) == "/p?q=x%20y"
    assert substitute("$(a:noesc)", values, escape=True) == "x y"
    assert substitute("$$(a)", values) == "$(a)"
    with pytest.raises(PageError, match="lone '\\$'"):
        substitute("costs 5$", values)
    with pytest.raises(PageError, match="lone '\\$'"):
        substitute("$(1x)", values)
    with pytest.raises(PageError, match="unknown variable conversion 'q'"):
        substitute("$(a:q)", values)


def test_variables_outlive_a_deck_unless_the_card_clears_them():
    browser = WapBrowser("wml")
    browser.load(deck(ASK.format(context="")), WML, URL)
    browser.type("Li")
    assert browser.submission().fields == (("who", "Li"),)
    browser.load(deck(ASK.format(context="")), WML, URL)
    assert browser.values == {"who": "Li"}  # pre-filled: WML variables outlive decks
    browser.load(deck(ASK.format(context=' newcontext="true"')), WML, URL)
    assert browser.values == {"who": ""}


def test_text_shows_variables_as_the_card_is_entered():
    cards = '<card id="a"><p>Hello $(who), you owe $$5</p></card>'
    browser = WapBrowser("wml")
    browser.values["who"] = "Li"
    browser.load(deck(cards), WML, URL)
    assert browser.screen is not None
    assert browser.screen.lines == ("Hello Li, you owe $5",)


async def test_cards_of_one_deck_and_get_postfields():
    cards = """<card id="one" title="One"><p>First <a href="#two">next</a></p>
    <p><anchor>Search<go href="/wap/find?x=1"><postfield name="q" value="$(q)"/></go></anchor></p>
    </card><card id="two" title="Two"><p><b>Second</b><br/>line</p>
    <do type="prev" label="Back"><prev/></do>
    <do type="options" label="Help"><go href="/wap/help"/></do></card>"""
    browser = WapBrowser("wml")
    browser.values["q"] = "a b"
    screen = browser.load(deck(cards), WML, URL)
    assert [link.label for link in screen.links] == ["next", "Search"]
    assert screen.lines == ("First",)
    assert browser.lines()[-2:] == ["> next", "> Search"]
    shown = await browser.follow("next")  # inside the deck: no request
    assert (shown.card_id, shown.title, shown.url) == ("two", "Two", f"{URL}#two")
    assert [(t.text, t.strong) for t in shown.blocks if isinstance(t, Text)] == [
        ("Second", True),
        ("line", False),
    ]
    assert [link.label for link in shown.links] == ["Help"]  # <prev/> is not modelled
    browser.load(deck(cards), WML, URL)
    search = browser.link_submission("Search")
    assert (search.method, search.url) == ("GET", "http://127.0.0.1:9/wap/find?x=1&q=a+b")
    with pytest.raises(EntryRefused, match="no link 'nowhere'"):
        await browser.follow("nowhere")


def test_a_select_keeps_its_variable_or_takes_its_value_attribute():
    cards = """<card id="c"><p><select name="s" value="b">
    <option value="a">A</option><option value="b">B</option></select></p></card>"""
    browser = WapBrowser("wml")
    browser.load(deck(cards), WML, URL)
    assert browser.values == {"s": "b"}
    browser.choose("a")
    browser.load(deck(cards), WML, URL)
    assert browser.values == {"s": "a"}


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (deck("<card><p>open</card>"), WML, "not well-formed XML: mismatched tag"),
        (b"", WML, "not well-formed XML: no element found"),
        (deck("<card><p>a&nbsp;b</p></card>"), WML, "undefined entity &nbsp;"),
        (
            b'<!DOCTYPE wml [<!ENTITY a "aaaaaaaa">]><wml><card><p>&a;</p></card></wml>',
            WML,
            "declares the entity 'a'",
        ),
        (deck("<card><p>costs 5$</p></card>"), WML, "lone '\\$'"),
        (deck(""), WML, "has no card"),
        (b"<html><body/></html>", WML, "not a WML deck"),
        (deck('<card><p><input name="x" format="N*"/></p></card>'), WML, "input format 'N\\*'"),
        (b"<html><body><p>hi</p></body></html>", "application/xhtml+xml", "a WML browser"),
        (b"\x89PNG", "image/png", "image/png, which a WML browser cannot show"),
    ],
)
def test_a_page_it_cannot_show_is_a_clear_error_and_changes_nothing(body, content_type, message):
    browser = WapBrowser("wml")
    browser.load(deck('<card title="Kept"><p>kept</p></card>'), WML, URL)
    before = browser.text()
    with pytest.raises(PageError, match=message):
        browser.load(body, content_type, URL)
    assert browser.text() == before


def test_plain_text_is_shown_as_lines():
    browser = WapBrowser("xhtml")
    body = "spent form token\n\n再试一次\n".encode()
    screen = browser.load(body, "text/plain; charset=utf-8", URL)
    assert screen.lines == ("spent form token", "再试一次")
    assert screen.form is None
