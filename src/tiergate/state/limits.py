"""Rate and concurrency limits counted in Redis, so every worker and replica spends one budget.

One Lua call takes both limits of a key atomically, on Redis's own clock:

- **rpm** is a GCRA (the generic cell rate algorithm): one stored number, the theoretical arrival time.
  Like the in-process leaky bucket (:mod:`tiergate.resilience.counters`) it allows a burst of ``rpm`` and
  then one request every ``period / rpm`` seconds;
- **concurrency** is a sorted set of leases, each scored by when it expires. The process renews the
  leases it holds (:mod:`tiergate.state.leases`: every 10 s, for 30 s), so a slot never expires under a
  long call, and a replica that dies holding slots frees them within 30 s.
  Expired leases are swept only when the set is full, which saves a command on each take that finds room
  (the set stays bounded by the limit: a take that finds it full sweeps it first). The set itself outlives every
  lease in it: a take whose lease would outlast it extends it to twice that lease, so the extension is
  written about once per lease period rather than on every take, and a shorter lease never shortens it.

Nothing is taken unless both fit. Releasing a lease is one more command, sent without waiting for it
(it rides along with the process's next Redis call).

**Taking ahead.** A take that Redis will surely grant need not wait for its answer. Each answer says how
much of each limit it left free; while the last one (under ``FRESH`` seconds old) left at least half of
every limit of the key, and ``MIN_FREE`` or more, free beyond the takes still unanswered, the request
goes on at once and its take is queued like a release: it goes out with the process's next Redis call, or
``RELEASE_WITHIN`` seconds later. At most ``ahead`` takes per key are unanswered at a time (the next one
waits, and carries the queued ones along). So only a limit that is near full, or a key this process has not
taken lately, costs the request a round trip. The count in Redis stays exact and atomic; what is given up
is this: if the other processes fill a limit from half free within one of this process's answers, up to
``ahead`` requests of this process get through over it. Redis refuses those takes, the refusals are
counted (``overruns``), and the key's takes wait for Redis again until an answer shows room. Only on a
plain ``redis://`` URL, whose client keeps every command in order.

    shared = SharedLimits(link)
    taken = await shared.take("ollama/qwen2.5-coder:7b", rpm=10, concurrency=2, period=60)
    taken is DOWN      # Redis unusable: the caller counts in process
    taken.ok, taken.limit, taken.retry_after, taken.lease
    SharedLimits(link, ahead=8)   # take ahead of Redis's answer while limits are far from full
"""

from __future__ import annotations

import functools
import itertools
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from tiergate.state.leases import Renewer
from tiergate.state.link import Down, RedisLink
from tiergate.state.resp import Script

TAKE = Script("""
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local conc = tonumber(ARGV[3])
if conc > 0 then
  if redis.call('ZCARD', KEYS[2]) >= conc then
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
    if redis.call('ZCARD', KEYS[2]) >= conc then return {2, 0} end
  end
end
local rpm = tonumber(ARGV[1])
local rate_free = -1
if rpm > 0 then
  local interval = tonumber(ARGV[2]) / rpm
  local tat = tonumber(redis.call('GET', KEYS[1]) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  local allow_at = new_tat - rpm * interval
  if allow_at > now then return {1, math.ceil(allow_at - now)} end
  redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX', math.ceil(new_tat - now) + 1)
  rate_free = math.floor((now - allow_at) / interval)
end
local conc_free = -1
if conc > 0 then
  local lease = tonumber(ARGV[5])
  redis.call('ZADD', KEYS[2], now + lease, ARGV[4])
  if redis.call('PTTL', KEYS[2]) < lease then redis.call('PEXPIRE', KEYS[2], 2 * lease) end
  conc_free = conc - redis.call('ZCARD', KEYS[2])
end
return {0, 0, rate_free, conc_free}
""")

log = logging.getLogger("tiergate.limits")

Limit = Literal["rate", "concurrency"]
#: How long a released slot may wait for another command to ride along with before it is sent alone:
#: other processes see the slot free that much later at most; this one sees it at its next take.
RELEASE_WITHIN = 0.01


@dataclass(frozen=True)
class Taken:
    ok: bool
    limit: Limit | None = None
    retry_after: float | None = None
    lease: str | None = None


#: Taking ahead: how old Redis's last answer for a key may be, and how much of each limit it must have left
#: free (at least this many, and at least half of the limit) beyond the takes still unanswered.
FRESH = 1.0
MIN_FREE = 16


