"""The whole path through the default routes.yaml: openai SDK → gateway → fake Ollama / Anthropic."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import openai
import pytest

from tests.conftest import TEST_KEY, GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.scripts import Status, Text, ToolCalls
from tests.helpers import LEGACY_REFUSALS, THREE_BACKENDS

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def test_simple_request_goes_to_local(
    client: openai.OpenAI, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic
) -> None:
    fake_ollama.replies.append(Text("def add(a: int, b: int) -> int: ...", chunks=1))
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "add type hints to def add(a, b)"}]
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "def add(a: int, b: int) -> int: ..."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.object == "chat.completion"
    assert completion.model == "qwen2.5-coder:7b"
    assert completion.usage is not None and completion.usage.prompt_tokens == 11
    assert raw.headers["x-tiergate-tier"] == "local"
    assert raw.headers["x-tiergate-model"] == "qwen2.5-coder:7b"
    assert raw.headers["x-tiergate-phase"] == "heuristic"
    assert raw.headers["x-tiergate-decision-id"].startswith("dec_")
    assert raw.headers["x-tiergate-attempts"] == "local/qwen2.5-coder:7b:ok"
    assert len(fake_ollama.requests) == 1 and not fake_anthropic.requests
    assert fake_ollama.requests[0].body["model"] == "qwen2.5-coder:7b"


def test_streaming_with_usage_from_anthropic(client: openai.OpenAI, fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.replies.append(Text("Plan: split the service.", chunks=3, prompt_tokens=40, completion_tokens=6))
    stream = client.chat.completions.create(
        model="sonnet",
        stream=True,
        stream_options={"include_usage": True},
        messages=[{"role": "system", "content": "be precise"}, {"role": "user", "content": "plan it"}],
    )
    chunks = list(stream)
    assert len({c.id for c in chunks}) == 1 and len({c.created for c in chunks}) == 1
    assert {c.model for c in chunks} == {"claude-sonnet-4-5"}
    assert chunks[0].choices[0].delta.role == "assistant" and chunks[0].choices[0].delta.content == ""
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Plan: split the service."
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (40, 6)
    sent = fake_anthropic.requests[0]
    assert sent.body["system"] == "be precise" and sent.body["stream"] is True
    assert sent.headers["x-api-key"] == TEST_KEY


def test_stream_wire_bytes_are_exact(gateway: str, fake_ollama: FakeOllama) -> None:
    fake_ollama.replies.append(Text("ab", chunks=2))
    body = {"model": "local", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with httpx.stream("POST", gateway + "/v1/chat/completions", json=body) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        raw = r.read().decode()
    events = raw.split("\n\n")
    assert events[-1] == "" and events[-2] == "data: [DONE]"
    assert not any(e.startswith(":") for e in events)
    payloads = [json.loads(e.removeprefix("data: ")) for e in events[:-2]]
    deltas = [p["choices"][0]["delta"] for p in payloads]
    assert deltas == [{"role": "assistant", "content": ""}, {"content": "a"}, {"content": "b"}, {}]
    assert [p["choices"][0]["finish_reason"] for p in payloads] == [None, None, None, "stop"]
    assert all(p["object"] == "chat.completion.chunk" for p in payloads)
    assert all("usage" not in p for p in payloads)


@pytest.mark.parametrize("stream", [False, True])
def test_tool_call_round_trip_through_anthropic(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic, stream: bool
) -> None:
    fake_anthropic.replies.append(ToolCalls([("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Oslo"})]))
    messages: list[dict[str, object]] = [{"role": "user", "content": "weather in Paris and Oslo?"}]
    calls = _tool_calls(client, messages, stream)
    assert [(c["name"], json.loads(c["arguments"])) for c in calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "Oslo"}),
    ]
    assert all(c["id"] for c in calls)
    messages.append(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                for c in calls
            ],
        }
    )
    messages += [
        {"role": "tool", "tool_call_id": calls[0]["id"], "content": "18C"},
        {"role": "tool", "tool_call_id": calls[1]["id"], "content": "3C"},
    ]
    fake_anthropic.replies.append(Text("Paris 18C, Oslo 3C."))
    final = client.chat.completions.create(model="auto", messages=messages, tools=[WEATHER_TOOL])  # type: ignore[arg-type]
    assert final.choices[0].message.content == "Paris 18C, Oslo 3C."
    sent = fake_anthropic.requests[1].body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert [b["type"] for b in sent[1]["content"]] == ["tool_use", "tool_use"]
    assert sent[1]["content"][0]["input"] == {"city": "Paris"}
    assert [(b["type"], b["tool_use_id"], b["content"]) for b in sent[2]["content"]] == [
        ("tool_result", calls[0]["id"], "18C"),
        ("tool_result", calls[1]["id"], "3C"),
    ]


@pytest.mark.parametrize("stream", [False, True])
def test_tool_call_round_trip_through_ollama(client: openai.OpenAI, fake_ollama: FakeOllama, stream: bool) -> None:
    fake_ollama.replies.append(ToolCalls([("get_weather", {"city": "Paris"})]))
    messages: list[dict[str, object]] = [{"role": "user", "content": "weather in Paris?"}]
    calls = _tool_calls(client, messages, stream, model="local")
    assert [(c["name"], json.loads(c["arguments"])) for c in calls] == [("get_weather", {"city": "Paris"})]
    assert calls[0]["id"].startswith("call_")
    messages.append(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": calls[0]["id"],
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": calls[0]["arguments"]},
                }
            ],
        }
    )
    messages.append({"role": "tool", "tool_call_id": calls[0]["id"], "content": "18C"})
    fake_ollama.replies.append(Text("It is 18C."))
    final = client.chat.completions.create(model="local", messages=messages, tools=[WEATHER_TOOL])  # type: ignore[arg-type]
    assert final.choices[0].message.content == "It is 18C."
    sent = fake_ollama.requests[1].body["messages"]
    assert sent[1]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": {"city": "Paris"}}
    assert sent[2] == {"role": "tool", "content": "18C", "tool_name": "get_weather"}


def _tool_calls(
    client: openai.OpenAI, messages: list[dict[str, object]], stream: bool, model: str = "auto"
) -> list[dict[str, str]]:
    if not stream:
        done = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL])  # type: ignore[arg-type]
        assert done.choices[0].finish_reason == "tool_calls"
        return [
            {"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
            for c in done.choices[0].message.tool_calls or []
        ]
    calls: dict[int, dict[str, str]] = {}
    finish = None
    for chunk in client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL], stream=True):  # type: ignore[arg-type]
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        assert not (choice.delta.content and choice.delta.tool_calls), "content and tool_calls in one delta"
        for tc in choice.delta.tool_calls or []:
            if tc.id:
                assert tc.index not in calls and tc.type == "function" and tc.function and tc.function.arguments == ""
                calls[tc.index] = {"id": tc.id, "name": tc.function.name or "", "arguments": ""}
            elif tc.function and tc.function.arguments:
                calls[tc.index]["arguments"] += tc.function.arguments
        finish = choice.finish_reason or finish
    assert finish == "tool_calls"
    return [calls[i] for i in sorted(calls)]


def test_image_goes_to_anthropic_as_base64(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic, fake_ollama: FakeOllama
) -> None:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
    fake_anthropic.replies.append(Text("A red square."))
    raw = client.chat.completions.with_raw_response.create(
        model="auto",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
                ],
            }
        ],
    )
    assert raw.parse().choices[0].message.content == "A red square."
    assert raw.headers["x-tiergate-tier"] == "sonnet"
    assert "local/qwen2.5-coder:7b" not in raw.headers["x-tiergate-attempts"]
    blocks = fake_anthropic.requests[0].body["messages"][0]["content"]
    assert blocks[1] == {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}}
    assert not fake_ollama.requests


@pytest.mark.parametrize(
    ("part", "param", "message"),
    [
        (
            {"type": "file", "file": {"filename": "notes.txt", "file_data": "data:text/plain;base64,aGk="}},
            "messages[1].content[1].file.file_data",
            "`messages[1].content[1].file.file_data` is a data: URL of text/plain: a `file` part carries a PDF as"
            " data:application/pdf;base64,... (send a text file's contents as `text`)",
        ),
        (
            {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
            "messages[1].content[1].type",
            "`messages[1].content[1].type` is `input_audio`: tiergate forwards only `text`, `image_url` and `file`"
            " content parts (send a file's contents as `text`)",
        ),
    ],
)
def test_a_content_part_tiergate_cannot_forward_is_refused_not_dropped(
    client: openai.OpenAI,
    fake_ollama: FakeOllama,
    fake_anthropic: FakeAnthropic,
    part: dict[str, object],
    param: str,
    message: str,
) -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "summarise this"}, part]},
    ]
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="auto", messages=messages)  # type: ignore[arg-type]
    assert caught.value.body == {
        "message": message,
        "type": "invalid_request_error",
        "param": param,
        "code": "unsupported_content",
    }
    assert not fake_ollama.requests and not fake_anthropic.requests


def test_local_failure_falls_back_to_sonnet(
    client: openai.OpenAI, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic
) -> None:
    fake_ollama.replies.extend([Status(500, "model crashed")] * 3)
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "rename foo to bar"}]
    )
    assert raw.parse().choices[0].message.content == "Hello from the fake upstream."
    assert raw.headers["x-tiergate-tier"] == "sonnet"
    assert raw.headers["x-tiergate-attempts"].startswith("local/qwen2.5-coder:7b:http_500, sonnet/claude-sonnet-4-5:ok")


def test_upstream_4xx_passes_through_in_openai_shape(client: openai.OpenAI, fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.replies.append(Status(400, "messages: text content blocks must be non-empty"))
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="sonnet", messages=[{"role": "user", "content": "x"}])
    err = info.value.body
    assert info.value.status_code == 400
    assert isinstance(err, dict) and err["type"] == "invalid_request_error"
    assert "messages: text content blocks must be non-empty" in err["message"]
    assert "backend 'anthropic'" in err["message"]
    assert len(fake_anthropic.requests) == 1


def test_legacy_completions(gateway: str, fake_ollama: FakeOllama) -> None:
    fake_ollama.replies.append(Text("return a + b", chunks=1))
    legacy = openai.OpenAI(base_url=gateway + "/v1", api_key="x", max_retries=0)
    done = legacy.completions.create(model="local", prompt="def add(a, b):\n    ", max_tokens=16)
    assert done.object == "text_completion"
    assert done.choices[0].text == "return a + b"
    assert fake_ollama.requests[0].body["options"]["num_predict"] == 16
    # text to continue, not a chat turn: no chat template around an editor's own fill-in-the-middle prompt
    assert (fake_ollama.requests[0].path, fake_ollama.requests[0].body["raw"]) == ("/api/generate", True)
    fake_ollama.replies.append(Text("xy", chunks=2))
    pieces = [c.choices[0].text for c in legacy.completions.create(model="local", prompt="p", stream=True) if c.choices]
    assert "".join(pieces) == "xy"
    fake_ollama.replies.append(Text("z", chunks=1))
    assert legacy.completions.create(model="local", prompt="p", stream=None).choices[0].text == "z"


def test_a_null_stream_is_no_stream(client: openai.OpenAI, fake_ollama: FakeOllama) -> None:
    """The SDK types ``stream`` as ``Optional[Literal[False]]``; ``stream=None`` went as null and was a 400."""
    fake_ollama.replies.append(Text("hello", chunks=1))
    done = client.chat.completions.create(model="local", messages=[{"role": "user", "content": "hi"}], stream=None)
    assert done.choices[0].message.content == "hello"
    assert fake_ollama.requests[0].body["stream"] is False


@pytest.mark.parametrize("stream", [False, True])
def test_blank_stop_sequences_are_emulated_on_anthropic(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic, stream: bool
) -> None:
    """Anthropic refuses whitespace-only stop sequences with a 400: they are not sent, and the answer is
    cut at the first one here instead."""
    fake_anthropic.replies.append(Text("first line\n\nsecond line", chunks=4))
    answer = client.chat.completions.create(
        model="sonnet", messages=[{"role": "user", "content": "complete"}], stop=["\n\n", "END"], stream=stream
    )
    if stream:
        chunks = [c for c in answer if c.choices]  # type: ignore[union-attr]
        text = "".join(c.choices[0].delta.content or "" for c in chunks)
        finishes = [c.choices[0].finish_reason for c in chunks if c.choices[0].finish_reason]
    else:
        text, finishes = answer.choices[0].message.content, [answer.choices[0].finish_reason]  # type: ignore[union-attr]
    assert (text, finishes) == ("first line", ["stop"])
    assert fake_anthropic.requests[0].body["stop_sequences"] == ["END"]


@pytest.mark.parametrize("legacy", [False, True])
def test_a_stream_cut_at_an_emulated_stop_reports_the_prompt_claude_counted(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic, legacy: bool
) -> None:
    """The stream is closed at the stop, before Claude's final count: the usage chunk is message_start's prompt
    (cache reads apart) and, for the output Claude never counted, the estimate of what was sent (24 characters:
    6 tokens), marked estimated; not the estimate of the whole request, prompt and all. The same stop not
    reached reports Claude's own final count."""
    for text, usage in [
        (
            "first line of the answer\n\nsecond line",
            '{"prompt_tokens":150,"completion_tokens":6,"total_tokens":156,'
            '"prompt_tokens_details":{"cached_tokens":50},"estimated":true}',
        ),
        (  # two characters before the stop: no more than Claude's placeholder of 1, and estimated all the same
            "ab\n\nsecond line",
            '{"prompt_tokens":150,"completion_tokens":1,"total_tokens":151,'
            '"prompt_tokens_details":{"cached_tokens":50},"estimated":true}',
        ),
        (
            "one line",
            '{"prompt_tokens":150,"completion_tokens":7,"total_tokens":157,"prompt_tokens_details":{"cached_tokens":50}}',
        ),
    ]:
        fake_anthropic.replies.append(Text(text, chunks=4, prompt_tokens=100, cache_read_tokens=50))
        stop, include = ["\n\n"], {"include_usage": True}
        if legacy:
            raw = client.completions.with_raw_response.create(
                model="sonnet", prompt="def f(", stop=stop, stream=True, stream_options=include
            )
        else:
            messages = [{"role": "user", "content": "complete"}]
            raw = client.chat.completions.with_raw_response.create(
                model="sonnet", messages=messages, stop=stop, stream=True, stream_options=include
            )  # type: ignore[call-overload]
        events = raw.http_response.read().decode().split("\n\n")
        assert events[-3:] == [events[-3], "data: [DONE]", ""]
        assert events[-3].endswith(f'"usage":{usage}}}'), events[-3]
        assert fake_anthropic.requests[-1].body.get("stop_sequences") is None


