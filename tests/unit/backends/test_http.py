"""AiohttpClient against raw asyncio servers on 127.0.0.1: the exact bytes on the wire, streaming,
content-encoding, keep-alive, the connection limit, proxies, closing, and what each real failure on a
socket reads as once translated (tiergate.backends.failures).

Every wait on the other side is long (``WAIT``); only a timeout that is itself under test is short.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import os
import urllib.parse
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from tests.fakes.raw import (
    CHUNKED_HEAD,
    LAST_CHUNK,
    Handler,
    Peer,
    RawServer,
    Received,
    answering,
    chunk,
    never_answering,
    response,
)
from tiergate.backends.failures import TRANSPORT_ERRORS, Where, transport_failure
from tiergate.backends.http import USER_AGENT, AiohttpClient, BodyError, PoolTimeout, Request, Response, _bypassed
from tiergate.errors import UpstreamError

#: Seconds to wait for something that should happen promptly; only a broken client reaches it.
WAIT = 30.0
#: A timeout under test: long enough to be a real wait, short enough to keep the suite quick.
SHORT = 0.2


def client(max_connections: int = 100, proxies: dict[str, str] | None = None) -> AiohttpClient:
    """No proxies unless given, so proxy variables in the environment cannot reroute loopback requests."""
    return AiohttpClient(max_connections, proxies={} if proxies is None else proxies)


def request(url: str, method: str = "GET", body: bytes | None = None, total: float = WAIT, **headers: str) -> Request:
    return Request(method, url, {k.replace("_", "-"): v for k, v in headers.items()}, body, WAIT, total)


async def fetch(http: AiohttpClient, sent: Request) -> tuple[int, Response, bytes]:
    async with http.send(sent) as got:
        return got.status, got, await got.read()


async def failure(http: AiohttpClient, sent: Request) -> UpstreamError:
    """The tiergate error a failed exchange translates to (the body read whole)."""
    try:
        await fetch(http, sent)
    except TRANSPORT_ERRORS as exc:
        return transport_failure(exc, Where("up", sent.url, sent.connect_timeout, sent.total_timeout))
    raise AssertionError("the exchange did not fail")


async def take(chunks: AsyncIterator[bytes], size: int) -> bytes:
    """Exactly the next ``size`` bytes of a body (more means pieces arrived together)."""
    got = b""
    while len(got) < size:
        got += await anext(chunks)
    return got


def echo_path(received: Received) -> bytes:
    return response(received.line.split()[1].encode())


# --- 1. the request and response on the wire ----------------------------------------------------------


@pytest.mark.asyncio
async def test_a_post_goes_out_with_its_headers_once_and_the_answer_arrives_intact() -> None:
    body = b'{"q": "hi", "bytes": "\xc3\xa9"}'
    answer_headers = [("Content-Type", "application/octet-stream"), ("X-Multi", "a"), ("X-Multi", "b")]
    answer_body = bytes(range(256))

    async with (
        RawServer(answering(lambda _: response(answer_body, status="201 Created", headers=answer_headers))) as server,
    ):
        http = client()
        sent = Request(
            "POST",
            f"{server.url}/v1/chat?x=1&y=%20",
            {"content-type": "application/json", "x-team": "core", "authorization": "Bearer k"},
            body,
        )
        status, got, read = await fetch(http, sent)
        await http.aclose()

    [received] = server.received
    assert received.line == "POST /v1/chat?x=1&y=%20 HTTP/1.1"
    assert received.names == sorted(
        [
            "host",
            "accept",
            "accept-encoding",
            "user-agent",
            "content-type",
            "x-team",
            "authorization",
            "content-length",
        ]
    )
    assert received.value("host") == f"127.0.0.1:{server.port}"
    assert received.value("content-length") == str(len(body))
    assert received.value("user-agent") == USER_AGENT
    assert received.value("accept") == "*/*"
    assert "gzip" in received.value("accept-encoding")
    assert received.value("content-type") == "application/json"
    assert received.body == body
    assert (status, read) == (201, answer_body)
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers.getall("x-multi") == ["a", "b"]  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_a_header_the_caller_sets_replaces_the_default() -> None:
    async with RawServer(answering()) as server:
        http = client()
        await fetch(http, request(server.url, accept="text/event-stream", user_agent="mine/1"))
        await http.aclose()

    [received] = server.received
    assert received.values("accept") == ["text/event-stream"]
    assert received.values("user-agent") == ["mine/1"]


@pytest.mark.asyncio
async def test_a_bodiless_get_has_no_framing() -> None:
    async with RawServer(answering()) as server:
        http = client()
        await fetch(http, request(server.url + "/get"))
        await http.aclose()

    [received] = server.received
    assert received.line == "GET /get HTTP/1.1"
    assert received.values("content-length") == received.values("transfer-encoding") == []


@pytest.mark.asyncio
async def test_a_non_ascii_header_value_arrives() -> None:
    headers = [("X-Note", "café".encode().decode("latin-1"))]  # response() writes latin-1: these are UTF-8 bytes
    async with RawServer(answering(lambda _: response(b"ok", headers=headers))) as server:
        http = client()
        _, got, read = await fetch(http, request(server.url))
        await http.aclose()

    assert read == b"ok"
    assert got.headers["x-note"].encode("utf-8", "surrogateescape") in (b"caf\xc3\xa9", "café".encode())


# --- 2. streaming --------------------------------------------------------------------------------------

PIECES = [b"data: one\n\n", b"data: two\n\n", b"data: [DONE]\n\n"]


def piecewise(sent: list[bytes], go: list[asyncio.Event]) -> Handler:
    """A chunked response of ``PIECES``, each sent only after the test has set the previous one's event."""

    async def handler(peer: Peer) -> None:
        await peer.request()
        await peer.send(CHUNKED_HEAD)
        for i, piece in enumerate(PIECES):
            if i:
                await go[i - 1].wait()
            await peer.send(chunk(piece))
            sent.append(piece)
        await go[-1].wait()
        await peer.send(LAST_CHUNK)
        await peer.until_closed_by_client()

    return handler


