"""The `aircharge flows` sub-commands: `check` (lint every flow for every channel) and
`graph` (draw one flow as DOT, or SVG through Graphviz's `dot`)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from channels.stk.compiler import STK_FLOW, CompileError, compile_program
from dialogs.catalogue import DEFAULT_LANGUAGE, LANGUAGES, Catalogue
from dialogs.flow import FLOWS_DIR, FlowError, load_flow, load_flows
from dialogs.graph import to_dot
from dialogs.lint import Finding, LintContext, check_files
from ledger.operations import OPERATION_NAMES, OUTCOME_CODES

graphviz_timeout_s = 60
WIDEST_SERVICE_NUMBER = "8" * 20  # the longest TP-DA a SIM's answer can carry


def add_flows_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    flows = commands.add_parser("flows", help="lint and draw the dialog flows")
    actions = flows.add_subparsers(dest="flows_command", required=True, metavar="FLOWS_COMMAND")
    check = actions.add_parser("check", help="lint every flow for every channel")
    check.add_argument(
        "paths", nargs="*", type=Path, help="flow files (default: the shipped flows)"
    )
    graph = actions.add_parser("graph", help="draw a flow")
    graph.add_argument("flow", help="flow id, e.g. agent_main")
    graph.add_argument("--format", choices=("svg", "dot"), default="svg")
    graph.add_argument("--lang", choices=LANGUAGES, default=DEFAULT_LANGUAGE)
    graph.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")


def run_flows(args: argparse.Namespace) -> int:
    if args.flows_command == "check":
        return _check(args.paths or sorted(FLOWS_DIR.glob("*.yaml")))
    return _graph(args)


def _check(paths: list[Path]) -> int:
    missing = [p for p in paths if not p.is_file()]
    if missing:
        print(
            f"aircharge flows check: no such file: {', '.join(map(str, missing))}", file=sys.stderr
        )
        return 2
    context = LintContext(Catalogue.load(), OUTCOME_CODES, OPERATION_NAMES)
    findings = check_files(paths, context)
    if not findings:  # the program compiles from flows that passed everything else
        findings = _stk_program_findings(paths, context.catalogue)
    for finding in findings:
        print(finding)
    verdict = f"{len(findings)} problem(s)" if findings else "all good"
    print(f"flows check: {len(paths)} file(s), {verdict}", file=sys.stderr)
    return 1 if findings else 0


def _stk_program_findings(paths: list[Path], catalogue: Catalogue) -> list[Finding]:
    """The SIM menu program compiled from the agent flow, in every language, with the widest
    service number: every command, once filled in, within 255 bytes (`stk-program`)."""
    findings = []
    for path in paths:
        flow = load_flow(path)
        if flow.id != STK_FLOW:
            continue
        for language in LANGUAGES:
            try:
                compile_program(flow, catalogue, language, WIDEST_SERVICE_NUMBER)
            except CompileError as exc:
                for problem in exc.problems:
                    line = flow.lines.get(problem.node, 0)
                    where = f"{path}:{line}" if line else str(path)
                    findings.append(Finding(where, "stk-program", problem.detail))
    return findings


def _graph(args: argparse.Namespace) -> int:
    try:
        flows = load_flows()
    except FlowError as exc:
        print(f"aircharge flows graph: {exc}", file=sys.stderr)
        return 1
    if args.flow not in flows:
        print(
            f"aircharge flows graph: no flow {args.flow!r}; there are {sorted(flows)}",
            file=sys.stderr,
        )
        return 2
    dot_source = to_dot(flows[args.flow], Catalogue.load(), args.lang)
    if args.format == "dot":
        output = dot_source.encode()
    else:
        dot = shutil.which("dot")
        if dot is None:
            print(
                "aircharge flows graph: SVG needs Graphviz's `dot` (Debian: apt-get install"
                " graphviz); `--format dot` works without it",
                file=sys.stderr,
            )
            return 1
        output = subprocess.run(  # noqa: S603 - a fixed program, our own DOT on stdin
            [dot, "-Tsvg"], input=dot_source.encode(), capture_output=True, check=True,
            timeout=graphviz_timeout_s,
        ).stdout  # fmt: skip
    if args.output:
        args.output.write_bytes(output)
    else:
        sys.stdout.buffer.write(output)
    return 0
