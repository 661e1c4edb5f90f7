"""RedisLink against a real redis-server: shared calls while it answers, DOWN at once while it does not,
one log line per outage, and back on Redis when it returns."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from tests.engines import RedisServer
from tiergate.state.link import DOWN, RedisLink
from tiergate.state.resp import Script


async def wait_for(check: object, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


@pytest.mark.asyncio
async def test_calls_go_to_redis_with_the_prefix(redis_url: str, redis_prefix: str) -> None:
    link = RedisLink(redis_url, prefix=redis_prefix)
    await link.start()
    try:
        assert link.up and link.status()["status"] == "ok"
        assert link.key("a", "b") == f"{redis_prefix}:a:b"
        assert await link.run(lambda r: r.set(link.key("k"), b"v")) is True
        assert await link.run(lambda r: r.get(link.key("k"))) == b"v"
        assert link.fallbacks == 0
    finally:
        await link.aclose()


@pytest.mark.asyncio
async def test_an_unreachable_redis_is_an_outage_not_an_error(
    closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    link = RedisLink(f"redis://:hunter2@127.0.0.1:{closed_port}/0", retry_interval=0.05)
    with caplog.at_level(logging.INFO, logger="tiergate.state"):
        await link.start()
        for _ in range(5):
            assert await link.run(lambda r: r.get("x")) is DOWN
        await asyncio.sleep(0.2)  # the watcher tries again meanwhile, quietly
    await link.aclose()
    status = link.status()
    assert status["status"] == "down" and status["outages"] == 1 and status["local_fallbacks"] == 5
    assert status["url"] == f"redis://***@127.0.0.1:{closed_port}/0"
    assert "Connection refused" in status["last_error"] or "Error 111" in status["last_error"]
    lines = [r.getMessage() for r in caplog.records]
    assert len([m for m in lines if "is unreachable" in m]) == 1
    assert not any("hunter2" in m for m in lines)


@pytest.mark.asyncio
async def test_a_killed_redis_falls_back_at_once_and_is_used_again_when_it_returns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = RedisServer().start()
    link = RedisLink(server.url, retry_interval=0.05)
    try:
        with caplog.at_level(logging.INFO, logger="tiergate.state"):
            await link.start()
            assert await link.run(lambda r: r.set("k", 1)) is True
            server.kill()
            started = time.monotonic()
            assert await link.run(lambda r: r.get("k")) is DOWN
            assert await link.run(lambda r: r.get("k")) is DOWN
            assert time.monotonic() - started < link.timeout * 2, "the fallback does not wait on a dead Redis"
            assert link.status()["status"] == "down"
            server.start()
            await wait_for(lambda: link.up)
            assert await link.run(lambda r: r.set("k", 2)) is True
        messages = [r.getMessage() for r in caplog.records]
        assert len([m for m in messages if "is unreachable" in m]) == 1
        assert len([m for m in messages if "is back after" in m]) == 1
        assert link.outages == 1 and link.status()["down_since"] is None
    finally:
        await link.aclose()
        server.stop()


@pytest.mark.asyncio
async def test_a_redis_that_answers_but_refuses_writes_is_an_outage_until_it_takes_them(
    caplog: pytest.LogCaptureFixture, closed_port: int
) -> None:
    """A primary demoted by a failover answers PING and reads, and refuses every write (READONLY): it was
    a logged error per request while /health said ok, and shared limits stopped being shared."""
    server = RedisServer().start()
    link = RedisLink(server.url, retry_interval=0.05)
    admin = RedisLink(server.url)
    try:
        with caplog.at_level(logging.INFO, logger="tiergate.state"):
            await link.start()
            await admin.start()
            assert await link.run(lambda r: r.set("k", 1)) is True
            assert await admin.run(lambda r: r.replicaof("127.0.0.1", closed_port)) is not DOWN  # read-only now
            assert await link.run(lambda r: r.set("k", 2)) is DOWN
            assert link.status()["status"] == "down" and "read only" in link.status()["last_error"]
            assert await link.run(lambda r: r.set("k", 3)) is DOWN  # no call waits on it meanwhile
            await asyncio.sleep(0.3)
            assert not link.up, "PING answers, but the probe writes: still down"
            assert await admin.run(lambda r: r.replicaof("NO", "ONE")) is not DOWN  # promoted again
            await wait_for(lambda: link.up)
            assert await link.run(lambda r: r.set("k", 4)) is True
        messages = [r.getMessage() for r in caplog.records]
        assert len([m for m in messages if "is unreachable" in m]) == 1
        assert not [m for m in messages if "refused a command" in m]
    finally:
        await link.aclose()
        await admin.aclose()
        server.stop()


@pytest.mark.asyncio
async def test_a_user_whose_acl_names_other_keys_than_the_probes_still_connects() -> None:
    """The watcher's probe writes a key: a user allowed tiergate's limit keys only read as unreachable."""
    server = RedisServer().start()
    admin = RedisLink(server.url)
    await admin.start()
    try:
        setup = ["ACL", "SETUSER", "gateway", "on", ">s3cret-pw", "~tiergate:limit:*", "+@all"]
        assert await admin.run(lambda r: r.execute_command(*setup)) is not DOWN
        link = RedisLink(server.url.replace("redis://", "redis://gateway:s3cret-pw@"))
        await link.start()
        try:
            assert link.up and link.status()["status"] == "ok"
            assert await link.run(lambda r: r.set(link.key("limit", "x"), 1)) is True
        finally:
            await link.aclose()
    finally:
        await admin.aclose()
        server.stop()


@pytest.mark.asyncio
async def test_a_resync_that_fails_right_after_redis_returns_is_the_same_outage(redis_url: str) -> None:
    link = RedisLink(redis_url, retry_interval=0.05)
    calls = 0

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("gone again")

    link.on_up(flaky)
    await link.start()
    try:
        assert not link.up and link.outages == 1  # the first resync failed
        await wait_for(lambda: link.up)
        assert calls == 2 and link.outages == 1
    finally:
        await link.aclose()


@pytest.mark.asyncio
async def test_commands_sent_without_waiting_reach_redis_and_are_counted_apart(
    redis_url: str, redis_prefix: str
) -> None:
    link = RedisLink(redis_url, prefix=redis_prefix)
    await link.start()
    try:
        link.later("SET", link.key("a"), "1")
        link.later("SET", link.key("b"), "2", within=5.0)  # rides along with the next call
        assert await link.execute("MGET", link.key("a"), link.key("b")) == [b"1", b"2"]
        assert (link.waits, link.queued) == (1, 2)
        link.later("SET", link.key("c"), "3", within=5.0)
    finally:
        await link.aclose()  # sends what is still queued first
    check = RedisLink(redis_url, prefix=redis_prefix)
    await check.start()
    try:
        assert await check.execute("GET", check.key("c")) == b"3"
    finally:
        await check.aclose()


@pytest.mark.asyncio
async def test_commands_sent_without_waiting_are_dropped_while_redis_is_down(closed_port: int) -> None:
    link = RedisLink(f"redis://127.0.0.1:{closed_port}/0")
    await link.start()
    try:
        link.later("ZREM", "leases", "l1")
        assert (link.queued, link.fallbacks) == (0, 1)
    finally:
        await link.aclose()


@pytest.mark.asyncio
@pytest.mark.parametrize("client", ["pipelined", "redis-py"])
async def test_a_script_sent_without_waiting_hands_its_reply_or_down_to_its_callback(
    redis_url: str, redis_prefix: str, client: str
) -> None:
    link = RedisLink(redis_url, prefix=redis_prefix)
    if client == "redis-py":
        link.fast = None  # as for rediss:// and unix:// URLs
    await link.start()
    replies: list[object] = []
    try:
        assert link.evalsha_later(Script("return ARGV[1] .. '!'"), [], ["hi"], done=replies.append)
        assert link.evalsha_later(Script("return redis.call('NOSUCHCOMMAND')"), [], [], done=replies.append)
        await wait_for(lambda: len(replies) == 2)
        assert replies == [b"hi!", DOWN]
        assert link.up and link.fallbacks == 1  # Redis refused the second: a bug of ours, not an outage
    finally:
        await link.aclose()
