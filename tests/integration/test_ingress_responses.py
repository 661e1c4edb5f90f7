"""OpenAI Responses ingress, stateless: the official openai SDK's ``responses`` → the gateway on the default
routes.yaml → the fake Ollama and Anthropic upstreams, over real sockets."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.scripts import Status, Text, ToolCalls
from tests.fakes.server import handled_before_chat, serve
from tests.helpers import PNG, VISION_ROUTES

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
    _call(0, id="call_a1b2c3", name="get_weather"),
    _call(1, id="call_d4e5f6", name="get_weather"),
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
        ("function_call", "call_a1b2c3", '{"city":"Oslo"}'),
        ("function_call", "call_d4e5f6", '{"city":"Rome"}'),
    ]
    assert [e.arguments for e in events if e.type == "response.function_call_arguments.done"] == [
        '{"city":"Oslo"}',
        '{"city":"Rome"}',
    ]
    assert [(i.call_id, i.arguments) for i in final.output] == [  # type: ignore[union-attr]
        ("call_a1b2c3", '{"city":"Oslo"}'),
        ("call_d4e5f6", '{"city":"Rome"}'),
    ]


# --- a history the client keeps as it came ------------------------------------------------------------

#: Codex keeps a weak model's broken arguments in its history, answered by its own parse error.
BROKEN_CALL_HISTORY = [
    {"role": "user", "content": "list files"},
    {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city": "Oslo"'},
    {"type": "function_call_output", "call_id": "call_1", "output": "failed to parse function arguments: EOF"},
]


def test_broken_arguments_in_history_go_on_wrapped(
    client: openai.OpenAI, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic
) -> None:
    """Refusing them would make every later turn of the session a 400; they go as Anthropic's and Ollama's
    ``{"arguments": <the raw text>}`` object, as tiergate writes such arguments to a Messages client."""
    fake_ollama.replies.append(Text("retrying", chunks=1))
    fake_anthropic.replies.append(Text("retrying", chunks=1))
    for model in ("local", "sonnet"):
        response = client.responses.create(model=model, input=BROKEN_CALL_HISTORY, tools=[WEATHER])  # type: ignore[arg-type, list-item]
        assert response.output_text == "retrying"
    wrapped = {"arguments": '{"city": "Oslo"'}
    ollama_turn = fake_ollama.requests[-1].body["messages"][1]
    assert ollama_turn == {
        "role": "assistant",
        "tool_calls": [{"function": {"name": "get_weather", "arguments": wrapped}}],
    }
    anthropic_turn = fake_anthropic.requests[-1].body["messages"][1]
    assert anthropic_turn == {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "call_1", "name": "get_weather", "input": wrapped}],
    }


# --- images in tool outputs (Codex's view_image) ------------------------------------------------------

VIEW_IMAGE = {"type": "function", "name": "view_image", "parameters": {"type": "object", "properties": {}}}
#: What Codex sends after its view_image tool ran: the image is the tool's whole output.
VIEWED: list[Any] = [
    {"role": "user", "content": "what is in shot.png?"},
    {"type": "function_call", "call_id": "toolu_01ViewImage", "name": "view_image", "arguments": '{"path":"shot.png"}'},
    {
        "type": "function_call_output",
        "call_id": "toolu_01ViewImage",
        "output": [{"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "high"}],
    },
]


@pytest.fixture
def vision_client(
    tmp_path: Path, gateway_for: GatewayFactory, upstream_env: dict[str, str], fake_openai: FakeOpenAI
) -> Iterator[openai.OpenAI]:
    routes = tmp_path / "vision.yaml"
    routes.write_text(VISION_ROUTES)
    base = gateway_for(routes, {**upstream_env, "VLLM_URL": fake_openai.url})  # type: ignore[attr-defined]
    with openai.OpenAI(
        base_url=base + "/v1", api_key="sk-client-unused", max_retries=0, timeout=30
    ) as sdk:  # closed: an unclosed socket is a ResourceWarning in a later test
        yield sdk


def test_a_tool_output_image_reaches_ollama_in_a_user_message(
    vision_client: openai.OpenAI, fake_ollama: FakeOllama
) -> None:
    fake_ollama.replies.append(Text("One red pixel.", chunks=1))
    answer = vision_client.responses.create(model="local", input=VIEWED, tools=[VIEW_IMAGE])  # type: ignore[arg-type]
    assert answer.output_text == "One red pixel."
    assert fake_ollama.requests[0].body["messages"] == [
        {"role": "user", "content": "what is in shot.png?"},
        {"role": "assistant", "tool_calls": [{"function": {"name": "view_image", "arguments": {"path": "shot.png"}}}]},
        {"role": "tool", "content": "", "tool_name": "view_image"},
        {"role": "user", "content": "Images from tool call toolu_01ViewImage:", "images": [PNG]},
    ]


def test_a_tool_output_image_reaches_anthropic_inside_the_tool_result(
    vision_client: openai.OpenAI, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.replies.append(Text("One red pixel.", chunks=1))
    answer = vision_client.responses.create(model="sonnet", input=VIEWED, tools=[VIEW_IMAGE])  # type: ignore[arg-type]
    assert answer.output_text == "One red pixel."
    assert fake_anthropic.requests[0].body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "what is in shot.png?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "toolu_01ViewImage", "name": "view_image", "input": {"path": "shot.png"}}
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_01ViewImage",
                    "content": [
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
                    ],
                }
            ],
        },
    ]


def test_a_tool_output_image_reaches_an_openai_compatible_server_in_a_user_message(
    vision_client: openai.OpenAI, fake_openai: FakeOpenAI
) -> None:
    fake_openai.replies.append(Text("One red pixel.", chunks=1))
    with vision_client.responses.stream(model="opus", input=VIEWED, tools=[VIEW_IMAGE]) as stream:  # type: ignore[arg-type]
        answer = stream.get_final_response()
    assert answer.output_text == "One red pixel."
    assert fake_openai.requests[0].body["messages"] == [
        {"role": "user", "content": "what is in shot.png?"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "toolu_01ViewImage",
                    "type": "function",
                    "function": {"name": "view_image", "arguments": '{"path":"shot.png"}'},
                }
            ],
        },
        {"role": "tool", "content": "", "tool_call_id": "toolu_01ViewImage"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Images from tool call toolu_01ViewImage:"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "high"}},
            ],
        },
    ]


def test_codexs_instructions_and_developer_message_reach_an_openai_compatible_server_as_one_system_message(
    vision_client: openai.OpenAI, fake_openai: FakeOpenAI
) -> None:
    """Two system messages made Gemma's and Mistral's chat templates on llama.cpp and vLLM refuse every Codex
    request ("Conversation roles must alternate")."""
    fake_openai.replies.append(Text("Done.", chunks=1))
    developer = {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Sandbox: ro."}]}
    ask = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list the files"}]}
    answer = vision_client.responses.create(
        model="opus",
        instructions="You are Codex, a coding agent.",
        input=[developer, ask],  # type: ignore[list-item]
    )
    assert answer.output_text == "Done."
    assert fake_openai.requests[0].body["messages"] == [
        {"role": "system", "content": "You are Codex, a coding agent.\n\nSandbox: ro."},
        {"role": "user", "content": "list the files"},
    ]


def test_a_tool_output_image_moves_the_request_off_a_target_without_vision(
    client: openai.OpenAI, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic
) -> None:
    """The repository's local target has no vision: the image is a reason to fall back to sonnet."""
    fake_anthropic.replies.append(Text("One red pixel.", chunks=1))
    raw = client.responses.with_raw_response.create(model="local", input=VIEWED, tools=[VIEW_IMAGE])  # type: ignore[arg-type]
    assert raw.parse().output_text == "One red pixel." and raw.headers["x-tiergate-tier"] == "sonnet"
    assert not fake_ollama.requests
    assert "image" in json.dumps(fake_anthropic.requests[0].body["messages"][-1])


