"""What reaches each upstream, through the real gateway with the openai SDK: Ollama's ``num_ctx``, ``think``,
forced tool and penalties; tool-call ``arguments`` always present; context-window refusals and image URLs
that fall back; fields tiergate cannot honour refused with a 400 naming them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.scripts import Status, Text, ToolCalls
from tests.helpers import THREE_BACKENDS

ROUTES = (
    THREE_BACKENDS
    + """tiers:
  local:
    targets: [{backend: ollama, model: qwen, capabilities: {vision: true, context_window: 32768, thinking: true}}]
  plain: {targets: [{backend: ollama, model: plain, capabilities: {context_window: 4096}}]}
  sonnet: {targets: [{backend: anthropic, model: claude-sonnet-4-5, capabilities: {context_window: 200000}}]}
  vllm: {targets: [{backend: vllm, model: m3, capabilities: {vision: true, context_window: 32768}}]}
  solo: {targets: [{backend: vllm, model: m3s, capabilities: {context_window: 32768}}]}
  eyes:
    targets:
      - {backend: ollama, model: llava, capabilities: {vision: true}}
      - {backend: vllm, model: m3v, capabilities: {vision: true}}
fallbacks: {vllm: [local]}
"""
)
TOOLS: list[Any] = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},
    {"type": "function", "function": {"name": "delete_file", "parameters": {"type": "object"}}},
]
NOW_TOOL: list[Any] = [{"type": "function", "function": {"name": "now", "parameters": {"type": "object"}}}]
HI: list[Any] = [{"role": "user", "content": "hi"}]
IMAGE: list[Any] = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": "https://example.test/cat.png"}},
        ],
    }
]


@pytest.fixture
def client(
    tmp_path: Path, gateway_for: GatewayFactory, upstream_env: dict[str, str], fake_openai: FakeOpenAI
) -> Iterator[openai.OpenAI]:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    url = gateway_for(routes, {**upstream_env, "VLLM_URL": fake_openai.url})  # type: ignore[attr-defined]
    with openai.OpenAI(base_url=url + "/v1", api_key="sk-client-unused", max_retries=0, timeout=30) as sdk:
        yield sdk


# --- 1. Ollama runs the model with the target's context window ------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_ollama_gets_the_targets_context_window_as_num_ctx(
    client: openai.OpenAI, fake_ollama: FakeOllama, stream: bool
) -> None:
    fake_ollama.replies.append(Text("ok", chunks=1))
    answer = client.chat.completions.create(model="local", messages=HI, stream=stream)
    if stream:
        list(answer)  # type: ignore[arg-type]
    assert fake_ollama.requests[0].body["options"] == {"num_ctx": 32768}
    fake_ollama.replies.append(Text("ok", chunks=1))
    client.chat.completions.create(model="plain", messages=HI, temperature=0.2)
    assert fake_ollama.requests[1].body["options"] == {"temperature": 0.2, "num_ctx": 4096}


# --- 2. a tool call always carries its arguments ------------------------------------------------------------


def test_a_tool_call_with_empty_arguments_reaches_an_openai_server_with_an_empty_object(
    client: openai.OpenAI, fake_openai: FakeOpenAI
) -> None:
    fake_openai.replies.append(Text("It is noon."))
    client.chat.completions.create(
        model="vllm",
        tools=NOW_TOOL,
        messages=[
            {"role": "user", "content": "what time is it?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "now", "arguments": ""}}],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "12:00"},
        ],
    )
    assert fake_openai.requests[0].body["messages"][1]["tool_calls"] == [
        {"id": "call_1", "function": {"name": "now", "arguments": "{}"}, "type": "function"}
    ]


def test_a_streamed_claude_call_of_a_tool_without_arguments_has_an_empty_object(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.replies.append(ToolCalls([("now", {})]))
    arguments = ""
    for chunk in client.chat.completions.create(model="sonnet", messages=HI, tools=NOW_TOOL, stream=True):
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            arguments += (call.function.arguments or "") if call.function else ""
    assert arguments == "{}"


# --- 3. a prompt over an upstream's context window falls back -------------------------------------------------

VLLM_TOO_LONG = "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens."
LLAMA_CPP_TOO_LONG = "the request exceeds the available context size, try increasing it"


@pytest.mark.parametrize("message", [VLLM_TOO_LONG, LLAMA_CPP_TOO_LONG])
def test_a_context_window_refusal_falls_back_to_the_next_tier(
    client: openai.OpenAI, fake_openai: FakeOpenAI, fake_ollama: FakeOllama, message: str
) -> None:
    fake_openai.replies.append(Status(400, message))
    fake_ollama.replies.append(Text("rescued", chunks=1))
    raw = client.chat.completions.with_raw_response.create(model="vllm", messages=HI)
    assert raw.parse().choices[0].message.content == "rescued"
    assert raw.headers["x-tiergate-attempts"] == "vllm/m3:capability, local/qwen:ok"
    assert len(fake_openai.requests) == 1  # no retry on the same target


def test_with_no_fallback_left_the_client_gets_the_upstreams_400(
    client: openai.OpenAI, fake_openai: FakeOpenAI
) -> None:
    fake_openai.replies.append(Status(400, LLAMA_CPP_TOO_LONG))
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="solo", messages=HI)
    url = fake_openai.url  # type: ignore[attr-defined]
    assert caught.value.body == {
        # llama.cpp says no figures: OpenAI's words without them open the message, as LiteLLM (aider) reads them
        "message": "This model's maximum context length is less than the tokens of this request."
        f" (backend 'vllm' at {url}/v1: HTTP 400: {LLAMA_CPP_TOO_LONG})",
        "type": "invalid_request_error",
        "param": None,
        "code": "context_length_exceeded",
    }


def test_claudes_prompt_is_too_long_falls_back_to_the_next_tier(gateway: str, fake_anthropic: FakeAnthropic) -> None:
    """The repository's routes.yaml falls back from opus to sonnet."""
    fake_anthropic.replies.extend([Status(400, "prompt is too long: 250000 tokens > 200000 maximum"), Text("ok")])
    with openai.OpenAI(base_url=gateway + "/v1", api_key="unused", max_retries=0, timeout=30) as sdk:
        raw = sdk.chat.completions.with_raw_response.create(model="opus", messages=HI)
    assert raw.parse().choices[0].message.content == "ok"
    assert raw.headers["x-tiergate-attempts"].startswith("opus/")
    assert raw.headers["x-tiergate-attempts"].split(", ")[0].endswith(":capability")
    assert raw.headers["x-tiergate-attempts"].split(", ")[1].startswith("sonnet/")
    assert len(fake_anthropic.requests) == 2


