"""Render engine events as WAP pages: a WML 1.3 deck or an XHTML Mobile Profile 1.2 page.

Both formats show the same screen as the USSD page (notice first, then the prompt, then the
numbered choices or one entry field) and post the answer in a field named `input`, next to
the channel's one-time form `token` and its hidden fields (`FormTarget`), to one URL. `End`
is the text alone, with no form, and optionally a link (`PageLink`: where to start again,
chosen by the channel); `RunOperation` is never rendered (the channel runs it and
resumes the engine first).

WML 1.3 (`text/vnd.wap.wml`), for WAP 1.x browsers behind a WAP gateway:
- One deck, one `<card>` titled `wap.title`. `newcontext="true"` on every card clears the
  browser's variable context and history on arrival: WML variables outlive decks, so without
  it a PIN typed into `$(input)` would pre-fill the next entry field and stay in the browser
  after the session; and a back step could only replay a spent form token anyway.
- Choices are a `<select name="input">` of `<option value="N">` (N as typed on USSD); WAP 1.x
  browsers show them as a numbered or radio list and select the first one by default.
- An entry is `<input name="input">` whose `format` mask constrains the keypad: fixed-length
  digits get one `N` per digit (PIN: `NNNNNN`, the browser refuses a shorter entry);
  variable-length digits get `*N` (msisdn: any number of digits, `maxlength` 15; the engine
  checks the length and answers with a notice); anything else gets `*m` (amount: WML has no
  "digits and a decimal point" mask, and `*m` starts the keypad in lower-case/numeric).
  PINs are `type="password"`.
- `<do type="accept">` holds `<go method="post" href=action>` with one `<postfield>` per form
  field and `<postfield name="input" value="$(input)"/>`, the only `$` we mean: WML treats `$`
  in text and attribute values as a variable reference, so every other `$` (catalogue text,
  parameters, URL, token, field values) is written `$$`.

XHTML-MP 1.2 (`application/vnd.wap.xhtml+xml`), for WAP 2.0 browsers:
- No script, no CSS (no `<style>`, no `style=`), no tables, no widths: paragraphs and line
  breaks only, so it reflows in a 128-pixel-wide viewport. Two things do not reflow by
  themselves, and are measured in headless Chromium at 128 pixels (tests/dialogs/
  test_wap_browser.py):
  - a text field is as wide as its `size` (20 characters by default, about 150 pixels), so an
    entry gets `size` = its maxlength, at most `entry_size_max` (10: about 105 pixels in
    a default 16-pixel font, inside the 112 left by the body's margins); a longer entry
    scrolls inside its field;
  - a line breaks only where Unicode line breaking allows, and a run of letters, digits and
    punctuation allows none: a 24-character reference, a 15-digit number or
    "10,000,000.00" is wider than the screen. Shown text (not attribute values: URL, token,
    fields) gets a ZERO WIDTH SPACE, invisible, in every run longer than `run_chars_max`
    (12: an 11-digit mobile number stays whole): after its separators (`,./:_-`), then every
    `run_chunk_chars` (8) characters of a piece still longer than that. Han text breaks
    between characters already. WML is left alone: WAP 1.x browsers wrap or scroll a line
    themselves, and may not have a glyph for U+200B.
- `<html xml:lang=…>`: the XHTML-MP 1.2 DTD (built on XHTML Modularization) declares only
  `xml:lang`, not HTML's bare `lang`, so that is the language attribute we write.
- One `<form method="post" action=…>`; hidden inputs carry the token and fields.
- Choices are radio buttons, each labelled `N. text` with `accesskey` N (1-9) so a keypad digit
  selects it, then one submit button: nothing is pre-selected, so a confirmation always takes
  a deliberate choice (an empty answer gets the engine's "invalid choice" notice).
- An entry is `<input type="text|password" name="input" maxlength=…>` labelled by the prompt,
  with `inputmode="digits"` (XHTML-MP 1.2 forms module; a hint the user can switch) for
  digits-only kinds; amounts keep the handset's default mode so the decimal point is reachable.

Both: Jinja2 templates in `dialogs/templates/`, autoescaping on (XML escaping of `<&"'>` as
`&lt;&amp;&#34;&#39;&gt;`; never an HTML named entity such as `&nbsp;`, which an XML parser
without the DTD rejects), `StrictUndefined`; the submit label and the title come from the
catalogue (`wap.submit`, `wap.title`). Characters XML 1.0 forbids (NUL and other C0 controls,
lone surrogates, U+FFFE/U+FFFF) are replaced by U+FFFD so hostile text cannot break the
document. The output is well-formed XML and valid against the WML 1.3 and XHTML-MP 1.2 DTDs:
the tests validate every screen of every flow, in both languages and with hostile text, with
lxml against copies of the DTDs in `tests/data/dtd/`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from jinja2 import Environment, PackageLoader, StrictUndefined, Template

from dialogs.catalogue import DEFAULT_LANGUAGE, LANGUAGES, Catalogue
from dialogs.events import Ask, End, Event, InputSpec, Message

WML_CONTENT_TYPE: Final = "text/vnd.wap.wml; charset=utf-8"
XHTML_CONTENT_TYPE: Final = "application/vnd.wap.xhtml+xml; charset=utf-8"

INPUT_FIELD: Final = "input"  # the answer, as typed or chosen
TOKEN_FIELD: Final = "token"  # noqa: S105 - a field name; the value is the channel's one-time token
RESERVED_FIELDS: Final = frozenset({INPUT_FIELD, TOKEN_FIELD})
TITLE_KEY: Final = "wap.title"
SUBMIT_KEY: Final = "wap.submit"

accesskey_max: Final = 9  # a keypad has digit keys 1-9 for the first nine choices
WML_MASK_DIGIT: Final = "N"  # exactly one digit
WML_MASK_DIGITS: Final = "*N"  # any number of digits
WML_MASK_ANY: Final = "*m"  # any number of any characters, keypad in lower-case/numeric
XHTML_INPUTMODE_DIGITS: Final = "digits"

TEMPLATES_DIR: Final = "templates"
WML_TEMPLATE: Final = "wml/screen.wml.j2"
XHTML_TEMPLATE: Final = "xhtml/screen.html.j2"

_FIELD_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")
# Everything outside XML 1.0's Char production.
_NOT_XML_CHAR: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_REPLACEMENT: Final = "\ufffd"


@dataclass(frozen=True, slots=True)
class FormTarget:
    """Where a screen's answer goes, chosen by the channel: the URL, a one-time token, and
    hidden fields (such as the session id) posted back with the answer."""

    action: str
    token: str
    fields: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        assert self.action, "a form needs a URL to post to"
        assert self.token, "a form needs its one-time token"
        for name in self.fields:
            assert _FIELD_NAME.fullmatch(name), f"hidden field name {name!r}"
            assert name not in RESERVED_FIELDS, f"hidden field {name!r} is the renderer's"


@dataclass(frozen=True, slots=True)
class PageLink:
    """A plain link under a screen's text (a GET, no form): the channel's "start again"."""

    href: str
    label: Message

    def __post_init__(self) -> None:
        assert self.href, "a link needs a URL"


@dataclass(frozen=True, slots=True)
class WapPage:
    body: str
    content_type: str


@dataclass(frozen=True, slots=True)
class _Choice:
    number: int
    label: str
    accesskey: int | None


@dataclass(frozen=True, slots=True)
class _Entry:
    password: bool
    max_length: int
    size: int  # XHTML: the field's width in characters
    wml_format: str
    inputmode: str | None


@dataclass(frozen=True, slots=True)
class _Form:
    action: str
    submit: str
    hidden: tuple[tuple[str, str], ...]  # (name, value), the token first
    input_name: str


@dataclass(frozen=True, slots=True)
class _Screen:
    """What both templates show, every text already made safe for the format."""

    language: str
    title: str
    notice: str | None
    text: str
    choices: tuple[_Choice, ...]
    entry: _Entry | None
    form: _Form | None
    link: tuple[str, str] | None  # (href, label)


_Clean = Callable[[str], str]

entry_size_max: Final = 10  # characters of a text field's width that fit 128 pixels
run_chars_max: Final = 12  # longest run of unbreakable text left whole
run_chunk_chars: Final = 8  # pieces a longer run is cut into, where it has no separator
ZERO_WIDTH_SPACE: Final = "\u200b"
# A run: no whitespace and no Han, kana, CJK or full-width character (those break anyway).
_RUN_CHAR: Final = "[^\\s\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]"
_LONG_RUN: Final = re.compile(_RUN_CHAR + "{" + str(run_chars_max + 1) + ",}")
_AFTER_SEPARATOR: Final = re.compile(r"(?<=[,./:_-])")


def _xml_text(text: str) -> str:
    return _NOT_XML_CHAR.sub(_REPLACEMENT, text)


def _break_run(match: re.Match[str]) -> str:
    pieces = []
    for piece in _AFTER_SEPARATOR.split(match.group()):
        pieces += [piece[i : i + run_chunk_chars] for i in range(0, len(piece), run_chunk_chars)]
    return ZERO_WIDTH_SPACE.join(piece for piece in pieces if piece)


def allow_line_breaks(text: str) -> str:
    """`text` with a ZERO WIDTH SPACE where a run too long for a 128-pixel line may break
    (see the module docstring); shorter runs are unchanged."""
    return _LONG_RUN.sub(_break_run, text)


def _xhtml_shown(text: str) -> str:
    return allow_line_breaks(_xml_text(text))


def _wml_text(text: str) -> str:
    return _xml_text(text).replace("$", "$$")


def _page_language(language: str) -> str:
    # The catalogue falls back to the default language for an unknown one; so does the page.
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def wml_format(spec: InputSpec) -> str:
    """The WML `format` mask for an entry (see the module docstring)."""
    if not spec.digits_only:
        return WML_MASK_ANY
    if spec.min_length == spec.max_length:
        return WML_MASK_DIGIT * spec.max_length
    return WML_MASK_DIGITS


def _entry(spec: InputSpec) -> _Entry:
    return _Entry(
        password=spec.hidden,
        max_length=spec.max_length,
        size=min(spec.max_length, entry_size_max),
        wml_format=wml_format(spec),
        inputmode=XHTML_INPUTMODE_DIGITS if spec.digits_only else None,
    )


def _choices(labels: tuple[str, ...]) -> tuple[_Choice, ...]:
    return tuple(
        _Choice(number, label, number if number <= accesskey_max else None)
        for number, label in enumerate(labels, start=1)
    )


def _form(target: FormTarget, submit: str, clean: _Clean) -> _Form:
    hidden = [(TOKEN_FIELD, target.token), *target.fields.items()]
    return _Form(
        action=clean(target.action),
        submit=submit,
        hidden=tuple((clean(name), clean(value)) for name, value in hidden),
        input_name=INPUT_FIELD,
    )


def _screen(
    event: Event,
    catalogue: Catalogue,
    language: str,
    target: FormTarget | None,
    link: PageLink | None,
    clean: _Clean,
    shown: _Clean,
) -> _Screen:
    """`clean` makes attribute values safe; `shown`, the texts a person reads."""
    language = _page_language(language)

    def text(message: Message) -> str:
        return shown(catalogue.text(language, message))

    title = text(Message(TITLE_KEY))
    linked = None if link is None else (clean(link.href), text(link.label))
    match event:
        case Ask():
            assert target is not None, "a screen that asks needs a form to answer in"
            return _Screen(
                language=language,
                title=title,
                notice=None if event.notice is None else text(event.notice),
                text=text(event.prompt),
                choices=_choices(tuple(text(choice) for choice in event.choices)),
                entry=None if event.choices else _entry(event.input),
                form=_form(target, text(Message(SUBMIT_KEY)), clean),
                link=linked,
            )
        case End():
            return _Screen(language, title, None, text(event.message), (), None, None, linked)
        case _:
            raise TypeError(f"a WAP page cannot show {type(event).__name__}")


_ENVIRONMENT: Final = Environment(
    loader=PackageLoader("dialogs", TEMPLATES_DIR),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    auto_reload=False,
)
_WML: Final[Template] = _ENVIRONMENT.get_template(WML_TEMPLATE)
_XHTML: Final[Template] = _ENVIRONMENT.get_template(XHTML_TEMPLATE)


def render_wml(
    event: Event,
    catalogue: Catalogue,
    language: str,
    form: FormTarget | None,
    link: PageLink | None = None,
) -> WapPage:
    """One WML 1.3 deck of one card; `$` in every text is escaped as `$$`. `form` may be
    None only for an `End`."""
    screen = _screen(event, catalogue, language, form, link, _wml_text, _wml_text)
    return WapPage(_WML.render(screen=screen), WML_CONTENT_TYPE)


def render_xhtml(
    event: Event,
    catalogue: Catalogue,
    language: str,
    form: FormTarget | None,
    link: PageLink | None = None,
) -> WapPage:
    """One XHTML Mobile Profile 1.2 page; long unbroken runs of text may break. `form` may
    be None only for an `End`."""
    screen = _screen(event, catalogue, language, form, link, _xml_text, _xhtml_shown)
    return WapPage(_XHTML.render(screen=screen), XHTML_CONTENT_TYPE)
