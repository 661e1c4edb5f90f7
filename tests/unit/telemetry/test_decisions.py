"""The decision log: rows with every field, WAL, retention by rows and age, a writer that never blocks observe."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.doubles import Clock
from tests.helpers import MINIMAL, graph
from tiergate.config.model import Price
from tiergate.dispatch.dispatcher import Attempt
from tiergate.engine.decision import RoutingDecision
from tiergate.engine.targets import Target
from tiergate.errors import LogUnavailable
from tiergate.telemetry.cost import cost_usd, reference_price
from tiergate.telemetry.decisions import _COLUMNS, DecisionLog, DecisionLogError, _Observed, _row
from tiergate.telemetry.record import RequestRecord
from tiergate.wire import Usage

PRICED = MINIMAL.replace("model: mid-model,", "model: mid-model, price: {input: 3, output: 15},").replace(
    "model: big-model,", "model: big-model, price: {input: 15, output: 75},"
)
TIERS = graph(base=PRICED).chains.tiers
LOCAL, SONNET, OPUS = TIERS["local"][0], TIERS["sonnet"][0], TIERS["opus"][0]
#: The same rules with prompt-cache prices (Anthropic's: reads 0.1x, writes 1.25x the input price).
CACHE_PRICED = MINIMAL.replace(
    "model: mid-model,", "model: mid-model, price: {input: 3, output: 15, cache_read: 0.3, cache_write: 3.75},"
).replace("model: big-model,", "model: big-model, price: {input: 15, output: 75, cache_read: 1.5, cache_write: 18.75},")
CACHE_TIERS = graph(base=CACHE_PRICED).chains.tiers
CACHED_SONNET, CACHED_OPUS = CACHE_TIERS["sonnet"][0], CACHE_TIERS["opus"][0]
DAY = 86_400.0
OpenLog = Callable[..., DecisionLog]


def decision(decision_id: str = "dec_1", tier: str = "local") -> RoutingDecision:
    return RoutingDecision(
        decision_id=decision_id,
        tier=tier,
        provider="ollama",
        model="small-model",
        band="LOCAL",
        phase="heuristic",
        score=0.12,
        confidence=0.8,
        reasons=["short single message"],
        signals=[],
        targets=[],
        cache_hit=False,
        rules_version="v1abc",
        elapsed_us=42,
    )


def record(
    decision_id: str = "dec_1",
    target: Target | None = LOCAL,
    attempts: list[Attempt] | None = None,
    usage: Usage | None = None,
    **kw: object,
) -> RequestRecord:
    attempts = [Attempt(target, "ok", 12.5)] if attempts is None and target is not None else attempts or []
    fields: dict[str, object] = {"status": 200, "latency_ms": 250.0, "client": "alice", "stream": False}
    fields.update(kw)
    return RequestRecord(decision(decision_id), target, attempts, endpoint="chat", usage=usage, **fields)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def open_log(tmp_path: Path, clock: Clock) -> Iterator[OpenLog]:
    """``open_log(**overrides)``: a DecisionLog in tmp_path with the test clock, closed after the test."""
    opened: list[DecisionLog] = []

    def make(**kw: object) -> DecisionLog:
        options: dict[str, object] = {
            "clock": clock,
            "reference": lambda: OPUS.price,
            "max_rows": None,
            "max_age_days": None,
        }
        options.update(kw)
        dlog = DecisionLog.open(tmp_path / "logs" / "decisions.db", **options)  # type: ignore[arg-type]
        opened.append(dlog)
        return dlog

    yield make
    for dlog in opened:
        dlog.close()


def rows(path: Path, sql: str = "SELECT * FROM decisions ORDER BY rowid") -> list[sqlite3.Row]:
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute(sql).fetchall()


def test_a_row_holds_the_decision_attempts_usage_latency_and_cost(open_log: OpenLog, clock: Clock) -> None:
    dlog = open_log()
    failed = Attempt(LOCAL, "connect", 3.0, "connection refused", 503)
    rec = record(
        target=SONNET,
        attempts=[failed, Attempt(SONNET, "ok", 800.0)],
        usage=Usage.of(1000, 200),
        latency_ms=812.5,
        ttft_ms=300.25,
        stream=True,
    )
    dlog.observe(rec)
    dlog.flush()

    [row] = rows(dlog.path)
    assert dict(row) | {"attempts_json": None, "decision_json": None} == {
        "decision_id": "dec_1",
        "ts": clock.now,
        "client": "alice",
        "endpoint": "chat",
        "tier": "sonnet",
        "decided_tier": "local",
        "backend": "anthropic",
        "model": "mid-model",
        "band": "LOCAL",
        "phase": "heuristic",
        "score": 0.12,
        "confidence": 0.8,
        "stream": 1,
        "status": 200,
        "attempts": "local/small-model:connect, sonnet/mid-model:ok",
        "attempts_json": None,
        "attempt_count": 2,
        "prompt_tokens": 1000,
        "completion_tokens": 200,
        "latency_ms": 812.5,
        "ttft_ms": 300.25,
        "cost_usd": pytest.approx(0.006),  # 1000 x $3/M + 200 x $15/M
        "opus_cost_usd": pytest.approx(0.03),  # 1000 x $15/M + 200 x $75/M
        "fallback": 1,
        "error": None,
        "error_kind": None,
        "disconnected": 0,
        "rules_version": "v1abc",
        "decision_json": None,
        "session": None,
        "ask": None,
        "decided_by": "rules",  # the score decided, and no learned scorer read the request
        "cached_tokens": 0,
        "cache_write_tokens": 0,
    }
    assert json.loads(row["attempts_json"]) == [
        {
            "tier": "local",
            "backend": "ollama",
            "model": "small-model",
            "outcome": "connect",
            "elapsed_ms": 3.0,
            "status": 503,
            "error": "connection refused",
        },
        {
            "tier": "sonnet",
            "backend": "anthropic",
            "model": "mid-model",
            "outcome": "ok",
            "elapsed_ms": 800.0,
            "status": None,
            "error": None,
        },
    ]
    assert msgspec.json.decode(row["decision_json"], type=RoutingDecision) == rec.decision


def test_a_failed_request_is_logged_under_its_decided_tier_without_cost(open_log: OpenLog) -> None:
    dlog = open_log()
    failed = [Attempt(LOCAL, "connect", 3.0, "refused", 503), Attempt(SONNET, "http_529", 9.0, "overloaded", 529)]
    dlog.observe(record(target=None, attempts=failed, status=503, error="all 2 targets failed", error_kind="NoTarget"))
    dlog.observe(record("dec_2", status=499, disconnected=True, error="client disconnected"))
    dlog.flush()

    failed_row, left_row = rows(dlog.path)
    assert (failed_row["tier"], failed_row["backend"], failed_row["model"]) == ("local", None, "small-model")
    assert (failed_row["status"], failed_row["error"], failed_row["error_kind"]) == (
        503,
        "all 2 targets failed",
        "NoTarget",
    )
    assert failed_row["cost_usd"] is None and failed_row["opus_cost_usd"] is None
    assert failed_row["prompt_tokens"] is None and failed_row["fallback"] == 1
    assert (left_row["status"], left_row["disconnected"], left_row["fallback"]) == (499, 1, 0)


def test_the_file_is_in_wal_mode(open_log: OpenLog) -> None:
    dlog = open_log()
    with sqlite3.connect(dlog.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_retention_keeps_the_newest_max_rows_and_their_feedback(open_log: OpenLog, clock: Clock) -> None:
    dlog = open_log(max_rows=3)
    for i in range(5):
        dlog.observe(record(f"dec_{i}"))
    assert dlog.add_feedback("dec_0", 1) and dlog.add_feedback("dec_4", 5)
    clock.now += 33 * DAY  # past any month whose spend budgets rebuild from the log

    assert dlog.prune() == 2
    assert [r["decision_id"] for r in rows(dlog.path)] == ["dec_2", "dec_3", "dec_4"]
    assert [tuple(r) for r in rows(dlog.path, "SELECT decision_id, rating FROM feedback")] == [("dec_4", 5)]


def test_max_rows_never_deletes_the_rows_of_the_spend_a_restart_rebuilds(open_log: OpenLog, clock: Clock) -> None:
    """Budgets rebuild the month's spend from the log at start-up: a busy month's rows past ``max_rows``,
    deleted, reopened its caps at the next restart. They stay until they are 32 days old (no month starts
    further back, in any zone)."""
    dlog = open_log(max_rows=2, prune_interval=1e9)
    for i in range(4):
        dlog.observe(record(f"dec_{i}"))
    clock.now += 31 * DAY + 3600  # the end of a 31-day month that began with dec_0, a daylight-saving hour on
    assert dlog.prune() == 0
    assert len(rows(dlog.path)) == 4
    clock.now += DAY
    assert dlog.prune() == 2
    assert [r["decision_id"] for r in rows(dlog.path)] == ["dec_2", "dec_3"]


def test_retention_drops_decisions_older_than_max_age(open_log: OpenLog, clock: Clock) -> None:
    dlog = open_log(max_age_days=1, prune_interval=1e9)  # only the explicit prune below
    dlog.observe(record("dec_old"))
    clock.now += 2 * DAY
    dlog.observe(record("dec_new"))
    dlog.flush()
    clock.now += 0.5 * DAY  # dec_old is 2.5 days old, dec_new half a day

    assert dlog.prune() == 1
    assert [r["decision_id"] for r in rows(dlog.path)] == ["dec_new"]


def test_retention_runs_by_itself_every_n_rows_and_every_interval(open_log: OpenLog, clock: Clock) -> None:
    dlog = open_log(max_rows=2, prune_every_rows=4, prune_interval=60)
    clock.now -= 40 * DAY  # rows from before the month whose spend max_rows keeps
    for i in range(3):
        dlog.observe(record(f"dec_{i}"))
    dlog.flush()
    clock.now += 40 * DAY
    assert len(rows(dlog.path)) == 3  # neither 4 rows nor 60 s yet

    dlog.observe(record("dec_3"))
    dlog.flush()
    assert [r["decision_id"] for r in rows(dlog.path)] == ["dec_2", "dec_3"]

    dlog.observe(record("dec_4"))
    dlog.flush()
    assert len(rows(dlog.path)) == 3
    clock.now += 61
    dlog.flush()
    assert [r["decision_id"] for r in rows(dlog.path)] == ["dec_3", "dec_4"]


def test_an_idle_writer_wakes_to_apply_retention(open_log: OpenLog, clock: Clock) -> None:
    dlog = open_log(max_rows=1, prune_interval=0.01)
    dlog.observe(record("dec_0"))
    dlog.observe(record("dec_1"))
    dlog.flush()
    time.sleep(0.05)  # a few idle wake-ups with nothing due (the test clock stands still)
    assert len(rows(dlog.path)) == 2
    clock.now += 33 * DAY  # now due (both rows past the month max_rows keeps): the next idle wake-up prunes
    deadline = time.monotonic() + 5
    while len(rows(dlog.path)) > 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [r["decision_id"] for r in rows(dlog.path)] == ["dec_1"]


def test_opening_trims_a_file_left_over_from_a_long_pause(open_log: OpenLog, clock: Clock) -> None:
    dlog = open_log()
    dlog.observe(record("dec_old"))
    dlog.close()
    clock.now += 40 * DAY

    dlog = open_log(max_age_days=30)
    dlog.flush()
    assert rows(dlog.path) == []


def test_observe_returns_at_once_while_the_writer_waits_on_a_locked_file(open_log: OpenLog) -> None:
    dlog = open_log()
    locker = sqlite3.connect(dlog.path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # the writer's next transaction waits for this one
    try:
        started = time.perf_counter()
        for i in range(200):
            dlog.observe(record(f"dec_{i}"))
        elapsed = time.perf_counter() - started
        assert locker.execute("SELECT COUNT(*) FROM decisions").fetchone() == (0,)  # nothing written yet
    finally:
        locker.execute("COMMIT")
        locker.close()
    assert elapsed < 0.5  # the writer is stuck until COMMIT; observe never waited for it
    dlog.flush()
    assert len(rows(dlog.path)) == 200


def until(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + 5
    while not (value := check()):
        assert time.monotonic() < deadline, what
        time.sleep(0.01)
    return value


def test_a_write_held_by_a_lock_reads_as_down_after_stall_after_and_ok_once_it_is_written(open_log: OpenLog) -> None:
    opened = time.time()
    dlog = open_log(stall_after=0.2, lock_wait=30.0)
    locker = sqlite3.connect(dlog.path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # the writer's transaction waits for this one, raising nothing meanwhile
    try:
        dlog.observe(record("dec_1"))
        down = until(lambda: (h := dlog.health())["status"] == "down" and h, "the held write reads as down")
        assert re.fullmatch(r"a write has not finished for \d+s; rows are kept meanwhile", down["reason"])
        assert down == {**down, "pending": 1, "dropped": 0, "outages": 0}
        # the held write started (the row's, or the writer's first retention run, held by the same lock) after the
        # log opened and at least stall_after ago: measured on the monotonic clock, shown on the wall clock read
        # just after it, so the two may differ by microseconds
        assert opened < down["down_since"] < time.time() - 0.2 + 0.01
    finally:
        locker.execute("COMMIT")
        locker.close()
    dlog.flush()
    assert dlog.health() == {
        "status": "ok",
        "where": str(dlog.path),
        "reason": None,
        "down_since": None,
        "pending": 0,
        "dropped": 0,
        "outages": 0,
    }


def test_a_write_waits_lock_wait_for_a_lock_then_its_rows_are_kept_as_through_an_outage(open_log: OpenLog) -> None:
    dlog = open_log(lock_wait=0.1, retry_min=0.02, retry_max=0.05)
    locker = sqlite3.connect(dlog.path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        dlog.observe(record("dec_1"))
        down = until(lambda: (h := dlog.health())["status"] == "down" and h, "the write gives up")
        assert (down["reason"], down["pending"], down["outages"]) == ("OperationalError: database is locked", 1, 1)
    finally:
        locker.execute("COMMIT")
        locker.close()
    until(lambda: dlog.health()["pending"] == 0, "the row kept is written")
    assert [r["decision_id"] for r in rows(dlog.path)] == ["dec_1"]


def test_a_stuck_writer_sheds_rows_instead_of_memory(open_log: OpenLog) -> None:
    dlog = open_log(max_pending=5)
    locker = sqlite3.connect(dlog.path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        for i in range(20):
            dlog.observe(record(f"dec_{i}"))
    finally:
        locker.execute("COMMIT")
        locker.close()
    dlog.flush()
    assert dlog.dropped >= 20 - 5 - 5  # at most five queued and five more drained into the stuck batch
    assert len(rows(dlog.path)) + dlog.dropped == 20


def test_close_writes_everything_queued(open_log: OpenLog) -> None:
    dlog = open_log()
    for i in range(50):
        dlog.observe(record(f"dec_{i}"))
    dlog.close()
    assert len(rows(dlog.path)) == 50

    dlog.observe(record("dec_late"))  # ignored, not an error: requests may end during shutdown
    with pytest.raises(DecisionLogError, match="closed"):
        dlog.add_feedback("dec_1", 5)
    dlog.close()


def test_feedback_is_stored_against_a_known_decision(open_log: OpenLog, clock: Clock) -> None:
    dlog = open_log()
    dlog.observe(record("dec_1"))
    # no flush: feedback queues behind the record, so a client that rates at once finds its decision
    assert dlog.add_feedback("dec_1", 4, "fine", client="alice") is True
    assert dlog.add_feedback("dec_missing", 4) is False

    [row] = rows(dlog.path, "SELECT decision_id, ts, client, rating, comment FROM feedback")
    assert tuple(row) == ("dec_1", clock.now, "alice", 4, "fine")


def test_an_unusable_path_is_reported_with_its_name(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(DecisionLogError, match=r"decision log .*file/decisions\.db"):
        DecisionLog.open(tmp_path / "file" / "decisions.db")


def test_cost_prices_input_and_output_per_million_tokens() -> None:
    assert cost_usd(Price(input=3, output=15), Usage.of(2_000_000, 1_000_000)) == pytest.approx(21.0)
    assert cost_usd(Price(), Usage.of(5000, 5000)) == 0.0


def test_the_reference_is_the_opus_tier_else_the_priciest_target() -> None:
    assert reference_price(TIERS) == Price(input=15, output=75)
    without_opus = {"local": TIERS["local"], "sonnet": TIERS["sonnet"]}
    assert reference_price(without_opus) == Price(input=3, output=15)
    assert reference_price({"local": TIERS["local"]}) == Price()
    assert reference_price({}) == Price()


def test_trickling_rows_are_written_together_after_the_linger(open_log: OpenLog) -> None:
    dlog = open_log(linger=30.0)
    dlog.flush(timeout=10)  # past the start-up retention pass
    before = dlog.writes
    for i in range(5):
        dlog.observe(record(f"dec_{i}"))
    # Nothing is written while the writer lingers: no row yet, however long the test machine takes.
    assert rows(dlog.path) == []
    assert dlog.writes == before
    dlog.flush(timeout=10)  # a command ends the wait at once (not after 30 s), behind every row
    assert len(rows(dlog.path)) == 5
    assert dlog.writes == before + 1  # the five rows and the flush: one transaction


def test_feedback_and_close_do_not_wait_for_the_linger(open_log: OpenLog) -> None:
    dlog = open_log(linger=30.0)
    dlog.observe(record("dec_1"))
    assert dlog.add_feedback("dec_1", 5, timeout=10) is True
    dlog.observe(record("dec_2"))
    dlog.close(timeout=10)
    assert [r["decision_id"] for r in rows(dlog.path)] == ["dec_1", "dec_2"]


def test_a_file_from_before_versioning_is_migrated_in_place(tmp_path: Path) -> None:
    """A log written by the first schema (user_version 1) gains the new columns, and keeps its rows."""
    import sqlite3

    from tiergate.telemetry.decisions import MIGRATIONS, migrate

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
        conn.execute(
            "INSERT INTO decisions (decision_id, ts, client, endpoint, tier, decided_tier, model, band, phase, score, "
            "confidence, stream, status, attempts, attempts_json, attempt_count, latency_ms, fallback, disconnected, "
            "rules_version, decision_json) VALUES ('dec_old', 1, 'c', 'chat', 'local', 'local', 'm', 'LOCAL', "
            "'heuristic', 0, 1, 0, 200, '', '[]', 1, 1.0, 0, 0, 'v', '{}')"
        )
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        assert migrate(conn) == len(MIGRATIONS) and migrate(conn) == len(MIGRATIONS)  # twice: a no-op
        columns = {r[1] for r in conn.execute("PRAGMA table_info(decisions)")}
        assert {"session", "ask"} <= columns
        assert conn.execute("SELECT decision_id, session, ask FROM decisions").fetchall() == [("dec_old", None, None)]
    finally:
        conn.close()


def test_a_row_keeps_the_upstreams_cache_counts_and_prices_them_at_each_cache_price(
    open_log: OpenLog,
) -> None:
    dlog = open_log(reference=lambda: CACHED_OPUS.price)
    # 12,000 prompt tokens: 1,000 uncached, 10,000 read from the cache, 1,000 written to it
    dlog.observe(record("dec_cache", CACHED_SONNET, usage=Usage.of(12_000, 500, cached=10_000, cache_write=1_000)))
    # a stream cut short: the upstream counted the prompt only; spend charged an estimate of the answer too
    cut = Usage.of(12_000, 0, cached=10_000, cache_write=1_000)
    charged = Usage.of(12_000, 500, cached=10_000, cache_write=1_000)
    dlog.observe(record("dec_cut", CACHED_SONNET, usage=cut, charged=charged, estimated=True))
    # no usage reported at all: an estimate is charged, the token columns stay NULL
    dlog.observe(record("dec_none", CACHED_SONNET, charged=Usage.of(4_000, 100), estimated=True))
    dlog.flush()

    columns = "decision_id, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, cost_usd, "
    columns += "opus_cost_usd"
    found = {r["decision_id"]: tuple(r)[1:] for r in rows(dlog.path, f"SELECT {columns} FROM decisions")}
    # sonnet: 1,000 x $3 + 10,000 x $0.30 + 1,000 x $3.75 + 500 x $15 = $0.01725 (per million)
    # opus:   1,000 x $15 + 10,000 x $1.50 + 1,000 x $18.75 + 500 x $75 = $0.08625
    assert found["dec_cache"] == (12_000, 500, 10_000, 1_000, pytest.approx(0.01725), pytest.approx(0.08625))
    # the tokens are the upstream's own; both costs are the charged usage's, cache prices included
    assert found["dec_cut"] == (12_000, 0, 10_000, 1_000, pytest.approx(0.01725), pytest.approx(0.08625))
    # 4,000 x $3 + 100 x $15; 4,000 x $15 + 100 x $75
    assert found["dec_none"] == (None, None, None, None, pytest.approx(0.0135), pytest.approx(0.0675))


def test_a_file_of_the_previous_version_gains_the_cache_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    from tiergate.telemetry.decisions import MIGRATIONS, migrate

    path = tmp_path / "v3.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for step, script in enumerate(MIGRATIONS[:3], start=1):  # as the release before the cache counts left it
            conn.executescript(f"BEGIN; {script}; PRAGMA user_version = {step}; COMMIT;")
        conn.execute(
            "INSERT INTO decisions (decision_id, ts, client, endpoint, tier, decided_tier, model, band, phase, score, "
            "confidence, stream, status, attempts, attempts_json, attempt_count, prompt_tokens, completion_tokens, "
            "latency_ms, fallback, disconnected, rules_version, decision_json) VALUES ('dec_old', 1, 'c', 'chat', "
            "'sonnet', 'sonnet', 'm', 'LOCAL', 'heuristic', 0, 1, 0, 200, '', '[]', 1, 900, 10, 1.0, 0, 0, 'v', '{}')"
        )
        assert "cached_tokens" not in {r[1] for r in conn.execute("PRAGMA table_info(decisions)")}
    finally:
        conn.close()

    dlog = DecisionLog.open(path, clock=Clock(), reference=lambda: CACHED_OPUS.price, max_rows=None, max_age_days=None)
    try:
        dlog.observe(record("dec_new", CACHED_SONNET, usage=Usage.of(12_000, 500, cached=10_000, cache_write=1_000)))
        dlog.flush()
    finally:
        dlog.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
        assert migrate(conn) == len(MIGRATIONS)  # again: a no-op
    sql = "SELECT decision_id, prompt_tokens, cached_tokens, cache_write_tokens FROM decisions ORDER BY ts"
    found = rows(path, sql)
    assert [tuple(r) for r in found] == [("dec_old", 900, None, None), ("dec_new", 12_000, 10_000, 1_000)]


def test_a_row_the_store_refuses_is_dropped_alone_and_the_rest_of_its_batch_is_written(
    open_log: OpenLog, caplog: pytest.LogCaptureFixture
) -> None:
    dlog = open_log(linger=0.2)  # one batch for all
    for i in range(3):
        dlog.observe(record(f"dec_{i}"))
    bad = list(_row(0.0, record("dec_bad"), OPUS.price))
    bad[_COLUMNS.index("client")] = {"not": "bindable"}  # the driver refuses this row for its data
    dlog._queue.put(_Observed(tuple(bad)))
    for i in range(3, 6):
        dlog.observe(record(f"dec_{i}"))
    assert dlog.add_feedback("dec_5", 5) is True
    assert [r["decision_id"] for r in rows(dlog.path)] == [f"dec_{i}" for i in range(6)]
    assert dlog.dropped == 1 and not dlog.unreachable
    [line] = [r.getMessage() for r in caplog.records if "was not written" in r.getMessage()]
    assert "the row of dec_bad was not written: ProgrammingError" in line


class FlakyLog(DecisionLog):
    """A log whose store is 'full' while ``down``: SQLite's transient error, as a full disk gives it."""

    down = False
    attempts = 0

    def _begin(self, conn: object) -> None:
        if self.down:
            self.attempts += 1
            full = sqlite3.OperationalError("database or disk is full")
            full.sqlite_errorcode = sqlite3.SQLITE_FULL  # type: ignore[attr-defined]
            raise full
        super()._begin(conn)


