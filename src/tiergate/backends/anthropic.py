"""The Anthropic Messages API (``POST /v1/messages``) behind tiergate's OpenAI-shaped interface.

Three jobs, in the order a call needs them: :func:`to_messages_body` turns a ``ChatRequest`` into a
Messages request; :func:`from_message` and :class:`StreamTranslator` turn the answer back into a
``Completion`` or stream events; :class:`AnthropicBackend` moves the bytes and is the one place where
httpx exceptions and upstream error bodies become :class:`~tiergate.errors.UpstreamError`.

The API key is read once, from the environment variable the config names; a missing key is reported
by :meth:`AnthropicBackend.missing` and fails each call before any byte goes on the wire.

    backend = AnthropicBackend("claude", config.backends["claude"], os.environ)
    completion = await backend.complete(request, Call(model=target.model))
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal

import httpx
import msgspec

from tiergate.backends.base import BackendConfigBase, Call, drain, retry_after, secret_from_env
from tiergate.backends.client import UpstreamClient
from tiergate.backends.failures import Where, transport_failure
from tiergate.config.base import PositiveInt
from tiergate.errors import (
    RequestError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamUnavailable,
)
from tiergate.protocols.stops import cut_completion, is_blank, split_stops, stop_emulated
from tiergate.wire import (
    ChatRequest,
    Completion,
    ContentPart,
    Finish,
    FinishReason,
    FunctionCall,
    Message,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallArgs,
    ToolCallStart,
    Usage,
    UsageReport,
)

Block = dict[str, Any]

_STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_DATA_URL = re.compile(r"data:(?P<media>[^;,]+);base64,(?P<data>.*)", re.DOTALL)
_EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}
_ERROR_PREVIEW = 200


# --- OpenAI request → Messages request ---------------------------------------------------------


def to_messages_body(request: ChatRequest, model: str, *, default_max_tokens: int, stream: bool = False) -> Block:
    """The Messages request for ``request``; raises RequestError for what no Anthropic model could accept.

    ``max_tokens`` is mandatory upstream, so the config's default stands in when the client sent none.

        body = to_messages_body(request, call.model, default_max_tokens=4096)
    """
    limit = request.output_limit()
    body: Block = {
        "model": model,
        "max_tokens": default_max_tokens if limit is None else limit,
        "messages": _turns(request.messages),
    }
    system = _system(request.messages)
    if system:
        body["system"] = system
    sent, _ = split_stops(request.stop_list(), refuses=is_blank)  # the API refuses blank ones: emulated
    if sent:
        body["stop_sequences"] = sent
    if request.tools:
        body["tools"] = [_tool(t.function.name, t.function.description, t.function.parameters) for t in request.tools]
        if (choice := _tool_choice(request)) is not None:
            body["tool_choice"] = choice
    body.update(_sampling(request))
    if request.user:
        body["metadata"] = {"user_id": request.user}
    if stream:
        body["stream"] = True
    return body


def _system(messages: list[Message]) -> str:
    """System and developer messages, wherever they appear, become the one top-level ``system``."""
    return "\n\n".join(t for m in messages if m.role in ("system", "developer") and (t := m.text()))


def _turns(messages: list[Message]) -> list[Block]:
    """Alternating user/assistant turns: consecutive same-role messages merge, empty ones vanish."""
    turns: list[Block] = []
    for i, message in enumerate(messages):
        if message.role in ("system", "developer"):
            continue
        role, blocks = _turn_of(message, i)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:
        if turn["role"] == "user":
            turn["content"].sort(key=lambda block: block["type"] != "tool_result")
    return turns


def _turn_of(message: Message, i: int) -> tuple[Literal["user", "assistant"], list[Block]]:
    if message.role in ("tool", "function"):
        return "user", [_tool_result(message, i)]
    if message.role == "assistant":
        calls = [_tool_use(call, i, j) for j, call in enumerate(message.tool_calls or [])]
        return "assistant", _content_blocks(message, i) + calls
    return "user", _content_blocks(message, i)


def _content_blocks(message: Message, i: int) -> list[Block]:
    """Text and image parts; other OpenAI part types have no Messages equivalent and are left out."""
    if isinstance(message.content, str):
        return [{"type": "text", "text": message.content}] if message.content else []
    blocks: list[Block] = []
    for j, part in enumerate(message.content or []):
        if part.type == "text" and part.text:
            blocks.append({"type": "text", "text": part.text})
        elif part.type == "image_url" and part.image_url is not None:
            blocks.append(_image(part, f"messages[{i}].content[{j}].image_url"))
    return blocks


def _image(part: ContentPart, param: str) -> Block:
    assert part.image_url is not None
    url = part.image_url.url
    if match := _DATA_URL.fullmatch(url):
        source = {"type": "base64", "media_type": match["media"], "data": match["data"]}
        return {"type": "image", "source": source}
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise RequestError(f"{param}: an image must be a base64 data URL or an http(s) URL", param=param)


def _tool_result(message: Message, i: int) -> Block:
    if not message.tool_call_id:
        param = f"messages[{i}].tool_call_id"
        raise RequestError(f"{param}: a tool message needs the id of the call it answers", param=param)
    block: Block = {"type": "tool_result", "tool_use_id": message.tool_call_id}
    if text := message.text():
        block["content"] = text
    return block


def _tool_use(call: ToolCall, i: int, j: int) -> Block:
    """Anthropic wants the arguments as an object; a string that is not one fails here, not upstream."""
    try:
        arguments = json.loads(call.function.arguments) if call.function.arguments.strip() else {}
    except json.JSONDecodeError:
        arguments = None
    if not isinstance(arguments, dict):
        param = f"messages[{i}].tool_calls[{j}].function.arguments"
        raise RequestError(
            f"{param}: the arguments of tool call '{call.id}' ({call.function.name}) are not a JSON object",
            param=param,
        )
    return {"type": "tool_use", "id": call.id, "name": call.function.name, "input": arguments}


def _tool(name: str, description: str | None, parameters: dict[str, Any] | None) -> Block:
    tool: Block = {"name": name}
    if description:
        tool["description"] = description
    tool["input_schema"] = parameters or _EMPTY_SCHEMA
    return tool


def _tool_choice(request: ChatRequest) -> Block | None:
    """OpenAI's choice, plus ``parallel_tool_calls: false``, which Anthropic keeps inside ``tool_choice``."""
    choice = request.tool_choice
    if choice is None:
        result: Block | None = {"type": "auto"} if request.parallel_tool_calls is False else None
    elif choice == "auto":
        result = {"type": "auto"}
    elif choice == "required":
        result = {"type": "any"}
    elif choice == "none":
        return {"type": "none"}
    elif isinstance(choice, dict) and isinstance(name := (choice.get("function") or {}).get("name"), str):
        result = {"type": "tool", "name": name}
    else:
        expected = '\'auto\', \'required\', \'none\' or {"type": "function", "function": {"name": ...}}'
        raise RequestError(f"tool_choice: expected {expected}", param="tool_choice")
    if result is not None and request.parallel_tool_calls is False:
        result["disable_parallel_tool_use"] = True
    return result


