"""The two counters behind a target's limits, each resizable in place so a reload keeps what they count.

- :class:`Gate` counts calls in flight against ``limits.concurrency``;
- :class:`Bucket` is a leaky bucket of requests against ``limits.rpm`` (and a client key's rpm).

A reload that changes a number resizes the one counter the key has had since it was first used, rather
than starting a new one beside it: a new counter would not count the calls already in flight or the
requests already spent, and the calls holding or queued on the old one would go on beside the new one's
(a concurrency of 1 raised to 2 had 3 in flight). A limit of ``None`` is no limit: the counter still
counts, so a limit configured later counts what is already in flight.

Both queue their waiters first come, first served: capacity that appears is handed to the longest waiter,
and a call that asks without waiting (``free()``, then ``take_now()``) gets nothing while anyone waits. A
waiter cancelled (by its timeout, or its client leaving) leaves the queue, and gives back what it was
handed if the cancellation came after the hand-over.

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
import time
from collections import deque
from collections.abc import Callable


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
            self.inflight += 1
            waiter.set_result(None)


class Bucket:
    """A leaky bucket of ``rpm`` requests per ``period`` seconds (``None``: no limit).

    It holds ``rpm`` requests and leaks one every ``period / rpm`` seconds, so a burst of ``rpm`` fits and
    then one request per leak, like the GCRA that counts a limit in Redis (:mod:`tiergate.state.limits`).
    ``clock`` measures the leak (tests pass their own); the timer that wakes a waiter runs on the loop's."""

    def __init__(self, rpm: int | None, period: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rpm = rpm
        self.period = period
        self._clock = clock
        self._level = 0.0
        self._at = clock()
        self._queue: deque[asyncio.Future[None]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def free(self) -> bool:
        """A request fits now, ahead of nobody."""
        return not self._queue and self._fits()

    def take_now(self) -> None:
        """Spend a request that ``free()`` just said fits."""
        self._level += 1

    async def take(self) -> None:
        """Spend a request, waiting in line until one fits; cancel the wait to leave the line."""
        if self.free():
            self._level += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._queue.append(waiter)
        self._serve()
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.cancelled():
                self._queue.remove(waiter)
            else:
                self._level = max(self._level - 1, 0.0)  # handed a request it will not send
            self._serve()
            raise

    def resize(self, rpm: int | None) -> None:
        """The new rate. The requests spent fill the same share of the new budget, so the bucket empties
        when it would have, as in Redis: raising and lowering the rate never refills it, and a lowered
        rate never holds requests back for longer than a period. A bucket that had no limit starts empty."""
        self._leak()
        self._level = 0.0 if rpm is None or self.rpm is None else self._level * rpm / self.rpm
        self.rpm = rpm
        self._serve()

    def _leak(self) -> None:
        now = self._clock()
        if self.rpm is not None:
            self._level = max(self._level - (now - self._at) * self.rpm / self.period, 0.0)
        self._at = now

    def _fits(self) -> bool:
        self._leak()
        return self.rpm is None or self._level + 1 <= self.rpm

    def _serve(self) -> None:
        """Hand what fits to the waiters in turn, and set a timer for the next one's request to leak."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._queue and self._fits():
            waiter = self._queue.popleft()
            if self.rpm is not None:
                self._level += 1
            waiter.set_result(None)
        if self._queue and self.rpm is not None:
            leaks_in = (self._level + 1 - self.rpm) * self.period / self.rpm
            self._timer = self._queue[0].get_loop().call_later(leaks_in, self._serve)
