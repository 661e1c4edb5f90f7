"""UpstreamTransport against raw asyncio servers on 127.0.0.1: the exact bytes on the wire, streaming,
content-encoding, keep-alive, error mapping, the connection limit, proxies and closing.

The servers are ``asyncio.start_server`` handlers written here rather than ASGI apps, because several
cases need control below HTTP: the request bytes as received, a body cut short, a status line that is
not one, a server that never answers. Every wait on the other side is long (``WAIT``); only a timeout
that is itself under test is short.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import os
import urllib.parse
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, NamedTuple, TypeVar, cast

import aiohttp
import httpx
import pytest

from tiergate.backends.http11 import AfterHead, BodyCut
from tiergate.backends.transport import UpstreamTransport, _bypassed

#: Seconds to wait for something that should happen promptly; only a broken transport reaches it.
WAIT = 30.0
#: The client timeout of every request that does not test a timeout itself.
TIMEOUT = httpx.Timeout(WAIT)
#: A timeout under test: long enough to be a real wait, short enough to keep the suite quick.
SHORT = 0.2


# --- the raw servers ----------------------------------------------------------------------------------


class Received(NamedTuple):
    """One request as it arrived: the request line, the header lines in order, the decoded body."""

    line: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def names(self) -> list[str]:
        return sorted(name.lower() for name, _ in self.headers)

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def value(self, name: str) -> str:
        found = self.values(name)
        assert len(found) == 1, f"{name}: {found}"
        return found[0]


class Peer:
    """The server's side of one accepted connection."""

    def __init__(self, server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer

    async def head(self) -> Received | None:
        """The request line and headers (body left unread), or None when the client closed between requests."""
        try:
            raw = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                raise
            return None
        line, *lines = raw[:-4].decode("latin-1").split("\r\n")
        headers = [(name, value.strip()) for name, value in (item.split(":", 1) for item in lines)]
        return Received(line, headers, b"")

    async def request(self) -> Received | None:
        """One whole request, recorded in ``server.received``; None when the client closed between requests."""
        head = await self.head()
        if head is None:
            return None
        if "chunked" in ",".join(head.values("transfer-encoding")).lower():
            assert not head.values("content-length"), "a request with both Transfer-Encoding and Content-Length"
            body = await self.chunked_body()
        else:
            body = await self.reader.readexactly(int(next(iter(head.values("content-length")), "0")))
        received = head._replace(body=body)
        self.server.received.append(received)
        return received

    async def chunked_body(self) -> bytes:
        body = b""
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            body += (await self.reader.readexactly(size + 2))[:-2]
            if size == 0:
                await self.reader.readuntil(b"\r\n")  # the empty trailer section
                return body

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def until_closed_by_client(self) -> None:
        """Read (and drop) whatever the client sends until it closes the connection."""
        while await self.reader.read(65536):
            pass


Handler = Callable[[Peer], Awaitable[None]]


class RawServer:
    """A TCP server on 127.0.0.1 running ``handler`` for every connection. It counts connections and
    records the requests its peers read; a handler that fails fails the test on exit. Exiting cancels
    handlers still waiting (a server that "never answers" waits for that)."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.connections = 0
        self.received: list[Received] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._errors: list[BaseException] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        if exc is None and self._errors:
            raise AssertionError(f"the test server failed: {self._errors!r}") from self._errors[0]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            await self._handler(Peer(self, reader, writer))
        except (asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
            pass  # the test is over, or the client went away: both are the client's business
        except Exception as exc:
            self._errors.append(exc)
        finally:
            writer.close()


def response(body: bytes = b"", *, status: str = "200 OK", headers: Sequence[tuple[str, str]] = ()) -> bytes:
    """A response's bytes; a Content-Length is added unless the headers already frame the body."""
    lines = [f"HTTP/1.1 {status}", *(f"{name}: {value}" for name, value in headers)]
    if not any(name.lower() in ("content-length", "transfer-encoding") for name, _ in headers):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


CHUNKED_HEAD = response(headers=[("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked")])
LAST_CHUNK = b"0\r\n\r\n"


def answering(respond: Callable[[Received], bytes] = lambda _: response(b"ok")) -> Handler:
    """A keep-alive server: every request on the connection gets ``respond(request)``."""

    async def handler(peer: Peer) -> None:
        while (request := await peer.request()) is not None:
            await peer.send(respond(request))

    return handler


async def never_answering(peer: Peer) -> None:
    """Reads the request, then holds the connection open without a byte of answer."""
    await peer.request()
    await asyncio.Event().wait()


def transport(max_connections: int = 100, proxies: dict[str, str] | None = None) -> UpstreamTransport:
    """No proxies unless given, so proxy variables in the environment cannot reroute loopback requests."""
    return UpstreamTransport(max_connections=max_connections, proxies={} if proxies is None else proxies)


def client(max_connections: int = 100, proxies: dict[str, str] | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=transport(max_connections, proxies), timeout=TIMEOUT)


T = TypeVar("T")


def closing(items: AsyncIterator[T]) -> contextlib.aclosing[AsyncGenerator[T, None]]:
    """httpx's ``aiter_*`` are async generators: close one the test leaves before its end."""
    return contextlib.aclosing(cast(AsyncGenerator[T, None], items))


async def take(chunks: AsyncIterator[bytes], size: int) -> bytes:
    """Exactly the next ``size`` bytes of a body (more means pieces arrived together)."""
    got = b""
    while len(got) < size:
        got += await anext(chunks)
    return got


# --- 1. the request and response on the wire ----------------------------------------------------------


@pytest.mark.asyncio
async def test_post_sends_httpx_headers_once_and_the_response_arrives_intact() -> None:
    body = b'{"q": "hi", "bytes": "\xc3\xa9"}'
    answer_headers = [
        ("Content-Type", "application/octet-stream"),
        ("X-Multi", "a"),
        ("X-Multi", "b"),
    ]
    answer_body = bytes(range(256))

    async with (
        RawServer(answering(lambda _: response(answer_body, status="201 Created", headers=answer_headers))) as server,
        client() as http,
    ):
        got = await http.post(
            f"{server.url}/v1/chat?x=1&y=%20", content=body, headers={"X-Team": "core", "Authorization": "Bearer k"}
        )
        accept_encoding = http.headers["accept-encoding"]

    [sent] = server.received
    assert sent.line == "POST /v1/chat?x=1&y=%20 HTTP/1.1"
    assert sent.names == sorted(
        ["host", "accept", "accept-encoding", "connection", "user-agent", "x-team", "authorization", "content-length"]
    )
    assert sent.value("host") == f"127.0.0.1:{server.port}"
    assert sent.value("content-length") == str(len(body))
    assert sent.value("user-agent") == f"python-httpx/{httpx.__version__}"
    assert sent.value("accept") == "*/*"
    assert sent.value("accept-encoding") == accept_encoding
    assert sent.value("connection") == "keep-alive"
    assert sent.value("x-team") == "core"
    assert sent.value("authorization") == "Bearer k"
    assert sent.body == body

    assert got.status_code == 201
    assert got.reason_phrase == "Created"
    assert got.http_version == "HTTP/1.1"
    assert got.headers.raw == [
        (b"Content-Type", b"application/octet-stream"),
        (b"X-Multi", b"a"),
        (b"X-Multi", b"b"),
        (b"Content-Length", b"256"),
    ]
    assert got.headers.get_list("x-multi") == ["a", "b"]
    assert got.content == answer_body


@pytest.mark.asyncio
async def test_a_non_ascii_header_value_arrives_as_its_bytes() -> None:
    """Header values are bytes on the wire; UTF-8 in one (a filename, an error text) is no reason to fail."""
    headers = [("X-Note", "café".encode().decode("latin-1"))]  # response() writes latin-1: these are UTF-8 bytes
    async with RawServer(answering(lambda _: response(b"ok", headers=headers))) as server, client() as http:
        got = await http.get(server.url)

    assert got.headers.raw == [(b"X-Note", "café".encode()), (b"Content-Length", b"2")]
    assert got.headers["x-note"] == "café"
    assert got.text == "ok"


@pytest.mark.asyncio
async def test_a_content_type_the_caller_set_is_sent_once() -> None:
    async with RawServer(answering()) as server, client() as http:
        await http.post(server.url + "/json", json={"a": 1})
        await http.post(server.url + "/text", content=b"hi", headers={"Content-Type": "text/plain"})

    as_json, as_text = server.received
    assert as_json.values("content-type") == ["application/json"]
    assert as_json.body == b'{"a":1}'
    assert as_json.value("content-length") == "7"
    assert as_text.values("content-type") == ["text/plain"]
    assert as_text.body == b"hi"


@pytest.mark.asyncio
async def test_bodiless_get_and_empty_post_are_framed_as_httpx_frames_them() -> None:
    async with RawServer(answering()) as server, client() as http:
        await http.get(server.url + "/get")
        await http.post(server.url + "/empty", content=b"")

    get, empty = server.received
    assert get.line == "GET /get HTTP/1.1"
    assert get.values("content-length") == []
    assert get.values("transfer-encoding") == []
    assert get.values("content-type") == []
    assert empty.line == "POST /empty HTTP/1.1"
    assert empty.values("content-length") == ["0"]
    assert empty.values("transfer-encoding") == []
    assert empty.body == b""


@pytest.mark.asyncio
async def test_a_streamed_request_body_is_framed_exactly_once() -> None:
    """httpx marks a body given as an async iterator ``Transfer-Encoding: chunked``; the request on
    the wire must carry one framing (chunked or a Content-Length), never both (RFC 9112 6.3)."""

    async def handler(peer: Peer) -> None:
        head = await peer.head()
        assert head is not None
        peer.server.received.append(head)
        if head.values("transfer-encoding") and head.values("content-length"):
            await peer.send(response(b"both framings", status="400 Bad Request", headers=[("Connection", "close")]))
            return
        if head.values("transfer-encoding"):
            body = await peer.chunked_body()
        else:
            body = await peer.reader.readexactly(int(head.value("content-length")))
        await peer.send(response(body))

    async def parts() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b"cd"

    async with RawServer(handler) as server, client() as http:
        got = await http.post(server.url + "/upload", content=parts())

    [sent] = server.received
    framings = sent.values("transfer-encoding") + sent.values("content-length")
    assert len(framings) == 1, sent.headers
    assert (got.status_code, got.content) == (200, b"abcd")


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
async def test_aiter_bytes_yields_each_piece_as_it_arrives() -> None:
    sent: list[bytes] = []
    go = [asyncio.Event() for _ in PIECES]
    async with (
        RawServer(piecewise(sent, go)) as server,
        client() as http,
        http.stream("GET", server.url + "/events") as got,
        closing(got.aiter_bytes()) as chunks,
    ):
        assert got.status_code == 200
        assert got.headers["transfer-encoding"] == "chunked"
        for i, piece in enumerate(PIECES):
            assert await asyncio.wait_for(take(chunks, len(piece)), WAIT) == piece
            assert sent == PIECES[: i + 1]  # the next piece is still waiting for us
            go[i].set()
        assert [rest async for rest in chunks] == []


@pytest.mark.asyncio
async def test_aiter_lines_yields_each_line_as_it_arrives() -> None:
    sent: list[bytes] = []
    go = [asyncio.Event() for _ in PIECES]

    async def next_lines(lines: AsyncIterator[str], count: int) -> list[str]:
        return [await anext(lines) for _ in range(count)]

    async with (
        RawServer(piecewise(sent, go)) as server,
        client() as http,
        http.stream("GET", server.url + "/events") as got,
        closing(got.aiter_lines()) as lines,
    ):
        for i, piece in enumerate(PIECES):
            expected = piece.decode().split("\n")[:-1]  # "data: one\n\n" -> ["data: one", ""]
            assert await asyncio.wait_for(next_lines(lines, len(expected)), WAIT) == expected
            assert sent == PIECES[: i + 1]
            go[i].set()
        assert [rest async for rest in lines] == []


# --- 3. content-encoding --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_gzip_is_decoded_once_by_httpx() -> None:
    text = "héllo, wörld\n" * 500
    packed = gzip.compress(text.encode())
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Encoding", "gzip")]

    async with RawServer(answering(lambda _: response(packed, headers=headers))) as server, client() as http:
        got = await http.get(server.url + "/gz")
        async with http.stream("GET", server.url + "/gz") as raw:
            wire = b"".join([part async for part in raw.aiter_raw()])

    assert got.text == text
    assert got.headers["content-encoding"] == "gzip"
    assert got.headers["content-length"] == str(len(packed))
    assert got.num_bytes_downloaded == len(packed)
    assert wire == packed


# --- 4. keep-alive ---------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_sequential_requests_share_one_connection() -> None:
    async with RawServer(answering(lambda r: response(r.line.encode()))) as server, client(max_connections=1) as http:
        first = await http.get(server.url + "/one")
        second = await http.post(server.url + "/two", content=b"x")
        async with http.stream("GET", server.url + "/three") as third:
            third_body = await third.aread()

    assert (first.text, second.text, third_body) == (
        "GET /one HTTP/1.1",
        "POST /two HTTP/1.1",
        b"GET /three HTTP/1.1",
    )
    assert server.connections == 1
    assert len(server.received) == 3


def first_connection_then(first: Handler, rest: Handler) -> Handler:
    """The first connection runs ``first``; every later one runs ``rest``."""
    started: list[Peer] = []

    async def handler(peer: Peer) -> None:
        started.append(peer)
        await (first if len(started) == 1 else rest)(peer)

    return handler


@pytest.mark.asyncio
async def test_a_stream_closed_before_its_end_drops_its_connection() -> None:
    """The unread rest of a body must not be taken for the next response: that connection goes."""
    dropped = asyncio.Event()

    async def endless(peer: Peer) -> None:
        await peer.request()
        await peer.send(CHUNKED_HEAD + chunk(b"first"))
        await peer.until_closed_by_client()
        dropped.set()

    handler = first_connection_then(endless, answering(lambda _: response(b"fresh")))
    async with RawServer(handler) as server, client(max_connections=1) as http:
        async with (
            http.stream("GET", server.url + "/endless") as got,
            closing(got.aiter_bytes()) as chunks,
        ):
            assert await asyncio.wait_for(take(chunks, 5), WAIT) == b"first"
        await asyncio.wait_for(dropped.wait(), WAIT)
        after = await http.get(server.url + "/next")

    assert after.text == "fresh"
    assert server.connections == 2


@pytest.mark.asyncio
async def test_a_connection_the_server_closes_is_not_reused() -> None:
    async def once(peer: Peer) -> None:
        request = await peer.request()
        assert request is not None
        await peer.send(response(request.line.encode(), headers=[("Connection", "close")]))

    async with RawServer(once) as server, client(max_connections=1) as http:
        first = await http.get(server.url + "/one")
        second = await http.get(server.url + "/two")

    assert (first.text, second.text) == ("GET /one HTTP/1.1", "GET /two HTTP/1.1")
    assert server.connections == 2


@pytest.mark.asyncio
async def test_aclose_closes_the_pooled_connection() -> None:
    closed = asyncio.Event()

    async def handler(peer: Peer) -> None:
        await peer.request()
        await peer.send(response(b"ok"))
        await peer.until_closed_by_client()
        closed.set()

    async with RawServer(handler) as server:
        async with client() as http:
            assert (await http.get(server.url)).text == "ok"
            assert not closed.is_set()
        await asyncio.wait_for(closed.wait(), WAIT)


# --- 5. errors as httpx's exceptions ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_connection_refused_is_connect_error(closed_port: int) -> None:
    async with client() as http:
        with pytest.raises(httpx.ConnectError) as caught:
            await http.get(f"http://127.0.0.1:{closed_port}/x")
    assert caught.value.request.url == f"http://127.0.0.1:{closed_port}/x"


@pytest.mark.asyncio
async def test_a_server_that_never_answers_is_read_timeout() -> None:
    async with RawServer(never_answering) as server, client() as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(server.url + "/slow", timeout=httpx.Timeout(5, read=SHORT))
    assert [r.line for r in server.received] == ["GET /slow HTTP/1.1"]


@pytest.mark.asyncio
async def test_a_body_that_stalls_is_read_timeout() -> None:
    async def stalls(peer: Peer) -> None:
        await peer.request()
        await peer.send(CHUNKED_HEAD + chunk(b"first"))
        await asyncio.Event().wait()

    async with (
        RawServer(stalls) as server,
        client() as http,
        http.stream("GET", server.url, timeout=httpx.Timeout(5, read=SHORT)) as got,
        closing(got.aiter_bytes()) as chunks,
    ):
        assert await asyncio.wait_for(take(chunks, 5), WAIT) == b"first"
        with pytest.raises(httpx.ReadTimeout):
            await anext(chunks)


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
async def test_a_body_cut_short_is_remote_protocol_error(framing: str) -> None:
    """After the head came it is BodyCut, so the backends know the upstream had begun to answer."""
    async with RawServer(sends_then_closes(CUT_SHORT[framing])) as server, client() as http:
        async with http.stream("GET", server.url) as got:
            assert got.status_code == 200
            with pytest.raises(BodyCut):
                await got.aread()
        with pytest.raises(BodyCut):
            await http.get(server.url)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "answer",
    [b"garbage\r\n\r\n", b"HTTP/1.1 2000 Nope\r\n\r\n", b"HTTP/1.1 200 OK\r\nnot a header\r\n\r\n"],
    ids=["no-status-line", "bad-status-code", "bad-header-line"],
)
async def test_an_answer_that_is_not_http_is_remote_protocol_error(answer: bytes) -> None:
    async with RawServer(sends_then_closes(answer)) as server, client() as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(server.url)


