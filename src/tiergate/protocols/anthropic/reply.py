"""Ingress, tiergate → a Messages client: the whole answer, the SSE stream and the error envelope."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from tiergate.errors import CONTEXT_LENGTH_EXCEEDED, TiergateError
from tiergate.protocols.anthropic.answer import UpstreamEvent, UsageTotals
from tiergate.protocols.anthropic.common import (
    DIALECT,
    PING,
    STOP_REASON_OF,
    Block,
    encode_json,
    error_type,
    finish_reason,
    signature,
    sse,
    tool_use_id,
)
from tiergate.protocols.estimate import estimated_usage, reported_or_estimated
from tiergate.protocols.quiet import Quiet
from tiergate.wire import (
    ChatRequest,
    Completion,
    Finish,
    FinishReason,
    Raw,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallArgs,
    ToolCallStart,
    Usage,
    UsageReport,
    tokens_in,
)


def whole(completion: Completion, *, id: str, model: str, request: ChatRequest | None = None) -> dict[str, Any]:
    """The non-stream answer (``type: message``). An answer that came natively from Anthropic
    (``completion.native``) is returned as it came. When the upstream counted no tokens, ``usage`` is the
    estimate a stream gives (characters / 4 of ``request`` and of the answer), not zeros.

        payload = whole(completion, id="msg_0123", model="qwen2.5-coder:7b", request=request)
    """
    if completion.native is not None:
        native: dict[str, Any] = msgspec.json.decode(completion.native)
        return native
    content: list[Block] = []
    if completion.reasoning:
        thinking = completion.reasoning
        shown = "" if thinking_omitted(request) else thinking
        content.append({"type": "thinking", "thinking": shown, "signature": signature(thinking)})
    if completion.content:
        content.append({"type": "text", "text": completion.content})
    content.extend(
        {
            "type": "tool_use",
            "id": tool_use_id(call.id),
            "name": call.function.name,
            "input": _input_of(call.function.arguments),
        }
        for call in completion.tool_calls
    )
    return {
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        **stop_fields(completion.finish_reason, completion.stop_sequence, request),
        "usage": usage_body(completion.usage or estimated_usage(request, completion.chars())),
    }


def thinking_omitted(request: ChatRequest | None) -> bool:
    """Whether the Messages client asked for ``thinking.display: omitted``: its thinking blocks come back
    with empty ``thinking`` and only the signature, as Anthropic answers it."""
    native = request.native if request is not None else None
    thinking = native.body.get("thinking") if native is not None and native.dialect == DIALECT else None
    return isinstance(thinking, dict) and thinking.get("display") == "omitted"


def stop_fields(finish: FinishReason, sequence: str | None, request: ChatRequest | None) -> dict[str, str | None]:
    """``stop_reason`` and ``stop_sequence``: ``stop_sequence`` and the sequence where the upstream says the
    answer ended on one of the request's ``stop_sequences`` (vLLM's ``stop_reason``, SGLang's
    ``matched_stop``; a native Anthropic answer carries its own). Where the upstream does not say which
    (Ollama among them), ``end_turn``."""
    if finish == "stop" and sequence is not None and request is not None and sequence in request.stop_list():
        return {"stop_reason": "stop_sequence", "stop_sequence": sequence}
    return {"stop_reason": STOP_REASON_OF[finish], "stop_sequence": None}


def usage_body(usage: Usage) -> dict[str, int]:
    """Anthropic's ``usage``: its ``input_tokens`` leave out the prompt-cache reads and writes, which have
    their own counts (OpenAI's ``prompt_tokens`` include them).

        usage_body(Usage.of(10010, 20, cached=10000))["input_tokens"]   # 10
    """
    return {
        "input_tokens": usage.uncached_prompt_tokens,
        "output_tokens": usage.completion_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
    }


def _input_of(arguments: str) -> Any:
    """A tool call's arguments as the object Anthropic's ``input`` is. A local model's arguments that are
    not a JSON object are kept under ``arguments``, so the agent's validation error shows what came."""
    if not arguments.strip():
        return {}
    try:
        parsed = json.loads(arguments)
    except (json.JSONDecodeError, RecursionError):
        parsed = None
    return parsed if isinstance(parsed, dict) else {"arguments": arguments}


#: How Anthropic's API words a prompt over the window (tiergate's own refusal before any call says it so).
_ANTHROPIC_OVERFLOW = re.compile(r"prompt is too long|input length and `max_tokens` exceed context limit")


def error_body(exc: TiergateError) -> dict[str, Any]:
    """Anthropic's error envelope; clients choose retries by ``error.type`` (529 overloaded: a few, fast).

    error_body(RequestError("max_tokens: Field required"))   # {"type": "error", "error": {...}}
    """
    return {"type": "error", "error": {"type": error_type(exc.status), "message": _message(exc)}}


def _message(exc: TiergateError) -> str:
    """A refusal of the context window opens in Anthropic's words whichever upstream made it, with the
    upstream's figures when it gave them (:meth:`~tiergate.errors.Overflow.words`): "prompt is too long: P
    tokens > M maximum" when the prompt alone passes the window, which Claude Code compacts its conversation
    on (and reads the figures to know how much to drop); "input length and `max_tokens` exceed context limit:
    P + O > M, ..." when the prompt fits but not with the output asked for, on which it asks again with a
    ``max_tokens`` that fits, keeping the conversation. Without figures, "prompt is too long". The upstream's
    own words follow.

        prompt is too long: 40000 tokens > 32768 maximum (backend 'vllm' at ...: HTTP 400: This model's ...)
    """
    if exc.code != CONTEXT_LENGTH_EXCEEDED or _ANTHROPIC_OVERFLOW.match(exc.message):
        return exc.message
    opening = exc.overflow.words() if exc.overflow is not None else "prompt is too long"
    return f"{opening} ({exc.message})"


_BlockKind = Literal["text", "thinking", "tool_use"]


@dataclass
class _ToolCall:
    """One tool call of a translated stream, held until the stream ends."""

    id: str
    name: str
    pieces: list[str] = field(default_factory=list)


class StreamWriter:
    """Stream events → Messages SSE bytes, with the interface of :class:`tiergate.api.sse.ChunkWriter`.

    Content blocks are numbered 0, 1, ... and strictly sequential: each one's start, deltas and stop come
    before the next one starts (Claude Code assembles a tool call only at its ``content_block_stop``). Text
    and thinking stream as they come; a thinking block closes with tiergate's signature (with
    ``thinking.display: omitted``, the block has no ``thinking_delta``, only its signature). Tool calls are held
    until the stream ends and then written as whole blocks, one ``input_json_delta`` each: an
    OpenAI-compatible upstream may interleave the argument pieces of parallel calls, and only whole
    arguments can be checked, so arguments that are not a JSON object arrive as ``{"arguments": "<raw>"}``
    (as in :func:`whole`). While it holds them, a ``ping`` goes out every ten seconds without a byte
    (:class:`~tiergate.protocols.quiet.Quiet`), so no idle watchdog closes the stream.

    ``native`` (the upstream is Anthropic and answers in its own frames, as :class:`~tiergate.wire.Raw`
    events): those frames are written as they came and every translated event is skipped, so ``start`` and
    ``end`` write nothing of their own; usage and the stop are still read from the frames. ``request``
    gives message_start its input-token estimate; message_delta carries the upstream's counts, or, when it
    reported none, an output estimate (characters / 4) and no ``input_tokens``, so the client keeps the
    estimate from message_start.

        writer = StreamWriter("msg_0123", "qwen2.5-coder:7b", request=request)
        writer.start(); writer.event(TextDelta("Hi")); writer.end()
    """

    def __init__(
        self, id: str, model: str, *, request: ChatRequest, native: bool = False, quiet: Quiet | None = None
    ) -> None:
        self.id = id
        self.model = model
        self.native = native
        self.usage: Usage | None = None
        self.finish: FinishReason | None = None
        self._stop_sequence: str | None = None
        self._request = request
        self._index = -1
        self._open: _BlockKind | None = None
        self._thinking: list[str] = []
        self._calls: dict[int, _ToolCall] = {}
        self._written_chars = 0
        self._raw_usage = UsageTotals()
        self._report: UsageReport | None = None
        self._quiet = quiet or Quiet()
        self._omitted = thinking_omitted(request)

    def start(self) -> bytes:
        if self.native:
            return b""
        usage = {
            "input_tokens": self._request.estimated_tokens(),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 1,
        }
        message: Block = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        return sse("message_start", {"type": "message_start", "message": message})

    def ping(self) -> bytes:
        """The ``ping`` event. Nothing sends one before the first token: a stream's status and
        :meth:`start` wait for the upstream's first event (``timeouts.first_token`` bounds that wait).
        Once it runs, the writer pings on its own while it holds tool calls or omitted thinking
        (:class:`~tiergate.protocols.quiet.Quiet`); a native stream carries the upstream's own pings."""
        return PING

    def event(self, event: StreamEvent) -> bytes | None:
        out = self._event(event)
        if out:
            self._quiet.wrote()
        return out

    def _event(self, event: StreamEvent) -> bytes | None:
        if isinstance(event, Raw):
            return self._raw(event) if self.native and event.dialect == DIALECT else None
        if self.native:
            return None
        if isinstance(event, TextDelta):
            if not event.text:
                return None
            self._written_chars += len(event.text)
            return self._delta("text", {"type": "text", "text": ""}, {"type": "text_delta", "text": event.text})
        if isinstance(event, ReasoningDelta):
            if not event.text:
                return None
            self._thinking.append(event.text)
            self._written_chars += len(event.text)
            block = {"type": "thinking", "thinking": "", "signature": ""}
            if self._omitted:  # the block opens and closes signed, without its text; a ping while it runs
                if self._open != "thinking":
                    return self._open_block("thinking", block)
                return PING if self._quiet.due() else None
            return self._delta("thinking", block, {"type": "thinking_delta", "thinking": event.text})
        if isinstance(event, ToolCallStart):
            self._calls[event.index] = _ToolCall(event.id, event.name)
            return None
        if isinstance(event, ToolCallArgs):
            if call := self._calls.get(event.index):  # arguments of a call never opened have no block
                call.pieces.append(event.arguments)
            return PING if self._quiet.due() else None  # held: the client still hears from the stream
        if isinstance(event, Finish):
            self.finish, self._stop_sequence = event.reason, event.stop_sequence
            return None
        if isinstance(event, UsageReport):
            self._report = event
            self.usage = None if event.partial else event.usage
            return None
        raise TypeError(f"unknown stream event {event!r}")

    def end(self) -> bytes:
        """Closes the open block, writes the tool calls, then ``message_delta`` (stop reason, usage) and
        ``message_stop``."""
        if self.native:
            return b""
        blocks = self._close() + self._tool_blocks()
        delta = {
            "type": "message_delta",
            "delta": stop_fields(self.finish or "stop", self._stop_sequence, self._request),
            "usage": self._final_usage(),
        }
        return blocks + sse("message_delta", delta) + sse("message_stop", {"type": "message_stop"})

    def error(self, exc: TiergateError) -> bytes:
        return sse("error", error_body(exc))

    def _delta(self, kind: _BlockKind, block: Block, delta: Block) -> bytes:
        """A delta of the open block, opening a block of ``kind`` (and closing the last) if needed."""
        opened = b"" if self._open == kind else self._open_block(kind, block)
        return opened + sse(
            "content_block_delta", {"type": "content_block_delta", "index": self._index, "delta": delta}
        )

    def _tool_blocks(self) -> bytes:
        """Each tool call as a whole block: start, its input in one ``input_json_delta``, stop. The blocks are
        joined once (adding each to the bytes so far copied them all again: 20,000 calls took 70 s)."""
        out: list[bytes] = []
        for call in self._calls.values():
            arguments = "".join(call.pieces)
            self._written_chars += len(arguments)
            block = {"type": "tool_use", "id": tool_use_id(call.id), "name": call.name, "input": {}}
            out.append(self._open_block("tool_use", block))
            delta = {"type": "input_json_delta", "partial_json": encode_json(_input_of(arguments)).decode()}
            out.append(
                sse("content_block_delta", {"type": "content_block_delta", "index": self._index, "delta": delta})
            )
            out.append(self._close())
        self._calls = {}
        return b"".join(out)

    def _final_usage(self) -> dict[str, int]:
        """The upstream's counts (a partial count with at least the estimate of what was written as output);
        without them an estimate of the output alone (the input estimate went in message_start, and a client
        keeps it when message_delta has no ``input_tokens``)."""
        if self._report is None:
            return {"output_tokens": tokens_in(self._written_chars)}
        usage, _ = reported_or_estimated(self._report, self._request, self._written_chars)
        final = {"input_tokens": usage.uncached_prompt_tokens, "output_tokens": usage.completion_tokens}
        if usage.cached_tokens or usage.cache_write_tokens:
            final["cache_creation_input_tokens"] = usage.cache_write_tokens
            final["cache_read_input_tokens"] = usage.cached_tokens
        return final

    def _open_block(self, kind: _BlockKind, block: Block) -> bytes:
        closed = self._close()
        self._index += 1
        self._open = kind
        start = {"type": "content_block_start", "index": self._index, "content_block": block}
        return closed + sse("content_block_start", start)

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        out = b""
        if self._open == "thinking":
            sig = signature("".join(self._thinking))
            self._thinking = []
            delta = {"type": "signature_delta", "signature": sig}
            out = sse("content_block_delta", {"type": "content_block_delta", "index": self._index, "delta": delta})
        self._open = None
        return out + sse("content_block_stop", {"type": "content_block_stop", "index": self._index})

    def _raw(self, event: Raw) -> bytes:
        """The upstream's own frame, as it came; its usage and stop are noted for the request record. A frame
        without an ``event:`` line (an Anthropic-compatible server that sends only ``data:``, which tiergate
        reads by the data's ``type``) gets ``event: <type>`` first: the anthropic SDK dispatches on it, and
        failed on such a stream with a bare AssertionError."""
        data = b"\n".join(line[5:].lstrip() for line in event.frame.split(b"\n") if line.startswith(b"data:"))
        try:
            frame = msgspec.json.decode(data, type=UpstreamEvent)
        except (msgspec.DecodeError, RecursionError):
            return event.frame  # not ours to judge: the client reads the upstream's stream
        named = event.frame.startswith(b"event:") or b"\nevent:" in event.frame  # JSON holds no raw newline
        out = event.frame if named or not frame.type else b"event: %s\n%s" % (frame.type.encode(), event.frame)
        if frame.type == "message_start" and frame.message is not None:
            self._raw_usage.add(frame.message.usage)
            self.usage = self._raw_usage.usage()
        elif frame.type == "message_delta":
            self._raw_usage.add(frame.usage)
            self.usage = self._raw_usage.usage()
            if frame.delta is not None and frame.delta.stop_reason is not None:
                self.finish = finish_reason(frame.delta.stop_reason)
        return out
