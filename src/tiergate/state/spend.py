"""Budgets' spend in Redis: every replica and worker counts against the same caps.

The route reads spend synchronously (a dict lookup), so each process keeps a mirror: a ``LocalSpend``
holding what Redis held at the last sync plus what this process added since. A background task syncs
every ``interval`` seconds: it sends the increments added since the last sync (``HINCRBYFLOAT`` into one
hash per period, ``spend:daily:2026-12-03`` and ``spend:monthly:2026-12``, fields ``tier␟opus``), and
reads the current periods' hashes back into the mirror, in one transaction. So a cap reached through one
replica holds on the others within ``interval`` seconds.

While Redis is down the mirror goes on counting this process's requests and the increments wait; the
first sync after Redis returns sends them, so no spend is lost, and replaces the mirror with Redis's
totals.

Spend is rebuilt from the decision log at start-up once per month, not once per process: the first
process to claim ``spend:restored:<month>`` adds the log's month to Redis; the others find it there.

    spend = SharedSpend(link)
    signals = Signals(spend=spend); spend.calendar = lambda: signals.calendar
    spend.start()   # in the app's lifespan, after link.start(); ``await spend.aclose()`` at shutdown
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from tiergate.state.link import DOWN, Down, RedisLink, text_of
from tiergate.telemetry.spend import PERIODS, Calendar, LocalSpend, Period, SpendKey, SpendLedger

log = logging.getLogger("tiergate.budgets")

#: How long a period's hash outlives the period's start: a day's for two more days, a month's for ten.
KEEP_SECONDS: dict[str, int] = {"daily": 3 * 86_400, "monthly": 41 * 86_400}
#: Separates scope and name in a hash field (neither a tier nor a client key holds it).
SEP = "\x1f"


class SharedSpend:
    """A :class:`~tiergate.telemetry.spend.SpendLedger` whose totals live in Redis."""

    def __init__(self, link: RedisLink, *, interval: float = 0.5, clock: Callable[[], float] = time.time) -> None:
        self.link = link
        self.interval = interval
        self.clock = clock
        self.calendar: Callable[[], Calendar] = Calendar
        self.local = LocalSpend()
        self._pending: dict[SpendKey, float] = {}
        self._task: asyncio.Task[None] | None = None
        self.syncs = 0

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
        pending, self._pending = self._pending, {}
        calendar, now = self.calendar(), self.clock()
        current: list[tuple[Period, str]] = [(period, calendar.label(period, now)) for period in PERIODS]

        async def op(client: Any) -> list[Any]:
            pipe = client.pipeline(transaction=True)
            for (scope, name, period, label), usd in pending.items():
                pipe.hincrbyfloat(self._hash(period, label), f"{scope}{SEP}{name}", usd)
                pipe.expire(self._hash(period, label), KEEP_SECONDS[period])
            for period, label in current:
                pipe.hgetall(self._hash(period, label))
            return list(await pipe.execute())

        got = await self.link.run(op)
        if isinstance(got, Down):
            for key, usd in pending.items():  # not lost: sent with the next sync that reaches Redis
                self._pending[key] = self._pending.get(key, 0.0) + usd
            return False
        for (period, label), fields in zip(current, got[len(got) - len(current) :], strict=True):
            totals: dict[SpendKey, float] = {}
            for field, value in fields.items():
                scope, _, name = text_of(field).partition(SEP)
                totals[(scope, name, period, label)] = float(value)
            since = {key: usd for key, usd in self._pending.items() if key[2] == period and key[3] == label}
            self.local.replace(period, label, totals, since)
        self.syncs += 1
        return True

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
        if self._pending:
            await self.sync()

    # --- restoring from the decision log ---------------------------------------------------------

    async def restore_into(self, month: str) -> SpendLedger | None:
        """Where this process should add the decision log's spend of ``month`` at start-up: here (and so into
        Redis) when it is the first to claim the month, nowhere when another process did, and only into the
        mirror when Redis is down (its totals replace the mirror once it answers)."""
        marker = self.link.key("spend", "restored", month)
        claimed = await self.link.execute("SET", marker, "1", "NX", "EX", KEEP_SECONDS["monthly"])
        if claimed is DOWN:
            return self.local
        return self if claimed is not None else None
