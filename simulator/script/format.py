"""The scripted session file: YAML, checked against `session.schema.json`, read into steps.

A script says which phone does what on which channel and what must follow, on screen and in
the balances; docs/simulator.md documents the format. Every mistake in a file is reported
with the file and line it is on, before anything runs.

Numbers, keys and answers are text: unquoted `13800000003`, `0123` or `1` in YAML would be
integers (`0123` even octal in YAML 1.1), so those fields take the scalar exactly as written.
"""

from __future__ import annotations

import functools
import json
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml
from jsonschema import Draft202012Validator

from simulator.smsc.handsets import international

SCHEMA_PATH: Final = Path(__file__).with_name("session.schema.json")
within_s_default: Final = 10.0  # how long an expectation waits, unless the script says

ACTIONS: Final = (
    "sms", "expect_sms", "expect_no_sms",
    "dial", "answer", "end_ussd", "expect_page", "expect_ussd",
    "call", "press", "hang_up", "expect_heard", "expect_call",
    "wap", "wap_answer", "wap_follow", "expect_wap",
    "stk", "stk_select", "stk_enter", "stk_ok", "stk_back", "stk_cancel", "expect_stk",
    "expect_boss", "expect_ledger", "wait_s",
)  # fmt: skip
WAITING: Final = frozenset(
    {"expect_sms", "expect_page", "expect_ussd", "expect_heard", "expect_call", "expect_wap"}
    | {"expect_boss", "expect_ledger"}
    | {"expect_stk"}
)
# They may `save:` what they found.
SEEN: Final = ("expect_sms", "expect_page", "expect_heard", "expect_wap", "expect_stk")
OPTIONS: Final = {
    "to": ("sms",),
    "language": ("call",),
    "withheld": ("call",),
    "browser": ("wap",),
    "enrich": ("wap",),
    "save": SEEN,
}
# `${name}` takes a saved value.
SUBSTITUTED: Final = frozenset({"sms", "answer", "press", "wap_answer", "stk_select", "stk_enter"})
WAP_PAGE_ACTIONS: Final = frozenset({"wap_answer", "wap_follow", "expect_wap"})
STK_SCREEN_ACTIONS: Final = frozenset(
    {"stk_select", "stk_enter", "stk_ok", "stk_back", "stk_cancel", "expect_stk"}
)
TEXT_FIELDS: Final = frozenset(
    {"phone", "to", "sms", "dial", "answer", "call", "press"}
    | {"wap_answer", "wap_follow", "stk_select", "stk_enter"}
)
NUMBER_FIELDS: Final = frozenset({"number", "agent"})  # inside expect_boss / expect_ledger


class ScriptError(Exception):
    """The file cannot be run: it names the file and line, and what is wrong."""


@dataclass(frozen=True, slots=True)
class Text:
    """What an expectation looks for: a substring, or a regular expression (`{regex: …}`)."""

    pattern: str
    regex: bool = False

    def found_in(self, text: str) -> str | None:
        """What matched in `text` (a regex's first group when it has one), else None."""
        if not self.regex:
            return self.pattern if self.pattern in text else None
        match = re.search(self.pattern, text)
        if match is None:
            return None
        return match.group(1) if match.re.groups else match.group(0)

    def __str__(self) -> str:
        return f"/{self.pattern}/" if self.regex else repr(self.pattern)


@dataclass(frozen=True, slots=True)
class Step:
    """One line of the script: `action` with its `value`, on `phone` (the current phone)."""

    line: int
    phone: str
    action: str
    value: Any
    options: dict[str, Any]
    within_s: float

    def describe(self) -> str:
        value = self.value
        if isinstance(value, dict):
            value = " ".join(f"{key}={item}" for key, item in value.items())
        shown = "" if value is None or value is True else f" {value}"
        return f"{self.phone}: {self.action}{shown}"


@dataclass(frozen=True, slots=True)
class Script:
    path: str
    name: str
    paced: bool  # IVR prompts take their playing time
    steps: tuple[Step, ...]


