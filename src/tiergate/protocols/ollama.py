"""Egress, tiergate → an Ollama server: the request for ``/api/chat`` (or ``/api/generate`` for a
fill-in-the-middle completion), and the answer, its NDJSON stream and error bodies read back. Pure.

Ollama's chat differs from OpenAI's in ways clients notice, so this codec repairs them: tool calls arrive
whole and without ids (ids and indexes are synthesized, argument objects JSON-encoded, and
``finish_reason: "tool_calls"`` set here because Ollama reports ``stop``); tool results name the tool
rather than the call (looked up from the assistant's earlier calls); images travel as base64 without the
data-URL prefix, and only data URLs can be sent (Ollama cannot fetch a URL).

Ollama has no ``tool_choice`` either. A required call (``"required"``, a named function) cannot be forced,
so the answer is checked instead (:func:`call_rule`, :mod:`tiergate.protocols.tool_choice`): a whole answer
without a call, or a stream that ends without one, is refused (the request falls back), and a stream holds
what it says until its first call, so a refused answer leaves nothing behind. So is a call to another tool
than the one named, as soon as it comes; a call to a tool the request does not declare is the client's to
answer, as any client answers a tool it does not have.

A legacy completion with a ``suffix`` (an editor's autocomplete: the text before and after the cursor) goes
to ``/api/generate`` with ``prompt`` and ``suffix``, so the model's own fill-in-the-middle template is used.
One without a suffix is text to continue (an editor that put the cursor's surroundings in its own
fill-in-the-middle template, as Continue does): ``/api/generate`` with ``raw: true``, so no chat template
wraps it.

    path, body = encode(request, "qwen2.5-coder:7b", stream=True, keep_alive="10m")
    reader = StreamReader("ollama", url, calls=call_rule(request))
    events = reader.feed(line)                    # one NDJSON line; reader.done after the done line
    completion = whole_answer("ollama", url, body, calls=call_rule(request))
    error = status_error("ollama", url, 404, body, model="qwen2.5-coder:7b")
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from tiergate.errors import (
    RequestError,
    UpstreamCapabilityError,
    UpstreamProtocolError,
    UpstreamStatusError,
    exceeds_context,
)
from tiergate.protocols import extras
from tiergate.protocols.overflow import too_long
from tiergate.protocols.tool_choice import CallRule, named_tool
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

CHAT = "/api/chat"
GENERATE = "/api/generate"
_ERROR_PREVIEW = 200
_encode = msgspec.json.Encoder().encode


# --- the request ----------------------------------------------------------------------------------


def encode(
    request: ChatRequest,
    model: str,
    *,
    stream: bool,
    keep_alive: str | float | None = None,
    num_ctx: int | None = None,
    thinking: bool = False,
) -> tuple[str, bytes]:
    """The path and body for ``request``; raises :class:`RequestError` for what Ollama cannot take, before
    any byte goes upstream (:class:`ImageURLRefused` for an image URL, which another target may fetch).

    ``num_ctx`` is the target's context window (``options.num_ctx``: the same for every request to the
    model, since Ollama reloads a model whose ``num_ctx`` changes). With ``thinking`` (the target's
    ``capabilities.thinking``), ``reasoning_effort`` becomes ``think``: ``false`` for ``none`` and
    ``minimal``, ``true`` for any other level (level strings are taken by some models
    only, so the boolean is sent)."""
    body: dict[str, Any] = {"model": model, "stream": stream}
    if request.suffix is not None or request.continuation:
        path = GENERATE
        body.update(_generate_fields(request))
        if request.suffix is None:
            body["raw"] = True
    else:
        path = CHAT
        body["messages"] = messages(request.messages)
        if tools := _tools(request):
            body["tools"] = tools
    if (fmt := output_format(request.response_format)) is not None:
        body["format"] = fmt
    if thinking and (effort := request.effort()) is not None:
        body["think"] = effort not in _NO_THINK
    if options := _options(request, num_ctx):
        body["options"] = options
    if keep_alive is not None:
        body["keep_alive"] = keep_alive
    return path, _encode(body)


def _generate_fields(request: ChatRequest) -> dict[str, Any]:
    """``prompt`` (the text before the cursor: the last user turn), ``suffix`` if any, and ``system`` if any."""
    prompt = next((m.text() for m in reversed(request.messages) if m.role == "user"), "")
    fields: dict[str, Any] = {"prompt": prompt}
    if request.suffix is not None:
        fields["suffix"] = request.suffix
    system = "\n\n".join(t for m in request.messages if m.role in ("system", "developer") and (t := m.text()))
    if system:
        fields["system"] = system
    return fields


def messages(history: Sequence[Message]) -> list[dict[str, Any]]:
    """Ollama identifies a tool result by the tool's name, so names are remembered by call id as we go.

    A tool message carries only text, so a tool result's images go, after the run of tool messages it is
    in, into a ``user`` message of their own (``Images from tool call <id>:`` and ``images``), one per call.
    """
    tool_names: dict[str, str] = {}
    translated: list[dict[str, Any]] = []
    held: list[dict[str, Any]] = []  # the user messages with the images of the current run's tool results
    for i, message in enumerate(history):
        tool = message.role in ("tool", "function")
        if not tool:
            translated.extend(held)
            held = []
        translated.append(_message(message, i, tool_names))
        if tool and (images := message.images()):
            call = message.tool_call_id or message.name or ""
            encoded = [image_base64(url, message.where(i)) for url in images]
            held.append({"role": "user", "content": f"Images from tool call {call}:", "images": encoded})
        tool_names.update({c.id: c.function.name for c in message.tool_calls or []})
    translated.extend(held)
    return translated


def _message(message: Message, i: int, tool_names: Mapping[str, str]) -> dict[str, Any]:
    if message.role in ("system", "developer"):
        return {"role": "system", "content": message.text()}
    if message.role in ("tool", "function"):
        result: dict[str, Any] = {"role": "tool", "content": message.text()}
        if name := tool_names.get(message.tool_call_id or "") or message.name:
            result["tool_name"] = name
        return result
    translated: dict[str, Any] = {"role": message.role, "content": message.text()}
    if images := message.images():
        translated["images"] = [image_base64(url, message.where(i)) for url in images]
    if message.tool_calls:
        if not translated["content"]:
            del translated["content"]  # a turn of only tool calls, as Ollama writes it
        translated["tool_calls"] = [_tool_call(c) for c in message.tool_calls]
    return translated


class ImageURLRefused(RequestError):
    """An image given by URL, which Ollama cannot fetch. The request is fine (another target may take the
    URL), so the backend raises it as an :class:`UpstreamCapabilityError`, which falls back."""


def image_base64(url: str, param: str = "messages") -> str:
    """A data URL's image as the base64 text Ollama takes (percent-encoded data URLs are re-encoded)."""
    if not url.startswith("data:"):
        raise ImageURLRefused(
            f"{param}: an image by URL, which Ollama cannot fetch (it takes only data: URL images)", param=param
        )
    if "," not in url:
        raise RequestError(f"{param}: the ollama backend accepts only data: URL images", param=param)
    header, payload = url[len("data:") :].split(",", 1)
    if not header.endswith(";base64"):
        return base64.b64encode(urllib.parse.unquote_to_bytes(payload)).decode("ascii")
    packed = "".join(payload.split())
    try:
        base64.b64decode(packed, validate=True)
    except binascii.Error as exc:
        raise RequestError(f"{param}: an image data URL is not valid base64", param=param) from exc
    return packed


