"""ResilienceGuard: limits → breaker → retries → call, the deadline, holding a slot for a stream, the factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from tests.doubles import Clock, Sleeper
from tiergate.config.loader import load_text
from tiergate.config.model import Breaker, Capabilities, Limits, Price, Retries, Timeouts
from tiergate.dispatch.dispatcher import Guard
from tiergate.engine.graph import EvaluationGraph, compile_graph
from tiergate.engine.targets import Target
from tiergate.errors import RateLimited, UpstreamStatusError, UpstreamUnavailable
from tiergate.resilience.breakers import Breakers
from tiergate.resilience.guard import ResilienceGuard, guard_factory
from tiergate.resilience.limits import Limiters

URL = "http://127.0.0.1:11434"


class Upstream:
    def __init__(self, *errors: BaseException, forever: BaseException | None = None) -> None:
        self.errors = list(errors)
        self.forever = forever
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        if self.forever is not None:
            raise self.forever
        return "ok"


def status(code: int, retry_after: float | None = None) -> UpstreamStatusError:
    return UpstreamStatusError("ollama", URL, f"HTTP {code}", status=code, retry_after=retry_after)


def target(
    *,
    attempts: int = 2,
    fail_max: int = 5,
    rpm: int | None = None,
    concurrency: int | None = None,
    total: float = 600.0,
) -> Target:
    return Target(
        tier="local",
        backend="ollama",
        model="qwen",
        capabilities=Capabilities(),
        price=Price(),
        timeouts=Timeouts(total=total),
        retries=Retries(attempts=attempts, backoff_base=1.0),
        breaker=Breaker(fail_max=fail_max),
        limits=Limits(rpm=rpm, concurrency=concurrency),
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sleeper(clock: Clock) -> Sleeper:
    return Sleeper(clock)


@pytest.fixture
def guard(clock: Clock, sleeper: Sleeper) -> ResilienceGuard:
    # One clock serves both the breaker (wall) and the deadline (monotonic): the tests only need it to move.
    return ResilienceGuard(
        Breakers(clock=clock), Limiters(), {"ollama": URL}, clock=clock, sleep=sleeper, rng=lambda: 1.0
    )


@pytest.mark.asyncio
async def test_a_transient_failure_is_retried_and_answered(guard: ResilienceGuard, sleeper: Sleeper) -> None:
    upstream = Upstream(status(503))
    assert await guard.run(target(), upstream) == "ok"
    assert upstream.calls == 2 and sleeper.waits == [1.0]


@pytest.mark.asyncio
async def test_the_breaker_counts_a_call_once_after_its_retries(guard: ResilienceGuard) -> None:
    t = target(attempts=2, fail_max=2)
    upstream = Upstream(forever=status(500))
    with pytest.raises(UpstreamStatusError):
        await guard.run(t, upstream)
    assert upstream.calls == 3
    assert guard.breakers.state(t) == "closed", "three tries, one failure"
    with pytest.raises(UpstreamStatusError):
        await guard.run(t, upstream)
    assert guard.breakers.state(t) == "open"
    with pytest.raises(UpstreamUnavailable) as raised:
        await guard.run(t, upstream)
    assert raised.value.kind == "breaker_open"
    assert upstream.calls == 6, "an open breaker is not retried"


@pytest.mark.asyncio
async def test_an_open_breaker_refuses_before_the_rate_limit(guard: ResilienceGuard) -> None:
    """A call an open breaker refuses is not made: it takes no rate limit's token (and says breaker_open,
    not 429: the target is down, not busy)."""
    t = target(attempts=0, fail_max=1, rpm=1)
    upstream = Upstream(forever=status(500))
    with pytest.raises(UpstreamStatusError):
        await guard.run(t, upstream)
    assert guard.breakers.state(t) == "open"
    with pytest.raises(UpstreamUnavailable, match="circuit breaker open"):
        await guard.run(t, upstream)
    assert upstream.calls == 1


@pytest.mark.asyncio
async def test_retries_do_not_spend_the_rate_budget(guard: ResilienceGuard) -> None:
    t = target(attempts=3, rpm=1)
    upstream = Upstream(status(503), status(503))
    assert await guard.run(t, upstream) == "ok"
    assert upstream.calls == 3
    with pytest.raises(RateLimited):
        await guard.run(t, Upstream())


@pytest.mark.asyncio
async def test_retries_stop_at_the_targets_total_timeout(guard: ResilienceGuard, sleeper: Sleeper) -> None:
    upstream = Upstream(status(429, retry_after=20.0))
    with pytest.raises(UpstreamStatusError):
        await guard.run(target(attempts=3, total=10.0), upstream)
    assert upstream.calls == 1 and sleeper.waits == []


@pytest.mark.asyncio
async def test_an_attempt_is_cut_off_where_the_deadline_ends() -> None:
    guard = ResilienceGuard(Breakers(), Limiters(), {"ollama": URL})
    hung = asyncio.Event()

    async def hang() -> str:
        await hung.wait()
        return "never"

    with pytest.raises(UpstreamUnavailable) as raised:
        async with asyncio.timeout(5):  # a regression fails here instead of hanging the suite
            await guard.run(target(total=0.02), hang)
    err = raised.value
    assert (err.kind, err.status) == ("timeout", 504)
    assert err.message == f"backend 'ollama' at {URL}: no answer within 0.02s, retries included (timeouts.total)"


@pytest.mark.asyncio
async def test_a_held_slot_stays_taken_until_the_stream_ends(guard: ResilienceGuard) -> None:
    t = target(concurrency=1)
    async with contextlib.AsyncExitStack() as stream_life:
        assert await guard.run(t, Upstream(), hold=stream_life) == "ok"
        with pytest.raises(RateLimited, match="concurrency limit"):
            await guard.run(t, Upstream())
    assert await guard.run(t, Upstream()) == "ok"


@pytest.mark.asyncio
async def test_a_failed_run_releases_its_slot_even_when_asked_to_hold(guard: ResilienceGuard) -> None:
    t = target(attempts=0, concurrency=1)
    async with contextlib.AsyncExitStack() as stream_life:
        with pytest.raises(UpstreamStatusError):
            await guard.run(t, Upstream(status(500)), hold=stream_life)
        assert await guard.run(t, Upstream()) == "ok"


@pytest.mark.asyncio
async def test_without_hold_the_slot_is_released_on_return(guard: ResilienceGuard) -> None:
    t = target(concurrency=1)
    for _ in range(3):
        assert await guard.run(t, Upstream()) == "ok"


@pytest.mark.asyncio
async def test_an_empty_stream_reaches_the_dispatcher_as_stop_async_iteration(guard: ResilienceGuard) -> None:
    t = target()
    with pytest.raises(StopAsyncIteration):
        await guard.run(t, Upstream(StopAsyncIteration()))
    assert guard.breakers.state(t) == "closed"


# --- the factory, on graphs compiled from rule files -----------------------------------------------

RULES = """
backends:
  ollama: {{kind: ollama, base_url: "http://127.0.0.1:11434/"}}
