"""The one HTTP client every backend calls its upstream with: aiohttp, behind a seam of one verb.

A backend builds a :class:`Request`, ``send``\\s it, and reads the :class:`Response` inside the ``async
with``; leaving the block gives the connection back (or drops it, if the body was not read to its end).
The seam is :class:`HttpClient`, so a backend takes any client: :class:`AiohttpClient` in the gateway, a
handler answering in memory in tests (``tests/fakes/mock_http.py``, as httpx's ``MockTransport``).

    client = AiohttpClient(max_connections=100)
    request = Request("POST", url, headers, body, connect_timeout=5, total_timeout=600)
    async with client.send(request) as response:
        async for chunk in response.chunks(): ...

What it keeps from a careful HTTP client, and what it leaves out:

- ``total_timeout`` bounds the whole exchange, body included (a ``stream``'s body is its reader's to
  bound); ``connect_timeout`` the TCP (and TLS) connect; a free connection is waited for up to
  ``total_timeout`` (:class:`PoolTimeout`);
- the proxy variables (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY``) are read once, when the
  client is made, and resolved once per host (aiohttp's ``trust_env`` re-reads them, and ``~/.netrc``, on
  every request); TLS uses the system's trust store (``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` apply);
- bodies are decoded (``content-encoding``); no cookies, no redirects;
- a whole body (:meth:`Response.read`) is capped at :data:`MAX_BODY_BYTES` (an error status's body at
  :data:`ERROR_BODY_BYTES`, its first part kept), so an upstream that never ends one is not buffered until
  ``total_timeout``; a stream's units are capped by :mod:`tiergate.protocols.framing`;
- the aiohttp session is made on first use, inside the running loop (backends are built before it runs),
  and closed by :meth:`AiohttpClient.aclose`.

Errors leave as aiohttp raised them (``aiohttp.ClientError``, ``TimeoutError``, ``OSError``), plus the three
below; :mod:`tiergate.backends.failures` translates all of them in one table. The one distinction that
table needs is made here, where it is known: an error while reading a body is :class:`BodyError`.

    HttpError
    ├── PoolTimeout     every connection stayed busy for the request's ``total_timeout``
    ├── Unsendable      the request cannot be put on the wire (a header with a line break, a bad URL)
    ├── BodyError       the head had come (the upstream began to answer) and then the body failed
    └── TooLarge        a whole success body passed :data:`MAX_BODY_BYTES` (a malformed answer, not a cut one)
"""

from __future__ import annotations

import asyncio
import base64
import functools
import urllib.request
from collections.abc import AsyncIterator, Callable, Mapping
from importlib.metadata import version
from types import SimpleNamespace, TracebackType
from typing import NamedTuple, Protocol

import aiohttp
import yarl
from aiohttp.http_exceptions import HttpProcessingError

#: Sent with every request unless the backend sets its own.
USER_AGENT = f"tiergate/{version('tiergate')}"
#: The most bytes a whole (non-stream) body may hold. A whole answer is at most a few MB of JSON: a model's
#: longest output (128k tokens, about 0.5 MB of text) is a few MB even with every character escaped, as is a
#: whole answer's one tool call carrying a file. 64 MiB leaves many times that (and four times a stream
#: unit's cap), and bounds what an upstream that never ends its body costs in memory per call. Read at each
#: read, so a test may lower it.
MAX_BODY_BYTES = 64 * 1024 * 1024
#: The most of an error status's body that is read: the error quotes a JSON envelope's ``message`` (a few
#: hundred bytes, a few KB at most) or else the body's first 200 characters. 64 KiB holds any real envelope
#: whole; past it the body is cut there, unread (its connection is dropped), and the status decides as ever.
ERROR_BODY_BYTES = 64 * 1024
#: Errors that reading a body may raise; each becomes a BodyError. aiohttp's Python parser
#: (``AIOHTTP_NO_EXTENSIONS``) hands the body's reader its own parse error as it raised it (a
#: ``TransferEncodingError`` for a chunk size that is no number), which is no ``ClientError``.
_BODY_ERRORS = (aiohttp.ClientError, HttpProcessingError, OSError, TimeoutError)


class HttpError(Exception):
    """Raised by the client itself, beside aiohttp's own exceptions."""


class PoolTimeout(HttpError):
    """Every connection the backend may open stayed busy for the request's ``total_timeout``."""


class Unsendable(HttpError):
    """The request cannot be sent as it is: nothing went on the wire."""


