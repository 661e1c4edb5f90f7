"""Latency per target, as the gateway observes it: moving averages and rolling percentiles.

Every finished request tells the store how long its serving target took (an Observer of RequestRecords):

- **time to first token** — a stream's successful attempt, from its start to the first event;
- **total** — a whole answer's successful attempt; for a stream, the first event plus the rest of the
  stream (a stream the client left, or that broke, gives no total);
- a **timed-out** attempt counts at the time it waited (first token for a stream, total otherwise): a
  lower bound of the real figure, and the slowness a rule wants to see. Other failures (refused
  connections, error statuses) say nothing about speed and are left out.

Per target (``backend/model``) the store keeps an exponential moving average (``routing.latency.alpha``)
and the last ``window`` samples, and recomputes the p50/p95/p99 snapshot when a sample arrives, after the
response has gone out; readers (the ``target.*`` features, ``/health``, ``/metrics``, the dry run) get
the last snapshot with one dict lookup. A ``tiergate profile`` file seeds a target that has no samples.
Samples older than ``max_age`` seconds are forgotten (the snapshot is recomputed when a reader comes after
the oldest one expired): a tier a latency rule routes away from gets no new samples, and would otherwise
stay away for good after one slow answer.

The store is in process; :class:`LatencyStore` is the seam for a shared one (Redis) across replicas.

    store = LocalLatency()
    gateway.observers.append(LatencyObserver(store))
    store.stats("ollama/qwen2.5-coder:7b").ttft_p95_ms
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from tiergate.engine.decision import LatencyStats
from tiergate.telemetry.record import RequestRecord

DEFAULT_ALPHA = 0.3
DEFAULT_WINDOW = 256
DEFAULT_MAX_AGE = 900.0


class LatencyStore(Protocol):
    """Where latency samples go and their summaries come from; one per process (or shared)."""

    def configure(self, alpha: float, window: int, max_age: float = DEFAULT_MAX_AGE) -> None:
        """Apply ``routing.latency`` (on every load; a changed window keeps the newest samples)."""
        ...

    def add(self, key: str, *, ttft_ms: float | None = None, total_ms: float | None = None) -> None: ...

    def seed(self, key: str, *, ttft_ms: Sequence[float], total_ms: Sequence[float]) -> None:
        """Start a target that has no samples from measured ones (a profile); no-op once it has any."""
        ...

    def stats(self, key: str) -> LatencyStats | None: ...

    def snapshot(self) -> dict[str, LatencyStats]: ...


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of sorted samples: a value that was observed, never an interpolation."""
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


@dataclass
class _Series:
    #: (when, value), oldest first
    window: deque[tuple[float, float]]
    ema: float | None = None

    def add(self, value: float, alpha: float, now: float) -> None:
        self.window.append((now, value))
        self.ema = value if self.ema is None else alpha * value + (1 - alpha) * self.ema

    def resize(self, size: int) -> None:
        if self.window.maxlen != size:
            self.window = deque(self.window, maxlen=size)

    def forget_before(self, when: float) -> None:
        while self.window and self.window[0][0] < when:
            self.window.popleft()
        if not self.window:
            self.ema = None  # nothing left it averages

    def oldest(self) -> float:
        return self.window[0][0] if self.window else math.inf

    def summary(self) -> tuple[float | None, float | None, float | None, float | None]:
        if not self.window:
            return None, None, None, None
        ordered = sorted(value for _, value in self.window)
        return (
            round(self.ema, 3) if self.ema is not None else None,
            round(percentile(ordered, 0.50), 3),
            round(percentile(ordered, 0.95), 3),
            round(percentile(ordered, 0.99), 3),
        )


