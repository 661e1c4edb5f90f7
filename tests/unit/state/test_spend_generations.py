"""Shared spend when Redis loses its data, or comes back with it, on a real redis-server restarted in the
test: once every process has synced again, Redis and each mirror hold exactly what was spent (a cap set
just above it is not reached), even when a sync's reply was lost or a sync was cut off around the restart.

    one spends $1, two $2, both synced → Redis restarts empty → one spends $4, two $8 → both sync → $15
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio
import redis

from tests.engines import RedisServer
from tests.unit.state.test_spend import losing_replies
from tiergate.state.link import DOWN, RedisLink, text_of
from tiergate.state.spend import SharedSpend, totals
from tiergate.telemetry.spend import Calendar

NOW = 1_764_763_200.0  # 2025-12-03 12:00 UTC
CAL = Calendar()
OPUS_DAY = ("tier", "opus", "daily", "2025-12-03")
OPUS_MONTH = ("tier", "opus", "monthly", "2025-12")
PREFIX = "gen"


@pytest.fixture
def server() -> Iterator[RedisServer]:
    """A Redis of the test's own, to restart."""
    own = RedisServer().start()
    yield own
    own.stop()


@pytest_asyncio.fixture
async def pair(server: RedisServer) -> AsyncIterator[tuple[SharedSpend, SharedSpend]]:
    links = [RedisLink(server.url, prefix=PREFIX, retry_interval=0.05) for _ in range(2)]
    for link in links:
        await link.start()
    yield SharedSpend(links[0], clock=lambda: NOW), SharedSpend(links[1], clock=lambda: NOW)
    for link in links:
        await link.aclose()


def restart_empty(server: RedisServer) -> None:
    server.kill()
    server.start()  # the same port, nothing in it (no persistence)


def restart_from_snapshot(server: RedisServer) -> None:
    """Stop Redis without saving and start it again: it loads its last snapshot (``SAVE``), if any."""
    client = redis.Redis(host="127.0.0.1", port=server.port)
    client.shutdown(nosave=True)
    client.close()
    assert server.proc is not None and server.proc.stdout is not None
    server.proc.wait(10)
    server.proc.stdout.close()
    server.start()


def save(server: RedisServer) -> None:
    client = redis.Redis(host="127.0.0.1", port=server.port)
    client.save()
    client.close()


def in_redis(server: RedisServer) -> tuple[float, float]:
    """Opus's day and month as Redis holds them."""
    client = redis.Redis(host="127.0.0.1", port=server.port)
    try:
        got = []
        for key in (f"{PREFIX}:spend:daily:2025-12-03", f"{PREFIX}:spend:monthly:2025-12"):
            fields = ((text_of(name), float(usd)) for name, usd in client.hgetall(key).items())
            got.append(totals(fields).get(("tier", "opus"), 0.0))
        return got[0], got[1]
    finally:
        client.close()


def spend(on: SharedSpend, usd: float) -> None:
    on.add(CAL.keys(NOW, "opus", "ci"), usd)


async def synced(on: SharedSpend) -> None:
    """Sync once Redis answers again (the link's probe notices it first)."""
    for _ in range(200):
        if on.link.up and await on.sync():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the spend never synced with Redis again")


async def settled(server: RedisServer, both: tuple[SharedSpend, SharedSpend], spent: float) -> None:
    for on in (*both, *both):
        await synced(on)
    assert in_redis(server) == pytest.approx((spent, spent))
    for on in both:
        assert (on.get(OPUS_DAY), on.get(OPUS_MONTH)) == pytest.approx((spent, spent))
        assert on.get(OPUS_DAY) < spent + 0.01  # a cap of the total and a cent is not reached


def cutting_off(link: RedisLink, monkeypatch: pytest.MonkeyPatch, after: int) -> None:
    """The link's call after the next ``after`` ones never reaches Redis (the connection breaks)."""
    real, seen = link.run, [0]

    async def run(op: Callable[[Any], Awaitable[Any]]) -> Any:
        seen[0] += 1
        if seen[0] == after + 1:
            return DOWN
        return await real(op)

    monkeypatch.setattr(link, "run", run)


@pytest.mark.asyncio
async def test_spend_after_redis_restarts_empty_is_counted_once(
    server: RedisServer, pair: tuple[SharedSpend, SharedSpend]
) -> None:
    one, two = pair
    spend(one, 1.0)
    spend(two, 2.0)
    for on in (one, two, one):
        await synced(on)
    restart_empty(server)
    spend(one, 4.0)
    spend(two, 8.0)
    await settled(server, pair, 15.0)
    spend(two, 16.0)  # and on from there
    await settled(server, pair, 31.0)


@pytest.mark.asyncio
async def test_a_sync_whose_reply_was_lost_before_redis_restarted_empty_is_counted_once(
    server: RedisServer, pair: tuple[SharedSpend, SharedSpend], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One's $4 reached Redis, its reply did not; two read it; Redis restarts empty: one still holds the $4 as
    not confirmed, two knew it as part of the total. Counted twice before the fix ($19)."""
    one, two = pair
    spend(one, 1.0)
    spend(two, 2.0)
    for on in (one, two, one):
        await synced(on)
    losing_replies(one.link, monkeypatch, 1)
    spend(one, 4.0)
    assert not await one.sync()
    await synced(two)
    assert two.get(OPUS_DAY) == pytest.approx(7.0)
    restart_empty(server)
    spend(two, 8.0)
    await settled(server, pair, 15.0)


@pytest.mark.asyncio
async def test_a_sync_cut_off_as_redis_returns_empty_is_counted_once(
    server: RedisServer, pair: tuple[SharedSpend, SharedSpend], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first sync after the restart reaches Redis, the call after it does not: what one carries over and
    what it spent since must still be counted once. Counted twice before the fix ($19)."""
    one, two = pair
    spend(one, 1.0)
    spend(two, 2.0)
    for on in (one, two, one):
        await synced(on)
    restart_empty(server)
    assert not await one.sync()  # the link finds the old connection dead
    for _ in range(200):
        if one.link.up:
            break
        await asyncio.sleep(0.05)
    spend(one, 4.0)
    cutting_off(one.link, monkeypatch, 1)
    assert not await one.sync()
    spend(two, 8.0)
    await settled(server, pair, 15.0)


@pytest.mark.asyncio
async def test_spend_while_redis_is_away_is_counted_once_when_it_returns_with_its_data(
    server: RedisServer, pair: tuple[SharedSpend, SharedSpend], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = pair
    spend(one, 1.0)
    spend(two, 2.0)
    for on in (one, two, one):
        await synced(on)
    losing_replies(one.link, monkeypatch, 1)
    spend(one, 4.0)
    assert not await one.sync()  # applied, not confirmed: sent again as Redis returns
    save(server)
    restart_from_snapshot(server)  # all it held, back
    spend(one, 8.0)
    spend(two, 16.0)
    await settled(server, pair, 31.0)


@pytest.mark.asyncio
async def test_spend_synced_after_redis_last_saved_is_counted_when_it_returns_with_older_data(
    server: RedisServer, pair: tuple[SharedSpend, SharedSpend]
) -> None:
    """Redis restarts from a snapshot older than the last syncs: the generation is the same, the sums are
    short. Under-counted before the fix ($3)."""
    one, two = pair
    spend(one, 1.0)
    spend(two, 2.0)
    for on in (one, two, one):
        await synced(on)
    save(server)
    spend(one, 4.0)
    spend(two, 8.0)
    for on in (one, two, one):
        await synced(on)
    restart_from_snapshot(server)
    await settled(server, pair, 15.0)
