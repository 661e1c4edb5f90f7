"""Try a decision's targets in order until one answers; record every attempt.

Each attempt goes through the same layers, outermost first (httpx-style, one job per function):

    _attempt          -> records the outcome as an Attempt
    switch.hold       -> room for the model on its server (max_loaded; tiergate.dispatch.switch)
    guard.run         -> rate limit, circuit breaker, retries (tiergate.resilience; a no-op guard by default)
    _call             -> the backend call, bounded by the target's timeouts, with at most one tool call
                         where the client asked for no parallel calls (tiergate.dispatch.one_call)

A stream counts as answered once its first token has arrived (the first event by which the answer has
begun: ``streams.answering``): until then any failure moves on to the next target, invisibly to the client.
After that the stream belongs to the client.

An attempt that failed after its upstream's 200 (a stream broken or timed out before its first token, a
whole answer cut short) may have been billed: the tokens the upstream had counted by then are its
``charged`` usage, which spend adds at that target's price. A stream that never got a 200 has none, and
neither has one whose upstream had counted nothing yet: nothing reached the client, so nothing is estimated.
A whole answer sends nothing before it has been generated, and its upstream goes on generating when
tiergate gives up on it: one given up after its request went out (its timeout, or the client leaving) is
charged the estimate of its prompt, marked ``estimated``.
Each attempt goes on the caller's ``attempts`` list as it ends, so a client that leaves during a fallback
(the call is cancelled) leaves the attempts that ended before, and their charges, with the caller.

    answer = await dispatcher.complete(routed, request)
    opened = await dispatcher.open_stream(routed, request, attempts)   # opened.first, then opened.rest
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol, TypeVar

from tiergate.backends.base import Backend, Billed, Call
from tiergate.backends.registry import missing_in
from tiergate.dispatch.one_call import first_call_only, first_call_stream, one_call
from tiergate.dispatch.streams import answering, bounded
from tiergate.dispatch.switch import NoSwitch, Switch
from tiergate.engine.decision import TargetState
from tiergate.engine.router import BREAKER_OPEN, Routed, unconfigured
from tiergate.engine.targets import Target
from tiergate.errors import (
    CONTEXT_LENGTH_EXCEEDED,
    NoTargetError,
    RateLimited,
    TiergateError,
    UpstreamError,
    UpstreamStatusError,
    UpstreamUnavailable,
)
from tiergate.telemetry.usage import Meter
from tiergate.wire import ChatRequest, Completion, Raw, StreamEvent, TextDelta, Usage

T = TypeVar("T")


#: The outcome of an attempt the client left before it answered: no failure of the target's.
DISCONNECTED = "disconnected"


@dataclass
class Attempt:
    target: Target
    outcome: str
    elapsed_ms: float
    error: str | None = None
    status: int | None = None
    exc: TiergateError | None = None
    #: What the upstream had counted when a failed attempt ended after its 200: charged to this target. A whole
    #: answer given up after its request went out (a timeout, a client that left) is charged its prompt's
    #: estimate (:meth:`~tiergate.backends.base.Billed.abandon`), as is one retried after such a try.
    charged: Usage | None = None
    #: ``charged`` is (partly) an estimate.
    estimated: bool = False

    def render(self) -> str:
        return f"{self.target.label}:{self.outcome}"


def render_attempts(attempts: list[Attempt]) -> str:
    return ", ".join(a.render() for a in attempts)


class Guard(Protocol):
    """Wraps one target's call with rate limits, a breaker and retries.

    With ``hold``, a successful run leaves what it holds (a concurrency slot) on that stack, for a
    stream whose life outlasts the call that opened it; the caller closes the stack when the stream ends.
    """

    async def run(
        self, target: Target, call: Callable[[], Awaitable[T]], *, hold: contextlib.AsyncExitStack | None = None
    ) -> T: ...

    def stream_ended(self, target: Target, error: UpstreamError | None) -> None:
        """A stream ``run`` opened (with ``hold``) has ended: whole (``error`` None) or broken."""
        ...


class PassThrough:
    async def run(
        self, target: Target, call: Callable[[], Awaitable[T]], *, hold: contextlib.AsyncExitStack | None = None
    ) -> T:
        return await call()

    def stream_ended(self, target: Target, error: UpstreamError | None) -> None:
        pass


@dataclass
class Answer:
    target: Target
    completion: Completion
    attempts: list[Attempt]
    #: What the target's backend left out of the parameters tiergate models (``Call.left_out``).
    left_out: list[str] = field(default_factory=list)


@dataclass
class OpenStream:
    target: Target
    first: StreamEvent
    rest: AsyncIterator[StreamEvent]
    attempts: list[Attempt]
    hold: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)
    #: The upstream's own frames that came before ``first`` (a native stream's ``message_start``).
    prelude: tuple[Raw, ...] = ()
    #: What the upstream had counted if its stream ends cut short (filled as the backend's call closes): the
    #: count a translated stream charges when no usage report reached its client.
    billed: Billed = field(default_factory=Billed)
    #: What the target's backend left out of the parameters tiergate models (``Call.left_out``).
    left_out: list[str] = field(default_factory=list)

    async def aclose(self) -> None:
        """End the stream and give back what it held (its target's concurrency slot); safe to call twice."""
        try:
            aclose = getattr(self.rest, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            await self.hold.aclose()


def _unchanged(text: str) -> str:
    return text


@dataclass
class _Budget:
    """One target's ``timeouts.total`` for one request: every retry, every backoff wait and the whole answer.
    It starts at the target's first attempt; a retry gets what is left, not a new budget."""

    total: float
    clock: Callable[[], float]
    ends: float | None = None

    def deadline(self) -> float:
        if self.ends is None:
            self.ends = self.clock() + self.total
        return self.ends

    def left(self) -> float:
        return max(self.deadline() - self.clock(), 0.0)


@dataclass
class Dispatcher:
    """``redact`` (the rules' tiergate.redact.Redactor) scrubs every upstream error as it leaves its
    backend, before a retry log line, a breaker, the client or the decision log can see its text."""

    backends: Mapping[str, Backend]
    guard: Guard = field(default_factory=PassThrough)
    clock: Callable[[], float] = time.monotonic
    redact: Callable[[str], str] = _unchanged
    #: Room for the target's model on its server (an Ollama backend's ``max_loaded``), held for the call.
    switch: Switch = field(default_factory=NoSwitch)

    async def complete(self, routed: Routed, request: ChatRequest, attempts: list[Attempt] | None = None) -> Answer:
        """``attempts``: where each attempt is recorded as it ends (the caller keeps it if the call is cancelled)."""
        if routed.refusal is not None:
            raise routed.refusal
        attempts = [] if attempts is None else attempts
        for target in routed.targets:
            backend = self.backends[target.backend]
            billed = Billed()
            budget = _Budget(target.timeouts.total, self.clock)
            left_out: list[str] = []

            async def call(
                target: Target = target,
                backend: Backend = backend,
                billed: Billed = billed,
                budget: _Budget = budget,
                left_out: list[str] = left_out,
            ) -> Completion:
                asked = billed.sends
                try:
                    async with asyncio.timeout(budget.left()):
                        try:
                            completion = await backend.complete(request, _call_of(target, billed, left_out))
                            return first_call_only(completion) if one_call(request) else completion
                        except UpstreamError as exc:
                            exc.scrub(self.redact)
                            raise
                        except TimeoutError:
                            raise UpstreamUnavailable(
                                backend.name,
                                backend.url,
                                target.total_timeout(),
                                kind="timeout",
                                status=504,
                            ) from None
                except (TimeoutError, asyncio.CancelledError):  # out of time (a bound outside), or the client left
                    billed.abandon(asked, partial(_prompt_estimate, request))
                    raise
                except UpstreamError as exc:
                    if exc.kind == "timeout":  # the upstream generates on: what it was asked is billed
                        billed.abandon(asked, partial(_prompt_estimate, request))
                    raise

            result = await self._attempt(target, attempts, call, billed=billed)
            if result is not None:
                return Answer(target, result, attempts, left_out)
        raise self._exhausted(routed, attempts)

    async def open_stream(
        self, routed: Routed, request: ChatRequest, attempts: list[Attempt] | None = None
    ) -> OpenStream:
        """``attempts``: as for :meth:`complete`."""
        if routed.refusal is not None:
            raise routed.refusal
        attempts = [] if attempts is None else attempts
        for target in routed.targets:
            backend = self.backends[target.backend]
            billed = Billed()
            budget = _Budget(target.timeouts.total, self.clock)
            left_out: list[str] = []

            async def first_event(
                target: Target = target,
                backend: Backend = backend,
                billed: Billed = billed,
                budget: _Budget = budget,
                left_out: list[str] = left_out,
            ) -> tuple[tuple[Raw, ...], StreamEvent, AsyncIterator[StreamEvent]]:
                """The first token (a translated event, or a native frame by which the answer has begun: a
                content block that translates to nothing, as hidden thinking), and the native frames before
                it: a stream has begun (and may no longer fall back) only when it answers."""
                events = bounded(
                    backend.stream(request, _call_of(target, billed, left_out)),
                    target,
                    backend,
                    clock=self.clock,
                    redact=self.redact,
                    deadline=budget.deadline(),
                )
                if one_call(request):  # outside the bounds: a dropped call's events still show the upstream alive
                    events = first_call_stream(events)
                prelude: list[Raw] = []
                try:
                    while not answering(event := await anext(events)):
                        assert isinstance(event, Raw)
                        prelude.append(event)
                    return tuple(prelude), event, events
                except BaseException:
                    await events.aclose()
                    raise
                # a stream that ends before any event is cut short: bounded() raises for it

            hold = contextlib.AsyncExitStack()
            result = await self._attempt(target, attempts, first_event, hold=hold, billed=billed)
            if result is not None:
                prelude, first, rest = result
                rest = _releasing(rest, hold, partial(self.guard.stream_ended, target))
                return OpenStream(target, first, rest, attempts, hold, prelude, billed, left_out)
        raise self._exhausted(routed, attempts)

    async def ask(
        self,
        target: Target,
        request: ChatRequest,
        read: Callable[[str], T],
        *,
        within: float | None = None,
        spent: list[Usage] | None = None,
    ) -> T:
        """One target, no fallback: its answer streamed, its text handed to ``read`` (which may raise an
        UpstreamError, e.g. for an answer it cannot use), all inside the target's limits, breaker and time
        bounds. The stream is read to its end and closed; a timeout closes it at once, which stops the
        upstream's work (a server keeps generating an abandoned non-stream answer, but not a closed stream).

        ``within`` (seconds) bounds the whole ask, waits for a concurrency slot included: the call gets what
        is left after the wait, and is not sent at all when a tenth of ``within`` (at most a second) or less
        is (``TimeoutError``, no breaker outcome).

        ``spent`` gets what each call that got its upstream's 200 is charged, as a served answer is
        (:class:`~tiergate.telemetry.usage.Meter`): the upstream's count, what it had counted when the call
        was cut, or the estimate; an unusable answer and a timeout after the 200 are charged too.

            answer = await dispatcher.ask(classifier_target, request, decode, within=3.0, spent=usage)
        """
        backend = self.backends[target.backend]
        deadline = None if within is None else self.clock() + within

        async def call() -> T:
            left = None if deadline is None else deadline - self.clock()
            if left is not None and within is not None and left <= min(1.0, within / 10):
                # the wait used (nearly) the whole budget: too little is left for an answer, so the server
                # is not asked at all (it would start work only to be hung up on)
                raise TimeoutError
            billed, meter, whole = Billed(), Meter(request), False
            events = bounded(
                backend.stream(request, _call_of(target, billed)), target, backend, clock=self.clock, redact=self.redact
            )
            pieces: list[str] = []
            try:
                async with asyncio.timeout(left):
                    async for event in events:
                        meter.see(event)
                        if isinstance(event, TextDelta):
                            pieces.append(event.text)
                whole = True
            except TimeoutError:  # the server was too slow for what was left: its failure, for the breaker
                named = target.timeout_named("total")
                raise UpstreamUnavailable(
                    backend.name, backend.url, f"no answer within {within:g}s ({named})", kind="timeout", status=504
                ) from None
            finally:
                await events.aclose()
                if spent is not None and (meter.seen or billed.usage is not None):  # its 200 came: billed
                    spent.append(meter.charged(whole=whole, counted=billed.usage)[0])
            return read("".join(pieces))

        async with self.switch.hold(target):
            return await self.guard.run(target, call)

    async def _attempt(
        self,
        target: Target,
        attempts: list[Attempt],
        call: Callable[[], Awaitable[T]],
        *,
        billed: Billed,
        hold: contextlib.AsyncExitStack | None = None,
    ) -> T | None:
        """``billed``: where the attempt's calls report what their upstream counted before they failed."""
        start = self.clock()
        try:
            async with contextlib.AsyncExitStack() as room:
                await room.enter_async_context(self.switch.hold(target))
                result = await self.guard.run(target, call, hold=hold)
                if hold is not None:  # a stream keeps its model's room until it ends
                    hold.push_async_exit(room.pop_all())
        except (UpstreamError, RateLimited) as exc:
            status = exc.upstream_status if isinstance(exc, UpstreamStatusError) else exc.status  # what it said
            outcome = exc.kind if isinstance(exc, UpstreamError) else "rate_limited"
            elapsed = (self.clock() - start) * 1000
            attempts.append(Attempt(target, outcome, elapsed, exc.message, status, exc, billed.usage, billed.estimated))
            if not exc.fallback_ok:  # a 400 fails everywhere; a limit in `reject` mode forbids other targets
                exc.attempts = attempts
                raise
            return None
        except StopAsyncIteration:
            elapsed = (self.clock() - start) * 1000
            attempts.append(Attempt(target, "empty_stream", elapsed, "empty stream", 502, charged=billed.usage))
            return None
        except asyncio.CancelledError:
            # the client left while the upstream, past its 200, was still before its first token (a long
            # prefill, hidden thinking): what it had counted is charged, as for any attempt cut short
            if billed.usage is not None:
                elapsed = (self.clock() - start) * 1000
                attempts.append(
                    Attempt(
                        target,
                        DISCONNECTED,
                        elapsed,
                        "client disconnected",
                        charged=billed.usage,
                        estimated=billed.estimated,
                    )
                )
            raise
        # a whole answer retried after a timeout: the try given up was billed all the same
        attempts.append(
            Attempt(target, "ok", (self.clock() - start) * 1000, charged=billed.usage, estimated=billed.estimated)
        )
        return result

    def _unconfigured(self, state: TargetState) -> bool:
        """Whether routing skipped this target because its backend cannot be called (``Backend.missing``)."""
        missing = missing_in(self.backends, state.backend)
        return missing is not None and state.skipped == unconfigured(state.backend, missing)

    def _exhausted(self, routed: Routed, attempts: list[Attempt]) -> TiergateError:
        if not attempts:
            skipped = [f"{t.tier}/{t.model}: {t.skipped}" for t in routed.decision.targets if t.skipped]
            detail = "; ".join(skipped) if skipped else "no targets configured for this tier"
            # Only missing capabilities are the request's fault; an open breaker (which passes) or a backend
            # that cannot be called (its key variable unset) is ours.
            breaker = any(t.skipped and t.skipped.startswith(BREAKER_OPEN) for t in routed.decision.targets)
            ours = breaker or any(self._unconfigured(t) for t in routed.decision.targets)
            status = 400 if skipped and not ours else 503
            return NoTargetError(
                f"no target can serve this request: {detail}", status=status, retry_after=5.0 if breaker else None
            )
        # Targets skipped for an open breaker are named with what failed there last, so an error about
        # the fallback's timeout does not hide that the first choice refuses connections; and those skipped
        # because their backend cannot be called, with what it lacks (an unset key variable).
        opened = [
            f"{t.tier}/{t.model}: {t.skipped}"
            for t in routed.decision.targets
            if t.skipped is not None and (t.skipped.startswith(BREAKER_OPEN) or self._unconfigured(t))
        ]
        if len(attempts) == 1 and attempts[0].exc is not None:
            exc = attempts[0].exc
            exc.attempts = attempts
            if isinstance(exc, UpstreamError | RateLimited) and exc.status == 429 and exc.retry_after is None:
                exc.retry_after = 1.0  # a 429 always says when to come back, as when several targets answered it
            if not opened or exc.status < 500:
                return exc
        # the status each failure would have left with on its own (an upstream's 401 refusing tiergate's key
        # is a 502 to the client, though the attempt records the 401)
        statuses = {a.exc.status if a.exc is not None else a.status for a in attempts}
        same = statuses.pop() if len(statuses) == 1 else None
        status = same if same is not None else 503
        detail = "; ".join([*opened, *(f"{a.target.label}: {a.error}" for a in attempts)])
        retry_after = None
        if status == 429:
            waits: list[float] = [w for a in attempts if (w := getattr(a.exc, "retry_after", None))]
            retry_after = min(waits) if waits else 1.0
        what = f"all {len(attempts)} targets failed" if not opened else "no target could serve this request"
        # every target tried refused tiergate's key: no retry will help (a skipped target's breaker may close)
        codes = {a.exc.code if a.exc is not None else None for a in attempts}
        code = "upstream_credentials_refused" if codes == {"upstream_credentials_refused"} and not opened else None
        if codes == {CONTEXT_LENGTH_EXCEEDED}:  # each target's own refusal of the window, not words in the message
            code, status = CONTEXT_LENGTH_EXCEEDED, 400
        error = NoTargetError(f"{what}: {detail}", status=status, retry_after=retry_after, code=code)
        if code == CONTEXT_LENGTH_EXCEEDED:  # the figures of the largest window that gave them
            said = [a.exc.overflow for a in attempts if a.exc is not None and a.exc.overflow is not None]
            error.overflow = max(said, key=lambda o: o.window, default=None)
        error.attempts = attempts
        return error


async def _releasing(
    events: AsyncIterator[StreamEvent],
    hold: contextlib.AsyncExitStack,
    ended: Callable[[UpstreamError | None], None],
) -> AsyncIterator[StreamEvent]:
    """The rest of a stream; its target's concurrency slot is given back when it ends, however it ends.

    ``ended`` reports the stream's outcome for the target's breaker: whole, or broken by the upstream
    (which the client sees as an error event, not a fallback). A client that leaves reports nothing.
    """
    try:
        async for event in events:
            yield event
    except UpstreamError as exc:
        ended(exc)
        raise
    else:
        ended(None)
    finally:
        try:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            await hold.aclose()


def _prompt_estimate(request: ChatRequest) -> Usage:
    """What a whole answer given up after it was sent is charged: the estimate of its prompt, no output (how
    much the upstream went on to write is unknown)."""
    return Usage.of(request.estimated_tokens(), 0)


def _call_of(target: Target, billed: Billed | None = None, left_out: list[str] | None = None) -> Call:
    return Call(
        model=target.model,
        connect_timeout=target.timeouts.connect,
        total_timeout=target.timeouts.total,
        idle_timeout=target.timeouts.idle,
        thinking=target.capabilities.thinking,
        pinned=target.pinned,
        context_window=target.num_ctx,
        max_output=target.capabilities.max_output,
        billed=billed,
        left_out=left_out,
    )
