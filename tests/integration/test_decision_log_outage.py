"""The PostgreSQL decision log through an outage: a real server stopped and started again in the test.

Rows observed while the server is down are kept (at most ``max_pending``, the oldest dropped beyond it)
and written once it answers again; a gateway started before its database writes its rows once the
database is up. The module runs a PostgreSQL of its own on a loopback port (``tests/engines.py``), so
stopping it disturbs no other module's tests; each test gets a fresh database on it and leaves it running.
The writer's retry delays are made short through its constructor.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import default_routes
from tests.engines import PostgresServer, _pg_bin, _stop, _wait_port
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Text
from tests.fakes.server import ThreadedServer
from tests.integration.test_decision_log import log_samples
from tests.unit.telemetry.test_decisions import OPUS, record
from tiergate.api.app import create_app
from tiergate.api.feedback import decision_log_lifespan, feedback
from tiergate.api.gateway import Gateway
from tiergate.config.problems import ConfigError
from tiergate.errors import LogUnavailable
from tiergate.learned.scorer import LearnedPool
from tiergate.runtime import Extensions, Rules
from tiergate.telemetry.decisions import _COLUMNS, DecisionLogError, _Observed, _row
from tiergate.telemetry.postgres import PostgresDecisionLog

FAST = {"retry_min": 0.05, "retry_max": 0.2}


class RestartablePostgres(PostgresServer):
    """``halt()`` the server (fast shutdown, as a restart does) and ``resume()`` it on the same data and port."""

    def halt(self) -> None:
        assert self.proc is not None
        _stop(self.proc, signal.SIGINT)

    def resume(self) -> None:
        owner = self._as_owner()
        settings = ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        where = ["-D", str(self.folder / "data"), "-p", str(self.port), "-h", "127.0.0.1", "-k", str(self.folder)]
        self.proc = subprocess.Popen(
            [_pg_bin("postgres"), *where, *settings],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            **owner,
        )
        _wait_port(self.port, self.proc, "postgres")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@pytest.fixture(scope="module")
def _server() -> Iterator[RestartablePostgres]:
    pg = RestartablePostgres()
    pg.start()
    yield pg
    pg.stop()


@pytest.fixture
def server(_server: RestartablePostgres) -> Iterator[RestartablePostgres]:
    """The module's server (one initdb for all), running again after each test that stops it."""
    if not _server.running:
        _server.resume()
    yield _server
    if not _server.running:
        _server.resume()


def wait_for(check: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g}s")
        time.sleep(0.02)
    return value


def ids(url: str) -> list[str]:
    """The logged decision ids, or [] while the server is away or the table not made yet."""
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            return [r[0] for r in conn.execute("SELECT decision_id FROM decisions ORDER BY decision_id")]
    except (psycopg.OperationalError, psycopg.errors.UndefinedTable):
        return []


def lines(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "tiergate.decisions" and text in r.getMessage()]


def test_rows_observed_while_postgres_is_down_are_written_when_it_is_back(
    server: RestartablePostgres, caplog: pytest.LogCaptureFixture
) -> None:
    url = server.database()
    dlog = PostgresDecisionLog.open(url, max_rows=None, **FAST)  # type: ignore[arg-type]
    try:
        for i in range(5):
            dlog.observe(record(f"dec_before_{i:02}"))  # type: ignore[arg-type]
        dlog.flush()
        server.halt()
        for i in range(30):
            dlog.observe(record(f"dec_during_{i:02}"))  # type: ignore[arg-type]
        wait_for(lambda: dlog.unreachable, "the writer notices the outage")
        with pytest.raises(LogUnavailable):  # feedback and flush answer at once, they do not wait for the server
            dlog.flush()
        time.sleep(0.5)  # several retries meet the stopped server
        server.resume()
        wait_for(lambda: len(ids(url)) == 35, "the rows kept through the outage arrive")
        for i in range(5):
            dlog.observe(record(f"dec_after_{i:02}"))  # type: ignore[arg-type]
        dlog.flush()
    finally:
        dlog.close()
    logged = ids(url)
    assert len(logged) == 40
    assert logged == sorted(
        [f"dec_before_{i:02}" for i in range(5)]
        + [f"dec_during_{i:02}" for i in range(30)]
        + [f"dec_after_{i:02}" for i in range(5)]
    )
    assert dlog.dropped == 0 and not dlog.unreachable
    # one line when the outage starts, one when writing resumes: no line (and no traceback) per batch
    assert len(lines(caplog, "cannot be written (")) == 1
    [back] = lines(caplog, "is written again")
    assert "30 row(s) kept through the outage, 0 dropped" in back
    assert not [r for r in caplog.records if r.exc_info]


