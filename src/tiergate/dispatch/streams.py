"""Time bounds and completeness for an upstream event stream, the same for every backend.

``bounded`` enforces three of the four timeouts (the connect timeout belongs to the transport):
the first event must come within ``first_token``, each later one within ``idle`` of the previous,
and the whole stream within what is left of the target's ``total`` (its whole budget, counted from its
first attempt: a stream that follows retries has only what they left; the time the consumer holds an event,
a client reading slowly, is not counted, since the upstream is not what is slow then, up to ``total`` more:
a reader slower than that ends the stream with :class:`~tiergate.errors.SlowReader`, which no breaker
counts); running out raises
:class:`StreamTimeout`, which dispatch does not retry on the same target but falls back from at once.
It also refuses to let a stream end without its Finish event: a stream cut short raises, so it can
never pass for a complete answer.
Every upstream error passes through ``redact`` (the rules' Redactor) on its way out.

    events = bounded(backend.stream(request, call), target, backend, clock=time.monotonic)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable

from tiergate.backends.base import Backend
from tiergate.engine.targets import Target
from tiergate.errors import SlowReader, StreamTimeout, UpstreamError, UpstreamProtocolError
from tiergate.wire import Finish, Raw, StreamEvent


async def bounded(
    events: AsyncIterator[StreamEvent],
    target: Target,
    backend: Backend,
    *,
    clock: Callable[[], float] = time.monotonic,
    redact: Callable[[str], str] = str,
    deadline: float | None = None,
) -> AsyncGenerator[StreamEvent, None]:
    """``deadline`` (on ``clock``'s scale): where the target's whole budget ends; None: ``total`` from now."""
    t = target.timeouts
    now = clock()
    deadline = now + t.total if deadline is None else deadline
    first_by = now + t.first_token  # native frames before the answer begins (Raw.answering) do not move it
    allowance = t.total  # the most a slow reader may add to the deadline: the stream ends after 2 x total at most
    first = True
    finished = False
    try:
        while True:
            limit = first_by - clock() if first else t.idle
            remaining = deadline - clock()
            wait = min(limit, remaining)
            try:
                async with asyncio.timeout(max(wait, 0.0)):
                    event = await anext(events)
            except StopAsyncIteration:
                break
            except UpstreamError as exc:
                exc.scrub(redact)
                raise
            except TimeoutError:
                if remaining <= limit and allowance <= 0:
                    raise _slow_reader(target, backend) from None
                if remaining <= limit:
                    detail = target.total_timeout("the whole answer took longer than")
                elif first:
                    detail = f"no first token within {t.first_token:g}s ({target.timeout_named('first_token')})"
                else:
                    detail = f"no data for {t.idle:g}s mid-stream ({target.timeout_named('idle')})"
                raise StreamTimeout(backend.name, backend.url, detail, kind="timeout", status=504) from None
            first = first and not answering(event)
            if isinstance(event, Finish):
                finished = True
            held = clock()
            yield event
            credit = min(clock() - held, allowance)  # the client's reading is not the upstream's time
            allowance -= credit
            deadline += credit
            if allowance <= 0 and clock() >= deadline:  # checked here: a buffered next event never waits
                raise _slow_reader(target, backend)
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
    if not finished:
        detail = "the stream ended before the answer was complete"
        raise UpstreamProtocolError(backend.name, backend.url, detail, started=True)


def _slow_reader(target: Target, backend: Backend) -> SlowReader:
    total = target.timeouts.total
    detail = f"the client took over {total:g}s to read the answer (timeouts.total, as much again)"
    return SlowReader(backend.name, backend.url, detail, kind="timeout", status=504)


def answering(event: StreamEvent) -> bool:
    """Whether ``event`` is a first token: any translated event, or a native frame by which the answer has
    begun (a message's hello and its keep-alive pings are not; see :class:`~tiergate.wire.Raw`)."""
    return not isinstance(event, Raw) or event.answering