@pytest.mark.asyncio
async def test_a_server_closing_without_an_answer_is_remote_protocol_error() -> None:
    async with RawServer(sends_then_closes(b"")) as server, client() as http:
        with pytest.raises(httpx.RemoteProtocolError) as info:
            await http.get(server.url)
    assert not isinstance(info.value, AfterHead)  # nothing came back: another try cannot pay twice


@pytest.mark.asyncio
async def test_a_failed_tls_handshake_is_connect_error() -> None:
    """https against a plain-HTTP server: the handshake fails, as httpx's own transport reports it."""

    async def plain(peer: Peer) -> None:
        await peer.reader.read(65536)  # the ClientHello
        await peer.send(response(b"not tls", status="400 Bad Request"))

    async with RawServer(plain) as server, client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"https://127.0.0.1:{server.port}/")


# --- 6. the connection limit -------------------------------------------------------------------------------


def echo_path(request: Received) -> bytes:
    return response(request.line.split()[1].encode())


@pytest.mark.asyncio
async def test_an_open_stream_holds_the_only_slot_until_closed() -> None:
    async with RawServer(answering(echo_path)) as server, client(max_connections=1) as http:
        async with http.stream("GET", server.url + "/held") as held:
            with pytest.raises(httpx.PoolTimeout):
                await http.get(server.url + "/refused", timeout=httpx.Timeout(5, pool=SHORT))
            assert await held.aread() == b"/held"
        after = await http.get(server.url + "/after", timeout=httpx.Timeout(WAIT, pool=SHORT))

    assert after.text == "/after"
    assert [r.line for r in server.received] == ["GET /held HTTP/1.1", "GET /after HTTP/1.1"]


