"""One circuit breaker per backend/model, kept across rule reloads.

A target that keeps failing is skipped (the router sees ``state() == "open"``) until ``reset_timeout``
has passed; then one trial call goes through ("half-open"): success closes the breaker, failure opens it
again. Breakers live in a registry keyed by ``Target.key`` so a reload neither forgets a sick upstream
nor forgives it; a reload that changes ``fail_max``/``reset_timeout`` updates the live breaker.

pybreaker holds the state (so ``CircuitRedisStorage`` can share it between replicas) and notifies
listeners; this module decides what counts, because pybreaker's own ``calling()`` sees every exception,
cancellation included, as either a failure or a success:

- an error for which :func:`tiergate.errors.trips_breaker` is true is a failure;
- a request that was never sent (``UpstreamUnavailable(kind="config")``: no API key, a URL that cannot
  be used) says nothing about the upstream: no outcome, so its clear error is not replaced by "breaker
  open" after ``fail_max`` requests;
- any other ``UpstreamError`` (a 400, a 401) means the upstream answered: a success;
- anything else (the client went away, a bug of ours) says nothing about the upstream: no outcome.

The last failure is kept beside the state (``last_failure``), so a request skipped because the breaker
is open can still be told what went wrong: "connection refused", not only "breaker open".

With a ``mirror`` (:class:`~tiergate.state.breakers.BreakerMirror`, when ``state.redis_url`` is set) every
failure and transition is shared with the other workers and replicas, and what they publish is applied
here through :meth:`Breakers.apply`; the state the router reads stays in memory.

``opened_at`` is stamped from the injected wall clock (not ``datetime.now``) so tests never sleep and
replicas sharing a storage agree on when the breaker opened.

    breakers = Breakers()
    answer = await breakers.call(target, lambda: backend.complete(request, call), url=backend.url)
    breakers.state(target)   # "closed" | "open" | "half-open"
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from pybreaker import (
    STATE_CLOSED,
    STATE_HALF_OPEN,
    STATE_OPEN,
    CircuitBreaker,
    CircuitBreakerListener,
    CircuitBreakerState,
    CircuitBreakerStorage,
    CircuitMemoryStorage,
)

from tiergate.engine.targets import Target
from tiergate.errors import UpstreamError, UpstreamUnavailable, trips_breaker

T = TypeVar("T")

log = logging.getLogger("tiergate.breakers")

StorageFactory = Callable[[str], CircuitBreakerStorage]
"""Builds the state storage for one ``Target.key``; e.g. for replicas sharing state::

    Breakers(storage=lambda key: CircuitRedisStorage(STATE_CLOSED, redis, namespace=f"tiergate:{key}"))
