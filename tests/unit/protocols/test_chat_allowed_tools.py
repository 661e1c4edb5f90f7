"""Chat's ``allowed_tools`` and ``custom`` tool choices, made plain at the edge (``decode_chat``): every backend
sees only the allowed ``tools`` and ``auto``/``required``, or a named function; a malformed choice is a 400 naming
the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tiergate.errors import RequestError
from tiergate.protocols import ollama
from tiergate.protocols.anthropic.request import to_messages_body
from tiergate.protocols.openai.request import decode_chat
from tiergate.protocols.openai.upstream import chat_body
from tiergate.wire import ChatRequest

WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
TIME = {"type": "function", "function": {"name": "get_time"}}
SEARCH = {"type": "function", "function": {"name": "search", "description": "Search the web."}}
TOOLS = [WEATHER, TIME, SEARCH]


def allowed(mode: str, *names: str) -> dict[str, Any]:
    listed = [{"type": "function", "function": {"name": name}} for name in names]
    return {"type": "allowed_tools", "allowed_tools": {"mode": mode, "tools": listed}}


def decoded(tool_choice: Any, tools: Any = TOOLS) -> ChatRequest:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": "hi"}], "tool_choice": tool_choice}
    if tools is not None:
        body["tools"] = tools
    return decode_chat(json.dumps(body).encode())


def plain(request: ChatRequest) -> tuple[list[str] | None, Any]:
    return ([t.function.name for t in request.tools] if request.tools else None), request.tool_choice


# --- made plain -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (allowed("required", "search", "get_weather"), (["get_weather", "search"], "required")),  # request order
        (allowed("auto", "get_time"), (["get_time"], "auto")),
        (
            {
                "type": "allowed_tools",
                "allowed_tools": {"mode": "required", "tools": [{"type": "custom", "custom": {"name": "search"}}]},
            },
            (["search"], "required"),
        ),
        (
            {"type": "custom", "custom": {"name": "get_time"}},
            (["get_weather", "get_time", "search"], {"type": "function", "function": {"name": "get_time"}}),
        ),
        # Choices that were plain already stay as they came.
        ("required", (["get_weather", "get_time", "search"], "required")),
        (
            {"type": "function", "function": {"name": "search"}},
            (["get_weather", "get_time", "search"], {"type": "function", "function": {"name": "search"}}),
        ),
    ],
    ids=["required", "auto", "custom-entry", "custom", "plain-required", "plain-named"],
)
def test_the_choice_is_made_plain(choice: Any, expected: Any) -> None:
    assert plain(decoded(choice)) == expected


def test_anthropic_is_sent_only_the_allowed_tools_and_any() -> None:
    body = to_messages_body(decoded(allowed("required", "get_weather")), "claude-sonnet-4-5", default_max_tokens=64)
    assert [body["tools"], body["tool_choice"]] == [
        [{"name": "get_weather", "input_schema": {"type": "object"}}],
        {"type": "any"},
    ]


def test_anthropic_is_sent_a_custom_choice_as_its_tool() -> None:
    body = to_messages_body(
        decoded({"type": "custom", "custom": {"name": "get_time"}}), "claude-sonnet-4-5", default_max_tokens=64
    )
    assert body["tool_choice"] == {"type": "tool", "name": "get_time"}


@pytest.mark.parametrize(
    ("choice", "offered", "required"),
    [
        (allowed("required", "get_weather", "get_time"), ["get_weather", "get_time"], True),
        (allowed("auto", "get_weather"), ["get_weather"], False),
        ({"type": "custom", "custom": {"name": "get_time"}}, ["get_time"], True),
    ],
    ids=["required", "auto", "custom"],
)
def test_ollama_is_offered_only_the_allowed_tools_and_checks_a_required_call(
    choice: Any, offered: list[str], required: bool
) -> None:
    request = decoded(choice)
    _, sent = ollama.encode(request, "qwen", stream=False)
    names = [tool["function"]["name"] for tool in json.loads(sent)["tools"]]
    assert (names, ollama.tool_call_required(request)) == (offered, required)


def test_an_openai_compatible_upstream_is_sent_the_plain_choice() -> None:
    sent = json.loads(chat_body(decoded(allowed("required", "search")), "gpt-4.1", stream=False))
    assert [sent["tools"], sent["tool_choice"]] == [[SEARCH], "required"]


# --- refused ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "tools", "param", "message", "code"),
    [
        (
            allowed("required", "get_weather", "get_forecast"),
            TOOLS,
            "tool_choice.allowed_tools.tools[1]",
            "`tool_choice.allowed_tools.tools[1]` names `get_forecast`, which `tools` does not declare"
            " (it declares get_weather, get_time, search)",
            "invalid_value",
        ),
        (
            allowed("auto", "get_weather"),
            None,
            "tool_choice.allowed_tools.tools[0]",
            "`tool_choice.allowed_tools.tools[0]` names `get_weather`, which `tools` does not declare"
            " (the request has no `tools`)",
            "invalid_value",
        ),
        (
            {"type": "custom", "custom": {"name": "apply_patch"}},
            TOOLS,
            "tool_choice",
            "`tool_choice` names the custom tool `apply_patch`: chat tools are function tools, and `tools` declares"
            " no function `apply_patch` (it declares get_weather, get_time, search)",
            "invalid_value",
        ),
        (
            {"type": "custom", "custom": {}},
            TOOLS,
            "tool_choice.custom.name",
            "`tool_choice.custom.name` must be the name of one of `tools`",
            "invalid_value",
        ),
        (
            {"type": "custom", "name": "get_time"},  # the Responses shape, on the chat endpoint
            TOOLS,
            "tool_choice.custom.name",
            "`tool_choice.custom.name` must be the name of one of `tools`",
            "invalid_value",
        ),
        (
            {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "get_time"}]},
            TOOLS,
            "tool_choice.allowed_tools",
            "`tool_choice.allowed_tools` must be an object with `mode` and `tools`, got missing",
            "invalid_type",
        ),
        (
            allowed("none", "get_time"),
            TOOLS,
            "tool_choice.allowed_tools.mode",
            "`tool_choice.allowed_tools.mode` must be auto or required, got 'none'",
            "invalid_value",
        ),
        (
            {"type": "allowed_tools", "allowed_tools": {"tools": [TIME]}},
            TOOLS,
            "tool_choice.allowed_tools.mode",
            "`tool_choice.allowed_tools.mode` must be auto or required, got missing",
            "invalid_value",
        ),
        (
            allowed("required"),
            TOOLS,
            "tool_choice.allowed_tools.tools",
            "`tool_choice.allowed_tools.tools` must list the tools the model may call, got an empty array",
            "invalid_value",
        ),
        (
            {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": "get_time"}},
            TOOLS,
            "tool_choice.allowed_tools.tools",
            "`tool_choice.allowed_tools.tools` must list the tools the model may call, got a string",
            "invalid_type",
        ),
        (
            {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": ["get_time"]}},
            TOOLS,
            "tool_choice.allowed_tools.tools[0]",
            "`tool_choice.allowed_tools.tools[0]` must be an object, got a string",
            "invalid_type",
        ),
        (
            {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": [{"type": "web_search"}]}},
            TOOLS,
            "tool_choice.allowed_tools.tools[0].type",
            "`tool_choice.allowed_tools.tools[0].type` must be function or custom, got 'web_search'",
            "invalid_value",
        ),
        (
            {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": [{"type": "function", "name": "x"}]}},
            TOOLS,
            "tool_choice.allowed_tools.tools[0].function.name",
            "`tool_choice.allowed_tools.tools[0].function.name` must be the name of one of `tools`",
            "invalid_value",
        ),
    ],
    ids=[
        "unknown-tool",
        "no-tools",
        "custom-unknown",
        "custom-no-name",
        "custom-flat",
        "responses-shape",
        "mode-none",
        "mode-missing",
        "tools-empty",
        "tools-not-array",
        "entry-not-object",
        "entry-hosted",
        "entry-flat",
    ],
)
def test_a_bad_choice_is_a_400_naming_the_field(choice: Any, tools: Any, param: str, message: str, code: str) -> None:
    with pytest.raises(RequestError) as caught:
        decoded(choice, tools)
    assert (caught.value.status, caught.value.param, str(caught.value), caught.value.code) == (
        400,
        param,
        message,
        code,
    )
