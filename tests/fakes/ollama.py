"""A fake Ollama server speaking ``/api/chat`` and ``/api/generate`` the way Ollama does: NDJSON lines,
streaming by default. ``/api/generate`` (prompt, and ``suffix`` for fill-in-the-middle) answers the same
replies with ``response`` text instead of a ``message``.

Tests queue :mod:`replies <tests.fakes.scripts>` and assert on what it received:

    fake = FakeOllama()
    with serve(fake.app) as url:
        fake.replies.append(ToolCalls([("get_weather", {"city": "Paris"})]))
        ...
        assert fake.requests[0].body["options"]["num_predict"] == 64

Tool calls arrive whole and without ids, and the done line says ``done_reason: "stop"`` even after tool
calls, as real Ollama does: that is what the backend has to repair. :class:`SlowToolCalls` streams its
text, then waits before the line with its calls (a model that writes before it calls a tool). ``hung_up``
is set when a client leaves in the middle of a streamed body (Ollama then cancels the generation).

It also keeps models in memory as Ollama does (:class:`Memory`): a chat or a generation loads its model
for ``keep_alive`` (a number of seconds or a Go duration; negative: for ever; 0: unloaded after the
answer; absent: 5 minutes; the string ``"-1"`` is refused, as Ollama refuses it); a request with no
prompt (or no messages) only loads the model, or unloads it with ``keep_alive: 0``, and takes no reply
from the queue. ``GET /api/ps`` lists what is loaded; ``fake.memory.peak`` is the most models held at
once, ``fake.ps_calls`` counts the lists asked for, and ``fake.ps_status`` makes them fail (quoting the
Authorization header they got with ``fake.ps_quotes_auth``, as a proxy in front of Ollama may):

    fake.memory.load("other:7b")
    ...
    assert [(r.path, r.body.get("keep_alive")) for r in fake.requests] == [("/api/generate", 0), ("/api/chat", None)]
    assert fake.memory.peak == 1
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar, Request, Response, get, post
from litestar.response import Stream

from tests.fakes.openai_compat import WatchedQueue
from tests.fakes.scripts import (
    PARTIAL,
    Cut,
    ErrorBody,
    Hang,
    Incomplete,
    Json,
    Malformed,
    Recorded,
    Reply,
    Status,
    StreamError,
    Text,
    ToolCalls,
    Truncated,
    resolved,
)
from tests.fakes.server import cut_after

VERSION = "0.12.0"
CREATED_AT = "2025-01-01T00:00:00.000000Z"
NDJSON = "application/x-ndjson"


@dataclass
class SlowToolCalls(ToolCalls):
    """:class:`ToolCalls` whose streamed line of calls comes ``pause`` seconds after its text."""

    pause: float = 1.0


FOREVER = math.inf
DEFAULT_KEEP_ALIVE = 300.0
_DURATION = re.compile(r"^(-?)((?:\d+(?:\.\d*)?(?:h|m|s|ms))+)$")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


class Memory:
    """The models a fake Ollama holds, each with the wall-clock time it expires (``inf``: never)."""

    def __init__(self, clock: Any = time.time) -> None:
        self._lock = threading.Lock()
        self.clock = clock
        self.until: dict[str, float] = {}
        self.peak = 0
        #: Each time a model came off the disk: not loaded, or loaded with another ``num_ctx`` (Ollama
        #: restarts a model's runner when the context window a request asks for differs).
        self.loads: list[str] = []
        self._ctx: dict[str, int | None] = {}

    def load(self, model: str, keep_alive: float = DEFAULT_KEEP_ALIVE, num_ctx: int | None = None) -> None:
        with self._lock:
            self._expire()
            tagged = _tagged(model)
            if tagged not in self.until or self._ctx.get(tagged) != num_ctx:
                self.loads.append(tagged)
            self._ctx[tagged] = num_ctx
            self.until[tagged] = self.clock() + keep_alive if keep_alive >= 0 else FOREVER
            self.peak = max(self.peak, len(self.until))

    def unload(self, model: str) -> None:
        with self._lock:
            self.until.pop(_tagged(model), None)

    def loaded(self) -> dict[str, float]:
        with self._lock:
            self._expire()
            return dict(self.until)

    def reset(self) -> None:
        with self._lock:
            self.until.clear()
            self.peak = 0
            self.loads.clear()
            self._ctx.clear()

    def _expire(self) -> None:
        now = self.clock()
        for model in [m for m, until in self.until.items() if until <= now]:
            del self.until[model]


class _Queue(WatchedQueue):
    def __init__(self, fake: FakeOllama) -> None:
        super().__init__()
        self._fake = fake

    def reset(self) -> None:
        super().reset()
        self._fake.memory.reset()
        self._fake.ps_calls = 0
        self._fake.ps_status = None
        self._fake.ps_quotes_auth = False


def keep_alive_seconds(value: Any) -> float | None:
    """Seconds as Ollama reads ``keep_alive`` (negative: for ever); None for what it refuses."""
    if value is None:
        return DEFAULT_KEEP_ALIVE
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        return None
    if value in ("0", "-0"):
        return 0.0
    found = _DURATION.match(value)
    if found is None:
        return None
    seconds = sum(float(n) * _UNITS[u] for n, u in re.findall(r"(\d+(?:\.\d*)?)(h|ms|m|s)", found.group(2)))
    return -seconds if found.group(1) else seconds


def _tagged(model: str) -> str:
    return model if ":" in model.rsplit("/", 1)[-1] else f"{model}:latest"


def _rfc3339(until: float) -> str:
    if until == FOREVER:
        return "2318-01-01T00:00:00Z"  # how Ollama shows keep_alive -1: far away
    return datetime.fromtimestamp(until, UTC).isoformat().replace("+00:00", "Z")


class FakeOllama:
    def __init__(self) -> None:
        self.memory = Memory()
        self.ps_calls = 0
        #: The models ``GET /api/tags`` lists as pulled (none, as a fresh Ollama has).
        self.tags: list[str] = []
        #: An HTTP status every ``/api/ps`` answers with instead of the list (None: the list).
        self.ps_status: int | None = None
        #: The failing ``/api/ps`` quotes the Authorization header it got (a proxy's "invalid token ...").
        self.ps_quotes_auth = False
        self.queue = _Queue(self)
        self.app = Litestar(route_handlers=self._handlers())

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

    def _handlers(self) -> list[Any]:
        @get("/api/version")
        async def version() -> dict[str, str]:
            return {"version": VERSION}

        @get("/api/tags")
        async def tags() -> dict[str, list[Any]]:
            return {"models": [{"name": name, "model": name, "size": 1} for name in self.tags]}

        @get("/api/ps")
        async def ps(request: Request[Any, Any, Any]) -> Response[Any]:
            self.ps_calls += 1
            if self.ps_status is not None:
                auth = request.headers.get("authorization")
                quoted = f": invalid authorization {auth}" if self.ps_quotes_auth else ""
                return Response({"error": "ps failed" + quoted}, status_code=self.ps_status)
            models = [_listed(model, until) for model, until in sorted(self.memory.loaded().items())]
            return Response({"models": models})

        @post("/api/chat", status_code=200)
        async def chat(request: Request[Any, Any, Any]) -> Response[Any]:
            body = await request.json()
            headers = {k.lower(): v for k, v in request.headers.items()}
            self.queue.record(request.url.path, headers, body, request.url.query)
            if (refused := self._memory(body, bool(body.get("messages")))) is not None:
                return refused
            return await self._answer(resolved(self.queue.next()), body)

        @post("/api/generate", status_code=200)
        async def generate(request: Request[Any, Any, Any]) -> Response[Any]:
            body = await request.json()
            headers = {k.lower(): v for k, v in request.headers.items()}
            self.queue.record(request.url.path, headers, body, request.url.query)
            if (refused := self._memory(body, bool(body.get("prompt")))) is not None:
                return refused
            return await self._answer(resolved(self.queue.next()), body, generate=True)

        return [version, tags, ps, chat, generate]

    def _memory(self, body: dict[str, Any], asks: bool) -> Response[Any] | None:
        """Load or unload the body's model; the answer itself when the request asks for nothing else."""
        model = str(body.get("model", ""))
        seconds = keep_alive_seconds(body.get("keep_alive"))
        if seconds is None:
            detail = f'time: missing unit in duration "{body.get("keep_alive")}"'
            return Response({"error": detail}, status_code=400)
        options = body.get("options")
        num_ctx = options.get("num_ctx") if isinstance(options, dict) else None
        self.memory.load(model, seconds, num_ctx)
        if seconds == 0:
            self.memory.unload(model)  # after the answer, in Ollama; the fake does not hold it meanwhile
        if asks:
            return None
        reason = "unload" if seconds == 0 else "load"
        answer: dict[str, Any] = {"model": model, "created_at": CREATED_AT, "done": True, "done_reason": reason}
        if "messages" in body:
            answer["message"] = {"role": "assistant", "content": ""}
        else:
            answer["response"] = ""
        return Response(answer)

    async def _answer(self, reply: Reply, body: dict[str, Any], *, generate: bool = False) -> Response[Any]:
        """One reply, shaped for the way the request asked: Ollama streams unless told ``stream: false``."""
        if isinstance(reply, Json):  # what a model does with `format`: the value's JSON as its text
            reply = Text(json.dumps(reply.value), chunks=2)
        model = str(body.get("model", ""))
        if isinstance(reply, Status):
            return _status(reply, model)
        streaming = body.get("stream", True) is not False
        if isinstance(reply, Hang) and (reply.after_events is None or not streaming):
            await asyncio.sleep(reply.seconds)
        if not streaming:
            whole = _whole(reply, model)
            if generate and isinstance(whole.content, dict):
                whole.content = _generated(whole.content)
            return whole
        if isinstance(reply, Cut):
            lines = _text_lines(Text(chunks=max(Text().chunks, reply.after_events + 1)), model)
            chunks = [json.dumps(line).encode() + b"\n" for line in lines[: reply.after_events]]
            return Stream(cut_after(chunks), media_type=NDJSON)
        return Stream(self.queue.watched(_ndjson(_stream_lines(reply, model), generate)), media_type=NDJSON)


