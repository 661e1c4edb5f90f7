"""A fake Anthropic Messages API: ``POST /v1/messages`` answering from a :class:`ReplyQueue`.

It checks the two headers Anthropic insists on, records every request, and answers whole or as the
documented event stream (message_start, content_block_start, ping, content_block_delta...,
content_block_stop, message_delta, message_stop). Each stream event is its own body chunk, so a
``Hang`` between events really leaves the client waiting.

    fake = FakeAnthropic()
    fake.replies.append(ToolCalls([("get_weather", {"city": "Paris"})]))
    with serve(fake.app) as base_url:
        ...
    assert fake.requests[0].body["max_tokens"] == 32000

Replies that only make sense as a stream have a whole-answer reading too: ``Truncated`` cuts the JSON
body in half and ``StreamError`` becomes a 529 ``overloaded_error``.

It refuses what the real API refuses (:mod:`tests.fakes.anthropic_checks`: an unknown field, thinking with
a forced tool...) with the API's 400, and otherwise answers the way the request asked: with ``thinking``
on, a thinking block (signed) comes first; a :class:`~tests.fakes.scripts.Json` reply is the forced tool's
call, or the JSON as text; ``context_management`` is answered with ``context_management.applied_edits``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from litestar import Litestar, Request, Response, post
from litestar.response import Stream

from tests.fakes.anthropic_checks import SIGNATURE, refusal, thinking_on, unthinking_loop
from tests.fakes.scripts import (
    PARTIAL,
    Cut,
    ErrorBody,
    Hang,
    Incomplete,
    Malformed,
    Recorded,
    Reply,
    ReplyQueue,
    Status,
    StreamError,
    Text,
    ToolCalls,
    Truncated,
    Unended,
    resolved,
)
from tests.fakes.server import cut_after

Event = tuple[str, dict[str, Any]]
Plan = list[bytes | float]
"""A stream body: chunks to send, and pauses (seconds) between them."""

_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "content_filter": "refusal"}
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_MALFORMED_EVENT = b"event: content_block_delta\ndata: {not json\n\n"
THINKING = "Let me think about that."


@dataclass(frozen=True)
class Shape:
    """What the request asked for that changes the answer's shape."""

    model: str
    thinking: bool = False
    #: ``thinking.display: omitted``: the thinking block is empty but signed
    thinking_shown: bool = True
    forced_tool: str | None = None
    context_management: bool = False

    @classmethod
    def of(cls, body: dict[str, Any]) -> Shape:
        choice = body.get("tool_choice") or {}
        return cls(
            model=str(body.get("model", "")),
            thinking=thinking_on(body),
            thinking_shown=(body.get("thinking") or {}).get("display") != "omitted",
            forced_tool=choice.get("name") if choice.get("type") == "tool" else None,
            context_management=body.get("context_management") is not None,
        )


class FakeAnthropic:
    """``loop_thinking``: also refuse (400) a tool loop's step without its signed thinking
    (:func:`~tests.fakes.anthropic_checks.unthinking_loop`), which the real API allows with thinking off."""

    def __init__(self, *, loop_thinking: bool = False) -> None:
        self.loop_thinking = loop_thinking
        self.queue = ReplyQueue()
        self.app = Litestar(route_handlers=[self._handler()], openapi_config=None, logging_config=None)

    @property
    def replies(self) -> deque[Reply]:
        return self.queue.replies

    @property
    def requests(self) -> list[Recorded]:
        return self.queue.requests

    def _handler(self) -> Any:
        @post("/v1/messages")
        async def messages(request: Request[Any, Any, Any]) -> Response[Any]:
            headers = {k.lower(): v for k, v in request.headers.items()}
            body = json.loads(await request.body())
            self.queue.record(request.url.path, headers, body, request.url.query)
            if not headers.get("x-api-key"):
                return _error(401, "x-api-key header is required")
            if not headers.get("anthropic-version"):
                return _error(400, "anthropic-version: header is required")
            if (problem := refusal(body, headers)) is not None:
                return _error(400, problem)
            if self.loop_thinking and (problem := unthinking_loop(body)) is not None:
                return _error(400, problem)
            shape = Shape.of(body)
            return await _answer(
                resolved(self.queue.next(), shape.forced_tool), shape, stream=body.get("stream") is True
            )

        return messages


