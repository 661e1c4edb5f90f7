"""The OpenAI chat codec's upstream half, without I/O: the body tiergate sends an OpenAI-compatible server, and
the answers, stream lines and error bodies such servers send back (OpenAI, vLLM, llama.cpp, LM Studio)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from tiergate.errors import UpstreamCapabilityError, UpstreamProtocolError, UpstreamStatusError
from tiergate.protocols.openai.call_ids import conversation_ids
from tiergate.protocols.openai.upstream import StreamReader, chat_body, status_error, whole_answer
from tiergate.wire import ChatRequest, Finish, Native, TextDelta, ToolCallArgs, ToolCallStart, Usage, UsageReport

URL = "http://vllm.test/v1"


def chat(**fields: Any) -> ChatRequest:
    return msgspec.convert({"messages": [{"role": "user", "content": "hi"}], **fields}, ChatRequest)


def answer(message: dict[str, Any], finish: str | None = "stop", **extra: Any) -> bytes:
    return json.dumps({"choices": [{"index": 0, "message": message, "finish_reason": finish}], **extra}).encode()


def test_the_body_is_the_request_with_portable_spellings_and_without_tiergates_fields() -> None:
    request = chat(
        messages=[
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "now", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "noon"},
        ],
        model="auto",
        max_completion_tokens=64,
        temperature=0.1,
        stream_options={"include_usage": False},
        metadata={"k": "v"},
        provider="local",
        suffix="after",
        tools=[{"type": "function", "function": {"name": "now"}}],
    )
    request = msgspec.structs.replace(request, native=Native("responses", {"input": "hi"}))

    assert json.loads(chat_body(request, "qwen", stream=False)) == {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "now", "arguments": "{}"}}],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "noon"},
        ],
        "model": "qwen",
        "stream": False,
        "max_tokens": 64,
        "temperature": 0.1,
        "tools": [{"type": "function", "function": {"name": "now"}}],
    }
    streamed = json.loads(chat_body(request, "qwen", stream=True))
    assert (streamed["stream"], streamed["stream_options"]) == (True, {"include_usage": True})


def test_the_system_messages_a_conversation_opens_with_go_as_one_and_later_ones_stay() -> None:
    """Codex's ``instructions`` and ``developer`` message arrived as two system messages, which Gemma's and
    Mistral's chat templates on llama.cpp and vLLM refuse."""
    request = chat(
        messages=[
            {"role": "system", "content": "You are Codex."},
            {
                "role": "developer",
                "content": [{"type": "text", "text": "Sandbox: ro."}, {"type": "text", "text": "No rm."}],
            },
            {"role": "system", "content": ""},
            {"role": "user", "content": "hi"},
            {"role": "developer", "content": "Approvals are now on-request."},
            {"role": "user", "content": "go on"},
        ]
    )

    assert json.loads(chat_body(request, "gemma", stream=False))["messages"] == [
        {"role": "system", "content": "You are Codex.\n\nSandbox: ro.\nNo rm."},  # parts on lines of their own
        {"role": "user", "content": "hi"},
        {"role": "system", "content": "Approvals are now on-request."},
        {"role": "user", "content": "go on"},
    ]
    brief = {"role": "system", "content": [{"type": "text", "text": "Be brief."}]}
    one = chat(messages=[brief, {"role": "user", "content": "hi"}])
    assert json.loads(chat_body(one, "gemma", stream=False))["messages"][0] == {
        "role": "system",
        "content": [{"type": "text", "text": "Be brief."}],
    }


def test_images_in_tool_messages_follow_the_run_of_tool_messages_in_a_user_message() -> None:
    """A chat tool message carries only text: its images go right after the tool messages, each call's
    images introduced by a text part naming the call."""
    shot = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "high"}}
    cat = {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
    calls = [{"id": f"c{n}", "function": {"name": "view_image", "arguments": "{}"}} for n in (1, 2, 3)]
    request = chat(
        messages=[
            {"role": "user", "content": "Look at these."},
            {"role": "assistant", "tool_calls": calls},
            {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "shot.png"}, shot]},
            {"role": "tool", "tool_call_id": "c2", "content": "no such file"},
            {"role": "tool", "tool_call_id": "c3", "content": [cat]},
            {"role": "user", "content": "What do you see?"},
        ]
    )

    sent = json.loads(chat_body(request, "qwen", stream=False))["messages"]

    assert sent[2:] == [
        {"role": "tool", "tool_call_id": "c1", "content": "shot.png"},
        {"role": "tool", "tool_call_id": "c2", "content": "no such file"},
        {"role": "tool", "tool_call_id": "c3", "content": ""},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Images from tool call c1:"},
                shot,
                {"type": "text", "text": "Images from tool call c3:"},
                cat,
            ],
        },
        {"role": "user", "content": "What do you see?"},
    ]


