"""``tiergate train``: rows from labelled files and from rated traffic, a head fitted and written, cut-offs set."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest

from tiergate.cli import main
from tiergate.config.loader import load_file
from tiergate.config.model import Bands
from tiergate.errors import OperatorError
from tiergate.evals.dataset import parse_dataset
from tiergate.learned.head import Head
from tiergate.learned.scorer import Cutoffs
from tiergate.learned.train import Row, route_with, rows_from_log, with_cutoffs
from tiergate.telemetry.decisions import migrate
from tiergate.telemetry.postgres import migrate as postgres_migrate

ROUTES = """
backends:
  ollama: {kind: ollama, base_url: "http://127.0.0.1:1"}
  anthropic: {kind: anthropic, base_url: "http://127.0.0.1:1"}
tiers:
  local: {targets: [{backend: ollama, model: small}]}
  sonnet: {targets: [{backend: anthropic, model: mid, price: {input: 3, output: 15}}]}
  opus: {targets: [{backend: anthropic, model: big, price: {input: 15, output: 75}}]}
routing:
  learned:
    head: head.json
    cutoffs: {sonnet: 0.5, opus: 0.5}
  rules:
    - {name: tools_present, when: {feature: tools_present, eq: true}, then: {band: CLAUDE}}
  scorers:
    - {name: learned, feature: learned.p_sonnet, transform: {kind: ramp, from: 0, to: 1}}
  bands: {local: 0.5, claude: 0.55}
  escalation: {when: {feature: learned.tier, eq: opus}}
