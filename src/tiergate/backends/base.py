"""The backend seam: one Protocol, one implementation per file.

A backend turns a :class:`~tiergate.wire.ChatRequest` into its upstream's wire format and back into
a :class:`~tiergate.wire.Completion` or a stream of events. It raises only
:class:`~tiergate.errors.UpstreamError` subclasses: library exceptions (httpx, ollama) are
translated inside the backend, so nothing above it catches foreign errors.

Backends do not enforce first-token or idle timeouts, retries or breakers: dispatch wraps every
backend the same way. They do use ``call.connect_timeout`` and bound a call by ``call.total_timeout``.

    backend = build_backend("ollama", config.backends["ollama"], os.environ)
    completion = await backend.complete(request, Call(model="qwen2.5-coder:7b"))
    async for event in backend.stream(request, call): ...
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Mapping
from typing import Protocol

import msgspec

from tiergate.config.base import PositiveInt, Strict
from tiergate.wire import ChatRequest, Completion, StreamEvent


class Call(msgspec.Struct, frozen=True):
    model: str
    connect_timeout: float = 5.0
    total_timeout: float = 600.0


class Backend(Protocol):
    name: str
    url: str

    def missing(self) -> str | None:
        """What this backend lacks to be called at all (e.g. an unset key variable), or None."""
        ...

    async def complete(self, request: ChatRequest, call: Call) -> Completion: ...

    def stream(self, request: ChatRequest, call: Call) -> AsyncIterator[StreamEvent]:
        """Events in order; ends after exactly one Finish (and an optional UsageReport)."""
        ...

    async def probe(self) -> str | None:
        """A cheap reachability check for /ready: None when reachable, else why not."""
        ...

    async def aclose(self) -> None: ...


class BackendConfigBase(Strict, tag_field="kind", frozen=True):
    """A named connection to a model server; `kind` selects which of the variants applies.

    Each kind is one module of this package: its config Struct (a subclass of this, with its ``tag``)
    builds its backend; :mod:`tiergate.backends.registry` finds it.
    """

    base_url: str
    """Where the backend listens, e.g. `http://127.0.0.1:11434`. `${VAR}` and `${VAR:-default}` expand
    from the environment."""
    headers: dict[str, str] = {}
    """Extra HTTP headers sent with every request to this backend (values may use `${VAR}`)."""
    max_connections: PositiveInt = 100
    """Most concurrent HTTP connections to this backend."""
    description: str | None = None
    """Free text for people reading the file."""

    def build(self, name: str, environ: Mapping[str, str]) -> Backend:
        """The backend this config describes; keys are read from ``environ`` here and nowhere else."""
        raise NotImplementedError


async def drain(lines: AsyncIterator[object], limit: float = 0.25) -> None:
    """Read what is left of a finished stream's body so its connection can be reused.

    An answer is complete at its final event, but the upstream may still owe the body's last bytes;
    leaving them unread makes httpx close the connection, and the next stream pays a new TCP (and
    TLS) handshake. Bounded, so an upstream that never ends its body cannot hold the stream open.
    """
    with contextlib.suppress(Exception):
        async with asyncio.timeout(limit):
            async for _ in lines:
                pass


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds an upstream asked us to wait: ``retry-after-ms`` (finer) wins over ``retry-after``.

    HTTP-date values, negatives and non-finite numbers are ignored (reading a date would need a clock).
    """
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            seconds = float(headers.get(name, "")) * scale
        except ValueError:
            continue
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    return None


def secret_from_env(env_name: str | None, environ: Mapping[str, str]) -> str | None:
    if not env_name:
        return None
    value = environ.get(env_name, "").strip()
    return value or None
