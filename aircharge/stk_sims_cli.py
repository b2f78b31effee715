"""`aircharge stk provision|list|retire`: the agents' service SIMs (`channels.stk.sims`);
`aircharge.stk_cli` puts them in the `stk` group beside `export`.

`provision` issues a SIM to an active agent (a new random id and keys; the agent's earlier SIM
is retired in the same transaction) and writes the profile the card is personalised with —
the only place the clear keys ever leave the platform — to a file created with mode 0600, or
to stdout. The table keeps the keys wrapped under the PIN key (`docs/stk.md`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any, Final

from aircharge.config import Config
from aircharge.database import create_engine
from aircharge.runtime import clock_ms
from channels.stk import sims
from dialogs.inputs import parse_msisdn
from ledger.money import Msisdn

profile_mode = 0o600
# The `aircharge stk` subcommands this module runs (the group holds others, e.g. `export`).
STK_SIM_COMMANDS: Final = frozenset({"provision", "list", "retire"})


def add_stk_sim_parsers(stk_commands: Any, common: argparse.ArgumentParser) -> None:
    """The SIM subcommands of `aircharge stk` (`stk_commands`: its subparsers)."""
    provision = stk_commands.add_parser(
        "provision",
        parents=[common],
        help="issue a service SIM to an active agent (retires the agent's earlier SIM)",
    )
    provision.add_argument("--msisdn", required=True, help="the agent's number")
    provision.add_argument(
        "--out", type=Path, help="write the SIM profile JSON here (mode 0600); default stdout"
    )
    stk_commands.add_parser("list", parents=[common], help="the service SIMs, without keys")
    retire = stk_commands.add_parser("retire", parents=[common], help="retire a lost SIM")
    retire.add_argument("--sim", required=True, help="the SIM id (16 hex digits)")


def run_stk_sims(args: argparse.Namespace, config: Config) -> int:
    """Run `provision`, `list` or `retire`; the exit status. ProvisionError and OSError
    reach the caller, which prints them."""
    return asyncio.run(_run(args, config))


async def _run(args: argparse.Namespace, config: Config) -> int:
    engine = create_engine(config.database)
    try:
        if args.stk_command == "provision":
            await _provision(engine, config, args.msisdn, args.out)
        elif args.stk_command == "retire":
            await sims.retire(engine, args.sim, clock_ms())
            print(f"SIM {args.sim} retired: its answers are refused from now on")
        elif args.stk_command == "list":
            _print_list(await sims.list_sims(engine))
        else:
            raise ValueError(f"not a SIM command: {args.stk_command!r}")
    finally:
        await engine.dispose()
    return 0


async def _provision(engine: Any, config: Config, number: str, out: Path | None) -> None:
    msisdn = parse_msisdn(number)
    if msisdn is None:
        raise sims.ProvisionError(f"{number!r} is not a valid phone number")
    if out is not None:
        _check_writable(out)  # before the SIM is issued and the agent's old one retired
    ring = sims.SimKeyRing(config.secrets.pin_keys())
    profile, retired = await sims.provision(
        engine,
        ring,
        Msisdn(msisdn),
        service_number=config.sms.service_number,
        now_ms=clock_ms(),
    )
    text = profile.to_json()
    if out is None:
        sys.stdout.write(text)
    else:
        write_private(out, text)
    note = f"; retired {', '.join(retired)}" if retired else ""
    where = "" if out is None else f", profile in {out}"
    print(f"SIM {profile.sim_id} issued to agent {msisdn}{where}{note}", file=sys.stderr)


def _check_writable(path: Path) -> None:
    """A profile can be written at `path` (its folder exists and takes a new file), else
    OSError: the new keys must not be issued only to be lost."""
    probe = path.with_name(f".{path.name}.{os.getpid()}.probe")
    os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, profile_mode))
    probe.unlink()


def write_private(path: Path, text: str) -> None:
    """Write `text` to a new or replaced file readable by its owner only (0600 from the
    start: the clear keys never sit in a file others could read, even for a moment)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, profile_mode)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)


def _print_list(found: list[sims.SimSummary]) -> None:
    print(f"{'sim id':16}  {'agent':15}  {'status':7}  counter")
    for sim in found:
        print(f"{sim.sim_id:16}  {sim.msisdn:15}  {sim.status:7}  {sim.last_counter}")


__all__ = ["STK_SIM_COMMANDS", "add_stk_sim_parsers", "run_stk_sims", "write_private"]
