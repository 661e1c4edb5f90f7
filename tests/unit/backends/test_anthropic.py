"""AnthropicBackend, the binding: what it sends (URL, headers, the codec's body, or the client's own body
natively) and how it reads answers, streams and failures back. The upstream is FakeAnthropic answering in
memory through an injected client (tests/fakes/mock_http.py); what only a socket can show (refused, slow,
a connection given back) runs over loopback. The codec itself: tests/unit/protocols/test_anthropic*.py."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import pytest_asyncio

from tests.fakes.anthropic import SIGNATURE, THINKING, FakeAnthropic
from tests.fakes.mock_http import MockClient, Reply, asgi
from tests.fakes.scripts import Hang, Json, Malformed, Status, StreamError, Text, ToolCalls, Truncated
from tests.fakes.server import serve
from tiergate.backends.anthropic import AnthropicBackend
from tiergate.backends.base import Call, retry_after
from tiergate.config.model import AnthropicBackendConfig
from tiergate.errors import (
    UpstreamCapabilityError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamUnavailable,
)
from tiergate.protocols.anthropic import decode
from tiergate.wire import (
    ALIVE,
    ChatRequest,
    Completion,
    Finish,
    Native,
    Raw,
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
URL = "http://claude.test"
CAPTURES = Path(__file__).parents[1] / "protocols" / "fixtures"
SCHEMA = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}


def chat(**fields: Any) -> ChatRequest:
    return msgspec.convert(fields, ChatRequest)


def hello(**fields: Any) -> ChatRequest:
    return chat(messages=[{"role": "user", "content": "hi"}], **fields)


def config(url: str = URL, **fields: Any) -> AnthropicBackendConfig:
    return AnthropicBackendConfig(base_url=url + "/", **fields)


async def collect(events: AsyncIterator[StreamEvent], *, alive: bool = False) -> list[StreamEvent]:
    """The stream's events; the signs of life of a translated stream (``ALIVE``) only with ``alive``."""
    return [event async for event in events if alive or not (isinstance(event, Raw) and event.dialect == ALIVE)]


async def failure(backend: AnthropicBackend, request: ChatRequest, *, stream: bool, call: Call = CALL) -> UpstreamError:
    """The error a call raises. (Keys echoed by the upstream are scrubbed by dispatch, which every call
    passes through: tests/unit/dispatch/test_dispatcher.py.)"""
    with pytest.raises(UpstreamError) as caught:
        if stream:
            await collect(backend.stream(request, call))
        else:
            await backend.complete(request, call)
    return caught.value


@pytest.fixture
def fake() -> FakeAnthropic:
    return FakeAnthropic()


@pytest.fixture
def client(fake: FakeAnthropic) -> MockClient:
    return MockClient(asgi(fake.app))


@pytest_asyncio.fixture
async def backend(client: MockClient) -> AsyncIterator[AnthropicBackend]:
    instance = AnthropicBackend(
        "claude", config(headers={"anthropic-beta": "test-beta"}), {"ANTHROPIC_API_KEY": KEY}, client=client
    )
    yield instance
    await instance.aclose()
    assert client.open == 0, "every exchange is left"
    assert client.closed


# --- what goes upstream ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_translated_request_and_its_answer(fake: FakeAnthropic, backend: AnthropicBackend) -> None:
    fake.replies.append(Text("Bonjour.", prompt_tokens=21, completion_tokens=4))
    request = chat(
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}],
        stop=["END"],
        temperature=0.2,
    )

    completion = await backend.complete(request, CALL)

    assert completion == Completion(content="Bonjour.", finish_reason="stop", usage=Usage.of(21, 4))
    (recorded,) = fake.requests
    assert recorded.path == "/v1/messages"
    assert recorded.body == {
        "model": MODEL,
        "max_tokens": 32000,  # the backend's default_max_tokens: the call knows no window to fit it in
        "system": "Be brief.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}],
        "stop_sequences": ["END"],
        "temperature": 0.2,
    }
    assert recorded.headers["x-api-key"] == KEY
    assert recorded.headers["anthropic-version"] == "2023-06-01"
    assert recorded.headers["content-type"] == "application/json"
    assert recorded.headers["anthropic-beta"] == "test-beta"
    assert recorded.headers["accept"] == "application/json"


