"""Sticky sessions in a real Redis: a conversation routed to opus by one process stays on opus when its
next turn reaches another; while Redis is unreachable each process keeps its own sessions. A process
answers the sessions it served from memory, kept current by the others' raises through a channel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
import redis

from tests.helpers import graph
from tests.unit.engine.test_sticky import PRICED, RULES, tier_of, turns
from tests.unit.state.processes import eventually, subscribed
from tiergate.engine.router import Router
from tiergate.engine.sticky import SessionPool
from tiergate.state.channels import Channels
from tiergate.state.link import RedisLink
from tiergate.state.sessions import REFRESH_WITHIN, SharedSessions


def router(link: RedisLink) -> Router:
    g = graph(RULES, base=PRICED)
    return Router(g, sessions=SessionPool(shared=SharedSessions(link)).build(g))


@pytest.mark.asyncio
async def test_a_session_opened_in_one_process_holds_in_another(links: tuple[RedisLink, RedisLink]) -> None:
    one, two = router(links[0]), router(links[1])
    assert (await tier_of(one, turns("prove the queue is linearizable")))[:2] == ("opus", False)
    tier, sticky, reasons = await tier_of(two, turns("prove the queue is linearizable", "now rename q to queue"))
    assert (tier, sticky) == ("opus", True)
    assert reasons[-1] == "sticky: session already on opus; not moving down to local"
    # Another client's conversation with the same opener is a session of its own.
    assert (await tier_of(two, turns("prove the queue is linearizable", "rename q"), client="b"))[0] == "local"


@pytest.mark.asyncio
async def test_a_dry_run_reads_the_shared_session_but_does_not_write_it(links: tuple[RedisLink, RedisLink]) -> None:
    one, two = router(links[0]), router(links[1])
    assert (await tier_of(one, turns("rename x"), remember=False))[0] == "local"
    assert (await tier_of(one, turns("rename x", "prove it terminates"), remember=False))[0] == "opus"
    # Nothing was remembered: the next turn on the other process is not held up.
    assert (await tier_of(two, turns("rename x", "prove it", "rename y")))[:2] == ("local", False)


@pytest.mark.asyncio
async def test_without_redis_the_process_keeps_its_own_sessions(closed_port: int) -> None:
    link = RedisLink(f"redis://127.0.0.1:{closed_port}/0")
    await link.start()
    try:
        r = router(link)
        assert (await tier_of(r, turns("prove the queue is linearizable")))[0] == "opus"
        assert (await tier_of(r, turns("prove the queue is linearizable", "rename q")))[:2] == ("opus", True)
    finally:
        await link.aclose()


@pytest.mark.asyncio
async def test_a_session_holds_when_redis_comes_back_empty(
    links: tuple[RedisLink, RedisLink], redis_url: str, redis_prefix: str
) -> None:
    """Redis restarted without persistence (or flushed, or evicted the key): its empty answer replaced what
    this process had seen, and the conversation dropped from opus to local. The higher tier holds, and goes
    back into Redis for the other replicas."""
    one, two = router(links[0]), router(links[1])
    assert (await tier_of(one, turns("prove the queue is linearizable")))[0] == "opus"
    stored = redis.Redis.from_url(redis_url)
    lost = stored.keys(f"{redis_prefix}:session:*")
    assert lost and stored.delete(*lost) == len(lost)
    stored.close()
    assert (await tier_of(one, turns("prove the queue is linearizable", "rename q")))[:2] == ("opus", True)
    assert (await tier_of(two, turns("prove the queue is linearizable", "rename q", "rename r")))[:2] == (
        "opus",
        True,
    )


# --- the copy of the sessions a process served ---------------------------------------------------

UP = ["sonnet", "opus"]  # the tiers above local, cheapest first
KEY = bytes(range(32))


@dataclass
class Follower:
    link: RedisLink
    channels: Channels
    sessions: SharedSessions

    async def hold(self, tier: str, above: list[str], *, remember: bool = True, ttl: float = 60) -> tuple[bool, Any]:
        """What the session's hold answered, and whether it did so without waiting for Redis: a call to Redis
        needs a reply to be read, which takes another turn of the event loop; an answer from memory does not."""
        task = asyncio.ensure_future(self.sessions.hold(KEY, tier, above=above, ttl=ttl, remember=remember))
        await asyncio.sleep(0)
        at_once = task.done()
        return at_once, await task


@pytest_asyncio.fixture
async def followers(redis_url: str, redis_prefix: str) -> AsyncIterator[tuple[Follower, Follower]]:
    async with subscribed(redis_url, redis_prefix, SharedSessions) as made:
        a, b = (Follower(*process) for process in made)
        yield a, b


@pytest.mark.asyncio
async def test_a_session_this_process_served_is_answered_from_memory(
    followers: tuple[Follower, Follower], redis_url: str, redis_prefix: str
) -> None:
    a, _ = followers
    assert await a.hold("local", UP) == (False, None)  # a first turn here: Redis says
    assert await a.hold("local", UP) == (True, None)  # the next ones: memory says
    assert await a.hold("sonnet", ["opus"]) == (True, None)  # routed higher: it moves up
    assert await a.hold("local", UP, ttl=600) == (True, "sonnet")  # and then holds
    await asyncio.sleep(0.05)
    # Redis got each of them all the same, in order, without the requests waiting for it.
    stored = redis.Redis.from_url(redis_url)
    name = f"{redis_prefix}:session:{KEY.hex()}"
    assert stored.get(name) == b"sonnet"
    assert stored.pttl(name) > 60_000  # the last refresh (ttl=600) reached it too
    stored.close()


@pytest.mark.asyncio
async def test_a_raise_from_memory_goes_out_at_once_and_a_refresh_rides_along_later(
    followers: tuple[Follower, Follower], redis_url: str, redis_prefix: str
) -> None:
    a, _ = followers
    fast = a.link.fast
    assert fast is not None
    assert await a.hold("local", UP) == (False, None)
    assert await a.hold("local", UP) == (True, None)  # a refresh: queued for up to REFRESH_WITHIN
    await asyncio.sleep(0)
    assert fast.pending == 1
    assert await a.hold("sonnet", ["opus"]) == (True, None)  # a raise: written at the end of this turn, refresh too
    await asyncio.sleep(0)
    assert fast.pending == 0
    assert await a.hold("sonnet", ["opus"]) == (True, None)
    await asyncio.sleep(0)
    assert fast.pending == 1
    await asyncio.sleep(REFRESH_WITHIN * 2)
    assert fast.pending == 0
    stored = redis.Redis.from_url(redis_url)
    assert stored.get(f"{redis_prefix}:session:{KEY.hex()}") == b"sonnet"
    stored.close()


@pytest.mark.asyncio
async def test_a_raise_by_another_process_reaches_the_memory_of_one_that_held_the_session_lower(
    followers: tuple[Follower, Follower],
) -> None:
    a, b = followers
    assert await b.hold("local", UP) == (False, None)
    assert await b.hold("local", UP) == (True, None)  # b holds it, at local
    assert await a.hold("opus", []) == (False, None)  # a's first turn of it goes to opus: raised in Redis

    async def raised() -> bool:
        return await b.hold("local", UP, remember=False) == (True, "opus")

    await eventually(raised)  # b learned it from the channel, and answers from memory
    assert await b.hold("local", UP) == (True, "opus")


@pytest.mark.asyncio
async def test_a_dry_run_that_was_not_raised_is_not_remembered(followers: tuple[Follower, Follower]) -> None:
    a, _ = followers
    assert await a.hold("local", UP, remember=False) == (False, None)
    assert await a.hold("local", UP, remember=False) == (False, None)  # Redis may hold nothing: ask again


@pytest.mark.asyncio
async def test_the_memory_is_dropped_when_the_subscription_is_lost(
    followers: tuple[Follower, Follower], redis_url: str
) -> None:
    a, _ = followers
    assert await a.hold("local", UP) == (False, None)
    assert await a.hold("local", UP) == (True, None)
    killer = redis.Redis.from_url(redis_url)
    assert killer.client_kill_filter(_type="pubsub") >= 1  # messages sent now would be lost
    killer.close()

    async def back() -> bool:
        return a.link.outages == 1 and a.link.up and a.channels.subscribed

    await eventually(back)
    assert await a.hold("local", UP) == (False, None)  # asked again
    assert await a.hold("local", UP) == (True, None)
