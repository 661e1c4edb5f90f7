"""A forced tool call, from an upstream that may not keep to ``tool_choice``: Ollama has none, and an
OpenAI-compatible server is sent it but need not honour it. Claude and OpenAI call only the tool a
``tool_choice`` names, so a call to another tool is the forced call missing (``tool_call_missing``, as for an
answer with no call): refused before any byte reaches the client, the request falls back, and with nowhere to
go the client gets a 502 saying why. A call to a tool the request never declared, under ``auto`` or
``required``, reaches the client as the upstream sent it: an agent client answers it as a tool it does not
have, and the model corrects itself. The real gateway, the fake Ollama, OpenAI-compatible server and
Anthropic, the openai and anthropic SDKs.
"""

from __future__ import annotations

import json
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
from tests.fakes.scripts import Text, ToolCalls

ROUTES = """
version: 1
backends:
  ollama: {kind: ollama, base_url: "${OLLAMA_HOST}"}
  llamacpp: {kind: openai, base_url: "${OPENAI_URL}/v1"}
  anthropic: {kind: anthropic, base_url: "${ANTHROPIC_BASE_URL}", api_key_env: ANTHROPIC_API_KEY}
tiers:
  local: {targets: [{backend: ollama, model: qwen}]}
  llama: {targets: [{backend: llamacpp, model: llama}]}
  sonnet: {targets: [{backend: anthropic, model: claude-sonnet-4-5}]}
  solo: {targets: [{backend: ollama, model: qwen-solo}]}
  llama_solo: {targets: [{backend: llamacpp, model: llama-solo}]}
fallbacks: {local: [sonnet], llama: [sonnet]}
"""
OBJECT: Any = {"type": "object", "properties": {"city": {"type": "string"}}}
TOOLS: Any = [{"type": "function", "function": {"name": n, "parameters": OBJECT}} for n in ("get_weather", "get_time")]
MESSAGES_TOOLS: Any = [{"name": n, "input_schema": OBJECT} for n in ("get_weather", "get_time")]
RESPONSES_TOOLS: Any = [{"type": "function", "name": n, "parameters": OBJECT} for n in ("get_weather", "get_time")]
NAMED: Any = {"type": "function", "function": {"name": "get_weather"}}
ASK: Any = [{"role": "user", "content": "weather in Paris?"}]
PARIS = ("get_weather", {"city": "Paris"})
FALLBACKS = {"local": "local/qwen", "llama": "llama/llama"}


@pytest.fixture(name="gateway")
def fixture_gateway(
    tmp_path: Path, gateway_for: GatewayFactory, upstream_env: dict[str, str], fake_openai: FakeOpenAI
) -> str:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    return gateway_for(routes, {**upstream_env, "OPENAI_URL": fake_openai.url})  # type: ignore[attr-defined]


@pytest.fixture(name="client")
def fixture_client(gateway: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gateway + "/v1", api_key="sk-client-unused", max_retries=0, timeout=30) as sdk:
        yield sdk


@pytest.fixture
def claude(gateway: str) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=gateway, api_key="sk-ant-client-unused", max_retries=0, timeout=30) as sdk:
        yield sdk


def upstream(tier: str, fake_ollama: FakeOllama, fake_openai: FakeOpenAI) -> FakeOllama | FakeOpenAI:
    return fake_openai if tier.startswith("llama") else fake_ollama


def chat(client: openai.OpenAI, model: str, stream: bool, **fields: Any) -> tuple[list[str], str, dict[str, str]]:
    """The names the answer calls, the model that answered, and the response headers; streamed or whole."""
    if not stream:
        raw = client.chat.completions.with_raw_response.create(model=model, messages=ASK, tools=TOOLS, **fields)
        completion = raw.parse()
        calls = completion.choices[0].message.tool_calls or []
        return [c.function.name for c in calls], completion.model, dict(raw.headers)  # type: ignore[union-attr]
    with client.chat.completions.with_streaming_response.create(
        model=model, messages=ASK, tools=TOOLS, stream=True, **fields
    ) as response:
        chunks = list(response.parse())
        headers = dict(response.headers)
    names = [
        call.function.name
        for chunk in chunks
        if chunk.choices
        for call in chunk.choices[0].delta.tool_calls or []
        if call.function and call.function.name
    ]
    return names, chunks[0].model, headers


