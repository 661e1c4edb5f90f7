"""``bounded``: a stream's time limits count the upstream's time, not the time its client takes to read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.doubles import Clock
from tiergate.config.model import Breaker, Capabilities, Limits, Price, Retries, Timeouts
from tiergate.dispatch.streams import bounded
from tiergate.engine.targets import Target
from tiergate.errors import SlowReader, StreamTimeout, trips_breaker
from tiergate.wire import Finish, StreamEvent, TextDelta

URL = "http://127.0.0.1:11434"


class _Backend:
    name = "ollama"
    url = URL


def target(total: float) -> Target:
    return Target(
        tier="local",
        backend="ollama",
        model="qwen",
        capabilities=Capabilities(),
        price=Price(),
        timeouts=Timeouts(first_token=5, idle=5, total=total),
        retries=Retries(),
        breaker=Breaker(),
        limits=Limits(),
    )


async def upstream(clock: Clock, pieces: int, each: float) -> AsyncIterator[StreamEvent]:
    """An upstream that takes ``each`` seconds (on ``clock``) per piece."""
    for i in range(pieces):
        clock.advance(each)
        await asyncio.sleep(0)  # a real upstream's read: where an expired limit is noticed
        yield TextDelta(f"{i} ")
    yield Finish("stop")


@pytest.mark.asyncio
async def test_a_client_that_reads_slowly_does_not_run_out_the_upstreams_total() -> None:
    """Each event held 0.3 s by the client, three of them: 1.2 s in all against a total of 1 s, of which the
    upstream took 0.3 s. A slow reader used to end the stream with a 504 blamed on the upstream (and its
    breaker)."""
    clock = Clock()
    events = bounded(upstream(clock, 3, 0.1), target(1.0), _Backend(), clock=clock)  # type: ignore[arg-type]
    seen = []
    async for event in events:
        seen.append(event)
        clock.advance(0.3)  # the client reading
    assert seen == [TextDelta("0 "), TextDelta("1 "), TextDelta("2 "), Finish("stop")]


@pytest.mark.asyncio
async def test_an_upstream_that_runs_out_its_total_still_does() -> None:
    clock = Clock()
    events = bounded(upstream(clock, 3, 0.6), target(1.0), _Backend(), clock=clock)  # type: ignore[arg-type]
    with pytest.raises(StreamTimeout, match=r"took longer than 1s, retries included \(timeouts.total\)"):
        async for _ in events:
            pass


@pytest.mark.asyncio
async def test_a_reader_slower_than_the_total_again_ends_the_stream_without_blaming_the_upstream() -> None:
    """The connection, the target's concurrency slot and an Ollama slot are held while a client reads: a
    reader may add at most ``total`` to the upstream's own, then the stream ends, and no breaker counts it."""
    clock = Clock()
    events = bounded(upstream(clock, 5, 0.1), target(1.0), _Backend(), clock=clock)  # type: ignore[arg-type]
    seen = []
    slow = r"the client took over 1s to read the answer \(timeouts.total, as much again\)"
    with pytest.raises(SlowReader, match=slow) as ended:
        async for event in events:
            seen.append(event)
            clock.advance(0.6)  # 0.6 s a piece: the allowance of 1 s is spent after the second
    assert len(seen) == 3
    assert not trips_breaker(ended.value)


async def buffered(count: int) -> AsyncIterator[StreamEvent]:
    """An upstream whose events are all in the buffer already: reading the next one never waits."""
    for i in range(count):
        yield TextDelta(f"{i} ")
    yield Finish("stop")


@pytest.mark.asyncio
async def test_a_slow_reader_of_a_fast_upstream_is_stopped_too() -> None:
    """With every event already buffered, no wait ever runs out: the bound is checked as the reader returns."""
    clock = Clock()
    events = bounded(buffered(20), target(1.0), _Backend(), clock=clock)  # type: ignore[arg-type]
    seen = []
    with pytest.raises(SlowReader):
        async for event in events:
            seen.append(event)
            clock.advance(0.3)
    assert len(seen) == 7  # 1 s of its own total and 1 s more for the reader, 0.3 s an event
