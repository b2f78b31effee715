"""XHTML-MP by hand: a checked radio button, a select, a textarea, a GET form (its fields
replace the action's query), links resolved against the page, bold text and image text."""

from __future__ import annotations

from simulator.wap_browser import Choice, Entry, Text, WapBrowser

XHTML = "application/vnd.wap.xhtml+xml; charset=utf-8"
URL = "http://127.0.0.1:9/wap/page?x=1"
PAGE = b"""<?xml version="1.0" encoding="utf-8"?>
<html xmlns="http://www.w3.org/1999/xhtml"><head><title> Shop </title></head>
<body><h1>Big</h1><p>Hello <img src="a.gif" alt="[logo]"/> <strong>you</strong></p>
<p><a href="help?t=1">Help</a></p>
<form method="get" action="/wap/find?old=1"><p>
<input type="hidden" name="h" value="v"/>
<input type="radio" name="r" id="r1" value="a"/><label for="r1">Alpha</label>
<input type="radio" name="r" id="r2" value="b" checked="checked"/><label for="r2">Beta</label><br/>
<select name="s"><option value="x">X</option><option value="y" selected="selected">Y</option>
</select>
<label for="n">Note</label><textarea name="n" id="n">hi there</textarea>
<input type="checkbox" name="c" value="1"/>
<input type="submit" value="Find"/></p></form>
<form action="/second"><p><input name="ignored"/></p></form>
</body></html>"""


def test_a_hand_written_page():
    browser = WapBrowser("xhtml")
    screen = browser.load(PAGE, XHTML, URL)
    assert screen.title == "Shop"
    texts = [(block.text, block.strong) for block in screen.blocks if isinstance(block, Text)]
    assert texts == [("Big", True), ("Hello [logo] you", False), ("Note", False)]
    assert [field.name for field in screen.inputs] == ["r", "s", "n"]
    radio, select, note = screen.inputs
    assert isinstance(radio, Choice)
    assert [(o.value, o.label) for o in radio.options] == [("a", "Alpha"), ("b", "Beta")]
    assert isinstance(select, Choice)
    assert isinstance(note, Entry)
    assert (note.label, note.max_length) == ("Note", None)
    assert browser.values == {"r": "b", "s": "y", "n": "hi there"}
    assert browser.lines() == [
        "Shop",
        "------------------",
        "Big",
        "Hello [logo] you",
        "> Help",
        "( ) Alpha",
        "(*) Beta",
        "( ) X",
        "(*) Y",
        "Note",
        "[hi there]",
        "[ Find ]",
    ]
    browser.choose("a", "r")
    browser.fill("a b&c", "n")
    sent = browser.submission()
    assert (sent.method, sent.body) == ("GET", None)
    assert sent.url == "http://127.0.0.1:9/wap/find?h=v&r=a&s=y&n=a+b%26c"
    link = browser.link_submission("Help")
    assert (link.method, link.url) == ("GET", "http://127.0.0.1:9/wap/help?t=1")
