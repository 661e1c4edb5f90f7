"""Phase-1 decision latency: how long `Router.decide` takes on the default routes.yaml.

Two tables. The first is the rules alone (no learned scorer): p50/p99/max in microseconds for three
request shapes, each sample deciding a fresh request object so features are computed every time. The
second is phase 1 with the learned scorer, per encoder kind: a cache miss (every sample a new ask) of
2,000 and 8,000 characters, and a cache hit (an agent loop resending its ask), p50/p95 in milliseconds.
The encoders run on one core (one BLAS/onnxruntime thread), as docs/encoders.md measures them.

    OMP_NUM_THREADS=1 python bench/decide.py [--config routes.yaml] [--n 3000] [--learned-n 60]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import time
from pathlib import Path
from typing import cast

import msgspec
import numpy as np

from tiergate.config.loader import load_file
from tiergate.engine.graph import compile_graph
from tiergate.engine.router import Router
from tiergate.learned.embedder import Embedder
from tiergate.learned.encoder import Kind, build_encoder
from tiergate.learned.head import FORMAT, Head, HeadFile, Logistic, Member, Training
from tiergate.learned.scorer import Cutoffs, LearnedScorer
from tiergate.learned.train import parse_input
from tiergate.learned.weights import load_weights
from tiergate.wire import ChatRequest

ROOT = Path(__file__).resolve().parents[1]
WORDS = [
    "the",
    "function",
    "returns",
    "a",
    "value",
    "when",
    "the",
    "input",
    "list",
    "is",
    "empty",
    "and",
    "we",
    "should",
    "handle",
    "that",
    "case",
    "before",
    "calling",
    "the",
    "parser",
    "which",
    "reads",
    "config",
    "from",
    "disk",
    "and",
    "caches",
    "it",
]


def prose(n: int, seed: int) -> str:
    rng = random.Random(seed)
    out: list[str] = []
    size = 0
    while size < n:
        w = rng.choice(WORDS)
        out.append(w)
        size += len(w) + 1
    return " ".join(out)[:n]


def ide_request() -> bytes:
    """8 messages, ~8k characters: a system prompt, code, a few turns."""
    msgs = [{"role": "system", "content": "You are a helpful coding assistant. " + prose(600, 1)}]
    for i in range(3):
        msgs.append(
            {
                "role": "user",
                "content": f"In src/mod{i}.py:\n```python\n{prose(1500, 10 + i)}\n```\nwhy does this fail?",
            }
        )
        msgs.append({"role": "assistant", "content": prose(600, 20 + i)})
    msgs.append({"role": "user", "content": "now add type hints to the parser"})
    return msgspec.json.encode({"model": "auto", "messages": msgs})


def huge_request() -> bytes:
    return msgspec.json.encode(
        {"model": "auto", "messages": [{"role": "user", "content": "summarize this log:\n" + prose(100_000, 3)}]}
    )


def tools_request() -> bytes:
    tools = [
        {
            "type": "function",
            "function": {
                "name": f"tool_{i}",
                "description": prose(120, i),
                "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
            },
        }
        for i in range(12)
    ]
    return msgspec.json.encode(
        {
            "model": "auto",
            "tools": tools,
            "messages": [
                {"role": "system", "content": "You are an AI coding agent. " + prose(2000, 4)},
                {"role": "user", "content": "find where the config is parsed and fix the bug"},
            ],
        }
    )


def agent_request(results: int = 40) -> bytes:
    """An agent loop late in a task: the ask, then ``results`` tool calls, each answered with ~8,000
    characters of command output (a build's or a test run's log, not a numbered file listing)."""
    msgs: list[dict[str, object]] = [
        {"role": "system", "content": "You are an AI coding agent. " + prose(2000, 5)},
        {"role": "user", "content": "the integration tests fail since the parser change; find out why and fix it"},
    ]
    for i in range(results):
        command = {"name": "bash", "arguments": f'{{"cmd": "make t{i}"}}'}
        call = {"id": f"call_{i}", "type": "function", "function": command}
        msgs.append({"role": "assistant", "content": None, "tool_calls": [call]})
        msgs.append({"role": "tool", "tool_call_id": f"call_{i}", "content": prose(8000, 100 + i)})
    return msgspec.json.encode({"model": "auto", "messages": msgs})


async def measure(router: Router, body: bytes, n: int) -> list[float]:
    samples: list[float] = []
    for _ in range(200):
        await router.decide(msgspec.json.decode(body, type=ChatRequest))
    gc.disable()
    try:
        for _ in range(n):
            request = msgspec.json.decode(body, type=ChatRequest)
            t0 = time.perf_counter_ns()
            await router.decide(request)
            samples.append((time.perf_counter_ns() - t0) / 1000)
    finally:
        gc.enable()
    return samples


def ask_request(chars: int, seed: int) -> ChatRequest:
    # a question over a pasted block, as most asks are: the prose member reads only the question
    text = f"[{seed}] why does the parser fail here?\n```\n" + prose(chars, seed)
    return msgspec.convert({"model": "auto", "messages": [{"role": "user", "content": text[:chars]}]}, ChatRequest)


def learned_scorer(inputs: list[str], head: Head | None) -> LearnedScorer:
    """The shipped head when its inputs (``kind`` or ``kind:text``) are ``inputs``; otherwise a head of the
    right size with zero weights (the cost of a head is the same whatever its weights)."""
    weights = load_weights()
    built: dict[str, Embedder] = {}
    for spec in inputs:
        kind = parse_input(spec)[0]
        built.setdefault(kind, Embedder(build_encoder(cast(Kind, kind), weights=weights)))
    embedders = [built[parse_input(spec)[0]] for spec in inputs]
    if head is None or head.inputs != inputs:
        members = [
            Member(
                e.id,
                parse_input(spec)[0],
                Logistic([0.0] * e.encoder.dim, 0.0),
                Logistic([0.0] * e.encoder.dim, 0.0),
                text=parse_input(spec)[1],
            )
            for spec, e in zip(inputs, embedders, strict=True)
        ]
        head = Head(HeadFile(FORMAT, "ask", members, Training("bench", 0), combine="concat"), "bench", "<bench>")
    return LearnedScorer(head, embedders, Cutoffs())


async def measure_learned(router: Router, chars: int, n: int, *, hit: bool) -> list[float]:
    samples: list[float] = []
    await router.decide(ask_request(chars, 0))  # warm
    for i in range(n):
        request = ask_request(chars, 0 if hit else 10_000 + i + chars)
        t0 = time.perf_counter_ns()
        await router.decide(request)
        samples.append((time.perf_counter_ns() - t0) / 1e6)
    return samples


def learned_section(config: str, n: int) -> None:
    graph = compile_graph(load_file(config))
    cfg = graph.config.routing.learned
    shipped = Head.load((graph.source_dir or ROOT) / cfg.head) if cfg else None
    print(f"\nphase 1 with the learned scorer, {n} samples each (ms; miss: a new ask each time)")
    print(f"{'encoders':<28}{'miss 2k p50/p95':>18}{'miss 8k p50/p95':>18}{'hit p50/p95':>16}")
    for kinds in (["static"], ["transformer"], ["static", "transformer"], ["static", "transformer", "static:prose"]):
        scorer = learned_scorer(kinds, shipped)
        router = Router(graph, learned=scorer)
        cells = []
        for chars, hit in ((2000, False), (8000, False), (2000, True)):
            samples = asyncio.run(measure_learned(router, chars, n, hit=hit))
            p50, p95 = np.percentile(samples, [50, 95])
            cells.append(f"{p50:.2f} / {p95:.2f}")
        for e in {id(e): e for e in scorer.embedders}.values():
            e.close()
        label = "+".join(kinds) + (" (shipped)" if shipped and shipped.inputs == kinds else "")
        print(f"{label:<28}{cells[0]:>18}{cells[1]:>18}{cells[2]:>16}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default=str(ROOT / "routes.yaml"))
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--learned-n", type=int, default=60)
    args = parser.parse_args()
    router = Router(compile_graph(load_file(args.config)))
    print(f"phase-1 decision latency, {args.n} samples each, config {Path(args.config).name}")
    print(f"{'request':<38}{'chars':>8}{'p50 µs':>10}{'p99 µs':>10}{'max µs':>10}")
    for name, body in (
        ("typical IDE (8 messages, ~8k chars)", ide_request()),
        ("100k-char request", huge_request()),
        ("with tools (12 tools)", tools_request()),
        ("agent loop (40 results of 8k chars)", agent_request()),
    ):
        req = msgspec.json.decode(body, type=ChatRequest)
        chars = sum(len(m.text()) for m in req.messages)
        samples = asyncio.run(measure(router, body, args.n))
        p50, p99 = np.percentile(samples, [50, 99])
        print(f"{name:<38}{chars:>8}{p50:>10.1f}{p99:>10.1f}{max(samples):>10.1f}")
    if args.learned_n > 0:
        learned_section(args.config, args.learned_n)


if __name__ == "__main__":
    main()
