"""A handset's WAP browser as a model (WML 1.3 and XHTML-MP), for the terminal UI and
scripted sessions: `WapBrowser` fetches and submits, `Screen` is what it shows, `layout`
renders a screen as text on a 128-pixel display.

A package of its own, beside `simulator.wap_gateway`: the browser is the handset, the gateway
is the network; either works without the other (the gateway carries Chromium as well, and the
browser can open any URL)."""

from simulator.wap_browser.browser import ACCEPT, FORM_TYPE, Submission, WapBrowser
from simulator.wap_browser.errors import EntryRefused, PageError
from simulator.wap_browser.layout import render, screen_columns, wrap
from simulator.wap_browser.screen import (
    Block,
    Choice,
    Entry,
    Field,
    Flavour,
    Form,
    Go,
    Hidden,
    Link,
    Option,
    Screen,
    Text,
)
from simulator.wap_browser.wml_format import FormatMask, parse_format

__all__ = [
    "ACCEPT",
    "FORM_TYPE",
    "Block",
    "Choice",
    "Entry",
    "EntryRefused",
    "Field",
    "Flavour",
    "Form",
    "FormatMask",
    "Go",
    "Hidden",
    "Link",
    "Option",
    "PageError",
    "Screen",
    "Submission",
    "Text",
    "WapBrowser",
    "parse_format",
    "render",
    "screen_columns",
    "wrap",
]