@pytest.mark.asyncio
async def test_the_url_and_the_configured_version(fake: FakeAnthropic, client: MockClient) -> None:
    backend = AnthropicBackend(
        "claude",
        config(anthropic_version="2099-01-01", default_max_tokens=77),
        {"ANTHROPIC_API_KEY": KEY},
        client=client,
    )

    await collect(backend.stream(hello(), CALL))

    assert client.requests[0].url == f"{URL}/v1/messages"
    assert client.requests[0].headers["accept"] == "text/event-stream"
    assert fake.requests[0].headers["anthropic-version"] == "2099-01-01"
    assert fake.requests[0].body["max_tokens"] == 77
    assert fake.requests[0].body["stream"] is True
    assert (client.requests[0].connect_timeout, client.requests[0].total_timeout) == (2.0, 10.0)


@pytest.mark.asyncio
async def test_invalid_tool_arguments_in_history_go_wrapped(fake: FakeAnthropic, backend: AnthropicBackend) -> None:
    """A weak model's broken arguments stay in an agent's history: refusing them would end the session."""
    request = chat(
        messages=[
            {"role": "user", "content": "go"},
            {"role": "assistant", "tool_calls": [{"id": "call_9", "function": {"name": "run", "arguments": "{no"}}]},
            {"role": "tool", "tool_call_id": "call_9", "content": "ok"},
        ]
    )

    await backend.complete(request, CALL)

    (call,) = fake.requests[0].body["messages"][1]["content"]
    assert call == {"type": "tool_use", "id": "call_9", "name": "run", "input": {"arguments": "{no"}}


# --- structured outputs: the answer comes back as content --------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("response_format", "tool", "schema"),
    [
        ({"type": "json_schema", "json_schema": {"name": "Title", "schema": SCHEMA}}, "Title", SCHEMA),
        ({"type": "json_object"}, "json_answer", {"type": "object"}),
    ],
    ids=["json_schema", "json_object"],
)
async def test_a_structured_answer_is_a_forced_tool_upstream_and_content_to_the_client(
    fake: FakeAnthropic,
    backend: AnthropicBackend,
    stream: bool,
    response_format: dict[str, Any],
    tool: str,
    schema: dict[str, Any],
) -> None:
    fake.replies.append(Json({"title": "Fix the build"}))
    request = hello(response_format=response_format)

    if stream:
        events = await collect(backend.stream(request, CALL))
        text = "".join(e.text for e in events if isinstance(e, TextDelta))
        assert not [e for e in events if isinstance(e, ToolCallStart | ToolCallArgs)]
        assert events[-2:] == [Finish("stop"), UsageReport(Usage.of(17, 8))]
    else:
        completion = await backend.complete(request, CALL)
        text = completion.content or ""
        assert (completion.tool_calls, completion.finish_reason) == ([], "stop")

    assert json.loads(text) == {"title": "Fix the build"}
    sent = fake.requests[0].body
    assert sent["tools"] == [
        {"name": tool, "description": "Answer with JSON matching this schema.", "input_schema": schema}
    ]
    assert sent["tool_choice"] == {"type": "tool", "name": tool}