def test_an_outage_keeps_the_newest_max_pending_rows(
    server: RestartablePostgres, caplog: pytest.LogCaptureFixture
) -> None:
    url = server.database()
    dlog = PostgresDecisionLog.open(url, max_rows=None, max_pending=10, **FAST)  # type: ignore[arg-type]
    try:
        server.halt()
        dlog.observe(record("dec_00"))  # type: ignore[arg-type]
        wait_for(lambda: dlog.unreachable, "the writer notices the outage")
        for i in range(1, 25):
            dlog.observe(record(f"dec_{i:02}"))  # type: ignore[arg-type]
            time.sleep(0.005)  # the writer takes each off the queue: it sheds the oldest, not the newest
        wait_for(lambda: dlog.dropped == 15, "the writer sheds the oldest")
        assert (dlog.health()["status"], dlog.pending) == ("down", 10)  # a row shed no longer waits
        server.resume()
        wait_for(lambda: not dlog.unreachable and ids(url), "writing resumes")
        dlog.flush()
    finally:
        dlog.close()
    assert ids(url) == [f"dec_{i:02}" for i in range(15, 25)]
    assert dlog.dropped == 15
    assert dlog.health() == {
        "status": "ok",
        "where": url.replace("tiergate@", "***@"),  # the user name too: what redact_url shows
        "reason": None,
        "down_since": None,
        "pending": 0,
        "dropped": 15,
        "outages": 1,
    }
    [back] = lines(caplog, "is written again")
    assert "10 row(s) kept through the outage, 15 dropped" in back


def test_a_log_opened_before_postgres_is_up_connects_and_migrates_when_it_is(
    server: RestartablePostgres, caplog: pytest.LogCaptureFixture
) -> None:
    url = server.database()
    server.halt()
    with pytest.raises(DecisionLogError):  # without connect_later (tiergate stats, tests): an error, as before
        PostgresDecisionLog.open(url)
    dlog = PostgresDecisionLog.open(url, connect_later=True, **FAST)  # type: ignore[arg-type]
    try:
        assert dlog.unreachable
        for i in range(3):
            dlog.observe(record(f"dec_{i}"))  # type: ignore[arg-type]
        with pytest.raises(LogUnavailable):
            dlog.add_feedback("dec_0", 5)
        server.resume()
        wait_for(lambda: not dlog.unreachable, "the writer connects")
        assert dlog.add_feedback("dec_0", 5)
    finally:
        dlog.close()
    assert ids(url) == ["dec_0", "dec_1", "dec_2"]
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT decision_id, rating FROM feedback").fetchall() == [("dec_0", 5)]
    [back] = lines(caplog, "is written again")
    assert "3 row(s) kept through the outage" in back


