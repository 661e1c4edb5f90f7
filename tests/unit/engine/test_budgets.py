"""Budgets in the route: at a cap a request spills to a cheaper tier (fallbacks first, then by price) or is
refused with 429 until the period ends; the decision says which cap did it."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.doubles import Clock
from tests.helpers import chat, graph
from tiergate.config.loader import load_text
from tiergate.config.problems import ConfigError
from tiergate.engine.adaptive import Signals
from tiergate.engine.router import Router
from tiergate.errors import BudgetExceeded

NOON = dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC).timestamp()
BASE = """
backends:
  ollama: {kind: ollama, base_url: "http://127.0.0.1:1"}
  anthropic: {kind: anthropic, base_url: "http://127.0.0.1:1"}
tiers:
  local: {targets: [{backend: ollama, model: small}]}
  haiku: {targets: [{backend: anthropic, model: tiny, price: {input: 1, output: 5}}]}
  sonnet: {targets: [{backend: anthropic, model: mid, price: {input: 3, output: 15}}]}
  opus: {targets: [{backend: anthropic, model: big, price: {input: 15, output: 75}}]}
fallbacks: {local: [sonnet], opus: [sonnet], sonnet: [haiku]}
routing:
  rules:
    - {name: everything, when: {feature: message_count, gte: 0}, then: {tier: opus}}
