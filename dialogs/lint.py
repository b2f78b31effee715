"""`aircharge flows check`: every rule a flow must pass before it reaches a handset.

First the published schema (`dialogs/flows/flow.schema.json`, JSON Schema 2020-12), each
complaint at its file and line. Loading then refuses links to missing nodes,
unreachable nodes, unknown node types and input kinds, menus over nine choices (so every IVR
menu fits one DTMF key) and parameters no input fills. On top of that:

- `dead-end`: a node from which no end can be reached (a caller would be stuck);
- `missing-message`: a key the flow shows that the catalogues lack (they hold zh-CN and en
  with the same keys, so one check covers both languages);
- `unknown-operation`: an operation the platform does not offer;
- `command`: an SMS command that does not exist, or does not fill its operation's slots;
- `missing-outcome-message`: an outcome an operation can answer that has no message where
  the flow shows outcomes;
- `ussd-page-too-long`: a screen that does not fit a USSD page in some language, rendered
  with the widest parameter values (prompts with their error notice, menus page by page);
- `stk-command-too-long`: the same screen as a SIM Toolkit command over 255 bytes, and a
  flow's first menu as the SIM's SET UP MENU (`channels.stk.compiler` checks the compiled
  program's commands once filled in, run by `aircharge flows check`).
(IVR menus of at most nine choices are a load rule: no menu may have more.)

Pure: the caller passes the catalogue, the outcome codes and the operation names.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from jsonschema import Draft202012Validator

from dialogs.catalogue import LANGUAGES, Catalogue
from dialogs.engine import CONFIRM_CHOICES
from dialogs.events import INPUTS, Ask, End, Event, Message, Value
from dialogs.flow import (
    OUTCOME_MESSAGE,
    SCHEMA_PATH,
    ConfirmNode,
    EndNode,
    Flow,
    FlowError,
    InputNode,
    MenuNode,
    MessageNode,
    OperationNode,
    line_of,
    load_flow,
    read_document,
    successors,
)
from dialogs.grammar import COMMAND_SLOTS
from dialogs.inputs import amount_fen_max
from dialogs.render.stk import render_stk, render_stk_menu
from dialogs.render.stk_size import command_bytes, command_bytes_max
from dialogs.render.ussd import fits_page, render_ussd

# The widest values a screen must still hold: the largest amount anyone can type
# (¥10,000,000.00), a 15-digit number, a full platform reference, eight characters else.
WIDEST_AMOUNT_FEN: Final = amount_fen_max
WIDEST_MSISDN: Final = "861390000000123"
WIDEST_REFERENCE: Final = "AC261126235959ABCDEF0123"
WIDEST_OTHER: Final = "88888888"


@dataclass(frozen=True, slots=True)
class Finding:
    where: str  # file:line
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.where}: {self.rule}: {self.detail}"


@dataclass(frozen=True, slots=True)
class LintContext:
    catalogue: Catalogue
    outcome_codes: Collection[str]
    operations: Collection[str]


@functools.cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def schema_findings(path: Path) -> list[Finding]:
    """The published schema's complaints about one file, each at its line."""
    try:
        document = read_document(path)
    except FlowError as exc:
        return [Finding(str(path), "schema", str(exc).removeprefix(f"{path}: "))]
    findings = []
    for error in sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.path))):
        line = line_of(document, error.absolute_path)
        where = f"{path}:{line}" if line else str(path)
        at = "/".join(map(str, error.absolute_path)) or "(top)"
        findings.append(Finding(where, "schema", f"{at}: {error.message}"))
    return findings


def check_files(paths: Iterable[Path], context: LintContext) -> list[Finding]:
    findings: list[Finding] = []
    seen: dict[str, Path] = {}
    for path in sorted(paths):
        against_schema = schema_findings(path)
        if against_schema:
            findings += against_schema
            continue
        try:
            flow = load_flow(path)
        except FlowError as exc:
            findings.append(Finding(str(path), "schema", str(exc).removeprefix(f"{path}: ")))
            continue
        if flow.id in seen:
            findings.append(
                Finding(str(path), "duplicate-id", f"{flow.id!r} is also {seen[flow.id]}")
            )
        seen[flow.id] = path
        findings += check_flow(flow, str(path), context)
    return findings


def check_flow(flow: Flow, source: str, context: LintContext) -> list[Finding]:
    def where(node_id: str) -> str:
        line = flow.lines.get(node_id, 0)
        return f"{source}:{line}" if line else source

    findings = [
        Finding(where(n), "dead-end", f"node {n!r} never reaches an end") for n in _dead_ends(flow)
    ]
    findings += [
        Finding(where(node), "command", detail) for node, detail in _command_findings(flow)
    ]
    for node in flow.nodes.values():
        findings += [
            Finding(where(node.id), rule, detail)
            for rule, detail in _node_findings(flow, node, context)
        ]
    return findings


def _command_findings(flow: Flow) -> list[tuple[str, str]]:
    """An SMS command must exist, and fill every slot its operation node passes."""
    findings = []
    for kind, node_id in sorted(flow.commands.items()):
        if kind not in COMMAND_SLOTS:
            findings.append((node_id, f"{kind!r} is not an SMS command"))
            continue
        node = flow.nodes[node_id]
        assert isinstance(node, OperationNode)
        unfilled = sorted(set(node.params) - set(COMMAND_SLOTS[kind]))
        if unfilled:
            findings.append((node_id, f"command {kind!r} does not fill {unfilled}"))
    return findings