def test_a_file_in_a_tool_output_that_is_no_pdf_is_refused_by_name(
    client: openai.OpenAI, fake_ollama: FakeOllama
) -> None:
    output = {"type": "function_call_output", "call_id": "call_1", "output": [{"type": "input_file", "file_data": "x"}]}
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="local", input=[*VIEWED[:2], output], tools=[VIEW_IMAGE])  # type: ignore[arg-type]
    error = caught.value.body
    assert isinstance(error, dict) and error["param"] == "input[2].output[0].file_data"
    assert error["code"] == "unsupported_content" and "must be a PDF" in error["message"]
    assert not fake_ollama.requests


@pytest.mark.parametrize("given", ["", [{"role": "user", "content": []}]], ids=["string", "no-parts"])
def test_an_empty_input_on_a_claude_tier_is_a_400_naming_input(
    gateway: str, fake_anthropic: FakeAnthropic, given: Any
) -> None:
    """Claude refuses a conversation with no content, so tiergate does before the call, naming the field the
    client sent (``messages`` is the chat body's). OpenAI answers an empty input, and so does a local tier."""
    r = httpx.post(gateway + "/v1/responses", json={"model": "sonnet", "input": given})
    assert (r.status_code, r.json()) == (
        400,
        {
            "error": {
                "message": "input: every user and assistant message is empty or only whitespace, and Claude needs at"
                " least one with content",
                "type": "invalid_request_error",
                "param": "input",
                "code": None,
            }
        },
    )
    assert not fake_anthropic.requests