def _tool_call(call: ToolCall) -> dict[str, Any]:
    """Ollama wants the arguments as an object; clients echo back the JSON string (empty for no arguments),
    and text that is not a JSON object goes as ``{"arguments": <text>}``."""
    return {"function": {"name": call.function.name, "arguments": call.function.arguments_object()}}


def _tools(request: ChatRequest) -> list[dict[str, Any]]:
    """OpenAI's function tools are Ollama's shape already. Ollama has no ``tool_choice``: ``"none"`` is
    honoured by not offering the tools at all, a named function by offering only that tool. Neither that nor
    ``"required"`` makes the model call one: :func:`call_rule` says what the answer is checked for."""
    if not request.tools or request.tool_choice == "none":
        return []
    tools = request.tools
    if (name := named_tool(request.tool_choice)) is not None:
        tools = [tool for tool in tools if tool.function.name == name]
    return [{"type": "function", "function": msgspec.to_builtins(tool.function)} for tool in tools]


def call_rule(request: ChatRequest) -> CallRule | None:
    """What the answer's tool calls are checked for (Ollama cannot force ``tool_choice``): a call where the
    client demanded one (``"required"``, which Anthropic's ``any`` and Responses' ``required`` are too, or a
    named function, which Anthropic's ``{type: tool}`` is), and only to the named tool. None for
    ``/api/generate``, which has no tools.

        reader = StreamReader("ollama", url, calls=call_rule(request))
    """
    if request.suffix is not None or request.continuation:
        return None
    return CallRule.of(request, why="Ollama cannot force one")


