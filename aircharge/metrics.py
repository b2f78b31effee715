"""Prometheus metrics an operator can act on, served at `/metrics`.

HTTP requests by route and status, operations by name, channel and outcome (a rising
`pending` means BOSS is slow or down; `wrong_pin` bursts mean someone is guessing),
BOSS calls by call and result with their latency, and the journal writer's commits, transfers and
queue (read from the writer when scraped). One registry per platform instance, so tests and
several instances in one process do not collide.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from types import MappingProxyType
from typing import TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from channels.smpp.counters import SMPP_GAUGES
from ledger.gateways.boss import (
    BossApplied,
    BossCancelled,
    BossCancelResult,
    BossFailed,
    BossGateway,
    BossLookupUnknown,
    BossNoSubscriber,
    BossNotFound,
    BossResult,
    BossStatusResult,
    BossSubscriber,
    BossSubscriberResult,
    BossUnknown,
)
from ledger.money import Fen, Msisdn
from ledger.operations import OperationOutcome, OperationRequest
from ledger.operations.resolver import SweepReport
from ledger.writer import WriterStats


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "aircharge_http_requests",
            "HTTP requests served, by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.http_seconds = Histogram(
            "aircharge_http_request_seconds",
            "HTTP request latency",
            ["route"],
            registry=self.registry,
        )
        self.operations = Counter(
            "aircharge_operations",
            "Operations run, by name, channel and outcome code",
            ["operation", "channel", "outcome"],
            registry=self.registry,
        )
        self.boss_calls = Counter(
            "aircharge_boss_calls",
            "Calls to BOSS, by call and result (applied, failed, not_found, cancelled, found,"
            " unknown)",
            ["call", "result"],
            registry=self.registry,
        )
        self.boss_seconds = Histogram(
            "aircharge_boss_call_seconds", "BOSS call latency", ["call"], registry=self.registry
        )
        self.resolver_cases = Counter(
            "aircharge_resolver_cases",
            "Unknown outcomes the resolver worked, by result (posted, voided, to_manual: now a"
            " person's; deferred: BOSS gave no answer, asked again later)",
            ["result"],
            registry=self.registry,
        )

        self.sms_events = Counter(
            "aircharge_sms_events",
            "SMS channel events by kind: MOs received, ignored, re-delivered, duplicates and"
            " their confirmations; MTs queued, submitted, retried, failed; receipts; capped"
            " replies (channels.sms.counters lists them)",
            ["event"],
            registry=self.registry,
        )

        self.stk_events = Counter(
            "aircharge_stk_events",
            "SIM applet answers (STK1) by kind: opened and run, re-delivered, refused by reason"
            " (bad_format, unknown_sim, retired_sim, wrong_sender, bad_mac, old_counter,"
            " bad_command; channels.stk.gate lists them)",
            ["event"],
            registry=self.registry,
        )

        self.smpp_events = Counter(
            "aircharge_smpp_events",
            "SMPP link events by link and kind: binds, bind failures, reconnects, drops, submits"
            " ok/failed/throttled, window waits, MOs, receipts, USSD, enquire_link time-outs,"
            " peer errors (channels.smpp.counters lists them)",
            ["link", "event"],
            registry=self.registry,
        )
        self.smpp_up = Gauge(
            "aircharge_smpp_link_up",
            "1 while the SMPP link is bound",
            ["link"],
            registry=self.registry,
        )

        self.ivr_events = Counter(
            "aircharge_ivr_events",
            "IVR events by kind: calls started, completed, hung up; refused connections,"
            " protocol errors, environment time-outs; operations, receipts, missing sounds"
            " (channels.ivr.call and channels.ivr.server list them)",
            ["event"],
            registry=self.registry,
        )
        self.ivr_calls = Gauge(
            "aircharge_ivr_calls_active", "IVR calls up now", registry=self.registry
        )

        self.wap_events = Counter(
            "aircharge_wap_events",
            "WAP events by kind: sessions, pages by format, number headers trusted or ignored"
            " (untrusted: from an address outside wap.allowed_gateways), sign-ins, refused"
            " form tokens and identities, operations, receipts (channels.wap.service lists"
            " them)",
            ["event"],
            registry=self.registry,
        )

    def watch_ledger(self, stats: Callable[[], WriterStats]) -> None:
        self.registry.register(_LedgerCollector(stats))

    def observe_operation(self, request: OperationRequest, outcome: OperationOutcome) -> None:
        self.operations.labels(request.name, request.channel, outcome.code).inc()

    def observe_sms(self, event: str, count: int) -> None:
        self.sms_events.labels(event).inc(count)

    def observe_stk(self, event: str, count: int) -> None:
        self.stk_events.labels(event).inc(count)

    def observe_ivr(self, event: str, count: int) -> None:
        if event == "calls_active":
            self.ivr_calls.set(count)
        else:
            self.ivr_events.labels(event).inc(count)

    def observe_wap(self, event: str, count: int) -> None:
        self.wap_events.labels(event).inc(count)

    def smpp_observer(self, link: str) -> Callable[[str, int], None]:
        """The observer of one link's `SmppCounters`: `up` is a gauge, the rest counters."""

        def observe(event: str, count: int) -> None:
            if event in SMPP_GAUGES:
                self.smpp_up.labels(link).set(count)
            else:
                self.smpp_events.labels(link, event).inc(count)

        return observe

    def observe_sweep(self, report: SweepReport) -> None:
        for result, count in report._asdict().items():
            if count:
                self.resolver_cases.labels(result).inc(count)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        route = request.match_info.route.resource
        name = route.canonical if route is not None else "unmatched"
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            self.http_requests.labels(name, str(status)).inc()
            self.http_seconds.labels(name).observe(time.perf_counter() - started)

    async def handler(self, request: web.Request) -> web.Response:
        body = generate_latest(self.registry)
        response = web.Response(body=body)
        response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
        return response


