"""Prometheus metrics an operator can act on, served at `/metrics`.

HTTP requests by route and status, operations by name, channel and outcome (a rising
`pending` means BOSS is slow or down; `wrong_pin` bursts mean someone is guessing),
BOSS calls by result with their latency, and the journal writer's commits, transfers and
queue (read from the writer when scraped). One registry per platform instance, so tests and
several instances in one process do not collide.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from ledger.gateways.boss import BossApplied, BossFailed, BossGateway, BossResult
from ledger.money import Fen, Msisdn
from ledger.operations import OperationOutcome, OperationRequest
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
            "Calls to BOSS, by call and result (applied, failed, unknown)",
            ["call", "result"],
            registry=self.registry,
        )
        self.boss_seconds = Histogram(
            "aircharge_boss_call_seconds", "BOSS call latency", ["call"], registry=self.registry
        )

    def watch_ledger(self, stats: Callable[[], WriterStats]) -> None:
        self.registry.register(_LedgerCollector(stats))

    def observe_operation(self, request: OperationRequest, outcome: OperationOutcome) -> None:
        self.operations.labels(request.name, request.channel, outcome.code).inc()

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


class MeteredBoss:
    """A BossGateway that counts and times the calls of the one it wraps."""

    def __init__(self, inner: BossGateway, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def recharge(self, ref: str, msisdn: Msisdn, amount: Fen) -> BossResult:
        started = time.perf_counter()
        result = await self._inner.recharge(ref, msisdn, amount)
        self._metrics.boss_seconds.labels("recharge").observe(time.perf_counter() - started)
        self._metrics.boss_calls.labels("recharge", _result_name(result)).inc()
        return result


METRICS = web.AppKey("metrics", Metrics)


def _result_name(result: BossResult) -> str:
    if isinstance(result, BossApplied):
        return "applied"
    if isinstance(result, BossFailed):
        return "failed"
    return "unknown"
