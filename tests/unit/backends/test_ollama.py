"""OllamaBackend, the binding: what goes upstream, what comes back, how failures read. The upstream is
FakeOllama answering in memory through an injected client (tests/fakes/mock_http.py); what only a socket
shows (refused, slow) runs over loopback."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import msgspec
import pytest
import pytest_asyncio

from tests.fakes.mock_http import MockClient, asgi
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Hang, Malformed, Status, StreamError, Text, ToolCalls, Truncated
from tests.fakes.server import serve
from tiergate.backends.base import Call
from tiergate.backends.ollama import OllamaBackend, ollama_host_url
from tiergate.config.model import OllamaBackendConfig
from tiergate.errors import (
    UpstreamCapabilityError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamUnavailable,
)
from tiergate.wire import (
    ChatRequest,
    Finish,
    StreamEvent,
    TextDelta,
    ToolCallArgs,
    ToolCallStart,
    Usage,
    UsageReport,
)

MODEL = "test-model:1b"
CALL = Call(model=MODEL)
CALL_ID = re.compile(r"^call_[0-9a-f]{24}$")
PNG = b"\x89PNG\r\n\x1a\n fake image bytes"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


URL = "http://ollama.test:11434"


@pytest.fixture
def fake() -> FakeOllama:
    return FakeOllama()


@pytest.fixture
def client(fake: FakeOllama) -> MockClient:
    return MockClient(asgi(fake.app))


@pytest_asyncio.fixture
async def backend(client: MockClient) -> AsyncIterator[OllamaBackend]:
    cfg = OllamaBackendConfig(base_url=URL + "/", keep_alive="10m", headers={"X-Team": "core"})
    backend = OllamaBackend("local", cfg, client=client)
    yield backend
    await backend.aclose()
    assert client.open == 0, "every exchange is left"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[FakeOllama, str]]:
    fake = FakeOllama()
    with serve(fake.app) as url:
        yield fake, url


@pytest_asyncio.fixture
async def dead_backend(closed_port: int) -> AsyncIterator[OllamaBackend]:
    backend = OllamaBackend("local", OllamaBackendConfig(base_url=f"http://127.0.0.1:{closed_port}"))
    yield backend
    await backend.aclose()


def chat(**fields: Any) -> ChatRequest:
    fields.setdefault("messages", [{"role": "user", "content": "hi"}])
    return msgspec.convert(fields, ChatRequest)


async def collect(backend: OllamaBackend, request: ChatRequest, call: Call = CALL) -> list[StreamEvent]:
    return [event async for event in backend.stream(request, call)]


# --- OpenAI → Ollama ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_request_body_is_translated(backend: OllamaBackend, fake: FakeOllama) -> None:
    request = chat(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": "Use metric units."},
            {"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
        ],
        temperature=0.2,
        top_p=0.9,
        max_completion_tokens=64,
        stop="END",
        seed=7,
        response_format={"type": "json_object"},
    )

    await backend.complete(request, CALL)

    assert [r.path for r in fake.requests] == ["/api/chat"]
    assert fake.requests[0].body == {
        "model": MODEL,
        "stream": False,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "system", "content": "Use metric units."},
            {"role": "user", "content": "one\ntwo"},
        ],
        "format": "json",
        "options": {"temperature": 0.2, "top_p": 0.9, "num_predict": 64, "stop": ["END"], "seed": 7},
        "keep_alive": "10m",
    }
    assert fake.requests[0].headers["x-team"] == "core"
    assert fake.requests[0].headers["content-type"] == "application/json"


@pytest.mark.asyncio
async def test_max_tokens_and_json_schema_format(backend: OllamaBackend, fake: FakeOllama) -> None:
    schema = {"type": "object", "properties": {"tier": {"type": "string"}}, "required": ["tier"]}
    response_format = {"type": "json_schema", "json_schema": {"name": "tier", "schema": schema}}
    request = chat(max_tokens=32, response_format=response_format)

    await backend.complete(request, CALL)

    assert fake.requests[0].body["format"] == schema
    assert fake.requests[0].body["options"] == {"num_predict": 32}


@pytest.mark.asyncio
async def test_stream_is_requested_as_stream(backend: OllamaBackend, fake: FakeOllama) -> None:
    await collect(backend, chat())

    assert fake.requests[0].body == {
        "model": MODEL,
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
        "keep_alive": "10m",
    }


@pytest.mark.asyncio
async def test_tool_round_trip_names_the_tool_result(backend: OllamaBackend, fake: FakeOllama) -> None:
    request = chat(
        messages=[
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    },
                    {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": ""}},
                ],
            },
            {"role": "tool", "tool_call_id": "call_b", "content": "12:00"},
            {"role": "tool", "tool_call_id": "call_a", "content": "sunny"},
        ],
        tools=[WEATHER_TOOL],
    )

    await backend.complete(request, CALL)

    body = fake.requests[0].body
    assert body["messages"][1:] == [
        {
            "role": "assistant",
            "tool_calls": [
                {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                {"function": {"name": "get_time", "arguments": {}}},
            ],
        },
        {"role": "tool", "content": "12:00", "tool_name": "get_time"},
        {"role": "tool", "content": "sunny", "tool_name": "get_weather"},
    ]
    assert body["tools"] == [WEATHER_TOOL]


@pytest.mark.asyncio
async def test_tool_choice_none_offers_no_tools(backend: OllamaBackend, fake: FakeOllama) -> None:
    await backend.complete(chat(tools=[WEATHER_TOOL], tool_choice="none"), CALL)

    assert "tools" not in fake.requests[0].body


@pytest.mark.asyncio
async def test_data_url_image_is_sent_as_base64(backend: OllamaBackend, fake: FakeOllama) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    content = [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": data_url}}]

    await backend.complete(chat(messages=[{"role": "user", "content": content}]), CALL)

    message = fake.requests[0].body["messages"][0]
    assert message == {"role": "user", "content": "What is this?", "images": [base64.b64encode(PNG).decode()]}


@pytest.mark.asyncio
async def test_remote_image_url_is_refused_before_any_request(backend: OllamaBackend, fake: FakeOllama) -> None:
    content = [{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]

    with pytest.raises(UpstreamCapabilityError, match="only data: URL images") as info:
        await backend.complete(chat(messages=[{"role": "user", "content": content}]), CALL)

    assert info.value.status == 400
    assert info.value.fallback_ok and not info.value.retryable  # a target that fetches URLs may take it
    assert fake.requests == []


@pytest.mark.asyncio
async def test_tool_call_arguments_that_are_not_an_object_go_wrapped(backend: OllamaBackend, fake: FakeOllama) -> None:
    """A weak model's broken arguments stay in an agent's history: refusing them would end the session."""
    call = {"id": "call_x", "type": "function", "function": {"name": "f", "arguments": "[1, 2]"}}
    request = chat(messages=[{"role": "user", "content": "go"}, {"role": "assistant", "tool_calls": [call]}])

    await backend.complete(request, CALL)

    sent = fake.requests[0].body["messages"][1]["tool_calls"]
    assert sent == [{"function": {"name": "f", "arguments": {"arguments": "[1, 2]"}}}]


# --- Ollama → OpenAI ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_complete_text(backend: OllamaBackend, fake: FakeOllama) -> None:
    fake.replies.append(Text("Bonjour.", prompt_tokens=5, completion_tokens=3))

    completion = await backend.complete(chat(), CALL)

    assert completion.content == "Bonjour."
    assert completion.tool_calls == []
    assert completion.finish_reason == "stop"
    assert completion.usage == Usage(5, 3, 8)


@pytest.mark.asyncio
async def test_complete_reports_length(backend: OllamaBackend, fake: FakeOllama) -> None:
    fake.replies.append(Text("cut", stop="length"))

    assert (await backend.complete(chat(), CALL)).finish_reason == "length"


@pytest.mark.asyncio
async def test_stream_text_events(backend: OllamaBackend, fake: FakeOllama) -> None:
    fake.replies.append(Text("abcdef", chunks=3, prompt_tokens=4, completion_tokens=2))

    events = await collect(backend, chat())

    assert events == [
        TextDelta("ab"),
        TextDelta("cd"),
        TextDelta("ef"),
        Finish("stop"),
        UsageReport(Usage(4, 2, 6)),
    ]


@pytest.mark.asyncio
async def test_stream_reports_length(backend: OllamaBackend, fake: FakeOllama) -> None:
    fake.replies.append(Text("abc", stop="length"))

    events = await collect(backend, chat())

    assert Finish("length") in events


@pytest.mark.asyncio
async def test_complete_tool_calls(backend: OllamaBackend, fake: FakeOllama) -> None:
    fake.replies.append(ToolCalls([("get_weather", {"city": "Paris"}), ("get_time", {})]))

    time_tool = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}
    completion = await backend.complete(chat(tools=[WEATHER_TOOL, time_tool]), CALL)

    assert completion.finish_reason == "tool_calls"
    assert completion.content is None
    assert [c.function.name for c in completion.tool_calls] == ["get_weather", "get_time"]
    assert [json.loads(c.function.arguments) for c in completion.tool_calls] == [{"city": "Paris"}, {}]
    assert all(CALL_ID.match(c.id) for c in completion.tool_calls)
    assert len({c.id for c in completion.tool_calls}) == 2
    assert completion.usage == Usage(13, 9, 22)


@pytest.mark.asyncio
async def test_stream_tool_calls(backend: OllamaBackend, fake: FakeOllama) -> None:
    fake.replies.append(ToolCalls([("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"})], text="ok"))

    events = await collect(backend, chat(tools=[WEATHER_TOOL]))

    assert events[:2] == [TextDelta("o"), TextDelta("k")]
    starts = [e for e in events if isinstance(e, ToolCallStart)]
    args = [e for e in events if isinstance(e, ToolCallArgs)]
    assert [(s.index, s.name) for s in starts] == [(0, "get_weather"), (1, "get_weather")]
    assert all(CALL_ID.match(s.id) for s in starts) and starts[0].id != starts[1].id
    assert [(a.index, json.loads(a.arguments)) for a in args] == [(0, {"city": "Paris"}), (1, {"city": "Rome"})]
    assert events.index(starts[0]) < events.index(args[0]) < events.index(starts[1]) < events.index(args[1])
    assert events[-2:] == [Finish("tool_calls"), UsageReport(Usage(13, 9, 22))]


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [False, True])
async def test_a_completion_with_a_suffix_fills_in_the_middle_through_generate(
    backend: OllamaBackend, fake: FakeOllama, stream: bool
) -> None:
    """Continue's autocomplete: the text before the cursor is the prompt, the text after it the suffix, and
    Ollama's /api/generate applies the model's own fill-in-the-middle template."""
    fake.replies.append(Text("return a + b", chunks=2, prompt_tokens=9, completion_tokens=4))
    request = chat(
        messages=[{"role": "user", "content": "def add(a, b):\n    "}], suffix="\n\nprint(add(1, 2))", max_tokens=32
    )

    if stream:
        events = await collect(backend, request)
        assert events == [TextDelta("return"), TextDelta(" a + b"), Finish("stop"), UsageReport(Usage(9, 4, 13))]
    else:
        completion = await backend.complete(request, CALL)
        assert (completion.content, completion.usage) == ("return a + b", Usage(9, 4, 13))

    (sent,) = fake.requests
    assert sent.path == "/api/generate"
    assert sent.body == {
        "model": MODEL,
        "stream": stream,
        "prompt": "def add(a, b):\n    ",
        "suffix": "\n\nprint(add(1, 2))",
        "options": {"num_predict": 32},
        "keep_alive": "10m",
    }


# --- failures -------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("streaming", [False, True])
async def test_unknown_model_gives_pull_hint(backend: OllamaBackend, fake: FakeOllama, streaming: bool) -> None:
    fake.replies.append(Status(404))

    with pytest.raises(UpstreamStatusError) as info:
        await (collect(backend, chat()) if streaming else backend.complete(chat(), CALL))

    assert info.value.status == 404
    assert f"pull it with `ollama pull {MODEL}`" in info.value.message
    assert info.value.backend == "local"


@pytest.mark.asyncio
@pytest.mark.parametrize("streaming", [False, True])
async def test_server_error_keeps_status_and_message(backend: OllamaBackend, fake: FakeOllama, streaming: bool) -> None:
    fake.replies.append(Status(500, "llama runner process has terminated"))

    with pytest.raises(UpstreamStatusError) as info:
        await (collect(backend, chat()) if streaming else backend.complete(chat(), CALL))

    assert info.value.status == 500
    assert info.value.detail == "llama runner process has terminated"
    assert info.value.retryable


@pytest.mark.asyncio
async def test_error_line_mid_stream_is_a_502(backend: OllamaBackend, fake: FakeOllama) -> None:
    fake.replies.append(StreamError(after_events=2, message="out of memory"))
    events: list[StreamEvent] = []

    with pytest.raises(UpstreamStatusError) as info:
        async for event in backend.stream(chat(), CALL):
            events.append(event)

    assert info.value.status == 502
    assert info.value.detail == "out of memory"
    assert len(events) == 2 and all(isinstance(e, TextDelta) for e in events)


@pytest.mark.asyncio
async def test_truncated_stream_is_a_protocol_error(backend: OllamaBackend, fake: FakeOllama) -> None:
    fake.replies.append(Truncated(after_events=2))

    with pytest.raises(UpstreamProtocolError, match="stream ended before done"):
        await collect(backend, chat())


@pytest.mark.asyncio
@pytest.mark.parametrize("streaming", [False, True])
async def test_malformed_json_is_a_protocol_error(backend: OllamaBackend, fake: FakeOllama, streaming: bool) -> None:
    fake.replies.append(Malformed())

    with pytest.raises(UpstreamProtocolError) as info:
        await (collect(backend, chat()) if streaming else backend.complete(chat(), CALL))

    assert info.value.status == 502
    assert info.value.url == backend.url


@pytest.mark.asyncio
async def test_slow_upstream_times_out(server: tuple[FakeOllama, str]) -> None:
    fake, url = server
    fake.queue.reset()
    fake.replies.append(Hang(seconds=3))
    call = Call(model=MODEL, total_timeout=0.3)
    backend = OllamaBackend("local", OllamaBackendConfig(base_url=url))

    try:
        with pytest.raises(UpstreamUnavailable) as info:
            await backend.complete(chat(), call)
    finally:
        await backend.aclose()

    assert (info.value.kind, info.value.status, info.value.started) == ("timeout", 504, False)


@pytest.mark.asyncio
async def test_a_stream_is_bounded_by_its_reader_not_by_the_total_timeout(server: tuple[FakeOllama, str]) -> None:
    """Dispatch bounds a stream (``first_token``, ``idle``, ``total``) leaving out the time its client takes to
    read; the backend's own ``total_timeout`` would count that time against the upstream."""
    fake, url = server
    fake.queue.reset()
    fake.replies.append(Hang(seconds=0.6, after_events=1))
    call = Call(model=MODEL, total_timeout=0.3)
    backend = OllamaBackend("local", OllamaBackendConfig(base_url=url))

    try:
        events = await collect(backend, chat(), call)
    finally:
        await backend.aclose()

    assert any(isinstance(e, Finish) for e in events)


