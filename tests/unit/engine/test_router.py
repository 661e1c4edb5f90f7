from __future__ import annotations

import pytest

from tests.helpers import chat, graph, request
from tiergate.engine.router import Router
from tiergate.engine.targets import Target

RULES = """
routing:
  keywords:
    deep: [architecture, migration]
    opus: [prove]
  rules:
    - {name: tools, when: {feature: tools_present, eq: true}, then: {band: CLAUDE, confidence: 0.95}}
    - {name: deep, when: {feature: last_user_text, contains_any: deep, min_count: 2}, then: {band: CLAUDE}}
    - {name: straight_to_opus, when: {feature: header.x-priority, eq: high}, then: {tier: opus, confidence: 0.7}}
    - {name: simple, when: {feature: last_user_text, matches: "(?i)rename"}, then: {score: -0.5}}
  scorers:
    - {name: size, feature: total_chars, transform: {kind: ramp, from: 0, to: 200}}
  bands: {local: 0.2, claude: 0.8}
  escalation: {tier: opus, when: {feature: last_user_text, contains_any: opus}}
  explicit: {providers: {anthropic: sonnet}, auto_names: [auto, tiergate/auto]}
"""


async def decide(req: object, headers: dict[str, str] | None = None, **kw: object):  # type: ignore[no-untyped-def]
    router = Router(graph(RULES), **kw)  # type: ignore[arg-type]
    return await router.decide(req, headers)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_forced_band_and_targets_with_fallbacks() -> None:
    routed = await decide(chat("plan the architecture and the migration"))
    d = routed.decision
    assert (d.tier, d.band, d.phase, d.model, d.provider) == ("sonnet", "CLAUDE", "heuristic", "mid-model", "anthropic")
    assert d.confidence == 0.9
    assert d.reasons[0] == "rule 'deep' forces CLAUDE"
    assert [t.model for t in routed.targets] == ["mid-model"]
    assert d.rules_version and d.decision_id.startswith("dec_")


@pytest.mark.asyncio
async def test_escalation_to_opus_and_its_fallback() -> None:
    routed = await decide(chat("prove the architecture and migration are sound"))
    assert routed.decision.tier == "opus"
    assert [t.label for t in routed.targets] == ["opus/big-model", "sonnet/mid-model"]
    assert "escalation" in [s.name for s in routed.decision.signals]


@pytest.mark.asyncio
async def test_forced_tier_skips_escalation() -> None:
    routed = await decide(chat("hi"), {"X-Priority": "high"})
    assert routed.decision.tier == "opus"
    assert routed.decision.confidence == 0.7


@pytest.mark.asyncio
async def test_local_band_with_local_fallback_chain() -> None:
    routed = await decide(chat("rename x to y"))
    d = routed.decision
    assert (d.tier, d.band) == ("local", "LOCAL")
    assert [t.label for t in routed.targets] == ["local/small-model", "sonnet/mid-model"]


@pytest.mark.asyncio
async def test_ambiguous_without_classifier_goes_to_band_tier() -> None:
    routed = await decide(chat("x" * 100))
    d = routed.decision
    assert (d.band, d.tier, d.phase) == ("AMBIGUOUS", "sonnet", "heuristic")
    assert "no classifier configured" in d.reasons[-1]


@pytest.mark.asyncio
async def test_ambiguous_falling_back_to_the_claude_tier_escalates_too() -> None:
    routed = await decide(chat("prove " + "x" * 94))
    d = routed.decision
    assert (d.band, d.tier, d.phase) == ("AMBIGUOUS", "opus", "heuristic")
    assert "escalation condition holds: AMBIGUOUS goes to opus" in d.reasons
    # band_tiers.ambiguous is sonnet here: the reason names what sent it to opus
    assert d.reasons[-1] == "ambiguous; no classifier configured: the escalation above sends it to opus"
    assert [t.label for t in routed.targets] == ["opus/big-model", "sonnet/mid-model"]


