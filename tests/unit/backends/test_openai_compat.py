"""OpenAIBackend, the binding: request shape, answers, streams and error mapping. The upstream is FakeOpenAI
answering in memory through an injected client (tests/fakes/mock_http.py), or a handler replaying exact
bytes; what only a socket shows (refused, a read that stalls) runs over loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import msgspec
import pytest
import pytest_asyncio

from tests.fakes.mock_http import MockClient, Reply, asgi
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.scripts import Hang, Malformed, Status, StreamError, Text, ToolCalls, Truncated
from tests.fakes.server import serve
from tiergate.backends.base import Call
from tiergate.backends.openai import OpenAIBackend
from tiergate.config.model import OpenAIBackendConfig
from tiergate.errors import UpstreamProtocolError, UpstreamStatusError, UpstreamUnavailable
from tiergate.wire import (
    ALIVE,
    ChatRequest,
    Finish,
    Message,
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

KEY = "sk-test-secret-0123456789"
KEY_ENV = "TIERGATE_TEST_OPENAI_KEY"
CALL = Call(model="upstream-model", connect_timeout=2.0, total_timeout=10.0)


URL = "http://vllm.test/v1"


@pytest.fixture
def fake() -> FakeOpenAI:
    return FakeOpenAI()


@pytest.fixture
def client(fake: FakeOpenAI) -> MockClient:
    return MockClient(asgi(fake.app))


@pytest_asyncio.fixture
async def backend(client: MockClient) -> AsyncIterator[OpenAIBackend]:
    backend = _backend(URL + "/", {KEY_ENV: KEY}, client=client)
    yield backend
    await backend.aclose()
    assert client.open == 0, "every exchange is left"


@pytest.fixture(scope="module")
def fake_server() -> Iterator[tuple[FakeOpenAI, str]]:
    fake = FakeOpenAI()
    with serve(fake.app) as base_url:
        yield fake, base_url


def _backend(
    base_url: str, environ: dict[str, str], *, key_env: str | None = KEY_ENV, client: MockClient | None = None
) -> OpenAIBackend:
    cfg = OpenAIBackendConfig(base_url=base_url, api_key_env=key_env, headers={"X-Team": "core"})
    return OpenAIBackend("local-vllm", cfg, environ, client=client)


def _request(*, stream: bool = False) -> ChatRequest:
    return ChatRequest(
        messages=[Message(role="developer", content="Be brief."), Message(role="user", content="Hi")],
        model="auto",
        stream=stream,
        max_completion_tokens=64,
        metadata={"session": "abc"},
        provider="openai",
    )


async def _collect(
    backend: OpenAIBackend, request: ChatRequest | None = None, *, alive: bool = False
) -> list[StreamEvent]:
    """The stream's events; the sign of life after a finish chunk that came without ``[DONE]`` (``ALIVE``)
    only with ``alive``."""
    events = backend.stream(request or _request(stream=True), CALL)
    return [event async for event in events if alive or not (isinstance(event, Raw) and event.dialect == ALIVE)]


def _text(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


# --- requests -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_complete_sends_the_request_with_the_target_model_and_without_tiergate_fields(
    fake: FakeOpenAI, backend: OpenAIBackend
) -> None:
    await backend.complete(_request(), CALL)

    [sent] = fake.requests
    assert sent.path == "/v1/chat/completions"
    assert backend.url == URL
    assert sent.body["model"] == "upstream-model"
    assert "provider" not in sent.body and "metadata" not in sent.body
    assert sent.body["stream"] is False and "stream_options" not in sent.body
    assert sent.body["max_tokens"] == 64 and "max_completion_tokens" not in sent.body
    assert [m["role"] for m in sent.body["messages"]] == ["system", "user"]
    assert "temperature" not in sent.body
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["x-team"] == "core"


@pytest.mark.asyncio
async def test_stream_asks_for_usage(fake: FakeOpenAI, backend: OpenAIBackend) -> None:
    await _collect(backend)

    assert fake.requests[0].body["stream"] is True
    assert fake.requests[0].body["stream_options"] == {"include_usage": True}


@pytest.mark.asyncio
async def test_no_authorization_header_without_a_key(fake: FakeOpenAI, client: MockClient) -> None:
    backend = _backend(URL, {}, key_env=None, client=client)
    try:
        await backend.complete(_request(), CALL)
    finally:
        await backend.aclose()

    assert backend.missing() is None
    assert "authorization" not in fake.requests[0].headers


@pytest.mark.asyncio
async def test_missing_key_variable_fails_before_any_request(fake: FakeOpenAI, client: MockClient) -> None:
    backend = _backend(URL, {}, client=client)
    try:
        with pytest.raises(UpstreamUnavailable) as complete_error:
            await backend.complete(_request(), CALL)
        with pytest.raises(UpstreamUnavailable) as stream_error:
            await _collect(backend)
        probed = await backend.probe()
    finally:
        await backend.aclose()

    assert fake.requests == []
    assert complete_error.value.kind == "config" and not complete_error.value.retryable
    assert stream_error.value.kind == "config"
    assert KEY_ENV in (backend.missing() or "") and KEY_ENV in complete_error.value.message
    assert probed == backend.missing()


# --- whole answers --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_complete_reads_text_finish_and_usage(fake: FakeOpenAI, backend: OpenAIBackend) -> None:
    fake.replies.append(Text("All done.", stop="length", prompt_tokens=5, completion_tokens=3))

    completion = await backend.complete(_request(), CALL)

    assert completion.content == "All done."
    assert completion.finish_reason == "length"
    assert completion.usage == Usage(5, 3, 8)
    assert completion.tool_calls == []


@pytest.mark.asyncio
async def test_complete_reads_tool_calls(fake: FakeOpenAI, backend: OpenAIBackend) -> None:
    fake.replies.append(ToolCalls([("get_weather", {"city": "Paris"}), ("get_time", {"tz": "CET"})]))

    completion = await backend.complete(_request(), CALL)

    assert completion.finish_reason == "tool_calls"
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in completion.tool_calls] == [
        ("call_fake0", "get_weather", {"city": "Paris"}),
        ("call_fake1", "get_time", {"tz": "CET"}),
    ]


@pytest.mark.asyncio
async def test_complete_with_malformed_body_is_a_protocol_error(fake: FakeOpenAI, backend: OpenAIBackend) -> None:
    fake.replies.append(Malformed())

    with pytest.raises(UpstreamProtocolError, match="invalid JSON"):
        await backend.complete(_request(), CALL)


# --- streams --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_stream_text_then_finish_then_usage(fake: FakeOpenAI, backend: OpenAIBackend) -> None:
    fake.replies.append(Text("The quick brown fox.", chunks=4, prompt_tokens=9, completion_tokens=4))

    events = await _collect(backend)

    assert _text(events) == "The quick brown fox."
    assert sum(isinstance(e, TextDelta) for e in events) == 4
    assert all(e.text for e in events if isinstance(e, TextDelta))
    assert events[-2:] == [Finish("stop"), UsageReport(Usage(9, 4, 13))]


@pytest.mark.asyncio
async def test_stream_tool_calls_are_numbered_and_their_fragments_rejoin(
    fake: FakeOpenAI, backend: OpenAIBackend
) -> None:
    calls = [("get_weather", {"city": "Paris", "unit": "celsius"}), ("search", {"query": "tiergate docs"})]
    fake.replies.append(ToolCalls(calls, text="Let me check."))

    events = await _collect(backend)

    starts = [e for e in events if isinstance(e, ToolCallStart)]
    assert [(s.index, s.id, s.name) for s in starts] == [(0, "call_fake0", "get_weather"), (1, "call_fake1", "search")]
    for index, (_, args) in enumerate(calls):
        fragments = [e.arguments for e in events if isinstance(e, ToolCallArgs) and e.index == index]
        assert len(fragments) > 1 and all(fragments)
        assert json.loads("".join(fragments)) == args
    assert _text(events) == "Let me check."
    last_of_first = max(i for i, e in enumerate(events) if isinstance(e, ToolCallArgs) and e.index == 0)
    assert events.index(starts[1]) > last_of_first
    assert events[-2:] == [Finish("tool_calls"), UsageReport(Usage(13, 9, 22))]


@pytest.mark.asyncio
async def test_stream_ends_after_done_with_exactly_one_finish(fake: FakeOpenAI, backend: OpenAIBackend) -> None:
    events = await _collect(backend)

    assert sum(isinstance(e, Finish) for e in events) == 1
    assert isinstance(events[-1], UsageReport)


@pytest.mark.asyncio
async def test_stream_cut_before_finish_is_a_protocol_error(fake: FakeOpenAI, backend: OpenAIBackend) -> None:
    fake.replies.append(Truncated(after_events=2))
    seen: list[StreamEvent] = []

    with pytest.raises(UpstreamProtocolError, match="stream ended before finish"):
        async for event in backend.stream(_request(stream=True), CALL):
            seen.append(event)

    assert seen and not any(isinstance(e, Finish) for e in seen)


@pytest.mark.asyncio
async def test_stream_with_malformed_event_is_a_protocol_error(fake: FakeOpenAI, backend: OpenAIBackend) -> None:
    fake.replies.append(Malformed())

    with pytest.raises(UpstreamProtocolError, match="invalid JSON in stream event"):
        await _collect(backend)


@pytest.mark.asyncio
async def test_error_object_mid_stream_is_a_status_error(fake: FakeOpenAI, backend: OpenAIBackend) -> None:
    fake.replies.append(StreamError(after_events=2, message="model crashed"))
    seen: list[StreamEvent] = []

    with pytest.raises(UpstreamStatusError) as error:
        async for event in backend.stream(_request(stream=True), CALL):
            seen.append(event)

    assert error.value.status == 502
    assert "model crashed" in error.value.message
    assert _text(seen) != "" and not any(isinstance(e, Finish) for e in seen)


@pytest.mark.asyncio
async def test_a_stream_is_bounded_by_its_reader_not_by_the_total_timeout(fake_server: tuple[FakeOpenAI, str]) -> None:
    """Dispatch bounds a stream (``first_token``, ``idle``, ``total``) leaving out the time its client takes to
    read; the backend's own ``total_timeout`` would count that time against the upstream."""
    fake_server[0].queue.reset()
    fake_server[0].replies.append(Hang(seconds=0.6, after_events=1))
    impatient = Call(model="upstream-model", connect_timeout=1.0, total_timeout=0.2)
    backend = _backend(fake_server[1] + "/v1", {KEY_ENV: KEY})

    try:
        events = [event async for event in backend.stream(_request(stream=True), impatient)]
    finally:
        await backend.aclose()

    assert any(isinstance(event, Finish) for event in events)


