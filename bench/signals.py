"""What the running system's signals add to a decision, and what observing a finished request costs.

1. ``Router.decide`` on the default routes.yaml's rules (no learned scorer, as in bench/decide.py's first
   table), for a typical IDE request: without signals, then with every signal on — a rule reading
   ``target.local.ttft_p95_ms``, full latency windows (256 samples per target), budgets per tier and
   client with spend recorded, session escalation with failures recorded, and the quality dial moved off
   0.5 (so the thresholds are recomputed for every request).
2. ``Signals.observe`` for one finished request: the latency sample (percentiles recomputed over the
   window), the spend, the session's bookkeeping.

    OMP_NUM_THREADS=1 taskset -c 1 python bench/signals.py [--n 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import re
import time
from pathlib import Path

import msgspec
import numpy as np
from bench.decide import ide_request

from tiergate.config.loader import load_text
from tiergate.dispatch.dispatcher import Attempt
from tiergate.engine.adaptive import Signals
from tiergate.engine.graph import EvaluationGraph, compile_graph
from tiergate.engine.router import Router
from tiergate.telemetry.record import RequestRecord
from tiergate.wire import ChatRequest, Usage

ROOT = Path(__file__).resolve().parents[1]
ROUTING = """
  quality_preference: 0.6
  session_escalation: {after_failures: 2, hold: 900}
"""
BUDGETS = """
budgets:
  tiers: {opus: {daily_usd: 20}, sonnet: {daily_usd: 50, monthly_usd: 500}}
  clients: {"*": {daily_usd: 10}}
"""
SLOW_RULE = """
    - name: local_is_slow
      when: {feature: target.local.ttft_p95_ms, gt: 8000}
      then: {tier: sonnet, confidence: 0.8}
"""


def graph(with_signals: bool) -> EvaluationGraph:
    text = (ROOT / "routes.yaml").read_text()
    text = re.sub(r"  learned:\n    head: heads/default.json\n    cutoffs: \{[^}\n]*\}\n", "", text, count=1)
    if with_signals:
        text = text.replace("  rules:\n", "  rules:" + SLOW_RULE, 1)
        text = text.replace("  stickiness: {enabled: true", ROUTING.strip("\n") + "\n  stickiness: {enabled: true")
        text += BUDGETS
    return compile_graph(load_text(text, str(ROOT / "routes.yaml"), {}))


def filled(g: EvaluationGraph, rng: random.Random) -> Signals:
    signals = Signals()
    signals.build(g)
    for target in g.chains.all_targets():
        for _ in range(256):
            signals.latency.add(target.key, ttft_ms=rng.uniform(100, 3000), total_ms=rng.uniform(1000, 20000))
    for client in ("anonymous", "ci", "web"):
        signals.spend.add(signals.calendar.keys(time.time(), "sonnet", client), 1.5)
    return signals


async def decide_times(router: Router, body: bytes, n: int) -> list[float]:
    out = []
    gc.collect()
    for _ in range(n):
        request = msgspec.json.decode(body, type=ChatRequest)
        start = time.perf_counter_ns()
        await router.decide(request, {}, client="anonymous", remember=True)
        out.append((time.perf_counter_ns() - start) / 1000)
    return out


def observe_times(signals: Signals, router: Router, n: int, rng: random.Random) -> list[float]:
    request = msgspec.json.decode(ide_request(), type=ChatRequest)
    decision = asyncio.run(router.decide(request, {})).decision
    target = router.graph.chains.tiers["sonnet"][0]
    out = []
    for _ in range(n):
        elapsed = rng.uniform(200, 5000)
        record = RequestRecord(
            decision, target, [Attempt(target, "ok", elapsed)], 200, elapsed + 2000, "anonymous", True, "chat",
            usage=Usage.of(2000, 300), ttft_ms=elapsed + 1,
        )  # fmt: skip
        start = time.perf_counter_ns()
        signals.observe(record)
        out.append((time.perf_counter_ns() - start) / 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5000)
    args = parser.parse_args()
    rng = random.Random(7)
    body = ide_request()
    plain_graph = graph(False)
    plain = Router(plain_graph)
    defaults = Router(plain_graph, signals=filled(plain_graph, rng).build(plain_graph))
    g = graph(True)
    signals = filled(g, rng)
    watched = Router(g, signals=signals.build(g))
    print(f"Router.decide, typical IDE request (8 messages), rules only, {args.n} samples")
    print(f"{'':<44}{'p50 µs':>10}{'p99 µs':>10}")
    rows = (("without signals", plain), ("signals, default settings", defaults), ("with every signal on", watched))
    for label, router in rows:
        asyncio.run(decide_times(router, body, 200))  # warm up
        samples = asyncio.run(decide_times(router, body, args.n))
        p50, p99 = np.percentile(samples, [50, 99])
        print(f"{label:<44}{p50:>10.1f}{p99:>10.1f}")
    samples = observe_times(signals, watched, args.n, rng)
    p50, p99 = np.percentile(samples, [50, 99])
    print(f"{'Signals.observe, one finished request (256-sample window)':<44}{p50:>10.1f}{p99:>10.1f}")


if __name__ == "__main__":
    main()