@pytest.mark.asyncio
async def test_a_waiting_request_proceeds_when_the_slot_frees() -> None:
    async with RawServer(answering(echo_path)) as server, client(max_connections=1) as http:
        async with http.stream("GET", server.url + "/held"):
            waiting = asyncio.create_task(http.get(server.url + "/waiting"))
            await asyncio.sleep(SHORT)
            assert not waiting.done()
            assert len(server.received) == 1
        got = await asyncio.wait_for(waiting, WAIT)

    assert got.text == "/waiting"


@pytest.mark.asyncio
async def test_a_request_cancelled_while_waiting_for_a_slot_takes_none() -> None:
    async with RawServer(answering(echo_path)) as server, client(max_connections=1) as http:
        async with http.stream("GET", server.url + "/held"):
            waiting = asyncio.create_task(http.get(server.url + "/cancelled"))
            await asyncio.sleep(SHORT)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
        after = await http.get(server.url + "/after", timeout=httpx.Timeout(WAIT, pool=SHORT))

    assert after.text == "/after"
    assert [r.line for r in server.received] == ["GET /held HTTP/1.1", "GET /after HTTP/1.1"]


@pytest.mark.asyncio
async def test_refused_connections_release_their_slot(closed_port: int) -> None:
    async with client(max_connections=1) as http:
        for _ in range(2):
            with pytest.raises(httpx.ConnectError):
                await http.get(f"http://127.0.0.1:{closed_port}/", timeout=httpx.Timeout(WAIT, pool=SHORT))


