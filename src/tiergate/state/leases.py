"""Leases kept alive while their holders go on: concurrency slots (:mod:`tiergate.state.limits`) and the
Ollama switch's calls in flight (:mod:`tiergate.state.switch`).

A lease is a member of a sorted set, scored by when it expires. A short lease that its process renews
frees quickly when the process dies, and never expires under a call that runs long. Every
``every`` seconds the process pushes back the expiry of each lease it still holds, one queued Lua call
per set (``ZADD XX``: a lease removed meanwhile is not brought back).

    renewer = Renewer(link, ttl=30, every=10)
    renewer.keep(set_key, lease)      # after taking it; starts the renewals
    renewer.drop(set_key, lease)      # when giving it back
    await renewer.aclose()            # at shutdown
"""

from __future__ import annotations

import asyncio
import contextlib

from tiergate.state.link import RedisLink
from tiergate.state.resp import Script

#: Seconds a lease lasts unless its process renews it: how long a dead process's leases hold.
LEASE_TTL = 30.0
#: Seconds between renewals.
RENEW_EVERY = 10.0

RENEW = Script("""
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + ttl, ARGV[i]) end
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], 2 * ttl) end
return 1
""")


class Renewer:
    def __init__(self, link: RedisLink, *, ttl: float = LEASE_TTL, every: float = RENEW_EVERY) -> None:
        self.link = link
        self.ttl = ttl
        self.every = every
        self._live: dict[str, set[str]] = {}
        self._task: asyncio.Task[None] | None = None

    def keep(self, key: str, lease: str) -> None:
        self._live.setdefault(key, set()).add(lease)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def drop(self, key: str, lease: str) -> None:
        leases = self._live.get(key)
        if leases is not None:
            leases.discard(lease)
            if not leases:
                del self._live[key]

    async def _run(self) -> None:
        while self._live:
            await asyncio.sleep(self.every)
            for key, leases in list(self._live.items()):
                args: list[str | int] = [max(1, int(self.ttl * 1000)), *sorted(leases)]
                self.link.evalsha_later(RENEW, [key], args)

    async def aclose(self) -> None:
        """Stop renewing; the leases left expire within ``ttl``."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
