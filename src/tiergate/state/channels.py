"""One pub/sub subscription per process, for the shared pieces that follow what other processes change.

A piece that keeps a copy of shared state in memory (the breakers; the sticky sessions this process
has served) names a channel, what to do with each message on it, and what to do once the
subscription is in place (``ready``: read again whatever may have changed while there was none) or
when it is lost (``lost``: stop trusting the copy). Messages published while a process is not
subscribed never reach it, which is why both exist.

The subscription is taken while the link is up and dropped when it goes down; it is confirmed by
Redis before ``ready`` runs, so nothing published after ``ready`` read its state can be missed.

    channels = Channels(link)
    channels.add(link.key("breakers"), on_message, ready=resync, lost=forget)
    channels.start()            # in the app's lifespan, after link.start(); ``await channels.aclose()``
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from tiergate.state.link import RedisLink, text_of

log = logging.getLogger("tiergate.state")


@dataclass(frozen=True)
class _Channel:
    name: str
    on_message: Callable[[bytes], None]
    ready: Callable[[], Awaitable[None]] | None
    lost: Callable[[], None] | None


class Channels:
    def __init__(self, link: RedisLink, *, poll: float = 1.0) -> None:
        self.link = link
        self.poll = poll
        #: True while every channel is subscribed and each piece's ``ready`` has run.
        self.subscribed = False
        self._channels: dict[str, _Channel] = {}
        self._listener: asyncio.Task[None] | None = None
        self._closed = False

    def add(
        self,
        channel: str,
        on_message: Callable[[bytes], None],
        *,
        ready: Callable[[], Awaitable[None]] | None = None,
        lost: Callable[[], None] | None = None,
    ) -> None:
        """Follow ``channel`` (before :meth:`start`)."""
        self._channels[channel] = _Channel(channel, on_message, ready, lost)

    def start(self) -> asyncio.Task[None]:
        self._listener = asyncio.get_running_loop().create_task(self._listen())
        return self._listener

    async def _listen(self) -> None:
        """Subscribe whenever Redis is up; a dropped subscription waits for the link to come back."""
        while not self._closed:
            if not self.link.up or not self._channels:
                await asyncio.sleep(min(self.poll, self.link.retry_interval))
                continue
            client = aioredis.Redis.from_url(
                self.link.url, socket_connect_timeout=self.link.timeout, retry=Retry(NoBackoff(), 0)
            )
            try:
                async with client.pubsub() as pubsub:
                    await self._subscribe(pubsub)
                    for channel in self._channels.values():
                        if channel.ready is not None:
                            await channel.ready()  # whatever changed before the subscription took
                    self.subscribed = True
                    while not self._closed and self.link.up:
                        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=self.poll)
                        if message is not None:
                            self._receive(message)
            except (RedisError, OSError, TimeoutError) as exc:
                if not self._closed:
                    self.link.failed(exc)
            finally:
                self._drop()
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def _subscribe(self, pubsub: PubSub) -> None:
        """Subscribe to every channel and wait until Redis confirms each."""
        await pubsub.subscribe(*self._channels)
        pending = set(self._channels)
        async with asyncio.timeout(self.link.timeout * 4):
            while pending:
                message = await pubsub.get_message(timeout=self.link.timeout)
                if message is None:
                    continue
                if message.get("type") == "subscribe":
                    pending.discard(text_of(message.get("channel")))
                else:
                    self._receive(message)

    def _receive(self, message: dict[str, Any]) -> None:
        channel = self._channels.get(text_of(message.get("channel")))
        data = message.get("data")
        if channel is None or not isinstance(data, bytes):
            return
        try:
            channel.on_message(data)
        except Exception:  # one bad message must not end the subscription
            log.warning("shared state: ignored a message on %s that is not ours", channel.name)

    def _drop(self) -> None:
        was, self.subscribed = self.subscribed, False
        for channel in self._channels.values():
            if channel.lost is not None and was:
                channel.lost()

    async def aclose(self) -> None:
        self._closed = True
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
