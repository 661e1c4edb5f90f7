"""Latency per target: the moving average, nearest-rank percentiles over a bounded window, profile seeds,
and which attempts of a finished request become samples."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import MINIMAL, graph
from tiergate.dispatch.dispatcher import Attempt
from tiergate.engine.decision import RoutingDecision
from tiergate.telemetry.latency import LatencyObserver, LocalLatency, percentile, samples
from tiergate.telemetry.record import RequestRecord

TIERS = graph(base=MINIMAL).chains.tiers
LOCAL, SONNET = TIERS["local"][0], TIERS["sonnet"][0]


def decision() -> RoutingDecision:
    return RoutingDecision(
        decision_id="dec_1",
        tier="local",
        provider="ollama",
        model="small-model",
        band="LOCAL",
        phase="heuristic",
        score=0.1,
        confidence=0.9,
        reasons=[],
        signals=[],
        targets=[],
        cache_hit=False,
        rules_version="v1",
        elapsed_us=10,
    )


def record(attempts: list[Attempt], **kw: Any) -> RequestRecord:
    served = next((a.target for a in attempts if a.outcome == "ok"), None)
    base: dict[str, Any] = {"status": 200, "latency_ms": 1000.0, "client": "c", "stream": False, "endpoint": "chat"}
    return RequestRecord(decision(), served, attempts, **{**base, **kw})


def test_percentiles_are_nearest_rank_values_that_were_observed() -> None:
    ordered = [float(v) for v in range(1, 101)]
    assert [percentile(ordered, q) for q in (0.5, 0.95, 0.99)] == [50.0, 95.0, 99.0]
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([1.0, 2.0, 3.0], 0.5) == 2.0


def test_the_moving_average_weights_the_newest_sample_by_alpha() -> None:
    store = LocalLatency(alpha=0.5, window=16)
    for value in (100.0, 200.0, 400.0):
        store.add("ollama/m", total_ms=value)
    stats = store.stats("ollama/m")
    assert stats is not None
    assert stats.total_ema_ms == 275.0  # 100 -> 150 -> 275
    assert (stats.total_p50_ms, stats.total_p95_ms, stats.total_p99_ms) == (200.0, 400.0, 400.0)
    assert stats.ttft_ema_ms is None and stats.ttft_p95_ms is None
    assert (stats.samples, stats.observed) == (3, 3)


def test_the_window_keeps_only_the_newest_samples() -> None:
    store = LocalLatency(alpha=0.3, window=8)
    for value in range(100):
        store.add("k", ttft_ms=float(value))
    stats = store.stats("k")
    assert stats is not None
    assert stats.samples == 8 and stats.observed == 100
    assert (stats.ttft_p50_ms, stats.ttft_p99_ms) == (95.0, 99.0)  # the window is 92..99
    store.configure(alpha=0.3, window=16)  # a reload that widens it keeps what it has
    assert store.stats("k").samples == 8  # type: ignore[union-attr]
    store.configure(alpha=0.3, window=4)
    narrowed = store.stats("k")
    assert narrowed is not None and (narrowed.samples, narrowed.ttft_p50_ms) == (4, 97.0)


def test_a_profile_seeds_only_a_target_with_no_samples() -> None:
    store = LocalLatency(window=16)
    store.seed("k", ttft_ms=[300.0, 100.0, 200.0], total_ms=[900.0])
    seeded = store.stats("k")
    assert seeded is not None
    assert (seeded.samples, seeded.observed, seeded.ttft_ema_ms, seeded.ttft_p95_ms) == (3, 0, 200.0, 300.0)
    store.add("k", ttft_ms=1000.0)
    store.seed("k", ttft_ms=[1.0], total_ms=[1.0])  # a reload with the profile again: ignored now
    after = store.stats("k")
    assert after is not None and after.observed == 1 and after.samples == 4 and after.ttft_p99_ms == 1000.0
    assert store.stats("unknown") is None
    assert list(store.snapshot()) == ["k"]


def test_a_whole_answer_gives_its_successful_attempts_total() -> None:
    attempts = [
        Attempt(LOCAL, "connect", 3.0, "refused", 503),  # says nothing about speed
        Attempt(SONNET, "ok", 850.0),
    ]
    assert list(samples(record(attempts))) == [(SONNET.key, None, 850.0)]


def test_a_stream_gives_ttft_and_its_total_from_the_rest_of_the_stream() -> None:
    attempts = [Attempt(LOCAL, "ok", 120.0)]
    # the first byte went out at 150 ms (30 ms of routing), the last at 1150 ms: the stream ran 1000 ms more
    rec = record(attempts, stream=True, ttft_ms=150.0, latency_ms=1150.0)
    assert list(samples(rec)) == [(LOCAL.key, 120.0, 1120.0)]


def test_a_stream_that_broke_or_was_left_gives_no_total() -> None:
    broken = record([Attempt(LOCAL, "ok", 90.0)], stream=True, ttft_ms=100.0, status=502, error="cut")
    left = record([Attempt(LOCAL, "ok", 90.0)], stream=True, ttft_ms=100.0, status=499, disconnected=True)
    assert list(samples(broken)) == [(LOCAL.key, 90.0, None)]
    assert list(samples(left)) == [(LOCAL.key, 90.0, None)]


@pytest.mark.parametrize(("stream", "expected"), [(True, (60000.0, None)), (False, (None, 60000.0))])
def test_a_timeout_counts_at_the_time_it_waited(stream: bool, expected: tuple[float | None, float | None]) -> None:
    attempts = [Attempt(LOCAL, "timeout", 60000.0, "no first token", 504), Attempt(SONNET, "ok", 500.0)]
    found = list(samples(record(attempts, stream=stream, ttft_ms=60600.0, latency_ms=61000.0)))
    assert found[0] == (LOCAL.key, *expected)


def test_the_observer_fills_the_store() -> None:
    store = LocalLatency()
    observer = LatencyObserver(store)
    for elapsed in (100.0, 300.0):
        observer.observe(record([Attempt(LOCAL, "ok", elapsed)]))
    stats = store.stats(LOCAL.key)
    assert stats is not None and stats.total_p50_ms == 100.0 and stats.total_ema_ms == 160.0


def test_samples_older_than_max_age_are_forgotten() -> None:
    """A rule routing away from a slow tier leaves it without new samples: one slow answer kept
    ``ttft_p95_ms`` high, and the tier unused, until a restart."""
    from tests.doubles import Clock

    clock = Clock(1000.0)
    store = LocalLatency(window=16, max_age=60.0, clock=clock)
    for ms in (100.0, 120.0, 110.0):
        store.add("ollama/q", ttft_ms=ms)
    clock.now += 30
    store.add("ollama/q", ttft_ms=1500.0)  # the one slow answer
    assert (found := store.stats("ollama/q")) is not None and found.ttft_p95_ms == 1500.0
    clock.now += 31  # the three fast ones are 61 s old
    assert (found := store.stats("ollama/q")) is not None
    assert (found.samples, found.ttft_p50_ms, found.observed) == (1, 1500.0, 4)
    clock.now += 30
    assert store.stats("ollama/q") is None and store.snapshot() == {}
    store.add("ollama/q", ttft_ms=90.0)  # the tier tried again
    assert (found := store.stats("ollama/q")) is not None and (found.ttft_p95_ms, found.ttft_ema_ms) == (90.0, 90.0)
