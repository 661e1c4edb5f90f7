"""The console's queries give the same answers on a Postgres decision log as on SQLite.

A real PostgreSQL server (Debian's ``postgresql``: initdb and pg_ctl, as the ``postgres`` user when the
tests run as root) holds the decision log's tables with the same columns as the SQLite file, and the
same rows, copied from a SQLite log written by DecisionLog (the fixture of test_sql_queries). Every
query is then run through both runners and the answers compared.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.unit.telemetry.test_sql_queries import T, log  # noqa: F401  (the seeded SQLite log fixture)
from tiergate.telemetry.decisions import DecisionLog
from tiergate.telemetry.sql_queries import AsyncpgRunner, SqliteRunner, SqlQueries

INSTALL = "apt-get install -y postgresql"

#: The decision log's tables in Postgres: SQLite's columns, REAL as double precision, integer flags kept.
SCHEMA = """
CREATE TABLE decisions (
    decision_id TEXT PRIMARY KEY, ts DOUBLE PRECISION NOT NULL, client TEXT NOT NULL, endpoint TEXT NOT NULL,
    tier TEXT NOT NULL, decided_tier TEXT NOT NULL, backend TEXT, model TEXT NOT NULL, band TEXT NOT NULL,
    phase TEXT NOT NULL, score DOUBLE PRECISION NOT NULL, confidence DOUBLE PRECISION NOT NULL,
    stream INTEGER NOT NULL, status INTEGER NOT NULL, attempts TEXT NOT NULL, attempts_json TEXT NOT NULL,
    attempt_count INTEGER NOT NULL, prompt_tokens INTEGER, completion_tokens INTEGER,
    latency_ms DOUBLE PRECISION NOT NULL, ttft_ms DOUBLE PRECISION, cost_usd DOUBLE PRECISION,
    opus_cost_usd DOUBLE PRECISION, fallback INTEGER NOT NULL, error TEXT, error_kind TEXT,
    disconnected INTEGER NOT NULL, rules_version TEXT NOT NULL, decision_json TEXT NOT NULL, session TEXT, ask TEXT,
    decided_by TEXT
);
CREATE TABLE feedback (
    id BIGSERIAL PRIMARY KEY, decision_id TEXT NOT NULL REFERENCES decisions (decision_id) ON DELETE CASCADE,
    ts DOUBLE PRECISION NOT NULL, client TEXT, rating INTEGER NOT NULL, comment TEXT
);
CREATE TABLE shadow_decisions (
    decision_id TEXT PRIMARY KEY REFERENCES decisions (decision_id) ON DELETE CASCADE,
    ts DOUBLE PRECISION NOT NULL, file TEXT NOT NULL, rules_version TEXT NOT NULL, tier TEXT NOT NULL,
    model TEXT NOT NULL, band TEXT NOT NULL, phase TEXT NOT NULL, decided_by TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL, cost_usd DOUBLE PRECISION, decision_json TEXT NOT NULL
);
"""


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL on 127.0.0.1; yields its DSN."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.fail(f"the Postgres query test needs PostgreSQL's initdb and pg_ctl: {INSTALL}")
    root = Path(tempfile.mkdtemp(prefix="tiergate-pg-"))  # not under pytest's root-only folder: postgres reads it
    as_user: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = root / "data"
    subprocess.run(
        [*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "tiergate", "--no-sync"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg = [*as_user, pg_ctl, "-D", str(data), "-l", str(root / "log")]
    subprocess.run([*pg, "-o", options, "-w", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql://tiergate@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*pg, "-m", "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


async def _copy(dsn: str, sqlite_path: Path) -> Any:
    import asyncpg

    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    async with pool.acquire() as conn:
        await conn.execute("DROP TABLE IF EXISTS shadow_decisions, feedback, decisions")
        await conn.execute(SCHEMA)
        with sqlite3.connect(sqlite_path) as src:
            for table in ("decisions", "feedback", "shadow_decisions"):
                cursor = src.execute(f"SELECT * FROM {table}")
                columns = [c[0] for c in cursor.description]
                rows = cursor.fetchall()
                assert rows, table
                await conn.copy_records_to_table(table, records=rows, columns=columns)
    return pool


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


def test_every_query_answers_the_same_on_postgres(postgres: str, log: DecisionLog) -> None:  # noqa: F811
    async def both() -> tuple[list[Any], list[Any]]:
        pool = await _copy(postgres, log.path)
        try:
            answers: tuple[list[Any], list[Any]] = ([], [])
            for i, queries in enumerate((SqlQueries(SqliteRunner(log.path)), SqlQueries(AsyncpgRunner(pool)))):
                answers[i].extend(
                    [
                        await queries.window(T - 3600, T, 600),
                        await queries.window(T - 100_000, T, 7200),
                        await queries.recent(4),
                        await queries.recent(10, before=T - 1000),
                        await queries.detail("dec_c"),
                        await queries.detail("dec_b"),
                        await queries.detail("dec_nope"),
                        await queries.shadow(T - 3600, T, 10),
                    ]
                )
            return answers
        finally:
            await pool.close()

    sqlite_answers, postgres_answers = asyncio.run(both())
    assert sqlite_answers[0].requests == 5 and sqlite_answers[-1].shadowed == 3  # the fixture's rows, not an empty log
    for on_sqlite, on_postgres in zip(sqlite_answers, postgres_answers, strict=True):
        assert _plain(on_postgres) == _plain(on_sqlite)
