"""The HTTP transport under every backend's httpx client.

httpx stays the API the backends speak (requests, responses, streaming, its exception types), but its
default transport costs about a millisecond of CPU per upstream call and grows with the pool: httpcore
checks every pooled connection on each request. ``UpstreamTransport`` sends each request one of two
ways (docs/benchmarks.md measures both against httpcore):

- plain HTTP without a proxy (Ollama, vLLM, llama.cpp: the local tier) goes through the direct
  HTTP/1.1 path in ``tiergate.backends.http11``;
- TLS (Anthropic) and anything behind a proxy go through aiohttp's client, adapted here.

What both keep from httpx's own transport:

- the exceptions: every error leaves here as the httpx exception a backend already translates
  (``ConnectError``, ``ConnectTimeout``, ``PoolTimeout``, ``ReadTimeout``, ``ReadError``,
  ``RemoteProtocolError``), so tiergate.backends.failures stays the only translation; an error while
  reading a body is ``http11.BodyCut`` or ``http11.BodyTimeout``, so a call the upstream had begun to
  answer is never mistaken for one that never reached it;
- the timeouts of each request (``connect``, ``read``, ``pool``) from httpx's ``timeout`` extension;
- the connection limit, as a semaphore with its own ``PoolTimeout`` (aiohttp's limit would report a
  pool wait as a connect timeout);
- the raw body: httpx decodes ``content-encoding`` itself, so the transport must not;
- the trust store (httpx's ``create_ssl_context``) and the proxy variables (``HTTPS_PROXY``,
  ``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY``), read once when the transport is made and resolved once per
  host (aiohttp's own ``trust_env`` re-reads them, and ``~/.netrc``, in a thread on every request);
- no cookies and no redirects (httpx follows none unless asked).

The aiohttp session is created on first use, inside the running loop, and closed by ``aclose`` (which
``httpx.AsyncClient.aclose`` calls), so a backend that never sent a request owns nothing to close.

    client = httpx.AsyncClient(transport=UpstreamTransport(max_connections=100))
"""

from __future__ import annotations

import asyncio
import base64
import functools
import ssl
import urllib.request
from collections.abc import AsyncIterator, Mapping
from typing import Any, NamedTuple

import aiohttp
import httpx
import yarl

from tiergate.backends import http11


class UpstreamTransport(httpx.AsyncBaseTransport):
    def __init__(self, max_connections: int = 100, proxies: Mapping[str, str] | None = None) -> None:
        """``proxies`` is ``urllib.request.getproxies()``'s shape (``{"https": url, "no": "a,b"}``);
        None reads the environment."""
        self.max_connections = max_connections
        self._slots = asyncio.Semaphore(max_connections)
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self._proxies = dict(urllib.request.getproxies_environment() if proxies is None else proxies)
        self._proxy_by_host: dict[tuple[str, str], _Proxy] = {}
        self._tls: ssl.SSLContext | None = None
        self._pool = http11.ConnectionPool()

    def _tls_for(self, url: httpx.URL) -> ssl.SSLContext | bool:
        """httpx's trust store for https (made on first use: loading it takes milliseconds)."""
        if url.scheme != "https":
            return True
        if self._tls is None:
            self._tls = httpx.create_ssl_context()
        return self._tls

    def _proxy(self, url: httpx.URL) -> _Proxy:
        key = (url.scheme, url.host)
        found = self._proxy_by_host.get(key)
        if found is None:
            address = self._proxies.get(url.scheme) or self._proxies.get("all")
            if not address or _bypassed(url.host, self._proxies.get("no", "")):
                found = _Proxy(None, None)
            else:
                proxy = yarl.URL(address if "://" in address else f"http://{address}")
                headers = None
                if proxy.user is not None or proxy.password is not None:
                    pair = f"{proxy.user or ''}:{proxy.password or ''}".encode()
                    headers = {"Proxy-Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
                found = _Proxy(proxy.with_user(None), headers)
            self._proxy_by_host[key] = found
        return found

    def _open(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("the transport is closed")
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=0)
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("the transport is closed")
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise httpx.PoolTimeout(f"no free connection within {timeouts.get('pool')}s", request=request) from exc
        try:
            body = await request.aread()
            proxy = self._proxy(request.url)
            if request.url.scheme == "http" and proxy.url is None and request.method != "HEAD":
                return await self._direct(request, body, timeouts)
            session = self._open()
            with _translated(request):
                response = await session.request(
                    request.method,
                    str(request.url),
                    headers=_headers(request, proxy),
                    data=body or None,
                    allow_redirects=False,
                    proxy=proxy.url,
                    proxy_headers=proxy.headers if request.url.scheme == "https" else None,
                    ssl=self._tls_for(request.url),
                    skip_auto_headers=_SKIP_AUTO_HEADERS,
                    timeout=_client_timeout(timeouts.get("connect"), timeouts.get("read")),
                )
        except BaseException:
            self._slots.release()
            raise
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_ResponseBody(response, request, self._slots),
            request=request,
            extensions={
                "http_version": _version(response),
                "reason_phrase": (response.reason or "").encode("latin-1", errors="replace"),
            },
        )

    async def _direct(self, request: httpx.Request, body: bytes, timeouts: dict[str, float | None]) -> httpx.Response:
        """Plain HTTP without a proxy: the direct path (tiergate.backends.http11); it owns the slot on success."""
        if self._closed:
            raise RuntimeError("the transport is closed")
        read = timeouts.get("read")
        key = (request.url.host, request.url.port or 80)
        conn, status, headers = await self._pool.send(
            request, body=body, connect_timeout=timeouts.get("connect"), read_timeout=read
        )
        return httpx.Response(
            status_code=status,
            headers=headers,
            stream=http11.Body(self._pool, key, conn, read, on_close=self._slots.release),
            request=request,
            extensions={"http_version": b"HTTP/" + conn.http_version.encode(), "reason_phrase": conn.reason},
        )

    async def aclose(self) -> None:
        self._closed = True
        await self._pool.aclose()
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


