"""The `aircharge stk` sub-commands: `export` compiles the agent flow into the SIM's menu
program (`channels.stk.compiler`) and writes it with a readable listing beside it; the
service SIMs' `provision`, `list` and `retire` live in `aircharge.stk_sims_cli`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Final

from aircharge.config import load_config
from aircharge.stk_sims_cli import add_stk_sim_parsers
from channels.stk.compiler import STK_FLOW, CompileError, compile_program
from channels.stk.program import listing, load_program
from dialogs.catalogue import Catalogue
from dialogs.flow import FlowError, load_flows

EXIT_USAGE: Final = 2
EXIT_FAILURE: Final = 1
LANGUAGES: Final = {"zh": "zh-CN", "en": "en"}
service_number_digits: Final = range(3, 21)


def add_stk_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    stk = commands.add_parser(
        "stk", help="SIM Toolkit: the agent SIM's menu program and the service SIMs"
    )
    actions = stk.add_subparsers(dest="stk_command", required=True, metavar="STK_COMMAND")
    add_stk_sim_parsers(actions, common)
    export = actions.add_parser(
        "export",
        parents=[common],
        help="compile the agent flow into the SIM menu program: FILE (bytes) and FILE.txt",
    )
    export.add_argument("file", type=Path, metavar="FILE", help="the program file to write")
    export.add_argument("--lang", choices=sorted(LANGUAGES), default="zh", help="default zh")
    export.add_argument(
        "--service-number",
        help="where the SIM sends its answers (default: the configuration's sms.service_number)",
    )


def _usage(message: str) -> int:
    print(f"aircharge stk export: {message}", file=sys.stderr)
    return EXIT_USAGE


def run_stk(args: argparse.Namespace) -> int:
    """`aircharge stk export`; returns the exit status."""
    path: Path = args.file
    if path.is_dir():
        return _usage(f"{path} is a directory; give a file name")
    if not path.parent.is_dir():
        return _usage(f"no directory {path.parent} to write {path.name} in")
    number = args.service_number
    if number is None:
        number = load_config(args.config).sms.service_number
    if not (number.isascii() and number.isdigit() and len(number) in service_number_digits):
        return _usage(f"a service number is 3 to 20 digits, like 1888; got {number!r}")
    language = LANGUAGES[args.lang]
    print(f"compiling {STK_FLOW} ({language}) for service number {number}…", file=sys.stderr)
    try:
        flow = load_flows()[STK_FLOW]
        data = compile_program(flow, Catalogue.load(), language, number)
    except (FlowError, CompileError) as exc:
        print(f"aircharge stk export: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    text_path = path.with_name(path.name + ".txt")
    path.write_bytes(data)
    text_path.write_text(listing(data), encoding="utf-8")
    program = load_program(data)
    commands = 1 + sum(len(item.steps) + 1 + (item.cancelled is not None) for item in program.items)
    print(
        f"wrote {path} ({len(data)} bytes: SET UP MENU and {len(program.items)} item(s),"
        f" {commands} proactive commands) and the listing {text_path}"
    )
    return 0