class _LedgerCollector(Collector):
    """The journal writer's counters, read when scraped (the writer keeps plain ints on its
    hot path rather than updating metric objects per commit)."""

    def __init__(self, stats: Callable[[], WriterStats]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        stats = self._stats()
        commits = CounterMetricFamily(
            "aircharge_ledger_commits",
            "Journal commits, by how the batch was validated: from the writer's view while "
            "the previous batch was written, or from reads in its own transaction",
            labels=["validated"],
        )
        commits.add_metric(["view"], stats.commits_from_view)
        commits.add_metric(["reads"], stats.commits - stats.commits_from_view)
        yield commits
        yield CounterMetricFamily(
            "aircharge_ledger_transfers_written",
            "Transfers written to the journal",
            value=stats.transfers,
        )
        yield GaugeMetricFamily(
            "aircharge_ledger_queue_length",
            "Transactions waiting for the journal writer",
            value=stats.queue_length,
        )
        yield GaugeMetricFamily(
            "aircharge_ledger_queue_length_max",
            "Waiting transactions beyond which callers are answered Overloaded",
            value=stats.queue_length_max,
        )


_Answer = TypeVar("_Answer", BossResult, BossStatusResult, BossCancelResult, BossSubscriberResult)


class MeteredBoss:
    """A BossGateway that counts and times the calls of the one it wraps."""

    def __init__(self, inner: BossGateway, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def recharge(self, ref: str, msisdn: Msisdn, amount: Fen) -> BossResult:
        return await self._timed("recharge", self._inner.recharge(ref, msisdn, amount))

    async def billpay(self, ref: str, msisdn: Msisdn, amount: Fen) -> BossResult:
        return await self._timed("billpay", self._inner.billpay(ref, msisdn, amount))

    async def transfer(
        self, ref: str, from_msisdn: Msisdn, to_msisdn: Msisdn, amount: Fen
    ) -> BossResult:
        call = self._inner.transfer(ref, from_msisdn, to_msisdn, amount)
        return await self._timed("transfer", call)

    async def reversal(self, ref: str, original_ref: str) -> BossResult:
        return await self._timed("reversal", self._inner.reversal(ref, original_ref))

    async def status(self, ref: str) -> BossStatusResult:
        return await self._timed("status", self._inner.status(ref))

    async def cancel(self, ref: str) -> BossCancelResult:
        return await self._timed("cancel", self._inner.cancel(ref))

    async def subscriber(self, msisdn: Msisdn) -> BossSubscriberResult:
        return await self._timed("subscriber", self._inner.subscriber(msisdn))

    async def _timed(self, call: str, pending: Awaitable[_Answer]) -> _Answer:
        started = time.perf_counter()
        result = await pending
        self._metrics.boss_seconds.labels(call).observe(time.perf_counter() - started)
        self._metrics.boss_calls.labels(call, _RESULT_NAMES[type(result)]).inc()
        return result


METRICS = web.AppKey("metrics", Metrics)

_RESULT_NAMES: Mapping[type, str] = MappingProxyType(
    {
        BossApplied: "applied",
        BossFailed: "failed",
        BossNotFound: "not_found",
        BossCancelled: "cancelled",
        BossUnknown: "unknown",
        BossSubscriber: "found",
        BossNoSubscriber: "not_found",
        BossLookupUnknown: "unknown",
    }
)
