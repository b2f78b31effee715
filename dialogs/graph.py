"""`aircharge flows graph`: a flow as a Graphviz DOT diagram (the caller renders SVG with
Graphviz's `dot`). Each node shows its id and, in the chosen language, the text it puts on
screen; each arrow is labelled with what takes it (a menu choice, yes/no, an outcome code)."""

from __future__ import annotations

from typing import Final

from dialogs.catalogue import Catalogue
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
)

SHAPES: Final = {
    MenuNode: "box",
    InputNode: "parallelogram",
    ConfirmNode: "diamond",
    MessageNode: "note",
    SubflowNode: "folder",
    OperationNode: "component",
    EndNode: "doubleoctagon",
}
label_chars_max: Final = 60


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _short(text: str) -> str:
    return text if len(text) <= label_chars_max else text[: label_chars_max - 1] + "…"


def _label(node: Node, catalogue: Catalogue, language: str) -> str:
    match node:
        case MenuNode() | InputNode() | ConfirmNode():
            return f"{node.id}\n{_short(catalogue.template(language, node.prompt))}"
        case MessageNode():
            return f"{node.id}\n{_short(catalogue.template(language, node.message))}"
        case SubflowNode():
            return f"{node.id}\n→ flow {node.flow}"
        case OperationNode():
            return f"{node.id}\n⚙ {node.operation}({', '.join(node.params)})"
        case EndNode() if node.message == OUTCOME_MESSAGE:
            return f"{node.id}\n(the outcome's message)"
        case EndNode():
            return f"{node.id}\n{_short(catalogue.template(language, node.message))}"
    raise TypeError(node)


def _edges(node: Node, catalogue: Catalogue, language: str) -> list[tuple[str, str]]:
    match node:
        case MenuNode():
            return [
                (option.next, f"{n}. {catalogue.template(language, option.label)}")
                for n, option in enumerate(node.options, start=1)
            ]
        case InputNode():
            return [(node.next, f"{node.slot} ({node.kind})")]
        case ConfirmNode():
            return [(node.yes, "1"), (node.no, "2")]
        case MessageNode():
            return [(node.next, "")]
        case SubflowNode():
            return [(node.next, "after the flow")]
        case OperationNode():
            return [
                *((t, code) for code, t in node.outcomes.items()),
                (node.otherwise, "otherwise"),
            ]
    return []


def to_dot(flow: Flow, catalogue: Catalogue, language: str) -> str:
    lines = [
        f"digraph {_quote(flow.id)} {{",
        '  graph [rankdir=TB, fontname="sans-serif"];',
        '  node [fontname="sans-serif", fontsize=10];',
        '  edge [fontname="sans-serif", fontsize=9];',
        "  start [shape=point, width=0.15];",
        f"  start -> {_quote(flow.start)};",
    ]
    for node in flow.nodes.values():
        label = _quote(_label(node, catalogue, language))
        lines.append(f"  {_quote(node.id)} [shape={SHAPES[type(node)]}, label={label}];")
    for node in flow.nodes.values():
        for target, label in _edges(node, catalogue, language):
            lines.append(
                f"  {_quote(node.id)} -> {_quote(target)} [label={_quote(_short(label))}];"
            )
    lines.append("}")
    return "\n".join(lines) + "\n"