@pytest.mark.asyncio
async def test_chunks_come_as_they_arrive() -> None:
    sent: list[bytes] = []
    go = [asyncio.Event() for _ in PIECES]
    async with RawServer(piecewise(sent, go)) as server:
        http = client()
        async with http.send(request(server.url + "/events")) as got:
            chunks = got.chunks()
            assert got.status == 200
            for i, piece in enumerate(PIECES):
                assert await asyncio.wait_for(take(chunks, len(piece)), WAIT) == piece
                assert sent == PIECES[: i + 1]  # the next piece is still waiting for us
                go[i].set()
            assert [rest async for rest in chunks] == []
            assert got.ended
        await http.aclose()


@pytest.mark.asyncio
async def test_gzip_is_decoded() -> None:
    text = "héllo, wörld\n" * 500
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Encoding", "gzip")]
    async with RawServer(answering(lambda _: response(gzip.compress(text.encode()), headers=headers))) as server:
        http = client()
        _, _, read = await fetch(http, request(server.url))
        await http.aclose()

    assert read.decode() == text


@pytest.mark.asyncio
async def test_a_body_that_is_not_gzip_is_undecodable() -> None:
    headers = [("Content-Encoding", "gzip")]
    async with RawServer(answering(lambda _: response(b"not gzip at all", headers=headers))) as server:
        http = client()
        error = await failure(http, request(server.url))
        await http.aclose()

    assert (error.kind, error.started) == ("protocol", True)
    assert error.detail.startswith("undecodable body")


# --- 3. keep-alive ---------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_sequential_requests_share_one_connection() -> None:
    async with RawServer(answering(lambda r: response(r.line.encode()))) as server:
        http = client(max_connections=1)
        first = await fetch(http, request(server.url + "/one"))
        second = await fetch(http, request(server.url + "/two", "POST", b"x"))
        await http.aclose()

    assert (first[2], second[2]) == (b"GET /one HTTP/1.1", b"POST /two HTTP/1.1")
    assert server.connections == 1


