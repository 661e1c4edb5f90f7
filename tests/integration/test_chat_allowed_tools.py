"""Chat's ``allowed_tools`` and ``custom`` tool choices: the real gateway, the fake Ollama and Anthropic, the openai
SDK.

The chat ingress makes them plain once: only the allowed tools go upstream, with ``auto`` or ``required``, and a
custom choice naming a function tool is that function. So Anthropic is sent ``any`` (or ``tool``), and Ollama,
which cannot force a call, has a required answer checked like any other (a text answer falls back, or is a 502).
A choice naming a tool the request lacks, or of the wrong shape, is a 400 before any upstream call.
"""

from __future__ import annotations

from typing import Any

import openai
import pytest

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Text, ToolCalls
from tests.integration.test_ollama_required_tool import (  # the module's gateway and client fixtures too
    TIME,
    fixture_client,  # noqa: F401 (a fixture)
    fixture_gateway,  # noqa: F401 (a fixture)
    missing_call,
)
from tests.integration.test_ollama_required_tool import chat as chat_with_headers

CITY: Any = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
WEATHER: Any = {"type": "function", "function": {"name": "get_weather", "parameters": CITY}}
SEARCH: Any = {"type": "function", "function": {"name": "search", "description": "Search the web."}}
TOOLS = [WEATHER, TIME, SEARCH]
ONLY_WEATHER: Any = {
    "type": "allowed_tools",
    "allowed_tools": {"mode": "required", "tools": [{"type": "function", "function": {"name": "get_weather"}}]},
}
#: What Anthropic is sent for ``ONLY_WEATHER``: that one tool, and a call required of it.
TO_CLAUDE: Any = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 7114,  # the room the target's window (8192 by default) leaves, estimate and margin taken out
    "messages": [{"role": "user", "content": [{"type": "text", "text": "weather in Paris?"}]}],
    "tools": [{"name": "get_weather", "input_schema": CITY}],
    "tool_choice": {"type": "any"},
}


def chat(client: openai.OpenAI, model: str, stream: bool, choice: Any) -> tuple[dict[str, Any], str]:
    """The answer as ``{"content", "calls": [(name, arguments)], "model"}``, streamed or whole, and the attempts
    header."""
    answer, headers = chat_with_headers(client, model, stream, tools=TOOLS, tool_choice=choice)
    del answer["finish"]
    return answer, headers["x-tiergate-attempts"]


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
    assert caught.value.response.json() == missing_call(fake_ollama)


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


@pytest.mark.parametrize("tools", [None, []], ids=["no-tools", "empty-tools"])
def test_a_required_call_with_no_tools_is_a_400_before_any_upstream_call(
    client: openai.OpenAI, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, tools: list[Any] | None
) -> None:
    """Every tier answered it 200 in plain text: the client that required a call got none, and no error."""
    more: dict[str, Any] = {} if tools is None else {"tools": tools}
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="local", messages=[{"role": "user", "content": "x"}], tool_choice="required", **more
        )
    assert caught.value.response.json() == {
        "error": {
            "message": "`tool_choice` requires a tool call, but the request has no `tools` to call",
            "type": "invalid_request_error",
            "param": "tool_choice",
            "code": "invalid_value",
        }
    }
    assert not fake_ollama.requests and not fake_anthropic.requests
