"""Spend per tier and client: calendar periods in a time zone, the in-process ledger, and rebuilding this
month's spend from a real decision log file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tests.doubles import Clock
from tests.helpers import MINIMAL, graph
from tiergate.dispatch.dispatcher import Attempt
from tiergate.engine.decision import RoutingDecision
from tiergate.telemetry.decisions import DecisionLog
from tiergate.telemetry.record import RequestRecord
from tiergate.telemetry.spend import Calendar, LocalSpend, SpendObserver, restore, restore_later
from tiergate.wire import Usage

PRICED = MINIMAL.replace("model: mid-model,", "model: mid-model, price: {input: 3, output: 15},")
TIERS = graph(base=PRICED).chains.tiers
LOCAL, SONNET = TIERS["local"][0], TIERS["sonnet"][0]
#: 2025-03-30 10:00 UTC: the day Europe/Paris moves to summer time (a 23-hour day).
SUNDAY = dt.datetime(2025, 3, 30, 10, 0, tzinfo=dt.UTC).timestamp()


def record(target: Any, usage: Usage | None, client: str = "ci", decision_id: str = "dec_1") -> RequestRecord:
    decision = RoutingDecision(
        decision_id=decision_id,
        tier=target.tier,
        provider="anthropic",
        model=target.model,
        band="CLAUDE",
        phase="heuristic",
        score=0.5,
        confidence=0.9,
        reasons=[],
        signals=[],
        targets=[],
        cache_hit=False,
        rules_version="v1",
        elapsed_us=1,
    )
    return RequestRecord(decision, target, [Attempt(target, "ok", 10.0)], 200, 10.0, client, False, "chat", usage=usage)


def test_periods_follow_the_time_zone() -> None:
    utc, paris = Calendar("UTC"), Calendar("Europe/Paris")
    late = dt.datetime(2025, 3, 31, 23, 30, tzinfo=dt.UTC).timestamp()  # already April 1st in Paris
    assert (utc.label("daily", late), utc.label("monthly", late)) == ("2025-03-31", "2025-03")
    assert (paris.label("daily", late), paris.label("monthly", late)) == ("2025-04-01", "2025-04")
    assert utc.end("daily", SUNDAY) - utc.start("daily", SUNDAY) == 86_400
    assert paris.end("daily", SUNDAY) - paris.start("daily", SUNDAY) == 23 * 3600  # the clocks went forward
    assert utc.end("monthly", SUNDAY) == dt.datetime(2025, 4, 1, tzinfo=dt.UTC).timestamp()
    assert utc.keys(SUNDAY, "sonnet", "ci") == [
        ("tier", "sonnet", "daily", "2025-03-30"),
        ("tier", "sonnet", "monthly", "2025-03"),
        ("client", "ci", "daily", "2025-03-30"),
        ("client", "ci", "monthly", "2025-03"),
    ]


def test_the_ledger_sums_and_forgets_old_periods() -> None:
    ledger = LocalSpend(keep_labels=2)
    key = ("tier", "opus", "daily", "2025-03-30")
    ledger.add([key], 1.25)
    ledger.add([key], 0.5)
    assert ledger.get(key) == 1.75
    ledger.add([("tier", "opus", "daily", "2025-03-31")], 1.0)
    ledger.add([("tier", "opus", "daily", "2025-04-01")], 1.0)
    assert ledger.get(key) == 0.0  # two newer days exist: the 30th is gone
    assert ledger.get(("tier", "opus", "daily", "2025-04-01")) == 1.0


def test_the_observer_prices_usage_at_the_serving_target() -> None:
    ledger, calendar = LocalSpend(), Calendar()
    observer = SpendObserver(ledger, lambda: calendar, Clock(SUNDAY))
    observer.observe(record(SONNET, Usage.of(1_000_000, 100_000)))  # $3 + $1.50
    observer.observe(record(LOCAL, Usage.of(5_000, 500)))  # free
    observer.observe(record(SONNET, None))  # no usage reported: nothing to add
    assert ledger.get(("tier", "sonnet", "daily", "2025-03-30")) == 4.5
    assert ledger.get(("client", "ci", "monthly", "2025-03")) == 4.5
    assert ledger.get(("tier", "local", "daily", "2025-03-30")) == 0.0


def test_spend_is_rebuilt_from_the_decision_log(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    clock = Clock(SUNDAY - 40 * 86_400)  # last month: not counted
    dlog = DecisionLog.open(path, clock=clock, linger=0)
    dlog.observe(record(SONNET, Usage.of(1_000_000, 0), decision_id="old"))
    clock.now = SUNDAY - 86_400  # yesterday: this month, not today
    dlog.observe(record(SONNET, Usage.of(1_000_000, 0), decision_id="yesterday"))
    clock.now = SUNDAY
    dlog.observe(record(SONNET, Usage.of(0, 100_000), client="ci", decision_id="today-ci"))
    dlog.observe(record(SONNET, Usage.of(0, 100_000), client="web", decision_id="today-web"))
    dlog.observe(record(LOCAL, Usage.of(9, 9), decision_id="free"))
    dlog.close()

    ledger, calendar = LocalSpend(), Calendar()
    assert restore(ledger, path, calendar, SUNDAY + 60) == 3
    assert ledger.get(("tier", "sonnet", "monthly", "2025-03")) == 3.0 + 1.5 + 1.5
    assert ledger.get(("tier", "sonnet", "daily", "2025-03-30")) == 3.0
    assert ledger.get(("client", "ci", "daily", "2025-03-30")) == 1.5
    assert ledger.get(("client", "web", "monthly", "2025-03")) == 1.5
    assert restore(LocalSpend(), tmp_path / "missing.db", calendar, SUNDAY) == 0


def test_an_unreadable_log_counts_nothing(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    path.write_bytes(b"not a database at all" * 100)
    assert restore(LocalSpend(), path, Calendar(), SUNDAY) == 0


def test_a_failed_attempts_count_is_spent_at_its_own_tier_live_and_after_a_restart(tmp_path: Path) -> None:
    """An attempt that failed after its 200 with tokens counted (``Attempt.charged``) is spent at its own
    target and tier, beside the answer; a restart rebuilds the same sums from the decision log."""
    tiers = graph(base=PRICED.replace("model: big-model,", "model: big-model, price: {input: 15, output: 75},"))
    sonnet, opus = tiers.chains.tiers["sonnet"][0], tiers.chains.tiers["opus"][0]
    broken = Attempt(opus, "http_529", 5.0, "Overloaded", 529, charged=Usage.of(100_000, 0))  # $1.50 at opus
    refused = Attempt(opus, "http_529", 5.0, "Overloaded", 529)  # no 200: nothing counted
    served = record(sonnet, Usage.of(1_000_000, 0), decision_id="served")  # $3 at sonnet
    served.attempts = [refused, broken, Attempt(sonnet, "ok", 5.0)]
    failed = record(opus, None, client="web", decision_id="failed")  # every target failed: only the attempt
    failed.target, failed.status, failed.attempts = None, 503, [broken]

    path, calendar = tmp_path / "log.db", Calendar()
    live = LocalSpend()
    observer = SpendObserver(live, lambda: calendar, Clock(SUNDAY))
    dlog = DecisionLog.open(path, clock=Clock(SUNDAY), linger=0)
    for finished in (served, failed):
        observer.observe(finished)
        dlog.observe(finished)
    dlog.close()

    assert live.get(("tier", "sonnet", "daily", "2025-03-30")) == 3.0
    assert live.get(("tier", "opus", "daily", "2025-03-30")) == 1.5 + 1.5
    assert live.get(("client", "ci", "daily", "2025-03-30")) == 3.0 + 1.5
    assert live.get(("client", "web", "daily", "2025-03-30")) == 1.5
    restored = LocalSpend()
    assert restore(restored, path, calendar, SUNDAY + 60) == 2
    assert restored.snapshot() == pytest.approx(live.snapshot())


def test_until_leaves_out_the_rows_logged_from_then_on(tmp_path: Path) -> None:
    """A read made after the start (the log's server was away) takes the month up to the start: the rows of
    the requests served since were counted as they ended."""
    path, clock = tmp_path / "log.db", Clock(SUNDAY - 3600)
    dlog = DecisionLog.open(path, clock=clock, linger=0)
    dlog.observe(record(SONNET, Usage.of(1_000_000, 0), decision_id="before"))
    clock.now = SUNDAY
    dlog.observe(record(SONNET, Usage.of(0, 100_000), decision_id="since"))
    dlog.close()

    ledger = LocalSpend()
    assert restore(ledger, path, Calendar(), SUNDAY, until=SUNDAY) == 1
    assert ledger.get(("tier", "sonnet", "monthly", "2025-03")) == 3.0


@pytest.mark.asyncio
async def test_a_later_read_tries_until_the_log_answers_and_adds_to_what_was_counted() -> None:
    key = ("tier", "sonnet", "monthly", "2025-03")
    into = LocalSpend()
    into.add([key], 1.5)  # counted while the log was away
    answers: list[int | None] = [None, None, 2]

    def read(ledger: Any) -> int | None:
        counted = answers.pop(0)
        if counted is not None:
            ledger.add([key], 3.0)
        return counted

    assert await restore_later(into, read, "the log", retry_min=0.0, retry_max=0.0) == 2
    assert (answers, into.get(key)) == ([], 4.5)
