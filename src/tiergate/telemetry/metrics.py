"""Prometheus metrics: an Observer fed by RequestRecords, plus gauges read when /metrics is scraped.

Each app owns its own ``CollectorRegistry`` (never the process-global default), so several apps in one
process — as in the tests — count separately. Labels hold only names from routes.yaml and outcomes,
never anything a client sent, so the number of series stays bounded.

    tiergate_requests_total{tier,model,status}            routed requests, by where they ended and how
    tiergate_decisions_total{phase,band}                  routing decisions behind those requests
    tiergate_request_latency_seconds                      histogram: request start to last byte
    tiergate_time_to_first_token_seconds                  histogram: request start to first stream byte
    tiergate_decision_seconds                             histogram: time spent deciding (incl. phase 2)
    tiergate_upstream_errors_total{backend,kind}          failed attempts (connect, timeout, http_503, ...)
    tiergate_rate_limit_rejections_total{scope}           client: a key's rpm; target: a target's limits
    tiergate_classifier_cache_hits_total / _misses_total  phase-2 lookups answered from cache / by the model
    tiergate_classifier_outcomes_total{outcome}           phase-2 outcomes: ok, cache_hit, timeout, ...
    tiergate_breaker_state{target}                        0 closed, 1 half-open, 2 open (read at scrape)
    tiergate_rules_reloads_total                          successful reloads that changed the rules
    tiergate_rules_last_reload_ok                         0 while the last reload attempt was rejected
    tiergate_decision_log_up                              1 while the decision log is written, 0 while it is not
    tiergate_decision_log_pending_rows                    rows waiting to be written (queued, or kept in an outage)
    tiergate_decision_log_dropped_rows_total              rows never written (max_pending passed, a row refused)
    tiergate_decision_log_outages_total                   times its store became unreachable

    metrics = Metrics(rules)
    gateway.observers.append(metrics)
    body = metrics.exposition()      # text format 0.0.4, for GET /metrics
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from tiergate.runtime import Rules
from tiergate.telemetry.record import RequestRecord

#: The text format 0.0.4 (the web framework adds ``; charset=utf-8``).
CONTENT_TYPE = "text/plain; version=0.0.4"
BREAKER_VALUES = {"closed": 0.0, "half-open": 1.0, "open": 2.0}
#: The classifier outcomes of a lookup that missed the cache and went to the model (or joined a call to it);
#: an open breaker and a skip asked nothing.
ASKED_THE_MODEL = frozenset({"ok", "timeout", "error", "invalid"})

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
DECISION_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0)


class Metrics:
    """The Observer and the registry /metrics serves. ``observe`` only bumps counters: it never blocks."""

    def __init__(self, rules: Rules) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "tiergate_requests",
            "Routed requests by tier, model and HTTP status.",
            ["tier", "model", "status"],
            registry=r,
        )
        self.decisions = Counter(
            "tiergate_decisions",
            "Routing decisions of routed requests, by phase and band.",
            ["phase", "band"],
            registry=r,
        )
        self.latency = Histogram(
            "tiergate_request_latency_seconds", "Request start to last byte.", buckets=LATENCY_BUCKETS, registry=r
        )
        self.ttft = Histogram(
            "tiergate_time_to_first_token_seconds",
            "Request start to the first byte of a stream.",
            buckets=TTFT_BUCKETS,
            registry=r,
        )
        self.decision_time = Histogram(
            "tiergate_decision_seconds", "Time spent deciding the route.", buckets=DECISION_BUCKETS, registry=r
        )
        self.upstream_errors = Counter(
            "tiergate_upstream_errors", "Failed upstream attempts by backend and kind.", ["backend", "kind"], registry=r
        )
        self.rate_limited = Counter(
            "tiergate_rate_limit_rejections",
            "Requests or attempts refused by a rate limit: scope client (a key's rpm) or target (limits).",
            ["scope"],
            registry=r,
        )
        self.cache_hits = Counter(
            "tiergate_classifier_cache_hits", "Phase-2 classifications answered from the cache.", registry=r
        )
        self.cache_misses = Counter(
            "tiergate_classifier_cache_misses", "Phase-2 classifications that had to ask the model.", registry=r
        )
        self.classifier_outcomes = Counter(
            "tiergate_classifier_outcomes",
            "Phase-2 outcomes of routed requests: ok, cache_hit, timeout, error, invalid, breaker_open, skipped.",
            ["outcome"],
            registry=r,
        )
        r.register(RulesCollector(rules))

    def observe(self, record: RequestRecord) -> None:
        decision, target = record.decision, record.target
        tier = target.tier if target else decision.tier
        model = target.model if target else decision.model
        self.requests.labels(tier, model, str(record.status)).inc()
        self.decisions.labels(decision.phase, decision.band).inc()
        self.latency.observe(record.latency_ms / 1000)
        if record.ttft_ms is not None:
            self.ttft.observe(record.ttft_ms / 1000)
        self.decision_time.observe(decision.elapsed_us / 1_000_000)
        for attempt in record.attempts:
            if attempt.outcome == "rate_limited":
                self.rate_limited.labels("target").inc()
            elif attempt.outcome not in ("ok", "disconnected"):  # a client leaving is no upstream's error
                self.upstream_errors.labels(attempt.target.backend, attempt.outcome).inc()
        if record.stream and target is not None and record.error_kind is not None:
            self.upstream_errors.labels(target.backend, record.error_kind).inc()  # failed after it started
        if decision.classifier is not None:
            outcome = decision.classifier.outcome
            self.classifier_outcomes.labels(outcome).inc()
            if outcome == "cache_hit":
                self.cache_hits.inc()
            elif outcome in ASKED_THE_MODEL:
                self.cache_misses.inc()

    def client_rate_limited(self) -> None:
        """A client key was over its rpm: refused before routing, so no RequestRecord tells of it."""
        self.rate_limited.labels("client").inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class RulesCollector(Collector):
    """Read at scrape time from the live rules: breaker states and reload counts."""

    def __init__(self, rules: Rules) -> None:
        self._rules = rules

    def collect(self) -> Iterator[Metric]:
        rules = self._rules
        runtime = rules.current
        breakers = GaugeMetricFamily(
            "tiergate_breaker_state", "Circuit breaker per target: 0 closed, 1 half-open, 2 open.", labels=["target"]
        )
        seen: set[str] = set()
        for target in runtime.graph.dispatch_targets():
            if target.key not in seen:
                seen.add(target.key)
                breakers.add_metric([target.key], BREAKER_VALUES.get(runtime.router.breaker_state(target), 2.0))
        yield breakers
        yield CounterMetricFamily("tiergate_rules_reloads", "Reloads that changed the rules.", value=rules.reloads)
        yield GaugeMetricFamily(
            "tiergate_rules_last_reload_ok", "0 while the last reload was rejected.", value=float(rules.status == "ok")
        )


class DecisionLogCollector(Collector):
    """The decision log's state, read at scrape time from its /health section (``health``: None or ``off``
    when it is not enabled, which adds no series). A log that could not be opened reads as down."""

    def __init__(self, health: Callable[[], dict[str, Any] | None]) -> None:
        self._health = health

    def collect(self) -> Iterator[Metric]:
        health = self._health()
        if health is None or health["status"] == "off":
            return
        yield GaugeMetricFamily(
            "tiergate_decision_log_up",
            "1 while the decision log is written, 0 while its store cannot be written (rows are kept) or it "
            "could not be opened.",
            value=float(health["status"] == "ok"),
        )
        yield GaugeMetricFamily(
            "tiergate_decision_log_pending_rows",
            "Rows observed and not written yet: queued, or kept through an outage.",
            value=health["pending"],
        )
        yield CounterMetricFamily(
            "tiergate_decision_log_dropped_rows",
            "Rows never written: the oldest beyond max_pending in an outage, a row the store refused.",
            value=health["dropped"],
        )
        yield CounterMetricFamily(
            "tiergate_decision_log_outages",
            "Times the decision log's store became unreachable.",
            value=health["outages"],
        )
