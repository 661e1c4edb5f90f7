"""Try a decision's targets in order until one answers; record every attempt.

Each attempt goes through the same layers, outermost first (httpx-style, one job per function):

    _attempt          -> records the outcome as an Attempt
    guard.run         -> rate limit, circuit breaker, retries (tiergate.resilience; a no-op guard by default)
    _call             -> the backend call, bounded by the target's timeouts

A stream counts as answered once its first event has arrived: until then any failure moves on to
the next target, invisibly to the client. After that the stream belongs to the client.

    answer = await dispatcher.complete(routed, request)
    opened = await dispatcher.open_stream(routed, request)   # opened.first, then opened.rest
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from tiergate.backends.base import Backend, Call
from tiergate.dispatch.streams import bounded
from tiergate.engine.router import Routed
from tiergate.engine.targets import Target
from tiergate.errors import NoTargetError, RateLimited, TiergateError, UpstreamError, UpstreamUnavailable
from tiergate.wire import ChatRequest, Completion, StreamEvent

T = TypeVar("T")


@dataclass
class Attempt:
    target: Target
    outcome: str
    elapsed_ms: float
    error: str | None = None
    status: int | None = None
    exc: TiergateError | None = None

    def render(self) -> str:
        return f"{self.target.label}:{self.outcome}"


def render_attempts(attempts: list[Attempt]) -> str:
    return ", ".join(a.render() for a in attempts)


class Guard(Protocol):
    """Wraps one target's call with rate limits, a breaker and retries."""

    async def run(self, target: Target, call: Callable[[], Awaitable[T]]) -> T: ...


class PassThrough:
    async def run(self, target: Target, call: Callable[[], Awaitable[T]]) -> T:
        return await call()


@dataclass
class Answer:
    target: Target
    completion: Completion
    attempts: list[Attempt]


@dataclass
class OpenStream:
    target: Target
    first: StreamEvent
    rest: AsyncIterator[StreamEvent]
    attempts: list[Attempt]

    async def aclose(self) -> None:
        aclose = getattr(self.rest, "aclose", None)
        if aclose is not None:
            await aclose()


@dataclass
class Dispatcher:
    backends: Mapping[str, Backend]
    guard: Guard = field(default_factory=PassThrough)
    clock: Callable[[], float] = time.monotonic

    async def complete(self, routed: Routed, request: ChatRequest) -> Answer:
        attempts: list[Attempt] = []
        for target in routed.targets:
            backend = self.backends[target.backend]

            async def call(target: Target = target, backend: Backend = backend) -> Completion:
                async with asyncio.timeout(target.timeouts.total):
                    try:
                        return await backend.complete(request, _call_of(target))
                    except TimeoutError:
                        raise UpstreamUnavailable(
                            backend.name, backend.url, f"no answer within {target.timeouts.total:g}s (timeouts.total)",
                            kind="timeout", status=504,
                        ) from None

            result = await self._attempt(target, attempts, call)
            if result is not None:
                return Answer(target, result, attempts)
        raise self._exhausted(routed, attempts)

    async def open_stream(self, routed: Routed, request: ChatRequest) -> OpenStream:
        attempts: list[Attempt] = []
        for target in routed.targets:
            backend = self.backends[target.backend]

            async def first_event(target: Target = target, backend: Backend = backend) -> tuple[StreamEvent, AsyncIterator[StreamEvent]]:
                events = bounded(backend.stream(request, _call_of(target)), target, backend, clock=self.clock)
                try:
                    return await anext(events), events
                except BaseException:
                    await events.aclose()
                    raise
                # a stream that ends before any event is cut short: bounded() raises for it

            result = await self._attempt(target, attempts, first_event)
            if result is not None:
                first, rest = result
                return OpenStream(target, first, rest, attempts)
        raise self._exhausted(routed, attempts)

    async def _attempt(self, target: Target, attempts: list[Attempt], call: Callable[[], Awaitable[T]]) -> T | None:
        start = self.clock()
        try:
            result = await self.guard.run(target, call)
        except (UpstreamError, RateLimited) as exc:
            status = exc.status
            outcome = exc.kind if isinstance(exc, UpstreamError) else "rate_limited"
            attempts.append(Attempt(target, outcome, (self.clock() - start) * 1000, exc.message, status, exc))
            if isinstance(exc, UpstreamError) and not exc.fallback_ok:
                exc.attempts = attempts
                raise
            return None
        except StopAsyncIteration:
            attempts.append(Attempt(target, "empty_stream", (self.clock() - start) * 1000, "empty stream", 502))
            return None
        attempts.append(Attempt(target, "ok", (self.clock() - start) * 1000))
        return result

    def _exhausted(self, routed: Routed, attempts: list[Attempt]) -> TiergateError:
        if not attempts:
            skipped = [f"{t.tier}/{t.model}: {t.skipped}" for t in routed.decision.targets if t.skipped]
            detail = "; ".join(skipped) if skipped else "no targets configured for this tier"
            return NoTargetError(f"no target can serve this request: {detail}", status=400 if skipped else 503)
        if len(attempts) == 1 and attempts[0].exc is not None:
            exc = attempts[0].exc
            exc.attempts = attempts
            return exc
        statuses = {a.status for a in attempts}
        status = statuses.pop() if len(statuses) == 1 and None not in statuses else 503
        detail = "; ".join(f"{a.target.label}: {a.error}" for a in attempts)
        retry_after = None
        if status == 429:
            retry_after = 1.0
        error = NoTargetError(f"all {len(attempts)} targets failed: {detail}", status=status, retry_after=retry_after)
        error.attempts = attempts
        return error


def _call_of(target: Target) -> Call:
    return Call(model=target.model, connect_timeout=target.timeouts.connect, total_timeout=target.timeouts.total)
