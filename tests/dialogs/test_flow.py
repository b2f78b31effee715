"""Broken flows fail to load, naming the file and the node."""

from __future__ import annotations

from typing import Any

import pytest

from dialogs.flow import FlowError, load_flows, parse_flow


def _flow(**nodes: Any) -> dict[str, Any]:
    return {"id": "f", "start": "a", "nodes": nodes}


END = {"type": "end", "message": "m"}


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ([], "a flow is a mapping"),
        ({"id": "f", "start": "a", "nodes": {}}, "`nodes` must be a non-empty mapping"),
        (_flow(b=END), "start node 'a' is not defined"),
        (_flow(a={"type": "teleport"}), "unknown node type 'teleport'"),
        (_flow(a={"type": "input", "kind": "x", "prompt": "p", "slot": "s", "next": "a"}), "kind"),
        (_flow(a={"type": "input", "kind": "pin", "prompt": "p", "slot": "pin", "next": "z"}), "z"),
        (
            _flow(a={"type": "input", "kind": "pin", "prompt": "p", "slot": "code", "next": "a"}),
            "PIN slots, and only they, have names ending in 'pin'",
        ),
        (_flow(a=END) | {"commands": {"topup": "a"}}, "command 'topup' must name an operation"),
        (
            _flow(a={"type": "message", "message": "m", "next": "b"}, b=END),
            "message node 'a' must lead to a menu, input or confirm node",
        ),
        (
            _flow(
                a={
                    "type": "input",
                    "kind": "regex",
                    "pattern": "[",
                    "invalid": "i",
                    "prompt": "p",
                    "slot": "s",
                    "next": "b",
                },
                b=END,
            ),
            "`pattern` '\\[':",
        ),
        (
            _flow(
                a={
                    "type": "input",
                    "kind": "regex",
                    "pattern": "x",
                    "prompt": "p",
                    "slot": "s",
                    "next": "b",
                },
                b=END,
            ),
            "a regex input says what is wrong with `invalid`",
        ),
        (
            _flow(
                a={
                    "type": "input",
                    "kind": "code",
                    "pattern": "x",
                    "prompt": "p",
                    "slot": "s",
                    "next": "b",
                },
                b=END,
            ),
            "`pattern` goes with kind regex, and only with it",
        ),
        (
            _flow(a={"type": "end", "message": "m", "notify": [{"to": "boss", "message": "n"}]}),
            "notifies 'boss', which is neither 'actor' nor a slot an msisdn input fills",
        ),
        (
            _flow(a={"type": "menu", "prompt": "p", "options": []}),
            "`options` must list 1..9 options",
        ),
        (
            _flow(
                a={"type": "operation", "operation": "o", "params": ["s"], "otherwise": "b"}, b=END
            ),
            "passes slot 's' that no input fills",
        ),
        (_flow(a=END, b=END), "never reached"),
        (_flow(a={"type": "end"}), "`message` must be a non-empty string"),
    ],
)
def test_broken_flows_are_refused(document: Any, complaint: str) -> None:
    with pytest.raises(FlowError, match=complaint) as caught:
        parse_flow(document, "f.yaml")
    assert str(caught.value).startswith("f.yaml")


def test_packaged_flows_load() -> None:
    assert "agent_main" in load_flows()
