"""Shadow rules: a candidate rule file decides every live request too, and the decision log keeps both.

routes.yaml names the candidate (``shadow: routes.next.yaml``). When a request ends, ``observe`` (on the
event loop, after the response was handed off) samples it and puts it on a bounded queue; one background
task takes requests from the queue and decides each with the candidate's compiled rules. Nothing here
is on a request's path, and no model is called: the candidate's phase 2 replays the answer the live
classifier gave for the same request (or, without one, is skipped), and stickiness is left out (the
candidate has no sessions of its own). The candidate file is compiled off the loop and again whenever
it changes on disk (checked at most every ``check_every`` seconds); a broken file is reported, not fatal.

The candidate's estimated cost is the live request's tokens at the candidate target's price.
Promoting the candidate is a rename over routes.yaml; the live reload does the rest.

    shadow = ShadowRules(rules, sink=lambda: dlog)
    gateway.observers.append(shadow)    # after the decision log: the live row is queued first
    task = asyncio.create_task(shadow.run())
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import msgspec

from tiergate.backends.registry import missing_in
from tiergate.config.model import Shadow
from tiergate.config.problems import ConfigError
from tiergate.engine.decision import ClassifierOutcome
from tiergate.engine.graph import EvaluationGraph, Phase1
from tiergate.engine.router import Charge, Learned, Router
from tiergate.rules.features import Features
from tiergate.runtime import Rules, compile_file
from tiergate.telemetry.cost import cost_usd
from tiergate.telemetry.record import RequestRecord, ShadowRecord

log = logging.getLogger("tiergate.shadow")
#: Where the lifespan leaves the ShadowRules, for the console.
STATE_KEY = "shadow"


class ShadowSink(Protocol):
    def observe_shadow(self, shadow: ShadowRecord) -> None: ...


@dataclass
class Candidate:
    """The candidate file as last read: its compiled graph, or why there is none."""

    path: Path
    signature: tuple[int, int, int] | None
    graph: EvaluationGraph | None = None
    learned: Learned | None = None
    problems: list[str] = field(default_factory=list)
    loaded_at: float | None = None


class _Replay:
    """Phase 2 for the candidate: the live classifier's answer to the same request, never a new model call."""

    #: It calls no model, so it charges nothing.
    target = None

    def __init__(self, live: ClassifierOutcome | None) -> None:
        self._live = live

    async def classify(
        self, f: Features, phase1: Phase1, graph: EvaluationGraph, charge: Charge | None = None
    ) -> ClassifierOutcome:
        live = self._live
        if live is None or live.outcome not in ("ok", "cache_hit"):
            model = graph.config.routing.classifier.model if graph.config.routing.classifier else ""
            return ClassifierOutcome(model=model, outcome="skipped", reason="shadow rules call no model")
        return msgspec.structs.replace(live, floor=None, usage=None)  # the live request paid for it


