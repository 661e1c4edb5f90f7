"""Redis stalls (SIGSTOP, as a fork, a slow fsync or a network pause would) longer than ``state.timeout``
while two processes' spend syncs are on the wire: Redis applies them when it wakes, after the processes gave
up on them, and the syncs sent again as Redis returns must not count that spend a second time."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator

import pytest
import redis

from tests.engines import RedisServer
from tiergate.state.link import RedisLink, text_of
from tiergate.state.spend import SharedSpend, totals
from tiergate.telemetry.spend import Calendar

NOW = 1_764_763_200.0  # 2025-12-03 12:00 UTC
CAL = Calendar()
PREFIX = "stall"
TIMEOUT = 0.25


@pytest.fixture
def stalling_redis() -> Iterator[RedisServer]:
    """A Redis of the test's own, to stop and continue."""
    server = RedisServer().start()
    yield server
    if server.proc is not None and server.proc.poll() is None:
        os.kill(server.proc.pid, signal.SIGCONT)  # never leave it stopped
    server.stop()


def in_redis(server: RedisServer, name: tuple[str, str]) -> tuple[float, float]:
    """The day's and the month's total of ``name`` (scope, name) as Redis holds them."""
    client = redis.Redis(host="127.0.0.1", port=server.port)
    try:
        sums = []
        for key in (f"{PREFIX}:spend:daily:2025-12-03", f"{PREFIX}:spend:monthly:2025-12"):
            fields = ((text_of(k), float(v)) for k, v in client.hgetall(key).items())
            sums.append(totals(fields).get(name, 0.0))
        return sums[0], sums[1]
    finally:
        client.close()


async def synced(spend: SharedSpend) -> None:
    for _ in range(200):
        if spend.link.up and await spend.sync():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the spend never synced with Redis again")


@pytest.mark.asyncio
async def test_a_stall_longer_than_the_timeout_counts_no_spend_twice(stalling_redis: RedisServer) -> None:
    assert stalling_redis.proc is not None
    pid = stalling_redis.proc.pid
    links = [RedisLink(stalling_redis.url, prefix=PREFIX, timeout=TIMEOUT, retry_interval=0.05) for _ in range(2)]
    for link in links:
        await link.start()
    try:
        one, two = (SharedSpend(link, clock=lambda: NOW) for link in links)
        charged = 0.0

        def charge(spend: SharedSpend, usd: float) -> None:
            nonlocal charged
            spend.add(CAL.keys(NOW, "sonnet", "ci"), usd)
            charged += usd

        charge(one, 0.138)
        charge(two, 0.138)
        assert await one.sync() and await two.sync()
        for stall in range(2):
            charge(one, 1.0 + stall)
            charge(two, 0.5 + stall)
            os.kill(pid, signal.SIGSTOP)
            try:
                # Both transactions reach Redis's socket; both processes give up after ``state.timeout``.
                assert not any(await asyncio.gather(one.sync(), two.sync()))
                charge(one, 0.25)  # counted while Redis is away: sent once, with a later sync
                charge(two, 0.125)
                await asyncio.sleep(TIMEOUT)
            finally:
                os.kill(pid, signal.SIGCONT)
            for spend in (one, two, one, two):
                await synced(spend)
        day, month = in_redis(stalling_redis, ("tier", "sonnet"))
        assert (day, month) == pytest.approx((charged, charged))
        for spend in (one, two):
            assert spend.get(("tier", "sonnet", "daily", "2025-12-03")) == pytest.approx(charged)
    finally:
        os.kill(pid, signal.SIGCONT)
        for link in links:
            await link.aclose()
