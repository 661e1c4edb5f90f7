"""The metrics observer: exact series from handmade RequestRecords, and gauges read at scrape time."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import MINIMAL
from tiergate.dispatch.dispatcher import Attempt
from tiergate.engine.decision import ClassifierOutcome, RoutingDecision
from tiergate.engine.targets import Target
from tiergate.runtime import Extensions, Rules
from tiergate.telemetry.metrics import Metrics
from tiergate.telemetry.record import RequestRecord

BREAKERS: dict[str, str] = {}


@pytest.fixture
def rules(tmp_path: Path) -> Iterator[Rules]:
    path = tmp_path / "routes.yaml"
    path.write_text(textwrap.dedent(MINIMAL))
    BREAKERS.clear()
    yield Rules.load(path, {}, Extensions(breaker_state=lambda t: BREAKERS.get(t.key, "closed")))


def target(rules: Rules, tier: str) -> Target:
    return rules.current.graph.chains.tiers[tier][0]


def decision(tier: str = "local", *, band: str = "LOCAL", phase: Any = "heuristic", **kw: Any) -> RoutingDecision:
    return RoutingDecision(
        decision_id="dec_1",
        tier=tier,
        provider="ollama",
        model="small-model",
        band=band,
        phase=phase,
        score=0.1,
        confidence=0.9,
        reasons=[],
        signals=[],
        targets=[],
        cache_hit=False,
        rules_version="v1",
        elapsed_us=kw.pop("elapsed_us", 300),
        **kw,
    )


def record(d: RoutingDecision, t: Target | None, attempts: list[Any], status: int = 200, **kw: Any) -> RequestRecord:
    return RequestRecord(
        d, t, attempts, status, kw.pop("latency_ms", 120.0), "anonymous", kw.pop("stream", False), "chat", **kw
    )


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_requests_decisions_latencies_and_upstream_errors(rules: Rules) -> None:
    metrics = Metrics(rules)
    local, sonnet = target(rules, "local"), target(rules, "sonnet")
    metrics.observe(record(decision(), local, [Attempt(local, "ok", 5.0)]))
    fell_back = [Attempt(local, "connect", 1.0, "refused", 503), Attempt(sonnet, "ok", 9.0)]
    metrics.observe(record(decision(), sonnet, fell_back, latency_ms=2500.0, stream=True, ttft_ms=400.0))
    failed = [Attempt(sonnet, "http_500", 3.0, "boom", 500), Attempt(sonnet, "rate_limited", 0.1, "rpm", 429)]
    metrics.observe(record(decision("sonnet", band="CLAUDE", elapsed_us=4000), None, failed, status=503))
    got = samples(metrics)
    assert got[("tiergate_requests_total", (("model", "small-model"), ("status", "200"), ("tier", "local")))] == 1
    assert got[("tiergate_requests_total", (("model", "mid-model"), ("status", "200"), ("tier", "sonnet")))] == 1
    assert got[("tiergate_requests_total", (("model", "small-model"), ("status", "503"), ("tier", "sonnet")))] == 1
    assert got[("tiergate_decisions_total", (("band", "LOCAL"), ("phase", "heuristic")))] == 2
    assert got[("tiergate_decisions_total", (("band", "CLAUDE"), ("phase", "heuristic")))] == 1
    assert got[("tiergate_upstream_errors_total", (("backend", "ollama"), ("kind", "connect")))] == 1
    assert got[("tiergate_upstream_errors_total", (("backend", "anthropic"), ("kind", "http_500")))] == 1
    assert got[("tiergate_rate_limit_rejections_total", (("scope", "target"),))] == 1
    assert got[("tiergate_request_latency_seconds_count", ())] == 3
    assert got[("tiergate_request_latency_seconds_bucket", (("le", "0.25"),))] == 2
    assert got[("tiergate_request_latency_seconds_sum", ())] == pytest.approx(2.74)
    assert got[("tiergate_time_to_first_token_seconds_count", ())] == 1  # only streams have a first token
    assert got[("tiergate_time_to_first_token_seconds_bucket", (("le", "0.5"),))] == 1
    assert got[("tiergate_decision_seconds_count", ())] == 3
    assert got[("tiergate_decision_seconds_bucket", (("le", "0.0005"),))] == 2
    assert got[("tiergate_decision_seconds_sum", ())] == pytest.approx(0.0046)


def test_a_stream_failing_after_it_started_counts_as_an_upstream_error(rules: Rules) -> None:
    metrics = Metrics(rules)
    local = target(rules, "local")
    metrics.observe(record(decision(), local, [Attempt(local, "ok", 1.0)], 502, stream=True, error_kind="protocol"))
    metrics.observe(record(decision(), local, [Attempt(local, "ok", 1.0)], 499, stream=True, disconnected=True))
    got = samples(metrics)
    assert got[("tiergate_upstream_errors_total", (("backend", "ollama"), ("kind", "protocol")))] == 1
    assert sum(v for (name, _), v in got.items() if name == "tiergate_upstream_errors_total") == 1


def test_classifier_cache_hits_and_misses(rules: Rules) -> None:
    metrics = Metrics(rules)
    for outcome in ("cache_hit", "cache_hit", "ok", "timeout", "skipped", "breaker_open", "invalid", "error"):
        classified = decision(phase="llm_classifier", classifier=ClassifierOutcome("tiny", outcome))  # type: ignore[arg-type]
        metrics.observe(record(classified, None, []))
    metrics.observe(record(decision(), None, []))  # no classifier at all
    got = samples(metrics)
    assert got[("tiergate_classifier_cache_hits_total", ())] == 2
    # a miss asked the model: an open breaker (no call) and a skip are not misses
    assert got[("tiergate_classifier_cache_misses_total", ())] == 4


def test_classifier_outcomes_are_counted_by_outcome(rules: Rules) -> None:
    metrics = Metrics(rules)
    for outcome in ("ok", "ok", "cache_hit", "breaker_open", "skipped", "timeout"):
        classified = decision(phase="fallback", classifier=ClassifierOutcome("tiny", outcome))  # type: ignore[arg-type]
        metrics.observe(record(classified, None, []))
    metrics.observe(record(decision(), None, []))  # not AMBIGUOUS, or no classifier: no outcome
    got = samples(metrics)
    counted = {
        dict(labels)["outcome"]: v for (name, labels), v in got.items() if name == "tiergate_classifier_outcomes_total"
    }
    assert counted == {"ok": 2, "cache_hit": 1, "breaker_open": 1, "skipped": 1, "timeout": 1}


def test_breaker_states_and_reloads_are_read_at_scrape_time(rules: Rules) -> None:
    metrics = Metrics(rules)
    got = samples(metrics)
    assert {k: v for k, v in got.items() if k[0] == "tiergate_breaker_state"} == {
        ("tiergate_breaker_state", (("target", "ollama/small-model"),)): 0.0,
        ("tiergate_breaker_state", (("target", "anthropic/mid-model"),)): 0.0,
        ("tiergate_breaker_state", (("target", "anthropic/big-model"),)): 0.0,
    }
    BREAKERS.update({"ollama/small-model": "open", "anthropic/mid-model": "half-open"})
    got = samples(metrics)
    assert got[("tiergate_breaker_state", (("target", "ollama/small-model"),))] == 2.0
    assert got[("tiergate_breaker_state", (("target", "anthropic/mid-model"),))] == 1.0
    assert got[("tiergate_rules_reloads_total", ())] == 0
    assert got[("tiergate_rules_last_reload_ok", ())] == 1.0
    rules.reloads = 3
    assert samples(metrics)[("tiergate_rules_reloads_total", ())] == 3


def test_client_rate_limits_and_separate_registries(rules: Rules) -> None:
    first, second = Metrics(rules), Metrics(rules)
    first.client_rate_limited()
    assert samples(first)[("tiergate_rate_limit_rejections_total", (("scope", "client"),))] == 1
    assert ("tiergate_rate_limit_rejections_total", (("scope", "client"),)) not in samples(second)