def answer(client: openai.OpenAI, model: str, stream: bool, **fields: Any) -> tuple[str, list[tuple[str, Any]], str]:
    """The answer's text, its calls (name, arguments decoded) and the model that answered; streamed or whole."""
    if not stream:
        completion = client.chat.completions.create(model=model, messages=ASK, tools=TOOLS, **fields)
        message = completion.choices[0].message
        made = [(c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []]  # type: ignore[union-attr]
        return message.content or "", made, completion.model
    chunks = list(client.chat.completions.create(model=model, messages=ASK, tools=TOOLS, stream=True, **fields))
    text, names, arguments = "", dict[int, str](), dict[int, str]()
    for chunk in chunks:
        delta = chunk.choices[0].delta if chunk.choices else None
        text += (delta.content or "") if delta else ""
        for call in (delta.tool_calls or []) if delta else []:
            if call.function and call.function.name:
                names[call.index] = call.function.name
            arguments[call.index] = arguments.get(call.index, "") + ((call.function and call.function.arguments) or "")
    return text, [(names[i], json.loads(arguments[i])) for i in sorted(names)], chunks[0].model


# --- a call to another tool than the one named: refused, as a missing call is ---------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("called", ["get_time", "not_declared"])
@pytest.mark.parametrize("tier", ["local", "llama"])
def test_a_call_to_another_tool_than_the_named_one_falls_back_to_claude(
    client: openai.OpenAI,
    fake_ollama: FakeOllama,
    fake_openai: FakeOpenAI,
    fake_anthropic: FakeAnthropic,
    tier: str,
    called: str,
    stream: bool,
) -> None:
    """What the model said before the call is held with it, so nothing reached the client: it falls back."""
    upstream(tier, fake_ollama, fake_openai).replies.append(ToolCalls([(called, {})], text="Let me check."))
    fake_anthropic.replies.append(ToolCalls([PARIS]))
    names, model, headers = chat(client, tier, stream, tool_choice=NAMED)
    assert (names, model) == (["get_weather"], "claude-sonnet-4-5")
    assert headers["x-tiergate-attempts"] == f"{FALLBACKS[tier]}:capability, sonnet/claude-sonnet-4-5:ok"


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_messages_client_forcing_a_tool_gets_that_tool(
    claude: anthropic.Anthropic, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, stream: bool
) -> None:
    fake_ollama.replies.append(ToolCalls([("get_time", {})], text="Let me check the time."))
    fake_anthropic.replies.append(ToolCalls([PARIS]))
    fields: Any = {"max_tokens": 256, "tools": MESSAGES_TOOLS, "tool_choice": {"type": "tool", "name": "get_weather"}}
    if stream:
        with claude.messages.stream(model="local", messages=ASK, **fields) as events:
            message = events.get_final_message()
    else:
        message = claude.messages.create(model="local", messages=ASK, **fields)
    assert [(b.type, getattr(b, "name", None)) for b in message.content] == [("tool_use", "get_weather")]
    assert message.model == "claude-sonnet-4-5"


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_responses_client_naming_a_function_gets_that_function(
    client: openai.OpenAI, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, stream: bool
) -> None:
    fake_ollama.replies.append(ToolCalls([("get_time", {})]))
    fake_anthropic.replies.append(ToolCalls([PARIS]))
    fields: Any = {
        "model": "local",
        "input": "weather in Paris?",
        "tools": RESPONSES_TOOLS,
        "tool_choice": {"type": "function", "name": "get_weather"},
    }
    if stream:
        with client.responses.stream(**fields) as events:
            response = events.get_final_response()
    else:
        response = client.responses.create(**fields)
    assert [(item.type, getattr(item, "name", None)) for item in response.output] == [("function_call", "get_weather")]
    assert response.model == "claude-sonnet-4-5"


def test_another_tool_called_after_the_named_one_reached_the_client_ends_the_stream_in_an_error(
    client: openai.OpenAI, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic
) -> None:
    """A server streams parallel calls one after the other: the text and the named call had reached the client,
    so the stream is the client's and cannot fall back, though the tier has a fallback; it ends in the
    dialect's error event, never as a whole answer."""
    fake_openai.replies.append(ToolCalls([PARIS, ("get_time", {})], text="Let me check."))
    with pytest.raises(openai.APIError, match="the model called `get_time`, not `get_weather`"):
        chat(client, "llama", True, tool_choice=NAMED)
    assert not fake_anthropic.requests


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("tier", ["local", "llama"])
def test_one_call_at_a_time_keeps_the_named_first_call_and_drops_the_others_unchecked(
    client: openai.OpenAI,
    claude: anthropic.Anthropic,
    fake_ollama: FakeOllama,
    fake_openai: FakeOpenAI,
    fake_anthropic: FakeAnthropic,
    tier: str,
    stream: bool,
) -> None:
    """With one call at a time the answer is its first call, the others dropped: a named first call is the
    answer the client asked for, whatever the server called after it (it was refused as a call to another
    tool, and fell back to Claude)."""
    server = upstream(tier, fake_ollama, fake_openai)
    server.replies.append(ToolCalls([PARIS, ("get_time", {})], text="Let me check."))
    model = {"local": "qwen", "llama": "llama"}[tier]
    got = answer(client, tier, stream, tool_choice=NAMED, parallel_tool_calls=False)
    assert got == ("Let me check.", [PARIS], model)
    server.replies.append(ToolCalls([PARIS, ("get_time", {})]))
    fields: Any = {"tool_choice": {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True}}
    request: Any = {"model": tier, "max_tokens": 64, "messages": ASK, "tools": MESSAGES_TOOLS, **fields}
    if stream:
        with claude.messages.stream(**request) as events:
            message = events.get_final_message()
    else:
        message = claude.messages.create(**request)
    assert [(b.type, getattr(b, "name", None), getattr(b, "input", None)) for b in message.content] == [
        ("tool_use", "get_weather", {"city": "Paris"})
    ]
    assert message.model == model and not fake_anthropic.requests


# --- a call to a tool the request never declared: the client's to answer, under auto and required --------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize(
    "calls",
    [[PARIS, ("read_file", {"path": "notes.txt"})], [("read_file", {"path": "notes.txt"})]],
    ids=["beside-a-declared-one", "alone"],
)
@pytest.mark.parametrize("choice", ["auto", "required", None])
@pytest.mark.parametrize("tier", ["local", "llama"])
def test_a_call_to_an_undeclared_tool_reaches_the_client_as_the_upstream_sent_it(
    client: openai.OpenAI,
    fake_ollama: FakeOllama,
    fake_openai: FakeOpenAI,
    fake_anthropic: FakeAnthropic,
    tier: str,
    choice: str | None,
    calls: list[tuple[str, Any]],
    stream: bool,
) -> None:
    """Claude Code answers an unknown name with "No such tool available" and the model corrects itself; a
    refusal would take from the client the calls it can run, and the text it may already have."""
    upstream(tier, fake_ollama, fake_openai).replies.append(ToolCalls(calls, text="Let me check."))
    fields = {} if choice is None else {"tool_choice": choice}
    model = {"local": "qwen", "llama": "llama"}[tier]
    assert answer(client, tier, stream, **fields) == ("Let me check.", calls, model)
    assert not fake_anthropic.requests


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("tier", ["local", "llama"])
def test_declared_calls_and_text_answers_under_auto_pass_as_they_came(
    client: openai.OpenAI,
    fake_ollama: FakeOllama,
    fake_openai: FakeOpenAI,
    fake_anthropic: FakeAnthropic,
    tier: str,
    stream: bool,
) -> None:
    upstream(tier, fake_ollama, fake_openai).replies.extend([ToolCalls([PARIS, ("get_time", {})]), Text("Sunny.")])
    model = {"local": "qwen", "llama": "llama"}[tier]
    assert chat(client, tier, stream, tool_choice="auto")[:2] == (["get_weather", "get_time"], model)
    assert chat(client, tier, stream)[:2] == ([], model)
    assert not fake_anthropic.requests


