"""Spend per tier and per client key, by day and by month, for the ``budgets`` caps.

Every finished request that reported token usage adds its cost (the serving target's ``price``, as in the
decision log) to four counters: its tier's day and month, its client's day and month. So does each attempt
it fell back from after the upstream's 200 (a stream broken before its first token, an answer cut short):
the tokens that upstream had counted, at that attempt's target and tier. Days and months are calendar
periods in ``budgets.timezone``. The counters are plain sums under keys such as
``("tier", "opus", "daily", "2025-06-01")``, so a shared store (Redis ``INCRBYFLOAT`` with an expiry) can
replace the in-process one behind :class:`SpendLedger`.

Spend survives a restart: :func:`restore` adds up the decision log's ``cost_usd`` of the current month
(in 15-minute buckets, so any real time zone's midnight falls on a bucket edge) before the gateway
serves, from the SQLite file or the team's PostgreSQL log (``server.decision_log.url``): the same query
in each store's dialect. A failed attempt's part of a row's cost (in its ``attempts_json``) goes to that
attempt's tier. Without the decision log, spend starts at zero.

A PostgreSQL log whose server is not up when the gateway starts (a compose start, an outage) is read once it
answers (:func:`restore_later`): the month up to the gateway's start, added to what the gateway counted
meanwhile. The rows of the requests served meanwhile, which the decision log writes once the server is back,
are left out by that bound: they were counted as they ended.

    ledger = LocalSpend()
    gateway.observers.append(SpendObserver(ledger, lambda: calendar))
    ledger.get(("tier", "opus", "daily", calendar.label("daily", time.time())))
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
import zoneinfo
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import quote

import psycopg

from tiergate.engine.targets import Target
from tiergate.redact import redact_url, redact_url_error
from tiergate.telemetry.cost import ATTEMPT_COST, attempt_costs, cost_usd
from tiergate.telemetry.record import RequestRecord
from tiergate.telemetry.sql_queries import POSTGRES_PYFORMAT, SQLITE, is_postgres, unless_given
from tiergate.wire import Usage

log = logging.getLogger("tiergate.budgets")

Period = Literal["daily", "monthly"]
PERIODS: tuple[Period, ...] = ("daily", "monthly")
Scope = Literal["tier", "client"]
SpendKey = tuple[str, str, str, str]
"""(scope, name, period, label): ``("client", "ci", "monthly", "2025-06")``."""
Rows = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]
"""What :func:`restore` reads: the sums of rows all of one tier, and the rows whose cost is split."""
BUCKET_SECONDS = 900


class SpendLedger(Protocol):
    """Sums of US dollars by key; one per process (or shared)."""

    def add(self, keys: Sequence[SpendKey], usd: float) -> None: ...

    def get(self, key: SpendKey) -> float: ...

    def snapshot(self) -> dict[SpendKey, float]: ...


class Calendar:
    """Days and months in one time zone: each period's label, start and end (unix seconds)."""

    def __init__(self, timezone: str = "UTC") -> None:
        self.timezone = timezone
        # UTC needs no time zone database (a slim container may have none; `pip install tzdata` adds one)
        self._zone: dt.tzinfo = dt.UTC if timezone == "UTC" else zoneinfo.ZoneInfo(timezone)
        #: The period last asked about, per kind: (start, end, label). Every request asks, and the answer
        #: changes once a day, so most asks are two comparisons.
        self._current: dict[str, tuple[float, float, str]] = {}

    def _start(self, period: Period, ts: float) -> dt.datetime:
        local = dt.datetime.fromtimestamp(ts, self._zone)
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return day if period == "daily" else day.replace(day=1)

    def label(self, period: Period, ts: float) -> str:
        current = self._current.get(period)
        if current is not None and current[0] <= ts < current[1]:
            return current[2]
        start = self._start(period, ts)
        label = start.strftime("%Y-%m-%d" if period == "daily" else "%Y-%m")
        self._current[period] = (start.timestamp(), self.end(period, ts), label)
        return label

    def start(self, period: Period, ts: float) -> float:
        return self._start(period, ts).timestamp()

    def end(self, period: Period, ts: float) -> float:
        """When the period holding ``ts`` ends: the next local midnight, or the next month's first."""
        start = self._start(period, ts)
        if period == "daily":
            nxt = (start + dt.timedelta(days=1, hours=3)).replace(hour=0)  # DST days are 23 or 25 hours
        else:
            nxt = (start + dt.timedelta(days=32)).replace(day=1)
        return nxt.replace(tzinfo=self._zone).timestamp()

    def keys(self, ts: float, tier: str, client: str) -> list[SpendKey]:
        return [
            (scope, name, period, self.label(period, ts))
            for scope, name in (("tier", tier), ("client", client))
            for period in PERIODS
        ]


