"""OpenAI ``usage`` when the upstream counted nothing: the estimate spend charges, marked, never zeros."""

from __future__ import annotations

import json
from typing import Any

from tiergate.protocols.openai.reply import chat_completion, text_completion
from tiergate.protocols.openai.stream import ChunkWriter, TextChunkWriter
from tiergate.telemetry.usage import Meter
from tiergate.wire import (
    ChatRequest,
    Completion,
    Finish,
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

# 40 characters of user text: 10 tokens.
REQUEST = ChatRequest(model="auto", messages=[Message(role="user", content="x" * 40)])
# 4 + 4 + 5 + 9 = 22 characters of answer: 6 tokens, rounded up.
EVENTS: list[StreamEvent] = [
    TextDelta("abcd"),
    ReasoningDelta("efgh"),
    ToolCallStart(0, "c1", "write"),
    ToolCallArgs(0, '{"a": 12}'),
    Finish("tool_calls"),
]
#: The same answer, whole.
WHOLE = Completion(
    "abcd",
    tool_calls=[ToolCall(id="c1", function=FunctionCall(name="write", arguments='{"a": 12}'))],
    reasoning="efgh",
    finish_reason="tool_calls",
)
ESTIMATE = {"prompt_tokens": 10, "completion_tokens": 6, "total_tokens": 16, "estimated": True}
# The same request and 9 characters of answer: 3 tokens.
NINE_CHARS = {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13, "estimated": True}


def usage_chunk(end: bytes) -> dict[str, Any]:
    chunk, done = end.split(b"\n\n", 1)
    assert done == b"data: [DONE]\n\n"
    body: dict[str, Any] = json.loads(chunk.removeprefix(b"data: "))
    assert body["choices"] == []
    return body["usage"]  # type: ignore[no-any-return]


def test_a_whole_answer_without_a_count_reports_the_estimate() -> None:
    payload = chat_completion(WHOLE, id="c", created=1, model="m", request=REQUEST)
    assert payload["usage"] == ESTIMATE


def test_a_whole_answer_with_a_count_reports_it_unmarked() -> None:
    payload = chat_completion(Completion("abcd", usage=Usage.of(3, 4)), id="c", created=1, model="m", request=REQUEST)
    assert payload["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}


def test_a_legacy_completion_without_a_count_reports_the_estimate() -> None:
    payload = text_completion(Completion("y" * 9), id="cmpl", created=1, model="m", request=REQUEST)
    assert payload["usage"] == NINE_CHARS


def test_a_stream_without_a_count_ends_with_the_estimate_it_is_charged() -> None:
    writer = ChunkWriter("c", 1, "m", include_usage=True, request=REQUEST)
    meter = Meter(REQUEST)
    writer.start()
    for event in EVENTS:
        meter.see(event)
        writer.event(event)
    assert usage_chunk(writer.end()) == ESTIMATE
    charged, estimated = meter.charged(writer.usage, whole=True)
    assert (charged.prompt_tokens, charged.completion_tokens, estimated) == (10, 6, True)
    assert writer.usage is None  # the request record keeps the upstream's own count: none


def test_a_stream_with_a_count_ends_with_it_unmarked() -> None:
    writer = ChunkWriter("c", 1, "m", include_usage=True, request=REQUEST)
    for event in [*EVENTS, UsageReport(Usage.of(3, 4))]:
        writer.event(event)
    assert usage_chunk(writer.end()) == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}


def test_a_legacy_stream_without_a_count_ends_with_the_estimate() -> None:
    writer = TextChunkWriter("cmpl", 1, "m", include_usage=True, request=REQUEST)
    writer.event(TextDelta("y" * 5))
    writer.event(TextDelta("y" * 4))
    writer.event(Finish("stop"))
    assert usage_chunk(writer.end()) == {
        "prompt_tokens": 10,
        "completion_tokens": 3,
        "total_tokens": 13,
        "estimated": True,
    }
