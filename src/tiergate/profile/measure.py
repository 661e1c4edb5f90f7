"""Timing a target on this machine: time to first token, tokens per second, and the cold-start cost.

The same short prompt is streamed ``runs + 1`` times, one after another. The first run is cold (a model
server that loads on demand loads now); the others are warm. From them:

- **TTFT** — call start to the first event carrying output (text, reasoning or a tool call);
- **total** — call start to the end of the stream;
- **tokens/s** — output tokens after the first, over the time after the first token, summed over the
  warm runs. Output tokens are the usage the server reports, else the number of output events (llama.cpp
  and Ollama send one token per event; llama-cpp-python never reports usage in a stream);
- **load** — the cold run's TTFT less the warm median: what the first request after an unload pays (about
  0 when the server already held the model).

    timings = await time_runs(backend, call, runs=5, max_tokens=64)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tiergate.backends.base import Backend, Call
from tiergate.errors import UpstreamError
from tiergate.profile.file import Series
from tiergate.telemetry.latency import percentile
from tiergate.wire import ChatRequest, Message, ReasoningDelta, TextDelta, ToolCallStart, UsageReport

PROMPT = "Write a Python function that returns the n-th Fibonacci number, with a one-line docstring."

Clock = Callable[[], float]


@dataclass(frozen=True)
class Run:
    ttft_ms: float
    total_ms: float
    tokens: int


@dataclass(frozen=True)
class Timings:
    cold: Run
    warm: list[Run]
    errors: list[str]

    @property
    def load_ms(self) -> float:
        warm = sorted(r.ttft_ms for r in self.warm)
        return round(max(0.0, self.cold.ttft_ms - (percentile(warm, 0.5) if warm else 0.0)), 3)

    @property
    def tokens_per_s(self) -> float | None:
        decode = sum((r.total_ms - r.ttft_ms) / 1000 for r in self.warm if r.tokens > 1)
        tokens = sum(r.tokens - 1 for r in self.warm if r.tokens > 1)
        return round(tokens / decode, 2) if decode > 0 and tokens > 0 else None


def series(values: Sequence[float]) -> Series:
    if not values:
        return Series()
    ordered = sorted(values)
    return Series(
        samples=[round(v, 3) for v in values],
        p50=round(percentile(ordered, 0.5), 3),
        p95=round(percentile(ordered, 0.95), 3),
        mean=round(sum(values) / len(values), 3),
    )


def timing_request(max_tokens: int, prompt: str = PROMPT) -> ChatRequest:
    return ChatRequest(
        messages=[Message(role="user", content=prompt)], stream=True, max_tokens=max_tokens, temperature=0.0
    )


async def one_run(backend: Backend, call: Call, request: ChatRequest, clock: Clock = time.perf_counter) -> Run:
    """Stream ``request`` once; raises UpstreamError (or TimeoutError past ``call.total_timeout``)."""
    start = clock()
    first: float | None = None
    events = 0
    reported: int | None = None
    async with asyncio.timeout(call.total_timeout):
        async for event in backend.stream(request, call):
            if isinstance(event, TextDelta | ReasoningDelta | ToolCallStart):
                events += 1
                if first is None:
                    first = clock()
            elif isinstance(event, UsageReport):
                reported = event.usage.completion_tokens
    end = clock()
    ttft = (first if first is not None else end) - start
    return Run(round(ttft * 1000, 3), round((end - start) * 1000, 3), reported if reported else events)


async def time_runs(
    backend: Backend, call: Call, *, runs: int, max_tokens: int, clock: Clock = time.perf_counter
) -> Timings:
    """One cold run and ``runs`` warm ones. A failed run is noted and skipped; if the cold run or every
    warm run fails, the UpstreamError (or TimeoutError) propagates."""
    request = timing_request(max_tokens)
    cold = await one_run(backend, call, request, clock)
    warm: list[Run] = []
    errors: list[str] = []
    for _ in range(runs):
        try:
            warm.append(await one_run(backend, call, request, clock))
        except (UpstreamError, TimeoutError) as exc:
            errors.append(getattr(exc, "message", None) or f"no answer within {call.total_timeout:g}s")
    if runs and not warm:
        raise UpstreamError(backend.name, backend.url, f"every warm run failed: {errors[-1]}")
    return Timings(cold, warm, errors)