def _sampling(request: ChatRequest) -> Block:
    """Recent models refuse ``temperature`` and ``top_p`` together; temperature is the one clients mean."""
    if request.temperature is not None:
        return {"temperature": request.temperature}
    if request.top_p is not None:
        return {"top_p": request.top_p}
    return {}


# --- Messages answer → Completion ---------------------------------------------------------------


class _Usage(msgspec.Struct):
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None


class _ErrorDetail(msgspec.Struct):
    type: str = "api_error"
    message: str = ""


#: Anthropic's error types and the HTTP status each goes with (docs: "HTTP errors").
ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


class _Block(msgspec.Struct):
    """Every content block kind in one lenient shape, so a new kind is skipped rather than fatal."""

    type: str
    text: str | None = None
    thinking: str | None = None
    id: str | None = None
    name: str | None = None
    input: Any = None


class AnthropicMessage(msgspec.Struct):
    """A whole Messages answer; also the ``message`` of ``message_start``. Unknown fields are ignored.

    ``type`` is ``message`` for an answer and ``error`` for an error envelope, which the API may send
    with a success status; ``error`` is then filled in.
    """

    type: str = ""
    content: list[_Block] = []
    stop_reason: str | None = None
    usage: _Usage = msgspec.field(default_factory=_Usage)
    error: _ErrorDetail | None = None