def _dead_ends(flow: Flow) -> list[str]:
    """Nodes with no path to an end node (walking the links backwards from every end)."""
    leads_to: dict[str, set[str]] = {node_id: set() for node_id in flow.nodes}
    for node in flow.nodes.values():
        for target in successors(node):
            leads_to[target].add(node.id)
    ending = {n.id for n in flow.nodes.values() if isinstance(n, EndNode)}
    todo = list(ending)
    while todo:
        for source in leads_to[todo.pop()]:
            if source not in ending:
                ending.add(source)
                todo.append(source)
    return sorted(set(flow.nodes) - ending)


def _node_findings(flow: Flow, node: object, context: LintContext) -> list[tuple[str, str]]:
    findings: list[tuple[str, str]] = []
    known = context.catalogue.keys()
    missing = sorted(k for k in node_message_keys(node) if k not in known)
    findings += [("missing-message", f"{k!r} is in neither catalogue") for k in missing]
    if isinstance(node, OperationNode):
        if node.operation not in context.operations:
            findings.append(("unknown-operation", f"{node.operation!r} is not an operation"))
        findings += _outcome_findings(flow, node, context)
    if not missing:
        findings += _page_findings(node, context.catalogue)
        if isinstance(node, MenuNode) and node.id == flow.start:
            findings += _menu_findings(node, context.catalogue)
    return findings


def _menu_findings(node: MenuNode, catalogue: Catalogue) -> list[tuple[str, str]]:
    """A flow's first menu, as the SIM's root menu (SET UP MENU, no notice)."""
    ask = Ask(_widest(catalogue, node.prompt), tuple(Message(o.label) for o in node.options))
    findings = []
    for language in LANGUAGES:
        size = command_bytes(render_stk_menu(ask, catalogue, language))
        if size > command_bytes_max:
            detail = f"{language}: SET UP MENU of {size} bytes > {command_bytes_max}"
            findings.append(("stk-command-too-long", detail))
    return findings


def flow_message_keys(flow: Flow) -> set[str]:
    """Every key a flow can show (its screens, notices and notifications)."""
    return {key for node in flow.nodes.values() for key in node_message_keys(node)}


def node_message_keys(node: object) -> set[str]:
    """The keys one node can show: prompts, labels, its refusal notices, messages."""
    match node:
        case MenuNode():
            return {node.prompt, *(option.label for option in node.options)}
        case InputNode():
            keys = {node.prompt, node.invalid or f"input.invalid.{node.kind}"}
            return keys | ({"input.invalid.repeat"} if node.must_equal is not None else set())
        case MessageNode():
            return {node.message}
        case ConfirmNode():
            return {node.prompt, *(m.key for m in CONFIRM_CHOICES), "input.invalid.choice"}
        case EndNode():
            keys = {spec.message for spec in node.notify}
            return keys if node.message == OUTCOME_MESSAGE else keys | {node.message}
    return set()


def _outcome_findings(
    flow: Flow, node: OperationNode, context: LintContext
) -> list[tuple[str, str]]:
    """Where an operation's outcome can land on an end that shows the outcome's own message,
    every outcome routed there needs one."""
    known = context.catalogue.keys()
    findings = []
    for code in sorted(context.outcome_codes):
        end = flow.nodes[node.outcomes.get(code, node.otherwise)]
        shows_outcome = isinstance(end, EndNode) and end.message == OUTCOME_MESSAGE
        if shows_outcome and f"outcome.{code}" not in known:
            findings.append(("missing-outcome-message", f"'outcome.{code}' for node {node.id!r}"))
    return findings


def _widest(catalogue: Catalogue, key: str) -> Message:
    params: dict[str, Value] = {}
    for name in catalogue.placeholders(key):
        if name.endswith("_fen"):
            params[name] = WIDEST_AMOUNT_FEN
        elif name == "msisdn" or name.endswith("_msisdn"):
            params[name] = WIDEST_MSISDN
        elif name == "ref":
            params[name] = WIDEST_REFERENCE
        else:
            params[name] = WIDEST_OTHER
    return Message(key, params)


def _screens(node: object, catalogue: Catalogue) -> list[Event]:
    match node:
        case MenuNode():
            choices = tuple(Message(o.label) for o in node.options)
            prompt = _widest(catalogue, node.prompt)
            return [
                Ask(prompt, choices),
                Ask(prompt, choices, notice=Message("input.invalid.choice")),
            ]
        case InputNode():
            prompt = _widest(catalogue, node.prompt)
            notice = Message(node.invalid or f"input.invalid.{node.kind}")
            return [Ask(prompt, input=INPUTS[node.kind], notice=notice)]
        case ConfirmNode():
            notice = Message("input.invalid.choice")
            return [Ask(_widest(catalogue, node.prompt), CONFIRM_CHOICES, notice=notice)]
        case EndNode() if node.message == OUTCOME_MESSAGE:
            known = catalogue.keys()
            keys = sorted(k for k in known if k.startswith("outcome."))
            return [End(_widest(catalogue, key)) for key in keys]
        case EndNode():
            return [End(_widest(catalogue, node.message))]
    return []


def _page_findings(node: object, catalogue: Catalogue) -> list[tuple[str, str]]:
    findings = []
    for event in _screens(node, catalogue):
        for language in LANGUAGES:
            size = command_bytes(render_stk(event, catalogue, language))
            if size > command_bytes_max:
                findings.append(
                    ("stk-command-too-long", f"{language}: {size} bytes > {command_bytes_max}")
                )
            first = render_ussd(event, catalogue, language)
            for index in range(first.pages):
                page = render_ussd(event, catalogue, language, index)
                if not fits_page(page.text):
                    findings.append(
                        (
                            "ussd-page-too-long",
                            f"{language}: {len(page.text)} characters do not fit a USSD page:"
                            f" {page.text!r}",
                        )
                    )
    return findings
