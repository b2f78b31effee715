from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dialogs.catalogue import Catalogue
from dialogs.flow import load_flows, successors
from dialogs.graph import to_dot


def test_every_node_and_link_is_drawn_with_its_text() -> None:
    flow = load_flows()["agent_main"]
    dot = to_dot(flow, Catalogue.load(), "zh-CN")
    assert dot.startswith('digraph "agent_main" {')
    for node in flow.nodes.values():
        assert f'"{node.id}" [shape=' in dot
        for target in successors(node):
            assert f'"{node.id}" -> "{target}"' in dot
    assert "话费充值" in dot
    assert '"topup_confirm" -> "topup_run" [label="1"]' in dot
    assert "Top up" in to_dot(flow, Catalogue.load(), "en")


def test_quotes_and_backslashes_are_escaped() -> None:
    flow = load_flows()["agent_main"]
    shipped = Catalogue.load()
    known = shipped.keys()
    texts = {lang: {k: shipped.template(lang, k) for k in known} for lang in ("zh-CN", "en")}
    texts["en"]["agent.menu"] = 'say "hi" \\ bye'
    dot = to_dot(flow, Catalogue(texts), "en")
    assert 'say \\"hi\\" \\\\ bye' in dot


def test_svg_through_graphviz(tmp_path: Path) -> None:
    if shutil.which("dot") is None:
        if os.environ.get("CI"):
            pytest.fail("Graphviz's dot is required in CI (.ci/ensure-packages installs it)")
        pytest.skip("Graphviz's dot is not installed")
    out = tmp_path / "agent_main.svg"
    result = subprocess.run(
        [sys.executable, "-m", "aircharge", "flows", "graph", "agent_main", "-o", str(out)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    svg = out.read_text(encoding="utf-8")
    assert "<svg" in svg
    assert "topup_confirm" in svg
