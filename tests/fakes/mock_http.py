"""An HTTP client that answers from a handler, in memory: backends are unit-tested through it, no sockets.

It is :class:`tiergate.backends.http.HttpClient` (as httpx's ``MockTransport`` is a transport): a backend
gets it injected and runs its real code, from the request it builds to the response it reads. The
handler sees each :class:`~tiergate.backends.http.Request` and returns a :class:`Reply`; what it raises,
the client raises (an aiohttp exception, to test how the backend translates it), and what the reply's
body raises while it is read becomes :class:`~tiergate.backends.http.BodyError`, as it does on the wire.

    client = MockClient(lambda request: Reply(200, {"content-type": "application/json"}, b'{"ok": true}'))
    backend = OpenAIBackend("vllm", cfg, environ, client=client)
    ...
    assert json.loads(client.requests[0].body)["model"] == "m"

:func:`asgi` makes a handler of an ASGI app, so the queue-driven fakes of ``tests/fakes`` answer in memory
too: ``MockClient(asgi(FakeAnthropic().app))``. A fake that breaks its body off (``Cut``) is read as a
cut body (aiohttp's ``ClientPayloadError``); a client that stops reading cancels the app, as a closed
connection would.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import urllib.parse
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import aiohttp
from multidict import CIMultiDict

from tiergate.backends.http import Request, Response

Body = bytes | Sequence[bytes] | AsyncIterable[bytes]


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] | list[tuple[str, str]] = field(default_factory=dict)
    #: Bytes, pieces (each its own chunk), or an async iterable whose exceptions are body errors.
    body: Body = b""


Handler = Callable[[Request], Reply | Awaitable[Reply]]


class MockClient:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self.closed = False
        self.open = 0  # exchanges entered and not yet left: a backend must leave every one

    def send(self, request: Request) -> _Exchange:
        return _Exchange(self, request)

    async def aclose(self) -> None:
        self.closed = True


class _Exchange:
    def __init__(self, client: MockClient, request: Request) -> None:
        self._client = client
        self._request = request
        self._body: AsyncIterator[bytes] | None = None

    async def __aenter__(self) -> Response:
        if self._client.closed:
            raise RuntimeError("the HTTP client is closed")
        self._client.requests.append(self._request)
        if self._request.sent is not None:  # as aiohttp's hook says the request's head went out
            self._request.sent()
        reply = self._client.handler(self._request)
        if inspect.isawaitable(reply):
            reply = await reply
        body = self._body = _pieces(reply.body)
        self._client.open += 1
        return Response(reply.status, CIMultiDict(reply.headers), lambda: body)

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._client.open -= 1
        closer = getattr(self._body, "aclose", None)
        if closer is not None:
            await closer()


async def _pieces(body: Body) -> AsyncIterator[bytes]:
    if isinstance(body, bytes):
        if body:
            yield body
        return
    if isinstance(body, Sequence):
        for piece in body:
            yield piece
        return
    async for piece in body:
        yield piece


# --- ASGI apps as handlers ------------------------------------------------------------------------


_END = object()


def asgi(app: Any) -> Handler:
    """A handler that serves each request with ``app`` (an ASGI application), in this event loop."""

    async def handle(request: Request) -> Reply:
        url = urllib.parse.urlsplit(request.url)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": urllib.parse.unquote(url.path),
            "raw_path": url.path.encode(),
            "query_string": url.query.encode(),
            "root_path": "",
            "headers": [(k.lower().encode(), v.encode()) for k, v in request.headers.items()],
            "client": ("127.0.0.1", 50000),
            "server": (url.hostname or "mock", url.port or 80),
            "state": {},
        }
        head: asyncio.Future[tuple[int, list[tuple[str, str]]]] = asyncio.get_running_loop().create_future()
        pieces: asyncio.Queue[object] = asyncio.Queue()
        gone = asyncio.Event()
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": request.body or b"", "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if gone.is_set():
                raise OSError("the client went away")
            if message["type"] == "http.response.start":
                headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", [])]
                head.set_result((message["status"], headers))
            elif message["type"] == "http.response.body":
                if message.get("body"):
                    await pieces.put(message["body"])
                if not message.get("more_body", False):
                    await pieces.put(_END)

        async def run() -> None:
            try:
                await app(scope, receive, send)
            except Exception as exc:
                if not head.done():
                    head.set_exception(exc)
                await pieces.put(exc)

        task = asyncio.create_task(run())
        try:
            status, headers = await head
        except BaseException:
            task.cancel()
            raise

        async def body() -> AsyncIterator[bytes]:
            try:
                while (piece := await pieces.get()) is not _END:
                    if isinstance(piece, Exception):
                        raise aiohttp.ClientPayloadError("Response payload is not completed") from piece
                    assert isinstance(piece, bytes)
                    yield piece
            finally:
                gone.set()
                if not task.done():
                    task.cancel()
                with contextlib.suppress(BaseException):
                    await task

        return Reply(status, headers, body())

    return handle