def test_a_whole_answer_with_reasoning_tool_calls_and_usage() -> None:
    body = answer(
        {
            "content": None,
            "reasoning_content": "think",
            "tool_calls": [
                {"id": "call_abc123", "function": {"name": "a", "arguments": '{"x": 1}'}},
                {"function": {"name": "b", "arguments": {"y": 2}}},  # some servers send an object, and no id
            ],
        },
        finish="stop",  # after tool calls, a server that says stop meant tool_calls
        usage={"prompt_tokens": 5, "completion_tokens": 3},
    )

    completion = whole_answer("vllm", URL, body)

    assert (completion.content, completion.reasoning, completion.finish_reason) == (None, "think", "tool_calls")
    assert [(c.function.name, json.loads(c.function.arguments)) for c in completion.tool_calls] == [
        ("a", {"x": 1}),
        ("b", {"y": 2}),
    ]
    assert completion.tool_calls[0].id == "call_abc123" and completion.tool_calls[1].id.startswith("call_")
    assert completion.usage == Usage(5, 3, 8)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{not json", "invalid JSON in response body"),
        (b'{"choices": []}', "answer has no choices[0].message"),
        (answer({"content": "Hel"}, finish=None), "the answer has no finish_reason: it is incomplete"),
        (answer({"tool_calls": [{"function": {"arguments": "{}"}}]}), "tool call without a function name"),
        (answer({"content": "Hel"}, finish="error"), "the server ended the answer with finish_reason 'error'"),
        (answer({"content": "Hel"}, finish="abort"), "the server ended the answer with finish_reason 'abort'"),
    ],
)
def test_what_is_not_a_whole_answer_is_a_protocol_error(body: bytes, detail: str) -> None:
    with pytest.raises(UpstreamProtocolError) as caught:
        whole_answer("vllm", URL, body)
    assert caught.value.detail.startswith(detail)
    assert caught.value.started


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        (b'{"error": {"message": "busy", "code": 429}}', 429, "error in answer: busy"),
        (b'{"error": "out of memory"}', 502, "error in answer: out of memory"),
        (b'{"error": {"message": "odd", "code": "E42"}}', 502, "error in answer: odd"),
        (  # vLLM's older error shape, whole or as a stream event
            b'{"object": "error", "message": "CUDA out of memory", "type": "InternalServerError", "param": null, '
            b'"code": 500}',
            500,
            "error in answer: CUDA out of memory",
        ),
    ],
)
def test_an_error_in_a_200_is_that_error_and_started(body: bytes, status: int, detail: str) -> None:
    with pytest.raises(UpstreamStatusError) as caught:
        whole_answer("vllm", URL, body)
    assert (caught.value.status, caught.value.detail, caught.value.started) == (status, detail, True)
    with pytest.raises(UpstreamStatusError):
        StreamReader("vllm", URL).feed(b"data: " + body)


IN_ANSWER_TOO_LONG = [
    (  # llama-server before its PR #16486: the stream's first event
        b'{"error":{"code":400,"message":"request (9000 tokens) exceeds the available context size (8192 tokens),'
        b' try increasing it","type":"exceed_context_size_error","n_prompt_tokens":9000,"n_ctx":8192}}'
    ),
    (  # SGLang
        b'{"error": {"object": "error", "message": "The input (9000 tokens) is longer than the model\'s context'
        b' length (8192 tokens).", "type": "BadRequestError", "param": null, "code": 400}}'
    ),
    (  # llama-server builds that answered it with a 500
        b'{"error":{"code":500,"message":"the request exceeds the available context size. try increasing the'
        b' context size or enable context shift","type":"exceed_context_size_error"}}'
    ),
    (  # no numeric code: the type names it all the same
        b'{"error":{"message":"the request exceeds the available context size","type":"exceed_context_size_error"}}'
    ),
]


