"""What each Ollama server holds in memory, as its ``/api/ps`` last said: the ``target.<tier>.loaded`` feature.

One :class:`Residency` lives as long as the process. Each load attaches its backends (``attach``; those
that can list their residents, i.e. Ollama's). A read (``loaded``) never waits on the network: it answers
from the last ``/api/ps``, and when that is older than the backend's ``loaded_ttl`` it starts one refresh
in the background, so the next request sees the new answer. Unknown (never asked yet, or ``/api/ps``
failed) reads as not loaded: a rule that prefers a loaded model does not fire on no evidence. The model
switch (:mod:`tiergate.dispatch.switch`) asks afresh (``fresh``) and says what it unloaded (``dropped``).

A failed ``/api/ps`` is shown by ``/health`` (open to anyone) and the log, and an upstream's refusal may quote
the Authorization header it was sent: its text passes through the load's Redactor (tiergate.redact), and the
error ``fresh`` raises is scrubbed by it too.

    residency = Residency()
    residency.attach(runtime.backends, runtime.redact)
    residency.loaded("ollama", "qwen2.5-coder:7b")   # True / False; None: not an Ollama backend
    residency.report()                                # /health's "loaded"
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from tiergate.errors import UpstreamError
from tiergate.protocols.ollama_ps import Resident, same_model

log = logging.getLogger("tiergate.residency")


class ResidentSource(Protocol):
    """A backend that can list the models its server holds in memory (:class:`OllamaBackend`)."""

    name: str

    @property
    def loaded_ttl(self) -> float: ...

    async def residents(self) -> list[Resident]: ...


@dataclass
class _Seen:
    #: What the last successful ``/api/ps`` listed; None while unknown.
    models: tuple[Resident, ...] | None = None
    #: Clock time of the last answer or failure (``-inf``: never asked).
    at: float = -math.inf
    error: str | None = None
    refreshing: bool = False


@dataclass
class Residency:
    clock: Callable[[], float] = time.monotonic
    _sources: dict[str, ResidentSource] = field(default_factory=dict)
    _seen: dict[str, _Seen] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    #: The current load's Redactor: what ``/api/ps`` failures show passes through it.
    _redact: Callable[[str], str] = str

    def attach(self, backends: Mapping[str, object], redact: Callable[[str], str] = str) -> None:
        """The backends of a new load and its Redactor; a backend rebuilt (its config changed) starts from
        unknown."""
        self._redact = redact
        sources: dict[str, ResidentSource] = {
            name: backend  # type: ignore[misc]
            for name, backend in backends.items()
            if callable(getattr(backend, "residents", None))
        }
        for name in list(self._seen):
            if self._sources.get(name) is not sources.get(name):
                del self._seen[name]
        self._sources = sources

    def manages(self, backend: str) -> bool:
        return backend in self._sources

    def loaded(self, backend: str, model: str) -> bool | None:
        """Whether ``model`` is in ``backend``'s memory, as last seen; None for a backend that cannot say."""
        source = self._sources.get(backend)
        if source is None:
            return None
        seen = self._seen.setdefault(backend, _Seen())
        if not seen.refreshing and self.clock() - seen.at >= source.loaded_ttl:
            self._refresh_soon(backend, source, seen)
        return seen.models is not None and any(same_model(model, r.name) for r in seen.models)

    async def fresh(self, backend: str) -> list[Resident]:
        """Ask ``/api/ps`` now (the switch, before it unloads); raises the backend's UpstreamError."""
        source = self._sources[backend]
        seen = self._seen.setdefault(backend, _Seen())
        await self._ask(backend, source, seen, raise_=True)
        return list(seen.models or ())

    def dropped(self, backend: str, model: str) -> None:
        """``model`` was unloaded: it reads as not loaded until ``/api/ps`` says otherwise."""
        seen = self._seen.get(backend)
        if seen is not None and seen.models is not None:
            seen.models = tuple(r for r in seen.models if not same_model(model, r.name))

    def report(self) -> dict[str, Any]:
        """``/health``'s ``loaded``: per Ollama backend, the models in memory, how old that is, the error."""
        now = self.clock()
        out: dict[str, Any] = {}
        for name in sorted(self._sources):
            seen = self._seen.get(name, _Seen())
            out[name] = {
                "models": [r.name for r in seen.models] if seen.models is not None else None,
                "checked_s_ago": round(now - seen.at, 3) if math.isfinite(seen.at) else None,
                "error": seen.error,
            }
        return out

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _refresh_soon(self, backend: str, source: ResidentSource, seen: _Seen) -> None:
        try:
            task = asyncio.get_running_loop().create_task(self._ask(backend, source, seen, raise_=False))
        except RuntimeError:  # no running loop (an offline dry run): nothing to refresh with
            return
        seen.refreshing = True
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _ask(self, backend: str, source: ResidentSource, seen: _Seen, *, raise_: bool) -> None:
        seen.refreshing = True
        try:
            models = await source.residents()
        except Exception as exc:  # an UpstreamError; anything else (a closed client) must not kill the task
            if isinstance(exc, UpstreamError):
                exc.scrub(self._redact)  # raised on to the switch scrubbed too
                detail = exc.detail
            else:
                detail = self._redact(f"{type(exc).__name__}: {exc}")
            if seen.error is None:
                log.warning("backend '%s': /api/ps failed, loaded models unknown: %s", backend, detail)
            seen.models, seen.error, seen.at = None, detail, self.clock()
            if raise_:
                raise
            return
        finally:
            seen.refreshing = False
        if seen.error is not None:
            log.info("backend '%s': /api/ps answers again", backend)
        seen.models, seen.error, seen.at = tuple(models), None, self.clock()