# --- errors before the stream starts --------------------------------------------------------------------

CONTEXT_REFUSAL = "prompt is too long: 250000 tokens > 200000 maximum"
#: What opens a full window's message in an OpenAI dialect: the words LiteLLM (aider) reads as one.
OPENAI_WORDS = (
    "This model's maximum context length is 200000 tokens. However, your messages resulted in 250000 tokens."
    " Please reduce the length of the messages."
)


def test_a_context_length_refusal_carries_openais_code(gateway: str, fake_anthropic: FakeAnthropic) -> None:
    """Codex reports a full context window (and offers to compact) only for ``context_length_exceeded``;
    Anthropic's refusal before the stream starts has no such code, so tiergate gives it the one
    ``response.failed`` carries after the stream started."""
    fake_anthropic.replies.append(Status(400, CONTEXT_REFUSAL))
    r = httpx.post(gateway + "/v1/responses", json={"model": "sonnet", "input": "hi", "stream": True})
    url = fake_anthropic.url  # type: ignore[attr-defined]
    assert (r.status_code, r.json()) == (
        400,
        {
            "error": {
                "message": f"{OPENAI_WORDS} (backend 'anthropic' at {url}: {CONTEXT_REFUSAL})",
                "type": "invalid_request_error",
                "param": None,
                "code": "context_length_exceeded",
            }
        },
    )


def test_a_prompt_no_target_can_hold_is_context_length_exceeded(gateway: str, fake_anthropic: FakeAnthropic) -> None:
    """tiergate's own refusal, before any call, carries the code an upstream's overflow does: Codex prints
    raw JSON for any other."""
    r = httpx.post(gateway + "/v1/responses", json={"model": "sonnet", "input": "word " * 200_000, "stream": True})
    assert (r.status_code, r.json()) == (
        400,
        {
            "error": {
                "message": f"{OPENAI_WORDS} (prompt is too long: 250000 tokens > 200000 maximum (the prompt's"
                " tokens estimated; no target can serve this request:"
                " sonnet/claude-sonnet-4-5: context window 200000 < ~250000 tokens))",
                "type": "invalid_request_error",
                "param": None,
                "code": "context_length_exceeded",
            }
        },
    )
    assert not fake_anthropic.requests