FAILURES: dict[str, tuple[type[httpx.HTTPError], bytes | None]] = {
    "/hang": (httpx.ReadTimeout, None),
    "/cut": (httpx.RemoteProtocolError, CUT_SHORT["content-length"]),
    "/garbage": (httpx.RemoteProtocolError, b"garbage\r\n\r\n"),
    "/close": (httpx.RemoteProtocolError, b""),
}


async def failing_by_path(peer: Peer) -> None:
    """``/ok`` answers; the paths of ``FAILURES`` fail their own way and close (or hang)."""
    while (request := await peer.request()) is not None:
        path = request.line.split()[1]
        if path == "/ok":
            await peer.send(response(b"ok"))
            continue
        answer = FAILURES[path][1]
        if answer is None:
            await asyncio.Event().wait()
        await peer.send(answer or b"")
        return


@pytest.mark.asyncio
@pytest.mark.parametrize("path", sorted(FAILURES))
async def test_a_failed_request_releases_its_slot(path: str) -> None:
    error = FAILURES[path][0]
    timeout = httpx.Timeout(5, read=SHORT) if error is httpx.ReadTimeout else TIMEOUT
    async with RawServer(failing_by_path) as server, client(max_connections=1) as http:
        with pytest.raises(error):
            await http.get(server.url + path, timeout=timeout)
        after = await http.get(server.url + "/ok", timeout=httpx.Timeout(WAIT, pool=SHORT))
    assert after.text == "ok"