@pytest.mark.parametrize("body", IN_ANSWER_TOO_LONG)
def test_a_context_overflow_reported_in_a_200_falls_back(body: bytes) -> None:
    """It was a final 400 (or a 500 after no retry): the bigger window of the next tier was never tried."""
    for read in (lambda: whole_answer("llama", URL, body), lambda: StreamReader("llama", URL).feed(b"data: " + body)):
        with pytest.raises(UpstreamCapabilityError) as caught:
            read()
        error = caught.value
        assert (error.fallback_ok, error.retryable, error.trips_breaker, error.started) == (True, False, False, True)
        assert (error.status, error.detail.startswith("error in answer: ")) == (400, True)


def test_the_stream_reader_holds_the_finish_until_the_end_and_reads_nothing_after_done() -> None:
    reader = StreamReader("vllm", URL)
    lines = [
        b": comment",
        b"event: message",
        b'data: {"choices":[{"delta":{"role":"assistant","content":""}}]}',
        b'data: {"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_abc123",'
        b'"function":{"name":"f","arguments":""}}]}}]}',
        b'data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]},'
        b'"finish_reason":"tool_calls"}]}',
        b'data: {"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":1}}',
        b"data: [DONE]",
        b'data: {"choices":[{"delta":{"content":"after the end"}}]}',
    ]

    events = [event for line in lines for event in reader.feed(line)]

    assert events == [ToolCallStart(0, "call_abc123", "f"), ToolCallArgs(0, "{}")]
    assert reader.done
    assert reader.close() == [Finish("tool_calls"), UsageReport(Usage(2, 1, 3))]


STOPPED = [
    ('"stop_reason":"###"', "stop", "###"),  # vLLM: the stop string
    ('"stop_reason":128009', "stop", None),  # vLLM: a stop token's id
    ('"stop_reason":null', "stop", None),  # vLLM: the end-of-sequence token
    ('"matched_stop":"###"', "stop", "###"),  # SGLang
    ('"matched_stop":151645', "stop", None),
    ('"stop_reason":{"odd":1}', "stop", None),  # any other shape is read, and ignored
    ('"stop_reason":""', "stop", None),
    ('"logprobs":null', "stop", None),  # Ollama, llama.cpp, OpenAI: no word of it
]


@pytest.mark.parametrize(("field", "finish", "sequence"), STOPPED)
def test_the_stop_string_an_answer_ended_on_is_kept(field: str, finish: str, sequence: str | None) -> None:
    body = '{"choices":[{"message":{"content":"a"},"finish_reason":"stop",' + field + "}]}"
    completion = whole_answer("vllm", URL, body.encode())
    assert (completion.finish_reason, completion.stop_sequence) == (finish, sequence)
    reader = StreamReader("vllm", URL)
    reader.feed(b'data: {"choices":[{"delta":{"content":"a"},"finish_reason":null,"stop_reason":null}]}')
    reader.feed(b'data: {"choices":[{"delta":{},"finish_reason":"stop",%s}]}' % field.encode())
    assert reader.close() == [Finish("stop", sequence)]


def test_a_stop_string_is_not_kept_when_the_answer_ended_otherwise() -> None:
    """A server reporting a stop string beside ``length`` or tool calls: the finish is what counts."""
    body = b'{"choices":[{"message":{"content":"a"},"finish_reason":"length","stop_reason":"###"}]}'
    assert whole_answer("vllm", URL, body).stop_sequence is None
    call = '{"tool_calls":[{"id":"c1","function":{"name":"f","arguments":"{}"}}]}'
    body = ('{"choices":[{"message":' + call + ',"finish_reason":"stop","stop_reason":"###"}]}').encode()
    completion = whole_answer("vllm", URL, body)
    assert (completion.finish_reason, completion.stop_sequence) == ("tool_calls", None)


