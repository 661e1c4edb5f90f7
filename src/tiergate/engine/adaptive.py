"""Signals from the running system, in the route: observed latency, session failures and spend.

One :class:`Signals` lives as long as the process. It holds three stores — latency per target
(tiergate.telemetry.latency), failures per session (tiergate.engine.session_escalation) and spend per tier
and client (tiergate.telemetry.spend) —, reads a fourth (what each Ollama server holds in memory,
tiergate.telemetry.residency), and is the Observer that fills them from every finished request.
Per load it builds a :class:`SignalStep` for the router, which

1. leaves the latency and residency reader on the request's features before the rules run
   (``target.<tier>.*``, ``target.<tier>.loaded``);
2. after stickiness, moves a failing session up a tier (``routing.session_escalation``);
3. last, applies the spend caps (``budgets``): spill to a cheaper tier, or refuse with 429;
4. shows each target's latency, and whether each Ollama target is loaded, in the decision;
5. counts what routing spends (a priced classifier's call) in the client's spend as it is spent, and tells
   the router when a client at its cap may not spend on the classifier at all.

Each store sits behind a Protocol with an in-process implementation; a shared one (Redis) can replace it
without touching the route. ``/health`` (``report``) and ``/metrics`` (``collector``) read the same stores.

    signals = Signals()
    extensions = Extensions(signals=signals.build)
    gateway.observers.append(signals)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tiergate.config.adaptive import SessionEscalation
from tiergate.engine.budgets import BudgetCheck, Verdict
from tiergate.engine.decision import EscalationOutcome, LatencyStats
from tiergate.engine.graph import EvaluationGraph, Phase1, cheapest_first
from tiergate.engine.session_escalation import FailureObserver, FailureStore, LocalFailures, SessionEscalator
from tiergate.engine.targets import Target
from tiergate.redact import redact_url
from tiergate.rules import observed
from tiergate.rules.features import Features
from tiergate.telemetry.latency import LatencyObserver, LatencyStore, LocalLatency
from tiergate.telemetry.record import RequestRecord
from tiergate.telemetry.residency import Residency
from tiergate.telemetry.spend import (
    PERIODS,
    Calendar,
    LocalSpend,
    SpendLedger,
    SpendObserver,
    restore,
    restore_later,
)
from tiergate.wire import Usage

log = logging.getLogger("tiergate.signals")
Clock = Callable[[], float]


@dataclass
class SignalStep:
    """What one load's router asks of the running system (the router's ``Signals`` protocol)."""

    graph: EvaluationGraph
    latency_store: LatencyStore
    budgets: BudgetCheck
    escalator: SessionEscalator | None
    residency: Residency | None = None
    #: Counts routing's own spend (``charge``); None counts nothing.
    spend: SpendObserver | None = None

    def prepare(self, f: Features) -> None:
        f._memo[observed.MEMO_KEY] = self

    def latency(self, tier: str) -> LatencyStats | None:
        """The tier's first target's stats: what ``target.<tier>.*`` reads."""
        targets = self.graph.chains.tiers.get(tier)
        return self.latency_store.stats(targets[0].key) if targets else None

    def target_latency(self, target: Target) -> LatencyStats | None:
        return self.latency_store.stats(target.key)

    def loaded(self, tier: str) -> bool:
        """Whether the tier's first Ollama target's model is in its server's memory: ``target.<tier>.loaded``."""
        residency = self.residency
        if residency is None:
            return False
        for target in self.graph.chains.tiers.get(tier, ()):
            if residency.manages(target.backend):
                return bool(residency.loaded(target.backend, target.model))
        return False

    def target_loaded(self, target: Target) -> bool | None:
        """The decision's ``loaded``: None for a target whose server cannot say (not Ollama)."""
        return self.residency.loaded(target.backend, target.model) if self.residency is not None else None

    def escalate(self, f: Features, session: str | None, p1: Phase1, remember: bool) -> EscalationOutcome | None:
        if self.escalator is None:
            return None
        return self.escalator.apply(f, session, p1, remember=remember)

    def budget(self, tier: str, client: str) -> Verdict:
        return self.budgets.route(tier, client)

    def client_over(self, client: str) -> str | None:
        over = self.budgets.client_over(client, self.budgets.clock())
        return f"budget: {over.describe()}" if over is not None else None

    def charge(self, client: str, target: Target, usage: Usage) -> None:
        """The classifier's call, counted when it ends: a request whose client left by then (or a dry run)
        leaves no record for the observer to count it from."""
        if self.spend is not None:
            self.spend.charge(client, [(target, usage)])


