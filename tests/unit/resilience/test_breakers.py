"""Breakers: what counts as a failure, open → half-open → closed on an injected clock, reloads keep state."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest
from pybreaker import STATE_CLOSED, CircuitBreakerStorage, CircuitMemoryStorage

from tests.doubles import Clock
from tiergate.config.model import Breaker, Capabilities, Limits, Price, Retries, Timeouts
from tiergate.engine.targets import Target
from tiergate.errors import UpstreamError, UpstreamProtocolError, UpstreamStatusError, UpstreamUnavailable
from tiergate.resilience.breakers import Breakers

URL = "http://127.0.0.1:11434"


def target(*, fail_max: int = 3, reset_timeout: float = 30.0, model: str = "qwen") -> Target:
    breaker = Breaker(fail_max=fail_max, reset_timeout=reset_timeout)
    return Target(
        tier="local",
        backend="ollama",
        model=model,
        capabilities=Capabilities(),
        price=Price(),
        timeouts=Timeouts(),
        retries=Retries(),
        breaker=breaker,
        limits=Limits(),
    )


def status(code: int) -> UpstreamStatusError:
    return UpstreamStatusError("ollama", URL, f"HTTP {code}", status=code)


class Upstream:
    """A call that fails with the queued errors, then answers "ok"; counts how often it was called."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


async def fail(breakers: Breakers, t: Target, exc: BaseException, times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(type(exc)):
            await breakers.call(t, Upstream(exc), url=URL)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breakers(clock: Clock) -> Breakers:
    return Breakers(clock=clock)


@pytest.mark.asyncio
async def test_opens_after_fail_max_counted_failures(breakers: Breakers) -> None:
    t = target(fail_max=3)
    await fail(breakers, t, status(500), times=2)
    assert breakers.state(t) == "closed"
    await fail(breakers, t, status(500))
    assert breakers.state(t) == "open"


@pytest.mark.asyncio
async def test_the_tripping_call_raises_its_own_error_not_a_breaker_error(breakers: Breakers) -> None:
    t = target(fail_max=1)
    error = status(503)
    with pytest.raises(UpstreamStatusError) as raised:
        await breakers.call(t, Upstream(error), url=URL)
    assert raised.value is error


@pytest.mark.asyncio
@pytest.mark.parametrize("code", [408, 429, 500, 502, 503, 529])
async def test_server_errors_timeouts_and_429_count(breakers: Breakers, code: int) -> None:
    t = target(fail_max=2)
    await fail(breakers, t, status(code), times=2)
    assert breakers.state(t) == "open"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "exc",
    [
        UpstreamUnavailable("ollama", URL, "connection refused", kind="connect"),
        UpstreamUnavailable("ollama", URL, "no answer", kind="timeout", status=504),
        UpstreamProtocolError("ollama", URL, "bad JSON"),
    ],
)
async def test_unreachable_and_unreadable_upstreams_count(breakers: Breakers, exc: UpstreamError) -> None:
    t = target(fail_max=1)
    await fail(breakers, t, exc)
    assert breakers.state(t) == "open"


@pytest.mark.asyncio
@pytest.mark.parametrize("code", [400, 401, 403, 404, 413, 422])
async def test_client_errors_do_not_count(breakers: Breakers, code: int) -> None:
    t = target(fail_max=2)
    await fail(breakers, t, status(code), times=5)
    assert breakers.state(t) == "closed"


@pytest.mark.asyncio
async def test_a_client_error_is_an_answer_and_resets_the_count(breakers: Breakers) -> None:
    t = target(fail_max=3)
    await fail(breakers, t, status(500), times=2)
    await fail(breakers, t, status(400))
    await fail(breakers, t, status(500), times=2)
    assert breakers.state(t) == "closed"


@pytest.mark.asyncio
async def test_a_success_resets_the_count(breakers: Breakers) -> None:
    t = target(fail_max=3)
    await fail(breakers, t, status(500), times=2)
    assert await breakers.call(t, Upstream(), url=URL) == "ok"
    await fail(breakers, t, status(500), times=2)
    assert breakers.state(t) == "closed"