tiers:
  local:
    targets:
      - backend: ollama
        model: small
        retries: {{attempts: 0}}
        breaker: {{fail_max: {fail_max}}}
        limits: {{rpm: {rpm}}}
  sonnet:
    targets:
      - {{backend: ollama, model: big}}
"""


def graph(*, fail_max: int = 5, rpm: int = 100, port: int = 11434) -> EvaluationGraph:
    text = RULES.format(fail_max=fail_max, rpm=rpm).replace(":11434/", f":{port}/")
    return compile_graph(load_text(text, environ={}))


def small(g: EvaluationGraph) -> Target:
    return g.chains.tiers["local"][0]


@pytest.mark.asyncio
async def test_the_factory_builds_a_guard_that_names_the_backend_url(clock: Clock) -> None:
    breakers = Breakers(clock=clock)
    g = graph(fail_max=1)
    guard = guard_factory(breakers, Limiters())(g)
    with pytest.raises(UpstreamStatusError):
        await guard.run(small(g), Upstream(status(500)))
    with pytest.raises(UpstreamUnavailable) as raised:
        await guard.run(small(g), Upstream())
    assert raised.value.message == (
        "backend 'ollama' at http://127.0.0.1:11434: circuit breaker open for ollama/small (retry in 30s)"
    )


@pytest.mark.asyncio
async def test_each_load_applies_its_settings_to_the_same_breakers(clock: Clock) -> None:
    breakers = Breakers(clock=clock)
    build = guard_factory(breakers, Limiters())
    old = graph(fail_max=3)
    guard: Guard = build(old)
    for _ in range(2):
        with pytest.raises(UpstreamStatusError):
            await guard.run(small(old), Upstream(status(500)))
    new = graph(fail_max=4)
    guard = build(new)
    assert breakers.state(small(new)) == "closed"
    with pytest.raises(UpstreamStatusError):
        await guard.run(small(new), Upstream(status(500)))
    assert breakers.state(small(new)) == "closed", "3 failures of the new 4"
    with pytest.raises(UpstreamStatusError):
        await guard.run(small(new), Upstream(status(500)))
    assert breakers.state(small(new)) == "open"


@pytest.mark.asyncio
async def test_each_load_applies_its_limits_to_the_same_limiters(clock: Clock) -> None:
    build = guard_factory(Breakers(clock=clock), Limiters())
    old = graph(rpm=1)
    guard: Guard = build(old)
    await guard.run(small(old), Upstream())
    with pytest.raises(RateLimited):
        await guard.run(small(old), Upstream())
    build(graph(rpm=1))
    with pytest.raises(RateLimited):
        await guard.run(small(old), Upstream())
    new = graph(rpm=5)
    guard = build(new)
    with pytest.raises(RateLimited, match=r"limits.rpm: 5\)"):  # the new rate, on the same full bucket
        await guard.run(small(new), Upstream())


@pytest.mark.asyncio
async def test_a_load_that_moves_a_backend_closes_its_breakers(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tiergate.breakers")
    breakers = Breakers(clock=clock)
    build = guard_factory(breakers, Limiters())
    wrong = graph(fail_max=1, port=1)
    guard = build(wrong)
    with pytest.raises(UpstreamStatusError):
        await guard.run(small(wrong), Upstream(status(500)))
    assert breakers.state(small(wrong)) == "open"
    build(graph(fail_max=1, port=1))  # another load, the same server: the breaker stays open
    assert breakers.state(small(wrong)) == "open"
    fixed = graph(fail_max=1)
    guard = build(fixed)
    assert breakers.state(small(fixed)) == "closed" and breakers.last_failure(small(fixed)) is None
    assert "circuit breaker for ollama/small reset: backend 'ollama' now points at http://127.0.0.1:11434" in (
        caplog.messages
    )
    assert await guard.run(small(fixed), Upstream()) == "ok"


@pytest.mark.asyncio
async def test_a_call_refused_during_a_streamed_trial_spends_no_rate_limit_token(
    guard: ResilienceGuard, clock: Clock
) -> None:
    """The guard took an rpm token before the breaker refused the call: every request that came while a
    streamed trial ran spent one, and after the trial the target was rate limited though barely called."""
    t = target(attempts=0, fail_max=1, rpm=3)
    with pytest.raises(UpstreamStatusError):
        await guard.run(t, Upstream(status(500)))  # token 1; the breaker opens
    clock.advance(31)
    async with contextlib.AsyncExitStack() as hold:
        assert await guard.run(t, Upstream(), hold=hold) == "ok"  # token 2: the trial, a stream
        for _ in range(3):
            with pytest.raises(UpstreamUnavailable, match="a trial call is in flight") as refused:
                await guard.run(t, Upstream())
            assert refused.value.retry_after == 5.0  # refused with when to come back, for the client's 503
        guard.stream_ended(t, None)
    assert guard.breakers.state(t) == "closed"
    assert await guard.run(t, Upstream()) == "ok"  # token 3, still there


@pytest.mark.asyncio
async def test_a_half_open_trial_is_one_call_without_retries(guard: ResilienceGuard, clock: Clock) -> None:
    """The trial was retried like any call: three calls to an upstream that had just failed, and the client
    waited out the backoffs before falling back."""
    t = target(attempts=2, fail_max=1)
    first = Upstream(forever=status(500))
    with pytest.raises(UpstreamStatusError):
        await guard.run(t, first)
    assert first.calls == 3 and guard.breakers.state(t) == "open"
    clock.advance(31)

    trial = Upstream(forever=status(503))
    with pytest.raises(UpstreamStatusError):
        await guard.run(t, trial)

    assert trial.calls == 1 and guard.breakers.state(t) == "open"
    clock.advance(31)
    assert await guard.run(t, Upstream()) == "ok" and guard.breakers.state(t) == "closed"
    closed = Upstream(status(500))
    assert await guard.run(t, closed) == "ok" and closed.calls == 2  # closed again: retried as before
