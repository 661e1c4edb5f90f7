from __future__ import annotations

import json

from tiergate.errors import UpstreamStatusError
from tiergate.protocols.openai.stream import ChunkWriter, TextChunkWriter
from tiergate.wire import Finish, ReasoningDelta, TextDelta, ToolCallArgs, ToolCallStart, Usage, UsageReport


def decode(chunk: bytes) -> dict[str, object]:
    assert chunk.startswith(b"data: ") and chunk.endswith(b"\n\n")
    return json.loads(chunk[6:-2])  # type: ignore[no-any-return]


def test_chunks_share_identity_and_follow_openai_shape() -> None:
    w = ChunkWriter("chatcmpl-1", 1700000000, "m", include_usage=False)
    chunks = [
        w.start(),
        w.event(TextDelta("Hi")),
        w.event(ToolCallStart(0, "call_1", "f")),
        w.event(ToolCallArgs(0, '{"a":')),
        w.event(ToolCallArgs(0, "1}")),
        w.event(Finish("tool_calls")),
    ]
    decoded = [decode(c) for c in chunks if c]
    assert {(d["id"], d["created"], d["model"], d["object"]) for d in decoded} == {
        ("chatcmpl-1", 1700000000, "m", "chat.completion.chunk")
    }
    assert [d["choices"][0]["delta"] for d in decoded] == [  # type: ignore[index]
        {"role": "assistant", "content": ""},
        {"content": "Hi"},
        {"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"a":'}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]},
        {},
    ]
    assert decoded[-1]["choices"][0]["finish_reason"] == "tool_calls"  # type: ignore[index]
    assert w.end() == b"data: [DONE]\n\n"


def test_usage_chunk_when_asked() -> None:
    w = ChunkWriter("c", 1, "m", include_usage=True)
    assert decode(w.start())["usage"] is None
    assert w.event(UsageReport(Usage.of(3, 4))) is None
    end = w.end()
    usage_chunk, done = end.split(b"\n\n", 1)
    assert done == b"data: [DONE]\n\n"
    body = json.loads(usage_chunk[6:])
    assert body["choices"] == [] and body["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}


def test_empty_pieces_are_not_sent_and_reasoning_has_its_own_field() -> None:
    w = ChunkWriter("c", 1, "m", include_usage=False)
    assert w.event(TextDelta("")) is None
    assert w.event(ToolCallArgs(0, "")) is None
    assert decode(w.event(ReasoningDelta("hmm")) or b"")["choices"][0]["delta"] == {"reasoning_content": "hmm"}  # type: ignore[index]


def test_error_event_has_no_done() -> None:
    w = ChunkWriter("c", 1, "m", include_usage=False)
    err = w.error(UpstreamStatusError("anthropic", "http://x", "Overloaded", status=529))
    assert decode(err) == {
        "error": {
            "message": "backend 'anthropic' at http://x: Overloaded",
            "type": "upstream_error",
            "param": None,
            "code": None,
        }
    }
    assert b"[DONE]" not in err


def test_legacy_text_chunks() -> None:
    w = TextChunkWriter("cmpl-1", 1, "m", include_usage=False)
    assert w.start() == b""
    d = decode(w.event(TextDelta("ab")) or b"")
    assert d["object"] == "text_completion" and d["choices"] == [
        {"text": "ab", "index": 0, "logprobs": None, "finish_reason": None}
    ]
    assert decode(w.event(Finish("length")) or b"")["choices"][0]["finish_reason"] == "length"  # type: ignore[index]


def test_an_empty_piece_of_arguments_is_a_keep_alive_when_one_is_due() -> None:
    """With one tool call at a time, a dropped second call's events reach the writer as empty pieces of the
    first: after ten quiet seconds one goes out as an empty-arguments chunk, so a long call is not silence."""
    from tiergate.protocols.quiet import Quiet

    now = [0.0]
    writer = ChunkWriter("c", 1, "m", include_usage=False, quiet=Quiet(every=10, clock=lambda: now[0]))
    writer.start()
    writer.event(ToolCallStart(0, "call_1", "f"))
    assert writer.event(ToolCallArgs(0, "")) is None
    now[0] = 11.0
    sent = writer.event(ToolCallArgs(0, ""))
    assert sent is not None
    assert json.loads(sent[6:])["choices"][0]["delta"] == {"tool_calls": [{"index": 0, "function": {"arguments": ""}}]}
    assert writer.event(ToolCallArgs(0, "")) is None  # just written