@pytest.mark.asyncio
async def test_a_request_cancelled_in_flight_releases_its_slot() -> None:
    async with RawServer(failing_by_path) as server, client(max_connections=1) as http:
        in_flight = asyncio.create_task(http.get(server.url + "/hang"))
        async with asyncio.timeout(WAIT):
            while not server.received:  # the request is out and waits for its answer
                await asyncio.sleep(0.01)
                assert not in_flight.done()
        in_flight.cancel()
        with pytest.raises(asyncio.CancelledError):
            await in_flight
        after = await http.get(server.url + "/ok", timeout=httpx.Timeout(WAIT, pool=SHORT))
    assert after.text == "ok"


# --- 7. proxies -------------------------------------------------------------------------------------------


def via_proxy(_: Received) -> bytes:
    return response(b"via proxy")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("credentials", "authorization"),
    [
        ("user:pw", "Basic dXNlcjpwdw=="),
        ("u%40x:p%3Aw", "Basic dUB4OnA6dw=="),  # u@x : p:w
        ("j%C3%BCrg:p%C3%A4ss", "Basic asO8cmc6cMOkc3M="),  # jürg : päss in UTF-8, as httpx encodes them
    ],
    ids=["plain", "percent-encoded", "non-ascii"],
)
async def test_an_http_proxy_gets_the_absolute_form_and_the_credentials(credentials: str, authorization: str) -> None:
    user, password = (urllib.parse.unquote(part) for part in credentials.split(":"))
    assert authorization == "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    async with (
        RawServer(answering(via_proxy)) as proxy,
        client(proxies={"http": f"http://{credentials}@127.0.0.1:{proxy.port}"}) as http,
    ):
        got = await http.get("http://example.invalid/path")

    assert got.text == "via proxy"
    [sent] = proxy.received
    assert sent.line == "GET http://example.invalid/path HTTP/1.1"
    assert sent.values("proxy-authorization") == [authorization]
    assert sent.value("host") == "example.invalid"
    assert sent.values("authorization") == []


