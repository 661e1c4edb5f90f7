"""A local tier on OpenAI-compatible servers other than OpenAI (TGI, vLLM, llama-server, SGLang), as they
really answer: TGI's tool calls over every ingress, and their ids in a conversation that moves to Claude. The
official openai and anthropic SDKs → the real gateway → the fake OpenAI-compatible upstream (a Claude tier
behind it for fallbacks), over real sockets."""

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
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.scripts import Status, StreamError, Text, ToolCalls
from tests.helpers import THREE_BACKENDS

ROUTES = (
    THREE_BACKENDS
    + """tiers:
  local:
    targets: [{backend: vllm, model: small, capabilities: {tools: true, thinking: true, context_window: 8192}}]
  sonnet:
    targets: [{backend: anthropic, model: claude-sonnet-4-5, capabilities: {tools: true, context_window: 200000}}]
  solo: {targets: [{backend: vllm, model: solo, capabilities: {context_window: 8192}}]}
fallbacks: {local: [sonnet]}
"""
)
WEATHER: Any = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
}
CLAUDE_WEATHER: Any = {"name": "get_weather", "input_schema": WEATHER["function"]["parameters"]}
RESPONSES_WEATHER: Any = {"type": "function", "name": "get_weather", "parameters": WEATHER["function"]["parameters"]}
ASK: Any = [{"role": "user", "content": "weather in Paris?"}]
PARIS = ("get_weather", {"city": "Paris"})


@pytest.fixture
def gateway(tmp_path: Path, gateway_for: GatewayFactory, upstream_env: dict[str, str], fake_openai: FakeOpenAI) -> str:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    return gateway_for(routes, {**upstream_env, "VLLM_URL": fake_openai.url})  # type: ignore[attr-defined]


@pytest.fixture
def client(gateway: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gateway + "/v1", api_key="sk-client-unused", max_retries=0, timeout=30) as sdk:
        yield sdk


@pytest.fixture
def claude(gateway: str) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=gateway, api_key="sk-ant-client-unused", max_retries=0, timeout=30) as sdk:
        yield sdk


