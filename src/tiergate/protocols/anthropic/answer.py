"""Egress, an Anthropic upstream → tiergate: a Messages answer or its stream read back into a ``Completion``
or stream events."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from tiergate.errors import UpstreamProtocolError, UpstreamStatusError, exceeds_context
from tiergate.protocols.anthropic.common import ERROR_STATUS, finish_reason
from tiergate.protocols.overflow import too_long
from tiergate.wire import (
    Completion,
    Finish,
    FinishReason,
    FunctionCall,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    Thinking,
    ToolCall,
    ToolCallArgs,
    ToolCallStart,
    Usage,
    UsageReport,
)

_ERROR_PREVIEW = 200


class _Usage(msgspec.Struct):
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None


class _ErrorDetail(msgspec.Struct):
    type: str = "api_error"
    message: str = ""


class _Block(msgspec.Struct):
    """Every content block kind in one lenient shape, so a new kind is skipped rather than fatal."""

    type: str
    text: str | None = None
    thinking: str | None = None
    signature: str | None = None
    data: str | None = None
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


def from_message(message: AnthropicMessage, *, answer_tool: str | None = None) -> Completion:
    """The Completion for a whole Messages answer: text joined, tool_use as calls, thinking as reasoning
    (and, signed, as ``thinking``, which a client may carry to the next request).

    With ``answer_tool`` (:func:`answer_tool_of`), that tool's input is the answer: its JSON is the text,
    the finish is ``stop``, and it is no tool call.

        completion = from_message(message, answer_tool="json_answer")
    """
    thinking = "".join(b.thinking or "" for b in message.content if b.type == "thinking")
    signed = [t for b in message.content if (t := _signed(b.type, b.thinking, b.signature, b.data)) is not None]
    totals = UsageTotals()
    totals.add(message.usage)
    text = "".join(b.text or "" for b in message.content if b.type == "text")
    if answer_tool is not None:  # without the tool's call (a refusal), Claude's text is what it said
        answer = next((b for b in message.content if b.type == "tool_use" and b.name == answer_tool), None)
        stop = message.stop_reason
        return Completion(
            content=json.dumps(answer.input or {}) if answer is not None else text or None,
            finish_reason="stop" if stop == "tool_use" and answer is not None else finish_reason(stop),
            usage=totals.usage(),
            reasoning=thinking or None,
            thinking=signed,
        )
    calls = [
        ToolCall(id=b.id or "", function=FunctionCall(name=b.name or "", arguments=json.dumps(b.input or {})))
        for b in message.content
        if b.type == "tool_use"
    ]
    return Completion(
        content=text if text or not calls else None,
        tool_calls=calls,
        finish_reason=finish_reason(message.stop_reason),
        usage=totals.usage(),
        reasoning=thinking or None,
        thinking=signed,
    )


def _signed(kind: str, thinking: str | None, signature: str | None, data: str | None) -> Thinking | None:
    """A ``thinking`` block with its signature, or a ``redacted_thinking`` block with its data; None for
    any other block, or one that came without what Anthropic needs to verify it."""
    if kind == "thinking" and signature:
        return Thinking(thinking=thinking or "", signature=signature)
    if kind == "redacted_thinking" and data:
        return Thinking(data=data)
    return None


class UsageTotals:
    """Anthropic reports usage piecemeal (message_start, then message_delta); the latest count wins."""

    def __init__(self) -> None:
        self.input = self.output = self.cache_read = self.cache_creation = 0
        #: Whether any count came at all.
        self.reported = False

    def add(self, usage: _Usage | None) -> None:
        if usage is None:
            return
        self.reported = True
        self.input = _latest(usage.input_tokens, self.input)
        self.output = _latest(usage.output_tokens, self.output)
        self.cache_read = _latest(usage.cache_read_input_tokens, self.cache_read)
        self.cache_creation = _latest(usage.cache_creation_input_tokens, self.cache_creation)

    def usage(self) -> Usage:
        """Cached prompt tokens are still prompt tokens to an OpenAI client; they are also kept apart
        (reads as ``cached_tokens``, writes as ``cache_write_tokens``), since they are priced apart."""
        prompt = self.input + self.cache_read + self.cache_creation
        return Usage.of(prompt, self.output, cached=self.cache_read, cache_write=self.cache_creation)


def _latest(value: int | None, current: int) -> int:
    return current if value is None else value


def error_in_answer(backend: str, url: str, error: _ErrorDetail) -> UpstreamStatusError:
    """An error the upstream reported after its success status line (an ``error`` event, or an error
    envelope as a 200 body): the status its type goes with, and never a retry on the same target."""
    status = ERROR_STATUS.get(error.type, 502)
    detail = error.message or error.type
    return UpstreamStatusError(backend, url, detail, status=status, upstream_type=error.type, started=True)


class _ErrorEnvelope(msgspec.Struct):
    error: _ErrorDetail


def status_error(
    backend: str, url: str, status: int, body: bytes, *, retry_after: float | None = None
) -> UpstreamStatusError:
    """The error for an error status, with the type and message of Anthropic's envelope
    (``{"type": "error", "error": {"type", "message"}}``), else an excerpt of whatever came."""
    upstream_type: str | None = None
    try:
        detail = msgspec.json.decode(body, type=_ErrorEnvelope).error
        upstream_type, message = detail.type, detail.message
    except msgspec.DecodeError:
        message = body[:_ERROR_PREVIEW].decode("utf-8", "replace").strip()
    if exceeds_context(status, message):  # "prompt is too long": a model with a bigger window may take it
        return too_long(backend, url, message, status=status, upstream_type=upstream_type)
    return UpstreamStatusError(
        backend,
        url,
        message or f"HTTP {status}",
        status=status,
        retry_after=retry_after,
        upstream_type=upstream_type,
    )


class _Counted(msgspec.Struct):
    usage: _Usage | None = None


def reported_usage(body: bytes) -> Usage | None:
    """The usage of a body :func:`whole_answer` refused (a message without its ``stop_reason``), if it has one."""
    try:
        counted = msgspec.json.decode(body, type=_Counted).usage
    except msgspec.DecodeError:
        return None
    totals = UsageTotals()
    totals.add(counted)
    return totals.usage() if totals.reported else None


def whole_answer(backend: str, url: str, body: bytes, *, answer_tool: str | None = None) -> Completion:
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
    return from_message(message, answer_tool=answer_tool)


# === egress: Messages stream → stream events =====================================================


class _Delta(msgspec.Struct):
    type: str | None = None
    text: str | None = None
    partial_json: str | None = None
    thinking: str | None = None
    signature: str | None = None
    stop_reason: str | None = None


class UpstreamEvent(msgspec.Struct):
    type: str = ""
    index: int | None = None
    message: AnthropicMessage | None = None
    content_block: _Block | None = None
    delta: _Delta | None = None
    usage: _Usage | None = None
    error: _ErrorDetail | None = None


#: The stream events that show the answer has begun (:attr:`StreamTranslator.answering`).
ANSWERING = frozenset(
    {"content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"}
)


class StreamTranslator:
    """Feeds on Anthropic stream events, one at a time, and answers with tiergate's.

    OpenAI numbers tool calls 0, 1, ...; Anthropic numbers every content block, so the translator
    keeps the map from block index to tool-call index. ``done`` turns true at ``message_stop``; ``stopped`` before
    it, once ``message_delta`` brought the stop reason with every content block stopped: the answer is whole, and
    a backend may feed it :data:`~.common.MESSAGE_STOP` itself when the upstream never sends one. With
    ``answer_tool`` (:func:`answer_tool_of`), that tool's input streams as the answer's text instead.
    A thinking block's text streams as it comes; when the block stops, a ``ReasoningDelta`` without text
    carries it whole with its signature (``sealed``), and a ``redacted_thinking`` block's data likewise.

        events = translator.feed("content_block_delta", data)
    """

    def __init__(self, backend: str, url: str, *, answer_tool: str | None = None) -> None:
        self._backend = backend
        self._url = url
        self._answer_tool = answer_tool
        self._answer_index: int | None = None
        #: Text beside a forced answer tool, held: the answer is the tool's JSON, and text is Claude's only
        #: when no such call came (a refusal), when it is sent at the end.
        self._held_text: list[str] = []
        self._tool_index: dict[int, int] = {}
        #: Tool calls whose arguments have begun (a no-argument call gets ``{}`` when its block stops).
        self._tool_args: set[int] = set()
        #: Blocks whose input the server fills in itself (``server_tool_use``: web search, code execution;
        #: ``mcp_tool_use``): their ``input_json_delta`` pieces are the server's business, not a tool call.
        self._server_blocks: set[int] = set()
        #: Open thinking blocks by index: (kind, text pieces, signature or redacted data).
        self._thinking: dict[int, tuple[str, list[str], list[str]]] = {}
        self._stop_reason: str | None = None
        #: Content blocks started and not yet stopped, by index.
        self._open: set[int] = set()
        self._usage = UsageTotals()
        self.done = False
        #: The answer has begun: an event past ``message_start`` and the keep-alive ``ping`` came (a content
        #: block, even one that translates to nothing, or the message's end).
        self.answering = False

    def feed(self, name: str, data: bytes | str) -> list[StreamEvent]:
        """The events for one upstream event (its SSE ``event:`` name, which may be empty, and its data)."""
        try:
            event = msgspec.json.decode(data, type=UpstreamEvent)
        except msgspec.DecodeError as exc:
            raise self._protocol(f"unreadable '{name or 'unnamed'}' stream event ({exc})") from exc
        kind = name or event.type
        self.answering = self.answering or kind in ANSWERING
        if kind == "content_block_start" and event.index is not None:
            self._open.add(event.index)
        elif kind == "content_block_stop" and event.index is not None:
            self._open.discard(event.index)
        if kind == "message_start":
            self._usage.add(event.message.usage if event.message else None)
        elif kind == "content_block_start":
            return self._block_start(event)
        elif kind == "content_block_delta":
            return self._block_delta(event)
        elif kind == "content_block_stop":
            return self._block_stop(event)
        elif kind == "message_delta":
            self._stop_reason = event.delta.stop_reason if event.delta else None
            self._usage.add(event.usage)
        elif kind == "message_stop":
            if self._stop_reason is None:  # as a whole message without one: cut off mid-generation
                raise self._protocol("message_stop without a stop_reason: the answer is incomplete")
            self.done = True
            said = [TextDelta("".join(self._held_text))] if self._held_text and self._answer_index is None else []
            return [*said, Finish(self._finish()), UsageReport(self._usage.usage())]
        elif kind == "error":
            raise error_in_answer(self._backend, self._url, event.error or _ErrorDetail())
        return []

    @property
    def stopped(self) -> bool:
        """``message_delta`` said why the answer stopped and no content block is open, and ``message_stop`` has not
        come: the answer is whole, its final usage read. Anthropic sends ``message_stop`` right after."""
        return self._stop_reason is not None and not self._open and not self.done

    @property
    def counted(self) -> Usage | None:
        """The upstream's count so far (``message_start``'s input, ``message_delta``'s output), None before any."""
        return self._usage.usage() if self._usage.reported else None

    def _finish(self) -> FinishReason:
        if self._answer_index is not None and self._stop_reason == "tool_use":
            return "stop"
        return finish_reason(self._stop_reason)

    def _text(self, text: str) -> list[StreamEvent]:
        if self._answer_tool is None:
            return [TextDelta(text)]
        self._held_text.append(text)
        return []

    def _block_start(self, event: UpstreamEvent) -> list[StreamEvent]:
        block, index = event.content_block, event.index
        if block is None or index is None:
            raise self._protocol("content_block_start without its block or index")
        if block.type == "text" and block.text:
            return self._text(block.text)
        if block.type in ("thinking", "redacted_thinking"):
            sealed = block.signature if block.type == "thinking" else block.data
            self._thinking[index] = (block.type, [block.thinking or ""], [sealed or ""])
            return [ReasoningDelta(block.thinking)] if block.thinking else []
        if block.type != "tool_use":
            self._server_blocks.add(index)
            return []
        if self._answer_tool is not None and block.name == self._answer_tool:
            self._answer_index = index
            return [TextDelta(json.dumps(block.input))] if block.input else []
        tool = self._tool_index[index] = len(self._tool_index)
        events: list[StreamEvent] = [ToolCallStart(tool, block.id or "", block.name or "")]
        if block.input:
            events.append(ToolCallArgs(tool, json.dumps(block.input)))
            self._tool_args.add(tool)
        return events

    def _block_delta(self, event: UpstreamEvent) -> list[StreamEvent]:
        delta = event.delta
        if delta is None:
            raise self._protocol("content_block_delta without its delta")
        if delta.type == "text_delta" and delta.text:
            return self._text(delta.text)
        if delta.type == "thinking_delta" and delta.thinking:
            if (open_block := self._thinking.get(event.index or 0)) is not None:
                open_block[1].append(delta.thinking)
            return [ReasoningDelta(delta.thinking)]
        if delta.type == "signature_delta" and delta.signature:
            if (open_block := self._thinking.get(event.index or 0)) is not None:
                open_block[2].append(delta.signature)
            return []
        if delta.type == "input_json_delta" and delta.partial_json:
            if event.index is not None and event.index == self._answer_index:
                return [TextDelta(delta.partial_json)]
            if event.index in self._server_blocks:
                return []
            if event.index not in self._tool_index:
                raise self._protocol(f"input_json_delta for block {event.index}, which is not a tool_use block")
            self._tool_args.add(tool := self._tool_index[event.index])
            return [ToolCallArgs(tool, delta.partial_json)]
        return []

    def _block_stop(self, event: UpstreamEvent) -> list[StreamEvent]:
        """A tool call that ends with no arguments (a no-argument tool: ``input: {}`` and an empty or no
        ``input_json_delta``) gets ``{}``, as a whole answer's does: an empty string is no JSON object. A
        thinking block that stops is sealed (see the class docstring)."""
        if event.index is not None and (thinking := self._thinking.pop(event.index, None)) is not None:
            kind, pieces, sealed = thinking
            whole = "".join(sealed)
            signed = _signed(kind, "".join(pieces), whole, whole)
            return [ReasoningDelta("", sealed=signed)] if signed is not None else []
        tool = self._tool_index.get(event.index) if event.index is not None else None
        if tool is None or tool in self._tool_args:
            return []
        self._tool_args.add(tool)
        return [ToolCallArgs(tool, "{}")]

    def _protocol(self, detail: str) -> UpstreamProtocolError:
        return UpstreamProtocolError(self._backend, self._url, detail, started=True)