class ShadowRules:
    """An Observer that has the candidate rules decide each sampled request in the background."""

    def __init__(
        self,
        rules: Rules,
        sink: Callable[[], ShadowSink | None],
        *,
        sample: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
        check_every: float = 2.0,
    ) -> None:
        self._rules = rules
        self._sink = sink
        self._sample = sample
        self._clock = clock
        self._check_every = check_every
        self._queue: asyncio.Queue[tuple[RequestRecord, Shadow]] | None = None
        self._candidate: Candidate | None = None
        self._checked = float("-inf")
        self.decided = 0
        self.dropped = 0
        self.failed = 0

    def settings(self) -> Shadow | None:
        return self._rules.current.graph.config.shadow_settings

    # --- the event loop's side: never blocks, never raises into a request ----------------------

    def observe(self, record: RequestRecord) -> None:
        settings = self.settings()
        if settings is None or record.request is None or self._sink() is None:
            return
        if settings.sample < 1.0 and self._sample() >= settings.sample:
            return
        if self._queue is None:
            self._queue = asyncio.Queue()
        if self._queue.qsize() >= settings.max_pending:
            self.dropped += 1
            return
        self._queue.put_nowait((record, settings))

    # --- the background task ------------------------------------------------------------------

    async def run(self) -> None:
        """Decide queued requests one at a time, until cancelled."""
        if self._queue is None:
            self._queue = asyncio.Queue()
        while True:
            record, settings = await self._queue.get()
            try:
                await self.decide(record, settings)
            except Exception:  # a candidate's bug must not stop the shadow
                self.failed += 1
                log.exception("shadow rules failed on %s", record.decision.decision_id)

    async def drain(self) -> None:
        """Decide whatever is queued now (tests, and shutdown)."""
        while self._queue is not None and not self._queue.empty():
            record, settings = self._queue.get_nowait()
            await self.decide(record, settings)

    async def decide(self, record: RequestRecord, settings: Shadow) -> ShadowRecord | None:
        sink = self._sink()
        candidate = await self.candidate(settings)
        if sink is None or candidate.graph is None or record.request is None:
            return None
        live = record.decision
        router = Router(
            candidate.graph,
            classifier=_Replay(live.classifier),
            breaker_state=self._rules.extensions.breaker_state,
            breaker_failure=self._rules.extensions.breaker_failure,
            # a backend the live rules cannot call (its key variable unset) is skipped, as the candidate served
            # live would find it
            missing=partial(missing_in, self._rules.current.backends),
            learned=candidate.learned,
        )
        routed = await router.decide(record.request, record.headers, client=record.client, remember=False)
        target = routed.targets[0] if routed.targets else None
        usage = record.charged if record.target is not None else None
        cost = cost_usd(target.price, usage) if usage is not None and target is not None else None
        shadow = ShadowRecord(live.decision_id, settings.file, routed.decision, cost)
        sink.observe_shadow(shadow)
        self.decided += 1
        return shadow

    async def candidate(self, settings: Shadow) -> Candidate:
        """The compiled candidate, recompiled (off the loop) when its file changed since the last look."""
        path = (Path(self._rules.path).parent / settings.file).resolve()
        current = self._candidate
        now = self._clock()
        if current is not None and current.path == path and now - self._checked < self._check_every:
            return current
        self._checked = now
        signature = await asyncio.to_thread(_signature, path)
        if current is not None and current.path == path and current.signature == signature:
            return current
        loaded = await asyncio.to_thread(self._load, path, signature)
        if loaded.graph is not None:  # on the loop, as a reload builds it: the pool's encoders are shared
            loaded.learned = self._rules.extensions.learned(loaded.graph)
        self._candidate = loaded
        return loaded

    def _load(self, path: Path, signature: tuple[int, int, int] | None) -> Candidate:
        if signature is None:
            return Candidate(path, None, problems=[f"{path}: no such file"])
        try:
            _, graph = compile_file(path, self._rules.environ)
        except ConfigError as exc:
            log.warning("shadow rules %s have errors; not deciding until they are fixed", path)
            return Candidate(path, signature, problems=[p.render() for p in exc.problems])
        log.info("shadow rules loaded from %s (version %s)", path, graph.version)
        return Candidate(path, signature, graph, loaded_at=time.time())

    def status(self) -> dict[str, Any]:
        """What the console shows: the file, its version or problems, and how the queue is doing."""
        settings = self.settings()
        current = self._candidate
        return {
            "configured": settings is not None,
            "file": settings.file if settings else None,
            "sample": settings.sample if settings else None,
            "path": str(current.path) if current else None,
            "version": current.graph.version if current and current.graph else None,
            "loaded_at": current.loaded_at if current else None,
            "problems": current.problems if current else [],
            "decided": self.decided,
            "pending": self._queue.qsize() if self._queue else 0,
            "dropped": self.dropped,
            "failed": self.failed,
        }


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def shadow_lifespan(
    rules: Rules, observers: list[Any], sink_key: str = "decision_log"
) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """Run the shadow's task with the app; the sink is the decision log the app holds under ``sink_key``.

    Put it after the decision log's lifespan, so the shadow observes after the log (its row is queued first).
    """

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        shadow = ShadowRules(rules, sink=lambda: app.state.get(sink_key))
        app.state[STATE_KEY] = shadow
        observers.append(shadow)
        task = asyncio.create_task(shadow.run(), name="tiergate-shadow")
        try:
            yield
        finally:
            observers.remove(shadow)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return lifespan
