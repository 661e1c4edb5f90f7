"""Ingress, tiergate → a Messages client: the whole answer, the SSE stream and the error envelope."""

from __future__ import annotations

import json
from typing import Any, Literal

import msgspec

from tiergate.errors import TiergateError
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
)
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
)


def whole(completion: Completion, *, id: str, model: str) -> dict[str, Any]:
    """The non-stream answer (``type: message``). An answer that came natively from Anthropic
    (``completion.native``) is returned as it came.

        payload = whole(completion, id="msg_0123", model="qwen2.5-coder:7b")
    """
    if completion.native is not None:
        native: dict[str, Any] = msgspec.json.decode(completion.native)
        return native
    content: list[Block] = []
    if completion.reasoning:
        thinking = completion.reasoning
        content.append({"type": "thinking", "thinking": thinking, "signature": signature(thinking)})
    if completion.content:
        content.append({"type": "text", "text": completion.content})
    content.extend(
        {"type": "tool_use", "id": call.id, "name": call.function.name, "input": _input_of(call.function.arguments)}
        for call in completion.tool_calls
    )
    usage = completion.usage or Usage()
    return {
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": STOP_REASON_OF[completion.finish_reason],
        "stop_sequence": None,
        "usage": {
            "input_tokens": usage.prompt_tokens,
            "output_tokens": usage.completion_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def _input_of(arguments: str) -> Any:
    """A tool call's arguments as the object Anthropic's ``input`` is. A local model's arguments that are
    not a JSON object are kept under ``arguments``, so the agent's validation error shows what came."""
    if not arguments.strip():
        return {}
    try:
        parsed = json.loads(arguments)
    except json.JSONDecodeError:
        parsed = None
    return parsed if isinstance(parsed, dict) else {"arguments": arguments}


def error_body(exc: TiergateError) -> dict[str, Any]:
    """Anthropic's error envelope; clients choose retries by ``error.type`` (529 overloaded: a few, fast).

    error_body(RequestError("max_tokens: Field required"))   # {"type": "error", "error": {...}}
    """
    return {"type": "error", "error": {"type": error_type(exc.status), "message": exc.message}}


_BlockKind = Literal["text", "thinking", "tool_use"]


class StreamWriter:
    """Stream events → Messages SSE bytes, with the interface of :class:`tiergate.api.sse.ChunkWriter`.

    Content blocks are numbered 0, 1, ... in order; each opens on its first delta and closes before the
    next opens (Claude Code assembles a tool call only at its ``content_block_stop``). A thinking block
    closes with tiergate's signature. ``native`` (the upstream is Anthropic and answers in its own frames,
    as :class:`~tiergate.wire.Raw` events): those frames are written as they came and every translated
    event is skipped, so ``start`` and ``end`` write nothing of their own; usage and the stop are still
    read from the frames. ``request`` gives message_start its input-token estimate (the real count comes
    in message_delta).

        writer = StreamWriter("msg_0123", "qwen2.5-coder:7b", request=request)
        writer.start(); writer.event(TextDelta("Hi")); writer.end()
    """

    def __init__(self, id: str, model: str, *, request: ChatRequest, native: bool = False) -> None:
        self.id = id
        self.model = model
        self.native = native
        self.usage: Usage | None = None
        self.finish: FinishReason | None = None
        self._request = request
        self._index = -1
        self._open: _BlockKind | None = None
        self._thinking: list[str] = []
        self._tool_blocks: dict[int, int] = {}
        self._raw_usage = UsageTotals()

    def start(self) -> bytes:
        if self.native:
            return b""
        usage = {
            "input_tokens": _estimate(self._request),
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
        """A keep-alive for a slow local prefill (Claude Code waits, proxies may not); send it after
        :meth:`start`. A native stream carries the upstream's own pings."""
        return PING

    def event(self, event: StreamEvent) -> bytes | None:
        if isinstance(event, Raw):
            return self._raw(event) if self.native and event.dialect == DIALECT else None
        if self.native:
            return None
        if isinstance(event, TextDelta):
            if not event.text:
                return None
            return self._delta("text", {"type": "text", "text": ""}, {"type": "text_delta", "text": event.text})
        if isinstance(event, ReasoningDelta):
            if not event.text:
                return None
            self._thinking.append(event.text)
            block = {"type": "thinking", "thinking": "", "signature": ""}
            return self._delta("thinking", block, {"type": "thinking_delta", "thinking": event.text})
        if isinstance(event, ToolCallStart):
            return self._tool_start(event)
        if isinstance(event, ToolCallArgs):
            return self._tool_args(event)
        if isinstance(event, Finish):
            self.finish = event.reason
            return None
        if isinstance(event, UsageReport):
            self.usage = event.usage
            return None
        raise TypeError(f"unknown stream event {event!r}")

    def end(self) -> bytes:
        """Closes the open block, then ``message_delta`` (stop reason, usage) and ``message_stop``."""
        if self.native:
            return b""
        usage = self.usage or Usage()
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": STOP_REASON_OF[self.finish or "stop"], "stop_sequence": None},
            "usage": {"input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens},
        }
        return self._close() + sse("message_delta", delta) + sse("message_stop", {"type": "message_stop"})

    def error(self, exc: TiergateError) -> bytes:
        return sse("error", error_body(exc))

    def _delta(self, kind: _BlockKind, block: Block, delta: Block) -> bytes:
        """A delta of the open block, opening a block of ``kind`` (and closing the last) if needed."""
        opened = b"" if self._open == kind else self._open_block(kind, block)
        return opened + sse(
            "content_block_delta", {"type": "content_block_delta", "index": self._index, "delta": delta}
        )

    def _tool_start(self, event: ToolCallStart) -> bytes:
        block = {"type": "tool_use", "id": event.id, "name": event.name, "input": {}}
        opened = self._open_block("tool_use", block)
        self._tool_blocks[event.index] = self._index
        return opened

    def _tool_args(self, event: ToolCallArgs) -> bytes | None:
        index = self._tool_blocks.get(event.index)
        if index is None or not event.arguments:
            return None
        # Upstreams send one call's arguments before the next call opens; were one late, its own index
        # still tells an accumulating client where it goes.
        delta = {"type": "input_json_delta", "partial_json": event.arguments}
        return sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})

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
        """The upstream's own frame, as it came; its usage and stop are noted for the request record."""
        data = b"\n".join(line[5:].lstrip() for line in event.frame.split(b"\n") if line.startswith(b"data:"))
        try:
            frame = msgspec.json.decode(data, type=UpstreamEvent)
        except msgspec.DecodeError:
            return event.frame  # not ours to judge: the client reads the upstream's stream
        if frame.type == "message_start" and frame.message is not None:
            self._raw_usage.add(frame.message.usage)
            self.usage = self._raw_usage.usage()
        elif frame.type == "message_delta":
            self._raw_usage.add(frame.usage)
            self.usage = self._raw_usage.usage()
            if frame.delta is not None and frame.delta.stop_reason is not None:
                self.finish = finish_reason(frame.delta.stop_reason)
        return event.frame


def _estimate(request: ChatRequest) -> int:
    """Input tokens for message_start, before the upstream has counted them: characters / 4."""
    chars = sum(len(m.text()) for m in request.messages)
    chars += sum(len(encode_json(tool)) for tool in request.tools or [])
    return (chars + 3) // 4
