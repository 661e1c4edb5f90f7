"""The console's queries as portable SQL, run by whichever store holds the decision log.

The statements use only what SQLite and PostgreSQL share (``COUNT``/``SUM``/``AVG``/``COALESCE``,
``CASE``, joins, correlated subqueries, ``GROUP BY`` by position) over the decision log's columns,
and are written with ``?`` placeholders. A ``Runner`` executes a list of statements in one read
snapshot; its ``SqlDialect`` renders placeholders (``?``, ``%s``) and the one expression that
differs, the floor used to put a row in a time bucket. Percentiles are computed here with numpy, as
``tiergate stats`` does (linear interpolation), so both stores give the same numbers. As there, a tier's cost
is what it was charged: what an attempt a request fell back from was charged (its ``attempts_json``) is that
attempt's tier's, not the answering tier's.

    queries = SqlQueries(SqliteRunner(Path("tiergate-decisions.db")))
    queries = SqlQueries(PsycopgRunner("postgresql://tiergate@db/tiergate"))   # same statements and numbers
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeGuard
from urllib.parse import quote

import msgspec
import numpy as np
import psycopg
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict

from tiergate.errors import LogUnavailable
from tiergate.redact import redact_url_error
from tiergate.telemetry.cost import ATTEMPT_COST, ROUTING, attempt_costs
from tiergate.telemetry.pg_service import service_settings
from tiergate.telemetry.queries import (
    Bucket,
    Candidate,
    Detail,
    Pair,
    Rating,
    RecentRow,
    ShadowExample,
    ShadowReport,
    TierWindow,
    Window,
)

log = logging.getLogger("tiergate.console")
_CREDENTIALS = re.compile(r"://[^@/\s]+@")

Rows = list[tuple[Any, ...]]
Statement = tuple[str, Sequence[Any]]
_decode = msgspec.json.Decoder().decode


@dataclass(frozen=True)
class SqlDialect:
    """How one store spells the two things that differ: a placeholder, and ``floor(x)`` for ``x >= 0``."""

    placeholder: Callable[[int], str]
    floor: str

    def render(self, sql: str) -> str:
        """``sql`` with each ``?`` replaced by this store's placeholder (the statements hold no ``?`` literal)."""
        parts = sql.split("?")
        out = [parts[0]]
        for i, part in enumerate(parts[1:], start=1):
            out.append(self.placeholder(i) + part)
        return "".join(out)


SQLITE = SqlDialect(lambda i: "?", "CAST({} AS INTEGER)")  # truncation is floor for x >= 0
POSTGRES_PYFORMAT = SqlDialect(lambda i: "%s", "FLOOR({})")  # psycopg


def is_postgres(where: object) -> TypeGuard[str]:
    """Whether a decision log's location (``server.decision_log.url`` or ``.path``) names a PostgreSQL server."""
    return isinstance(where, str) and where.startswith(("postgresql://", "postgres://"))


def unless_given(url: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The connection ``settings`` (psycopg keywords) to pass so that the operator's own are kept: a keyword
    overrides the URL's value (``?connect_timeout=3``), its service's (``?service=team``, see
    :mod:`~tiergate.telemetry.pg_service`) and libpq's variable (``PGCONNECT_TIMEOUT``). One the URL or a
    variable gives is not passed; one the service gives is passed with the service's value (libpq's own
    order puts the service before the variables, and psycopg, which reads no service file, counts the
    connect timeout from what it is passed). A URL psycopg cannot read is passed all of them: connecting
    reports what is wrong with it."""
    try:
        given = conninfo_to_dict(url)
    except psycopg.Error:
        given = {}
    service = service_settings({k: str(v) for k, v in given.items()})
    variables = {d.keyword.decode(): d.envvar.decode() for d in pq.Conninfo.get_defaults() if d.envvar}
    passed: dict[str, Any] = {}
    for key, value in settings.items():
        if key in given:
            continue
        if key in service:
            passed[key] = service[key]
        elif not os.environ.get(variables.get(key, ""), ""):
            passed[key] = value
    return passed


class Runner(Protocol):
    dialect: SqlDialect

    async def run(self, statements: Sequence[Statement]) -> list[Rows]:
        """Each statement's rows, all read in one snapshot."""
        ...