@pytest.mark.asyncio
@pytest.mark.parametrize("exc", [ValueError("a bug of ours"), asyncio.CancelledError()])
async def test_errors_that_are_not_the_upstreams_say_nothing(breakers: Breakers, exc: BaseException) -> None:
    t = target(fail_max=2)
    await fail(breakers, t, status(500))
    await fail(breakers, t, exc, times=3)
    assert breakers.state(t) == "closed"
    await fail(breakers, t, status(500))
    assert breakers.state(t) == "open", "the earlier 500 was neither forgotten nor reset"


@pytest.mark.asyncio
async def test_an_open_breaker_refuses_without_calling(breakers: Breakers, clock: Clock) -> None:
    t = target(fail_max=1, reset_timeout=30)
    await fail(breakers, t, status(500))
    clock.advance(10)
    upstream = Upstream()
    with pytest.raises(UpstreamUnavailable) as raised:
        await breakers.call(t, upstream, url=URL)
    assert upstream.calls == 0
    err = raised.value
    assert err.kind == "breaker_open"
    assert not err.retryable and err.fallback_ok
    assert err.message == f"backend 'ollama' at {URL}: circuit breaker open for ollama/qwen (retry in 20s)"
    assert err.retry_after == pytest.approx(20)


@pytest.mark.asyncio
async def test_half_open_after_reset_timeout_then_closed_on_success(breakers: Breakers, clock: Clock) -> None:
    t = target(fail_max=1, reset_timeout=30)
    await fail(breakers, t, status(500))
    clock.advance(29.5)
    assert breakers.state(t) == "open"
    clock.advance(0.5)
    assert breakers.state(t) == "half-open", "the router must let a trial call through"
    upstream = Upstream()
    assert await breakers.call(t, upstream, url=URL) == "ok"
    assert upstream.calls == 1
    assert breakers.state(t) == "closed"


@pytest.mark.asyncio
async def test_a_failed_trial_opens_the_breaker_for_another_reset_timeout(breakers: Breakers, clock: Clock) -> None:
    t = target(fail_max=3, reset_timeout=30)
    await fail(breakers, t, status(500), times=3)
    clock.advance(30)
    await fail(breakers, t, status(500))
    assert breakers.state(t) == "open"
    clock.advance(29)
    assert breakers.state(t) == "open"
    clock.advance(1)
    assert breakers.state(t) == "half-open"


@pytest.mark.asyncio
async def test_half_open_lets_one_trial_through_at_a_time(breakers: Breakers, clock: Clock) -> None:
    t = target(fail_max=1, reset_timeout=30)
    await fail(breakers, t, status(500))
    clock.advance(30)
    release = asyncio.Event()

    async def slow() -> str:
        await release.wait()
        return "ok"

    trial = asyncio.create_task(breakers.call(t, slow, url=URL))
    await asyncio.sleep(0)
    assert breakers.state(t) == "open", "the router and the dry run skip it while the trial runs"
    upstream = Upstream()
    with pytest.raises(UpstreamUnavailable, match="a trial call is in flight") as raised:
        await breakers.call(t, upstream, url=URL)
    assert raised.value.kind == "breaker_open" and upstream.calls == 0
    release.set()
    assert await trial == "ok"
    assert breakers.state(t) == "closed"


@pytest.mark.asyncio
async def test_a_cancelled_trial_frees_the_way_for_the_next_one(breakers: Breakers, clock: Clock) -> None:
    t = target(fail_max=1, reset_timeout=30)
    await fail(breakers, t, status(500))
    clock.advance(30)
    await fail(breakers, t, asyncio.CancelledError())
    assert breakers.state(t) == "half-open"
    assert await breakers.call(t, Upstream(), url=URL) == "ok"
    assert breakers.state(t) == "closed"


@pytest.mark.asyncio
async def test_keys_are_independent(breakers: Breakers) -> None:
    sick, well = target(fail_max=1, model="a"), target(fail_max=1, model="b")
    await fail(breakers, sick, status(500))
    assert (breakers.state(sick), breakers.state(well)) == ("open", "closed")


