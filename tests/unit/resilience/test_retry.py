"""with_retries: which errors are retried, how long it waits (fixed rng), retry-after and the deadline."""

from __future__ import annotations

import pytest

from tests.doubles import Clock, Sleeper
from tiergate.config.model import Retries
from tiergate.errors import UpstreamError, UpstreamProtocolError, UpstreamStatusError, UpstreamUnavailable
from tiergate.resilience.retry import backoff, with_retries

URL = "https://api.example.test"


class Upstream:
    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def status(code: int, retry_after: float | None = None) -> UpstreamStatusError:
    return UpstreamStatusError("anthropic", URL, f"HTTP {code}", status=code, retry_after=retry_after)


@pytest.fixture
def clock() -> Clock:
    return Clock(0.0)


@pytest.fixture
def sleeper(clock: Clock) -> Sleeper:
    return Sleeper(clock)


async def run(
    upstream: Upstream, policy: Retries, clock: Clock, sleeper: Sleeper, *, deadline: float = 600.0, rng: float = 1.0
) -> str:
    return await with_retries(upstream, policy, deadline=deadline, clock=clock, sleep=sleeper, rng=lambda: rng)


@pytest.mark.asyncio
async def test_a_transient_error_is_retried_until_it_succeeds(clock: Clock, sleeper: Sleeper) -> None:
    upstream = Upstream(status(503), status(503))
    assert await run(upstream, Retries(attempts=2), clock, sleeper) == "ok"
    assert upstream.calls == 3
    assert len(sleeper.waits) == 2


@pytest.mark.asyncio
async def test_it_gives_up_after_attempts_extra_tries_with_the_last_error(clock: Clock, sleeper: Sleeper) -> None:
    errors = [status(500), status(502), status(503), status(504)]
    upstream = Upstream(*errors)
    with pytest.raises(UpstreamStatusError) as raised:
        await run(upstream, Retries(attempts=2), clock, sleeper)
    assert upstream.calls == 3
    assert raised.value is errors[2]


@pytest.mark.asyncio
async def test_zero_attempts_means_one_try(clock: Clock, sleeper: Sleeper) -> None:
    upstream = Upstream(status(503))
    with pytest.raises(UpstreamStatusError):
        await run(upstream, Retries(attempts=0), clock, sleeper)
    assert (upstream.calls, sleeper.waits) == (1, [])


@pytest.mark.asyncio
async def test_backoff_doubles_up_to_its_cap_scaled_by_the_rng(clock: Clock, sleeper: Sleeper) -> None:
    upstream = Upstream(*[status(503)] * 5)
    policy = Retries(attempts=5, backoff_base=1.0, backoff_max=3.0)
    assert await run(upstream, policy, clock, sleeper, rng=0.5) == "ok"
    assert sleeper.waits == [0.5, 1.0, 1.5, 1.5, 1.5]


@pytest.mark.asyncio
async def test_each_wait_draws_the_rng_anew(clock: Clock, sleeper: Sleeper) -> None:
    draws = iter([0.25, 1.0, 0.0])
    upstream = Upstream(*[status(503)] * 3)
    policy = Retries(attempts=3, backoff_base=2.0, backoff_max=8.0)
    await with_retries(upstream, policy, deadline=600, clock=clock, sleep=sleeper, rng=lambda: next(draws))
    assert sleeper.waits == [0.5, 4.0, 0.0]


def test_backoff_is_full_jitter_below_the_cap() -> None:
    policy = Retries(backoff_base=0.25, backoff_max=8.0)
    assert [backoff(policy, n, lambda: 1.0) for n in range(7)] == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert backoff(policy, 3, lambda: 0.0) == 0.0


@pytest.mark.asyncio
async def test_retry_after_is_a_floor_on_the_wait(clock: Clock, sleeper: Sleeper) -> None:
    upstream = Upstream(status(429, retry_after=5.0), status(529, retry_after=0.1))
    policy = Retries(attempts=2, backoff_base=1.0, backoff_max=8.0)
    assert await run(upstream, policy, clock, sleeper, rng=1.0) == "ok"
    assert sleeper.waits == [5.0, 2.0], "429 asks for more than the backoff; 529 for less"