def tool_call_required(request: ChatRequest) -> bool:
    """Whether the answer must call a tool (:func:`call_rule`)."""
    rule = call_rule(request)
    return rule is not None and rule.required


#: The ``reasoning_effort`` levels sent as ``think: false`` (on a target with ``capabilities.thinking``); any
#: other level, including those above ``high`` (Codex's ``xhigh``, ``max``, ``ultra``), is ``think: true``.
_NO_THINK = frozenset({"none", "minimal"})


def _options(request: ChatRequest, num_ctx: int | None = None) -> dict[str, Any]:
    """The request's ``options``: the fields tiergate models, then those of the body's other parameters that
    Ollama has (:func:`~tiergate.protocols.extras.for_ollama`: ``min_p``, ``repetition_penalty`` as
    ``repeat_penalty``)."""
    chosen = {
        "temperature": request.temperature,
        "top_p": request.top_p,
        "top_k": request.top_k,
        "presence_penalty": request.presence_penalty,
        "frequency_penalty": request.frequency_penalty,
        "num_predict": request.output_limit(),
        "num_ctx": num_ctx,
        "stop": request.stop_list() or None,
        "seed": request.seed,
    }
    options = {key: value for key, value in chosen.items() if value is not None}
    return {**options, **extras.for_ollama(request.extra)}


def output_format(requested: Mapping[str, Any] | None) -> str | dict[str, Any] | None:
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


# --- what Ollama sends back ---------------------------------------------------------------------------


class _Function(msgspec.Struct):
    name: str = ""
    #: An object from Ollama itself; some servers that imitate its protocol send the JSON as a string,
    #: passed on as it came (as the OpenAI-compatible backend passes malformed arguments on).
    arguments: dict[str, Any] | str = {}


class _ToolCall(msgspec.Struct):
    function: _Function


class _Message(msgspec.Struct):
    content: str = ""
    thinking: str | None = None
    tool_calls: list[_ToolCall] | None = None


class _Part(msgspec.Struct):
    """A line of ``/api/chat`` (``message``) or ``/api/generate`` (``response``, ``thinking``), a whole
    answer of either, or an error body."""

    message: _Message | None = None
    response: str | None = None
    thinking: str | None = None
    done: bool = False
    done_reason: str | None = None
    prompt_eval_count: int | None = None
    eval_count: int | None = None
    error: str | None = None

    def text(self) -> str:
        return self.message.content if self.message is not None else self.response or ""

    def reasoning(self) -> str | None:
        return self.message.thinking if self.message is not None else self.thinking


_decode_part = msgspec.json.Decoder(_Part).decode


def whole_answer(backend: str, url: str, body: bytes, *, calls: CallRule | None = None) -> Completion:
    """A non-stream answer, read strictly: an error object in a 200 is a failed generation, an answer
    that is not ``done`` was cut off (a short answer must never pass for a whole one), and one whose tool
    calls ``calls`` does not allow did not do what the client demanded."""
    part = _part(backend, url, body)
    if not part.done:
        raise UpstreamProtocolError(backend, url, "the answer is incomplete (done: false)", started=True)
    made = [_openai_call(c) for c in (part.message.tool_calls if part.message else None) or []]
    if calls is not None:
        for index, call in enumerate(made):
            calls.check(call.function.name, backend, url, index)
        if calls.required and not made:
            raise calls.missing(backend, url)
    text = part.text()
    return Completion(
        content=None if made and not text else text,
        tool_calls=made,
        finish_reason=_finish_reason(part.done_reason, bool(made)),
        usage=_usage(part),
        reasoning=part.reasoning() or None,
    )


