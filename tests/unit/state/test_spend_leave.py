"""A process that stops cleanly leaves the shared spend: its ``in`` fields move to those of the process named
``gone`` in one script, on a real Redis. The totals do not change, the hashes do not grow with every
restart, and neither a late sync of the gone process nor a second leave counts anything twice.

    one spends $1, two $2 (and $0.5 unsent) → two stops → Redis holds one's in and gone's $2.5: $3.5
"""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
import redis

from tests.engines import RedisServer
from tiergate.state.link import RedisLink, text_of
from tiergate.state.spend import SEP, SharedSpend, totals
from tiergate.telemetry.spend import Calendar

NOW = 1_764_763_200.0  # 2025-12-03 12:00 UTC
CAL = Calendar()
OPUS_DAY = ("tier", "opus", "daily", "2025-12-03")
HASHES = ("spend:daily:2025-12-03", "spend:monthly:2025-12")


def spend(on: SharedSpend, usd: float, client: str = "ci") -> None:
    on.add(CAL.keys(NOW, "opus", client), usd)


def fields(redis_url: str, prefix: str) -> list[dict[str, float]]:
    """The day's and the month's hashes as Redis holds them."""
    client = redis.Redis.from_url(redis_url)
    try:
        return [
            {text_of(name): float(usd) for name, usd in client.hgetall(f"{prefix}:{key}").items()} for key in HASHES
        ]
    finally:
        client.close()


async def started(redis_url: str, redis_prefix: str) -> SharedSpend:
    """A process of its own (its own link): ``aclose`` it to stop it."""
    own = RedisLink(redis_url, prefix=redis_prefix)
    await own.start()
    return SharedSpend(own, clock=lambda: NOW)


async def stopped(on: SharedSpend) -> None:
    await on.aclose()
    await on.link.aclose()


@pytest.mark.asyncio
async def test_a_process_that_stops_moves_its_spend_to_gone(link: RedisLink, redis_url: str, redis_prefix: str) -> None:
    one, two = SharedSpend(link, clock=lambda: NOW), await started(redis_url, redis_prefix)
    spend(one, 1.0)
    spend(two, 2.0, client="dev")
    assert await one.sync() and await two.sync()
    spend(two, 0.5, client="dev")  # not synced before it stops: the leave carries it
    await stopped(two)
    for held in fields(redis_url, redis_prefix):
        assert held == {
            SEP.join(("in", one.process, "tier", "opus")): 1.0,
            SEP.join(("in", one.process, "client", "ci")): 1.0,
            SEP.join(("in", "gone", "tier", "opus")): 2.5,
            SEP.join(("in", "gone", "client", "dev")): 2.5,
        }
        assert totals(held.items()) == {("tier", "opus"): 3.5, ("client", "ci"): 1.0, ("client", "dev"): 2.5}
    assert await one.sync()
    assert one.get(OPUS_DAY) == pytest.approx(3.5)
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.exists(f"{redis_prefix}:spend:left:{two.process}") == 1
        assert 40 * 86_400 < client.ttl(f"{redis_prefix}:spend:left:{two.process}") <= 41 * 86_400
    finally:
        client.close()


@pytest.mark.asyncio
async def test_a_late_sync_or_a_second_leave_of_a_gone_process_counts_nothing_twice(
    link: RedisLink, redis_url: str, redis_prefix: str
) -> None:
    """A sync stuck in Redis's socket (a stall) can be applied after the process left: it writes nothing."""
    one, two = SharedSpend(link, clock=lambda: NOW), await started(redis_url, redis_prefix)
    spend(one, 1.0)
    spend(two, 2.0)
    assert await one.sync() and await two.sync()
    try:
        await two.aclose()
        left = fields(redis_url, redis_prefix)
        assert await two.sync()  # it still answers with the hashes, and raises nothing
        assert not await two.leave()
    finally:
        await two.link.aclose()
    assert fields(redis_url, redis_prefix) == left
    assert await one.sync()
    assert one.get(OPUS_DAY) == pytest.approx(3.0)