def test_with_an_emulated_stop_the_text_still_comes_before_the_tool_call(
    gateway: str, fake_anthropic: FakeAnthropic
) -> None:
    """The character held back in case a stop begins there is sent when the tool call starts, not after it."""
    fake_anthropic.replies.append(ToolCalls([("get_weather", {"city": "Oslo"})], text="Checking."))
    body = {
        "model": "sonnet",
        "stream": True,
        "stop": ["\n\n"],
        "messages": [{"role": "user", "content": "weather in Oslo?"}],
        "tools": [WEATHER_TOOL],
    }
    with httpx.stream("POST", gateway + "/v1/chat/completions", json=body) as r:
        assert r.status_code == 200
        events = r.read().decode().split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    payloads = [json.loads(e.removeprefix("data: ")) for e in events[:-2]]
    deltas = [p["choices"][0]["delta"] for p in payloads]
    call_id = deltas[4]["tool_calls"][0]["id"]
    opening = {"index": 0, "id": call_id, "type": "function", "function": {"name": "get_weather", "arguments": ""}}
    assert deltas == [
        {"role": "assistant", "content": ""},
        {"content": "Chec"},  # "Check" with its last character held: a stop could begin there
        {"content": "king"},
        {"content": "."},
        {"tool_calls": [opening]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": ' "Oslo"}'}}]},
        {},
    ]
    assert [p["choices"][0]["finish_reason"] for p in payloads][-1] == "tool_calls"
    assert fake_anthropic.requests[0].body.get("stop_sequences") is None


def test_more_than_one_choice_is_refused(client: openai.OpenAI, fake_ollama: FakeOllama) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="auto", n=2, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body == {
        "message": "`n` is 2: tiergate returns one choice per request; send n separate requests instead",
        "type": "invalid_request_error",
        "param": "n",
        "code": "unsupported_value",
    }
    assert not fake_ollama.requests


def test_one_model_is_described_and_an_unknown_one_is_a_404(client: openai.OpenAI, gateway: str) -> None:
    auto = client.models.retrieve("auto")
    assert (auto.id, auto.object, auto.owned_by) == ("auto", "model", "tiergate")
    local = client.models.retrieve("qwen2.5-coder:7b")
    assert (local.id, local.owned_by) == ("qwen2.5-coder:7b", "ollama")
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("gpt-nine")
    assert caught.value.body == {
        "message": "no model 'gpt-nine' here: GET /v1/models lists them",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }
    anthropic_shape = httpx.get(gateway + "/v1/models/auto", headers={"anthropic-version": "2023-06-01"}).json()
    assert set(anthropic_shape) == {"type", "id", "display_name", "created_at"} and anthropic_shape["type"] == "model"


def test_a_context_length_refusal_carries_openais_code(client: openai.OpenAI, fake_anthropic: FakeAnthropic) -> None:
    """Anthropic's refusal has no code of OpenAI's; clients read ``context_length_exceeded`` to tell a full
    context window from any other 400, and those built on LiteLLM (aider) OpenAI's words, which open the
    message."""
    fake_anthropic.replies.append(Status(400, "prompt is too long: 250000 tokens > 200000 maximum"))
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="sonnet", messages=[{"role": "user", "content": "x"}])
    url = fake_anthropic.url  # type: ignore[attr-defined]
    assert caught.value.body == {
        "message": "This model's maximum context length is 200000 tokens. However, your messages resulted in 250000"
        f" tokens. Please reduce the length of the messages. (backend 'anthropic' at {url}: prompt is too long:"
        " 250000 tokens > 200000 maximum)",
        "type": "invalid_request_error",
        "param": None,
        "code": "context_length_exceeded",
    }