def test_closing_while_postgres_is_down_says_how_many_rows_are_not_written(
    closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    dlog = PostgresDecisionLog.open(
        f"postgresql://tiergate:hunter2@127.0.0.1:{closed_port}/db",
        connect_later=True,
        retry_min=30.0,  # close must not wait for the next retry
    )
    for i in range(4):
        dlog.observe(record(f"dec_{i}"))  # type: ignore[arg-type]
    started = time.monotonic()
    dlog.close()
    assert time.monotonic() - started < 5
    [line] = lines(caplog, "closing while")
    assert line.endswith("4 row(s) not written")
    assert not any("hunter2" in r.getMessage() for r in caplog.records)


def test_closing_while_postgres_is_down_with_no_row_waiting_is_no_error(
    closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """An ERROR line saying "0 row(s) not written" sent an operator looking for lost rows there were none of."""
    dlog = PostgresDecisionLog.open(
        f"postgresql://tiergate:hunter2@127.0.0.1:{closed_port}/db", connect_later=True, retry_min=30.0
    )
    dlog.close()
    [line] = [r for r in caplog.records if "closing while" in r.getMessage()]
    assert (line.levelname, line.getMessage()) == (
        "WARNING",
        f"decision log postgresql://***@127.0.0.1:{closed_port}/db: closing while it cannot be written; no row was "
        "waiting",
    )


def test_a_password_with_an_unencoded_at_sign_stays_out_of_the_writers_and_the_consoles_lines(
    closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """libpq reads the host from the last part of the password (``Tail99@127.0.0.1``) and quotes it in its
    complaint: every line that shows a connection error shows that part as ``***``."""
    url = f"postgresql://tiergate:hunter2@TopSecretTail99@127.0.0.1:{closed_port}/db"
    dlog = PostgresDecisionLog.open(url, connect_later=True, retry_min=30.0)
    dlog.observe(record("dec_0"))  # type: ignore[arg-type]
    dlog.close()
    with pytest.raises(LogUnavailable):
        asyncio.run(dlog.queries().window(0.0, 1.0, 60.0))
    # the resolver's own words differ between hosts (no DNS: "Temporary failure in name resolution")
    shown = [
        re.sub(r"\[Errno -?\d+\] [^);]*", "[Errno -2] Name or service not known", r.getMessage())
        for r in caplog.records
    ]
    assert shown == [
        f"decision log postgresql://***@127.0.0.1:{closed_port}/db cannot be written (OperationalError: failed to "
        "resolve host '***': [Errno -2] Name or service not known); keeping up to 100000 row(s) and retrying "
        "every 30s to 30s",
        f"decision log postgresql://***@127.0.0.1:{closed_port}/db: closing while it cannot be written; 1 row(s) "
        "not written",
        "console: the decision log cannot be read: OperationalError: failed to resolve host '***': [Errno -2] Name "
        "or service not known",
    ]
    assert not [r.getMessage() for r in caplog.records if "TopSecretTail99" in r.getMessage()]


def test_a_row_postgresql_refuses_is_dropped_alone(server: RestartablePostgres) -> None:
    url = server.database()
    dlog = PostgresDecisionLog.open(url, max_rows=None, linger=0.2)
    try:
        dlog.observe(record("dec_a"))  # type: ignore[arg-type]
        bad = list(_row(0.0, record("dec_bad"), OPUS.price))  # type: ignore[arg-type]
        bad[_COLUMNS.index("ts")] = "not a number"  # a DataError: no retry will make it right
        dlog._queue.put(_Observed(tuple(bad)))
        dlog.observe(record("dec_b"))  # type: ignore[arg-type]
        dlog.flush()
    finally:
        dlog.close()
    assert ids(url) == ["dec_a", "dec_b"]
    assert dlog.dropped == 1 and not dlog.unreachable


@pytest.mark.parametrize("url", ["postgresql://tiergate@127.0.0.1:notaport/db", "postgresql://h/db?bogus=1"])
def test_a_malformed_url_is_an_error_at_once_even_when_connecting_later(url: str) -> None:
    with pytest.raises(DecisionLogError):
        PostgresDecisionLog.open(url, connect_later=True)


@pytest.mark.parametrize(
    ("written", "why"),
    [
        ("postgresql://tg:pw-123456@127.0.0.1:notaport/db", "a port is not a port number (1 to 65535)"),
        ("postgresql://127.0.0.1/db?bogus=1", "libpq cannot read it as a URL"),
    ],
)
def test_a_malformed_url_is_refused_with_the_rule_file_not_found_at_run_time(
    gateway_for: Any, upstream_env: dict[str, str], tmp_path: Any, written: str, why: str
) -> None:
    """Such a URL passed the rule file's checks; the gateway then served without its log (and budgets without
    their spend) until restarted with a readable one. It is the rule file's error now, at its line."""
    config = tmp_path / "routes.yaml"
    config.write_text(default_routes(decision_log=f"{{url: '{written}'}}"))
    with pytest.raises(ConfigError) as caught:
        gateway_for(config, upstream_env)
    [problem] = caught.value.problems
    line = next(n for n, text in enumerate(config.read_text().split("\n"), 1) if written in text)
    assert (problem.file, problem.line) == (str(config), line)
    assert f"cannot be read: {why}" in problem.message and "pw-123456" not in problem.message


def test_a_gateway_started_before_postgres_writes_its_rows_once_it_is_up(
    server: RestartablePostgres, upstream_env: dict[str, str], fake_ollama: FakeOllama, tmp_path: Any
) -> None:
    url = server.database()
    server.halt()  # the usual compose start: the gateway is up before its database
    config = tmp_path / "routes.yaml"
    config.write_text(default_routes(decision_log=f"{{url: '{url}'}}"))
    gateway = Gateway(Rules.load(config, upstream_env, Extensions(learned=LearnedPool().build)))
    app = create_app(gateway, lifespans=[decision_log_lifespan(gateway, **FAST)])
    if not any(route.path == "/v1/feedback" for route in app.routes):
        app.register(feedback)
    http = ThreadedServer(app)
    base = http.start()
    try:

        def chat(text: str) -> str:
            fake_ollama.replies.append(Text("ok", chunks=1))
            body = {"model": "local", "messages": [{"role": "user", "content": text}]}
            r = httpx.post(base + "/v1/chat/completions", json=body, timeout=30)
            assert r.status_code == 200, r.text
            return str(r.headers["x-tiergate-decision-id"])

        served = [chat(f"hi {i}") for i in range(3)]
        early = httpx.post(base + "/v1/feedback", json={"decision_id": served[0], "rating": 5}, timeout=30)
        assert early.status_code == 503 and early.json()["error"]["code"] == "decision_log_unavailable"
        server.resume()
        wait_for(lambda: len(ids(url)) == 3, "the rows served before the database was up arrive")
        served.append(chat("after"))
        rated = httpx.post(base + "/v1/feedback", json={"decision_id": served[-1], "rating": 4}, timeout=30)
        assert rated.status_code == 200, rated.text
    finally:
        http.stop()
    assert ids(url) == sorted(served)


def test_health_and_metrics_say_the_decision_log_is_down_and_back(
    server: RestartablePostgres, upstream_env: dict[str, str], fake_ollama: FakeOllama, tmp_path: Any
) -> None:
    """While its database could not be written, only the log lines said so: /health read as if all were well
    and /metrics had no series for it. Neither /health's status nor /ready changes: the gateway serves."""
    url = server.database().replace("tiergate@", "tiergate:hunter2-pw@")  # trust auth: the password is unused
    shown = url.replace("tiergate:hunter2-pw@", "***@")
    port = url.split(":")[3].split("/")[0]
    server.halt()
    config = tmp_path / "routes.yaml"
    config.write_text(default_routes(decision_log=f"{{url: '{url}'}}"))
    gateway = Gateway(Rules.load(config, upstream_env, Extensions(learned=LearnedPool().build)))
    app = create_app(gateway, lifespans=[decision_log_lifespan(gateway, **FAST)])
    http = ThreadedServer(app)
    base = http.start()
    try:
        for i in range(3):
            fake_ollama.replies.append(Text("ok", chunks=1))
            body = {"model": "local", "messages": [{"role": "user", "content": f"hi {i}"}]}
            assert httpx.post(base + "/v1/chat/completions", json=body, timeout=30).status_code == 200
        started = time.time()
        health = httpx.get(base + "/health").json()
        down = health["decision_log"]
        refused = (
            f'OperationalError: connection failed: connection to server at "127.0.0.1", port {port} failed: '
            "Connection refused"
        )
        assert down == {
            "status": "down",
            "where": shown,
            "reason": refused,
            "down_since": down["down_since"],
            "pending": 3,
            "dropped": 0,
            "outages": 1,
        }
        assert started - 30 < down["down_since"] < started
        assert health["status"] == "ok"
        assert httpx.get(base + "/ready").status_code == 200  # the log is no target: it does not make it unready
        assert log_samples(base) == {
            "tiergate_decision_log_up": 0.0,
            "tiergate_decision_log_pending_rows": 3.0,
            "tiergate_decision_log_dropped_rows_total": 0.0,
            "tiergate_decision_log_outages_total": 1.0,
        }
        status = httpx.get(base + "/console/api/status").json()["decision_log"]
        assert status == {"on": True, **down}

        server.resume()
        wait_for(lambda: len(ids(url)) == 3, "the rows kept through the outage arrive")
        back = wait_for(
            lambda: (h := httpx.get(base + "/health").json()["decision_log"])["pending"] == 0 and h, "pending is 0"
        )
        assert back == {
            "status": "ok",
            "where": shown,
            "reason": None,
            "down_since": None,
            "pending": 0,
            "dropped": 0,
            "outages": 1,
        }
        assert log_samples(base) == {
            "tiergate_decision_log_up": 1.0,
            "tiergate_decision_log_pending_rows": 0.0,
            "tiergate_decision_log_dropped_rows_total": 0.0,
            "tiergate_decision_log_outages_total": 1.0,
        }
        everything = httpx.get(base + "/health").text + httpx.get(base + "/metrics").text
        assert "hunter2" not in everything
    finally:
        http.stop()
