"""A small pipelined Redis client for the request path: one connection, commands in flight at once.

redis-py's asyncio client takes a pooled connection per command and costs about 150 µs of CPU a call
here (bench/proxy.py --shared-state); two calls a request were more than the gateway's budget for
shared state. This client writes each command on one TCP connection as soon as it is issued and
matches replies to callers in order (Redis answers a connection's commands in order), with hiredis
parsing: about a fifth of that cost. A caller that gives up (its timeout) leaves its reply to be read
and dropped, so the order never slips. A lost connection fails every waiting call; the next call
connects again.

A command nobody waits for (a lease's release, a session's refresh) is queued with :meth:`later`
instead: it goes out in the same write as the next command a caller awaits, or when its ``within``
seconds are up if none comes first (0: at the end of the event loop's current turn), and its outcome
goes to a callback. So bookkeeping costs no round trip, and under steady traffic no write of its own:
each write wakes Redis and then this process for the reply, which on a busy machine costs more than
the commands themselves. A queued command keeps its place in the order: it always reaches Redis
before any command issued after it.

Only what the hot path needs: commands, and Lua scripts by SHA (loaded on NOSCRIPT). Pub/sub, TLS and
unix sockets stay with redis-py (:mod:`tiergate.state.link` picks).

    client = RespClient("127.0.0.1", 6379, db=0, password=None, timeout=0.25)
    await client.execute("SET", "k", "v")
    await client.evalsha(Script("return 1"), keys=[], args=[])
    client.later(print, "ZREM", "leases", "l1")          # print gets the reply, or the error
    client.later(print, "ZREM", "leases", "l2", within=0.01)   # or with a command in the next 10 ms
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import socket
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import hiredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

Arg = str | bytes | int | float
#: Where a queued command's outcome goes: its reply, or the exception (a ResponseError from Redis, a
#: ConnectionError or OSError when the connection failed).
Done = Callable[[Any], None]
Queued = tuple[bytes, Done]

log = logging.getLogger("tiergate.state")


@dataclass(frozen=True)
class Script:
    text: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.text.encode()).hexdigest())


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: Any = None  # asyncio's or uvloop's TCP transport
        self.reader = hiredis.Reader()
        self.waiting: deque[asyncio.Future[Any] | Done] = deque()
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            if not self.waiting:  # a reply nobody asked for: the stream is out of step, start again
                self._fail(RedisConnectionError("Redis sent a reply no command was waiting for"))
                return
            waiter = self.waiting.popleft()
            if isinstance(reply, hiredis.ReplyError):
                reply = ResponseError(str(reply))
            if not isinstance(waiter, asyncio.Future):
                _settle(waiter, reply)
            elif waiter.done():  # its caller gave up (timeout): the reply is read and dropped
                continue
            elif isinstance(reply, ResponseError):
                waiter.set_exception(reply)
            else:
                waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(RedisConnectionError(f"connection to Redis lost: {exc}" if exc else "Redis closed the connection"))

    def _fail(self, exc: Exception) -> None:
        self.lost = True
        while self.waiting:
            waiter = self.waiting.popleft()
            if not isinstance(waiter, asyncio.Future):
                _settle(waiter, exc)
            elif not waiter.done():
                waiter.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()

    def send(self, command: bytes, queued: Sequence[Queued] = ()) -> asyncio.Future[Any]:
        """Write ``command`` (after the queued commands, in the same write); its reply's future."""
        assert self.transport is not None
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if queued:
            self.waiting.extend(done for _, done in queued)
            self.waiting.append(waiter)
            self.transport.write(b"".join([*(packed for packed, _ in queued), command]))
        else:
            self.waiting.append(waiter)
            self.transport.write(command)
        return waiter

    def send_queued(self, queued: Sequence[Queued]) -> None:
        assert self.transport is not None
        self.waiting.extend(done for _, done in queued)
        self.transport.write(b"".join(packed for packed, _ in queued))


def _settle(done: Done, outcome: Any) -> None:
    try:
        done(outcome)
    except Exception:  # a callback's bug must not stop the replies behind it
        log.exception("shared state: handling a queued command's reply failed")


def _pack(args: tuple[Arg, ...]) -> bytes:
    packed: bytes = hiredis.pack_command(args)  # type: ignore[arg-type]
    return packed


