"""The console's queries over a real SQLite decision log: every number worked out by hand from the rows."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.doubles import Clock
from tests.helpers import MINIMAL, graph
from tiergate.dispatch.dispatcher import Attempt
from tiergate.engine.decision import RoutingDecision
from tiergate.engine.targets import Target
from tiergate.telemetry.decisions import DecisionLog
from tiergate.telemetry.queries import Bucket, Pair, Window
from tiergate.telemetry.record import RequestRecord, ShadowRecord
from tiergate.telemetry.savings import price_baselines
from tiergate.telemetry.sql_queries import (
    POSTGRES_PYFORMAT,
    SQLITE,
    SqliteRunner,
    SqlQueries,
    is_postgres,
    unless_given,
)
from tiergate.wire import Usage

PRICED = MINIMAL.replace("model: mid-model,", "model: mid-model, price: {input: 3, output: 15},").replace(
    "model: big-model,", "model: big-model, price: {input: 15, output: 75},"
)
TIERS = graph(base=PRICED).chains.tiers
LOCAL, SONNET, OPUS = TIERS["local"][0], TIERS["sonnet"][0], TIERS["opus"][0]
T = 1_700_000_000.0


def decision(decision_id: str, tier: str = "local", phase: str = "heuristic", version: str = "v1") -> RoutingDecision:
    return RoutingDecision(
        decision_id=decision_id,
        tier=tier,
        provider="ollama",
        model={"local": "small-model", "sonnet": "mid-model", "opus": "big-model"}[tier],
        band="LOCAL",
        phase=phase,  # type: ignore[arg-type]
        score=0.1,
        confidence=0.9,
        reasons=[],
        signals=[],
        targets=[],
        cache_hit=False,
        rules_version=version,
        elapsed_us=10,
    )


def record(decision_id: str, target: Target | None, **kw: Any) -> RequestRecord:
    tier = kw.pop("tier", target.tier if target else "local")
    phase = kw.pop("phase", "heuristic")
    fields: dict[str, Any] = {"status": 200, "latency_ms": 100.0, "client": "alice", "stream": False}
    fields.update(kw)
    attempts = fields.pop("attempts", [Attempt(target, "ok", 90.0)] if target else [])
    return RequestRecord(decision(decision_id, tier, phase), target, attempts, endpoint="chat", **fields)


@pytest.fixture
def log(tmp_path: Path) -> Iterator[DecisionLog]:
    clock = Clock(T)
    dlog = DecisionLog.open(tmp_path / "d.db", clock=clock, max_rows=None, max_age_days=None)
    seed(dlog, clock)
    yield dlog
    dlog.close()


def seed(dlog: DecisionLog, clock: Clock) -> None:
    """Six requests over the last hour (one a day older), three ratings, and three shadow decisions (a fourth,
    for a request the log never saw, is not kept); ``clock`` is the log's."""
    rows: list[tuple[float, RequestRecord]] = [
        (T - 90_000, record("dec_e", LOCAL, usage=Usage.of(5, 5))),  # outside the hour
        (T - 3000, record("dec_a", LOCAL, usage=Usage.of(1000, 100), latency_ms=100.0)),
        (
            T - 2000,
            record(
                "dec_b",
                SONNET,
                phase="explicit",
                usage=Usage.of(2000, 200),
                latency_ms=300.0,
                ttft_ms=50.0,
                stream=True,
            ),
        ),
        (
            T - 1000,
            record(
                "dec_c",
                SONNET,
                tier="local",
                phase="llm_classifier",
                usage=Usage.of(1000, 0),
                latency_ms=500.0,
                attempts=[Attempt(LOCAL, "http_503", 5.0, "overloaded", 503), Attempt(SONNET, "ok", 480.0)],
            ),
        ),
        (
            T - 500,
            record("dec_d", None, status=503, latency_ms=20.0, error="all targets failed", error_kind="NoTarget"),
        ),
        (T - 100, record("dec_f", LOCAL, status=499, latency_ms=7.0, disconnected=True, error="client disconnected")),
    ]
    for ts, rec in rows:
        clock.now = ts
        dlog.observe(rec)
    clock.now = T
    dlog.add_feedback("dec_b", 4)
    dlog.add_feedback("dec_b", 2)
    dlog.add_feedback("dec_a", 5, "local was enough")
    dlog.observe_shadow(ShadowRecord("dec_a", "next.yaml", decision("dec_a", "sonnet", version="cand1"), 0.0045))
    dlog.observe_shadow(ShadowRecord("dec_b", "next.yaml", decision("dec_b", "sonnet", version="cand1"), 0.009))
    dlog.observe_shadow(ShadowRecord("dec_d", "next.yaml", decision("dec_d", "opus", version="cand1"), None))
    dlog.observe_shadow(ShadowRecord("dec_unknown", "next.yaml", decision("dec_unknown", "opus"), None))
    dlog.flush()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_the_window_counts_costs_rates_and_times_each_tier(log: DecisionLog) -> None:
    window: Window = run(log.queries().window(T - 3600, T, 600))

    assert (window.requests, window.fallbacks, window.errors) == (5, 1, 1)
    local, sonnet = window.tiers  # most requests first
    assert (local.tier, local.requests, local.cost_usd, local.priced) == ("local", 3, 0.0, 1)
    assert (local.prompt_tokens, local.completion_tokens, local.fallbacks, local.errors) == (1000, 100, 0, 1)
    # percentiles over successful requests only: the 503 and the client who left are not a tier's speed
    assert (local.latency_p50_ms, local.latency_p95_ms, local.ttft_p50_ms) == (100.0, 100.0, None)
    assert (local.ratings, local.rating_mean) == (1, 5.0)
    assert (sonnet.tier, sonnet.requests, sonnet.priced) == ("sonnet", 2, 2)
    assert sonnet.cost_usd == pytest.approx(0.009 + 0.003)  # 2000x$3 + 200x$15, 1000x$3 (per million)
    assert (sonnet.prompt_tokens, sonnet.completion_tokens, sonnet.fallbacks, sonnet.errors) == (3000, 200, 1, 0)
    assert (sonnet.latency_p50_ms, sonnet.latency_p95_ms) == (400.0, pytest.approx(490.0))
    assert (sonnet.ttft_p50_ms, sonnet.ttft_p95_ms) == (50.0, 50.0)
    assert (sonnet.ratings, sonnet.rating_mean) == (1, 2.0), "dec_b counted once: its client's latest rating"
    assert window.decided_by == {"rules": 3, "explicit": 1, "classifier": 1}
    assert window.series == [
        Bucket(T - 3600, {}),
        Bucket(T - 3000, {"local": 1}),
        Bucket(T - 2400, {"sonnet": 1}),
        Bucket(T - 1800, {}),
        Bucket(T - 1200, {"sonnet": 1}),
        Bucket(T - 600, {"local": 2}),
    ]


