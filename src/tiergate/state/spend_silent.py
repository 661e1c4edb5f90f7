"""Processes that died without leaving the shared spend: a running peer moves their fields to ``gone``.

A process that stops cleanly leaves (:data:`tiergate.state.spend.LEAVE`). One that is killed or runs out of
memory cannot, and its ``in`` fields would stay in the hashes until the month's hash expires. So each sync
also writes the time it was sent into the month's ``spend:seen:<month>`` hash (the process's name → its
clock), and a process that has synced without a miss for ``silence`` seconds moves, now and then, the fields
of each process silent for longer than that (:data:`FOLD`): to those of the process named ``gone``, as a
leave would, in one script that first checks again that the process is still silent and has not left.

The one that was moved is marked left, as a leave marks it, but its marker is a hash of what was moved
(``<hash's key>␟<scope>␟<name>`` → dollars, and ``by`` → the mover's name). If it was only paused (a stopped
container, a laptop asleep, a network cut longer than ``silence``), its next sync writes nothing and gets that
hash back: it then goes on under a new name, and its new fields hold what it spent beyond what was moved. So
no dollar is lost or counted twice, whichever of the two came first.

The ``was`` fields the move leaves where they are (others may carry them over into a new generation), so the
process counts its ``was`` under its former name, and after Redis loses its data it leaves what was moved to
``gone``'s ``was`` and writes only the rest as its own.

A peer that has not synced for ``silence`` seconds itself moves nothing: it started recently, Redis was down,
or it was paused too (a gap between two answered syncs longer than a quarter of ``silence`` restarts its
wait). So after an outage or a machine's sleep every process has had that long to be seen again before
anyone is judged silent. A process of a release that writes no time into ``seen`` is never moved.

Each process writes its own clock into ``seen``: hosts whose clocks differ by more than ``silence`` move each
other's processes, which then rejoin (churn, not a miscount). A Redis brought back from a snapshot taken
before a move loses what the move had moved since the snapshot, as it would after a clean leave.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tiergate.state.link import Down, RedisLink, text_of

#: How long a process may go without syncing before a peer moves its spend to ``gone``: 10 minutes, a
#: thousand and more syncs at the default interval.
SILENCE_SECONDS = 600.0

#: Moves one silent process's ``in`` fields to ``gone``'s, if the generation is ``ARGV[1]``, the process's last
#: time in ``seen`` is not after ``ARGV[3]`` and it has not left. KEYS the month's marker, the current periods'
#: hashes, the ``seen`` hash, the process's left marker. ARGV the generation, the process's name, the latest
#: time that counts as silent, the left marker's expiry, the mover's name, the field separator, then each
#: hash's expiry. Returns 1 if it moved the process now. A process with no ``in`` field in these hashes (silent
#: since before a new generation began, which carried what it had shared) is only forgotten in ``seen``, not
#: marked left: marked, it came back under a new name and counted what the generation carried a second time.
FOLD = """
local seen, left = KEYS[#KEYS - 1], KEYS[#KEYS]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local last = redis.call('HGET', seen, ARGV[2])
if not last or tonumber(last) > tonumber(ARGV[3]) then return 0 end
redis.call('HDEL', seen, ARGV[2])
if redis.call('EXISTS', left) == 1 then return 0 end
local sep = ARGV[6]
local prefix = 'in' .. sep .. ARGV[2] .. sep
local moved = {'by', ARGV[5]}
for at = 2, #KEYS - 2 do
  local hash = KEYS[at]
  local flat = redis.call('HGETALL', hash)
  for j = 1, #flat, 2 do
    if string.sub(flat[j], 1, #prefix) == prefix then
      local rest = string.sub(flat[j], #prefix + 1)
      redis.call('HDEL', hash, flat[j])
      redis.call('HINCRBYFLOAT', hash, 'in' .. sep .. 'gone' .. sep .. rest, flat[j + 1])
      redis.call('EXPIRE', hash, ARGV[5 + at])
      moved[#moved + 1] = hash .. sep .. rest
      moved[#moved + 1] = flat[j + 1]
    end
  end
end
if #moved == 2 then return 0 end
redis.call('HSET', left, unpack(moved))
redis.call('EXPIRE', left, ARGV[4])
return 1
"""


class SilentPeers:
    """Finds the processes silent in a month's ``seen`` hash and moves their spend (:data:`FOLD`)."""

    def __init__(self, link: RedisLink, *, separator: str, left: Callable[[str], str]) -> None:
        self.link = link
        self.separator = separator
        self.left = left
        self._fold = link.client.register_script(FOLD)

    async def fold(
        self,
        *,
        marker: str,
        hashes: Sequence[str],
        seen: str,
        generation: str,
        me: str,
        silent_before: float,
        keep: int,
        expiries: Sequence[int],
    ) -> list[str] | None:
        """Move the spend of each process whose last time in ``seen`` is before ``silent_before``: the names
        moved now, or None when Redis did not answer."""

        async def read(client: Any) -> Any:
            return await client.hgetall(seen)

        got = await self.link.run(read)
        if isinstance(got, Down):
            return None
        stale = [text_of(name) for name, at in got.items() if float(at) < silent_before and text_of(name) != me]
        moved: list[str] = []
        for name in stale:
            keys = [marker, *hashes, seen, self.left(name)]
            args: list[Any] = [generation, name, repr(silent_before), keep, me, self.separator, *expiries]

            async def op(client: Any, keys: list[str] = keys, args: list[Any] = args) -> Any:
                return await self._fold(keys=keys, args=args)

            done = await self.link.run(op)
            if isinstance(done, Down):
                return None
            if int(done) == 1:
                moved.append(name)
        return moved
