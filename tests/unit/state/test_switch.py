"""``max_loaded`` across processes on a real Redis: two switchboards in front of one Ollama server never
unload a model that a call on the other is using, take turns like calls in one process, and leave no
lease or lock behind; without Redis each counts its own calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
import redis

from tests.helpers import graph
from tests.unit.dispatch.test_switch import Server, call, target
from tests.unit.state.processes import eventually, reaches, subscribed
from tiergate.dispatch.switch import LoadSwitch, Switchboard
from tiergate.errors import UpstreamUnavailable
from tiergate.state.channels import Channels
from tiergate.state.link import Down, RedisLink
from tiergate.state.switch import SharedSwitch
from tiergate.telemetry.residency import Residency


@dataclass
class Process:
    link: RedisLink
    channels: Channels
    shared: SharedSwitch
    switch: LoadSwitch


def switch_for(server: Server, shared: SharedSwitch) -> LoadSwitch:
    switch = Switchboard(Residency(), shared=shared).build(graph(), {"ollama": server})
    assert isinstance(switch, LoadSwitch)
    return switch


@pytest_asyncio.fixture
async def server() -> Server:
    server = Server(limit=1)
    server.memory = ["a:1b"]
    return server


@pytest_asyncio.fixture
async def processes(server: Server, redis_url: str, redis_prefix: str) -> AsyncIterator[tuple[Process, Process]]:
    async with subscribed(redis_url, redis_prefix, SharedSwitch) as made:
        a, b = (Process(link, channels, shared, switch_for(server, shared)) for link, channels, shared in made)
        yield a, b


async def answering(process: Process, server: Server, model: str = "a:1b") -> tuple[asyncio.Task[None], asyncio.Event]:
    """A call through ``process`` that has reached the server and goes on until the event is set."""
    release = asyncio.Event()
    task = asyncio.ensure_future(call(process.switch, server, model, release))
    await reaches(lambda: f"chat {model}" in server.log)
    return task, release


def stored(redis_url: str, redis_prefix: str) -> tuple[list[bytes], bool]:
    """The backend's leases, and whether its lock is held, as Redis has them."""
    client = redis.Redis.from_url(redis_url)
    try:
        leases = client.zrange(f"{redis_prefix}:switch:ollama:calls", 0, -1)
        return leases, bool(client.exists(f"{redis_prefix}:switch:ollama:lock"))
    finally:
        client.close()


async def settled(redis_url: str, redis_prefix: str) -> None:
    """Leases and unlocks are sent without waiting: until Redis has none of them."""

    async def empty() -> bool:
        return stored(redis_url, redis_prefix) == ([], False)

    await eventually(empty)


@pytest.mark.asyncio
async def test_a_model_answering_on_one_process_is_not_unloaded_by_the_other(
    processes: tuple[Process, Process], server: Server, redis_url: str, redis_prefix: str
) -> None:
    a, b = processes
    busy, release = await answering(a, server)
    leases, locked = stored(redis_url, redis_prefix)
    assert [lease.split(b"\n")[0] for lease in leases] == [b"a:1b"] and not locked
    switching = asyncio.ensure_future(call(b.switch, server, "b:1b"))
    await asyncio.sleep(0.4)
    assert not switching.done() and "unload a:1b" not in server.log  # b waits for a's call to end
    release.set()
    await asyncio.wait_for(asyncio.gather(busy, switching), 5)
    assert server.log[-2:] == ["unload a:1b", "chat b:1b"]
    assert server.memory == ["b:1b"]
    await settled(redis_url, redis_prefix)


@pytest.mark.asyncio
async def test_a_call_on_a_model_in_use_elsewhere_joins_it_without_asking_the_server(
    processes: tuple[Process, Process], server: Server
) -> None:
    a, b = processes
    busy, release = await answering(a, server)
    await asyncio.wait_for(call(b.switch, server, "a:1b"), 2)
    release.set()
    await busy
    assert server.log == ["ps", "chat a:1b", "chat a:1b"]  # one look at /api/ps, by the first call


