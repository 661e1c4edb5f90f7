"""Prompt-cache token counts: read from Anthropic's and OpenAI's usage, kept in ``Usage`` (inside
``prompt_tokens``, as OpenAI counts them) and written back in each ingress dialect's own fields."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from tiergate.protocols.anthropic import AnthropicMessage, StreamTranslator, UsageTotals, from_message
from tiergate.protocols.anthropic import StreamWriter as MessagesWriter
from tiergate.protocols.anthropic import whole as messages_whole
from tiergate.protocols.openai.reply import chat_completion
from tiergate.protocols.openai.stream import ChunkWriter
from tiergate.protocols.openai.upstream import StreamReader, whole_answer
from tiergate.protocols.responses import StreamWriter as ResponsesWriter
from tiergate.protocols.responses import decode as decode_responses
from tiergate.protocols.responses import whole as responses_whole
from tiergate.wire import ChatRequest, Completion, Finish, TextDelta, Usage, UsageReport

#: 10 new prompt tokens, 10000 read from the cache, 2000 written to it; 20 out.
CACHED = Usage.of(12_010, 20, cached=10_000, cache_write=2_000)


def chat() -> ChatRequest:
    return msgspec.convert({"messages": [{"role": "user", "content": "hi"}]}, ChatRequest)


# --- reading upstream usage --------------------------------------------------------------------------


def test_anthropic_cache_reads_and_writes_are_prompt_tokens_kept_apart() -> None:
    message = msgspec.json.decode(
        json.dumps(
            {
                "type": "message",
                "content": [{"type": "text", "text": "ok"}],
                "stop_reason": "end_turn",
                "usage": {
                    "input_tokens": 10,
                    "cache_read_input_tokens": 10_000,
                    "cache_creation_input_tokens": 2_000,
                    "output_tokens": 20,
                },
            }
        ),
        type=AnthropicMessage,
    )
    usage = from_message(message).usage
    assert usage == CACHED
    assert (usage.prompt_tokens, usage.total_tokens, usage.uncached_prompt_tokens) == (12_010, 12_030, 10)


def test_anthropic_stream_usage_keeps_the_latest_cache_counts() -> None:
    totals = UsageTotals()
    assert totals.usage() == Usage.of(0, 0)
    start = {"input_tokens": 10, "cache_creation_input_tokens": 2_000, "cache_read_input_tokens": 0, "output_tokens": 1}
    totals.add(msgspec.convert({"usage": start}, AnthropicMessage).usage)
    later = {"cache_read_input_tokens": 10_000, "output_tokens": 20}  # the rest stay as message_start said
    totals.add(msgspec.convert({"usage": later}, AnthropicMessage).usage)
    assert totals.usage() == CACHED

    translator = StreamTranslator("claude", "http://upstream")
    translator.feed("message_start", json.dumps({"type": "message_start", "message": {"content": [], "usage": start}}))
    delta = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": later}
    translator.feed("message_delta", json.dumps(delta))
    assert translator.feed("message_stop", '{"type": "message_stop"}') == [Finish("stop"), UsageReport(CACHED)]


def test_openai_cached_tokens_are_read_from_prompt_tokens_details() -> None:
    def answer(usage: dict[str, Any]) -> bytes:
        choice = {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
        return json.dumps({"choices": [choice], "usage": usage}).encode()

    details = {"prompt_tokens": 10_010, "completion_tokens": 20, "prompt_tokens_details": {"cached_tokens": 10_000}}
    assert whole_answer("openai", "http://u", answer(details)).usage == Usage.of(10_010, 20, cached=10_000)
    nulls = {"prompt_tokens": 5, "completion_tokens": 3, "prompt_tokens_details": None}
    assert whole_answer("vllm", "http://u", answer(nulls)).usage == Usage.of(5, 3)
    no_count = {"prompt_tokens": 5, "completion_tokens": 3, "prompt_tokens_details": {"cached_tokens": None}}
    assert whole_answer("vllm", "http://u", answer(no_count)).usage == Usage.of(5, 3)

    reader = StreamReader("openai", "http://u")
    reader.feed(b'data: {"choices":[{"delta":{"content":"ok"},"finish_reason":"stop"}]}')
    reader.feed(
        b'data: {"choices":[],"usage":{"prompt_tokens":10010,"completion_tokens":20,'
        b'"prompt_tokens_details":{"cached_tokens":10000,"audio_tokens":0}}}'
    )
    reader.feed(b"data: [DONE]")
    assert reader.close() == [Finish("stop"), UsageReport(Usage.of(10_010, 20, cached=10_000))]


# --- writing it back ---------------------------------------------------------------------------------


def test_chat_completions_report_cached_tokens_only_when_there_are_some() -> None:
    payload = chat_completion(Completion("ok", usage=CACHED), id="c", created=1, model="m")
    assert payload["usage"] == {
        "prompt_tokens": 12_010,
        "completion_tokens": 20,
        "total_tokens": 12_030,
        "prompt_tokens_details": {"cached_tokens": 10_000},
    }
    plain = chat_completion(Completion("ok", usage=Usage.of(3, 4)), id="c", created=1, model="m")
    assert plain["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}

    writer = ChunkWriter("c", 1, "m", include_usage=True)
    writer.event(UsageReport(CACHED))
    usage_chunk = json.loads(writer.end().split(b"\n\n", 1)[0][6:])
    assert usage_chunk["usage"] == payload["usage"]


def test_responses_report_cached_and_written_input_tokens() -> None:
    request = decode_responses(json.dumps({"model": "m", "input": "hi"}).encode())
    payload = responses_whole(Completion("ok", usage=CACHED), id="resp_1", created=1, model="m", request=request)
    assert payload["usage"] == {
        "input_tokens": 12_010,
        "input_tokens_details": {"cached_tokens": 10_000, "cache_write_tokens": 2_000},
        "output_tokens": 20,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 12_030,
    }

    writer = ResponsesWriter("resp_1", 1, "m", request=request)
    writer.start()
    writer.event(TextDelta("ok"))
    writer.event(Finish("stop"))
    writer.event(UsageReport(CACHED))
    completed = writer.end().split(b"data: ", 1)[1]
    assert json.loads(completed)["response"]["usage"] == payload["usage"]


def test_messages_answers_from_other_upstreams_split_the_cache_out_of_input_tokens() -> None:
    payload = messages_whole(Completion("ok", usage=CACHED), id="msg_1", model="m")
    assert payload["usage"] == {
        "input_tokens": 10,
        "output_tokens": 20,
        "cache_creation_input_tokens": 2_000,
        "cache_read_input_tokens": 10_000,
    }

    writer = MessagesWriter("msg_1", "m", request=chat())
    writer.start()
    writer.event(TextDelta("ok"))
    writer.event(Finish("stop"))
    writer.event(UsageReport(CACHED))
    frames = [f for f in writer.end().split(b"\n\n") if f.startswith(b"event: message_delta")]
    delta = json.loads(frames[0].split(b"data: ", 1)[1])
    assert delta["usage"] == {
        "input_tokens": 10,
        "output_tokens": 20,
        "cache_creation_input_tokens": 2_000,
        "cache_read_input_tokens": 10_000,
    }

    plain = MessagesWriter("msg_2", "m", request=chat())
    plain.start()
    plain.event(Finish("stop"))
    plain.event(UsageReport(Usage.of(5, 2)))
    frames = [f for f in plain.end().split(b"\n\n") if f.startswith(b"event: message_delta")]
    assert json.loads(frames[0].split(b"data: ", 1)[1])["usage"] == {"input_tokens": 5, "output_tokens": 2}


def test_reasoning_tokens_an_upstream_counted_are_reported() -> None:
    """An OpenAI-compatible server's ``completion_tokens_details.reasoning_tokens`` was dropped: a Responses
    answer said 0 and a chat answer had no details."""

    def answer(usage: dict[str, Any]) -> bytes:
        choice = {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
        return json.dumps({"choices": [choice], "usage": usage}).encode()

    counted = {"prompt_tokens": 5, "completion_tokens": 40, "completion_tokens_details": {"reasoning_tokens": 30}}
    usage = whole_answer("vllm", "http://u", answer(counted)).usage
    assert usage == Usage.of(5, 40, reasoning=30)
    unknown = {"prompt_tokens": 5, "completion_tokens": 40, "completion_tokens_details": {"reasoning_tokens": None}}
    assert whole_answer("vllm", "http://u", answer(unknown)).usage == Usage.of(5, 40)
    assert usage is not None
    chat_usage = chat_completion(Completion("ok", usage=usage), id="c", created=1, model="m")["usage"]
    assert chat_usage["completion_tokens_details"] == {"reasoning_tokens": 30}
    request = decode_responses(json.dumps({"model": "m", "input": "hi"}).encode())
    payload = responses_whole(Completion("ok", usage=usage), id="resp_1", created=1, model="m", request=request)
    assert payload["usage"]["output_tokens_details"] == {"reasoning_tokens": 30}

    reader = StreamReader("vllm", "http://u")
    reader.feed(b'data: {"choices":[{"delta":{"content":"ok"},"finish_reason":"stop"}]}')
    reader.feed(
        b'data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":40,'
        b'"completion_tokens_details":{"reasoning_tokens":30}}}'
    )
    reader.feed(b"data: [DONE]")
    assert reader.close() == [Finish("stop"), UsageReport(Usage.of(5, 40, reasoning=30))]