# --- status errors --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_429_carries_retry_after(fake: FakeOpenAI, backend: OpenAIBackend) -> None:
    fake.replies.append(Status(429, "slow down", headers={"retry-after": "7"}))

    with pytest.raises(UpstreamStatusError) as error:
        await backend.complete(_request(), CALL)

    assert error.value.status == 429 and error.value.retry_after == 7.0
    assert error.value.retryable and error.value.fallback_ok
    assert "slow down" in error.value.message and "HTTP 429" in error.value.message


@pytest.mark.asyncio
async def test_retry_after_ms_wins(fake: FakeOpenAI, backend: OpenAIBackend) -> None:
    fake.replies.append(Status(429, "slow down", headers={"retry-after": "7", "retry-after-ms": "1500"}))

    with pytest.raises(UpstreamStatusError) as error:
        await _collect(backend)

    assert error.value.retry_after == 1.5


@pytest.mark.asyncio
async def test_500_is_retryable_and_may_fall_back(fake: FakeOpenAI, backend: OpenAIBackend) -> None:
    fake.replies.append(Status(500, "boom"))

    with pytest.raises(UpstreamStatusError) as error:
        await _collect(backend)

    assert error.value.status == 500 and error.value.retryable and error.value.fallback_ok
    assert error.value.upstream_type == "server_error"