@pytest.mark.asyncio
async def test_calls_that_arrive_while_a_switch_waits_wait_behind_it(
    processes: tuple[Process, Process], server: Server, redis_url: str, redis_prefix: str
) -> None:
    a, b = processes
    first, release = await answering(a, server)
    switching = asyncio.ensure_future(call(b.switch, server, "b:1b"))
    await reaches(lambda: stored(redis_url, redis_prefix)[1])  # b holds the lock and waits
    later = asyncio.ensure_future(call(a.switch, server, "a:1b"))  # would keep a:1b busy for ever
    await asyncio.sleep(0.3)
    assert not later.done() and server.log.count("chat a:1b") == 1
    release.set()
    await asyncio.wait_for(asyncio.gather(first, switching, later), 5)
    assert [line for line in server.log if line != "ps"] == [
        "chat a:1b",
        "unload a:1b",
        "chat b:1b",
        "unload b:1b",
        "chat a:1b",
    ]
    await settled(redis_url, redis_prefix)


@pytest.mark.asyncio
async def test_a_call_that_goes_on_keeps_its_lease_renewed_and_a_dead_process_frees_its_model(
    processes: tuple[Process, Process], server: Server, redis_url: str, redis_prefix: str
) -> None:
    a, b = processes
    a.shared.renewer.ttl, a.shared.renewer.every = 0.4, 0.1
    busy, release = await answering(a, server)
    switching = asyncio.ensure_future(call(b.switch, server, "b:1b"))
    await asyncio.sleep(1.2)  # three lease lifetimes: renewed all along
    assert not switching.done() and "unload a:1b" not in server.log
    [lease] = stored(redis_url, redis_prefix)[0]
    await a.shared.aclose()  # a dies in the middle of its call: nobody renews or removes its lease
    await asyncio.wait_for(switching, 3)  # within the lease's lifetime b goes on
    assert server.log[-2:] == ["unload a:1b", "chat b:1b"]
    assert lease not in stored(redis_url, redis_prefix)[0]
    release.set()
    await busy


@pytest.mark.asyncio
async def test_a_lock_left_by_a_dead_process_lasts_its_ttl_from_the_last_look(
    processes: tuple[Process, Process], server: Server
) -> None:
    a, b = processes
    a.shared.lock_ttl = 0.4
    locked = await a.shared.lock("ollama")  # a takes the lock to switch, and dies
    assert not isinstance(locked, Down) and locked[1] == []
    switching = asyncio.ensure_future(call(b.switch, server, "b:1b"))
    await asyncio.sleep(0.2)
    assert not switching.done() and server.log == []
    await asyncio.wait_for(switching, 2)
    assert server.log == ["ps", "unload a:1b", "chat b:1b"]


@pytest.mark.asyncio
async def test_a_switch_that_times_out_leaves_no_lease_or_lock(
    processes: tuple[Process, Process], server: Server, redis_url: str, redis_prefix: str
) -> None:
    a, b = processes
    busy, release = await answering(a, server)
    with pytest.raises(UpstreamUnavailable) as refused:
        async with b.switch.hold(target("b:1b", first_token=0.3)):
            pytest.fail("the call went on while a:1b was answering")
    assert refused.value.kind == "timeout"
    assert refused.value.detail == "no room for b:1b within 0.3s (max_loaded; in use: a:1b)"  # in use on a

    async def only_a() -> bool:
        leases, locked = stored(redis_url, redis_prefix)
        return [lease.split(b"\n")[0] for lease in leases] == [b"a:1b"] and not locked

    await eventually(only_a)
    release.set()
    await busy
    await settled(redis_url, redis_prefix)
    assert "unload a:1b" not in server.log


@pytest.mark.asyncio
async def test_without_redis_each_process_counts_its_own_calls(server: Server, closed_port: int) -> None:
    link = RedisLink(f"redis://127.0.0.1:{closed_port}/0")
    await link.start()
    try:
        switch = switch_for(server, SharedSwitch(link, Channels(link)))
        await call(switch, server, "b:1b")
        await call(switch, server, "b:1b")
        assert server.log == ["ps", "unload a:1b", "chat b:1b", "ps", "chat b:1b"]
    finally:
        await link.aclose()