@pytest.mark.parametrize(("fields", "param", "message"), LEGACY_REFUSALS)
def test_legacy_completion_fields_tiergate_cannot_honour_are_refused(
    gateway: str, fake_ollama: FakeOllama, fields: dict[str, object], param: str, message: str
) -> None:
    """Not joined into one prompt, nor answered without what was asked: a 400 naming the field."""
    r = httpx.post(gateway + "/v1/completions", json={"model": "local", "max_tokens": 8, **fields})
    assert (r.status_code, r.json()) == (
        400,
        {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": "unsupported_value"}},
    )
    assert not fake_ollama.requests


def test_a_legacy_completion_of_one_prompt_in_a_list(gateway: str, fake_ollama: FakeOllama) -> None:
    fake_ollama.replies.append(Text("return a + b", chunks=1))
    r = httpx.post(gateway + "/v1/completions", json={"model": "local", "prompt": ["def add(a, b):"], "best_of": 1})
    assert r.status_code == 200 and [c["text"] for c in r.json()["choices"]] == ["return a + b"]
    sent = fake_ollama.requests[0]
    assert (sent.path, sent.body["prompt"], sent.body["raw"]) == ("/api/generate", "def add(a, b):", True)
    assert "messages" not in sent.body and "suffix" not in sent.body


# --- fill-in-the-middle only where the suffix is used ---------------------------------------------------

FIM_ROUTES = (
    THREE_BACKENDS
    + """tiers:
  local: {targets: [{backend: ollama, model: qwen, capabilities: {tools: true, context_window: 32768}}]}
  sonnet: {targets: [{backend: anthropic, model: claude-sonnet-4-5, capabilities: {tools: true}}]}
  opus: {targets: [{backend: vllm, model: m3, capabilities: {tools: true, context_window: 32768}}]}
fallbacks: {local: [sonnet]}
"""
)
FIM = {"prompt": "def add(a, b):\n    ", "suffix": "\n\nprint(add(1, 2))", "max_tokens": 16}


@pytest.fixture
def fim_gateway(
    tmp_path: Path, gateway_for: GatewayFactory, upstream_env: dict[str, str], fake_openai: FakeOpenAI
) -> str:
    routes = tmp_path / "routes.yaml"
    routes.write_text(FIM_ROUTES)
    return gateway_for(routes, {**upstream_env, "VLLM_URL": fake_openai.url})  # type: ignore[attr-defined]


@pytest.mark.parametrize(("model", "label"), [("sonnet", "sonnet/claude-sonnet-4-5"), ("opus", "opus/m3")])
def test_a_suffix_never_goes_where_it_would_be_dropped(
    fim_gateway: str, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI, model: str, label: str
) -> None:
    """Only Ollama takes a suffix (its /api/generate); elsewhere autocomplete would get a chat answer."""
    r = httpx.post(fim_gateway + "/v1/completions", json={"model": model, **FIM})
    assert (r.status_code, r.json()["error"]["message"]) == (
        400,
        f"no target can serve this request: {label}: cannot take `suffix` (fill-in-the-middle needs an ollama backend)",
    )
    assert not fake_anthropic.requests and not fake_openai.requests


def test_a_suffix_does_not_fall_back_to_a_chat_model(
    fim_gateway: str, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic
) -> None:
    fake_ollama.queue.default = Status(503, "model loading")
    r = httpx.post(fim_gateway + "/v1/completions", json={"model": "local", **FIM})
    assert r.status_code == 503
    assert r.json()["error"] == {
        "message": f"backend 'ollama' at {fake_ollama.url}: model loading",  # type: ignore[attr-defined]
        "type": "upstream_error",
        "param": None,
        "code": None,
    }
    assert r.headers["x-tiergate-attempts"].startswith("local/qwen:http_503")
    assert all(request.path == "/api/generate" for request in fake_ollama.requests)
    assert not fake_anthropic.requests


def test_a_suffix_on_ollama_and_an_empty_one_anywhere(
    fim_gateway: str, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic
) -> None:
    fake_ollama.replies.append(Text("return a + b", chunks=1))
    r = httpx.post(fim_gateway + "/v1/completions", json={"model": "local", **FIM})
    assert r.status_code == 200 and r.json()["choices"][0]["text"] == "return a + b"
    assert fake_ollama.requests[0].body["suffix"] == FIM["suffix"]
    fake_anthropic.replies.append(Text("return a + b", chunks=1))
    r = httpx.post(fim_gateway + "/v1/completions", json={"model": "sonnet", **FIM, "suffix": ""})
    assert r.status_code == 200 and r.json()["choices"][0]["text"] == "return a + b"
