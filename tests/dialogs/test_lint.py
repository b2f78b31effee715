"""`aircharge flows check`: every rule catches its own broken fixture, and the shipped flows
pass (the command's exit code says so)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from dialogs.catalogue import MESSAGES_DIR, Catalogue
from dialogs.flow import FLOWS_DIR, INPUT_KINDS, SCHEMA_PATH, options_per_menu_max
from dialogs.grammar import COMMAND_KINDS
from dialogs.lint import LintContext, check_files
from ledger.operations import OPERATION_NAMES, OUTCOME_CODES

FIXTURES = Path(__file__).parent / "fixtures" / "lint"


def _catalogue() -> Catalogue:
    texts = {
        language: yaml.safe_load((MESSAGES_DIR / f"{language}.yaml").read_text("utf-8"))
        for language in ("zh-CN", "en")
    }
    texts["zh-CN"]["test.long_goodbye"] = "再见" * 41  # 82 UCS-2 characters: one too many
    texts["en"]["test.long_goodbye"] = "Goodbye"
    return Catalogue(texts)


CONTEXT = LintContext(_catalogue(), {*OUTCOME_CODES, "teleported"}, OPERATION_NAMES)


@pytest.mark.parametrize(
    ("fixture", "rule", "line", "detail"),
    [
        ("dead_end", "dead-end", 11, "node 'ask' never reaches an end"),
        ("missing_message", "missing-message", 5, "'agent.menu.nonexistent'"),
        ("unknown_operation", "unknown-operation", 11, "'teleport' is not an operation"),
        ("missing_outcome_message", "missing-outcome-message", 11, "'outcome.teleported'"),
        ("page_too_long", "ussd-page-too-long", 5, "zh-CN: 82 characters"),
        ("schema_error", "schema", 10, "nodes/bye/type: 'farewell' is not one of"),
        ("unknown_command", "schema", 4, "commands: 'teleport' is not one of"),
    ],
)
def test_each_rule_catches_its_fixture(fixture: str, rule: str, line: int, detail: str) -> None:
    path = FIXTURES / f"{fixture}.yaml"
    findings = check_files([path], CONTEXT)
    assert [f.rule for f in findings] == [rule], findings
    where = f"{path}:{line}" if line else str(path)
    assert findings[0].where == where
    assert detail in findings[0].detail


def test_a_command_must_fill_its_operation() -> None:
    path = FIXTURES / "command_slots.yaml"
    findings = check_files([path], CONTEXT)
    assert [(f.rule, f.where, f.detail) for f in findings] == [
        ("command", f"{path}:13", "command 'balance' does not fill ['msisdn']"),
    ]


def test_the_shipped_flows_pass() -> None:
    shipped = LintContext(Catalogue.load(), OUTCOME_CODES, OPERATION_NAMES)
    assert check_files(FLOWS_DIR.glob("*.yaml"), shipped) == []


def test_the_command_exits_non_zero_on_a_broken_flow() -> None:
    def run(*paths: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "aircharge", "flows", "check", *map(str, paths)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    shipped = run()
    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
    assert "all good" in shipped.stderr
    broken = run(FIXTURES / "dead_end.yaml", FIXTURES / "unknown_operation.yaml")
    assert broken.returncode == 1
    assert "dead-end" in broken.stdout
    assert "unknown-operation" in broken.stdout
    assert run(FIXTURES / "nope.yaml").returncode == 2


def test_the_published_schema_agrees_with_the_code() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    commands = set(schema["properties"]["commands"]["propertyNames"]["enum"])
    assert commands == COMMAND_KINDS - {"help"}
    assert set(schema["$defs"]["input"]["properties"]["kind"]["enum"]) == INPUT_KINDS
    node_types = set(schema["$defs"]["node"]["properties"]["type"]["enum"])
    assert node_types == {"menu", "input", "confirm", "message", "flow", "operation", "end"}
    assert schema["$defs"]["menu"]["properties"]["options"]["maxItems"] == options_per_menu_max