@pytest.mark.asyncio
async def test_a_structured_answer_beside_the_requests_own_tools_is_output_config(
    fake: FakeAnthropic, backend: AnthropicBackend
) -> None:
    fake.replies.append(Json({"title": "Fix the build"}))
    request = hello(
        tools=[{"type": "function", "function": {"name": "now"}}],
        response_format={"type": "json_schema", "json_schema": {"name": "Title", "schema": SCHEMA}},
    )

    completion = await backend.complete(request, CALL)

    assert json.loads(completion.content or "") == {"title": "Fix the build"}
    assert fake.requests[0].body["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
    assert "tool_choice" not in fake.requests[0].body


# --- reasoning_effort → thinking, where the target has it ---------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [False, True])
async def test_reasoning_effort_turns_thinking_on_for_a_target_with_thinking(
    fake: FakeAnthropic, backend: AnthropicBackend, stream: bool
) -> None:
    fake.replies.append(Text("Done.", chunks=1))
    request = hello(reasoning_effort="medium", temperature=0.5)  # no limit of the client's: tiergate picks it
    call = Call(model=MODEL, thinking=True)

    if stream:
        events = await collect(backend.stream(request, call))
        reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
        text = "".join(e.text for e in events if isinstance(e, TextDelta))
    else:
        completion = await backend.complete(request, call)
        reasoning, text = completion.reasoning or "", completion.content or ""

    assert (reasoning, text) == (THINKING, "Done.")
    sent = fake.requests[0].body
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    assert sent["max_tokens"] == 32000  # the default, above the budget as the API demands
    assert "temperature" not in sent  # the API refuses it with thinking on


@pytest.mark.asyncio
async def test_reasoning_effort_is_not_sent_to_a_target_without_thinking(
    fake: FakeAnthropic, backend: AnthropicBackend
) -> None:
    completion = await backend.complete(hello(reasoning_effort="high", temperature=0.5), CALL)

    assert completion.reasoning is None
    assert "thinking" not in fake.requests[0].body
    assert fake.requests[0].body["temperature"] == 0.5


# --- native pass-through ----------------------------------------------------------------------------


def claude_code_request(stream: bool) -> tuple[ChatRequest, dict[str, Any]]:
    """Claude Code's own second turn (captured), decoded by the Anthropic ingress: ``native`` holds it."""
    capture = json.loads((CAPTURES / "anthropic-claude-code-2.1.332-tool_result.json").read_text())
    body = {**capture["body"], "stream": stream}
    return decode(json.dumps(body).encode(), dict(capture["headers"])), body


@pytest.mark.asyncio
async def test_a_native_request_goes_out_as_the_clients_body_with_only_the_model_changed(
    fake: FakeAnthropic, backend: AnthropicBackend
) -> None:
    request, body = claude_code_request(stream=False)
    fake.replies.append(Text("Native.", prompt_tokens=40, completion_tokens=2))

    completion = await backend.complete(request, CALL)

    (recorded,) = fake.requests
    assert recorded.body == {**body, "model": MODEL}
    assert recorded.body["context_management"] == {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}
    assert recorded.body["output_config"] == body["output_config"]
    assert recorded.headers["anthropic-beta"] == "test-beta," + dict(body_headers())["anthropic-beta"]
    assert recorded.headers["anthropic-version"] == "2023-06-01"
    assert recorded.headers["x-api-key"] == KEY
    assert completion.native is not None
    native = json.loads(completion.native)
    assert native["content"][0] == {"type": "thinking", "thinking": "", "signature": SIGNATURE}  # display: omitted
    assert native["context_management"] == {"applied_edits": []}
    assert (completion.content, completion.usage) == ("Native.", Usage.of(40, 2))


def body_headers() -> list[tuple[str, str]]:
    capture = json.loads((CAPTURES / "anthropic-claude-code-2.1.332-tool_result.json").read_text())
    return [(k.lower(), v) for k, v in capture["headers"]]


@pytest.mark.asyncio
async def test_a_native_stream_passes_every_upstream_frame_before_its_translation(
    fake: FakeAnthropic, backend: AnthropicBackend
) -> None:
    request, body = claude_code_request(stream=True)
    fake.replies.append(ToolCalls([("Bash", {"command": "ls"})], text="Looking.", prompt_tokens=40))

    events = await collect(backend.stream(request, CALL))

    assert fake.requests[0].body == {**body, "model": MODEL}
    frames = [e.frame for e in events if isinstance(e, Raw)]
    assert all(e.dialect == "anthropic" for e in events if isinstance(e, Raw))
    names = [frame.split(b"\n")[0] for frame in frames]
    assert names[0] == b"event: message_start" and names[-1] == b"event: message_stop"
    assert b"event: ping" in names
    assert all(frame.endswith(b"\n\n") and frame.count(b"\n\n") == 1 for frame in frames)
    assert json.loads(frames[-2].split(b"data: ", 1)[1])["context_management"] == {"applied_edits": []}
    # every translated event follows the frame that carried it
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert isinstance(events[first_text - 1], Raw) and b"text_delta" in events[first_text - 1].frame  # type: ignore[union-attr]
    translated = [e for e in events if not isinstance(e, Raw)]
    assert "".join(e.text for e in translated if isinstance(e, TextDelta)) == "Looking."
    assert next(e for e in translated if isinstance(e, ToolCallStart)).name == "Bash"
    assert translated[-2:] == [Finish("tool_calls"), UsageReport(Usage.of(40, 9))]
    assert isinstance(events[-3], Raw) and events[-3].frame.startswith(b"event: message_stop")


@pytest.mark.asyncio
async def test_a_translated_stream_shows_each_frame_that_translates_to_nothing_as_a_sign_of_life() -> None:
    """Claude's pings (while it thinks) kept a passed-through stream within ``idle`` but not a translated one,
    which was cut as silent: each such frame is now an ALIVE Raw, which no writer writes."""
    wire = [
        b'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":3}}}\n\n',
        b'event: ping\ndata: {"type": "ping"}\n\n',
        b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
        b'"content_block":{"type":"text","text":""}}\n\n',
        b'event: ping\ndata: {"type": "ping"}\n\n',
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
        b'"delta":{"type":"text_delta","text":"Hi"}}\n\n',
        b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},'
        b'"usage":{"output_tokens":1}}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n',
    ]
    client = MockClient(lambda request: Reply(200, {"content-type": "text/event-stream"}, wire))
    backend = AnthropicBackend("claude", config(), {"ANTHROPIC_API_KEY": KEY}, client=client)

    events = await collect(backend.stream(hello(), CALL), alive=True)

    assert events == [
        Raw(ALIVE, b""),  # message_start
        Raw(ALIVE, b""),  # ping
        Raw(ALIVE, b""),  # the text block's start (not a first token: a translated stream's is its first event)
        Raw(ALIVE, b""),  # ping
        TextDelta("Hi"),
        Raw(ALIVE, b""),  # message_delta
        Finish("stop"),
        UsageReport(Usage.of(3, 1)),
    ]