class BodyError(HttpError):
    """Reading the body failed after the response head had come; ``__cause__`` is what failed."""


class TooLarge(HttpError):
    """A whole success body passed :data:`MAX_BODY_BYTES`. Says the cap, never the bytes (they may be huge, or
    hold a secret)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the body passed the {limit}-byte cap")
        self.limit = limit


class Request(NamedTuple):
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None = None
    connect_timeout: float = 5.0
    total_timeout: float = 600.0
    #: A stream's body is bounded by its reader (dispatch's ``first_token``, ``idle`` and ``total``, which
    #: leave out the time a client takes to read what it was sent); ``total_timeout`` then bounds only the
    #: wait for a free connection, so a client that reads slowly never reads as a slow upstream.
    stream: bool = False
    #: Called once the request's head has gone out: from then on the upstream may be at work on it (a whole
    #: answer's goes on generating, and billing, when tiergate stops waiting), which a failure to connect
    #: or a wait for a free connection never reaches (:meth:`tiergate.backends.base.Billed.sent`).
    sent: Callable[[], None] | None = None


class Response:
    """A response whose body is read as it arrives. Body errors are :class:`BodyError`."""

    __slots__ = ("_iter", "ended", "headers", "status")

    def __init__(
        self,
        status: int,
        headers: Mapping[str, str],
        iter_any: Callable[[], AsyncIterator[bytes]],
    ) -> None:
        self.status = status
        #: Case-insensitive.
        self.headers = headers
        #: True once the body was read to its end (the connection can then be reused).
        self.ended = False
        self._iter = iter_any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    async def read(self) -> bytes:
        """The whole body; past :data:`MAX_BODY_BYTES`, :class:`TooLarge`. An error status's body is only read
        for its message: its first :data:`ERROR_BODY_BYTES`, the rest left unread."""
        limit = MAX_BODY_BYTES if self.ok else ERROR_BODY_BYTES
        pieces: list[bytes] = []
        size = 0
        try:
            async for chunk in self._iter():
                pieces.append(chunk)
                size += len(chunk)
                if size > limit:
                    if not self.ok:
                        return b"".join(pieces)[:limit]
                    pieces.clear()  # the error's traceback keeps this frame alive
                    raise TooLarge(limit)
        except _BODY_ERRORS as exc:
            raise BodyError(_reason(exc)) from exc
        self.ended = True
        return b"".join(pieces)

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body in the pieces it arrives in."""
        try:
            async for chunk in self._iter():
                yield chunk
        except _BODY_ERRORS as exc:
            raise BodyError(_reason(exc)) from exc
        self.ended = True

    async def drain(self, limit: float = 0.25) -> None:
        """Read what is left of a body whose answer is complete, so its connection can be reused.

        An answer is whole at its final event, but the upstream may still owe the body's last bytes (an
        SSE ``[DONE]``, the chunked encoding's end); leaving them unread closes the connection, and the next
        call pays a new TCP (and TLS) handshake. Bounded: an upstream that never ends its body is dropped.
        """
        try:
            async with asyncio.timeout(limit):
                async for _ in self.chunks():
                    pass
        except (BodyError, TimeoutError):
            pass


class HttpClient(Protocol):
    def send(self, request: Request) -> Exchange:
        """The exchange for ``request``: ``async with client.send(request) as response``."""
        ...

    async def aclose(self) -> None: ...


