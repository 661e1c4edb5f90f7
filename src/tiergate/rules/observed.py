"""What the gateway has observed of its targets, as request features: ``target.<tier>.<stat>``.

A rule can then react to the running system, not only to the request:

    - name: local_is_slow
      when: {feature: target.local.ttft_p95_ms, gt: 8000}
      then: {tier: sonnet, confidence: 0.8}

The numbers are the latency of the tier's first target (tiergate.telemetry.latency), in milliseconds:
moving averages and p50/p95/p99 of the time to first token and of the whole call, over the most recent
requests (``routing.latency``); ``samples`` and ``observed`` count them. Before the router reads the rules
it leaves a reader on the features (:data:`MEMO_KEY`); a stat with no sample yet, or no reader (the
offline dry run, ``tiergate eval``), reads 0, so a "slower than" rule does not fire on no evidence.
Reading a stat is a dict lookup: the percentiles are computed when a request ends, not here.

``target.<tier>.loaded`` is true when the tier's first target on an Ollama backend has its model in the
server's memory, as ``/api/ps`` last said (tiergate.telemetry.residency: refreshed in the background, a
few seconds old at most); unknown reads false. It lets a rule prefer a model that is already loaded:

    - name: warm_local
      when: {feature: target.local.loaded, eq: true}
      then: {score: -0.2}
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol

from tiergate.config.problems import did_you_mean
from tiergate.rules.features import Features, family

MEMO_KEY = "observed"
STATS = {
    "ttft_ema_ms": "moving average of the time to first token (streams)",
    "ttft_p50_ms": "median time to first token",
    "ttft_p95_ms": "95th percentile of the time to first token",
    "ttft_p99_ms": "99th percentile of the time to first token",
    "total_ema_ms": "moving average of the whole call",
    "total_p50_ms": "median of the whole call",
    "total_p95_ms": "95th percentile of the whole call",
    "total_p99_ms": "99th percentile of the whole call",
    "samples": "samples in the window (a profile's count before any request)",
    "observed": "requests observed since the gateway started",
    "loaded": "true when the tier's first Ollama target's model is in its server's memory (`/api/ps`)",
}


class LatencyReader(Protocol):
    """What the router leaves on the features: a tier's first target's stats (LatencyStats), or None, and
    whether its first Ollama target's model is loaded."""

    def latency(self, tier: str) -> Any: ...

    def loaded(self, tier: str) -> bool: ...


def _check(key: str, tiers: Collection[str]) -> str | None:
    tier, _, stat = key.rpartition(".")
    if not tier:
        return "name a tier and a stat: target.<tier>.<stat>, e.g. target.local.ttft_p95_ms"
    if stat not in STATS:
        hint = did_you_mean(stat, list(STATS)) or f" (one of {', '.join(STATS)})"
        return f"unknown stat '{stat}'{hint}"
    if tier not in tiers:
        return f"unknown tier '{tier}'{did_you_mean(tier, list(tiers))}"
    return None


@family(
    "target",
    "number",
    "the observed latency of a tier's first target, in ms: `target.local.ttft_p95_ms` (0 before any sample); "
    "`target.local.loaded`: its first Ollama target's model is in memory",
    check=_check,
)
def target(f: Features, key: str) -> float | bool:
    tier, _, stat = key.rpartition(".")
    reader: LatencyReader | None = f._memo.get(MEMO_KEY)
    if stat == "loaded":
        return reader.loaded(tier) if reader is not None else False
    stats = reader.latency(tier) if reader is not None else None
    value = getattr(stats, stat, None) if stats is not None else None
    return float(value) if value is not None else 0.0
