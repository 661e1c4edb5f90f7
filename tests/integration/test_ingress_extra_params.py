"""What of a Responses or Messages body a target is not sent, through the real gateway with the official SDKs'
``extra_body`` and fake upstreams recording what they were sent: a local server's sampling extras reach the
servers that take them as a chat body's do (as sent, or as Ollama's ``options``), what a target is not sent is
named in ``x-tiergate-dropped-params`` and the request's log line, and a Responses body's hosted tools, which
no target is offered, are named there too."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.scripts import Text
from tests.helpers import THREE_BACKENDS, wait_for_record

ROUTES = (
    THREE_BACKENDS
    + """tiers:
  local: {targets: [{backend: ollama, model: qwen, capabilities: {tools: true, context_window: 32768}}]}
  sonnet:
    targets: [{backend: anthropic, model: claude-sonnet-4-5, capabilities: {tools: true, context_window: 200000}}]
  vllm: {targets: [{backend: vllm, model: m3, capabilities: {tools: true, context_window: 32768}}]}
"""
)
#: A local server's sampling extras, and what a proxy behind a backend reads as which model answers.
EXTRAS = {"min_p": 0.05, "repetition_penalty": 1.1, "fallbacks": ["gpt-5-pro"]}
DROPPED = "x-tiergate-dropped-params"
WEATHER = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}
HOSTED: list[Any] = [
    {"type": "web_search"},
    WEATHER,
    {"type": "mcp", "server_label": "gh", "server_url": "https://mcp.example/sse", "require_approval": "never"},
    {"type": "file_search", "vector_store_ids": ["vs_1"]},
    {"type": "web_search"},
]


@pytest.fixture
def url(tmp_path: Path, gateway_for: GatewayFactory, upstream_env: dict[str, str], fake_openai: FakeOpenAI) -> str:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    return gateway_for(routes, {**upstream_env, "VLLM_URL": fake_openai.url})  # type: ignore[attr-defined]


@pytest.fixture
def client(url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=url + "/v1", api_key="sk-client-unused", max_retries=0, timeout=30) as sdk:
        yield sdk


@pytest.fixture
def messages(url: str) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=url, api_key="sk-client-unused", max_retries=0, timeout=30) as sdk:
        yield sdk


# --- Responses --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_a_responses_bodys_sampling_extras_reach_an_openai_compatible_server_as_a_chat_bodys_do(
    client: openai.OpenAI, fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture, stream: bool
) -> None:
    """The README's openai SDK row says ``extra_body={"min_p": ...}`` works on Responses: it reached no
    upstream, and no header said so."""
    caplog.set_level(logging.INFO, logger="tiergate.requests")
    fake_openai.replies.append(Text("ok"))
    raw = client.responses.with_raw_response.create(
        model="vllm", input="hi", stream=stream, prompt_cache_key="conv-1", extra_body=EXTRAS
    )
    if stream:
        list(raw.parse())  # type: ignore[call-overload]
    assert raw.headers[DROPPED] == "fallbacks"
    sent = fake_openai.requests[0].body
    assert (sent["min_p"], sent["repetition_penalty"]) == (0.05, 1.1)
    assert "fallbacks" not in sent and "prompt_cache_key" not in sent
    assert wait_for_record(caplog, raw.headers["x-tiergate-decision-id"])["dropped_params"] == ["fallbacks"]


def test_a_responses_bodys_sampling_extras_reach_ollama_as_options(
    client: openai.OpenAI, fake_ollama: FakeOllama
) -> None:
    fake_ollama.replies.append(Text("ok", chunks=1))
    raw = client.responses.with_raw_response.create(model="local", input="hi", extra_body=EXTRAS)
    assert raw.headers[DROPPED] == "fallbacks"
    assert fake_ollama.requests[0].body["options"] == {"num_ctx": 32768, "min_p": 0.05, "repeat_penalty": 1.1}


def test_claude_is_sent_no_extra_of_a_responses_body_and_each_is_named(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.replies.append(Text("ok"))
    raw = client.responses.with_raw_response.create(model="sonnet", input="hi", extra_body=EXTRAS)
    assert raw.headers[DROPPED] == "min_p, repetition_penalty, fallbacks"
    assert not {"min_p", "repetition_penalty", "fallbacks"} & set(fake_anthropic.requests[0].body)


@pytest.mark.parametrize("tier", ["local", "sonnet"])
def test_hosted_tools_no_target_is_offered_are_named_and_the_response_echoes_the_request(
    client: openai.OpenAI,
    fake_ollama: FakeOllama,
    fake_anthropic: FakeAnthropic,
    caplog: pytest.LogCaptureFixture,
    tier: str,
) -> None:
    """Only OpenAI runs hosted tools (Codex sends ``web_search`` always): the model is offered the function
    tools alone. The answer was a plain 200 with nothing to say the search never ran, and a Response whose
    ``tools`` listed it; it still lists what the request declared, as OpenAI's Response echoes the request,
    and the header and the log line name each hosted tool once, by its list and its type."""
    caplog.set_level(logging.INFO, logger="tiergate.requests")
    fake_ollama.replies.append(Text("ok", chunks=1))
    fake_anthropic.replies.append(Text("ok"))
    additional = {"type": "additional_tools", "tools": [{"type": "code_interpreter", "container": {"type": "auto"}}]}
    raw = client.responses.with_raw_response.create(
        model=tier,
        input=[{"role": "user", "content": "search my docs"}, additional],  # type: ignore[list-item]
        tools=HOSTED,
        tool_choice="auto",
    )
    named = ["tools[web_search]", "tools[mcp]", "tools[file_search]", "input[1].tools[code_interpreter]"]
    assert raw.headers[DROPPED] == ", ".join(named)
    assert wait_for_record(caplog, raw.headers["x-tiergate-decision-id"])["dropped_params"] == named
    sent = (fake_ollama if tier == "local" else fake_anthropic).requests[0].body
    names = [t["function"]["name"] if tier == "local" else t["name"] for t in sent["tools"]]
    assert names == ["get_weather"]
    echoed = ["web_search", "function", "mcp", "file_search", "web_search", "code_interpreter"]
    assert [tool.type for tool in raw.parse().tools] == echoed


@pytest.mark.parametrize(("tier", "named"), [("local", True), ("sonnet", True), ("vllm", False)])
def test_a_strict_tool_is_named_where_the_target_is_sent_it_without_strict(
    client: openai.OpenAI,
    fake_ollama: FakeOllama,
    fake_anthropic: FakeAnthropic,
    fake_openai: FakeOpenAI,
    tier: str,
    named: bool,
) -> None:
    """``strict: true`` asks for arguments that match the schema exactly: Claude translated and Ollama are sent
    the tool without it, which was named nowhere; an OpenAI-compatible server gets it as sent."""
    for fake in (fake_ollama, fake_anthropic, fake_openai):
        fake.replies.append(Text("ok", chunks=1))
    strict = {**WEATHER, "strict": True}
    raw = client.responses.with_raw_response.create(model=tier, input="hi", tools=[strict])  # type: ignore[list-item]
    assert raw.headers.get(DROPPED) == ("tools[].strict" if named else None)
    if tier == "vllm":
        assert fake_openai.requests[0].body["tools"][0]["function"]["strict"] is True


def test_a_messages_strict_tool_is_named_where_a_local_model_answers(
    messages: anthropic.Anthropic, fake_ollama: FakeOllama
) -> None:
    """A Messages tool's ``strict`` was not read at all: a local model got the tool without it, named nowhere."""
    fake_ollama.replies.append(Text("ok", chunks=1))
    tool = {"name": "get_weather", "input_schema": {"type": "object", "properties": {}}, "strict": True}
    raw = messages.messages.with_raw_response.create(
        model="local",
        max_tokens=64,
        messages=[{"role": "user", "content": "hi"}],
        tools=[tool],  # type: ignore[list-item]
    )
    assert raw.headers[DROPPED] == "tools[].strict"


