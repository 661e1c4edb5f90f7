"""Anthropic Messages streams passed through from an Anthropic-compatible upstream whose SSE is not quite
Anthropic's: frames that carry only ``data:`` lines, no ``event:`` line. The official anthropic SDK → the
real gateway → a scripted upstream, over real sockets."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from tests.conftest import TEST_KEY, GatewayFactory
from tests.fakes.server import handled_before_chat, serve

ROUTES = """
version: 1
backends:
  compatible: {kind: anthropic, base_url: "${SCRIPTED_URL}", api_key_env: ANTHROPIC_API_KEY}
tiers:
  local: {targets: [{backend: compatible, model: claude-compatible, capabilities: {tools: true}}]}
routing: {mode: fixed, fixed_tier: local}
retries: {attempts: 0}
"""
MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-compatible",
    "content": [],
    "stop_reason": None,
    "stop_sequence": None,
    "usage": {"input_tokens": 10, "output_tokens": 1},
}
EVENTS: list[dict[str, Any]] = [
    {"type": "message_start", "message": MESSAGE},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello."}},
    {"type": "content_block_stop", "index": 0},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 3},
    },
    {"type": "message_stop"},
]


class DataOnly:
    """An Anthropic-compatible upstream that streams :data:`EVENTS` as ``data:`` lines alone."""

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if await handled_before_chat(scope, receive, send):
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        for event in EVENTS:
            await send(
                {"type": "http.response.body", "body": f"data: {json.dumps(event)}\n\n".encode(), "more_body": True}
            )
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with serve(DataOnly()) as url:
        yield url


@pytest.fixture
def gateway(gateway_for: GatewayFactory, tmp_path: Path, upstream: str) -> str:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    return gateway_for(routes, {"SCRIPTED_URL": upstream, "ANTHROPIC_API_KEY": TEST_KEY})


def test_frames_without_event_lines_reach_the_client_named(gateway: str) -> None:
    """Each frame gets ``event: <its type>`` before its data, and is otherwise as it came."""
    body = {"model": "auto", "max_tokens": 16, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with httpx.stream("POST", gateway + "/v1/messages", json=body, timeout=30) as r:
        assert r.status_code == 200
        text = r.read().decode()
    assert text == "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in EVENTS)


def test_the_sdk_assembles_such_a_stream(gateway: str) -> None:
    """It failed with a bare AssertionError: the SDK dispatches on the event name."""
    with anthropic.Anthropic(base_url=gateway, api_key="sk-ant-client-unused", max_retries=0, timeout=30) as sdk:
        asked: Any = [{"role": "user", "content": "hi"}]
        with sdk.messages.stream(model="auto", max_tokens=16, messages=asked) as stream:
            message = stream.get_final_message()
    assert [(b.type, getattr(b, "text", None)) for b in message.content] == [("text", "Hello.")]
    assert (message.stop_reason, message.usage.output_tokens) == ("end_turn", 3)