@pytest.mark.asyncio
async def test_a_stream_left_before_its_end_drops_its_connection() -> None:
    """The unread rest of a body must not be taken for the next response: that connection goes."""
    dropped = asyncio.Event()
    started: list[Peer] = []

    async def endless_then_fresh(peer: Peer) -> None:
        started.append(peer)
        if len(started) > 1:
            await answering(lambda _: response(b"fresh"))(peer)
            return
        await peer.request()
        await peer.send(CHUNKED_HEAD + chunk(b"first"))
        await peer.until_closed_by_client()
        dropped.set()

    async with RawServer(endless_then_fresh) as server:
        http = client(max_connections=1)
        async with http.send(request(server.url + "/endless")) as got:
            assert await asyncio.wait_for(take(got.chunks(), 5), WAIT) == b"first"
        await asyncio.wait_for(dropped.wait(), WAIT)
        after = await fetch(http, request(server.url + "/next", total=WAIT))
        await http.aclose()

    assert after[2] == b"fresh"
    assert server.connections == 2


@pytest.mark.asyncio
async def test_drain_reads_the_rest_so_the_connection_is_kept() -> None:
    async def tail_then_more(peer: Peer) -> None:
        while (received := await peer.request()) is not None:
            await peer.send(CHUNKED_HEAD + chunk(b"data: [DONE]\n\n"))
            await asyncio.sleep(0.05)  # the body's end comes a little later
            await peer.send(chunk(b": trailing comment\n\n") + LAST_CHUNK)
            assert received

    async with RawServer(tail_then_more) as server:
        http = client(max_connections=1)
        for _ in range(2):
            async with http.send(request(server.url)) as got:
                assert await anext(got.chunks()) == b"data: [DONE]\n\n"
                await got.drain()
                assert got.ended
        await http.aclose()

    assert server.connections == 1


@pytest.mark.asyncio
async def test_drain_gives_up_on_a_body_that_never_ends() -> None:
    async def never_ends(peer: Peer) -> None:
        await peer.request()
        await peer.send(CHUNKED_HEAD + chunk(b"data: [DONE]\n\n"))
        await asyncio.Event().wait()

    async with RawServer(never_ends) as server:
        http = client()
        async with http.send(request(server.url)) as got:
            await anext(got.chunks())
            await asyncio.wait_for(got.drain(limit=SHORT), WAIT)
            assert not got.ended
        await http.aclose()


@pytest.mark.asyncio
async def test_a_connection_the_server_closes_is_not_reused() -> None:
    async def once(peer: Peer) -> None:
        received = await peer.request()
        assert received is not None
        await peer.send(response(received.line.encode(), headers=[("Connection", "close")]))

    async with RawServer(once) as server:
        http = client(max_connections=1)
        first = await fetch(http, request(server.url + "/one"))
        second = await fetch(http, request(server.url + "/two"))
        await http.aclose()

    assert (first[2], second[2]) == (b"GET /one HTTP/1.1", b"GET /two HTTP/1.1")
    assert server.connections == 2


@pytest.mark.asyncio
async def test_a_kept_alive_connection_closed_as_it_is_reused() -> None:
    """A GET is sent again on a new connection (aiohttp does that for idempotent methods). A POST is not: the
    upstream may have taken it before it closed, so it fails before any head came, which dispatch may retry
    (``connect``, not started) on the same target."""

    async def once_then_drop(peer: Peer) -> None:
        received = await peer.request()
        assert received is not None
        await peer.send(response(f"answered on connection {peer.server.connections}".encode()))
        await peer.request()  # the next request arrives, and the connection closes unanswered

    async with RawServer(once_then_drop) as server:
        http = client()
        try:
            assert (await fetch(http, request(server.url + "/1")))[2] == b"answered on connection 1"
            assert (await fetch(http, request(server.url + "/2")))[2] == b"answered on connection 2"
            error = await failure(http, request(server.url, "POST", b"3"))
        finally:
            await http.aclose()

    assert [r.line.split()[1] for r in server.received] == ["/1", "/2", "/2", "/"]
    assert server.received[-1].body == b"3"
    assert (error.kind, error.started, error.retryable) == ("connect", False, True)
    assert error.detail.startswith("the connection closed unanswered")