class LocalSpend:
    """The in-process ledger. Only current periods are ever read, so keys of earlier ones are dropped once
    more than ``keep_labels`` labels exist for a period kind."""

    def __init__(self, keep_labels: int = 2) -> None:
        self._sums: dict[SpendKey, float] = {}
        self._labels: dict[str, list[str]] = {"daily": [], "monthly": []}
        self._keep = keep_labels

    def add(self, keys: Sequence[SpendKey], usd: float) -> None:
        for key in keys:
            self._sums[key] = self._sums.get(key, 0.0) + usd
            self._note(key[2], key[3])

    def _note(self, period: str, label: str) -> None:
        labels = self._labels.setdefault(period, [])
        if label in labels:
            return
        labels.append(label)
        labels.sort()
        while len(labels) > self._keep:
            old = labels.pop(0)
            for key in [k for k in self._sums if k[2] == period and k[3] == old]:
                del self._sums[key]

    def replace(
        self, period: str, label: str, totals: dict[SpendKey, float], extra: dict[SpendKey, float] | None = None
    ) -> None:
        """Every sum of one period (``period``, ``label``) becomes ``totals`` plus ``extra`` (a shared store's
        totals, and what this process added since they were read)."""
        for key in [k for k in self._sums if k[2] == period and k[3] == label]:
            del self._sums[key]
        for source in (totals, extra or {}):
            for key, usd in source.items():
                self._sums[key] = self._sums.get(key, 0.0) + usd
        self._note(period, label)

    def get(self, key: SpendKey) -> float:
        return self._sums.get(key, 0.0)

    def snapshot(self) -> dict[SpendKey, float]:
        return dict(sorted(self._sums.items()))


class SpendObserver:
    """Adds each finished request's cost to the ledger: its charged usage (the upstream's count, or an
    estimate where there was none; :mod:`tiergate.telemetry.usage`) at the serving target, and what failed
    attempts had been counted at theirs (``RequestRecord.spent``). What routing spent (the classifier's call)
    is not taken from the record: it was charged as the call ended (``charge``, by the router), which also
    counts a call whose request left no record (its client left during routing, or a dry run)."""

    def __init__(self, ledger: SpendLedger, calendar: Callable[[], Calendar], clock: Callable[[], float]) -> None:
        self.ledger = ledger
        self.calendar = calendar
        self.clock = clock

    def observe(self, record: RequestRecord) -> None:
        self.charge(record.client, record.spent(side=False))

    def charge(self, client: str, spent: Sequence[tuple[Target, Usage]]) -> None:
        """Add what ``client`` spent at each target, at its price, to its tier and to the client."""
        for target, usage in spent:
            usd = cost_usd(target.price, usage)
            if usd > 0:
                self.ledger.add(self.calendar().keys(self.clock(), target.tier, client), usd)


def restore(
    ledger: SpendLedger, where: Path | str, calendar: Calendar, now: float, *, until: float | None = None
) -> int | None:
    """Add the decision log's spend of the current month to ``ledger``; the number of requests counted.

    ``where`` is the SQLite file or the ``postgresql://`` URL of ``server.decision_log``. Reads with its own
    connection (the writer is not blocked). ``until`` leaves out the rows logged from then on (unix seconds).
    A missing file counts nothing; an unreadable log is logged and counts nothing: budgets then start from
    zero. None when a PostgreSQL log's server cannot be reached now: nothing was added, try again later.
    """
    span = (calendar.start("monthly", now), float("inf") if until is None else until)
    read = _postgres_rows(where, span) if is_postgres(where) else _sqlite_rows(Path(where), span)
    if read is None:
        return None
    rows, split = read
    counted = 0
    for tier, client, bucket, usd, count in rows:
        ledger.add(calendar.keys(float(bucket * BUCKET_SECONDS), str(tier), str(client)), float(usd))
        counted += int(count)
    for tier, client, ts, usd, attempts in split:
        rest = float(usd)  # what is left once each failed attempt's cost went to its own tier
        for attempt_tier, attempt_usd in attempt_costs(attempts):
            ledger.add(calendar.keys(float(ts), attempt_tier, str(client)), attempt_usd)
            rest -= attempt_usd
        if rest > 1e-12:  # the serving target's part; a failed request has none (float noise aside)
            ledger.add(calendar.keys(float(ts), str(tier), str(client)), rest)
        counted += 1
    return counted


