"""OpenAI-compatible upstreams (llama.cpp server, LM Studio, vLLM, OpenAI itself) over one httpx client.

tiergate's internal format already is the OpenAI chat format, so the request needs little more than the
upstream's model id. The work is in reading back: tolerant where these servers differ harmlessly
(``reasoning`` vs ``reasoning_content``, parallel tool calls that all claim index 0, no ``[DONE]`` after a
finish), strict where a client would otherwise take a broken answer for a whole one (bad JSON, a stream
cut before its finish). httpx exceptions are translated here and nowhere else.

    backend = OpenAIBackend("vllm", cfg, os.environ)
    async for event in backend.stream(request, Call(model=target.model)): ...
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

import httpx
import msgspec

from tiergate.backends.base import BackendConfigBase, Call, drain, retry_after, secret_from_env
from tiergate.backends.client import UpstreamClient
from tiergate.backends.failures import Where, transport_failure
from tiergate.errors import (
    UpstreamCapabilityError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamUnavailable,
    refuses_format,
)
from tiergate.wire import (
    ChatRequest,
    Completion,
    Finish,
    FinishReason,
    FunctionCall,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallArgs,
    ToolCallStart,
    Usage,
    UsageReport,
)

PROBE_TIMEOUT = 2.0
ProtocolErrorFactory = Callable[[str], UpstreamProtocolError]
"""Lets the pure translation code below raise the backend's protocol error without knowing its URL."""

_FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}


# --- what the upstream sends back (unknown fields ignored: servers add their own) -----------


class _Function(msgspec.Struct):
    name: str | None = None
    arguments: str | dict[str, Any] | None = None


class _ToolCall(msgspec.Struct):
    index: int | None = None
    id: str | None = None
    function: _Function | None = None


class _Message(msgspec.Struct):
    """Both ``choices[].message`` (whole answers) and ``choices[].delta`` (stream chunks)."""

    content: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    tool_calls: list[_ToolCall] | None = None

    def thinking(self) -> str | None:
        return self.reasoning_content or self.reasoning


class _Choice(msgspec.Struct):
    message: _Message | None = None
    delta: _Message | None = None
    finish_reason: str | None = None