def test_an_empty_window_has_every_bucket_and_no_tier(log: DecisionLog) -> None:
    window: Window = run(log.queries().window(T + 10, T + 3610, 1800))
    assert (window.requests, window.tiers, window.decided_by) == (0, [], {})
    assert window.series == [Bucket(T + 10, {}), Bucket(T + 1810, {})]


def test_baselines_price_the_same_tokens_on_one_tier_and_may_be_negative(log: DecisionLog) -> None:
    window: Window = run(log.queries().window(T - 3600, T, 600))
    opus, sonnet = price_baselines(window, TIERS)
    # 4000 prompt and 300 completion tokens were priced; they cost $0.012 as routed
    assert (opus.name, opus.cost_usd, opus.actual_usd) == ("always-opus", pytest.approx(0.0825), pytest.approx(0.012))
    assert (opus.saving_usd, opus.saving_share) == (pytest.approx(0.0705), pytest.approx(0.0705 / 0.0825))
    assert (sonnet.name, sonnet.cost_usd, sonnet.saving_usd) == (
        "always-sonnet",
        pytest.approx(0.0165),
        pytest.approx(0.0045),
    )

    dear = _with(window.tiers[1], cost_usd=0.05, counted_cost_usd=0.05)
    costly = Window(**{**_fields(window), "tiers": [window.tiers[0], dear]})
    [_, sonnet] = price_baselines(costly, TIERS)
    assert sonnet.saving_usd == pytest.approx(0.0165 - 0.05)  # routing cost more than always-sonnet: shown as is
    assert sonnet.saving_usd < 0 and sonnet.saving_share == pytest.approx((0.0165 - 0.05) / 0.0165)

    [_, missing] = price_baselines(window, {"local": TIERS["local"], "opus": TIERS["opus"]})
    assert (missing.cost_usd, missing.saving_usd, missing.reason) == (
        None,
        None,
        "routes.yaml has no tier named sonnet",
    )


