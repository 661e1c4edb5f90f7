"""Budgets' spend in a real Redis: what one process spends, another counts against the same cap; while
Redis is unreachable nothing is lost; the decision log's month is restored once, not once per process;
Redis coming back empty resets nothing and doubles nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.doubles import Clock
from tests.engines import RedisServer
from tests.unit.telemetry.test_spend import SONNET, SUNDAY, record
from tiergate.state.link import DOWN, RedisLink
from tiergate.state.spend import SharedSpend
from tiergate.telemetry.decisions import DecisionLog
from tiergate.telemetry.postgres import PostgresDecisionLog
from tiergate.telemetry.spend import Calendar, restore
from tiergate.wire import Usage

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
    into = await one.restore_into("2025-12")  # the first claims the month: its restore goes to Redis
    assert into is not None and await two.restore_into("2025-12") is None  # the second finds it claimed
    into.add(CAL.keys(NOW, "opus", "ci"), 2.0)
    await asyncio.sleep(0)  # the restore's sums reach the mirror on the event loop
    assert one.get(OPUS_DAY) == 2.0
    assert await one.sync() and await two.sync()
    assert two.get(OPUS_DAY) == 2.0 and one.get(OPUS_DAY) == 2.0


@pytest.mark.asyncio
async def test_a_month_begun_by_running_processes_is_not_restored_on_top_of_their_spend(
    links: tuple[RedisLink, RedisLink],
) -> None:
    one = ledger(links[0])  # running since last month: it never restored this one
    one.add(CAL.keys(NOW, "opus", "ci"), 2.0)
    assert await one.sync()
    assert await ledger(links[1]).restore_into("2025-12") is None  # its first sync claimed the month


@pytest.mark.asyncio
async def test_without_redis_a_restore_fills_only_the_mirror(closed_port: int) -> None:
    link = RedisLink(f"redis://127.0.0.1:{closed_port}/0")
    await link.start()
    try:
        spend = ledger(link)
        into = await spend.restore_into("2025-12")
        assert into is not None
        into.add(CAL.keys(NOW, "opus", "ci"), 2.0)
        await asyncio.sleep(0)
        assert spend.get(OPUS_DAY) == 2.0 and not await spend.sync()
    finally:
        await link.aclose()


# --- a sync whose reply never came ----------------------------------------------------------------


def losing_replies(link: RedisLink, monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    """The link's next ``count`` calls reach Redis and their replies are lost, as when Redis stalls longer than
    ``state.timeout`` with the call in its socket: the caller sees DOWN, Redis applies the call all the same."""
    real, left = link.run, [count]

    async def run(op: Callable[[Any], Awaitable[Any]]) -> Any:
        got = await real(op)
        if left[0] > 0:
            left[0] -= 1
            return DOWN
        return got

    monkeypatch.setattr(link, "run", run)


@pytest.mark.asyncio
async def test_a_sync_sent_again_after_its_reply_was_lost_counts_once(
    links: tuple[RedisLink, RedisLink], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = ledger(links[0]), ledger(links[1])
    assert await one.sync()
    losing_replies(links[0], monkeypatch, 1)
    one.add(CAL.keys(NOW, "opus", "ci"), 1.25)
    assert not await one.sync()  # Redis applied it; this process cannot know
    assert await two.sync() and two.get(OPUS_DAY) == 1.25
    one.add(CAL.keys(NOW, "opus", "ci"), 0.5)  # meanwhile: sent with the same sync as the first again
    assert await one.sync()
    assert await two.sync()
    for spend in (one, two):
        assert spend.get(OPUS_DAY) == pytest.approx(1.75) and spend.get(OPUS_MONTH) == pytest.approx(1.75)
        assert spend.get(CI_DAY) == pytest.approx(1.75)


@pytest.mark.asyncio
async def test_syncs_whose_replies_were_lost_count_each_sum_once(
    links: tuple[RedisLink, RedisLink], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = ledger(links[0]), ledger(links[1])
    assert await one.sync()
    losing_replies(links[0], monkeypatch, 2)
    one.add(CAL.keys(NOW, "opus", "ci"), 1.0)
    assert not await one.sync()  # applied, unconfirmed
    one.add(CAL.keys(NOW, "opus", "ci"), 2.0)
    assert not await one.sync()  # applied again with the new sum, unconfirmed
    one.add(CAL.keys(NOW, "opus", "ci"), 4.0)
    assert await one.sync() and one.get(OPUS_DAY) == pytest.approx(7.0)
    assert await two.sync() and two.get(OPUS_DAY) == pytest.approx(7.0)


@pytest.mark.asyncio
async def test_spend_counted_while_redis_is_down_is_sent_once(closed_port: int) -> None:
    link = RedisLink(f"redis://127.0.0.1:{closed_port}/0")
    await link.start()
    try:
        spend = ledger(link)
        spend.add(CAL.keys(NOW, "opus", "ci"), 1.0)
        assert not await spend.sync()  # Redis is down: nothing went out
        spend.add(CAL.keys(NOW, "opus", "ci"), 2.0)
        assert not await spend.sync()
        assert spend.get(OPUS_DAY) == 3.0
    finally:
        await link.aclose()


# --- Redis coming back empty ----------------------------------------------------------------------

MONTH = "2025-03"
SONNET_DAY = ("tier", "sonnet", "daily", "2025-03-30")
SONNET_MONTH = ("tier", "sonnet", "monthly", "2025-03")
LATER = SUNDAY + 60


def write_log(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A decision log (SQLite file or PostgreSQL) holding sonnet's $3 of yesterday and $1.50 of today."""
    clock = Clock(SUNDAY - 86_400)
    if kind == "postgres":
        where: str = request.getfixturevalue("postgres_url")
        dlog: DecisionLog = PostgresDecisionLog.open(where, clock=clock, max_rows=None, max_age_days=None)
    else:
        where = str(tmp_path / "decisions.db")
        dlog = DecisionLog.open(where, clock=clock, max_rows=None, max_age_days=None, linger=0)
    dlog.observe(record(SONNET, Usage.of(1_000_000, 0), decision_id="yesterday"))
    clock.now = SUNDAY
    dlog.observe(record(SONNET, Usage.of(0, 100_000), decision_id="today"))
    dlog.close()
    return where


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis of the test's own, to restart empty (no persistence), as `redis-cli shutdown nosave` would."""
    server = RedisServer().start()
    yield server
    server.stop()


