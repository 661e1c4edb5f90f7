"""The live rules: one immutable Runtime per successful load, swapped by reference on reload.

A request takes ``rules.current`` once and keeps it to the end, so a reload never changes the graph
under an in-flight request. Backends (connection pools) are shared between runtimes while their
config is unchanged, and closed once no runtime that used them has requests in flight.

    rules = Rules.load(Path("routes.yaml"), os.environ)
    async with rules.use() as rt:
        routed = await rt.router.decide(request, headers)
    outcome = await rules.reload()        # ReloadOutcome(ok, version, problems)

A reload is refused, like a broken file, when the learned head the new rules name cannot be used while
the serving rules' head scores: the head is part of the rules. At start-up such a head is a warning
(tiergate.learned.scorer), and so is a reload when the serving head could not be used either.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from tiergate.backends.base import Backend
from tiergate.backends.registry import build_backend, missing_in
from tiergate.config.loader import LoadedConfig, load_file
from tiergate.config.model import BackendConfig
from tiergate.config.problems import ConfigError, Problem
from tiergate.dispatch.dispatcher import Dispatcher, Guard, PassThrough
from tiergate.dispatch.switch import NoSwitch, Switch
from tiergate.engine.graph import EvaluationGraph, compile_graph
from tiergate.engine.router import Learned, Observed, Phase2, Router, SessionHold
from tiergate.engine.targets import Target
from tiergate.learned.scorer import Unavailable, scores
from tiergate.learned.scorer import health as learned_health
from tiergate.redact import Redactor
from tiergate.restart_only import pending_restart

log = logging.getLogger("tiergate.rules")


@dataclass
class Runtime:
    loaded: LoadedConfig
    graph: EvaluationGraph
    router: Router
    dispatcher: Dispatcher
    backends: dict[str, Backend]
    redact: Redactor = field(default_factory=Redactor)
    inflight: int = 0

    @property
    def version(self) -> str:
        return self.loaded.version


@dataclass
class ReloadOutcome:
    ok: bool
    version: str
    changed: bool
    #: Why a reload was refused (errors); on success, the warnings of the rules now serving.
    problems: list[Problem] = field(default_factory=list)
    #: The settings read only at start-up whose value in the file is not the one the gateway runs with: they
    #: wait for a restart (``tiergate.restart_only``).
    pending_restart: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "version": self.version,
            "changed": self.changed,
            "problems": [p.to_dict() for p in self.problems],
            "pending_restart": self.pending_restart,
        }


def compile_file(path: Path, environ: Mapping[str, str]) -> tuple[LoadedConfig, EvaluationGraph]:
    """Load + compile: the strict decode, the cross-reference checks, then the graph (features, operators,
    transforms); the first that fails raises ConfigError with every problem it found."""
    loaded = load_file(path, environ)
    return loaded, compile_graph(loaded)


def validate_file(path: Path, environ: Mapping[str, str]) -> list[Problem]:
    """Everything ``tiergate validate`` reports for a file: its errors, or its warnings when it compiles.

    for p in validate_file(Path("routes.yaml"), os.environ): print(p.render())
    """
    try:
        loaded, graph = compile_file(path, environ)
    except ConfigError as exc:
        return exc.problems
    return [*graph.warnings, *_shadow_problems(path, loaded, environ)]


def _shadow_problems(path: Path, loaded: LoadedConfig, environ: Mapping[str, str]) -> list[Problem]:
    """The candidate rules ``shadow`` names, checked as the gateway will load them: each of their problems
    is a warning here (the live rules serve whatever they hold), at the candidate's own file and line."""
    settings = loaded.config.shadow_settings
    if settings is None:
        return []
    where = (path.parent / settings.file).resolve()
    if not where.is_file():
        message = f"shadow rule file '{settings.file}' is not a file ({where}): no candidate decisions until it is"
        return [loaded.source.problem(("shadow",), message, severity="warning")]
    if where == path.resolve():
        return []
    try:
        shadowed = compile_file(where, environ)[1]
    except ConfigError as exc:
        return [dataclasses.replace(p, severity="warning", message=f"shadow: {p.message}") for p in exc.problems]
    return [dataclasses.replace(p, message=f"shadow: {p.message}") for p in shadowed.warnings]


def file_stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class LearnedFactory(Protocol):
    """Builds a graph's learned scorer (:meth:`tiergate.learned.scorer.LearnedPool.build`); ``warn=False``
    when the caller reports a scorer that cannot be built itself (a refused reload)."""

    def __call__(self, graph: EvaluationGraph, *, warn: bool = True) -> Learned | None: ...


def _no_learned(graph: EvaluationGraph, *, warn: bool = True) -> Learned | None:
    return None


