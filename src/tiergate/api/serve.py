"""Serve one routed request in its dialect: decide, dispatch, and answer as JSON or as an SSE stream.

The Runtime taken at the start is held until the response ends (for a stream: its last byte), so
a reload never changes the rules under a request that is already running.

    return await serve(gateway, DIALECTS["anthropic"], chat_request, headers)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import msgspec
from litestar import Response
from litestar.response import Stream

from tiergate.api.dialects.base import Dialect, Writer
from tiergate.api.event_stream import EventStream
from tiergate.api.gateway import Gateway
from tiergate.dispatch.dispatcher import Attempt, OpenStream, render_attempts
from tiergate.engine.decision import RoutingDecision
from tiergate.engine.targets import Target
from tiergate.errors import TiergateError
from tiergate.protocols import extras
from tiergate.telemetry.record import RequestRecord
from tiergate.telemetry.usage import Meter
from tiergate.wire import ChatRequest, Raw, Usage

log = logging.getLogger("tiergate.requests")
_encode = msgspec.json.Encoder().encode


def routing_headers(
    decision: RoutingDecision,
    target: Target | None,
    attempts: list[Attempt],
    request: ChatRequest | None = None,
    left_out: Sequence[str] = (),
) -> dict[str, str]:
    """The routing headers; with the ``target`` that answered, what of the ``request`` it was not sent
    (:data:`~tiergate.protocols.extras.HEADER`, :func:`dropped_params`), when there is any."""
    headers = {
        "x-tiergate-decision-id": decision.decision_id,
        "x-tiergate-tier": target.tier if target else decision.tier,
        "x-tiergate-model": target.model if target else decision.model,
        "x-tiergate-phase": decision.phase,
        # Codex quotes x-request-id in its error lines; Anthropic's clients read request-id.
        "x-request-id": decision.decision_id,
        "request-id": decision.decision_id,
    }
    if attempts:
        headers["x-tiergate-attempts"] = render_attempts(attempts)
    if dropped := dropped_params(request, target, left_out):
        headers[extras.HEADER] = ", ".join(dropped)
    return headers


def dropped_params(request: ChatRequest | None, target: Target | None, left_out: Sequence[str] = ()) -> list[str]:
    """What of the client's body ``target``, which answered, was not sent, as the header and the log line list it
    (:func:`~tiergate.protocols.extras.shown`): nothing when its backend took the client's own body (a Messages
    body on Claude); else what the ingress leaves out for every target (``native.unsent``: a Responses body's
    hosted tools), what the backend's body left out of the parameters tiergate models (``left_out``: Claude's
    ``top_p`` beside ``temperature``), and the parameters tiergate does not model that the target was not sent
    (:func:`~tiergate.protocols.extras.dropped`)."""
    if target is None or request is None:
        return []
    native = request.native
    if native is not None and target.native == native.dialect:
        return []
    unsent = native.unsent if native is not None else ()
    not_modelled = extras.dropped(request.extra, target.unmodelled, target.pass_params)
    return extras.shown([*unsent, *left_out, *_unsent_strict(request, target), *not_modelled])


def _unsent_strict(request: ChatRequest, target: Target) -> list[str]:
    """``tools[].strict`` when a tool asks for arguments that match its schema exactly and the target's backend
    kind is sent tools without it (Claude translated, Ollama: not ``keeps_strict``): the call's arguments are the
    model's best, unchecked."""
    strict = any(tool.function.strict for tool in request.tools or ())
    return ["tools[].strict"] if strict and not target.keeps_strict else []


async def until_disconnected(
    receive: Callable[[], Awaitable[Mapping[str, Any]]], work: Awaitable[Response[bytes] | Stream]
) -> Response[bytes] | Stream:
    """Run ``work`` but cancel it (and so its upstream call) if the client leaves before the answer.

    Litestar watches for a disconnect only while a stream is being sent; until the response starts
    (routing, a slow first token, a whole answer) this is what notices. The request body has already
    been read, so the next ASGI message can only be ``http.disconnect``. ``work`` runs in the calling
    task; one watcher task cancels that task when the client goes (a task per request, not two).
    """
    handler = asyncio.current_task()
    assert handler is not None
    gone = False

    async def watch() -> None:
        nonlocal gone
        await _disconnected(receive)
        gone = True
        handler.cancel()

    watcher = asyncio.ensure_future(watch())
    try:
        return await work
    except asyncio.CancelledError:
        if not gone:
            raise
        handler.uncancel()
        return Response(b"", status_code=499)
    finally:
        watcher.cancel()


