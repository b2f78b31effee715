"""What a WAP page shows, as a handset's browser holds it: the screen model the terminal UI
renders and scripted steps drive, the same for a WML card and an XHTML-MP page.

A `Screen` is immutable: the title, then its `blocks` in document order (text, links, the
form's visible fields), and at most one `Form`. What the user has typed or chosen lives in the
browser (`WapBrowser.values`), not here, so a screen can be rendered with any values.

WML and XHTML-MP differ in how a form is sent, and the model keeps the difference: a WML card
posts the `<postfield>`s of its `<go>` task, whose values name variables (`$(input)`) that the
card's `<input>`/`<select>` set; an XHTML form posts its own controls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from simulator.wap_browser.errors import EntryRefused, PageError
from simulator.wap_browser.wml_format import FormatMask

Flavour = Literal["wml", "xhtml"]
Method = Literal["get", "post"]


@dataclass(frozen=True, slots=True)
class Text:
    """A line of text as the page breaks it (`<p>`, `<br/>`); `strong`: all of it bold."""

    text: str
    strong: bool = False


@dataclass(frozen=True, slots=True)
class Go:
    """A request the page can make: a link's target or a form's. WML hrefs and postfield
    values are kept as written (`$(var)` is substituted when the request is made)."""

    href: str
    method: Method = "get"
    postfields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    go: Go


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class Choice:
    """A WML `<select>` or a group of XHTML radio buttons (or an XHTML `<select>`)."""

    name: str
    options: tuple[Option, ...]
    default: str | None  # selected on arrival; None: nothing is (XHTML radios unchecked)

    def option(self, value: str) -> Option:
        for option in self.options:
            if option.value == value:
                return option
        values = ", ".join(option.value for option in self.options)
        raise EntryRefused(f"{value!r} is not one of the choices ({values})")


@dataclass(frozen=True, slots=True)
class Entry:
    """A text field: WML `<input>` or XHTML `<input type="text|password">`."""

    name: str
    password: bool
    max_length: int | None
    mask: FormatMask | None  # WML `format`; None: any characters
    empty_ok: bool
    default: str = ""
    digits_hint: bool = False  # XHTML `inputmode="digits"`: a hint only, not enforced
    label: str = ""


@dataclass(frozen=True, slots=True)
class Hidden:
    name: str
    value: str


Field = Choice | Entry | Hidden
Block = Text | Link | Choice | Entry


@dataclass(frozen=True, slots=True)
class Form:
    """The page's one form. `posts_fields`: XHTML, the fields themselves are sent (in order);
    WML: the `go` task's postfields are."""

    go: Go
    submit_label: str
    fields: tuple[Field, ...]
    posts_fields: bool


@dataclass(frozen=True, slots=True)
class Screen:
    flavour: Flavour
    url: str  # the document's URL, after redirects (WML: with `#card` for a later card)
    title: str
    blocks: tuple[Block, ...]
    form: Form | None = None
    new_context: bool = False  # WML `newcontext`: arriving clears the browser's variables
    card_id: str | None = None

    @property
    def lines(self) -> tuple[str, ...]:
        """The text, line by line (without fields or links)."""
        return tuple(block.text for block in self.blocks if isinstance(block, Text))

    @property
    def links(self) -> tuple[Link, ...]:
        return tuple(block for block in self.blocks if isinstance(block, Link))

    @property
    def inputs(self) -> tuple[Choice | Entry, ...]:
        """The fields the user fills, in order."""
        return tuple(block for block in self.blocks if isinstance(block, Choice | Entry))

    def field(self, name: str | None = None) -> Choice | Entry:
        """The field called `name`; without a name, the page's only one."""
        inputs = self.inputs
        if name is None:
            if len(inputs) != 1:
                raise EntryRefused(f"the page has {len(inputs)} fields: name one")
            return inputs[0]
        for field in inputs:
            if field.name == name:
                return field
        raise EntryRefused(f"the page has no field {name!r}")


__all__ = [
    "Block",
    "Choice",
    "Entry",
    "EntryRefused",
    "Field",
    "Flavour",
    "Form",
    "Go",
    "Hidden",
    "Link",
    "Method",
    "Option",
    "PageError",
    "Screen",
    "Text",
]
