"""Budgets' spend in Redis: every replica and worker counts against the same caps.

The route reads spend synchronously (a dict lookup), so each process keeps a mirror: a ``LocalSpend``
holding what Redis held at the last sync plus what this process added since. A background task syncs
every ``interval`` seconds: it sends the increments added since the last sync (``HINCRBYFLOAT`` into one
hash per period, ``spend:daily:2026-12-03`` and ``spend:monthly:2026-12``, fields ``tier␟opus``), and
reads the current periods' hashes back into the mirror, at once in one script (:data:`SYNC`; a sync with
nothing to send claims and reads in a transaction). So a cap reached through one replica holds on the others
within ``interval`` seconds.

While Redis is down the mirror goes on counting this process's requests and the increments wait; the
first sync after Redis returns sends them, so no spend is lost, and replaces the mirror with Redis's
totals.

A sync is applied at most once. Its increments go as a numbered *batch*; Redis keeps the last number it
applied for each process (``spend:batch:<process>``) and skips a batch whose number is not above it. A
sync cut off by ``state.timeout`` may still reach Redis (a stall: a fork, a slow fsync, a paused network
leaves it in the socket, and Redis applies it when it wakes), so its batch is kept as it was and sent again
with the next sync, never merged with newer increments: Redis applies it then if it had not. Increments
counted meanwhile go in a batch of the next number, in the same sync (at most :data:`MAX_BATCHES` wait for
Redis's word; beyond that the increments wait).

Spend is rebuilt from the decision log at start-up once per month, not once per process: the first
process to claim ``spend:restored:<month>`` adds the log's month to Redis; the others find it there.
Running processes claim a new month at their first sync in it, so one started later in the month does
not add the log's month on top of what they sent.

Redis losing its data (restarted without persistence, flushed) resets no cap. The marker's value names
a *generation* of the month's hashes: each sync sets it if it is missing (``SET NX`` in the sync's script,
so one process's name wins) and reads it, and each process remembers the generation its mirror was read
from. A process that finds another one (Redis lost what it read) sends what it knew, its mirror less the
increments it has not sent, to a *floor* beside each sum (field ``floor␟tier␟opus``, raised by a
script). A floor only ever rises to the largest value sent, a maximum and not a sum, so replicas that
knew the same spend count it once; a total is its floor plus its increments. A sync sends and reads in
one script, so the last process to sync before the loss had read all Redis held: once it has
synced again nothing is missing, and meanwhile each mirror keeps what it counted. The decision log's
restore goes to the floors too (one started after the loss adds nothing the running ones report), and so
does a restore made while Redis was down, if that process claims the month as Redis returns.

Counting errs the safe way. Short: only what a process that stopped for good had read after the others'
last syncs. Twice: when a process that restores from the log is the first to reach the emptied Redis,
what the others counted but had not sent yet (while Redis was away) is in its restore and in their
increments; when raising floors fails, the next sync raises them with that sync's increments in both; and
when Redis applied a batch whose reply never came and forgot it before the batch was sent again: the process
did not reach Redis for :data:`BATCH_KEEP_SECONDS`, or Redis lost its data (another process may have read
the batch's spend and put it in a floor).

    spend = SharedSpend(link)
    signals = Signals(spend=spend); spend.calendar = lambda: signals.calendar
    spend.start()   # in the app's lifespan, after link.start(); ``await spend.aclose()`` at shutdown
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tiergate.state.link import Down, RedisLink, text_of
from tiergate.telemetry.spend import PERIODS, Calendar, LocalSpend, Period, SpendKey, SpendLedger

log = logging.getLogger("tiergate.budgets")

#: How long a period's hash outlives the period's start: a day's for two more days, a month's for ten.
KEEP_SECONDS: dict[str, int] = {"daily": 3 * 86_400, "monthly": 41 * 86_400}
#: Separates scope and name in a hash field (neither a tier nor a client key holds it).
SEP = "\x1f"

#: How long Redis remembers the last batch of increments a process applied (``spend:batch:<process>``): a
#: batch Redis applied but did not confirm in time (a stall longer than ``state.timeout``) is sent again, and
#: skipped, if it comes back within this.
BATCH_KEEP_SECONDS = 86_400
#: Batches sent and not confirmed yet, at most: then the increments wait until Redis confirms them.
MAX_BATCHES = 2

#: A sync, in one script so Redis applies it whole: names the month's generation ``ARGV[1]`` if it has none
#: (``SET NX``, as :func:`claim`), applies each batch of increments whose number is above the last this
#: process had applied (its batch key: a batch sent again after a timeout is skipped if Redis applied it
#: already), and reads the current periods' hashes. KEYS the marker, the process's batch key, then the
#: hashes: the ``ARGV[4]`` current ones first, then any other one a batch adds to. ARGV the generation, the
#: marker's expiry, the batch key's expiry, the count of current hashes, each hash's expiry, then per batch
#: its number and its count of sums, and (hash's index in KEYS, field, increment) per sum. Returns whether
#: this sync named the generation, the generation, the batches applied now, then the current hashes.
SYNC = """
local claimed = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2])
local gen = redis.call('GET', KEYS[1])
local hashes, last = #KEYS - 2, tonumber(redis.call('GET', KEYS[2]) or '0')
local top, applied, touched, i = last, 0, {}, 5 + #KEYS - 2
while i <= #ARGV do
  local number, sums = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  if number > last then
    for j = i + 2, i + 3 * sums - 1, 3 do
      local at = tonumber(ARGV[j])
      redis.call('HINCRBYFLOAT', KEYS[at], ARGV[j + 1], ARGV[j + 2])
      touched[at] = true
    end
    if number > top then top = number end
    applied = applied + 1
  end
  i = i + 2 + 3 * sums
