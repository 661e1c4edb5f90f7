"""The PostgreSQL decision log's connections against a server that takes the connection and never answers.

A ``connect_timeout`` the URL gives is the one kept: the writer, the budgets' read and the console's read
passed their own beside it, and psycopg's keyword wins over the URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest

from tiergate.telemetry.postgres import connect
from tiergate.telemetry.spend import _postgres_rows
from tiergate.telemetry.sql_queries import PsycopgRunner


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
