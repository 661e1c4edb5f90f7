"""A fake OpenAI-compatible upstream (the shape llama.cpp server, LM Studio and vLLM share).

It answers from a :class:`~tests.fakes.scripts.ReplyQueue` in the exact byte format of OpenAI's API,
so the backend is tested against the wire, not against a mock of it:

    fake = FakeOpenAI()
    with serve(fake.app) as base_url:
        fake.replies.append(ToolCalls([("get_weather", {"city": "Paris"})]))
        ...  # point an OpenAIBackend at base_url + "/v1"
        assert fake.requests[0].body["model"] == "some-model"

A ``personality`` makes it answer ``response_format`` as one real server does (observed or documented
in the notes on local model servers; the default, ``openai``, takes anything):

    ================== ================================ ======================== ==========================
    personality        ``json_schema``                  ``json_object`` + schema unknown ``type``
    ================== ================================ ======================== ==========================
    llama-cpp-python   500, pydantic's literal_error    schema enforced          500, the same error
    llama-server       schema enforced                  schema enforced          400 invalid_request_error
    vllm               schema enforced (name required)  any JSON (schema ignored) 400 BadRequestError
    ================== ================================ ======================== ==========================

A refused request is recorded but takes no reply from the queue (the server refuses before generating);
``fake.judge(recorded.body)`` tells what the server made of a request. llama-cpp-python's streams never
carry ``usage``. vLLM's choices name the stop string an answer ended on (``stop_reason``, from
``Text.stop_sequence``). ``hung_up`` is set when a client leaves in the middle of a streamed body (the stream
generator is cancelled or closed), which is what stops a real server's work.

``calls`` is how tool calls are written: ``openai`` (ids ``call_fake0``, ``call_fake1``; a stream names a call
in its first piece only) or ``tgi``, as text-generation-inference 3.x writes them: a whole answer numbers its
calls ``"0"``, ``"1"``, and a stream sends ``"id": ""`` with every piece of a call and ``"name": null`` after
the first:

    fake = FakeOpenAI("llama-cpp-python")
    ...
    assert [fake.judge(r.body).status for r in fake.requests] == [500, 200]
    assert fake.hung_up.wait(5)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

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
    resolved,
)
from tests.fakes.server import cut_after

T = TypeVar("T")

MODEL_ID = "fake-model"
SSE_HEADERS = {"cache-control": "no-cache"}

Personality = Literal["openai", "llama-cpp-python", "llama-server", "vllm"]
PERSONALITIES: tuple[Personality, ...] = ("openai", "llama-cpp-python", "llama-server", "vllm")
CallShape = Literal["openai", "tgi"]


@dataclass(frozen=True)
class Judgement:
    """What a server makes of a request's ``response_format``: its status, and the JSON schema it would
    constrain the answer to (None: free text or any JSON). A refusal carries the server's exact body."""

    status: int = 200
    schema: dict[str, Any] | None = None
    refusal: bytes | None = None


class WatchedQueue(ReplyQueue):
    """A ReplyQueue that also notes a client leaving mid-body; ``reset`` (the fixtures') forgets that too."""

    def __init__(self) -> None:
        super().__init__()
        self.hung_up = threading.Event()

    def reset(self) -> None:
        super().reset()
        self.hung_up.clear()

    async def watched(self, body: AsyncIterator[T]) -> AsyncIterator[T]:
        """``body`` as sent; a client that disconnects cancels it (Litestar) or stops reading it."""
        try:
            async for piece in body:
                yield piece
        except (asyncio.CancelledError, GeneratorExit):
            self.hung_up.set()
            raise


