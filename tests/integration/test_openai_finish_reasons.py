"""The finish reasons OpenAI-compatible servers, and the gateways before them, name for themselves, through every
ingress, behind the real gateway: an answer a server cut short never reaches a client as a whole one, and one it
ended cleanly never as a cut.

Mistral's ``model_length`` (the model's context window ended the answer) is a length cut; DeepSeek's
``insufficient_system_resource`` (the request was interrupted for want of capacity) is a failed generation, as
vLLM's ``error`` and ``abort`` are. A gateway's ``end_turn``, ``tool_use`` or upper-case ``STOP`` is the clean end
it names. A reason tiergate does not know is read by what it says: a limit (``max_length_reached``) is a cut, a
failure (``server_error``) a failed generation, anything else (``end_of_text``) a clean end.

Tier ``local`` (the fake OpenAI-compatible server) falls back to ``rescue`` (the fake Ollama).
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
from tests.fakes.scripts import Text, ToolCalls

ROUTES = """
version: 1
backends:
  vllm: {kind: openai, base_url: "${VLLM_URL}/v1"}
  ollama: {kind: ollama, base_url: "${OLLAMA_HOST}"}
tiers:
  local: {targets: [{backend: vllm, model: small}]}
  rescue: {targets: [{backend: ollama, model: qwen-rescue}]}
