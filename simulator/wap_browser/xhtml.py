"""XHTML Mobile Profile pages to screens.

The `<title>`, then the body's text broken at block elements (`p`, `div`, `br`, headings, list
items, table rows), `<a href>` as links, and the first `<form>`: its text and password inputs
(with `maxlength`; `inputmode="digits"` kept as the hint it is), radio buttons grouped by name
into one choice labelled by their `<label for>`, `<select>`, `<textarea>`, hidden inputs, and
the submit button's label. Checkboxes, a second form, `<script>` and `<style>` are not
modelled (an XHTML-MP page for this service has none). Headings and `<strong>`/`<b>` are
bold text.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Final

from simulator.wap_browser.errors import PageError
from simulator.wap_browser.screen import (
    Choice,
    Entry,
    Field,
    Form,
    Go,
    Hidden,
    Link,
    Method,
    Option,
    Screen,
)
from simulator.wap_browser.text_flow import TextFlow, readable

DEFAULT_SUBMIT_LABEL: Final = "Submit"
_BLOCK: Final = frozenset(
    {"p", "div", "ul", "ol", "li", "dl", "dt", "dd", "table", "tr", "address", "blockquote",
     "pre", "fieldset", "hr", "h1", "h2", "h3", "h4", "h5", "h6"}
)  # fmt: skip
_STRONG: Final = frozenset({"b", "strong", "h1", "h2", "h3", "h4", "h5", "h6"})
_SKIPPED: Final = frozenset({"head", "script", "style", "noscript", "object", "option"})


def _text(element: ET.Element) -> str:
    return " ".join(readable("".join(element.itertext())).split())


def _elements(root: ET.Element, tag: str) -> Iterator[ET.Element]:
    return root.iter(tag)


class _PageReader:
    def __init__(self, root: ET.Element, url: str) -> None:
        self.url = url
        self.flow = TextFlow()
        self.form: ET.Element | None = next(_elements(root, "form"), None)
        self.fields: list[Field] = []
        self.submit_label = DEFAULT_SUBMIT_LABEL
        self.labels = {
            label.get("for", ""): _text(label) for label in _elements(root, "label")
        }  # id -> the label's text
        self.groups: dict[str, list[ET.Element]] = {}  # radio name -> its buttons, in order
        if self.form is not None:
            for radio in _elements(self.form, "input"):
                if radio.get("type", "").lower() == "radio":
                    self.groups.setdefault(radio.get("name", ""), []).append(radio)
        self.radio_ids = {
            radio.get("id") for radios in self.groups.values() for radio in radios
        } - {None}

    def walk(self, element: ET.Element, strong: bool, in_form: bool) -> None:
        self.flow.add(element.text or "", strong)
        for child in element:
            self.element(child, strong, in_form)
            self.flow.add(child.tail or "", strong)

    def element(self, element: ET.Element, strong: bool, in_form: bool) -> None:
        tag = element.tag
        bold = strong or tag in _STRONG
        if tag in _SKIPPED:
            return
        if tag == "form":
            if element is self.form:
                self.walk(element, strong, in_form=True)
            return  # one form is modelled
        if tag == "br":
            self.flow.breaks()
        elif tag in _BLOCK:
            self.flow.breaks()
            self.walk(element, bold, in_form)
            self.flow.breaks()
        elif tag == "label" and element.get("for") in self.radio_ids:
            return  # a radio button's label: the choice shows it
        elif tag == "img":
            self.flow.add(element.get("alt", ""), strong)
        elif tag == "a" and element.get("href") is not None:
            self.flow.block(
                Link(_text(element) or element.get("href", ""), Go(element.get("href", "")))
            )
        elif in_form and tag in ("input", "select", "textarea"):
            self.control(element)
        else:
            self.walk(element, bold, in_form)

    def control(self, element: ET.Element) -> None:
        name = element.get("name", "")
        kind = element.get("type", "text").lower() if element.tag == "input" else element.tag
        if kind == "submit":
            self.submit_label = element.get("value") or DEFAULT_SUBMIT_LABEL
        elif kind == "hidden":
            self.fields.append(Hidden(name, element.get("value", "")))
        elif kind == "radio":
            radios = self.groups.get(name, [])
            if radios and radios[0] is element:
                self.add(self.radio_group(name, radios))
        elif kind in ("text", "password", "textarea"):
            self.add(self.entry(element, name, kind))
        elif kind == "select":
            self.add(self.select(element, name))

    def add(self, field: Choice | Entry) -> None:
        if not field.name:
            raise PageError(f"a form field without a name on {self.url}")
        self.fields.append(field)
        self.flow.block(field)

    def radio_group(self, name: str, radios: list[ET.Element]) -> Choice:
        options = tuple(
            Option(
                radio.get("value", "on"),
                self.labels.get(radio.get("id", ""), "") or radio.get("value", ""),
            )
            for radio in radios
        )
        checked = [radio.get("value", "on") for radio in radios if radio.get("checked") is not None]
        return Choice(name, tuple(options), checked[-1] if checked else None)

    def entry(self, element: ET.Element, name: str, kind: str) -> Entry:
        max_length = element.get("maxlength")
        if max_length is not None and not max_length.isdigit():
            raise PageError(f"the field {name!r} has maxlength {max_length!r}")
        default = (element.text or "") if kind == "textarea" else element.get("value", "")
        return Entry(
            name=name,
            password=kind == "password",
            max_length=None if max_length is None else int(max_length),
            mask=None,
            empty_ok=True,
            default=default,
            digits_hint="digits" in element.get("inputmode", ""),
            label=self.labels.get(element.get("id", ""), ""),
        )

    def select(self, element: ET.Element, name: str) -> Choice:
        options = [
            (Option(option.get("value", _text(option)), _text(option)), option.get("selected"))
            for option in _elements(element, "option")
        ]
        if not options:
            raise PageError(f"<select name={name!r}> has no option on {self.url}")
        selected = [option.value for option, flag in options if flag is not None]
        default = selected[-1] if selected else options[0][0].value
        return Choice(name, tuple(option for option, _ in options), default)


def page_screen(root: ET.Element, url: str) -> Screen:
    """The screen of an XHTML(-MP) page at `url`."""
    if root.tag != "html":
        raise PageError(f"{url} is not an XHTML page: its document element is <{root.tag}>")
    title_element = next(_elements(root, "title"), None)
    reader = _PageReader(root, url)
    body = root.find("body")
    if body is None:
        raise PageError(f"the page at {url} has no <body>")
    reader.walk(body, strong=False, in_form=False)
    form = None
    if reader.form is not None:
        method: Method = "post" if reader.form.get("method", "get").lower() == "post" else "get"
        go = Go(reader.form.get("action", ""), method)
        form = Form(go, reader.submit_label, tuple(reader.fields), posts_fields=True)
    return Screen(
        flavour="xhtml",
        url=url,
        title="" if title_element is None else _text(title_element),
        blocks=tuple(reader.flow.finish()),
        form=form,
    )


__all__ = ["DEFAULT_SUBMIT_LABEL", "page_screen"]