"""


def memory_storage(key: str) -> CircuitBreakerStorage:
    """The default: state lives in this process only."""
    return CircuitMemoryStorage(STATE_CLOSED)


class ClockedStorage(CircuitBreakerStorage):
    """Delegates to another storage but stamps ``opened_at`` from an injected clock (epoch seconds).

    pybreaker's ``open()`` passes ``datetime.now(UTC)``; ignoring it here is what lets tests drive time.

        storage = ClockedStorage(CircuitMemoryStorage(STATE_CLOSED), clock=time.time)
    """

    def __init__(self, inner: CircuitBreakerStorage, clock: Callable[[], float]) -> None:
        super().__init__(inner.name)
        self._inner = inner
        self._clock = clock

    @property
    def inner(self) -> CircuitBreakerStorage:
        """The storage itself, for state set from elsewhere (another replica's ``opened_at``)."""
        return self._inner

    @property
    def state(self) -> str:
        return self._inner.state

    @state.setter
    def state(self, state: str) -> None:
        self._inner.state = state

    def increment_counter(self) -> None:
        self._inner.increment_counter()

    def reset_counter(self) -> None:
        self._inner.reset_counter()

    def increment_success_counter(self) -> None:
        self._inner.increment_success_counter()

    def reset_success_counter(self) -> None:
        self._inner.reset_success_counter()

    @property
    def counter(self) -> int:
        return self._inner.counter

    @property
    def success_counter(self) -> int:
        return self._inner.success_counter

    @property
    def opened_at(self) -> datetime | None:
        return self._inner.opened_at

    @opened_at.setter
    def opened_at(self, _now: datetime) -> None:
        self._inner.opened_at = datetime.fromtimestamp(self._clock(), UTC)


class Mirror(Protocol):
    """Shares breaker transitions between processes (:class:`tiergate.state.breakers.BreakerMirror`)."""

    def failed(self, key: str, fail_max: int, window: float, now: float) -> None: ...
    def opened(self, key: str, now: float) -> None: ...
    def closed(self, key: str) -> None: ...
    def reset(self, key: str) -> None: ...


#: A shared failure count is forgotten this long after the last failure (at least the reset timeout).
SHARED_WINDOW = 60.0


class LogStateChanges(CircuitBreakerListener):
    """One log line per state change, naming the breaker's key: an operator's first clue."""

    def state_change(
        self, cb: CircuitBreaker, old_state: CircuitBreakerState | None, new_state: CircuitBreakerState
    ) -> None:
        old = old_state.name if old_state is not None else None
        if old == new_state.name:
            return
        level = logging.WARNING if new_state.name == STATE_OPEN else logging.INFO
        log.log(level, "circuit breaker for %s is now %s (was %s)", cb.name, new_state.name, old)


def _trial_wait(left: float) -> float:
    """The retry-after of a call refused while a trial is in flight: a trial that is a stream may run for
    minutes, so a few seconds at most, when the trial may well have ended."""
    return max(1.0, min(5.0, left))


@dataclass(eq=False)
class _Trial:
    """One half-open trial call. ``until``: when it is over whatever became of it (on the breakers' clock),
    its target's ``timeouts.total`` after it began: a stream whose end was never reported (its response
    never sent) cannot hold the breaker half-open past that."""

    until: float


@dataclass
class _Entry:
    breaker: CircuitBreaker
    storage: ClockedStorage
    #: A half-open trial call is in flight (its token): let no other call through until it ends.
    trial: _Trial | None = None
    key: str = ""
    last_failure: str | None = None  # the text of the last error that counted as a failure (already scrubbed)


class Breakers:
    """The registry: create it once per process and pass it to every load's guard.

    breakers = Breakers(clock=time.time)
    breakers.configure(graph.dispatch_targets())   # on each load: new settings, same state
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        storage: StorageFactory = memory_storage,
        mirror: Mirror | None = None,
    ) -> None:
        self._clock = clock
        self._storage = storage
        self.mirror = mirror
        self._entries: dict[str, _Entry] = {}
        self._listener = LogStateChanges()

    def configure(self, targets: Iterable[Target]) -> None:
        """Apply a load's settings. A key listed twice keeps its first listing's settings."""
        seen: set[str] = set()
        for target in targets:
            if target.key in seen:
                continue
            seen.add(target.key)
            entry = self._entries.get(target.key)
            if entry is None:
                self._entries[target.key] = self._create(target)
            else:
                _apply_settings(entry.breaker, target)

    def state(self, target: Target) -> str:
        """What /health, the dry run and the router see; an open breaker whose time is up reads "half-open",
        and a half-open one whose trial call is in flight reads "open": it refuses every other call until
        the trial ends, so the router skips it (the dry run says so) and /ready does not count it."""
        entry = self._entry(target)
        state = entry.breaker.current_state
        if state == STATE_OPEN and self._remaining(entry) <= 0:
            state = STATE_HALF_OPEN
        if state == STATE_HALF_OPEN and entry.trial is not None and entry.trial.until > self._clock():
            return STATE_OPEN
        return state

    async def call(
        self,
        target: Target,
        call: Callable[[], Awaitable[T]],
        *,
        url: str = "-",
        hold: contextlib.AsyncExitStack | None = None,
        trial_call: Callable[[], Awaitable[T]] | None = None,
    ) -> T:
        """Run ``call`` unless the breaker is open, and record its outcome; the half-open trial runs
        ``trial_call`` instead where one is given (the call without its retries: one call decides, and a
        client whose trial fails falls back at once instead of waiting out the backoffs).

        Raises ``UpstreamUnavailable(kind="breaker_open")`` without calling when the breaker is open.
        With ``hold`` (a stream, whose first event is not yet its outcome) a success is not recorded here:
        ``settle`` records the outcome when the stream ends. A half-open trial stays in flight until then,
        refusing every other call: it ends when ``hold`` is closed (the stream's end, however it ends:
        a client that leaves settles nothing, and the next call is the trial).
        """
        entry = self._entry(target)
        trial = self._admit(entry, target, url)
        kept = False
        try:
            result = await (trial_call if trial is not None and trial_call is not None else call)()
            if hold is not None and trial is not None:
                hold.callback(self._end_trial, entry, trial)
                kept = True
        except UpstreamError as exc:
            self.settle(target, exc)
            raise
        finally:
            if trial is not None and not kept:
                self._end_trial(entry, trial)
        if hold is None:
            self._succeeded(entry)
        return result

    def settle(self, target: Target, exc: UpstreamError | None) -> None:
        """Record one call's outcome: a failure if ``exc`` says the upstream is unwell, nothing if the request
        was never sent, else a success."""
        entry = self._entry(target)
        if isinstance(exc, UpstreamUnavailable) and exc.kind == "config":
            return
        if exc is not None and trips_breaker(exc):
            entry.last_failure = str(exc)
            self._failed(entry)
        else:
            self._succeeded(entry)

    def reset(self, target: Target, why: str) -> None:
        """Close the target's breaker and forget its failures (its backend moved to another server)."""
        entry = self._entries.get(target.key)
        if entry is None or (entry.breaker.current_state == STATE_CLOSED and not entry.breaker.fail_counter):
            return
        log.info("circuit breaker for %s reset: %s", target.key, why)
        entry.last_failure = None
        entry.trial = None
        if entry.breaker.current_state != STATE_CLOSED:
            entry.breaker.close()
            if self.mirror is not None:
                self.mirror.closed(entry.key)
        else:
            entry.storage.reset_counter()
            if self.mirror is not None:
                self.mirror.reset(entry.key)

    def last_failure(self, target: Target) -> str | None:
        """What the last failure said while the breaker is open (for the router's "breaker open" reason)."""
        entry = self._entries.get(target.key)
        if entry is None or self.state(target) != STATE_OPEN:
            return None
        return entry.last_failure

    def keys(self) -> list[str]:
        return list(self._entries)

    def apply(self, key: str, state: str, opened_at: float | None) -> None:
        """Take a state another process published (it is not published again)."""
        entry = self._entries.get(key)
        if entry is None or state not in (STATE_OPEN, STATE_CLOSED):
            return
        inner = entry.storage.inner
        if state == STATE_OPEN:
            inner.opened_at = datetime.fromtimestamp(opened_at if opened_at is not None else self._clock(), UTC)
        if entry.breaker.current_state == state and state == STATE_CLOSED:
            return
        inner.reset_counter()
        inner.state = state
        entry.breaker.state = state  # pybreaker's setter: notify the listeners

    # --- state machine ------------------------------------------------------------------------

    def check(self, target: Target, url: str = "-") -> None:
        """Raise as :meth:`call` would refuse now, changing nothing: the guard asks before it takes a rate
        limit's token, so a call refused for an open breaker or a trial in flight spends none."""
        entry = self._entry(target)
        state = entry.breaker.current_state
        if state == STATE_CLOSED:
            return
        if state == STATE_OPEN and (remaining := self._remaining(entry)) > 0:
            raise _open_error(target, url, f"retry in {math.ceil(remaining)}s", remaining)
        if entry.trial is not None and (left := entry.trial.until - self._clock()) > 0:
            raise _open_error(target, url, "a trial call is in flight", _trial_wait(left))

    def _admit(self, entry: _Entry, target: Target, url: str) -> _Trial | None:
        """Let a call through or raise; the trial's token when the call is the half-open trial."""
        state = entry.breaker.current_state
        if state == STATE_CLOSED:
            return None
        if state == STATE_OPEN:
            remaining = self._remaining(entry)
            if remaining > 0:
                raise _open_error(target, url, f"retry in {math.ceil(remaining)}s", remaining)
            entry.breaker.half_open()
        now = self._clock()
        if entry.trial is not None and now < entry.trial.until:
            raise _open_error(target, url, "a trial call is in flight", _trial_wait(entry.trial.until - now))
        entry.trial = _Trial(until=now + target.timeouts.total)
        return entry.trial

    @staticmethod
    def _end_trial(entry: _Entry, trial: _Trial) -> None:
        """The trial's call (or stream) is over; a later trial, if one began since, is left alone."""
        if entry.trial is trial:
            entry.trial = None

    def _succeeded(self, entry: _Entry) -> None:
        if entry.breaker.current_state == STATE_HALF_OPEN:
            entry.breaker.close()
            if self.mirror is not None:
                self.mirror.closed(entry.key)
        elif entry.breaker.fail_counter:
            entry.storage.reset_counter()
            if self.mirror is not None:
                self.mirror.reset(entry.key)

    def _failed(self, entry: _Entry) -> None:
        state = entry.breaker.current_state
        if state == STATE_HALF_OPEN:
            self._open(entry)
            return
        entry.storage.increment_counter()
        if state == STATE_CLOSED and entry.breaker.fail_counter >= entry.breaker.fail_max:
            self._open(entry)
        elif self.mirror is not None:
            breaker = entry.breaker
            window = max(SHARED_WINDOW, breaker.reset_timeout)
            self.mirror.failed(entry.key, breaker.fail_max, window, self._clock())

    def _open(self, entry: _Entry) -> None:
        entry.breaker.open()
        if self.mirror is not None:
            opened_at = entry.storage.opened_at
            self.mirror.opened(entry.key, opened_at.timestamp() if opened_at else self._clock())

    def _remaining(self, entry: _Entry) -> float:
        """Seconds until an open breaker may try again (0 or less: now)."""
        opened_at = entry.storage.opened_at
        if opened_at is None:
            return 0.0
        return opened_at.timestamp() + entry.breaker.reset_timeout - self._clock()

    # --- registry -----------------------------------------------------------------------------

    def _entry(self, target: Target) -> _Entry:
        entry = self._entries.get(target.key)
        if entry is None:
            entry = self._entries[target.key] = self._create(target)
        return entry

    def _create(self, target: Target) -> _Entry:
        storage = ClockedStorage(self._storage(target.key), self._clock)
        breaker = CircuitBreaker(
            fail_max=target.breaker.fail_max,
            reset_timeout=target.breaker.reset_timeout,
            listeners=[self._listener],
            state_storage=storage,
            name=target.key,
        )
        return _Entry(breaker, storage, key=target.key)


def _apply_settings(breaker: CircuitBreaker, target: Target) -> None:
    cfg = target.breaker
    if (breaker.fail_max, breaker.reset_timeout) == (cfg.fail_max, cfg.reset_timeout):
        return
    log.info(
        "circuit breaker for %s: fail_max %d, reset_timeout %gs (state kept: %s)",
        target.key,
        cfg.fail_max,
        cfg.reset_timeout,
        breaker.current_state,
    )
    breaker.fail_max = cfg.fail_max
    breaker.reset_timeout = cfg.reset_timeout


def _open_error(target: Target, url: str, why: str, retry_after: float | None) -> UpstreamUnavailable:
    return UpstreamUnavailable(
        target.backend,
        url,
        f"circuit breaker open for {target.key} ({why})",
        kind="breaker_open",
        retry_after=retry_after,
    )