@dataclass
class _Target:
    ttft: _Series
    total: _Series
    observed: int = 0
    stats: LatencyStats = field(default_factory=lambda: LatencyStats(samples=0, observed=0))
    #: When the oldest sample expires: a reader after it recomputes the snapshot.
    expires: float = math.inf

    def age(self, now: float, max_age: float) -> None:
        self.ttft.forget_before(now - max_age)
        self.total.forget_before(now - max_age)
        self.expires = min(self.ttft.oldest(), self.total.oldest()) + max_age
        self.refresh()

    def refresh(self) -> None:
        t_ema, t50, t95, t99 = self.ttft.summary()
        a_ema, a50, a95, a99 = self.total.summary()
        self.stats = LatencyStats(
            samples=max(len(self.ttft.window), len(self.total.window)),
            observed=self.observed,
            ttft_ema_ms=t_ema,
            ttft_p50_ms=t50,
            ttft_p95_ms=t95,
            ttft_p99_ms=t99,
            total_ema_ms=a_ema,
            total_p50_ms=a50,
            total_p95_ms=a95,
            total_p99_ms=a99,
        )


class LocalLatency:
    """The in-process store: bounded windows, snapshots recomputed per sample (O(window log window))."""

    def __init__(
        self,
        alpha: float = DEFAULT_ALPHA,
        window: int = DEFAULT_WINDOW,
        max_age: float = DEFAULT_MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.alpha = alpha
        self.window = window
        self.max_age = max_age
        self._clock = clock
        self._targets: dict[str, _Target] = {}

    def configure(self, alpha: float, window: int, max_age: float = DEFAULT_MAX_AGE) -> None:
        self.alpha = alpha
        if max_age != self.max_age:
            self.max_age = max_age
            now = self._clock()
            for target in self._targets.values():
                target.age(now, max_age)
        if window != self.window:
            self.window = window
            for target in self._targets.values():
                target.ttft.resize(window)
                target.total.resize(window)
                target.refresh()

    def _target(self, key: str) -> _Target:
        found = self._targets.get(key)
        if found is None:
            found = self._targets[key] = _Target(_Series(deque(maxlen=self.window)), _Series(deque(maxlen=self.window)))
        return found

    def add(self, key: str, *, ttft_ms: float | None = None, total_ms: float | None = None) -> None:
        if ttft_ms is None and total_ms is None:
            return
        target = self._target(key)
        now = self._clock()
        if ttft_ms is not None:
            target.ttft.add(ttft_ms, self.alpha, now)
        if total_ms is not None:
            target.total.add(total_ms, self.alpha, now)
        target.observed += 1
        target.age(now, self.max_age)

    def seed(self, key: str, *, ttft_ms: Sequence[float], total_ms: Sequence[float]) -> None:
        target = self._target(key)
        if target.observed or target.ttft.window or target.total.window:
            return
        now = self._clock()
        for series, values in ((target.ttft, ttft_ms), (target.total, total_ms)):
            for value in values:
                series.window.append((now, value))
            if values:
                series.ema = sorted(values)[len(values) // 2]  # start the average at the median, not the last
        target.age(now, self.max_age)

    def stats(self, key: str) -> LatencyStats | None:
        found = self._targets.get(key)
        if found is None:
            return None
        if found.expires <= (now := self._clock()):
            found.age(now, self.max_age)
        return found.stats if found.stats.samples else None

    def snapshot(self) -> dict[str, LatencyStats]:
        now = self._clock()
        for target in self._targets.values():
            if target.expires <= now:
                target.age(now, self.max_age)
        return {key: t.stats for key, t in sorted(self._targets.items()) if t.stats.samples}


class LatencyObserver:
    """Feeds the store from each finished request's successful (or timed-out) attempts."""

    def __init__(self, store: LatencyStore) -> None:
        self.store = store

    def observe(self, record: RequestRecord) -> None:
        for key, ttft, total in samples(record):
            self.store.add(key, ttft_ms=ttft, total_ms=total)


def samples(record: RequestRecord) -> Iterable[tuple[str, float | None, float | None]]:
    """(target key, ttft ms, total ms) for each attempt of ``record`` that says something about speed."""
    for attempt in record.attempts:
        key = attempt.target.key
        elapsed = float(attempt.elapsed_ms)
        if attempt.outcome == "timeout":
            yield (key, elapsed, None) if record.stream else (key, None, elapsed)
        elif attempt.outcome == "ok":
            if not record.stream:
                yield key, None, elapsed
                continue
            whole = record.status == 200 and record.error is None and record.ttft_ms is not None
            rest = record.latency_ms - record.ttft_ms if whole and record.ttft_ms is not None else None
            yield key, elapsed, elapsed + rest if rest is not None else None