"""
LOCAL = [
    "rename foo to bar",
    "add a docstring to this function",
    "format this json",
    "fix the typo in readme",
    "sort these imports",
    "convert this loop to a list comprehension",
    "add type hints to def f(x)",
    "what does this regex do",
    "write a dockerfile for a flask app",
    "rename the variable q to queue",
]
SONNET = [
    "add pagination to the orders endpoint and its tests",
    "migrate these tests from junit 4 to junit 5",
    "debug this stack trace from the payment service",
    "design the api for a todo service with auth",
    "the query plan shows a seq scan, speed this query up",
    "split this module into three files with tests",
    "add retries with backoff to the http client and test it",
    "port this service from express to fastify",
    "find why this react component re-renders on every keystroke",
    "add caching to the user lookup",
]
OPUS = [
    "prove this lock-free queue is linearizable",
    "find the race in this seqlock under the c++ memory model",
    "why does this raft follower lose committed entries",
    "security audit of our jwt and session handling",
    "is this double-checked locking safe with relaxed atomics",
    "design zero-downtime resharding of our ledger",
    "prove the amortized bound of this data structure",
    "find the ABA problem in this hazard pointer code",
    "explain the write skew under snapshot isolation here",
    "threat model our oauth callback flow",
]


def write_set(path: Path) -> None:
    rows = [
        {"id": f"{gold}-{i}", "gold": gold, "why": "-", "request": {"messages": [{"role": "user", "content": text}]}}
        for gold, texts in (("local", LOCAL), ("sonnet", SONNET), ("opus", OPUS))
        for i, text in enumerate(texts)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_train_fits_reports_and_writes_only_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(textwrap.dedent(ROUTES))
    data = tmp_path / "labelled.jsonl"
    write_set(data)
    args = ["train", "--config", str(routes), "--data", str(data), "--encoders", "static", "--test", str(data)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "rows: 30 (labelled.jsonl: 30)" in out and "cross-validated on the first data file (5 folds)" in out
    assert "held out:" in out and "exact accuracy" in out and "nothing written" in out
    assert not (tmp_path / "head.json").exists() and routes.read_text() == textwrap.dedent(ROUTES)

    assert main([*args, "--write"]) == 0
    held_out = capsys.readouterr().out.split("classifier off\n\n", 1)[1].split("\n\nwrote ", 1)[0]
    head = Head.load(tmp_path / "head.json")
    assert [kind for kind, _ in head.encoders] == ["static"] and head.file.trained.cases == 30
    assert head.file.trained.sources == {"labelled.jsonl": 1.0}
    written = routes.read_text()
    assert "cutoffs: {sonnet: 0.5, opus: 0.5}" not in written and "bands: {local: 0.5, claude: 0.55}" not in written
    # the training set itself is easy: the written head routes it through the graph well
    assert main(["eval", "--config", str(routes), str(data)]) == 0
    report = capsys.readouterr().out
    assert report.split("classifier off\n\n", 1)[1].startswith(held_out + "\n")  # train's report is eval's
    exact = float(report.split("exact accuracy")[1].split("%")[0])
    assert exact >= 80.0, report


def rated_log(db: Path) -> None:
    """A SQLite log with rated, retried, unrated and ask-less decisions."""
    conn = sqlite3.connect(db, isolation_level=None)
    migrate(conn)

    def row(
        decision_id: str,
        ts: float,
        tier: str,
        phase: str,
        session: str,
        ask: str | None,
        side: bool = False,
        status: int = 200,
        asked: str | None = None,
        signals: Any = None,
    ) -> None:
        # as the gateway logs them: a request kept out of its session (explicit, or a side request) carries the
        # conversation's key as `conversation`, and the log's session column holds it either way; an explicit
        # one's signal names the tier asked for, which a budget or an open breaker may have moved it from
        kept_out = phase == "explicit" or side
        decision: dict[str, Any] = {
            "session": None if kept_out else session,
            "conversation": session if kept_out else None,
        }
        if phase == "explicit":
            signal = {"name": "explicit", "kind": "explicit", "value": "model", "action": f"tier={asked or tier}"}
            decision["signals"] = [{"name": "budget", "kind": "budget", "action": "spill"}, signal]
            if signals is not None:
                decision["signals"] = signals
        conn.execute(
            "INSERT INTO decisions (decision_id, ts, client, endpoint, tier, decided_tier, model, band, phase, score, "
            "confidence, stream, status, attempts, attempts_json, attempt_count, latency_ms, fallback, disconnected, "
            "rules_version, decision_json, session, ask) VALUES (?, ?, 'c', 'chat', ?, ?, 'm', 'LOCAL', ?, 0, 1, 0, "
            "?, '', '[]', 1, 1.0, 0, 0, 'v', ?, ?, ?)",
            (decision_id, ts, tier, tier, phase, status, json.dumps(decision), session, ask),
        )

    row("bad-local", 1, "local", "heuristic", "s1", "why does this deadlock")
    row("good-sonnet", 2, "sonnet", "heuristic", "s2", "design the api")
    row("retried", 3, "local", "heuristic", "s3", "is this lock-free stack safe")
    # the chat's title, asked by its client (a `sticky: false` rule keeps it local and out of the session)
    row("retried-title", 3.5, "local", "heuristic", "s3", "Write a short title for the chat", side=True)
    row("retry", 4, "opus", "explicit", "s3", "is this lock-free stack safe")
    row("unrated", 5, "local", "heuristic", "s4", "rename x")
    row("no-ask", 6, "local", "heuristic", "s5", None)
    row("corrected", 7, "local", "heuristic", "s6", "add a docstring")
    # another chat that opened alike ("hi": the same session): rated enough, then an old one, then an opus call
    row("hi-rated", 8, "local", "heuristic", "s7", "what keyword defines a function")
    row("hi-old", 9, "local", "heuristic", "s8", "rename this")
    row("hi-opus", 9 + 3601, "opus", "explicit", "s8", "design a consensus protocol")
    row("hi-opus-2", 20, "opus", "explicit", "s7", "design a consensus protocol")
    row("owner-vs-other", 21, "local", "heuristic", "s9", "fix the typo")
    row("admin-vs-owner", 22, "local", "heuristic", "s10", "make the cache thread-safe")
    row("other-only", 23, "local", "heuristic", "s11", "sort the imports")
    # an explicit opus retry the opus budget spilled to sonnet: the person asked for opus
    row("spilled", 24, "local", "heuristic", "s12", "prove the queue linearizable")
    row("spilled-retry", 25, "sonnet", "explicit", "s12", "prove the queue linearizable", asked="opus")
    # a routed request that failed (no target up), sent again naming its own tier, which an open breaker moved
    row("failed", 26, "local", "heuristic", "s13", "sort this list", status=503)
    row("failed-retry", 27, "sonnet", "explicit", "s13", "sort this list", status=503, asked="local")
    # a routed request that failed, retried on a higher tier: the failure, not the tier, was why
    row("failed-2", 28, "local", "heuristic", "s14", "add type hints", status=503)
    row("failed-2-retry", 29, "opus", "explicit", "s14", "add type hints")
    # a request the client left mid-stream, rated low: the rating is of no answer
    row("left", 30, "local", "heuristic", "s15", "explain this regex", status=499)
    # an answered turn, then one that failed and was sent again to opus: the retry is of the failure, and labels
    # neither turn
    row("turn-1", 31, "local", "heuristic", "s16", "rename foo")
    row("turn-2", 32, "local", "heuristic", "s16", "now add a docstring", status=503)
    row("turn-2-retry", 33, "opus", "explicit", "s16", "now add a docstring")
    # an explicit retry whose signals a foreign log wrote as no list (or a list of no objects): the logged tier
    row("odd", 34, "local", "heuristic", "s17", "sort the imports")
    row("odd-retry", 35, "sonnet", "explicit", "s17", "sort the imports", signals={"kind": "explicit"})
    row("odd-2", 36, "local", "heuristic", "s18", "add a test")
    row("odd-2-retry", 37, "sonnet", "explicit", "s18", "add a test", signals=["explicit", 3])
    ratings = (
        ("bad-local", 1, None),
        ("good-sonnet", 5, None),
        ("no-ask", 1, None),
        ("corrected", 1, None),
        ("corrected", 5, None),
        ("hi-rated", 5, None),
        # another client's rating ('mallory') is kept but is no label; the admin console's wins over the owner's
        ("owner-vs-other", 5, "c"),
        ("owner-vs-other", 1, "mallory"),
        ("admin-vs-owner", 1, "console"),
        ("admin-vs-owner", 5, "c"),
        ("admin-vs-owner", 5, "mallory"),
        ("other-only", 1, "mallory"),
        ("left", 1, None),
        ("failed", 1, None),
    )
    for decision_id, rating, client in ratings:
        conn.execute(
            "INSERT INTO feedback (decision_id, ts, client, rating) VALUES (?, 0, ?, ?)", (decision_id, client, rating)
        )
    conn.close()


LABELS = [
    ("admin-vs-owner", 1, 0.5),  # the admin's 1, though its client rated 5 later
    ("bad-local", 1, 0.5),  # a low rating on local: sonnet was needed
    ("corrected", 0, 0.5),  # rated 1, then corrected to 5: the latest rating counts, as the console shows it
    ("good-sonnet", 1, 0.5),  # a high rating: the tier that answered was enough
    ("hi-rated", 0, 0.5),  # rated enough: an explicit opus call in its session later does not overrule it
    ("odd", 1, 0.5),  # its retry's signals are no list: the logged tier, sonnet
    ("odd-2", 1, 0.5),  # its retry's signals hold no object: the logged tier
    ("owner-vs-other", 0, 0.5),  # its client's 5; another client's later 1 is not its rating
    ("retried", 2, 0.5),  # sent again explicitly to opus
    ("spilled", 2, 0.5),  # sent again to opus, which the budget spilled to sonnet: opus was asked for
    # retried-title: a side request of the retried conversation (its title): the retry is not about it, no label
    # hi-old: its session's explicit opus call came over an hour later, and it was not rated: no label
    # other-only: rated by another client only: no label
    # failed, failed-2, left: no answer was given (503, 499): neither a rating nor a retry says what tier it needed
    # turn-1, turn-2: the retry followed a failure
]


def test_rated_and_retried_traffic_becomes_labels(tmp_path: Path) -> None:
    rated_log(tmp_path / "log.db")
    logged = rows_from_log(tmp_path / "log.db", 0.5, ("local", "sonnet", "opus"))
    assert sorted((r.id, r.gold, r.weight) for r in logged.rows) == LABELS
    assert {r.source for r in logged.rows} == {"log.db"} and logged.source == "log.db"
    assert logged.no_ask == 1  # the rated decision whose ask was not stored


def test_a_team_log_in_postgres_gives_the_same_labels(tmp_path: Path, postgres_url: str) -> None:
    rated_log(tmp_path / "log.db")
    with psycopg.connect(postgres_url, autocommit=True) as pg, sqlite3.connect(tmp_path / "log.db") as lite:
        postgres_migrate(pg)
        for table in ("decisions", "feedback"):
            cursor = lite.execute(f"SELECT * FROM {table}")
            columns = [c[0] for c in cursor.description]
            with pg.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for values in cursor:
                    copy.write_row(values)
    url = postgres_url.replace("tiergate@", "tiergate:hunter2@")  # trust auth ignores it; the source must not show it
    logged = rows_from_log(url, 0.5, ("local", "sonnet", "opus"))
    assert sorted((r.id, r.gold, r.weight) for r in logged.rows) == LABELS
    assert {r.source for r in logged.rows} == {postgres_url.replace("tiergate@", "***@")}


def test_an_unreadable_log_is_an_operator_error_naming_it(tmp_path: Path, closed_port: int) -> None:
    with pytest.raises(OperatorError, match=r"cannot read the decision log .*missing\.db \(--log\)"):
        rows_from_log(tmp_path / "missing.db", 1.0, ("local", "sonnet"))
    with pytest.raises(OperatorError) as raised:
        rows_from_log(f"postgresql://u:hunter2@127.0.0.1:{closed_port}/db", 1.0, ("local", "sonnet"))
    assert str(raised.value).startswith(f"cannot read the decision log postgresql://***@127.0.0.1:{closed_port}/db")
    assert "hunter2" not in str(raised.value)
    with pytest.raises(OperatorError) as raised:  # psycopg reads it; tiergate reads it as a file's name
        rows_from_log(f"postgresql+psycopg://u:hunter2@127.0.0.1:{closed_port}/db", 1.0, ("local", "sonnet"))
    shown = f"postgresql+psycopg://***@127.0.0.1:{closed_port}/db"
    assert str(raised.value) == f"cannot read the decision log {shown} (--log): a SQLite file or a postgresql:// URL"


def test_a_libpq_string_given_as_the_log_is_told_what_a_log_is() -> None:
    """``--log 'host=db password=...'`` was opened as a SQLite file: "unable to open database file"."""
    with pytest.raises(OperatorError) as raised:
        rows_from_log("host=127.0.0.1 dbname=tg password=hunter2pw", 1.0, ("local", "sonnet"))
    assert str(raised.value) == (
        "cannot read the decision log host=127.0.0.1 dbname=tg password=*** (--log): a SQLite file or a postgresql://"
        " URL"
    )


def test_concat_members_reproduce_the_joined_regression() -> None:
    """fit_members(combine="concat") splits one fit over both encoders' vectors into per-member slices
    whose logits add up to that fit's; "mean" fits each encoder alone."""
    import numpy as np

    from tiergate.learned.fit import fit_ordinal, predict_logistic
    from tiergate.learned.head import FORMAT, HeadFile, Training
    from tiergate.learned.head import Head as LoadedHead
    from tiergate.learned.train import fit_members

    class Named:
        def __init__(self, id: str) -> None:
            self.id = id

    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(60, 3)), rng.normal(size=(60, 2))
    gold = (a[:, 0] + b[:, 1] > 0).astype(np.int64) + (a[:, 0] + b[:, 1] > 1).astype(np.int64)
    w = np.ones(60)
    members = fit_members(["static", "transformer"], [Named("s"), Named("t")], [a, b], gold, w, 0.3, "concat")  # type: ignore[list-item]
    assert [len(m.sonnet.weights) for m in members] == [3, 2] and members[1].sonnet.bias == 0.0
    sonnet, opus = fit_ordinal(np.hstack([a, b]), gold, w, l2=0.3)
    head = LoadedHead(HeadFile(FORMAT, "ask", members, Training("x", 60), combine="concat"), "v", "p")
    for i in (0, 7, 42):
        p_sonnet, p_opus = head.predict([a[i], b[i]])
        joined = np.hstack([a[i], b[i]])[None, :]
        assert p_opus == pytest.approx(predict_logistic(opus, joined)[0])
        assert p_sonnet == pytest.approx(max(predict_logistic(sonnet, joined)[0], p_opus))
    alone = fit_members(["static", "transformer"], [Named("s"), Named("t")], [a, b], gold, w, 0.3, "mean")  # type: ignore[list-item]
    assert alone[1].sonnet.bias != 0.0 and alone[0].sonnet.weights == pytest.approx(
        list(fit_ordinal(a, gold, w, l2=0.3)[0][:-1])
    )


