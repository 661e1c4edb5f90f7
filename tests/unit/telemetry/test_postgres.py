"""The decision log in a real PostgreSQL: the same rows as SQLite, feedback, retention, migrations that
replicas starting together run once, and ``tiergate stats`` over it."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.doubles import Clock
from tests.unit.telemetry.test_decisions import LOCAL, OPUS, SONNET, decision, record, rows
from tests.unit.telemetry.test_spend import SONNET as SPEND_SONNET
from tests.unit.telemetry.test_spend import SUNDAY
from tests.unit.telemetry.test_spend import record as spend_record
from tests.unit.telemetry.test_sql_queries import CACHE_TIERS, T, assert_cache_heavy_baselines, seed_cache_heavy
from tests.unit.telemetry.test_sql_queries import record as cache_record
from tiergate.config.model import Price
from tiergate.dispatch.dispatcher import Attempt
from tiergate.telemetry.decisions import _COLUMNS, DecisionLog, DecisionLogError, _row
from tiergate.telemetry.postgres import MIGRATIONS, PostgresDecisionLog
from tiergate.telemetry.record import ShadowRecord
from tiergate.telemetry.spend import Calendar, LocalSpend, restore
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


def test_retention_keeps_the_newest_rows_their_feedback_and_shadows(postgres_url: str) -> None:
    clock = Clock()
    dlog = PostgresDecisionLog.open(postgres_url, clock=clock, max_rows=3, max_age_days=None, prune_interval=1e9)
    try:
        for i in range(5):
            clock.advance(1)
            dlog.observe(record(f"dec_{i}"))
        assert dlog.add_feedback("dec_0", 1) and dlog.add_feedback("dec_4", 5)
        for kept in ("dec_0", "dec_4"):
            dlog.observe_shadow(ShadowRecord(kept, "next.yaml", decision(kept, "opus"), None))
        dlog.flush()
        clock.advance(33 * 86_400)  # past any month whose spend budgets rebuild from the log
        assert dlog.prune() == 2
    finally:
        dlog.close()
    assert [r["decision_id"] for r in pg_rows(postgres_url)] == ["dec_2", "dec_3", "dec_4"]
    assert pg_rows(postgres_url, "SELECT decision_id, rating FROM feedback") == [{"decision_id": "dec_4", "rating": 5}]
    assert pg_rows(postgres_url, "SELECT decision_id FROM shadow_decisions") == [{"decision_id": "dec_4"}]


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
    assert pg_rows(postgres_url, "SELECT version FROM tiergate_schema ORDER BY version") == [
        {"version": step} for step in range(1, len(MIGRATIONS) + 1)
    ]


def test_a_database_of_the_first_schema_moves_on_and_keeps_its_rows(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:  # as the first release left it
        conn.execute("CREATE TABLE tiergate_schema (version INTEGER NOT NULL)")
        with conn.transaction():
            conn.execute(MIGRATIONS[0])
            conn.execute("INSERT INTO tiergate_schema (version) VALUES (1)")
        later = {"decided_by", "cached_tokens", "cache_write_tokens"}  # added by later steps
        full = dict(zip(_COLUMNS, _row(1.0, record("dec_old"), OPUS.price), strict=True))  # type: ignore[arg-type]
        old = {c: v for c, v in full.items() if c not in later}
        columns = ", ".join(old)
        conn.execute(f"INSERT INTO decisions ({columns}) VALUES ({', '.join(['%s'] * len(old))})", tuple(old.values()))
    dlog = PostgresDecisionLog.open(postgres_url, max_rows=None, max_age_days=None)
    try:
        dlog.observe(record("dec_new"))  # type: ignore[arg-type]
        dlog.observe_shadow(ShadowRecord("dec_new", "next.yaml", decision("dec_new", "opus"), 0.5))
        dlog.flush()
    finally:
        dlog.close()
    found = pg_rows(postgres_url, "SELECT decision_id, decided_by FROM decisions ORDER BY decision_id")
    assert found == [{"decision_id": "dec_new", "decided_by": "rules"}, {"decision_id": "dec_old", "decided_by": None}]
    assert pg_rows(postgres_url, "SELECT decision_id, tier FROM shadow_decisions") == [
        {"decision_id": "dec_new", "tier": "opus"}
    ]
    assert pg_rows(postgres_url, "SELECT max(version) AS v FROM tiergate_schema") == [{"v": len(MIGRATIONS)}]


def test_a_database_of_the_previous_version_gains_the_cache_counts_and_the_baselines_price_them(
    postgres_url: str,
) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:  # as the release before the cache counts left it
        conn.execute("CREATE TABLE tiergate_schema (version INTEGER NOT NULL)")
        for step, script in enumerate(MIGRATIONS[:2], start=1):
            with conn.transaction():
                conn.execute(script)
                conn.execute("INSERT INTO tiergate_schema (version) VALUES (%s)", (step,))
        # seed_cache_heavy's dec_3, written then: its cache counts are NULL, its prompt tokens priced uncached
        local = CACHE_TIERS["local"][0]
        rec = cache_record("dec_3", local, usage=Usage.of(1_000, 100))
        full = dict(zip(_COLUMNS, _row(T - 1000, rec, Price()), strict=True))
        old = {c: v for c, v in full.items() if c not in ("cached_tokens", "cache_write_tokens")}
        conn.execute(
            f"INSERT INTO decisions ({', '.join(old)}) VALUES ({', '.join(['%s'] * len(old))})", tuple(old.values())
        )
    clock = Clock(T)
    dlog = PostgresDecisionLog.open(postgres_url, clock=clock, max_rows=None, max_age_days=None)
    try:
        seed_cache_heavy(dlog, clock)  # its own dec_3 meets the old row and is ignored, as in SQLite
        window = asyncio.run(dlog.queries().window(T - 3600, T, 600))
    finally:
        dlog.close()
    found = pg_rows(
        postgres_url,
        "SELECT decision_id, prompt_tokens, cached_tokens, cache_write_tokens FROM decisions ORDER BY decision_id",
    )
    assert [tuple(r.values()) for r in found] == [
        ("dec_1", 101_000, 100_000, 0),
        ("dec_2", 22_000, 18_000, 2_000),
        ("dec_3", 1_000, None, None),
    ]
    assert pg_rows(postgres_url, "SELECT max(version) AS v FROM tiergate_schema") == [{"v": len(MIGRATIONS)}]
    assert_cache_heavy_baselines(window)


def test_shadow_rows_are_kept_beside_their_decision_and_replaced_as_in_sqlite(
    pg: PostgresDecisionLog, postgres_url: str, tmp_path: Path
) -> None:
    lite = DecisionLog.open(tmp_path / "d.db", clock=Clock(), reference=lambda: OPUS.price, max_rows=None)
    first = ShadowRecord("dec_1", "next.yaml", decision("dec_1", "sonnet"), None)
    second = ShadowRecord("dec_1", "next.yaml", decision("dec_1", "opus"), 0.25)
    orphan = ShadowRecord("dec_never_logged", "next.yaml", decision("dec_never_logged"), 1.0)
    try:
        for dlog in (lite, pg):
            dlog.observe(record("dec_1"))  # type: ignore[arg-type]
            for shadow in (first, orphan, second):
                dlog.observe_shadow(shadow)
            dlog.flush()
        with sqlite3.connect(tmp_path / "d.db") as conn:
            conn.row_factory = sqlite3.Row
            expected = [dict(r) for r in conn.execute("SELECT * FROM shadow_decisions")]
    finally:
        lite.close()
    assert pg_rows(postgres_url, "SELECT * FROM shadow_decisions") == expected
    assert [(r["decision_id"], r["tier"], r["cost_usd"]) for r in expected] == [("dec_1", "opus", 0.25)]


def test_spend_is_restored_from_the_postgres_log(postgres_url: str) -> None:
    clock = Clock(SUNDAY - 40 * 86_400)  # last month: not counted
    dlog = PostgresDecisionLog.open(postgres_url, clock=clock, max_rows=None, max_age_days=None)
    try:
        dlog.observe(spend_record(SPEND_SONNET, Usage.of(1_000_000, 0), decision_id="old"))
        clock.now = SUNDAY - 86_400
        dlog.observe(spend_record(SPEND_SONNET, Usage.of(1_000_000, 0), decision_id="yesterday"))
        clock.now = SUNDAY
        dlog.observe(spend_record(SPEND_SONNET, Usage.of(0, 100_000), client="web", decision_id="today"))
        dlog.flush()
    finally:
        dlog.close()
    ledger, calendar = LocalSpend(), Calendar("Europe/Paris")
    assert restore(ledger, postgres_url, calendar, SUNDAY + 60) == 2
    assert ledger.get(("tier", "sonnet", "monthly", "2025-03")) == 3.0 + 1.5
    assert ledger.get(("tier", "sonnet", "daily", "2025-03-30")) == 1.5
    assert ledger.get(("client", "web", "daily", "2025-03-30")) == 1.5
    assert ledger.get(("client", "ci", "daily", "2025-03-29")) == 3.0


def test_a_new_database_has_no_spend_to_restore_and_says_nothing(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert restore(LocalSpend(), postgres_url, Calendar(), SUNDAY) == 0  # the log has not made its tables yet
    assert [r.getMessage() for r in caplog.records if r.name == "tiergate.budgets"] == []


def test_an_unreachable_postgres_is_not_read_yet_and_its_password_is_hidden(
    closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """None, not 0: the gateway reads the month again once the server answers (restore_later)."""
    caplog.set_level(logging.DEBUG, logger="tiergate.budgets")
    url = f"postgresql://tiergate:hunter2@127.0.0.1:{closed_port}/db"
    ledger = LocalSpend()
    assert restore(ledger, url, Calendar(), SUNDAY) is None
    assert ledger.snapshot() == {}
    [line] = [r.getMessage() for r in caplog.records if r.name == "tiergate.budgets"]
    assert line.startswith(f"budgets: the decision log postgresql://***@127.0.0.1:{closed_port}/db cannot be read")
    assert "hunter2" not in line


def test_an_unreachable_server_is_a_decision_log_error_without_the_password(closed_port: int) -> None:
    with pytest.raises(DecisionLogError) as raised:
        PostgresDecisionLog.open(f"postgresql://tiergate:hunter2@127.0.0.1:{closed_port}/db")
    message = str(raised.value)
    assert message.startswith(f"decision log postgresql://***@127.0.0.1:{closed_port}/db: ")
    assert "hunter2" not in message


@pytest.mark.parametrize(
    ("password", "why", "spend"),
    [
        ("Xy%zzS3cretPW", 'invalid percent-encoded token: "***"', "cannot read spend from"),
        ("my S3cret PW", 'unexpected spaces found in "***", use percent-encoded spaces (%20) instead', "cannot read"),
        # libpq reads host "tg", port "S3c": refused as the decision log refuses it (budgets took it for an outage)
        ("S3c/retPW", "the port '***' is not a port number", "cannot read spend from"),
    ],
)
def test_a_url_libpq_cannot_read_is_refused_without_any_piece_of_the_password(
    password: str, why: str, spend: str, caplog: pytest.LogCaptureFixture
) -> None:
    """libpq quotes what it cannot read, the password itself here; the decision log's refusal (shown by
    /console/api/status and the start-up log) and budgets' reading of the same log show neither it nor a
    piece of it. No server is needed: the URL is refused before any connection."""
    caplog.set_level(logging.DEBUG, logger="tiergate.budgets")
    url = f"postgresql://tg:{password}@127.0.0.1:5/tiergate"
    with pytest.raises(DecisionLogError) as raised:
        PostgresDecisionLog.open(url)
    assert str(raised.value) == f"decision log postgresql://***@127.0.0.1:5/tiergate: {why}"
    restore(LocalSpend(), url, Calendar(), SUNDAY)
    [line] = [r.getMessage() for r in caplog.records if r.name == "tiergate.budgets"]
    assert line.startswith(f"budgets: {spend}")
    assert "postgresql://***@127.0.0.1:5/tiergate" in line
    pieces = {password, *password.split("/"), *password.split("%"), *password.split()}
    assert [piece for piece in pieces if piece in line] == []


def test_the_writer_reconnects_after_the_server_drops_it_and_keeps_the_batch(
    pg: PostgresDecisionLog, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    pg.observe(record("dec_before"))  # type: ignore[arg-type]
    pg.flush()
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
    pg.observe(record("dec_kept"))  # type: ignore[arg-type]  # the batch that meets the dead connection
    pg.flush()  # written on a fresh connection at once: a stale connection is no outage
    pg.observe(record("dec_after"))  # type: ignore[arg-type]
    pg.flush()
    assert [r["decision_id"] for r in pg_rows(postgres_url)] == ["dec_after", "dec_before", "dec_kept"]
    assert not pg.unreachable and pg.dropped == 0
    assert [r for r in caplog.records if r.name == "tiergate.decisions" and r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_max_rows_leaves_the_month_a_restart_rebuilds_spend_from(postgres_url: str, tmp_path: Path, store: str) -> None:
    """A month's rows past ``max_rows``, deleted, took their spend with them: the next start rebuilt less than
    was spent, and monthly caps reopened. The month's rows stay; last month's go."""
    clock = Clock(SUNDAY - 40 * 86_400)  # last month: max_rows may take it
    where = postgres_url if store == "postgres" else str(tmp_path / "d.db")
    kind = PostgresDecisionLog if store == "postgres" else DecisionLog
    dlog = kind.open(where, clock=clock, max_rows=2, max_age_days=None, prune_interval=1e9)
    try:
        dlog.observe(spend_record(SPEND_SONNET, Usage.of(1_000_000, 0), decision_id="old"))
        clock.now = SUNDAY - 86_400
        for i in range(3):
            dlog.observe(spend_record(SPEND_SONNET, Usage.of(1_000_000, 0), decision_id=f"this_month_{i}"))
        clock.now = SUNDAY
        assert dlog.prune() == 1  # "old" alone: 3 rows of this month stay, though max_rows is 2
    finally:
        dlog.close()
    ledger = LocalSpend()
    assert restore(ledger, where, Calendar("Europe/Paris"), SUNDAY + 60) == 3
    assert ledger.get(("tier", "sonnet", "monthly", "2025-03")) == 3 * 3.0
