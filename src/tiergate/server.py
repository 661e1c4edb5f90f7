"""``tiergate serve``: load the rules (fatal if broken), wire the app, run uvicorn.

At start-up it says what is missing (a key variable, an unreachable Ollama) so a fresh machine
starts anyway: health, models and the dry run work, and chat requests get an error naming it. It
also says who may call it: with no client keys configured, loopback clients only.

    app = build(Path("routes.yaml"))          # the ASGI app, for any ASGI server
    run(Path("routes.yaml"), "127.0.0.1", 8080)
    run(Path("routes.yaml"), "0.0.0.0", 8080, workers=2)   # tiergate.workers

With ``state.redis_url`` the breakers, limiters, sticky sessions and caches share their state through
Redis (tiergate.state); it is read here, once, before the rules are installed.
"""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn

from tiergate.api.app import create_app
from tiergate.api.feedback import decision_log_lifespan
from tiergate.api.gateway import Gateway
from tiergate.config.loader import load_file
from tiergate.config.model import RoutesConfig
from tiergate.config.problems import ConfigError
from tiergate.dispatch.switch import Switchboard, SwitchCollector
from tiergate.engine.adaptive import Signals, restore_spend_lifespan
from tiergate.engine.classifier import classifier_factory
from tiergate.engine.sticky import sessions_factory
from tiergate.learned.scorer import LearnedPool
from tiergate.redact import redact_url
from tiergate.reload import watch_rules
from tiergate.resilience.breakers import Breakers
from tiergate.resilience.guard import guard_factory
from tiergate.resilience.limits import Limiters
from tiergate.runtime import Extensions, Rules, compile_file
from tiergate.state.wiring import SharedState
from tiergate.telemetry.logs import configure_logging
from tiergate.telemetry.residency import Residency
from tiergate.telemetry.shadow import shadow_lifespan
from tiergate.telemetry.sql_queries import is_postgres
from tiergate.workers import WorkerBoard, bind_address, cannot_listen, serve_workers, server_config

log = logging.getLogger("tiergate.server")


def build(
    config: Path,
    *,
    environ: Mapping[str, str] | None = None,
    watch: bool = True,
    board: WorkerBoard | None = None,
    fanout: Callable[[], None] | None = None,
) -> Any:
    """The app for ``config``. ``board`` and ``fanout`` are a worker's (tiergate.workers): where it tells
    its rules version, and how a reload reaches the others."""
    env = os.environ if environ is None else environ
    shared = SharedState.build(load_file(config, env).config.state)
    # One per process: their state outlives reloads.
    breakers, limiters = Breakers(mirror=shared.breakers), Limiters(shared=shared.limits)
    learned = LearnedPool(remote=shared.embedding_cache)  # encoders outlive reloads too
    residency = Residency()  # what each Ollama server holds in memory, as /api/ps last said
    switchboard = Switchboard(residency, shared=shared.switch)  # max_loaded: calls in flight outlive reloads
    # Latency, session failures and spend outlive reloads.
    signals = Signals(spend=shared.spend, failures=shared.failures, residency=residency)
    if shared.spend is not None:
        shared.spend.calendar = lambda: signals.calendar  # budgets.timezone, as the file says now
    extensions = Extensions(
        guard=guard_factory(breakers, limiters),
        breaker_state=breakers.state,
        breaker_failure=breakers.last_failure,
        classifier=classifier_factory(remote=shared.classifier_cache),
        sessions=sessions_factory(shared=shared.sessions),
        learned=learned.build,
        signals=signals.build,
        switch=switchboard.build,
    )
    rules = Rules.load(config, env, extensions)
    gateway = Gateway(rules)
    gateway.observers.append(signals)
    gateway.reports.append(signals.report)

    def decision_log() -> tuple[bool, Path | str]:
        """Where the log is (as decision_log_lifespan opens it): the PostgreSQL URL, or the SQLite file."""
        cfg = rules.current.graph.config.server.decision_log
        return cfg.enabled, cfg.url if is_postgres(cfg.url) else Path(cfg.path)

    board = board or WorkerBoard(None)
    lifespans = [
        shared.lifespan(breakers),
        close_learned(learned),
        close_residency(residency),
        switchboard.pinner.lifespan(),
        report_backends(rules),
        report_access(rules),
        restore_spend_lifespan(signals, decision_log),
        decision_log_lifespan(gateway),
        shadow_lifespan(rules, gateway.observers),  # after the log: a request's row is queued before its shadow
        watch_rules(rules, watch=watch),
        board.lifespan(rules),  # last: a worker that shows its version is watching the file
    ]
    app = create_app(gateway, lifespans=lifespans, limiters=limiters)
    app.state.metrics.registry.register(signals.collector())
    app.state.metrics.registry.register(SwitchCollector(switchboard))
    app.state["health_sections"] = {"state": shared.status, "workers": board.read}
    app.state["reload_fanout"] = fanout
    return app


def close_learned(pool: LearnedPool) -> Any:
    """The encoders' worker threads stop with the app."""

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        try:
            yield
        finally:
            pool.close()

    return lifespan


