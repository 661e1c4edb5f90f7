"""Raw asyncio HTTP/1.1 servers on 127.0.0.1, for tests that need control below HTTP: the request bytes as
received, a body cut short, a status line that is not one, a server that never answers.

    async with RawServer(answering(lambda request: response(b"ok"))) as server:
        ...  # send to server.url
    assert server.received[0].line == "GET / HTTP/1.1"
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from types import TracebackType
from typing import Any, NamedTuple


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


@contextlib.contextmanager
def serve_raw(handler: Handler) -> Iterator[RawServer]:
    """A :class:`RawServer` on an event loop of its own in a background thread, for tests that drive the real
    gateway (served in another thread) from synchronous code."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = RawServer(handler)
    try:
        asyncio.run_coroutine_threadsafe(server.__aenter__(), loop).result(10)
        try:
            yield server
        finally:
            asyncio.run_coroutine_threadsafe(server.__aexit__(None, None, None), loop).result(10)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


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
