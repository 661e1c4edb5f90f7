"""The two counters behind a target's limits, each resizable in place so a reload keeps what they count.

- :class:`Gate` counts calls in flight against ``limits.concurrency``;
- :class:`Bucket` is a leaky bucket of requests against ``limits.rpm`` (and a client key's rpm), aiolimiter's.

A reload that changes a number resizes the one counter the key has had since it was first used, rather
than starting a new one beside it: a new counter would not count the calls already in flight or the
requests already spent, and the calls holding or queued on the old one would go on beside the new one's
(a concurrency of 1 raised to 2 had 3 in flight). A limit of ``None`` is no limit: the counter still
counts, so a limit configured later counts what is already in flight.

Both queue their waiters first come, first served: capacity that appears goes to the longest waiter, and a
call that asks without waiting (``free()``, then ``take_now()``) gets nothing while anyone waits. A waiter
cancelled (by its timeout, or its client leaving) leaves the queue, and a gate's gives back a slot it was
handed after the hand-over (a bucket's waiter takes its request only once it runs).

    gate = Gate(2)
    await gate.take()          # waits its turn for a slot
    gate.release()
    gate.resize(1)             # calls in flight finish; none starts until fewer than 1 are in flight
    bucket = Bucket(60, period=60.0)
    await bucket.take()
    bucket.resize(30)          # the requests spent fill the same share of the new budget
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from aiolimiter import AsyncLimiter


class Gate:
    """Calls in flight, at most ``limit`` at a time (``None``: no limit)."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.inflight = 0
        self._queue: deque[asyncio.Future[None]] = deque()

    def free(self) -> bool:
        """A slot can be taken now, ahead of nobody."""
        return not self._queue and (self.limit is None or self.inflight < self.limit)

    def take_now(self) -> None:
        """Take a slot that ``free()`` just said is there."""
        self.inflight += 1

    async def take(self) -> None:
        """Take a slot, waiting in line for one; cancel the wait to leave the line."""
        if self.free():
            self.inflight += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.cancelled():
                with contextlib.suppress(ValueError):  # already passed over by _serve
                    self._queue.remove(waiter)
            else:
                self.release()  # handed a slot it will not use
            raise

    def release(self) -> None:
        self.inflight -= 1
        self._serve()

    def resize(self, limit: int | None) -> None:
        """The new limit, counting the calls in flight: waiters get any room it makes."""
        self.limit = limit
        self._serve()

    def _serve(self) -> None:
        while self._queue and (self.limit is None or self.inflight < self.limit):
            waiter = self._queue.popleft()
            if waiter.done():  # cancelled in this loop step, before its task ran: it takes no slot
                continue
            self.inflight += 1
            waiter.set_result(None)


class _Limiter(AsyncLimiter):
    """aiolimiter's leaky bucket, with a rate that can change in place (its own state, read and set here)."""

    __slots__ = ()

    def waiting(self) -> bool:
        return any(not future.done() for _, _, future in self._waiters)

    def spend(self) -> None:
        """One request, taken when ``has_capacity()`` just said it fits (as ``acquire`` would, without awaiting)."""
        self._leak()
        self._level += 1

    def resize(self, max_rate: float) -> None:
        """The new rate; the level keeps its share of the bucket, and waiters get any room that makes."""
        self._leak()
        self._level = self._level * max_rate / self.max_rate
        self.max_rate = max_rate
        self._rate_per_sec = max_rate / self.time_period
        self._wake_next()


#: What a limit that was removed releases its waiters with: room for every one of them at once.
_UNBOUNDED = 1e18


class Bucket:
    """A leaky bucket of ``rpm`` requests per ``period`` seconds (``None``: no limit): aiolimiter's
    ``AsyncLimiter``, a burst of ``rpm`` and then one request every ``period / rpm`` seconds, like the GCRA
    that counts a limit in Redis (:mod:`tiergate.state.limits`). Its waiters are served in the order they
    came (aiolimiter's queue), and one cancelled while it waits has taken nothing."""

    def __init__(self, rpm: int | None, period: float) -> None:
        self.rpm = rpm
        self.period = period
        self._limiter = _Limiter(rpm, period) if rpm is not None else None

    def free(self) -> bool:
        """A request fits now, ahead of nobody."""
        limiter = self._limiter
        return limiter is None or (not limiter.waiting() and limiter.has_capacity())

    def take_now(self) -> None:
        """Spend a request that ``free()`` just said fits."""
        if self._limiter is not None:
            self._limiter.spend()

    async def take(self) -> None:
        """Spend a request, waiting in line until one fits; cancel the wait to leave the line."""
        if self._limiter is not None:
            await self._limiter.acquire()

    def resize(self, rpm: int | None) -> None:
        """The new rate. The requests spent fill the same share of the new budget, so the bucket empties
        when it would have, as in Redis: raising and lowering the rate never refills it, and a lowered
        rate never holds requests back for longer than a period. A bucket that had no limit starts empty;
        one whose limit is removed lets its waiters go."""
        if rpm is None:
            if self._limiter is not None:
                self._limiter.resize(_UNBOUNDED)
            self._limiter = None
        elif self._limiter is None:
            self._limiter = _Limiter(rpm, self.period)
        else:
            self._limiter.resize(rpm)
        self.rpm = rpm