@pytest.mark.parametrize("raw", ["tool_calls", "function_call"])
def test_a_tool_calls_finish_without_a_tool_call_is_a_stop(raw: str) -> None:
    """A server whose tool parser failed leaves the call in the text and still says ``tool_calls``: chat
    clients got that finish with no ``tool_calls``, Messages clients ``tool_use`` with only a text block."""
    text = '<tool_call>{"name": "get_weather"</tool_call>'
    assert whole_answer("vllm", URL, answer({"content": text}, finish=raw)).finish_reason == "stop"
    reader = StreamReader("vllm", URL)
    reader.feed(b'data: {"choices":[{"delta":{"content":%s},"finish_reason":null}]}' % json.dumps(text).encode())
    reader.feed(b'data: {"choices":[{"delta":{},"finish_reason":"%s"}]}' % raw.encode())
    assert reader.close() == [Finish("stop")]


@pytest.mark.parametrize("raw", ["error", "abort", "insufficient_system_resource", "Abort", "server_error"])
def test_a_finish_that_says_the_generation_failed_is_no_whole_answer(raw: str) -> None:
    """vLLM ends a failed generation with ``error``, vLLM and SGLang an aborted one with ``abort``, DeepSeek one
    it interrupted for want of capacity with ``insufficient_system_resource``; each read as ``stop`` once, and a
    broken answer passed for a whole one. So does a reason in another case, or one tiergate does not know that
    names a failure."""
    reader = StreamReader("vllm", URL)
    reader.feed(b'data: {"choices":[{"delta":{"content":"Hel"},"finish_reason":null}]}')
    reader.feed(b'data: {"choices":[{"delta":{},"finish_reason":"%s"}]}' % raw.encode())
    reader.feed(b'data: {"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":1}}')
    assert reader.finished and reader.feed(b"data: [DONE]") == []
    with pytest.raises(UpstreamProtocolError) as caught:
        reader.close()
    assert caught.value.detail == (
        f"the server ended the answer with finish_reason '{raw}': its generation failed, the answer is incomplete"
    )
    assert reader.counted == Usage(2, 1, 3), "what the upstream counted is still charged"
    with pytest.raises(UpstreamProtocolError) as caught:
        whole_answer("deepseek", URL, answer({"content": "Hel"}, finish=raw))
    assert caught.value.detail.startswith(f"the server ended the answer with finish_reason '{raw}'")


FINISHES = [
    ("stop", "stop"),
    ("length", "length"),
    ("content_filter", "content_filter"),
    ("repetition", "stop"),  # vLLM: a model caught looping; all it will write, not a limit to raise
    ("eos_token", "stop"),  # TGI
    ("stop_sequence", "stop"),  # TGI, Anthropic's through a gateway
    ("eos", "stop"),  # Together
    ("end_turn", "stop"),  # Anthropic's, through a Bedrock gateway
    ("end", "stop"),  # some gateways'
    ("STOP", "stop"),  # a Gemini gateway's
    ("MAX_TOKENS", "length"),  # a Gemini gateway's
    ("max_tokens", "length"),  # Anthropic's
    ("max_output_tokens", "length"),  # Responses'
    ("model_length", "length"),  # Mistral: the model's context window ended the answer
    ("tool_use", "stop"),  # Anthropic's tool_calls, with no call in the answer: a text answer
    # reasons tiergate does not know, read by what they say
    ("max_length_reached", "length"),
    ("context_window_exceeded", "length"),
    ("output_truncated", "length"),
    ("end_of_text", "stop"),
    ("time_limit", "stop"),  # names no limit tiergate knows: nothing says the answer was cut
    ("stop_token", "stop"),  # a token that stops: no limit
    ("eos_token_id", "stop"),
    ("max_new_tokens_reached", "length"),
    ("SAFETY", "content_filter"),  # a Gemini gateway's
    ("RECITATION", "content_filter"),
    ("refusal", "content_filter"),
]


@pytest.mark.parametrize(("raw", "finish"), FINISHES)
def test_a_finish_that_is_not_a_failure_ends_an_answer_as_it_says(raw: str, finish: str) -> None:
    """Known names in any case, and the rest by what they say: every unknown reason read as ``length`` once, and
    a gateway's ``end_turn`` reached Codex as an incomplete response, which it retries (and pays for) again."""
    assert whole_answer("vllm", URL, answer({"content": "a"}, finish=raw)).finish_reason == finish
    reader = StreamReader("vllm", URL)
    reader.feed(b'data: {"choices":[{"delta":{"content":"a"},"finish_reason":null}]}')
    reader.feed(b'data: {"choices":[{"delta":{},"finish_reason":"%s"}]}' % raw.encode())
    assert reader.close() == [Finish(finish)]


