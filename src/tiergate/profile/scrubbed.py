"""A backend whose errors pass through the rules' Redactor, for ``tiergate profile``.

Dispatch scrubs every upstream error as it leaves its backend (tiergate.redact); ``tiergate profile`` calls
backends directly, and prints what they refuse with and writes it into the profile file (a probe's
``refused: ...``, a warm run's note), so an upstream that quotes the key, a header's token or the URL's
``?token=`` back would put it on the terminal and on disk. Each backend it builds is wrapped in this.

    backend = Scrubbed(build_backend(name, cfg, environ), Redactor.of(config, environ))
    await backend.complete(request, call)   # an UpstreamError it raises is already scrubbed
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from tiergate.backends.base import Backend, Call
from tiergate.errors import UpstreamError
from tiergate.wire import ChatRequest, Completion, StreamEvent


class Scrubbed:
    """``backend`` itself, but every UpstreamError it raises and every probe result it gives is scrubbed."""

    def __init__(self, backend: Backend, redact: Callable[[str], str]) -> None:
        self.backend = backend
        self.redact = redact
        self.name = backend.name
        self.url = backend.url
        self.probe_reaches = backend.probe_reaches

    def missing(self) -> str | None:
        return self.backend.missing()

    async def complete(self, request: ChatRequest, call: Call) -> Completion:
        try:
            return await self.backend.complete(request, call)
        except UpstreamError as exc:
            exc.scrub(self.redact)
            raise

    async def stream(self, request: ChatRequest, call: Call) -> AsyncIterator[StreamEvent]:
        events = self.backend.stream(request, call)
        try:
            async for event in events:
                yield event
        except UpstreamError as exc:
            exc.scrub(self.redact)
            raise
        finally:  # a reader that stops early closes the backend's stream now, not when it is collected
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()

    async def probe(self) -> str | None:
        why = await self.backend.probe()
        return self.redact(why) if why else why

    async def aclose(self) -> None:
        await self.backend.aclose()
