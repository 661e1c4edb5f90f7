"""Sticky sessions in Redis: a conversation keeps its highest tier on every replica.

One Lua call reads the session's tier and, unless it ranks higher than this request's, records this
one (refreshing the TTL either way). The caller passes the tiers that rank above the routed one, so
the script needs no copy of the rules. When the call raises a stored tier, the script publishes the
new one on the sessions channel.

Each process keeps a copy of the sessions it has served (the *mirror*), kept current by those
messages. While the process is subscribed (:mod:`tiergate.state.channels`), a session in the mirror is
answered from memory and the call goes out without waiting (:meth:`RedisLink.evalsha_later`): a raise at
the end of the event loop's turn, a refresh with the process's next Redis command or ``REFRESH_WITHIN``
seconds later. Only a session this process does not hold, a conversation's first turn here, waits for
Redis. A raise is published before the turn that made it is answered, so the
conversation's next turn finds it on whichever replica it reaches (unless Redis takes longer to
deliver a message than the model takes to answer). The mirror is emptied whenever the subscription
was lost, since messages may have been missed, and is not used until it is back.

    shared = SharedSessions(link, channels)
    previous = await shared.hold(key, "local", above=["sonnet", "opus"], ttl=3600, remember=True)
    previous is DOWN      # use the in-process store
    previous == "opus"    # the session is already on opus: raise to it
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from cachetools import TTLCache

from tiergate.state.channels import Channels
from tiergate.state.link import Down, RedisLink
from tiergate.state.resp import Script

HOLD = Script("""
local prev = redis.call('GET', KEYS[1])
local raised = false
if prev then
  for i = 6, #ARGV do
    if ARGV[i] == prev then raised = true end
  end
end
if ARGV[3] == '1' then
  if raised then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  else
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    if prev and prev ~= ARGV[1] then redis.call('PUBLISH', ARGV[4], ARGV[5] .. ' ' .. ARGV[1]) end
  end
end
if raised then return prev end
return false
""")

#: How long a session's refresh (no raise) may wait for another command to ride along with.
REFRESH_WITHIN = 0.01
#: A mirrored session: its tier, and the tiers that rank above it (a message naming one raises it).
Held = tuple[str, tuple[str, ...]]


class SharedSessions:
    def __init__(
        self, link: RedisLink, channels: Channels | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.link = link
        self.channels = channels
        self.channel = link.key("sessions")
        self.clock = clock
        self._mirror: TTLCache[bytes, Held] = TTLCache(10_000, 3600.0, timer=clock)
        self._epoch = 0
        if channels is not None:
            channels.add(self.channel, self._receive, ready=self._renew, lost=self._forget)
            link.on_up(self._renew)

    def configure(self, *, ttl: float, size: int) -> None:
        """The mirror's bounds: the sessions' ``ttl`` and ``max_sessions`` (a change empties it)."""
        if (self._mirror.ttl, self._mirror.maxsize) != (ttl, size):
            self._mirror = TTLCache(size, ttl, timer=self.clock)

    async def hold(
        self, key: bytes, tier: str, *, above: Sequence[str], ttl: float, remember: bool
    ) -> str | Down | None:
        """The session's tier when it ranks above ``tier``, else None; DOWN when Redis cannot say."""
        keys = [self.link.key("session", key.hex())]
        args = [tier, max(1, int(ttl * 1000)), "1" if remember else "0", self.channel, key.hex(), *above]
        held = self._mirror.get(key) if self._fresh() else None
        if held is not None:
            previous = held[0] if held[0] in above else None
            if remember:
                self._keep(key, tier, above, previous)
                # A raise is published at once; a refresh may wait for the process's next write.
                raises = previous is None and held[0] != tier
                self.link.evalsha_later(HOLD, keys, args, within=0.0 if raises else REFRESH_WITHIN)
            return previous
        epoch = self._epoch
        got = await self.link.evalsha(HOLD, keys, args)
        if isinstance(got, Down):
            return got
        previous = got.decode() if isinstance(got, bytes) else None
        if (remember or previous is not None) and epoch == self._epoch and self._fresh():
            self._keep(key, tier, above, previous)  # what Redis now holds (a dry run may leave it unknown)
        return previous

    def _keep(self, key: bytes, tier: str, above: Sequence[str], previous: str | None) -> None:
        if previous is None:
            self._mirror[key] = (tier, tuple(above))
        else:
            self._mirror[key] = (previous, tuple(above[above.index(previous) + 1 :]))

    def _fresh(self) -> bool:
        return self.channels is not None and self.channels.subscribed and self.link.up

    # --- what other processes publish ------------------------------------------------------------

    def _receive(self, data: bytes) -> None:
        session, _, tier = data.decode().partition(" ")
        key = bytes.fromhex(session)
        held = self._mirror.get(key)
        if held is not None and tier in held[1]:
            self._mirror[key] = (tier, held[1][held[1].index(tier) + 1 :])

    async def _renew(self) -> None:
        """Subscribed again, or Redis back: what the mirror holds may have changed unseen."""
        self._forget()

    def _forget(self) -> None:
        self._epoch += 1
        self._mirror.clear()
