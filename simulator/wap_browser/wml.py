"""WML 1.3 decks (`text/vnd.wap.wml`) to screens, and WML's variables.

A deck holds cards; the browser shows the first, or the one a `#id` fragment names. A card
becomes a `Screen`: its `title`, text broken at `<p>` and `<br/>`, `<a href>` and
`<anchor><go/></anchor>` as links, `<select>`/`<option>` as a choice, `<input>` as an entry
with its `format` mask, `maxlength`, `type="password"` and `emptyok`, and the card's form: the
`<go>` of its `<do type="accept">` (its label the submit label), with the `<postfield>`s sent.
Other `<do>` elements with a `<go>` are links; `<prev/>`, `<refresh/>`, `<noop/>`, timers,
templates and `<onevent>` are not modelled.

Variables (WML 1.3, section 10.3): `$name`, `$(name)` and `$(name:conv)` (conv `e`/`escape`,
`u`/`unesc`, `n`/`noesc`) are replaced by the variable's value, `$$` by one `$`; any other `$`
is the page's error. Text and labels are substituted when the card is entered (with the
context as it is then: after `newcontext` cleared it); hrefs and postfield values when the
request is made, so `$(input)` carries what was typed. `href` values are URL-escaped by
default, everything else is not.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, unquote, urljoin

from simulator.wap_browser.errors import PageError
from simulator.wap_browser.screen import (
    Block,
    Choice,
    Entry,
    Form,
    Go,
    Link,
    Method,
    Option,
    Screen,
)
from simulator.wap_browser.text_flow import TextFlow
from simulator.wap_browser.wml_format import parse_format

_VARIABLE: Final = re.compile(
    r"\$(?:(\$)|\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*([A-Za-z]+)\s*)?\)|([A-Za-z_][A-Za-z0-9_]*))"
)
_CONVERSIONS: Final = {"e": "e", "escape": "e", "u": "u", "unesc": "u", "n": "n", "noesc": "n"}
_INLINE: Final = frozenset({"em", "i", "u", "big", "small", "span", "label", "fieldset"})
_STRONG: Final = frozenset({"b", "strong"})
_SKIPPED: Final = frozenset({"onevent", "timer", "template", "head", "noop", "prev", "refresh"})
DEFAULT_SUBMIT_LABEL: Final = "OK"


def substitute(text: str, variables: Mapping[str, str], *, escape: bool = False) -> str:
    """`text` with its variable references replaced and `$$` unescaped; `escape`: the
    context's default conversion is URL-escaping (hrefs)."""
    out: list[str] = []
    position = 0
    for match in _VARIABLE.finditer(text):
        if "$" in text[position : match.start()]:
            break
        out.append(text[position : match.start()])
        position = match.end()
        dollar, name, conversion, bare = match.groups()
        if dollar:
            out.append("$")
            continue
        value = variables.get(name or bare, "")
        how = _CONVERSIONS.get((conversion or "").lower(), "")
        if conversion and not how:
            raise PageError(f"unknown variable conversion {conversion!r} in {text!r}")
        if how == "e" or (escape and not how):
            value = quote(value, safe="")
        elif how == "u":
            value = unquote(value)
        out.append(value)
    if "$" in text[position:]:
        raise PageError(f"a lone '$' in {text!r}: WML writes a dollar sign as $$")
    out.append(text[position:])
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Deck:
    url: str  # without a fragment
    cards: tuple[ET.Element, ...]

    def card(self, card_id: str | None) -> ET.Element:
        """The card `#card_id` names, or the first."""
        if card_id:
            for card in self.cards:
                if card.get("id") == card_id:
                    return card
            raise PageError(f"the deck at {self.url} has no card {card_id!r}")
        return self.cards[0]


def parse_deck(root: ET.Element, url: str) -> Deck:
    if root.tag != "wml":
        raise PageError(f"{url} is not a WML deck: its document element is <{root.tag}>")
    cards = tuple(root.iter("card"))
    if not cards:
        raise PageError(f"the deck at {url} has no card")
    return Deck(url.partition("#")[0], cards)


def new_context(card: ET.Element) -> bool:
    return card.get("newcontext", "false") == "true"