class Exchange(Protocol):
    async def __aenter__(self) -> Response: ...

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class AiohttpClient:
    """One backend's connections. ``max_connections`` bounds those open at once (each in use by one call).

    ``proxies`` is ``urllib.request.getproxies()``'s shape (``{"https": url, "no": "a,b"}``); None reads the
    environment, once, here.
    """

    def __init__(self, max_connections: int = 100, proxies: Mapping[str, str] | None = None) -> None:
        self.max_connections = max_connections
        self._slots = asyncio.Semaphore(max_connections)
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self._proxies = dict(urllib.request.getproxies_environment() if proxies is None else proxies)
        self._proxy_by_host: dict[tuple[str, str], _Proxy] = {}

    def send(self, request: Request) -> Exchange:
        return _AiohttpExchange(self, request)

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def _open(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("the HTTP client is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0),  # the slots are the limit: their wait has its own error
                cookie_jar=aiohttp.DummyCookieJar(),
                headers={"user-agent": USER_AGENT},
                timeout=aiohttp.ClientTimeout(total=None),
                trace_configs=[_SENT],
            )
        return self._session

    async def _acquire(self, wait: float) -> None:
        if not self._slots.locked():
            await self._slots.acquire()
            return
        try:
            async with asyncio.timeout(wait):
                await self._slots.acquire()
        except TimeoutError:
            busy = f"all {self.max_connections} connections stayed busy for {wait:g}s"
            raise PoolTimeout(busy) from None

    def _proxy(self, url: yarl.URL) -> _Proxy:
        key = (url.scheme, url.host or "")
        found = self._proxy_by_host.get(key)
        if found is None:
            found = self._proxy_by_host[key] = _resolve_proxy(url, self._proxies)
        return found


class _AiohttpExchange:
    __slots__ = ("_client", "_request", "_response")

    def __init__(self, client: AiohttpClient, request: Request) -> None:
        self._client = client
        self._request = request
        self._response: aiohttp.ClientResponse | None = None

    async def __aenter__(self) -> Response:
        client, request = self._client, self._request
        session = client._open()
        await client._acquire(request.total_timeout)
        try:
            url = _url(request.url)
            proxy = client._proxy(url)
            headers = request.headers
            if proxy.headers and url.scheme == "http":  # aiohttp sends proxy_headers with CONNECT only
                headers = {**headers, **proxy.headers}
            try:
                response = await session.request(
                    request.method,
                    url,
                    headers=headers,
                    data=request.body,
                    allow_redirects=False,
                    proxy=proxy.url,
                    proxy_headers=proxy.headers if url.scheme == "https" else None,
                    timeout=_timeout(None if request.stream else request.total_timeout, request.connect_timeout),
                    trace_request_ctx=request.sent,
                )
            except ValueError as exc:
                if isinstance(exc, aiohttp.ClientError):
                    raise
                raise Unsendable(_reason(exc)) from exc  # e.g. a header value with a line break
        except BaseException:
            client._slots.release()
            raise
        self._response = response
        return Response(response.status, response.headers, response.content.iter_any)

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        response, self._response = self._response, None
        if response is None:
            return
        response.release()  # back to the pool after a whole body; closed otherwise
        self._client._slots.release()


async def next_chunk(chunks: AsyncIterator[bytes], until: float | None) -> bytes:
    """The body's next chunk, by ``until`` (on the loop's clock) when one is set: ``TimeoutError`` past it. A
    stream whose answer is whole waits this long for its end marker (``StopAsyncIteration``: the body ended)."""
    if until is None:
        return await anext(chunks)
    async with asyncio.timeout_at(until):
        return await anext(chunks)


async def _head_sent(_session: object, context: SimpleNamespace, _params: object) -> None:
    """aiohttp's hook for a request whose head went out: calls the request's ``sent``, when it has one."""
    if (sent := context.trace_request_ctx) is not None:
        sent()


#: The hooks every session runs: only :func:`_head_sent`.
_SENT = aiohttp.TraceConfig()
_SENT.on_request_headers_sent.append(_head_sent)


class _Proxy(NamedTuple):
    url: yarl.URL | None
    headers: dict[str, str] | None


_NO_PROXY = _Proxy(None, None)


def _resolve_proxy(url: yarl.URL, proxies: Mapping[str, str]) -> _Proxy:
    address = proxies.get(url.scheme) or proxies.get("all")
    if not address or _bypassed(url.host or "", proxies.get("no", "")):
        return _NO_PROXY
    proxy = yarl.URL(address if "://" in address else f"http://{address}")
    headers = None
    if proxy.user is not None or proxy.password is not None:
        pair = f"{proxy.user or ''}:{proxy.password or ''}".encode()
        headers = {"Proxy-Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
    return _Proxy(proxy.with_user(None), headers)


def _bypassed(host: str, no_proxy: str) -> bool:
    """``NO_PROXY`` as curl reads it: ``*``, or names that match the host or a parent domain."""
    host = host.lower()
    for entry in (e.strip().lower().lstrip(".") for e in no_proxy.split(",")):
        if entry == "*" or (entry and (host == entry or host.endswith("." + entry))):
            return True
    return False


@functools.lru_cache(maxsize=256)
def _url(url: str) -> yarl.URL:
    """Parsed once: a backend calls the same few URLs."""
    return yarl.URL(url)


@functools.lru_cache(maxsize=64)
def _timeout(total: float | None, connect: float) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=total, sock_connect=connect)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
