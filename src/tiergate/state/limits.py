"""Rate and concurrency limits counted in Redis, so every worker and replica spends one budget.

One Lua call takes both limits of a key atomically, on Redis's own clock:

- **rpm** is a GCRA (the generic cell rate algorithm): one stored number, the theoretical arrival time.
  Like the in-process ``aiolimiter`` bucket it allows a burst of ``rpm`` and then one request every
  ``period / rpm`` seconds;
- **concurrency** is a sorted set of leases, each scored by when it expires (the target's
  ``timeouts.total`` plus a minute), so a replica that dies holding slots frees them at the latest then.
  Expired leases are swept only when the set is full, which saves a command on each take that finds room
  (the set stays bounded by the limit: a take that finds it full sweeps it first). The set itself outlives every
  lease in it: a take whose lease would outlast it extends it to twice that lease, so the extension is
  written about once per lease period rather than on every take, and a shorter lease never shortens it.

Nothing is taken unless both fit. Releasing a lease is one more command, sent without waiting for it
(it rides along with the process's next Redis call).

    shared = SharedLimits(link)
    taken = await shared.take("ollama/qwen2.5-coder:7b", rpm=10, concurrency=2, period=60, lease=660)
    taken is DOWN      # Redis unusable: the caller counts in process
    taken.ok, taken.limit, taken.retry_after, taken.lease
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass
from typing import Literal

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
if rpm > 0 then
  local interval = tonumber(ARGV[2]) / rpm
  local tat = tonumber(redis.call('GET', KEYS[1]) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  local allow_at = new_tat - rpm * interval
  if allow_at > now then return {1, math.ceil(allow_at - now)} end
  redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX', math.ceil(new_tat - now) + 1)
end
if conc > 0 then
  local lease = tonumber(ARGV[5])
  redis.call('ZADD', KEYS[2], now + lease, ARGV[4])
  if redis.call('PTTL', KEYS[2]) < lease then redis.call('PEXPIRE', KEYS[2], 2 * lease) end
end
return {0, 0}
""")

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


class SharedLimits:
    def __init__(self, link: RedisLink) -> None:
        self.link = link
        self._origin = secrets.token_hex(6)  # lease ids: this process's, then a count (no syscall per lease)
        self._count = itertools.count()

    async def take(
        self, name: str, *, rpm: int | None, concurrency: int | None, period: float, lease: float
    ) -> Taken | Down:
        lease_id = f"{self._origin}{next(self._count):x}" if concurrency else ""
        keys = [self.link.key("limit", name, "rate"), self.link.key("limit", name, "inflight")]
        args: list[str | int] = [rpm or 0, int(period * 1000), concurrency or 0, lease_id, int(lease * 1000)]
        got = await self.link.evalsha(TAKE, keys, args)
        if isinstance(got, Down):
            return got
        code, wait_ms = int(got[0]), int(got[1])
        if code == 1:
            return Taken(False, "rate", wait_ms / 1000)
        if code == 2:
            return Taken(False, "concurrency")
        return Taken(True, lease=lease_id or None)

    def release(self, name: str, lease: str) -> None:
        """Give a concurrency slot back without waiting: it goes out with this process's next Redis call (which
        may be the next take of this slot), or ``RELEASE_WITHIN`` seconds later at the latest. A release
        lost with Redis expires with its lease."""
        self.link.later("ZREM", self.link.key("limit", name, "inflight"), lease, within=RELEASE_WITHIN)