async def _answer(reply: Reply, shape: Shape, *, stream: bool) -> Response[Any]:
    if isinstance(reply, Status):
        return reply.page() if reply.html else _error(reply.status, reply.message, reply.headers)
    if isinstance(reply, Hang) and (reply.after_events is None or not stream):
        await asyncio.sleep(reply.seconds)
        reply = Text()
    return _stream(reply, shape) if stream else _whole(reply, shape)


# --- whole answers ------------------------------------------------------------------------------


def _whole(reply: Reply, shape: Shape) -> Response[Any] | Stream:
    model = shape.model
    if isinstance(reply, Malformed):
        return _json_bytes(b'{"not json')
    if isinstance(reply, Incomplete):
        return _json_bytes(json.dumps({**_message(Text(PARTIAL), model), "stop_reason": None}).encode())
    if isinstance(reply, ErrorBody):
        return _json_bytes(json.dumps(_error_body(529, reply.message)).encode())
    if isinstance(reply, Cut):
        whole = json.dumps(_message(Text(), model)).encode()
        headers = {"content-length": str(len(whole))}
        return Stream(cut_after([whole[: len(whole) // 2]]), media_type="application/json", headers=headers)
    if isinstance(reply, StreamError):
        return _error(529, reply.message)
    if isinstance(reply, Truncated):
        whole = json.dumps(_message(Text(), model)).encode()
        return _json_bytes(whole[: len(whole) // 2])
    answer = reply if isinstance(reply, Text | ToolCalls) else Text()
    return _json_bytes(json.dumps(_message(answer, model, shape)).encode())


def _message(reply: Text | ToolCalls, model: str, shape: Shape | None = None) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if shape is not None and shape.thinking:
        content.append(
            {"type": "thinking", "thinking": THINKING if shape.thinking_shown else "", "signature": SIGNATURE}
        )
    if isinstance(reply, Text):
        if reply.web_search is not None:
            content += [_server_tool_use(reply.web_search, {"query": reply.web_search}), SEARCH_RESULT]
        content.append({"type": "text", "text": reply.text})
    else:
        if reply.text:
            content.append({"type": "text", "text": reply.text})
        content.extend({"type": "tool_use", "id": _id("toolu"), "name": n, "input": a} for n, a in reply.calls)
    message = {
        **_message_shell(model, _stop_reason(reply)),
        "content": content,
        "usage": {"input_tokens": reply.prompt_tokens, **_cache_usage(reply), "output_tokens": reply.completion_tokens},
    }
    if shape is not None and shape.context_management:
        message["context_management"] = {"applied_edits": []}
    return message


def _cache_usage(reply: Text | ToolCalls) -> dict[str, int]:
    """The prompt-cache counts a :class:`Text` reply asks for (none by default, as before)."""
    usage = {}
    if isinstance(reply, Text) and reply.cache_read_tokens:
        usage["cache_read_input_tokens"] = reply.cache_read_tokens
    if isinstance(reply, Text) and reply.cache_write_tokens:
        usage["cache_creation_input_tokens"] = reply.cache_write_tokens
    return usage


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response[Any]:
    body = _error_body(status, message)
    return Response(json.dumps(body).encode(), status_code=status, headers=headers, media_type="application/json")


def _error_body(status: int, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": _ERROR_TYPES.get(status, "api_error"), "message": message}}


def _json_bytes(content: bytes) -> Response[Any]:
    return Response(content, status_code=200, media_type="application/json")


# --- streams ------------------------------------------------------------------------------------


def _stream(reply: Reply, shape: Shape) -> Response[Any]:
    model = shape.model
    if isinstance(reply, Cut):
        chunks = [_sse(e) for e in _events(Text(), model)][: reply.after_events]
        return Stream(cut_after(chunks), media_type="text/event-stream", headers={"cache-control": "no-cache"})
    if isinstance(reply, Unended) and reply.ending == "cut":
        chunks = _unended(reply, shape)
        return Stream(cut_after(chunks), media_type="text/event-stream", headers={"cache-control": "no-cache"})
    return Stream(
        _play(_plan(reply, shape)),
        status_code=200,
        media_type="text/event-stream",
        headers={"cache-control": "no-cache"},
    )


def _plan(reply: Reply, shape: Shape) -> Plan:
    model = shape.model
    if isinstance(reply, Text | ToolCalls):
        return [_sse(e) for e in _events(reply, model, shape)]
    chunks: Plan = [_sse(e) for e in _events(Text(), model)]
    if isinstance(reply, Malformed):
        return [chunks[0], _MALFORMED_EVENT]
    if isinstance(reply, Truncated):
        return chunks[: reply.after_events]
    if isinstance(reply, Incomplete):
        # no message_delta (stop_reason), and no message_stop unless the reply keeps the end marker
        body = chunks[:1] if reply.empty else chunks[:-2]  # message_start alone, or every piece
        return [*body, chunks[-1]] if reply.end_marker else body
    if isinstance(reply, Unended):  # closed, or left open until the client hangs up (Stream's disconnect)
        overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
        bare = b"data: " + json.dumps(overloaded).encode() + b"\n\n"
        after = {
            "stall": [STALL],
            "error": [_sse(("error", overloaded))],
            "bare error": [bare],
            "half stop": [_sse(("message_stop", {"type": "message_stop"}))[:-10]],
            "garbled stop": [b"event: message_stop\ndata: {message_stop\n\n"],
        }.get(reply.ending, [])
        return [*_unended(reply, shape), *after]
    if isinstance(reply, ErrorBody):
        reply = StreamError(after_events=0, message=reply.message)
    if isinstance(reply, StreamError):
        error = {"type": "error", "error": {"type": "overloaded_error", "message": reply.message}}
        return [*chunks[: reply.after_events], _sse(("error", error))]
    assert isinstance(reply, Hang) and reply.after_events is not None
    if reply.then is not None:
        chunks = [_sse(e) for e in _events(reply.then, model, shape)]
    return [*chunks[: reply.after_events], reply.seconds, *chunks[reply.after_events :]]


#: Longer than any test waits: a stall lasts until the client hangs up.
STALL = 60.0


def _unended(reply: Unended, shape: Shape) -> list[bytes]:
    """The stream without its message_stop (and without its message_delta too, ``before_stop``)."""
    chunks = [_sse(e) for e in _events(reply.answer, shape.model, shape)]
    return chunks[: -2 if reply.before_stop else -1]


async def _play(plan: Plan) -> AsyncIterator[bytes]:
    for item in plan:
        if isinstance(item, float | int):
            await asyncio.sleep(item)
        else:
            yield item


def _events(reply: Text | ToolCalls, model: str, shape: Shape | None = None) -> list[Event]:
    """The documented order; ``ping`` follows the first content_block_start, as Anthropic sends it."""
    shell = {
        **_message_shell(model, None),
        "content": [],
        "usage": {"input_tokens": reply.prompt_tokens, **_cache_usage(reply), "output_tokens": 1},
    }
    blocks: list[Event] = []
    index = 0
    if shape is not None and shape.thinking:
        blocks += _thinking_block(index, THINKING if shape.thinking_shown else "")
        index += 1
    if isinstance(reply, Text):
        if reply.web_search is not None:
            blocks += _search_blocks(index, reply.web_search)
            index += 2
        blocks += _text_block(index, _split(reply.text, reply.chunks))
    else:
        if reply.text:
            blocks += _text_block(index, _split(reply.text, 2))
            index += 1
        for offset, (name, arguments) in enumerate(reply.calls):
            blocks += _tool_block(index + offset, name, arguments)
    final = {"stop_reason": _stop_reason(reply), "stop_sequence": None}
    delta: dict[str, Any] = {
        "type": "message_delta",
        "delta": final,
        "usage": {"output_tokens": reply.completion_tokens},
    }
    if shape is not None and shape.context_management:
        delta["context_management"] = {"applied_edits": []}
    return [
        ("message_start", {"type": "message_start", "message": shell}),
        blocks[0],
        ("ping", {"type": "ping"}),
        *blocks[1:],
        ("message_delta", delta),
        ("message_stop", {"type": "message_stop"}),
    ]


def _text_block(index: int, pieces: list[str]) -> list[Event]:
    return [
        (
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
        ),
        *(_delta(index, {"type": "text_delta", "text": piece}) for piece in pieces),
        ("content_block_stop", {"type": "content_block_stop", "index": index}),
    ]


def _thinking_block(index: int, thinking: str) -> list[Event]:
    """Thinking, then its signature (one ``signature_delta`` right before the block stops)."""
    start = {
        "type": "content_block_start",
        "index": index,
        "content_block": {"type": "thinking", "thinking": "", "signature": ""},
    }
    pieces = [_delta(index, {"type": "thinking_delta", "thinking": p}) for p in _split(thinking, 2)] if thinking else []
    return [
        ("content_block_start", start),
        *pieces,
        _delta(index, {"type": "signature_delta", "signature": SIGNATURE}),
        ("content_block_stop", {"type": "content_block_stop", "index": index}),
    ]


def _tool_block(index: int, name: str, arguments: dict[str, Any]) -> list[Event]:
    """Arguments arrive as an empty fragment (as Anthropic often sends first) and then 2+ real ones; a call
    without arguments gets only the empty fragment (Anthropic sends no ``{}`` for it)."""
    block = {"type": "tool_use", "id": _id("toolu"), "name": name, "input": {}}
    pieces = ["", *_split(json.dumps(arguments), 2)] if arguments else [""]
    return [
        ("content_block_start", {"type": "content_block_start", "index": index, "content_block": block}),
        *(_delta(index, {"type": "input_json_delta", "partial_json": piece}) for piece in pieces),
        ("content_block_stop", {"type": "content_block_stop", "index": index}),
    ]


SEARCH_RESULT = {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_fake", "content": []}


def _server_tool_use(query: str, tool_input: dict[str, Any]) -> dict[str, Any]:
    return {"type": "server_tool_use", "id": "srvtoolu_fake", "name": "web_search", "input": tool_input}


def _search_blocks(index: int, query: str) -> list[Event]:
    """A web search the server runs itself: its input streams like a tool call's, then its result block."""
    start = {"type": "content_block_start", "index": index, "content_block": _server_tool_use(query, {})}
    result = {"type": "content_block_start", "index": index + 1, "content_block": SEARCH_RESULT}
    return [
        ("content_block_start", start),
        _delta(index, {"type": "input_json_delta", "partial_json": json.dumps({"query": query})}),
        ("content_block_stop", {"type": "content_block_stop", "index": index}),
        ("content_block_start", result),
        ("content_block_stop", {"type": "content_block_stop", "index": index + 1}),
    ]


def _delta(index: int, delta: dict[str, Any]) -> Event:
    return "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}


def _sse(event: Event) -> bytes:
    name, data = event
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


# --- shared -------------------------------------------------------------------------------------


def _message_shell(model: str, stop_reason: str | None) -> dict[str, Any]:
    return {
        "id": _id("msg"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "stop_reason": stop_reason,
        "stop_sequence": None,
    }


def _stop_reason(reply: Text | ToolCalls) -> str:
    """tiergate's vocabulary is mapped; any other value is taken as an Anthropic stop_reason as is."""
    if isinstance(reply, ToolCalls):
        return "tool_use"
    return _STOP_REASONS.get(reply.stop, reply.stop)


def _split(text: str, pieces: int) -> list[str]:
    """``text`` in ``pieces`` near-equal parts (fewer when it is too short to split that far)."""
    size, extra = divmod(len(text), max(1, pieces))
    parts, start = [], 0
    for i in range(max(1, pieces)):
        end = start + size + (1 if i < extra else 0)
        parts.append(text[start:end])
        start = end
    return [p for p in parts if p] or [text]


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"
