"""One pub/sub subscription per process on a real Redis: each channel's messages go to its piece, ``ready``
runs once the subscription is confirmed (and again after it was lost), and a message a piece cannot read
does not end the subscription."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest
import redis

from tiergate.state.channels import Channels
from tiergate.state.link import RedisLink


async def eventually(check: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_messages_reach_their_channel_and_a_bad_one_is_skipped(
    redis_url: str, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    link = RedisLink(redis_url, prefix=redis_prefix, retry_interval=0.05)
    channels = Channels(link, poll=0.05)
    got: dict[str, list[bytes]] = {"a": [], "b": []}
    readied: list[bool] = []

    def on_a(data: bytes) -> None:
        if data == b"bad":
            raise ValueError(data)
        got["a"].append(data)

    async def ready() -> None:
        readied.append(channels.subscribed)  # not yet: subscribed says so only once ready has run

    channels.add(link.key("a"), on_a, ready=ready)
    channels.add(link.key("b"), got["b"].append)
    publisher = redis.Redis.from_url(redis_url)
    await link.start()
    channels.start()
    try:
        await eventually(lambda: channels.subscribed)
        assert readied == [False]
        with caplog.at_level(logging.WARNING, logger="tiergate.state"):
            publisher.publish(link.key("a"), b"bad")
            publisher.publish(link.key("a"), b"one")
            publisher.publish(link.key("b"), b"two")
            publisher.publish(f"{redis_prefix}x:a", b"not ours")  # another gateway's prefix
            await eventually(lambda: got == {"a": [b"one"], "b": [b"two"]})
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
            f"shared state: ignored a message on {link.key('a')} that is not ours"
        ]
        # Lost (here: killed by Redis), then back: ready runs again before anything is trusted.
        assert publisher.client_kill_filter(_type="pubsub") >= 1
        await eventually(lambda: len(readied) == 2 and channels.subscribed)
        publisher.publish(link.key("b"), b"three")
        await eventually(lambda: got["b"] == [b"two", b"three"])
    finally:
        publisher.close()
        await channels.aclose()
        await link.aclose()
