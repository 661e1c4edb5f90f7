"""A request's URL and headers are bounded (tiergate.head_limit): past ``HEAD_LIMIT`` the answer is 431 and
the connection ends, before the rest of the head is read; a head under the limit is served, and each request
on a keep-alive connection is counted anew. A head that does not come whole within ``timeout_keep_alive`` of
the connection's opening (or of the previous response) ends the connection too.

The server is uvicorn on ``server_config``, as ``tiergate serve`` runs it, in front of a tiny app that answers
every request with its path; the client is a raw socket, so the head is exactly what each test writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from tiergate import head_limit, workers
from tiergate.workers import HEAD_LIMIT, server_config

MB = 1024 * 1024
#: Seconds ``/slow`` takes to answer: longer than ``WAIT``, the bound on the wait for a head in these tests.
SLOW = 1.5
WAIT = 1
#: What ``echo_path`` heard of a client that went away while it read a body.
HEARD: list[str] = []


async def echo_path(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = scope["path"].encode()
    if body == b"/slow":
        await asyncio.sleep(SLOW)
    if body == b"/listening":  # as tiergate's handlers do: listens for a disconnect while it answers
        listener = asyncio.ensure_future(receive())
        await asyncio.sleep(SLOW)
        listener.cancel()
    if body in (b"/read", b"/read-late"):  # answers with the length of the body it read
        if body == b"/read-late":
            await asyncio.sleep(SLOW)
        size, message = 0, {"more_body": True}
        while message.get("more_body"):
            message = await receive()
            if message["type"] == "http.disconnect":
                HEARD.append("disconnect")
                return
            size += len(message.get("body", b""))
        body = b"%d" % size
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


@contextlib.contextmanager
def serving(**more: Any) -> Iterator[tuple[str, int]]:
    """``(host, port)`` of uvicorn serving ``echo_path`` with tiergate's settings (and ``more``)."""
    server = uvicorn.Server(server_config(echo_path, "127.0.0.1", 0, "listening", **more))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        yield "127.0.0.1", server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def served() -> Iterator[tuple[str, int]]:
    with serving() as address:
        yield address


def request(target: bytes = b"/health", *headers: bytes, end: bool = True) -> bytes:
    head = b"GET " + target + b" HTTP/1.1\r\nhost: 127.0.0.1\r\n" + b"".join(h + b"\r\n" for h in headers)
    return head + b"\r\n" if end else head


def trickle(sock: socket.socket, data: bytes, piece: int = 8192) -> None:
    """``data`` in pieces, each its own read on the server: a head that arrives a little at a time."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for at in range(0, len(data), piece):
        sock.sendall(data[at : at + piece])
        time.sleep(0.005)


def answer(sock: socket.socket) -> tuple[int, bytes]:
    """Status and body of the next response on ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        got = sock.recv(65536)
        assert got, f"connection closed before a response: {data!r}"
        data += got
    head, _, body = data.partition(b"\r\n\r\n")
    fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
    while len(body) < int(fields[b"content-length"]):
        body += sock.recv(65536)
    return int(head.split(b" ", 2)[1]), body


def refused(address: tuple[str, int], data: bytes) -> None:
    """``data`` is answered 431, and then the connection ends."""
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(data)
        status, body = answer(sock)
        assert (status, body) == (431, b"request header fields too large: the URL and headers are over 65536 bytes\n")
        assert sock.recv(65536) == b"", "the connection ends after the 431"


def healthy(address: tuple[str, int]) -> None:
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(request())
        assert answer(sock) == (200, b"/health")


def test_a_one_megabyte_header_is_refused_and_the_server_serves_on(served: tuple[str, int]) -> None:
    refused(served, request(b"/health", b"x-big: " + b"a" * MB))
    healthy(served)


def test_a_header_that_never_ends_is_refused_before_it_ends(served: tuple[str, int]) -> None:
    """1 MB of one header's value and no line end: the parser would hold it all, waiting for the end."""
    refused(served, request(b"/health", b"x-big: " + b"a" * MB, end=False))
    healthy(served)


def test_many_small_headers_add_up(served: tuple[str, int]) -> None:
    small = [b"x-h%04d: %s" % (i, b"v" * 30) for i in range(2000)]  # 45 bytes each, 88 KiB in all
    refused(served, request(b"/health", *small))
    healthy(served)


def test_a_long_url_is_refused(served: tuple[str, int]) -> None:
    refused(served, request(b"/health?q=" + b"q" * (HEAD_LIMIT + 1)))
    healthy(served)