@pytest.mark.asyncio
async def test_a_retry_after_past_the_deadline_raises_at_once(clock: Clock, sleeper: Sleeper) -> None:
    error = status(429, retry_after=30.0)
    upstream = Upstream(error)
    with pytest.raises(UpstreamStatusError) as raised:
        await run(upstream, Retries(attempts=3), clock, sleeper, deadline=10.0)
    assert raised.value is error
    assert (upstream.calls, sleeper.waits) == (1, [])


@pytest.mark.asyncio
async def test_it_never_sleeps_past_the_deadline(clock: Clock, sleeper: Sleeper) -> None:
    upstream = Upstream(*[status(503)] * 10)
    policy = Retries(attempts=10, backoff_base=1.0, backoff_max=1.0)
    with pytest.raises(UpstreamStatusError):
        await run(upstream, policy, clock, sleeper, deadline=2.5, rng=1.0)
    assert sleeper.waits == [1.0, 1.0]
    assert upstream.calls == 3
    assert clock.now <= 2.5


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "exc",
    [
        status(408),
        status(429),
        status(500),
        status(503),
        status(529),
        UpstreamUnavailable("ollama", URL, "connection refused", kind="connect"),
        UpstreamUnavailable("ollama", URL, "no answer", kind="timeout", status=504),
    ],
)
async def test_retryable_errors(clock: Clock, sleeper: Sleeper, exc: UpstreamError) -> None:
    upstream = Upstream(exc)
    assert await run(upstream, Retries(attempts=1), clock, sleeper) == "ok"
    assert upstream.calls == 2


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "exc",
    [
        status(400),
        status(401),
        status(403),
        status(404),
        status(413),
        status(422),
        UpstreamProtocolError("ollama", URL, "bad JSON"),
        UpstreamUnavailable("anthropic", URL, "ANTHROPIC_API_KEY is not set", kind="config"),
        UpstreamUnavailable("anthropic", URL, "circuit breaker open", kind="breaker_open"),
    ],
)
async def test_errors_that_would_fail_again_are_not_retried(clock: Clock, sleeper: Sleeper, exc: UpstreamError) -> None:
    upstream = Upstream(exc)
    with pytest.raises(UpstreamError) as raised:
        await run(upstream, Retries(attempts=3), clock, sleeper)
    assert raised.value is exc
    assert (upstream.calls, sleeper.waits) == (1, [])


@pytest.mark.asyncio
async def test_foreign_exceptions_pass_through_untouched(clock: Clock, sleeper: Sleeper) -> None:
    upstream = Upstream(ValueError("a bug of ours"))
    with pytest.raises(ValueError):
        await run(upstream, Retries(attempts=3), clock, sleeper)
    assert upstream.calls == 1


@pytest.mark.asyncio
async def test_on_retry_hears_of_each_retry_before_its_wait(clock: Clock, sleeper: Sleeper) -> None:
    first, second = status(500), status(503)
    heard: list[tuple[int, float, UpstreamError, int]] = []
    await with_retries(
        Upstream(first, second),
        Retries(attempts=2, backoff_base=1.0),
        deadline=600,
        clock=clock,
        sleep=sleeper,
        rng=lambda: 1.0,
        on_retry=lambda n, wait, exc: heard.append((n, wait, exc, len(sleeper.waits))),
    )
    assert heard == [(1, 1.0, first, 0), (2, 2.0, second, 1)]


@pytest.mark.asyncio
async def test_a_later_error_does_not_chain_the_earlier_one(clock: Clock, sleeper: Sleeper) -> None:
    with pytest.raises(UpstreamStatusError) as raised:
        await run(Upstream(status(503), status(400)), Retries(attempts=2), clock, sleeper)
    assert raised.value.status == 400
    assert raised.value.__context__ is None


@pytest.mark.asyncio
async def test_a_wait_that_leaves_too_little_for_the_retry_is_not_started(clock: Clock, sleeper: Sleeper) -> None:
    """A 429 asking for 2 s with 2.1 s of budget left: the retry went out and was cut 0.1 s later, paid for,
    and the client got a 504 instead of the upstream's 429 with its retry-after."""
    error = status(429, retry_after=2.0)
    upstream = Upstream(error)
    with pytest.raises(UpstreamStatusError) as raised:
        await run(upstream, Retries(attempts=3), clock, sleeper, deadline=2.1)
    assert raised.value is error and raised.value.retry_after == 2.0
    assert (upstream.calls, sleeper.waits) == (1, [])
