"""decided_by: which part of the router settled a decision, as the console counts it."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from tests.helpers import chat, graph
from tiergate.engine.decision import LearnedOutcome, RoutingDecision, Signal
from tiergate.engine.router import Router
from tiergate.telemetry.phases import decided_by


def decision(phase: str = "heuristic", signals: list[Signal] | None = None, **kw: object) -> RoutingDecision:
    base = RoutingDecision(
        "dec_1", "local", "ollama", "m", "LOCAL", phase, 0.1, 0.9, [], signals or [], [], False, "v", 1
    )  # type: ignore[arg-type]
    return msgspec.structs.replace(base, **kw)


LEARNED = LearnedOutcome("head", ["enc"], available=True, p_sonnet=0.2, p_opus=0.01, tier="local")


@pytest.mark.parametrize(
    ("phase", "expected"), [("explicit", "explicit"), ("llm_classifier", "classifier"), ("fallback", "fallback")]
)
def test_the_phase_names_what_decided_outside_phase_one(phase: str, expected: str) -> None:
    assert decided_by(decision(phase, learned=LEARNED)) == expected


def test_a_rule_that_forces_the_band_decides_even_with_a_learned_reading() -> None:
    forced = [Signal("tools_present", "rule", True, action="band=CLAUDE require=tools")]
    assert decided_by(decision(signals=forced, learned=LEARNED)) == "rules"
    assert decided_by(decision(signals=[Signal("fixed", "mode", "sonnet", action="tier=sonnet")])) == "rules"


def test_the_score_decides_for_the_learned_scorer_when_it_read_the_request() -> None:
    adds = [Signal("agent_stuck", "rule", True, 0.1, "score+0.1"), Signal("learned", "scorer", 0.5, 0.5)]
    escalated = [*adds, Signal("escalation", "rule", True, action="tier=opus")]
    assert decided_by(decision(signals=adds, learned=LEARNED)) == "learned"
    assert decided_by(decision(signals=escalated, learned=LEARNED)) == "learned"  # escalation picks opus, no band
    unavailable = msgspec.structs.replace(LEARNED, available=False, reason="no weights")
    assert decided_by(decision(signals=adds, learned=unavailable)) == "rules"
    assert decided_by(decision(signals=adds)) == "rules"


def test_real_router_decisions() -> None:
    g = graph(
        """
        routing:
          rules:
            - {name: tools, when: {feature: tools_present, eq: true}, then: {band: CLAUDE}}
          scorers:
            - {name: long, feature: total_chars, transform: {kind: ramp, from: 0, to: 100}}
        """
    )
    router = Router(g)
    tools = [{"type": "function", "function": {"name": "f"}}]
    assert decided_by(asyncio.run(router.decide(chat("hi", tools=tools))).decision) == "rules"
    assert decided_by(asyncio.run(router.decide(chat("hi", model="opus"))).decision) == "explicit"
    assert decided_by(asyncio.run(router.decide(chat("hi"))).decision) == "rules"  # scorers, no learned scorer