@functools.lru_cache(maxsize=64)
def _client_timeout(connect: float | None, read: float | None) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read)


def _version(response: aiohttp.ClientResponse) -> bytes:
    version = response.version
    return f"HTTP/{version.major}.{version.minor}".encode() if version else b"HTTP/1.1"


def _headers(request: httpx.Request, proxy: _Proxy) -> list[tuple[str, str]]:
    # the body is sent whole, so aiohttp frames it with a Content-Length: httpx's chunked marker must go
    headers = [(k, v) for k, v in request.headers.multi_items() if k != "transfer-encoding"]
    if proxy.headers and request.url.scheme == "http":  # aiohttp sends proxy_headers on CONNECT only
        headers.extend(proxy.headers.items())
    return headers


class _Proxy(NamedTuple):
    url: yarl.URL | None
    headers: dict[str, str] | None


def _bypassed(host: str, no_proxy: str) -> bool:
    """``NO_PROXY`` as curl and httpx read it: ``*``, or names that match the host or a parent domain."""
    host = host.lower()
    for entry in (e.strip().lower().lstrip(".") for e in no_proxy.split(",")):
        if entry == "*" or (entry and (host == entry or host.endswith("." + entry))):
            return True
    return False


#: Headers aiohttp would add on its own; httpx has already set the ones the request needs.
_SKIP_AUTO_HEADERS = frozenset({"Accept", "Accept-Encoding", "User-Agent", "Content-Type"})


class _ResponseBody(httpx.AsyncByteStream):
    """The body as it arrives; closing it returns the connection (or drops it if the body was cut short)."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request, slots: asyncio.Semaphore) -> None:
        self._response = response
        self._request = request
        self._slots: asyncio.Semaphore | None = slots

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except TimeoutError as exc:  # aiohttp's SocketTimeoutError (sock_read) is one
            raise http11.BodyTimeout(str(exc) or type(exc).__name__, request=self._request) from exc
        except aiohttp.ClientError as exc:
            raise http11.BodyCut(str(exc) or type(exc).__name__, request=self._request) from exc

    async def aclose(self) -> None:
        self._response.release()
        if self._slots is not None:
            slots, self._slots = self._slots, None
            slots.release()


class _translated:
    """aiohttp's exceptions as the httpx ones they correspond to (cf. httpx's ``map_httpcore_exceptions``)."""

    def __init__(self, request: httpx.Request) -> None:
        self._request = request

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, aiohttp.ClientError | TimeoutError):
            raise _as_httpx(exc, self._request) from exc


def _as_httpx(exc: BaseException, request: httpx.Request) -> httpx.HTTPError:
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ClientProxyConnectionError):
        return httpx.ConnectError(message, request=request)
    if isinstance(exc, TimeoutError):  # SocketTimeoutError (sock_read) is one too
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        return httpx.ProxyError(message, request=request)
    if isinstance(exc, aiohttp.ClientResponseError):  # a response aiohttp could not parse
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(message, request=request)
    return httpx.ReadError(message, request=request)
