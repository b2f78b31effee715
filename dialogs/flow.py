"""Flow definitions: the YAML schema, loaded into frozen dataclasses and checked whole.

One flow describes a journey once; every channel renders it. Node types:
`menu` (numbered options), `input` (a typed value into a slot), `confirm` (1 yes / 2 no),
`operation` (ask the ledger by name; branch on the outcome code) and `end`.
A flow that names a missing node, slot, kind or message fails to load with the file and
node in the message: a broken flow never reaches a handset.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

FLOWS_DIR: Final = Path(__file__).parent / "flows"
SCHEMA_PATH: Final = FLOWS_DIR / "flow.schema.json"  # the published format
INPUT_KINDS: Final = frozenset({"msisdn", "amount", "pin", "code", "regex"})
OUTCOME_MESSAGE: Final = "outcome"  # an end node with this message shows `outcome.<code>`
ACTOR: Final = "actor"  # a notification to the person in the session

nodes_per_flow_max: Final = 200
options_per_menu_max: Final = 9


class FlowError(Exception):
    """A flow definition is broken; the message names the file and the node."""


@dataclass(frozen=True, slots=True)
class MenuOption:
    label: str
    next: str


@dataclass(frozen=True, slots=True)
class MenuNode:
    id: str
    prompt: str
    options: tuple[MenuOption, ...]


@dataclass(frozen=True, slots=True)
class InputNode:
    id: str
    prompt: str
    kind: str
    slot: str
    next: str
    must_equal: str | None = None  # a slot this entry must repeat (a new PIN, typed twice)
    pattern: str | None = None  # kind regex: what the whole entry must match (after NFKC)
    invalid: str | None = None  # the notice when an entry is refused (default per kind)


@dataclass(frozen=True, slots=True)
class MessageNode:
    """Show `message` above the next screen (which must ask something) and go on."""

    id: str
    message: str
    next: str


@dataclass(frozen=True, slots=True)
class SubflowNode:
    """Run another flow with this session's slots; when it reaches an end, come back to
    `next`, its end message shown above the next screen."""

    id: str
    flow: str
    next: str


@dataclass(frozen=True, slots=True)
class ConfirmNode:
    id: str
    prompt: str
    yes: str
    no: str


@dataclass(frozen=True, slots=True)
class OperationNode:
    id: str
    operation: str
    params: tuple[str, ...]
    outcomes: Mapping[str, str]
    otherwise: str


@dataclass(frozen=True, slots=True)
class NotifySpec:
    """On reaching an end: send `message` by SMS to `to` (a slot holding a number, or
    `actor`, the person in the session)."""

    to: str
    message: str


@dataclass(frozen=True, slots=True)
class EndNode:
    id: str
    message: str
    notify: tuple[NotifySpec, ...] = ()


Node = MenuNode | InputNode | ConfirmNode | MessageNode | SubflowNode | OperationNode | EndNode


@dataclass(frozen=True, slots=True)
class Flow:
    id: str
    start: str
    nodes: Mapping[str, Node]
    lines: Mapping[str, int] = field(default_factory=dict)  # node id -> line in its file
    commands: Mapping[str, str] = field(default_factory=dict)  # SMS command kind -> node id

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]

    def slot_kind(self, slot: str) -> str | None:
        for node in self.nodes.values():
            if isinstance(node, InputNode) and node.slot == slot:
                return node.kind
        return None


def _str(raw: Mapping[str, Any], field: str, where: str) -> str:
    value = raw.get(field)
    if not isinstance(value, str) or not value:
        raise FlowError(f"{where}: `{field}` must be a non-empty string, got {value!r}")
    return value


def _node(node_id: str, raw: Any, where: str) -> Node:
    if not isinstance(raw, Mapping):
        raise FlowError(f"{where}: a node is a mapping, got {type(raw).__name__}")
    kind = raw.get("type")
    if kind == "menu":
        options = raw.get("options")
        if not isinstance(options, list) or not 0 < len(options) <= options_per_menu_max:
            raise FlowError(f"{where}: `options` must list 1..{options_per_menu_max} options")
        return MenuNode(
            node_id,
            _str(raw, "prompt", where),
            tuple(
                MenuOption(_str(o, "label", where), _str(o, "next", where))
                if isinstance(o, Mapping)
                else _bad_option(o, where)
                for o in options
            ),
        )
    if kind == "input":
        input_kind = _str(raw, "kind", where)
        if input_kind not in INPUT_KINDS:
            raise FlowError(f"{where}: kind {input_kind!r} is not one of {sorted(INPUT_KINDS)}")
        slot = _str(raw, "slot", where)
        if (input_kind == "pin") != slot.endswith("pin"):
            raise FlowError(f"{where}: PIN slots, and only they, have names ending in 'pin'")
        must_equal = raw.get("must_equal")
        if must_equal is not None and not isinstance(must_equal, str):
            raise FlowError(f"{where}: `must_equal` names a slot")
        invalid = raw.get("invalid")
        if invalid is not None and not isinstance(invalid, str):
            raise FlowError(f"{where}: `invalid` is a message key")
        if input_kind == "regex" and invalid is None:
            raise FlowError(f"{where}: a regex input says what is wrong with `invalid`")
        return InputNode(
            node_id,
            _str(raw, "prompt", where),
            input_kind,
            slot,
            _str(raw, "next", where),
            must_equal,
            _pattern(raw, input_kind, where),
            invalid,
        )
    if kind == "message":
        return MessageNode(node_id, _str(raw, "message", where), _str(raw, "next", where))
    if kind == "flow":
        return SubflowNode(node_id, _str(raw, "flow", where), _str(raw, "next", where))
    if kind == "confirm":
        return ConfirmNode(
            node_id, _str(raw, "prompt", where), _str(raw, "yes", where), _str(raw, "no", where)
        )
    if kind == "operation":
        params = raw.get("params", [])
        outcomes = raw.get("outcomes", {})
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            raise FlowError(f"{where}: `params` must be a list of slot names")
        if not isinstance(outcomes, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in outcomes.items()
        ):
            raise FlowError(f"{where}: `outcomes` must map outcome codes to node ids")
        return OperationNode(
            node_id,
            _str(raw, "operation", where),
            tuple(params),
            dict(outcomes),
            _str(raw, "otherwise", where),
        )
    if kind == "end":
        notify = raw.get("notify", [])
        if not isinstance(notify, list) or not all(isinstance(n, Mapping) for n in notify):
            raise FlowError(f"{where}: `notify` lists {{to, message}} mappings")
        specs = tuple(NotifySpec(_str(n, "to", where), _str(n, "message", where)) for n in notify)
        return EndNode(node_id, _str(raw, "message", where), specs)
    raise FlowError(f"{where}: unknown node type {kind!r}")


def _pattern(raw: Mapping[str, Any], input_kind: str, where: str) -> str | None:
    pattern = raw.get("pattern")
    if (pattern is not None) != (input_kind == "regex"):
        raise FlowError(f"{where}: `pattern` goes with kind regex, and only with it")
    if pattern is None:
        return None
    if not isinstance(pattern, str):
        raise FlowError(f"{where}: `pattern` is a regular expression")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise FlowError(f"{where}: `pattern` {pattern!r}: {exc}") from exc
    return pattern


def _bad_option(option: Any, where: str) -> MenuOption:
    raise FlowError(f"{where}: a menu option is a mapping with label and next, got {option!r}")


def successors(node: Node) -> list[str]:
    """The nodes a node can lead to, in the order its definition names them."""
    match node:
        case MenuNode():
            return [option.next for option in node.options]
        case InputNode():
            return [node.next]
        case ConfirmNode():
            return [node.yes, node.no]
        case MessageNode() | SubflowNode():
            return [node.next]
        case OperationNode():
            return [*node.outcomes.values(), node.otherwise]
        case EndNode():
            return []


def _check_notify(flow: Flow, node: Node, source: str) -> None:
    if not isinstance(node, EndNode):
        return
    for spec in node.notify:
        if spec.to != ACTOR and flow.slot_kind(spec.to) != "msisdn":
            raise FlowError(
                f"{source}: node {node.id!r} notifies {spec.to!r}, which is neither"
                f" {ACTOR!r} nor a slot an msisdn input fills"
            )


def _check_message(flow: Flow, node: Node, source: str) -> None:
    if isinstance(node, MessageNode) and not isinstance(
        flow.nodes.get(node.next), MenuNode | InputNode | ConfirmNode
    ):
        raise FlowError(
            f"{source}: message node {node.id!r} must lead to a menu, input or confirm node"
        )


def _check_repeat(flow: Flow, node: Node, source: str) -> None:
    if not isinstance(node, InputNode) or node.must_equal is None:
        return
    if flow.slot_kind(node.must_equal) != node.kind:
        raise FlowError(
            f"{source}: node {node.id!r} must repeat {node.must_equal!r},"
            f" which no {node.kind} input fills"
        )


def _check_graph(flow: Flow, source: str) -> None:
    for node in flow.nodes.values():
        for target in successors(node):
            if target not in flow.nodes:
                raise FlowError(f"{source}: node {node.id!r} leads to missing node {target!r}")
        _check_repeat(flow, node, source)
        _check_notify(flow, node, source)
        _check_message(flow, node, source)
        if isinstance(node, OperationNode):
            for slot in node.params:
                if flow.slot_kind(slot) is None:
                    raise FlowError(
                        f"{source}: node {node.id!r} passes slot {slot!r} that no input fills"
                    )
    seen, todo = {flow.start}, [flow.start]
    while todo:
        for target in successors(flow.nodes[todo.pop()]):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    unreachable = sorted(set(flow.nodes) - seen)
    if unreachable:
        raise FlowError(f"{source}: nodes never reached from {flow.start!r}: {unreachable}")


def _commands(
    document: Mapping[str, Any], nodes: Mapping[str, Node], source: str
) -> dict[str, str]:
    """`commands: {topup: topup_run}`: an SMS command enters the flow at that operation node
    with its fields as slots (no menus, no confirmation: the command is the confirmation)."""
    raw = document.get("commands", {})
    if not isinstance(raw, Mapping):
        raise FlowError(f"{_at(source, document)}: `commands` maps command kinds to node ids")
    commands = {}
    for kind, node_id in raw.items():
        if not isinstance(node_id, str) or not isinstance(nodes.get(node_id), OperationNode):
            raise FlowError(f"{_at(source, raw)}: command {kind!r} must name an operation node")
        commands[str(kind)] = node_id
    return commands


def _at(source: str, raw: Any) -> str:
    line = getattr(raw, "line", 0)
    return f"{source}:{line}" if line else source


def parse_flow(document: Any, source: str) -> Flow:
    if not isinstance(document, Mapping):
        raise FlowError(f"{source}: a flow is a mapping with id, start and nodes")
    flow_id = _str(document, "id", source)
    start = _str(document, "start", source)
    raw_nodes = document.get("nodes")
    if not isinstance(raw_nodes, Mapping) or not raw_nodes:
        raise FlowError(f"{source}: `nodes` must be a non-empty mapping")
    if len(raw_nodes) > nodes_per_flow_max:
        raise FlowError(f"{source}: {len(raw_nodes)} nodes, at most {nodes_per_flow_max}")
    nodes = {
        str(node_id): _node(str(node_id), raw, f"{_at(source, raw)}: node {node_id!r}")
        for node_id, raw in raw_nodes.items()
    }
    if start not in nodes:
        raise FlowError(f"{source}: start node {start!r} is not defined")
    lines = {str(node_id): getattr(raw, "line", 0) for node_id, raw in raw_nodes.items()}
    flow = Flow(flow_id, start, nodes, lines, _commands(document, nodes, source))
    _check_graph(flow, source)
    return flow


class _Located(dict[Any, Any]):
    """A YAML mapping that remembers the line it starts on, for error messages."""

    line = 0


class _LineLoader(yaml.SafeLoader):
    pass


def _located_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _Located:
    mapping = _Located(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _located_mapping)


def read_document(path: Path) -> Any:
    """The YAML of a flow file, its mappings knowing their line (`line_of`)."""
    try:
        text = path.read_text(encoding="utf-8")
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except (OSError, yaml.YAMLError) as exc:
        raise FlowError(f"{path}: {exc}") from exc


def line_of(document: Any, path: Iterable[str | int]) -> int:
    """The line of the deepest mapping along `path` in a document from `read_document`."""
    line, node = getattr(document, "line", 0), document
    for step in path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            break
        line = getattr(node, "line", line)
    return int(line)


def load_flow(path: Path) -> Flow:
    """Load and check one flow file; errors name the file and, where known, the line."""
    return parse_flow(read_document(path), str(path))


def load_flows(paths: Iterable[Path] | None = None) -> dict[str, Flow]:
    """Every flow by id (the packaged ones by default); duplicate ids are an error."""
    flows: dict[str, Flow] = {}
    for path in sorted(paths if paths is not None else FLOWS_DIR.glob("*.yaml")):
        flow = load_flow(path)
        if flow.id in flows:
            raise FlowError(f"{path}: flow id {flow.id!r} is defined twice")
        flows[flow.id] = flow
    check_subflows(flows)
    return flows


def check_subflows(flows: Mapping[str, Flow]) -> None:
    """Every flow a `flow` node runs exists."""
    for flow in flows.values():
        for node in flow.nodes.values():
            if isinstance(node, SubflowNode) and node.flow not in flows:
                raise FlowError(
                    f"flow {flow.id!r}: node {node.id!r} runs unknown flow {node.flow!r}"
                )