def _listed(model: str, until: float) -> dict[str, Any]:
    details = {"format": "gguf", "family": "qwen2", "parameter_size": "7.6B", "quantization_level": "Q4_K_M"}
    return {
        "name": model,
        "model": model,
        "size": 5_000_000_000,
        "digest": "2bada8a7450677000f678be90653b85d364de7db25eb5ea54136ada5f3933730",
        "details": {"parent_model": "", "families": ["qwen2"], **details},
        "expires_at": _rfc3339(until),
        "size_vram": 5_000_000_000,
    }


def _generated(line: dict[str, Any]) -> dict[str, Any]:
    """A chat line as ``/api/generate`` says it: the message's text as ``response``."""
    if "message" not in line:
        return line
    out = {k: v for k, v in line.items() if k != "message"}
    out["response"] = line["message"].get("content", "")
    return out


def _status(reply: Status, model: str) -> Response[Any]:
    if reply.html:
        return reply.page()
    message = reply.message
    if reply.status == 404 and message == Status(404).message:
        message = f"model '{model}' not found"
    return Response({"error": message}, status_code=reply.status, headers=reply.headers)


def _whole(reply: Reply, model: str) -> Response[Any] | Stream:
    if isinstance(reply, Malformed):
        return Response(b'{"not json', media_type="application/json")
    if isinstance(reply, Incomplete):
        answer = {"model": model, "created_at": CREATED_AT, "message": {"role": "assistant", "content": PARTIAL}}
        return Response({**answer, "done": False})
    if isinstance(reply, ErrorBody):
        return Response({"error": reply.message}, status_code=200)
    if isinstance(reply, Cut):
        whole = json.dumps(_done(model, {"role": "assistant", "content": Text().text}, "stop", 11, 7)).encode()
        headers = {"content-length": str(len(whole))}
        return Stream(cut_after([whole[: len(whole) // 2]]), media_type="application/json", headers=headers)
    if isinstance(reply, StreamError):
        return Response({"error": reply.message}, status_code=500)
    if isinstance(reply, Truncated):
        return Response(b'{"model": "' + model.encode() + b'", "message": {"role": ', media_type="application/json")
    if isinstance(reply, ToolCalls):
        message = {"role": "assistant", "content": reply.text or "", "tool_calls": _tool_calls(reply)}
        return Response(_done(model, message, reply.stop or "stop", reply.prompt_tokens, reply.completion_tokens))
    text = reply if isinstance(reply, Text) else Text()
    message = {"role": "assistant", "content": text.text}
    if text.thinking is not None:
        message["thinking"] = text.thinking
    return Response(
        _counted(text, _done(model, message, _done_reason(text), text.prompt_tokens, text.completion_tokens))
    )


async def _ndjson(lines: AsyncIterator[str | dict[str, Any]], generate: bool = False) -> AsyncIterator[bytes]:
    """Each line is its own body chunk, so the client sees them one at a time."""
    async for line in lines:
        if isinstance(line, dict) and generate:
            line = _generated(line)
        yield (line if isinstance(line, str) else json.dumps(line)).encode() + b"\n"


async def _stream_lines(reply: Reply, model: str) -> AsyncIterator[str | dict[str, Any]]:
    if isinstance(reply, ToolCalls):
        lines = _tool_lines(reply, model)
        for sent, line in enumerate(lines):
            if sent == len(lines) - 2 and isinstance(reply, SlowToolCalls):  # the line with the calls
                await asyncio.sleep(reply.pause)
            yield line
        return
    if isinstance(reply, Malformed):
        yield _piece(model, "Hel")
        yield "{not json"
        return
    if isinstance(reply, ErrorBody):
        yield {"error": reply.message}
        return
    if isinstance(reply, Incomplete):
        for line in [] if reply.empty else _text_lines(Text(), model)[:-1]:  # every piece, but no done line
            yield line
        return
    cut = reply.after_events if isinstance(reply, Hang | Truncated | StreamError) else None
    text = reply if isinstance(reply, Text) else Text(chunks=max(Text().chunks, (cut or 0) + 1))
    for sent, line in enumerate(_text_lines(text, model)):
        if sent == cut:
            if isinstance(reply, Hang):
                await asyncio.sleep(reply.seconds)
            elif isinstance(reply, StreamError):
                yield {"error": reply.message}
                return
            else:
                return
        yield line


def _text_lines(text: Text, model: str) -> list[dict[str, Any]]:
    lines = [_piece(model, piece) for piece in _split(text.text, text.chunks)]
    if text.thinking is not None:
        thought = {"role": "assistant", "content": "", "thinking": text.thinking}
        lines.insert(0, {"model": model, "created_at": CREATED_AT, "message": thought, "done": False})
    done_message = {"role": "assistant", "content": ""}
    return [
        *lines,
        _counted(text, _done(model, done_message, _done_reason(text), text.prompt_tokens, text.completion_tokens)),
    ]


def _tool_lines(reply: ToolCalls, model: str) -> list[dict[str, Any]]:
    """Optional text pieces, then every call in one line, then ``done_reason: "stop"`` (sic; or the reply's)."""
    lines = [_piece(model, piece) for piece in _split(reply.text or "", 2)]
    calls = {"role": "assistant", "content": "", "tool_calls": _tool_calls(reply)}
    lines.append({"model": model, "created_at": CREATED_AT, "message": calls, "done": False})
    done_message = {"role": "assistant", "content": ""}
    return [*lines, _done(model, done_message, reply.stop or "stop", reply.prompt_tokens, reply.completion_tokens)]


def _piece(model: str, content: str) -> dict[str, Any]:
    message = {"role": "assistant", "content": content}
    return {"model": model, "created_at": CREATED_AT, "message": message, "done": False}


def _done(model: str, message: dict[str, Any], reason: str, prompt: int, completion: int) -> dict[str, Any]:
    return {
        "model": model,
        "created_at": CREATED_AT,
        "message": message,
        "done": True,
        "done_reason": reason,
        "total_duration": 123_456_789,
        "load_duration": 1_000_000,
        "prompt_eval_count": prompt,
        "prompt_eval_duration": 2_000_000,
        "eval_count": completion,
        "eval_duration": 3_000_000,
    }


def _counted(text: Text, done: dict[str, Any]) -> dict[str, Any]:
    """The done line, without its eval counts when the script says the upstream reports none."""
    if not text.counted:
        del done["prompt_eval_count"], done["eval_count"]
    return done


def _tool_calls(reply: ToolCalls) -> list[dict[str, Any]]:
    return [{"function": {"name": name, "arguments": arguments}} for name, arguments in reply.calls]


def _done_reason(text: Text) -> str:
    """Ollama has no content filter: anything but ``length`` is a plain stop."""
    return "length" if text.stop == "length" else "stop"


def _split(text: str, chunks: int) -> list[str]:
    """``text`` in ``chunks`` near-equal pieces (fewer when the text is shorter), none of them empty."""
    if not text:
        return []
    size = -(-len(text) // max(1, chunks))
    return [text[i : i + size] for i in range(0, len(text), size)]