def test_group_folds_leave_each_group_out_whole() -> None:
    """With groups, each inner row's probabilities come from a head fitted on every other group's rows
    (and the rows outside the inner set), never on a row of its own group."""
    import numpy as np

    from tiergate.learned.fit import fit_ordinal, predict_logistic
    from tiergate.learned.train import cross_validated

    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 3))
    gold = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5).astype(np.int64)
    w = np.ones(40)
    groups = ["a"] * 12 + ["b"] * 10 + ["c"] * 13 + ["aux"] * 5
    inner = np.arange(35)  # the last five rows (another --data file) are always trained on
    probs = cross_validated([x], gold, w, inner, 0.3, 5, "concat", groups=groups)
    for name, rows in (("a", range(0, 12)), ("b", range(12, 22)), ("c", range(22, 35))):
        train = np.array([i for i in range(40) if groups[i] != name])
        sonnet, opus = fit_ordinal(x[train], gold[train], w[train], l2=0.3)
        held = np.array(list(rows))
        p_opus = predict_logistic(opus, x[held])
        assert probs[held, 1] == pytest.approx(p_opus)
        assert probs[held, 0] == pytest.approx(np.maximum(predict_logistic(sonnet, x[held]), p_opus))
    shuffled = cross_validated([x], gold, w, inner, 0.3, 5, "concat", seed=0)
    assert not np.allclose(shuffled, probs)