@pytest.mark.asyncio
async def test_the_exact_bytes_of_each_upstream_event_are_passed_on() -> None:
    wire = [
        b'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":3}}}\n\n',
        b'event: ping\r\ndata: {"type": "ping"}\r\n\r\nevent: content_block_start\ndata: ',
        b'{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n',
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
        b'"delta":{"type":"text_delta","text":"Hi"}}\n\n',
        b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},'
        b'"usage":{"output_tokens":1}}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n',
    ]
    client = MockClient(lambda request: Reply(200, {"content-type": "text/event-stream"}, wire))
    backend = AnthropicBackend("claude", config(), {"ANTHROPIC_API_KEY": KEY}, client=client)
    request = decode(
        json.dumps({"model": "x", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}).encode(), {}
    )

    events = await collect(backend.stream(request, CALL))

    raw = [e.frame for e in events if isinstance(e, Raw)]
    assert b"".join(raw) == b"".join(wire)
    assert len(raw) == 6
    assert [e for e in events if not isinstance(e, Raw)] == [
        TextDelta("Hi"),
        Finish("stop"),
        UsageReport(Usage.of(3, 1)),
    ]


@pytest.mark.asyncio
async def test_a_native_streams_error_event_is_raised_never_passed_on(
    fake: FakeAnthropic, backend: AnthropicBackend
) -> None:
    """An upstream may echo the key in its error: the error is raised, so dispatch scrubs it and the ingress
    writes it in its own shape; the frame itself never reaches the client."""
    request, _ = claude_code_request(stream=True)
    fake.replies.append(StreamError(after_events=4, message=f"quota for {KEY} exceeded"))
    seen: list[StreamEvent] = []

    with pytest.raises(UpstreamStatusError) as caught:
        async for event in backend.stream(request, CALL):
            seen.append(event)

    frames = [e.frame for e in seen if isinstance(e, Raw)]
    assert len(frames) == 4 and not any(b"error" in frame for frame in frames)
    assert (caught.value.status, caught.value.started, caught.value.detail) == (529, True, f"quota for {KEY} exceeded")


@pytest.mark.asyncio
async def test_the_fake_refuses_an_unknown_field_as_the_api_does(
    fake: FakeAnthropic, backend: AnthropicBackend
) -> None:
    """A field the API does not know is a 400 naming it: so the pass-through tests above prove it is known."""
    request = decode(
        json.dumps({"model": "x", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}).encode(), {}
    )
    assert request.native is not None
    unknown = msgspec.structs.replace(
        request, native=Native("anthropic", {**request.native.body, "tiergate_route": "x"})
    )

    error = await failure(backend, unknown, stream=False)

    assert isinstance(error, UpstreamStatusError)
    assert (error.status, error.detail) == (400, "tiergate_route: Extra inputs are not permitted")


