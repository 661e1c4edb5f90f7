"""A Responses ``tool_choice`` naming a tool the request does not declare: the real gateway, the fake Ollama and
Anthropic, the openai SDK. It is a 400 in OpenAI's shape before any upstream call (Claude was sent it and refused
it with its own 400; Ollama was offered no tool at all)."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama

WEATHER: Any = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.mark.parametrize(
    ("choice", "param", "message"),
    [
        (
            {"type": "function", "name": "nope"},
            "tool_choice",
            "`tool_choice` names the function `nope`, which `tools` does not declare (it declares get_weather)",
        ),
        (
            {
                "type": "allowed_tools",
                "mode": "required",
                "tools": [{"type": "web_search"}, {"type": "function", "name": "get_forecast"}],
            },
            "tool_choice.tools[1]",
            "`tool_choice.tools[1]` names the function `get_forecast`, which `tools` does not declare"
            " (it declares get_weather)",
        ),
    ],
    ids=["function", "allowed-tools"],
)
@pytest.mark.parametrize("model", ["sonnet", "local"])
def test_a_choice_naming_an_undeclared_tool_is_a_400_before_any_upstream_call(
    client: openai.OpenAI,
    fake_ollama: FakeOllama,
    fake_anthropic: FakeAnthropic,
    model: str,
    choice: Any,
    param: str,
    message: str,
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=model, input="weather in Paris?", tools=[WEATHER], tool_choice=choice)
    assert caught.value.response.json() == {
        "error": {"message": message, "type": "invalid_request_error", "param": param, "code": "invalid_value"}
    }
    assert not fake_ollama.requests and not fake_anthropic.requests
