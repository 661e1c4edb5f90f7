"""Plain-HTTP/1.1 upstream connections on asyncio, for the transport's direct path.

Local upstreams (Ollama, vLLM, llama.cpp, LM Studio) speak plain HTTP on loopback or the LAN, where
the client library's own overhead is the largest part of a call. This is the smallest client that does
that job: keep-alive connections per host, requests written in one piece, responses parsed by
httptools (the C parser uvicorn uses), bodies streamed as they arrive with flow control. TLS and
proxies are not here: the transport sends those requests through aiohttp.

Errors are raised as httpx's exceptions, like every transport under httpx: ``ConnectError``,
``ConnectTimeout``, ``ReadTimeout``, ``RemoteProtocolError``. A connection goes back to its host's
pool only after a complete response that allows keep-alive; anything else (a body cut short, a
cancelled read, an error) closes it.

    pool = ConnectionPool()
    conn, status, headers = await pool.send(request, body=body, connect_timeout=5.0, read_timeout=600.0)
    stream = Body(pool, key, conn, read_timeout=600.0, on_close=give_back_slot)
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import cast

import httptools
import httpx


class AfterHead:
    """Marks an error raised while reading a response *body*: the head (a status line) had come, so the
    upstream had accepted the request and begun to answer. Backends never retry such a call."""


class BodyCut(AfterHead, httpx.RemoteProtocolError):
    """The body ended before its announced end (Content-Length, last chunk) or the connection broke."""


class BodyTimeout(AfterHead, httpx.ReadTimeout):
    """No more of the body came within the read timeout."""


#: Body bytes buffered before the connection stops reading (and TCP pushes back on the upstream).
HIGH_WATER = 256 * 1024
#: Idle connections kept per host.
MAX_IDLE = 32


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection; the httptools callbacks fill in the current response."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.http_version = "1.1"
        self.closed = False
        self.error: Exception | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._wake: asyncio.Future[None] | None = None
        self.reset()

    def reset(self) -> None:
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.until_close = False
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.received = 0

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.lost.done():
            self.lost.set_result(None)
        if self.until_close and exc is None:  # a body with neither length nor chunks ends with the connection
            self.complete = True
        if not self.complete and self.error is None:
            self.error = httpx.RemoteProtocolError(
                "the upstream closed the connection before the response ended" + (f" ({exc})" if exc else "")
            )
        self._notify()

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(httpx.RemoteProtocolError("the upstream switched protocols"))
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"unreadable HTTP response: {exc}"))

    # httptools callbacks

    def on_status(self, reason: bytes) -> None:
        self.reason = bytes(reason)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((bytes(name), bytes(value)))

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        self.keep_alive = self._parser.should_keep_alive()
        self.http_version = self._parser.get_http_version()
        names = {name.lower() for name, _ in self.headers}
        self.until_close = (
            b"content-length" not in names
            and b"transfer-encoding" not in names
            and self.status >= 200
            and self.status not in (204, 304)
        )
        self.headers_done = True
        self._notify()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(bytes(body))
        self.buffered += len(body)
        if self.buffered > HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()
        self._notify()

    def on_message_complete(self) -> None:
        self.complete = True
        self._notify()

    # the caller's side

    def _fail(self, error: Exception) -> None:
        self.error = error
        if self.transport is not None:
            self.transport.close()
        self._notify()

    def _notify(self) -> None:
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def wait(self, read_timeout: float | None) -> None:
        """Until the parser has news (headers, a body piece, the end, an error), at most ``read_timeout``."""
        self._wake = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(read_timeout):
                await self._wake
        except TimeoutError:
            raise httpx.ReadTimeout(f"no data from the upstream within {read_timeout}s") from None
        finally:
            self._wake = None

    def take(self) -> bytes:
        chunk = self.chunks.popleft()
        self.buffered -= len(chunk)
        if self.buffered <= HIGH_WATER // 2 and self.transport is not None and not self.closed:
            self.transport.resume_reading()
        return chunk

    def reusable(self) -> bool:
        return self.complete and self.keep_alive and not self.closed and self.error is None and not self.chunks

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.closed = True


class ConnectionPool:
    """Keep-alive connections by (host, port). The caller bounds how many are in use at once."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._closed = False

    async def send(
        self, request: httpx.Request, *, body: bytes, connect_timeout: float | None, read_timeout: float | None
    ) -> tuple[_Connection, int, list[tuple[bytes, bytes]]]:
        """Write ``request`` and wait for the response head: (connection, status, raw headers)."""
        key = (request.url.host, request.url.port or 80)
        data = _head(request, body) + body
        conn = self._checkout(key)
        if conn is not None:
            try:
                return await self._exchange(conn, data, read_timeout)
            except httpx.RemoteProtocolError:
                if conn.received:
                    raise
                # A kept-alive connection the upstream closed as we reused it: nothing came back, so
                # the request goes once more on a new connection (an LLM call has no side effect to repeat).
        conn = await self._connect(key, connect_timeout)
        return await self._exchange(conn, data, read_timeout)

    async def _exchange(
        self, conn: _Connection, data: bytes, read_timeout: float | None
    ) -> tuple[_Connection, int, list[tuple[bytes, bytes]]]:
        assert conn.transport is not None
        conn.reset()
        try:
            conn.transport.write(data)
            while not conn.headers_done:
                if conn.error is not None:
                    raise conn.error
                await conn.wait(read_timeout)
        except BaseException:
            conn.close()
            raise
        return conn, conn.status, conn.headers

    def release(self, key: tuple[str, int], conn: _Connection) -> None:
        if self._closed or not conn.reusable():
            conn.close()
            return
        idle = self._idle.setdefault(key, [])
        if len(idle) >= MAX_IDLE:
            conn.close()
        else:
            idle.append(conn)

    async def aclose(self) -> None:
        self._closed = True
        idle = [conn for conns in self._idle.values() for conn in conns]
        self._idle.clear()
        for conn in idle:
            conn.close()
        if idle:  # wait for the sockets to be closed, so none is left for the garbage collector
            await asyncio.wait([conn.lost for conn in idle], timeout=1.0)
            await asyncio.sleep(0)

    def _checkout(self, key: tuple[str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn.closed and conn.transport is not None and not conn.transport.is_closing():
                return conn
        return None

    async def _connect(self, key: tuple[str, int], connect_timeout: float | None) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(connect_timeout):
                transport, conn = await loop.create_connection(_Connection, key[0], key[1])
        except TimeoutError:
            raise httpx.ConnectTimeout(f"no connection to {key[0]}:{key[1]} within {connect_timeout}s") from None
        except OSError as exc:
            raise httpx.ConnectError(f"cannot connect to {key[0]}:{key[1]}: {exc.strerror or exc}") from exc
        conn.transport = transport  # uvloop calls connection_made on the loop's next turn, after this returns
        return conn


class Body(httpx.AsyncByteStream):
    """A response body as it arrives. Read to its end, the connection goes back to the pool; closed
    before that (or never read), the connection is closed. ``on_close`` runs once, when httpx closes
    the response (the transport gives back its connection slot there)."""

    def __init__(
        self,
        pool: ConnectionPool,
        key: tuple[str, int],
        conn: _Connection,
        read_timeout: float | None,
        on_close: Callable[[], None],
    ) -> None:
        self._pool = pool
        self._key = key
        self._conn = conn
        self._read_timeout = read_timeout
        self._on_close: Callable[[], None] | None = on_close
        self._settled = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        while True:
            if conn.chunks:
                yield conn.take()
            elif conn.complete:
                self._settle()
                return
            elif conn.error is not None:
                raise BodyCut(str(conn.error)) from conn.error
            else:
                try:
                    await conn.wait(self._read_timeout)
                except httpx.ReadTimeout as exc:
                    raise BodyTimeout(str(exc)) from None

    def _settle(self) -> None:
        """Give the connection back if it can serve another request (release checks), else close it."""
        if not self._settled:
            self._settled = True
            self._pool.release(self._key, self._conn)

    async def aclose(self) -> None:
        self._settle()
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            on_close()


def _head(request: httpx.Request, body: bytes) -> bytes:
    """The request line and headers. The body goes whole, so it is framed by Content-Length."""
    lines = [b"%s %s HTTP/1.1" % (request.method.encode(), request.url.raw_path)]
    framed = False
    for name, value in request.headers.raw:
        if b"\r" in name + value or b"\n" in name + value:
            raise httpx.LocalProtocolError("a header name or value holds a line break")
        lowered = name.lower()
        if lowered == b"transfer-encoding":
            continue
        framed |= lowered == b"content-length"
        lines.append(b"%s: %s" % (name, value))
    if not framed and (body or request.method in ("POST", "PUT", "PATCH")):
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n"