class SqliteRunner:
    """Read-only connections to the log's file, opened per call on a worker thread (WAL: the writer goes on)."""

    dialect = SQLITE

    def __init__(self, path: Path) -> None:
        self.path = path

    async def run(self, statements: Sequence[Statement]) -> list[Rows]:
        return await asyncio.to_thread(self._run, statements)

    def _run(self, statements: Sequence[Statement]) -> list[Rows]:
        conn = sqlite3.connect(f"file:{quote(str(self.path.resolve()))}?mode=ro", uri=True, isolation_level=None)
        try:
            conn.execute("BEGIN")  # one snapshot for every statement
            return [conn.execute(sql, tuple(params)).fetchall() for sql, params in statements]
        finally:
            conn.close()


class PsycopgRunner:
    """The statements on a Postgres decision log, in one read-only repeatable-read transaction (one snapshot
    for every statement), on a connection of their own opened per call with psycopg's ``AsyncConnection``.

    The console asks a few times a minute per open page, so one connection per call costs less than a pool
    holding server slots all day (and no pool outlives the event loop it was made on); the loop never blocks.

        queries = SqlQueries(PsycopgRunner("postgresql://tiergate@db:5432/tiergate"))
    """

    dialect = POSTGRES_PYFORMAT

    def __init__(self, url: str, *, connect_timeout: float = 10.0) -> None:
        self.url = url
        self._settings = unless_given(url, {"connect_timeout": max(1, int(connect_timeout))})

    async def run(self, statements: Sequence[Statement]) -> list[Rows]:
        conn = await psycopg.AsyncConnection.connect(self.url, **self._settings)
        async with conn:
            await conn.set_isolation_level(psycopg.IsolationLevel.REPEATABLE_READ)
            await conn.set_read_only(True)
            async with conn.transaction():
                out: list[Rows] = []
                for sql, params in statements:
                    cursor = await conn.execute(sql, tuple(params))
                    out.append(await cursor.fetchall())
                return out


#: The admin console's name as a rater (``tiergate.api.feedback.CONSOLE_RATER`` is this).
ADMIN_RATER = "console"
#: The rating a decision ``d`` is shown (the console's list) and trained with (``tiergate train``): the admin
#: console's latest, else the latest of the client that made the request. Any client may rate any decision it
#: knows the id of, and each rating is kept (a request's detail lists them with their raters), but another
#: client's rating is not this one: it overrode the owner's and the admin's, in the list and in training. A
#: rating stored without a rater (none of tiergate's endpoints writes one) counts as the owner's.
COUNTED_RATING = (
    "(SELECT f.rating FROM feedback f WHERE f.decision_id = d.decision_id "
    f"AND (f.client IS NULL OR f.client = d.client OR f.client = '{ADMIN_RATER}') "
    f"ORDER BY CASE WHEN f.client = '{ADMIN_RATER}' THEN 0 ELSE 1 END, f.id DESC LIMIT 1)"
)
#: Decisions with any rating: the counted rating is looked up for those only (not each of a window's rows).
_RATED = "d.decision_id IN (SELECT decision_id FROM feedback)"
_ROW = (
    "d.decision_id, d.ts, d.client, d.tier, d.model, d.phase, d.decided_by, d.status, d.cost_usd, d.latency_ms, "
    f"d.ttft_ms, {COUNTED_RATING}"
)
_ROW_WIDTH = 12
_ERROR = "CASE WHEN d.status >= 400 AND d.disconnected = 0 THEN 1 ELSE 0 END"
_IN_WINDOW = "d.ts >= ? AND d.ts < ?"
_SHADOWED = "shadow_decisions s JOIN decisions d ON d.decision_id = s.decision_id"
#: The live rows in the window, found from the shadow table's own time index: a candidate is decided after
#: its live request ended, so its ``s.ts`` is never before ``d.ts``. The ``+`` keeps SQLite from walking the
#: decisions' time index instead (every live row of the window for a handful of shadowed ones: 3 s on 30 days
#: of 300,000 rows), and changes nothing in PostgreSQL.
_SHADOW_WINDOW = "s.ts >= ? AND +d.ts >= ? AND +d.ts < ?"
_CANDIDATE = "s.file, s.rules_version, s.tier, s.model, s.decided_by, s.cost_usd, s.decision_json"