def finish_reason(stop_reason: str | None) -> FinishReason:
    return _STOP_REASONS.get(stop_reason or "", "stop")


def from_message(message: AnthropicMessage) -> Completion:
    """The Completion for a whole Messages answer: text joined, tool_use as calls, thinking as reasoning."""
    text = "".join(b.text or "" for b in message.content if b.type == "text")
    thinking = "".join(b.thinking or "" for b in message.content if b.type == "thinking")
    calls = [
        ToolCall(id=b.id or "", function=FunctionCall(name=b.name or "", arguments=json.dumps(b.input or {})))
        for b in message.content
        if b.type == "tool_use"
    ]
    totals = UsageTotals()
    totals.add(message.usage)
    return Completion(
        content=text if text or not calls else None,
        tool_calls=calls,
        finish_reason=finish_reason(message.stop_reason),
        usage=totals.usage(),
        reasoning=thinking or None,
    )


class UsageTotals:
    """Anthropic reports usage piecemeal (message_start, then message_delta); the latest count wins."""

    def __init__(self) -> None:
        self.input = self.output = self.cache_read = self.cache_creation = 0

    def add(self, usage: _Usage | None) -> None:
        if usage is None:
            return
        self.input = _latest(usage.input_tokens, self.input)
        self.output = _latest(usage.output_tokens, self.output)
        self.cache_read = _latest(usage.cache_read_input_tokens, self.cache_read)
        self.cache_creation = _latest(usage.cache_creation_input_tokens, self.cache_creation)

    def usage(self) -> Usage:
        """Cached prompt tokens are still prompt tokens to an OpenAI client."""
        return Usage.of(self.input + self.cache_read + self.cache_creation, self.output)


def _latest(value: int | None, current: int) -> int:
    return current if value is None else value


# --- Messages stream → stream events ------------------------------------------------------------


class _Delta(msgspec.Struct):
    type: str | None = None
    text: str | None = None
    partial_json: str | None = None
    thinking: str | None = None
    stop_reason: str | None = None


class _Event(msgspec.Struct):
    type: str = ""
    index: int | None = None
    message: AnthropicMessage | None = None
    content_block: _Block | None = None
    delta: _Delta | None = None
    usage: _Usage | None = None
    error: _ErrorDetail | None = None


async def sse_events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, str]]:
    """``(event name, data)`` pairs from SSE lines; comments and unknown fields are dropped."""
    name, data = "", list[str]()
    async for line in lines:
        if not line:
            if data:
                yield name, "\n".join(data)
            name, data = "", []
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    if data:
        yield name, "\n".join(data)