# --- 4. a forced tool on Ollama -------------------------------------------------------------------------------


def test_a_named_tool_choice_offers_ollama_only_that_tool(client: openai.OpenAI, fake_ollama: FakeOllama) -> None:
    fake_ollama.replies.append(ToolCalls([("get_weather", {"city": "Paris"})]))
    client.chat.completions.create(
        model="local",
        messages=HI,
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    assert fake_ollama.requests[0].body["tools"] == [TOOLS[0]]


# --- 5. reasoning_effort is Ollama's think, where the target thinks ---------------------------------------------


@pytest.mark.parametrize(("effort", "think"), [("high", True), ("low", True), ("minimal", False), ("none", False)])
def test_reasoning_effort_is_ollamas_think(
    client: openai.OpenAI, fake_ollama: FakeOllama, effort: Any, think: bool
) -> None:
    fake_ollama.replies.extend([Text("ok", chunks=1), Text("ok", chunks=1)])
    client.chat.completions.create(model="local", messages=HI, reasoning_effort=effort)
    client.chat.completions.create(model="plain", messages=HI, reasoning_effort=effort)
    assert fake_ollama.requests[0].body["think"] is think
    assert "think" not in fake_ollama.requests[1].body  # the target declares no thinking


# --- 6. an image URL falls back from Ollama, which cannot fetch it -----------------------------------------------


def test_an_image_url_falls_back_from_ollama_without_a_call(
    client: openai.OpenAI, fake_ollama: FakeOllama, fake_openai: FakeOpenAI
) -> None:
    fake_openai.replies.append(Text("a cat"))
    raw = client.chat.completions.with_raw_response.create(model="eyes", messages=IMAGE)
    assert raw.parse().choices[0].message.content == "a cat"
    assert raw.headers["x-tiergate-attempts"] == "eyes/llava:capability, eyes/m3v:ok"
    assert not fake_ollama.requests
    assert fake_openai.requests[0].body["messages"] == IMAGE


def test_an_image_url_with_no_target_left_is_a_400_naming_the_image(
    client: openai.OpenAI, fake_ollama: FakeOllama
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="local", messages=IMAGE)
    ollama = fake_ollama.url  # type: ignore[attr-defined]
    assert caught.value.response.json() == {
        "error": {
            "message": f"backend 'ollama' at {ollama}: messages[0].content: an image by URL, which Ollama cannot "
            "fetch (it takes only data: URL images)",
            "type": "invalid_request_error",
            "param": "messages[0].content",
            "code": None,
        }
    }
    assert not fake_ollama.requests


# --- 7. penalties reach the upstreams that take them; log probabilities are refused ------------------------------


def test_penalties_reach_openai_servers_and_ollama(
    client: openai.OpenAI, fake_openai: FakeOpenAI, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic
) -> None:
    fake_openai.replies.append(Text("ok"))
    fake_ollama.replies.append(Text("ok", chunks=1))
    fake_anthropic.replies.append(Text("ok"))
    for model in ("vllm", "local", "sonnet"):
        client.chat.completions.create(model=model, messages=HI, presence_penalty=0.5, frequency_penalty=0.3)
    sent = fake_openai.requests[0].body
    assert (sent["presence_penalty"], sent["frequency_penalty"]) == (0.5, 0.3)
    options = fake_ollama.requests[0].body["options"]
    assert options == {"presence_penalty": 0.5, "frequency_penalty": 0.3, "num_ctx": 32768}
    claude = fake_anthropic.requests[0].body  # the Messages API has no penalties: left out, as `seed` is
    assert "presence_penalty" not in claude and "frequency_penalty" not in claude


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"logprobs": True}, "logprobs"),
        ({"logprobs": True, "top_logprobs": 2}, "logprobs"),
        ({"logit_bias": {"50256": -100}}, "logit_bias"),
    ],
)
def test_log_probabilities_and_logit_bias_are_refused_naming_the_field(
    client: openai.OpenAI, fake_openai: FakeOpenAI, fields: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="vllm", messages=HI, **fields)
    body = caught.value.body
    assert isinstance(body, dict) and (body["param"], body["code"]) == (param, "unsupported_value")
    assert body["message"].startswith(f"`{param}` is set: ")
    assert not fake_openai.requests
