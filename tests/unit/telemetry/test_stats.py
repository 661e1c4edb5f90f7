"""Stats over a handmade decision log: exact shares, costs, percentiles, rates and ratings; and ``tiergate stats``."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.helpers import MINIMAL
from tiergate.cli import main
from tiergate.telemetry.decisions import SCHEMA
from tiergate.telemetry.stats import StatsError, compute, parse_window, render

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


def insert(
    conn: sqlite3.Connection,
    decision_id: str,
    tier: str,
    latency_ms: float,
    *,
    ts: float = T0,
    status: int = 200,
    cost: float | None = 0.0,
    opus_cost: float | None = 0.0,
    fallback: bool = False,
    disconnected: bool = False,
) -> None:
    conn.execute(
        """INSERT INTO decisions (decision_id, ts, client, endpoint, tier, decided_tier, model, band, phase, score,
               confidence, stream, status, attempts, attempts_json, attempt_count, latency_ms, cost_usd,
               opus_cost_usd, fallback, disconnected, rules_version, decision_json)
           VALUES (?, ?, 'alice', 'chat', ?, ?, 'm', 'LOCAL', 'heuristic', 0, 1, 0, ?, '', '[]', 1, ?, ?, ?, ?, ?,
               'v1', '{}')""",
        (decision_id, ts, tier, tier, status, latency_ms, cost, opus_cost, int(fallback), int(disconnected)),
    )


def rate(conn: sqlite3.Connection, decision_id: str, rating: int) -> None:
    conn.execute("INSERT INTO feedback (decision_id, ts, rating) VALUES (?, ?, ?)", (decision_id, T0, rating))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Nine requests in the window, one old one before it."""
    path = tmp_path / "decisions.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(SCHEMA)
        for i, ms in enumerate([100, 200, 300, 400]):
            insert(conn, f"local_{i}", "local", ms, opus_cost=0.01, fallback=i == 0, ts=T0 + i)
        insert(conn, "local_left", "local", 50, status=499, disconnected=True, cost=None, opus_cost=None)
        insert(conn, "sonnet_0", "sonnet", 1000, cost=0.02, opus_cost=0.10, fallback=True)
        insert(conn, "sonnet_1", "sonnet", 2000, cost=0.02, opus_cost=0.10)
        insert(conn, "sonnet_err", "sonnet", 9000, status=503, cost=None, opus_cost=None, ts=T0 + 3600)
        insert(conn, "opus_0", "opus", 5000, cost=0.05, opus_cost=0.05)
        insert(conn, "old", "local", 10, ts=T0 - 10 * 86_400, opus_cost=1.0)
        rate(conn, "local_0", 5)
        rate(conn, "local_1", 4)
        rate(conn, "sonnet_0", 2)
        rate(conn, "old", 1)
    return path


def test_tier_share_cost_latency_fallbacks_errors_and_ratings(db: Path) -> None:
    stats = compute(db, since=T0 - 60)

    assert stats.requests == 9
    assert [(t.tier, t.requests) for t in stats.tiers] == [("local", 5), ("sonnet", 3), ("opus", 1)]
    assert [t.share for t in stats.tiers] == pytest.approx([5 / 9, 3 / 9, 1 / 9])
    local, sonnet, opus = stats.tiers
    # numpy's linear percentiles over successful requests only (not the 499, not the 503)
    assert (local.p50_ms, local.p95_ms) == pytest.approx((250.0, 385.0))
    assert (sonnet.p50_ms, sonnet.p95_ms) == pytest.approx((1500.0, 1950.0))
    assert (opus.p50_ms, opus.p95_ms) == (5000.0, 5000.0)
    assert [t.cost_usd for t in stats.tiers] == pytest.approx([0.0, 0.04, 0.05])
    assert (stats.cost_usd, stats.opus_cost_usd) == pytest.approx((0.09, 0.29))
    assert stats.saving == pytest.approx(1 - 0.09 / 0.29)
    assert (stats.fallbacks, stats.fallback_rate) == (2, pytest.approx(2 / 9))
    assert (stats.errors, stats.error_rate) == (1, pytest.approx(1 / 9))  # a client leaving is not an error
    assert [(t.ratings, t.rating_mean) for t in stats.tiers] == [(2, 4.5), (1, 2.0), (0, None)]
    assert (stats.ratings, stats.rating_mean) == (3, pytest.approx(11 / 3))
    assert (stats.first_ts, stats.last_ts) == (T0, T0 + 3600)


def test_without_a_window_every_row_counts(db: Path) -> None:
    stats = compute(db)
    assert stats.requests == 10 and stats.tiers[0].requests == 6
    assert stats.opus_cost_usd == pytest.approx(1.29)
    assert (stats.tiers[0].ratings, stats.tiers[0].rating_mean) == (3, pytest.approx(10 / 3))


