"""A process that dies without leaving the shared spend (killed, out of memory) is moved to ``gone`` by a running
peer once it has been silent for ``silence`` seconds, on a real Redis. The totals do not change, a process
that was only paused goes on under a new name and counts what it spent since exactly once (also when Redis
loses its data before or after), and nobody is moved by a peer that has not itself been syncing that long.

    one spends $1, two $2 → two is killed → 601 s later one moves two's $2 to gone: one's $1 + gone's $2
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis

from tiergate.state.link import DOWN, RedisLink, text_of
from tiergate.state.spend import KEEP_SECONDS, SEP, SharedSpend, totals
from tiergate.telemetry.spend import Calendar

NOW = 1_764_763_200.0  # 2025-12-03 12:00 UTC
CAL = Calendar()
OPUS_DAY = ("tier", "opus", "daily", "2025-12-03")
HASHES = ("spend:daily:2025-12-03", "spend:monthly:2025-12")
SEEN = "spend:seen:2025-12"
SILENCE = 600.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def spend(on: SharedSpend, usd: float, client: str = "ci") -> None:
    on.add(CAL.keys(NOW, "opus", client), usd)


def in_field(process: str, scope: str, name: str) -> str:
    return SEP.join(("in", process, scope, name))


def held(redis_url: str, key: str) -> dict[str, str]:
    client = redis.Redis.from_url(redis_url)
    try:
        return {text_of(name): text_of(value) for name, value in client.hgetall(key).items()}
    finally:
        client.close()


def fields(redis_url: str, prefix: str) -> list[dict[str, float]]:
    """The day's and the month's hashes as Redis holds them."""
    return [{name: float(usd) for name, usd in held(redis_url, f"{prefix}:{key}").items()} for key in HASHES]


def opus_totals(redis_url: str, prefix: str) -> list[float]:
    """The day's and the month's totals for the opus tier, as every process reads them."""
    return [totals(hash_.items()).get(("tier", "opus"), 0.0) for hash_ in fields(redis_url, prefix)]


def lose_data(redis_url: str, prefix: str) -> None:
    """Redis loses this test's keys, as a restart without persistence or a flush would."""
    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
    finally:
        client.close()


async def keep_syncing(clock: Clock, *processes: SharedSpend, to: float, step: float = 60.0) -> None:
    """Time passes until ``to``, each process syncing every ``step`` seconds as its background task would."""
    while clock.now < to:
        clock.now = min(to, clock.now + step)
        for process in processes:
            assert await process.sync()


async def moved_while_paused(clock: Clock, one: SharedSpend, two: SharedSpend) -> str:
    """``two`` is paused while ``one`` syncs on past the silence and moves it; ``two`` wakes, finds it was moved
    and rejoins under a new name. Its former name."""
    former = two.process
    await keep_syncing(clock, one, to=clock.now + SILENCE + 1)
    assert await one.fold_silent() == [former]
    assert await two.sync()
    assert two.process != former
    return former


async def started(redis_url: str, redis_prefix: str, clock: Clock) -> SharedSpend:
    """A process of its own (its own link)."""
    own = RedisLink(redis_url, prefix=redis_prefix)
    await own.start()
    return SharedSpend(own, clock=clock, silence=SILENCE)


Pair = tuple[Clock, SharedSpend, SharedSpend]


@pytest_asyncio.fixture
async def pair(link: RedisLink, redis_url: str, redis_prefix: str) -> AsyncIterator[Pair]:
    """A clock, and two processes on it: ``one`` on the test's link, ``two`` on a link of its own (close it to
    kill the process)."""
    clock = Clock()
    two = await started(redis_url, redis_prefix, clock)
    yield clock, SharedSpend(link, clock=clock, silence=SILENCE), two
    await two.link.aclose()