@pytest.mark.parametrize(
    ("raw", "finish"),
    [
        ("tool_calls", "tool_calls"),
        ("tool_use", "tool_calls"),
        ("function_call", "tool_calls"),
        ("end_turn", "tool_calls"),
        ("end", "tool_calls"),
        ("STOP", "tool_calls"),
        ("eos_token", "tool_calls"),
        ("done", "tool_calls"),  # unknown, and no word of a cut or a failure: a clean end
        ("model_length", "length"),
        ("MAX_TOKENS", "length"),
    ],
)
def test_a_finish_after_tool_calls_keeps_what_it_says(raw: str, finish: str) -> None:
    """A clean end after calls is ``tool_calls``; a cut one stays a cut (the calls' arguments may be half)."""
    call = {"id": "c1", "function": {"name": "f", "arguments": "{}"}}
    assert whole_answer("vllm", URL, answer({"tool_calls": [call]}, finish=raw)).finish_reason == finish
    reader = StreamReader("vllm", URL)
    reader.feed(b'data: {"choices":[{"delta":{"tool_calls":[%s]},"finish_reason":null}]}' % json.dumps(call).encode())
    reader.feed(b'data: {"choices":[{"delta":{},"finish_reason":"%s"}]}' % raw.encode())
    assert reader.close()[-1] == Finish(finish)


def test_a_reason_tiergate_does_not_know_is_logged_once_per_backend(caplog: pytest.LogCaptureFixture) -> None:
    """An operator sees the reasons tiergate guessed at, and how it read them; a known one, in any case, is no
    news, and neither is an unknown one again from the same backend."""
    caplog.set_level("WARNING", logger="tiergate.backends")
    for backend, raw in [("gw-a", "END_TURN"), ("gw-a", "done"), ("gw-a", "done"), ("gw-b", "done")]:
        whole_answer(backend, URL, answer({"content": "a"}, finish=raw))
    reader = StreamReader("gw-a", URL)
    reader.feed(b'data: {"choices":[{"delta":{"content":"a"},"finish_reason":"cut_at_max_length"}]}')
    reader.close()
    with pytest.raises(UpstreamProtocolError):
        whole_answer("gw-a", URL, answer({"content": "a"}, finish="upstream_failure"))
    whole_answer("gw-a", URL, answer({"content": "a"}, finish="sk-echoed key\nforged line"))
    said = "backend '%s' ended an answer with a finish_reason %s, which tiergate does not know: read as %s"
    assert [r.getMessage() for r in caplog.records] == [
        said % ("gw-a", "'done'", "a clean end"),
        said % ("gw-b", "'done'", "a clean end"),
        said % ("gw-a", "'cut_at_max_length'", "a length cut"),
        said % ("gw-a", "'upstream_failure'", "a failed generation"),
        said % ("gw-a", "of 25 characters that is no name", "a clean end"),
    ]
    assert all(r.levelname == "WARNING" for r in caplog.records)
    assert not any("sk-" in r.getMessage() for r in caplog.records), "a text, not a name, is never quoted"


def test_a_stream_without_finish_or_done_is_cut_short() -> None:
    reader = StreamReader("vllm", URL)
    assert reader.feed(b'data: {"choices":[{"delta":{"content":"Hi"}}]}') == [TextDelta("Hi")]
    with pytest.raises(UpstreamProtocolError, match="stream ended before finish"):
        reader.close()


def test_done_without_a_finish_reason_is_cut_short() -> None:
    """A server that stops mid-answer and still writes [DONE] sent no finish_reason: the answer is not whole."""
    reader = StreamReader("vllm", URL)
    assert reader.feed(b'data: {"choices":[{"delta":{"content":"Hello from the "}}]}') == [TextDelta("Hello from the ")]
    assert reader.feed(b"data: [DONE]") == []
    with pytest.raises(UpstreamProtocolError, match=r"closed \(data: DONE\) without a finish_reason"):
        reader.close()


TEXT = b'data: {"choices":[{"delta":{"content":"Hi"},"finish_reason":null}]}'
FINISH = b'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}'
FINISHED_TEXT = b'data: {"choices":[{"delta":{"content":"Hi"},"finish_reason":"stop"}]}'
COUNT = b'data: {"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":1}}'


