"""``max_loaded`` kept across workers and replicas: one Ollama server's calls in flight, counted in Redis.

The switch (:mod:`tiergate.dispatch.switch`) must not unload a model that a call is still using. In one
process it counts those calls in memory. Several processes in front of one server count them here:

- each call on a managed backend holds a **lease** in the backend's sorted set (member: the model and a
  random id; score: when it expires). The process renews its leases while their calls go on
  (:mod:`tiergate.state.leases`), so a dead process's calls free their models within its ``LEASE_TTL``;
- a call whose model some call is already using joins it in one Lua call (``join``): that model is loaded,
  and no process may unload it while the lease is there. Not while a switch holds the lock, though: calls
  that arrive meanwhile wait behind it, as in one process, so a busy model cannot starve a switch;
- any other call takes the backend's **lock** (``SET NX`` with a token, lasting ``LOCK_TTL`` seconds from
  each look, so a process that dies holding it blocks the backend that long at most), reads which models are
  in use everywhere, plans against ``/api/ps``, waits while a model it must unload is in use, unloads, then
  adds its lease and lets the lock go in one call (``admit``);
- a call that ends removes its lease, and a lock that is let go, publishes the backend's name on the
  switch channel, which wakes the processes waiting on that backend (they also look again every
  ``POLL`` seconds, in case a message was lost or a lease expired).

Every call here that returns :data:`~tiergate.state.link.DOWN` tells the switch to count in process, as
it does without Redis.

    shared = SharedSwitch(link, channels)                        # before channels.start()
    lease = shared.lease("qwen:7b")
    await shared.join("ollama", lease)                           # True: beside a call using the model
    token, in_use = await shared.lock("ollama")                  # else wait for the lock (DOWN: no Redis)
    await shared.admit("ollama", lease, token)                   # plan, unload, then this
    shared.leave("ollama", lease)                                # when the call ends; sent without waiting
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from typing import Any

from tiergate.protocols.ollama_ps import tagged
from tiergate.state.channels import Channels
from tiergate.state.leases import Renewer
from tiergate.state.link import Down, RedisLink, text_of
from tiergate.state.resp import Script

#: Seconds a waiting switch looks again without a message.
POLL = 0.25
#: Seconds the backend's lock lasts from each look of the switch holding it (a dead process's, from its last).
LOCK_TTL = 10.0

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
"""
_ADD = """
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
"""

JOIN = Script(
    """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
"""
    + _NOW
    + """
local prefix = ARGV[1] .. '\\n'
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(member, 1, #prefix) == prefix then
"""
    + _ADD
    + """
    return 1
  end
end
return 0
"""
)

LOCK = Script(
    """
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
"""
    + _NOW
    + """
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""
)

IN_USE = Script(
    """
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
"""
    + _NOW
    + """
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""
)

ADMIT = Script(
    _NOW
    + _ADD
    + """
if redis.call('GET', KEYS[2]) == ARGV[4] then redis.call('DEL', KEYS[2]) end
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1
"""
)

UNLOCK = Script("""
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
""")

LEAVE = Script("""
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
""")


class SharedSwitch:
    def __init__(self, link: RedisLink, channels: Channels) -> None:
        self.link = link
        self.channel = link.key("switch")
        self.lock_ttl = LOCK_TTL
        #: This process's leases, renewed while their calls go on.
        self.renewer = Renewer(link)
        self._changed: dict[str, asyncio.Event] = {}
        channels.add(self.channel, self._receive)

    @property
    def up(self) -> bool:
        return self.link.up

    @staticmethod
    def lease(model: str) -> str:
        """A new lease id for a call to ``model``: its name as ``/api/ps`` lists it, and a random part."""
        return f"{tagged(model)}\n{secrets.token_hex(8)}"

    async def join(self, backend: str, lease: str) -> bool | Down:
        """Add ``lease`` if a call is using its model already (so the model is loaded and stays so)."""
        self.renewer.keep(self._keys(backend)[0], lease)  # before the call: ``leave`` drops it if it is cut short
        got = await self.link.evalsha(JOIN, self._keys(backend), [_model(lease), lease, _ms(self.renewer.ttl)])
        return got if isinstance(got, Down) else int(got) == 1

    async def lock(self, backend: str) -> tuple[str, list[str]] | Down:
        """Wait for the backend's lock; the token, and the models calls are using on any process."""
        token = secrets.token_hex(8)
        while True:
            changed = self.changed(backend)
            got = await self.link.evalsha(LOCK, self._keys(backend), [token, _ms(self.lock_ttl)])
            if isinstance(got, Down):
                return got
            if got is not None:
                return token, _models(got)
            await wait(changed)

    async def in_use(self, backend: str, token: str) -> list[str] | Down:
        """The models calls are using now (and the lock held ``lock_ttl`` seconds more)."""
        got = await self.link.evalsha(IN_USE, self._keys(backend), [token, _ms(self.lock_ttl)])
        return got if isinstance(got, Down) else _models(got)

    async def admit(self, backend: str, lease: str, token: str) -> bool | Down:
        """Add ``lease`` and let the lock go, in one call."""
        self.renewer.keep(self._keys(backend)[0], lease)
        args: list[str | int] = [_model(lease), lease, _ms(self.renewer.ttl), token, self.channel, backend]
        got = await self.link.evalsha(ADMIT, self._keys(backend), args)
        return got if isinstance(got, Down) else True

    def unlock(self, backend: str, token: str) -> None:
        self.link.evalsha_later(UNLOCK, self._keys(backend), [token, self.channel, backend])

    def leave(self, backend: str, lease: str) -> None:
        self.renewer.drop(self._keys(backend)[0], lease)
        self.link.evalsha_later(LEAVE, self._keys(backend), [lease, self.channel, backend])

    async def aclose(self) -> None:
        """Stop renewing (at shutdown); the leases left expire within the renewer's ``ttl``."""
        await self.renewer.aclose()

    def changed(self, backend: str) -> asyncio.Event:
        """Set when a call on ``backend`` ends or its lock is let go, by any process: take it before looking."""
        return self._changed.setdefault(backend, asyncio.Event())

    def _receive(self, data: bytes) -> None:
        changed = self._changed.pop(data.decode(), None)
        if changed is not None:
            changed.set()

    def _keys(self, backend: str) -> list[str]:
        return [self.link.key("switch", backend, "calls"), self.link.key("switch", backend, "lock")]


async def wait(changed: asyncio.Event) -> None:
    """Until ``changed`` is set, or ``POLL`` seconds."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(changed.wait(), POLL)


def _model(lease: str) -> str:
    return lease.partition("\n")[0]


def _models(members: Any) -> list[str]:
    return sorted({_model(text_of(m)) for m in members or ()})


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
