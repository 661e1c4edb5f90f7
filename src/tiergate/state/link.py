"""The process's link to Redis: one client, and whether it may be used right now.

Every shared operation goes through :meth:`RedisLink.run`. While Redis answers, ``run`` returns the
operation's result; when it does not (refused, reset, slower than ``timeout``), ``run`` returns
:data:`DOWN` at once, the caller uses its in-process state, and the link stops trying Redis on the request
path: a probe task tries it every ``retry_interval`` seconds (a small write) and brings it back when it
takes it. An outage is logged once when it starts and once when it ends, counted in /metrics and shown in
/health.

    link = RedisLink("redis://127.0.0.1:6379/0", prefix="tiergate")
    await link.start()                                   # never raises: a dead Redis is an outage
    got = await link.run(lambda r: r.get(link.key("x")))
    if got is DOWN: ...                                  # use the in-process state
    link.later("ZREM", link.key("leases"), lease, within=0.01)   # sent with the next call, no wait

On the request path a call costs a round trip that the request waits for, so only what decides the
request is awaited (a rate limit, a session this process has not seen); what merely records (a lease
given back, a session refreshed) goes through :meth:`later` and rides along with the next awaited call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import (
    ClusterDownError,
    NoPermissionError,
    NoScriptError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    ResponseError,
    TryAgainError,
)

from tiergate.redact import redact_url
from tiergate.state.resp import Arg, RespClient, Script

log = logging.getLogger("tiergate.state")
T = TypeVar("T")


class Down:
    """The result of a shared operation that Redis could not serve."""

    def __repr__(self) -> str:
        return "DOWN"


DOWN: Final[Down] = Down()


def text_of(value: object) -> str:
    """A Redis reply's bytes (a member, a field, a channel's name) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisLink:
    def __init__(
        self,
        url: str,
        *,
        prefix: str = "tiergate",
        timeout: float = 0.25,
        retry_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.shown_url = redact_url(url)
        self.prefix = prefix
        self.timeout = timeout
        self.retry_interval = retry_interval
        self._clock = clock
        self.client: aioredis.Redis = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),  # one try: a slow Redis must not hold a request
            health_check_interval=0,
        )
        self.fast = _fast_client(url, timeout)
        self.up = False
        self.down_since: float | None = None
        self.last_error: str | None = None
        self.outages = 0
        self.fallbacks = 0
        #: Calls of :meth:`execute` and :meth:`evalsha` sent to Redis (a round trip each that a request or
        #: task waited for), and commands sent with :meth:`later` (waited for by nobody).
        self.waits = 0
        self.queued = 0
        self._closed = False
        self._recovering = False
        self._last_exc: BaseException | None = None
        self._down: asyncio.Event | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._on_up: list[Callable[[], Awaitable[None]]] = []
        self._background: set[asyncio.Task[Any]] = set()
        self._last_try: aioredis.Redis | None = None

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    @property
    def in_order(self) -> bool:
        """Whether what :meth:`later` queues reaches Redis in order with every later call of this process: true
        on the pipelined client (plain ``redis://``); redis-py's pool may use two connections."""
        return self.fast is not None

    def on_up(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Call ``callback`` each time Redis becomes usable (at start and after an outage)."""
        self._on_up.append(callback)

    async def start(self) -> None:
        """Reach Redis once; if it does not answer, the gateway starts on in-process state all the same.
        From here on a watcher task brings Redis back after each outage."""
        self._down = asyncio.Event()
        if await self._ping():
            await self._recover(first=True)
        else:
            self.failed(self._last_exc or ConnectionError("no answer"))
        self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def run(self, op: Callable[[aioredis.Redis], Awaitable[T]]) -> T | Down:
        """``op(client)`` with redis-py's client, or :data:`DOWN` when Redis is down or fails now (then it
        is down). The request path uses :meth:`execute` and :meth:`evalsha` instead."""
        return await self._guarded(lambda: op(self.client))

    async def execute(self, *args: Arg) -> Any:
        """One command on the pipelined connection (:mod:`tiergate.state.resp`); DOWN as for ``run``."""
        fast = self.fast
        if fast is not None:
            return await self._guarded(lambda: fast.execute(*args), wait=True)
        return await self._guarded(lambda: self.client.execute_command(*args), wait=True)  # type: ignore[no-untyped-call]

    async def evalsha(self, script: Script, keys: Sequence[Arg], args: Sequence[Arg]) -> Any:
        """Run a Lua script by its SHA (sent whole the first time a server does not know it)."""
        fast = self.fast
        if fast is not None:
            return await self._guarded(lambda: fast.evalsha(script, keys, args), wait=True)
        return await self._guarded(lambda: self._slow_evalsha(script, keys, args), wait=True)

    async def _slow_evalsha(self, script: Script, keys: Sequence[Arg], args: Sequence[Arg]) -> Any:
        try:
            return await self.client.evalsha(script.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await self.client.eval(script.text, len(keys), *keys, *args)

    async def attempt(self, op: Callable[[aioredis.Redis], Awaitable[T]], *, within: float) -> T | Down:
        """``op(client)`` once, even while the link is down, on a client of its own that waits up to ``within``
        seconds (longer than ``timeout``) for each answer: for what a stopping process can only send now (its
        spend). ``within`` bounds each call, not the whole: connecting and sending the script take several
        round trips, which on a slow link passed ``within`` together (the caller bounds the whole). Leaves the
        link's state alone: a failure is no new outage, and a success does not bring the link back."""
        if self._last_try is None:
            self._last_try = aioredis.Redis.from_url(
                self.url,
                socket_timeout=within,
                socket_connect_timeout=within,
                retry=Retry(NoBackoff(), 0),
                health_check_interval=0,
            )
        try:
            return await op(self._last_try)
        except (RedisError, OSError, TimeoutError) as exc:
            self.last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return DOWN

    def later(self, *args: Arg, within: float = 0.0) -> None:
        """Send a command without waiting for it: with the next awaited call, or ``within`` seconds from now
        (0: at the end of this turn of the event loop), in order with every call of this process (see
        :mod:`tiergate.state.resp`). Dropped, as a fallback, while Redis is down; a failure is an outage
        like any other."""
        if not self._queueing():
            return
        fast = self.fast
        if fast is not None:
            fast.later(self._settled, *args, within=within)
        else:
            self._spawn(self._guarded(lambda: self.client.execute_command(*args)))  # type: ignore[no-untyped-call]

    def evalsha_later(
        self,
        script: Script,
        keys: Sequence[Arg],
        args: Sequence[Arg],
        *,
        within: float = 0.0,
        done: Callable[[Any], None] | None = None,
    ) -> bool:
        """:meth:`evalsha` without waiting for it, like :meth:`later`; False when it was dropped (Redis
        down). ``done`` gets the script's reply when it comes, or :data:`DOWN` if it failed."""
        if not self._queueing():
            return False
        fast = self.fast
        if fast is None:
            self._spawn(self._reply_to(done, self._guarded(lambda: self._slow_evalsha(script, keys, args))))
        elif done is None:
            fast.evalsha_later(self._settled, script, keys, args, within=within)
        else:

            def settled(reply: Any) -> None:
                failed = isinstance(reply, Exception)
                self._settled(reply)
                done(DOWN if failed else reply)

            fast.evalsha_later(settled, script, keys, args, within=within)
        return True

    @staticmethod
    async def _reply_to(done: Callable[[Any], None] | None, call: Awaitable[Any]) -> None:
        reply = await call
        if done is not None:
            done(reply)

    def _queueing(self) -> bool:
        """Whether a command nobody waits for may be queued: counted as queued, or as a fallback while down."""
        if not self.up:
            self.fallbacks += 1
            return False
        self.queued += 1
        return True

    def _settled(self, reply: Any) -> None:
        if self._closed:
            return
        if isinstance(reply, ResponseError) and not unavailable(reply):
            log.error("shared state: Redis refused a command: %s", reply)
            self.fallbacks += 1
        elif isinstance(reply, RedisError | OSError | TimeoutError):
            self.failed(reply)
            self.fallbacks += 1

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _guarded(self, call: Callable[[], Awaitable[T]], *, wait: bool = False) -> T | Down:
        if not self.up:
            self.fallbacks += 1
            return DOWN
        self.waits += wait
        try:
            async with asyncio.timeout(self.timeout):
                return await call()
        except ResponseError as exc:  # Redis answered, with an error: a bug of ours, not an outage...
            if unavailable(exc):  # ...unless it says it cannot take writes now: that is one
                self.failed(exc)
            else:
                log.error("shared state: Redis refused a command: %s", exc)
            self.fallbacks += 1
            return DOWN
        except (RedisError, OSError, TimeoutError) as exc:
            self.failed(exc)
            self.fallbacks += 1
            return DOWN

    def failed(self, exc: BaseException) -> None:
        """Redis failed a call: from now on the in-process state serves until the watcher reaches it again."""
        self.last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if not self.up and self.down_since is not None:
            return
        self.up = False
        if self._recovering and self.down_since is not None:  # a resync failed as Redis came back: same outage
            return
        self.down_since = self._clock()
        self.outages += 1
        log.warning(
            "shared state: Redis at %s is unreachable (%s); serving on in-process state until it returns",
            self.shown_url,
            self.last_error,
        )
        if self._down is not None:
            self._down.set()

    async def _watch(self) -> None:
        """While Redis is up, wait for an outage; while it is down, probe it every ``retry_interval``."""
        assert self._down is not None
        while not self._closed:
            if self.up:
                await self._down.wait()
                continue
            self._down.clear()
            # Connections of the old server may hold replies never read (a call cut off by its timeout):
            # start afresh so the probe's PONG is the new server's.
            with contextlib.suppress(Exception):
                await self.client.connection_pool.disconnect()
            if self.fast is not None:
                self.fast.close()
            await asyncio.sleep(self.retry_interval)
            if await self._ping():
                await self._recover(first=False)

    async def _ping(self) -> bool:
        """Whether Redis takes writes again: a small key written, since a replica after a failover or a full
        server answers PING while it refuses every write."""
        try:
            async with asyncio.timeout(self.timeout * 4):
                try:
                    await self.client.set(self.key("probe"), b"1", ex=60)
                except NoPermissionError:  # an ACL that names tiergate's key families only: a PING will do
                    await self.client.ping()
        except (RedisError, OSError, TimeoutError) as exc:
            self._last_exc = exc
            self.last_error = f"{type(exc).__name__}: {exc}"
            return False
        return True

    async def _recover(self, *, first: bool) -> None:
        """Redis answers: share again once every resync (e.g. the breakers' states) went through."""
        self.up = True
        self._recovering = True
        try:
            for callback in self._on_up:
                await callback()
        except Exception as exc:
            self.failed(exc)
        finally:
            self._recovering = False
        if not self.up:
            return
        if first:
            log.info("shared state: Redis at %s", self.shown_url)
        else:
            down = self._clock() - (self.down_since or self._clock())
            log.warning("shared state: Redis at %s is back after %.1fs; state is shared again", self.shown_url, down)
        self.down_since = None

    def status(self) -> dict[str, Any]:
        """The /health section."""
        return {
            "backend": "redis",
            "url": self.shown_url,
            "status": "ok" if self.up else "down",
            "down_since": self.down_since,
            "last_error": None if self.up else self.last_error,
            "outages": self.outages,
            "local_fallbacks": self.fallbacks,
        }

    async def aclose(self) -> None:
        """Stop; what is queued or in flight gets up to ``timeout`` seconds to reach Redis first."""
        if self.up and self.fast is not None:
            await self.fast.drain()
        for task in list(self._background):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, self.timeout)
        self._closed = True
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watcher
        if self.fast is not None:
            self.fast.close()
        with contextlib.suppress(Exception):
            await self.client.aclose()
        if self._last_try is not None:
            with contextlib.suppress(Exception):
                await self._last_try.aclose()


#: Refusals of a Redis that cannot serve writes now: a replica after a failover (READONLY), a full one
#: (OOM), one whose snapshots fail (MISCONF), a cluster or primary that is down, a busy script.
_UNAVAILABLE = (ReadOnlyError, OutOfMemoryError, ClusterDownError, TryAgainError)
_UNAVAILABLE_CODES = ("MISCONF", "NOREPLICAS", "BUSY ", "MASTERDOWN", "READONLY", "OOM")


def unavailable(exc: ResponseError) -> bool:
    """Whether a refusal is Redis saying it cannot serve now (an outage), not that a command is wrong."""
    return isinstance(exc, _UNAVAILABLE) or str(exc).startswith(_UNAVAILABLE_CODES)


def _fast_client(url: str, timeout: float) -> RespClient | None:
    """The pipelined client for plain ``redis://`` over TCP; TLS and unix sockets use redis-py's."""
    if not url.startswith("redis://"):
        return None
    parts = parse_url(url)
    host = parts.get("host")
    if not host:
        return None
    return RespClient(
        str(host),
        int(parts.get("port") or 6379),
        db=int(parts.get("db") or 0),
        username=parts.get("username"),
        password=parts.get("password"),
        timeout=timeout,
    )
