"""``tiergate stats``: what the decision log says about routing — shares, cost, latency, fallbacks, ratings.

Counts and sums are aggregated in SQL; latency percentiles are computed with numpy (linear
interpolation, numpy's default) over the requests that succeeded, since a timeout's latency says
more about the timeout than about the tier. The file is opened read-only, so stats can run while the
gateway writes (WAL mode) and never creates a file by mistake. A ``postgresql://`` URL reads a team's
log in PostgreSQL (``server.decision_log.url``) with the same queries.

A tier's cost is what it was charged: a request's row goes under the tier that answered it, but the part of
its cost an attempt it fell back from was charged (``attempts_json``) goes under that attempt's tier, as in
spend. So a tier can show a cost with no requests of its own (every opus attempt broke; sonnet answered).

    stats = compute(Path("tiergate-decisions.db"), since=time.time() - parse_window("24h"))
    print(render(stats))
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from tiergate.errors import OperatorError
from tiergate.redact import redact_dsn
from tiergate.telemetry.cost import ATTEMPT_COST, attempt_costs
from tiergate.telemetry.sql_queries import COUNTED_RATING, is_postgres

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0, "w": 604_800.0}
_WINDOW = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
#: A request counts as an error when it failed on tiergate's or an upstream's side; 499 is the client leaving.
_ERROR = "CASE WHEN status >= 400 AND disconnected = 0 THEN 1 ELSE 0 END"


class StatsError(OperatorError):
    """The decision log cannot be read; the message names the file."""


@dataclass(frozen=True)
class TierStats:
    tier: str
    requests: int
    share: float
    p50_ms: float | None
    p95_ms: float | None
    cost_usd: float
    fallbacks: int
    errors: int
    ratings: int
    rating_mean: float | None


@dataclass(frozen=True)
class Stats:
    path: Path | str
    since: float | None
    first_ts: float | None
    last_ts: float | None
    requests: int
    cost_usd: float
    opus_cost_usd: float
    fallbacks: int
    errors: int
    ratings: int
    rating_mean: float | None
    tiers: tuple[TierStats, ...]

    @property
    def saving(self) -> float | None:
        """The share of the reference (always-Opus) cost that routing saved; None when nothing was priced."""
        return 1 - self.cost_usd / self.opus_cost_usd if self.opus_cost_usd > 0 else None

    @property
    def fallback_rate(self) -> float:
        return self.fallbacks / self.requests if self.requests else 0.0

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


def parse_window(text: str) -> float:
    """Seconds in a window such as ``90s``, ``30m``, ``24h``, ``7d`` or ``2w``; ValueError otherwise."""
    match = _WINDOW.match(text)
    if match is None:
        raise ValueError(f"not a time window: {text!r} (use a number and s, m, h, d or w, e.g. 24h)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def compute(db_path: Path | str, since: float | None = None) -> Stats:
    """Aggregate the decisions logged at or after ``since`` (unix seconds; None for all of them).

    ``db_path`` is the SQLite file, or a ``postgresql://`` URL."""
    if is_postgres(db_path):
        return _compute_postgres(db_path, since)
    # what was given, as given: a URL psycopg reads but this does not take for PostgreSQL (``POSTGRESQL://``,
    # ``postgresql+psycopg://``, ``host=db password=...``) is read as a file's name, and may hold a password
    shown = redact_dsn(str(db_path))
    db_path = Path(db_path)
    if not db_path.is_file():
        hint = "see server.decision_log.path in routes.yaml, or its url for PostgreSQL; or give --db"
        if "://" in shown or "=" in shown:
            hint = "a decision log is a SQLite file or a postgresql:// URL"
        raise StatsError(f"no decision log at {shown} ({hint})")
    try:
        conn = sqlite3.connect(f"file:{quote(str(db_path.resolve()))}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StatsError(f"cannot open the decision log {shown}: {exc}") from None
    try:
        return _compute(conn, db_path, since)
    except sqlite3.Error as exc:
        raise StatsError(f"cannot read the decision log {shown}: {exc}") from None
    finally:
        conn.close()


def _compute_postgres(url: str, since: float | None) -> Stats:
    import psycopg

    from tiergate.redact import redact_url, redact_url_error

    shown = redact_url(url)
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:  # libpq quotes a URL it cannot read, password and all
        raise StatsError(f"cannot open the decision log {shown}: {redact_url_error(url, str(exc).strip())}") from None
    try:
        return _compute(_Pg(conn), shown, since)
    except psycopg.Error as exc:
        raise StatsError(f"cannot read the decision log {shown}: {exc}") from None
    finally:
        conn.close()


class _Pg:
    """psycopg behind sqlite3's ``execute(sql, params)`` with ``?`` placeholders."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.conn.execute(sql.replace("?", "%s"), params)


def _compute(conn: Any, path: Path | str, since: float | None) -> Stats:
    cutoff = float("-inf") if since is None else since
    per_tier = conn.execute(
        f"""SELECT tier, COUNT(*), COALESCE(SUM(cost_usd), 0), SUM(fallback), SUM({_ERROR}),
                   COALESCE(SUM(opus_cost_usd), 0), MIN(ts), MAX(ts)
            FROM decisions WHERE ts >= ? GROUP BY tier""",
        (cutoff,),
    ).fetchall()
    ratings = {
        tier: (count, float(mean))
        for tier, count, mean in conn.execute(
            f"""SELECT tier, COUNT(*), AVG(r) FROM (SELECT d.tier AS tier, {COUNTED_RATING} AS r FROM decisions d
               WHERE d.ts >= ? AND d.decision_id IN (SELECT decision_id FROM feedback)) rated
               WHERE r IS NOT NULL GROUP BY tier""",
            (cutoff,),
        )
    }
    charged = _charged(conn, cutoff, {row[0]: float(row[2]) for row in per_tier})
    total = sum(row[1] for row in per_tier)
    tiers = []
    for tier, requests, _, fallbacks, errors, *_ in per_tier:
        p50, p95 = _percentiles(conn, cutoff, tier)
        count, mean = ratings.get(tier, (0, None))
        cost = charged.pop(tier)
        tiers.append(TierStats(tier, requests, requests / total, p50, p95, cost, fallbacks, errors, count, mean))
    tiers += [TierStats(tier, 0, 0.0, None, None, cost, 0, 0, 0, None) for tier, cost in charged.items() if cost > 0]
    tiers.sort(key=lambda t: (-t.requests, t.tier))
    rated = sum(t.ratings for t in tiers)
    rating_sum = sum(t.rating_mean * t.ratings for t in tiers if t.rating_mean is not None)
    return Stats(
        path=path,
        since=since,
        first_ts=min((row[6] for row in per_tier), default=None),
        last_ts=max((row[7] for row in per_tier), default=None),
        requests=total,
        cost_usd=sum(t.cost_usd for t in tiers),
        opus_cost_usd=sum(row[5] for row in per_tier),
        fallbacks=sum(t.fallbacks for t in tiers),
        errors=sum(t.errors for t in tiers),
        ratings=rated,
        rating_mean=rating_sum / rated if rated else None,
        tiers=tuple(tiers),
    )


def _charged(conn: Any, cutoff: float, cost: dict[str, float]) -> dict[str, float]:
    """Each tier's cost: its rows' ``cost`` with each attempt's charged part moved to that attempt's tier."""
    split = conn.execute(
        "SELECT tier, attempts_json FROM decisions WHERE ts >= ? AND cost_usd > 0 AND attempts_json LIKE ?",
        (cutoff, ATTEMPT_COST),
    )
    for tier, attempts in split:
        for attempt_tier, usd in attempt_costs(attempts):
            cost[tier] -= usd
            cost[attempt_tier] = cost.get(attempt_tier, 0.0) + usd
    return {tier: max(0.0, usd) for tier, usd in cost.items()}  # a row's whole cost moved: float noise aside


def _percentiles(conn: Any, cutoff: float, tier: str) -> tuple[float | None, float | None]:
    """p50 and p95 latency of the tier's successful requests."""
    rows = conn.execute("SELECT latency_ms FROM decisions WHERE ts >= ? AND tier = ? AND status < 400", (cutoff, tier))
    latencies = np.fromiter((ms for (ms,) in rows), dtype=float)
    if not latencies.size:
        return None, None
    p50, p95 = np.percentile(latencies, [50, 95])
    return float(p50), float(p95)


#: What the reference is called without the rules that chose it (``tiergate stats --db``).
UNNAMED_REFERENCE = "at the reference price"


def render(stats: Stats, reference: str | None = None) -> str:
    """The report ``tiergate stats`` prints: a header, one line per tier, then totals. ``reference`` names
    the price ``opus_cost_usd`` was taken at (:func:`tiergate.telemetry.cost.reference_label`); without the
    rules it is unnamed, since a log does not record which tier it was."""
    since = _when(stats.since)
    if not stats.requests:
        return f"{stats.path}: no requests logged" + (f" since {since}" if stats.since is not None else "") + "\n"
    head = f"{stats.path}: {stats.requests} requests from {_when(stats.first_ts)} to {_when(stats.last_ts)}"
    head += f" (since {since})" if stats.since is not None else ""
    header = ("tier", "requests", "share", "p50 ms", "p95 ms", "cost USD", "fallbacks", "errors", "ratings", "mean")
    rows = [
        (
            t.tier,
            str(t.requests),
            f"{t.share:.1%}",
            _ms(t.p50_ms),
            _ms(t.p95_ms),
            f"{t.cost_usd:.4f}",
            str(t.fallbacks),
            str(t.errors),
            str(t.ratings),
            _mean(t.rating_mean),
        )
        for t in stats.tiers
    ]
    saving = f"saving {stats.saving:.1%}" if stats.saving is not None else "no priced requests"
    lines = [
        head,
        "",
        *_table([header, *rows]),
        "",
        f"cost:      ${stats.cost_usd:.4f} vs ${stats.opus_cost_usd:.4f} {reference or UNNAMED_REFERENCE} ({saving})",
        f"fallbacks: {stats.fallback_rate:.1%} ({stats.fallbacks} of {stats.requests})",
        f"errors:    {stats.error_rate:.1%} ({stats.errors} of {stats.requests})",
        f"ratings:   {stats.ratings}" + (f", mean {stats.rating_mean:.2f}" if stats.rating_mean is not None else ""),
    ]
    return "\n".join(lines) + "\n"


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    """Columns padded to their widest cell: the first left-aligned, numbers right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True))]
        lines.append("  ".join(cells).rstrip())
    return lines


def _when(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _mean(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
