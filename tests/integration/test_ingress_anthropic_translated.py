"""Anthropic Messages streams translated from an OpenAI-compatible upstream, with the chunks such upstreams
really send and the shared fakes never do: parallel tool calls whose argument pieces interleave, arguments
that are no JSON object, a stream without usage, an upstream that never answers. The official anthropic
SDK → the real gateway → a scripted upstream, over real sockets."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.server import handled_before_chat, serve

ROUTES = """
version: 1
backends:
  llama: {kind: openai, base_url: "${SCRIPTED_URL}/v1"}
tiers:
  local: {targets: [{backend: llama, model: qwen-test, capabilities: {tools: true, context_window: 32768}}]}
routing: {mode: fixed, fixed_tier: local}
retries: {attempts: 0}
"""
PATIENT = "timeouts: {connect: 2, first_token: 20, idle: 20, total: 60}"
HASTY = "timeouts: {connect: 2, first_token: 0.5, idle: 0.5, total: 1}"
TOOLS: list[Any] = [
    {"name": "f", "input_schema": {"type": "object"}},
    {"name": "g", "input_schema": {"type": "object"}},
]
HI: list[Any] = [{"role": "user", "content": "hi"}]


class Scripted:
    """An OpenAI-compatible upstream that streams ``deltas`` as they are given, then the ``finish`` chunk,
    ``usage`` (when set, whatever the request asked) and ``[DONE]``. ``silent``: it answers nothing and
    waits for its client to hang up."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.deltas: list[dict[str, Any]] = []
        self.finish = "stop"
        self.usage: dict[str, int] | None = None
        self.silent = False

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if await handled_before_chat(scope, receive, send):
            return
        if self.silent:
            await receive()  # the body is read: the next message is the client's disconnect
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        chunks = [_chunk([{"index": 0, "delta": d, "finish_reason": None}]) for d in self.deltas]
        chunks.append(_chunk([{"index": 0, "delta": {}, "finish_reason": self.finish}]))
        if self.usage is not None:
            chunks.append(_chunk([], usage=self.usage))
        for data in [*chunks, "[DONE]"]:
            await send({"type": "http.response.body", "body": f"data: {data}\n\n".encode(), "more_body": True})
        await send({"type": "http.response.body", "body": b""})


def _chunk(choices: list[dict[str, Any]], **extra: Any) -> str:
    body = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "qwen-test"}
    return json.dumps({**body, "choices": choices, **extra})


def call(index: int, *, opens: tuple[str, str] | None = None, arguments: str = "") -> dict[str, Any]:
    """One ``tool_calls`` delta: the call's opening (id, name) or a piece of its arguments."""
    if opens is None:
        return {"tool_calls": [{"index": index, "function": {"arguments": arguments}}]}
    call_id, name = opens
    opening = {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
    return {"tool_calls": [opening]}


@pytest.fixture(scope="module")
def _scripted() -> Iterator[tuple[Scripted, str]]:
    upstream = Scripted()
    with serve(upstream) as url:
        yield upstream, url


@pytest.fixture
def scripted(_scripted: tuple[Scripted, str]) -> Scripted:
    _scripted[0].reset()
    return _scripted[0]


def start(gateway_for: GatewayFactory, tmp_path: Path, scripted_url: str, timeouts: str) -> str:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES + timeouts + "\n")
    return gateway_for(routes, {"SCRIPTED_URL": scripted_url})


@pytest.fixture
def gateway(gateway_for: GatewayFactory, tmp_path: Path, _scripted: tuple[Scripted, str]) -> str:
    return start(gateway_for, tmp_path, _scripted[1], PATIENT)


@pytest.fixture
def claude(gateway: str) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(
        base_url=gateway, api_key="sk-ant-client-unused", max_retries=0, timeout=30
    ) as sdk:  # closed: an unclosed socket is a ResourceWarning in a later test
        yield sdk


def events_of(gateway: str, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The stream's events as (event name, data), each data's type checked against its name."""
    with httpx.stream("POST", gateway + "/v1/messages", json=body, timeout=30) as r:
        assert r.status_code == 200
        frames = [f for f in r.read().decode().split("\n\n") if f]
    out = []
    for frame in frames:
        event, data = frame.split("\n")
        name, parsed = event.removeprefix("event: "), json.loads(data.removeprefix("data: "))
        assert parsed["type"] == name
        out.append((name, parsed))
    return out


def block(index: int, content: dict[str, Any], delta: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """One content block's events, start to stop, with one delta."""
    return [
        ("content_block_start", {"type": "content_block_start", "index": index, "content_block": content}),
        ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}),
        ("content_block_stop", {"type": "content_block_stop", "index": index}),
    ]


