"""Phase-1 decision latency: how long `Router.decide` takes on the default routes.yaml.

Prints p50/p99/max in microseconds for three request shapes. Each sample decides a fresh request
object, so features are computed every time, as they are for real traffic.

    python bench/decide.py [--config routes.yaml] [--n 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import time
from pathlib import Path

import msgspec
import numpy as np

from tiergate.config.loader import load_file
from tiergate.engine.graph import compile_graph
from tiergate.engine.router import Router
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default=str(ROOT / "routes.yaml"))
    parser.add_argument("--n", type=int, default=3000)
    args = parser.parse_args()
    router = Router(compile_graph(load_file(args.config)))
    print(f"phase-1 decision latency, {args.n} samples each, config {Path(args.config).name}")
    print(f"{'request':<34}{'chars':>8}{'p50 µs':>10}{'p99 µs':>10}{'max µs':>10}")
    for name, body in (
        ("typical IDE (8 messages, ~8k chars)", ide_request()),
        ("100k-char request", huge_request()),
        ("with tools (12 tools)", tools_request()),
    ):
        req = msgspec.json.decode(body, type=ChatRequest)
        chars = sum(len(m.text()) for m in req.messages)
        samples = asyncio.run(measure(router, body, args.n))
        p50, p99 = np.percentile(samples, [50, 99])
        print(f"{name:<34}{chars:>8}{p50:>10.1f}{p99:>10.1f}{max(samples):>10.1f}")


if __name__ == "__main__":
    main()
