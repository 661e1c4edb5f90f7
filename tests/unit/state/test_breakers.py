"""Breakers mirrored through a real Redis: what one process's breaker learns, the other's knows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
import pytest_asyncio

from tests.unit.resilience.test_breakers import status, target
from tiergate.resilience.breakers import Breakers
from tiergate.state.breakers import BreakerMirror
from tiergate.state.channels import Channels
from tiergate.state.link import RedisLink


@dataclass
class Process:
    link: RedisLink
    mirror: BreakerMirror
    breakers: Breakers
    channels: Channels


async def eventually(check: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


@pytest_asyncio.fixture
async def pair(redis_url: str, redis_prefix: str) -> AsyncIterator[tuple[Process, Process]]:
    made = []
    for _ in range(2):
        link = RedisLink(redis_url, prefix=redis_prefix)
        channels = Channels(link, poll=0.05)
        mirror = BreakerMirror(link, channels)
        breakers = Breakers(mirror=mirror)
        breakers.configure([target(fail_max=3, reset_timeout=30)])
        mirror.attach(breakers.apply, breakers.keys)
        await link.start()
        channels.start()
        made.append(Process(link, mirror, breakers, channels))
    await eventually(lambda: all(p.channels.subscribed for p in made))
    yield made[0], made[1]
    for p in made:
        await p.channels.aclose()
        await p.mirror.aclose()
        await p.link.aclose()


async def fail(p: Process) -> None:
    async def call() -> str:
        raise status(503)

    with pytest.raises(Exception, match="503"):
        await p.breakers.call(target(fail_max=3, reset_timeout=30), call)


@pytest.mark.asyncio
async def test_a_breaker_opened_in_one_process_is_open_in_the_other(pair: tuple[Process, Process]) -> None:
    a, b = pair
    t = target(fail_max=3, reset_timeout=30)
    for _ in range(3):
        await fail(a)
    assert a.breakers.state(t) == "open"
    await eventually(lambda: b.breakers.state(t) == "open")


@pytest.mark.asyncio
async def test_failures_in_both_processes_add_up(pair: tuple[Process, Process]) -> None:
    a, b = pair
    t = target(fail_max=3, reset_timeout=30)
    await fail(a)
    await fail(b)
    await asyncio.sleep(0.05)
    assert a.breakers.state(t) == b.breakers.state(t) == "closed"  # each has seen fewer than 3 itself
    await fail(a)
    await eventually(lambda: a.breakers.state(t) == "open" and b.breakers.state(t) == "open")


@pytest.mark.asyncio
async def test_a_trial_that_succeeds_closes_it_everywhere(pair: tuple[Process, Process]) -> None:
    a, b = pair
    t = target(fail_max=3, reset_timeout=30)
    for _ in range(3):
        await fail(a)
    await eventually(lambda: b.breakers.state(t) == "open")
    # B's own clock says the open time is past: its trial call succeeds.
    b.breakers._clock = lambda: time.time() + 31  # type: ignore[method-assign]
    assert b.breakers.state(t) == "half-open"

    async def ok() -> str:
        return "fine"

    assert await b.breakers.call(t, ok) == "fine"
    assert b.breakers.state(t) == "closed"
    await eventually(lambda: a.breakers.state(t) == "closed")


@pytest.mark.asyncio
async def test_a_process_that_starts_later_reads_the_open_state(
    pair: tuple[Process, Process], redis_url: str, redis_prefix: str
) -> None:
    a, _ = pair
    t = target(fail_max=3, reset_timeout=30)
    for _ in range(3):
        await fail(a)
    await asyncio.sleep(0.1)
    link = RedisLink(redis_url, prefix=redis_prefix)
    mirror = BreakerMirror(link, Channels(link))
    late = Breakers(mirror=mirror)
    late.configure([t])
    mirror.attach(late.apply, late.keys)
    await link.start()  # resyncs every known target
    try:
        assert late.state(t) == "open"
    finally:
        await link.aclose()
