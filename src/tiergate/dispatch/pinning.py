"""Pinned Ollama targets are loaded before their first request: at start-up, and when a reload pins one.

Every call to a pinned target already sends ``keep_alive: -1``, so once loaded it stays; this loads it
ahead of time, with the context window its requests send (``options.num_ctx``), so the first request
does not wait for the model to come off the disk. The load runs in
the background (start-up and reloads never wait for it); a server that cannot load it is logged and
left alone, and the first call loads it as usual. A model is loaded once per backend object: a reload
that keeps the backend does not ask again, one that rebuilds it (another URL) does.

    pinner = Pinner()
    pinner.build(graph, runtime_backends, redact)   # per load, from the Switchboard (redact: the load's Redactor)
    lifespan = pinner.lifespan()            # loads what start-up found, once the loop runs
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

from tiergate.engine.graph import EvaluationGraph
from tiergate.errors import UpstreamError

log = logging.getLogger("tiergate.switch")


class Loader(Protocol):
    name: str

    async def pin(self, model: str, num_ctx: int | None = None) -> None: ...


class Pinner:
    def __init__(self) -> None:
        #: (backend name, model) → the backend object asked to load it.
        self._asked: dict[tuple[str, str], object] = {}
        self._pending: list[tuple[Loader, str, int | None, Callable[[str], str]]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.loaded: list[tuple[str, str]] = []

    def build(self, graph: EvaluationGraph, backends: Mapping[str, object], redact: Callable[[str], str] = str) -> None:
        """Load the pinned models this load names that were not asked of this backend object yet; a failure is
        logged through ``redact`` (the load's Redactor: a server's refusal may quote the header it was sent)."""
        for target in graph.chains.all_targets():
            backend = backends.get(target.backend)
            if not target.pinned or backend is None or not hasattr(backend, "pin"):
                continue
            key = (target.backend, target.model)
            if self._asked.get(key) is backend:
                continue
            self._asked[key] = backend
            self._pending.append((backend, target.model, target.num_ctx, redact))  # type: ignore[arg-type]
        self._start()

    def _start(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # the first load happens before the server's loop runs: the lifespan starts it
            return
        for backend, model, num_ctx, redact in self._pending:
            task = loop.create_task(self._pin(backend, model, num_ctx, redact))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self._pending.clear()

    async def _pin(self, backend: Loader, model: str, num_ctx: int | None, redact: Callable[[str], str]) -> None:
        try:
            await backend.pin(model, num_ctx)
        except UpstreamError as exc:
            exc.scrub(redact)
            log.warning("pinned model %s not loaded ahead of its first request: %s", model, exc)
            return
        self.loaded.append((backend.name, model))
        log.info("pinned model %s loaded on backend '%s'", model, backend.name)

    def lifespan(self) -> Callable[[Any], AbstractAsyncContextManager[None]]:
        @asynccontextmanager
        async def lifespan(app: Any) -> AsyncIterator[None]:
            self._start()
            try:
                yield
            finally:
                for task in list(self._tasks):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

        return lifespan