async def restore_later(
    into: SpendLedger,
    read: Callable[[SpendLedger], int | None],
    shown: object,
    *,
    retry_min: float = 0.5,
    retry_max: float = 30.0,
) -> int:
    """``read`` (a :func:`restore` that found the log's server away) again every ``retry_min`` seconds,
    doubling to ``retry_max``, until the server answers; then add what it read to ``into``. Run as a task
    while the gateway serves: the read goes to a ledger of its own on a thread, and its sums reach ``into`` on
    the event loop, beside the requests counted there.

        read = partial(signals.restore_spend, url, until=started)   # None while the server is away
        task = loop.create_task(restore_later(signals.spend, read, redact_url(url)))
    """
    delay = retry_min
    while True:
        await asyncio.sleep(delay)
        found = LocalSpend()
        counted = await asyncio.to_thread(read, found)
        if counted is not None:
            for key, usd in found.snapshot().items():
                into.add([key], usd)
            log.info("budgets: %s answers; spend of %d request(s) this month restored from it", shown, counted)
            return counted
        delay = min(delay * 2, retry_max)


#: The rows with a failed attempt's cost in ``[?, ?)``, each read whole: part of its cost is another tier's.
_SPLIT_QUERY = (
    "SELECT tier, client, ts, cost_usd, attempts_json FROM decisions WHERE ts >= ? AND ts < ? AND cost_usd > 0 "
    "AND attempts_json LIKE ?"
)


def _spend_query(bucket: str) -> str:
    """Spend per tier, client and 15-minute bucket in ``[?, ?)`` of the other rows; ``bucket`` floors
    ``ts / BUCKET_SECONDS``."""
    return (
        f"SELECT tier, client, {bucket.format(f'ts / {BUCKET_SECONDS}')} AS bucket, SUM(cost_usd), COUNT(*) "
        "FROM decisions WHERE ts >= ? AND ts < ? AND cost_usd > 0 AND attempts_json NOT LIKE ? "
        "GROUP BY tier, client, bucket"
    )


def _sqlite_rows(path: Path, span: tuple[float, float]) -> Rows:
    if not path.exists():
        return [], []
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
        try:
            conn.execute("PRAGMA busy_timeout = 10000")
            rows = conn.execute(SQLITE.render(_spend_query(SQLITE.floor)), (*span, ATTEMPT_COST)).fetchall()
            return rows, conn.execute(SQLITE.render(_SPLIT_QUERY), (*span, ATTEMPT_COST)).fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        log.error("budgets: cannot read spend from the decision log %s (%s); spend starts at zero", path, exc)
        return [], []


def _postgres_rows(url: str, span: tuple[float, float]) -> Rows | None:
    """The rows, or None when the server cannot be reached (not up yet, restarting): it is read again later."""
    sql = POSTGRES_PYFORMAT.render(_spend_query(POSTGRES_PYFORMAT.floor))
    from tiergate.telemetry.decisions import DecisionLogError  # (through the dispatcher, it imports budgets: this)
    from tiergate.telemetry.postgres import PostgresDecisionLog

    try:  # a URL no retry can fix (a port that is no number) is no outage: the decision log is off, as it says
        PostgresDecisionLog._check(url)
    except DecisionLogError as exc:
        log.error("budgets: cannot read spend from %s; spend starts at zero", exc)
        return [], []
    try:
        with psycopg.connect(url, autocommit=True, **unless_given(url, {"connect_timeout": 10})) as conn:
            rows = conn.execute(sql, (*span, ATTEMPT_COST)).fetchall()
            return rows, conn.execute(POSTGRES_PYFORMAT.render(_SPLIT_QUERY), (*span, ATTEMPT_COST)).fetchall()
    except psycopg.OperationalError as exc:  # as the decision log's writer, an outage: it answers later
        log.debug(
            "budgets: the decision log %s cannot be read now: %s", redact_url(url), redact_url_error(url, str(exc))
        )
        return None
    except psycopg.errors.UndefinedTable:  # a new database: the log creates its tables next, and nothing was spent
        return [], []
    except psycopg.Error as exc:
        shown, why = redact_url(url), redact_url_error(url, str(exc).strip())  # a URL libpq cannot read is quoted
        log.error("budgets: cannot read spend from the decision log %s (%s); spend starts at zero", shown, why)
        return [], []