@pytest.mark.asyncio
async def test_aclose_closes_the_pooled_connection() -> None:
    closed = asyncio.Event()

    async def handler(peer: Peer) -> None:
        await peer.request()
        await peer.send(response(b"ok"))
        await peer.until_closed_by_client()
        closed.set()

    async with RawServer(handler) as server:
        http = client()
        assert (await fetch(http, request(server.url)))[2] == b"ok"
        assert not closed.is_set()
        await http.aclose()
        await asyncio.wait_for(closed.wait(), WAIT)


# --- 4. failures, as the table reads them ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_connection_refused(closed_port: int) -> None:
    http = client()
    error = await failure(http, request(f"http://127.0.0.1:{closed_port}/x"))
    await http.aclose()
    assert (error.kind, error.detail, error.retryable) == ("connect", "connection refused", True)


@pytest.mark.asyncio
async def test_a_server_that_never_answers_is_a_timeout_before_the_head() -> None:
    async with RawServer(never_answering) as server:
        http = client()
        error = await failure(http, request(server.url + "/slow", total=SHORT))
        await http.aclose()

    assert (error.kind, error.started, error.detail) == ("timeout", False, f"no answer within {SHORT:g}s")
    assert [r.line for r in server.received] == ["GET /slow HTTP/1.1"]


@pytest.mark.asyncio
async def test_a_body_that_stalls_is_a_timeout_after_the_head() -> None:
    async def stalls(peer: Peer) -> None:
        await peer.request()
        await peer.send(CHUNKED_HEAD + chunk(b"first"))
        await asyncio.Event().wait()

    async with RawServer(stalls) as server:
        http = client()
        async with http.send(request(server.url, total=SHORT * 2)) as got:
            chunks = got.chunks()
            assert await asyncio.wait_for(take(chunks, 5), WAIT) == b"first"
            with pytest.raises(BodyError) as caught:
                await anext(chunks)
        await http.aclose()

    error = transport_failure(caught.value, Where("up", server.url, 1, SHORT * 2))
    assert (error.kind, error.started, error.retryable) == ("timeout", True, False)


@pytest.mark.asyncio
async def test_a_streams_body_is_its_readers_to_bound() -> None:
    """A stream read slowly (its client slow to take what it was sent) outlasts ``total_timeout``: the
    reader (dispatch's bounds) decides, and counts only the upstream's time. A whole body is still bounded."""

    async def two_pieces(peer: Peer) -> None:
        await peer.request()
        await peer.send(CHUNKED_HEAD + chunk(b"first"))
        await asyncio.sleep(SHORT * 3)
        await peer.send(chunk(b"second") + LAST_CHUNK)

    async with RawServer(two_pieces) as server:
        http = client()
        streamed = request(server.url, total=SHORT)._replace(stream=True)
        async with http.send(streamed) as got:
            assert await asyncio.wait_for(got.read(), WAIT) == b"firstsecond"
        with pytest.raises(BodyError):
            await fetch(http, request(server.url, total=SHORT))
        await http.aclose()


CUT_SHORT = {
    "content-length": response(headers=[("Content-Length", "100")]) + b"only ten b",
    "chunked": CHUNKED_HEAD + chunk(b"first") + b"a\r\nonly",
}


def sends_then_closes(data: bytes) -> Handler:
    async def handler(peer: Peer) -> None:
        await peer.request()
        await peer.send(data)

    return handler


@pytest.mark.asyncio
@pytest.mark.parametrize("framing", sorted(CUT_SHORT))
async def test_a_body_cut_short_is_a_protocol_error_after_the_head(framing: str) -> None:
    async with RawServer(sends_then_closes(CUT_SHORT[framing])) as server:
        http = client()
        async with http.send(request(server.url)) as got:
            assert got.status == 200
            with pytest.raises(BodyError):
                await got.read()
        error = await failure(http, request(server.url))
        await http.aclose()

    assert (error.kind, error.started, error.retryable) == ("protocol", True, False)
    assert error.detail.startswith("the answer was cut short")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "answer",
    [b"garbage\r\n\r\n", b"HTTP/1.1 2000 Nope\r\n\r\n"],
    ids=["no-status-line", "bad-status-code"],
)
async def test_an_answer_that_is_not_http_fails_before_the_head(answer: bytes) -> None:
    async with RawServer(sends_then_closes(answer)) as server:
        http = client()
        error = await failure(http, request(server.url))
        await http.aclose()
    assert (error.kind, error.started, error.retryable) == ("connect", False, True)
    assert error.detail.startswith("the answer is not HTTP (")