def test_rows_are_kept_while_the_store_cannot_be_written_and_written_when_it_can(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dlog = FlakyLog.open(tmp_path / "d.db", max_rows=None, retry_min=0.01, retry_max=0.04, max_pending=8)
    try:
        dlog.down = True
        dlog.observe(record("dec_00"))
        deadline = time.monotonic() + 5
        while not dlog.unreachable and time.monotonic() < deadline:
            time.sleep(0.01)
        for i in range(1, 12):
            dlog.observe(record(f"dec_{i:02}"))
            time.sleep(0.002)  # the writer takes each off the queue: it sheds the oldest, not the newest
        with pytest.raises(LogUnavailable):
            dlog.flush()  # at once, not after the store is back
        time.sleep(0.3)
        assert dlog.attempts >= 4  # it kept trying, with a delay that grows
        dlog.down = False
        deadline = time.monotonic() + 5
        while dlog.unreachable and time.monotonic() < deadline:
            time.sleep(0.01)
        dlog.flush()
    finally:
        dlog.close()
    # the newest max_pending rows are kept, the oldest dropped
    assert [r["decision_id"] for r in rows(tmp_path / "d.db")] == [f"dec_{i:02}" for i in range(4, 12)]
    assert dlog.dropped == 4
    messages = [r.getMessage() for r in caplog.records if r.name == "tiergate.decisions"]
    assert len([m for m in messages if "cannot be written (OperationalError: database or disk is full)" in m]) == 1
    assert len([m for m in messages if "8 row(s) kept through the outage, 4 dropped" in m]) == 1
    assert not [r for r in caplog.records if r.exc_info]
