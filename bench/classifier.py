"""What the phase-2 classifier costs when it does not call a model, and how often it does not.

1. Added latency on a cache hit: ``classify()`` timed one call at a time for a short and a long
   conversation (the long one pays for hashing its text). Target: p99 <= 50 µs.
2. Hit rate on a repeated-prompt workload: 1000 requests drawn from 100 distinct prompts with a
   Zipf-like popularity (s = 1.1, fixed seed), at the default cache size and at a small one.

An in-process backend answers instantly, so only tiergate's own work is measured.

    PYTHONPATH=src .venv/bin/python bench/classifier.py
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from tiergate.backends.base import Call
from tiergate.config.loader import load_text
from tiergate.engine.classifier import ClassifierPool, LLMClassifier
from tiergate.engine.graph import EvaluationGraph, Phase1, compile_graph
from tiergate.rules.features import Features
from tiergate.wire import ChatRequest, Completion, Message, StreamEvent

TARGET_US = 50.0
HIT_ITERATIONS = 20_000
REQUESTS = 1000
DISTINCT = 100
ZIPF_S = 1.1
SEED = 7

ROUTES = """
backends:
  local: {{kind: ollama, base_url: "http://127.0.0.1:11434"}}
tiers:
  local: {{description: cheap, targets: [{{backend: local, model: small}}]}}
  sonnet: {{description: middle, targets: [{{backend: local, model: mid, price: {{input: 3, output: 15}}}}]}}
  opus: {{description: strong, targets: [{{backend: local, model: big, price: {{input: 15, output: 75}}}}]}}
routing:
  classifier: {{backend: local, model: judge, cache_size: {cache_size}}}
"""
PHASE1 = Phase1("AMBIGUOUS", "sonnet", 0.3, 0.1)


@dataclass
class InstantBackend:
    """Answers every classifier call at once and counts the calls."""

    name: str = "local"
    url: str = "http://127.0.0.1:11434"
    calls: int = 0

    def missing(self) -> str | None:
        return None

    async def complete(self, request: ChatRequest, call: Call) -> Completion:
        self.calls += 1
        return Completion(content='{"tier": "sonnet", "reason": "bench"}')

    def stream(self, request: ChatRequest, call: Call) -> AsyncIterator[StreamEvent]:
        raise NotImplementedError

    async def probe(self) -> str | None:
        return None

    async def aclose(self) -> None:
        return None


def setup(cache_size: int = 256) -> tuple[LLMClassifier, EvaluationGraph, InstantBackend]:
    graph = compile_graph(load_text(ROUTES.format(cache_size=cache_size), "bench.yaml", {}))
    backend = InstantBackend()
    classifier = ClassifierPool().build(graph, {"local": backend})
    assert classifier is not None
    return classifier, graph, backend


def conversation(question: str, context_chars: int) -> Features:
    context = ("def handler(event):\n    return process(event)\n" * (context_chars // 44 + 1))[:context_chars]
    messages = [
        Message(role="system", content="You are a helpful coding assistant."),
        Message(role="assistant", content=f"Here is the module so far:\n{context}"),
        Message(role="user", content=question),
    ]
    return Features.of(ChatRequest(messages=messages, model="auto"))


async def hit_latency(context_chars: int) -> tuple[float, float]:
    """p50 and p99 in µs of ``classify()`` on an answer already in the cache."""
    classifier, graph, backend = setup()
    f = conversation("Should this handler be async?", context_chars)
    assert (await classifier.classify(f, PHASE1, graph)).outcome == "ok"
    samples: list[int] = []
    for _ in range(HIT_ITERATIONS):
        start = time.perf_counter_ns()
        outcome = await classifier.classify(f, PHASE1, graph)
        samples.append(time.perf_counter_ns() - start)
        assert outcome.outcome == "cache_hit"
    assert backend.calls == 1
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49] / 1000, cuts[98] / 1000


def workload() -> list[int]:
    """Prompt indexes whose popularity falls off as 1 / rank**s."""
    weights = [1 / (rank**ZIPF_S) for rank in range(1, DISTINCT + 1)]
    return random.Random(SEED).choices(range(DISTINCT), weights=weights, k=REQUESTS)


async def hit_rate(cache_size: int) -> tuple[float, int]:
    classifier, graph, backend = setup(cache_size)
    prompts = [conversation(f"Question {i}: what does this handler return?", 400) for i in range(DISTINCT)]
    hits = 0
    for index in workload():
        hits += (await classifier.classify(prompts[index], PHASE1, graph)).outcome == "cache_hit"
    return hits / REQUESTS, backend.calls


async def main() -> None:
    print(f"classifier cache-hit added latency ({HIT_ITERATIONS} calls each, target p99 <= {TARGET_US:g} µs)")
    for label, chars in (("short conversation (~0.5 KB)", 400), ("long conversation (~20 KB)", 20_000)):
        p50, p99 = await hit_latency(chars)
        verdict = "ok" if p99 <= TARGET_US else "OVER TARGET"
        print(f"  {label:30} p50 {p50:6.1f} µs   p99 {p99:6.1f} µs   {verdict}")
    distinct = len(set(workload()))
    print(f"\nhit rate: {REQUESTS} requests over {DISTINCT} prompts, Zipf s={ZIPF_S} ({distinct} distinct drawn)")
    for size in (256, 32):
        rate, calls = await hit_rate(size)
        print(f"  cache_size {size:4}   hit rate {rate:6.1%}   classifier calls {calls}")


if __name__ == "__main__":
    asyncio.run(main())