# --- an OpenAI-compatible server that ignores a required tool_choice ---------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("choice", ["required", NAMED], ids=["required", "named"])
def test_a_text_answer_from_a_server_that_ignores_tool_choice_falls_back(
    client: openai.OpenAI, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic, choice: Any, stream: bool
) -> None:
    """Ollama's own /v1 is sent tool_choice and ignores it: held and checked as Ollama's /api/chat is."""
    fake_openai.replies.append(Text("I think it is sunny in Paris."))
    fake_anthropic.replies.append(ToolCalls([PARIS]))
    names, model, headers = chat(client, "llama", stream, tool_choice=choice)
    assert (names, model) == (["get_weather"], "claude-sonnet-4-5")
    assert headers["x-tiergate-attempts"] == "llama/llama:capability, sonnet/claude-sonnet-4-5:ok"
    assert fake_openai.requests[0].body["tool_choice"] == choice


# --- nowhere to fall back: an error that says why ----------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("called", ["get_time", "run_shell"], ids=["declared", "undeclared"])
@pytest.mark.parametrize(
    ("tier", "why"), [("solo", "Ollama cannot force one"), ("llama_solo", "the server did not keep to it")]
)
def test_with_no_fallback_the_client_is_told_which_call_was_refused(
    client: openai.OpenAI,
    fake_ollama: FakeOllama,
    fake_openai: FakeOpenAI,
    tier: str,
    why: str,
    called: str,
    stream: bool,
) -> None:
    fake = upstream(tier, fake_ollama, fake_openai)
    fake.replies.append(ToolCalls([(called, {})]))
    with pytest.raises(openai.APIStatusError) as caught:
        chat(client, tier, stream, tool_choice=NAMED)
    backend = "llamacpp" if tier == "llama_solo" else "ollama"
    url = fake.url + "/v1" if tier == "llama_solo" else fake.url  # type: ignore[union-attr]
    assert caught.value.status_code == 502
    assert caught.value.response.json()["error"] == {
        "message": f"backend '{backend}' at {url}: the model called `{called}`, not `get_weather`, which tool_choice"
        f" names ({why})",
        "type": "upstream_error",
        "param": None,
        "code": "tool_call_missing",
    }