async def _disconnected(receive: Callable[[], Awaitable[Mapping[str, Any]]]) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def serve(
    gw: Gateway, dialect: Dialect, chat: ChatRequest, headers: Mapping[str, str], *, client: str = "anonymous"
) -> Response[bytes] | Stream:
    stack = contextlib.AsyncExitStack()
    runtime = await stack.enter_async_context(gw.rules.use())
    started = time.monotonic()
    decision: RoutingDecision | None = None
    ask: str | None = None
    side: list[tuple[Target, Usage]] = []  # what routing spent (the classifier's call): charged however it ends
    endpoint = dialect.endpoint
    tried: list[Attempt] = []  # the dispatcher's attempts as they end: still here if the client leaves
    try:
        routed = await runtime.router.decide(chat, headers, client=client)
        decision, side = routed.decision, routed.spent
        keep = runtime.graph.config.server.decision_log
        ask = stored_ask(routed.ask, keep.ask_chars) if keep.store_ask else None
        response_id = dialect.id_prefix + secrets.token_hex(12)
        created = int(time.time())
        if chat.stream:
            opened = await runtime.dispatcher.open_stream(routed, chat, tried)
            frames = (*opened.prelude, opened.first)
            native = any(isinstance(frame, Raw) and frame.dialect == dialect.name for frame in frames)
            model = opened.target.model
            writer = dialect.writer(id=response_id, created=created, model=model, request=chat, native=native)
            out_headers = routing_headers(decision, opened.target, opened.attempts, chat, opened.left_out)
            out_headers["cache-control"] = "no-cache"
            record = RequestRecord(
                decision,
                opened.target,
                opened.attempts,
                200,
                0.0,
                client,
                True,
                endpoint,
                ask=ask,
                request=chat,
                headers=headers,
                side=side,
                left_out=opened.left_out,
            )
            body = _stream_body(gw, writer, opened, stack, record, started, Meter(chat))
            stack = contextlib.AsyncExitStack()  # ownership passed to the stream body
            return EventStream(body, headers=out_headers)
        answer = await runtime.dispatcher.complete(routed, chat, tried)
        completion = answer.completion
        payload = dialect.whole(completion, id=response_id, created=created, model=answer.target.model, request=chat)
        usage = answer.completion.usage
        meter = Meter(chat)
        meter.see_whole(completion)
        charged, estimated = meter.charged(whole=True)
        record = RequestRecord(
            decision,
            answer.target,
            answer.attempts,
            200,
            _ms(started),
            client,
            False,
            endpoint,
            usage=usage,
            ask=ask,
            request=chat,
            headers=headers,
            charged=charged,
            estimated=estimated,
            side=side,
            left_out=answer.left_out,
        )
        # Logged and observed once this task has handed the response to the server (the next turn of
        # the loop): the log line, metrics and decision-log row are not the client's wait.
        asyncio.get_running_loop().call_soon(_finish, gw, record)
        return Response(
            _encode(payload),
            media_type="application/json",
            headers=routing_headers(decision, answer.target, answer.attempts, chat, answer.left_out),
        )
    except asyncio.CancelledError:
        if decision is not None:
            _finish(
                gw,
                RequestRecord(
                    decision,
                    None,
                    tried,  # a fallback under way: what the attempts before it were charged still counts
                    499,
                    _ms(started),
                    client,
                    bool(chat.stream),
                    endpoint,
                    error="client disconnected",
                    disconnected=True,
                    ask=ask,
                    request=chat,
                    headers=headers,
                    side=side,
                ),
            )
        raise
    except TiergateError as exc:
        if decision is not None:
            attempts: list[Attempt] = exc.attempts
            exc.extra_headers = routing_headers(decision, None, attempts)
            _finish(
                gw,
                RequestRecord(
                    decision,
                    None,
                    attempts,
                    exc.status,
                    _ms(started),
                    client,
                    bool(chat.stream),
                    endpoint,
                    error=exc.message,
                    error_kind=_kind(exc),
                    ask=ask,
                    request=chat,
                    headers=headers,
                    side=side,
                ),
            )
        raise
    finally:
        await stack.aclose()