@dataclass
class Extensions:
    """What other packages plug into each Runtime: built per load, from that load's graph."""

    guard: Callable[[EvaluationGraph], Guard] = lambda graph: PassThrough()
    classifier: Callable[[EvaluationGraph, Dispatcher], Phase2 | None] = lambda graph, dispatcher: None
    breaker_state: Callable[[Target], str] = lambda target: "closed"
    breaker_failure: Callable[[Target], str | None] = lambda target: None
    sessions: Callable[[EvaluationGraph], SessionHold | None] = lambda graph: None
    learned: LearnedFactory = _no_learned
    signals: Callable[[EvaluationGraph], Observed | None] = lambda graph: None
    #: The load's graph, backends and Redactor: what the switch logs or /health shows of a failure is scrubbed.
    switch: Callable[[EvaluationGraph, Mapping[str, Backend], Redactor], Switch] = lambda graph, backends, redact: (
        NoSwitch()
    )


class Rules:
    def __init__(self, path: Path, environ: Mapping[str, str], extensions: Extensions | None = None) -> None:
        self.path = path
        self.environ = environ
        self.extensions = extensions or Extensions()
        self._pool: dict[str, tuple[BackendConfig, Backend]] = {}
        self._retired: list[Runtime] = []
        self._current: Runtime | None = None
        self.last_error: list[Problem] = []
        self.loaded_at: float = 0.0
        #: The watched files' (inode, mtime, size) as the current rules were read (:meth:`signature`): a
        #: watcher that starts later compares with this, so an edit made while the app was starting is not lost.
        self.loaded_stat: tuple[tuple[int, int, int] | None, ...] = ()
        self.reloads = 0
        #: The head a refused reload named (the rule file on disk names it): watched in place of the serving
        #: rules' head, so fixing or creating it reloads.
        self._refused_head: Path | None = None
        self._lock = asyncio.Lock()
        #: The rules as loaded at start-up (what the settings read only then hold), and the settings whose value
        #: in the current rules differs from it (:mod:`tiergate.restart_only`).
        self.started: LoadedConfig | None = None
        self.pending_restart: list[str] = []

    @classmethod
    def load(cls, path: Path, environ: Mapping[str, str], extensions: Extensions | None = None) -> Rules:
        """Load at start-up: a broken file here is fatal (there are no last good rules yet)."""
        rules = cls(path, environ, extensions)
        before = file_stat(path)
        loaded, graph = compile_file(path, environ)
        rules._install(loaded, graph, rules.extensions.learned(graph))
        rules.started = loaded
        rules.loaded_stat = (before, *rules.signature()[1:])
        return rules

    def watched(self) -> list[Path]:
        """The files the current rules were read from: the rule file, and the learned head it names (after a
        reload refused for its head, the head the rule file names now)."""
        paths = [self.path]
        if self._refused_head is not None:
            paths.append(self._refused_head)
        elif self._current is not None and (head := _head_path(self._current.graph)) is not None:
            paths.append(head)
        return paths

    def signature(self) -> tuple[tuple[int, int, int] | None, ...]:
        """Each watched file's (inode, mtime, size), or None where it is missing: a change means "reload"."""
        return tuple(file_stat(p) for p in self.watched())

    @property
    def current(self) -> Runtime:
        assert self._current is not None
        return self._current

    @property
    def status(self) -> str:
        return "ok" if not self.last_error else "error"

    @contextlib.asynccontextmanager
    async def use(self) -> AsyncIterator[Runtime]:
        rt = self.current
        rt.inflight += 1
        try:
            yield rt
        finally:
            rt.inflight -= 1
            if rt.inflight == 0 and rt in self._retired:
                await self._close_retired()

    async def reload(self) -> ReloadOutcome:
        """Compile the file off the event loop; swap on success, keep serving the old rules on failure."""
        async with self._lock:
            try:
                loaded, graph = await asyncio.to_thread(compile_file, self.path, self.environ)
            except ConfigError as exc:
                return self._reject(exc.problems)
            except Exception as exc:  # a bug in loading must not end reloads: reject the file like any other
                log.debug("reload failed", exc_info=True)
                why = self.current.redact(f"{type(exc).__name__}: {exc}")  # shown by /health: no key in it
                problem = Problem((), f"cannot load the rule file: {why}", file=str(self.path))
                return self._reject([problem])
            if loaded.version == self.current.version:
                self.last_error, self._refused_head = [], None
                return ReloadOutcome(True, loaded.version, False, list(graph.warnings), list(self.pending_restart))
            old = self.current
            learned, refused = self._learned_for(loaded, graph, old)
            if refused is not None:
                return self._reject([refused])
            self.last_error, self._refused_head = [], None
            self._install(loaded, graph, learned)
            self._retired.append(old)
            self.reloads += 1
            log.info("rules reloaded: version %s -> %s", old.version, loaded.version)
            self._note_restart_only(loaded)
            if old.inflight == 0:
                await self._close_retired()
            return ReloadOutcome(True, loaded.version, True, list(graph.warnings), list(self.pending_restart))

    def _note_restart_only(self, loaded: LoadedConfig) -> None:
        """Warn when the reloaded file changes settings read only at start-up: the gateway goes on with the
        values it started with."""
        if self.started is None:
            return
        pending = pending_restart(self.started.config, loaded.config)
        if pending and pending != self.pending_restart:
            log.warning(
                "%s: %s changed; %s read only at start-up: the gateway goes on with the value%s it started "
                "with until it is restarted (the rest of the file is in effect)",
                self.path,
                ", ".join(pending),
                "it is" if len(pending) == 1 else "they are",
                "" if len(pending) == 1 else "s",
            )
        self.pending_restart = pending

    def _learned_for(
        self, loaded: LoadedConfig, graph: EvaluationGraph, old: Runtime
    ) -> tuple[Learned | None, Problem | None]:
        """The new rules' learned scorer, or why the reload is refused: the head they name cannot be used
        (missing, unreadable, not a head, made for other encoders) while the serving rules' head scores. When
        the serving head could not be used either, the new one is taken as it is (there is nothing better to
        keep), and the pool warns about it as at start-up."""
        keep = scores(old.router.learned)
        learned = self.extensions.learned(graph, warn=not keep)
        cfg = graph.config.routing.learned
        if not keep or not isinstance(learned, Unavailable) or cfg is None:
            return learned, None
        self._refused_head = _head_path(graph)
        serving = (learned_health(old.router.learned) or {}).get("head")
        message = (
            f"learned head '{cfg.head}' cannot be used: {learned.cause or learned.reason}; "
            f"the last good rules keep serving{f' with head {serving}' if serving else ''}"
        )
        return None, loaded.source.problem(("routing", "learned", "head"), message)

    def _reject(self, problems: list[Problem]) -> ReloadOutcome:
        """Keep serving the current rules, and say why the file was not taken (``/health``, the log)."""
        self.last_error = problems
        for p in problems:
            log.error("reload rejected: %s", p.render())
        return ReloadOutcome(False, self.current.version, False, problems, list(self.pending_restart))

    def _install(self, loaded: LoadedConfig, graph: EvaluationGraph, learned: Learned | None) -> None:
        backends: dict[str, Backend] = {}
        for name, cfg in loaded.config.backends.items():
            pooled = self._pool.get(name)
            if pooled is not None and pooled[0] == cfg:
                backends[name] = pooled[1]
            else:
                backends[name] = build_backend(name, cfg, self.environ)
                self._pool[name] = (cfg, backends[name])
        ext = self.extensions
        redact = Redactor.of(loaded.config, self.environ)
        switch = ext.switch(graph, backends, redact)
        dispatcher = Dispatcher(backends, guard=ext.guard(graph), redact=redact, switch=switch)
        router = Router(
            graph,
            classifier=ext.classifier(graph, dispatcher),
            breaker_state=ext.breaker_state,
            breaker_failure=ext.breaker_failure,
            missing=partial(missing_in, backends),
            sessions=ext.sessions(graph),
            learned=learned,
            signals=ext.signals(graph),
        )
        self._current = Runtime(loaded, graph, router, dispatcher, backends, redact)
        self.loaded_at = time.time()
        for w in graph.warnings:
            log.warning("%s", w.render())

    async def _close_retired(self) -> None:
        live = {id(b) for b in self.current.backends.values()}
        live |= {id(b) for rt in self._retired if rt.inflight > 0 for b in rt.backends.values()}
        done = [rt for rt in self._retired if rt.inflight == 0]
        self._retired = [rt for rt in self._retired if rt.inflight > 0]
        stale = {id(b): b for rt in done for b in rt.backends.values() if id(b) not in live}
        for backend in stale.values():
            with contextlib.suppress(Exception):
                await backend.aclose()

    async def aclose(self) -> None:
        runtimes = [*self._retired, *([self._current] if self._current else [])]
        for backend in {id(b): b for rt in runtimes for b in rt.backends.values()}.values():
            with contextlib.suppress(Exception):
                await backend.aclose()
        self._pool.clear()


def _head_path(graph: EvaluationGraph) -> Path | None:
    """The learned head ``graph``'s rules name, as the scorer reads it (relative to the rule file's directory)."""
    learned = graph.config.routing.learned
    return None if learned is None else (graph.source_dir or Path(".")) / learned.head
