"""The PostgreSQL decision log when its writes hang rather than fail: a real server, the real app.

Another session's table lock held on ``decisions`` (``LOCK TABLE``, as an ``ALTER TABLE`` or a ``VACUUM
FULL`` takes) made the writer's INSERT wait with nothing raised: /health read ``ok`` and ``/metrics``
``tiergate_decision_log_up 1`` while the rows piled up. Now a write waits for a lock ``lock_wait`` seconds
and fails into the outage path (rows kept and retried), and a write (or a try to connect) that has not
finished after ``stall_after`` seconds reads as down while it lasts. A server that takes the connection and
never answers no longer holds the gateway's start-up, and a ``connect_timeout`` in the URL is kept. The
bounds are made short through the lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import default_routes
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Text
from tests.fakes.server import ThreadedServer
from tests.integration.test_decision_log import log_samples
from tests.integration.test_decision_log_outage import ids, wait_for
from tiergate.api.app import create_app
from tiergate.api.feedback import decision_log_lifespan
from tiergate.api.gateway import Gateway
from tiergate.learned.scorer import LearnedPool
from tiergate.runtime import Extensions, Rules
from tiergate.telemetry.decisions import DecisionLog
from tiergate.telemetry.postgres import WRITER_SETTINGS, PostgresDecisionLog, _Session, connect
from tiergate.telemetry.spend import _postgres_rows
from tiergate.telemetry.sql_queries import PsycopgRunner

FAST = {"retry_min": 0.05, "retry_max": 0.2}


def serve(url: str, tmp_path: Path, upstream_env: dict[str, str], **bounds: float) -> ThreadedServer:
    config = tmp_path / "routes.yaml"
    config.write_text(default_routes(decision_log=f"{{url: '{url}'}}"))
    gateway = Gateway(Rules.load(config, upstream_env, Extensions(learned=LearnedPool().build)))
    return ThreadedServer(create_app(gateway, lifespans=[decision_log_lifespan(gateway, **FAST, **bounds)]))


def chatter(base: str, fake_ollama: FakeOllama) -> Callable[[str], str]:
    def chat(text: str) -> str:
        fake_ollama.replies.append(Text("ok", chunks=1))
        body = {"model": "local", "messages": [{"role": "user", "content": text}]}
        r = httpx.post(base + "/v1/chat/completions", json=body, timeout=30)
        assert r.status_code == 200, r.text
        return str(r.headers["x-tiergate-decision-id"])

    return chat


def decision_log(base: str) -> dict[str, Any]:
    return dict(httpx.get(base + "/health", timeout=30).json()["decision_log"])


def locked(url: str) -> psycopg.Connection[Any]:
    """Another session holding the decisions table, as a schema change or VACUUM FULL does."""
    holder = psycopg.connect(url)
    holder.execute("LOCK TABLE decisions IN ACCESS EXCLUSIVE MODE")
    return holder


def test_a_write_held_by_a_table_lock_fails_after_lock_wait_and_its_rows_are_written_after_it(
    postgres_url: str, upstream_env: dict[str, str], fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    http = serve(postgres_url, tmp_path, upstream_env, lock_wait=0.3, stall_after=60.0)
    base = http.start()
    shown = postgres_url.replace("tiergate@", "***@")
    try:
        chat = chatter(base, fake_ollama)
        served = [chat("before")]
        wait_for(lambda: ids(postgres_url) == served, "the first row is written")
        holder = locked(postgres_url)
        try:
            started = time.time()
            served += [chat(f"held {i}") for i in range(3)]
            down = wait_for(lambda: (h := decision_log(base))["status"] == "down" and h, "the log reads as down")
            assert time.time() - started < 5  # lock_wait, the writer's linger and a retry: not the 15 s waited for
            assert down == {
                "status": "down",
                "where": shown,
                "reason": "LockNotAvailable: canceling statement due to lock timeout",
                "down_since": down["down_since"],
                "pending": 3,
                "dropped": 0,
                "outages": 1,
            }
            assert started < down["down_since"] < time.time()
            assert log_samples(base)["tiergate_decision_log_up"] == 0.0
        finally:
            holder.rollback()
            holder.close()
        back = wait_for(lambda: (h := decision_log(base))["pending"] == 0 and h, "the rows kept are written")
        assert back == {
            "status": "ok",
            "where": shown,
            "reason": None,
            "down_since": None,
            "pending": 0,
            "dropped": 0,
            "outages": 1,
        }
        assert log_samples(base)["tiergate_decision_log_up"] == 1.0
    finally:
        http.stop()
    assert ids(postgres_url) == sorted(served)


def test_a_write_that_does_not_finish_reads_as_down_after_stall_after_and_ok_once_it_does(
    postgres_url: str, upstream_env: dict[str, str], fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    """What no bound on the write cuts (here a lock waited for longer than the test runs; a server that takes
    the statement and never answers the same) still shows: the write has not finished, the rows wait."""
    http = serve(postgres_url, tmp_path, upstream_env, lock_wait=60.0, stall_after=0.5)
    base = http.start()
    try:
        chat = chatter(base, fake_ollama)
        served = [chat("before")]
        wait_for(lambda: ids(postgres_url) == served, "the first row is written")
        holder = locked(postgres_url)
        try:
            started = time.time()
            served += [chat(f"held {i}") for i in range(2)]
            down = wait_for(lambda: (h := decision_log(base))["status"] == "down" and h, "the log reads as down")
            assert re.fullmatch(r"a write has not finished for \d+s; rows are kept meanwhile", down["reason"])
            assert down == {
                "status": "down",
                "where": postgres_url.replace("tiergate@", "***@"),
                "reason": down["reason"],
                "down_since": down["down_since"],  # when the write started
                "pending": 2,
                "dropped": 0,
                "outages": 0,  # nothing failed
            }
            assert started < down["down_since"] < time.time() - 0.5
            assert log_samples(base)["tiergate_decision_log_up"] == 0.0
        finally:
            holder.rollback()
            holder.close()
        back = wait_for(lambda: (h := decision_log(base))["pending"] == 0 and h, "the held write finishes")
        assert (back["status"], back["reason"], back["down_since"], back["outages"]) == ("ok", None, None, 0)
    finally:
        http.stop()
    assert ids(postgres_url) == sorted(served)


@pytest.fixture
def silent_server() -> Iterator[tuple[int, Callable[[], None]]]:
    """A loopback port that takes connections and never answers (a PostgreSQL host behind a broken network
    path, a stopped server's port held by something else), and what stops it: the connections it took are
    dropped and new ones refused."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    taken: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                taken.append(listener.accept()[0])
            except OSError:
                return

    def stop() -> None:
        with contextlib.suppress(OSError):  # wakes the accept() under way (closing alone leaves it listening)
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        for conn in taken:
            conn.close()

    threading.Thread(target=accept, daemon=True).start()
    yield int(listener.getsockname()[1]), stop
    stop()


def test_the_gateway_serves_at_once_while_its_postgresql_never_answers(
    silent_server: tuple[int, Callable[[], None]],
    upstream_env: dict[str, str],
    fake_ollama: FakeOllama,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Start-up waited for the writer's first try to connect, which lasts the whole ``connect_timeout``
    against such a server (10 s by default: with the budgets' read, past a container's start-up probe)."""
    port, stop = silent_server
    monkeypatch.setattr(DecisionLog, "CONNECT_WAIT", 0.2)
    url = f"postgresql://tiergate@127.0.0.1:{port}/db?connect_timeout=6"
    http = serve(url, tmp_path, upstream_env, stall_after=0.5)
    started = time.monotonic()
    base = http.start()
    try:
        assert time.monotonic() - started < 3  # not the 6 s the first try waits
        chatter(base, fake_ollama)("hi")
        down = wait_for(lambda: (h := decision_log(base))["status"] == "down" and h, "the log reads as down")
        assert re.fullmatch(r"connecting has not finished for \d+s; rows are kept meanwhile", down["reason"])
        assert (down["pending"], down["outages"]) == (1, 0)
    finally:
        stop()  # the writer's tries fail at once: closing the log does not wait for their connect_timeout
        http.stop()


def spend_read(url: str) -> object:
    return _postgres_rows(url, (0.0, 1.0))


def console_read(url: str) -> object:
    return asyncio.run(PsycopgRunner(url).run([("SELECT 1", ())]))


@pytest.mark.parametrize("read", [connect, spend_read, console_read])
def test_a_connect_timeout_the_url_gives_is_the_one_kept(
    read: Callable[[str], object], silent_server: tuple[int, Callable[[], None]]
) -> None:
    """The writer, the budgets' read and the console's passed ``connect_timeout=10`` beside the URL, and
    psycopg's keyword wins over the URL's value: the operator's ``?connect_timeout=2`` waited 10 s."""
    port, _ = silent_server
    started = time.monotonic()
    with contextlib.suppress(psycopg.OperationalError):  # the budgets' read says None: it reads again later
        read(f"postgresql://tiergate@127.0.0.1:{port}/db?connect_timeout=2")
    assert 1.5 < time.monotonic() - started < 6


@pytest.mark.parametrize("read", [connect, spend_read, console_read])
def test_a_connect_timeout_the_urls_service_gives_is_the_one_kept(
    read: Callable[[str], object],
    silent_server: tuple[int, Callable[[], None]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A ``?service=`` whose pg_service.conf says ``connect_timeout=2`` waited the 10 s default."""
    port, _ = silent_server
    (tmp_path / "pg_service.conf").write_text(f"[team]\nhost=127.0.0.1\nport={port}\nconnect_timeout=2\n")
    monkeypatch.setenv("PGSERVICEFILE", str(tmp_path / "pg_service.conf"))
    started = time.monotonic()
    with contextlib.suppress(psycopg.OperationalError):
        read("postgresql://tiergate@/db?service=team")
    assert 1.5 < time.monotonic() - started < 6


def test_the_writers_connection_has_keepalives_unless_its_url_says_otherwise(postgres_url: str) -> None:
    """A server whose host went away silently left the writer waiting for an answer with nothing to end it."""
    session = _Session(postgres_url, lock_wait=0.25)
    try:
        shown = session.conn.info.get_parameters()
        given = {k: shown.get(k) for k in WRITER_SETTINGS}
        assert given == {
            "connect_timeout": "10",
            "keepalives": "1",
            "keepalives_idle": "30",
            "keepalives_interval": "10",
            "keepalives_count": "3",
            "tcp_user_timeout": "60000",
        }
    finally:
        session.close()
    session = _Session(postgres_url + "?keepalives_idle=5&connect_timeout=4", lock_wait=10.0)
    try:
        shown = session.conn.info.get_parameters()
        assert (shown["keepalives_idle"], shown["connect_timeout"], shown["keepalives_count"]) == ("5", "4", "3")
    finally:
        session.close()


class Watched(PostgresDecisionLog):
    """The real writer, saying what ``lock_timeout`` its write transaction had, and its connection after it."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.seen: list[tuple[str, str]] = []

    def _feedback(self, conn: Any, *args: Any) -> bool:
        self.seen.append(("in the write", conn.conn.execute("SHOW lock_timeout").fetchone()[0]))
        return super()._feedback(conn, *args)

    def _commit(self, conn: Any) -> None:
        super()._commit(conn)
        shown = conn.conn.execute("SELECT setting, source FROM pg_settings WHERE name = 'lock_timeout'").fetchone()
        self.seen.append(("after it", f"{shown[0]} ({shown[1]})"))


def test_a_writer_that_may_not_read_pg_settings_bounds_each_write(postgres_url: str) -> None:
    """A site that revokes pg_settings from its roles lost the decision log: asking whether the operator set a
    lock_timeout was refused, and the log would not open."""
    base, database = postgres_url.rsplit("/", 1)
    role = f"hardened_{database}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT ALL ON DATABASE {database} TO {role}")
        conn.execute(f"GRANT ALL ON SCHEMA public TO {role}")
        conn.execute("REVOKE SELECT ON pg_settings FROM PUBLIC")
    at = base.split("//", 1)[1]
    url = f"postgresql://{role}@{at.split('@', 1)[-1]}/{database}"

    class Hardened(Watched):
        def _commit(self, conn: Any) -> None:  # the role may not read pg_settings: the write's own SHOW only
            PostgresDecisionLog._commit(self, conn)

    dlog = Hardened.open(url, lock_wait=0.25)
    try:
        assert dlog.submit_feedback("dec_none", 5).result(timeout=10) is False
        assert dlog.seen == [("in the write", "250ms")]
    finally:
        dlog.close()


def alter_database(url: str, setting: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {url.rsplit('/', 1)[1]} SET {setting}")


@pytest.mark.parametrize(
    ("suffix", "setting", "seen"),
    [
        ("", None, [("in the write", "250ms"), ("after it", "0 (default)")]),
        ("?options=-c%20lock_timeout%3D2000", None, [("in the write", "2s"), ("after it", "2000 (client)")]),
        ("", "lock_timeout = '3s'", [("in the write", "3s"), ("after it", "3000 (database)")]),
    ],
    ids=["lock_wait", "the URL's options", "ALTER DATABASE"],
)
def test_each_write_has_lock_wait_as_its_lock_timeout_unless_the_operator_set_one_and_the_session_keeps_none(
    postgres_url: str, suffix: str, setting: str | None, seen: list[tuple[str, str]]
) -> None:
    """The writer ran a session-level ``SET lock_timeout``: behind PgBouncer in transaction pooling it stayed on
    a server connection other clients got next and was missing from the writer's own later transactions, and
    it replaced a ``lock_timeout`` the operator had set (the URL's ``options``, ``ALTER ROLE``/``DATABASE``)."""
    if setting:
        alter_database(postgres_url, setting)
    dlog = Watched.open(postgres_url + suffix, lock_wait=0.25)
    try:
        assert dlog.submit_feedback("dec_none", 5).result(timeout=10) is False
        assert dlog.seen[-2:] == seen  # after retention's first run, at start
    finally:
        dlog.close()