def test_train_folds_by_group_reports_the_groups_and_needs_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(textwrap.dedent(ROUTES))
    data = tmp_path / "labelled.jsonl"
    write_set(data)
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    for i, row in enumerate(rows):
        row["tags"] = ["first-round" if i % 3 else "second-round", "py"]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = ["train", "--config", str(routes), "--data", str(data), "--encoders", "static", "--folds-by", "group"]
    assert main([*args, "--write"]) == 0
    assert "cross-validated on the first data file (2 groups, each left out in turn)" in capsys.readouterr().out
    cv = Head.load(tmp_path / "head.json").file.trained.cv
    assert (cv["folds"], cv["by"]) == (2, "group")

    for row in rows:
        row["tags"] = ["one-round"]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(args) == 2
    assert "--folds-by group needs at least two groups (a case's first tag)" in capsys.readouterr().err


def test_write_sets_cutoffs_written_as_a_block(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    routes = tmp_path / "routes.yaml"
    block = "    cutoffs:   # set by tiergate train\n      sonnet: 0.5\n      opus: 0.5\n"
    routes.write_text(textwrap.dedent(ROUTES).replace("    cutoffs: {sonnet: 0.5, opus: 0.5}\n", block))
    data = tmp_path / "labelled.jsonl"
    write_set(data)
    assert main(["train", "--config", str(routes), "--data", str(data), "--encoders", "static", "--write"]) == 0
    written = routes.read_text()
    assert "sonnet: 0.5\n" not in written and written.count("cutoffs: {sonnet: ") == 1
    assert main(["validate", str(routes)]) == 0 and Head.load(tmp_path / "head.json").file.trained.cases == 30


def test_write_changes_nothing_when_the_rule_file_cannot_take_the_cutoffs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    routes = tmp_path / "routes.yaml"
    original = textwrap.dedent(ROUTES).replace("  bands: {local: 0.5, claude: 0.55}\n", "")
    routes.write_text(original)
    data = tmp_path / "labelled.jsonl"
    write_set(data)
    assert main(["train", "--config", str(routes), "--data", str(data), "--encoders", "static", "--write"]) == 2
    assert "tiergate train: nothing written: cannot find `bands:` in the rule file" in capsys.readouterr().err
    assert routes.read_text() == original and not (tmp_path / "head.json").exists()


@pytest.mark.parametrize(("flag", "value"), [("--sufficiency", "1.5"), ("--log-weight", "-5"), ("--ambiguous", "-0.1")])
def test_out_of_range_settings_are_refused(flag: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["train", flag, value])
    assert exited.value.code == 2
    assert f"argument {flag}: must be" in capsys.readouterr().err


def test_the_summary_counts_rated_decisions_without_an_ask(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(textwrap.dedent(ROUTES))
    data = tmp_path / "labelled.jsonl"
    write_set(data)
    rated_log(tmp_path / "log.db")
    log = str(tmp_path / "log.db")
    args = ["train", "--config", str(routes), "--data", str(data), "--encoders", "static", "--log", log]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "rows: 40 (labelled.jsonl: 30, log.db: 10)" in out
    assert "log.db: 1 labelled decision(s) skipped, no ask stored (set server.decision_log.store_ask: true)" in out


def train_reporting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, **report: float
) -> tuple[Path, Path, str]:
    """``tiergate train --write`` whose cross-validated report reads ``report``: (routes, data, stderr)."""
    import tiergate.learned.train as training

    fitted = training.train

    def reporting(*args: Any, **kwargs: Any) -> Any:
        result = fitted(*args, **kwargs)
        result.report = dataclasses.replace(result.report, **report)
        result.cv.update({name: round(value, 4) for name, value in report.items()})  # as the head file has them
        return result

    monkeypatch.setattr(training, "train", reporting)
    routes = tmp_path / "routes.yaml"
    routes.write_text(textwrap.dedent(ROUTES))
    data = tmp_path / "labelled.jsonl"
    write_set(data)
    assert main(["train", "--config", str(routes), "--data", str(data), "--encoders", "static", "--write"]) == 1
    return routes, data, capsys.readouterr().err


def test_cutoffs_that_miss_the_limits_are_not_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """When no cut-offs met severe 0% and --sufficiency, the most exact were written anyway, exit 0."""
    routes, data, err = train_reporting(tmp_path, capsys, monkeypatch, severe_under=0.034, sufficiency=0.845)
    assert f"no cut-offs meet the limits on cross-validated {data}: severe under-routing 3.4% (must be 0%), " in err
    assert "sufficiency 84.5% (--sufficiency 0.97)" in err and "Nothing written" in err
    assert routes.read_text() == textwrap.dedent(ROUTES) and not (tmp_path / "head.json").exists()


def test_a_sufficiency_just_under_the_limit_is_short_of_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The limits were compared on the figures rounded to 4 digits for the head file: 0.96996 read as 0.97
    and the cut-offs were written though they missed --sufficiency 0.97."""
    routes, _, err = train_reporting(tmp_path, capsys, monkeypatch, severe_under=0.0, sufficiency=0.96996)
    assert "sufficiency 96.996% (--sufficiency 0.97)" in err and "severe under-routing" not in err
    assert routes.read_text() == textwrap.dedent(ROUTES) and not (tmp_path / "head.json").exists()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (":-1", "a weight is a number at least 0, got -1"),
        (":0", "its weight must be above 0"),
    ],
)
def test_a_first_files_weight_must_be_a_number_above_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str, message: str
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(textwrap.dedent(ROUTES))
    data = tmp_path / "labelled.jsonl"
    write_set(data)
    assert main(["train", "--config", str(routes), "--data", f"{data}{spec}", "--encoders", "static"]) == 2
    assert message in capsys.readouterr().err


def test_a_weight_in_exponent_form_is_a_weight_not_a_file_name() -> None:
    from tiergate.cli import _weighted

    assert _weighted("more.jsonl:1e-1") == (Path("more.jsonl"), 0.1)
    assert _weighted("more.jsonl") == (Path("more.jsonl"), 1.0)


def test_sets_train_cannot_read_are_refused_before_it_fits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A scored --test set failed with `tuple.index(x): x not in tuple` after training; a gold that is no
    tier dropped a --data file's cases without a word; two files of one name were one source."""
    routes = tmp_path / "routes.yaml"
    routes.write_text(textwrap.dedent(ROUTES))
    data = tmp_path / "labelled.jsonl"
    write_set(data)
    scored = tmp_path / "scored.jsonl"
    scored.write_text(
        json.dumps({"messages": [{"role": "user", "content": "hi"}], "strong_score": 1, "weak_score": 0}) + "\n"
    )
    base = ["train", "--config", str(routes), "--data", str(data), "--encoders", "static"]
    assert main([*base, "--test", str(scored)]) == 2
    assert f"--test {scored} is a scored set; train reports on a labelled one" in capsys.readouterr().err
    capital = tmp_path / "capital.jsonl"
    capital.write_text(data.read_text().replace('"gold": "opus"', '"gold": "Opus"'))
    assert main([*base, "--test", str(capital)]) == 2
    assert "case 'opus-0' has gold 'Opus', which is not a tier of the config" in capsys.readouterr().err
    assert main([*base, "--data", f"{capital}:0.5"]) == 2
    assert f"{capital}: case 'opus-0' has gold 'Opus', not one of local, sonnet, opus" in capsys.readouterr().err
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "labelled.jsonl").write_text(data.read_text())
    assert main([*base, "--data", f"{tmp_path / 'team' / 'labelled.jsonl'}:0.5"]) == 2
    assert "two --data files are named labelled.jsonl" in capsys.readouterr().err


