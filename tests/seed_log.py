"""A decision log with a day of traffic in it, for the console's tests and its screenshot.

Every row is written the way the gateway writes it (``DecisionLog.observe`` with a RequestRecord),
from decisions the real router made on the given rule file, with its learned scorer: a mix of
local, sonnet and opus requests, explicit choices, tool-using agent turns, a classifier answer,
fallbacks, upstream errors, streams with a first-token time, ratings, and (given a candidate file)
what the candidate rules decided for each.

    ids = seed(Path("decisions.db"), Path("routes.yaml"), now=time.time())
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from pathlib import Path

import msgspec

from tests.doubles import Clock
from tiergate.dispatch.dispatcher import Attempt
from tiergate.engine.decision import ClassifierOutcome
from tiergate.engine.router import Router
from tiergate.learned.scorer import LearnedPool
from tiergate.runtime import compile_file
from tiergate.telemetry.cost import cost_usd, reference_price
from tiergate.telemetry.decisions import DecisionLog
from tiergate.telemetry.record import RequestRecord, ShadowRecord
from tiergate.wire import ChatRequest, Usage

HOUR = 3600.0
TOOLS = [{"type": "function", "function": {"name": "read_file", "parameters": {"type": "object"}}}]

ASKS = [
    "add type hints to def add(a, b): return a + b",
    "rename the variable foo to bar in this function",
    "write a docstring for this helper",
    "design a migration plan to split our monolith's billing module into a service, with rollback steps",
    "why does this async generator leak connections under cancellation? walk through the event loop",
    "fix the off-by-one in this loop: for i in range(len(xs) - 1): print(xs[i])",
    "review the threat model of our OAuth token refresh flow and point out the weakest step",
    "convert this list comprehension to a for loop",
]
#: Keys from TIERGATE_KEYS are named by 8 hex digits of their SHA-256; `ci-bot` is a named key.
CLIENTS = ["TIERGATE_KEYS:3f9c1a0e", "TIERGATE_KEYS:b71d52c4", "ci-bot"]


@dataclass(frozen=True)
class Seeded:
    ids: list[str]
    #: Decision ids rated, with their rating.
    ratings: dict[str, int]


def seed(db: Path, routes: Path, *, now: float, count: int = 48, candidate: Path | None = None) -> Seeded:
    """``count`` requests over the 20 hours before ``now``, the newest first in time order of the log."""
    return asyncio.run(_seed(db, routes, now, count, candidate))


async def _seed(db: Path, routes: Path, now: float, count: int, candidate: Path | None) -> Seeded:
    rng = random.Random(17)
    pool = LearnedPool()
    _, graph = compile_file(routes, {})
    router = Router(graph, learned=pool.build(graph))
    shadow_router = None
    if candidate is not None:
        _, cgraph = compile_file(candidate, {})
        shadow_router = Router(cgraph, learned=pool.build(cgraph))
    clock = Clock(now)
    dlog = DecisionLog.open(
        db, clock=clock, max_rows=None, max_age_days=None, reference=lambda: reference_price(graph.chains.tiers)
    )
    ids: list[str] = []
    ratings: dict[str, int] = {}
    try:
        for i in range(count):
            kind = i % 8
            body: dict[str, object] = {
                "model": "auto",
                "messages": [{"role": "user", "content": ASKS[(i * 3) % len(ASKS)]}],
            }
            if kind == 2:
                body["tools"] = TOOLS
            if kind == 5:
                body["model"] = "opus"
            chat = msgspec.convert(body, ChatRequest)
            routed = await router.decide(chat, {}, client=CLIENTS[i % 3], remember=False)
            decision = routed.decision
            if kind == 6:  # as if phase 2 had answered: the trace shows the classifier block
                decision = msgspec.structs.replace(
                    decision,
                    phase="llm_classifier",
                    classifier=ClassifierOutcome(
                        model="qwen2.5:1.5b", outcome="ok", tier=decision.tier, reason="a focused edit", confidence=0.82
                    ),
                )
            targets = routed.targets
            target = targets[0]
            attempts = [Attempt(target, "ok", rng.uniform(200, 3000))]
            status, error = 200, None
            if kind == 3 and len(targets) > 1:  # the first target failed: a fallback
                attempts = [
                    Attempt(target, "http_503", 40.0, "upstream answered 503", 503),
                    Attempt(targets[1], "ok", 900.0),
                ]
                target = targets[1]
            if kind == 7 and i % 16 == 15:  # every target failed
                attempts = [Attempt(target, "connect", 2.0, "connection refused")]
                status, error = 502, "all targets failed"
            usage = Usage.of(rng.randint(200, 4000), rng.randint(50, 900)) if status == 200 else None
            stream = i % 2 == 0
            latency = sum(a.elapsed_ms for a in attempts) + rng.uniform(5, 40)
            record = RequestRecord(
                decision,
                target if status == 200 else None,
                attempts,
                status,
                round(latency, 3),
                CLIENTS[i % 3],
                stream,
                "chat",
                usage=usage,
                ttft_ms=round(latency * 0.3, 3) if stream and status == 200 else None,
                error=error,
                error_kind="connect" if error else None,
            )
            clock.now = now - 20 * HOUR * (count - i) / count
            dlog.observe(record)
            ids.append(decision.decision_id)
            if shadow_router is not None:
                shadowed = await shadow_router.decide(chat, {}, client=CLIENTS[i % 3], remember=False)
                first = shadowed.targets[0] if shadowed.targets else None
                cost = cost_usd(first.price, usage) if usage is not None and first is not None else None
                dlog.observe_shadow(ShadowRecord(decision.decision_id, candidate.name, shadowed.decision, cost))  # type: ignore[union-attr]
        clock.now = now - 60
        for i in range(1, len(ids), 5):  # each by the client that made the request, as the console counts them
            rating = rng.randint(1, 5)
            ratings[ids[i]] = rating
            dlog.add_feedback(ids[i], rating, "seeded", client=CLIENTS[i % 3])
        dlog.flush()
    finally:
        dlog.close()
        pool.close()
    return Seeded(ids, ratings)
