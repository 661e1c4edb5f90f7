"""An answer the output limit ended after a tool call is still an answer cut short, on every ingress and whichever
local server wrote it: chat's ``finish_reason: "length"``, Messages' ``stop_reason: "max_tokens"``, Responses'
``incomplete`` with ``max_output_tokens``. Ollama's ``done_reason: "length"`` after a call read as
``tool_calls``: a client ran a call whose answer had been cut (its arguments may be half of what the model
meant, more calls may have been coming) and never learned the limit had been reached, while an
OpenAI-compatible server's ``length`` after a call reached it.

The real gateway in front of the fake Ollama (tier ``local``) and the fake OpenAI-compatible server (``vllm``),
called over HTTP as each ingress's clients call it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.scripts import ToolCalls
from tests.helpers import THREE_BACKENDS

ROUTES = (
    THREE_BACKENDS
    + """tiers:
  local: {targets: [{backend: ollama, model: qwen-tools, capabilities: {tools: true}}]}
  vllm: {targets: [{backend: vllm, model: small, capabilities: {tools: true}}]}
routing: {mode: fixed, fixed_tier: local}
"""
)
SCHEMA = {"type": "object", "properties": {"path": {"type": "string"}}}
READ = ("read_file", {"path": "a.py"})
ASK = [{"role": "user", "content": "read a.py"}]
#: Each ingress: its path, the request body beyond model and stream, and how to read (how the answer ended, the
#: tool calls' names) from a whole answer's body.
INGRESSES: dict[str, tuple[str, dict[str, Any]]] = {
    "chat": (
        "/v1/chat/completions",
        {"messages": ASK, "tools": [{"type": "function", "function": {"name": "read_file", "parameters": SCHEMA}}]},
    ),
    "messages": (
        "/v1/messages",
        {"max_tokens": 64, "messages": ASK, "tools": [{"name": "read_file", "input_schema": SCHEMA}]},
    ),
    "responses": (
        "/v1/responses",
        {"input": "read a.py", "tools": [{"type": "function", "name": "read_file", "parameters": SCHEMA}]},
    ),
}
#: How each ingress says the output limit ended the answer.
CUT = {"chat": "length", "messages": "max_tokens", "responses": "incomplete max_output_tokens"}


@pytest.fixture
def gateway(tmp_path: Path, gateway_for: GatewayFactory, upstream_env: dict[str, str], fake_openai: FakeOpenAI) -> str:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    return gateway_for(routes, {**upstream_env, "VLLM_URL": fake_openai.url})  # type: ignore[attr-defined]


def events(raw: str) -> list[dict[str, Any]]:
    """The JSON of each ``data:`` line of an SSE body ([DONE] left out)."""
    lines = [line[6:] for line in raw.splitlines() if line.startswith("data: ")]
    return [json.loads(line) for line in lines if line != "[DONE]"]


def ending(ingress: str, raw: str, stream: bool) -> tuple[str, list[str]]:
    """How the answer ended, as ``ingress`` says it, and the names of the tool calls it carried."""
    if ingress == "chat":
        if not stream:
            choice = json.loads(raw)["choices"][0]
            return choice["finish_reason"], [c["function"]["name"] for c in choice["message"]["tool_calls"]]
        choices = [e["choices"][0] for e in events(raw) if e.get("choices")]
        calls = [c["function"]["name"] for ch in choices for c in ch["delta"].get("tool_calls") or [] if c.get("id")]
        return [ch["finish_reason"] for ch in choices if ch["finish_reason"]][-1], calls
    if ingress == "messages":
        if not stream:
            message = json.loads(raw)
            return message["stop_reason"], [b["name"] for b in message["content"] if b["type"] == "tool_use"]
        got = events(raw)
        calls = [
            e["content_block"]["name"]
            for e in got
            if e["type"] == "content_block_start" and e["content_block"]["type"] == "tool_use"
        ]
        return next(e["delta"]["stop_reason"] for e in got if e["type"] == "message_delta"), calls
    response = json.loads(raw) if not stream else events(raw)[-1]["response"]
    reason = (response.get("incomplete_details") or {}).get("reason")
    calls = [item["name"] for item in response["output"] if item["type"] == "function_call"]
    return f"{response['status']} {reason}" if reason else response["status"], calls


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("ingress", list(INGRESSES))
@pytest.mark.parametrize("tier", ["local", "vllm"])
def test_an_answer_the_output_limit_ended_after_a_tool_call_says_so(
    gateway: str, fake_ollama: FakeOllama, fake_openai: FakeOpenAI, tier: str, ingress: str, stream: bool
) -> None:
    (fake_ollama if tier == "local" else fake_openai).replies.append(ToolCalls([READ], stop="length"))
    path, body = INGRESSES[ingress]
    r = httpx.post(gateway + path, json={"model": tier, "stream": stream, **body}, timeout=30)
    assert r.status_code == 200, r.text
    assert ending(ingress, r.text, stream) == (CUT[ingress], ["read_file"])


@pytest.mark.parametrize("ingress", list(INGRESSES))
def test_an_ollama_answer_that_ended_on_its_tool_call_still_asks_for_it(
    gateway: str, fake_ollama: FakeOllama, ingress: str
) -> None:
    """Ollama says ``done_reason: "stop"`` after tool calls: that is still ``tool_calls`` (``tool_use``)."""
    fake_ollama.replies.append(ToolCalls([READ]))
    path, body = INGRESSES[ingress]
    r = httpx.post(gateway + path, json={"model": "local", "stream": False, **body}, timeout=30)
    said = {"chat": "tool_calls", "messages": "tool_use", "responses": "completed"}[ingress]
    assert ending(ingress, r.text, False) == (said, ["read_file"])
