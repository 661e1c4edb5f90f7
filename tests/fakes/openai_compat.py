"""A fake OpenAI-compatible upstream (the shape llama.cpp server, LM Studio and vLLM share).

It answers from a :class:`~tests.fakes.scripts.ReplyQueue` in the exact byte format of OpenAI's API,
so the backend is tested against the wire, not against a mock of it:

    fake = FakeOpenAI()
    with serve(fake.app) as base_url:
        fake.replies.append(ToolCalls([("get_weather", {"city": "Paris"})]))
        ...  # point an OpenAIBackend at base_url + "/v1"
        assert fake.requests[0].body["model"] == "some-model"
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar, Request, get, post
from litestar.response import Response, Stream

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
)
from tests.fakes.server import cut_after

MODEL_ID = "fake-model"
SSE_HEADERS = {"cache-control": "no-cache"}


class FakeOpenAI:
    def __init__(self) -> None:
        self.queue = ReplyQueue()
        self._ids = itertools.count(1)
        self.app = Litestar(route_handlers=[self._models_handler(), self._chat_handler()])

    @property
    def replies(self) -> deque[Reply]:
        return self.queue.replies

    @property
    def requests(self) -> list[Recorded]:
        return self.queue.requests

    def _models_handler(self) -> Any:
        @get("/v1/models", sync_to_thread=False)
        def models() -> dict[str, Any]:
            return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "fake"}]}

        return models

    def _chat_handler(self) -> Any:
        @post("/v1/chat/completions")
        async def chat(request: Request[Any, Any, Any]) -> Response[Any]:
            body = await request.json()
            self.queue.record(request.url.path, {k.lower(): v for k, v in request.headers.items()}, body)
            return await self._answer(self.queue.next(), body)

        return chat

    async def _answer(self, reply: Reply, body: dict[str, Any]) -> Response[Any]:
        """Errors and hangs happen before the status line; everything else is a 200."""
        if isinstance(reply, Status):
            return _error_response(reply)
        if isinstance(reply, Hang) and (reply.after_events is None or not body.get("stream")):
            await asyncio.sleep(reply.seconds)
        frame = _Frame(f"chatcmpl-fake{next(self._ids)}", int(time.time()), str(body.get("model", "")))
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            chunks = frame.chunks(reply, include_usage)
            if isinstance(reply, Cut):
                sent = [f"data: {c}\n\n".encode() for c in chunks[: reply.after_events]]
                return Stream(cut_after(sent), media_type="text/event-stream", headers=SSE_HEADERS)
            return Stream(_sse(chunks, reply), media_type="text/event-stream", headers=SSE_HEADERS)
        if isinstance(reply, Malformed):
            return Response(b'{"not json', media_type="application/json")
        if isinstance(reply, StreamError):  # read whole, the failure is an error status
            return _error_response(Status(500, reply.message))
        if isinstance(reply, ErrorBody):
            body = {"error": {"message": reply.message, "type": "server_error", "param": None, "code": None}}
            return Response(body, status_code=200, media_type="application/json")
        whole = frame.completion(Text(PARTIAL) if isinstance(reply, Incomplete) else reply)
        if isinstance(reply, Incomplete):
            whole["choices"][0]["finish_reason"] = None
        if isinstance(reply, Truncated):  # a whole body that is half a JSON document
            data = json.dumps(whole).encode()
            return Response(data[: len(data) // 2], media_type="application/json")
        if isinstance(reply, Cut):
            data = json.dumps(whole).encode()
            headers = {"content-length": str(len(data))}
            return Stream(cut_after([data[: len(data) // 2]]), media_type="application/json", headers=headers)
        return Response(whole, media_type="application/json")


def _error_response(reply: Status) -> Response[Any]:
    kind = "server_error" if reply.status >= 500 else "invalid_request_error"
    body = {"error": {"message": reply.message, "type": kind, "param": None, "code": None}}
    return Response(body, status_code=reply.status, headers=reply.headers, media_type="application/json")


async def _sse(chunks: list[str], reply: Reply) -> AsyncIterator[str]:
    """Flushes event by event, so the backend sees a real stream; then acts out the reply's failure."""
    if isinstance(reply, ErrorBody):
        yield "data: " + json.dumps({"error": {"message": reply.message, "type": "server_error"}}) + "\n\n"
        return
    if isinstance(reply, Incomplete):
        chunks = [c for c in chunks if '"finish_reason": null' in c]  # the finish chunk and usage are left out
        for data in chunks:
            yield f"data: {data}\n\n"
        return
    for count, data in enumerate(chunks):
        if _stops_after(reply) == count:
            break
        if isinstance(reply, Hang) and reply.after_events == count:
            await asyncio.sleep(reply.seconds)
        if isinstance(reply, Malformed) and count == 1:
            yield "data: {not json\n\n"
            return
        yield f"data: {data}\n\n"
    if isinstance(reply, StreamError):
        yield "data: " + json.dumps({"error": {"message": reply.message, "type": "server_error"}}) + "\n\n"
    elif not isinstance(reply, Truncated):
        yield "data: [DONE]\n\n"


