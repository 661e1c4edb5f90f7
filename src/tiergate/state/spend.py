"""Budgets' spend in Redis: every replica and worker counts against the same caps.

The route reads spend synchronously (a dict lookup), so each process keeps a mirror (a ``LocalSpend``) of
the totals, and a background task syncs it with Redis every ``interval`` seconds: one script (:data:`SYNC`)
writes what this process knows and reads the current periods' hashes back, ``spend:daily:2026-12-03`` and
``spend:monthly:2026-12``. So a cap reached through one replica holds on the others within ``interval``
seconds; while Redis is down the mirror goes on counting this process's requests, and the first sync after
Redis returns sends them.

Every field is a sum that only grows, and every write raises a field to a value, never adds to it
(``HSET`` if larger): a write applied twice, late (a stall longer than ``state.timeout`` leaves a sync in
Redis's socket, applied when it wakes) or again after its reply was lost counts nothing twice. A hash holds,
per ``tier␟opus`` (or ``client␟ci``):

* ``in␟<process>␟tier␟opus``: what that process spent since the *generation* began (below);
* ``was␟<process>␟tier␟opus``: what that process had spent before it began, as far as anyone knows;
* ``all␟tier␟opus``: everything spent before it began, as one process saw it in all (its mirror then), or
  as the decision log's restore counted it.

The total is ``max(all, sum of was) + sum of in``. Each process writes its own ``in`` and ``was`` (it
knows them exactly); the others are written only when a generation begins.

A generation is the month's marker ``spend:restored:<month>``: each sync sets it if it is missing (``SET NX``
in the script, so one process's name wins) and writes only if it still names the generation the process
read last; otherwise the script writes nothing and the process starts the new one. Redis losing its data
(restarted without persistence, flushed) removes the marker with the sums; a new month has a new marker.
As a generation begins each process puts all it had counted into it, once: its own spend as its ``was``, the
``in`` and ``was`` of each other process as it last read them as theirs (one that stopped for good is
carried by those who read it), and its mirror as ``all``; its ``in`` starts again from nothing. Two
processes that knew the same spend raise the same field to it, so it is counted once; what one process
spent is its own field whether or not others had read it. So after a loss the total is exact once each
running process has synced, and never short, except for what a process that stopped for good sent after
the running ones' last reads. An outage that Redis comes back from with its data keeps the generation, and
the writes raise the fields they raised before, or higher.

Spend is rebuilt from the decision log at start-up once per month, not once per process: the first
process to claim the month's marker raises ``all`` to the log's month; the others find the marker there.
Running processes claim a new month at their first sync in it, so one started later in the month does not
add the log's month on top of what they sent. A restore made while Redis was down reaches Redis if that
process claims the month as Redis returns; one made by a process started after Redis lost its data meets
what the running ones carry over in ``all`` (a maximum, not a sum). Counting errs the safe way: it can
count twice only spend that ended, on a running process, between a newcomer's claim and the start of its
restore (the log has it, and so does that process's ``in``), and, when Redis loses its data, spend that had
just moved to :data:`GONE` (below): a process whose last read came before the move carries it under the
process's name and one whose read came after carries it as gone's, and a paused process that was moved
and wakes after the loss (its left marker lost too) counts it as its own. Caps then hold early, never late.

Spend that no running process will send (a process counted it while Redis was unreachable to it and
stopped before Redis returned, or was killed within a sync of its last requests) is brought back from the
decision log, which holds every process's rows: a process that starts without restoring the month, and one
process every ``reconcile_every`` seconds, compares the log's month with Redis's totals
(:meth:`SharedSpend.reconcile`) and, if the log holds more, begins a new generation (:data:`RESET`) whose
``all`` is the log's: the running processes carry over what they know, as after Redis lost its data, so what a
process only cut off from Redis sends later is counted once. A stopping process tries Redis once more first,
even while its link is down (:meth:`SharedSpend.aclose`), and logs what it could not send.

Only the current periods are synced: spend of a day or month that has ended is dropped from the mirror
once the next sync reads the new one, as caps no longer read it.

A process that stops cleanly leaves (:data:`LEAVE`, from :meth:`SharedSpend.aclose`): in one script it adds
its ``in`` fields (raised first to what it knows) to those of the process named ``gone`` (:data:`GONE`,
``in␟gone␟tier␟opus``; no process's own name, 16 hex digits, is that) and deletes them, and marks itself gone
(``spend:left:<process>``, for as long as a month's hash lives). The total does not change, and the hashes
hold a field per running process and name, not one per process that ever ran: a gateway restarted every
day, or scaled up and down, does not grow what each sync reads. A sync of a gone process writes nothing,
so a late one (a stall, as above) counts nothing twice, and a leave applied twice moves nothing twice. A
process that dies without stopping (killed, out of memory) cannot leave: a running peer moves its ``in``
fields to :data:`GONE`'s once it has not synced for ``silence`` seconds (:mod:`tiergate.state.spend_silent`:
each sync says when the process was seen, and one that was only paused goes on under a new name). ``was``
fields, written only when a generation begins, stay until the month's hash expires.

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
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tiergate.state.link import Down, RedisLink, text_of
from tiergate.state.spend_silent import SILENCE_SECONDS, SilentPeers
from tiergate.telemetry.spend import PERIODS, Calendar, LocalSpend, Period, SpendKey, SpendLedger

log = logging.getLogger("tiergate.budgets")

#: How long a period's hash outlives its last write: a day's for three days, a month's for 41.
KEEP_SECONDS: dict[str, int] = {"daily": 3 * 86_400, "monthly": 41 * 86_400}
#: Separates the parts of a hash field (no tier, client key or process name holds it).
SEP = "\x1f"
#: The process whose ``in`` fields hold what stopped processes spent (:data:`LEAVE`).
GONE = "gone"
#: Dollars below this in a process's own fields are float residue of ``mine - before - moved``, not spend:
#: never written (a field of 1e-17 would be a field for nothing, and a leave would add it to gone's).
RESIDUE = 1e-9
#: Syncs in one call of :meth:`SharedSpend.sync` at most: the first contact, or a new generation, takes two.
ROUNDS = 3

#: A sync, in one script so Redis applies it whole: names the month's generation ``ARGV[1]`` if it has none
#: (``SET NX``, as :func:`claim`); unless the process has left, writes its time into the month's ``seen`` hash
#: (:mod:`tiergate.state.spend_silent`) and, if the generation is ``ARGV[2]``, raises each field given to its
#: value; reads the hashes. KEYS the marker, then the current periods' hashes, then the ``seen`` hash, then the
#: process's left marker. ARGV the generation's new name, the one expected, the marker's expiry, the process's
#: name, its time, then each hash's expiry, then (hash's index in KEYS, field, value) per field to raise.
#: Returns whether this sync named the generation, its name, 0 if the process has not left (else what a peer
#: moved of its spend as it was silent, or nothing if it left itself), then the hashes.
SYNC = """
local claimed = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[3])
local gen = redis.call('GET', KEYS[1])
local left = 0
if redis.call('EXISTS', KEYS[#KEYS]) == 1 then
  left = {}
  if redis.call('TYPE', KEYS[#KEYS]).ok == 'hash' then left = redis.call('HGETALL', KEYS[#KEYS]) end
else
  redis.call('HSET', KEYS[#KEYS - 1], ARGV[4], ARGV[5])
  redis.call('EXPIRE', KEYS[#KEYS - 1], ARGV[3])
  if gen == ARGV[2] then
    for i = 3 + #KEYS, #ARGV, 3 do
      local hash, field, value = KEYS[tonumber(ARGV[i])], ARGV[i + 1], ARGV[i + 2]
      if tonumber(value) > tonumber(redis.call('HGET', hash, field) or '0') then
        redis.call('HSET', hash, field, value)
        redis.call('EXPIRE', hash, ARGV[4 + tonumber(ARGV[i])])
      end
    end
  end
end
local out = {claimed and 1 or 0, gen, left}
for at = 2, #KEYS - 2 do out[#out + 1] = redis.call('HGETALL', KEYS[at]) end
return out
"""

#: A process leaving, in one script: if the generation is ``ARGV[1]`` and the process has not left yet, marks
#: it left, takes it out of the month's ``seen`` hash and adds each of its ``in`` fields given (raised first to
#: the value given) to :data:`GONE`'s. KEYS the marker, then the current periods' hashes, then the ``seen``
#: hash, then the process's left marker. ARGV the generation, the left marker's expiry, the process's name, then
#: each hash's expiry, then (hash's index in KEYS, its ``in`` field, :data:`GONE`'s, value) per field. Returns 1
#: if it left now.
LEAVE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('EXISTS', KEYS[#KEYS]) == 1 then return 0 end
redis.call('SET', KEYS[#KEYS], '1', 'EX', ARGV[2])
redis.call('HDEL', KEYS[#KEYS - 1], ARGV[3])
for i = 1 + #KEYS, #ARGV, 4 do
  local at = tonumber(ARGV[i])
  local hash, spent, gone = KEYS[at], ARGV[i + 1], ARGV[i + 2]
  local usd = math.max(tonumber(redis.call('HGET', hash, spent) or '0'), tonumber(ARGV[i + 3]))
  redis.call('HDEL', hash, spent)
  if usd > 0 then
    redis.call('HINCRBYFLOAT', hash, gone, usd)
    redis.call('EXPIRE', hash, ARGV[2 + at])
  end
end
return 1
"""

#: Starts a new generation whose floor is to be the decision log's (:meth:`SharedSpend.reconcile`): if the month's
#: marker still names ``ARGV[1]``, deletes the current periods' hashes and names the generation ``ARGV[2]``, as if
#: Redis had lost its data. KEYS the marker, then the hashes. ARGV the generation read, the new one, the
#: marker's expiry. Returns 1 if it did.
RESET = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""

#: Seconds a stopping process gives each call of its last try to share its spend (also while the link is down),
#: and all of them together.
CLOSING_SECONDS = 2.0
CLOSING_TOTAL = 6.0
#: Dollars by which the decision log's sum must exceed the shared total for :meth:`SharedSpend.reconcile` to act
#: (float noise between a database's sum and Redis's sums is far smaller).
SHORT_USD = 1e-6
#: Seconds before a reconciliation whose log could not be read tries again.
RECONCILE_RETRY = 30.0

Pair = tuple[Period, str]
#: A field of one current period's hash.
Slot = tuple[Pair, str]


def claim(pipe: Any, marker: str, token: str) -> None:
    """Name the month's generation ``token`` if it has no name yet (``SET NX``: one process wins), and read
    the name it has: the pipeline's two replies."""
    pipe.set(marker, token, nx=True, ex=KEEP_SECONDS["monthly"])
    pipe.get(marker)


def field(kind: str, scope: str, name: str, process: str | None = None) -> str:
    return SEP.join((kind, scope, name) if process is None else (kind, process, scope, name))


def totals(fields: Iterable[tuple[str, float]]) -> dict[tuple[str, str], float]:
    """A hash's totals by ``(scope, name)``: ``max(all, sum of was) + sum of in``."""
    floor: dict[tuple[str, str], float] = {}
    was: dict[tuple[str, str], float] = {}
    spent: dict[tuple[str, str], float] = {}
    for text, usd in fields:
        kind, *rest = text.split(SEP)
        scope, name = rest[-2], rest[-1]
        into = {"all": floor, "was": was, "in": spent}.get(kind)
        if into is not None:
            into[scope, name] = into.get((scope, name), 0.0) + usd
    return {key: max(floor.get(key, 0.0), was.get(key, 0.0)) + spent.get(key, 0.0) for key in {*floor, *was, *spent}}


class SharedSpend:
    """A :class:`~tiergate.telemetry.spend.SpendLedger` whose totals live in Redis."""

    def __init__(
        self,
        link: RedisLink,
        *,
        interval: float = 0.5,
        clock: Callable[[], float] = time.time,
        silence: float = SILENCE_SECONDS,
    ) -> None:
        self.link = link
        self.interval = interval
        self.clock = clock
        #: How long a process may go without syncing before this one moves its spend to ``gone``.
        self.silence = silence
        self.calendar: Callable[[], Calendar] = Calendar
        self.local = LocalSpend()
        #: This process's name in the hashes' fields.
        self.process = secrets.token_hex(8)
        #: What this process spent, and how much of it before the generation it syncs with began.
        self._mine: dict[SpendKey, float] = {}
        self._before: dict[SpendKey, float] = {}
        #: What a peer moved to ``gone`` of this process's ``in`` fields while it was silent, and what the ``was``
        #: fields of its former names hold (:meth:`_rejoin`): counted there, so not again under its name.
        self._moved: dict[SpendKey, float] = {}
        self._elsewhere: dict[SpendKey, float] = {}
        #: The generation the mirror was read from, and the last one this process claimed.
        self._seen: str | None = None
        self._claimed: str | None = None
        #: The hashes as last read, and the fields this process raises once in this generation (what it
        #: carried over from the last one).
        self._read: dict[Pair, dict[str, float]] = {}
        self._carried: dict[Slot, float] = {}
        #: The decision log's restore (sums so far) and the generation it belongs to ("": the next this process
        #: claims).
        self._owed: dict[SpendKey, float] = {}
        self._owed_gen: str | None = None
        self._task: asyncio.Task[None] | None = None
        self.syncs = 0
        #: Since when every sync was answered without a long gap (None: the last one was not), when the last
        #: one was, and when to look for silent peers.
        self._steady_since: float | None = None
        self._answered = 0.0
        self._next_fold = 0.0
        #: Reads the decision log's month into a ledger (None while its server is away): set when the gateway
        #: has a decision log, to bring the shared totals up to it (:meth:`reconcile`) at start and every
        #: ``reconcile_every`` seconds (by one process per interval).
        self.log_reader: Callable[[SpendLedger], int | None] | None = None
        self.reconcile_every = silence
        self._next_reconcile: float | None = None
        self._reconcile_leased = False
        self._reconciling: asyncio.Task[Any] | None = None
        self._sync = link.client.register_script(SYNC)
        self._reset = link.client.register_script(RESET)
        self._leave = link.client.register_script(LEAVE)
        self._silent = SilentPeers(link, separator=SEP, left=self._left_marker)

    # --- SpendLedger ---------------------------------------------------------------------------

    def add(self, keys: Sequence[SpendKey], usd: float) -> None:
        self.local.add(keys, usd)
        for key in keys:
            self._mine[key] = self._mine.get(key, 0.0) + usd

    def get(self, key: SpendKey) -> float:
        return self.local.get(key)

    def snapshot(self) -> dict[SpendKey, float]:
        return self.local.snapshot()

    # --- syncing -------------------------------------------------------------------------------

    def _hash(self, period: str, label: str) -> str:
        return self.link.key("spend", period, label)

    def _current(self) -> list[Pair]:
        calendar, now = self.calendar(), self.clock()
        return [(period, calendar.label(period, now)) for period in PERIODS]

    def _left_marker(self, process: str) -> str:
        return self.link.key("spend", "left", process)

    def _keys(self, current: list[Pair]) -> list[str]:
        """A script's KEYS: the month's marker, the current periods' hashes, the month's ``seen`` hash, this
        process's left marker."""
        month = dict(current)["monthly"]
        marker = self.link.key("spend", "restored", month)
        hashes = (self._hash(*pair) for pair in current)
        return [marker, *hashes, self.link.key("spend", "seen", month), self._left_marker(self.process)]

    async def sync(self, *, within: float | None = None) -> bool:
        """Raise this process's fields, read the current periods back; False when Redis did not answer.
        ``within``: try even while the link is down, waiting that long for each answer (a process stopping)."""
        for _ in range(ROUNDS):
            got = await self._exchange(within)
            if got is None:
                self._steady_since = None
                return False
            if got:
                break
        self.syncs += 1
        now = self.clock()
        # A long gap since the last answer (this process was paused, or tried no sync) restarts the wait too.
        if self._steady_since is None or now - self._answered > self.silence / 4:
            self._steady_since = now
        self._answered = now
        return True

    async def _call(self, op: Callable[[Any], Any], within: float | None) -> Any:
        return await (self.link.run(op) if within is None else self.link.attempt(op, within=within))

    async def _exchange(self, within: float | None = None) -> bool | None:
        """One round of :data:`SYNC`: None when Redis did not answer, False when Redis still lacks what this
        process knows and the fields are to be sent again (it had not read the generation Redis holds, or
        Redis came back with older sums than it had read)."""
        current = self._current()
        self._forget(current)
        keys, token = self._keys(current), secrets.token_hex(8)
        marker = keys[0]
        where = {pair: at for at, pair in enumerate(current, start=2)}
        # A field Redis did not hold at the last read goes (again): its last write may be lost, or Redis came
        # back with older data than it had.
        known = self._known(current)
        sending = {(pair, name): usd for (pair, name), usd in known.items() if usd > self._read_of(pair, name)}
        args: list[Any] = [token, self._seen or "", KEEP_SECONDS["monthly"], self.process, repr(self.clock())]
        args += [KEEP_SECONDS[p] for p, _ in current]
        for (pair, name), usd in sending.items():
            args += [where[pair], name, repr(usd)]

        async def send(client: Any) -> list[Any]:
            got = await self._sync(keys=keys, args=args, client=client)
            return [*got[:3], *(zip(fields[::2], fields[1::2], strict=True) for fields in got[3:])]

        async def receive(client: Any) -> list[Any]:
            """Nothing to send: the claim, the reads and when this process was seen, as a transaction (no script
            on an idle process's syncs). Whether a peer moved this process is not read: if one did, this read
            lacks its fields, and the next round sends them through the script, which says so."""
            pipe = client.pipeline(transaction=True)
            claim(pipe, marker, token)
            hashes = keys[1:-2]
            for name in hashes:
                pipe.hgetall(name)
            pipe.hset(keys[-2], self.process, repr(self.clock()))
            pipe.expire(keys[-2], KEEP_SECONDS["monthly"])
            got = await pipe.execute()
            return [*got[:2], 0, *(fields.items() for fields in got[2 : 2 + len(hashes)])]

        # Written only into the generation this process read last: the script writes nothing into another.
        got = await self._call(send if self._seen is not None and sending else receive, within)
        if isinstance(got, Down):
            return None
        gen = text_of(got[1])
        if got[0]:
            self._claimed = gen
        if got[2]:  # a peer moved this process's spend to gone while it was silent: go on as another process
            self._rejoin(got[2], current)
            return False
        if gen != self._seen:
            self._begin(gen, current)
        self._read = {
            pair: {text_of(name): float(usd) for name, usd in fields}
            for pair, fields in zip(current, got[3:], strict=True)
        }
        known = self._known(current)  # what Redis is yet to hold counts in the mirror all the same
        for pair in current:
            fields = dict(self._read[pair])
            for (at, name), usd in known.items():
                if at == pair:
                    fields[name] = max(usd, fields.get(name, 0.0))
            period, label = pair
            self.local.replace(
                period, label, {(*name, period, label): usd for name, usd in totals(fields.items()).items()}
            )
        return all(usd <= self._read_of(pair, name) for (pair, name), usd in known.items())

    def _begin(self, gen: str, current: list[Pair]) -> None:
        """Start syncing with generation ``gen``; if Redis lacks what this process counted (it read another
        generation, or claims this one with a restore made while Redis was down), carry it over."""
        claimed_while_down = self._owed_gen == "" and gen == self._claimed
        if self._seen is not None or claimed_while_down:
            carried: dict[Slot, float] = {}
            for pair in current:
                for (scope, name, *at), usd in self.local.snapshot().items():
                    if tuple(at) == pair and usd > 0:
                        carried[pair, field("all", scope, name)] = usd
                for text, usd in self._read.get(pair, {}).items():
                    kind, *rest = text.split(SEP)
                    if kind in ("in", "was") and rest[0] != self.process:
                        slot = (pair, field("was", rest[1], rest[2], rest[0]))
                        carried[slot] = carried.get(slot, 0.0) + usd
            for slot, usd in self._carried.items():  # carried over before, not confirmed since: still owed
                carried[slot] = max(usd, carried.get(slot, 0.0))
            self._carried = carried
            # What was moved to gone goes on being counted there (carried as gone's ``was``), not as this one's.
            self._before = {key: usd - self._moved.get(key, 0.0) for key, usd in self._mine.items()}
        else:
            self._carried = {}
        lost = self._seen is not None or self._owed_gen == gen or claimed_while_down
        self._owed_gen = gen if lost and self._owed_gen is not None else None
        self._seen = gen

    def _known(self, current: list[Pair]) -> dict[Slot, float]:
        """What this process knows of the current hashes: its own fields, what it carried over, the restore."""
        known = dict(self._carried)
        for key, usd in self._mine.items():
            pair: Pair = (key[2], key[3])  # type: ignore[assignment]
            if pair not in current:
                continue
            before = self._before.get(key, 0.0)
            spent = usd - before - self._moved.get(key, 0.0)
            known[pair, field("in", key[0], key[1], self.process)] = spent if spent > RESIDUE else 0.0
            was = before - self._elsewhere.get(key, 0.0)
            if was > RESIDUE:
                known[pair, field("was", key[0], key[1], self.process)] = was
        if self._owed_gen is not None and self._owed_gen in ("", self._seen):
            for (scope, name, period, label), usd in self._owed.items():
                slot: Slot = ((period, label), field("all", scope, name))  # type: ignore[assignment]
                if slot[0] in current:
                    known[slot] = max(usd, known.get(slot, 0.0))
        return known

    def _read_of(self, pair: Pair, name: str) -> float:
        return self._read.get(pair, {}).get(name, 0.0)

    def _forget(self, current: list[Pair]) -> None:
        """Drop what this process keeps of periods that ended."""
        for table in (self._mine, self._before, self._moved, self._elsewhere, self._owed):
            for key in [key for key in table if (key[2], key[3]) not in current]:
                del table[key]
        for slot in [slot for slot in self._carried if slot[0] not in current]:
            del self._carried[slot]

    def _rejoin(self, moved: list[Any], current: list[Pair]) -> None:
        """A peer moved this process's ``in`` fields to :data:`GONE`'s (``moved``: the flat hash its left marker
        holds): count what was moved as gone, and go on under a new name. The move leaves ``was`` fields where they
        are (others may carry them), so what this process's ``was`` fields hold stays counted under the former
        name."""
        hashes = {self._hash(*pair): pair for pair in current}
        for name, usd in zip(moved[::2], moved[1::2], strict=True):
            parts = text_of(name).split(SEP)
            pair = hashes.get(parts[0])
            if len(parts) == 3 and pair is not None:
                key: SpendKey = (parts[1], parts[2], *pair)
                self._moved[key] = self._moved.get(key, 0.0) + float(usd)
        self._elsewhere = dict(self._before)
        former, self.process = self.process, secrets.token_hex(8)
        log.warning(
            "budgets: this process did not sync for longer than a peer allows (%s s) and the peer moved its "
            "spend to %r; it goes on as %s (was %s)",
            f"{self.silence:g}",
            GONE,
            self.process,
            former,
        )

    async def fold_silent(self) -> list[str]:
        """Move the spend of every process silent for longer than :attr:`silence` to :data:`GONE`'s
        (:mod:`tiergate.state.spend_silent`): the names moved. Nothing moves unless this process has synced
        without a miss for that long itself."""
        now = self.clock()
        steady = self._steady_since is not None and now - self._steady_since >= self.silence
        if self._seen is None or not steady or now - self._answered > self.silence / 4:  # (paused since)
            return []
        current = self._current()
        keys = self._keys(current)
        moved = await self._silent.fold(
            marker=keys[0],
            hashes=keys[1:-2],
            seen=keys[-2],
            generation=self._seen,
            me=self.process,
            silent_before=now - self.silence,
            keep=KEEP_SECONDS["monthly"],
            expiries=[KEEP_SECONDS[p] for p, _ in current],
        )
        for name in moved or ():
            silence = f"{self.silence:g}"
            log.info("budgets: process %s did not sync for %s s; its spend moved to %r", name, silence, GONE)
        return moved or []

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if not self.link.up:  # the link's probe brings it back; until then the spend waits here
                self._steady_since = None
                continue
            try:
                synced = await self.sync()
                due = self._next_reconcile
                if synced and due is not None and self.clock() >= due and self._reconciling is None:
                    self._next_reconcile = None
                    self._reconciling = asyncio.get_running_loop().create_task(self._reconcile_now())
                if self.clock() >= self._next_fold:
                    self._next_fold = self.clock() + self.silence / 10
                    await self.fold_silent()
            except Exception:  # a bug here must not stop the syncing
                log.exception("budgets: syncing spend with Redis failed")

    def reconcile_with(self, read: Callable[[SpendLedger], int | None], *, now: bool) -> None:
        """Bring the shared totals up to the decision log's from now on (``read``: the month's spend into a
        ledger, None while the log's server is away): after the next sync if ``now`` (a process that did not
        restore the month itself at start), then every :attr:`reconcile_every` seconds, by whichever process
        takes the month's turn in Redis."""
        self.log_reader = read
        self._reconcile_leased = not now
        self._next_reconcile = self.clock() + (0.0 if now else self.reconcile_every)

    async def _reconcile_now(self) -> None:
        """A turn of :meth:`reconcile`, and the next one planned."""
        retry = True
        try:
            if self._reconcile_leased and not await self._take_turn():
                retry = False
                return
            retry = await self.reconcile() is None
        except Exception:  # a bug here must not stop the reconciling
            log.exception("budgets: reconciling the shared spend with the decision log failed")
        finally:
            self._reconcile_leased = True
            self._next_reconcile = self.clock() + (RECONCILE_RETRY if retry else self.reconcile_every)
            self._reconciling = None

    async def _take_turn(self) -> bool:
        """Whether this process reconciles this interval: the month's turn key, taken with ``SET NX``."""
        month = dict(self._current())["monthly"]
        turn, every = self.link.key("spend", "reconciled", month), max(1, int(self.reconcile_every))

        async def op(client: Any) -> Any:
            return await client.set(turn, self.process, nx=True, ex=every)

        got = await self.link.run(op)
        return not isinstance(got, Down) and bool(got)

    async def reconcile(self) -> dict[SpendKey, tuple[float, float]] | None:
        """Make the shared totals of the current periods at least the decision log's.

        The log holds every request any process served, so a total short of it misses spend that no running
        process will send: a process that counted it while Redis was unreachable to it and stopped before
        Redis returned, or one killed within a sync of its last requests. Adding the difference could count
        twice what a process cut off from Redis still holds and sends when it returns; so, as when Redis loses
        its data, a new generation begins: the hashes are emptied, this process raises ``all`` to the log's
        sums (as the month's first process does at start-up), and each running process puts back, once, what
        it had counted (its own spend as ``was``, its total as ``all``). The total is then ``max(log, what
        the processes carried) + what each spends from then on``: at least the log's, and no dollar twice.

        Returns the sums that were short, ``key -> (shared, logged)`` (empty: none was); None when the log or
        Redis could not be read, or this process has not synced yet."""
        read = self.log_reader
        if read is None or self._seen is None or self._owed_gen == "":
            return None
        found = LocalSpend()
        if await asyncio.to_thread(read, found) is None:
            return None
        # spend whose row the log just showed reaches Redis with its process's next sync: wait for that
        await asyncio.sleep(2 * self.interval)
        current = self._current()
        keys = self._keys(current)
        marker, hashes = keys[0], keys[1:-2]

        async def op(client: Any) -> list[Any]:
            pipe = client.pipeline(transaction=True)
            pipe.get(marker)
            for name in hashes:
                pipe.hgetall(name)
            return list(await pipe.execute())

        got = await self.link.run(op)
        if isinstance(got, Down) or got[0] is None:
            return None
        gen, logged = text_of(got[0]), found.snapshot()
        short: dict[SpendKey, tuple[float, float]] = {}
        for pair, fields in zip(current, got[1:], strict=True):
            held = totals((text_of(name), float(usd)) for name, usd in fields.items())
            for key, usd in logged.items():
                shared = held.get((key[0], key[1]), 0.0)
                if (key[2], key[3]) == pair and usd - shared > SHORT_USD:
                    short[key] = (shared, usd)
        if not short:
            return {}
        token = secrets.token_hex(8)

        async def reset(client: Any) -> Any:
            return await self._reset(keys=[marker, *hashes], args=[gen, token, KEEP_SECONDS["monthly"]], client=client)

        done = await self.link.run(reset)
        if isinstance(done, Down):
            return None
        if not int(done):  # another process began a generation meanwhile: its restore or its reconciliation
            return {}
        # No await from here to the end: the next sync finds the new generation with this restore owed to it.
        self._owed = {key: usd for key, usd in logged.items() if (key[2], key[3]) in current}
        self._owed_gen = self._claimed = token
        log.warning(
            "budgets: this month's shared spend was short of the decision log's (%s): spend that a process counted and "
            "could not share (Redis was unreachable to it as it stopped, or it was killed); the shared totals "
            "start again from the decision log's, and each running process adds what it counted, once",
            ", ".join(
                f"{scope} {name!r} ${shared:.4f} shared, ${usd:.4f} logged"
                for (scope, name, period, _), (shared, usd) in sorted(short.items())
                if period == "monthly"
            )
            or "today's only",
        )
        return short

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def aclose(self) -> None:
        """Stop syncing; send what is still waiting. While the link is down (or its last sync fails) one more
        try goes to Redis, each call with :data:`CLOSING_SECONDS` to answer: spend this process counted while Redis was
        away is shared by no one else. If Redis does not answer, say how much stays unshared."""
        for task in (self._task, self._reconciling):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._reconciling = None
        if not (self._mine or self._owed):
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSING_TOTAL):
                if await self.sync() or await self.sync(within=CLOSING_SECONDS):
                    await self.leave(within=None if self.link.up else CLOSING_SECONDS)
                    return
        self._unshared_at_close()

    def _unshared_at_close(self) -> None:
        """Log what this process counted this month that Redis does not hold (it did not answer at shutdown)."""
        current = self._current()
        month = [pair for pair in current if pair[0] == "monthly"]
        unsent: dict[tuple[str, str], float] = {}
        for (pair, name), usd in self._known(current).items():
            kind, *rest = name.split(SEP)
            if pair in month and kind in ("in", "was") and rest[0] == self.process:
                gap = usd - self._read_of(pair, name)
                if gap > RESIDUE:
                    unsent[rest[1], rest[2]] = unsent.get((rest[1], rest[2]), 0.0) + gap
        tiers = {name: usd for (scope, name), usd in sorted(unsent.items()) if scope == "tier"}
        if not tiers:
            return
        where = (
            f"a running process adds it from the decision log within {self.reconcile_every:g} s, or a process "
            "that starts does"
            if self.log_reader is not None
            else "without a decision log to restore it from, the shared caps miss it until the month ends"
        )
        log.warning(
            "budgets: Redis at %s did not answer as this process stopped: $%.4f of spend it counted this month "
            "(%s) is not in the shared budgets; %s",
            self.link.shown_url,
            sum(tiers.values()),
            ", ".join(f"tier {name!r} ${usd:.4f}" for name, usd in tiers.items()),
            where,
        )

    async def leave(self, *, within: float | None = None) -> bool:
        """Move this process's ``in`` fields to :data:`GONE`'s (:data:`LEAVE`) as it stops: True if it left now.
        Nothing moves if Redis does not answer, or holds another generation than this process synced with."""
        if self._seen is None:
            return False
        current = self._current()
        where = {pair: at for at, pair in enumerate(current, start=2)}
        args: list[Any] = [self._seen, KEEP_SECONDS["monthly"], self.process, *(KEEP_SECONDS[p] for p, _ in current)]
        for (pair, name), usd in self._known(current).items():
            kind, *rest = name.split(SEP)
            if kind == "in" and rest[0] == self.process:
                args += [where[pair], name, field("in", rest[1], rest[2], GONE), repr(usd)]
        if len(args) == 3 + len(current):  # nothing spent in this generation: nothing to move or guard
            return False
        keys = self._keys(current)

        async def op(client: Any) -> Any:
            return await self._leave(keys=keys, args=args, client=client)

        got = await self._call(op, within)
        return not isinstance(got, Down) and int(got) == 1

    # --- restoring from the decision log ---------------------------------------------------------

    async def restore_into(self, month: str) -> SpendLedger | None:
        """Where this process should add the decision log's spend of ``month`` at start-up: into the mirror and
        Redis (``all``) when it claims the month (or its own sync just did), nowhere when another process did.
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


class _Restore:
    """The ledger a start-up restore fills from its thread: each sum reaches the mirror and the restore owed
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
