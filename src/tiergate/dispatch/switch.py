"""A small GPU holds one model at a time: an Ollama backend's ``max_loaded``, kept before each call.

Before a call to a model that the server does not hold, the switch asks ``/api/ps`` afresh and unloads
(``keep_alive: 0``) the least recently used other models (the soonest to expire) until the new one fits
in ``max_loaded``. It never unloads a ``pinned`` model (when pinned models fill the limit it logs a
warning and lets the call through) nor one that a call through this gateway is still using: it waits
for those calls to end. Models in use here count as loaded even before ``/api/ps`` lists them (a model
is listed once it has loaded). One lock per backend orders the calls that need a look: while a switch
waits, new calls on that backend wait behind it, so two requests for two models take turns instead of
unloading each other's model mid-answer.

With ``state.redis_url`` the calls in flight and the lock are every process's
(:class:`~tiergate.state.switch.SharedSwitch`): a worker or replica never unloads a model another one
is answering with, and while Redis is down each process counts its own calls, as without it.

The wait is bounded by the target's ``timeouts.first_token``; past it the attempt fails as a timeout
and dispatch moves on to the next target. A failing ``/api/ps`` or unload never fails a call: it is
logged (``/api/ps`` once, when it starts failing) and the call goes on (Ollama then evicts by its own rules).
What such a failure logs has passed through the load's Redactor (tiergate.redact): an Ollama server behind
a proxy may quote the Authorization header it refused.

    board = Switchboard(residency)                          # one per process: its state outlives reloads
    switch = board.build(graph, runtime_backends, redact)   # per load: the pinned models, the limits, the secrets
    async with switch.hold(target): ...             # around one call; a stream holds it until it ends
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from tiergate.dispatch.pinning import Pinner
from tiergate.engine.graph import EvaluationGraph
from tiergate.engine.targets import Target
from tiergate.errors import UpstreamError, UpstreamUnavailable
from tiergate.protocols.ollama_ps import Resident, same_model
from tiergate.state.link import Down
from tiergate.state.switch import SharedSwitch, wait
from tiergate.telemetry.residency import Residency

log = logging.getLogger("tiergate.switch")


class Switch(Protocol):
    """What dispatch holds around a call: room for the target's model on its server."""

    def hold(self, target: Target) -> contextlib.AbstractAsyncContextManager[None]: ...


class NoSwitch:
    """Every call goes straight through (no backend has ``max_loaded``)."""

    def hold(self, target: Target) -> contextlib.AbstractAsyncContextManager[None]:
        return contextlib.nullcontext()


class Unloader(Protocol):
    name: str
    url: str

    @property
    def max_loaded(self) -> int | None: ...

    async def unload(self, model: str) -> None: ...