@pytest.mark.asyncio
async def test_a_process_silent_past_the_limit_is_moved_to_gone(pair: Pair, redis_url: str, redis_prefix: str) -> None:
    clock, one, two = pair
    spend(one, 1.0)
    spend(two, 2.0, client="dev")
    assert await one.sync() and await two.sync()
    await two.link.aclose()  # killed: it never leaves
    assert held(redis_url, f"{redis_prefix}:{SEEN}") == {one.process: repr(NOW), two.process: repr(NOW)}

    await keep_syncing(clock, one, to=NOW + SILENCE - 1)  # not silent long enough yet
    assert await one.fold_silent() == []
    await keep_syncing(clock, one, to=NOW + SILENCE + 1)
    assert await one.fold_silent() == [two.process]

    for hash_ in fields(redis_url, redis_prefix):
        assert hash_ == {
            in_field(one.process, "tier", "opus"): 1.0,
            in_field(one.process, "client", "ci"): 1.0,
            in_field("gone", "tier", "opus"): 2.0,
            in_field("gone", "client", "dev"): 2.0,
        }
        assert totals(hash_.items()) == {("tier", "opus"): 3.0, ("client", "ci"): 1.0, ("client", "dev"): 2.0}
    assert held(redis_url, f"{redis_prefix}:{SEEN}") == {one.process: repr(NOW + SILENCE + 1)}
    daily, monthly = (f"{redis_prefix}:{key}" for key in HASHES)
    assert held(redis_url, f"{redis_prefix}:spend:left:{two.process}") == {
        "by": one.process,
        SEP.join((daily, "tier", "opus")): "2.0",
        SEP.join((daily, "client", "dev")): "2.0",
        SEP.join((monthly, "tier", "opus")): "2.0",
        SEP.join((monthly, "client", "dev")): "2.0",
    }
    client = redis.Redis.from_url(redis_url)
    try:
        assert 40 * 86_400 < client.ttl(f"{redis_prefix}:spend:left:{two.process}") <= KEEP_SECONDS["monthly"]
    finally:
        client.close()
    assert await one.sync()
    assert one.get(OPUS_DAY) == pytest.approx(3.0)
    assert await one.fold_silent() == []  # moved once


@pytest.mark.asyncio
async def test_a_paused_process_that_was_moved_goes_on_under_a_new_name_and_counts_once(
    pair: Pair, redis_url: str, redis_prefix: str
) -> None:
    clock, one, two = pair
    spend(one, 1.0)
    spend(two, 2.0)
    assert await one.sync() and await two.sync()
    spend(two, 0.5)  # spent while paused, never sent before the move
    former = two.process
    await keep_syncing(clock, one, to=NOW + SILENCE + 1)
    assert await one.fold_silent() == [former]
    clock.now = NOW + SILENCE + 2
    assert await two.sync()  # refused, told what was moved, sent again under a new name
    assert two.process != former
    spend(two, 0.25)
    assert await two.sync()
    for hash_ in fields(redis_url, redis_prefix):
        assert hash_ == {
            in_field(one.process, "tier", "opus"): 1.0,
            in_field(one.process, "client", "ci"): 1.0,
            in_field("gone", "tier", "opus"): 2.0,
            in_field("gone", "client", "ci"): 2.0,
            in_field(two.process, "tier", "opus"): 0.75,
            in_field(two.process, "client", "ci"): 0.75,
        }
    assert await one.sync()
    assert one.get(OPUS_DAY) == pytest.approx(3.75)
    assert two.get(OPUS_DAY) == pytest.approx(3.75)
    await two.aclose()  # and it can still leave cleanly, under its new name
    for hash_ in fields(redis_url, redis_prefix):
        assert hash_ == {
            in_field(one.process, "tier", "opus"): 1.0,
            in_field(one.process, "client", "ci"): 1.0,
            in_field("gone", "tier", "opus"): 2.75,
            in_field("gone", "client", "ci"): 2.75,
        }
    assert held(redis_url, f"{redis_prefix}:{SEEN}") == {one.process: repr(NOW + SILENCE + 2)}


@pytest.mark.asyncio
async def test_a_process_that_keeps_syncing_without_spending_is_never_moved(
    pair: Pair, redis_url: str, redis_prefix: str
) -> None:
    clock, one, two = pair
    spend(two, 2.0)
    assert await one.sync() and await two.sync()
    while clock.now < NOW + 3 * SILENCE:
        await keep_syncing(clock, two, one, to=clock.now + 60)  # two idle, but seen
        assert await one.fold_silent() == []
    assert fields(redis_url, redis_prefix)[0] == {
        in_field(two.process, "tier", "opus"): 2.0,
        in_field(two.process, "client", "ci"): 2.0,
    }


@pytest.mark.asyncio
async def test_a_peer_that_has_not_synced_that_long_itself_moves_nothing(
    link: RedisLink, redis_url: str, redis_prefix: str
) -> None:
    """After an outage (or at start-up) every process is as silent as the dead one: wait before judging."""
    clock = Clock()
    two = await started(redis_url, redis_prefix, clock)
    spend(two, 2.0)
    assert await two.sync()
    await two.link.aclose()
    clock.now = NOW + 3 * SILENCE
    late = SharedSpend(link, clock=clock, silence=SILENCE)
    assert await late.sync()
    assert await late.fold_silent() == []
    await keep_syncing(clock, late, to=NOW + 4 * SILENCE - 1)
    assert await late.fold_silent() == []
    await keep_syncing(clock, late, to=NOW + 4 * SILENCE)
    assert await late.fold_silent() == [two.process]