class FakeOpenAI:
    def __init__(self, personality: Personality = "openai", calls: CallShape = "openai") -> None:
        self.personality = personality
        self.calls = calls
        self.queue = WatchedQueue()
        self._ids = itertools.count(1)
        self.app = Litestar(route_handlers=[self._models_handler(), self._chat_handler()])

    @property
    def replies(self) -> deque[Reply]:
        return self.queue.replies

    @property
    def requests(self) -> list[Recorded]:
        return self.queue.requests

    @property
    def hung_up(self) -> threading.Event:
        """Set once a client has closed its connection before a streamed body ended."""
        return self.queue.hung_up

    def judge(self, body: dict[str, Any]) -> Judgement:
        """What this server makes of a request body's ``response_format``."""
        return judge(self.personality, body.get("response_format"))

    def _models_handler(self) -> Any:
        @get("/v1/models", sync_to_thread=False)
        def models() -> dict[str, Any]:
            return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "fake"}]}

        return models

    def _chat_handler(self) -> Any:
        @post("/v1/chat/completions", status_code=200)
        async def chat(request: Request[Any, Any, Any]) -> Response[Any]:
            body = await request.json()
            headers = {k.lower(): v for k, v in request.headers.items()}
            self.queue.record(request.url.path, headers, body, request.url.query)
            judgement = self.judge(body)
            if judgement.refusal is not None:  # refused before generating: the queued reply is left for the next
                return Response(judgement.refusal, status_code=judgement.status, media_type="application/json")
            return await self._answer(resolved(self.queue.next()), body)

        return chat

    async def _answer(self, reply: Reply, body: dict[str, Any]) -> Response[Any]:
        """Errors and hangs happen before the status line; everything else is a 200."""
        if isinstance(reply, Status):
            return _error_response(reply)
        if isinstance(reply, Hang) and (reply.after_events is None or not body.get("stream")):
            await asyncio.sleep(reply.seconds)
        frame = _Frame(
            f"chatcmpl-fake{next(self._ids)}",
            int(time.time()),
            str(body.get("model", "")),
            self.personality == "vllm",
            tgi=self.calls == "tgi",
        )
        if isinstance(reply, Hang) and reply.then is not None and reply.after_events is None:
            reply = reply.then  # the pause is over: the answer it held back
        if body.get("stream"):
            llama_cpp_python = self.personality == "llama-cpp-python"  # it ignores stream_options
            include_usage = not llama_cpp_python and bool((body.get("stream_options") or {}).get("include_usage"))
            opening = {"role": "assistant"} if llama_cpp_python else {"role": "assistant", "content": ""}
            chunks = frame.chunks(reply, include_usage, opening)
            if isinstance(reply, Cut):
                sent = [f"data: {c}\n\n".encode() for c in chunks[: reply.after_events]]
                return Stream(cut_after(sent), media_type="text/event-stream", headers=SSE_HEADERS)
            return Stream(self.queue.watched(_sse(chunks, reply)), media_type="text/event-stream", headers=SSE_HEADERS)
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


# --- response_format, as each server takes it ------------------------------------------------


def judge(personality: Personality, requested: Any) -> Judgement:
    """One server's reading of ``response_format`` (absent and ``text`` mean free text everywhere)."""
    requested = requested if isinstance(requested, dict) else {}
    kind = requested.get("type", "text")
    spec = requested.get("json_schema")
    nested = spec.get("schema") if isinstance(spec, dict) else None
    flat = requested.get("schema")
    if personality == "openai":
        return Judgement(schema=nested if kind == "json_schema" else None)
    if personality == "llama-cpp-python":
        if kind not in ("text", "json_object"):
            return Judgement(500, refusal=llama_cpp_python_refusal(kind))
        return Judgement(schema=flat if kind == "json_object" else None)
    if personality == "llama-server":
        if kind not in ("text", "json_object", "json_schema"):
            message = f'response_format type must be one of "text" or "json_object", but got: {kind}'
            error = {"code": 400, "message": message, "type": "invalid_request_error"}
            return Judgement(400, refusal=_compact({"error": error}))
        return Judgement(schema=(nested if kind == "json_schema" else flat) or None)
    if kind not in ("text", "json_object", "json_schema", "structural_tag"):
        return _vllm_refusal(
            f"Input should be 'text', 'json_object', 'json_schema' or 'structural_tag' [type=literal_error, "
            f"input_value={kind!r}, input_type={type(kind).__name__}]",
            "response_format.type",
        )
    if kind == "json_schema" and not (isinstance(spec, dict) and spec.get("name")):
        return _vllm_refusal("Field required [type=missing]", "response_format.json_schema.name")
    return Judgement(schema=nested if kind == "json_schema" else None)


def llama_cpp_python_refusal(kind: Any) -> bytes:
    """llama-cpp-python 0.3.36's answer to a ``response_format.type`` other than text and json_object,
    byte for byte: its route handler turns pydantic's validation error into a 500 (also for streams)."""
    expected = "\"'text' or 'json_object'\""
    message = (
        "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
        f"'msg': \"Input should be 'text' or 'json_object'\", 'input': {kind!r}, 'ctx': {{'expected': {expected}}}}}"
        '\n\n  File "/work/scratch/llama/venv/lib/python3.11/site-packages/llama_cpp/server/app.py", line 376, '
        "in create_chat_completion\n    POST /v1/chat/completions"
    )
    return _compact({"error": {"message": message, "type": "internal_server_error", "param": None, "code": None}})


def _vllm_refusal(error: str, where: str) -> Judgement:
    message = f"1 validation error for ChatCompletionRequest\n{where}\n  {error}"
    body = {"error": {"message": message, "type": "BadRequestError", "param": None, "code": 400}}
    return Judgement(400, refusal=_compact(body))


