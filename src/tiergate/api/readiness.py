"""``GET /ready``: can this process serve every tier of its rules right now?

Ready means: rules are loaded (a rejected reload keeps the last good rules serving, so it does not
make the gateway unready; /ready reports it), and every tier has at least one *available* target in
its chain (its own targets, then its fallback tiers'). A target is available when

- its backend is configured (``missing()``: e.g. the key variable is set),
- its backend is reachable (``probe()``: Ollama's model list, an OpenAI-compatible ``/models``;
  Anthropic has no free health endpoint, so its probe only checks configuration), and
- its circuit breaker is not open (half-open counts as available: the next call is the trial; while that
  trial is in flight it reads open).

Probe results are cached for ``ttl`` seconds and concurrent /ready calls share one round of probes,
so /ready stays cheap when scraped often; each probe is bounded by the backend's own short timeout.

    readiness = Readiness(ttl=5.0)
    report = await readiness.check(rules)      # report.ready, report.body()
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tiergate.backends.base import Backend
from tiergate.runtime import Rules


@dataclass
class ReadinessReport:
    ready: bool
    rules: dict[str, Any]
    tiers: dict[str, str | None]
    backends: dict[str, str]
    reasons: list[str] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "reasons": self.reasons,
            "rules": self.rules,
            "tiers": self.tiers,
            "backends": self.backends,
        }


class Readiness:
    """Caches backend probes per backend object (a reload that rebuilds a backend probes it afresh)."""

    def __init__(self, *, ttl: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._probed: dict[str, tuple[float, Backend, str | None]] = {}
        self._lock = asyncio.Lock()

    async def check(self, rules: Rules) -> ReadinessReport:
        runtime = rules.current
        probed = await self._probe(runtime.backends)
        problems = {name: runtime.redact(p) if p else p for name, p in probed.items()}
        tiers: dict[str, str | None] = {}
        reasons: list[str] = []
        chains = runtime.graph.chains
        for tier in runtime.graph.config.tiers:
            why_not: list[str] = []
            tiers[tier] = None
            for target in chains.for_tier(tier):
                problem = problems.get(target.backend)
                if problem is None and runtime.router.breaker_state(target) == "open":
                    problem = "circuit breaker open"
                if problem is None:
                    tiers[tier] = target.label
                    break
                why_not.append(f"{target.label}: {problem}")
            if tiers[tier] is None:
                reasons.append(f"tier '{tier}' has no available target ({'; '.join(why_not) or 'no targets'})")
        return ReadinessReport(
            ready=not reasons,
            rules={"version": runtime.version, "status": rules.status, "path": str(rules.path)},
            tiers=tiers,
            backends={name: problems.get(name) or "ok" for name in runtime.backends},
            reasons=reasons,
        )

    async def _probe(self, backends: Mapping[str, Backend]) -> dict[str, str | None]:
        """Each backend's problem (None: fine), probing those whose cached answer is stale."""
        async with self._lock:
            now = self._clock()
            stale = [
                (name, backend)
                for name, backend in backends.items()
                if (cached := self._probed.get(name)) is None or cached[1] is not backend or now - cached[0] > self._ttl
            ]
            results = await asyncio.gather(*(_problem(b) for _, b in stale))
            for (name, backend), result in zip(stale, results, strict=True):
                self._probed[name] = (now, backend, result)
            return {name: self._probed[name][2] for name in backends}


async def _problem(backend: Backend) -> str | None:
    missing = backend.missing()
    if missing is not None:
        return missing
    try:
        return await backend.probe()
    except Exception as exc:  # a probe must answer, never raise into /ready
        return f"probe failed: {type(exc).__name__}"
