"""Chat's ``allowed_tools`` and ``custom`` tool choices: the real gateway, the fake Ollama and Anthropic, the openai
SDK.

The chat ingress makes them plain once: only the allowed tools go upstream, with ``auto`` or ``required``, and a
custom choice naming a function tool is that function. So Anthropic is sent ``any`` (or ``tool``), and Ollama,
which cannot force a call, has a required answer checked like any other (a text answer falls back, or is a 502).
A choice naming a tool the request lacks, or of the wrong shape, is a 400 before any upstream call.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
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
CITY: Any = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
WEATHER: Any = {"type": "function", "function": {"name": "get_weather", "parameters": CITY}}
TIME: Any = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}
SEARCH: Any = {"type": "function", "function": {"name": "search", "description": "Search the web."}}
TOOLS = [WEATHER, TIME, SEARCH]
ASK: Any = [{"role": "user", "content": "weather in Paris?"}]
ONLY_WEATHER: Any = {
    "type": "allowed_tools",
    "allowed_tools": {"mode": "required", "tools": [{"type": "function", "function": {"name": "get_weather"}}]},
}
#: What Anthropic is sent for ``ONLY_WEATHER``: that one tool, and a call required of it.
TO_CLAUDE: Any = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 4096,
    "messages": [{"role": "user", "content": [{"type": "text", "text": "weather in Paris?"}]}],
    "tools": [{"name": "get_weather", "input_schema": CITY}],
    "tool_choice": {"type": "any"},
}
DETAIL = "the model answered without a tool call, which tool_choice requires (Ollama cannot force one)"


@pytest.fixture
def client(tmp_path: Path, gateway_for: GatewayFactory, upstream_env: dict[str, str]) -> Iterator[openai.OpenAI]:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    gateway = gateway_for(routes, upstream_env)
    with openai.OpenAI(base_url=gateway + "/v1", api_key="sk-client-unused", max_retries=0, timeout=30) as sdk:
        yield sdk


def chat(client: openai.OpenAI, model: str, stream: bool, choice: Any) -> tuple[dict[str, Any], str]:
    """The answer as ``{"content", "calls": [(name, arguments)], "model"}``, streamed or whole, and the attempts
    header."""
    fields: Any = {"model": model, "messages": ASK, "tools": TOOLS, "tool_choice": choice}
    if not stream:
        raw = client.chat.completions.with_raw_response.create(**fields)
        message = (completion := raw.parse()).choices[0].message
        calls = [(c.function.name, c.function.arguments) for c in message.tool_calls or []]  # type: ignore[union-attr]
        return {"content": message.content, "calls": calls, "model": completion.model}, raw.headers[
            "x-tiergate-attempts"
        ]
    with client.chat.completions.with_streaming_response.create(stream=True, **fields) as response:
        chunks = list(response.parse())
        attempts = response.headers["x-tiergate-attempts"]
    named: dict[int, list[str]] = {}
    for chunk in chunks:
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            piece = named.setdefault(call.index, ["", ""])
            piece[0] += (call.function.name or "") if call.function else ""
            piece[1] += (call.function.arguments or "") if call.function else ""
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) or None
    calls = [(name, arguments) for name, arguments in named.values()]
    return {"content": content, "calls": calls, "model": chunks[0].model}, attempts


def offered(fake_ollama: FakeOllama) -> list[str]:
    return [tool["function"]["name"] for tool in fake_ollama.requests[0].body["tools"]]


# --- allowed_tools on Ollama: only those tools, and a required call checked -------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_text_answer_to_allowed_tools_required_falls_back_to_claude(
    client: openai.OpenAI, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, stream: bool
) -> None:
    fake_ollama.replies.append(Text("I think it is sunny in Paris."))
    fake_anthropic.replies.append(ToolCalls([("get_weather", {"city": "Paris"})]))
    answer, attempts = chat(client, "local", stream, ONLY_WEATHER)
    assert answer == {"content": None, "calls": [("get_weather", '{"city": "Paris"}')], "model": "claude-sonnet-4-5"}
    assert attempts == "local/qwen:capability, sonnet/claude-sonnet-4-5:ok"
    assert offered(fake_ollama) == ["get_weather"]
    assert fake_anthropic.requests[0].body == TO_CLAUDE | ({"stream": True} if stream else {})


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_with_no_fallback_a_text_answer_to_allowed_tools_required_is_a_502(
    client: openai.OpenAI, fake_ollama: FakeOllama, stream: bool
) -> None:
    fake_ollama.replies.append(Text("I think it is sunny in Paris."))
    with pytest.raises(openai.APIStatusError) as caught:
        chat(client, "solo", stream, ONLY_WEATHER)
    assert caught.value.status_code == 502
    assert caught.value.response.json() == {
        "error": {
            "message": f"backend 'ollama' at {fake_ollama.url}: {DETAIL}",  # type: ignore[attr-defined]
            "type": "upstream_error",
            "param": None,
            "code": "tool_call_missing",
        }
    }


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_allowed_tools_auto_lets_ollama_answer_in_text(
    client: openai.OpenAI, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, stream: bool
) -> None:
    fake_ollama.replies.append(Text("It is sunny in Paris."))
    choice = {
        "type": "allowed_tools",
        "allowed_tools": {
            "mode": "auto",
            "tools": [
                {"type": "function", "function": {"name": "search"}},
                {"type": "custom", "custom": {"name": "get_time"}},
            ],
        },
    }
    answer, attempts = chat(client, "local", stream, choice)
    assert (answer, attempts) == ({"content": "It is sunny in Paris.", "calls": [], "model": "qwen"}, "local/qwen:ok")
    assert offered(fake_ollama) == ["get_time", "search"]
    assert not fake_anthropic.requests


# --- on Anthropic ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_claude_is_sent_only_the_allowed_tools_and_any(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic, stream: bool
) -> None:
    fake_anthropic.replies.append(ToolCalls([("get_weather", {"city": "Paris"})]))
    answer, _ = chat(client, "sonnet", stream, ONLY_WEATHER)
    assert answer == {"content": None, "calls": [("get_weather", '{"city": "Paris"}')], "model": "claude-sonnet-4-5"}
    assert fake_anthropic.requests[0].body == TO_CLAUDE | ({"stream": True} if stream else {})


def test_a_custom_choice_naming_a_function_is_that_function(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.replies.append(ToolCalls([("get_time", {})]))
    answer, _ = chat(client, "sonnet", False, {"type": "custom", "custom": {"name": "get_time"}})
    assert answer["calls"] == [("get_time", "{}")]
    sent = fake_anthropic.requests[0].body
    assert [[tool["name"] for tool in sent["tools"]], sent["tool_choice"]] == [
        ["get_weather", "get_time", "search"],
        {"type": "tool", "name": "get_time"},
    ]


def test_a_custom_choice_on_ollama_offers_only_that_function_and_requires_it(
    client: openai.OpenAI, fake_ollama: FakeOllama
) -> None:
    fake_ollama.replies.append(Text("It is noon."))
    with pytest.raises(openai.APIStatusError) as caught:
        chat(client, "solo", False, {"type": "custom", "custom": {"name": "get_time"}})
    assert (caught.value.status_code, offered(fake_ollama)) == (502, ["get_time"])


# --- refused at the edge ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "param", "message"),
    [
        (
            {
                "type": "allowed_tools",
                "allowed_tools": {
                    "mode": "required",
                    "tools": [
                        {"type": "function", "function": {"name": "get_weather"}},
                        {"type": "function", "function": {"name": "get_forecast"}},
                    ],
                },
            },
            "tool_choice.allowed_tools.tools[1]",
            "`tool_choice.allowed_tools.tools[1]` names `get_forecast`, which `tools` does not declare"
            " (it declares get_weather, get_time, search)",
        ),
        (
            {"type": "custom", "custom": {"name": "apply_patch"}},
            "tool_choice",
            "`tool_choice` names the custom tool `apply_patch`: chat tools are function tools, and `tools` declares"
            " no function `apply_patch` (it declares get_weather, get_time, search)",
        ),
        (
            {"type": "allowed_tools", "allowed_tools": {"mode": "none", "tools": [TIME]}},
            "tool_choice.allowed_tools.mode",
            "`tool_choice.allowed_tools.mode` must be auto or required, got 'none'",
        ),
        (
            {"type": "custom", "custom": {"label": "get_time"}},
            "tool_choice.custom.name",
            "`tool_choice.custom.name` must be the name of one of `tools`",
        ),
    ],
    ids=["unknown-tool", "custom-unknown", "mode", "custom-no-name"],
)
def test_a_bad_choice_is_a_400_before_any_upstream_call(
    client: openai.OpenAI,
    fake_ollama: FakeOllama,
    fake_anthropic: FakeAnthropic,
    choice: Any,
    param: str,
    message: str,
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        chat(client, "local", False, choice)
    assert caught.value.response.json() == {
        "error": {"message": message, "type": "invalid_request_error", "param": param, "code": "invalid_value"}
    }
    assert not fake_ollama.requests and not fake_anthropic.requests