class RespClient:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 0.25,
    ) -> None:
        self.host, self.port, self.db = host, port, db
        self.username, self.password = username, password
        self.timeout = timeout
        self._conn: _Protocol | None = None
        self._connecting: asyncio.Task[_Protocol] | None = None
        self._queue: list[Queued] = []
        self._flush: asyncio.Handle | None = None
        self._flush_at = 0.0
        self._flushing: set[asyncio.Task[None]] = set()

    @property
    def pending(self) -> int:
        """Commands queued with :meth:`later` and not written yet."""
        return len(self._queue)

    async def execute(self, *args: Arg) -> Any:
        conn = self._conn
        if conn is None or conn.lost:
            conn = await self._connect()
        return await conn.send(_pack(args), self._take())

    async def evalsha(self, script: Script, keys: Sequence[Arg], args: Sequence[Arg]) -> Any:
        try:
            return await self.execute("EVALSHA", script.sha, len(keys), *keys, *args)
        except ResponseError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        return await self.execute("EVAL", script.text, len(keys), *keys, *args)  # loads it for next time

    # --- commands nobody waits for -----------------------------------------------------------------

    def later(self, done: Done, *args: Arg, within: float = 0.0) -> None:
        """Queue a command: it goes out with the next awaited command, or ``within`` seconds from now."""
        self._queue.append((_pack(args), done))
        loop = asyncio.get_running_loop()
        at = loop.time() + within
        if self._flush is not None and self._flush_at <= at:
            return
        if self._flush is not None:
            self._flush.cancel()
        self._flush_at = at
        self._flush = loop.call_soon(self._send_queue) if within <= 0 else loop.call_at(at, self._send_queue)

    def evalsha_later(
        self, done: Done, script: Script, keys: Sequence[Arg], args: Sequence[Arg], *, within: float = 0.0
    ) -> None:
        def settled(reply: Any) -> None:
            if isinstance(reply, ResponseError) and str(reply).startswith("NOSCRIPT"):
                self.later(done, "EVAL", script.text, len(keys), *keys, *args)
            else:
                done(reply)

        self.later(settled, "EVALSHA", script.sha, len(keys), *keys, *args, within=within)

    async def drain(self) -> None:
        """Send what is queued and wait until Redis has answered every command sent so far."""
        if self._queue or (self._conn is not None and not self._conn.lost and self._conn.waiting):
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self.timeout):
                    await self.execute("PING")

    def _take(self) -> list[Queued]:
        queued = self._queue
        if queued:
            self._queue = []
            if self._flush is not None:
                self._flush.cancel()
                self._flush = None
        return queued

    def _send_queue(self) -> None:
        self._flush = None
        if not self._queue:
            return  # an awaited command took them along
        conn = self._conn
        if conn is not None and not conn.lost:
            conn.send_queued(self._take())
            return
        task = asyncio.get_running_loop().create_task(self._connect_and_send())
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _connect_and_send(self) -> None:
        try:
            conn = await self._connect()
        except (OSError, TimeoutError, RedisConnectionError, ResponseError) as exc:
            for _, done in self._take():
                _settle(done, exc)
            return
        queued = self._take()
        if queued:
            conn.send_queued(queued)

    # --- the connection ----------------------------------------------------------------------------

    async def _connect(self) -> _Protocol:
        """One connection attempt shared by every caller that needs it now."""
        if self._connecting is None or self._connecting.done():
            self._connecting = asyncio.get_running_loop().create_task(self._open())
        return await asyncio.shield(self._connecting)

    async def _open(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.timeout):
            _, conn = await loop.create_connection(_Protocol, self.host, self.port)
            try:
                if self.password is not None:
                    auth: tuple[Arg, ...] = (self.username, self.password) if self.username else (self.password,)
                    await conn.send(_pack(("AUTH", *auth)))
                if self.db:
                    await conn.send(_pack(("SELECT", self.db)))
            except BaseException:
                conn._fail(RedisConnectionError("could not set up the connection"))
                raise
        self._conn = conn
        return conn

    def close(self) -> None:
        """Drop the connection; what was queued and not sent yet fails (the next call connects again)."""
        for _, done in self._take():
            _settle(done, RedisConnectionError("the connection to Redis was closed"))
        if self._conn is not None and self._conn.transport is not None:
            self._conn.transport.close()
        self._conn = None