def test_render_prints_one_line_per_tier_and_the_totals(db: Path) -> None:
    text = render(compute(db, since=T0 - 60), "always-opus")
    assert text.splitlines() == [
        f"{db}: 9 requests from 2023-11-14 22:13:20 UTC to 2023-11-14 23:13:20 UTC (since 2023-11-14 22:12:20 UTC)",
        "",
        "tier    requests  share  p50 ms  p95 ms  cost USD  fallbacks  errors  ratings  mean",
        "local          5  55.6%     250     385    0.0000          1       0        2  4.50",
        "sonnet         3  33.3%    1500    1950    0.0400          1       1        1  2.00",
        "opus           1  11.1%    5000    5000    0.0500          0       0        0     -",
        "",
        "cost:      $0.0900 vs $0.2900 always-opus (saving 69.0%)",
        "fallbacks: 22.2% (2 of 9)",
        "errors:    11.1% (1 of 9)",
        "ratings:   3, mean 3.67",
    ]


def test_an_empty_window_says_so(db: Path) -> None:
    assert render(compute(db, since=T0 + 86_400)) == f"{db}: no requests logged since 2023-11-15 22:13:20 UTC\n"


def test_a_missing_or_foreign_file_is_named_and_never_created(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    with pytest.raises(StatsError) as raised:
        compute(missing)
    assert str(raised.value) == (
        f"no decision log at {missing} (see server.decision_log.path in routes.yaml, or its url for PostgreSQL; or"
        " give --db)"
    )
    assert not missing.exists()
    foreign = tmp_path / "other.db"
    sqlite3.connect(foreign).execute("CREATE TABLE notes (body TEXT)").connection.close()  # not ours
    with pytest.raises(StatsError, match=r"cannot read the decision log .*other\.db.*no such table"):
        compute(foreign)


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("24h", 86_400), ("1.5d", 129_600)])
def test_windows(text: str, seconds: float) -> None:
    assert parse_window(text) == seconds


def test_a_bad_window_is_refused() -> None:
    with pytest.raises(ValueError, match="not a time window: '24 hours'"):
        parse_window("24 hours")


def test_the_command_reads_the_log_path_from_the_rule_file(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "routes.yaml"
    config.write_text(MINIMAL + f"server:\n  decision_log: {{path: '{db}'}}\n")
    assert main(["stats", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{db}: 10 requests from ")
    assert "local          6  60.0%" in out


def test_the_command_reports_problems_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "--db", str(tmp_path / "nope.db")]) == 1
    assert "tiergate stats: no decision log at" in capsys.readouterr().err
    assert main(["stats", "--db", str(tmp_path / "nope.db"), "--since", "yesterday"]) == 2
    assert "--since: not a time window" in capsys.readouterr().err


def test_the_reference_is_named_by_the_tier_it_prices(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file without an opus tier was still said to compare with always-opus, at its dearest target's price."""
    no_opus = MINIMAL.replace(
        "  opus: {targets: [{backend: anthropic, model: big-model",
        "  top: {targets: [{backend: anthropic, model: big-model, price: {input: 5, output: 25}",
    )
    no_opus = no_opus.replace("opus: [sonnet]", "top: [sonnet]")
    config = tmp_path / "routes.yaml"
    for rules, label in ((MINIMAL, "always-opus"), (no_opus, "always-top")):
        config.write_text(rules + f"server:\n  decision_log: {{path: '{db}'}}\n")
        assert main(["stats", "--config", str(config)]) == 0
        assert "cost:      $0.0900 vs $1.2900 " + label + " (saving 93.0%)" in capsys.readouterr().out.splitlines()
    assert render(compute(db)).splitlines()[-4] == "cost:      $0.0900 vs $1.2900 at the reference price (saving 93.0%)"


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("postgresql+psycopg://tg:S3cretPgPw@127.0.0.1:5439/tg", "postgresql+psycopg://***@127.0.0.1:5439/tg"),
        ("POSTGRESQL://tg:S3cretPgPw@127.0.0.1:5439/tg", "POSTGRESQL://***@127.0.0.1:5439/tg"),
        ("host=127.0.0.1 user=tg password=S3cretPgPw", "host=127.0.0.1 user=tg password=***"),
    ],
)
def test_a_location_not_taken_for_postgresql_is_named_without_its_password(
    given: str, shown: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Read as a file's name, it was printed whole: ``no decision log at postgresql+psycopg:/tg:S3cretPgPw@...``."""
    assert main(["stats", "--db", given]) == 1
    assert capsys.readouterr().err == (
        f"tiergate stats: no decision log at {shown} (a decision log is a SQLite file or a postgresql:// URL)\n"
    )
