"""Shared limits in a real Redis: two registries (two processes' worth) spend one budget, atomically;
while Redis is unreachable each counts for itself."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from tests.engines import RedisServer
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
        with pytest.raises(RateLimited, match=r"concurrency limit for anthropic/claude reached") as raised:
            await take(one, t)
        assert raised.value.retry_after == 1.0
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
async def test_a_slot_held_by_a_long_call_is_renewed_and_a_dead_holders_frees_within_the_ttl(
    links: tuple[RedisLink, RedisLink],
) -> None:
    holder, other = SharedLimits(links[0]), SharedLimits(links[1])
    holder.renewer.ttl, holder.renewer.every = 0.4, 0.1
    held = await holder.take("t", rpm=None, concurrency=1, period=60)
    assert isinstance(held, Taken) and held.ok
    await asyncio.sleep(1.2)  # three lifetimes of the lease: renewed all along
    assert await other.take("t", rpm=None, concurrency=1, period=60) == Taken(False, "concurrency")
    await holder.aclose()  # the holder dies in the middle of its call: nobody renews or releases its slot
    await asyncio.sleep(0.5)
    freed = await other.take("t", rpm=None, concurrency=1, period=60)
    assert isinstance(freed, Taken) and freed.ok and freed.lease is not None
    other.release("t", freed.lease)
    await other.aclose()


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


# --- taking ahead of Redis's answer -------------------------------------------------------------------


async def takes(shared: SharedLimits, n: int, **limits: int | None) -> list[tuple[bool, str | None]]:
    """``n`` takes of key "t" one after the other (no pause between them: the ones sent ahead are still
    unanswered when the next is taken)."""
    out = []
    for _ in range(n):
        got = await shared.take("t", **{"rpm": None, "concurrency": None, **limits}, period=60, lease=60)  # type: ignore[arg-type]
        assert isinstance(got, Taken)
        out.append((got.ok, got.limit))
    return out


async def answered(link: RedisLink) -> None:
    assert link.fast is not None
    await link.fast.drain()


@pytest.mark.asyncio
async def test_takes_far_from_the_limit_go_ahead_of_redis_and_still_count_there(
    links: tuple[RedisLink, RedisLink],
) -> None:
    ahead, strict = SharedLimits(links[0], ahead=3), SharedLimits(links[1])
    assert await takes(ahead, 1, rpm=40) == [(True, None)]  # nothing known yet: waits, and learns 39 free
    assert (links[0].waits, ahead.taken_ahead) == (1, 0)
    # The answer said 39 free; less the takes unanswered that is 39, 38, 37: over half of 40, up to 3 unanswered.
    assert await takes(ahead, 4, rpm=40) == [(True, None)] * 4
    assert (links[0].waits, ahead.taken_ahead) == (2, 3)  # the fourth waited, with the three before it
    await answered(links[0])
    # Redis counted all five: the other process gets the 35 left.
    assert await takes(strict, 36, rpm=40) == [(True, None)] * 35 + [(False, "rate")]
    assert ahead.overruns == 0


@pytest.mark.asyncio
async def test_a_take_waits_once_a_limit_is_half_full(links: tuple[RedisLink, RedisLink]) -> None:
    shared = SharedLimits(links[0], ahead=8)
    for _ in range(30):
        assert await takes(shared, 1, rpm=1000, concurrency=40) == [(True, None)]
        await answered(links[0])
    # 40 - 30 = 10 slots free: under half of the concurrency limit, so the next takes wait, down to the last slot.
    waits = links[0].waits
    assert await takes(shared, 11, rpm=1000, concurrency=40) == [(True, None)] * 10 + [(False, "concurrency")]
    assert links[0].waits - waits == 11
    assert shared.taken_ahead == 20  # takes 2..21 (take 1 learned 39 free; take 21 still saw 20 free)


@pytest.mark.asyncio
async def test_small_limits_always_wait_for_redis(links: tuple[RedisLink, RedisLink]) -> None:
    shared = SharedLimits(links[0], ahead=8)
    # A limit of 16 or less never has 16 free after a take (MIN_FREE): every take waits.
    assert await takes(shared, 12, rpm=16) == [(True, None)] * 12
    assert (links[0].waits, shared.taken_ahead) == (12, 0)


@pytest.mark.asyncio
async def test_a_limit_another_process_filled_is_overrun_once_then_refused(links: tuple[RedisLink, RedisLink]) -> None:
    mine, other = SharedLimits(links[0], ahead=8), SharedLimits(links[1])
    assert await takes(mine, 1, concurrency=40) == [(True, None)]  # learns 39 free
    assert await takes(other, 40, concurrency=40) == [(True, None)] * 39 + [(False, "concurrency")]
    # Its last answer said 39 free: this take goes ahead, and Redis refuses it.
    assert await takes(mine, 1, concurrency=40) == [(True, None)]
    assert mine.taken_ahead == 1
    await answered(links[0])
    assert mine.overruns == 1
    waits = links[0].waits
    assert await takes(mine, 1, concurrency=40) == [(False, "concurrency")]  # waits for Redis again
    assert links[0].waits == waits + 1


@pytest.mark.asyncio
async def test_an_old_answer_or_changed_limits_make_the_take_wait(links: tuple[RedisLink, RedisLink]) -> None:
    now = [0.0]
    shared = SharedLimits(links[0], ahead=8, clock=lambda: now[0])
    assert await takes(shared, 2, rpm=100) == [(True, None)] * 2
    assert shared.taken_ahead == 1
    await answered(links[0])
    now[0] += 1.5  # the last answer is older than a second
    assert await takes(shared, 1, rpm=100) == [(True, None)]
    assert shared.taken_ahead == 1 and links[0].waits == 2
    assert await takes(shared, 1, rpm=200) == [(True, None)]  # a reload changed the limit
    assert shared.taken_ahead == 1 and links[0].waits == 3


@pytest.mark.asyncio
async def test_with_redis_down_a_take_is_not_sent_ahead(links: tuple[RedisLink, RedisLink]) -> None:
    shared = SharedLimits(links[0], ahead=8)
    assert await takes(shared, 1, rpm=100) == [(True, None)]
    links[0].failed(ConnectionError("gone"))
    assert await shared.take("t", rpm=100, concurrency=None, period=60, lease=0) is DOWN
    assert shared.taken_ahead == 0


@pytest.mark.asyncio
async def test_without_the_pipelined_client_every_take_waits(redis_url: str, redis_prefix: str) -> None:
    """redis-py's pool (rediss://, unix://) could send a queued take after the release that follows it."""
    link = RedisLink(redis_url, prefix=redis_prefix)
    link.fast = None
    await link.start()
    try:
        shared = SharedLimits(link, ahead=8)
        assert await takes(shared, 3, rpm=1000) == [(True, None)] * 3
        assert (link.waits, shared.taken_ahead) == (3, 0)
    finally:
        await link.aclose()