@pytest.mark.asyncio
async def test_restarts_do_not_grow_the_hashes(link: RedisLink, redis_url: str, redis_prefix: str) -> None:
    """Twenty workers, one after another, each spend $1 and stop; one runs throughout."""
    steady = SharedSpend(link, clock=lambda: NOW)
    spend(steady, 1.0)
    assert await steady.sync()
    for _ in range(20):
        worker = await started(redis_url, redis_prefix)
        spend(worker, 1.0)
        assert await worker.sync()
        await stopped(worker)
    for held in fields(redis_url, redis_prefix):
        assert sorted(held) == sorted(
            [
                SEP.join(("in", steady.process, "tier", "opus")),
                SEP.join(("in", steady.process, "client", "ci")),
                SEP.join(("in", "gone", "tier", "opus")),
                SEP.join(("in", "gone", "client", "ci")),
            ]
        )
        assert totals(held.items())[("tier", "opus")] == pytest.approx(21.0)
    assert await steady.sync()
    assert steady.get(OPUS_DAY) == pytest.approx(21.0)


@pytest.mark.asyncio
async def test_nothing_moves_when_redis_holds_another_generation(
    link: RedisLink, redis_url: str, redis_prefix: str
) -> None:
    """Redis lost its data (flushed) after the process's last sync: there is nothing of its to move."""
    on = SharedSpend(link, clock=lambda: NOW)
    spend(on, 1.0)
    assert await on.sync()
    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(f"{redis_prefix}:*"):
            client.delete(key)
        assert not await on.leave()
        assert list(client.scan_iter(f"{redis_prefix}:*")) == []
    finally:
        client.close()


@pytest.mark.asyncio
async def test_a_process_that_spent_nothing_leaves_no_marker(
    link: RedisLink, redis_url: str, redis_prefix: str
) -> None:
    on = SharedSpend(link, clock=lambda: NOW)
    assert await on.sync()
    assert not await on.leave()
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.exists(f"{redis_prefix}:spend:left:{on.process}") == 0
    finally:
        client.close()


@pytest.mark.asyncio
async def test_a_process_stopping_while_redis_stalls_still_counts_once() -> None:
    """Its last sync reaches Redis's socket and times out, so it does not leave; Redis wakes and applies
    the sync late. Its spend counts once, in its own fields; a leave afterwards moves it once."""
    server = RedisServer().start()
    link = RedisLink(server.url, prefix="stall", timeout=0.2, retry_interval=0.05)
    await link.start()
    assert server.proc is not None
    try:
        on = SharedSpend(link, clock=lambda: NOW)
        spend(on, 1.0)
        assert await on.sync()
        spend(on, 2.0)  # sent only by the last sync
        os.kill(server.proc.pid, signal.SIGSTOP)
        try:
            await on.aclose()  # the sync times out: it returns without leaving
        finally:
            os.kill(server.proc.pid, signal.SIGCONT)
        mine = SEP.join(("in", on.process, "tier", "opus"))
        for _ in range(100):  # until Redis has read the late sync from its socket
            if fields(server.url, "stall")[0].get(mine) == 3.0:
                break
            await asyncio.sleep(0.02)
        assert [held.get(mine) for held in fields(server.url, "stall")] == [3.0, 3.0]
        assert not any("gone" in name for held in fields(server.url, "stall") for name in held)
        # Left once the link sees Redis again (its probe): the move is counted once
        for _ in range(100):
            if link.up:
                break
            await asyncio.sleep(0.02)
        assert await on.leave() and not await on.leave()
        gone = SEP.join(("in", "gone", "tier", "opus"))
        assert [(held.get(mine), held.get(gone)) for held in fields(server.url, "stall")] == [(None, 3.0)] * 2
    finally:
        await link.aclose()
        server.stop()