CACHE_PRICED = MINIMAL.replace(
    "model: mid-model,", "model: mid-model, price: {input: 3, output: 15, cache_read: 0.3, cache_write: 3.75},"
).replace("model: big-model,", "model: big-model, price: {input: 15, output: 75, cache_read: 1.5, cache_write: 18.75},")
CACHE_TIERS = graph(base=CACHE_PRICED).chains.tiers


def seed_cache_heavy(dlog: DecisionLog, clock: Clock) -> None:
    """Claude Code's kind of traffic: most prompt tokens read from the prompt cache. One row is as a log
    written before the cache counts were kept left it (NULL counts: all its prompt tokens uncached)."""
    local, sonnet = CACHE_TIERS["local"][0], CACHE_TIERS["sonnet"][0]
    for ts, rec in [
        (T - 3000, record("dec_1", sonnet, usage=Usage.of(101_000, 1_000, cached=100_000))),
        (T - 2000, record("dec_2", sonnet, usage=Usage.of(22_000, 2_000, cached=18_000, cache_write=2_000))),
        (T - 1000, record("dec_3", local, usage=Usage.of(1_000, 100))),
    ]:
        clock.now = ts
        dlog.observe(rec)
    clock.now = T
    dlog.flush()


def test_baselines_price_cache_reads_and_writes_at_each_baselines_cache_prices(tmp_path: Path) -> None:
    clock = Clock(T)
    dlog = DecisionLog.open(tmp_path / "c.db", clock=clock, max_rows=None, max_age_days=None)
    try:
        seed_cache_heavy(dlog, clock)
    finally:
        dlog.close()
    with sqlite3.connect(tmp_path / "c.db") as conn:  # dec_3 as an older release wrote it
        conn.execute("UPDATE decisions SET cached_tokens = NULL, cache_write_tokens = NULL WHERE decision_id = 'dec_3'")
    window: Window = run(SqlQueries(SqliteRunner(tmp_path / "c.db")).window(T - 3600, T, 600))
    assert_cache_heavy_baselines(window)


def test_an_estimated_rows_cost_is_spend_but_not_set_against_the_baselines(tmp_path: Path) -> None:
    """A request whose upstream reported no usage is charged an estimate (cost, no tokens). The baselines
    cannot re-price tokens they do not have, so the saving compares the requests that reported usage only."""
    clock = Clock(T)
    dlog = DecisionLog.open(tmp_path / "e.db", clock=clock, max_rows=None, max_age_days=None)
    sonnet = CACHE_TIERS["sonnet"][0]
    try:
        for ts, rec in [
            (T - 2000, record("dec_u", sonnet, usage=Usage.of(1_000, 100))),  # $0.003 + $0.0015
            (T - 1000, record("dec_x", sonnet, usage=None, charged=Usage.of(2_000, 200), estimated=True)),  # $0.009
        ]:
            clock.now = ts
            dlog.observe(rec)
        clock.now = T
        dlog.flush()
    finally:
        dlog.close()
    window: Window = run(SqlQueries(SqliteRunner(tmp_path / "e.db")).window(T - 3600, T, 600))
    [tier] = window.tiers
    assert (tier.requests, tier.priced, tier.cost_usd, tier.counted_cost_usd) == (
        2,
        1,
        pytest.approx(0.0135),
        pytest.approx(0.0045),
    )
    _, always_sonnet = price_baselines(window, CACHE_TIERS)
    # all sonnet traffic against always-sonnet: no saving, not -$0.009
    assert (always_sonnet.cost_usd, always_sonnet.actual_usd, always_sonnet.saving_usd) == (
        pytest.approx(0.0045),
        pytest.approx(0.0045),
        pytest.approx(0.0),
    )