async def _stream_body(
    gw: Gateway,
    writer: Writer,
    opened: OpenStream,
    stack: contextlib.AsyncExitStack,
    record: RequestRecord,
    started: float,
    meter: Meter,
) -> AsyncGenerator[bytes, None]:
    whole = False
    try:
        record.ttft_ms = _ms(started)
        opening = [writer.event(frame) for frame in opened.prelude]
        meter.see(opened.first)
        yield writer.start() + b"".join(chunk for chunk in opening if chunk) + (writer.event(opened.first) or b"")
        async for event in opened.rest:
            meter.see(event)
            chunk = writer.event(event)
            if chunk:
                yield chunk
        whole = True
        yield writer.end()
    except TiergateError as exc:
        record.status, record.error, record.error_kind = exc.status, exc.message, _kind(exc)
        log.warning("stream %s failed after it started: %s", record.decision.decision_id, exc.message)
        yield writer.error(exc)
    except (asyncio.CancelledError, GeneratorExit):
        record.status, record.disconnected, record.error = 499, True, "client disconnected"
        raise
    except Exception as exc:  # an unexpected bug must still end the stream explicitly
        record.status, record.error, record.error_kind = 500, "internal error", "internal"
        log.exception("stream %s crashed", record.decision.decision_id)
        yield writer.error(TiergateError(f"internal error in tiergate: {type(exc).__name__}"))
    finally:
        try:
            await opened.aclose()
            await stack.aclose()
        finally:
            # a translated stream cut short has no report of its own: the upstream's count from its start
            # (Anthropic's message_start, cache reads apart) is charged and logged, as a native stream's is
            counted = opened.billed.usage
            record.usage = writer.usage or counted
            record.charged, record.estimated = meter.charged(writer.usage, whole=whole, counted=counted)
            record.latency_ms = _ms(started)
            _finish(gw, record)


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 3)


def _kind(exc: TiergateError) -> str:
    return str(getattr(exc, "kind", type(exc).__name__))


def _finish(gw: Gateway, record: RequestRecord) -> None:
    """One JSON log line per request, keyed by decision id; then every observer."""
    if log.isEnabledFor(logging.INFO):
        _log_request(record)
    gw.observe(record)


def _log_request(record: RequestRecord) -> None:
    decision, target = record.decision, record.target
    log.info(
        "request",
        extra={
            "tiergate": {
                "decision_id": decision.decision_id,
                "client": record.client,
                "endpoint": record.endpoint,
                "tier": target.tier if target else decision.tier,
                "model": target.model if target else decision.model,
                "phase": decision.phase,
                "band": decision.band,
                "stream": record.stream,
                "status": record.status,
                "attempts": render_attempts(record.attempts),
                "latency_ms": record.latency_ms,
                "ttft_ms": record.ttft_ms,
                "prompt_tokens": record.usage.prompt_tokens if record.usage else None,
                "completion_tokens": record.usage.completion_tokens if record.usage else None,
                "usage_estimated": record.estimated,
                "dropped_params": _dropped(record),
                "error": record.error,
            }
        },
    )


def _dropped(record: RequestRecord) -> list[str] | None:
    """What of the client's body the target that answered was not sent, as its ``x-tiergate-dropped-params``
    header said; None when it was sent it all (or none answered)."""
    return dropped_params(record.request, record.target, record.left_out) or None


def stored_ask(ask: str, chars: int) -> str:
    """The ask as the decision log keeps it: whole up to ``chars``, else its head and its tail (about half
    each, joined by a line break), ``chars`` in all. The static and transformer encoders read a long
    text's head and tail, so for them `tiergate train --log` embeds what routing embedded (the head alone
    lost the question, which usually comes last); the prose member reads the words of what was kept, so a
    question between two long pastes is lost to it."""
    if len(ask) <= chars:
        return ask
    head = (chars - 1) // 2
    return ask[:head] + "\n" + ask[len(ask) - (chars - 1 - head) :]
