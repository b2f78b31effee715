"""Wiring: the platform's parts built from a Config and served on loopback sockets.

`start_platform` opens the database, the BOSS gateway, the SMS channel and its SMPP link(s)
(`aircharge.sms`) and the HTTP server (USSD callback, bank notifications, /metrics, /healthz,
the read-only API /api/v1, WAP pages under /wap/; the admin joins here in later work), the
FastAGI server for IVR calls and answers a handle
whose `close()` undoes it all in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from aircharge.config import Config, ConfigError
from aircharge.database import create_engine
from aircharge.metrics import METRICS, MeteredBoss, Metrics
from aircharge.runtime import clock_ms
from aircharge.sms import SmsWiring
from channels.ivr.call import IvrCalls, IvrSettings
from channels.ivr.server import FastAgiServer, ivr_counters
from channels.ussd.http import add_ussd_routes
from channels.ussd.service import UssdService
from channels.ussd.store import UssdSessionStore
from channels.wap.http import add_wap_routes
from channels.wap.service import WapService, wap_counters
from channels.wap.store import WapStore
from dialogs.catalogue import Catalogue
from dialogs.engine import Engine
from dialogs.flow import Flow, load_flows
from dialogs.lint import LintContext, check_flow
from ledger.commissions import CommissionPlan
from ledger.gateways.bank_http import add_bank_notify_route
from ledger.gateways.boss_http import HttpBossGateway
from ledger.operations import OPERATION_NAMES, OUTCOME_CODES, LimitDefaults, OperationService
from ledger.operations.resolver import ResolverPolicy
from webadmin.api import API_PREFIX, create_api

log = logging.getLogger(__name__)

ENGINE = web.AppKey("engine", AsyncEngine)
ussd_session_retention_ms: Final = 24 * 3600 * 1000  # ended or silent sessions kept a day
housekeeping_interval_s: Final = 600


@dataclass
class Listener:
    """An aiohttp application bound to a socket; `port` is the real one (0 picks a free one)."""

    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


async def listen(app: web.Application, host: str, port: int) -> Listener:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        await runner.cleanup()
        raise OSError(
            f"cannot listen on {host}:{port}: {exc.strerror} (is another aircharge running?"
            " ports are set in the config or AIRCHARGE_*_PORT variables)"
        ) from exc
    await web.SockSite(runner, sock).start()
    return Listener(runner, host, sock.getsockname()[1])


def _resolver_policy(config: Config) -> ResolverPolicy:
    """The resolver's policy, refused when it would take a sale that is still waiting on BOSS
    for one whose caller is gone."""
    if config.resolver.stale_after_s * 1000 <= 2 * config.boss.timeout_ms:
        raise ConfigError(
            f"resolver.stale_after_s = {config.resolver.stale_after_s}, boss.timeout_ms ="
            f" {config.boss.timeout_ms}: expected stale_after_s above twice the BOSS time-out"
        )
    return config.resolver.policy()


def check_flows(flows: Mapping[str, Flow], catalogue: Catalogue) -> None:
    """The rules of `aircharge flows check`, again at start: a broken flow never serves."""
    context = LintContext(catalogue, OUTCOME_CODES, OPERATION_NAMES)
    findings = [f for flow_id, flow in flows.items() for f in check_flow(flow, flow_id, context)]
    if findings:
        raise RuntimeError(
            "the dialog flows do not pass flows check:\n" + "\n".join(map(str, findings))
        )


async def _healthz(request: web.Request) -> web.Response:
    async with request.app[ENGINE].connect() as conn:
        await conn.execute(text("SELECT 1"))
    return web.Response(text="ok")


async def _housekeeping(store: UssdSessionStore, wap: WapStore | None, wap_timeout_ms: int) -> None:
    """Drop USSD and WAP sessions idle for a day (their replies and PIN proofs are of no more
    use), WAP form tokens expired as long, and WAP sessions still signing in once they time
    out (anyone can open one with a GET). Each store on its own: one failing does not keep
    the other's rows."""
    while True:
        await asyncio.sleep(housekeeping_interval_s)
        now_ms = clock_ms()
        before_ms = now_ms - ussd_session_retention_ms
        try:
            dropped = await store.purge(before_ms)
        except Exception:  # the database may be briefly away: try again next round
            log.exception("housekeeping: purging USSD sessions failed")
            dropped = 0
        dropped_wap = 0
        if wap is not None:
            try:
                dropped_wap = await wap.purge(before_ms, signin_before_ms=now_ms - wap_timeout_ms)
            except Exception:
                log.exception("housekeeping: purging WAP sessions failed")
        if dropped or dropped_wap:
            log.info("housekeeping: %d USSD and %d WAP sessions dropped", dropped, dropped_wap)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@dataclass
class RunningPlatform:
    config: Config
    engine: AsyncEngine
    operations: OperationService
    http: Listener
    sms: SmsWiring | None  # None when `smpp.enabled` is off
    ivr: FastAgiServer | None  # None when `ivr.enabled` is off
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.http.url

    async def close(self) -> None:
        for closer in reversed(self._closers):
            await closer()
        self._closers.clear()