def test_interleaved_parallel_tool_calls_are_whole_blocks_one_after_another(
    gateway: str, claude: anthropic.Anthropic, scripted: Scripted
) -> None:
    # llama.cpp-style: both calls open, then their argument pieces alternate.
    scripted.deltas = [
        {"role": "assistant", "content": "Both."},
        call(0, opens=("call_a1b2c3", "f")),
        call(1, opens=("call_d4e5f6", "g")),
        call(0, arguments='{"x":'),
        call(1, arguments='{"y":'),
        call(0, arguments="1}"),
        call(1, arguments="2}"),
    ]
    scripted.finish, scripted.usage = "tool_calls", {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14}

    events = events_of(gateway, {"model": "local", "max_tokens": 64, "stream": True, "tools": TOOLS, "messages": HI})

    text = {"type": "text", "text": ""}
    call_a = {"type": "tool_use", "id": "call_a1b2c3", "name": "f", "input": {}}
    call_b = {"type": "tool_use", "id": "call_d4e5f6", "name": "g", "input": {}}
    message_delta = {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {"input_tokens": 9, "output_tokens": 5},
    }
    assert events[0][0] == "message_start"
    assert events[1:] == [
        *block(0, text, {"type": "text_delta", "text": "Both."}),
        *block(1, call_a, {"type": "input_json_delta", "partial_json": '{"x":1}'}),
        *block(2, call_b, {"type": "input_json_delta", "partial_json": '{"y":2}'}),
        ("message_delta", message_delta),
        ("message_stop", {"type": "message_stop"}),
    ]

    stopped: list[tuple[int, Any]] = []
    with claude.messages.stream(model="local", max_tokens=64, tools=TOOLS, messages=HI) as stream:
        for event in stream:
            if event.type == "content_block_stop" and event.content_block.type == "tool_use":
                stopped.append((event.index, event.content_block.input))
        final = stream.get_final_message()
    assert stopped == [(1, {"x": 1}), (2, {"y": 2})]  # whole at each block's stop, where Claude Code reads it
    assert [(b.id, b.input) for b in final.content if b.type == "tool_use"] == [
        ("call_a1b2c3", {"x": 1}),
        ("call_d4e5f6", {"y": 2}),
    ]


@pytest.mark.parametrize("arguments", ["not json", "[1, 2]", '"str"', '{"x": 1'])
def test_streamed_arguments_that_are_no_json_object_are_kept_under_arguments(
    gateway: str, claude: anthropic.Anthropic, scripted: Scripted, arguments: str
) -> None:
    scripted.deltas = [{"role": "assistant"}, call(0, opens=("call_a1b2c3", "f"), arguments=arguments)]
    scripted.finish = "tool_calls"

    with claude.messages.stream(model="local", max_tokens=64, tools=TOOLS, messages=HI) as stream:
        final = stream.get_final_message()

    (block,) = final.content
    assert block.type == "tool_use" and block.input == {"arguments": arguments}  # as in a whole answer
    body = {"model": "local", "max_tokens": 64, "stream": True, "tools": TOOLS, "messages": HI}
    deltas = [data["delta"] for name, data in events_of(gateway, body) if name == "content_block_delta"]
    wrapped = json.dumps({"arguments": arguments}, separators=(",", ":"))
    assert deltas == [{"type": "input_json_delta", "partial_json": wrapped}]


def test_without_upstream_usage_the_input_estimate_survives_message_delta(
    gateway: str, claude: anthropic.Anthropic, scripted: Scripted
) -> None:
    scripted.deltas = [{"role": "assistant", "content": "hello there"}]  # and no usage chunk, asked or not
    ask: list[Any] = [{"role": "user", "content": "hi " * 100}]

    events = events_of(gateway, {"model": "local", "max_tokens": 64, "stream": True, "messages": ask})
    with claude.messages.stream(model="local", max_tokens=64, messages=ask) as stream:
        final = stream.get_final_message()

    assert events[0][1]["message"]["usage"]["input_tokens"] == 75  # 300 characters / 4
    assert events[-2][1]["usage"] == {"output_tokens": 3}  # (11 characters + 3) // 4; the input unknown, left out
    assert (final.usage.input_tokens, final.usage.output_tokens) == (75, 3)


def test_an_upstream_timeout_is_anthropics_timeout_error(
    gateway_for: GatewayFactory, tmp_path: Path, _scripted: tuple[Scripted, str], scripted: Scripted
) -> None:
    scripted.silent = True
    base = start(gateway_for, tmp_path, _scripted[1], HASTY)
    claude = anthropic.Anthropic(base_url=base, api_key="sk-ant-client-unused", max_retries=0, timeout=30)

    with pytest.raises(anthropic.InternalServerError) as caught:
        claude.messages.create(model="local", max_tokens=16, messages=HI)

    message = f"backend 'llama' at {_scripted[1]}/v1: no answer within 1s, retries included (timeouts.total)"
    assert caught.value.status_code == 504
    assert caught.value.body == {"type": "error", "error": {"type": "timeout_error", "message": message}}


def test_a_tool_call_id_anthropic_would_refuse_reaches_the_client_rewritten(
    claude: anthropic.Anthropic, scripted: Scripted
) -> None:
    """Some servers name calls ``functions.Bash:0``; Anthropic refuses such an id when the conversation's
    next turn goes to Claude, so the client gets one it accepts, the same every time."""
    scripted.deltas = [{"role": "assistant"}, call(0, opens=("functions.f:0", "f"), arguments='{"a": 1}')]
    scripted.finish = "tool_calls"
    with claude.messages.stream(model="local", max_tokens=64, tools=TOOLS, messages=HI) as stream:
        final = stream.get_final_message()
    (block,) = final.content
    rewritten = "functions_f_0_" + hashlib.sha256(b"functions.f:0").hexdigest()[:8]
    assert block.type == "tool_use" and block.id == rewritten and block.input == {"a": 1}
