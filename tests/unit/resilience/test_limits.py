"""Limiters: rpm and concurrency per target in each on_limit mode, per-client rpm, reloads."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Literal

import pytest

from tiergate.config.model import Breaker, Capabilities, Limits, Price, Retries, Timeouts
from tiergate.engine.targets import Target
from tiergate.errors import RateLimited
from tiergate.resilience.limits import Limiters, LimitRejected

OnLimit = Literal["fallback", "wait", "reject"]


def target(
    *, rpm: int | None = None, concurrency: int | None = None, on_limit: OnLimit = "fallback", max_wait: float = 10.0
) -> Target:
    limits = Limits(rpm=rpm, concurrency=concurrency, on_limit=on_limit, max_wait=max_wait)
    return Target(
        tier="sonnet",
        backend="anthropic",
        model="claude",
        capabilities=Capabilities(),
        price=Price(),
        timeouts=Timeouts(),
        retries=Retries(),
        breaker=Breaker(),
        limits=limits,
    )


async def take(limiters: Limiters, t: Target) -> None:
    async with limiters.acquire(t):
        pass


@pytest.mark.asyncio
async def test_no_limits_configured_means_no_limit() -> None:
    limiters, t = Limiters(), target()  # on_limit: fallback, so any limit raises RateLimited at once
    async with contextlib.AsyncExitStack() as held:
        for _ in range(1000):  # 1000 requests in one instant, all 1000 in flight together
            await held.enter_async_context(limiters.acquire(t))


@pytest.mark.asyncio
async def test_rpm_exceeded_in_fallback_mode_raises_rate_limited_with_retry_after() -> None:
    limiters, t = Limiters(), target(rpm=2)
    await take(limiters, t)
    await take(limiters, t)
    with pytest.raises(RateLimited) as raised:
        await take(limiters, t)
    err = raised.value
    assert not isinstance(err, LimitRejected)
    assert err.message == "rate limit for anthropic/claude reached (limits.rpm: 2)"
    assert err.retry_after == pytest.approx(30.0)
    assert err.status == 429 and err.headers() == {"retry-after": "30"}


@pytest.mark.asyncio
async def test_reject_mode_raises_a_rate_limited_that_forbids_fallback() -> None:
    limiters, t = Limiters(), target(rpm=1, on_limit="reject")
    await take(limiters, t)
    with pytest.raises(LimitRejected) as raised:
        await take(limiters, t)
    assert isinstance(raised.value, RateLimited)
    assert raised.value.fallback_ok is False
    assert raised.value.retry_after == pytest.approx(60.0)


@pytest.mark.asyncio
async def test_wait_mode_waits_for_capacity_then_succeeds() -> None:
    limiters, t = Limiters(period=0.05), target(rpm=1, on_limit="wait", max_wait=5.0)
    loop = asyncio.get_running_loop()
    await take(limiters, t)
    start = loop.time()
    await take(limiters, t)
    assert loop.time() - start >= 0.03, "the second request waited for the bucket to leak"


@pytest.mark.asyncio
async def test_wait_mode_gives_up_after_max_wait() -> None:
    limiters, t = Limiters(), target(rpm=1, on_limit="wait", max_wait=0.01)
    await take(limiters, t)
    with pytest.raises(RateLimited, match=r"limits.rpm: 1\); none free within 0.01s \(limits.max_wait\)") as raised:
        await take(limiters, t)
    assert not isinstance(raised.value, LimitRejected)
    assert raised.value.retry_after == pytest.approx(60.0)


@pytest.mark.asyncio
async def test_the_concurrency_slot_is_held_for_the_whole_block() -> None:
    limiters, t = Limiters(), target(concurrency=1)
    async with limiters.acquire(t):
        with pytest.raises(RateLimited, match=r"concurrency limit for anthropic/claude reached") as raised:
            await take(limiters, t)
        # when a slot frees cannot be foreseen: a 429 still says when to ask again, the shortest it can
        assert raised.value.retry_after == 1.0 and raised.value.headers() == {"retry-after": "1"}
    await take(limiters, t)


@pytest.mark.asyncio
async def test_a_failing_block_gives_its_slot_back() -> None:
    limiters, t = Limiters(), target(concurrency=1)
    with pytest.raises(ValueError):
        async with limiters.acquire(t):
            raise ValueError("upstream blew up")
    await take(limiters, t)


@pytest.mark.asyncio
async def test_wait_mode_queues_for_a_concurrency_slot() -> None:
    limiters, t = Limiters(), target(concurrency=1, on_limit="wait", max_wait=5.0)
    order: list[str] = []
    release = asyncio.Event()

    async def first() -> None:
        async with limiters.acquire(t):
            order.append("first in")
            await release.wait()
            order.append("first out")

    async def second() -> None:
        async with limiters.acquire(t):
            order.append("second in")

    tasks = [asyncio.create_task(first()), asyncio.create_task(second())]
    await asyncio.sleep(0)
    assert order == ["first in"]
    release.set()
    await asyncio.gather(*tasks)
    assert order == ["first in", "first out", "second in"]


@pytest.mark.asyncio
async def test_wait_mode_returns_the_slot_when_the_rate_wait_times_out() -> None:
    limiters = Limiters()
    waiting = target(rpm=1, concurrency=1, on_limit="wait", max_wait=0.01)
    await take(limiters, waiting)
    with pytest.raises(RateLimited, match="rate limit"):
        await take(limiters, waiting)
    # Same key, no waiting: a leaked slot would be reported before the rate limit.
    with pytest.raises(RateLimited, match="rate limit"):
        await take(limiters, target(rpm=1, concurrency=1))


@pytest.mark.asyncio
async def test_a_limited_request_takes_nothing() -> None:
    limiters, t = Limiters(), target(rpm=1, concurrency=1)
    await take(limiters, t)
    for _ in range(3):
        # A slot kept by a refused request would be reported first, as the concurrency limit.
        with pytest.raises(RateLimited, match="rate limit"):
            await take(limiters, t)


@pytest.mark.asyncio
async def test_a_reload_with_the_same_limits_keeps_the_bucket() -> None:
    limiters, t = Limiters(), target(rpm=1)
    await take(limiters, t)
    limiters.configure([target(rpm=1)])
    with pytest.raises(RateLimited):
        await take(limiters, t)


@pytest.mark.asyncio
async def test_a_reload_that_changes_rpm_applies_the_new_rate() -> None:
    limiters = Limiters()
    await take(limiters, target(rpm=1))
    with pytest.raises(RateLimited):  # the old rate is spent
        await take(limiters, target(rpm=1))
    raised = target(rpm=3)
    limiters.configure([raised])
    for _ in range(3):  # the new rate's three requests fit at once
        await take(limiters, raised)
    with pytest.raises(RateLimited, match=r"limits.rpm: 3\)"):
        await take(limiters, raised)


@pytest.mark.asyncio
async def test_a_key_listed_twice_keeps_its_first_limits() -> None:
    limiters, strict, loose = Limiters(), target(rpm=1), target(rpm=100)
    limiters.configure([strict, loose])
    await take(limiters, loose)
    with pytest.raises(RateLimited, match=r"limits.rpm: 1\)"):
        await take(limiters, loose)


@pytest.mark.asyncio
async def test_client_keys_have_their_own_budget_and_are_never_named() -> None:
    limiters = Limiters()
    await limiters.client("sk-alice-secret", 2)
    await limiters.client("sk-alice-secret", 2)
    with pytest.raises(RateLimited) as raised:
        await limiters.client("sk-alice-secret", 2)
    assert "sk-alice" not in raised.value.message
    assert raised.value.retry_after == pytest.approx(30.0)
    await limiters.client("sk-bob-secret", 2)


@pytest.mark.asyncio
async def test_a_client_keys_new_rpm_applies() -> None:
    limiters = Limiters()
    await limiters.client("k", 1)
    with pytest.raises(RateLimited):
        await limiters.client("k", 1)
    await limiters.client("k", 5)
