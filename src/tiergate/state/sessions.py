"""Sticky sessions in Redis: a conversation keeps its highest tier on every replica.

One Lua call reads the session's tier and, unless it ranks higher than this request's, records this
one (refreshing the TTL either way). The caller passes the tiers that rank above the routed one, so
the script needs no copy of the rules.

    shared = SharedSessions(link)
    previous = await shared.hold(key, "local", above=["sonnet", "opus"], ttl=3600, remember=True)
    previous is DOWN      # use the in-process store
    previous == "opus"    # the session is already on opus: raise to it
"""

from __future__ import annotations

from collections.abc import Sequence

from tiergate.state.link import Down, RedisLink
from tiergate.state.resp import Script

HOLD = Script("""
local prev = redis.call('GET', KEYS[1])
local raised = false
if prev then
  for i = 4, #ARGV do
    if ARGV[i] == prev then raised = true end
  end
end
if ARGV[3] == '1' then
  if raised then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  else
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  end
end
if raised then return prev end
return false
""")


class SharedSessions:
    def __init__(self, link: RedisLink) -> None:
        self.link = link

    async def hold(
        self, key: bytes, tier: str, *, above: Sequence[str], ttl: float, remember: bool
    ) -> str | Down | None:
        """The session's tier when it ranks above ``tier``, else None; DOWN when Redis cannot say."""
        keys = [self.link.key("session", key.hex())]
        args = [tier, max(1, int(ttl * 1000)), "1" if remember else "0", *above]
        got = await self.link.evalsha(HOLD, keys, args)
        if isinstance(got, Down):
            return got
        return got.decode() if isinstance(got, bytes) else None
