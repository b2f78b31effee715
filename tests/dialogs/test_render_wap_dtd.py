"""Every WAP page the renderer can produce is valid against the real DTDs: WML 1.3 decks and
XHTML Mobile Profile 1.2 pages, validated with lxml against `tests/data/dtd/`.

"Every page": each screen of each node of each flow in `dialogs/flows` (menus, entries of
each kind with and without their refusal notice, confirmations, message notices above the
next screen, ends, and every outcome an end can show), in zh-CN and en, with the widest
parameter values and with hostile ones (markup, `&`, `$`, quotes, control characters, lone
surrogates), behind a hostile form target, with and without the channel's link under the
page (an end also with no form at all). The negative tests prove the DTDs reject what a
renderer could get wrong, so a valid verdict means something.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialogs.catalogue import LANGUAGES, Catalogue
from dialogs.engine import CONFIRM_CHOICES
from dialogs.events import INPUTS, Ask, End, Event, Message, Value
from dialogs.flow import (
    OUTCOME_MESSAGE,
    ConfirmNode,
    EndNode,
    Flow,
    InputNode,
    MenuNode,
    MessageNode,
    Node,
    OperationNode,
    SubflowNode,
    load_flows,
)
from dialogs.render.wap import FormTarget, PageLink, WapPage, render_wml, render_xhtml
from tests.wap_dtd import WML13, XHTML_MP, assert_valid_wml, assert_valid_xhtml_mp, dtd_errors

CATALOGUE = Catalogue.load()
FLOWS = load_flows()
FORM = FormTarget("/wap/step?s=7&v=2", "tok-123", {"session": "sess-42"})

HOSTILE = "<script>alert('x')</script> & $(input) $$5 \"q\" 'a' ]]> <!-- \x00\x07\x1b\ud800\ufffe"
HOSTILE_FORM = FormTarget(
    '/wap/?a=1&b="$(input)"\'<x>', "to$ken<&>\x01", {"session": "s$<1>\"'", "k": HOSTILE}
)
AGAIN = PageLink("/wap/", Message("wap.again"))  # the channel's "start again" under a page
HOSTILE_LINK = PageLink(
    '/wap/?a=1&b="$(input)"\'<x>\x01', Message("outcome.pending", {"ref": HOSTILE})
)
WIDEST_FEN = 1_000_000_000  # ¥10,000,000.00, the most anyone can type
WIDEST_MSISDN = "861390000000123"
WIDEST_REF = "AC261126235959ABCDEF0123"

Params = Callable[[str], dict[str, Value]]


def widest(key: str) -> dict[str, Value]:
    params: dict[str, Value] = {}
    for name in CATALOGUE.placeholders(key):
        if name.endswith("_fen"):
            params[name] = WIDEST_FEN
        elif name == "msisdn" or name.endswith("_msisdn"):
            params[name] = WIDEST_MSISDN
        else:
            params[name] = WIDEST_REF if name == "ref" else "88888888"
    return params


def hostile(key: str) -> dict[str, Value]:
    return dict.fromkeys(CATALOGUE.placeholders(key), HOSTILE)


def _message(key: str, params: Params) -> Message:
    return Message(key, params(key))


def node_screens(flow: Flow, node: Node, params: Params) -> Iterator[tuple[str, Event]]:
    """What a node can show, named `kind:detail` so a failure says which."""
    match node:
        case MenuNode():
            ask = Ask(
                _message(node.prompt, params),
                tuple(_message(o.label, params) for o in node.options),
            )
            yield "menu", ask
            yield (
                "menu:refused",
                Ask(ask.prompt, ask.choices, notice=Message("input.invalid.choice")),
            )
        case InputNode():
            ask = Ask(_message(node.prompt, params), input=INPUTS[node.kind])
            yield f"input:{node.kind}", ask
            notice = node.invalid or f"input.invalid.{node.kind}"
            yield (
                f"input:{node.kind}:refused",
                Ask(ask.prompt, input=ask.input, notice=_message(notice, params)),
            )
            if node.must_equal is not None:
                repeat = Message("input.invalid.repeat")
                yield f"input:{node.kind}:repeat", Ask(ask.prompt, input=ask.input, notice=repeat)
        case ConfirmNode():
            ask = Ask(_message(node.prompt, params), CONFIRM_CHOICES)
            yield "confirm", ask
            yield (
                "confirm:refused",
                Ask(ask.prompt, ask.choices, notice=Message("input.invalid.choice")),
            )
        case MessageNode():
            for name, event in node_screens(flow, flow.node(node.next), params):
                if isinstance(event, Ask):
                    above = _message(node.message, params)
                    yield f"notice+{name}", Ask(event.prompt, event.choices, event.input, above)
        case EndNode() if node.message == OUTCOME_MESSAGE:
            known = CATALOGUE.keys()
            for key in sorted(k for k in known if k.startswith("outcome.")):
                yield f"end:{key}", End(_message(key, params))
        case EndNode():
            yield "end", End(_message(node.message, params))
        case SubflowNode() | OperationNode():
            return  # no screen of their own: the sub-flow's, or the channel runs the operation


def every_screen() -> Iterator[tuple[str, Event]]:
    for flow in FLOWS.values():
        for node in flow.nodes.values():
            for params_name, params in (("widest", widest), ("hostile", hostile)):
                for name, event in node_screens(flow, node, params):
                    yield f"{flow.id}/{node.id}/{name}/{params_name}", event


SCREENS = dict(every_screen())


def test_the_screens_cover_every_kind_of_page() -> None:
    kinds = {name.split("/")[2].split(":")[0] for name in SCREENS}
    assert {"menu", "input", "confirm", "end"} <= kinds
    entries = {name.split("/")[2] for name in SCREENS if name.split("/")[2].startswith("input:")}
    assert {"input:msisdn", "input:amount", "input:pin"} <= entries  # the PIN: a password
    notes = any(isinstance(n, MessageNode) for f in FLOWS.values() for n in f.nodes.values())
    assert notes == any(name.split("/")[2].startswith("notice+") for name in SCREENS)
    assert len({name.split("/")[0] for name in SCREENS}) == len(FLOWS)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("flow_id", sorted(FLOWS))
def test_every_screen_is_valid_wml_and_xhtml_mp(flow_id: str, language: str) -> None:
    problems = []
    screens = [name for name in sorted(SCREENS) if name.startswith(f"{flow_id}/")]
    targets: list[tuple[str, FormTarget | None, PageLink | None]] = [
        ("form", FORM, None),
        ("hostile form", HOSTILE_FORM, None),
        ("form+link", FORM, AGAIN),
        ("hostile link", HOSTILE_FORM, HOSTILE_LINK),
    ]
    # An end needs no form: the channel shows it with only the link, or nothing.
    ends: list[tuple[str, FormTarget | None, PageLink | None]] = [
        ("no form", None, AGAIN),
        ("nothing", None, None),
    ]
    for name in screens:
        for form_name, form, link in targets + (ends if isinstance(SCREENS[name], End) else []):
            wml = render_wml(SCREENS[name], CATALOGUE, language, form, link).body
            xhtml = render_xhtml(SCREENS[name], CATALOGUE, language, form, link).body
            for doctype, body in ((WML13, wml), (XHTML_MP, xhtml)):
                errors = dtd_errors(body, doctype)
                if errors:
                    problems.append(f"{name} ({form_name}) as {doctype.file}: {errors}")
    assert screens
    assert not problems, "\n".join(problems)


PARAM_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)


@given(
    key=st.sampled_from(sorted(CATALOGUE.keys())),
    text=PARAM_TEXT,
    language=st.sampled_from(LANGUAGES),
    shape=st.sampled_from(["end", "choice", "entry"]),
)
def test_any_parameter_text_keeps_the_page_valid(
    key: str, text: str, language: str, shape: str
) -> None:
    message = Message(key, dict.fromkeys(CATALOGUE.placeholders(key), text))
    event: Event
    if shape == "end":
        event = End(message)
    elif shape == "choice":
        event = Ask(message, (message, message), notice=message)
    else:
        event = Ask(message, input=INPUTS["amount"], notice=message)
    target = FormTarget(f"/wap/?q={text}", f"t{text}", {"session": text})
    assert_valid_wml(render_wml(event, CATALOGUE, language, target).body)
    assert_valid_xhtml_mp(render_xhtml(event, CATALOGUE, language, target).body)


# --- the DTDs reject what a renderer could get wrong ---------------------------------------

MENU = Ask(Message("agent.menu"), (Message("agent.menu.topup"), Message("agent.menu.balance")))
PIN = Ask(Message("common.ask_pin"), input=INPUTS["pin"])


def _wml(event: Event = MENU) -> str:
    return render_wml(event, CATALOGUE, "en", FORM).body


def _xhtml(event: Event = MENU) -> str:
    return render_xhtml(event, CATALOGUE, "en", FORM).body


def _broken(page: str, old: str, new: str) -> str:
    assert old in page, f"{old!r} is not in the page any more: update the negative test"
    return page.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ('newcontext="true">', 'newcontext="true">\n<div>x</div>', "div"),  # no div in WML
        ("<p>Agent services</p>", "Agent services", "card"),  # text straight in a card
        ("<select", '<select style="color:red"', "style"),  # no CSS attribute in WML
        ('<select name="input">', '<select name="input" onclick="x()">', "onclick"),
        ('<go method="post"', '<go method="put"', "method"),
        ('<option value="1">Top up</option>', "", ""),  # still valid: one option remains
    ],
)
def test_the_wml_dtd_rejects_what_wml_does_not_have(old: str, new: str, reason: str) -> None:
    assert dtd_errors(_wml(), WML13) == []
    errors = dtd_errors(_broken(_wml(), old, new), WML13)
    if not reason:
        assert errors == []
        return
    assert errors
    assert any(reason in error for error in errors), errors


def test_the_wml_dtd_requires_an_entry_name_and_knows_its_types() -> None:
    page = _wml(PIN)
    assert dtd_errors(_broken(page, '<input name="input" ', "<input "), WML13)
    assert dtd_errors(_broken(page, 'type="password"', 'type="number"'), WML13)
    assert dtd_errors(_broken(page, 'emptyok="false"', 'emptyok="no"'), WML13)


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("<body>", '<body>\n<iframe src="/x"></iframe>', "iframe"),
        ("<body>", "<body>\n<font>x</font>", "font"),
        ("<body>", "<body>\n<center>x</center>", "center"),
        ("<p>Agent services</p>", '<p align="center">Agent services</p>', "align"),
        ("<p>Agent services</p>", "<p><div>Agent services</div></p>", "div"),
        ('xml:lang="en"', 'lang="en"', "lang"),  # XHTML-MP has only xml:lang
        ("<div>\n<input", "<input", "form"),  # a form holds blocks, not a bare input
        ('type="submit"', 'type="range"', "type"),
    ],
)
def test_the_xhtml_mp_dtd_rejects_what_xhtml_mp_does_not_have(
    old: str, new: str, reason: str
) -> None:
    assert dtd_errors(_xhtml(), XHTML_MP) == []
    page = _broken(_xhtml(), old, new)
    if old == "<div>\n<input":
        page = _broken(page, "/>\n</div>", "/>")
    errors = dtd_errors(page, XHTML_MP)
    assert errors
    assert any(reason in error for error in errors), errors


def test_xhtml_mp_itself_allows_style_and_script() -> None:
    """The Inline Style, Style Sheet and Scripting modules are part of XHTML-MP 1.2, so the
    DTD cannot enforce the issue's "no CSS, no JavaScript": the renderer's own tests do."""
    page = _broken(_xhtml(), "<p>Agent services</p>", '<p style="color:red">Agent services</p>')
    page = _broken(
        page,
        "</head>",
        '<style type="text/css">p {}</style>\n<script type="text/javascript">x()</script>\n</head>',
    )
    assert dtd_errors(page, XHTML_MP) == []


def test_the_doctype_must_name_the_dtd() -> None:
    assert any("DOCTYPE" in e for e in dtd_errors(_xhtml(), WML13))
    assert any("DOCTYPE" in e for e in dtd_errors(_wml(), XHTML_MP))
    no_doctype = "\n".join(line for line in _wml().splitlines() if "DOCTYPE" not in line)
    assert any("DOCTYPE" in e for e in dtd_errors(no_doctype, WML13))
    assert dtd_errors("<wml><card>", WML13)[0].startswith("not well-formed")


def test_pages_are_read_without_fetching_or_expanding_anything() -> None:
    entity = (
        '<?xml version="1.0"?>\n<!DOCTYPE wml PUBLIC "-//WAPFORUM//DTD WML 1.3//EN"'
        ' "http://www.wapforum.org/DTD/wml13.dtd" [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        "<wml><card><p>&x;</p></card></wml>"
    )
    errors = dtd_errors(entity, WML13)
    assert not any("root:" in e for e in errors)


def _page_of(render: Callable[..., WapPage], event: Event) -> str:
    return render(event, CATALOGUE, "zh-CN", FORM).body


def test_a_renderer_mistake_would_fail_the_screen_test() -> None:
    """The screen test above validates with these same helpers; a page with an invalid
    element fails them (and so would fail that test)."""
    page = _broken(_page_of(render_wml, MENU), "</card>", "<div/></card>")
    with pytest.raises(AssertionError, match="div"):
        assert_valid_wml(page)
    page = _broken(_page_of(render_xhtml, MENU), "<body>", "<body><iframe/>")
    with pytest.raises(AssertionError, match="iframe"):
        assert_valid_xhtml_mp(page)