def read(*lines: bytes) -> StreamReader:
    reader = StreamReader("proxy", URL)
    for line in lines:
        reader.feed(line)
    return reader


@pytest.mark.parametrize(
    ("lines", "whole", "may_end"),
    [
        ([TEXT, FINISH], False, True),  # a finish: the answer may end here, but it is not proved whole
        ([TEXT, FINISH, COUNT], True, True),  # the usage chunk after it: servers send it last
        ([TEXT, FINISH, b"data: [DONE]"], True, True),
        ([FINISHED_TEXT, FINISHED_TEXT], False, False),  # a finish before the answer's end: no end on its own
        ([FINISHED_TEXT, FINISHED_TEXT, COUNT], True, True),
        ([FINISHED_TEXT, TEXT, FINISH], False, False),  # Open WebUI's finish on its reasoning
        ([TEXT, FINISH, COUNT, TEXT, FINISH], False, False),  # more answer after the count: not its last
        ([TEXT, b'data: {"choices":[{"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":2}}'], False, True),
        ([TEXT, b'data: {"choices":[{"delta":{},"finish_reason":"abort"}]}', COUNT], False, False),
    ],
)
def test_an_answer_is_whole_once_the_usage_chunk_or_done_follows_its_finish(
    lines: list[bytes], whole: bool, may_end: bool
) -> None:
    """Some servers set a finish_reason on chunks before the end of the answer (older proxies and LiteLLM on every
    chunk, ChatMock on a tool call's first): after a finish alone, what fails may be the rest of the answer."""
    reader = read(*lines)
    assert (reader.whole, reader.may_end) == (whole, may_end)


def test_a_server_that_set_a_finish_early_is_no_whole_answer_at_the_end_of_its_body() -> None:
    """A body that ends after its last finish, without the usage chunk or ``[DONE]``, from a server whose finish
    came before its answer's end: it may have been cut there."""
    with pytest.raises(UpstreamProtocolError, match="its server set a finish_reason before the end of the answer"):
        read(FINISHED_TEXT, FINISHED_TEXT).close()
    assert read(FINISHED_TEXT, FINISHED_TEXT, COUNT).close() == [Finish("stop"), UsageReport(Usage(2, 1, 3))]
    assert read(FINISHED_TEXT, FINISHED_TEXT, b"data: [DONE]").close() == [Finish("stop")]
    assert read(TEXT, FINISH).close() == [Finish("stop")], "one finish, at the end: a server that sends no [DONE]"


@pytest.mark.parametrize("midway", [True, False])
def test_a_body_that_stopped_midway_through_an_event_needs_the_usage_chunk(midway: bool) -> None:
    """The event the body left unfinished may be more of the answer; after the usage chunk, it is not."""
    reader = read(TEXT, FINISH)
    reader.stopped(midway=midway)
    if midway:
        with pytest.raises(UpstreamProtocolError, match="stopped midway through an event after a finish_reason"):
            reader.close()
    else:
        assert reader.close() == [Finish("stop")]
    reader = read(TEXT, FINISH, b'data: {"choices":[{"delta":{"content":"more')  # an event's first line
    reader.stopped(midway=False)
    with pytest.raises(UpstreamProtocolError, match="stopped midway"):
        reader.close()
    reader = read(TEXT, FINISH, COUNT)
    reader.stopped(midway=midway)
    assert reader.close() == [Finish("stop"), UsageReport(Usage(2, 1, 3))]


def test_an_events_json_over_several_data_lines_is_joined_as_sse_joins_it() -> None:
    """SSE joins an event's ``data:`` lines with line breaks; each line alone was read, and the first half
    of the value failed the stream as invalid JSON."""
    reader = StreamReader("vllm", URL)
    lines = [
        b'data: {"choices":[{"delta":',
        b'data: {"content":"Hel"}}]}',
        b"",
        b'data: {"choices":[{"delta":{"content":"lo"},',
        b'data:  "finish_reason":"stop"}]}',
        b"",
        b"data: [DONE]",
    ]
    events = [event for line in lines for event in reader.feed(line)]
    assert events == [TextDelta("Hel"), TextDelta("lo")]
    assert reader.close() == [Finish("stop")]