@pytest.mark.asyncio
async def test_a_request_from_another_dialect_is_translated(fake: FakeAnthropic, backend: AnthropicBackend) -> None:
    responses = msgspec.structs.replace(hello(), native=Native("responses", {"input": "hi", "model": "x"}))

    events = await collect(backend.stream(responses, CALL))

    assert not [e for e in events if isinstance(e, Raw)]
    assert fake.requests[0].body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]


# --- streams --------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_stream_text_events_in_order(fake: FakeAnthropic, backend: AnthropicBackend) -> None:
    fake.replies.append(Text("abcdefghi", chunks=3, prompt_tokens=8, completion_tokens=3))

    events = await collect(backend.stream(hello(), CALL))

    assert events == [TextDelta("abc"), TextDelta("def"), TextDelta("ghi"), Finish("stop"), UsageReport(Usage.of(8, 3))]


@pytest.mark.asyncio
async def test_stream_parallel_tool_calls_are_numbered_from_zero(
    fake: FakeAnthropic, backend: AnthropicBackend
) -> None:
    calls = [("get_weather", {"city": "Paris"}), ("get_time", {"tz": "Europe/Paris"})]
    fake.replies.append(ToolCalls(calls, text="Let me check."))

    events = await collect(backend.stream(hello(tools=[{"type": "function", "function": {"name": "get_time"}}]), CALL))

    starts = [e for e in events if isinstance(e, ToolCallStart)]
    assert [(s.index, s.name) for s in starts] == [(0, "get_weather"), (1, "get_time")]
    for index, (_, arguments) in enumerate(calls):
        fragments = [e.arguments for e in events if isinstance(e, ToolCallArgs) and e.index == index]
        assert json.loads("".join(fragments)) == arguments
    assert events[-2:] == [Finish("tool_calls"), UsageReport(Usage.of(13, 9))]


@pytest.mark.asyncio
async def test_a_blank_stop_is_emulated_and_the_rest_of_the_stream_not_read(
    fake: FakeAnthropic, backend: AnthropicBackend
) -> None:
    fake.replies.extend([Text("one\n\ntwo", chunks=3), Text("one\n\ntwo")])

    events = await collect(backend.stream(hello(stop=["\n\n"]), CALL))
    completion = await backend.complete(hello(stop=["\n\n"]), CALL)

    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "one"
    assert [e for e in events if isinstance(e, Finish)] == [Finish("stop")]
    assert completion.content == "one"
    assert all("stop_sequences" not in r.body for r in fake.requests)


@pytest.mark.asyncio
async def test_more_blank_stops_than_tiergate_emulates_skip_the_target_unsent(
    fake: FakeAnthropic, backend: AnthropicBackend
) -> None:
    """Each text piece of the answer is searched for every emulated stop: 80,000 of them held the event loop for
    12 s over a 2,000-piece answer. More than 16 distinct ones, or one over 64 characters, are a capability this
    target lacks (another may take them as they are); repeats cost nothing."""
    many = ["\n" * n for n in range(1, 18)]
    with pytest.raises(UpstreamCapabilityError, match="17 whitespace-only stop sequences"):
        await collect(backend.stream(hello(stop=many), CALL))
    with pytest.raises(UpstreamCapabilityError, match="of 65 characters"):
        await backend.complete(hello(stop=[" " * 65]), CALL)
    assert fake.requests == []
    fake.replies.append(Text("one\n\ntwo"))
    completion = await backend.complete(hello(stop=["\n\n"] * 10_000 + many[2:16] + ["\t" * 64]), CALL)
    assert completion.content == "one"


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


# --- errors ---------------------------------------------------------------------------------------------


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
async def test_a_retry_after_given_as_a_date_is_the_wait_until_it(
    fake: FakeAnthropic, backend: AnthropicBackend
) -> None:
    """RFC 9110 allows an HTTP-date: it was ignored, so tiergate retried at once an upstream that asked for a
    pause, and told its client a shorter wait than the upstream's."""
    fake.replies.append(Status(429, "slow down", {"retry-after": email.utils.formatdate(time.time() + 4, usegmt=True)}))
    wait = (await failure(backend, hello(), stream=False)).retry_after
    assert wait is not None and 2.5 < wait <= 4, wait  # the date is in whole seconds