"""


def setup(budgets: str, base: str = BASE) -> tuple[Router, Signals]:
    g = graph(budgets, base=base)
    signals = Signals(clock=Clock(NOON))
    return Router(g, signals=signals.build(g)), signals


def spend(signals: Signals, tier: str, usd: float, client: str = "anonymous") -> None:
    signals.spend.add(signals.calendar.keys(NOON, tier, client), usd)


@pytest.mark.asyncio
async def test_under_the_cap_nothing_changes() -> None:
    router, signals = setup("budgets: {tiers: {opus: {daily_usd: 20}}}")
    spend(signals, "opus", 19.99)
    routed = await router.decide(chat("x"))
    assert routed.decision.tier == "opus" and routed.decision.budget is None and routed.refusal is None


@pytest.mark.asyncio
async def test_at_the_cap_opus_spills_down_its_fallback_chain() -> None:
    router, signals = setup("budgets: {tiers: {opus: {daily_usd: 20, on_exceed: spill}}}")
    spend(signals, "opus", 20.0)
    routed = await router.decide(chat("x"))
    d = routed.decision
    assert d.tier == "sonnet" and routed.refusal is None
    assert d.budget is not None
    assert (d.budget.action, d.budget.scope, d.budget.name, d.budget.period) == ("spill", "tier", "opus", "daily")
    assert (d.budget.spent_usd, d.budget.cap_usd, d.budget.tier, d.budget.to_tier) == (20.0, 20.0, "opus", "sonnet")
    assert d.budget.resets_at == dt.datetime(2025, 6, 11, tzinfo=dt.UTC).timestamp()
    assert "budget: tier opus's daily budget $20 is reached ($20.0000 spent); spilled from opus to sonnet" in d.reasons
    assert [(t.tier, t.skipped) for t in d.targets] == [("sonnet", None), ("haiku", None)]
    assert any(s.kind == "budget" and s.action == "spill tier=sonnet" for s in d.signals)


@pytest.mark.asyncio
async def test_a_spill_skips_tiers_that_are_over_too_and_leaves_them_out_of_the_chain() -> None:
    router, signals = setup(
        "budgets: {tiers: {opus: {monthly_usd: 100}, sonnet: {daily_usd: 5}}}"  # on_exceed defaults to spill
    )
    spend(signals, "opus", 100.0)
    spend(signals, "sonnet", 7.5)
    d = (await router.decide(chat("x"))).decision
    assert d.tier == "haiku" and d.budget is not None and d.budget.period == "monthly"
    assert d.targets[0].tier == "haiku" and d.targets[0].skipped is None
    # an explicit sonnet request is capped too, and its chain leaves nothing over budget
    explicit = (await router.decide(chat("x", model="sonnet"))).decision
    assert explicit.tier == "haiku" and explicit.budget is not None and explicit.budget.name == "sonnet"


@pytest.mark.asyncio
async def test_over_budget_fallbacks_are_skipped_with_the_reason() -> None:
    router, signals = setup("budgets: {tiers: {sonnet: {daily_usd: 1}}}")
    spend(signals, "sonnet", 2.0)
    d = (await router.decide(chat("x", model="local"))).decision
    assert d.tier == "local" and d.budget is None
    assert [(t.tier, t.skipped) for t in d.targets] == [
        ("local", None),
        ("sonnet", "budget: tier sonnet's daily budget $1 is reached ($2.0000 spent)"),
        ("haiku", None),
    ]


@pytest.mark.asyncio
async def test_reject_refuses_with_429_until_the_period_ends() -> None:
    router, signals = setup("budgets: {tiers: {opus: {daily_usd: 20, on_exceed: reject}}}")
    spend(signals, "opus", 25.0)
    routed = await router.decide(chat("x"))
    assert routed.targets == [] and isinstance(routed.refusal, BudgetExceeded)
    refusal = routed.refusal
    assert refusal.status == 429 and refusal.type == "rate_limit_error" and refusal.code == "budget_exceeded"
    assert refusal.fallback_ok is False
    assert refusal.headers() == {"retry-after": str(12 * 3600)}
    assert refusal.message == "the daily budget of tier opus is reached; it resets at 2025-06-11T00:00:00Z"
    assert "$" not in refusal.message  # the client is told which cap, not what the team spent
    d = routed.decision
    assert d.budget is not None and (d.budget.action, d.budget.to_tier) == ("reject", None)
    assert d.reasons[-1] == "budget: tier opus's daily budget $20 is reached ($25.0000 spent); refused"


@pytest.mark.asyncio
async def test_a_client_over_its_cap_keeps_only_free_tiers() -> None:
    router, signals = setup("budgets: {clients: {ci: {daily_usd: 2}, '*': {daily_usd: 50}}}")
    spend(signals, "sonnet", 2.0, client="ci")
    ci = (await router.decide(chat("x"), client="ci")).decision
    assert ci.tier == "local" and ci.budget is not None
    assert (ci.budget.scope, ci.budget.name, ci.budget.to_tier) == ("client", "ci", "local")
    assert [t.skipped is not None for t in ci.targets] == [False, True, True]  # local; sonnet, haiku cost money
    other = (await router.decide(chat("x"), client="web")).decision
    assert other.tier == "opus" and other.budget is None  # '*' gives web its own $50


@pytest.mark.asyncio
async def test_with_nowhere_to_spill_a_spill_budget_refuses() -> None:
    every_tier_priced = BASE.replace("model: small}", "model: small, price: {input: 0.1}}")
    router, signals = setup("budgets: {clients: {ci: {daily_usd: 1}}}", base=every_tier_priced)
    spend(signals, "opus", 1.0, client="ci")
    routed = await router.decide(chat("x"), client="ci")
    assert isinstance(routed.refusal, BudgetExceeded)
    assert routed.refusal.message.startswith("the daily budget of client ci is reached; no cheaper tier is within")


@pytest.mark.asyncio
async def test_a_spill_to_a_tier_that_cannot_serve_the_request_is_the_budgets_429() -> None:
    """Spilled to local, a request local's window cannot hold (sonnet and haiku over too) had no target: a 400
    whose message quoted the amounts spent, where the docs say 429 naming the cap."""
    small_window = (
        BASE.replace("model: small}", "model: small, capabilities: {context_window: 8192}}")
        .replace("output: 5}}", "output: 5}, capabilities: {context_window: 200000}}")
        .replace("output: 15}}", "output: 15}, capabilities: {context_window: 200000}}")
    )
    router, signals = setup(
        "budgets: {tiers: {opus: {daily_usd: 20}, sonnet: {daily_usd: 5}, haiku: {daily_usd: 1}}}", base=small_window
    )
    for tier, usd in (("opus", 20.0), ("sonnet", 5.0), ("haiku", 1.0)):
        spend(signals, tier, usd)
    routed = await router.decide(chat("x " * 60_000))
    assert routed.targets == [] and isinstance(routed.refusal, BudgetExceeded)
    assert routed.refusal.status == 429 and routed.refusal.headers() == {"retry-after": str(12 * 3600)}
    assert "$" not in routed.refusal.message and "no tier within its budgets can serve" in routed.refusal.message
    assert routed.decision.targets[0].skipped is not None and "context window" in routed.decision.targets[0].skipped


def test_budget_names_and_time_zones_are_checked() -> None:
    with pytest.raises(ConfigError) as info:
        graph("budgets: {tiers: {opsu: {daily_usd: 1}}}", base=BASE)
    assert "unknown tier 'opsu'; did you mean 'opus'?" in info.value.problems[0].message
    with pytest.raises(ConfigError) as info:
        graph("budgets: {timezone: Mars/Olympus}", base=BASE)
    assert "unknown time zone 'Mars/Olympus'" in info.value.problems[0].message
    with pytest.raises(ConfigError) as info:
        graph("budgets: {tiers: {opus: {on_exceed: reject}}}", base=BASE)
    assert "a budget needs `daily_usd`, `monthly_usd` or both" in info.value.problems[0].message


def test_a_misspelt_time_zone_and_a_client_no_key_names_are_told() -> None:
    """``Europe/Pari`` had no did-you-mean; a budget for a client this file cannot have validated silently
    and capped no one."""
    with pytest.raises(ConfigError) as info:
        graph("budgets: {timezone: Europe/Pari}", base=BASE)
    assert info.value.problems[0].message.startswith("unknown time zone 'Europe/Pari'")
    assert "; did you mean 'Europe/Paris'?" in info.value.problems[0].message
    keyed = BASE + "server: {auth: {keys: [{name: ci, sha256: '" + "a" * 64 + "'}], keys_env: [TEAM_KEYS]}}\n"
    clients = "budgets: {clients: {cj: {daily_usd: 1}, 'TEAM_KEYS:0a1b2c3d': {daily_usd: 1}, ci: {daily_usd: 1}}}"
    loaded = load_text(keyed + clients, "test.yaml", {})
    warned = [w.message for w in loaded.warnings if "budget caps no one" in w.message]
    assert warned == [
        "client 'cj' is no client of this file (its clients: ci, *; a key from an env list is '<VARIABLE>:' + the"
        " first 8 hex digits of its SHA-256): its budget caps no one"
    ]