def test_a_head_just_under_the_limit_is_served(served: tuple[str, int]) -> None:
    """At once, and a little at a time (the parser holds the unfinished header line between reads)."""
    under = request(b"/health", b"x-big: " + b"a" * (HEAD_LIMIT - 1024))
    with socket.create_connection(served, timeout=10) as sock:
        sock.sendall(under)
        assert answer(sock) == (200, b"/health")
        trickle(sock, under)
        assert answer(sock) == (200, b"/health")


def test_each_request_on_a_connection_is_counted_anew(served: tuple[str, int]) -> None:
    big = b"x-big: " + b"a" * (HEAD_LIMIT * 6 // 10)
    with socket.create_connection(served, timeout=10) as sock:
        for path in (b"/one", b"/two", b"/three"):
            trickle(sock, request(path, big))
            assert answer(sock) == (200, path)


@pytest.fixture
def impatient() -> Iterator[tuple[str, int]]:
    """A server that waits ``WAIT`` seconds for a head (uvicorn's default ``timeout_keep_alive`` is 5)."""
    with serving(timeout_keep_alive=WAIT) as address:
        yield address


def closed_within(sock: socket.socket, seconds: float) -> bytes:
    """What the server sends before it closes ``sock``, which it must do within ``seconds``."""
    start, data = time.monotonic(), b""
    sock.settimeout(seconds + 5)
    while got := sock.recv(65536):
        data += got
    assert time.monotonic() - start < seconds, f"closed after {time.monotonic() - start:.1f} s"
    return data


def test_a_connection_that_sends_nothing_is_closed(impatient: tuple[str, int]) -> None:
    """uvicorn arms its keep-alive timer only after a response: such a connection stayed open for good."""
    with socket.create_connection(impatient, timeout=10) as sock:
        assert closed_within(sock, WAIT + 1) == b""
    healthy(impatient)


LATE = b"HTTP/1.1 408 Request Timeout"


def test_half_a_head_is_answered_408_and_closed(impatient: tuple[str, int]) -> None:
    """uvicorn stops its keep-alive timer at any byte: a head that never ended held the connection for good."""
    with socket.create_connection(impatient, timeout=10) as sock:
        sock.sendall(request(b"/health", b"x-a: b", end=False))
        data = closed_within(sock, WAIT + 1)
    assert data.startswith(LATE + b"\r\n") and b"connection: close\r\n" in data
    assert data.endswith(b"request timeout: the request head did not arrive within 1 s\n")
    healthy(impatient)


def test_half_a_head_after_a_response_is_answered_408_and_closed(impatient: tuple[str, int]) -> None:
    with socket.create_connection(impatient, timeout=10) as sock:
        sock.sendall(request(b"/one"))
        assert answer(sock) == (200, b"/one")
        sock.sendall(b"GET /two HTTP/1.1\r\nhost: 127.0.0.1\r\n")
        assert closed_within(sock, WAIT + 1).startswith(LATE)


def test_a_head_in_pieces_within_the_wait_and_a_request_served_longer_are_answered(
    impatient: tuple[str, int],
) -> None:
    """The wait is for the head: a request being served (longer than the wait) is not cut, and the next head on
    the connection gets the whole wait again."""
    head = request(b"/slow")
    with socket.create_connection(impatient, timeout=10) as sock:
        for _ in range(2):
            sock.sendall(head[:10])
            time.sleep(WAIT / 5)
            sock.sendall(head[10:])
            assert answer(sock) == (200, b"/slow")
            time.sleep(WAIT / 5)


def test_a_body_still_arriving_after_an_early_answer_is_not_cut(impatient: tuple[str, int]) -> None:
    """``echo_path`` answers without reading the body, as a 401 or a 413 does: the client, still uploading, must
    be able to finish and read the answer, however long past the wait the upload takes. The wait for the next
    head runs from the body's end."""
    body = b"x" * 40
    head = b"POST /early HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: %d\r\n\r\n" % len(body)
    with socket.create_connection(impatient, timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(head)
        start = time.monotonic()
        for at in range(0, len(body), 4):  # 10 pieces, WAIT / 4 apart: the upload takes 2.5 times the wait
            time.sleep(WAIT / 4)
            sock.sendall(body[at : at + 4])
        assert time.monotonic() - start > 2 * WAIT
        assert answer(sock) == (200, b"/early")
        sock.sendall(request(b"/next"))
        assert answer(sock) == (200, b"/next")
        assert closed_within(sock, WAIT + 1) == b""


@pytest.fixture
def body_bound(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, int]]:
    """A server that waits ``WAIT`` seconds for the next bytes of a body (tiergate's is ``BODY_WAIT``, 60)."""
    monkeypatch.setattr(head_limit, "BODY_WAIT", WAIT)
    HEARD.clear()
    with serving() as address:
        yield address


def post(path: bytes, size: int) -> bytes:
    return b"POST %s HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: %d\r\n\r\n" % (path, size)


def test_a_body_that_stops_is_answered_408_and_closed(body_bound: tuple[str, int]) -> None:
    """Neither uvicorn nor the app bounded a body that stopped: such a request held its connection, and the app's
    task reading it, for good. The app is told the client went away."""
    with socket.create_connection(body_bound, timeout=10) as sock:
        sock.sendall(post(b"/read", 40) + b"x" * 10)
        data = closed_within(sock, WAIT + 1)
    assert data.startswith(LATE + b"\r\n") and b"connection: close\r\n" in data
    assert data.endswith(b"request timeout: the request body stopped arriving for 1 s\n")
    deadline = time.monotonic() + 5
    while not HEARD and time.monotonic() < deadline:
        time.sleep(0.01)
    assert HEARD == ["disconnect"]
    healthy(body_bound)


def test_a_body_in_pieces_each_within_the_wait_is_read_whole(body_bound: tuple[str, int]) -> None:
    """The bound is on the quiet between two pieces, not on the whole upload: one taking 2.5 times the wait is
    read."""
    with socket.create_connection(body_bound, timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(post(b"/read", 40))
        start = time.monotonic()
        for _ in range(10):
            time.sleep(WAIT / 4)
            sock.sendall(b"y" * 4)
        assert time.monotonic() - start > 2 * WAIT
        assert answer(sock) == (200, b"40")


def test_a_body_the_server_has_yet_to_read_is_not_timed(body_bound: tuple[str, int]) -> None:
    """A body past uvicorn's buffer (64 KiB) pauses reading until the app reads it: the app here starts
    ``SLOW`` seconds (past the wait) after the client sent everything, and the body is read whole."""
    size = 1024 * 1024
    with socket.create_connection(body_bound, timeout=10) as sock:
        sock.sendall(post(b"/read-late", size) + b"z" * size)
        assert answer(sock) == (200, b"%d" % size)


def test_a_pipelined_body_that_stops_is_answered_only_after_the_request_before_it(body_bound: tuple[str, int]) -> None:
    """A request pipelined behind one being answered (``SLOW``, past the wait) stopped within its body: its 408 went
    out before the first one's answer, which the client read as that answer, while the first was still served."""
    with socket.create_connection(body_bound, timeout=10) as sock:
        sock.sendall(b"GET /listening HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n" + post(b"/read", 40) + b"x" * 10)
        assert answer(sock) == (200, b"/listening")
        turn = time.monotonic()
        data = closed_within(sock, WAIT + 1)
        waited = time.monotonic() - turn
    assert data.startswith(LATE + b"\r\n") and data.endswith(b"the request body stopped arriving for 1 s\n")
    assert waited >= 0.9 * WAIT, f"its body was waited for {waited:.2f} s from its turn"  # a whole wait, from then


def test_a_body_that_stops_after_an_early_answer_ends_the_connection_without_a_second_answer(
    body_bound: tuple[str, int],
) -> None:
    with socket.create_connection(body_bound, timeout=10) as sock:
        sock.sendall(post(b"/early", 40) + b"x" * 10)
        assert answer(sock) == (200, b"/early")
        assert closed_within(sock, WAIT + 1) == b""


def test_h11_takes_the_same_limit_where_httptools_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn's h11 refuses a head that passes ``h11_max_incomplete_event_size`` before it ends (with a 400);
    its own default, 16 KiB, would refuse heads that httptools serves."""
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "httptools" else find_spec(name, *a)
    )
    assert workers.http_protocol() == "h11"
    with serving() as address:
        with socket.create_connection(address, timeout=10) as sock:
            trickle(sock, request(b"/health", b"x-big: " + b"a" * (HEAD_LIMIT - 1024)))
            assert answer(sock) == (200, b"/health")
        with socket.create_connection(address, timeout=10) as sock:
            sock.sendall(request(b"/health", b"x-big: " + b"a" * 2 * HEAD_LIMIT, end=False))  # never ends
            assert sock.recv(65536).startswith(b"HTTP/1.1 400 ")  # then a reset: uvicorn closes with bytes unread


def test_a_uvicorn_without_what_the_protocol_builds_on_serves_unbounded_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """uvicorn is not pinned: a release that renames a callback the protocol overrides must not break serving."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    assert workers.http_protocol() == "tiergate.head_limit:HeadLimitProtocol"
    monkeypatch.delattr(HttpToolsProtocol, "on_header")
    with caplog.at_level("WARNING", logger="tiergate.server"):
        assert workers.http_protocol() == "httptools"
    assert caplog.messages == [
        "this uvicorn's httptools protocol is not the one tiergate.head_limit knows: heads are unbounded"
    ]
