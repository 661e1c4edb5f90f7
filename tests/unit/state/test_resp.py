"""The pipelined client against a real redis-server: many commands in flight on one connection, replies
matched in order even when a caller gives up, scripts loaded on NOSCRIPT, reconnection."""

from __future__ import annotations

import asyncio
from urllib.parse import urlparse

import pytest
import redis
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


# --- commands nobody waits for ------------------------------------------------------------------------


class Outcomes(list[object]):
    """A queued command's callback: keeps what each command got, in order."""

    def __call__(self, outcome: object) -> None:
        self.append(outcome)


def reads_processed(r: redis.Redis) -> int:
    """How many times Redis has read from a client socket: one per write of ours (and one for this INFO)."""
    return int(r.info("stats")["total_reads_processed"])


@pytest.mark.asyncio
async def test_queued_commands_ride_along_with_the_next_awaited_one(redis_url: str, redis_prefix: str) -> None:
    c, counter = client(redis_url), redis.Redis.from_url(redis_url)
    got = Outcomes()
    key = f"{redis_prefix}:n"
    try:
        await c.execute("PING")  # both connected
        reads_processed(counter)
        before = reads_processed(counter)
        for _ in range(3):
            c.later(got, "INCR", key, within=5.0)
        assert got == []  # nothing sent yet
        assert await c.execute("GET", key) == b"3"  # the queued commands went first, in order
        assert got == [1, 2, 3]
        assert reads_processed(counter) - before == 2  # one write for all four commands, and the INFO
    finally:
        c.close()
        counter.close()


@pytest.mark.asyncio
async def test_a_queued_command_goes_out_alone_when_no_call_comes(redis_url: str, redis_prefix: str) -> None:
    c = client(redis_url)
    soon, later = Outcomes(), Outcomes()
    try:
        c.later(soon, "SET", f"{redis_prefix}:a", "1")  # within 0: at the end of this turn of the loop
        c.later(later, "SET", f"{redis_prefix}:b", "2", within=0.05)
        for _ in range(200):
            if soon and later:
                break
            await asyncio.sleep(0.01)
        assert soon == [b"OK"] and later == [b"OK"]
        assert await c.execute("MGET", f"{redis_prefix}:a", f"{redis_prefix}:b") == [b"1", b"2"]
    finally:
        c.close()


@pytest.mark.asyncio
async def test_queued_scripts_load_themselves_and_errors_reach_the_callback(redis_url: str, redis_prefix: str) -> None:
    c = client(redis_url)
    got = Outcomes()
    try:
        await c.execute("SCRIPT", "FLUSH")
        c.evalsha_later(got, Script("return ARGV[1] .. '!'"), [], ["hi"])
        c.later(got, "LPUSH", f"{redis_prefix}:s", "x")
        await c.execute("SET", f"{redis_prefix}:s", "string")
        c.later(got, "LPUSH", f"{redis_prefix}:s", "x")  # now the wrong type
        assert await c.execute("PING") == b"PONG"
        for _ in range(100):
            if len(got) == 3:
                break
            await asyncio.sleep(0.01)
        assert got[:2] == [1, b"hi!"]  # the script's EVAL, queued again on NOSCRIPT, before what came after
        assert isinstance(got[2], ResponseError) and "WRONGTYPE" in str(got[2])
    finally:
        c.close()


@pytest.mark.asyncio
async def test_queued_commands_fail_with_their_connection(redis_url: str, redis_prefix: str) -> None:
    c, killer = client(redis_url), client(redis_url)
    got = Outcomes()
    try:
        me = await c.execute("CLIENT", "ID")
        c.later(got, "BLPOP", f"{redis_prefix}:never", "5")
        await asyncio.sleep(0.05)  # sent: Redis holds the reply back
        assert await killer.execute("CLIENT", "KILL", "ID", me) == 1
        for _ in range(100):
            if got:
                break
            await asyncio.sleep(0.01)
        assert len(got) == 1 and isinstance(got[0], RedisConnectionError)
        c.later(got, "SET", f"{redis_prefix}:k", "v")  # the next one connects again
        for _ in range(100):
            if len(got) == 2:
                break
            await asyncio.sleep(0.01)
        assert got[1] == b"OK"
    finally:
        c.close()
        killer.close()
