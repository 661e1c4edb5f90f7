"""The decision log in a real PostgreSQL: the same rows as SQLite, feedback, retention, migrations that
replicas starting together run once, and ``tiergate stats`` over it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.doubles import Clock
from tests.unit.telemetry.test_decisions import LOCAL, OPUS, SONNET, record, rows
from tiergate.dispatch.dispatcher import Attempt
from tiergate.telemetry.decisions import DecisionLog, DecisionLogError
from tiergate.telemetry.postgres import PostgresDecisionLog
from tiergate.telemetry.stats import compute, render
from tiergate.wire import Usage


def records() -> list[object]:
    failed = Attempt(LOCAL, "connect", 3.0, "connection refused", 503)
    return [
        record("dec_1", target=SONNET, attempts=[failed, Attempt(SONNET, "ok", 800.0)], usage=Usage.of(1000, 200)),
        record("dec_2", usage=Usage.of(10, 5), latency_ms=120.0),
        record("dec_3", target=None, status=503, error="every target failed", error_kind="no_target"),
        record("dec_4", target=OPUS, usage=Usage.of(50, 50), status=499, disconnected=True),
    ]


@pytest.fixture
def pg(postgres_url: str) -> Iterator[PostgresDecisionLog]:
    dlog = PostgresDecisionLog.open(postgres_url, clock=Clock(), reference=lambda: OPUS.price, max_rows=None)
    yield dlog
    dlog.close()


def pg_rows(url: str, sql: str = "SELECT * FROM decisions ORDER BY decision_id") -> list[dict[str, object]]:
    with psycopg.connect(url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return list(cur.execute(sql))


def test_the_same_records_make_the_same_rows_and_the_same_stats(
    pg: PostgresDecisionLog, postgres_url: str, tmp_path: Path
) -> None:
    lite = DecisionLog.open(tmp_path / "d.db", clock=Clock(), reference=lambda: OPUS.price, max_rows=None)
    try:
        for rec in records():
            lite.observe(rec)  # type: ignore[arg-type]
            pg.observe(rec)  # type: ignore[arg-type]
        lite.flush()
        pg.flush()
        assert pg.add_feedback("dec_1", 4, "fine", client="alice") and lite.add_feedback("dec_1", 4, "fine")
        assert pg.add_feedback("dec_nope", 1) is False
    finally:
        lite.close()
    expected = [dict(r) for r in sorted(rows(tmp_path / "d.db"), key=lambda r: r["decision_id"])]
    assert pg_rows(postgres_url) == expected
    on_pg, on_lite = compute(postgres_url), compute(tmp_path / "d.db")
    assert on_pg.requests == 4 and on_pg.ratings == 1 and on_pg.rating_mean == 4.0
    assert (on_pg.tiers, on_pg.cost_usd, on_pg.errors, on_pg.fallbacks) == (
        on_lite.tiers,
        on_lite.cost_usd,
        on_lite.errors,
        on_lite.fallbacks,
    )
    assert render(on_pg).split("\n", 1)[1] == render(on_lite).split("\n", 1)[1]  # all but the header line


def test_retention_keeps_the_newest_rows_and_their_feedback(postgres_url: str) -> None:
    clock = Clock()
    dlog = PostgresDecisionLog.open(postgres_url, clock=clock, max_rows=3, max_age_days=None, prune_interval=1e9)
    try:
        for i in range(5):
            clock.advance(1)
            dlog.observe(record(f"dec_{i}"))
        assert dlog.add_feedback("dec_0", 1) and dlog.add_feedback("dec_4", 5)
        assert dlog.prune() == 2
    finally:
        dlog.close()
    assert [r["decision_id"] for r in pg_rows(postgres_url)] == ["dec_2", "dec_3", "dec_4"]
    assert pg_rows(postgres_url, "SELECT decision_id, rating FROM feedback") == [{"decision_id": "dec_4", "rating": 5}]


def test_replicas_starting_together_migrate_once(postgres_url: str) -> None:
    opened: list[PostgresDecisionLog] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            opened.append(PostgresDecisionLog.open(postgres_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for dlog in opened:
        dlog.close()
    assert errors == [] and len(opened) == 4
    assert pg_rows(postgres_url, "SELECT version FROM tiergate_schema") == [{"version": 1}]


def test_an_unreachable_server_is_a_decision_log_error_without_the_password(closed_port: int) -> None:
    with pytest.raises(DecisionLogError) as raised:
        PostgresDecisionLog.open(f"postgresql://tiergate:hunter2@127.0.0.1:{closed_port}/db")
    message = str(raised.value)
    assert message.startswith(f"decision log postgresql://***@127.0.0.1:{closed_port}/db: ")
    assert "hunter2" not in message


def test_the_writer_reconnects_after_the_server_drops_it(pg: PostgresDecisionLog, postgres_url: str) -> None:
    pg.observe(record("dec_before"))  # type: ignore[arg-type]
    pg.flush()
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
    pg.observe(record("dec_lost"))  # type: ignore[arg-type]  # the batch that meets the dead connection
    with pytest.raises(psycopg.Error):
        pg.flush()
    pg.observe(record("dec_after"))  # type: ignore[arg-type]
    pg.flush()
    assert [r["decision_id"] for r in pg_rows(postgres_url)] == ["dec_after", "dec_before"]
