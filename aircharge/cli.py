"""The `aircharge` command line (see ARCHITECTURE.md, "Command line")."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from aircharge import __version__
from aircharge.agi_relay import add_agi_parser, run_agi
from aircharge.bench.cli import add_bench_parser, run_bench
from aircharge.config import Config, ConfigError, demo_secrets_in_use, load_config
from aircharge.database import create_engine, upgrade
from aircharge.demo import DEMO_LOG_FILE, DemoStack, banner, simulator_world, start_demo
from aircharge.demo_data import seed_demo
from aircharge.flows_cli import add_flows_parser, run_flows
from aircharge.logs import configure_logging, log_to_file
from aircharge.platform import start_platform
from aircharge.prompts_cli import add_prompts_parser, run_prompts
from aircharge.runtime import settle_heap
from aircharge.sim import SimError, add_sim_parser, run_sim
from aircharge.stk_cli import add_stk_parser, run_stk
from aircharge.stk_sims_cli import STK_SIM_COMMANDS, run_stk_sims
from channels.stk.sims import ProvisionError
from ledger.verify import VerifyReport, verify

EXIT_USAGE = 2
EXIT_FAILURE = 1


class CommandError(Exception):
    """A command cannot go on; the message says why and what to do."""


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="TOML configuration file")
    parser = argparse.ArgumentParser(
        prog="aircharge",
        description="Over-the-air top-up and bill-payment platform (USSD, SMS, IVR, STK, WAP).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("version", help="print the version")
    demo = commands.add_parser(
        "demo", parents=[common], help="fresh demo world: platform and emulators on loopback"
    )
    demo.add_argument("--headless", action="store_true", help="no terminal UI")
    demo.add_argument(
        "--data-dir", type=Path, default=Path("demo-data"), help="wiped and reused at each start"
    )
    commands.add_parser(
        "serve", parents=[common], help="the platform alone (refuses the demo secrets)"
    )
    db = commands.add_parser("db", help="database schema and data")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    db_commands.add_parser("upgrade", parents=[common], help="apply the migrations")
    db_commands.add_parser("seed-demo", parents=[common], help="add the demo agents")
    ledger = commands.add_parser("ledger", help="the journal")
    ledger_commands = ledger.add_subparsers(
        dest="ledger_command", required=True, metavar="LEDGER_COMMAND"
    )
    ledger_commands.add_parser(
        "verify", parents=[common], help="recompute balances, conservation and hash chains"
    )
    add_sim_parser(commands, common)
    add_flows_parser(commands)
    add_agi_parser(commands, common)
    add_prompts_parser(commands)
    add_bench_parser(commands)
    add_stk_parser(commands, common)
    return parser


def _stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM; installed before anything starts, so a signal that
    arrives during start-up is not lost."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def _demo(config: Config, data_dir: Path, *, headless: bool) -> None:
    stop = _stop_on_signals()
    stack = await start_demo(config, data_dir)
    settle_heap()
    try:
        if headless:
            print(banner(stack), flush=True)
            await stop.wait()
            print("stopping…", flush=True)
        else:
            await _simulator(stack, stop)
    finally:
        await stack.close()


async def _simulator(stack: DemoStack, stop: asyncio.Event) -> None:
    """The terminal simulator over the demo until it quits (or SIGTERM); the platform's logs
    go to a file beside the demo's database meanwhile, not over the screen."""
    from simulator.tui import SimulatorApp  # Textual loads only when the UI opens

    log_file = stack.data_dir / DEMO_LOG_FILE
    log_to_file(log_file)
    world = simulator_world(stack)
    app = SimulatorApp(world)
    try:
        running = asyncio.create_task(app.run_async())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not running.done():
            app.exit()
            await running
        stopping.cancel()
    finally:
        await world.close()
    print(f"aircharge demo stopped (its log: {log_file})", flush=True)


def _has_terminal() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


async def _serve(config: Config) -> None:
    stop = _stop_on_signals()
    platform = await start_platform(config)
    settle_heap()
    try:
        print(f"aircharge platform listening on {platform.url}", flush=True)
        await stop.wait()
    finally:
        await platform.close()


async def _db(config: Config, action: Callable[..., Awaitable[None]], *args: object) -> None:
    engine = create_engine(config.database)
    try:
        await action(engine, *args)
    finally:
        await engine.dispose()


async def _verify(config: Config) -> VerifyReport:
    def progress(stage: str, rows: int) -> None:
        print(f"  {stage}: {rows:,} transfers checked", file=sys.stderr, flush=True)

    engine = create_engine(config.database)
    try:
        return await verify(engine, progress)
    finally:
        await engine.dispose()


def _run(args: argparse.Namespace) -> None:
    if args.command == "version":
        print(f"aircharge {__version__}")
        return
    if args.command == "bench":
        configure_logging("WARNING")
        run_bench(args)
        return
    if args.command == "flows":
        sys.exit(run_flows(args))
    if args.command == "prompts":
        sys.exit(run_prompts(args))
    if args.command == "stk" and args.stk_command == "export":
        sys.exit(run_stk(args))
    config = load_config(args.config)
    configure_logging(config.platform.log_level)
    if args.command == "agi":  # stdout is Asterisk's: nothing else may write there
        sys.exit(run_agi(args, config.platform.host, config.platform.fastagi_port))
    if args.command == "stk" and args.stk_command in STK_SIM_COMMANDS:
        sys.exit(run_stk_sims(args, config))
    if args.command == "sim":
        sys.exit(run_sim(args, config, _has_terminal()))
    if args.command == "demo":
        headless = args.headless
        if not headless and not _has_terminal():
            print("aircharge demo: no terminal here, so no simulator UI: running headless")
            headless = True
        asyncio.run(_demo(config, args.data_dir, headless=headless))
    elif args.command == "serve":
        in_use = demo_secrets_in_use(config)
        if in_use:
            raise CommandError(
                f"refusing to serve with demo secrets: {', '.join(in_use)}; set real values in"
                " the config file or the AIRCHARGE_SECRETS_* environment variables"
            )
        asyncio.run(_serve(config))
    elif args.command == "ledger":
        report = asyncio.run(_verify(config))
        print(
            f"ledger verify: {report.transfers} transfers, {report.accounts} accounts,"
            f" {report.chains} writer chain(s): {'OK' if report.ok else 'FAILED'}"
        )
        for problem in report.problems:
            print(f"  {problem}")
        if report.problems_total > len(report.problems):
            print(f"  … and {report.problems_total - len(report.problems)} more")
        if not report.ok:
            sys.exit(EXIT_FAILURE)
    elif args.db_command == "upgrade":
        asyncio.run(_db(config, upgrade))
        print(f"database {config.database.url}: schema is current")
    else:
        asyncio.run(_db(config, seed_demo, config.secrets.pin_keys()))
        print(f"database {config.database.url}: demo agents present")


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        _run(args)
    except ConfigError as exc:
        print(f"aircharge: configuration error: {exc}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    except (CommandError, SimError, ProvisionError, OSError) as exc:
        print(f"aircharge: {exc}", file=sys.stderr)
        sys.exit(EXIT_FAILURE)
    except KeyboardInterrupt:
        pass