class StreamTranslator:
    """Feeds on Anthropic stream events, one at a time, and answers with tiergate's.

    OpenAI numbers tool calls 0, 1, ...; Anthropic numbers every content block, so the translator
    keeps the map from block index to tool-call index. ``done`` turns true at ``message_stop``.

        events = translator.feed("content_block_delta", data)
    """

    def __init__(self, backend: str, url: str) -> None:
        self._backend = backend
        self._url = url
        self._tool_index: dict[int, int] = {}
        self._stop_reason: str | None = None
        self._usage = UsageTotals()
        self.done = False

    def feed(self, name: str, data: str) -> list[StreamEvent]:
        try:
            event = msgspec.json.decode(data, type=_Event)
        except msgspec.DecodeError as exc:
            raise self._protocol(f"unreadable '{name or 'unnamed'}' stream event ({exc})") from exc
        kind = name or event.type
        if kind == "message_start":
            self._usage.add(event.message.usage if event.message else None)
        elif kind == "content_block_start":
            return self._block_start(event)
        elif kind == "content_block_delta":
            return self._block_delta(event)
        elif kind == "message_delta":
            self._stop_reason = event.delta.stop_reason if event.delta else None
            self._usage.add(event.usage)
        elif kind == "message_stop":
            self.done = True
            return [Finish(finish_reason(self._stop_reason)), UsageReport(self._usage.usage())]
        elif kind == "error":
            raise self._stream_error(event.error or _ErrorDetail())
        return []

    def _block_start(self, event: _Event) -> list[StreamEvent]:
        block, index = event.content_block, event.index
        if block is None or index is None:
            raise self._protocol("content_block_start without its block or index")
        if block.type == "text" and block.text:
            return [TextDelta(block.text)]
        if block.type == "thinking" and block.thinking:
            return [ReasoningDelta(block.thinking)]
        if block.type != "tool_use":
            return []
        tool = self._tool_index[index] = len(self._tool_index)
        events: list[StreamEvent] = [ToolCallStart(tool, block.id or "", block.name or "")]
        if block.input:
            events.append(ToolCallArgs(tool, json.dumps(block.input)))
        return events

    def _block_delta(self, event: _Event) -> list[StreamEvent]:
        delta = event.delta
        if delta is None:
            raise self._protocol("content_block_delta without its delta")
        if delta.type == "text_delta" and delta.text:
            return [TextDelta(delta.text)]
        if delta.type == "thinking_delta" and delta.thinking:
            return [ReasoningDelta(delta.thinking)]
        if delta.type == "input_json_delta" and delta.partial_json:
            if event.index not in self._tool_index:
                raise self._protocol(f"input_json_delta for block {event.index}, which is not a tool_use block")
            return [ToolCallArgs(self._tool_index[event.index], delta.partial_json)]
        return []

    def _stream_error(self, error: _ErrorDetail) -> UpstreamStatusError:
        return error_in_answer(self._backend, self._url, error)

    def _protocol(self, detail: str) -> UpstreamProtocolError:
        return UpstreamProtocolError(self._backend, self._url, detail, started=True)


def error_in_answer(backend: str, url: str, error: _ErrorDetail) -> UpstreamStatusError:
    """An error the upstream reported after its success status line (an ``error`` event, or an error
    envelope as a 200 body): the status its type goes with, and never a retry on the same target."""
    status = ERROR_STATUS.get(error.type, 502)
    detail = error.message or error.type
    return UpstreamStatusError(backend, url, detail, status=status, upstream_type=error.type, started=True)


def whole_answer(backend: str, url: str, body: bytes) -> Completion:
    """A non-stream answer's body, read strictly: an error envelope is that error, and anything that is not
    a whole message (an unknown shape, or no ``stop_reason``: cut off mid-generation) is a protocol error."""
    try:
        message = msgspec.json.decode(body, type=AnthropicMessage)
    except msgspec.DecodeError as exc:
        raise UpstreamProtocolError(backend, url, f"unreadable answer ({exc})", started=True) from exc
    if message.type == "error":
        raise error_in_answer(backend, url, message.error or _ErrorDetail())
    if message.type != "message":
        shape = f"type '{message.type}'" if message.type else "no type"
        raise UpstreamProtocolError(backend, url, f"the answer is not a message ({shape})", started=True)
    if message.stop_reason is None:
        raise UpstreamProtocolError(backend, url, "the answer has no stop_reason: it is incomplete", started=True)
    return from_message(message)


# --- the backend --------------------------------------------------------------------------------


class AnthropicBackendConfig(BackendConfigBase, tag="anthropic", frozen=True):
    """The Anthropic Messages API (`POST {base_url}/v1/messages`)."""

    api_key_env: str = "ANTHROPIC_API_KEY"
    """Name of the environment variable holding the API key (the key itself never goes in this file)."""
    anthropic_version: str = "2023-06-01"
    """The `anthropic-version` header sent with every call; quote it, or YAML reads 2023-06-01 as a date."""
    default_max_tokens: PositiveInt = 4096
    """`max_tokens` sent when the client gives no output limit (the Messages API requires one)."""

    def build(self, name: str, environ: Mapping[str, str]) -> AnthropicBackend:
        return AnthropicBackend(name, self, environ)