class SqlQueries:
    """:class:`tiergate.telemetry.queries.DecisionQueries` over any ``Runner``."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    async def _run(self, *statements: Statement) -> list[Rows]:
        dialect = self._runner.dialect
        try:
            return await self._runner.run([(dialect.render(sql), params) for sql, params in statements])
        except (sqlite3.Error, psycopg.Error, OSError) as exc:
            shown = _CREDENTIALS.sub("://***@", str(exc)).strip()  # a driver may quote the URL it was given
            url = getattr(self._runner, "url", None)
            if url is not None:  # or a piece of it: the host libpq read from a password with '@' in it
                shown = redact_url_error(url, shown)
            log.warning("console: the decision log cannot be read: %s: %s", type(exc).__name__, shown)
            raise LogUnavailable(
                f"the decision log cannot be read right now ({type(exc).__name__}); the gateway keeps serving"
            ) from None

    async def window(self, since: float, until: float, bucket_s: float) -> Window:
        span = (since, until)
        bucket = self._runner.dialect.floor.format("(d.ts - ?) / ?")
        per_tier, latencies, ratings, decided, series, split = await self._run(
            (
                "SELECT d.tier, COUNT(*), COALESCE(SUM(d.cost_usd), 0), "
                "SUM(CASE WHEN d.prompt_tokens IS NULL THEN 0 ELSE 1 END), COALESCE(SUM(d.prompt_tokens), 0), "
                f"COALESCE(SUM(d.completion_tokens), 0), SUM(d.fallback), SUM({_ERROR}), "
                "COALESCE(SUM(d.cached_tokens), 0), COALESCE(SUM(d.cache_write_tokens), 0), "
                "COALESCE(SUM(CASE WHEN d.prompt_tokens IS NULL THEN 0 ELSE d.cost_usd END), 0) "
                f"FROM decisions d WHERE {_IN_WINDOW} GROUP BY d.tier",
                span,
            ),
            (f"SELECT d.tier, d.latency_ms, d.ttft_ms FROM decisions d WHERE {_IN_WINDOW} AND d.status < 400", span),
            (
                f"SELECT tier, COUNT(*), AVG(r) FROM (SELECT d.tier AS tier, {COUNTED_RATING} AS r FROM decisions d "
                f"WHERE {_IN_WINDOW} AND {_RATED}) rated WHERE r IS NOT NULL GROUP BY tier",
                span,
            ),
            (
                f"SELECT COALESCE(d.decided_by, 'unknown'), COUNT(*) FROM decisions d WHERE {_IN_WINDOW} GROUP BY 1",
                span,
            ),
            (
                f"SELECT {bucket}, d.tier, COUNT(*) FROM decisions d WHERE {_IN_WINDOW} GROUP BY 1, 2",
                (since, bucket_s, since, until),
            ),
            (
                "SELECT d.tier, d.attempts_json, CASE WHEN d.prompt_tokens IS NULL THEN 0 ELSE 1 END "
                f"FROM decisions d WHERE {_IN_WINDOW} AND d.cost_usd > 0 AND d.attempts_json LIKE ?",
                (*span, ATTEMPT_COST),
            ),
        )
        charged = _charged(per_tier, split)
        timings: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
        for tier, latency, ttft in latencies:
            timings[tier][0].append(float(latency))
            if ttft is not None:
                timings[tier][1].append(float(ttft))
        rated = {tier: (int(count), _float(mean)) for tier, count, mean in ratings}
        tiers: list[TierWindow] = []
        for tier, requests, _, priced, prompt, completion, fallbacks, errors, cached, written, _ in per_tier:
            lat, ttft = timings.get(tier, ([], []))
            count, mean = rated.get(tier, (0, None))
            cost, counted = charged.pop(tier)
            tiers.append(
                TierWindow(
                    tier=tier,
                    requests=int(requests),
                    cost_usd=cost,
                    priced=int(priced),
                    prompt_tokens=int(prompt),
                    completion_tokens=int(completion),
                    fallbacks=int(fallbacks or 0),
                    errors=int(errors or 0),
                    latency_p50_ms=_percentile(lat, 50),
                    latency_p95_ms=_percentile(lat, 95),
                    ttft_p50_ms=_percentile(ttft, 50),
                    ttft_p95_ms=_percentile(ttft, 95),
                    ratings=count,
                    rating_mean=mean,
                    cached_tokens=int(cached),
                    cache_write_tokens=int(written),
                    counted_cost_usd=counted,
                )
            )
        tiers += [_charged_only(tier, cost, counted) for tier, (cost, counted) in charged.items() if cost > 0]
        tiers.sort(key=lambda t: (-t.requests, t.tier))
        buckets: dict[int, dict[str, int]] = defaultdict(dict)
        for index, tier, count in series:
            buckets[int(index)][tier] = int(count)
        n = max(1, int(-(-(until - since) // bucket_s)))
        return Window(
            since=since,
            until=until,
            bucket_s=bucket_s,
            requests=sum(t.requests for t in tiers),
            fallbacks=sum(t.fallbacks for t in tiers),
            errors=sum(t.errors for t in tiers),
            tiers=tiers,
            decided_by={str(name): int(count) for name, count in decided},
            series=[Bucket(since + i * bucket_s, buckets.get(i, {})) for i in range(n)],
        )

    async def recent(self, limit: int, before: float | None = None, before_id: str | None = None) -> list[RecentRow]:
        """The newest ``limit`` requests, or those after the row (``before``, ``before_id``) in the list's
        order (``ts`` newest first, then ``decision_id``): a page that ends among rows of one ``ts`` goes on
        with the rest of them (``before`` alone skips them)."""
        params: list[Any] = [before] if before is not None else []
        where = "WHERE d.ts < ?" if before is not None else ""
        if before is not None and before_id is not None:
            where, params = "WHERE (d.ts < ? OR (d.ts = ? AND d.decision_id > ?))", [before, before, before_id]
        (rows,) = await self._run(
            (f"SELECT {_ROW} FROM decisions d {where} ORDER BY d.ts DESC, d.decision_id LIMIT ?", [*params, limit])
        )
        return [_recent(row) for row in rows]

    async def detail(self, decision_id: str) -> Detail | None:
        found, ratings, shadow = await self._run(
            (
                f"SELECT {_ROW}, d.endpoint, d.stream, d.decided_tier, d.band, d.prompt_tokens, d.completion_tokens, "
                "d.fallback, d.error, d.error_kind, d.attempts_json, d.decision_json "
                "FROM decisions d WHERE d.decision_id = ?",
                (decision_id,),
            ),
            ("SELECT ts, rating, comment, client FROM feedback WHERE decision_id = ? ORDER BY id", (decision_id,)),
            (f"SELECT {_CANDIDATE} FROM shadow_decisions s WHERE s.decision_id = ?", (decision_id,)),
        )
        if not found:
            return None
        row = found[0]
        endpoint, stream, decided_tier, band, prompt, completion, fallback, error, kind, attempts, decision = row[
            _ROW_WIDTH:
        ]
        return Detail(
            row=_recent(row),
            endpoint=endpoint,
            stream=bool(stream),
            decided_tier=decided_tier,
            band=band,
            prompt_tokens=prompt,
            completion_tokens=completion,
            fallback=bool(fallback),
            error=error,
            error_kind=kind,
            attempts=[a for a in _decode(attempts) if a.get("outcome") != ROUTING],  # the classifier's: in decision
            decision=_decode(decision),
            ratings=[Rating(float(ts), int(r), comment, client) for ts, r, comment, client in ratings],
            shadow=_candidate(shadow[0]) if shadow else None,
        )

    async def shadow(self, since: float, until: float, examples: int) -> ShadowReport:
        span = (since, since, until)
        differ = "d.decided_tier <> s.tier"
        pairs, cost, ratings, found, versions = await self._run(
            (f"SELECT d.decided_tier, s.tier, COUNT(*) FROM {_SHADOWED} WHERE {_SHADOW_WINDOW} GROUP BY 1, 2", span),
            (
                "SELECT COUNT(*), COALESCE(SUM(d.cost_usd), 0), COALESCE(SUM(s.cost_usd), 0) "
                f"FROM {_SHADOWED} WHERE {_SHADOW_WINDOW} AND s.cost_usd IS NOT NULL",
                span,
            ),
            (
                f"SELECT r, COUNT(*) FROM (SELECT {COUNTED_RATING} AS r FROM shadow_decisions s "
                f"JOIN decisions d ON d.decision_id = s.decision_id WHERE {_SHADOW_WINDOW} AND {differ} AND {_RATED}) "
                "rated WHERE r IS NOT NULL GROUP BY r",
                span,
            ),
            (
                f"SELECT {_ROW}, d.decision_json, {_CANDIDATE} FROM {_SHADOWED} WHERE {_SHADOW_WINDOW} AND {differ} "
                "ORDER BY d.ts DESC, d.decision_id LIMIT ?",
                (*span, examples),
            ),
            (
                f"SELECT s.rules_version, MAX(s.ts) FROM {_SHADOWED} WHERE {_SHADOW_WINDOW} GROUP BY 1 ORDER BY 2 DESC",
                span,
            ),
        )
        counted = sorted(
            (Pair(live, cand, int(n)) for live, cand, n in pairs),
            key=lambda p: (p.live == p.candidate, -p.count, p.live, p.candidate),
        )
        histogram = {str(value): 0 for value in range(1, 6)}
        for value, n in ratings:
            histogram[str(int(value))] = int(n)
        rated = sum(histogram.values())
        total = sum(int(value) * n for value, n in histogram.items())
        priced, live_cost, candidate_cost = cost[0]
        return ShadowReport(
            since=since,
            until=until,
            shadowed=sum(p.count for p in counted),
            agreed=sum(p.count for p in counted if p.live == p.candidate),
            pairs=counted,
            priced=int(priced),
            live_cost_usd=float(live_cost),
            candidate_cost_usd=float(candidate_cost),
            disagreeing_rated=rated,
            disagreeing_rating_mean=total / rated if rated else None,
            disagreeing_ratings=histogram,
            examples=[
                ShadowExample(_recent(row), _decode(row[_ROW_WIDTH]), _candidate(row[_ROW_WIDTH + 1 :]))
                for row in found
            ],
            versions=[version for version, _ in versions],
        )


def _charged(per_tier: Rows, split: Rows) -> dict[str, tuple[float, float]]:
    """Each tier's (cost, counted cost): its rows' sums, with what each attempt was charged (``split``: the
    rows whose ``attempts_json`` prices an attempt) moved to that attempt's tier. The counted cost (of rows
    with token counts) moves with it when the row has them."""
    sums = {str(row[0]): [float(row[2]), float(row[10])] for row in per_tier}
    for tier, attempts, counted in split:
        for attempt_tier, usd in attempt_costs(attempts):
            moved = sums.setdefault(attempt_tier, [0.0, 0.0])
            sums[tier][0] -= usd
            moved[0] += usd
            if counted:
                sums[tier][1] -= usd
                moved[1] += usd
    return {tier: (max(0.0, cost), max(0.0, counted)) for tier, (cost, counted) in sums.items()}  # float noise


def _charged_only(tier: str, cost: float, counted: float) -> TierWindow:
    """A tier that served nothing in the window but was charged for attempts that fell back from it."""
    return TierWindow(
        tier=tier,
        requests=0,
        cost_usd=cost,
        priced=0,
        prompt_tokens=0,
        completion_tokens=0,
        fallbacks=0,
        errors=0,
        latency_p50_ms=None,
        latency_p95_ms=None,
        ttft_p50_ms=None,
        ttft_p95_ms=None,
        ratings=0,
        rating_mean=None,
        counted_cost_usd=counted,
    )


def _recent(row: tuple[Any, ...]) -> RecentRow:
    decision_id, ts, client, tier, model, phase, decided_by, status, cost, latency, ttft, rating = row[:_ROW_WIDTH]
    return RecentRow(
        decision_id=decision_id,
        ts=float(ts),
        client=client,
        tier=tier,
        model=model,
        phase=phase,
        decided_by=decided_by,
        status=int(status),
        cost_usd=_float(cost),
        latency_ms=float(latency),
        ttft_ms=_float(ttft),
        rating=None if rating is None else int(rating),
    )


def _candidate(row: tuple[Any, ...]) -> Candidate:
    file, version, tier, model, decided_by, cost, decision = row
    return Candidate(file, version, tier, model, decided_by, _float(cost), _decode(decision))


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else None