def test_an_event_over_thousands_of_data_lines_is_read_once_at_its_end() -> None:
    """Each line once re-read the whole event so far: 36,000 lines took 11 s on the event loop."""
    value = json.dumps({"choices": [{"delta": {"content": "x" * 40_000}, "finish_reason": "stop"}]}, indent=0)
    lines = [*(b"data: " + part.encode() for part in value.split("\n")), b""]  # a line per line of it
    reader = StreamReader("vllm", URL)
    events = [event for line in lines for event in reader.feed(line)]
    assert events == [TextDelta("x" * 40_000)] and len(lines) > 5
    assert reader.close() == [Finish("stop")]


@pytest.mark.parametrize(
    "tail",
    [[b"data: [DONE]"], []],  # no blank line before the end marker; the stream ends with the event
)
def test_an_event_cut_into_lines_ended_without_a_blank_line_is_still_read(tail: list[bytes]) -> None:
    reader = StreamReader("vllm", URL)
    lines = [b'data: {"choices":[{"delta":{"content":"Hi"},', b'data: "finish_reason":"stop"}]}', *tail]
    events = [event for line in lines for event in reader.feed(line)]
    assert [*events, *reader.close()] == [TextDelta("Hi"), Finish("stop")]


@pytest.mark.parametrize(
    "lines",
    [
        [b'data: {"choices":[{"delta":', b""],  # the event ended with its value cut short
        [b'data: {"choices":[{"delta":'],  # the stream did
    ],
)
def test_an_event_whose_data_never_makes_a_value_is_invalid_json(lines: list[bytes]) -> None:
    reader = StreamReader("vllm", URL)
    with pytest.raises(UpstreamProtocolError, match="invalid JSON in stream event: Input data was truncated"):
        for line in lines:
            reader.feed(line)
        reader.close()


def test_a_value_that_is_wrong_not_cut_short_fails_at_once() -> None:
    with pytest.raises(UpstreamProtocolError, match="invalid JSON in stream event"):
        StreamReader("vllm", URL).feed(b"data: {bad json}")


def test_an_empty_id_on_every_piece_of_a_streamed_call_is_one_call() -> None:
    """TGI 3.x sends ``"id": ""`` with every piece of a call, and its name only in the first: an empty id read
    as a new one opened a nameless call for each piece of the arguments."""
    reader = StreamReader("tgi", URL)
    pieces = [('"get_weather"', "null"), ("null", '"{\\"city\\""'), ("null", '": \\"Paris\\"}"')]
    lines = [
        b'data: {"choices":[{"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"","type":"function",'
        b'"function":{"name":%s,"arguments":%s}}]},"finish_reason":null}]}' % (name.encode(), arguments.encode())
        for name, arguments in pieces
    ]
    lines.append(b'data: {"choices":[{"delta":{},"finish_reason":"tool_calls"}]}')

    events = [event for line in lines for event in reader.feed(line)]

    assert len(events) == 3 and isinstance(start := events[0], ToolCallStart)
    assert (start.index, start.name, start.id.startswith("call_"), len(start.id)) == (0, "get_weather", True, 29)
    assert events[1:] == [ToolCallArgs(0, '{"city"'), ToolCallArgs(0, ': "Paris"}')]
    assert reader.close() == [Finish("tool_calls")]


#: (a server's tool-call id, kept): ids that may repeat in the next answer are replaced.
SERVER_IDS = [
    ("chatcmpl-tool-8c1b2f3e4d5a4b6c9d0e1f2a3b4c5d6e", True),  # vLLM
    ("call_abc123", True),
    ("call_k2x9q0mz", True),  # Ollama's /v1
    ("a1B2c3D4e", True),  # Mistral's 9 characters
    ("0", False),  # TGI numbers its calls per answer
    ("call_0", False),
    ("", False),
    (None, False),
]


@pytest.mark.parametrize(("server_id", "kept"), SERVER_IDS)
def test_a_server_tool_call_id_is_kept_only_when_it_is_long_enough_to_be_unique(
    server_id: str | None, kept: bool
) -> None:
    """TGI's ``"0"`` came back in every turn; once the conversation reached a Claude tier, Anthropic refused
    the history ("tool_use ids must be unique")."""
    call: dict[str, Any] = {"function": {"name": "f", "arguments": "{}"}}
    if server_id is not None:
        call["id"] = server_id
    whole = whole_answer("tgi", URL, answer({"tool_calls": [call]}, finish="tool_calls")).tool_calls[0].id
    reader = StreamReader("tgi", URL)
    (streamed, _) = reader.feed(b'data: {"choices":[{"delta":{"tool_calls":[%s]}}]}' % json.dumps(call).encode())
    assert isinstance(streamed, ToolCallStart)
    for given in (whole, streamed.id):
        assert given == server_id if kept else (given.startswith("call_") and len(given) == 29)
    assert kept or whole != streamed.id