@pytest.mark.asyncio
async def test_a_reload_with_new_settings_keeps_the_state(breakers: Breakers) -> None:
    await fail(breakers, target(fail_max=3), status(500), times=2)
    reloaded = target(fail_max=5)
    breakers.configure([reloaded])
    await fail(breakers, reloaded, status(500), times=2)
    assert breakers.state(reloaded) == "closed", "4 failures of 5"
    await fail(breakers, reloaded, status(500))
    assert breakers.state(reloaded) == "open"


@pytest.mark.asyncio
async def test_a_reload_can_shorten_an_open_breakers_timeout(breakers: Breakers, clock: Clock) -> None:
    await fail(breakers, target(fail_max=1, reset_timeout=60), status(500))
    reloaded = target(fail_max=1, reset_timeout=5)
    breakers.configure([reloaded])
    clock.advance(5)
    assert breakers.state(reloaded) == "half-open"


@pytest.mark.asyncio
async def test_a_key_listed_twice_keeps_its_first_settings(breakers: Breakers) -> None:
    first, second = target(fail_max=1), target(fail_max=9)
    breakers.configure([first, second])
    await fail(breakers, second, status(500))
    assert breakers.state(first) == "open"


@pytest.mark.asyncio
async def test_state_changes_are_logged_once_each(
    breakers: Breakers, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    t = target(fail_max=1, reset_timeout=30)
    with caplog.at_level(logging.INFO, logger="tiergate.breakers"):
        await fail(breakers, t, status(500))
        clock.advance(30)
        await breakers.call(t, Upstream(), url=URL)
    lines = [r.getMessage() for r in caplog.records if r.name == "tiergate.breakers"]
    assert lines == [
        "circuit breaker for ollama/qwen is now open (was closed)",
        "circuit breaker for ollama/qwen is now half-open (was open)",
        "circuit breaker for ollama/qwen is now closed (was half-open)",
    ]
    assert caplog.records[0].levelno == logging.WARNING


@pytest.mark.asyncio
async def test_replicas_sharing_a_storage_share_the_state(clock: Clock) -> None:
    shared: dict[str, CircuitBreakerStorage] = {}

    def storage(key: str) -> CircuitBreakerStorage:
        return shared.setdefault(key, CircuitMemoryStorage(STATE_CLOSED))

    one, two = Breakers(clock=clock, storage=storage), Breakers(clock=clock, storage=storage)
    t = target(fail_max=2)
    await fail(one, t, status(500))
    await fail(two, t, status(500))
    assert (one.state(t), two.state(t)) == ("open", "open")
    clock.advance(30)
    assert await one.call(t, Upstream(), url=URL) == "ok"
    assert two.state(t) == "closed"
    assert sorted(shared) == ["ollama/qwen"]


def test_a_target_never_called_reads_closed(breakers: Breakers) -> None:
    assert breakers.state(target()) == "closed"


@pytest.mark.asyncio
async def test_a_stream_is_settled_when_it_ends_not_at_its_first_event(breakers: Breakers) -> None:
    t = target(fail_max=2)
    cut = UpstreamProtocolError("ollama", URL, "stream ended before done")
    for _ in range(2):  # two streams that started well and then broke: two failures in a row
        async with contextlib.AsyncExitStack() as hold:
            assert await breakers.call(t, Upstream(), url=URL, hold=hold) == "ok"
            assert breakers.state(t) == "closed"
            breakers.settle(t, cut)
    assert breakers.state(t) == "open"


@pytest.mark.asyncio
async def test_a_whole_stream_closes_a_half_open_breaker_when_it_ends(breakers: Breakers, clock: Clock) -> None:
    t = target(fail_max=1, reset_timeout=30)
    await fail(breakers, t, status(503))
    clock.advance(31)
    async with contextlib.AsyncExitStack() as hold:
        assert await breakers.call(t, Upstream(), url=URL, hold=hold) == "ok"  # the trial's first event
        assert breakers.state(t) == "open", "the trial is in flight: every other call is refused"
        breakers.settle(t, None)
    assert breakers.state(t) == "closed"


@pytest.mark.asyncio
async def test_a_streaming_trial_is_in_flight_until_its_stream_ends(breakers: Breakers, clock: Clock) -> None:
    """Its first event is not its outcome: every other call is refused until the stream ends."""
    t = target(fail_max=1, reset_timeout=30)
    await fail(breakers, t, status(503))
    clock.advance(31)
    async with contextlib.AsyncExitStack() as hold:
        assert await breakers.call(t, Upstream(), url=URL, hold=hold) == "ok"
        upstream = Upstream()
        with pytest.raises(UpstreamUnavailable, match="a trial call is in flight"):
            await breakers.call(t, upstream, url=URL)
        assert upstream.calls == 0
        breakers.settle(t, UpstreamProtocolError("ollama", URL, "stream ended before done"))
    assert breakers.state(t) == "open"


@pytest.mark.asyncio
async def test_a_streaming_trial_its_client_left_frees_the_way_for_the_next(breakers: Breakers, clock: Clock) -> None:
    """No outcome (the client left), but the trial is over: the breaker stays half-open for the next one."""
    t = target(fail_max=1, reset_timeout=30)
    await fail(breakers, t, status(503))
    clock.advance(31)
    async with contextlib.AsyncExitStack() as hold:
        assert await breakers.call(t, Upstream(), url=URL, hold=hold) == "ok"
    assert breakers.state(t) == "half-open"
    assert await breakers.call(t, Upstream(), url=URL) == "ok"
    assert breakers.state(t) == "closed"


@pytest.mark.asyncio
async def test_a_trial_whose_end_never_came_is_over_after_its_total_budget(breakers: Breakers, clock: Clock) -> None:
    """A stream whose response was never sent never reports its end: it cannot outlast its timeouts.total."""
    t = target(fail_max=1, reset_timeout=30)
    await fail(breakers, t, status(503))
    clock.advance(31)
    assert await breakers.call(t, Upstream(), url=URL, hold=contextlib.AsyncExitStack()) == "ok"  # never closed
    clock.advance(t.timeouts.total - 1)
    assert breakers.state(t) == "open"
    with pytest.raises(UpstreamUnavailable, match="a trial call is in flight"):
        await breakers.call(t, Upstream(), url=URL)
    clock.advance(1)
    assert breakers.state(t) == "half-open"
    assert await breakers.call(t, Upstream(), url=URL) == "ok"
    assert breakers.state(t) == "closed"


@pytest.mark.asyncio
async def test_a_stream_that_fails_before_its_first_event_counts_at_once(breakers: Breakers) -> None:
    t = target(fail_max=1)
    refused = UpstreamUnavailable("ollama", URL, "refused", kind="connect")
    with pytest.raises(UpstreamUnavailable):
        await breakers.call(t, Upstream(refused), url=URL, hold=contextlib.AsyncExitStack())
    assert breakers.state(t) == "open"


@pytest.mark.asyncio
async def test_a_request_never_sent_is_no_outcome(breakers: Breakers) -> None:
    t = target(fail_max=2)
    unsent = UpstreamUnavailable("anthropic", URL, "needs the environment variable K, which is not set", kind="config")
    await fail(breakers, t, status(500))
    await fail(breakers, t, unsent, times=5)
    assert breakers.state(t) == "closed"  # neither counted as failures nor as the success that resets the count
    await fail(breakers, t, status(500))
    assert breakers.state(t) == "open"


@pytest.mark.asyncio
async def test_an_open_breaker_keeps_its_last_failure(breakers: Breakers, clock: Clock) -> None:
    t = target(fail_max=2, reset_timeout=30)
    await fail(breakers, t, status(500))
    assert breakers.last_failure(t) is None  # only an open breaker reports it
    await fail(breakers, t, UpstreamUnavailable("ollama", URL, "connection refused", kind="connect"))
    assert breakers.last_failure(t) == f"backend 'ollama' at {URL}: connection refused"
    clock.advance(31)
    assert breakers.state(t) == "half-open" and breakers.last_failure(t) is None
