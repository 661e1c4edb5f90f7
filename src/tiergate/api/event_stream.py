"""The streamed (SSE) answer: Litestar's ``Stream`` with a cheaper watch for a client that leaves.

Litestar sends a stream inside an anyio task group whose second task waits for ``http.disconnect``;
setting that group up sits between the upstream's first token and the client's, and costs more than
everything else tiergate does at that moment. ``EventStream`` sends the same ASGI messages from the
handler's own task and watches for the disconnect from one plain asyncio task, which cancels the
sending task when the client goes: the body generator then sees ``CancelledError`` at its await, as it
would under Litestar's task group, closes its upstream stream and records the request as 499.

    return EventStream(body, media_type="text/event-stream", headers=headers)
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncGenerator, AsyncIterable, Iterable
from typing import Any

from litestar import Request
from litestar.background_tasks import BackgroundTask, BackgroundTasks
from litestar.datastructures import Cookie
from litestar.response import Stream
from litestar.response.base import ASGIResponse
from litestar.response.streaming import ASGIStreamingResponse
from litestar.types import Receive, Send


class EventStream(Stream):
    def to_asgi_response(
        self,
        app: Any,
        request: Request[Any, Any, Any],
        *,
        background: BackgroundTask | BackgroundTasks | None = None,
        cookies: Iterable[Cookie] | None = None,
        encoded_headers: Iterable[tuple[bytes, bytes]] | None = None,
        headers: dict[str, str] | None = None,
        is_head_response: bool = False,
        media_type: str | None = None,
        status_code: int | None = None,
        **_: Any,
    ) -> ASGIResponse:
        return _WatchedStream(
            background=self.background or background,
            content_length=0,
            cookies=self.cookies if cookies is None else itertools.chain(self.cookies, cookies),
            encoded_headers=encoded_headers,
            encoding=self.encoding,
            headers={**headers, **self.headers} if headers is not None else self.headers,
            is_head_response=is_head_response,
            iterator=self.iterator,  # type: ignore[arg-type]
            media_type=self.media_type or media_type,
            status_code=self.status_code or status_code,
        )


class _WatchedStream(ASGIStreamingResponse):
    async def send_body(self, send: Send, receive: Receive) -> None:
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
            await self._stream(send)
        except asyncio.CancelledError:
            if not gone:
                raise
            sender.uncancel()  # the client left: the stream is over, not the server
        finally:
            watcher.cancel()
            await _close(self.iterator)


async def _close(iterator: AsyncIterable[Any]) -> None:
    """Finish the body generator now (a no-op once it has ended) rather than at garbage collection."""
    if isinstance(iterator, AsyncGenerator):
        await iterator.aclose()
