"""One or two processes' links to one real Redis, each test under its own key prefix."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tiergate.state.link import RedisLink


@pytest_asyncio.fixture
async def link(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisLink]:
    """One process's link."""
    own = RedisLink(redis_url, prefix=redis_prefix)
    await own.start()
    yield own
    await own.aclose()


@pytest_asyncio.fixture
async def links(redis_url: str, redis_prefix: str) -> AsyncIterator[tuple[RedisLink, RedisLink]]:
    a, b = RedisLink(redis_url, prefix=redis_prefix), RedisLink(redis_url, prefix=redis_prefix)
    await a.start()
    await b.start()
    yield a, b
    await a.aclose()
    await b.aclose()