class Signals:
    """The process's stores and their observer; ``build`` is the hook for ``Extensions(signals=...)``."""

    def __init__(
        self,
        *,
        clock: Clock = time.time,
        latency: LatencyStore | None = None,
        spend: SpendLedger | None = None,
        failures: FailureStore | None = None,
        residency: Residency | None = None,
    ) -> None:
        self.clock = clock
        #: What each Ollama server holds in memory (``target.<tier>.loaded``); attached per load by the switch.
        self.residency = residency
        self.latency = latency or LocalLatency()
        self.spend = spend or LocalSpend()
        self._failures = failures
        self.calendar = Calendar()
        self._escalation: tuple[SessionEscalation, frozenset[str]] | None = None
        self._graph: EvaluationGraph | None = None
        self._latency_observer = LatencyObserver(self.latency)
        self._spend_observer = SpendObserver(self.spend, lambda: self.calendar, clock)
        self._failure_observer: FailureObserver | None = None
        #: Requests a budget spilled or refused, by (scope, name, action); sessions moved up, by (from, to).
        self.budget_actions: dict[tuple[str, str, str], int] = {}
        self.escalations: dict[tuple[str, str], int] = {}

    def failures(self, max_sessions: int) -> FailureStore:
        if self._failures is None:
            self._failures = LocalFailures(max_sessions=max_sessions)
        else:
            self._failures.configure(max_sessions)  # a reload may change it
        return self._failures

    def build(self, graph: EvaluationGraph) -> SignalStep:
        config = graph.config
        cfg = config.routing.latency
        self.latency.configure(cfg.alpha, cfg.window, cfg.max_age)
        for key, profile in graph.profiles.items():
            self.latency.seed(key, ttft_ms=profile.ttft_ms.samples, total_ms=profile.total_ms.samples)
        if self.calendar.timezone != config.budgets.timezone:
            self.calendar = Calendar(config.budgets.timezone)
        escalator = None
        esc = config.routing.session_escalation
        if esc is not None:
            store = self.failures(esc.max_sessions)
            tiers = frozenset(esc.tiers or [config.routing.band_tiers.local])
            self._escalation = (esc, tiers)
            if self._failure_observer is None:
                self._failure_observer = FailureObserver(store, lambda: self._escalation, self.clock)
            escalator = SessionEscalator(esc, cheapest_first(config), store, self.clock, tiers)
        else:
            self._escalation = None
        self._graph = graph
        budgets = BudgetCheck(config, graph.chains, self.spend, self.calendar, self.clock)
        return SignalStep(graph, self.latency, budgets, escalator, self.residency, self._spend_observer)

    # --- the observer ---------------------------------------------------------------------------

    def observe(self, record: RequestRecord) -> None:
        decision = record.decision
        if decision.budget is not None:
            key = (decision.budget.scope, decision.budget.name, decision.budget.action)
            self.budget_actions[key] = self.budget_actions.get(key, 0) + 1
        if decision.escalation is not None:
            moved = (decision.escalation.from_tier, decision.escalation.to_tier)
            self.escalations[moved] = self.escalations.get(moved, 0) + 1
        self._latency_observer.observe(record)
        self._spend_observer.observe(record)
        if self._failure_observer is not None:
            self._failure_observer.observe(record)

    def rated(self, decision_id: str, rating: int, rater: str | None = None) -> None:
        """A ``POST /v1/feedback`` rating by client ``rater`` (None: the admin): a low one counts as a failure
        of the tier that answered, when the rater made the request or is the admin."""
        if self._failure_observer is not None:
            self._failure_observer.rated(decision_id, rating, rater)

    # --- what /health, /metrics and start-up read -------------------------------------------------

    def report(self) -> dict[str, Any]:
        """``/health``'s ``latency`` (by target), ``spend`` (the current periods, with their caps) and
        ``loaded`` (the models in each Ollama server's memory)."""
        now = self.clock()
        latency = {key: stats for key, stats in self.latency.snapshot().items()}
        report = {"latency": latency, "spend": self._spend_report(now)}
        if self.residency is not None:
            report["loaded"] = self.residency.report()
        return report

    def _spend_report(self, now: float) -> dict[str, Any]:
        graph = self._graph
        budgets = graph.config.budgets if graph is not None else None
        out: dict[str, Any] = {"timezone": self.calendar.timezone}
        for scope in ("tier", "client"):
            rows: dict[str, Any] = {}
            for (s, name, period, label), usd in self.spend.snapshot().items():
                if s == scope and label == self.calendar.label(period, now):  # type: ignore[arg-type]
                    rows.setdefault(name, {})[f"{period}_usd"] = round(usd, 6)
            caps = (budgets.tiers if scope == "tier" else budgets.clients) if budgets is not None else {}
            every = caps.get("*") if scope == "client" else None  # the caps of each client not listed
            for name in set(rows) | set(caps):
                cap = caps.get(name) or (every if name != "*" else None)
                row = rows.setdefault(name, {})
                if name == "*":  # a rule, not a client: it spends nothing itself
                    cap = every
                for period in PERIODS:
                    if name != "*":
                        row.setdefault(f"{period}_usd", 0.0)
                    limit = None if cap is None else cap.daily_usd if period == "daily" else cap.monthly_usd
                    if limit is not None:
                        row[f"{period}_cap_usd"] = limit
                if cap is not None:
                    row["on_exceed"] = cap.on_exceed
            out[f"{scope}s"] = dict(sorted(rows.items()))
        return out

    def collector(self) -> Collector:
        return SignalsCollector(self)

    def restore_spend(
        self, where: Path | str, into: SpendLedger | None = None, *, until: float | None = None
    ) -> int | None:
        """Rebuild this month's spend from the decision log (before serving): its file or ``postgresql://`` URL.
        ``into`` is where it goes (default: this process's ledger); ``until``, the month of that moment up to
        it. None while a PostgreSQL log's server cannot be reached."""
        now = self.clock() if until is None else until
        return restore(into or self.spend, where, self.calendar, now, until=until)


