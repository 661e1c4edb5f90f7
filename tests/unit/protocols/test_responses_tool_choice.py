"""A Responses ``tool_choice`` naming a function or custom tool the request's ``tools`` do not declare, by itself
or in ``allowed_tools``, is a 400 naming it (as on chat), never passed on (Claude refused it with its own 400,
Ollama was offered no tool); hosted tools, which tiergate drops with their tools, stay ignored."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tiergate.errors import RequestError
from tiergate.protocols.responses import decode
from tiergate.wire import ChatRequest

WEATHER = {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}
PATCH = {"type": "custom", "name": "apply_patch"}
TOOLS = [WEATHER, PATCH, {"type": "web_search"}]


def decoded(tool_choice: Any, tools: Any = TOOLS) -> ChatRequest:
    body: dict[str, Any] = {"model": "auto", "input": "hi", "tool_choice": tool_choice}
    if tools is not None:
        body["tools"] = tools
    return decode(json.dumps(body).encode())


def allowed(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"type": "allowed_tools", "mode": "required", "tools": list(entries)}


@pytest.mark.parametrize(
    ("choice", "tools", "param", "message", "code"),
    [
        (
            {"type": "function", "name": "nope"},
            TOOLS,
            "tool_choice",
            "`tool_choice` names the function `nope`, which `tools` does not declare"
            " (it declares get_weather, apply_patch)",
            "invalid_value",
        ),
        (
            {"type": "custom", "name": "nope"},
            TOOLS,
            "tool_choice",
            "`tool_choice` names the custom tool `nope`, which `tools` does not declare"
            " (it declares get_weather, apply_patch)",
            "invalid_value",
        ),
        (
            {"type": "function", "name": "get_weather"},
            [{"type": "web_search"}],  # hosted only: dropped, so no function tools
            "tool_choice",
            "`tool_choice` names the function `get_weather`, which `tools` does not declare"
            " (the request has no function or custom `tools`)",
            "invalid_value",
        ),
        (
            {"type": "function", "name": "get_weather"},
            None,
            "tool_choice",
            "`tool_choice` names the function `get_weather`, which `tools` does not declare"
            " (the request has no function or custom `tools`)",
            "invalid_value",
        ),
        (
            allowed({"type": "function", "name": "get_weather"}, {"type": "function", "name": "get_forecast"}),
            TOOLS,
            "tool_choice.tools[1]",
            "`tool_choice.tools[1]` names the function `get_forecast`, which `tools` does not declare"
            " (it declares get_weather, apply_patch)",
            "invalid_value",
        ),
        (
            allowed({"type": "web_search"}, {"type": "custom", "name": "edit"}),
            TOOLS,
            "tool_choice.tools[1]",
            "`tool_choice.tools[1]` names the custom tool `edit`, which `tools` does not declare"
            " (it declares get_weather, apply_patch)",
            "invalid_value",
        ),
        (
            allowed({"type": "function", "name": "get_weather"}),
            None,
            "tool_choice.tools[0]",
            "`tool_choice.tools[0]` names the function `get_weather`, which `tools` does not declare"
            " (the request has no function or custom `tools`)",
            "invalid_value",
        ),
        (
            allowed({"type": "function"}),
            TOOLS,
            "tool_choice.tools[0].name",
            "`tool_choice.tools[0].name` must be a string, got missing",
            "invalid_type",
        ),
        (
            allowed({"type": "function", "name": "get_weather"}, "apply_patch"),
            TOOLS,
            "tool_choice.tools[1]",
            "`tool_choice.tools[1]` must be an object, got a string",
            "invalid_type",
        ),
    ],
    ids=[
        "function",
        "custom",
        "hosted-only",
        "no-tools",
        "allowed-function",
        "allowed-custom",
        "allowed-no-tools",
        "allowed-no-name",
        "allowed-not-object",
    ],
)
def test_a_choice_naming_an_undeclared_tool_is_a_400_naming_it(
    choice: Any, tools: Any, param: str, message: str, code: str
) -> None:
    with pytest.raises(RequestError) as caught:
        decoded(choice, tools)
    assert (caught.value.status, caught.value.param, str(caught.value), caught.value.code) == (
        400,
        param,
        message,
        code,
    )


@pytest.mark.parametrize(
    ("choice", "names", "expected"),
    [
        (
            {"type": "function", "name": "get_weather"},
            ["get_weather", "apply_patch"],
            {"type": "function", "function": {"name": "get_weather"}},
        ),
        (
            {"type": "custom", "name": "apply_patch"},
            ["get_weather", "apply_patch"],
            {"type": "function", "function": {"name": "apply_patch"}},
        ),
        # Hosted tools in allowed_tools are allowed and ignored, declared or not: they run only at OpenAI.
        (
            allowed({"type": "web_search"}, {"type": "file_search"}, {"type": "custom", "name": "apply_patch"}),
            ["apply_patch"],
            "required",
        ),
    ],
    ids=["function", "custom", "allowed-hosted"],
)
def test_a_choice_naming_declared_or_hosted_tools_goes_on(choice: Any, names: list[str], expected: Any) -> None:
    request = decoded(choice)
    assert ([t.function.name for t in request.tools or ()], request.tool_choice) == (names, expected)