@pytest.mark.asyncio
@pytest.mark.parametrize("streaming", [False, True])
async def test_connection_refused(dead_backend: OllamaBackend, streaming: bool) -> None:
    with pytest.raises(UpstreamUnavailable) as info:
        await (collect(dead_backend, chat()) if streaming else dead_backend.complete(chat(), CALL))

    assert info.value.kind == "connect"
    assert info.value.retryable
    assert "is Ollama running?" in info.value.message
    assert "backends.local.base_url" in info.value.message
    assert dead_backend.url in info.value.message


# --- probe ----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_probe_ok(backend: OllamaBackend, client: MockClient) -> None:
    assert await backend.probe() is None
    assert (client.requests[0].method, client.requests[0].url) == ("GET", URL + "/api/version")


@pytest.mark.asyncio
async def test_probe_reports_refusal(dead_backend: OllamaBackend) -> None:
    reason = await dead_backend.probe()

    assert reason is not None and "connection refused" in reason


def test_url_drops_trailing_slash() -> None:
    backend = OllamaBackend("local", OllamaBackendConfig(base_url="http://127.0.0.1:11434/"))

    assert backend.url == "http://127.0.0.1:11434"
    assert backend.missing() is None


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0:11434", "http://127.0.0.1:11434"),  # listen-everywhere is reached at loopback
        ("0.0.0.0", "http://127.0.0.1:11434"),
        ("[::]:11434", "http://[::1]:11434"),
        ("127.0.0.1:11434", "http://127.0.0.1:11434"),
        ("", "http://127.0.0.1:11434"),
        (":56789", "http://127.0.0.1:56789"),
        ("gpu-box", "http://gpu-box:11434"),
        ("gpu-box:8080/ollama/", "http://gpu-box:8080/ollama"),
        ("[fe80::1]:8", "http://[fe80::1]:8"),
        ("https://gpu-box", "https://gpu-box"),  # a URL is left as written
        ("http://0.0.0.0:11434", "http://0.0.0.0:11434"),
    ],
)
def test_a_scheme_less_host_is_read_as_ollama_s_client_reads_it(host: str, url: str) -> None:
    assert ollama_host_url(host) == url
    assert OllamaBackendConfig(base_url=host).base_url == url


def test_a_host_with_a_port_that_is_not_one_is_left_as_written() -> None:
    with pytest.raises(ValueError, match="Port out of range"):
        ollama_host_url("gpu-box:99999")
    assert OllamaBackendConfig(base_url="gpu-box:99999").base_url == "gpu-box:99999"  # validate reports it


@pytest.mark.asyncio
async def test_the_models_the_server_has_not_pulled(server: tuple[FakeOllama, str]) -> None:
    """A model without a tag is Ollama's ``:latest``; a server it cannot ask names none."""
    fake, url = server
    fake.tags = ["qwen2.5-coder:7b", "llava:latest"]
    backend = OllamaBackend("local", OllamaBackendConfig(base_url=url))
    dead = OllamaBackend("gone", OllamaBackendConfig(base_url="http://127.0.0.1:9"))
    try:
        wanted = ["qwen2.5-coder:7b", "llava", "qwen2.5-coder:14b", "qwen2.5:1.5b", "qwen2.5-coder:14b"]
        assert await backend.missing_models(wanted) == ["qwen2.5-coder:14b", "qwen2.5:1.5b"]
        assert await dead.missing_models(wanted) == []
    finally:
        fake.tags = []
        await backend.aclose()
        await dead.aclose()