def test_write_goes_through_a_linked_rule_file_and_makes_the_heads_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A linked routes.yaml was replaced by a plain file while the head went beside the file it named; a
    head in a folder not made yet was a FileNotFoundError traceback."""
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "routes.yaml").write_text(textwrap.dedent(ROUTES).replace("head: head.json", "head: heads/new.json"))
    link = tmp_path / "routes.yaml"
    link.symlink_to(conf / "routes.yaml")
    data = tmp_path / "labelled.jsonl"
    write_set(data)
    assert main(["train", "--config", str(link), "--data", str(data), "--encoders", "static", "--write"]) == 0
    assert link.is_symlink() and "cutoffs: {sonnet: 0.5, opus: 0.5}" not in (conf / "routes.yaml").read_text()
    assert Head.load(conf / "heads" / "new.json").file.trained.cases == 30


@pytest.mark.parametrize(
    ("golds", "found"),
    [
        ({"local": 10}, "local 10, sonnet 0, opus 0"),  # one class: a head that reads everything as local
        ({"opus": 1}, "local 0, sonnet 0, opus 1"),  # one case: each fold's head fitted on nothing
        ({"local": 10, "sonnet": 10, "opus": 4}, "local 10, sonnet 10, opus 4"),
    ],
)
def test_a_first_file_short_of_a_tier_is_refused_and_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], golds: dict[str, int], found: str
) -> None:
    """A first file of one tier gave a cross-validated 100% and wrote cut-offs that send every request to it;
    one of a single case fitted each fold's head on no rows and wrote that too."""
    routes = tmp_path / "routes.yaml"
    routes.write_text(textwrap.dedent(ROUTES))
    data = tmp_path / "labelled.jsonl"
    write_set(data)
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    kept = [r for r in rows if int(r["id"].split("-")[1]) < golds.get(r["gold"], 0)]
    data.write_text("".join(json.dumps(r) + "\n" for r in kept))
    assert main(["train", "--config", str(routes), "--data", str(data), "--encoders", "static", "--write"]) == 2
    assert capsys.readouterr().err == (
        f"tiergate train: the first --data file ({data}) is fitted and cross-validated on: every tier needs at "
        f"least 5 labelled cases in it; it has {found}. Label more cases of the tiers short of it\n"
    )
    assert routes.read_text() == textwrap.dedent(ROUTES) and not (tmp_path / "head.json").exists()