class AnthropicBackend:
    """One httpx client per backend; every httpx exception and error status is translated here."""

    def __init__(self, name: str, cfg: AnthropicBackendConfig, environ: Mapping[str, str]) -> None:
        self.name = name
        self.url = cfg.base_url.rstrip("/")
        self._cfg = cfg
        self._key = secret_from_env(cfg.api_key_env, environ)
        self._client = UpstreamClient(cfg.max_connections)

    def missing(self) -> str | None:
        return None if self._key else f"environment variable {self._cfg.api_key_env} is not set"

    async def probe(self) -> str | None:
        """Anthropic has no free health endpoint; a configured key is as far as a cheap check can go."""
        return self.missing()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def complete(self, request: ChatRequest, call: Call) -> Completion:
        headers, content = self._prepare(request, call, stream=False)
        try:
            response = await self._client.post(
                f"{self.url}/v1/messages", content=content, headers=headers, timeout=_timeout(call)
            )
        except httpx.HTTPError as exc:
            raise transport_failure(exc, self._where(call)) from exc
        if not response.is_success:
            raise self._status_error(response)
        return cut_completion(whole_answer(self.name, self.url, response.content), _emulated(request))

    def stream(self, request: ChatRequest, call: Call) -> AsyncIterator[StreamEvent]:
        return stop_emulated(self._stream(request, call), _emulated(request))

    async def _stream(self, request: ChatRequest, call: Call) -> AsyncIterator[StreamEvent]:
        headers, content = self._prepare(request, call, stream=True)
        translator = StreamTranslator(self.name, self.url)
        try:
            async with self._client.stream(
                "POST", f"{self.url}/v1/messages", content=content, headers=headers, timeout=_timeout(call)
            ) as response:
                if not response.is_success:
                    await response.aread()
                    raise self._status_error(response)
                lines = response.aiter_lines()
                async for name, data in sse_events(lines):
                    for event in translator.feed(name, data):
                        yield event
                    if translator.done:
                        await drain(lines)
                        return
        except httpx.HTTPError as exc:
            raise transport_failure(exc, self._where(call)) from exc
        raise UpstreamProtocolError(self.name, self.url, "stream ended before message_stop", started=True)

    def _prepare(self, request: ChatRequest, call: Call, *, stream: bool) -> tuple[dict[str, str], bytes]:
        """Headers and body, or the reason there can be none; nothing touches the network here."""
        if self._key is None:
            raise UpstreamUnavailable(
                self.name,
                self.url,
                f"needs the environment variable {self._cfg.api_key_env}, which is not set",
                kind="config",
            )
        body = to_messages_body(request, call.model, default_max_tokens=self._cfg.default_max_tokens, stream=stream)
        headers = {
            **self._cfg.headers,
            "x-api-key": self._key,
            "anthropic-version": self._cfg.anthropic_version,
            "content-type": "application/json",
        }
        return headers, msgspec.json.encode(body)

    def _where(self, call: Call) -> Where:
        return Where(self.name, self.url, call.connect_timeout, call.total_timeout, "", self._cfg.max_connections)

    def _status_error(self, response: httpx.Response) -> UpstreamStatusError:
        upstream_type: str | None = None
        try:
            detail_struct = msgspec.json.decode(response.content, type=_ErrorEnvelope).error
            upstream_type, detail = detail_struct.type, detail_struct.message
        except msgspec.DecodeError:
            detail = response.text[:_ERROR_PREVIEW].strip()
        return UpstreamStatusError(
            self.name,
            self.url,
            detail or f"HTTP {response.status_code}",
            status=response.status_code,
            retry_after=retry_after(response.headers),
            upstream_type=upstream_type,
        )


class _ErrorEnvelope(msgspec.Struct):
    error: _ErrorDetail


def _emulated(request: ChatRequest) -> list[str]:
    return split_stops(request.stop_list(), refuses=is_blank)[1]


def _timeout(call: Call) -> httpx.Timeout:
    return httpx.Timeout(call.total_timeout, connect=call.connect_timeout)
