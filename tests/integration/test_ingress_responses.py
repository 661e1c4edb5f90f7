"""OpenAI Responses ingress, stateless: the official openai SDK's ``responses`` → the gateway on the default
routes.yaml → the fake Ollama and Anthropic upstreams, over real sockets."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Text, ToolCalls
from tests.fakes.server import handled_before_chat, serve

EASY = "add type hints to def add(a, b)"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": False,
}


def test_create_on_the_local_tier(client: openai.OpenAI, fake_ollama: FakeOllama) -> None:
    fake_ollama.replies.append(Text("def add(a: int, b: int) -> int: ...", chunks=1))
    raw = client.responses.with_raw_response.create(
        model="tiergate-auto", instructions="be brief", input=EASY, store=False
    )
    response = raw.parse()
    assert response.id.startswith("resp_") and response.object == "response"
    assert response.status == "completed" and response.model == "qwen2.5-coder:7b"
    assert response.output_text == "def add(a: int, b: int) -> int: ..."
    assert [item.type for item in response.output] == ["message"]
    assert response.usage is not None and (response.usage.input_tokens, response.usage.output_tokens) == (11, 7)
    assert raw.headers["x-tiergate-tier"] == "local"
    assert raw.headers["x-request-id"] == raw.headers["x-tiergate-decision-id"]
    sent = fake_ollama.requests[0].body["messages"]
    assert sent[0] == {"role": "system", "content": "be brief"} and sent[-1]["content"] == EASY


def test_a_stream_on_the_local_tier(client: openai.OpenAI, fake_ollama: FakeOllama) -> None:
    fake_ollama.replies.append(Text("one two three", chunks=3))
    with client.responses.stream(model="tiergate-auto", input=EASY) as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == "one two three" and len(deltas) == 3
    assert final.output_text == "one two three" and final.status == "completed"


def test_the_event_sequence_is_the_documented_one(gateway: str, fake_ollama: FakeOllama) -> None:
    fake_ollama.replies.append(Text("ab", chunks=2))
    body = {"model": "local", "stream": True, "input": [{"role": "user", "content": "hi"}]}
    with httpx.stream("POST", gateway + "/v1/responses", json=body) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        frames = [f for f in r.read().decode().split("\n\n") if f]
    events = [json.loads(f.split("data: ", 1)[1]) for f in frames]
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[-2]["item"]["content"][0]["text"] == "ab"
    assert events[-1]["response"]["status"] == "completed"


def test_a_function_call_and_its_output_on_the_local_tier(client: openai.OpenAI, fake_ollama: FakeOllama) -> None:
    fake_ollama.replies.append(ToolCalls([("get_weather", {"city": "Paris"})]))
    fake_ollama.replies.append(Text("It is 18C in Paris.", chunks=1))
    ask = {"role": "user", "content": "weather in Paris?"}
    first = client.responses.create(model="local", input=[ask], tools=[WEATHER])  # type: ignore[list-item]
    (call,) = first.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris"}
    output = {"type": "function_call_output", "call_id": call.call_id, "output": "18C"}
    second = client.responses.create(
        model="local",
        input=[ask, call.model_dump(exclude_none=True), output],  # type: ignore[list-item]
        tools=[WEATHER],  # type: ignore[list-item]
    )
    assert second.output_text == "It is 18C in Paris."
    sent = fake_ollama.requests[1].body["messages"]
    assert sent[-2]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": {"city": "Paris"}}
    assert sent[-1] == {"role": "tool", "content": "18C", "tool_name": "get_weather"}


def test_a_streamed_function_call(client: openai.OpenAI, fake_ollama: FakeOllama) -> None:
    fake_ollama.replies.append(ToolCalls([("get_weather", {"city": "Oslo"})]))
    with client.responses.stream(model="local", input="weather in Oslo?", tools=[WEATHER]) as stream:  # type: ignore[list-item]
        final = stream.get_final_response()
    (call,) = final.output
    assert call.type == "function_call" and json.loads(call.arguments) == {"city": "Oslo"}


def test_a_claude_tier_answers(client: openai.OpenAI, fake_anthropic: FakeAnthropic, fake_ollama: FakeOllama) -> None:
    fake_anthropic.replies.append(Text("Proof sketch.", chunks=2))
    response = client.responses.create(model="sonnet", input="prove the invariant", max_output_tokens=300)
    assert response.output_text == "Proof sketch." and response.model == "claude-sonnet-4-5"
    sent = fake_anthropic.requests[0].body
    assert sent["model"] == "claude-sonnet-4-5" and sent["max_tokens"] == 300
    assert not fake_ollama.requests


def test_stateful_fields_are_refused(client: openai.OpenAI, fake_ollama: FakeOllama) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="auto", input="hi", previous_response_id="resp_123")
    error = caught.value.body
    assert isinstance(error, dict) and error["param"] == "previous_response_id"
    assert "stateless" in error["message"]
    assert not fake_ollama.requests


def test_errors_come_back_in_openais_shape(gateway: str) -> None:
    r = httpx.post(gateway + "/v1/responses", json={"model": "auto"})
    assert r.status_code == 400
    assert set(r.json()["error"]) == {"message", "type", "param", "code"}
    assert r.json()["error"]["type"] == "invalid_request_error"


# --- an OpenAI-compatible upstream that interleaves parallel calls ------------------------------------

VLLM_ROUTES = """
version: 1
backends:
  vllm: {kind: openai, base_url: "${VLLM_URL}/v1"}
