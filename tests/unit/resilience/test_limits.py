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
async def test_a_reload_that_raises_rpm_leaks_a_full_bucket_at_the_new_rate() -> None:
    limiters = Limiters(period=1.2)
    await take(limiters, target(rpm=1))
    with pytest.raises(RateLimited):  # the old rate is spent
        await take(limiters, target(rpm=1))
    raised = target(rpm=3, on_limit="wait", max_wait=5.0)
    limiters.configure([raised])
    with pytest.raises(RateLimited, match=r"limits.rpm: 3\)"):  # still full: not a new, empty bucket
        await take(limiters, target(rpm=3))
    loop = asyncio.get_running_loop()
    start = loop.time()
    await take(limiters, raised)
    assert 0.3 <= loop.time() - start < 1.0, "one leak of the new rate (0.4 s), not of the old (1.2 s)"


@pytest.mark.asyncio
async def test_reloads_that_raise_and_lower_rpm_never_refill_the_bucket() -> None:
    limiters, passed = Limiters(), 0
    for rpm in (3, 4, 3, 4, 3):
        limiters.configure([target(rpm=rpm, on_limit="reject")])
        with contextlib.suppress(LimitRejected):
            for _ in range(5):
                await take(limiters, target(rpm=rpm, on_limit="reject"))
                passed += 1
    assert passed == 3


@pytest.mark.asyncio
async def test_a_lowered_rpm_holds_a_full_bucket_back_one_leak_of_the_new_rate() -> None:
    limiters = Limiters(period=0.2)
    for _ in range(4):
        await take(limiters, target(rpm=4))
    lowered = target(rpm=1, on_limit="wait", max_wait=5.0)
    limiters.configure([lowered])
    loop = asyncio.get_running_loop()
    start = loop.time()
    await take(limiters, lowered)
    assert 0.15 <= loop.time() - start < 0.6, "a full bucket of 1 leaks in 0.2 s, not 4 x 0.2 s"


@pytest.mark.asyncio
async def test_a_raised_concurrency_counts_the_calls_in_flight_and_lets_in_its_waiters_in_turn() -> None:
    limiters, t = Limiters(), target(concurrency=1, on_limit="wait", max_wait=30.0)
    limiters.configure([t])
    inside: list[int] = []
    done = asyncio.Event()
    most = 0

    async def call(n: int) -> None:
        nonlocal most
        async with limiters.acquire(t):
            inside.append(n)
            most = max(most, len(inside))
            await done.wait()
            inside.remove(n)

    tasks = [asyncio.create_task(call(n)) for n in range(6)]
    await asyncio.sleep(0.01)
    assert inside == [0]
    limiters.configure([target(concurrency=2, on_limit="wait", max_wait=30.0)])
    await asyncio.sleep(0.01)
    assert inside == [0, 1], "room for one more, the longest waiter first"
    limiters.configure([t])
    done.set()
    await asyncio.gather(*tasks)
    assert most == 2


@pytest.mark.asyncio
async def test_a_lowered_concurrency_lets_calls_in_flight_finish_and_admits_none_until_below_it() -> None:
    limiters = Limiters()
    wide, narrow = target(concurrency=3), target(concurrency=1)
    limiters.configure([wide])
    async with contextlib.AsyncExitStack() as first, contextlib.AsyncExitStack() as second:
        await first.enter_async_context(limiters.acquire(wide))
        await second.enter_async_context(limiters.acquire(wide))
        limiters.configure([narrow])
        with pytest.raises(RateLimited, match=r"limits.concurrency: 1 in flight"):
            await take(limiters, narrow)
        await first.aclose()
        with pytest.raises(RateLimited, match=r"limits.concurrency: 1 in flight"):
            await take(limiters, narrow)  # one still in flight: the new limit is reached
    await take(limiters, narrow)


@pytest.mark.asyncio
async def test_a_concurrency_limit_set_by_a_reload_counts_the_calls_already_in_flight() -> None:
    limiters = Limiters()
    limiters.configure([target()])
    async with limiters.acquire(target()):
        limiters.configure([target(concurrency=1)])
        with pytest.raises(RateLimited, match="concurrency limit"):
            await take(limiters, target(concurrency=1))
    await take(limiters, target(concurrency=1))


@pytest.mark.asyncio
async def test_a_reload_that_removes_the_concurrency_limit_lets_its_waiters_in() -> None:
    limiters, t = Limiters(), target(concurrency=1, on_limit="wait", max_wait=30.0)
    limiters.configure([t])
    async with limiters.acquire(t):
        waiter = asyncio.create_task(take(limiters, t))
        await asyncio.sleep(0.01)
        assert not waiter.done()
        limiters.configure([target(on_limit="wait", max_wait=30.0)])
        await asyncio.wait_for(waiter, 1.0)


@pytest.mark.asyncio
async def test_a_waiter_that_gives_up_leaves_the_queue_and_takes_nothing() -> None:
    limiters, t = Limiters(), target(concurrency=1, on_limit="wait", max_wait=30.0)
    order: list[str] = []

    async def call(name: str) -> None:
        async with limiters.acquire(t):
            order.append(name)

    async with limiters.acquire(t):
        leaving = asyncio.create_task(call("leaving"))
        staying = asyncio.create_task(call("staying"))
        await asyncio.sleep(0.01)
        leaving.cancel()
        await asyncio.sleep(0.01)
    await asyncio.wait_for(staying, 1.0)
    assert order == ["staying"]
    with pytest.raises(asyncio.CancelledError):
        await leaving
    await take(limiters, target(concurrency=1))  # nothing held: the slot is free


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
async def test_a_client_keys_new_rpm_counts_what_it_already_sent() -> None:
    limiters = Limiters()
    await limiters.client("k", 2)  # half of two
    for _ in range(2):  # half of four: two more
        await limiters.client("k", 4)
    with pytest.raises(RateLimited, match=r"\(4 requests per minute\)"):
        await limiters.client("k", 4)
    with pytest.raises(RateLimited, match=r"\(2 requests per minute\)"):  # back to two: nothing refilled
        await limiters.client("k", 2)
