"""Spend Redis never got: a process that counted it while Redis was unreachable to it, and stopped (or was
killed) before Redis returned. On a real Redis, with the decision log's month given as a reader.

A stopping process tries Redis once more, longer than ``state.timeout``, even while its link is down; what it
cannot send it names in a warning. A running process brings the shared totals up to the decision log's
(:meth:`SharedSpend.reconcile`) without counting twice what a process that is only cut off sends later.

    x spends $1 (shared) + $2 (Redis unreachable to it), stops → Redis $1; the log $3
    y reconciles → $3; y spends $0.5 → $3.5; x, still alive after all, comes back → $3.5, not $5.5
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from tests.engines import free_port
from tiergate.state.link import RedisLink
from tiergate.state.spend import SharedSpend
from tiergate.telemetry.spend import Calendar, SpendLedger

NOW = 1_764_763_200.0  # 2025-12-03 12:00 UTC
CAL = Calendar()
OPUS_MONTH = ("tier", "opus", "monthly", "2025-12")
OPUS_DAY = ("tier", "opus", "daily", "2025-12-03")


def spend(on: SharedSpend, usd: float, client: str = "ci") -> None:
    on.add(CAL.keys(NOW, "opus", client), usd)


def the_log(usd: Callable[[], float]) -> Callable[[SpendLedger], int | None]:
    """A decision log whose month holds ``usd()`` of tier opus, client ci, today."""

    def read(into: SpendLedger) -> int | None:
        into.add(CAL.keys(NOW, "opus", "ci"), usd())
        return 1

    return read


async def process(
    redis_url: str, redis_prefix: str, clock: Callable[[], float] = lambda: NOW, **settings: float
) -> SharedSpend:
    own = RedisLink(redis_url, prefix=redis_prefix, retry_interval=60.0)  # no probe brings it back in a test
    await own.start()
    return SharedSpend(own, clock=clock, interval=0.05, **settings)


def cut_off(on: SharedSpend) -> None:
    """Redis unreachable to this process only: its link goes down as after a timed-out call."""
    on.link.failed(TimeoutError())


@pytest.mark.asyncio
async def test_a_process_stopping_while_its_link_is_down_sends_its_spend_once_more(
    redis_url: str, redis_prefix: str
) -> None:
    x, y = await process(redis_url, redis_prefix), await process(redis_url, redis_prefix)
    try:
        spend(x, 1.0)
        assert await x.sync()
        cut_off(x)
        spend(x, 2.0)
        assert not await x.sync()  # the link is down: nothing is tried on it
        await x.aclose()  # one more try, on a client of its own: Redis answers it
        assert await y.sync()
        assert (y.get(OPUS_DAY), y.get(OPUS_MONTH)) == (pytest.approx(3.0), pytest.approx(3.0))
    finally:
        await x.link.aclose()
        await y.aclose()
        await y.link.aclose()


@pytest.mark.asyncio
async def test_a_process_that_cannot_reach_redis_as_it_stops_says_what_it_leaves_unshared(
    redis_url: str, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    x = await process(redis_url, redis_prefix)
    x.reconcile_every = 600.0
    x.log_reader = the_log(lambda: 3.0)
    try:
        spend(x, 1.0)
        assert await x.sync()
        cut_off(x)
        spend(x, 2.0)
        spend(x, 0.25, client="dev")
        x.link.url = f"redis://127.0.0.1:{free_port()}/0"  # the last try finds nobody
        with caplog.at_level(logging.WARNING, logger="tiergate.budgets"):
            await x.aclose()
    finally:
        await x.link.aclose()
    assert [r.getMessage() for r in caplog.records if r.name == "tiergate.budgets"] == [
        f"budgets: Redis at {redis_url} did not answer as this process stopped: $2.2500 of spend it counted this "
        "month (tier 'opus' $2.2500) is not in the shared budgets; a running process adds it from the decision "
        "log within 600 s, or a process that starts does"
    ]


@pytest.mark.asyncio
async def test_reconciling_brings_the_shared_total_up_to_the_log_and_counts_nothing_twice(
    redis_url: str, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """x is cut off with $2 unshared; y reconciles against the log ($1 + $2): $3. x was not dead after all:
    when it returns, its $2 is not added a second time. Spend after the reconciliation adds up as usual."""
    x, y = await process(redis_url, redis_prefix), await process(redis_url, redis_prefix)
    logged = [3.0]
    y.log_reader = the_log(lambda: logged[0])
    try:
        spend(x, 1.0)
        assert await x.sync() and await y.sync()
        cut_off(x)
        spend(x, 2.0)
        assert y.get(OPUS_MONTH) == pytest.approx(1.0)
        with caplog.at_level(logging.WARNING, logger="tiergate.budgets"):
            short = await y.reconcile()
        assert short == {
            (scope, name, period, label): (1.0, 3.0) for scope, name, period, label in CAL.keys(NOW, "opus", "ci")
        }
        assert [r.getMessage() for r in caplog.records if r.name == "tiergate.budgets"] == [
            "budgets: this month's shared spend was short of the decision log's (client 'ci' $1.0000 shared, "
            "$3.0000 logged, tier 'opus' $1.0000 shared, $3.0000 logged): spend that a process counted and "
            "could not share (Redis was unreachable to it as it stopped, or it was killed); the shared totals "
            "start again from the decision log's, and each running process adds what it counted, once"
        ]
        assert await y.sync()
        assert (y.get(OPUS_DAY), y.get(OPUS_MONTH)) == (pytest.approx(3.0), pytest.approx(3.0))
        spend(y, 0.5)
        logged[0] = 3.5
        assert await y.sync()
        assert y.get(OPUS_MONTH) == pytest.approx(3.5)
        assert await y.reconcile() == {}  # nothing short: nothing done
        x.link.up = True  # Redis reachable to x again: it sends what it counted, into the new generation
        spend(x, 0.25)
        assert await x.sync() and await y.sync()
        assert (x.get(OPUS_MONTH), y.get(OPUS_MONTH)) == (pytest.approx(3.75), pytest.approx(3.75))
        assert (x.get(OPUS_DAY), y.get(OPUS_DAY)) == (pytest.approx(3.75), pytest.approx(3.75))
    finally:
        for on in (x, y):
            await on.aclose()
            await on.link.aclose()


@pytest.mark.asyncio
async def test_a_process_reconciles_once_it_has_synced_and_then_every_interval_by_turns(
    redis_url: str, redis_prefix: str
) -> None:
    """``reconcile_with(now=True)``: right after its first sync (a process that did not restore the month);
    then one process per ``reconcile_every``, whichever takes the month's turn."""
    x, y = await process(redis_url, redis_prefix), await process(redis_url, redis_prefix)
    reads: list[str] = []

    def counting(name: str) -> Callable[[SpendLedger], int | None]:
        def read(into: SpendLedger) -> int | None:
            reads.append(name)
            return 1

        return read

    clock = [NOW]
    for on in (x, y):
        on.clock = lambda: clock[0]
    x.reconcile_with(counting("x"), now=True)
    y.reconcile_with(counting("y"), now=False)
    x.start()
    y.start()
    try:
        for _ in range(100):
            if reads:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        assert reads == ["x"]
        clock[0] += 601  # both are due; one takes the turn
        for _ in range(100):
            if len(reads) == 2:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        assert len(reads) == 2 and reads[1] in ("x", "y")
    finally:
        for on in (x, y):
            await on.aclose()
            await on.link.aclose()