def test_retry_after_reads_seconds_dates_and_nothing_else() -> None:
    now = email.utils.parsedate_to_datetime("Sun, 06 Dec 2026 06:00:00 GMT").timestamp()
    clock = lambda: now  # noqa: E731
    assert retry_after({"retry-after": "Sun, 06 Dec 2026 06:00:30 GMT"}, clock) == 30.0
    assert retry_after({"retry-after": "Sunday, 06-Dec-26 06:00:30 GMT"}, clock) == 30.0  # RFC 850
    assert retry_after({"retry-after": "Sun Dec  6 06:00:30 2026"}, clock) == 30.0  # asctime, read as UTC
    assert retry_after({"retry-after": "Sun, 06 Dec 2026 05:59:00 GMT"}, clock) == 0.0  # past: no wait
    assert retry_after({"retry-after": "12"}, clock) == 12.0
    for junk in ("soon", "", "-3", "inf", "Sun, 99 Dec 2026 06:00:30 GMT"):
        assert retry_after({"retry-after": junk}, clock) is None, junk
    assert retry_after({"retry-after-ms": "Sun, 06 Dec 2026 06:00:30 GMT", "retry-after": "2"}, clock) == 2.0


@pytest.mark.asyncio
async def test_retry_after_ms_is_preferred(fake: FakeAnthropic, backend: AnthropicBackend) -> None:
    fake.replies.append(Status(429, "slow down", {"retry-after": "2", "retry-after-ms": "1500"}))
    assert (await failure(backend, hello(), stream=False)).retry_after == 1.5


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "upstream_type", "retryable", "fallback_ok", "client_status"),
    [
        (529, "overloaded_error", True, True, 529),
        (500, "api_error", True, True, 500),
        (400, "invalid_request_error", False, False, 400),
        (413, "request_too_large", False, False, 413),
        # tiergate's own key refused: not the client's fault, and not for the client to re-authenticate
        (401, "authentication_error", False, True, 502),
        (403, "permission_error", False, True, 502),
    ],
)
async def test_error_statuses(
    fake: FakeAnthropic,
    backend: AnthropicBackend,
    status: int,
    upstream_type: str,
    retryable: bool,
    fallback_ok: bool,
    client_status: int,
) -> None:
    fake.replies.append(Status(status, "nope"))

    error = await failure(backend, hello(), stream=False)

    assert isinstance(error, UpstreamStatusError)
    assert (error.status, error.upstream_status, error.upstream_type) == (client_status, status, upstream_type)
    assert error.detail.endswith("nope") and error.kind == f"http_{status}"
    assert (error.retryable, error.fallback_ok, error.trips_breaker) == (retryable, fallback_ok, status >= 500)
    assert error.retry_after is None


@pytest.mark.asyncio
async def test_the_upstream_message_is_kept_word_for_word_for_dispatch_to_scrub(
    fake: FakeAnthropic, backend: AnthropicBackend
) -> None:
    fake.replies.append(Status(429, "rate limited: invalid x-api-key sk-ant-shown"))
    error = await failure(backend, hello(), stream=True)
    assert error.detail == "rate limited: invalid x-api-key sk-ant-shown"


@pytest.mark.asyncio
async def test_a_non_json_error_body_is_previewed() -> None:
    page = "<html>" + "bad gateway " * 40 + "</html>"
    client = MockClient(lambda request: Reply(502, {"content-type": "text/html"}, page.encode()))
    backend = AnthropicBackend("claude", config(), {"ANTHROPIC_API_KEY": KEY}, client=client)

    error = await failure(backend, hello(), stream=False)

    assert isinstance(error, UpstreamStatusError)
    assert (error.status, error.detail, error.upstream_type) == (502, page[:200], None)