tiers:
  local: {targets: [{backend: vllm, model: m1, capabilities: {tools: true, context_window: 32768}}]}
  sonnet: {targets: [{backend: vllm, model: m2, capabilities: {tools: true, context_window: 32768}}]}
  opus: {targets: [{backend: vllm, model: m3, capabilities: {tools: true, context_window: 32768}}]}
"""


def _call(index: int, **fields: Any) -> bytes:
    """One stream chunk carrying one piece of the tool call at ``index``."""
    call: dict[str, Any] = {"index": index, "function": {"arguments": fields.pop("arguments", "")}}
    if "name" in fields:
        call |= {"id": fields["id"], "type": "function"}
        call["function"]["name"] = fields["name"]
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m1"}
    chunk["choices"] = [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}]
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


#: vLLM's and OpenAI's way with parallel calls: both headers first, then the argument pieces alternating.
INTERLEAVED = [
    _call(0, id="call_a", name="get_weather"),
    _call(1, id="call_b", name="get_weather"),
    _call(0, arguments='{"city":'),
    _call(1, arguments='{"city":'),
    _call(0, arguments='"Oslo"}'),
    _call(1, arguments='"Rome"}'),
    b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m1",'
    b'"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}\n\n',
    b"data: [DONE]\n\n",
]


async def interleaving(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
    if await handled_before_chat(scope, receive, send):
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    for chunk in INTERLEAVED:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def test_interleaved_parallel_calls_are_each_done_whole(tmp_path: Path, gateway_for: GatewayFactory) -> None:
    """Codex runs a call at its ``output_item.done``: each must carry the call's whole arguments, the
    items one after another, although the upstream interleaved the two calls' pieces."""
    routes = tmp_path / "routes.yaml"
    routes.write_text(VLLM_ROUTES)
    with serve(interleaving) as url:
        base = gateway_for(routes, {"VLLM_URL": url})
        client = openai.OpenAI(base_url=base + "/v1", api_key="sk-client-unused", max_retries=0, timeout=30)
        with client.responses.stream(model="local", input="weather in Oslo and Rome?", tools=[WEATHER]) as stream:  # type: ignore[list-item]
            events = list(stream)
            final = stream.get_final_response()
    assert [(e.type, getattr(e, "output_index", None)) for e in events] == [
        ("response.created", None),
        ("response.in_progress", None),
        ("response.output_item.added", 0),
        ("response.function_call_arguments.delta", 0),
        ("response.function_call_arguments.delta", 0),
        ("response.function_call_arguments.done", 0),
        ("response.output_item.done", 0),
        ("response.output_item.added", 1),
        ("response.function_call_arguments.delta", 1),
        ("response.function_call_arguments.delta", 1),
        ("response.function_call_arguments.done", 1),
        ("response.output_item.done", 1),
        ("response.completed", None),
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    done = [e.item for e in events if e.type == "response.output_item.done"]
    assert [(i.type, i.call_id, i.arguments) for i in done] == [  # type: ignore[union-attr]
        ("function_call", "call_a", '{"city":"Oslo"}'),
        ("function_call", "call_b", '{"city":"Rome"}'),
    ]
    assert [e.arguments for e in events if e.type == "response.function_call_arguments.done"] == [
        '{"city":"Oslo"}',
        '{"city":"Rome"}',
    ]
    assert [(i.call_id, i.arguments) for i in final.output] == [  # type: ignore[union-attr]
        ("call_a", '{"city":"Oslo"}'),
        ("call_b", '{"city":"Rome"}'),
    ]
