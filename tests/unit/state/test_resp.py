"""The pipelined client against a real redis-server: many commands in flight on one connection, replies
matched in order even when a caller gives up, scripts loaded on NOSCRIPT, reconnection."""

from __future__ import annotations

import asyncio
from urllib.parse import urlparse

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from tiergate.state.resp import RespClient, Script


def client(redis_url: str) -> RespClient:
    url = urlparse(redis_url)
    assert url.hostname is not None and url.port is not None
    return RespClient(url.hostname, url.port, timeout=1.0)


@pytest.mark.asyncio
async def test_commands_in_flight_together_get_their_own_replies(redis_url: str, redis_prefix: str) -> None:
    c = client(redis_url)
    try:
        key = f"{redis_prefix}:n"
        replies = await asyncio.gather(*(c.execute("INCR", key) for _ in range(200)))
        assert sorted(replies) == list(range(1, 201))
        assert await c.execute("SET", f"{redis_prefix}:b", b"\x00\xffbytes") == b"OK"
        assert await c.execute("GET", f"{redis_prefix}:b") == b"\x00\xffbytes"
        assert await c.execute("GET", f"{redis_prefix}:missing") is None
        with pytest.raises(ResponseError, match="WRONGTYPE"):
            await c.execute("LPUSH", f"{redis_prefix}:b", "x")
    finally:
        c.close()


@pytest.mark.asyncio
async def test_a_caller_that_gives_up_does_not_shift_the_replies(redis_url: str, redis_prefix: str) -> None:
    c = client(redis_url)
    try:
        await c.execute("SET", f"{redis_prefix}:k", "value")
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await c.execute("BLPOP", f"{redis_prefix}:empty", "0.3")  # Redis answers nil after 0.3 s
        assert await c.execute("GET", f"{redis_prefix}:k") == b"value"  # not the BLPOP's nil
    finally:
        c.close()


@pytest.mark.asyncio
async def test_scripts_run_by_sha_and_load_themselves(redis_url: str) -> None:
    c = client(redis_url)
    try:
        script = Script("return {KEYS[1], ARGV[1]}")
        await c.execute("SCRIPT", "FLUSH")
        assert await c.evalsha(script, ["a"], ["b"]) == [b"a", b"b"]  # NOSCRIPT, then EVAL
        assert await c.execute("SCRIPT", "EXISTS", script.sha) == [1]
        assert await c.evalsha(script, ["c"], [1]) == [b"c", b"1"]
    finally:
        c.close()


@pytest.mark.asyncio
async def test_a_lost_connection_fails_its_callers_and_the_next_call_connects_again(
    redis_url: str, redis_prefix: str
) -> None:
    c, killer = client(redis_url), client(redis_url)
    try:
        me = await c.execute("CLIENT", "ID")
        waiting = asyncio.ensure_future(c.execute("BLPOP", f"{redis_prefix}:never", "5"))
        await asyncio.sleep(0.05)
        assert await killer.execute("CLIENT", "KILL", "ID", me) == 1
        with pytest.raises(RedisConnectionError):
            await asyncio.wait_for(waiting, 2)
        assert await c.execute("PING") == b"PONG"
        assert await c.execute("CLIENT", "ID") != me
    finally:
        c.close()
        killer.close()
