"""``target.<tier>.<stat>``: observed latency as a feature rules can name, checked when the file compiles."""

from __future__ import annotations

import pytest

from tests.helpers import chat, graph
from tiergate.config.problems import ConfigError
from tiergate.engine.adaptive import Signals
from tiergate.engine.router import Router
from tiergate.rules.features import FAMILIES, kind_of

SLOW_LOCAL = """
routing:
  rules:
    - name: local_is_slow
      when: {feature: target.local.ttft_p95_ms, gt: 8000}
      then: {tier: sonnet, confidence: 0.8}
  bands: {local: 0.5, claude: 0.9}
"""


def test_the_family_is_registered_as_numbers() -> None:
    assert kind_of("target.local.ttft_p95_ms") == "number"
    assert kind_of("header.x-team") == "str" and kind_of("metadata.project") == "str"
    assert {"header", "metadata", "target"} <= set(FAMILIES)


@pytest.mark.parametrize(
    ("feature", "message"),
    [
        ("target.local.ttft_p95ms", "unknown stat 'ttft_p95ms'; did you mean 'ttft_p95_ms'?"),
        ("target.local.p95", "unknown stat 'p95' (one of ttft_ema_ms, ttft_p50_ms,"),
        ("target.lcoal.ttft_p95_ms", "unknown tier 'lcoal'; did you mean 'local'?"),
        ("target.local", "name a tier and a stat: target.<tier>.<stat>"),
    ],
)
def test_an_unknown_stat_or_tier_is_a_problem_at_its_line(feature: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        graph(SLOW_LOCAL.replace("target.local.ttft_p95_ms", feature))
    rendered = [p.render() for p in info.value.problems if p.severity == "error"]
    assert len(rendered) == 1 and f"feature '{feature}': {message}" in rendered[0]
    assert rendered[0].startswith("test.yaml:")


def test_text_operators_refuse_a_latency() -> None:
    with pytest.raises(ConfigError) as info:
        graph(SLOW_LOCAL.replace("gt: 8000", "contains_any: [slow]"))
    assert "but 'target.local.ttft_p95_ms' is a number" in info.value.problems[0].message


@pytest.mark.asyncio
async def test_a_rule_reacts_to_the_observed_latency() -> None:
    g = graph(SLOW_LOCAL)
    signals = Signals()
    router = Router(g, signals=signals.build(g))
    key = g.chains.tiers["local"][0].key
    quiet = (await router.decide(chat("hi"))).decision
    assert quiet.tier == "local" and quiet.latency is None
    for ttft in (9000.0, 9500.0, 12000.0):
        signals.latency.add(key, ttft_ms=ttft, total_ms=ttft + 1000)
    slow = (await router.decide(chat("hi"))).decision
    assert slow.tier == "sonnet"
    fired = next(s for s in slow.signals if s.name == "local_is_slow")
    assert fired.value == {"target.local.ttft_p95_ms": 12000.0}
    shown = (await router.decide(chat("hi", model="local"))).decision.latency
    assert shown is not None and list(shown) == [key]  # sonnet, next in the chain, has no samples
    assert (shown[key].ttft_p95_ms, shown[key].observed) == (12000.0, 3)


@pytest.mark.asyncio
async def test_without_observations_every_stat_reads_zero() -> None:
    g = graph(SLOW_LOCAL.replace("gt: 8000", "eq: 0"))
    offline = (await Router(g).decide(chat("hi"))).decision  # no signals at all: the offline dry run
    watched = (await Router(g, signals=Signals().build(g)).decide(chat("hi"))).decision
    assert offline.tier == watched.tier == "sonnet"