@pytest.mark.asyncio
async def test_400_does_not_fall_back(fake: FakeOpenAI, backend: OpenAIBackend) -> None:
    """(A context-window refusal does: tests/unit/protocols/test_egress_params.py.)"""
    fake.replies.append(Status(400, "'stop' must hold at most 4 sequences"))

    with pytest.raises(UpstreamStatusError) as error:
        await backend.complete(_request(), CALL)

    assert error.value.status == 400
    assert not error.value.fallback_ok and not error.value.retryable
    assert "'stop' must hold at most 4 sequences" in error.value.message


# --- transport ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_connection_refused_is_unavailable(closed_port: int) -> None:
    backend = _backend(f"http://127.0.0.1:{closed_port}/v1", {KEY_ENV: KEY})
    try:
        with pytest.raises(UpstreamUnavailable) as complete_error:
            await backend.complete(_request(), CALL)
        with pytest.raises(UpstreamUnavailable) as stream_error:
            await _collect(backend)
        probed = await backend.probe()
    finally:
        await backend.aclose()

    for error in (complete_error.value, stream_error.value):
        assert error.kind == "connect" and error.retryable
        assert "connection refused" in error.message and backend.url in error.message
        assert KEY not in error.message
    assert probed is not None and KEY not in probed


@pytest.mark.asyncio
async def test_probe(fake: FakeOpenAI, backend: OpenAIBackend, client: MockClient) -> None:
    assert await backend.probe() is None
    assert (client.requests[0].method, client.requests[0].url) == ("GET", URL + "/models")
    assert client.requests[0].headers["authorization"] == f"Bearer {KEY}"

    wrong_path = _backend("http://vllm.test/nowhere", {KEY_ENV: KEY}, client=client)
    assert await wrong_path.probe() == "GET /models answered HTTP 404"


# --- shapes real servers send that FakeOpenAI's clean format never does ------------------------