@pytest.fixture
def tgi(fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    monkeypatch.setattr(fake_openai, "calls", "tgi")
    return fake_openai


# --- TGI's streamed tool call: "id": "" on every piece ------------------------------------------------------


def test_a_tgi_streamed_tool_call_is_one_call_on_chat(client: openai.OpenAI, tgi: FakeOpenAI) -> None:
    tgi.replies.append(ToolCalls([PARIS]))
    calls: dict[int, dict[str, str]] = {}
    finish = None
    for chunk in client.chat.completions.create(model="local", messages=ASK, tools=[WEATHER], stream=True):
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for piece in choice.delta.tool_calls or []:
                call = calls.setdefault(piece.index, {"id": "", "name": "", "arguments": ""})
                call["id"] += piece.id or ""
                call["name"] += (piece.function.name or "") if piece.function else ""
                call["arguments"] += (piece.function.arguments or "") if piece.function else ""
    assert [(c["name"], json.loads(c["arguments"])) for c in calls.values()] == [PARIS]
    assert calls[0]["id"].startswith("call_") and finish == "tool_calls"


def test_a_tgi_streamed_tool_call_is_one_call_on_messages(claude: anthropic.Anthropic, tgi: FakeOpenAI) -> None:
    tgi.replies.append(ToolCalls([PARIS]))
    with claude.messages.stream(model="local", max_tokens=256, messages=ASK, tools=[CLAUDE_WEATHER]) as stream:
        message = stream.get_final_message()
    assert [(b.type, getattr(b, "name", None), getattr(b, "input", None)) for b in message.content] == [
        ("tool_use", *PARIS)
    ]
    assert message.stop_reason == "tool_use"


def test_a_tgi_streamed_tool_call_is_one_call_on_responses(client: openai.OpenAI, tgi: FakeOpenAI) -> None:
    tgi.replies.append(ToolCalls([PARIS]))
    with client.responses.stream(model="local", input="weather in Paris?", tools=[RESPONSES_WEATHER]) as stream:
        final = stream.get_final_response()
    assert [(item.type, getattr(item, "name", None)) for item in final.output] == [("function_call", "get_weather")]
    assert json.loads(final.output[0].arguments) == PARIS[1]  # type: ignore[union-attr]


# --- tool-call ids a server numbers per answer ---------------------------------------------------------------


def test_tgi_tool_call_ids_are_unique_and_claude_takes_the_conversation(
    claude: anthropic.Anthropic, tgi: FakeOpenAI, fake_anthropic: FakeAnthropic
) -> None:
    """TGI calls its first call "0" in every answer: passed on, two turns' calls had the same id, and Anthropic
    refused the history once the conversation went to a Claude tier."""
    tgi.replies.extend([ToolCalls([PARIS]), ToolCalls([("get_weather", {"city": "Rome"})])])
    fake_anthropic.replies.append(Text("Sunny in both."))
    history: list[Any] = [{"role": "user", "content": "weather in Paris, then Rome?"}]
    ids = []
    for _ in range(2):
        (call,) = claude.messages.create(
            model="local", max_tokens=256, messages=history, tools=[CLAUDE_WEATHER]
        ).content
        assert call.type == "tool_use"
        ids.append(call.id)
        history += [
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": call.id, "name": call.name, "input": call.input}],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}]},
        ]
    assert [t.body["messages"][-2]["tool_calls"][0]["id"] for t in tgi.requests[1:]] == ids[:1]
    answer = claude.messages.create(model="sonnet", max_tokens=256, messages=history, tools=[CLAUDE_WEATHER])
    assert answer.content[0].type == "text" and answer.content[0].text == "Sunny in both."
    assert len(set(ids)) == 2 and all(i.startswith("call_") and len(i) == 29 for i in ids)


# --- a server that gives the same id in every answer (call_fake0, vLLM's functions.get_weather:0) ---------------
# Handed on as it came, the second turn's call had the id of the first's, which the client already held:
# Claude Code read it as the old call and looped. Each test: two turns of one call each, both "call_fake0"
# from the server; the client's third turn sends both results back and gets the answer.

ROME = ("get_weather", {"city": "Rome"})
TWO_CITIES = "weather in Paris, then Rome?"


def _repeating(fake: FakeOpenAI) -> None:
    fake.replies.extend([ToolCalls([PARIS]), ToolCalls([ROME]), Text("Sunny in both.")])


def _assert_fresh_second_id(ids: list[str], fake: FakeOpenAI) -> None:
    assert ids[0] == "call_fake0"  # not in the conversation yet: kept
    assert ids[1] != "call_fake0" and ids[1].startswith("call_") and len(ids[1]) == 29
    sent = fake.requests[2].body["messages"]
    assert [m["tool_calls"][0]["id"] for m in sent if m.get("tool_calls")] == ids
    assert [m["tool_call_id"] for m in sent if m["role"] == "tool"] == ids


@pytest.mark.parametrize("stream", [False, True])
def test_a_repeated_server_id_is_replaced_on_messages(
    claude: anthropic.Anthropic, fake_openai: FakeOpenAI, stream: bool
) -> None:
    _repeating(fake_openai)
    history: list[Any] = [{"role": "user", "content": TWO_CITIES}]
    ids = []
    for city in ("Paris", "Rome"):
        ask: Any = {"model": "local", "max_tokens": 256, "messages": history, "tools": [CLAUDE_WEATHER]}
        if stream:
            with claude.messages.stream(**ask) as events:
                (call,) = events.get_final_message().content
        else:
            (call,) = claude.messages.create(**ask).content
        assert call.type == "tool_use" and call.input == {"city": city}
        ids.append(call.id)
        history += [
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": call.id, "name": call.name, "input": call.input}],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}]},
        ]
    answer = claude.messages.create(model="local", max_tokens=256, messages=history, tools=[CLAUDE_WEATHER])
    assert [(b.type, getattr(b, "text", None)) for b in answer.content] == [("text", "Sunny in both.")]
    _assert_fresh_second_id(ids, fake_openai)


@pytest.mark.parametrize("stream", [False, True])
def test_a_repeated_server_id_is_replaced_on_chat(client: openai.OpenAI, fake_openai: FakeOpenAI, stream: bool) -> None:
    _repeating(fake_openai)
    history: list[Any] = [{"role": "user", "content": TWO_CITIES}]
    ids = []
    for city in ("Paris", "Rome"):
        if stream:
            pieces: dict[int, dict[str, str]] = {}
            for chunk in client.chat.completions.create(model="local", messages=history, tools=[WEATHER], stream=True):
                for piece in (p for choice in chunk.choices for p in choice.delta.tool_calls or []):
                    call = pieces.setdefault(piece.index, {"id": "", "name": "", "arguments": ""})
                    call["id"] += piece.id or ""
                    call["name"] += (piece.function.name or "") if piece.function else ""
                    call["arguments"] += (piece.function.arguments or "") if piece.function else ""
            (got,) = pieces.values()
            id, name, arguments = got["id"], got["name"], got["arguments"]
        else:
            (whole,) = (
                client.chat.completions.create(model="local", messages=history, tools=[WEATHER])
                .choices[0]
                .message.tool_calls
                or []
            )
            assert whole.type == "function"
            id, name, arguments = whole.id, whole.function.name, whole.function.arguments
        assert (name, json.loads(arguments)) == ("get_weather", {"city": city})
        ids.append(id)
        history += [
            {
                "role": "assistant",
                "tool_calls": [{"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}],
            },
            {"role": "tool", "tool_call_id": id, "content": "sunny"},
        ]
    answer = client.chat.completions.create(model="local", messages=history, tools=[WEATHER])
    assert answer.choices[0].message.content == "Sunny in both."
    _assert_fresh_second_id(ids, fake_openai)


@pytest.mark.parametrize("stream", [False, True])
def test_a_repeated_server_id_is_replaced_on_responses(
    client: openai.OpenAI, fake_openai: FakeOpenAI, stream: bool
) -> None:
    _repeating(fake_openai)
    items: list[Any] = [{"role": "user", "content": TWO_CITIES}]
    ids = []
    for city in ("Paris", "Rome"):
        if stream:
            with client.responses.stream(model="local", input=items, tools=[RESPONSES_WEATHER]) as events:
                (call,) = events.get_final_response().output
        else:
            (call,) = client.responses.create(model="local", input=items, tools=[RESPONSES_WEATHER]).output
        assert call.type == "function_call" and json.loads(call.arguments) == {"city": city}
        ids.append(call.call_id)
        items += [
            call.model_dump(exclude_none=True),
            {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
        ]
    answer = client.responses.create(model="local", input=items, tools=[RESPONSES_WEATHER])
    assert answer.output_text == "Sunny in both."
    _assert_fresh_second_id(ids, fake_openai)


# --- finish_reason tool_calls with no tool call (the server's tool parser failed) --------------------------------

FAILED_CALL = '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}</tool_call>'


@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls_without_a_call_end_a_chat_answer_as_stop(
    client: openai.OpenAI, fake_openai: FakeOpenAI, stream: bool
) -> None:
    fake_openai.replies.append(Text(FAILED_CALL, stop="tool_calls"))
    if stream:
        chunks = list(client.chat.completions.create(model="local", messages=ASK, tools=[WEATHER], stream=True))
        finishes = [c.finish_reason for chunk in chunks for c in chunk.choices if c.finish_reason]
        text = "".join(c.delta.content or "" for chunk in chunks for c in chunk.choices)
        assert (finishes, text) == (["stop"], FAILED_CALL)
        assert not any(c.delta.tool_calls for chunk in chunks for c in chunk.choices)
    else:
        choice = client.chat.completions.create(model="local", messages=ASK, tools=[WEATHER]).choices[0]
        assert (choice.finish_reason, choice.message.content, choice.message.tool_calls) == ("stop", FAILED_CALL, None)


@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls_without_a_call_end_a_messages_answer_as_end_turn(
    claude: anthropic.Anthropic, fake_openai: FakeOpenAI, stream: bool
) -> None:
    fake_openai.replies.append(Text(FAILED_CALL, stop="tool_calls"))
    ask: Any = {"model": "local", "max_tokens": 256, "messages": ASK, "tools": [CLAUDE_WEATHER]}
    if stream:
        with claude.messages.stream(**ask) as events:
            message = events.get_final_message()
    else:
        message = claude.messages.create(**ask)
    assert [(b.type, getattr(b, "text", None)) for b in message.content] == [("text", FAILED_CALL)]
    assert message.stop_reason == "end_turn"


# --- a prompt over the local model's context window falls back to the bigger one ---------------------------------

TOO_LONG = [
    (422, "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 8192. Given: 9000 `inputs` tokens"),
    (422, "Input validation error: `inputs` must have less than 8192 tokens. Given: 9000"),  # TGI
    (400, "The decoder prompt (length 9000) is longer than the maximum model length of 8192."),  # vLLM
    (400, "The input (9000 tokens) is longer than the model's context length (8192 tokens)."),  # SGLang
]


@pytest.mark.parametrize(("status", "message"), TOO_LONG)
def test_a_context_window_refusal_falls_back_to_the_bigger_window(
    client: openai.OpenAI, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic, status: int, message: str
) -> None:
    fake_openai.replies.append(Status(status, message))
    fake_anthropic.replies.append(Text("rescued"))
    raw = client.chat.completions.with_raw_response.create(model="local", messages=ASK)
    assert raw.parse().choices[0].message.content == "rescued"
    assert raw.headers["x-tiergate-attempts"] == "local/small:capability, sonnet/claude-sonnet-4-5:ok"
    assert len(fake_openai.requests) == 1


LLAMA_500 = "the request exceeds the available context size. try increasing the context size or enable context shift"


def test_llama_cpps_500_naming_the_overflow_falls_back_without_a_retry(
    client: openai.OpenAI, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic
) -> None:
    """llama.cpp's server answered an overflow with a 500 for a while: it was retried, counted against the
    breaker, and the client got the 500 after the retries instead of the bigger window's answer."""
    fake_openai.replies.extend([Status(500, LLAMA_500, upstream_type="exceed_context_size_error")] * 4)
    fake_anthropic.replies.append(Text("rescued"))
    raw = client.chat.completions.with_raw_response.create(model="local", messages=ASK)
    assert raw.parse().choices[0].message.content == "rescued"
    assert raw.headers["x-tiergate-attempts"] == "local/small:capability, sonnet/claude-sonnet-4-5:ok"
    assert len(fake_openai.requests) == 1


def test_with_no_bigger_window_the_client_gets_llama_cpps_overflow_as_a_400(
    client: openai.OpenAI, fake_openai: FakeOpenAI
) -> None:
    fake_openai.replies.extend([Status(500, LLAMA_500, upstream_type="exceed_context_size_error")] * 4)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="solo", messages=ASK)
    url = fake_openai.url  # type: ignore[attr-defined]
    assert caught.value.body == {
        # no figures in it: OpenAI's words without them open it, which clients built on LiteLLM read as a full window
        "message": "This model's maximum context length is less than the tokens of this request."
        f" (backend 'vllm' at {url}/v1: HTTP 500: {LLAMA_500})",
        "type": "invalid_request_error",
        "param": None,
        "code": "context_length_exceeded",
    }
    assert len(fake_openai.requests) == 1


#: A context overflow in a 200 stream's first event: llama-server before its PR #16486, SGLang.
IN_STREAM = [
    StreamError(
        0, "request (9000 tokens) exceeds the available context size (8192 tokens)", "exceed_context_size_error", 400
    ),
    StreamError(
        0, "The input (9000 tokens) is longer than the model's context length (8192 tokens).", "BadRequestError", 400
    ),
]


@pytest.mark.parametrize("reply", IN_STREAM)
def test_a_context_overflow_in_the_stream_falls_back_to_the_bigger_window(
    client: openai.OpenAI, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic, reply: StreamError
) -> None:
    fake_openai.replies.append(reply)
    fake_anthropic.replies.append(Text("rescued"))
    with client.chat.completions.with_streaming_response.create(model="local", messages=ASK, stream=True) as raw:
        attempts = raw.headers["x-tiergate-attempts"]
        text = "".join(c.delta.content or "" for chunk in raw.parse() for c in chunk.choices)
    assert (text, attempts) == ("rescued", "local/small:capability, sonnet/claude-sonnet-4-5:ok")


# --- a Messages client's thinking, on a thinking target ----------------------------------------------------------


@pytest.mark.parametrize(("thinking", "effort"), [({"type": "disabled"}, None), ({"type": "adaptive"}, "medium")])
def test_messages_thinking_on_an_openai_compatible_server(
    claude: anthropic.Anthropic, fake_openai: FakeOpenAI, thinking: Any, effort: str | None
) -> None:
    """``thinking: disabled`` went as ``reasoning_effort: "none"``, which vLLM refuses with a 400."""
    fake_openai.replies.append(Text("Hi."))
    claude.messages.create(model="local", max_tokens=256, messages=ASK, thinking=thinking)
    assert fake_openai.requests[0].body.get("reasoning_effort") == effort