async def start(server: RedisServer, links: list[RedisLink]) -> SharedSpend:
    link = RedisLink(server.url, prefix="t", retry_interval=0.05)
    await link.start()
    links.append(link)
    return SharedSpend(link, clock=lambda: LATER)


async def synced(spend: SharedSpend) -> None:
    """Sync once Redis answers again (the link's probe notices it first)."""
    for _ in range(200):
        if spend.link.up and await spend.sync():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the spend never synced with Redis again")


async def restored(spend: SharedSpend, where: str) -> bool:
    """As the app's start-up does: the month's spend from the log, if this process claims it."""
    into = await spend.restore_into(MONTH)
    if into is not None:
        await asyncio.to_thread(restore, into, where, CAL, LATER)
    return into is not None


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_spend_survives_redis_restarting_empty(
    own_redis: RedisServer, tmp_path: Path, request: pytest.FixtureRequest, kind: str
) -> None:
    where, links = write_log(kind, tmp_path, request), list[RedisLink]()
    try:
        one, two = await start(own_redis, links), await start(own_redis, links)
        assert await restored(one, where) and not await restored(two, where)
        one.add(CAL.keys(LATER, "sonnet", "ci"), 0.25)
        assert await one.sync() and await two.sync() and await one.sync()
        for spend in (one, two):
            assert (spend.get(SONNET_DAY), spend.get(SONNET_MONTH)) == pytest.approx((1.75, 4.75))
        own_redis.kill()
        own_redis.start()  # the same port, nothing in it
        two.add(CAL.keys(LATER, "sonnet", "ci"), 0.25)  # while Redis was away: sent once it returns
        for spend in (one, two, one, two):
            await synced(spend)
        for spend in (one, two):  # nothing reset, nothing counted twice
            assert (spend.get(SONNET_DAY), spend.get(SONNET_MONTH)) == pytest.approx((2.0, 5.0))
        # A process started now finds the month claimed again, and the same totals.
        three = await start(own_redis, links)
        assert not await restored(three, where)
        assert await three.sync()
        assert (three.get(SONNET_DAY), three.get(SONNET_MONTH)) == pytest.approx((2.0, 5.0))
    finally:
        for link in links:
            await link.aclose()


@pytest.mark.asyncio
async def test_a_process_started_after_redis_lost_its_data_restores_the_log_beside_the_running_ones(
    own_redis: RedisServer, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The newcomer claims the month before the running process syncs: the log's month and what the running
    one knew overlap, and are counted once."""
    where, links = write_log("sqlite", tmp_path, request), list[RedisLink]()
    try:
        one = await start(own_redis, links)
        assert await restored(one, where)
        one.add(CAL.keys(LATER, "sonnet", "ci"), 0.25)  # in Redis, not in the log
        assert await one.sync()
        own_redis.kill()
        own_redis.start()
        newcomer = await start(own_redis, links)
        assert await restored(newcomer, where)  # the month's marker went with the data: the newcomer claims it
        for spend in (newcomer, one, newcomer):
            await synced(spend)
        for spend in (one, newcomer):
            assert (spend.get(SONNET_DAY), spend.get(SONNET_MONTH)) == pytest.approx((1.75, 4.75))
    finally:
        for link in links:
            await link.aclose()


@pytest.mark.asyncio
async def test_a_restore_made_while_redis_was_down_reaches_redis_when_it_returns_empty(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    where, links = write_log("sqlite", tmp_path, request), list[RedisLink]()
    server = RedisServer()  # not started yet: the gateway starts without Redis
    try:
        spend = await start(server, links)
        assert await restored(spend, where)  # into the mirror: the cap holds while Redis is away
        assert (spend.get(SONNET_DAY), spend.get(SONNET_MONTH)) == (1.5, 4.5)
        server.start()
        await synced(spend)
        await synced(spend)
        assert (spend.get(SONNET_DAY), spend.get(SONNET_MONTH)) == pytest.approx((1.5, 4.5))
        other = await start(server, links)
        assert not await restored(other, where)  # this process claimed the month as Redis returned
        assert await other.sync()
        assert (other.get(SONNET_DAY), other.get(SONNET_MONTH)) == pytest.approx((1.5, 4.5))
    finally:
        for link in links:
            await link.aclose()
        server.stop()
