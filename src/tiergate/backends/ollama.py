"""The Ollama backend: OpenAI chat in, ``ollama.AsyncClient.chat`` out, and back.

Ollama's chat differs from OpenAI's in ways clients notice, so this module repairs them:
tool calls arrive whole and without ids (ids and indexes are synthesized, argument dicts JSON-encoded,
``finish_reason: "tool_calls"`` set here because Ollama reports ``stop``); tool results need the tool's
name rather than a call id; images travel as bytes (the client would read a string as a file path).
Every ollama/httpx/pydantic exception is translated into :mod:`tiergate.errors` in ``_translated``.

Tool parameter schemas pass through ``ollama.Tool``, which keeps only what Ollama's own schema knows
(nested object properties and keywords such as ``anyOf`` are dropped; the Ollama server drops them too).

    backend = OllamaBackend("ollama", OllamaBackendConfig(base_url="http://127.0.0.1:11434"))
    completion = await backend.complete(request, Call(model=target.model))
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import dataclasses
import json
import secrets
import urllib.parse
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, Literal

import httpx
import msgspec
import ollama
import pydantic

from tiergate.backends.base import BackendConfigBase, Call, retry_after
from tiergate.backends.failures import Where, transport_failure
from tiergate.backends.transport import UpstreamTransport
from tiergate.errors import (
    RequestError,
    UpstreamCapabilityError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamStatusError,
)
from tiergate.wire import (
    ChatRequest,
    Completion,
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

PROBE_TIMEOUT = 2.0
"""Seconds a readiness probe may take: /ready must answer quickly even when Ollama does not."""


@dataclasses.dataclass(frozen=True)
class ChatArguments:
    """Everything ``AsyncClient.chat`` takes besides the model and ``stream``, already in Ollama's terms."""

    messages: list[dict[str, Any]]
    tools: list[ollama.Tool]
    options: dict[str, Any] | None
    format: Literal["", "json"] | dict[str, Any] | None
    keep_alive: str | None

    def as_kwargs(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


class OllamaBackendConfig(BackendConfigBase, tag="ollama", frozen=True):
    """An Ollama server (`/api/chat`)."""

    keep_alive: str | None = None
    """How long Ollama keeps the model loaded after a request (`10m`, `1h`, `-1` for ever), passed as
    `keep_alive`. Default: Ollama's own (5m)."""

    def build(self, name: str, environ: Mapping[str, str]) -> OllamaBackend:
        return OllamaBackend(name, self)


class OllamaBackend:
    """One configured Ollama server. Holds one ``ollama.AsyncClient`` per (connect, total) timeout pair,
    because httpx fixes timeouts per client; in practice every target shares one."""

    def __init__(self, name: str, cfg: OllamaBackendConfig) -> None:
        self.name = name
        self.url = cfg.base_url.rstrip("/")
        self._cfg = cfg
        self._clients: dict[tuple[float, float], ollama.AsyncClient] = {}

    def missing(self) -> str | None:
        return None

    async def complete(self, request: ChatRequest, call: Call) -> Completion:
        arguments = chat_arguments(request, self._cfg.keep_alive)
        client = self._client(call.connect_timeout, call.total_timeout)
        with self._translated(call.model, call):
            async with asyncio.timeout(call.total_timeout):
                response = await client.chat(model=call.model, stream=False, **arguments.as_kwargs())
        if not response.done:  # cut off mid-generation: a short answer must never pass for a whole one
            raise UpstreamProtocolError(self.name, self.url, "the answer is incomplete (done: false)", started=True)
        return to_completion(response)

    async def stream(self, request: ChatRequest, call: Call) -> AsyncIterator[StreamEvent]:
        arguments = chat_arguments(request, self._cfg.keep_alive)
        events = StreamTranslator()
        async with contextlib.aclosing(self._parts(arguments, call)) as parts:
            async for part in parts:
                for event in events.feed(part):
                    yield event
                if part.done:
                    return
        raise UpstreamProtocolError(self.name, self.url, "stream ended before done", started=True)

    async def probe(self) -> str | None:
        try:
            with self._translated(None):
                await self._client(PROBE_TIMEOUT, PROBE_TIMEOUT).list()
        except UpstreamError as exc:
            return exc.detail
        return None

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()  # type: ignore[no-untyped-call]  # unannotated in ollama 0.6.3

    async def _parts(self, arguments: ChatArguments, call: Call) -> AsyncGenerator[ollama.ChatResponse, None]:
        """The upstream's parts with errors translated and the whole call bounded by ``total_timeout``.
        The deadline is applied around each read, never across a ``yield``, so it cannot cancel the consumer."""
        deadline = asyncio.get_running_loop().time() + call.total_timeout
        client = self._client(call.connect_timeout, call.total_timeout)
        with self._translated(call.model, call):
            parts = await client.chat(model=call.model, stream=True, **arguments.as_kwargs())
        try:
            while True:
                with self._translated(call.model, call):
                    async with asyncio.timeout_at(deadline):
                        try:
                            part = await anext(parts)
                        except StopAsyncIteration:
                            return
                yield part
        finally:
            if isinstance(parts, AsyncGenerator):
                await parts.aclose()

    def _client(self, connect: float, total: float) -> ollama.AsyncClient:
        client = self._clients.get((connect, total))
        if client is None:
            client = ollama.AsyncClient(
                host=self.url,
                timeout=httpx.Timeout(total, connect=connect),
                headers=dict(self._cfg.headers),
                transport=UpstreamTransport(self._cfg.max_connections),
            )
            self._clients[(connect, total)] = client
        return client

    @contextlib.contextmanager
    def _translated(self, model: str | None, call: Call | None = None) -> Iterator[None]:
        """The one place foreign exceptions become tiergate errors. TypeError and AttributeError are here
        because the ollama client assumes every body is a JSON object (``cls(**body)``, ``part.get``)."""
        try:
            yield
        except ollama.ResponseError as exc:
            raise self._status_error(exc, model) from exc
        except (json.JSONDecodeError, pydantic.ValidationError, httpx.DecodingError, TypeError, AttributeError) as exc:
            detail = f"unreadable response: {_describe(exc)}"
            raise UpstreamProtocolError(self.name, self.url, detail, started=True) from exc
        except (httpx.HTTPError, TimeoutError, ConnectionError) as exc:
            # the ollama client turns httpx's ConnectError into Python's ConnectionError
            connect, total = (call.connect_timeout, call.total_timeout) if call else (PROBE_TIMEOUT, PROBE_TIMEOUT)
            where = Where(self.name, self.url, connect, total, self._refused_hint(), self._cfg.max_connections)
            raise transport_failure(exc, where) from exc

    def _status_error(self, exc: ollama.ResponseError, model: str | None) -> UpstreamStatusError:
        """Ollama's ``-1`` status marks an ``{"error": ...}`` line inside a 200 stream: a failed generation."""
        detail = str(exc.error) or f"HTTP {exc.status_code}"
        if exc.status_code == -1:  # after the 200: never retried on this target
            return UpstreamStatusError(self.name, self.url, detail, status=502, started=True)
        if exc.status_code == 400 and "does not support" in detail:  # e.g. "<model> does not support tools"
            hint = f"{detail} (declare it in this target's capabilities so tiergate skips it without a call)"
            return UpstreamCapabilityError(self.name, self.url, hint)
        if exc.status_code == 404 and model and "model" in detail.lower():
            detail = f"model '{model}' not found on Ollama; pull it with `ollama pull {model}`"
        elif exc.status_code == 404:
            detail = f"{detail}; check backends.{self.name}.base_url"
        return UpstreamStatusError(self.name, self.url, detail, status=exc.status_code, retry_after=_waited(exc))

    def _refused_hint(self) -> str:
        return f"is Ollama running? (set OLLAMA_HOST or edit backends.{self.name}.base_url)"


# --- OpenAI → Ollama ------------------------------------------------------------------------


def chat_arguments(request: ChatRequest, keep_alive: str | None) -> ChatArguments:
    """Raises :class:`RequestError` for what Ollama cannot take, before any byte goes upstream."""
    return ChatArguments(
        messages=ollama_messages(request.messages),
        tools=ollama_tools(request),
        options=ollama_options(request) or None,
        format=ollama_format(request.response_format),
        keep_alive=keep_alive,
    )


def ollama_messages(history: Sequence[Message]) -> list[dict[str, Any]]:
    """Ollama identifies a tool result by the tool's name, so names are remembered by call id as we go."""
    tool_names: dict[str, str] = {}
    translated = []
    for message in history:
        translated.append(ollama_message(message, tool_names))
        tool_names.update({c.id: c.function.name for c in message.tool_calls or []})
    return translated


def ollama_message(message: Message, tool_names: Mapping[str, str]) -> dict[str, Any]:
    if message.role in ("system", "developer"):
        return {"role": "system", "content": message.text()}
    if message.role in ("tool", "function"):
        name = tool_names.get(message.tool_call_id or "") or message.name
        return _without_none({"role": "tool", "content": message.text(), "tool_name": name})
    translated: dict[str, Any] = {"role": message.role, "content": message.text()}
    if images := message.images():
        translated["images"] = [image_bytes(url) for url in images]
    if message.tool_calls:
        translated["tool_calls"] = [_ollama_tool_call(c) for c in message.tool_calls]
    return translated


def image_bytes(url: str) -> bytes:
    """Decoded here because the ollama client treats any string image as a path to read from disk."""
    if not url.startswith("data:") or "," not in url:
        raise RequestError("ollama backend accepts only data: URL images", param="messages")
    header, payload = url[len("data:") :].split(",", 1)
    if not header.endswith(";base64"):
        return urllib.parse.unquote_to_bytes(payload)
    try:
        return base64.b64decode("".join(payload.split()), validate=True)
    except binascii.Error as exc:
        raise RequestError("image data URL is not valid base64", param="messages") from exc


def _ollama_tool_call(call: ToolCall) -> dict[str, Any]:
    return {"function": {"name": call.function.name, "arguments": _arguments_dict(call)}}


def _arguments_dict(call: ToolCall) -> dict[str, Any]:
    """Ollama wants the arguments as an object; clients echo back the JSON string (empty for no arguments)."""
    if not call.function.arguments.strip():
        return {}
    try:
        arguments = json.loads(call.function.arguments)
    except json.JSONDecodeError:
        arguments = None
    if not isinstance(arguments, dict):
        raise RequestError(f"arguments of tool call '{call.id}' must be a JSON object", param="messages")
    return arguments


def ollama_tools(request: ChatRequest) -> list[ollama.Tool]:
    """Ollama has no ``tool_choice``; ``"none"`` is honoured by not offering the tools at all."""
    if not request.tools or request.tool_choice == "none":
        return []
    return [_ollama_tool(msgspec.to_builtins(tool.function)) for tool in request.tools]


def _ollama_tool(function: dict[str, Any]) -> ollama.Tool:
    """Validated here so that a schema the client rejects is the client's request error, not Ollama's."""
    try:
        return ollama.Tool.model_validate({"type": "function", "function": function})
    except pydantic.ValidationError as exc:
        name = function.get("name")
        raise RequestError(f"tool '{name}' cannot be sent to Ollama: {_describe(exc)}", param="tools") from exc


def ollama_options(request: ChatRequest) -> dict[str, Any]:
    chosen = {
        "temperature": request.temperature,
        "top_p": request.top_p,
        "num_predict": request.output_limit(),
        "stop": request.stop_list() or None,
        "seed": request.seed,
    }
    return _without_none(chosen)


def ollama_format(requested: Mapping[str, Any] | None) -> Literal["json"] | dict[str, Any] | None:
    """``json_object`` is Ollama's ``"json"`` (or its schema, when one is given, as llama.cpp servers take
    it); a ``json_schema`` is passed as the schema itself."""
    requested = requested or {}
    if requested.get("type") == "json_object":
        schema = requested.get("schema")
        return schema if isinstance(schema, dict) else "json"
    if requested.get("type") == "json_schema":
        spec = requested.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        return schema if isinstance(schema, dict) else "json"
    return None


# --- Ollama → OpenAI ------------------------------------------------------------------------


def to_completion(response: ollama.ChatResponse) -> Completion:
    calls = [openai_tool_call(c) for c in response.message.tool_calls or []]
    text = response.message.content or ""
    return Completion(
        content=None if calls and not text else text,
        tool_calls=calls,
        finish_reason=finish_reason(response.done_reason, bool(calls)),
        usage=usage_of(response),
        reasoning=response.message.thinking or None,
    )


class StreamTranslator:
    """Turns Ollama parts into stream events, numbering tool calls across parts."""

    def __init__(self) -> None:
        self.tool_calls = 0

    def feed(self, part: ollama.ChatResponse) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if part.message.thinking:
            events.append(ReasoningDelta(part.message.thinking))
        if part.message.content:
            events.append(TextDelta(part.message.content))
        for upstream_call in part.message.tool_calls or []:
            events.extend(self._tool_events(openai_tool_call(upstream_call)))
        if part.done:
            events.append(Finish(finish_reason(part.done_reason, self.tool_calls > 0)))
            events.append(UsageReport(usage_of(part)))
        return events

    def _tool_events(self, call: ToolCall) -> list[StreamEvent]:
        index, self.tool_calls = self.tool_calls, self.tool_calls + 1
        return [ToolCallStart(index, call.id, call.function.name), ToolCallArgs(index, call.function.arguments)]


def openai_tool_call(upstream: ollama.Message.ToolCall) -> ToolCall:
    arguments = json.dumps(dict(upstream.function.arguments), ensure_ascii=False)
    return ToolCall(id=f"call_{secrets.token_hex(12)}", function=FunctionCall(upstream.function.name, arguments))


def finish_reason(done_reason: str | None, any_tool_calls: bool) -> FinishReason:
    """Ollama says ``stop`` after tool calls; OpenAI clients wait for ``tool_calls`` to run them."""
    if any_tool_calls:
        return "tool_calls"
    return "length" if done_reason == "length" else "stop"


def usage_of(response: ollama.ChatResponse) -> Usage:
    return Usage.of(response.prompt_eval_count or 0, response.eval_count or 0)


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _waited(exc: ollama.ResponseError) -> float | None:
    """Seconds the upstream asked us to wait (``retry-after-ms`` or ``retry-after``; HTTP dates ignored).

    The ollama client raises ``ResponseError(...) from None``, dropping the response, but Python keeps
    the ``httpx.HTTPStatusError`` it replaced as ``__context__``: its headers are still there.
    """
    context = exc.__context__
    if not isinstance(context, httpx.HTTPStatusError):
        return None
    return retry_after(context.response.headers)


def _describe(exc: Exception) -> str:
    """One line: pydantic's first line only counts the errors, so its first error is shown instead."""
    if isinstance(exc, pydantic.ValidationError) and exc.errors():
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc']) or 'body'}: {first['msg']}"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
