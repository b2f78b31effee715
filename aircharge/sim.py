"""`aircharge sim`: the emulators and the terminal simulator, or scripted sessions, headless.

- `aircharge sim --config FILE`: the emulators on the `[simulator]` ports and the terminal
  simulator, for a platform running elsewhere with the same file (`aircharge serve --config
  FILE`): it binds to this SMSC, calls this BOSS and bank, takes this Asterisk's calls, and
  is read over `/api/v1` at `platform.host:http_port`. Their state stays in `--data-dir`.
- `aircharge sim --script FILE…`: each scripted session replayed headless against that
  platform; with `--demo`, each in a fresh demo world of its own (platform and emulators in
  this process, on free ports), so that a flow author needs nothing else. Exit status 0 when
  every session passed, 1 on a mismatch, 2 when a script file is wrong (nothing runs then);
  `--junit FILE` also writes the run as JUnit XML for CI.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

import aiohttp

from aircharge.config import Config, on_free_ports
from aircharge.demo import simulator_world, start_demo
from aircharge.emulators import Emulators, start_emulators
from aircharge.logs import log_to_file
from simulator.boss.model import shanghai_now
from simulator.masking import mask_pins
from simulator.phones import Phones
from simulator.script import Script, ScriptError, ScriptRun, StepResult, load_script
from simulator.script.report import SessionResult, junit_xml, passed
from simulator.world import World

EXIT_MISMATCH: Final = 1
EXIT_BAD_SCRIPT: Final = 2
SIM_LOG_FILE: Final = "aircharge-sim.log"
platform_wait_s: Final = 30.0  # for the platform elsewhere to answer and bind to our SMSC
link_wait_ms: Final = 10_000  # for a demo platform's SMPP link to come up


class SimError(Exception):
    """The simulator cannot start or reach the platform; the message says why."""


def add_sim_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    sim = commands.add_parser(
        "sim",
        parents=[common],
        help="emulators and terminal simulator for a platform elsewhere; scripted sessions",
    )
    sim.add_argument(
        "--script",
        type=Path,
        nargs="+",
        metavar="FILE",
        help="replay these scripted sessions headless (docs/simulator.md) and exit",
    )
    sim.add_argument(
        "--demo",
        action="store_true",
        help="with --script: run each in a fresh demo world of its own instead of against the"
        " configured platform",
    )
    sim.add_argument(
        "--data-dir", type=Path, default=Path("sim-data"), help="the emulators' state and logs"
    )
    sim.add_argument(
        "--junit", type=Path, metavar="FILE", help="with --script: also write a JUnit XML report"
    )


def run_sim(args: argparse.Namespace, config: Config, has_terminal: bool) -> int:
    if args.script is None:
        if args.demo:
            raise SimError("--demo goes with --script; the demo with its UI is `aircharge demo`")
        if not has_terminal:
            raise SimError("no terminal here for the simulator's UI; give --script FILE")
        args.data_dir.mkdir(parents=True, exist_ok=True)
        log_to_file(args.data_dir / SIM_LOG_FILE)
        asyncio.run(_interactive(config, args.data_dir))
        return 0
    try:
        scripts = [load_script(path) for path in args.script]
    except ScriptError as exc:
        print(f"aircharge sim: {exc}", file=sys.stderr)
        return EXIT_BAD_SCRIPT
    args.data_dir.mkdir(parents=True, exist_ok=True)
    log_to_file(args.data_dir / SIM_LOG_FILE)
    if args.demo:
        results = asyncio.run(_scripts_in_demos(config, args.data_dir, scripts))
    else:
        results = asyncio.run(_scripts_elsewhere(config, args.data_dir, scripts))
    if args.junit is not None:
        args.junit.write_text(junit_xml(results), encoding="utf-8")
    return 0 if _summary(results) else EXIT_MISMATCH


# -- a platform elsewhere ----------------------------------------------------------------------


def _platform_url(config: Config) -> str:
    host = config.platform.host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{config.platform.http_port}"


@asynccontextmanager
async def _emulators_for(config: Config, data_dir: Path, paced: bool) -> AsyncIterator[World]:
    """The emulators for the configured platform, once it answers and (with SMS) has bound."""
    url = _platform_url(config)
    emulators = await start_emulators(config, data_dir)
    world: World | None = None
    try:
        _check_pointed_here(config, emulators)
        emulators.bank_notifier.start(url)
        if config.ivr.enabled:
            host, port = config.platform.host, config.platform.fastagi_port
            await emulators.start_asterisk(config, host, port)
        await _wait_for_platform(config, emulators, url)
        world = emulators.world(config, url, ivr_paced=paced)
        yield world
    finally:
        if world is not None:
            await world.close()
        await emulators.close()


def _check_pointed_here(config: Config, emulators: Emulators) -> None:
    """The same file configures the platform: its SMSC, BOSS and bank must be these."""
    wanted = emulators.platform_config(config)
    pairs = [
        ("boss.url", config.boss.url.rstrip("/"), wanted.boss.url),
        ("bank.url", config.bank.url.rstrip("/"), wanted.bank.url),
    ]
    if config.smpp.enabled:
        pairs.append(("smpp.port", str(config.smpp.port), str(wanted.smpp.port)))
    wrong = [
        f"{name} = {have} (the emulator is at {want})" for name, have, want in pairs if have != want
    ]
    if wrong:
        raise SimError(
            "the platform, configured by this file, would not reach the emulators: "
            + "; ".join(wrong)
        )


async def _wait_for_platform(config: Config, emulators: Emulators, url: str) -> None:
    deadline = time.monotonic() + platform_wait_s
    print(f"waiting for the platform at {url} …", file=sys.stderr, flush=True)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        while True:
            try:
                async with http.get(f"{url}/healthz") as response:
                    healthy = response.status == 200
            except (aiohttp.ClientError, OSError, TimeoutError):
                healthy = False
            bound = not config.smpp.enabled or bool(emulators.smsc.bound)
            if healthy and bound:
                return
            if time.monotonic() >= deadline:
                what = "did not answer /healthz" if not healthy else "did not bind to the SMSC"
                raise SimError(
                    f"the platform at {url} {what} within {platform_wait_s:g} s (start it with"
                    " `aircharge serve --config FILE` using this file)"
                )
            await asyncio.sleep(0.2)


async def _interactive(config: Config, data_dir: Path) -> None:
    from simulator.tui import SimulatorApp  # Textual loads only when the UI opens

    log_file = data_dir / SIM_LOG_FILE
    async with _emulators_for(config, data_dir, paced=True) as world:
        await SimulatorApp(world).run_async()
    print(f"aircharge sim stopped (its log: {log_file})", flush=True)


async def _scripts_elsewhere(
    config: Config, data_dir: Path, scripts: list[Script]
) -> list[SessionResult]:
    paced = any(script.paced for script in scripts)
    async with _emulators_for(config, data_dir, paced) as world:
        return [await _replay(script, world) for script in scripts]


# -- a demo world each -------------------------------------------------------------------------


async def _scripts_in_demos(
    config: Config, data_dir: Path, scripts: list[Script]
) -> list[SessionResult]:
    results = []
    for index, script in enumerate(scripts, 1):
        stack = await start_demo(on_free_ports(config), data_dir / f"session-{index}")
        try:
            if stack.platform.sms is not None:
                await stack.platform.sms.link.wait_up(link_wait_ms)
            world = simulator_world(stack, ivr_paced=script.paced)
            try:
                results.append(await _replay(script, world))
            finally:
                await world.close()
        finally:
            await stack.close()
    return results


# -- replaying and reporting -------------------------------------------------------------------


async def _replay(script: Script, world: World) -> SessionResult:
    print(f"session {script.path}: {script.name}", flush=True)
    phones = Phones(world, shanghai_now)
    try:
        results = await ScriptRun(script, world, phones).run(_reporter(script))
    finally:
        await phones.close()
    return script, results


def _reporter(script: Script) -> Callable[[StepResult], None]:
    def report(result: StepResult) -> None:
        step = result.step
        mark = "ok  " if result.ok else "FAIL"
        line = f"  {mark} {result.seconds:6.2f} s  line {step.line:<4} {mask_pins(step.describe())}"
        print(line, flush=True)
        if not result.ok:
            print(f"       {script.path}:{step.line}: {result.detail}", flush=True)

    return report


def _summary(results: list[SessionResult]) -> bool:
    ok = sum(passed(script, steps) for script, steps in results)
    steps = sum(len(done) for _, done in results)
    print(f"{ok} of {len(results)} sessions passed ({steps} steps run)", flush=True)
    return ok == len(results)


__all__ = ["SimError", "add_sim_parser", "run_sim"]