def test_shuffled_folds_refuse_fewer_cases_than_folds() -> None:
    import numpy as np

    from tiergate.learned.train import held_out_folds

    with pytest.raises(ValueError, match=r"^3 case\(s\) cannot be cut into 5 folds: fewer cases than folds$"):
        held_out_folds(np.arange(3), 5)
    assert [len(fold) for fold in held_out_folds(np.arange(5), 5)] == [1, 1, 1, 1, 1]


def test_a_log_from_before_stored_asks_counts_its_rated_decisions_as_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A log at schema step 1 (no session or ask column) stopped train with `no such column: session`; its
    rated decisions are counted as skipped, with what to do."""
    from tiergate.telemetry.decisions import MIGRATIONS

    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    conn.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
    for i, (tier, rating) in enumerate((("local", 1), ("sonnet", 5), ("local", 3))):
        conn.execute(
            "INSERT INTO decisions (decision_id, ts, client, endpoint, tier, decided_tier, model, band, phase, score, "
            "confidence, stream, status, attempts, attempts_json, attempt_count, latency_ms, fallback, disconnected, "
            "rules_version, decision_json) VALUES (?, ?, 'c', 'chat', ?, ?, 'm', 'LOCAL', 'heuristic', 0, 1, 0, "
            "200, '', '[]', 1, 1.0, 0, 0, 'v', '{}')",
            (f"d{i}", i, tier, tier),
        )
        conn.execute("INSERT INTO feedback (decision_id, ts, client, rating) VALUES (?, 0, 'c', ?)", (f"d{i}", rating))
    conn.close()
    logged = rows_from_log(tmp_path / "old.db", 0.5, ("local", "sonnet", "opus"))
    assert (logged.rows, logged.no_ask, logged.asks_stored) == ([], 2, False)

    routes = tmp_path / "routes.yaml"
    routes.write_text(textwrap.dedent(ROUTES))
    data = tmp_path / "labelled.jsonl"
    write_set(data)
    log = str(tmp_path / "old.db")
    assert main(["train", "--config", str(routes), "--data", str(data), "--encoders", "static", "--log", log]) == 0
    out = capsys.readouterr().out
    assert "rows: 30 (labelled.jsonl: 30, old.db: 0)\n" in out
    assert (
        "\nold.db: 2 labelled decision(s) skipped, no ask stored (the log predates stored asks: start the gateway on "
        "it once to add the column, with server.decision_log.store_ask: true)\n"
    ) in out


def test_write_never_leaves_a_new_head_with_the_old_cutoffs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The head was replaced before routes.yaml was written, outside the error handling: a rule file that could
    not be replaced (here: renaming over it fails, as over a bind-mounted file) left the new head with the old
    cut-offs and a traceback. Now the head goes first, routes.yaml last, and the old head is put back."""
    import os

    routes = tmp_path / "routes.yaml"
    routes.write_text(textwrap.dedent(ROUTES))
    data = tmp_path / "labelled.jsonl"
    write_set(data)
    args = ["train", "--config", str(routes), "--data", str(data), "--encoders", "static", "--write"]
    assert main(args) == 0
    capsys.readouterr()
    head, rules = (tmp_path / "head.json").read_bytes(), routes.read_text()
    renamed: list[str] = []
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        renamed.append(Path(dst).name)
        if Path(dst) == routes:
            raise OSError(16, "Device or resource busy", str(dst))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    assert main([*args, "--l2", "3"]) == 2  # another head
    assert capsys.readouterr().err == (
        f"tiergate train: nothing written: [Errno 16] Device or resource busy: '{routes}'\n"
    )
    assert renamed == ["head.json", "routes.yaml", "head.json"]  # the new head, the rule file, the old head back
    assert (tmp_path / "head.json").read_bytes() == head and routes.read_text() == rules
    assert sorted(p.name for p in tmp_path.iterdir()) == ["head.json", "labelled.jsonl", "routes.yaml"]