def assert_cache_heavy_baselines(window: Window) -> None:
    """The figures of ``seed_cache_heavy``'s rows (dec_3's counts NULL), worked out by hand."""
    sonnet, local = sorted(window.tiers, key=lambda t: t.tier, reverse=True)
    assert (sonnet.prompt_tokens, sonnet.completion_tokens, sonnet.cached_tokens, sonnet.cache_write_tokens) == (
        123_000,
        3_000,
        118_000,
        2_000,
    )
    assert (local.prompt_tokens, local.completion_tokens, local.cached_tokens, local.cache_write_tokens) == (
        1_000,
        100,
        0,
        0,
    )
    # actual: dec_1 1,000 x $3 + 100,000 x $0.30 + 1,000 x $15 = $0.048;
    #         dec_2 2,000 x $3 + 18,000 x $0.30 + 2,000 x $3.75 + 2,000 x $15 = $0.0489; dec_3 local, free
    # priced over 124,000 prompt tokens (4,000 uncached, 118,000 read, 2,000 written) and 3,100 completion ones
    opus, sonnet_baseline = price_baselines(window, CACHE_TIERS)
    # 4,000 x $15 + 118,000 x $1.50 + 2,000 x $18.75 + 3,100 x $75 = $0.507 (not $2.0925 all at the input price)
    assert (opus.cost_usd, opus.actual_usd, opus.saving_usd) == (
        pytest.approx(0.507),
        pytest.approx(0.0969),
        pytest.approx(0.4101),
    )
    assert opus.saving_share == pytest.approx(0.4101 / 0.507)
    # 4,000 x $3 + 118,000 x $0.30 + 2,000 x $3.75 + 3,100 x $15 = $0.1014
    assert (sonnet_baseline.cost_usd, sonnet_baseline.saving_usd) == (pytest.approx(0.1014), pytest.approx(0.0045))
    # targets without cache prices price the cached and written tokens at their input price
    plain_opus, plain_sonnet = price_baselines(window, TIERS)
    assert plain_opus.cost_usd == pytest.approx((124_000 * 15 + 3_100 * 75) / 1e6)  # $2.0925
    assert plain_sonnet.cost_usd == pytest.approx((124_000 * 3 + 3_100 * 15) / 1e6)  # $0.4185


def test_recent_requests_newest_first_with_their_latest_rating(log: DecisionLog) -> None:
    newest = run(log.queries().recent(3))
    assert [r.decision_id for r in newest] == ["dec_f", "dec_d", "dec_c"]
    older = run(log.queries().recent(10, before=T - 1000))
    assert [(r.decision_id, r.rating) for r in older] == [("dec_b", 2), ("dec_a", 5), ("dec_e", None)]
    b = older[0]
    assert (b.client, b.tier, b.model, b.phase, b.decided_by, b.status) == (
        "alice",
        "sonnet",
        "mid-model",
        "explicit",
        "explicit",
        200,
    )
    assert (b.cost_usd, b.latency_ms, b.ttft_ms) == (pytest.approx(0.009), 300.0, 50.0)


def test_a_requests_detail_has_its_trace_attempts_ratings_and_shadow(log: DecisionLog) -> None:
    c = run(log.queries().detail("dec_c"))
    assert (c.row.tier, c.decided_tier, c.fallback, c.prompt_tokens, c.completion_tokens) == (
        "sonnet",
        "local",
        True,
        1000,
        0,
    )
    assert [(a["tier"], a["outcome"], a["status"]) for a in c.attempts] == [
        ("local", "http_503", 503),
        ("sonnet", "ok", None),
    ]
    assert c.decision["decision_id"] == "dec_c" and c.decision["phase"] == "llm_classifier"
    assert (c.ratings, c.shadow) == ([], None)

    b = run(log.queries().detail("dec_b"))
    assert [(r.rating, r.client) for r in b.ratings] == [(4, None), (2, None)]
    assert b.shadow is not None
    assert (b.shadow.file, b.shadow.rules_version, b.shadow.tier, b.shadow.cost_usd) == (
        "next.yaml",
        "cand1",
        "sonnet",
        0.009,
    )
    assert run(log.queries().detail("dec_nope")) is None


def test_the_shadow_report_counts_disagreements_costs_and_their_ratings(log: DecisionLog) -> None:
    report = run(log.queries().shadow(T - 3600, T, 10))
    assert (report.shadowed, report.agreed) == (3, 1)  # the shadow of an unknown decision was not kept
    assert report.pairs == [Pair("local", "opus", 1), Pair("local", "sonnet", 1), Pair("sonnet", "sonnet", 1)]
    # priced: dec_a (live $0, candidate $0.0045) and dec_b (live $0.009, candidate $0.009)
    assert (report.priced, report.live_cost_usd, report.candidate_cost_usd) == (
        2,
        pytest.approx(0.009),
        pytest.approx(0.0135),
    )
    assert (report.disagreeing_rated, report.disagreeing_rating_mean) == (1, 5.0)  # dec_a's 5; dec_b agrees
    assert report.disagreeing_ratings == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}
    assert [(e.row.decision_id, e.live["tier"], e.candidate.tier) for e in report.examples] == [
        ("dec_d", "local", "opus"),
        ("dec_a", "local", "sonnet"),
    ]
    assert report.versions == ["cand1"]