def load_script(path: Path) -> Script:
    """Read and check one script file; `ScriptError` says where it is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScriptError(f"{path}: cannot read: {exc}") from None
    return parse_script(text, str(path))


def parse_script(text: str, where: str) -> Script:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScriptError(f"{where}: not YAML: {exc}") from None
    if node is None or not isinstance(document, dict):
        raise ScriptError(f"{where}: a script is a mapping with `steps` (see docs/simulator.md)")
    step_nodes = _step_nodes(node)
    _keep_text_as_written(document, step_nodes)
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.path)))
    if errors:
        raise ScriptError(
            "\n".join(
                _at(where, node, step_nodes, list(e.absolute_path), e.message) for e in errors
            )
        )
    within_s = float(document.get("within_s", within_s_default))
    steps: list[Step] = []
    phone = ""
    saved: set[str] = set()
    opened: set[tuple[str, str]] = set()  # (opening action, phone): a WAP page, a SIM menu
    for raw, step_node in zip(document["steps"], step_nodes, strict=True):
        line = step_node.start_mark.line + 1
        phone = raw.get("phone", phone)
        step = _step(raw, phone, within_s, f"{where}:{line}", line)
        _check_names(step, saved, f"{where}:{line}")
        _check_opened(step, opened, f"{where}:{line}")
        steps.append(step)
    return Script(where, document.get("name", Path(where).stem), document.get("paced", False),
                  tuple(steps))  # fmt: skip


def _check_names(step: Step, saved: set[str], where: str) -> None:
    """`${name}` only after a step saved `name`; `$$` is a dollar sign."""
    if step.action in SUBSTITUTED:
        template = string.Template(step.value)
        if not template.is_valid():
            raise ScriptError(f"{where}: a lone `$` (write `$$` for a dollar sign)")
        unknown = [name for name in template.get_identifiers() if name not in saved]
        if unknown:
            raise ScriptError(f"{where}: `${{{unknown[0]}}}` is not saved by a step before")
    if "save" in step.options:
        saved.add(step.options["save"])


# A screen a step uses -> the action that must have opened it on that phone, and what it is.
_OPENED_BY: Final = {
    **{action: ("wap", "a WAP page") for action in WAP_PAGE_ACTIONS},
    **{action: ("stk", "the SIM menu") for action in STK_SCREEN_ACTIONS},
}


def _check_opened(step: Step, opened: set[tuple[str, str]], where: str) -> None:
    """A WAP page is answered, followed or looked at only after a `wap` step opened it on
    that phone; the SIM's screens only after a `stk` step opened its menu."""
    phone = international(step.phone)
    if step.action in ("wap", "stk"):
        opened.add((step.action, phone))
    elif step.action in _OPENED_BY:
        opener, what = _OPENED_BY[step.action]
        if (opener, phone) not in opened:
            raise ScriptError(
                f"{where}: `{step.action}` needs {what} on {step.phone}: open it with a"
                f" `{opener}: true` step on this phone before"
            )


@functools.cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def _step(raw: dict[str, Any], phone: str, within_s: float, where: str, line: int) -> Step:
    actions = [key for key in raw if key in ACTIONS]
    if not actions and set(raw) == {"phone"}:
        return Step(line, phone, "phone", None, {}, within_s)
    if len(actions) != 1:
        found = ", ".join(actions) or "none"
        raise ScriptError(f"{where}: a step does one thing ({', '.join(ACTIONS)}); found {found}")
    action = actions[0]
    if not phone:
        raise ScriptError(f"{where}: which phone? Give `phone:` on this step or one before it")
    options = {key: raw[key] for key in OPTIONS if key in raw}
    for key in options:
        if action not in OPTIONS[key]:
            goes = " or ".join(f"`{name}`" for name in OPTIONS[key])
            raise ScriptError(f"{where}: `{key}` goes with {goes}, not `{action}`")
    if "within_s" in raw and action not in WAITING:
        raise ScriptError(f"{where}: `within_s` goes with an expectation, not `{action}`")
    value = raw[action]
    if action in SEEN:
        value = Text(value["regex"], regex=True) if isinstance(value, dict) else Text(value)
        if value.regex:
            try:
                re.compile(value.pattern)
            except re.error as exc:
                raise ScriptError(f"{where}: bad regular expression: {exc}") from None
    return Step(line, phone, action, value, options, float(raw.get("within_s", within_s)))


def _step_nodes(node: yaml.Node) -> list[yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return []
    for key, value in node.value:
        if key.value == "steps" and isinstance(value, yaml.SequenceNode):
            return list(value.value)
    return []


def _keep_text_as_written(document: dict[str, Any], step_nodes: list[yaml.Node]) -> None:
    """Numbers, keys and answers as written: the scalar's text where YAML made an int."""
    steps = document.get("steps")
    if not isinstance(steps, list):
        return
    for step, node in zip(steps, step_nodes, strict=False):
        if isinstance(step, dict) and isinstance(node, yaml.MappingNode):
            _as_written(step, node, TEXT_FIELDS)
            for key, value in node.value:
                inner = step.get(key.value)
                if isinstance(inner, dict) and isinstance(value, yaml.MappingNode):
                    _as_written(inner, value, NUMBER_FIELDS)


def _as_written(mapping: dict[str, Any], node: yaml.MappingNode, fields: frozenset[str]) -> None:
    for key, value in node.value:
        name = key.value
        if name in fields and isinstance(value, yaml.ScalarNode):
            loaded = mapping.get(name)
            if isinstance(loaded, int | float) and not isinstance(loaded, bool):
                mapping[name] = value.value


def _at(where: str, root: yaml.Node, steps: list[yaml.Node], path: list[Any], message: str) -> str:
    node = root
    if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int) and path[1] < len(steps):
        node = steps[path[1]]
    location = "/".join(map(str, path)) or "the document"
    return f"{where}:{node.start_mark.line + 1}: {location}: {message}"


__all__ = [
    "ACTIONS",
    "SUBSTITUTED",
    "Script",
    "ScriptError",
    "Step",
    "Text",
    "load_script",
    "parse_script",
]