@pytest.mark.asyncio
async def test_ambiguous_falling_back_to_another_tier_does_not_escalate() -> None:
    g = graph(RULES + "  band_tiers: {ambiguous: local}\n")
    routed = await Router(g).decide(chat("prove " + "x" * 94), None)
    assert (routed.decision.band, routed.decision.tier) == ("AMBIGUOUS", "local")
    assert "escalation" not in [s.name for s in routed.decision.signals]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "tier", "model"),
    [
        ({"model": "opus"}, "opus", "big-model"),
        ({"model": "small-model"}, "local", "small-model"),
        ({"model": "big"}, "opus", "big-model"),
        ({"provider": "anthropic"}, "sonnet", "mid-model"),
    ],
)
async def test_explicit_choices(body: dict[str, str], tier: str, model: str) -> None:
    routed = await decide(request(messages=[{"role": "user", "content": "rename"}], **body))
    d = routed.decision
    assert (d.phase, d.tier, d.model) == ("explicit", tier, model)


@pytest.mark.asyncio
async def test_auto_names_and_unknown_models_route() -> None:
    for model in ("auto", "tiergate/auto", "gpt-4o"):
        routed = await decide(request(model=model, messages=[{"role": "user", "content": "rename"}]))
        assert routed.decision.phase == "heuristic"
    routed = await decide(request(model="gpt-4o", messages=[{"role": "user", "content": "rename"}]))
    assert routed.decision.reasons[0] == "model 'gpt-4o' is not configured here; routed as auto"


@pytest.mark.asyncio
async def test_capabilities_skip_targets() -> None:
    img = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    routed = await decide(
        request(model="local", messages=[{"role": "user", "content": [{"type": "text", "text": "hi"}, img]}])
    )
    d = routed.decision
    assert [(t.model, t.skipped) for t in d.targets] == [("small-model", "no vision support"), ("mid-model", None)]
    assert d.tier == "sonnet" and d.model == "mid-model"
    assert d.requires == ["vision"]
    long = await decide(request(model="local", messages=[{"role": "user", "content": "y" * 8000}]))
    assert long.decision.targets[0].skipped == "context window 1000 < ~2000 tokens"
    # an output limit over the window is named as such, not as a long prompt
    asked = await decide(request(model="local", messages=[{"role": "user", "content": "y" * 400}], max_tokens=5000))
    assert asked.decision.targets[0].skipped == "context window 1000 < ~5100 tokens (prompt ~100 + max_tokens 5000)"


@pytest.mark.asyncio
async def test_open_breaker_is_skipped_and_reported() -> None:
    def state(target: Target) -> str:
        return "open" if target.model == "small-model" else "closed"

    routed = await decide(chat("rename"), breaker_state=state)
    assert [(t.model, t.breaker, t.skipped) for t in routed.decision.targets] == [
        ("small-model", "open", "breaker open"),
        ("mid-model", "closed", None),
    ]
    assert [t.model for t in routed.targets] == ["mid-model"]


@pytest.mark.asyncio
async def test_elapsed_uses_injected_clock() -> None:
    ticks = iter([1_000_000, 1_250_000])
    routed = await decide(chat("rename"), clock=lambda: next(ticks))
    assert routed.decision.elapsed_us == 250


@pytest.mark.asyncio
async def test_rule_can_require_a_capability() -> None:
    g = graph("""
routing:
  rules:
    - {name: screenshots, when: {feature: header.x-kind, eq: ui}, then: {require: [vision]}}
""")
    routed = await Router(g).decide(chat("rename x"), {"x-kind": "ui"})
    d = routed.decision
    assert d.requires == ["vision"]
    assert [(t.model, t.skipped) for t in d.targets] == [("small-model", "no vision support"), ("mid-model", None)]
    assert [s.action for s in d.signals if s.name == "screenshots"] == ["require=vision"]