class _CardReader:
    """One walk over a card's content, in document order."""

    def __init__(self, url: str, variables: Mapping[str, str]) -> None:
        self.url = url
        self.variables = variables
        self.flow = TextFlow()
        self.links: list[Link] = []
        self.accept: tuple[Go, str] | None = None

    def text(self, value: str | None) -> str:
        return substitute(value or "", self.variables)

    def go(self, element: ET.Element) -> Go:
        method: Method = "post" if element.get("method", "get").lower() == "post" else "get"
        postfields = tuple(
            (field.get("name", ""), field.get("value", "")) for field in element.iter("postfield")
        )
        return Go(element.get("href", ""), method, postfields)

    def walk(self, element: ET.Element, strong: bool) -> None:
        self.flow.add(self.text(element.text), strong)
        for child in element:
            self.element(child, strong)
            self.flow.add(self.text(child.tail), strong)

    def element(self, element: ET.Element, strong: bool) -> None:
        tag = element.tag
        if tag in _SKIPPED:
            return
        if tag in ("p", "tr", "table"):
            self.flow.breaks()
            self.walk(element, strong)
            self.flow.breaks()
        elif tag == "br":
            self.flow.breaks()
        elif tag in _STRONG:
            self.walk(element, strong=True)
        elif tag in _INLINE or tag == "td":
            self.walk(element, strong)
        elif tag == "img":
            self.flow.add(self.text(element.get("alt")), strong)
        elif tag == "a":
            self.link(_label(element, self), Go(element.get("href", "")))
        elif tag == "anchor":
            go = element.find("go")
            if go is not None:
                self.link(_label(element, self), self.go(go))
        elif tag == "do":
            self.do(element)
        elif tag == "select":
            self.flow.block(self.select(element))
        elif tag == "input":
            self.flow.block(self.input(element))
        else:
            self.walk(element, strong)

    def link(self, label: str, go: Go) -> None:
        self.flow.block(Link(label or go.href, go))

    def do(self, element: ET.Element) -> None:
        go = element.find("go")
        if go is None:
            return
        label = self.text(element.get("label")) or element.get("type", "")
        if element.get("type") == "accept" and self.accept is None:
            self.accept = (self.go(go), label or DEFAULT_SUBMIT_LABEL)
        else:
            self.links.append(Link(label or go.get("href", ""), self.go(go)))

    def select(self, element: ET.Element) -> Choice:
        name = element.get("name", "")
        options = tuple(
            Option(self.text(option.get("value")), " ".join(self.text_of(option).split()))
            for option in element.iter("option")
        )
        if not options:
            raise PageError(f"<select name={name!r}> has no option")
        values = {option.value for option in options}
        current = self.variables.get(name)
        if current not in values:
            current = self.text(element.get("value")) or None
        if current not in values:
            current = options[0].value
        return Choice(name, options, current)

    def text_of(self, element: ET.Element) -> str:
        return self.text("".join(element.itertext()))

    def input(self, element: ET.Element) -> Entry:
        name = element.get("name", "")
        if not name:
            raise PageError("an <input> without a name")
        mask = parse_format(element.get("format", "")) if element.get("format") else None
        max_length = element.get("maxlength")
        if max_length is not None and not max_length.isdigit():
            raise PageError(f"<input name={name!r}> has maxlength {max_length!r}")
        empty_ok = element.get("emptyok")
        return Entry(
            name=name,
            password=element.get("type", "text") == "password",
            max_length=None if max_length is None else int(max_length),
            mask=mask,
            empty_ok=empty_ok == "true" or (empty_ok is None and (mask is None or not mask.fixed)),
            default=self.text(element.get("value")),
            label=self.text(element.get("title")),
        )


def _label(element: ET.Element, reader: _CardReader) -> str:
    parts: list[str] = [element.text or ""]
    for child in element:
        if child.tag not in ("go", "postfield", "prev", "refresh", "noop"):
            parts.append("".join(child.itertext()))
        parts.append(child.tail or "")
    return " ".join(reader.text("".join(parts)).split())


def card_screen(deck: Deck, card: ET.Element, variables: Mapping[str, str]) -> Screen:
    """The screen of `card`, its text substituted with `variables` as they are now."""
    card_id = card.get("id")
    url = f"{deck.url}#{card_id}" if card_id and card is not deck.cards[0] else deck.url
    reader = _CardReader(url, variables)
    reader.walk(card, strong=False)
    blocks: list[Block] = [*reader.flow.finish(), *reader.links]
    form = None
    if reader.accept is not None:
        go, label = reader.accept
        fields = tuple(block for block in blocks if isinstance(block, Choice | Entry))
        form = Form(go, label, fields, posts_fields=False)
    return Screen(
        flavour="wml",
        url=url,
        title=reader.text(card.get("title")),
        blocks=tuple(blocks),
        form=form,
        new_context=new_context(card),
        card_id=card_id,
    )


def request_url(go: Go, base: str, variables: Mapping[str, str]) -> str:
    """The absolute URL a `go` task requests, its variables substituted (URL-escaped)."""
    return urljoin(base, substitute(go.href, variables, escape=True))


def postfields(go: Go, variables: Mapping[str, str]) -> list[tuple[str, str]]:
    return [
        (substitute(name, variables), substitute(value, variables)) for name, value in go.postfields
    ]


__all__ = [
    "DEFAULT_SUBMIT_LABEL",
    "Deck",
    "card_screen",
    "new_context",
    "parse_deck",
    "postfields",
    "request_url",
    "substitute",
]
