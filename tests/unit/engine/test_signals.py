"""The process's signals across reloads, and what /health and /metrics read from them."""

from __future__ import annotations

import datetime as dt

from prometheus_client import CollectorRegistry, generate_latest

from tests.doubles import Clock
from tests.helpers import MINIMAL, graph
from tiergate.engine.adaptive import Signals

NOON = dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC).timestamp()
PRICED = MINIMAL.replace("model: mid-model,", "model: mid-model, price: {input: 3, output: 15},")


def test_a_reload_keeps_latency_and_spend_and_applies_new_settings() -> None:
    signals = Signals(clock=Clock(NOON))
    first = graph("routing: {latency: {window: 64}}", base=PRICED)
    signals.build(first)
    key = first.chains.tiers["local"][0].key
    for ms in range(100):
        signals.latency.add(key, total_ms=float(ms))
    signals.spend.add(signals.calendar.keys(NOON, "sonnet", "ci"), 2.5)
    assert signals.latency.stats(key).samples == 64  # type: ignore[union-attr]

    second = graph(
        "routing: {latency: {window: 16}}\nbudgets: {timezone: Europe/Paris, tiers: {sonnet: {daily_usd: 10}}}",
        base=PRICED,
    )
    step = signals.build(second)
    stats = step.latency("local")
    assert stats is not None and stats.samples == 16 and stats.observed == 100 and stats.total_p99_ms == 99.0
    assert signals.calendar.timezone == "Europe/Paris"
    report = signals.report()
    assert report["latency"][key].total_p50_ms == 91.0
    assert report["spend"]["timezone"] == "Europe/Paris"
    assert report["spend"]["tiers"]["sonnet"] == {
        "daily_usd": 2.5,
        "monthly_usd": 2.5,
        "daily_cap_usd": 10,
        "on_exceed": "spill",
    }
    assert report["spend"]["clients"] == {"ci": {"daily_usd": 2.5, "monthly_usd": 2.5}}


def test_a_star_cap_shows_on_each_client_it_caps() -> None:
    signals = Signals(clock=Clock(NOON))
    signals.build(
        graph("budgets: {clients: {'*': {daily_usd: 1, on_exceed: reject}, boss: {monthly_usd: 9}}}", base=PRICED)
    )
    signals.spend.add(signals.calendar.keys(NOON, "sonnet", "ci"), 0.25)
    clients = signals.report()["spend"]["clients"]
    assert clients == {
        "*": {"daily_cap_usd": 1, "on_exceed": "reject"},  # the rule: no spend of its own
        "boss": {"daily_usd": 0.0, "monthly_usd": 0.0, "monthly_cap_usd": 9, "on_exceed": "spill"},
        "ci": {"daily_usd": 0.25, "monthly_usd": 0.25, "daily_cap_usd": 1, "on_exceed": "reject"},  # capped by "*"
    }


def test_metrics_read_the_current_period_only() -> None:
    clock = Clock(NOON)
    signals = Signals(clock=clock)
    g = graph("", base=PRICED)
    signals.build(g)
    signals.spend.add(signals.calendar.keys(NOON - 86_400, "sonnet", "ci"), 7.0)  # yesterday
    signals.spend.add(signals.calendar.keys(NOON, "sonnet", "ci"), 1.25)
    signals.latency.add(g.chains.tiers["local"][0].key, ttft_ms=250.0, total_ms=1500.0)
    registry = CollectorRegistry()
    registry.register(signals.collector())
    text = generate_latest(registry).decode()
    assert 'tiergate_spend_usd{name="sonnet",period="daily",scope="tier"} 1.25' in text
    assert 'tiergate_spend_usd{name="sonnet",period="monthly",scope="tier"} 8.25' in text
    assert 'tiergate_target_ttft_seconds{stat="p50",target="ollama/small-model"} 0.25' in text
    assert 'tiergate_target_latency_seconds{stat="ema",target="ollama/small-model"} 1.5' in text
    assert 'tiergate_target_latency_samples_total{target="ollama/small-model"} 1.0' in text