#: Answers whose status line is HTTP's, and whose next bytes break HTTP; each written at once, so aiohttp
#: reads them with the status line and fails before it returns the response.
BROKEN_AFTER_STATUS = {
    "bad-header-line": b"HTTP/1.1 200 OK\r\nnot a header\r\n\r\n",
    "bad-content-length": b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n0123456789",
    "bad-chunk-size": CHUNKED_HEAD + chunk(b'{"whole": "answer"}') + b"ZZZZ\r\ngarbage\r\n",
    "no-crlf-after-chunk": CHUNKED_HEAD + b"2\r\nokXX\r\n",
}


@pytest.fixture(params=["c", "python"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """aiohttp's response parser: its C one, or the Python one it falls back to (``AIOHTTP_NO_EXTENSIONS``).
    They raise different errors for the same bytes."""
    if request.param == "python":
        monkeypatch.setattr(aiohttp.client_proto, "HttpResponseParser", aiohttp.http_parser.HttpResponseParserPy)
    return str(request.param)


@pytest.mark.asyncio
@pytest.mark.parametrize("answer", BROKEN_AFTER_STATUS.values(), ids=BROKEN_AFTER_STATUS.keys())
async def test_an_answer_that_breaks_http_after_its_status_line_had_begun(answer: bytes, parser: str) -> None:
    """The upstream began to answer: another try may pay twice (aiohttp's C parser raises the same error for a
    bad header line as for a bad chunk size, so neither is taken for an answer that is not HTTP)."""
    async with RawServer(sends_then_closes(answer)) as server:
        http = client()
        error = await failure(http, request(server.url))
        await http.aclose()
    assert (error.kind, error.started, error.retryable) == ("protocol", True, False)
    assert error.detail.startswith("the answer broke HTTP after its status line (")


@pytest.mark.asyncio
async def test_a_bad_chunk_size_after_the_head_is_a_protocol_error_of_the_body() -> None:
    """The Python parser hands the body's reader its own ``TransferEncodingError``, no ``ClientError``. (The C
    parser never tells the reader: the body waits for a timeout, aiohttp's own failing.)"""
    wrote = asyncio.Event()

    async def head_then_bad_chunk(peer: Peer) -> None:
        await peer.request()
        await peer.send(CHUNKED_HEAD + chunk(b"first"))
        await wrote.wait()
        await peer.send(b"ZZZZ\r\ngarbage\r\n")
        await peer.until_closed_by_client()

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(aiohttp.client_proto, "HttpResponseParser", aiohttp.http_parser.HttpResponseParserPy)
        async with RawServer(head_then_bad_chunk) as server:
            http = client()
            async with http.send(request(server.url)) as got:
                chunks = got.chunks()
                assert await asyncio.wait_for(take(chunks, 5), WAIT) == b"first"
                wrote.set()
                with pytest.raises(BodyError) as raised:
                    await asyncio.wait_for(anext(chunks), WAIT)
            await http.aclose()

    error = transport_failure(raised.value, Where("up", server.url, WAIT, WAIT))
    assert (error.kind, error.started, error.retryable) == ("protocol", True, False)
    assert error.detail == "the answer broke HTTP after its status line (ZZZZ)"


@pytest.mark.asyncio
async def test_a_server_closing_without_an_answer_fails_before_the_head() -> None:
    async with RawServer(sends_then_closes(b"")) as server:
        http = client()
        error = await failure(http, request(server.url))
        await http.aclose()
    assert (error.kind, error.started, error.retryable) == ("connect", False, True)
    assert error.detail.startswith("the connection closed unanswered")


@pytest.mark.asyncio
async def test_a_failed_tls_handshake_is_a_connect_failure() -> None:
    """https against a plain-HTTP server: the handshake fails."""

    async def plain(peer: Peer) -> None:
        await peer.reader.read(65536)  # the ClientHello
        await peer.send(response(b"not tls", status="400 Bad Request"))

    async with RawServer(plain) as server:
        http = client()
        error = await failure(http, request(f"https://127.0.0.1:{server.port}/"))
        await http.aclose()
    assert (error.kind, error.started, error.retryable) == ("connect", False, True)


@pytest.mark.asyncio
async def test_a_header_with_a_line_break_is_never_sent() -> None:
    async with RawServer(answering()) as server:
        http = client(max_connections=1)
        error = await failure(http, request(server.url, x_note="a\r\nx-injected: yes"))
        assert server.received == []
        assert (await fetch(http, request(server.url)))[2] == b"ok"  # the slot was given back
        await http.aclose()
    assert (error.kind, error.retryable) == ("config", False)


# --- 5. the connection limit -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_an_open_exchange_holds_the_only_slot_until_left() -> None:
    async with RawServer(answering(echo_path)) as server:
        http = client(max_connections=1)
        async with http.send(request(server.url + "/held")) as held:
            with pytest.raises(PoolTimeout):
                await fetch(http, request(server.url + "/refused", total=SHORT))
            error = await failure(http, request(server.url + "/refused", total=SHORT))
            assert await held.read() == b"/held"
        after = await fetch(http, request(server.url + "/after"))
        await http.aclose()

    assert (error.kind, error.detail) == ("timeout", f"all 1 connections stayed busy for {SHORT:g}s")
    assert after[2] == b"/after"
    assert [r.line for r in server.received] == ["GET /held HTTP/1.1", "GET /after HTTP/1.1"]


@pytest.mark.asyncio
async def test_a_waiting_request_proceeds_when_the_slot_frees() -> None:
    async with RawServer(answering(echo_path)) as server:
        http = client(max_connections=1)
        async with http.send(request(server.url + "/held")) as held:
            waiting = asyncio.create_task(fetch(http, request(server.url + "/waiting")))
            await asyncio.sleep(SHORT)
            assert not waiting.done()
            assert len(server.received) == 1
            await held.read()
        got = await asyncio.wait_for(waiting, WAIT)
        await http.aclose()

    assert got[2] == b"/waiting"


@pytest.mark.asyncio
async def test_a_request_cancelled_while_waiting_for_a_slot_takes_none() -> None:
    async with RawServer(answering(echo_path)) as server:
        http = client(max_connections=1)
        async with http.send(request(server.url + "/held")) as held:
            waiting = asyncio.create_task(fetch(http, request(server.url + "/cancelled")))
            await asyncio.sleep(SHORT)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            await held.read()
        after = await fetch(http, request(server.url + "/after", total=SHORT * 5))
        await http.aclose()

    assert after[2] == b"/after"
    assert [r.line for r in server.received] == ["GET /held HTTP/1.1", "GET /after HTTP/1.1"]


async def failing_by_path(peer: Peer) -> None:
    """``/ok`` answers; ``/hang`` never does; ``/cut``, ``/garbage`` and ``/close`` fail their own way."""
    answers = {"/cut": CUT_SHORT["content-length"], "/garbage": b"garbage\r\n\r\n", "/close": b""}
    while (received := await peer.request()) is not None:
        path = received.line.split()[1]
        if path == "/ok":
            await peer.send(response(b"ok"))
            continue
        if path == "/hang":
            await asyncio.Event().wait()
        await peer.send(answers[path])
        return


@pytest.mark.asyncio
@pytest.mark.parametrize("path", ["/hang", "/cut", "/garbage", "/close"])
async def test_a_failed_request_releases_its_slot(path: str, closed_port: int) -> None:
    async with RawServer(failing_by_path) as server:
        http = client(max_connections=1)
        await failure(http, request(server.url + path, total=SHORT * 2 if path == "/hang" else WAIT))
        await failure(http, request(f"http://127.0.0.1:{closed_port}/", total=SHORT * 5))
        after = await fetch(http, request(server.url + "/ok", total=SHORT * 5))
        await http.aclose()
    assert after[2] == b"ok"


@pytest.mark.asyncio
async def test_a_request_cancelled_in_flight_releases_its_slot() -> None:
    async with RawServer(failing_by_path) as server:
        http = client(max_connections=1)
        in_flight = asyncio.create_task(fetch(http, request(server.url + "/hang")))
        async with asyncio.timeout(WAIT):
            while not server.received:  # the request is out and waits for its answer
                await asyncio.sleep(0.01)
                assert not in_flight.done()
        in_flight.cancel()
        with pytest.raises(asyncio.CancelledError):
            await in_flight
        after = await fetch(http, request(server.url + "/ok", total=SHORT * 5))
        await http.aclose()
    assert after[2] == b"ok"


# --- 6. proxies -------------------------------------------------------------------------------------------


def via_proxy(_: Received) -> bytes:
    return response(b"via proxy")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("credentials", "authorization"),
    [
        ("user:pw", "Basic dXNlcjpwdw=="),
        ("u%40x:p%3Aw", "Basic dUB4OnA6dw=="),  # u@x : p:w
        ("j%C3%BCrg:p%C3%A4ss", "Basic asO8cmc6cMOkc3M="),  # jürg : päss in UTF-8
    ],
    ids=["plain", "percent-encoded", "non-ascii"],
)
async def test_an_http_proxy_gets_the_absolute_form_and_the_credentials(credentials: str, authorization: str) -> None:
    user, password = (urllib.parse.unquote(part) for part in credentials.split(":"))
    assert authorization == "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    async with RawServer(answering(via_proxy)) as proxy:
        http = client(proxies={"http": f"http://{credentials}@127.0.0.1:{proxy.port}"})
        got = await fetch(http, request("http://example.invalid/path"))
        await http.aclose()

    assert got[2] == b"via proxy"
    [received] = proxy.received
    assert received.line == "GET http://example.invalid/path HTTP/1.1"
    assert received.values("proxy-authorization") == [authorization]
    assert received.value("host") == "example.invalid"
    assert received.values("authorization") == []


@pytest.mark.asyncio
async def test_no_proxy_hosts_bypass_the_proxy() -> None:
    async with RawServer(answering(via_proxy)) as proxy, RawServer(answering(echo_path)) as origin:
        proxies = {"http": f"http://user:pw@127.0.0.1:{proxy.port}", "no": "localhost, 127.0.0.1"}
        http = client(proxies=proxies)
        got = await fetch(http, request(origin.url + "/direct"))
        await http.aclose()

    assert got[2] == b"/direct"
    assert proxy.connections == 0
    assert origin.received[0].values("proxy-authorization") == []


@pytest.mark.asyncio
async def test_the_all_proxy_serves_http_and_an_address_needs_no_scheme() -> None:
    async with RawServer(answering(via_proxy)) as proxy:
        http = client(proxies={"all": f"127.0.0.1:{proxy.port}"})
        got = await fetch(http, request("http://example.invalid/path"))
        await http.aclose()

    assert got[2] == b"via proxy"
    assert proxy.received[0].line == "GET http://example.invalid/path HTTP/1.1"


@pytest.mark.asyncio
async def test_a_proxy_for_another_scheme_is_not_used() -> None:
    async with RawServer(answering(via_proxy)) as proxy, RawServer(answering(echo_path)) as origin:
        http = client(proxies={"https": f"http://127.0.0.1:{proxy.port}"})
        got = await fetch(http, request(origin.url + "/direct"))
        await http.aclose()

    assert got[2] == b"/direct"
    assert proxy.connections == 0


@pytest.mark.asyncio
async def test_without_proxies_the_environment_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name == "REQUEST_METHOD":
            monkeypatch.delenv(name)
    async with RawServer(answering(via_proxy)) as proxy, RawServer(answering(echo_path)) as origin:
        monkeypatch.setenv("HTTP_PROXY", f"http://user:pw@127.0.0.1:{proxy.port}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        from_env = AiohttpClient()
        monkeypatch.delenv("HTTP_PROXY")  # read when the client is made, not per request
        proxied = await fetch(from_env, request("http://example.invalid/path"))
        direct = await fetch(from_env, request(origin.url + "/direct"))
        await from_env.aclose()
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        explicit = client(proxies={})  # an explicit mapping ignores the environment
        ignored = await fetch(explicit, request(origin.url + "/ignored"))
        await explicit.aclose()

    assert (proxied[2], direct[2], ignored[2]) == (b"via proxy", b"/direct", b"/ignored")
    [received] = proxy.received
    assert received.value("proxy-authorization") == "Basic dXNlcjpwdw=="


@pytest.mark.asyncio
async def test_https_through_a_proxy_tunnels_and_a_refused_tunnel_is_a_connect_failure() -> None:
    async def refuses(peer: Peer) -> None:
        await peer.request()
        await peer.send(response(status="407 Proxy Authentication Required"))

    async with RawServer(refuses) as proxy:
        http = client(proxies={"https": f"http://user:pw@127.0.0.1:{proxy.port}"})
        error = await failure(http, request("https://example.invalid/path"))
        await http.aclose()

    assert (error.kind, error.retryable) == ("connect", True)
    assert error.detail.startswith("the proxy refused the tunnel")
    [received] = proxy.received
    assert received.line == "CONNECT example.invalid:443 HTTP/1.1"
    assert received.value("proxy-authorization") == "Basic dXNlcjpwdw=="


@pytest.mark.parametrize(
    ("host", "no_proxy", "bypassed"),
    [
        ("anything.example.org", "*", True),
        ("example.com", "other.org, *", True),
        ("example.com", "example.com", True),
        ("api.example.com", "example.com", True),
        ("api.example.com", ".example.com", True),
        ("example.com", ".example.com", True),
        ("API.Example.COM", "example.com", True),
        ("127.0.0.1", "localhost,127.0.0.1", True),
        ("badexample.com", "example.com", False),
        ("example.com.evil.org", "example.com", False),
        ("example.com", "api.example.com", False),
        ("example.com", "", False),
        ("example.com", " , ,", False),
    ],
)
def test_bypassed(host: str, no_proxy: str, bypassed: bool) -> None:
    assert _bypassed(host, no_proxy) is bypassed


# --- 7. making and closing ------------------------------------------------------------------------------


class Made:
    """Spies on aiohttp's session class: what the client constructs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.made: list[str] = []
        monkeypatch.setattr(aiohttp, "ClientSession", self._spy(aiohttp.ClientSession))

    def _spy(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def make(*args: Any, **kwargs: Any) -> Any:
            self.made.append("ClientSession")
            return real(*args, **kwargs)

        return make


@pytest.mark.asyncio
async def test_the_session_is_made_on_first_use_once_and_a_closed_client_refuses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spy = Made(monkeypatch)
    unused = client()
    await unused.aclose()
    await unused.aclose()
    assert spy.made == []
    async with RawServer(answering()) as server:
        http = client()
        for _ in range(3):
            await fetch(http, request(server.url))
        await http.aclose()
        with pytest.raises(RuntimeError, match="the HTTP client is closed"):
            await fetch(http, request(server.url))
        await http.aclose()
    assert spy.made == ["ClientSession"]
    assert server.connections == 1


def test_a_client_made_outside_a_loop_serves_inside_one() -> None:
    """Backends are built before the server's loop runs: the client must bind to nothing then."""
    made = client(max_connections=1)

    async def use() -> list[bytes]:
        async with RawServer(answering(echo_path)) as server:
            got = [(await fetch(made, request(f"{server.url}/{i}")))[2] for i in range(2)]
            await made.aclose()
            return got

    assert asyncio.run(use()) == [b"/0", b"/1"]


def test_under_uvloop_as_the_server_runs_it() -> None:
    import uvloop

    async def scenario() -> tuple[list[bytes], int, bytes]:
        http = client()
        async with RawServer(answering(lambda r: response(r.line.encode()))) as server:
            lines = [(await fetch(http, request(server.url + f"/n{i}", "POST", b"x")))[2] for i in range(3)]
            streamed = CHUNKED_HEAD + chunk(b"a") + chunk(b"b") + LAST_CHUNK
            async with RawServer(answering(lambda _: streamed)) as other, http.send(request(other.url)) as got:
                body = b"".join([piece async for piece in got.chunks()])
        await http.aclose()
        return lines, server.connections, body

    lines, connections, body = uvloop.run(scenario())
    assert lines == [f"POST /n{i} HTTP/1.1".encode() for i in range(3)]
    assert connections == 1
    assert body == b"ab"