@pytest.mark.asyncio
async def test_a_process_cut_off_past_silence_across_a_reconciliation_is_counted_once(
    redis_url: str, redis_prefix: str
) -> None:
    """x shares $1, is cut off and spends $2; y reconciles ($3, a new generation, x's $1 carried over), then
    finds x silent for longer than ``silence``. x has nothing in the new generation to move: marking it moved
    made it rejoin under a new name and count its $1 a second time ($4) when it came back."""
    now = [NOW]

    x, y = [await process(redis_url, redis_prefix, lambda: now[0], silence=10.0) for _ in range(2)]
    y.log_reader = the_log(lambda: 3.0)
    try:
        spend(x, 1.0)
        assert await x.sync() and await y.sync()
        cut_off(x)
        spend(x, 2.0)
        assert await y.reconcile()
        assert await y.sync() and y.get(OPUS_MONTH) == pytest.approx(3.0)
        for _ in range(8):  # y syncs for 16 s; x stays silent
            now[0] += 2.0
            assert await y.sync()
        await y.fold_silent()
        x.link.up = True
        assert await x.sync() and await y.sync()
        assert (x.get(OPUS_MONTH), y.get(OPUS_MONTH)) == (pytest.approx(3.0), pytest.approx(3.0))
    finally:
        for on in (x, y):
            await on.aclose()
            await on.link.aclose()