def test_function_tools_alone_name_nothing(client: openai.OpenAI, fake_ollama: FakeOllama) -> None:
    fake_ollama.replies.append(Text("ok", chunks=1))
    raw = client.responses.with_raw_response.create(model="local", input="hi", tools=[WEATHER])  # type: ignore[list-item]
    assert DROPPED not in raw.headers


# --- Messages ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_a_messages_bodys_sampling_extras_reach_an_openai_compatible_server_as_a_chat_bodys_do(
    messages: anthropic.Anthropic, fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture, stream: bool
) -> None:
    caplog.set_level(logging.INFO, logger="tiergate.requests")
    fake_openai.replies.append(Text("ok"))
    raw = messages.messages.with_raw_response.create(
        model="vllm",
        max_tokens=20,
        messages=[{"role": "user", "content": "hi"}],
        stream=stream,
        extra_body=EXTRAS,
    )
    if stream:
        list(raw.parse())  # type: ignore[call-overload]
    assert raw.headers[DROPPED] == "fallbacks"
    sent = fake_openai.requests[0].body
    assert (sent["min_p"], sent["repetition_penalty"]) == (0.05, 1.1) and "fallbacks" not in sent
    assert wait_for_record(caplog, raw.headers["x-tiergate-decision-id"])["dropped_params"] == ["fallbacks"]


def test_a_messages_bodys_sampling_extras_reach_ollama_as_options(
    messages: anthropic.Anthropic, fake_ollama: FakeOllama
) -> None:
    fake_ollama.replies.append(Text("ok", chunks=1))
    raw = messages.messages.with_raw_response.create(
        model="local", max_tokens=20, messages=[{"role": "user", "content": "hi"}], extra_body=EXTRAS
    )
    assert raw.headers[DROPPED] == "fallbacks"
    options = fake_ollama.requests[0].body["options"]
    assert (options["min_p"], options["repeat_penalty"]) == (0.05, 1.1)


def test_claude_gets_the_fields_tiergate_does_not_read_in_the_clients_own_body_and_nothing_is_named(
    messages: anthropic.Anthropic, fake_anthropic: FakeAnthropic, fake_ollama: FakeOllama
) -> None:
    """An Anthropic target is sent the client's own body, only ``model`` changed: nothing of it is left out. A
    local target is sent none of the Messages API's fields that tiergate does not translate, and each is named."""
    fake_anthropic.replies.append(Text("ok"))
    fake_ollama.replies.append(Text("ok", chunks=1))
    anthropics = {"service_tier": "auto"}
    for model in ("sonnet", "local"):
        raw = messages.messages.with_raw_response.create(
            model=model, max_tokens=20, messages=[{"role": "user", "content": "hi"}], extra_body=anthropics
        )
        assert raw.headers.get(DROPPED) == (None if model == "sonnet" else "service_tier")
    sent = fake_anthropic.requests[0].body
    assert sent["service_tier"] == "auto"
    assert not set(anthropics) & set(fake_ollama.requests[0].body)