class _Usage(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class _ErrorDetail(msgspec.Struct):
    message: str | None = None
    type: str | None = None
    code: int | str | None = None


class _Payload(msgspec.Struct):
    """A ``chat.completion``, a ``chat.completion.chunk`` or an error body: one shape reads all three.

    vLLM's older error bodies put ``message`` and ``code`` at the top level; LM Studio sometimes sends
    ``{"error": "text"}``.
    """

    choices: list[_Choice] = []
    usage: _Usage | None = None
    error: _ErrorDetail | str | None = None
    message: str | None = None
    code: int | str | None = None


# --- the backend ----------------------------------------------------------------------------


class OpenAIBackendConfig(BackendConfigBase, tag="openai", frozen=True):
    """An OpenAI-compatible server (llama.cpp server, LM Studio, vLLM, OpenAI): `POST
    {base_url}/chat/completions`, so `base_url` includes `/v1`."""

    api_key_env: str | None = None
    """Name of the environment variable holding a bearer token, sent as `Authorization: Bearer ...`.
    Default: none (no Authorization header)."""

    def build(self, name: str, environ: Mapping[str, str]) -> OpenAIBackend:
        return OpenAIBackend(name, self, environ)


class OpenAIBackend:
    """One upstream speaking ``POST {base_url}/chat/completions``; ``base_url`` includes ``/v1``."""

    def __init__(self, name: str, cfg: OpenAIBackendConfig, environ: Mapping[str, str]) -> None:
        self.name = name
        self.url = cfg.base_url.rstrip("/")
        self._key_env = cfg.api_key_env
        self._key = secret_from_env(cfg.api_key_env, environ)
        self._headers = _auth_headers(cfg.headers, self._key)
        self._client = UpstreamClient(cfg.max_connections)
        self._max_connections = cfg.max_connections

    def missing(self) -> str | None:
        if self._key_env and self._key is None:
            return f"environment variable {self._key_env} (api_key_env) is not set"
        return None

    async def complete(self, request: ChatRequest, call: Call) -> Completion:
        self._require_configured()
        with self._transport_errors(call):
            response = await self._client.post(
                f"{self.url}/chat/completions",
                content=_request_body(request, call, stream=False),
                headers={**self._headers, "accept": "application/json"},
                timeout=_timeout(call),
            )
        if response.is_error:
            raise self._status_error(response)
        payload = self._decode(response.content, "response body")
        self._raise_embedded_error(payload)
        return _completion(payload, self._protocol_error)

    async def stream(self, request: ChatRequest, call: Call) -> AsyncIterator[StreamEvent]:
        """Events in upstream order; Finish (and UsageReport) are held back until the stream's end,
        because OpenAI sends usage in a chunk after the one that carries ``finish_reason``."""
        self._require_configured()
        assembler = _StreamAssembler(self._protocol_error)
        done = False
        with self._transport_errors(call):
            async with self._client.stream(
                "POST",
                f"{self.url}/chat/completions",
                content=_request_body(request, call, stream=True),
                headers={**self._headers, "accept": "text/event-stream"},
                timeout=_timeout(call),
            ) as response:
                if response.is_error:
                    await response.aread()
                    raise self._status_error(response)
                lines = response.aiter_lines()
                async for line in lines:
                    data = _sse_data(line)
                    if data is None:
                        continue
                    if data == "[DONE]":
                        done = True
                        await drain(lines)
                        break
                    payload = self._decode(data.encode(), "stream event")
                    self._raise_embedded_error(payload)
                    for event in assembler.feed(payload):
                        yield event
        for event in assembler.close(done):
            yield event

    async def probe(self) -> str | None:
        if (reason := self.missing()) is not None:
            return reason
        try:
            response = await self._client.get(f"{self.url}/models", headers=self._headers, timeout=PROBE_TIMEOUT)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}".rstrip(": ")
        return None if response.is_success else f"GET /models answered HTTP {response.status_code}"

    async def aclose(self) -> None:
        await self._client.aclose()

    # --- errors: everything raised above the transport is built here ------------------------

    def _require_configured(self) -> None:
        """Fail before any network call: an unauthenticated request would only earn a 401 later."""
        if (reason := self.missing()) is not None:
            raise UpstreamUnavailable(self.name, self.url, reason, kind="config")

    @contextlib.contextmanager
    def _transport_errors(self, call: Call) -> Iterator[None]:
        """httpx's exceptions become tiergate's through the one table (tiergate.backends.failures)."""
        try:
            yield
        except httpx.HTTPError as exc:
            where = Where(self.name, self.url, call.connect_timeout, call.total_timeout, "", self._max_connections)
            raise transport_failure(exc, where) from exc

    def _status_error(self, response: httpx.Response) -> UpstreamStatusError:
        message, upstream_type = _error_message(response)
        if refuses_format(response.status_code, message):
            # llama-cpp-python answers a json_schema response_format with a 500 naming it: the server is
            # healthy, it just does not take that format; another target (or json_object) may.
            return UpstreamCapabilityError(
                self.name, self.url, f"HTTP {response.status_code}: {message}", status=response.status_code
            )
        return UpstreamStatusError(
            self.name,
            self.url,
            f"HTTP {response.status_code}: {message}",
            status=response.status_code,
            retry_after=retry_after(response.headers),
            upstream_type=upstream_type,
        )

    def _raise_embedded_error(self, payload: _Payload) -> None:
        """An error object inside a 200 (mid-stream, or a server that never sets a status)."""
        if payload.error is None:
            return
        error = payload.error
        if isinstance(error, str):
            message, code, upstream_type = error, payload.code, None
        else:
            message, code, upstream_type = error.message or "unknown error", error.code, error.type
        status = code if isinstance(code, int) and 400 <= code <= 599 else 502
        raise UpstreamStatusError(
            self.name, self.url, f"error in answer: {message}", status=status, upstream_type=upstream_type, started=True
        )

    def _decode(self, data: bytes, what: str) -> _Payload:
        try:
            return msgspec.json.decode(data, type=_Payload)
        except msgspec.DecodeError as exc:
            raise self._protocol_error(f"invalid JSON in {what}: {exc}") from exc

    def _protocol_error(self, detail: str) -> UpstreamProtocolError:
        return UpstreamProtocolError(self.name, self.url, detail, started=True)


# --- request --------------------------------------------------------------------------------


def _auth_headers(configured: Mapping[str, str], key: str | None) -> dict[str, str]:
    headers = {name.lower(): value for name, value in configured.items()}
    headers["content-type"] = "application/json"
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    return headers


def _timeout(call: Call) -> httpx.Timeout:
    return httpx.Timeout(call.total_timeout, connect=call.connect_timeout)


def _request_body(request: ChatRequest, call: Call, *, stream: bool) -> bytes:
    """The client's request as-is, minus tiergate's own fields, with the portable spellings.

    ``developer`` and ``max_completion_tokens`` are newer than several local servers' chat templates,
    so they go out as ``system`` and ``max_tokens``, which every compatible server accepts.
    """
    body: dict[str, Any] = msgspec.to_builtins(request)
    body.pop("provider", None)
    body.pop("metadata", None)
    body.pop("max_completion_tokens", None)
    if (limit := request.output_limit()) is not None:
        body["max_tokens"] = limit
    for message in body["messages"]:
        if message.get("role") == "developer":
            message["role"] = "system"
    body["model"] = call.model
    body["stream"] = stream
    if stream:
        body["stream_options"] = {"include_usage": True}
    else:
        body.pop("stream_options", None)
    return msgspec.json.encode(body)


# --- whole answers --------------------------------------------------------------------------


