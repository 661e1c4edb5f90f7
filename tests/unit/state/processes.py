"""Processes of one gateway as the shared pieces see them: a link and a channel subscription each, on one
real Redis, under the test's key prefix.

    async with subscribed(redis_url, prefix, lambda link, channels: SharedSwitch(link, channels)) as made:
        (link_a, channels_a, piece_a), (link_b, channels_b, piece_b) = made
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from tiergate.state.channels import Channels
from tiergate.state.link import RedisLink

T = TypeVar("T")


@asynccontextmanager
async def subscribed(
    redis_url: str, prefix: str, make: Callable[[RedisLink, Channels], T], count: int = 2
) -> AsyncIterator[list[tuple[RedisLink, Channels, T]]]:
    """``count`` processes, each with the piece ``make`` builds (before its channels start), once every
    one of them follows its channels; closed afterwards."""
    made = []
    for _ in range(count):
        link = RedisLink(redis_url, prefix=prefix, retry_interval=0.05)
        channels = Channels(link, poll=0.05)
        made.append((link, channels, make(link, channels)))
        await link.start()
        channels.start()

    async def ready() -> bool:
        return all(channels.subscribed for _, channels, _ in made)

    try:
        await eventually(ready)
        yield made
    finally:
        for link, channels, piece in made:
            close = getattr(piece, "aclose", None)
            if close is not None:
                await close()
            await channels.aclose()
            await link.aclose()


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def reaches(check: Callable[[], object], within: float = 5.0) -> None:
    """``eventually`` for a plain (not awaited) check."""

    async def done() -> bool:
        return bool(check())

    await eventually(done, within)