def _stops_after(reply: Reply) -> int | None:
    return reply.after_events if isinstance(reply, Truncated | StreamError) else None


class _Frame:
    """The id, created and model every object of one answer shares."""

    def __init__(self, completion_id: str, created: int, model: str) -> None:
        self.id, self.created, self.model = completion_id, created, model

    def completion(self, reply: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": None}
        if isinstance(reply, ToolCalls):
            message["content"] = reply.text
            message["tool_calls"] = [_whole_call(i, name, args) for i, (name, args) in enumerate(reply.calls)]
            finish = "tool_calls"
        else:
            text = reply if isinstance(reply, Text) else Text()
            message["content"] = text.text
            finish = text.stop
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
            "usage": _usage(reply),
        }

    def chunks(self, reply: Reply, include_usage: bool) -> list[str]:
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        if isinstance(reply, ToolCalls):
            deltas += [{"content": piece} for piece in _pieces(reply.text or "", 2)]
            for i, (name, args) in enumerate(reply.calls):
                deltas += _call_deltas(i, name, args)
            finish = "tool_calls"
        else:
            text = reply if isinstance(reply, Text) else Text()
            deltas += [{"content": piece} for piece in _pieces(text.text, text.chunks)]
            finish = text.stop
        chunks = [self._chunk([{"index": 0, "delta": d, "logprobs": None, "finish_reason": None}]) for d in deltas]
        chunks.append(self._chunk([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": finish}]))
        if include_usage:
            chunks.append(self._chunk([], usage=_usage(reply)))
        return chunks

    def _chunk(self, choices: list[dict[str, Any]], **extra: Any) -> str:
        return json.dumps(
            {
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": choices,
                **extra,
            }
        )


def _whole_call(index: int, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"call_fake{index}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


def _call_deltas(index: int, name: str, args: dict[str, Any]) -> list[dict[str, Any]]:
    """OpenAI's order: the opening fragment names the call with empty arguments, then argument pieces."""
    opening = {
        "index": index,
        "id": f"call_fake{index}",
        "type": "function",
        "function": {"name": name, "arguments": ""},
    }
    pieces = [{"index": index, "function": {"arguments": piece}} for piece in _pieces(json.dumps(args), 3)]
    return [{"tool_calls": [opening]}] + [{"tool_calls": [piece]} for piece in pieces]


def _pieces(text: str, count: int) -> list[str]:
    if not text:
        return []
    size = math.ceil(len(text) / max(count, 1))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _usage(reply: Reply) -> dict[str, int]:
    counts = reply if isinstance(reply, Text | ToolCalls) else Text()
    return {
        "prompt_tokens": counts.prompt_tokens,
        "completion_tokens": counts.completion_tokens,
        "total_tokens": counts.prompt_tokens + counts.completion_tokens,
    }
