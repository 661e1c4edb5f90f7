"""Requests-per-minute and concurrency limits per target, and rpm limits per client key.

Each ``Target.key`` (backend/model) gets a leaky :class:`~tiergate.resilience.counters.Bucket` of
``rpm`` requests a minute and a :class:`~tiergate.resilience.counters.Gate` of ``concurrency`` calls in
flight. They live in a registry kept across reloads, like the breakers; a reload that changes ``rpm`` or
``concurrency`` resizes them in place: the calls in flight stay counted (after lowering the limit they
finish, and no new one starts until fewer than the new limit are in flight), waiters get any room a
raised limit makes, and the requests already spent fill the same share of the new rpm budget.

What happens at a limit is ``limits.on_limit``:

- ``fallback``: raise :class:`~tiergate.errors.RateLimited` at once; dispatch records it and tries the
  next target.
- ``wait``: wait up to ``max_wait`` seconds for capacity, then raise ``RateLimited``.
- ``reject``: raise :class:`LimitRejected` (a ``RateLimited`` with ``fallback_ok = False``): the client
  gets the 429 and no other target is tried.

With ``shared`` (a :class:`~tiergate.state.limits.SharedLimits`, when ``state.redis_url`` is set) the
counting happens in Redis, so every worker and replica spends one budget; while Redis is unreachable
each call falls back to this process's own limiters. A call takes one of this process's own concurrency
slots first in every case, so the process never has more than ``concurrency`` in flight, whichever of
Redis or itself counted the calls it has in flight.

The concurrency slot is held for the whole ``async with``. For a stream that is until the stream
ends, which outlives the call that opened it: see ``ResilienceGuard.run(hold=...)``.

    limiters = Limiters()
    async with limiters.acquire(target):
        answer = await backend.complete(request, call)
    await limiters.client("team-key-name", rpm=120)   # raises RateLimited when the key is over budget
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from tiergate.engine.targets import Target
from tiergate.errors import LimitRejected, RateLimited
from tiergate.resilience.counters import Bucket, Gate
from tiergate.state.limits import SharedLimits, Taken
from tiergate.state.link import DOWN

#: How often a ``wait`` for shared capacity asks Redis again when it gave no better time.
SHARED_POLL = 0.05

#: The ``retry-after`` (seconds) of a concurrency limit: a slot frees when a request in flight ends, which
#: cannot be foreseen, so the client is told the shortest wait a header can say.
CONCURRENCY_RETRY_AFTER = 1.0

log = logging.getLogger("tiergate.limits")


@dataclass(frozen=True)
class _Slots:
    """One key's counters, kept for the life of the process and resized when a load changes a limit."""

    rate: Bucket
    inflight: Gate

    @property
    def rpm(self) -> int | None:
        return self.rate.rpm

    @property
    def concurrency(self) -> int | None:
        return self.inflight.limit