def _compact(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def _error_response(reply: Status) -> Response[Any]:
    if reply.html:
        return reply.page()
    kind = reply.upstream_type or ("server_error" if reply.status >= 500 else "invalid_request_error")
    body = {"error": {"message": reply.message, "type": kind, "param": None, "code": None, **reply.fields}}
    return Response(body, status_code=reply.status, headers=reply.headers, media_type="application/json")


async def _sse(chunks: list[str], reply: Reply) -> AsyncIterator[str]:
    """Flushes event by event, so the backend sees a real stream; then acts out the reply's failure."""
    if isinstance(reply, ErrorBody):
        yield "data: " + json.dumps({"error": {"message": reply.message, "type": "server_error"}}) + "\n\n"
        return
    if isinstance(reply, Incomplete):
        chunks = [c for c in chunks if '"finish_reason": null' in c]  # the finish chunk and usage are left out
        chunks = [] if reply.empty else chunks
        for data in chunks:
            yield f"data: {data}\n\n"
        if reply.end_marker:
            yield "data: [DONE]\n\n"
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
        error: dict[str, Any] = {"message": reply.message, "type": reply.upstream_type}
        if reply.code is not None:
            error["code"] = reply.code
        yield "data: " + json.dumps({"error": error}) + "\n\n"
    elif not isinstance(reply, Truncated):
        yield "data: [DONE]\n\n"


def _stops_after(reply: Reply) -> int | None:
    return reply.after_events if isinstance(reply, Truncated | StreamError) else None


class _Frame:
    """The id, created and model every object of one answer shares."""

    def __init__(
        self, completion_id: str, created: int, model: str, stop_reason: bool = False, *, tgi: bool = False
    ) -> None:
        self.id, self.created, self.model = completion_id, created, model
        #: vLLM's ``stop_reason`` in the finishing choice: the stop string, or null.
        self.stop_reason = stop_reason
        #: Tool calls as TGI writes them (``FakeOpenAI.calls``).
        self.tgi = tgi

    def _finishing(self, choice: dict[str, Any], reply: Reply) -> dict[str, Any]:
        if self.stop_reason:
            choice["stop_reason"] = reply.stop_sequence if isinstance(reply, Text) else None
        return choice

    def completion(self, reply: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": None}
        if isinstance(reply, ToolCalls):
            message["content"] = reply.text
            message["tool_calls"] = [_whole_call(i, name, args, self.tgi) for i, (name, args) in enumerate(reply.calls)]
            finish = reply.stop or "tool_calls"
        else:
            text = _text(reply)
            message["content"] = text.text
            finish = text.stop
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                self._finishing({"index": 0, "message": message, "logprobs": None, "finish_reason": finish}, reply)
            ],
            "usage": _usage(reply),
        }

    def chunks(self, reply: Reply, include_usage: bool, opening: dict[str, Any] | None = None) -> list[str]:
        deltas: list[dict[str, Any]] = [opening or {"role": "assistant", "content": ""}]
        if isinstance(reply, ToolCalls):
            deltas += [{"content": piece} for piece in _pieces(reply.text or "", 2)]
            for i, (name, args) in enumerate(reply.calls):
                deltas += _call_deltas(i, name, args, self.tgi)
            finish = reply.stop or "tool_calls"
        else:
            text = _text(reply)
            deltas += [{"content": piece} for piece in _pieces(text.text, text.chunks)]
            finish = text.stop
        chunks = [self._chunk([{"index": 0, "delta": d, "logprobs": None, "finish_reason": None}]) for d in deltas]
        last = {"index": 0, "delta": {}, "logprobs": None, "finish_reason": finish}
        chunks.append(self._chunk([self._finishing(last, reply)]))
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


def _whole_call(index: int, name: str, args: dict[str, Any], tgi: bool = False) -> dict[str, Any]:
    call_id = str(index) if tgi else f"call_fake{index}"
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


def _call_deltas(index: int, name: str, args: dict[str, Any], tgi: bool = False) -> list[dict[str, Any]]:
    """OpenAI's order: the opening fragment names the call with empty arguments, then argument pieces. TGI's:
    every fragment has ``"id": ""``, ``type`` and a ``name``, null after the first."""
    opening = {
        "index": index,
        "id": "" if tgi else f"call_fake{index}",
        "type": "function",
        "function": {"name": name, "arguments": ""},
    }
    pieces: list[dict[str, Any]] = [
        {"index": index, "id": "", "type": "function", "function": {"name": None, "arguments": piece}}
        if tgi
        else {"index": index, "function": {"arguments": piece}}
        for piece in _pieces(json.dumps(args), 3)
    ]
    return [{"tool_calls": [opening]}] + [{"tool_calls": [piece]} for piece in pieces]


def _pieces(text: str, count: int) -> list[str]:
    if not text:
        return []
    size = math.ceil(len(text) / max(count, 1))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _text(reply: Reply) -> Text:
    """The answer a reply streams: a Text's own, a Hang's ``then`` around its pause, else the default."""
    if isinstance(reply, Hang) and reply.then is not None:
        return reply.then
    return reply if isinstance(reply, Text) else Text()


def _usage(reply: Reply) -> dict[str, int]:
    counts = reply if isinstance(reply, ToolCalls) else _text(reply)
    return {
        "prompt_tokens": counts.prompt_tokens,
        "completion_tokens": counts.completion_tokens,
        "total_tokens": counts.prompt_tokens + counts.completion_tokens,
    }