class SignalsCollector(Collector):
    """``/metrics``: latency per target (ms → seconds) and spend in the current periods, read at scrape."""

    def __init__(self, signals: Signals) -> None:
        self._signals = signals

    def collect(self) -> Iterator[Metric]:
        signals = self._signals
        ttft = GaugeMetricFamily(
            "tiergate_target_ttft_seconds",
            "Observed time to first token per target: moving average (stat=ema) and percentiles (p50, p95, p99).",
            labels=["target", "stat"],
        )
        total = GaugeMetricFamily(
            "tiergate_target_latency_seconds",
            "Observed whole-call time per target: moving average (stat=ema) and percentiles (p50, p95, p99).",
            labels=["target", "stat"],
        )
        samples = CounterMetricFamily(
            "tiergate_target_latency_samples", "Requests whose latency was observed, per target.", labels=["target"]
        )
        for key, stats in signals.latency.snapshot().items():
            for family, prefix in ((ttft, "ttft"), (total, "total")):
                for stat in ("ema", "p50", "p95", "p99"):
                    value = getattr(stats, f"{prefix}_{stat}_ms")
                    if value is not None:
                        family.add_metric([key, stat], value / 1000)
            samples.add_metric([key], stats.observed)
        yield ttft
        yield total
        yield samples
        spend = GaugeMetricFamily(
            "tiergate_spend_usd",
            "US dollars spent in the current day and month, per tier and per client key.",
            labels=["scope", "name", "period"],
        )
        now = signals.clock()
        for (scope, name, period, label), usd in signals.spend.snapshot().items():
            if label == signals.calendar.label(period, now):  # type: ignore[arg-type]
                spend.add_metric([scope, name, period], usd)
        yield spend
        actions = CounterMetricFamily(
            "tiergate_budget_actions",
            "Requests a budget spilled to a cheaper tier or refused, by the cap's scope and name.",
            labels=["scope", "name", "action"],
        )
        for (scope, name, action), count in sorted(signals.budget_actions.items()):
            actions.add_metric([scope, name, action], count)
        yield actions
        moved = CounterMetricFamily(
            "tiergate_session_escalations",
            "Requests whose session was moved up a tier after repeated failures.",
            labels=["from_tier", "to_tier"],
        )
        for (src, dst), count in sorted(signals.escalations.items()):
            moved.add_metric([src, dst], count)
        yield moved


def restore_spend_lifespan(
    signals: Signals,
    decision_log: Callable[[], tuple[bool, Path | str]],
    *,
    retry_min: float = 0.5,
    retry_max: float = 30.0,
) -> Any:
    """At start-up, before serving: this month's spend from the decision log (``(enabled, file or URL)``).
    A PostgreSQL server not up yet is read once it answers, while the gateway serves (``restore_later``)."""

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        enabled, where = decision_log()
        into: SpendLedger | None = signals.spend
        pick = getattr(signals.spend, "restore_into", None)  # shared spend: once per month, not per process
        if enabled and pick is not None:
            into = await pick(signals.calendar.label("monthly", signals.clock()))
            if into is None:
                log.info("budgets: this month's spend is already shared (restored by another process)")
        later: asyncio.Task[int] | None = None
        if enabled and into is not None:
            read = partial(signals.restore_spend, where, until=signals.clock())  # requests served from now are counted
            counted = await asyncio.to_thread(read, into)
            shown = redact_url(where) if isinstance(where, str) else where
            if counted is None:
                log.warning("budgets: the decision log %s cannot be read yet; its spend is added when it can", shown)
                later = asyncio.get_running_loop().create_task(
                    restore_later(into, read, shown, retry_min=retry_min, retry_max=retry_max)
                )
            elif counted:
                log.info("budgets: spend of %d request(s) this month restored from %s", counted, shown)
        reconcile = getattr(signals.spend, "reconcile_with", None)  # shared spend: kept up to the log's
        if enabled and reconcile is not None:
            reader = partial(signals.restore_spend, where)
            if later is None:
                reconcile(reader, now=into is None)  # at once unless this process just restored the month
            else:  # not before the month's restore has reached the mirror: it would be owed twice
                later.add_done_callback(lambda task: task.cancelled() or reconcile(reader, now=False))
        try:
            yield
        finally:
            if later is not None:
                later.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await later

    return lifespan
