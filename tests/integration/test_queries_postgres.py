"""The console's queries give the same answers on a Postgres decision log as on SQLite.

The same requests, ratings and shadow decisions (the fixture of test_sql_queries) are written by
``DecisionLog`` to a SQLite file and by ``PostgresDecisionLog`` to a real PostgreSQL server (its own
migrations, its own inserts); every query is then asked of both logs' ``queries()`` and the answers
compared, integer sums and flags included.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import psycopg
import pytest

from tests.doubles import Clock
from tests.unit.telemetry.test_sql_queries import RATED_BY_SEVERAL, T, rate_as_several_raters, seed
from tiergate.errors import LogUnavailable
from tiergate.telemetry.decisions import DecisionLog
from tiergate.telemetry.postgres import PostgresDecisionLog
from tiergate.telemetry.sql_queries import PsycopgRunner, SqlQueries


@pytest.fixture
def logs(tmp_path: Path, postgres_url: str) -> Iterator[tuple[DecisionLog, PostgresDecisionLog]]:
    """The same rows in SQLite and in PostgreSQL."""
    lite_clock, pg_clock = Clock(T), Clock(T)
    lite = DecisionLog.open(tmp_path / "d.db", clock=lite_clock, max_rows=None, max_age_days=None)
    pg = PostgresDecisionLog.open(postgres_url, clock=pg_clock, max_rows=None, max_age_days=None)
    try:
        seed(lite, lite_clock)
        seed(pg, pg_clock)
        yield lite, pg
    finally:
        lite.close()
        pg.close()


def _plain(value: Any) -> Any:
    """Builtins with floats rounded to 12 places: the stores may sum doubles in another order."""
    data = msgspec.to_builtins(value)

    def walk(v: Any) -> Any:
        if isinstance(v, float):
            return round(v, 12)
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return walk(data)


async def _ask(dlog: DecisionLog) -> list[Any]:
    queries = dlog.queries()
    return [
        await queries.window(T - 3600, T, 600),
        await queries.window(T - 100_000, T, 7200.0),
        await queries.recent(4),
        await queries.recent(10, before=T - 1000),
        await queries.detail("dec_c"),
        await queries.detail("dec_b"),
        await queries.detail("dec_nope"),
        await queries.shadow(T - 3600, T, 10),
        await queries.shadow(T - 100_000, T, 1),
    ]


def test_every_query_answers_the_same_on_postgres(logs: tuple[DecisionLog, PostgresDecisionLog]) -> None:
    lite, pg = logs
    on_sqlite, on_postgres = asyncio.run(_ask(lite)), asyncio.run(_ask(pg))
    hour = on_postgres[0]
    assert (hour.requests, hour.fallbacks, hour.errors) == (5, 1, 1)  # the fixture's rows, not an empty log
    flags = [(t.tier, t.requests, t.fallbacks, t.errors, t.priced) for t in hour.tiers]
    assert flags == [("local", 3, 0, 1, 1), ("sonnet", 2, 1, 0, 2)]
    assert all(type(v) is int for t in hour.tiers for v in (t.requests, t.fallbacks, t.errors, t.prompt_tokens))
    assert on_postgres[-2].shadowed == 3 and on_postgres[4].fallback is True
    for sqlite_answer, postgres_answer in zip(on_sqlite, on_postgres, strict=True):
        assert _plain(postgres_answer) == _plain(sqlite_answer)


def test_the_listed_rating_is_the_admins_or_the_owners_on_postgres_too(
    logs: tuple[DecisionLog, PostgresDecisionLog],
) -> None:
    lite, pg = logs
    rate_as_several_raters(lite)
    rate_as_several_raters(pg)
    on_sqlite, on_postgres = asyncio.run(lite.queries().recent(10)), asyncio.run(pg.queries().recent(10))
    assert [(r.decision_id, r.rating) for r in on_postgres] == RATED_BY_SEVERAL
    assert _plain(on_postgres) == _plain(on_sqlite)


def test_the_psycopg_runner_reads_one_read_only_snapshot(logs: tuple[DecisionLog, PostgresDecisionLog]) -> None:
    _, pg = logs
    runner = PsycopgRunner(pg.url)
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        asyncio.run(runner.run([("DELETE FROM decisions", ())]))
    [[setting], [level]] = asyncio.run(
        runner.run([("SHOW transaction_read_only", ()), ("SHOW transaction_isolation", ())])
    )
    assert (setting, level) == (("on",), ("repeatable read",))
    assert len(asyncio.run(SqlQueries(runner).recent(10))) == 6


def test_an_unreachable_server_raises_from_the_runner(closed_port: int) -> None:
    runner = PsycopgRunner(f"postgresql://tiergate@127.0.0.1:{closed_port}/db", connect_timeout=2)
    with pytest.raises(psycopg.OperationalError):
        asyncio.run(runner.run([("SELECT 1", ())]))


def test_an_unreachable_server_is_a_503_for_the_console_without_the_password(
    closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    runner = PsycopgRunner(f"postgresql://tiergate:pg-SECRET-pw@127.0.0.1:{closed_port}/db", connect_timeout=2)
    with pytest.raises(LogUnavailable) as caught:
        asyncio.run(SqlQueries(runner).recent(10))
    error = caught.value
    assert (error.status, error.code) == (503, "decision_log_unavailable")
    assert error.message == "the decision log cannot be read right now (OperationalError); the gateway keeps serving"
    (line,) = [r.getMessage() for r in caplog.records if r.name == "tiergate.console"]
    assert line.startswith("console: the decision log cannot be read: OperationalError: ")
    assert "pg-SECRET-pw" not in line