def test_write_stages_under_names_of_its_own(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """routes.yaml went through one fixed temporary name: a second run's file of that name (here a folder
    standing in for it) made the write fail with a traceback after the head was replaced."""
    routes = tmp_path / "routes.yaml"
    routes.write_text(textwrap.dedent(ROUTES))
    (tmp_path / ".routes.yaml.tiergate-train").mkdir()
    data = tmp_path / "labelled.jsonl"
    write_set(data)
    assert main(["train", "--config", str(routes), "--data", str(data), "--encoders", "static", "--write"]) == 0
    assert "cutoffs: {sonnet: 0.5, opus: 0.5}" not in routes.read_text()
    assert Head.load(tmp_path / "head.json").file.trained.cases == 30


def test_write_says_so_when_the_old_head_cannot_be_put_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one state --write cannot undo (routes.yaml not replaced, and renaming the old head back fails too)
    is said as it is, without a traceback."""
    import os

    routes = tmp_path / "routes.yaml"
    routes.write_text(textwrap.dedent(ROUTES))
    data = tmp_path / "labelled.jsonl"
    write_set(data)
    args = ["train", "--config", str(routes), "--data", str(data), "--encoders", "static", "--write"]
    assert main(args) == 0
    capsys.readouterr()
    head = tmp_path / "head.json"
    renamed: list[str] = []
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        renamed.append(Path(dst).name)
        if Path(dst) == routes:
            raise OSError(16, "Device or resource busy", str(dst))
        if len(renamed) > 1:
            raise OSError(5, "Input/output error", str(dst))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    assert main([*args, "--l2", "3"]) == 2
    assert capsys.readouterr().err == (
        f"tiergate train: {routes} could not be replaced ([Errno 16] Device or resource busy: '{routes}'), and the "
        f"old head could not be put back ([Errno 5] Input/output error: '{head}'): {head} is the new head with the "
        "old cut-offs; run tiergate train --write again, or restore the head\n"
    )
    assert renamed == ["head.json", "routes.yaml", "head.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["head.json", "labelled.jsonl", "routes.yaml"]


def test_a_head_that_cannot_be_read_does_not_block_retraining(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """train read the old head for its default encoders and exited 2 'not a head file', while the gateway says
    to retrain such a head. Now it warns and trains with the shipped encoders."""
    routes = tmp_path / "routes.yaml"
    routes.write_text(textwrap.dedent(ROUTES))
    broken = tmp_path / "head.json"
    broken.write_text('{"format": 1, "members": [')
    data = tmp_path / "labelled.jsonl"
    write_set(data)
    assert main(["train", "--config", str(routes), "--data", str(data), "--write"]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"tiergate train: warning: learned head {broken}: not a head file (")
    assert err.endswith(
        "); training with the default encoders (static,transformer,static:prose; --encoders chooses others)\n"
    )
    assert Head.load(broken).inputs == ["static", "transformer", "static:prose"]


def test_with_encoders_chosen_a_head_that_cannot_be_read_is_still_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """train reads the old head only for its default encoders, and says so then; with --encoders it reads none,
    and the rule file's own warning is the one that names the broken head."""
    routes = tmp_path / "routes.yaml"
    routes.write_text(textwrap.dedent(ROUTES))
    broken = tmp_path / "head.json"
    broken.write_text('{"format": 1, "members": [')
    data = tmp_path / "labelled.jsonl"
    write_set(data)
    assert main(["train", "--config", str(routes), "--data", str(data), "--encoders", "static"]) == 0
    [warning] = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warning.startswith(f"{routes}:") and f"warning: learned head {broken}: not a head file (" in warning


def test_the_heads_lone_opus_reading_follows_the_cutoffs_train_writes() -> None:
    """The default rule ``learned_opus`` compared P(>= sonnet) with a number (0.19, the shipped local edge):
    after ``train --write`` moved the sonnet cut-off and the bands to 0.7, an ask the head read as opus with a
    P(>= sonnet) of 0.68 went local, in routing and in train's own search for cut-offs."""
    loaded = load_file(Path(__file__).parents[3] / "routes.yaml")
    graph = with_cutoffs(loaded, Cutoffs(sonnet=0.7, opus=0.19), Bands(local=0.7, claude=0.735))
    ask = "is this hand-over between the two threads safe without a fence?"
    case = parse_dataset(
        json.dumps({"id": "x", "gold": "opus", "why": "", "request": {"messages": [{"role": "user", "content": ask}]}})
    ).cases[0]
    row = Row("x", ask, 2, 1.0, "labelled", case)
    [opus_alone, local] = [
        route_with(graph, [row], np.array([probs], dtype=np.float64))[0] for probs in ((0.68, 0.46), (0.68, 0.1))
    ]
    assert (opus_alone.band, opus_alone.predicted) == ("CLAUDE", "opus")
    assert (local.band, local.predicted) == ("LOCAL", "local")
