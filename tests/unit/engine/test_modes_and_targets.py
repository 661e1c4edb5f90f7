from __future__ import annotations

import asyncio

import pytest

from tests.helpers import chat, graph
from tiergate.engine.router import Router
from tiergate.rules.features import Features


def test_fixed_mode() -> None:
    g = graph("routing: {mode: fixed, fixed_tier: opus}")
    result = g.phase1(Features.of(chat("anything")))
    assert (result.tier, result.band, result.confidence) == ("opus", "CLAUDE", 1.0)


def test_keyword_mode_first_list_wins() -> None:
    g = graph("""
routing:
  mode: keyword
  keywords: {hard: [refactor], easy: [typo]}
  keyword_mode:
    default_tier: local
    routes:
      - {tier: opus, keywords: hard}
      - {tier: sonnet, keywords: [typo, docs]}
""")
    assert g.phase1(Features.of(chat("refactor this typo"))).tier == "opus"
    assert g.phase1(Features.of(chat("a typo"))).tier == "sonnet"
    none = g.phase1(Features.of(chat("hello")))
    assert (none.tier, none.reasons) == ("local", ["keyword mode: no keyword hit → default local"])


def test_overrides_merge_with_defaults() -> None:
    g = graph(
        """
timeouts: {connect: 2, first_token: 10, idle: 20, total: 100}
retries: {attempts: 3}
routing: {band_tiers: {local: local, claude: local, ambiguous: local}}
""",
        base="""
backends:
  ollama: {kind: ollama, base_url: "http://127.0.0.1:1"}
tiers:
  local:
    targets:
      - backend: ollama
        model: m
        timeouts: {first_token: 3}
        retries: {attempts: 0}
        breaker: {fail_max: 2}
""",
    )
    (target,) = g.chains.tiers["local"]
    assert (target.timeouts.connect, target.timeouts.first_token, target.timeouts.idle, target.timeouts.total) == (
        2,
        3,
        20,
        100,
    )
    assert target.retries.attempts == 0
    assert (target.breaker.fail_max, target.breaker.reset_timeout) == (2, 30.0)
    assert target.key == "ollama/m"


def test_tier_order_follows_fallbacks_depth_first_without_repeats() -> None:
    g = graph(
        "fallbacks: {local: [sonnet, opus], sonnet: [opus]}",
        base="""
backends:
  o: {kind: ollama, base_url: "http://127.0.0.1:1"}
tiers:
  local: {targets: [{backend: o, model: a}]}
  sonnet: {targets: [{backend: o, model: b}, {backend: o, model: c}]}
  opus: {targets: [{backend: o, model: d}]}
""",
    )
    assert g.chains.tier_order("local") == ["local", "sonnet", "opus"]
    assert [t.model for t in g.chains.for_tier("local")] == ["a", "b", "c", "d"]


def test_a_chain_holds_each_backend_model_once_where_it_first_comes() -> None:
    """Called (and paid) once per request, however many tiers of the chain list it."""
    g = graph(
        "fallbacks: {local: [sonnet]}",
        base="""
backends:
  o: {kind: ollama, base_url: "http://127.0.0.1:1"}
  p: {kind: ollama, base_url: "http://127.0.0.1:2"}
tiers:
  local: {targets: [{backend: o, model: a}, {backend: o, model: b}]}
  sonnet: {targets: [{backend: o, model: b}, {backend: p, model: b}, {backend: o, model: c}]}
""",
    )
    chain = g.chains.for_tier("local")
    expected = [("local", "o/a"), ("local", "o/b"), ("sonnet", "o/b"), ("sonnet", "p/b"), ("sonnet", "o/c")]
    assert [(t.tier, t.key) for t in chain] == expected  # every listing: the router tries each key once
    routed = asyncio.run(Router(g).decide(chat("hi", model="local")))
    assert [(t.tier, t.key) for t in routed.targets] == [
        ("local", "o/a"),
        ("local", "o/b"),
        ("sonnet", "p/b"),
        ("sonnet", "o/c"),
    ]
    assert routed.decision.targets[2].skipped == "the same backend and model as local/b, tried first"
    sonnet_b = g.chains.tiers["sonnet"][0]
    assert [t.key for t in g.chains.for_tier("sonnet", sonnet_b)] == ["o/b", "p/b", "o/c"]


def test_a_later_listing_with_what_the_first_lacks_is_still_tried() -> None:
    """The first listing's 8k window cannot hold the request; the fallback tier lists the same model with
    64k. Keeping only the first listing of each model left no target (a 400)."""
    g = graph(
        "fallbacks: {local: [sonnet]}",
        base="""
backends:
  o: {kind: ollama, base_url: "http://127.0.0.1:1"}
tiers:
  local: {targets: [{backend: o, model: qwen3, capabilities: {context_window: 8192}}]}
  sonnet: {targets: [{backend: o, model: qwen3, capabilities: {context_window: 65536}}]}
""",
    )
    routed = asyncio.run(Router(g).decide(chat("x " * 40_000, model="local")))
    assert [(t.tier, t.key) for t in routed.targets] == [("sonnet", "o/qwen3")]


def test_only_ollama_targets_take_a_suffix() -> None:
    g = graph(
        "routing: {band_tiers: {local: local, claude: local, ambiguous: local}}",
        base="""
backends:
  o: {kind: ollama, base_url: "http://127.0.0.1:1"}
  v: {kind: openai, base_url: "http://127.0.0.1:2/v1"}
  a: {kind: anthropic, base_url: "http://127.0.0.1:3", api_key_env: K}
tiers:
  local: {targets: [{backend: o, model: a}, {backend: v, model: b}, {backend: a, model: c}]}
""",
    )
    fim = frozenset({"fill_in_the_middle"})
    assert [t.lacks(fim, 10) for t in g.chains.tiers["local"]] == [
        None,
        "cannot take `suffix` (fill-in-the-middle needs an ollama backend)",
        "cannot take `suffix` (fill-in-the-middle needs an ollama backend)",
    ]
    assert [t.lacks(frozenset(), 10) for t in g.chains.tiers["local"]] == [None, None, None]


@pytest.mark.parametrize("bad", ["routing: {mode: fixed}", "routing: {mode: keyword}"])
def test_modes_need_their_settings(bad: str) -> None:
    from tiergate.config.problems import ConfigError

    with pytest.raises(ConfigError):
        graph(bad)