fallbacks: {local: [rescue]}
routing: {mode: fixed, fixed_tier: local, stickiness: {enabled: false}}
retries: {attempts: 0}
"""
ANSWER = "The first half of the answer, and then"
RESCUED = "Rescued by the fallback."
ASK = [{"role": "user", "content": "hi"}]
#: Each ingress: its path and the request body beyond model and stream.
INGRESSES: dict[str, tuple[str, dict[str, Any]]] = {
    "chat": ("/v1/chat/completions", {"messages": ASK}),
    "messages": ("/v1/messages", {"max_tokens": 64, "messages": ASK}),
    "responses": ("/v1/responses", {"input": "hi"}),
}
PARAMETERS: dict[str, Any] = {"type": "object", "properties": {"city": {"type": "string"}}}
#: Each ingress: the tool the request offers, in its own shape.
TOOLS: dict[str, list[dict[str, Any]]] = {
    "chat": [{"type": "function", "function": {"name": "get_weather", "parameters": PARAMETERS}}],
    "messages": [{"name": "get_weather", "input_schema": PARAMETERS}],
    "responses": [{"type": "function", "name": "get_weather", "parameters": PARAMETERS}],
}
#: How each ingress says the answer was cut short.
CUT = {"chat": "length", "messages": "max_tokens", "responses": "incomplete max_output_tokens"}
#: How each ingress says the answer ended cleanly.
CLEAN = {"chat": "stop", "messages": "end_turn", "responses": "completed"}
#: How each ingress says the answer ended in tool calls.
CALLED = {"chat": "tool_calls", "messages": "tool_use", "responses": "completed"}


@pytest.fixture
def gateway(tmp_path: Path, gateway_for: GatewayFactory, fake_openai: FakeOpenAI, fake_ollama: FakeOllama) -> str:
    fake_ollama.queue.default = Text(RESCUED, chunks=2)
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    return gateway_for(routes, {"VLLM_URL": fake_openai.url, "OLLAMA_HOST": fake_ollama.url})  # type: ignore[attr-defined]


def ask(gateway: str, ingress: str, *, stream: bool, tools: bool = False) -> httpx.Response:
    path, body = INGRESSES[ingress]
    offered = {"tools": TOOLS[ingress]} if tools else {}
    return httpx.post(gateway + path, json={"model": "local", "stream": stream, **body, **offered}, timeout=30)


def events(raw: str) -> list[tuple[str | None, Any]]:
    """Each SSE event of a body: its ``event:`` name (None without one) and its data (JSON, or ``[DONE]``)."""
    out: list[tuple[str | None, Any]] = []
    for block in raw.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        data = lines["data"]
        out.append((lines.get("event"), data if data == "[DONE]" else json.loads(data)))
    return out


def ending(ingress: str, raw: str, stream: bool) -> tuple[str, str]:
    """(what the answer said, how ``ingress`` says it ended) of a whole answer or a stream that ended cleanly."""
    if ingress == "chat":
        if not stream:
            choice = json.loads(raw)["choices"][0]
            return choice["message"]["content"], choice["finish_reason"]
        got = events(raw)
        assert got[-1] == (None, "[DONE]"), raw
        choices = [data["choices"][0] for _, data in got if isinstance(data, dict) and data.get("choices")]
        text = "".join(c["delta"].get("content") or "" for c in choices)
        return text, "/".join(c["finish_reason"] for c in choices if c["finish_reason"])
    if ingress == "messages":
        if not stream:
            message = json.loads(raw)
            return "".join(b["text"] for b in message["content"] if b["type"] == "text"), message["stop_reason"]
        got = events(raw)
        assert got[-1][0] == "message_stop", raw
        text = "".join(d["delta"].get("text", "") for name, d in got if name == "content_block_delta")
        return text, "/".join(d["delta"]["stop_reason"] for name, d in got if name == "message_delta")
    response = json.loads(raw) if not stream else events(raw)[-1][1]["response"]
    text = "".join(p["text"] for item in response["output"] if item["type"] == "message" for p in item["content"])
    reason = (response.get("incomplete_details") or {}).get("reason")
    return text, f"{response['status']} {reason}" if reason else response["status"]


def failure(ingress: str, raw: str) -> tuple[str, str, bool]:
    """(what the stream said, its error's message, whether anything in it claimed an end) of a stream that
    failed after its first bytes."""
    got = events(raw)
    if ingress == "chat":
        choices = [data["choices"][0] for _, data in got if isinstance(data, dict) and data.get("choices")]
        text = "".join(c["delta"].get("content") or "" for c in choices)
        ended = any(c["finish_reason"] for c in choices) or (None, "[DONE]") in got
        return text, got[-1][1]["error"]["message"], ended
    if ingress == "messages":
        text = "".join(d["delta"].get("text", "") for name, d in got if name == "content_block_delta")
        assert got[-1][0] == "error", raw
        ended = any(name in ("message_delta", "message_stop") for name, _ in got)
        return text, got[-1][1]["error"]["message"], ended
    text = "".join(d["delta"] for name, d in got if name == "response.output_text.delta")
    assert got[-1][0] == "response.failed", raw
    ended = any(name in ("response.completed", "response.incomplete") for name, _ in got)
    return text, got[-1][1]["response"]["error"]["message"], ended


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("ingress", list(INGRESSES))
@pytest.mark.parametrize("reason", ["model_length", "MAX_TOKENS", "max_length_reached"])
def test_a_reason_that_says_a_limit_cut_the_answer_reads_as_a_cut(
    gateway: str, fake_openai: FakeOpenAI, fake_ollama: FakeOllama, reason: str, ingress: str, stream: bool
) -> None:
    """Mistral's ``model_length``, a Gemini gateway's ``MAX_TOKENS``, and ``max_length_reached``, a reason
    tiergate does not know that names a limit: the answer is all that came, and it says it was cut short."""
    fake_openai.replies.append(Text(ANSWER, stop=reason))
    r = ask(gateway, ingress, stream=stream)
    assert r.status_code == 200, r.text
    assert r.headers["x-tiergate-attempts"] == "local/small:ok"
    assert ending(ingress, r.text, stream) == (ANSWER, CUT[ingress])
    assert not fake_ollama.requests


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("ingress", list(INGRESSES))
@pytest.mark.parametrize("reason", ["end_turn", "STOP", "end_of_text"])
def test_a_reason_that_names_a_clean_end_its_own_way_reads_as_one(
    gateway: str, fake_openai: FakeOpenAI, fake_ollama: FakeOllama, reason: str, ingress: str, stream: bool
) -> None:
    """A Bedrock gateway's ``end_turn``, a Gemini one's ``STOP``, and ``end_of_text``, which tiergate does not know
    and which names neither a limit nor a failure. Each once read as a cut, which Codex retries and pays for."""
    fake_openai.replies.append(Text(ANSWER, stop=reason))
    r = ask(gateway, ingress, stream=stream)
    assert r.status_code == 200, r.text
    assert ending(ingress, r.text, stream) == (ANSWER, CLEAN[ingress])


def called(ingress: str, raw: str, stream: bool) -> tuple[list[str], str]:
    """(the tools the answer called, how ``ingress`` says it ended)."""
    if ingress == "chat":
        if not stream:
            choice = json.loads(raw)["choices"][0]
            return [c["function"]["name"] for c in choice["message"]["tool_calls"]], choice["finish_reason"]
        choices = [d["choices"][0] for _, d in events(raw) if isinstance(d, dict) and d.get("choices")]
        names = [c["function"]["name"] for ch in choices for c in ch["delta"].get("tool_calls") or [] if "id" in c]
        return names, "/".join(c["finish_reason"] for c in choices if c["finish_reason"])
    if ingress == "messages":
        if not stream:
            message = json.loads(raw)
            return [b["name"] for b in message["content"] if b["type"] == "tool_use"], message["stop_reason"]
        got = events(raw)
        names = [d["content_block"]["name"] for n, d in got if n == "content_block_start"]
        return names, "/".join(d["delta"]["stop_reason"] for n, d in got if n == "message_delta")
    response = json.loads(raw) if not stream else events(raw)[-1][1]["response"]
    return [item["name"] for item in response["output"] if item["type"] == "function_call"], response["status"]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("ingress", list(INGRESSES))
@pytest.mark.parametrize("reason", ["tool_use", "end_turn", "end", "STOP", "done"])
def test_tool_calls_ended_by_a_clean_end_of_another_name_are_tool_calls(
    gateway: str, fake_openai: FakeOpenAI, reason: str, ingress: str, stream: bool
) -> None:
    """Anthropic's ``tool_use`` and ``end_turn`` (a Bedrock gateway's), ``end``, a Gemini gateway's ``STOP``, and
    ``done``, which tiergate does not know: the calls reach the client as calls, not as an answer cut short
    (chat's ``length``, which the openai SDK's ``parse()`` raises on; Responses' ``incomplete``, which Codex
    retries)."""
    fake_openai.replies.append(ToolCalls([("get_weather", {"city": "Paris"})], stop=reason))
    r = ask(gateway, ingress, stream=stream, tools=True)
    assert r.status_code == 200, r.text
    assert called(ingress, r.text, stream) == (["get_weather"], CALLED[ingress])


@pytest.mark.parametrize("ingress", list(INGRESSES))
@pytest.mark.parametrize("reason", ["insufficient_system_resource", "server_error"])
def test_a_generation_interrupted_after_the_first_token_ends_the_stream_in_an_error(
    gateway: str, fake_openai: FakeOpenAI, fake_ollama: FakeOllama, reason: str, ingress: str
) -> None:
    """DeepSeek's ``insufficient_system_resource``, and ``server_error``, which tiergate does not know and which
    names a failure: the text that came, then an error, and nothing that says the answer ended."""
    fake_openai.replies.append(Text(ANSWER, stop=reason))
    r = ask(gateway, ingress, stream=True)
    assert r.status_code == 200, r.text
    text, message, ended = failure(ingress, r.text)
    assert (text, ended) == (ANSWER, False)
    assert message.endswith(
        f"the server ended the answer with finish_reason '{reason}': its generation failed, the answer is incomplete"
    ), message
    assert not fake_ollama.requests, "an answer begun is not asked again"


@pytest.mark.parametrize("ingress", list(INGRESSES))
@pytest.mark.parametrize("reason", ["insufficient_system_resource", "server_error"])
def test_a_whole_answer_interrupted_by_the_server_falls_back(
    gateway: str, fake_openai: FakeOpenAI, fake_ollama: FakeOllama, reason: str, ingress: str
) -> None:
    fake_openai.replies.append(Text(ANSWER, stop=reason))
    r = ask(gateway, ingress, stream=False)
    assert r.status_code == 200, r.text
    assert r.headers["x-tiergate-attempts"] == "local/small:protocol, rescue/qwen-rescue:ok"
    assert ending(ingress, r.text, False) == (RESCUED, CLEAN[ingress])
