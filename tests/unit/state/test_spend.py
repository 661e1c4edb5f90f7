"""Budgets' spend in a real Redis: what one process spends, another counts against the same cap; while
Redis is unreachable nothing is lost; the decision log's month is restored once, not once per process."""

from __future__ import annotations

import asyncio

import pytest

from tests.engines import RedisServer
from tiergate.state.link import RedisLink
from tiergate.state.spend import SharedSpend
from tiergate.telemetry.spend import Calendar, LocalSpend

NOW = 1_764_763_200.0  # 2025-12-03 12:00 UTC
CAL = Calendar()
OPUS_DAY = ("tier", "opus", "daily", "2025-12-03")
OPUS_MONTH = ("tier", "opus", "monthly", "2025-12")
CI_DAY = ("client", "ci", "daily", "2025-12-03")


def ledger(link: RedisLink) -> SharedSpend:
    return SharedSpend(link, clock=lambda: NOW)


@pytest.mark.asyncio
async def test_spend_in_one_process_is_counted_in_another(links: tuple[RedisLink, RedisLink]) -> None:
    one, two = ledger(links[0]), ledger(links[1])
    one.add(CAL.keys(NOW, "opus", "ci"), 1.25)
    two.add(CAL.keys(NOW, "opus", "dev"), 0.5)
    assert (one.get(OPUS_DAY), two.get(OPUS_DAY)) == (1.25, 0.5)  # each sees its own at once
    assert await one.sync() and await two.sync() and await one.sync()
    for spend in (one, two):
        assert spend.get(OPUS_DAY) == pytest.approx(1.75) and spend.get(OPUS_MONTH) == pytest.approx(1.75)
        assert spend.get(CI_DAY) == pytest.approx(1.25)
        assert spend.get(("client", "dev", "daily", "2025-12-03")) == pytest.approx(0.5)
    # What is added between syncs is on top of Redis's totals, and not counted twice after the next one.
    one.add(CAL.keys(NOW, "opus", "ci"), 1.0)
    assert one.get(OPUS_DAY) == pytest.approx(2.75)
    assert await one.sync()
    assert one.get(OPUS_DAY) == pytest.approx(2.75)
    assert await two.sync()
    assert two.get(OPUS_DAY) == pytest.approx(2.75)


@pytest.mark.asyncio
async def test_spend_added_while_redis_is_down_reaches_it_when_it_returns(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    link = RedisLink(redis_server.url, prefix=redis_prefix, retry_interval=0.05)
    other_link = RedisLink(redis_server.url, prefix=redis_prefix)
    await link.start()
    try:
        spend = ledger(link)
        redis_server.kill()
        spend.add(CAL.keys(NOW, "opus", "ci"), 2.0)
        assert not await spend.sync()
        assert spend.get(OPUS_DAY) == 2.0  # still counted here: the cap holds on this process
        redis_server.start()
        for _ in range(100):
            if link.up and await spend.sync():
                break
            await asyncio.sleep(0.05)
        await other_link.start()
        other = ledger(other_link)
        assert await other.sync()
        assert other.get(OPUS_DAY) == pytest.approx(2.0) and spend.get(OPUS_DAY) == pytest.approx(2.0)
    finally:
        await link.aclose()
        await other_link.aclose()


@pytest.mark.asyncio
async def test_the_months_spend_is_restored_by_one_process(links: tuple[RedisLink, RedisLink]) -> None:
    one, two = ledger(links[0]), ledger(links[1])
    assert await one.restore_into("2025-12") is one  # the first claims the month: its restore goes to Redis
    assert await two.restore_into("2025-12") is None  # the second finds it claimed


@pytest.mark.asyncio
async def test_without_redis_a_restore_fills_only_the_mirror(closed_port: int) -> None:
    link = RedisLink(f"redis://127.0.0.1:{closed_port}/0")
    await link.start()
    try:
        spend = ledger(link)
        into = await spend.restore_into("2025-12")
        assert isinstance(into, LocalSpend) and into is spend.local
    finally:
        await link.aclose()
