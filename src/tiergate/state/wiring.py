"""Build the shared state a ``state:`` section asks for, and run it for the app's lifetime: breakers, limits,
sessions, the classifier and embedding caches, budgets' spend, session escalation's failures and the
Ollama switch's calls in flight (``max_loaded``).

Read once at start-up, before the rules are installed (the registries that use it are built first); a
reload that changes ``state:`` takes effect on restart.

    shared = SharedState.build(loaded.config.state)     # every part None without redis_url
    Signals(spend=shared.spend, failures=shared.failures)  # budgets and escalation count on every process
    Breakers(mirror=shared.breakers); Limiters(shared=shared.limits); Switchboard(residency, shared=shared.switch)
    app = create_app(..., lifespans=[shared.lifespan(breakers), ...])
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tiergate.config.model import StateConfig
from tiergate.resilience.breakers import Breakers
from tiergate.state.breakers import BreakerMirror
from tiergate.state.cache import RemoteCache
from tiergate.state.channels import Channels
from tiergate.state.failures import SharedFailures
from tiergate.state.limits import SharedLimits
from tiergate.state.link import RedisLink
from tiergate.state.sessions import SharedSessions
from tiergate.state.spend import SharedSpend
from tiergate.state.switch import SharedSwitch

#: Embeddings depend only on the text and the encoder: keep them a day.
EMBEDDING_TTL = 86_400.0


@dataclass
class SharedState:
    link: RedisLink | None = None
    limits: SharedLimits | None = None
    sessions: SharedSessions | None = None
    breakers: BreakerMirror | None = None
    spend: SharedSpend | None = None
    channels: Channels | None = None
    failures: SharedFailures | None = None
    switch: SharedSwitch | None = None

    @classmethod
    def build(cls, cfg: StateConfig) -> SharedState:
        if not cfg.redis_url:
            return cls()
        link = RedisLink(cfg.redis_url, prefix=cfg.prefix, timeout=cfg.timeout, retry_interval=cfg.retry_interval)
        channels = Channels(link)
        return cls(
            link,
            SharedLimits(link, ahead=cfg.limits_ahead),
            SharedSessions(link, channels),
            BreakerMirror(link, channels),
            SharedSpend(link),
            channels,
            SharedFailures(link, channels),
            SharedSwitch(link, channels),
        )

    def cache(self, namespace: str, ttl: float) -> RemoteCache:
        assert self.link is not None
        return RemoteCache(self.link, namespace, ttl=ttl)

    @property
    def classifier_cache(self) -> Callable[[str, float], RemoteCache] | None:
        return self.cache if self.link is not None else None

    @property
    def embedding_cache(self) -> Callable[[str], RemoteCache] | None:
        if self.link is None:
            return None
        return lambda namespace: self.cache(namespace, EMBEDDING_TTL)

    def status(self) -> dict[str, Any]:
        """The /health section ``state``: the link's, and whether this process follows the others' changes."""
        if self.link is None:
            return {"backend": "memory", "status": "ok"}
        return {**self.link.status(), "subscribed": self.channels is not None and self.channels.subscribed}

    def lifespan(self, breakers: Breakers) -> Callable[[Any], AbstractAsyncContextManager[None]]:
        """Reach Redis (an unreachable one is an outage, not a failed start), follow the breakers' and
        sessions' channels, export the link's health in /metrics; close it all at shutdown."""

        @asynccontextmanager
        async def lifespan(app: Any) -> AsyncIterator[None]:
            link, mirror = self.link, self.breakers
            if link is None:
                yield
                return
            if mirror is not None:
                mirror.attach(breakers.apply, breakers.keys)
            metrics = app.state.get("metrics")
            collector = StateCollector(link, self.limits)
            if metrics is not None:
                metrics.registry.register(collector)
            await link.start()
            if self.channels is not None:
                self.channels.start()
            if self.spend is not None:
                self.spend.start()
            try:
                yield
            finally:
                if self.spend is not None:
                    await self.spend.aclose()
                if self.switch is not None:
                    await self.switch.aclose()
                if self.limits is not None:
                    await self.limits.aclose()
                if self.channels is not None:
                    await self.channels.aclose()
                if mirror is not None:
                    await mirror.aclose()
                await link.aclose()
                if metrics is not None:
                    with contextlib.suppress(KeyError):
                        metrics.registry.unregister(collector)

        return lifespan


class StateCollector(Collector):
    """``tiergate_state_redis_up``, outages, and shared operations served in process instead."""

    def __init__(self, link: RedisLink, limits: SharedLimits | None = None) -> None:
        self.link = link
        self.limits = limits

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "tiergate_state_redis_up", "1 while shared state is in Redis, 0 while in process.", value=int(self.link.up)
        )
        yield CounterMetricFamily(
            "tiergate_state_redis_outages", "Times Redis became unreachable.", value=self.link.outages
        )
        yield CounterMetricFamily(
            "tiergate_state_redis_waits",
            "Redis calls sent that a request or task waited for, a round trip each (a rate limit that is not "
            "taken ahead, a session this process had not served, cache lookups).",
            value=self.link.waits,
        )
        yield CounterMetricFamily(
            "tiergate_state_redis_queued",
            "Redis commands sent without waiting for them, with the next call (releases, session refreshes, "
            "limits taken ahead).",
            value=self.link.queued,
        )
        if self.limits is not None:
            yield CounterMetricFamily(
                "tiergate_state_limit_takes_ahead",
                "Rate and concurrency takes let through before Redis answered them (state.limits_ahead).",
                value=self.limits.taken_ahead,
            )
            yield CounterMetricFamily(
                "tiergate_state_limit_overruns",
                "Takes let through ahead of Redis that Redis then refused: requests that went over a shared limit.",
                value=self.limits.overruns,
            )
        yield CounterMetricFamily(
            "tiergate_state_local_fallbacks",
            "Shared-state operations served by in-process state because Redis was down.",
            value=self.link.fallbacks,
        )