class StreamReader:
    """Turns NDJSON lines into stream events, numbering tool calls across lines. ``done`` turns true at
    the line that says so (its Finish and UsageReport are among its events).

    With ``calls``, a tool call it does not allow raises as it comes; where it requires one, what the
    model says before its first tool call (text, thinking) is held, not returned: it comes out with that
    call, and a stream that ends without one raises :meth:`~CallRule.missing` with nothing said, so the
    request can fall back. ``counted`` is the done line's usage then, which the upstream counted although no
    answer came of it."""

    def __init__(self, backend: str, url: str, *, calls: CallRule | None = None) -> None:
        self._backend = backend
        self._url = url
        self._rule = calls
        self._tool_calls = 0
        self._held: list[StreamEvent] | None = [] if calls is not None and calls.required else None
        self.done = False
        self.counted: Usage | None = None

    def feed(self, line: bytes) -> list[StreamEvent]:
        if not line.strip():
            return []
        part = _part(self._backend, self._url, line)
        events: list[StreamEvent] = []
        if thinking := part.reasoning():
            events.append(ReasoningDelta(thinking))
        if text := part.text():
            events.append(TextDelta(text))
        for upstream in (part.message.tool_calls if part.message else None) or []:
            call = _openai_call(upstream)
            if self._rule is not None:
                self._rule.check(call.function.name, self._backend, self._url, self._tool_calls)
            index, self._tool_calls = self._tool_calls, self._tool_calls + 1
            events += [ToolCallStart(index, call.id, call.function.name), ToolCallArgs(index, call.function.arguments)]
        usage = _usage(part) if part.done else None
        if self._held is not None and self._rule is not None:
            if not self._tool_calls:
                if part.done:
                    self.counted = usage
                    raise self._rule.missing(self._backend, self._url)
                self._held += events
                return []
            events, self._held = self._held + events, None
        if part.done:
            self.done = True
            events.append(Finish(_finish_reason(part.done_reason, self._tool_calls > 0)))
            if usage is not None:
                events.append(UsageReport(usage))
        return events


def _part(backend: str, url: str, data: bytes) -> _Part:
    """One decoded line or body; an ``{"error": ...}`` in a 200 (a failed generation) raises it: after the
    200 the call may already be generated, so it is never retried on the same target."""
    try:
        part = _decode_part(data)
    except msgspec.DecodeError as exc:
        raise UpstreamProtocolError(backend, url, f"unreadable response: {exc}", started=True) from exc
    if part.error is not None:
        raise UpstreamStatusError(backend, url, part.error or "error", status=502, started=True)
    return part


def _openai_call(upstream: _ToolCall) -> ToolCall:
    given = upstream.function.arguments
    arguments = given if isinstance(given, str) else json.dumps(given, ensure_ascii=False)
    return ToolCall(id=f"call_{secrets.token_hex(12)}", function=FunctionCall(upstream.function.name, arguments))


def _finish_reason(done_reason: str | None, any_tool_calls: bool) -> FinishReason:
    """Ollama says ``stop`` after tool calls; OpenAI clients wait for ``tool_calls`` to run them. ``length``
    comes first, tool calls or not, as from an OpenAI-compatible server: an answer the output limit ended is
    cut short (more calls, or more of the last one's arguments, may have been coming), and a client told
    ``tool_calls`` (Messages: ``tool_use``; Responses: ``completed``) runs it without knowing."""
    if done_reason == "length":
        return "length"
    return "tool_calls" if any_tool_calls else "stop"


def reported_usage(body: bytes) -> Usage | None:
    """What a whole answer's body counted, read leniently (for charging an answer that was refused), or None."""
    try:
        return _usage(_decode_part(body))
    except msgspec.DecodeError:
        return None


def _usage(part: _Part) -> Usage | None:
    """None when the done line carries neither count (spend then charges an estimate, not nothing)."""
    if part.prompt_eval_count is None and part.eval_count is None:
        return None
    return Usage.of(part.prompt_eval_count or 0, part.eval_count or 0)


# --- errors ---------------------------------------------------------------------------------------------


class _ErrorBody(msgspec.Struct):
    error: str | None = None


_ERROR_BODY = msgspec.json.Decoder(_ErrorBody).decode


def status_error(
    backend: str, url: str, status: int, body: bytes, *, model: str | None = None, retry_after: float | None = None
) -> UpstreamStatusError:
    """The error for an error status, with what the operator should do about the common ones: pull a model
    that is not there, fix a base URL that reaches something else, declare a capability the model lacks."""
    try:
        detail = _ERROR_BODY(body).error or ""
    except msgspec.DecodeError:
        detail = body[:_ERROR_PREVIEW].decode("utf-8", "replace").strip()
    detail = detail or f"HTTP {status}"
    if status == 400 and "does not support" in detail:  # "<model> does not support tools" (or insert, thinking)
        hint = f"{detail} (declare it in this target's capabilities so tiergate skips it without a call)"
        return UpstreamCapabilityError(backend, url, hint)
    if exceeds_context(status, detail):  # a bigger window elsewhere may take it
        return too_long(backend, url, detail, status=status)
    if status == 404 and model and "model" in detail.lower():
        detail = f"model '{model}' not found on Ollama; pull it with `ollama pull {model}`"
    elif status == 404:
        detail = f"{detail}; check backends.{backend}.base_url"
    return UpstreamStatusError(backend, url, detail, status=status, retry_after=retry_after)