def test_retention_removes_a_decisions_shadow_with_it(log: DecisionLog) -> None:
    log.max_age_days = 0.02  # 28.8 minutes: dec_e, dec_a, dec_b go
    assert log.prune() == 3
    report = run(log.queries().shadow(T - 100_000, T, 10))
    assert report.pairs == [Pair("local", "opus", 1)]


def test_placeholders_and_the_bucket_floor_per_store() -> None:
    sql = "SELECT {} FROM decisions d WHERE d.ts >= ? AND d.ts < ?"
    assert SQLITE.render(sql.format(SQLITE.floor.format("x"))) == (
        "SELECT CAST(x AS INTEGER) FROM decisions d WHERE d.ts >= ? AND d.ts < ?"
    )
    assert POSTGRES_PYFORMAT.render(sql.format(POSTGRES_PYFORMAT.floor.format("x"))) == (
        "SELECT FLOOR(x) FROM decisions d WHERE d.ts >= %s AND d.ts < %s"
    )


def test_a_log_location_names_postgres_only_by_its_url_scheme() -> None:
    assert is_postgres("postgresql://tiergate@db/log") and is_postgres("postgres://db/log")
    assert not is_postgres("tiergate-decisions.db") and not is_postgres(None)
    assert not is_postgres(Path("postgresql://db/log"))  # a Path is always a file


def test_the_sqlite_runner_opens_the_file_read_only(log: DecisionLog) -> None:
    runner = SqliteRunner(log.path)
    with pytest.raises(Exception, match="readonly"):
        run(runner.run([("DELETE FROM decisions", ())]))
    assert len(run(SqlQueries(runner).recent(10))) == 6


def _fields(window: Window) -> dict[str, Any]:
    return {f: getattr(window, f) for f in window.__struct_fields__}


def _with(tier: Any, **changes: Any) -> Any:
    import msgspec

    return msgspec.structs.replace(tier, **changes)


def test_the_shadow_report_starts_from_the_shadow_tables_time_index(log: DecisionLog, tmp_path: Path) -> None:
    """Its window was on the live rows' time: SQLite walked every live row of 30 days (300,000 rows: 3 s) to
    find a handful of shadowed ones."""
    from tiergate.telemetry.sql_queries import _SHADOW_WINDOW, _SHADOWED

    with sqlite3.connect(tmp_path / "d.db") as db:
        plan = db.execute(
            f"EXPLAIN QUERY PLAN SELECT COUNT(*) FROM {_SHADOWED} WHERE {_SHADOW_WINDOW}", (T - 3600, T - 3600, T)
        ).fetchall()
    steps = [row[-1] for row in plan]
    assert any("shadow_decisions_ts" in step for step in steps), steps
    assert not any("decisions_ts" in step and "shadow" not in step for step in steps), steps


def test_the_next_page_goes_on_among_rows_of_one_time(tmp_path: Path) -> None:
    """Paging by ``ts`` alone skipped the rest of a page's last second: of 120 rows at one ``ts``, the
    console's "Older" showed 41."""
    clock = Clock(T)
    dlog = DecisionLog.open(tmp_path / "p.db", clock=clock, max_rows=None, max_age_days=None)
    try:
        for i in range(7):
            dlog.observe(record(f"dec_{i}", LOCAL))  # one clock reading for all
        dlog.flush()
        queries = dlog.queries()
        first = run(queries.recent(3))
        second = run(queries.recent(3, first[-1].ts, first[-1].decision_id))
        third = run(queries.recent(3, second[-1].ts, second[-1].decision_id))
    finally:
        dlog.close()
    pages = [[r.decision_id for r in page] for page in (first, second, third)]
    assert pages == [["dec_0", "dec_1", "dec_2"], ["dec_3", "dec_4", "dec_5"], ["dec_6"]]


def rate_as_several_raters(dlog: DecisionLog) -> None:
    """dec_c (alice's): alice 4, then bob 1; dec_e: the console 2, then alice 5 and bob 1; dec_f: bob's 1 only."""
    for decision_id, rating, client in (
        ("dec_c", 4, "alice"),
        ("dec_c", 1, "bob"),
        ("dec_e", 2, "console"),
        ("dec_e", 5, "alice"),
        ("dec_e", 1, "bob"),
        ("dec_f", 1, "bob"),
    ):
        assert dlog.add_feedback(decision_id, rating, client=client)