def test_an_id_the_conversation_holds_or_the_answer_repeats_is_replaced() -> None:
    """vLLM's index-based parsers answer ``functions.get_weather:0`` in every turn, and may give two calls of
    one answer the same id: a client holding the earlier call read the new one as it, and Claude Code looped."""
    request = chat(
        messages=[
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "tool_calls": [{"id": "functions.get_weather:0", "function": {"name": "w"}}]},
            {"role": "tool", "tool_call_id": "functions.get_weather:0", "content": "sunny"},
            {"role": "tool", "tool_call_id": "result_without_its_call", "content": "rain"},
        ]
    )
    taken = conversation_ids(request)
    assert taken == {"functions.get_weather:0", "result_without_its_call"}
    ids = ["functions.get_weather:0", "result_without_its_call", "functions.get_weather:1", "functions.get_weather:1"]
    calls = [{"index": i, "id": id, "function": {"name": "w", "arguments": "{}"}} for i, id in enumerate(ids)]
    whole = [
        c.id for c in whole_answer("vllm", URL, answer({"tool_calls": calls}, "tool_calls"), taken=taken).tool_calls
    ]
    reader = StreamReader("vllm", URL, taken=taken)
    line = b'data: {"choices":[{"delta":{"tool_calls":%s}}]}' % json.dumps(calls).encode()
    streamed = [e.id for e in reader.feed(line) if isinstance(e, ToolCallStart)]
    for given in (whole, streamed):
        assert given[2] == "functions.get_weather:1"  # new to the conversation: kept
        assert all(id.startswith("call_") and len(id) == 29 for id in given[:2] + given[3:])
        assert len(set(given) | taken) == 6


def test_tool_arguments_before_their_call_is_a_protocol_error() -> None:
    with pytest.raises(UpstreamProtocolError, match="before the call's id and name"):
        StreamReader("vllm", URL).feed(
            b'data: {"choices":[{"delta":{"tool_calls":[{"index":2,"function":{"arguments":"{"}}]}}]}'
        )


@pytest.mark.parametrize(
    ("status", "body", "detail", "upstream_type"),
    [
        (
            429,
            b'{"error": {"message": "slow down", "type": "rate_limit_error"}}',
            "HTTP 429: slow down",
            "rate_limit_error",
        ),
        (400, b'{"object": "error", "message": "bad request", "code": 400}', "HTTP 400: bad request", None),  # vLLM
        (500, b'{"error": "model crashed"}', "HTTP 500: model crashed", None),  # LM Studio
        (502, b"<html>bad gateway</html>", "HTTP 502: <html>bad gateway</html>", None),
        (404, b"", "HTTP 404: no error message", None),
    ],
)
def test_status_errors(status: int, body: bytes, detail: str, upstream_type: str | None) -> None:
    error = status_error("vllm", URL, status, body, retry_after=3.0)

    assert type(error) is UpstreamStatusError
    assert (error.status, error.detail, error.upstream_type, error.retry_after) == (status, detail, upstream_type, 3.0)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            b'{"error": {"message": "too long", "type": "invalid_request_error", "code": "context_length_exceeded"}}',
            "context_length_exceeded",
        ),
        (b'{"object": "error", "message": "bad request", "code": 400}', None),  # vLLM's old numeric code
        (b'{"error": {"message": "bad", "code": null}}', None),
    ],
)
def test_the_upstreams_own_error_code_is_kept(body: bytes, code: str | None) -> None:
    assert status_error("vllm", URL, 400, body).code == code


def test_a_server_that_refuses_the_response_format_is_a_capability_error() -> None:
    body = b'{"error": {"message": "Input should be \'json_object\' or \'text\': response_format.type"}}'

    error = status_error("llama", URL, 500, body)

    assert isinstance(error, UpstreamCapabilityError)
    assert (error.kind, error.fallback_ok, error.retryable) == ("capability", True, False)