@dataclass
class _Room:
    """What Redis's last answer for one key left free (-1: no such limit), for the limits it was taken with."""

    limits: tuple[int, int]
    rate_free: int
    conc_free: int
    at: float
    unanswered: int = 0

    def spare(self, limits: tuple[int, int], ahead: int, now: float) -> bool:
        if limits != self.limits or self.unanswered >= ahead or now - self.at > FRESH:
            return False
        return all(
            limit == 0 or free - self.unanswered >= max(MIN_FREE, limit / 2)
            for limit, free in zip(limits, (self.rate_free, self.conc_free), strict=True)
        )


class SharedLimits:
    def __init__(self, link: RedisLink, *, ahead: int = 0, clock: Callable[[], float] = time.monotonic) -> None:
        self.link = link
        #: This process's concurrency leases, renewed until released (a dead process's expire within its ttl).
        self.renewer = Renewer(link)
        # A queued take must reach Redis before the release that follows it.
        self.ahead = ahead if link.in_order else 0
        self.clock = clock
        self._origin = secrets.token_hex(6)  # lease ids: this process's, then a count (no syscall per lease)
        self._count = itertools.count()
        self._rooms: dict[str, _Room] = {}
        #: Takes sent ahead of Redis's answer, and those of them Redis refused (requests over a limit).
        self.taken_ahead = 0
        self.overruns = 0

    async def take(
        self, name: str, *, rpm: int | None, concurrency: int | None, period: float, lease: float | None = None
    ) -> Taken | Down:
        """Both limits of ``name``; a concurrency slot's lease lasts ``lease`` seconds (default: the renewer's
        ``ttl``) and is renewed until :meth:`release`."""
        lease_id = f"{self._origin}{next(self._count):x}" if concurrency else ""
        keys = [self.link.key("limit", name, "rate"), self.link.key("limit", name, "inflight")]
        lease_ms = int((self.renewer.ttl if lease is None else lease) * 1000)
        args: list[str | int] = [rpm or 0, int(period * 1000), concurrency or 0, lease_id, lease_ms]
        limits = (rpm or 0, concurrency or 0)
        room = self._rooms.get(name)
        if room is not None and room.spare(limits, self.ahead, self.clock()) and self.link.up:
            answered = functools.partial(self._answered, name, room)
            if self.link.evalsha_later(TAKE, keys, args, within=RELEASE_WITHIN, done=answered):
                room.unanswered += 1
                self.taken_ahead += 1
                return self._taken(keys[1], lease_id)
        got = await self.link.evalsha(TAKE, keys, args)
        if isinstance(got, Down):
            return got
        code, wait_ms = int(got[0]), int(got[1])
        if code == 1:
            self._rooms.pop(name, None)
            return Taken(False, "rate", wait_ms / 1000)
        if code == 2:
            self._rooms.pop(name, None)
            return Taken(False, "concurrency")
        if self.ahead:
            self._rooms[name] = _Room(limits, int(got[2]), int(got[3]), self.clock())
        return self._taken(keys[1], lease_id)

    def _taken(self, inflight: str, lease_id: str) -> Taken:
        if not lease_id:
            return Taken(True)
        self.renewer.keep(inflight, lease_id)
        return Taken(True, lease=lease_id)

    def _answered(self, name: str, room: _Room, got: Any) -> None:
        """Redis's answer to a take sent ahead: note the room it left, or stop taking ahead on a refusal."""
        room.unanswered -= 1
        if isinstance(got, Down) or int(got[0]) != 0:
            if not isinstance(got, Down):
                self.overruns += 1
                log.warning("shared limit of %s was full: one request went over it (taken ahead of Redis)", name)
            if self._rooms.get(name) is room:
                del self._rooms[name]
            return
        room.rate_free, room.conc_free, room.at = int(got[2]), int(got[3]), self.clock()

    def release(self, name: str, lease: str) -> None:
        """Give a concurrency slot back without waiting: it goes out with this process's next Redis call (which
        may be the next take of this slot), or ``RELEASE_WITHIN`` seconds later at the latest. A release
        lost with Redis expires with its lease."""
        inflight = self.link.key("limit", name, "inflight")
        self.renewer.drop(inflight, lease)
        self.link.later("ZREM", inflight, lease, within=RELEASE_WITHIN)

    async def aclose(self) -> None:
        """Stop renewing leases (at shutdown)."""
        await self.renewer.aclose()
