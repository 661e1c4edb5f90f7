"""The dispatcher's Guard: one target's call behind rate limits, a circuit breaker and retries.

The layers, outermost first (each one job, httpx-style):

    breaker   an open breaker, or a half-open one whose trial is in flight, refuses first: such a call is
              never made, so it takes no rate limit's token
    limits    a limited target is refused (RateLimited) before it costs anything
    breaker   admits the call (the half-open trial, or closed); one outcome per call, counted after retries
    retries   transient errors tried again while the target's deadline (timeouts.total) allows; never the
              half-open trial, which one call decides
    deadline  each attempt also bounded by what is left of that deadline

Breakers and limiters outlive a load; the guard built for each load only adds that load's backend URLs
(for error messages) and applies its settings. A load that points a backend at another URL closes its
targets' breakers: what failed was the old server.

    breakers, limiters = Breakers(), Limiters()
    Extensions(guard=guard_factory(breakers, limiters), breaker_state=breakers.state)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from tiergate.dispatch.dispatcher import Guard
from tiergate.engine.graph import EvaluationGraph
from tiergate.engine.targets import Target
from tiergate.errors import UpstreamError, UpstreamUnavailable
from tiergate.redact import redact_url
from tiergate.resilience.breakers import Breakers
from tiergate.resilience.limits import Limiters
from tiergate.resilience.retry import with_retries

T = TypeVar("T")

log = logging.getLogger("tiergate.resilience")


@dataclass
class ResilienceGuard:
    """Limits → breaker → retries → call, for one load of the rules.

    guard = ResilienceGuard(Breakers(), Limiters(), {"ollama": "http://127.0.0.1:11434"})
    answer = await guard.run(target, call)
    """

    breakers: Breakers
    limiters: Limiters
    urls: Mapping[str, str] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    rng: Callable[[], float] = random.random

    async def run(
        self, target: Target, call: Callable[[], Awaitable[T]], *, hold: contextlib.AsyncExitStack | None = None
    ) -> T:
        """Await ``call()`` under the target's limits, breaker and retries.

        The concurrency slot is released when ``run`` returns, unless ``hold`` is given: then a successful
        run hands the slot to ``hold``, and it stays taken until the caller closes that stack (at the end of
        a stream). A failed run always releases it. With ``hold`` the breaker records a failure at once but
        a success only when the caller reports how the stream ended (``stream_ended``), and a half-open trial
        stays in flight until ``hold`` is closed.
        """
        self.breakers.check(target, self._url(target))  # refused now: no rate limit's token spent on it
        async with contextlib.AsyncExitStack() as local:
            await local.enter_async_context(self.limiters.acquire(target))
            result = await self.breakers.call(
                target,
                partial(self._retrying, target, call),
                url=self._url(target),
                hold=hold,
                trial_call=partial(self._within, self.clock() + target.timeouts.total, target, call),
            )
            if hold is not None:
                hold.push_async_exit(local.pop_all())
            return result

    def stream_ended(self, target: Target, error: UpstreamError | None) -> None:
        self.breakers.settle(target, error)

    async def _retrying(self, target: Target, call: Callable[[], Awaitable[T]]) -> T:
        deadline = self.clock() + target.timeouts.total
        return await with_retries(
            partial(self._within, deadline, target, call),
            target.retries,
            deadline=deadline,
            clock=self.clock,
            sleep=self.sleep,
            rng=self.rng,
            on_retry=partial(_log_retry, target),
        )

    async def _within(self, deadline: float, target: Target, call: Callable[[], Awaitable[T]]) -> T:
        """One attempt, cut off where the target's whole budget (retries included) ends."""
        try:
            async with asyncio.timeout(max(deadline - self.clock(), 0.0)):
                return await call()
        except TimeoutError:
            raise UpstreamUnavailable(
                target.backend,
                self._url(target),
                target.total_timeout(),
                kind="timeout",
                status=504,
            ) from None

    def _url(self, target: Target) -> str:
        return self.urls.get(target.backend, "-")


def guard_factory(
    breakers: Breakers,
    limiters: Limiters,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: Callable[[], float] = random.random,
) -> Callable[[EvaluationGraph], Guard]:
    """What ``runtime.Extensions.guard`` takes: per load, apply the new settings and build a guard.

    Extensions(guard=guard_factory(breakers, limiters), breaker_state=breakers.state)
    """

    seen: dict[str, str] = {}  # backend → URL, as the previous load had them

    def build(graph: EvaluationGraph) -> Guard:
        targets = graph.dispatch_targets()
        urls = backend_urls(graph)
        breakers.configure(targets)
        moved = {name for name, url in urls.items() if seen.get(name, url) != url}
        for target in targets:
            if target.backend in moved:  # a breaker opened for the old server says nothing of the new one
                breakers.reset(target, f"backend '{target.backend}' now points at {redact_url(urls[target.backend])}")
        seen.clear()
        seen.update(urls)
        limiters.configure(targets)
        return ResilienceGuard(breakers, limiters, urls, clock=clock, sleep=sleep, rng=rng)

    return build


def backend_urls(graph: EvaluationGraph) -> dict[str, str]:
    """Backend name → URL as the backends print it, so guard errors name the same URL."""
    return {name: cfg.base_url.rstrip("/") for name, cfg in graph.config.backends.items()}


def _log_retry(target: Target, retry: int, wait: float, exc: UpstreamError) -> None:
    log.info(
        "retrying %s (retry %d of %d) in %.2fs after: %s",
        target.label,
        retry,
        target.retries.attempts,
        wait,
        exc.message,
    )