def close_residency(residency: Residency) -> Any:
    """Background ``/api/ps`` refreshes stop with the app."""

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await residency.aclose()

    return lifespan


def report_access(rules: Rules) -> Any:
    """Say once at start-up who may call the gateway (never a key: names and counts only)."""

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        for level, message in app.state.auth.ring(rules).describe():
            log.log(level, "%s", message)
        yield

    return lifespan


def report_backends(rules: Rules) -> Any:
    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        rt = rules.current
        log.info("rules loaded from %s (version %s)", rules.path, rt.version)
        results = await asyncio.gather(*(b.probe() for b in rt.backends.values()), return_exceptions=True)
        for (name, backend), result in zip(rt.backends.items(), results, strict=True):
            url = rt.redact(redact_url(backend.url))  # a key may be referenced in its path
            if result is None and backend.probe_reaches:
                log.info("backend '%s' at %s is ready", name, url)
            elif result is None:
                log.info("backend '%s' at %s is configured (not contacted: the first request will reach it)", name, url)
            else:
                log.warning("backend '%s' at %s is not usable yet: %s", name, url, rt.redact(str(result)))
        await warn_missing_models(rt)
        yield

    return lifespan


async def warn_missing_models(rt: Any) -> None:
    """A target whose model its Ollama server has not pulled: each request for it would fall back to the next
    target (a paid one, often) with only the attempts header to show why."""
    for name, backend in rt.backends.items():
        check = getattr(backend, "missing_models", None)
        if check is None:
            continue
        models = [t.model for t in rt.graph.dispatch_targets() if t.backend == name]
        for model in await check(models) if models else []:
            log.warning(
                "backend '%s' has not pulled model '%s': pull it with `ollama pull %s`, or every call to it answers "
                "404 and falls back",
                name,
                model,
                model,
            )


def warn_budgets_per_worker(config: RoutesConfig, workers: int) -> None:
    """Without ``state.redis_url`` each worker counts spend on its own: say so when the file declares caps."""
    budgets = config.budgets
    if config.state.redis_url or not (budgets.tiers or budgets.clients):
        return
    log.warning(
        "budgets: %d workers without state.redis_url count spend each on its own, so a cap can be passed up to "
        "%d times over (set state.redis_url to share spend between workers)",
        workers,
        workers,
    )


def run(config: Path, host: str, port: int, *, log_level: str = "info", watch: bool = True, workers: int = 1) -> int:
    """Serve until SIGINT or SIGTERM. 0 when stopped, 1 when ``host:port`` cannot be listened on (one
    JSON log line says why), 2 when the rules are broken, 3 when the app failed to start.

    "tiergate listening on ..." is logged once the socket listens: after start-up (the rules, backends
    and access lines), at uvicorn's first tick (``Announce``)."""
    configure_logging(log_level)
    if workers > 1:
        try:
            loaded, _ = compile_file(config, os.environ)  # once: a broken file stops serve before any worker starts
        except ConfigError as exc:
            _refuse(config, exc)
            return 2
        warn_budgets_per_worker(loaded.config, workers)
        return serve_workers(config, host, port, workers, log_level=log_level, watch=watch)
    try:  # bound first, before the app is built (seconds, with the encoders): a taken port stops serve at once
        sock = bind_address(host, port)
    except OSError as exc:
        log.error("%s", cannot_listen(host, port, exc))
        return 1
    try:
        app = build(config, watch=watch)
    except ConfigError as exc:
        sock.close()
        _refuse(config, exc)
        return 2
    except BaseException:
        sock.close()
        raise
    port = sock.getsockname()[1]
    if not _is_loopback(host) and app.state.auth.ring(app.state.gateway.rules).open:
        log.warning(
            "listening on %s without client keys: only loopback clients will be served "
            "(set server.auth.keys_env or server.auth.keys to serve others)",
            host,
        )
    server = uvicorn.Server(server_config(app, host, port, f"tiergate listening on http://{host}:{port}/v1"))
    settle_gc()
    try:
        server.run(sockets=[sock])  # uvicorn listens on it after start-up, and closes it at the end
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0 if server.started else 3


def _refuse(config: Path, exc: ConfigError) -> None:
    print(exc, file=sys.stderr)
    print(f"tiergate: {config} has errors; fix them (tiergate validate {config}) and start again", file=sys.stderr)


#: Allocations (net of frees) between young-generation collections; CPython's default is 700.
GC_THRESHOLDS = (10_000, 20, 20)


def settle_gc() -> None:
    """Keep the cyclic garbage collector off the request path.

    After start-up the process holds about 85,000 long-lived objects (the libraries, the compiled
    rules); with CPython's defaults the collector walked them again and again, which cost about a
    tenth of the CPU per request and full collections of up to 60 ms (bench/proxy.py). Freezing them
    moves them out of the collector's sight, and a higher young-generation threshold collects the
    little cyclic garbage requests leave in fewer, smaller passes. Reference counting still frees
    everything else at once.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
