"""A client that goes away must take its upstream call with it.

Editors cancel requests all the time (the cursor moved, the user typed on). Each cancelled request
that kept generating upstream would hold a local model's only slot, or bill Claude tokens nobody
reads. The upstream here is a tiny ASGI app that speaks just enough Ollama or Anthropic to start
an answer, then waits for its client to hang up, and notes when it does. Timeouts in the rules are
long (20 s), so only the client's disconnect can close the upstream connection within the test.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_KEY, GatewayFactory
from tests.fakes.server import handled_before_chat, serve
from tests.helpers import wait_for_record

ROUTES = """
version: 1
backends:
  ollama: {kind: ollama, base_url: "${OLLAMA_HOST}"}
  anthropic: {kind: anthropic, base_url: "${ANTHROPIC_BASE_URL}", api_key_env: ANTHROPIC_API_KEY}
tiers:
  local: {targets: [{backend: ollama, model: qwen-test}]}
  sonnet: {targets: [{backend: anthropic, model: claude-test}]}
routing: {mode: fixed, fixed_tier: local}
timeouts: {connect: 2, first_token: 20, idle: 20, total: 60}
retries: {attempts: 0}
"""
TIERS = {"ollama": "local", "anthropic": "sonnet"}
PROMPTLY = 2.0  # seconds: cancelling takes milliseconds; the rest is slack for a slow CI machine

# Just enough of each protocol for the gateway to see a first token.
OLLAMA_FIRST = (
    "application/x-ndjson",
    json.dumps(
        {
            "model": "qwen-test",
            "created_at": "2025-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": "Hel"},
            "done": False,
        }
    ).encode()
    + b"\n",
)
ANTHROPIC_FIRST = (
    "text/event-stream",
    b"".join(
        f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
        for name, data in [
            (
                "message_start",
                {
                    "type": "message_start",
                    "message": {"id": "msg_1", "type": "message", "role": "assistant", "content": [], "usage": {}},
                },
            ),
            (
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
            ),
        ]
    ),
)


class Listener:
    """An upstream that answers the start of a stream (or nothing at all) and then waits for its client
    to hang up. ``called`` is set when a chat request arrives; ``hung_up`` when its connection closes."""

    def __init__(self, first: tuple[str, bytes] | None) -> None:
        self.first = first
        self.called = threading.Event()
        self.hung_up = threading.Event()

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if await handled_before_chat(scope, receive, send):
            return
        self.called.set()
        if self.first is not None:
            media, body = self.first
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", media.encode())]})
            await send({"type": "http.response.body", "body": body, "more_body": True})
        # With the request body read, the next message is the disconnect, whenever it comes.
        if (await receive())["type"] == "http.disconnect":
            self.hung_up.set()


def start(tmp_path: Path, gateway_for: GatewayFactory, backend: str, upstream_url: str) -> str:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    environ = {"OLLAMA_HOST": "http://127.0.0.1:9", "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}
    key = "OLLAMA_HOST" if backend == "ollama" else "ANTHROPIC_BASE_URL"
    return gateway_for(routes, {**environ, key: upstream_url, "ANTHROPIC_API_KEY": TEST_KEY})


def body(backend: str) -> dict[str, Any]:
    return {"model": TIERS[backend], "stream": True, "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("backend", ["ollama", "anthropic"])
def test_a_disconnect_mid_stream_cancels_the_upstream_call(
    tmp_path: Path, gateway_for: GatewayFactory, caplog: pytest.LogCaptureFixture, backend: str
) -> None:
    caplog.set_level(logging.INFO, logger="tiergate.requests")
    listener = Listener(OLLAMA_FIRST if backend == "ollama" else ANTHROPIC_FIRST)
    with serve(listener) as url:
        base = start(tmp_path, gateway_for, backend, url)
        with httpx.stream("POST", base + "/v1/chat/completions", json=body(backend), timeout=30) as r:
            assert r.status_code == 200
            decision_id = r.headers["x-tiergate-decision-id"]
            for line in r.iter_lines():
                if '"content":"Hel"' in line:
                    break  # leaving the block closes the connection: the client has gone
            else:
                pytest.fail("the first token never arrived")
        assert listener.hung_up.wait(PROMPTLY), "the upstream call outlived its client"
    record = wait_for_record(caplog, decision_id)
    assert (record["status"], record["error"]) == (499, "client disconnected")


@pytest.mark.parametrize("backend", ["ollama", "anthropic"])
def test_a_disconnect_before_the_first_byte_cancels_the_upstream_call(
    tmp_path: Path, gateway_for: GatewayFactory, backend: str
) -> None:
    listener = Listener(None)  # accepts the request, never answers
    with serve(listener) as url:
        base = start(tmp_path, gateway_for, backend, url)
        with pytest.raises(httpx.ReadTimeout):  # the client gives up while the gateway waits
            httpx.post(base + "/v1/chat/completions", json=body(backend), timeout=httpx.Timeout(10, read=0.3))
        assert listener.called.is_set()
        assert listener.hung_up.wait(PROMPTLY), "the upstream call outlived its client"