async def start_platform(config: Config) -> RunningPlatform:
    closers: list[Callable[[], Awaitable[None]]] = []
    flows = load_flows()
    catalogue = Catalogue.load()
    dialog_engine = Engine(flows)
    check_flows(flows, catalogue)
    engine = create_engine(config.database)
    closers.append(engine.dispose)
    metrics = Metrics()
    boss = HttpBossGateway(config.boss.url, config.boss.timeout_ms)
    await boss.start()
    closers.append(boss.close)
    pin_key = config.secrets.pin_key.encode()
    sms = SmsWiring.build(config, engine, catalogue, metrics) if config.smpp.enabled else None
    if sms is not None:  # the outbox closes after the operations: their last notices go in it
        closers.append(sms.close)
    operations = OperationService(
        engine,
        MeteredBoss(boss, metrics),
        config.secrets.pin_keys(),
        LimitDefaults(
            op_min_fen=config.limits.topup_min_fen,
            op_max_fen=config.limits.topup_max_fen,
            daily_amount_fen=config.limits.daily_amount_fen,
            daily_count=config.limits.daily_count,
            subscriber_daily_fen=config.limits.subscriber_daily_fen,
            reversal_window_s=config.limits.reversal_window_s,
            selling_levels=config.limits.selling_levels,
            transfer_code_ttl_s=config.limits.transfer_code_ttl_s,
            transfer_code_attempts_max=config.limits.transfer_code_attempts_max,
        ),
        observer=metrics.observe_operation,
        pin_policy=config.pins.policy(),
        resolver=_resolver_policy(config),
        sweep_observer=metrics.observe_sweep,
        commissions=CommissionPlan(
            config.commissions.seller_bp,
            config.commissions.level1_override_bp,
            config.commissions.level2_override_bp,
        ),
        sms=None if sms is None else sms.notices,
    )
    try:
        await operations.start()
        closers.append(operations.close)
        metrics.watch_ledger(operations.ledger_stats)
        # The session store owns its connections (on SQLite a reader and a group-committing
        # writer, each on a thread of its own, apart from the ledger's pool): one per
        # process, shared by the callback and the housekeeping, closed after the HTTP server.
        sessions = UssdSessionStore(engine)
        closers.append(sessions.close)
        ussd = UssdService(
            engine=dialog_engine,
            catalogue=catalogue,
            operations=operations,
            store=sessions,
            service_code=config.ussd.service_code,
            session_timeout_ms=config.ussd.session_timeout_s * 1000,
            default_language=config.platform.language,
            digest_key=b"ussd-text:" + pin_key,
            clock_ms=clock_ms,
            notifier=None if sms is None else sms.notices,
        )
        closers.append(ussd.drain)  # operations a gateway left behind finish before the ledger
        wap, wap_store = None, None
        if config.wap.enabled:
            wap_store = WapStore(engine)
            wap = WapService(
                engine=dialog_engine,
                catalogue=catalogue,
                operations=operations,
                store=wap_store,
                session_timeout_ms=config.wap.session_timeout_s * 1000,
                default_language=config.platform.language,
                clock_ms=clock_ms,
                notifier=None if sms is None else sms.notices,
                counters=wap_counters(metrics.observe_wap),
            )
            closers.append(wap.drain)  # likewise for a browser that went away
        if sms is not None:
            closers.append(sms.stop_intake)  # no new MO; the outbox stays open (above)
            await sms.start(dialog_engine, operations, ussd)
        app = web.Application(middlewares=[metrics.middleware])
        app[METRICS] = metrics
        app[ENGINE] = engine
        add_ussd_routes(
            app,
            ussd,
            config.ussd.gateway_networks(),
            catalogue,
            config.platform.language,
            profile=config.ussd.profile,
            secret=config.secrets.ussd_secret.encode(),
            tolerance_s=config.ussd.signature_tolerance_s,
        )
        if wap is not None:
            add_wap_routes(app, wap, config.wap.gateway_networks(), catalogue)
        add_bank_notify_route(
            app,
            operations.deposit,
            config.secrets.bank_secret.encode(),
            config.bank.notify_networks(),
            config.bank.signature_tolerance_s,
        )
        app.router.add_get("/metrics", metrics.handler)
        app.router.add_get("/healthz", _healthz)
        app.add_subapp(API_PREFIX, create_api(engine, config.secrets.api_token))
        http = await listen(app, config.platform.host, config.platform.http_port)
        housekeeping = asyncio.create_task(
            _housekeeping(sessions, wap_store, config.wap.session_timeout_s * 1000)
        )
        closers.append(lambda: _cancel(housekeeping))
        ivr = None
        if config.ivr.enabled:
            calls = IvrCalls(
                engine=dialog_engine,
                catalogue=catalogue,
                operations=operations,
                notifier=None if sms is None else sms.notices,
                settings=IvrSettings(config.platform.language, config.ivr.sound_folder),
                clock_ms=clock_ms,
                counters=ivr_counters(metrics.observe_ivr),
            )
            ivr = FastAgiServer(calls, config.ivr.asterisk_networks())
            await ivr.start(config.platform.host, config.platform.fastagi_port)
            closers.append(ivr.close)
    except BaseException:
        for closer in reversed(closers):
            await closer()
        raise
    closers.append(http.runner.cleanup)
    log.info("platform HTTP listening on %s", http.url)
    return RunningPlatform(config, engine, operations, http, sms, ivr, closers)