class Limiters:
    """The registry: create it once per process and pass it to every load's guard.

    ``period`` is the window ``rpm`` counts over: 60 seconds, or less in tests that want a short wait.

        limiters = Limiters()
        limiters.configure(graph.dispatch_targets())   # on each load
    """

    def __init__(self, *, period: float = 60.0, shared: SharedLimits | None = None) -> None:
        self._period = period
        self.shared = shared
        self._targets: dict[str, _Slots] = {}
        self._clients: dict[str, Bucket] = {}

    def configure(self, targets: Iterable[Target]) -> None:
        """Apply a load's limits. A key listed twice keeps its first listing's limits."""
        seen: set[str] = set()
        for target in targets:
            if target.key not in seen:
                seen.add(target.key)
                self._refresh(target)

    @contextlib.asynccontextmanager
    async def acquire(self, target: Target) -> AsyncIterator[None]:
        """Take one request of ``target``'s rpm and hold one concurrency slot until the block ends.

        This process's own slot comes first, shared state or not: its count of calls in flight stays whole
        as Redis goes and returns (one process never has more than ``concurrency`` in flight), and no rpm
        is spent, here or in Redis, for a call whose slot never comes."""
        slots = self._targets.get(target.key) or self._refresh(target)
        waiting = target.limits.on_limit == "wait"
        deadline = time.monotonic() + target.limits.max_wait if waiting else None
        async with contextlib.AsyncExitStack() as held:
            await self._slot(slots, target, held, deadline)
            shared = (slots.rpm or slots.concurrency) and self.shared is not None
            if not (shared and await self._shared(slots, target, held, deadline)) and slots.rpm is not None:
                await self._rate(slots, target, deadline)
            yield

    async def client(self, key: str, rpm: int, who: str = "this API key") -> None:
        """Spend one request of client ``key``'s budget or raise ``RateLimited`` saying whose budget it is
        (``who``); never names the key."""
        if self.shared is not None:
            name = "client:" + hashlib.sha256(key.encode()).hexdigest()[:32]
            taken = await self.shared.take(name, rpm=rpm, concurrency=None, period=self._period)
            if taken is not DOWN:
                assert isinstance(taken, Taken)
                if not taken.ok:
                    message = f"rate limit for {who} reached ({rpm} requests per minute)"
                    raise RateLimited(message, retry_after=taken.retry_after)
                return
        bucket = self._clients.get(key)
        if bucket is None:
            bucket = self._clients[key] = Bucket(rpm, self._period)
        elif bucket.rpm != rpm:
            bucket.resize(rpm)  # what the key spent carries over, as it does in Redis
        if not bucket.free():
            raise RateLimited(
                f"rate limit for {who} reached ({rpm} requests per minute)", retry_after=self._period / rpm
            )
        bucket.take_now()

    # --- shared in Redis -----------------------------------------------------------------------

    async def _shared(
        self, slots: _Slots, target: Target, held: contextlib.AsyncExitStack, deadline: float | None
    ) -> bool:
        """Take the target's limits in Redis: True when taken, False when Redis is down (count here
        instead); raises like the in-process modes when the shared budget is spent. ``deadline``: where
        ``wait`` stops waiting (None: the other modes, which do not)."""
        assert self.shared is not None
        shared = self.shared
        waiting = deadline is not None
        while True:
            taken = await shared.take(target.key, rpm=slots.rpm, concurrency=slots.concurrency, period=self._period)
            if taken is DOWN:
                return False
            assert isinstance(taken, Taken)
            if taken.ok:
                if taken.lease is not None:
                    held.callback(shared.release, target.key, taken.lease)
                return True
            assert taken.limit is not None
            left = deadline - time.monotonic() if deadline is not None else 0.0
            if not waiting or left <= 0:
                detail = self._reached(taken.limit, slots, target)
                if waiting:
                    detail += f"; none free within {target.limits.max_wait:g}s (limits.max_wait)"
                error = LimitRejected if target.limits.on_limit == "reject" else RateLimited
                retry_after = taken.retry_after
                if retry_after is None:
                    retry_after = self._retry_after(slots) if taken.limit == "rate" else CONCURRENCY_RETRY_AFTER
                raise error(detail, retry_after=retry_after)
            await asyncio.sleep(min(taken.retry_after or SHARED_POLL, left))

    # --- in this process: ``fallback`` and ``reject`` take only what is free now; ``wait`` queues ------

    async def _slot(
        self, slots: _Slots, target: Target, held: contextlib.AsyncExitStack, deadline: float | None
    ) -> None:
        """One of this process's concurrency slots, held until the block ends (counted with no limit too,
        so a limit a reload sets counts the calls already in flight)."""
        if deadline is None:
            if not slots.inflight.free():
                error = LimitRejected if target.limits.on_limit == "reject" else RateLimited
                raise error(self._reached("concurrency", slots, target), retry_after=CONCURRENCY_RETRY_AFTER)
            slots.inflight.take_now()
        else:
            try:
                async with asyncio.timeout(max(deadline - time.monotonic(), 0)):
                    await slots.inflight.take()
            except TimeoutError:
                detail = f"{self._reached('concurrency', slots, target)}; none free within {target.limits.max_wait:g}s"
                raise RateLimited(f"{detail} (limits.max_wait)", retry_after=CONCURRENCY_RETRY_AFTER) from None
        held.callback(slots.inflight.release)

    async def _rate(self, slots: _Slots, target: Target, deadline: float | None) -> None:
        """One request of this process's rpm (taken after the slot: a token cannot be given back)."""
        if deadline is None:
            if not slots.rate.free():
                error = LimitRejected if target.limits.on_limit == "reject" else RateLimited
                raise error(self._reached("rate", slots, target), retry_after=self._retry_after(slots))
            slots.rate.take_now()
            return
        try:
            async with asyncio.timeout(max(deadline - time.monotonic(), 0)):
                await slots.rate.take()
        except TimeoutError:
            detail = f"{self._reached('rate', slots, target)}; none free within {target.limits.max_wait:g}s"
            raise RateLimited(f"{detail} (limits.max_wait)", retry_after=self._retry_after(slots)) from None

    def _reached(self, limit: str, slots: _Slots, target: Target) -> str:
        if limit == "concurrency":
            return f"concurrency limit for {target.key} reached (limits.concurrency: {slots.concurrency} in flight)"
        return f"rate limit for {target.key} reached (limits.rpm: {slots.rpm})"

    def _retry_after(self, slots: _Slots) -> float | None:
        """When one more request fits: a full bucket leaks one request every period/rpm seconds."""
        return self._period / slots.rpm if slots.rpm is not None else None

    # --- registry -----------------------------------------------------------------------------

    def _refresh(self, target: Target) -> _Slots:
        """The key's counters, resized where the configured number changed."""
        limits = target.limits
        slots = self._targets.get(target.key)
        if slots is None:
            slots = self._targets[target.key] = _Slots(Bucket(limits.rpm, self._period), Gate(limits.concurrency))
        elif (slots.rpm, slots.concurrency) != (limits.rpm, limits.concurrency):
            log.info("limits for %s: rpm %s, concurrency %s", target.key, limits.rpm, limits.concurrency)
            slots.rate.resize(limits.rpm)
            slots.inflight.resize(limits.concurrency)
        return slots