@dataclass
class _Room:
    """One server's calls in flight through this gateway, by model, and the lock their switches take."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    active: dict[str, int] = field(default_factory=dict)
    #: Set (and replaced) whenever a call ends, to wake a switch waiting for its model to be free.
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    #: The models in use on any process, as the last shared look saw them (what a waiting switch waits for).
    shared_busy: list[str] = field(default_factory=list)

    def leave(self, model: str) -> None:
        left = self.active.get(model, 1) - 1
        if left > 0:
            self.active[model] = left
        else:
            self.active.pop(model, None)
        self.ended.set()
        self.ended = asyncio.Event()


@dataclass
class Switchboard:
    residency: Residency
    #: Per backend name: the backend object it was made for (a rebuilt backend gets a new room).
    _rooms: dict[str, tuple[object, _Room]] = field(default_factory=dict)
    #: Unloads done, by backend, for /metrics and tests.
    unloads: dict[str, int] = field(default_factory=dict)
    #: Loads pinned models ahead of their first request (the other half of managing the server's memory).
    pinner: Pinner = field(default_factory=Pinner)
    #: Calls in flight counted across processes (``state.redis_url``); None: this process's alone.
    shared: SharedSwitch | None = None

    def build(
        self, graph: EvaluationGraph, backends: Mapping[str, object], redact: Callable[[str], str] = str
    ) -> Switch:
        """The switch for one load: its pinned models and the backends that have ``max_loaded``. The load's
        backends are attached to the residency here too, so ``/api/ps`` is asked of the current ones, and the
        pinned models this load names are loaded in the background. ``redact`` (the load's Redactor) scrubs
        what the residency, the pinner and the switch log or show of a failure."""
        self.residency.attach(backends, redact)
        self.pinner.build(graph, backends, redact)
        limited: dict[str, tuple[Unloader, _Room]] = {}
        for name, backend in backends.items():
            limit = getattr(backend, "max_loaded", None)
            if not isinstance(limit, int) or not self.residency.manages(name):
                continue
            owner, room = self._rooms.get(name, (None, None))
            if owner is not backend or room is None:
                room = _Room()
                self._rooms[name] = (backend, room)
            limited[name] = (backend, room)  # type: ignore[assignment]
        if not limited:
            return NoSwitch()
        pinned: dict[str, frozenset[str]] = {}
        for target in graph.chains.all_targets():
            if target.pinned:
                pinned[target.backend] = pinned.get(target.backend, frozenset()) | {target.model}
        return LoadSwitch(self, limited, pinned, redact)


@dataclass
class LoadSwitch:
    board: Switchboard
    limited: dict[str, tuple[Unloader, _Room]]
    pinned: dict[str, frozenset[str]]
    redact: Callable[[str], str] = str

    @contextlib.asynccontextmanager
    async def hold(self, target: Target) -> AsyncIterator[None]:
        found = self.limited.get(target.backend)
        if found is None:
            yield
            return
        backend, room = found
        bound = target.timeouts.first_token
        try:
            async with asyncio.timeout(bound):
                lease = await self._enter(backend, room, target)
        except TimeoutError:
            busy = ", ".join(sorted({*room.active, *room.shared_busy})) or "none"
            detail = f"no room for {target.model} within {bound:g}s (max_loaded; in use: {busy})"
            raise UpstreamUnavailable(backend.name, backend.url, detail, kind="timeout", status=504) from None
        try:
            yield
        finally:
            room.leave(target.model)
            if lease is not None and self.board.shared is not None:
                self.board.shared.leave(backend.name, lease)

    async def _enter(self, backend: Unloader, room: _Room, target: Target) -> str | None:
        """Make room for the target's model and count its call in; returns once it may be sent, with the
        call's shared lease (None when counted in process only)."""
        model, shared = target.model, self.board.shared
        pinned = self.pinned.get(backend.name, frozenset())
        async with room.lock:
            if shared is not None and shared.up:
                found = await self._enter_shared(shared, backend, room, target, pinned)
                if not isinstance(found, Down):
                    room.active[model] = room.active.get(model, 0) + 1
                    return found
            while not room.active.get(model):  # a model being served is loaded, and no one may unload it
                listed = await self._listed(backend.name, model)
                if listed is None:
                    break
                plan = make_room(model, listed, list(room.active), backend.max_loaded or 1, pinned)
                if plan.wait:
                    await room.ended.wait()  # a model in use must end its calls before it is unloaded
                    continue
                await self._carry_out(backend, plan, model)
                break
            room.active[model] = room.active.get(model, 0) + 1
            return None

    async def _enter_shared(
        self, shared: SharedSwitch, backend: Unloader, room: _Room, target: Target, pinned: frozenset[str]
    ) -> str | Down:
        """``_enter`` against every process's calls, in Redis (:mod:`tiergate.state.switch`): the lease."""
        name, model, lease = backend.name, target.model, shared.lease(target.model)
        token, done, room.shared_busy = None, False, []
        try:
            joined = await shared.join(name, lease)
            if joined is not False:
                done = joined is True
                return lease if joined is True else joined  # beside a call already using the model, or DOWN
            locked = await shared.lock(name)
            if isinstance(locked, Down):
                return locked
            token, in_use = locked
            while (listed := await self._listed(name, model)) is not None:
                plan = make_room(model, listed, in_use, backend.max_loaded or 1, pinned)
                if not plan.wait:
                    await self._carry_out(backend, plan, model)
                    break
                changed = shared.changed(name)
                now_in_use = await shared.in_use(name, token)
                if isinstance(now_in_use, Down):
                    return now_in_use
                if now_in_use == in_use:
                    room.shared_busy = in_use
                    await wait(changed)  # a model in use must end its calls (on any process) before it goes
                in_use = now_in_use
            admitted = await shared.admit(name, lease, token)
            if isinstance(admitted, Down):
                return admitted
            done = True
            return lease
        finally:
            if not done:  # timed out, failed or DOWN: no lease may stay behind, nor the lock
                shared.leave(name, lease)
                if token is not None:
                    shared.unlock(name, token)

    async def _listed(self, backend: str, model: str) -> list[Resident] | None:
        """What the server holds, asked afresh; None when ``/api/ps`` fails (the call goes without a switch)."""
        try:
            return await self.board.residency.fresh(backend)
        except Exception as exc:  # the residency scrubbed an UpstreamError already
            why = exc.detail if isinstance(exc, UpstreamError) else self.redact(str(exc))
            # the residency warns once when /api/ps starts failing; each call says it here
            log.debug("backend '%s': /api/ps failed; %s goes without a switch: %s", backend, model, why)
            return None

    async def _carry_out(self, backend: Unloader, plan: Plan, model: str) -> None:
        if plan.crowded:
            kept = ", ".join(plan.crowded)
            log.warning("backend '%s': pinned %s fill max_loaded; %s loads beside", backend.name, kept, model)
        for other in plan.unload:
            await self._unload(backend, other)

    async def _unload(self, backend: Unloader, model: str) -> None:
        try:
            await backend.unload(model)
        except UpstreamError as exc:
            exc.scrub(self.redact)
            log.warning("backend '%s': unloading %s failed: %s", backend.name, model, exc.detail)
            return
        log.info("backend '%s': unloaded %s (max_loaded %s)", backend.name, model, backend.max_loaded)
        self.board.residency.dropped(backend.name, model)
        self.board.unloads[backend.name] = self.board.unloads.get(backend.name, 0) + 1


@dataclass(frozen=True)
class Plan:
    """What a call to a model needs first: models to unload, or to wait for calls to end."""

    unload: tuple[str, ...] = ()
    wait: bool = False
    #: Pinned models that leave no room (the call goes on beside them).
    crowded: tuple[str, ...] = ()


def make_room(model: str, listed: list[Resident], active: list[str], limit: int, pinned: frozenset[str]) -> Plan:
    """The plan for a call to ``model``, given what ``/api/ps`` lists and the models calls are using here.

    >>> make_room("b", [Resident("a:latest")], [], 1, frozenset())
    Plan(unload=('a:latest',), wait=False, crowded=())
    """
    if any(same_model(model, r.name) for r in listed):
        return Plan()
    others = _by_expiry([r for r in listed if not same_model(model, r.name)])
    others += [m for m in active if not any(same_model(m, o) for o in others)]  # loading, not yet listed
    excess = len(others) - (limit - 1)
    if excess <= 0:
        return Plan()
    kept = [m for m in others if any(same_model(p, m) for p in pinned)]
    busy = [m for m in others if m not in kept and any(same_model(a, m) for a in active)]
    free = [m for m in others if m not in kept and m not in busy]
    if len(free) >= excess:
        return Plan(unload=tuple(free[:excess]))
    if len(free) + len(busy) >= excess:
        return Plan(wait=True)
    return Plan(unload=tuple(free), crowded=tuple(kept))


def _by_expiry(listed: list[Resident]) -> list[str]:
    """Names, soonest to expire first: the least recently used (a pinned model expires last)."""

    def when(resident: Resident) -> float:
        try:
            return datetime.fromisoformat(resident.expires_at).timestamp()
        except (ValueError, OverflowError, OSError):
            return float("inf")

    return [r.name for r in sorted(listed, key=when)]


class SwitchCollector(Collector):
    """``/metrics``: models unloaded by ``max_loaded`` and pinned models loaded ahead, per backend."""

    def __init__(self, board: Switchboard) -> None:
        self.board = board

    def collect(self) -> Iterator[Metric]:
        unloads = CounterMetricFamily(
            "tiergate_ollama_unloads",
            "Models unloaded to keep an Ollama backend within max_loaded.",
            labels=["backend"],
        )
        for backend, count in sorted(self.board.unloads.items()):
            unloads.add_metric([backend], count)
        yield unloads
        pinned = CounterMetricFamily(
            "tiergate_ollama_pinned_loads", "Pinned models loaded ahead of their first request.", labels=["backend"]
        )
        for backend, count in sorted(Counter(name for name, _ in self.board.pinner.loaded).items()):
            pinned.add_metric([backend], count)
        yield pinned
