"""The streamed (SSE) answer, sent by a small ASGI app of its own rather than Litestar's ``Stream``.

Litestar sends a stream through its general response machinery (header normalisation, cookies,
background tasks) and inside an anyio task group whose second task waits for ``http.disconnect``; all
of it sits between the upstream's first token and the client's. ``EventStream`` is a ``Stream`` to
the handler and to Litestar, but its ASGI app sends the pre-encoded headers, then each chunk as it
comes, from the handler's own task, and watches for the disconnect from one plain asyncio task, which
cancels the sending task when the client goes: the body generator then sees ``CancelledError`` at its
await, as it would under Litestar's task group, closes its upstream stream and records the request
as 499.

    return EventStream(body, headers={"x-tiergate-tier": "local", "cache-control": "no-cache"})
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping
from typing import Any

from litestar import Request
from litestar.response import Stream
from litestar.response.base import ASGIResponse
from litestar.types import Receive, Scope, Send

MEDIA_TYPE = "text/event-stream"


class EventStream(Stream):
    def __init__(self, body: AsyncGenerator[bytes, None], *, headers: Mapping[str, str]) -> None:
        super().__init__(body, media_type=MEDIA_TYPE, headers=dict(headers))
        self._body = body

    def to_asgi_response(self, app: Any, request: Request[Any, Any, Any], **kwargs: Any) -> ASGIResponse:
        """Headers set on the route (``kwargs["headers"]``) are kept; this response's own win."""
        merged = {**(kwargs.get("headers") or {}), **self.headers, "content-type": MEDIA_TYPE}
        raw = [(name.lower().encode("latin-1"), str(value).encode("latin-1")) for name, value in merged.items()]
        return _Sender(self._body, raw)


class _Sender(ASGIResponse):
    """Not ``ASGIResponse.__init__``: nothing here needs Litestar's encoding; only the ASGI call is used."""

    def __init__(self, body: AsyncGenerator[bytes, None], headers: list[tuple[bytes, bytes]]) -> None:
        self._chunks = body
        self._raw_headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sender = asyncio.current_task()
        assert sender is not None
        gone = False

        async def watch() -> None:
            nonlocal gone
            while (await receive())["type"] != "http.disconnect":
                pass
            gone = True
            sender.cancel()

        watcher = asyncio.ensure_future(watch())
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self._raw_headers})
            async for chunk in self._chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not gone:
                raise
            sender.uncancel()  # the client left: the stream is over, not the server
        finally:
            watcher.cancel()
            await self._chunks.aclose()  # a no-op once it has ended; otherwise it runs its cleanup now
