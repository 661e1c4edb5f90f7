"""A tool call the client requires, on Ollama, which has no ``tool_choice``: the real gateway, the fake Ollama and
Anthropic, the openai and anthropic SDKs.

Ollama cannot force a call, so tiergate checks the answer: one without a tool call is refused before any byte
reaches the client and the request falls back (``local`` → ``sonnet``); with nowhere to go (``solo``) the client
gets an error saying so. A stream is held until the model's first call, then flows with what came before it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama, SlowToolCalls
from tests.fakes.scripts import Text, ToolCalls

ROUTES = """
version: 1
backends:
  ollama: {kind: ollama, base_url: "${OLLAMA_HOST}"}
  anthropic: {kind: anthropic, base_url: "${ANTHROPIC_BASE_URL}", api_key_env: ANTHROPIC_API_KEY}
tiers:
  local: {targets: [{backend: ollama, model: qwen}]}
  sonnet: {targets: [{backend: anthropic, model: claude-sonnet-4-5}]}
  solo: {targets: [{backend: ollama, model: qwen-solo}]}
fallbacks: {local: [sonnet]}
"""
WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
#: The same tool as the Messages API declares it.
WEATHER_TOOL: Any = {"name": "get_weather", "input_schema": WEATHER["function"]["parameters"]}
TIME: Any = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}
ASK: Any = [{"role": "user", "content": "weather in Paris?"}]
FELL_BACK = "local/qwen:capability, sonnet/claude-sonnet-4-5:ok"
DETAIL = "the model answered without a tool call, which tool_choice requires (Ollama cannot force one)"


@pytest.fixture(name="gateway")
def fixture_gateway(tmp_path: Path, gateway_for: GatewayFactory, upstream_env: dict[str, str]) -> str:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    return gateway_for(routes, upstream_env)


@pytest.fixture(name="client")
def fixture_client(gateway: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gateway + "/v1", api_key="sk-client-unused", max_retries=0, timeout=30) as sdk:
        yield sdk


@pytest.fixture
def claude(gateway: str) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=gateway, api_key="sk-ant-client-unused", max_retries=0, timeout=30) as sdk:
        yield sdk


def chat(client: openai.OpenAI, model: str, stream: bool, **fields: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The answer as ``{"content", "calls": [(name, arguments)], "finish", "model"}``, streamed or whole, and
    the response headers."""
    if not stream:
        raw = client.chat.completions.with_raw_response.create(model=model, messages=ASK, **fields)
        choice = (completion := raw.parse()).choices[0]
        calls = [(c.function.name, c.function.arguments) for c in choice.message.tool_calls or []]  # type: ignore[union-attr]
        answer = {"content": choice.message.content, "calls": calls, "finish": choice.finish_reason}
        return {**answer, "model": completion.model}, dict(raw.headers)
    with client.chat.completions.with_streaming_response.create(
        model=model, messages=ASK, stream=True, **fields
    ) as response:
        chunks = list(response.parse())
        headers = dict(response.headers)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    named: dict[int, list[str]] = {}
    for chunk in chunks:
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            piece = named.setdefault(call.index, ["", ""])
            piece[0] += (call.function.name or "") if call.function else ""
            piece[1] += (call.function.arguments or "") if call.function else ""
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    calls = [(name, arguments) for name, arguments in named.values()]
    answer = {"content": content or None, "calls": calls, "finish": finish[-1], "model": chunks[0].model}
    return answer, headers


def missing_call(fake_ollama: FakeOllama) -> dict[str, Any]:
    """The body of the 502 an OpenAI client gets when Ollama answers without the call its request requires."""
    return {
        "error": {
            "message": f"backend 'ollama' at {fake_ollama.url}: {DETAIL}",  # type: ignore[attr-defined]
            "type": "upstream_error",
            "param": None,
            "code": "tool_call_missing",
        }
    }