async def coded_refusal(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
    """An OpenAI-compatible server refusing with OpenAI's own error body, code and all."""
    if await handled_before_chat(scope, receive, send):
        return
    error = {
        "message": "too long",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
    await send({"type": "http.response.start", "status": 400, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps({"error": error}).encode()})


def test_an_openai_upstreams_own_code_is_kept(tmp_path: Path, gateway_for: GatewayFactory) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(VLLM_ROUTES)
    with serve(coded_refusal) as url:
        base = gateway_for(routes, {"VLLM_URL": url})
        client = openai.OpenAI(base_url=base + "/v1", api_key="sk-client-unused", max_retries=0, timeout=30)
        with pytest.raises(openai.BadRequestError) as caught:
            client.responses.create(model="local", input="hi")
    assert caught.value.body == {
        # no figures said: OpenAI's words without them
        "message": "This model's maximum context length is less than the tokens of this request."
        f" (backend 'vllm' at {url}/v1: HTTP 400: too long)",
        "type": "invalid_request_error",
        "param": None,
        "code": "context_length_exceeded",
    }


# --- reasoning within the client's own limit ------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "sent"),
    [
        (300, {"max_tokens": 300}),  # no room for the API's smallest budget: no thinking, not a larger limit
        (5000, {"max_tokens": 5000, "thinking": {"type": "enabled", "budget_tokens": 4999}}),
    ],
)
def test_reasoning_never_raises_max_output_tokens(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic, limit: int, sent: dict[str, Any]
) -> None:
    fake_anthropic.replies.append(Text("Proof sketch.", chunks=1))
    response = client.responses.create(
        model="sonnet", input="prove it", max_output_tokens=limit, reasoning={"effort": "high"}
    )
    assert response.max_output_tokens == limit and response.output_text == "Proof sketch."
    body = fake_anthropic.requests[-1].body
    assert {k: body[k] for k in ("max_tokens", "thinking") if k in body} == sent


# --- tool_choice {type: allowed_tools} ------------------------------------------------------------------

TIME = {"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {}}}
ONLY_TIME = {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "get_time"}]}


def test_allowed_tools_narrow_the_tools_on_claude_and_ollama(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic, fake_ollama: FakeOllama
) -> None:
    """The listed tools are the only ones offered; ``mode`` is then the choice (``required``: Anthropic's
    ``any``; Ollama has no choice)."""
    fake_anthropic.replies.append(ToolCalls([("get_time", {})]))
    fake_ollama.replies.append(ToolCalls([("get_time", {})]))
    for model in ("sonnet", "local"):
        response = client.responses.create(model=model, input="hi", tools=[WEATHER, TIME], tool_choice=ONLY_TIME)  # type: ignore[list-item, arg-type]
        assert [(o.type, o.name) for o in response.output] == [("function_call", "get_time")]  # type: ignore[union-attr]
    claude = fake_anthropic.requests[-1].body
    assert ([t["name"] for t in claude["tools"]], claude["tool_choice"]) == (["get_time"], {"type": "any"})
    assert [t["function"]["name"] for t in fake_ollama.requests[-1].body["tools"]] == ["get_time"]


def test_allowed_tools_and_hosted_tools_on_an_openai_compatible_server(
    tmp_path: Path, gateway_for: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(VLLM_ROUTES)
    base = gateway_for(routes, {"VLLM_URL": fake_openai.url})  # type: ignore[attr-defined]
    client = openai.OpenAI(base_url=base + "/v1", api_key="sk-client-unused", max_retries=0, timeout=30)
    fake_openai.replies.append(ToolCalls([("get_time", {})]))  # the call the required choice asks for
    client.responses.create(model="local", input="hi", tools=[WEATHER, TIME], tool_choice=ONLY_TIME)  # type: ignore[list-item, arg-type]
    sent = fake_openai.requests[-1].body
    assert ([t["function"]["name"] for t in sent["tools"]], sent["tool_choice"]) == (["get_time"], "required")
    # Only hosted tools (left out: they run at OpenAI): no tools, so no tool_choice, which servers refuse alone.
    client.responses.create(model="local", input="hi", tools=[{"type": "web_search"}], tool_choice="auto")
    sent = fake_openai.requests[-1].body
    assert "tools" not in sent and "tool_choice" not in sent
    # ... and a call that must be made with none to make is a 400, not a plain answer
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="local", input="hi", tools=[{"type": "web_search"}], tool_choice="required")
    assert caught.value.body["param"] == "tool_choice"  # type: ignore[index]
    assert len(fake_openai.requests) == 2
