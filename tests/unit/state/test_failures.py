"""Session escalation across processes on a real Redis: failures, holds, ratings and refusals that one
process sees count on the others, through the failures channel; without Redis each process counts alone."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
import redis

from tests.doubles import Clock
from tests.unit.engine.test_session_escalation import REFUSAL, Rig
from tests.unit.state.processes import reaches, subscribed
from tiergate.dispatch.dispatcher import Attempt
from tiergate.state.channels import Channels
from tiergate.state.failures import SharedFailures
from tiergate.state.link import RedisLink


@dataclass
class Process:
    link: RedisLink
    channels: Channels
    store: SharedFailures
    rig: Rig


@pytest_asyncio.fixture
async def processes(redis_url: str, redis_prefix: str) -> AsyncIterator[tuple[Process, Process]]:
    clock = Clock(1_750_000_000.0)  # one wall clock for both, as on one machine

    def make(link: RedisLink, channels: Channels) -> SharedFailures:
        return SharedFailures(link, channels, clock=clock)

    async with subscribed(redis_url, redis_prefix, make) as made:
        a, b = (Process(link, channels, store, Rig(failures=store, clock=clock)) for link, channels, store in made)
        yield a, b


@pytest.mark.asyncio
async def test_failures_seen_by_one_process_move_the_session_up_on_another(
    processes: tuple[Process, Process],
) -> None:
    a, b = processes
    first = await a.rig.decide("fix the parser")
    a.rig.fail_local(first)
    second = await a.rig.decide("fix the parser", "still broken")
    assert second.tier == "local"
    a.rig.fail_local(second)
    session = first.session
    assert session is not None
    await reaches(lambda: len(b.store.failures(session, "local", 0.0)) == 2)
    escalated = await b.rig.decide("fix the parser", "still broken", "again")
    assert escalated.tier == "sonnet" and escalated.escalation is not None
    assert escalated.escalation.failures == ["error", "error"]
    # Each process holds each failure once: its own are not applied again when they come back.
    await asyncio.sleep(0.05)
    assert len(a.store.failures(session, "local", 0.0)) == 2
    other = await b.rig.decide("an unrelated conversation")
    assert other.tier == "local"


@pytest.mark.asyncio
async def test_a_hold_outlives_the_window_on_every_process(processes: tuple[Process, Process]) -> None:
    a, b = processes
    for turn in range(2):
        a.rig.fail_local(await a.rig.decide("task", *["more"] * turn))
    escalated = await a.rig.decide("task", "more", "more")  # a records the hold: until the last failure + 900 s
    assert escalated.escalation is not None
    session = escalated.session
    assert session is not None
    await reaches(lambda: b.store.held(session, "local") == escalated.escalation.until)  # type: ignore[union-attr]
    a.rig.clock.advance(700)  # the failures are out of the 600 s window; the hold is not over
    assert b.store.failures(session, "local", a.rig.clock.now - 600) == []
    held = await b.rig.decide("task", "more", "more", "more")
    assert held.tier == "sonnet" and held.escalation is not None and held.escalation.failures == ["held"]
    a.rig.clock.advance(201)
    assert (await b.rig.decide("task", "more", "more", "more", "more")).tier == "local"


@pytest.mark.asyncio
async def test_a_low_rating_sent_to_another_process_counts(processes: tuple[Process, Process]) -> None:
    a, b = processes
    served = []
    for _ in range(2):
        d = await a.rig.decide("task")
        a.rig.finish(d, Attempt(a.rig.local, "ok", 5.0))
        served.append(d.decision_id)
    await reaches(lambda: all(b.store.decision(d) is not None for d in served))
    for decision_id in served:
        b.rig.signals.rated(decision_id, 1)  # POST /v1/feedback reached the other process
    session = b.store.decision(served[0])
    assert session is not None
    await reaches(lambda: len(a.store.failures(session[0], "local", 0.0)) == 2)
    escalated = await a.rig.decide("task")
    assert escalated.escalation is not None and escalated.escalation.failures == ["rating", "rating"]


@pytest.mark.asyncio
async def test_a_decision_has_one_rating_failure_on_every_process_and_only_its_client_counts(
    processes: tuple[Process, Process],
) -> None:
    a, b = processes
    d = await a.rig.decide("task", client="team-a")
    a.rig.finish(d, Attempt(a.rig.local, "ok", 5.0), client="team-a")
    session = d.session
    assert session is not None
    await reaches(lambda: b.store.decision(d.decision_id) == (session, "local", "team-a"))
    b.rig.signals.rated(d.decision_id, 1, "team-b")  # another client's rating: not counted anywhere
    b.rig.signals.rated(d.decision_id, 1, "team-a")
    await reaches(lambda: len(a.store.failures(session, "local", 0.0)) == 1)
    a.rig.signals.rated(d.decision_id, 1, "team-a")  # rated again, on the other process: still one failure
    await asyncio.sleep(0.05)
    assert [len(p.store.failures(session, "local", 0.0)) for p in (a, b)] == [1, 1]
    a.rig.signals.rated(d.decision_id, 5, "team-a")  # corrected: taken back on both
    await reaches(lambda: b.store.failures(session, "local", 0.0) == [])
    assert a.store.failures(session, "local", 0.0) == []


@pytest.mark.asyncio
async def test_a_refusal_is_charged_to_the_tier_that_answered_and_counted_once_across_processes(
    processes: tuple[Process, Process],
) -> None:
    a, b = processes
    d1 = await a.rig.decide("write a port scanner")
    a.rig.finish(d1, Attempt(a.rig.local, "ok", 5.0))  # a's local answered the first turn
    session = d1.session
    assert session is not None
    await reaches(lambda: b.store.last_tier(session) == "local")
    d2 = await b.rig.decide("write a port scanner", "please", answers=[REFUSAL])  # the next turn reaches b
    assert d2.tier == "local"
    b.rig.finish(d2, Attempt(b.rig.local, "ok", 5.0))
    await reaches(lambda: len(a.store.failures(session, "local", 0.0)) == 1)
    resent = await a.rig.decide("write a port scanner", "please", answers=[REFUSAL])  # a retry, on a
    assert resent.tier == "local"  # the same answer is not a second refusal
    assert len(a.store.failures(session, "local", 0.0)) == 1
    a.rig.finish(resent, Attempt(a.rig.local, "ok", 5.0))
    another = "I cannot assist with creating network scanning tools."
    d3 = await b.rig.decide("write a port scanner", "please", "for my lab", answers=[REFUSAL, another])
    assert d3.tier == "sonnet" and d3.escalation is not None and d3.escalation.failures == ["refusal", "refusal"]


@pytest.mark.asyncio
async def test_without_redis_a_process_counts_its_own_failures(closed_port: int) -> None:
    link = RedisLink(f"redis://127.0.0.1:{closed_port}/0")
    await link.start()
    try:
        rig = Rig(failures=SharedFailures(link, Channels(link)))
        for turn in range(2):
            rig.fail_local(await rig.decide("task", *["more"] * turn))
        assert (await rig.decide("task", "more", "more")).tier == "sonnet"
        assert link.fallbacks >= 3  # two failures and a hold, none sent
    finally:
        await link.aclose()


@pytest.mark.asyncio
async def test_messages_that_are_not_ours_are_ignored_with_a_warning(
    processes: tuple[Process, Process], redis_url: str, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = processes
    publisher = redis.Redis.from_url(redis_url)
    channel = f"{redis_prefix}:failures"
    own = {"op": "fail", "s": "s1", "t": "local", "k": "error", "at": 1.0, "o": b.store.origin}
    caplog.set_level(logging.WARNING, "tiergate.state")
    for bad in (b"not json", b'{"op": "explode", "s": "s1"}', b'{"op": "fail", "s": "s1"}', json.dumps(own)):
        publisher.publish(channel, bad)
    publisher.publish(channel, json.dumps({**own, "o": "elsewhere", "s": "s2"}))
    publisher.close()
    await reaches(lambda: b.store.failures("s2", "local", 0.0) == [(1.0, "error")])
    assert b.store.failures("s1", "local", 0.0) == []  # the one with b's own origin was b's already
    assert a.store.failures("s1", "local", 0.0) == [(1.0, "error")]  # a takes it: not a's origin
    warned = [r.getMessage() for r in caplog.records if "session-failure message" in r.getMessage()]
    assert len(warned) == 6  # three bad messages, on each of the two processes


@pytest.mark.asyncio
async def test_a_process_started_later_reads_the_holds_not_over_yet(
    processes: tuple[Process, Process], redis_url: str, redis_prefix: str
) -> None:
    a, _ = processes
    clock = a.rig.clock
    for turn in range(2):
        a.rig.fail_local(await a.rig.decide("task", *["more"] * turn))
    escalated = await a.rig.decide("task", "more", "more")
    assert escalated.escalation is not None
    session, until = escalated.session, escalated.escalation.until
    assert session is not None
    kept = redis.Redis.from_url(redis_url)
    await reaches(lambda: kept.zscore(f"{redis_prefix}:failures:holds", f"{session}\x1flocal") == until)
    assert 86_400 < kept.ttl(f"{redis_prefix}:failures:holds") <= 86_400 + 901
    clock.advance(700)  # the failures are out of the window: only the kept hold says "sonnet"

    def late(link: RedisLink, channels: Channels) -> SharedFailures:
        return SharedFailures(link, channels, clock=clock)

    async with subscribed(redis_url, redis_prefix, late, count=1) as made:
        ((_, _, store),) = made
        assert store.held(session, "local") == until
        c = Rig(failures=store, clock=clock)
        held = await c.decide("task", "more", "more", "more")
        assert held.tier == "sonnet" and held.escalation is not None and held.escalation.failures == ["held"]
    clock.advance(201)  # the hold is over: a process starting now reads nothing
    async with subscribed(redis_url, redis_prefix, late, count=1) as made:
        ((_, _, store),) = made
        assert store.held(session, "local") == 0.0
        assert (await Rig(failures=store, clock=clock).decide("task", "more", "more", "more")).tier == "local"
    kept.close()


@pytest.mark.asyncio
async def test_a_new_hold_drops_the_holds_that_are_over(
    processes: tuple[Process, Process], redis_url: str, redis_prefix: str
) -> None:
    a, _ = processes
    a.store.hold("s-old", "local", a.rig.clock.now + 10)
    a.rig.clock.advance(20)
    a.store.hold("s-new", "local", a.rig.clock.now + 10)
    kept = redis.Redis.from_url(redis_url)
    await reaches(lambda: kept.zrange(f"{redis_prefix}:failures:holds", 0, -1) == [b"s-new\x1flocal"])
    kept.close()