@pytest.mark.asyncio
async def test_error_event_mid_stream(fake: FakeAnthropic, backend: AnthropicBackend) -> None:
    fake.replies.append(StreamError(after_events=4, message="Overloaded"))
    seen: list[StreamEvent] = []

    with pytest.raises(UpstreamStatusError) as caught:
        async for event in backend.stream(hello(), CALL):
            seen.append(event)

    assert [e for e in seen if not isinstance(e, Raw)] == [TextDelta("Hello from")]
    assert (caught.value.status, caught.value.upstream_type, caught.value.started) == (529, "overloaded_error", True)


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
    assert (error.status, error.started) == (502, True)


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [False, True])
async def test_missing_key_fails_without_calling_upstream(client: MockClient, stream: bool) -> None:
    backend = AnthropicBackend("claude", config(), {"ANTHROPIC_API_KEY": "  "}, client=client)

    assert backend.missing() == "environment variable ANTHROPIC_API_KEY is not set"
    assert await backend.probe() == "environment variable ANTHROPIC_API_KEY is not set"
    error = await failure(backend, hello(), stream=stream)

    assert isinstance(error, UpstreamUnavailable)
    assert (error.kind, error.retryable) == ("config", False)
    assert error.detail == "environment variable ANTHROPIC_API_KEY is not set"  # the words the dry run skips it with
    assert client.requests == []


@pytest.mark.asyncio
async def test_present_key_probes_without_a_request(backend: AnthropicBackend, client: MockClient) -> None:
    assert backend.missing() is None
    assert await backend.probe() is None
    assert backend.url == URL
    assert client.requests == []


# --- over loopback: what only a socket shows -------------------------------------------------------------


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeAnthropic, str]]:
    fake = FakeAnthropic()
    with serve(fake.app) as url:
        yield fake, url


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [False, True])
async def test_connection_refused(stream: bool, closed_port: int) -> None:
    backend = AnthropicBackend("claude", config(f"http://127.0.0.1:{closed_port}"), {"ANTHROPIC_API_KEY": KEY})
    try:
        error = await failure(backend, hello(), stream=stream)
    finally:
        await backend.aclose()
    assert isinstance(error, UpstreamUnavailable)
    assert (error.kind, error.retryable, error.fallback_ok) == ("connect", True, True)
    assert error.detail == "connection refused"
    assert f"127.0.0.1:{closed_port}" in error.message


@pytest.mark.asyncio
async def test_silence_past_the_total_timeout(served: tuple[FakeAnthropic, str]) -> None:
    served[0].queue.reset()
    served[0].replies.append(Hang(seconds=1.0))
    backend = AnthropicBackend("claude", config(served[1]), {"ANTHROPIC_API_KEY": KEY})
    try:
        error = await failure(backend, hello(), stream=False, call=Call(model=MODEL, total_timeout=0.2))
    finally:
        await backend.aclose()
    assert isinstance(error, UpstreamUnavailable)
    assert (error.kind, error.status, error.detail) == ("timeout", 504, "no answer within 0.2s")


@pytest.mark.asyncio
async def test_leaving_a_stream_early_releases_the_connection(served: tuple[FakeAnthropic, str]) -> None:
    served[0].queue.reset()
    backend = AnthropicBackend("claude", config(served[1], max_connections=1), {"ANTHROPIC_API_KEY": KEY})
    try:
        served[0].replies.append(Hang(seconds=3.0, after_events=4))
        stream = backend.stream(hello(), Call(model=MODEL, total_timeout=2.0))
        while isinstance(first := await anext(stream), Raw):  # message_start, the block's start: signs of life
            pass
        assert isinstance(first, TextDelta)
        await stream.aclose()  # type: ignore[attr-defined]
        assert (await backend.complete(hello(), Call(model=MODEL, total_timeout=2.0))).content
    finally:
        await backend.aclose()


def test_the_structured_outputs_betas_output_format_reads_as_output_config() -> None:
    """A body with the beta's top-level ``output_format`` once reached a local model with no format at all."""
    base = {"model": "x", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    fmt = {"type": "json_schema", "schema": SCHEMA}
    beta = decode(json.dumps(base | {"output_format": fmt}).encode(), {})
    current = decode(json.dumps(base | {"output_config": {"format": fmt}}).encode(), {})

    assert beta.response_format is not None
    assert beta.response_format == current.response_format
    assert decode(json.dumps(base).encode(), {}).response_format is None
