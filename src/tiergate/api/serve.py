"""Serve one routed request: decide, dispatch, and answer as JSON or as an SSE stream.

The Runtime taken at the start is held until the response ends (for a stream: its last byte), so
a reload never changes the rules under a request that is already running.

    return await serve(gateway, chat_request, request.headers, shape="chat")
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from typing import Literal

import msgspec
from litestar import Response
from litestar.response import Stream

from tiergate.api.bodies import chat_completion, text_completion
from tiergate.api.gateway import Gateway
from tiergate.api.sse import ChunkWriter, TextChunkWriter
from tiergate.dispatch.dispatcher import Attempt, OpenStream, render_attempts
from tiergate.engine.decision import RoutingDecision
from tiergate.engine.targets import Target
from tiergate.errors import TiergateError
from tiergate.wire import ChatRequest

log = logging.getLogger("tiergate.requests")
_encode = msgspec.json.Encoder().encode
Shape = Literal["chat", "text"]


def routing_headers(decision: RoutingDecision, target: Target | None, attempts: list[Attempt]) -> dict[str, str]:
    headers = {
        "x-tiergate-decision-id": decision.decision_id,
        "x-tiergate-tier": target.tier if target else decision.tier,
        "x-tiergate-model": target.model if target else decision.model,
        "x-tiergate-phase": decision.phase,
    }
    if attempts:
        headers["x-tiergate-attempts"] = render_attempts(attempts)
    return headers


async def serve(
    gw: Gateway, chat: ChatRequest, headers: Mapping[str, str], *, shape: Shape
) -> Response[bytes] | Stream:
    stack = contextlib.AsyncExitStack()
    runtime = await stack.enter_async_context(gw.rules.use())
    started = time.monotonic()
    decision: RoutingDecision | None = None
    try:
        routed = await runtime.router.decide(chat, headers)
        decision = routed.decision
        id_prefix = "chatcmpl-" if shape == "chat" else "cmpl-"
        response_id = id_prefix + secrets.token_hex(12)
        created = int(time.time())
        if chat.stream:
            opened = await runtime.dispatcher.open_stream(routed, chat)
            writer_cls = ChunkWriter if shape == "chat" else TextChunkWriter
            writer = writer_cls(response_id, created, opened.target.model, include_usage=chat.wants_usage())
            out_headers = routing_headers(decision, opened.target, opened.attempts)
            out_headers["cache-control"] = "no-cache"
            body = _stream_body(writer, opened, stack, decision, started)
            stack = contextlib.AsyncExitStack()  # ownership passed to the stream body
            return Stream(body, media_type="text/event-stream", headers=out_headers)
        answer = await runtime.dispatcher.complete(routed, chat)
        build = chat_completion if shape == "chat" else text_completion
        payload = build(answer.completion, id=response_id, created=created, model=answer.target.model)
        _log(decision, answer.target, answer.attempts, 200, started)
        return Response(
            _encode(payload),
            media_type="application/json",
            headers=routing_headers(decision, answer.target, answer.attempts),
        )
    except TiergateError as exc:
        if decision is not None:
            attempts: list[Attempt] = exc.attempts
            exc.extra_headers = routing_headers(decision, None, attempts)
            _log(decision, None, attempts, exc.status, started, exc.message)
        raise
    finally:
        await stack.aclose()


async def _stream_body(
    writer: ChunkWriter, opened: OpenStream, stack: contextlib.AsyncExitStack, decision: RoutingDecision, started: float
) -> AsyncIterator[bytes]:
    status, error = 200, None
    try:
        yield writer.start() + (writer.event(opened.first) or b"")
        async for event in opened.rest:
            chunk = writer.event(event)
            if chunk:
                yield chunk
        yield writer.end()
    except TiergateError as exc:
        status, error = exc.status, exc.message
        log.warning("stream %s failed after it started: %s", decision.decision_id, exc.message)
        yield writer.error(exc)
    except Exception as exc:  # an unexpected bug must still end the stream explicitly
        status, error = 500, "internal error"
        log.exception("stream %s crashed", decision.decision_id)
        yield writer.error(TiergateError(f"internal error in tiergate: {type(exc).__name__}"))
    finally:
        await opened.aclose()
        await stack.aclose()
        _log(decision, opened.target, opened.attempts, status, started, error)


def _log(
    decision: RoutingDecision,
    target: Target | None,
    attempts: list[Attempt],
    status: int,
    started: float,
    error: str | None = None,
) -> None:
    log.info(
        "request",
        extra={
            "tiergate": {
                "decision_id": decision.decision_id,
                "tier": target.tier if target else decision.tier,
                "model": target.model if target else decision.model,
                "phase": decision.phase,
                "band": decision.band,
                "status": status,
                "attempts": render_attempts(attempts),
                "latency_ms": round((time.monotonic() - started) * 1000, 2),
                "error": error,
            }
        },
    )