@pytest.mark.asyncio
async def test_a_sync_redis_did_not_answer_restarts_the_wait(
    pair: Pair, redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Peers silent through an outage of Redis were not dead: a process that missed a sync waits ``silence``
    again before it moves anyone."""
    clock, one, two = pair
    spend(two, 2.0)
    assert await one.sync() and await two.sync()
    await two.link.aclose()
    await keep_syncing(clock, one, to=NOW + SILENCE - 60)
    with monkeypatch.context() as patched:
        clock.now = NOW + SILENCE - 30
        patched.setattr(one.link, "run", lambda op: asyncio.sleep(0, result=DOWN))  # Redis does not answer
        assert not await one.sync()
    await keep_syncing(clock, one, to=NOW + 2 * SILENCE - 31)  # answered again from NOW + SILENCE - 30 + 60
    assert await one.fold_silent() == []  # two has been silent for long, but one may have been too
    await keep_syncing(clock, one, to=NOW + 2 * SILENCE + 30)
    assert await one.fold_silent() == [two.process]


@pytest.mark.asyncio
async def test_a_process_that_was_paused_itself_waits_before_moving_anyone(
    pair: Pair, redis_url: str, redis_prefix: str
) -> None:
    """A machine asleep with Redis and its workers on it: the first to wake was as silent as the others."""
    clock, one, two = pair
    spend(two, 2.0)
    await keep_syncing(clock, one, two, to=NOW + 2 * SILENCE)
    clock.now += SILENCE + 100  # all asleep; one wakes first
    assert await one.sync()
    assert await one.fold_silent() == []
    await keep_syncing(clock, one, two, to=clock.now + 2 * SILENCE)  # two woke too
    assert await one.fold_silent() == []
    assert opus_totals(redis_url, redis_prefix) == [2.0, 2.0]
    assert in_field(two.process, "tier", "opus") in fields(redis_url, redis_prefix)[0]


@pytest.mark.asyncio
async def test_a_paused_process_that_rejoins_after_redis_lost_its_data_counts_its_was_once(
    pair: Pair, redis_url: str, redis_prefix: str
) -> None:
    """two's spend before Redis lost its data is a ``was`` field, which the move leaves where it is."""
    clock, one, two = pair
    spend(one, 1.0)
    spend(two, 2.0)
    assert await one.sync() and await two.sync()
    lose_data(redis_url, redis_prefix)
    assert await one.sync() and await two.sync() and await one.sync()
    assert opus_totals(redis_url, redis_prefix) == [3.0, 3.0]
    spend(two, 0.5)
    assert await two.sync()
    await moved_while_paused(clock, one, two)
    spend(two, 0.25)
    assert await two.sync() and await one.sync()
    assert opus_totals(redis_url, redis_prefix) == [3.75, 3.75]
    assert one.get(OPUS_DAY) == pytest.approx(3.75) and two.get(OPUS_DAY) == pytest.approx(3.75)


@pytest.mark.asyncio
async def test_redis_losing_its_data_after_a_rejoin_counts_the_moved_spend_once(
    pair: Pair, redis_url: str, redis_prefix: str
) -> None:
    """What was moved is carried over as gone's; the process that rejoined counts only the rest as its own."""
    clock, one, two = pair
    spend(one, 1.0)
    spend(two, 2.0)
    assert await one.sync() and await two.sync()
    await moved_while_paused(clock, one, two)
    spend(two, 0.5)
    assert await two.sync() and await one.sync()
    assert opus_totals(redis_url, redis_prefix) == [3.5, 3.5]
    lose_data(redis_url, redis_prefix)
    assert await one.sync() and await two.sync() and await one.sync()
    assert opus_totals(redis_url, redis_prefix) == [3.5, 3.5]
    spend(two, 0.25)
    assert await two.sync() and await one.sync()
    assert opus_totals(redis_url, redis_prefix) == [3.75, 3.75]
    assert one.get(OPUS_DAY) == pytest.approx(3.75) and two.get(OPUS_DAY) == pytest.approx(3.75)


@pytest.mark.asyncio
async def test_a_process_paused_between_its_sync_and_its_look_for_silent_peers_moves_nobody(
    pair: Pair, redis_url: str, redis_prefix: str
) -> None:
    clock, one, two = pair
    spend(two, 2.0)
    await keep_syncing(clock, one, two, to=NOW + 2 * SILENCE)
    clock.now += SILENCE + 100  # all asleep right after one's sync; its look runs first on waking
    assert await one.fold_silent() == []


@pytest.mark.asyncio
async def test_no_field_holds_float_residue_after_a_rejoin_and_a_loss_of_data(
    pair: Pair, redis_url: str, redis_prefix: str
) -> None:
    """``mine - (mine - moved) - moved`` is not always 0.0 in floats: such a sum is not written, nor left to gone."""
    clock, one, two = pair
    spend(two, 0.1)
    assert await one.sync() and await two.sync()
    await moved_while_paused(clock, one, two)
    spend(two, 0.1)
    spend(two, 1.1)
    assert await two.sync() and await one.sync()
    lose_data(redis_url, redis_prefix)
    assert await one.sync() and await two.sync() and await one.sync()
    assert [usd for hash_ in fields(redis_url, redis_prefix) for usd in hash_.values() if usd < 1e-6] == []
    await two.aclose()
    assert [usd for hash_ in fields(redis_url, redis_prefix) for usd in hash_.values() if usd < 1e-6] == []
    assert opus_totals(redis_url, redis_prefix) == [pytest.approx(1.3), pytest.approx(1.3)]


@pytest.mark.asyncio
async def test_the_move_checks_again_that_the_process_is_still_silent(
    pair: Pair, redis_url: str, redis_prefix: str
) -> None:
    """A process seen between a peer's read of ``seen`` and its move is not moved (the script's own check)."""
    _, one, two = pair
    spend(two, 2.0)
    assert await one.sync() and await two.sync()
    current = one._current()
    keys = one._keys(current)
    expiries = [KEEP_SECONDS[period] for period, _ in current]
    moved = await one._silent.fold(
        marker=keys[0],
        hashes=keys[1:-2],
        seen=keys[-2],
        generation="another",
        me=one.process,
        silent_before=NOW + 1,
        keep=60,
        expiries=expiries,
    )
    assert moved == []  # Redis holds another generation
    # The script itself, as if the read of ``seen`` had found two silent before NOW - 1: it was seen at NOW.
    left = f"{redis_prefix}:spend:left:{two.process}"
    args = [one._seen, two.process, repr(NOW - 1), 60, one.process, SEP, *expiries]
    assert await one._silent._fold(keys=[*keys[:-1], left], args=args) == 0
    assert fields(redis_url, redis_prefix)[1] == {
        in_field(two.process, "tier", "opus"): 2.0,
        in_field(two.process, "client", "ci"): 2.0,
    }


@pytest.mark.asyncio
async def test_a_process_that_never_said_when_it_was_seen_is_not_moved(
    link: RedisLink, redis_url: str, redis_prefix: str
) -> None:
    """Fields of a process of an earlier release (no time in ``seen``) stay where they are."""
    clock = Clock()
    one = SharedSpend(link, clock=clock, silence=SILENCE)
    assert await one.sync()
    client = redis.Redis.from_url(redis_url)
    try:
        for key in HASHES:
            client.hset(f"{redis_prefix}:{key}", in_field("0123456789abcdef", "tier", "opus"), "4")
    finally:
        client.close()
    await keep_syncing(clock, one, to=NOW + 2 * SILENCE)
    assert await one.fold_silent() == []
    assert one.get(OPUS_DAY) == pytest.approx(4.0)


@pytest.mark.asyncio
async def test_a_running_gateway_moves_a_killed_peer_on_its_own(redis_url: str, redis_prefix: str) -> None:
    """The background sync looks for silent peers: real time, a short silence."""
    links = [RedisLink(redis_url, prefix=redis_prefix) for _ in range(2)]
    for own in links:
        await own.start()
    start = time.monotonic()

    def clock() -> float:
        return NOW + time.monotonic() - start

    one = SharedSpend(links[0], interval=0.02, clock=clock, silence=0.5)
    two = SharedSpend(links[1], interval=0.02, clock=clock, silence=0.5)
    try:
        spend(one, 1.0)
        spend(two, 2.0)
        assert await two.sync()
        await links[1].aclose()  # killed
        one.start()
        for _ in range(300):
            await asyncio.sleep(0.02)
            if in_field("gone", "tier", "opus") in fields(redis_url, redis_prefix)[0]:
                break
        assert fields(redis_url, redis_prefix)[0] == {
            in_field(one.process, "tier", "opus"): 1.0,
            in_field(one.process, "client", "ci"): 1.0,
            in_field("gone", "tier", "opus"): 2.0,
            in_field("gone", "client", "ci"): 2.0,
        }
    finally:
        await one.aclose()
        await links[0].aclose()