end
if top > last then redis.call('SET', KEYS[2], top, 'EX', ARGV[3]) end
for at = 3, 2 + hashes do
  if touched[at] then redis.call('EXPIRE', KEYS[at], ARGV[2 + at]) end
end
local out = {claimed and 1 or 0, gen, applied}
for at = 3, 2 + tonumber(ARGV[4]) do out[#out + 1] = redis.call('HGETALL', KEYS[at]) end
return out
"""

#: Raises floors, if the month's generation is still ``ARGV[1]``: KEYS the marker and the current day's and
#: month's hashes; ARGV the generation, the hashes' expiries, then (hash's index in KEYS, field, floor) per
#: sum. The hashes after, or nil when the generation changed.
RAISE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
for i = 4, #ARGV, 3 do
  local hash, field = KEYS[tonumber(ARGV[i])], 'floor\\31' .. ARGV[i + 1]
  if tonumber(ARGV[i + 2]) > tonumber(redis.call('HGET', hash, field) or '0') then
    redis.call('HSET', hash, field, ARGV[i + 2])
  end
end
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[3], ARGV[3])
return {redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', KEYS[3])}
"""


def claim(pipe: Any, marker: str, token: str) -> None:
    """Name the month's generation ``token`` if it has no name yet (``SET NX``: one process wins), and read
    the name it has: the pipeline's two replies."""
    pipe.set(marker, token, nx=True, ex=KEEP_SECONDS["monthly"])
    pipe.get(marker)


@dataclass
class _Batch:
    """Increments sent to Redis together, numbered in the order this process sends them. Once a sync has
    sent it (``sent``) it is sent again as it is until Redis confirms it: Redis may have applied it, and
    applies each number once."""

    number: int
    increments: dict[SpendKey, float]
    sent: bool = False


class SharedSpend:
    """A :class:`~tiergate.telemetry.spend.SpendLedger` whose totals live in Redis."""

    def __init__(self, link: RedisLink, *, interval: float = 0.5, clock: Callable[[], float] = time.time) -> None:
        self.link = link
        self.interval = interval
        self.clock = clock
        self.calendar: Callable[[], Calendar] = Calendar
        self.local = LocalSpend()
        self._pending: dict[SpendKey, float] = {}
        #: The batches of increments being sent, until Redis confirms them; numbered under this process's key.
        self._batches: list[_Batch] = []
        self._numbered = 0
        #: Batches sent again that Redis had applied already (their first sync's reply came too late).
        self.replayed = 0
        self._batch_key = link.key("spend", "batch", secrets.token_hex(8))
        self._task: asyncio.Task[None] | None = None
        self.syncs = 0
        #: The month's generation the mirror was read from, and the last one this process claimed.
        self._seen: str | None = None
        self._claimed: str | None = None
        #: The decision log's restore (sums so far), the generation it belongs to ("": the next this process
        #: claims), and whether it grew since it was last sent.
        self._owed: dict[SpendKey, float] = {}
        self._owed_gen: str | None = None
        self._owe = False
        self._raise = link.client.register_script(RAISE)
        self._sync = link.client.register_script(SYNC)

    # --- SpendLedger ---------------------------------------------------------------------------

    def add(self, keys: Sequence[SpendKey], usd: float) -> None:
        self.local.add(keys, usd)
        for key in keys:
            self._pending[key] = self._pending.get(key, 0.0) + usd

    def get(self, key: SpendKey) -> float:
        return self.local.get(key)

    def snapshot(self) -> dict[SpendKey, float]:
        return self.local.snapshot()

    # --- syncing -------------------------------------------------------------------------------

    def _hash(self, period: str, label: str) -> str:
        return self.link.key("spend", period, label)

    async def sync(self) -> bool:
        """Send the increments waiting, read the current periods back; False when Redis did not answer."""
        batches = self._take_batches()
        sending: dict[SpendKey, float] = {}
        for batch in batches:
            for key, usd in batch.increments.items():
                sending[key] = sending.get(key, 0.0) + usd
        owe, self._owe = self._owe, False
        calendar, now = self.calendar(), self.clock()
        current: list[tuple[Period, str]] = [(period, calendar.label(period, now)) for period in PERIODS]
        marker, token = self.link.key("spend", "restored", dict(current)["monthly"]), secrets.token_hex(8)
        hashes = {self._hash(period, label): KEEP_SECONDS[period] for period, label in current}
        for _, _, period, label in sending:
            hashes[self._hash(period, label)] = KEEP_SECONDS[period]
        where = {name: at for at, name in enumerate(hashes, start=3)}
        keys = [marker, self._batch_key, *hashes]
        args: list[Any] = [token, KEEP_SECONDS["monthly"], BATCH_KEEP_SECONDS, len(current), *hashes.values()]
        for batch in batches:
            args += [batch.number, len(batch.increments)]
            for (scope, name, period, label), usd in batch.increments.items():
                args += [where[self._hash(period, label)], f"{scope}{SEP}{name}", repr(usd)]

        async def send(client: Any) -> list[Any]:
            for batch in batches:  # from here on Redis may apply them, whatever this call returns
                batch.sent = True
            got = await self._sync(keys=keys, args=args)
            return [*got[:3], *(zip(fields[::2], fields[1::2], strict=True) for fields in got[3:])]

        async def receive(client: Any) -> list[Any]:  # nothing to send: the claim and the reads, as a transaction
            pipe = client.pipeline(transaction=True)
            claim(pipe, marker, token)
            for period, label in current:
                pipe.hgetall(self._hash(period, label))
            got = await pipe.execute()
            return [got[0], got[1], 0, *(fields.items() for fields in got[2:])]

        got = await self.link.run(send if batches else receive)
        if isinstance(got, Down):
            # Not lost: the batches go again, as they are, with the next sync that reaches Redis, which applies
            # each of them once.
            self._owe = self._owe or owe
            return False
        self.replayed += len(batches) - int(got[2])
        self._batches = []  # applied: now, or by an earlier sync whose reply never came
        gen, read = text_of(got[1]), got[3:]
        if got[0]:
            self._claimed = gen
        lost, floors = False, {}
        if gen != self._seen:
            # Redis lacks what this process counted: it read an earlier generation (the data was lost since),
            # or holds the month's restore for this one (claimed at start-up, or as Redis returned).
            lost = self._seen is not None or self._owed_gen == gen or (self._owed_gen == "" and gen == self._claimed)
            floors = self._known(sending) if lost else {}
        elif owe and self._owed_gen == gen:
            floors = self._owed
        floors = {key: usd for key, usd in floors.items() if (key[2], key[3]) in current and usd > 0}
        if floors:
            raised = await self._raise_floors(marker, gen, current, floors)
            if isinstance(raised, Down) or raised is None:
                # The mirror keeps what it counted, and the next sync raises again: what this one sent is
                # then in the floors and the increments both, a sync's spend counted twice, never short.
                self._owe = self._owe or owe
                return False
            read = [zip(fields[::2], fields[1::2], strict=True) for fields in raised]
        if gen != self._seen:
            self._seen = gen
            self._owed_gen = gen if lost and self._owed_gen is not None else None
        for (period, label), fields in zip(current, read, strict=True):
            totals: dict[SpendKey, float] = {}
            for field, value in fields:
                *_, scope, name = text_of(field).split(SEP)  # an increment's field, or its floor's
                key = (scope, name, period, label)
                totals[key] = totals.get(key, 0.0) + float(value)
            since = {key: usd for key, usd in self._pending.items() if key[2] == period and key[3] == label}
            self.local.replace(period, label, totals, since)
        self.syncs += 1
        return True

    async def _raise_floors(
        self, marker: str, gen: str, current: list[tuple[Period, str]], floors: dict[SpendKey, float]
    ) -> Any:
        """:data:`RAISE` the current periods' floors to ``floors`` in generation ``gen``."""
        where: dict[tuple[str, str], int] = {pair: i for i, pair in enumerate(current, start=2)}
        keys = [marker, *(self._hash(period, label) for period, label in current)]
        args: list[Any] = [gen, *(KEEP_SECONDS[period] for period, _ in current)]
        for (scope, name, period, label), usd in floors.items():
            args += [where[(period, label)], f"{scope}{SEP}{name}", repr(usd)]
        return await self.link.run(lambda client: self._raise(keys=keys, args=args))

    def _take_batches(self) -> list[_Batch]:
        """The batches this sync sends: those sent before and not confirmed, as they were, and the increments
        waiting in a batch of a new number (or in the last batch, if it was never sent); while
        :data:`MAX_BATCHES` wait for Redis to confirm them, the increments wait too."""
        if self._pending:
            last = self._batches[-1] if self._batches else None
            if last is None or last.sent:
                if len(self._batches) >= MAX_BATCHES:
                    return self._batches
                self._numbered += 1
                last = _Batch(self._numbered, {})
                self._batches.append(last)
            for key, usd in self._pending.items():
                last.increments[key] = last.increments.get(key, 0.0) + usd
            self._pending = {}
        return self._batches

    def _known(self, pending: dict[SpendKey, float]) -> dict[SpendKey, float]:
        """What the mirror counted, less the increments not sent yet or sent in this sync."""
        return {key: usd - pending.get(key, 0.0) - self._pending.get(key, 0.0) for key, usd in self.snapshot().items()}

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if not self.link.up:  # the link's probe brings it back; until then the increments wait here
                continue
            try:
                await self.sync()
            except Exception:  # a bug here must not stop the syncing
                log.exception("budgets: syncing spend with Redis failed")

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def aclose(self) -> None:
        """Stop syncing; send what is still waiting, if Redis answers."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._pending or self._batches or self._owe:
            await self.sync()

    # --- restoring from the decision log ---------------------------------------------------------

    async def restore_into(self, month: str) -> SpendLedger | None:
        """Where this process should add the decision log's spend of ``month`` at start-up: into the mirror and
        Redis's floors when it claims the month (or its own sync just did), nowhere when another process did.
        When Redis is down, into the mirror, and into Redis if this process claims the month as it returns."""
        marker, token = self.link.key("spend", "restored", month), secrets.token_hex(8)

        async def op(client: Any) -> list[Any]:
            pipe = client.pipeline(transaction=True)
            claim(pipe, marker, token)
            return list(await pipe.execute())

        got = await self.link.run(op)
        if isinstance(got, Down):
            self._owed_gen = ""
        elif got[0] or text_of(got[1]) == self._claimed:
            self._owed_gen = self._claimed = text_of(got[1])
        else:
            return None
        return _Restore(self)

    def _restored(self, keys: Sequence[SpendKey], usd: float) -> None:
        self.local.add(keys, usd)
        for key in keys:
            self._owed[key] = self._owed.get(key, 0.0) + usd
        self._owe = True


class _Restore:
    """The ledger a start-up restore fills from its thread: each sum reaches the mirror and the floors owed
    on the event loop, between syncs."""

    def __init__(self, spend: SharedSpend) -> None:
        self.spend = spend
        self.loop = asyncio.get_running_loop()

    def add(self, keys: Sequence[SpendKey], usd: float) -> None:
        self.loop.call_soon_threadsafe(self.spend._restored, list(keys), usd)

    def get(self, key: SpendKey) -> float:
        return self.spend.get(key)

    def snapshot(self) -> dict[SpendKey, float]:
        return self.spend.snapshot()
