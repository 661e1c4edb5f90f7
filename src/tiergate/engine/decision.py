"""The RoutingDecision: what ``POST /v1/route`` returns and what the decision log stores.

decision = await router.decide(request, headers)
msgspec.json.encode(decision)
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

Phase = Literal["explicit", "heuristic", "llm_classifier", "fallback"]


class Signal(msgspec.Struct, omit_defaults=True):
    """One rule or scorer that fired: its inputs, and what it did to the decision."""

    name: str
    kind: Literal["rule", "scorer", "classifier", "explicit", "mode"]
    value: Any = None
    contribution: float = 0.0
    action: str | None = None


class TargetState(msgspec.Struct):
    tier: str
    backend: str
    model: str
    breaker: str = "closed"
    skipped: str | None = None


class ClassifierOutcome(msgspec.Struct, omit_defaults=True):
    model: str
    outcome: Literal["ok", "cache_hit", "timeout", "error", "invalid", "breaker_open", "skipped"]
    tier: str | None = None
    reason: str | None = None
    latency_us: int = 0
    error: str | None = None
    confidence: float | None = None
    #: The lowest tier the router let the classifier pick (the learned scorer's tier, or one below it).
    floor: str | None = None


class LearnedOutcome(msgspec.Struct, omit_defaults=True):
    """What the learned scorer said: the head's version and encoders, its probabilities and tier, or why
    it could not say anything."""

    head: str
    encoders: list[str]
    available: bool
    p_sonnet: float | None = None
    p_opus: float | None = None
    tier: str | None = None
    cache_hit: bool = False
    latency_us: int = 0
    reason: str | None = None


class RoutingDecision(msgspec.Struct):
    decision_id: str
    tier: str
    provider: str
    model: str
    band: str
    phase: Phase
    score: float
    confidence: float
    reasons: list[str]
    signals: list[Signal]
    targets: list[TargetState]
    cache_hit: bool
    rules_version: str
    elapsed_us: int
    requires: list[str] = []
    classifier: ClassifierOutcome | None = None
    sticky: bool = False
    learned: LearnedOutcome | None = None
    #: The conversation this request belongs to (a hash of the client and its first user message).
    session: str | None = None