@pytest.mark.asyncio
async def test_no_proxy_hosts_bypass_the_proxy() -> None:
    proxies = {"http": "http://user:pw@127.0.0.1:{port}", "no": "localhost, 127.0.0.1"}
    async with (
        RawServer(answering(via_proxy)) as proxy,
        RawServer(answering(echo_path)) as origin,
        client(proxies={k: v.format(port=proxy.port) for k, v in proxies.items()}) as http,
    ):
        got = await http.get(origin.url + "/direct")

    assert got.text == "/direct"
    assert proxy.connections == 0
    [sent] = origin.received
    assert sent.line == "GET /direct HTTP/1.1"
    assert sent.values("proxy-authorization") == []


@pytest.mark.asyncio
async def test_the_all_proxy_serves_http_and_an_address_needs_no_scheme() -> None:
    async with RawServer(answering(via_proxy)) as proxy, client(proxies={"all": f"127.0.0.1:{proxy.port}"}) as http:
        got = await http.get("http://example.invalid/path")

    assert got.text == "via proxy"
    [sent] = proxy.received
    assert sent.line == "GET http://example.invalid/path HTTP/1.1"
    assert sent.values("proxy-authorization") == []


@pytest.mark.asyncio
async def test_a_proxy_for_another_scheme_is_not_used() -> None:
    async with (
        RawServer(answering(via_proxy)) as proxy,
        RawServer(answering(echo_path)) as origin,
        client(proxies={"https": f"http://127.0.0.1:{proxy.port}"}) as http,
    ):
        got = await http.get(origin.url + "/direct")

    assert got.text == "/direct"
    assert proxy.connections == 0


