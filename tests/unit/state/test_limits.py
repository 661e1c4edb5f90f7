"""Shared limits in a real Redis: two registries (two processes' worth) spend one budget, atomically;
while Redis is unreachable each counts for itself."""

from __future__ import annotations

import asyncio

import pytest

from tiergate.config.model import Breaker, Capabilities, Limits, Price, Retries, Timeouts
from tiergate.engine.targets import Target
from tiergate.errors import LimitRejected, RateLimited
from tiergate.resilience.limits import Limiters
from tiergate.state.limits import SharedLimits, Taken
from tiergate.state.link import DOWN, RedisLink


def target(*, rpm: int | None = None, concurrency: int | None = None, on_limit: str = "fallback") -> Target:
    return Target(
        tier="sonnet",
        backend="anthropic",
        model="claude",
        capabilities=Capabilities(),
        price=Price(),
        timeouts=Timeouts(),
        retries=Retries(),
        breaker=Breaker(),
        limits=Limits(rpm=rpm, concurrency=concurrency, on_limit=on_limit, max_wait=2.0),  # type: ignore[arg-type]
    )


async def take(limiters: Limiters, t: Target) -> None:
    async with limiters.acquire(t):
        pass


@pytest.mark.asyncio
async def test_gcra_allows_a_burst_of_rpm_then_says_when(links: tuple[RedisLink, RedisLink]) -> None:
    shared = SharedLimits(links[0])
    results = [await shared.take("t", rpm=10, concurrency=None, period=60, lease=0) for _ in range(12)]
    assert [r.ok for r in results if isinstance(r, Taken)] == [True] * 10 + [False] * 2
    refused = results[-1]
    assert isinstance(refused, Taken) and refused.limit == "rate"
    assert refused.retry_after is not None and 5.9 <= refused.retry_after <= 6.0


@pytest.mark.asyncio
async def test_two_registries_share_one_rpm_budget(links: tuple[RedisLink, RedisLink]) -> None:
    one, two = Limiters(shared=SharedLimits(links[0])), Limiters(shared=SharedLimits(links[1]))
    t = target(rpm=10, on_limit="reject")
    outcomes = []
    for i in range(20):
        try:
            await take((one, two)[i % 2], t)
            outcomes.append("ok")
        except LimitRejected as exc:
            assert exc.message == "rate limit for anthropic/claude reached (limits.rpm: 10)"
            outcomes.append("refused")
    assert outcomes.count("ok") == 10 and outcomes[:10] == ["ok"] * 10


@pytest.mark.asyncio
async def test_concurrency_is_one_pool_of_slots_released_after_use(links: tuple[RedisLink, RedisLink]) -> None:
    one, two = Limiters(shared=SharedLimits(links[0])), Limiters(shared=SharedLimits(links[1]))
    t = target(concurrency=2)
    async with one.acquire(t), two.acquire(t):
        with pytest.raises(RateLimited, match=r"concurrency limit for anthropic/claude reached"):
            await take(one, t)
    await asyncio.sleep(0.05)  # releases go out after the block, in the background
    async with one.acquire(t), two.acquire(t):
        pass


@pytest.mark.asyncio
async def test_a_dead_holders_slots_free_when_their_leases_expire(links: tuple[RedisLink, RedisLink]) -> None:
    """A process that died holding slots never releases them: a take that finds the set full sweeps out
    the expired leases. A short lease never cuts a longer one short."""
    dead, alive = SharedLimits(links[0]), SharedLimits(links[1])

    async def take(shared: SharedLimits, lease: float) -> tuple[bool, str | None]:
        got = await shared.take("t", rpm=None, concurrency=3, period=60, lease=lease)
        assert isinstance(got, Taken)
        return got.ok, got.limit

    assert await take(alive, 60) == (True, None)
    assert [await take(dead, 0.5), await take(dead, 0.5)] == [(True, None), (True, None)]
    assert await take(alive, 60) == (False, "concurrency")
    await asyncio.sleep(0.7)  # the dead holder's two leases expire, unreleased; the live one does not
    assert [await take(alive, 60), await take(alive, 60)] == [(True, None), (True, None)]
    assert await take(alive, 60) == (False, "concurrency")  # three live leases again


@pytest.mark.asyncio
async def test_wait_mode_waits_for_a_slot_another_process_frees(links: tuple[RedisLink, RedisLink]) -> None:
    one, two = Limiters(shared=SharedLimits(links[0])), Limiters(shared=SharedLimits(links[1]))
    t = target(concurrency=1, on_limit="wait")
    entered = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        async with one.acquire(t):
            entered.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await entered.wait()
    waiter = asyncio.create_task(take(two, t))
    await asyncio.sleep(0.2)
    assert not waiter.done()
    release.set()
    await asyncio.wait_for(waiter, 2)
    await holder


@pytest.mark.asyncio
async def test_client_rpm_is_shared(links: tuple[RedisLink, RedisLink]) -> None:
    one, two = Limiters(shared=SharedLimits(links[0])), Limiters(shared=SharedLimits(links[1]))
    await one.client("team", 2)
    await two.client("team", 2)
    with pytest.raises(RateLimited, match=r"rate limit for this API key reached \(2 requests per minute\)"):
        await one.client("team", 2)
    await two.client("other-team", 2)


@pytest.mark.asyncio
async def test_without_redis_each_registry_counts_for_itself(closed_port: int) -> None:
    link = RedisLink(f"redis://127.0.0.1:{closed_port}/0")
    await link.start()
    try:
        shared = SharedLimits(link)
        assert await shared.take("t", rpm=1, concurrency=None, period=60, lease=0) is DOWN
        limiters = Limiters(shared=shared)
        t = target(rpm=2)
        await take(limiters, t)
        await take(limiters, t)
        with pytest.raises(RateLimited):
            await take(limiters, t)
    finally:
        await link.aclose()