# --- a text answer is refused: fallback ------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize(
    "choice", ["required", {"type": "function", "function": {"name": "get_weather"}}], ids=["required", "named"]
)
def test_a_text_answer_to_a_required_call_falls_back_to_claude(
    client: openai.OpenAI, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, stream: bool, choice: Any
) -> None:
    fake_ollama.replies.append(Text("I think it is sunny in Paris."))
    fake_anthropic.replies.append(ToolCalls([("get_weather", {"city": "Paris"})]))
    answer, headers = chat(client, "local", stream, tools=[WEATHER, TIME], tool_choice=choice)
    assert answer == {
        "content": None,
        "calls": [("get_weather", '{"city": "Paris"}')],
        "finish": "tool_calls",
        "model": "claude-sonnet-4-5",
    }
    assert headers["x-tiergate-attempts"] == FELL_BACK
    forced = {"type": "any"} if choice == "required" else {"type": "tool", "name": "get_weather"}
    assert [len(fake_ollama.requests), fake_anthropic.requests[0].body["tool_choice"]] == [1, forced]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_text_answer_to_anthropic_tool_choice_any_falls_back_to_claude(
    claude: anthropic.Anthropic, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, stream: bool
) -> None:
    fake_ollama.replies.append(Text("I think it is sunny in Paris."))
    fake_anthropic.replies.append(ToolCalls([("get_weather", {"city": "Paris"})], text="Checking."))
    fields: Any = {"max_tokens": 256, "tools": [WEATHER_TOOL], "tool_choice": {"type": "any"}, "messages": ASK}
    if stream:
        with claude.messages.stream(model="local", **fields) as events:
            message = events.get_final_message()
    else:
        message = claude.messages.create(model="local", **fields)
    assert [block.model_dump(include={"type", "text", "name", "input"}) for block in message.content] == [
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "name": "get_weather", "input": {"city": "Paris"}},
    ]
    assert (message.stop_reason, message.model) == ("tool_use", "claude-sonnet-4-5")
    assert len(fake_ollama.requests) == 1
    assert fake_anthropic.requests[0].body["tool_choice"] == {"type": "any"}


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_text_answer_to_responses_required_falls_back_to_claude(
    client: openai.OpenAI, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, stream: bool
) -> None:
    fake_ollama.replies.append(Text("I think it is sunny in Paris."))
    fake_anthropic.replies.append(ToolCalls([("get_weather", {"city": "Paris"})]))
    tool: Any = {"type": "function", "name": "get_weather", "parameters": WEATHER["function"]["parameters"]}
    fields: Any = {"model": "local", "input": "weather in Paris?", "tools": [tool], "tool_choice": "required"}
    if stream:
        with client.responses.stream(**fields) as events:
            response = events.get_final_response()
    else:
        response = client.responses.create(**fields)
    assert [item.model_dump(include={"type", "name", "arguments"}) for item in response.output] == [
        {"type": "function_call", "name": "get_weather", "arguments": '{"city": "Paris"}'}
    ]
    assert (response.status, response.model) == ("completed", "claude-sonnet-4-5")
    assert len(fake_ollama.requests) == 1
    assert fake_anthropic.requests[0].body["tool_choice"] == {"type": "any"}


# --- a tool call passes, streamed as it comes ------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize(
    "choice", ["required", {"type": "function", "function": {"name": "get_weather"}}], ids=["required", "named"]
)
def test_a_required_tool_call_from_ollama_passes_through(
    client: openai.OpenAI, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, stream: bool, choice: Any
) -> None:
    fake_ollama.replies.append(ToolCalls([("get_weather", {"city": "Paris"})]))
    answer, headers = chat(client, "local", stream, tools=[WEATHER, TIME], tool_choice=choice)
    assert answer == {
        "content": None,
        "calls": [("get_weather", '{"city": "Paris"}')],
        "finish": "tool_calls",
        "model": "qwen",
    }
    assert headers["x-tiergate-attempts"] == "local/qwen:ok"
    assert not fake_anthropic.requests


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_text_before_the_required_call_comes_with_it(
    client: openai.OpenAI, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, stream: bool
) -> None:
    fake_ollama.replies.append(ToolCalls([("get_weather", {"city": "Paris"})], text="Let me look that up."))
    answer, _ = chat(client, "local", stream, tools=[WEATHER], tool_choice="required")
    assert answer == {
        "content": "Let me look that up.",
        "calls": [("get_weather", '{"city": "Paris"}')],
        "finish": "tool_calls",
        "model": "qwen",
    }
    assert not fake_anthropic.requests


def test_a_streamed_answer_is_held_until_its_first_call(client: openai.OpenAI, fake_ollama: FakeOllama) -> None:
    """The model writes, waits a second, then calls: its text reaches the client with the call, not before."""
    fake_ollama.replies.append(SlowToolCalls([("get_weather", {"city": "Paris"})], text="Let me look that up."))
    arrived: list[tuple[float, str]] = []
    stream = client.chat.completions.create(
        model="local", messages=ASK, tools=[WEATHER], tool_choice="required", stream=True
    )
    for chunk in stream:
        delta = chunk.choices[0].delta if chunk.choices else None
        if delta is not None and delta.content:
            arrived.append((time.monotonic(), "text"))
        if delta is not None and delta.tool_calls:
            arrived.append((time.monotonic(), "call"))
    texts = [at for at, what in arrived if what == "text"]
    call = next(at for at, what in arrived if what == "call")
    assert [what for _, what in arrived][:1] == ["text"] and texts
    assert call - texts[0] < 0.5, "the text came a second before the call: it was not held"


# --- nowhere to fall back: an error that says why ----------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_with_no_fallback_the_client_is_told_the_call_is_missing(
    client: openai.OpenAI, fake_ollama: FakeOllama, stream: bool
) -> None:
    fake_ollama.replies.append(Text("I think it is sunny in Paris."))
    with pytest.raises(openai.APIStatusError) as caught:
        chat(client, "solo", stream, tools=[WEATHER], tool_choice="required")
    assert caught.value.status_code == 502
    assert caught.value.response.json() == missing_call(fake_ollama)
    assert caught.value.response.headers["x-tiergate-attempts"] == "solo/qwen-solo:capability"


def test_with_no_fallback_an_anthropic_client_is_told_in_its_shape(
    claude: anthropic.Anthropic, fake_ollama: FakeOllama
) -> None:
    fake_ollama.replies.append(Text("I think it is sunny in Paris."))
    named: Any = {"type": "tool", "name": "get_weather"}
    with pytest.raises(anthropic.APIStatusError) as caught:
        claude.messages.create(model="solo", max_tokens=256, tools=[WEATHER_TOOL], tool_choice=named, messages=ASK)
    assert caught.value.status_code == 502
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "api_error", "message": f"backend 'ollama' at {fake_ollama.url}: {DETAIL}"},  # type: ignore[attr-defined]
    }