@pytest.mark.asyncio
async def test_without_proxies_the_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name == "REQUEST_METHOD":
            monkeypatch.delenv(name)
    async with RawServer(answering(via_proxy)) as proxy, RawServer(answering(echo_path)) as origin:
        monkeypatch.setenv("HTTP_PROXY", f"http://user:pw@127.0.0.1:{proxy.port}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        from_env = httpx.AsyncClient(transport=UpstreamTransport(), timeout=TIMEOUT)
        monkeypatch.delenv("HTTP_PROXY")  # read when the transport is made, not per request
        async with from_env as http:
            proxied = await http.get("http://example.invalid/path")
            direct = await http.get(origin.url + "/direct")
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        async with client(proxies={}) as http:  # an explicit mapping ignores the environment
            ignored = await http.get(origin.url + "/ignored")

    assert (proxied.text, direct.text, ignored.text) == ("via proxy", "/direct", "/ignored")
    [sent] = proxy.received
    assert sent.line == "GET http://example.invalid/path HTTP/1.1"
    assert sent.value("proxy-authorization") == "Basic dXNlcjpwdw=="


@pytest.mark.asyncio
async def test_https_through_a_proxy_tunnels_and_a_refused_tunnel_is_proxy_error() -> None:
    """A CONNECT the proxy refuses is ``httpx.ProxyError``, as httpx's own transport reports it."""

    async def refuses(peer: Peer) -> None:
        await peer.request()
        await peer.send(response(status="407 Proxy Authentication Required"))

    async with (
        RawServer(refuses) as proxy,
        client(proxies={"https": f"http://user:pw@127.0.0.1:{proxy.port}"}) as http,
    ):
        with pytest.raises(httpx.ProxyError):
            await http.get("https://example.invalid/path")

    [sent] = proxy.received
    assert sent.line == "CONNECT example.invalid:443 HTTP/1.1"
    assert sent.value("proxy-authorization") == "Basic dXNlcjpwdw=="


@pytest.mark.parametrize(
    ("host", "no_proxy", "bypassed"),
    [
        ("anything.example.org", "*", True),
        ("example.com", "other.org, *", True),
        ("example.com", "example.com", True),
        ("example.com", "other.org , example.com", True),
        ("api.example.com", "example.com", True),
        ("api.example.com", ".example.com", True),
        ("example.com", ".example.com", True),
        ("API.Example.COM", "example.com", True),
        ("api.example.com", "EXAMPLE.com", True),
        ("127.0.0.1", "localhost,127.0.0.1", True),
        ("badexample.com", "example.com", False),
        ("badexample.com", ".example.com", False),
        ("example.com.evil.org", "example.com", False),
        ("example.com", "api.example.com", False),
        ("example.com", "", False),
        ("example.com", " , ,", False),
    ],
)
def test_bypassed(host: str, no_proxy: str, bypassed: bool) -> None:
    assert _bypassed(host, no_proxy) is bypassed


# --- 8. closing --------------------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("closer", ["client", "transport"])
async def test_a_closed_transport_refuses_requests_and_closes_twice(closer: str) -> None:
    async with RawServer(answering()) as server:
        used = transport()
        http = httpx.AsyncClient(transport=used, timeout=TIMEOUT)
        try:
            assert (await http.get(server.url)).text == "ok"
        finally:
            await (http.aclose() if closer == "client" else used.aclose())
        with pytest.raises(RuntimeError, match="the transport is closed"):
            await used.handle_async_request(httpx.Request("GET", server.url))
        await used.aclose()
        await used.aclose()
        await http.aclose()
    assert server.connections == 1


class Made:
    """Spies on aiohttp's session and connector classes: what the transport constructs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.made: list[str] = []
        for name in ("ClientSession", "TCPConnector"):
            monkeypatch.setattr(aiohttp, name, self._spy(name, getattr(aiohttp, name)))

    def _spy(self, name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def make(*args: Any, **kwargs: Any) -> Any:
            self.made.append(name)
            return real(*args, **kwargs)

        return make


@pytest.mark.asyncio
async def test_an_unused_transport_closes_without_making_anything(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Made(monkeypatch)
    unused = transport()
    await unused.aclose()
    await unused.aclose()
    with pytest.raises(RuntimeError, match="the transport is closed"):
        await unused.handle_async_request(httpx.Request("GET", "http://127.0.0.1:9/"))
    async with httpx.AsyncClient(transport=transport()):
        pass
    assert spy.made == []


@pytest.mark.asyncio
async def test_plain_http_makes_no_aiohttp_session_and_a_proxied_request_makes_one_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spy = Made(monkeypatch)
    async with RawServer(answering()) as server, client() as http:
        for _ in range(3):
            await http.get(server.url)
        assert spy.made == []  # plain HTTP without a proxy takes the direct path
    async with (
        RawServer(answering(via_proxy)) as proxy,
        client(proxies={"http": f"http://127.0.0.1:{proxy.port}"}) as http,
    ):
        for _ in range(3):
            assert (await http.get("http://example.invalid/path")).text == "via proxy"
        assert spy.made == ["TCPConnector", "ClientSession"]


def test_a_transport_made_outside_a_loop_serves_inside_one() -> None:
    """Backends are built before the server's loop runs: the transport must bind to nothing then."""
    made = transport(max_connections=1)

    async def use() -> list[str]:
        async with (
            RawServer(answering(echo_path)) as server,
            httpx.AsyncClient(transport=made, timeout=TIMEOUT) as http,
        ):
            return [(await http.get(f"{server.url}/{i}")).text for i in range(2)]

    assert asyncio.run(use()) == ["/0", "/1"]


@pytest.mark.asyncio
async def test_an_http_1_0_answer_reports_its_version() -> None:
    """An HTTP/1.0 answer (body up to the close) reads whole and says it is HTTP/1.0, as with httpx's transport."""

    async def old(peer: Peer) -> None:
        await peer.request()
        await peer.send(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nup to the close")

    async with RawServer(old) as server, client() as http:
        got = await http.get(server.url)

    assert got.text == "up to the close"
    assert got.http_version == "HTTP/1.0"


# --- the direct path's own cases (plain HTTP without a proxy: tiergate.backends.http11) -------------------


@pytest.mark.asyncio
async def test_a_large_body_read_slowly_arrives_whole_and_the_connection_is_kept() -> None:
    """More than the read buffer's high-water mark, consumed slowly: reading pauses and resumes."""
    big = bytes(range(256)) * 8192  # 2 MiB

    async with RawServer(answering(lambda _: response(big))) as server, client() as http:
        got = bytearray()
        async with http.stream("GET", server.url) as r:
            async for piece in r.aiter_raw():
                got += piece
                await asyncio.sleep(0)  # let the connection fill its buffer between reads
        assert bytes(got) == big
        assert (await http.get(server.url)).content == big
        assert server.connections == 1


@pytest.mark.asyncio
async def test_a_body_without_length_ends_when_the_upstream_closes() -> None:
    async def close_delimited(peer: Peer) -> None:
        await peer.request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nuntil the end")
        peer.writer.close()

    async with RawServer(close_delimited) as server, client() as http:
        got = await http.get(server.url)
        assert (got.status_code, got.text) == (200, "until the end")
        again = await http.get(server.url)  # the closed connection is not reused
        assert again.text == "until the end"
        assert server.connections == 2


@pytest.mark.asyncio
async def test_a_header_with_a_line_break_is_never_sent() -> None:
    async with RawServer(answering()) as server, client() as http:
        with pytest.raises(httpx.LocalProtocolError, match="line break"):
            await http.get(server.url, headers={"x-note": "a\r\nx-injected: yes"})
        assert server.received == []
        assert (await http.get(server.url)).text == "ok"  # the slot was given back


def test_the_direct_path_under_uvloop_as_the_server_runs_it() -> None:
    """uvicorn serves on uvloop, whose transports call ``connection_made`` a turn later than asyncio's."""
    import uvloop

    async def scenario() -> tuple[list[str], int, str]:
        async with RawServer(answering(lambda r: response(r.line.encode()))) as server:
            async with client() as http:
                lines = [(await http.post(server.url + f"/n{i}", content=b"x")).text for i in range(3)]
                async with RawServer(answering(lambda _: CHUNKED_HEAD + chunk(b"a") + chunk(b"b") + LAST_CHUNK)) as s2:
                    streamed = "".join([t async for t in (await http.get(s2.url)).aiter_text()])
            return lines, server.connections, streamed

    lines, connections, streamed = uvloop.run(scenario())
    assert lines == [f"POST /n{i} HTTP/1.1" for i in range(3)]
    assert connections == 1
    assert streamed == "ab"


@pytest.mark.asyncio
async def test_a_response_closed_unread_closes_its_connection() -> None:
    closed_by_client = asyncio.Event()

    async def answer_then_watch(peer: Peer) -> None:
        await peer.request()
        await peer.send(response(b"never read"))
        await peer.until_closed_by_client()
        closed_by_client.set()

    async with RawServer(answer_then_watch) as server, client(max_connections=1) as http:
        async with http.stream("GET", server.url) as r:
            assert r.status_code == 200  # and the body is left unread
        await asyncio.wait_for(closed_by_client.wait(), WAIT)
        again = await http.get(server.url, timeout=httpx.Timeout(WAIT, pool=SHORT))  # the slot was given back
        assert again.text == "never read"
        assert server.connections == 2


@pytest.mark.asyncio
async def test_a_kept_alive_connection_closed_as_it_is_reused_is_retried_on_a_new_one() -> None:
    async def once_then_drop(peer: Peer) -> None:
        request = await peer.request()
        assert request is not None
        await peer.send(response(f"answered on connection {peer.server.connections}".encode()))
        await peer.request()  # the next request arrives, and the connection closes unanswered

    async with RawServer(once_then_drop) as server, client() as http:
        assert (await http.post(server.url, content=b"1")).text == "answered on connection 1"
        assert (await http.post(server.url, content=b"2")).text == "answered on connection 2"
        assert [r.body for r in server.received] == [b"1", b"2", b"2"]


@pytest.mark.asyncio
async def test_a_connection_closed_after_part_of_an_answer_is_not_retried() -> None:
    async def half_then_drop(peer: Peer) -> None:
        await peer.request()
        await peer.send(response(b"first"))
        await peer.request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")

    async with RawServer(half_then_drop) as server, client() as http:
        assert (await http.get(server.url)).text == "first"
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(server.url)
        assert len(server.received) == 2  # sent once: part of an answer came back
