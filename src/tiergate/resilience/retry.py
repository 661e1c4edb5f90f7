"""Retry one target's call on transient errors, with capped exponential backoff and full jitter.

Only errors whose ``retryable`` is true are tried again (connection refused, timeouts, 408, 429, 5xx,
529: see :mod:`tiergate.errors`); a 400 or 401 would fail the same way every time, and a stream's
first-token or idle timeout (``StreamTimeout``) goes straight to the fallback. The wait before
retry ``n`` (0-based) is ``rng() * min(backoff_max, backoff_base * 2**n)`` ("full jitter", so
clients that failed together do not come back together), but never less than the upstream's own
``retry-after``. A wait that would end past ``deadline``, or leave less than a tenth of the time there was at
the start (a retry cut off at once would pay for a call and lose the upstream's own answer), is not started:
the last error is raised at once, so dispatch can fall back to the next target while there is still time.

    answer = await with_retries(call, target.retries, deadline=time.monotonic() + 600,
                                clock=time.monotonic, sleep=asyncio.sleep, rng=random.random)
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tiergate.config.model import Retries
from tiergate.errors import UpstreamError

T = TypeVar("T")

OnRetry = Callable[[int, float, UpstreamError], None]
"""Told ``(retry number from 1, seconds it will wait, the error)`` before each wait; for logs and metrics."""


async def with_retries(
    call: Callable[[], Awaitable[T]],
    policy: Retries,
    *,
    deadline: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: Callable[[], float] = random.random,
    on_retry: OnRetry | None = None,
) -> T:
    """Await ``call()`` up to ``1 + policy.attempts`` times; ``deadline`` is on ``clock``'s scale."""
    retry = 0
    room = (deadline - clock()) / 10  # what a retry needs left after its wait to be worth making
    while True:
        try:
            return await call()
        except UpstreamError as exc:
            wait = next_wait(exc, policy, retry, rng)
            if wait is None or clock() + wait > deadline - room:
                raise
            if on_retry is not None:
                on_retry(retry + 1, wait, exc)
        # Sleep outside the except block so the next attempt's error does not chain this one.
        await sleep(wait)
        retry += 1


def next_wait(exc: UpstreamError, policy: Retries, retry: int, rng: Callable[[], float]) -> float | None:
    """Seconds to wait before retry number ``retry`` (0-based), or None when ``exc`` should not be retried."""
    if not exc.retryable or retry >= policy.attempts:
        return None
    return max(backoff(policy, retry, rng), exc.retry_after or 0.0)


def backoff(policy: Retries, retry: int, rng: Callable[[], float]) -> float:
    """Full jitter: uniform in [0, min(backoff_max, backoff_base * 2**retry))."""
    return rng() * min(policy.backoff_max, policy.backoff_base * 2.0**retry)