def _completion(payload: _Payload, protocol_error: ProtocolErrorFactory) -> Completion:
    choice = payload.choices[0] if payload.choices else None
    message = choice.message if choice is not None else None
    if choice is None or message is None:
        raise protocol_error("answer has no choices[0].message")
    if choice.finish_reason is None:  # cut off mid-generation: a short answer must never pass for a whole one
        raise protocol_error("the answer has no finish_reason: it is incomplete")
    tool_calls = [_whole_tool_call(tc, protocol_error) for tc in message.tool_calls or []]
    return Completion(
        content=message.content,
        tool_calls=tool_calls,
        finish_reason=_finish_reason(choice.finish_reason, has_tool_calls=bool(tool_calls)),
        usage=_usage(payload.usage),
        reasoning=message.thinking(),
    )


def _whole_tool_call(tc: _ToolCall, protocol_error: ProtocolErrorFactory) -> ToolCall:
    if tc.function is None or not tc.function.name:
        raise protocol_error("tool call without a function name")
    arguments = tc.function.arguments
    if not isinstance(arguments, str):
        arguments = msgspec.json.encode(arguments or {}).decode()
    return ToolCall(id=tc.id or _new_call_id(), function=FunctionCall(name=tc.function.name, arguments=arguments))


def _finish_reason(raw: str | None, *, has_tool_calls: bool) -> FinishReason:
    """Unknown reasons read as ``stop``; a server that says ``stop`` after tool calls meant ``tool_calls``."""
    reason = _FINISH_REASONS.get(raw or "", "stop")
    return "tool_calls" if has_tool_calls and reason == "stop" else reason


def _usage(raw: _Usage | None) -> Usage | None:
    if raw is None:
        return None
    return Usage.of(raw.prompt_tokens or 0, raw.completion_tokens or 0)


def _new_call_id() -> str:
    return f"call_{secrets.token_hex(12)}"


# --- streams --------------------------------------------------------------------------------


def _sse_data(line: str) -> str | None:
    """The payload of a ``data:`` line; None for comments, ``event:`` / ``id:`` lines and blank lines."""
    if not line.startswith("data:"):
        return None
    return line[5:].strip()


class _StreamAssembler:
    """Turns decoded chunks into stream events, numbering tool calls in the order they open.

    Upstream tool-call indexes are mapped, not trusted: some servers number every parallel call 0, so a
    new ``id`` under a known index opens a new call.
    """

    def __init__(self, protocol_error: ProtocolErrorFactory) -> None:
        self._protocol_error = protocol_error
        self._calls: dict[int | None, tuple[int, str]] = {}
        self._opened = 0
        self._finish: str | None = None
        self._usage: Usage | None = None

    def feed(self, payload: _Payload) -> Iterator[StreamEvent]:
        if payload.usage is not None:
            self._usage = _usage(payload.usage)
        for choice in payload.choices[:1]:
            if choice.delta is not None:
                yield from self._delta(choice.delta)
            if choice.finish_reason:
                self._finish = choice.finish_reason

    def close(self, done: bool) -> Iterator[StreamEvent]:
        """After ``[DONE]`` a missing finish reads as ``stop``; without either the answer may be cut short."""
        if self._finish is None and not done:
            raise self._protocol_error("stream ended before finish")
        yield Finish(_finish_reason(self._finish, has_tool_calls=self._opened > 0))
        if self._usage is not None:
            yield UsageReport(self._usage)

    def _delta(self, delta: _Message) -> Iterator[StreamEvent]:
        if thinking := delta.thinking():
            yield ReasoningDelta(thinking)
        if delta.content:
            yield TextDelta(delta.content)
        for tc in delta.tool_calls or []:
            yield from self._tool_call(tc)

    def _tool_call(self, tc: _ToolCall) -> Iterator[StreamEvent]:
        function = tc.function or _Function()
        known = self._calls.get(tc.index)
        opens = (tc.id is not None and (known is None or known[1] != tc.id)) or (known is None and bool(function.name))
        if opens:
            own = self._opened
            self._opened += 1
            call_id = tc.id or _new_call_id()
            self._calls[tc.index] = (own, call_id)
            yield ToolCallStart(index=own, id=call_id, name=function.name or "")
        elif known is None:
            raise self._protocol_error("tool call arguments before the call's id and name")
        own = self._calls[tc.index][0]
        arguments = function.arguments
        if isinstance(arguments, dict):
            arguments = msgspec.json.encode(arguments).decode()
        if arguments:
            yield ToolCallArgs(index=own, arguments=arguments)


def _error_message(response: httpx.Response) -> tuple[str, str | None]:
    """The message and type from an OpenAI-shaped error body, else a short excerpt of whatever came."""
    try:
        body = msgspec.json.decode(response.content, type=_Payload)
    except msgspec.DecodeError:
        excerpt = response.text.strip()[:200]
        return excerpt or response.reason_phrase or "error", None
    if isinstance(body.error, _ErrorDetail) and body.error.message:
        return body.error.message, body.error.type
    if isinstance(body.error, str):
        return body.error, None
    return body.message or response.reason_phrase or "error", None