@pytest.mark.asyncio
async def test_one_process_never_has_more_than_concurrency_in_flight_as_redis_goes_and_returns() -> None:
    """Slots taken in Redis were not counted here when Redis went away mid-call, nor those taken here while
    it was away once it came back: `concurrency: 2` had four calls in flight."""
    server = RedisServer().start()
    link = RedisLink(server.url, retry_interval=0.05)
    await link.start()
    limiters = Limiters(shared=SharedLimits(link))
    t = target(concurrency=2, on_limit="reject")
    try:
        async with contextlib.AsyncExitStack() as calls:
            for _ in range(2):  # two calls in flight, their slots in Redis
                await calls.enter_async_context(limiters.acquire(t))
            server.kill()
            with pytest.raises(LimitRejected, match="concurrency limit"):
                await take(limiters, t)
        async with contextlib.AsyncExitStack() as calls:
            for _ in range(2):  # two calls in flight taken here while Redis is away
                await calls.enter_async_context(limiters.acquire(t))
            assert not link.up
            server.start()
            deadline = asyncio.get_running_loop().time() + 10
            while not link.up:
                assert asyncio.get_running_loop().time() < deadline, "Redis did not come back"
                await asyncio.sleep(0.02)
            with pytest.raises(LimitRejected, match="concurrency limit"):
                await take(limiters, t)
        await take(limiters, t)  # the calls ended: slots free everywhere
    finally:
        await link.aclose()
        server.stop()


@pytest.mark.asyncio
async def test_a_call_this_process_has_no_slot_for_spends_no_shared_rpm(links: tuple[RedisLink, RedisLink]) -> None:
    """The shared take came first: a call refused for want of a local slot had spent a request of the
    rpm every worker shares (and a waiting one spent one every 50 ms)."""
    one, two = Limiters(shared=SharedLimits(links[0])), Limiters(shared=SharedLimits(links[1]))
    t = target(rpm=10, concurrency=2, on_limit="reject")
    async with contextlib.AsyncExitStack() as calls:
        for _ in range(2):
            await calls.enter_async_context(one.acquire(t))
        await links[0].run(lambda r: r.flushdb())  # Redis lost the leases (a restart): this process still counts
        for _ in range(5):
            with pytest.raises(LimitRejected, match="concurrency limit"):
                await take(one, t)
    for _ in range(10):  # the whole shared rpm is left for the other process
        await take(two, t)
    with pytest.raises(LimitRejected, match="rate limit"):
        await take(two, t)
