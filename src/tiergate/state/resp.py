"""A small pipelined Redis client for the request path: one connection, commands in flight at once.

redis-py's asyncio client takes a pooled connection per command and costs about 150 µs of CPU a call
here (bench/proxy.py --shared-state); two calls a request were more than the gateway's budget for
shared state. This client writes each command on one TCP connection as soon as it is issued and
matches replies to callers in order (Redis answers a connection's commands in order), with hiredis
parsing: about a fifth of that cost. A caller that gives up (its timeout) leaves its reply to be read
and dropped, so the order never slips. A lost connection fails every waiting call; the next call
connects again.

Only what the hot path needs: commands, and Lua scripts by SHA (loaded on NOSCRIPT). Pub/sub, TLS and
unix sockets stay with redis-py (:mod:`tiergate.state.link` picks).

    client = RespClient("127.0.0.1", 6379, db=0, password=None, timeout=0.25)
    await client.execute("SET", "k", "v")
    await client.evalsha(Script("return 1"), keys=[], args=[])
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import hiredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

Arg = str | bytes | int | float


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
        self.waiting: deque[asyncio.Future[Any]] = deque()
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
            if waiter.done():  # its caller gave up (timeout): the reply is read and dropped
                continue
            if isinstance(reply, hiredis.ReplyError):
                waiter.set_exception(ResponseError(str(reply)))
            else:
                waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(RedisConnectionError(f"connection to Redis lost: {exc}" if exc else "Redis closed the connection"))

    def _fail(self, exc: Exception) -> None:
        self.lost = True
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()

    def send(self, command: bytes) -> asyncio.Future[Any]:
        assert self.transport is not None
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting.append(waiter)
        self.transport.write(command)
        return waiter


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

    async def execute(self, *args: Arg) -> Any:
        conn = self._conn
        if conn is None or conn.lost:
            conn = await self._connect()
        return await conn.send(_pack(args))

    async def evalsha(self, script: Script, keys: Sequence[Arg], args: Sequence[Arg]) -> Any:
        try:
            return await self.execute("EVALSHA", script.sha, len(keys), *keys, *args)
        except ResponseError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        return await self.execute("EVAL", script.text, len(keys), *keys, *args)  # loads it for next time

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
        if self._conn is not None and self._conn.transport is not None:
            self._conn.transport.close()
        self._conn = None
