"""Stream events → OpenAI ``chat.completion.chunk`` SSE bytes, exactly as OpenAI clients parse them.

One writer per response keeps id/created/model the same on every chunk, opens with the
``{role: "assistant", content: ""}`` delta, never mixes content and tool_calls in one delta, ends
with a finish chunk, the usage chunk when asked for, and ``data: [DONE]``. An error after the
stream started is one ``data: {"error": ...}`` event and no ``[DONE]``. No comment keep-alives.

The usage chunk carries the upstream's count; where it sent none, the estimate spend charges (characters / 4
of ``request`` and of what was written), marked ``"estimated": true``, as a whole answer's
(:mod:`tiergate.protocols.openai.reply`); where it counted only the prompt before an emulated stop cut it, that
count with the estimate of what was written as its output, marked the same. ``usage`` stays the upstream's own
final count, for the request record.

    writer = ChunkWriter("chatcmpl-1", 1700000000, "qwen2.5-coder:7b", include_usage=True, request=chat)
    writer.start(); writer.event(TextDelta("Hi")); writer.end()
"""

from __future__ import annotations

from typing import Any

import msgspec

from tiergate.errors import TiergateError
from tiergate.protocols.estimate import answer_chars, reported_or_estimated
from tiergate.protocols.openai.reply import error_body, usage_body
from tiergate.protocols.quiet import Quiet
from tiergate.wire import (
    ChatRequest,
    Finish,
    Raw,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallArgs,
    ToolCallStart,
    Usage,
    UsageReport,
)

_encode = msgspec.json.Encoder().encode
DONE = b"data: [DONE]\n\n"


def sse(obj: Any) -> bytes:
    return b"data: " + _encode(obj) + b"\n\n"


class ChunkWriter:
    def __init__(
        self,
        id: str,
        created: int,
        model: str,
        *,
        include_usage: bool,
        request: ChatRequest | None = None,
        quiet: Quiet | None = None,
    ) -> None:
        self.id = id
        self.created = created
        self.model = model
        self.include_usage = include_usage
        self.usage: Usage | None = None
        self.finish: str | None = None
        self._report: UsageReport | None = None
        self._request = request
        self._chars = 0  # of the answer, for the estimate when the upstream counts nothing
        self._quiet = quiet or Quiet()  # an empty piece of arguments is a keep-alive when one is due
        # Every chunk shares its envelope: encode it once and splice each choice in.
        head = _encode(self._envelope())[:-1]
        self._head = b"data: " + head + b',"choices":['
        self._tail = b'],"usage":null}\n\n' if include_usage else b"]}\n\n"

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        self._quiet.wrote()
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return self._head + _encode(choice) + self._tail

    def start(self) -> bytes:
        return self._chunk({"role": "assistant", "content": ""})

    def event(self, event: StreamEvent) -> bytes | None:
        if self.include_usage:  # counted only for a usage chunk to write
            self._chars += answer_chars(event)
        if isinstance(event, TextDelta):
            return self._chunk({"content": event.text}) if event.text else None
        if isinstance(event, ToolCallStart):
            return self._chunk(
                {
                    "tool_calls": [
                        {
                            "index": event.index,
                            "id": event.id,
                            "type": "function",
                            "function": {"name": event.name, "arguments": ""},
                        }
                    ]
                }
            )
        if isinstance(event, ToolCallArgs):
            if not event.arguments and not self._quiet.due():  # an empty piece: a keep-alive when one is due
                return None
            return self._chunk({"tool_calls": [{"index": event.index, "function": {"arguments": event.arguments}}]})
        if isinstance(event, ReasoningDelta):
            return self._chunk({"reasoning_content": event.text}) if event.text else None
        if isinstance(event, Finish):
            self.finish = event.reason
            return self._chunk({}, event.reason)
        if isinstance(event, UsageReport):
            self._reported(event)
            return None
        if isinstance(event, Raw):
            return None  # another dialect's own bytes, or a sign of life (ALIVE)
        raise TypeError(f"unknown stream event {event!r}")

    def _envelope(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
        }

    def _reported(self, report: UsageReport) -> None:
        self._report = report
        if not report.partial:
            self.usage = report.usage

    def end(self) -> bytes:
        """The usage chunk (``choices: []``) when asked for, then ``[DONE]``."""
        if not self.include_usage:
            return DONE
        usage, estimated = reported_or_estimated(self._report, self._request, self._chars)
        return sse({**self._envelope(), "choices": [], "usage": usage_body(usage, estimated=estimated)}) + DONE

    def error(self, exc: TiergateError) -> bytes:
        return sse(error_body(exc))


class TextChunkWriter(ChunkWriter):
    """The legacy ``/v1/completions`` stream: ``text_completion`` objects with ``choices[0].text``."""

    def _text(self, text: str, finish_reason: str | None = None) -> bytes:
        obj = {
            **self._envelope(),
            "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish_reason}],
        }
        if self.include_usage:
            obj["usage"] = None
        return sse(obj)

    def start(self) -> bytes:
        return b""

    def event(self, event: StreamEvent) -> bytes | None:
        if self.include_usage:  # counted only for a usage chunk to write
            self._chars += answer_chars(event)
        if isinstance(event, TextDelta):
            return self._text(event.text) if event.text else None
        if isinstance(event, Finish):
            self.finish = event.reason
            return self._text("", event.reason)
        if isinstance(event, UsageReport):
            self._reported(event)
        return None

    def _envelope(self) -> dict[str, Any]:
        return {"id": self.id, "object": "text_completion", "created": self.created, "model": self.model}