async def _replay(*chunks: dict[str, object] | str) -> list[StreamEvent]:
    """The stream body exactly as given (dicts as ``data:`` events), to show the reader's tolerance of
    what real servers send."""
    body = "".join(c if isinstance(c, str) else f"data: {json.dumps(c)}\n\n" for c in chunks).encode()
    client = MockClient(lambda request: Reply(200, {"content-type": "text/event-stream"}, [body]))
    return await _collect(_backend(URL, {KEY_ENV: KEY}, client=client))


def _delta(delta: dict[str, object], finish: str | None = None) -> dict[str, object]:
    return {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


@pytest.mark.asyncio
async def test_comments_are_skipped_and_nothing_after_done_is_read() -> None:
    events = await _replay(
        ": keep-alive\n\nevent: message\n",
        _delta({"role": "assistant", "reasoning_content": "think"}),
        _delta({"reasoning": "ing", "content": None}),
        _delta({"content": "Hi"}, finish="stop"),
        "data: [DONE]\n\n",
        _delta({"content": "after the end"}),
    )

    assert events == [ReasoningDelta("think"), ReasoningDelta("ing"), TextDelta("Hi"), Finish("stop")]


@pytest.mark.asyncio
async def test_done_without_a_finish_reason_is_an_incomplete_answer() -> None:
    with pytest.raises(UpstreamProtocolError, match=r"closed \(data: DONE\) without a finish_reason"):
        await _replay(_delta({"content": "Hello from the "}), "data: [DONE]\n\n")


@pytest.mark.asyncio
async def test_lines_split_across_pieces_and_crlf_endings_read_the_same() -> None:
    body = (
        b'data: {"choices":[{"delta":{"content":"Hel"}}]}\r\n\r\n'
        b'data: {"choices":[{"delta":{"content":"lo"},"finish_reason":"stop"}]}\r\n\r\ndata: [DONE]\r\n\r\n'
    )
    pieces = [body[i : i + 7] for i in range(0, len(body), 7)]
    client = MockClient(lambda request: Reply(200, {"content-type": "text/event-stream"}, pieces))

    events = await _collect(_backend(URL, {KEY_ENV: KEY}, client=client))

    assert events == [TextDelta("Hel"), TextDelta("lo"), Finish("stop")]


@pytest.mark.asyncio
async def test_tiergates_own_fields_never_go_upstream(fake: FakeOpenAI, backend: OpenAIBackend) -> None:
    request = msgspec.structs.replace(
        _request(), suffix="after the cursor", native=Native("responses", {"input": "Hi", "store": False})
    )

    await backend.complete(request, CALL)

    assert set(fake.requests[0].body) == {"messages", "model", "stream", "max_tokens"}


@pytest.mark.asyncio
async def test_finish_without_done_still_finishes() -> None:
    events = await _replay(_delta({"content": "Hi"}), _delta({}, finish="eos"))

    assert events == [TextDelta("Hi"), Finish("stop")]


@pytest.mark.asyncio
async def test_parallel_calls_that_all_claim_index_0_are_numbered_apart() -> None:
    def call(**fields: object) -> dict[str, object]:
        return _delta({"tool_calls": [{"index": 0, **fields}]})

    events = await _replay(
        call(id="call_abc123", function={"name": "first", "arguments": '{"x":'}),
        call(function={"arguments": " 1}"}),
        call(id="call_def456", function={"name": "second", "arguments": ""}),
        call(function={"arguments": "{}"}),
        _delta({}, finish="stop"),
        "data: [DONE]\n\n",
    )

    assert events == [
        ToolCallStart(0, "call_abc123", "first"),
        ToolCallArgs(0, '{"x":'),
        ToolCallArgs(0, " 1}"),
        ToolCallStart(1, "call_def456", "second"),
        ToolCallArgs(1, "{}"),
        Finish("tool_calls"),
    ]


@pytest.mark.asyncio
async def test_tool_call_without_id_gets_one() -> None:
    events = await _replay(
        _delta({"tool_calls": [{"index": 3, "function": {"name": "lookup", "arguments": "{}"}}]}),
        _delta({}, finish="function_call"),
        "data: [DONE]\n\n",
    )

    start = events[0]
    assert isinstance(start, ToolCallStart) and start.index == 0 and start.id.startswith("call_")
    assert events[1:] == [ToolCallArgs(0, "{}"), Finish("tool_calls")]


@pytest.mark.asyncio
async def test_error_object_keeps_its_http_code() -> None:
    with pytest.raises(UpstreamStatusError) as error:
        await _replay(_delta({"content": "Hi"}), {"error": {"code": 429, "message": "busy"}})

    # After the 200 the call may already be generated: the same target is never called again for it.
    assert (error.value.status, error.value.started, error.value.retryable) == (429, True, False)
    assert error.value.fallback_ok
