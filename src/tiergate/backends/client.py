"""The HTTP client the Anthropic and OpenAI-compatible backends call their upstreams with.

It is the part of ``httpx.AsyncClient`` those backends use (``post``, ``get``, ``stream``, ``aclose``),
built on httpx's own ``Request`` and ``Response`` and sent straight to the transport. What the full
client adds on each call (cookie jar, auth flow, redirect handling, event hooks, header merging) is
nothing an upstream LLM API needs, and cost about a tenth of a gateway request's CPU time. Responses,
streaming and exceptions are httpx's, so the backends' error handling is unchanged.

    client = UpstreamClient(max_connections=100)
    response = await client.post(url, content=body, headers=headers, timeout=httpx.Timeout(600, connect=5))
    async with client.stream("POST", url, content=body, headers=headers, timeout=timeout) as response:
        async for line in response.aiter_lines(): ...
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Mapping
from importlib.metadata import version

import httpx

from tiergate.backends.transport import UpstreamTransport

#: What httpx.AsyncClient would send by default, with tiergate's own user agent.
DEFAULT_HEADERS = {
    "accept": "*/*",
    "accept-encoding": "gzip, deflate",
    "user-agent": f"tiergate/{version('tiergate')}",
}

Timeout = httpx.Timeout | float


class UpstreamClient:
    def __init__(self, max_connections: int = 100) -> None:
        self.transport = UpstreamTransport(max_connections)

    # ``timeout`` is httpx's per-phase limits (connect, read, pool), as in httpx.AsyncClient: hence noqa.
    async def post(
        self,
        url: str,
        *,
        content: bytes,
        headers: Mapping[str, str],
        timeout: Timeout,  # noqa: ASYNC109
    ) -> httpx.Response:
        return await self._send(_request("POST", url, content, headers, timeout))

    async def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str],
        timeout: Timeout,  # noqa: ASYNC109
    ) -> httpx.Response:
        return await self._send(_request("GET", url, None, headers, timeout))

    @contextlib.asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        *,
        content: bytes,
        headers: Mapping[str, str],
        timeout: Timeout,  # noqa: ASYNC109
    ) -> AsyncIterator[httpx.Response]:
        """The response with its body unread; closed (connection returned or dropped) on exit."""
        response = await self.transport.handle_async_request(_request(method, url, content, headers, timeout))
        try:
            yield response
        finally:
            await response.aclose()

    async def _send(self, request: httpx.Request) -> httpx.Response:
        response = await self.transport.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    async def aclose(self) -> None:
        await self.transport.aclose()


def _request(
    method: str, url: str, content: bytes | None, headers: Mapping[str, str], timeout: Timeout
) -> httpx.Request:
    limits = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
    merged = {**DEFAULT_HEADERS, **{name.lower(): value for name, value in headers.items()}}
    return httpx.Request(method, _url(url), content=content, headers=merged, extensions={"timeout": limits.as_dict()})


@functools.lru_cache(maxsize=256)
def _url(url: str) -> httpx.URL:
    """Parsed once: a backend calls the same few URLs, and parsing one took a fifth of this client's time."""
    return httpx.URL(url)
