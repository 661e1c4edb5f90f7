"""AnthropicBackend against FakeAnthropic over loopback HTTP, plus its pure translation functions."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import msgspec
import pytest
import pytest_asyncio

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.scripts import Hang, Malformed, Status, StreamError, Text, ToolCalls, Truncated
from tests.fakes.server import serve
from tiergate.backends.anthropic import (
    AnthropicBackend,
    AnthropicMessage,
    StreamTranslator,
    finish_reason,
    from_message,
    sse_events,
    to_messages_body,
)
from tiergate.backends.base import Call
from tiergate.config.model import AnthropicBackendConfig
from tiergate.errors import (
    RequestError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamUnavailable,
)
from tiergate.wire import (
    ChatRequest,
    Completion,
    Finish,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallArgs,
    ToolCallStart,
    Usage,
    UsageReport,
)

KEY = "sk-ant-test-0123456789abcdef"
MODEL = "claude-test-1"
CALL = Call(model=MODEL, connect_timeout=2.0, total_timeout=10.0)
PNG = "iVBORw0KGgoAAAANSUhEUg=="


def chat(**fields: Any) -> ChatRequest:
    return msgspec.convert(fields, ChatRequest)


def hello(**fields: Any) -> ChatRequest:
    return chat(messages=[{"role": "user", "content": "hi"}], **fields)


def config(url: str, **fields: Any) -> AnthropicBackendConfig:
    return AnthropicBackendConfig(base_url=url + "/", **fields)


async def collect(events: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in events]


async def failure(backend: AnthropicBackend, request: ChatRequest, *, stream: bool, call: Call = CALL) -> UpstreamError:
    """The error a call raises. (Keys echoed by the upstream are scrubbed by dispatch, which every call
    passes through: tests/unit/dispatch/test_dispatcher.py.)"""
    with pytest.raises(UpstreamError) as caught:
        if stream:
            await collect(backend.stream(request, call))
        else:
            await backend.complete(request, call)
    return caught.value


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeAnthropic, str]]:
    fake = FakeAnthropic()
    with serve(fake.app) as url:
        yield fake, url


@pytest.fixture
def fake(served: tuple[FakeAnthropic, str]) -> FakeAnthropic:
    served[0].queue.reset()
    return served[0]


@pytest_asyncio.fixture
async def backend(served: tuple[FakeAnthropic, str]) -> AsyncIterator[AnthropicBackend]:
    instance = AnthropicBackend(
        "claude", config(served[1], headers={"anthropic-beta": "test-beta"}), {"ANTHROPIC_API_KEY": KEY}
    )
    yield instance
    await instance.aclose()


# --- request translation, over the wire ---------------------------------------------------------


@pytest.mark.asyncio
async def test_plain_request_is_translated_and_the_answer_read_back(
    fake: FakeAnthropic, backend: AnthropicBackend
) -> None:
    fake.replies.append(Text("Bonjour.", prompt_tokens=21, completion_tokens=4))
    request = chat(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
            {"role": "user", "content": "Hello"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in these?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                ],
            },
            {"role": "assistant", "content": "Un chat."},
            {"role": "user", "content": "Merci"},
        ],
        stop=["\n\nHuman:", "END"],
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "search",
                    "description": "Search the web",
                    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
                },
            },
            {"type": "function", "function": {"name": "now"}},
        ],
        tool_choice="required",
        parallel_tool_calls=False,
        temperature=0.2,
        top_p=0.9,
        user="user-42",
        seed=7,
    )

    completion = await backend.complete(request, CALL)

    assert completion == Completion(content="Bonjour.", finish_reason="stop", usage=Usage.of(21, 4))
    (recorded,) = fake.requests
    assert recorded.path == "/v1/messages"
    assert recorded.body == {
        "model": MODEL,
        "max_tokens": 4096,
        "system": "Be brief.\n\nAnswer in French.",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Hello"},
                    {"type": "text", "text": "What is in these?"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
                ],
            },
            {"role": "assistant", "content": [{"type": "text", "text": "Un chat."}]},
            {"role": "user", "content": [{"type": "text", "text": "Merci"}]},
        ],
        "stop_sequences": ["\n\nHuman:", "END"],
        "tools": [
            {
                "name": "search",
                "description": "Search the web",
                "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
            },
            {"name": "now", "input_schema": {"type": "object", "properties": {}}},
        ],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "temperature": 0.2,
        "metadata": {"user_id": "user-42"},
    }
    assert recorded.headers["x-api-key"] == KEY
    assert recorded.headers["anthropic-version"] == "2023-06-01"
    assert recorded.headers["content-type"] == "application/json"
    assert recorded.headers["anthropic-beta"] == "test-beta"


@pytest.mark.asyncio
async def test_tool_call_round_trip(fake: FakeAnthropic, backend: AnthropicBackend) -> None:
    fake.replies.append(
        ToolCalls([("get_weather", {"city": "Lyon"})], text="Checking.", prompt_tokens=30, completion_tokens=12)
    )
    request = chat(
        tools=[{"type": "function", "function": {"name": "get_weather"}}],
        messages=[
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "toolu_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    },
                    {"id": "toolu_2", "type": "function", "function": {"name": "get_weather", "arguments": ""}},
                ],
            },
            {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
            {"role": "tool", "tool_call_id": "toolu_2", "content": [{"type": "text", "text": "21C"}]},
            {"role": "user", "content": "And Lyon?"},
        ],
    )

    completion = await backend.complete(request, CALL)

    assert fake.requests[0].body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Rome?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "21C"},
                {"type": "text", "text": "And Lyon?"},
            ],
        },
    ]
    assert "tool_choice" not in fake.requests[0].body
    assert completion.content == "Checking."
    assert completion.finish_reason == "tool_calls"
    assert completion.usage == Usage.of(30, 12)
    (tool_call,) = completion.tool_calls
    assert tool_call.id.startswith("toolu_")
    assert tool_call.function.name == "get_weather"
    assert json.loads(tool_call.function.arguments) == {"city": "Lyon"}


@pytest.mark.asyncio
async def test_invalid_tool_arguments_fail_before_any_request(fake: FakeAnthropic, backend: AnthropicBackend) -> None:
    request = chat(
        messages=[
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "tool_calls": [{"id": "call_9", "function": {"name": "run", "arguments": "{not json"}}],
            },
            {"role": "tool", "tool_call_id": "call_9", "content": "ok"},
        ]
    )

    with pytest.raises(RequestError) as caught:
        await backend.complete(request, CALL)

    assert caught.value.status == 400
    assert caught.value.param == "messages[1].tool_calls[0].function.arguments"
    assert "call_9" in caught.value.message
    assert fake.requests == []


# --- request translation, pure ------------------------------------------------------------------

TOOLS = [{"type": "function", "function": {"name": "lookup"}}]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"tool_choice": "auto"}, {"type": "auto"}),
        ({"tool_choice": "required"}, {"type": "any"}),
        ({"tool_choice": "none"}, {"type": "none"}),
        ({"tool_choice": "none", "parallel_tool_calls": False}, {"type": "none"}),
        ({"tool_choice": {"type": "function", "function": {"name": "lookup"}}}, {"type": "tool", "name": "lookup"}),
        (
            {"tool_choice": {"type": "function", "function": {"name": "lookup"}}, "parallel_tool_calls": False},
            {"type": "tool", "name": "lookup", "disable_parallel_tool_use": True},
        ),
        ({"parallel_tool_calls": False}, {"type": "auto", "disable_parallel_tool_use": True}),
        ({"parallel_tool_calls": True}, None),
        ({}, None),
    ],
)
def test_tool_choice_mapping(fields: dict[str, Any], expected: dict[str, Any] | None) -> None:
    body = to_messages_body(hello(tools=TOOLS, **fields), MODEL, default_max_tokens=100)
    assert body.get("tool_choice") == expected


def test_tool_choice_is_dropped_without_tools() -> None:
    assert "tool_choice" not in to_messages_body(hello(tool_choice="required"), MODEL, default_max_tokens=100)


def test_unknown_tool_choice_is_a_request_error() -> None:
    with pytest.raises(RequestError, match="tool_choice"):
        to_messages_body(hello(tools=TOOLS, tool_choice="sometimes"), MODEL, default_max_tokens=100)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, {}),
        ({"temperature": 0.5}, {"temperature": 0.5}),
        ({"top_p": 0.8}, {"top_p": 0.8}),
        ({"temperature": 0.0, "top_p": 0.8}, {"temperature": 0.0}),
    ],
)
def test_only_one_of_temperature_and_top_p_is_sent(fields: dict[str, Any], expected: dict[str, Any]) -> None:
    body = to_messages_body(hello(**fields), MODEL, default_max_tokens=100)
    assert {k: body[k] for k in ("temperature", "top_p") if k in body} == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [({}, 100), ({"max_tokens": 55}, 55), ({"max_tokens": 55, "max_completion_tokens": 66}, 66)],
)
def test_max_tokens_is_always_sent(fields: dict[str, Any], expected: int) -> None:
    assert to_messages_body(hello(**fields), MODEL, default_max_tokens=100)["max_tokens"] == expected


def test_stream_flag_and_plain_request_minimum() -> None:
    assert to_messages_body(hello(stop="END"), MODEL, default_max_tokens=100, stream=True) == {
        "model": MODEL,
        "max_tokens": 100,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "stop_sequences": ["END"],
        "stream": True,
    }


def test_tool_results_open_the_user_turn_they_join() -> None:
    request = chat(
        messages=[
            {"role": "assistant", "tool_calls": [{"id": "t1", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "user", "content": "also this"},
            {"role": "tool", "tool_call_id": "t1", "content": ""},
        ]
    )
    messages = to_messages_body(request, MODEL, default_max_tokens=10)["messages"]
    assert messages[1] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "t1"},
            {"type": "text", "text": "also this"},
        ],
    }


@pytest.mark.parametrize(
    ("message", "param"),
    [
        (
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}]},
            "messages[0].content[0].image_url",
        ),
        ({"role": "tool", "content": "orphan"}, "messages[0].tool_call_id"),
        (
            {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "[1, 2]"}}]},
            "messages[0].tool_calls[0].function.arguments",
        ),
    ],
)
def test_untranslatable_messages_name_their_path(message: dict[str, Any], param: str) -> None:
    with pytest.raises(RequestError) as caught:
        to_messages_body(chat(messages=[message]), MODEL, default_max_tokens=10)
    assert caught.value.param == param
    assert caught.value.message.startswith(param)


# --- answer translation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stop_reason", "expected"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("something_new", "stop"),
        (None, "stop"),
    ],
)
def test_stop_reason_mapping(stop_reason: str | None, expected: str) -> None:
    assert finish_reason(stop_reason) == expected


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("stop", "expected"),
    [
        ("stop", "stop"),
        ("length", "length"),
        ("content_filter", "content_filter"),
        ("model_context_window_exceeded", "length"),
        ("stop_sequence", "stop"),
    ],
)
async def test_stop_reason_over_the_wire(
    fake: FakeAnthropic, backend: AnthropicBackend, stop: str, expected: str
) -> None:
    fake.replies.extend([Text(stop=stop), Text(stop=stop)])
    assert (await backend.complete(hello(), CALL)).finish_reason == expected
    events = await collect(backend.stream(hello(), CALL))
    assert [e for e in events if isinstance(e, Finish)] == [Finish(expected)]


def test_answer_with_thinking_and_cached_prompt_tokens() -> None:
    answer = msgspec.json.decode(
        json.dumps(
            {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": MODEL,
                "content": [
                    {"type": "thinking", "thinking": "Let me see.", "signature": "sig"},
                    {"type": "text", "text": "Part one, "},
                    {"type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {}},
                    {"type": "text", "text": "part two."},
                ],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {
                    "input_tokens": 10,
                    "output_tokens": 5,
                    "cache_read_input_tokens": 100,
                    "cache_creation_input_tokens": 20,
                    "cache_creation": {"ephemeral_5m_input_tokens": 20},
                },
            }
        ),
        type=AnthropicMessage,
    )
    completion = from_message(answer)
    assert completion == Completion(
        content="Part one, part two.", finish_reason="stop", usage=Usage.of(130, 5), reasoning="Let me see."
    )


# --- streams ------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_stream_text_events_in_order(fake: FakeAnthropic, backend: AnthropicBackend) -> None:
    fake.replies.append(Text("abcdefghi", chunks=3, prompt_tokens=8, completion_tokens=3))

    events = await collect(backend.stream(hello(), CALL))

    assert events == [TextDelta("abc"), TextDelta("def"), TextDelta("ghi"), Finish("stop"), UsageReport(Usage.of(8, 3))]
    assert fake.requests[0].body["stream"] is True


@pytest.mark.asyncio
async def test_stream_parallel_tool_calls_are_numbered_from_zero(
    fake: FakeAnthropic, backend: AnthropicBackend
) -> None:
    calls = [("get_weather", {"city": "Paris", "unit": "celsius"}), ("get_time", {"tz": "Europe/Paris"})]
    fake.replies.append(ToolCalls(calls, text="Let me check."))

    events = await collect(backend.stream(hello(tools=TOOLS), CALL))

    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Let me check."
    starts = [e for e in events if isinstance(e, ToolCallStart)]
    assert [(s.index, s.name) for s in starts] == [(0, "get_weather"), (1, "get_time")]
    assert all(s.id.startswith("toolu_") for s in starts)
    for index, (_, arguments) in enumerate(calls):
        fragments = [e.arguments for e in events if isinstance(e, ToolCallArgs) and e.index == index]
        assert len(fragments) >= 2
        assert json.loads("".join(fragments)) == arguments
    assert all(e.arguments for e in events if isinstance(e, ToolCallArgs))
    first_start = events.index(starts[0])
    assert all(not isinstance(e, TextDelta) for e in events[first_start:])
    assert events[-2:] == [Finish("tool_calls"), UsageReport(Usage.of(13, 9))]


@pytest.mark.asyncio
async def test_leaving_a_stream_early_releases_the_connection(served: tuple[FakeAnthropic, str]) -> None:
    served[0].queue.reset()
    backend = AnthropicBackend("claude", config(served[1], max_connections=1), {"ANTHROPIC_API_KEY": KEY})
    try:
        served[0].replies.append(Hang(seconds=3.0, after_events=4))
        stream = backend.stream(hello(), Call(model=MODEL, total_timeout=2.0))
        assert isinstance(await anext(stream), TextDelta)
        await stream.aclose()  # type: ignore[attr-defined]
        assert (await backend.complete(hello(), Call(model=MODEL, total_timeout=2.0))).content
    finally:
        await backend.aclose()


def test_translator_ignores_pings_unknown_events_and_signatures() -> None:
    translator = StreamTranslator("claude", "http://upstream")
    assert translator.feed("ping", '{"type": "ping"}') == []
    assert translator.feed("brand_new_event", '{"type": "brand_new_event", "x": 1}') == []
    assert (
        translator.feed(
            "", '{"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}'
        )
        == []
    )
    assert translator.feed(
        "content_block_delta",
        '{"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hmm"}}',
    ) == [ReasoningDelta("hmm")]
    assert (
        translator.feed(
            "content_block_delta",
            '{"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "s"}}',
        )
        == []
    )
    assert not translator.done


def test_translator_reports_cached_prompt_tokens_and_final_output_tokens() -> None:
    translator = StreamTranslator("claude", "http://upstream")
    translator.feed(
        "message_start",
        json.dumps(
            {
                "type": "message_start",
                "message": {
                    "content": [],
                    "usage": {"input_tokens": 4, "output_tokens": 1, "cache_read_input_tokens": 50},
                },
            }
        ),
    )
    translator.feed(
        "message_delta",
        json.dumps({"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 9}}),
    )
    assert translator.feed("message_stop", '{"type": "message_stop"}') == [
        Finish("length"),
        UsageReport(Usage.of(54, 9)),
    ]
    assert translator.done


@pytest.mark.asyncio
async def test_sse_parser_handles_comments_multiline_data_and_a_missing_final_blank_line() -> None:
    async def lines() -> AsyncIterator[str]:
        for line in [": keep-alive", "event: a", 'data: {"x":', "data: 1}", "", "", "retry: 5", "data: last"]:
            yield line

    assert [event async for event in sse_events(lines())] == [("a", '{"x":\n1}'), ("", "last")]


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [False, True])
async def test_rate_limit_carries_retry_after(fake: FakeAnthropic, backend: AnthropicBackend, stream: bool) -> None:
    fake.replies.append(Status(429, "Number of request tokens has exceeded your rate limit", {"retry-after": "7"}))

    error = await failure(backend, hello(), stream=stream)

    assert isinstance(error, UpstreamStatusError)
    assert (error.status, error.retry_after, error.upstream_type) == (429, 7.0, "rate_limit_error")
    assert error.retryable and error.fallback_ok
    assert error.detail == "Number of request tokens has exceeded your rate limit"
    assert error.message.startswith(f"backend 'claude' at {backend.url}: ")


@pytest.mark.asyncio
async def test_retry_after_ms_is_preferred(fake: FakeAnthropic, backend: AnthropicBackend) -> None:
    fake.replies.append(Status(429, "slow down", {"retry-after": "2", "retry-after-ms": "1500"}))
    error = await failure(backend, hello(), stream=False)
    assert error.retry_after == 1.5


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "upstream_type", "retryable", "fallback_ok"),
    [
        (529, "overloaded_error", True, True),
        (500, "api_error", True, True),
        (400, "invalid_request_error", False, False),
        (413, "request_too_large", False, False),
        (401, "authentication_error", False, True),
    ],
)
async def test_error_statuses(
    fake: FakeAnthropic, backend: AnthropicBackend, status: int, upstream_type: str, retryable: bool, fallback_ok: bool
) -> None:
    fake.replies.append(Status(status, "nope"))

    error = await failure(backend, hello(), stream=False)

    assert isinstance(error, UpstreamStatusError)
    assert (error.status, error.upstream_type, error.detail) == (status, upstream_type, "nope")
    assert (error.retryable, error.fallback_ok) == (retryable, fallback_ok)
    assert error.retry_after is None


@pytest.mark.asyncio
async def test_the_upstream_message_is_kept_word_for_word_for_dispatch_to_scrub(
    fake: FakeAnthropic, backend: AnthropicBackend
) -> None:
    fake.replies.append(Status(401, "invalid x-api-key sk-ant-shown"))
    error = await failure(backend, hello(), stream=True)
    assert error.detail == "invalid x-api-key sk-ant-shown"


@pytest.mark.asyncio
async def test_a_non_json_error_body_is_previewed() -> None:
    page = "<html>" + "bad gateway " * 40 + "</html>"

    async def proxy(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 502, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": page.encode()})

    with serve(proxy) as url:
        backend = AnthropicBackend("claude", config(url), {"ANTHROPIC_API_KEY": KEY})
        try:
            error = await failure(backend, hello(), stream=False)
        finally:
            await backend.aclose()

    assert isinstance(error, UpstreamStatusError)
    assert error.status == 502
    assert error.detail == page[:200]
    assert error.upstream_type is None


@pytest.mark.asyncio
async def test_error_event_mid_stream(fake: FakeAnthropic, backend: AnthropicBackend) -> None:
    fake.replies.append(StreamError(after_events=4, message="Overloaded"))
    seen: list[StreamEvent] = []

    with pytest.raises(UpstreamStatusError) as caught:
        async for event in backend.stream(hello(), CALL):
            seen.append(event)

    assert seen == [TextDelta("Hello from")]
    assert (caught.value.status, caught.value.upstream_type, caught.value.detail) == (
        529,
        "overloaded_error",
        "Overloaded",
    )


@pytest.mark.asyncio
async def test_truncated_stream_is_a_protocol_error(fake: FakeAnthropic, backend: AnthropicBackend) -> None:
    fake.replies.append(Truncated(after_events=5))
    error = await failure(backend, hello(), stream=True)
    assert isinstance(error, UpstreamProtocolError)
    assert error.detail == "stream ended before message_stop"
    assert not error.retryable


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [False, True])
async def test_malformed_json_is_a_protocol_error(fake: FakeAnthropic, backend: AnthropicBackend, stream: bool) -> None:
    fake.replies.append(Malformed())
    error = await failure(backend, hello(), stream=stream)
    assert isinstance(error, UpstreamProtocolError)
    assert error.status == 502


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [False, True])
async def test_connection_refused(stream: bool) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = AnthropicBackend("claude", config(f"http://127.0.0.1:{port}"), {"ANTHROPIC_API_KEY": KEY})
    try:
        error = await failure(backend, hello(), stream=stream)
    finally:
        await backend.aclose()
    assert isinstance(error, UpstreamUnavailable)
    assert error.kind == "connect"
    assert error.retryable and error.fallback_ok
    assert f"127.0.0.1:{port}" in error.message


@pytest.mark.asyncio
async def test_silence_past_the_total_timeout(fake: FakeAnthropic, backend: AnthropicBackend) -> None:
    fake.replies.append(Hang(seconds=1.0))
    error = await failure(backend, hello(), stream=False, call=Call(model=MODEL, total_timeout=0.2))
    assert isinstance(error, UpstreamUnavailable)
    assert (error.kind, error.status) == ("timeout", 504)


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [False, True])
async def test_missing_key_fails_without_calling_upstream(
    fake: FakeAnthropic, served: tuple[FakeAnthropic, str], stream: bool
) -> None:
    backend = AnthropicBackend("claude", config(served[1]), {"ANTHROPIC_API_KEY": "  "})
    try:
        assert backend.missing() == "environment variable ANTHROPIC_API_KEY is not set"
        assert await backend.probe() == "environment variable ANTHROPIC_API_KEY is not set"
        error = await failure(backend, hello(), stream=stream)
    finally:
        await backend.aclose()
    assert isinstance(error, UpstreamUnavailable)
    assert error.kind == "config"
    assert error.detail == "needs the environment variable ANTHROPIC_API_KEY, which is not set"
    assert not error.retryable
    assert fake.requests == []


@pytest.mark.asyncio
async def test_present_key_probes_without_a_request(
    backend: AnthropicBackend, fake: FakeAnthropic, served: tuple[FakeAnthropic, str]
) -> None:
    assert backend.missing() is None
    assert await backend.probe() is None
    assert backend.url == served[1]
    assert fake.requests == []
