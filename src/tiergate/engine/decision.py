"""The RoutingDecision: what ``POST /v1/route`` returns and what the decision log stores.

decision = await router.decide(request, headers)
msgspec.json.encode(decision)
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any, Literal

import msgspec

from tiergate.wire import Usage

Phase = Literal["explicit", "heuristic", "llm_classifier", "fallback"]

_DECISION_ID = re.compile(r"dec_([0-9a-f]{8})[0-9a-f]{12}")


def new_decision_id(now: float | None = None) -> str:
    """``dec_`` and 20 hex digits: the second it was made (8), then 48 random bits. The time lets a reader of the
    decision log tell an id too new to be written yet (another worker's or replica's writer batches its rows)
    from one that is unknown (:func:`decision_made_at`)."""
    return f"dec_{int(time.time() if now is None else now) & 0xFFFFFFFF:08x}{secrets.token_hex(6)}"


def decision_made_at(decision_id: str) -> float | None:
    """When a decision id of :func:`new_decision_id`'s shape says it was made (unix seconds); None for any other
    text. An id of an earlier release (20 random digits) reads as a random time, almost always far from now."""
    found = _DECISION_ID.fullmatch(decision_id)
    return None if found is None else float(int(found.group(1), 16))


class Signal(msgspec.Struct, omit_defaults=True):
    """One rule or scorer that fired: its inputs, and what it did to the decision."""

    name: str
    kind: Literal["rule", "scorer", "classifier", "explicit", "mode", "escalation", "budget"]
    value: Any = None
    contribution: float = 0.0
    action: str | None = None


class LatencyStats(msgspec.Struct, frozen=True, omit_defaults=True):
    """One target's observed latency (tiergate.telemetry.latency), in milliseconds: the moving average and
    percentiles of the time to first token (streams) and of the whole call. ``observed`` counts real
    requests; a window seeded from a ``tiergate profile`` file has ``samples`` before any is observed."""

    samples: int
    observed: int
    ttft_ema_ms: float | None = None
    ttft_p50_ms: float | None = None
    ttft_p95_ms: float | None = None
    ttft_p99_ms: float | None = None
    total_ema_ms: float | None = None
    total_p50_ms: float | None = None
    total_p95_ms: float | None = None
    total_p99_ms: float | None = None


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
    #: What this request's call to the classifier was charged; None when it made none that got an answer
    #: (a cache hit, a follower of another request's call, a refused call).
    usage: Usage | None = None


class LearnedOutcome(msgspec.Struct, omit_defaults=True):
    """What the learned scorer said: the head's version and encoders, its probabilities and tier, or why
    it could not say anything."""

    head: str
    encoders: list[str]
    available: bool
    p_sonnet: float | None = None
    p_opus: float | None = None
    tier: str | None = None
    #: ``learned.unfamiliar``: how much of the ask the encoder's vocabulary lacks.
    unfamiliar: float | None = None
    cache_hit: bool = False
    latency_us: int = 0
    reason: str | None = None


class QualityOutcome(msgspec.Struct, omit_defaults=True):
    """The cost/quality dial this decision used (``routing.quality_preference`` or ``x-tiergate-quality``),
    and the thresholds it gave when it moved them."""

    preference: float
    source: Literal["file", "header", "caller"]
    #: The header's value, when the file's limits moved it.
    requested: float | None = None
    bands: dict[str, float] | None = None
    cutoffs: dict[str, float] | None = None
    score_at_least: float | None = None


class EscalationOutcome(msgspec.Struct, omit_defaults=True):
    """The session was moved up a tier after repeated failures (``routing.session_escalation``)."""

    from_tier: str
    to_tier: str
    failures: list[str]
    #: Unix seconds when the session comes back down (unless it fails again).
    until: float


class BudgetOutcome(msgspec.Struct, omit_defaults=True):
    """A spend cap (``budgets``) changed the route: the request spilled to a cheaper tier, or is refused."""

    action: Literal["spill", "reject"]
    scope: Literal["tier", "client"]
    name: str
    period: Literal["daily", "monthly"]
    spent_usd: float
    cap_usd: float
    #: The tier the budget took the request from, and (spill) the one it went to.
    tier: str
    to_tier: str | None = None
    #: Unix seconds when the period ends and the cap is free again.
    resets_at: float = 0.0


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
    #: The same conversation key when the request stays out of its session (``session`` is null): an explicit
    #: choice or a side request (a rule's ``sticky: false``). Logged as the decision's session, so an explicit
    #: retry labels the routed requests before it (``tiergate train --log``), and nothing else reads it.
    conversation: str | None = None
    quality: QualityOutcome | None = None
    #: The observed latency of the chain's targets that have any, by target key (``backend/model``).
    latency: dict[str, LatencyStats] | None = None
    #: Whether each Ollama target of the chain is in its server's memory (``/api/ps``, as last seen), by key.
    loaded: dict[str, bool] | None = None
    escalation: EscalationOutcome | None = None
    budget: BudgetOutcome | None = None


class AskReading(msgspec.Struct):
    """What the rules read of the conversation: the user's ask (``ask_text``) and where an agent loop stands
    (the ``agent.*`` features). Shown by the dry run only, never logged: the ask is what a person wrote, which
    the decision log keeps only with ``server.decision_log.store_ask``."""

    #: The ask as routing read it; a long one as its first and last 200 characters around " … ".
    ask: str
    ask_chars: int
    #: ``agent.steps``, ``agent.failures_in_row``, ``agent.repeated_failure``, ``agent.tests_green``.
    agent: dict[str, int | bool]


class DryRunDecision(RoutingDecision):
    """The RoutingDecision the dry run (``POST /v1/route``, the console, ``tiergate route``) returns: the same
    fields, and what the rules read."""

    read: AskReading | None = None