#: What the list shows after rate_as_several_raters: the admin's latest, else the owner's; never bob's.
RATED_BY_SEVERAL = [("dec_f", None), ("dec_d", None), ("dec_c", 4), ("dec_b", 2), ("dec_a", 5), ("dec_e", 2)]


def test_the_listed_rating_is_the_admins_or_the_owners_never_another_clients(log: DecisionLog) -> None:
    """Any client may rate any decision; bob's later 1 was listed over alice's own rating and the admin's."""
    rate_as_several_raters(log)
    rows = run(log.queries().recent(10))
    assert [(r.decision_id, r.rating) for r in rows] == RATED_BY_SEVERAL
    detail = run(log.queries().detail("dec_e"))
    assert [(r.rating, r.client) for r in detail.ratings] == [(2, "console"), (5, "alice"), (1, "bob")]


def test_the_overview_averages_the_ratings_the_list_shows(log: DecisionLog) -> None:
    """bob's ratings of decisions not his moved each tier's mean; now the mean is over the listed ratings, one
    per rated decision."""
    rate_as_several_raters(log)
    rows = run(log.queries().recent(10))
    window: Window = run(log.queries().window(T - 3600, T, 600))
    listed: dict[str, list[int]] = {}
    for row in rows:
        if row.rating is not None and row.ts >= T - 3600:
            listed.setdefault(row.tier, []).append(row.rating)
    shown = {t.tier: (t.ratings, t.rating_mean) for t in window.tiers if t.ratings}
    assert shown == {tier: (len(r), pytest.approx(sum(r) / len(r))) for tier, r in listed.items()}
    assert sum(n for n, _ in shown.values()) == 3  # dec_a 5, dec_b 2, dec_c 4 in the window; dec_f bob's only


def test_a_connection_setting_the_operator_gives_is_not_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    """psycopg's keyword wins over the URL's value and libpq's variable: only the settings neither gives are passed."""
    settings = {"connect_timeout": 10, "keepalives_idle": 30}
    monkeypatch.delenv("PGCONNECT_TIMEOUT", raising=False)
    monkeypatch.delenv("PGSERVICE", raising=False)
    assert unless_given("postgresql://tg@db/tiergate", settings) == settings
    assert unless_given("postgresql://tg@db/tiergate?connect_timeout=3", settings) == {"keepalives_idle": 30}
    assert unless_given("postgresql://tg@db/tiergate?keepalives_idle=5", settings) == {"connect_timeout": 10}
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "4")
    assert unless_given("postgresql://tg@db/tiergate", settings) == {"keepalives_idle": 30}


def test_a_connection_setting_the_urls_service_gives_is_the_one_passed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A ``?service=`` (pg_service.conf) was not looked into: its ``connect_timeout`` was overridden by the
    default, and psycopg, which reads no service file, would not count it even when not overridden."""
    user, system = tmp_path / "user.conf", tmp_path / "etc"
    user.write_text(
        "# team\n[other]\nconnect_timeout=9\n\n[team]\nhost=db\nconnect_timeout=3\nconnect_timeout=8\n[x]\n"
    )
    system.mkdir()
    (system / "pg_service.conf").write_text("[ops]\n  keepalives_idle=5\n")
    monkeypatch.setenv("PGSERVICEFILE", str(user))
    monkeypatch.setenv("PGSYSCONFDIR", str(system))
    monkeypatch.delenv("PGSERVICE", raising=False)
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "4")  # libpq reads the service before the variables
    settings = {"connect_timeout": 10, "keepalives_idle": 30}
    assert unless_given("postgresql://tg@db/x?service=team", settings) == {
        "connect_timeout": "3",
        "keepalives_idle": 30,
    }
    assert unless_given("postgresql://tg@db/x?service=team&connect_timeout=2", settings) == {"keepalives_idle": 30}
    assert unless_given("postgresql://tg@db/x?service=ops", settings) == {"keepalives_idle": "5"}  # the system file
    assert unless_given("postgresql://tg@db/x?service=nowhere", settings) == {"keepalives_idle": 30}
    monkeypatch.setenv("PGSERVICE", "team")
    assert unless_given("postgresql://tg@db/x", settings) == {"connect_timeout": "3", "keepalives_idle": 30}
