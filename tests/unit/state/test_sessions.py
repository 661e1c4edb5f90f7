"""Sticky sessions in a real Redis: a conversation routed to opus by one process stays on opus when its
next turn reaches another; while Redis is unreachable each process keeps its own sessions."""

from __future__ import annotations

import pytest

from tests.helpers import graph
from tests.unit.engine.test_sticky import PRICED, RULES, tier_of, turns
from tiergate.engine.router import Router
from tiergate.engine.sticky import SessionPool
from tiergate.state.link import RedisLink
from tiergate.state.sessions import SharedSessions


def router(link: RedisLink) -> Router:
    g = graph(RULES, base=PRICED)
    return Router(g, sessions=SessionPool(shared=SharedSessions(link)).build(g))


@pytest.mark.asyncio
async def test_a_session_opened_in_one_process_holds_in_another(links: tuple[RedisLink, RedisLink]) -> None:
    one, two = router(links[0]), router(links[1])
    assert (await tier_of(one, turns("prove the queue is linearizable")))[:2] == ("opus", False)
    tier, sticky, reasons = await tier_of(two, turns("prove the queue is linearizable", "now rename q to queue"))
    assert (tier, sticky) == ("opus", True)
    assert reasons[-1] == "sticky: session already on opus; not moving down to local"
    # Another client's conversation with the same opener is a session of its own.
    assert (await tier_of(two, turns("prove the queue is linearizable", "rename q"), client="b"))[0] == "local"


@pytest.mark.asyncio
async def test_a_dry_run_reads_the_shared_session_but_does_not_write_it(links: tuple[RedisLink, RedisLink]) -> None:
    one, two = router(links[0]), router(links[1])
    assert (await tier_of(one, turns("rename x"), remember=False))[0] == "local"
    assert (await tier_of(one, turns("rename x", "prove it terminates"), remember=False))[0] == "opus"
    # Nothing was remembered: the next turn on the other process is not held up.
    assert (await tier_of(two, turns("rename x", "prove it", "rename y")))[:2] == ("local", False)


@pytest.mark.asyncio
async def test_without_redis_the_process_keeps_its_own_sessions(closed_port: int) -> None:
    link = RedisLink(f"redis://127.0.0.1:{closed_port}/0")
    await link.start()
    try:
        r = router(link)
        assert (await tier_of(r, turns("prove the queue is linearizable")))[0] == "opus"
        assert (await tier_of(r, turns("prove the queue is linearizable", "rename q")))[:2] == ("opus", True)
    finally:
        await link.aclose()
