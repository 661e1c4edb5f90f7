"""Codex's tool loop on a Claude tier keeps thinking on every step: Claude's signed thinking goes to the
client as a reasoning item's ``encrypted_content`` and comes back onto the loop's assistant turn.

The fake Anthropic here refuses (400) a loop step that has thinking off or whose assistant turn does not
begin with its signed thinking block (``FakeAnthropic(loop_thinking=True)``); the clients are the openai
SDK's ``responses`` and raw httpx streaming, through the real app on the repository's routes.yaml."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import ROOT, TEST_KEY, GatewayFactory
from tests.fakes.anthropic import THINKING, FakeAnthropic
from tests.fakes.anthropic_checks import SIGNATURE
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Text, ToolCalls
from tests.fakes.server import serve
from tiergate.protocols.responses.reasoning import PREFIX, unseal
from tiergate.wire import Thinking

SHELL = {
    "type": "function",
    "name": "exec_command",
    "description": "Run a shell command",
    "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]},
    "strict": False,
}
ASK = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "prove the loop terminates"}]}
#: What Codex sends on every step of its loop.
CODEX = {
    "model": "sonnet",
    "instructions": "You are a coding agent.",
    "tools": [SHELL],
    "tool_choice": "auto",
    "parallel_tool_calls": False,
    "reasoning": {"effort": "medium", "summary": "auto"},
    "store": False,
    "include": ["reasoning.encrypted_content"],
}
SIGNED = Thinking(thinking=THINKING, signature=SIGNATURE)
LEADING_THINKING = {"type": "thinking", "thinking": THINKING, "signature": SIGNATURE}


@pytest.fixture
def strict_claude() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic(loop_thinking=True)
    with serve(fake.app) as url:
        fake.url = url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture
def base(gateway_for: GatewayFactory, strict_claude: FakeAnthropic, fake_ollama: FakeOllama) -> str:
    env = {
        "OLLAMA_HOST": fake_ollama.url,  # type: ignore[attr-defined]
        "ANTHROPIC_BASE_URL": strict_claude.url,  # type: ignore[attr-defined]
        "ANTHROPIC_API_KEY": TEST_KEY,
    }
    return gateway_for(ROOT / "routes.yaml", env)


@pytest.fixture
def sdk(base: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=base + "/v1", api_key="sk-client-unused", max_retries=0, timeout=30) as client:
        yield client


def events_of(base: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    with httpx.stream("POST", base + "/v1/responses", json={**body, "stream": True}, timeout=30) as r:
        assert r.status_code == 200, r.read()
        frames = [f for f in r.read().decode().split("\n\n") if f]
    return [json.loads(f.split("data: ", 1)[1]) for f in frames]


def test_a_streamed_codex_loop_thinks_on_every_step(base: str, strict_claude: FakeAnthropic) -> None:
    strict_claude.replies.extend(
        [ToolCalls([("exec_command", {"cmd": "ls"})]), ToolCalls([("exec_command", {"cmd": "cat x"})]), Text("Done.")]
    )
    events = events_of(base, {**CODEX, "input": [ASK]})
    assert strict_claude.requests[0].body["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    reasoning = [e for e in events if e.get("item_id", e.get("item", {}).get("id")) == "rs_" + _tail(events) + "_0"]
    item_id = reasoning[0]["item"]["id"]
    assert reasoning == [
        {"type": "response.output_item.added", "sequence_number": 2, "output_index": 0,
         "item": {"type": "reasoning", "id": item_id, "summary": []}},
        {"type": "response.reasoning_summary_part.added", "sequence_number": 3, "item_id": item_id,
         "output_index": 0, "summary_index": 0, "part": {"type": "summary_text", "text": ""}},
        {"type": "response.reasoning_summary_text.delta", "sequence_number": 4, "item_id": item_id,
         "output_index": 0, "summary_index": 0, "delta": THINKING[:12]},
        {"type": "response.reasoning_summary_text.delta", "sequence_number": 5, "item_id": item_id,
         "output_index": 0, "summary_index": 0, "delta": THINKING[12:]},
        {"type": "response.reasoning_summary_text.done", "sequence_number": 6, "item_id": item_id,
         "output_index": 0, "summary_index": 0, "text": THINKING},
        {"type": "response.reasoning_summary_part.done", "sequence_number": 7, "item_id": item_id,
         "output_index": 0, "summary_index": 0, "part": {"type": "summary_text", "text": THINKING}},
        {"type": "response.output_item.done", "sequence_number": 8, "output_index": 0, "item": reasoning[-1]["item"]},
    ]  # fmt: skip
    done = reasoning[-1]["item"]
    assert done == {
        "type": "reasoning",
        "id": item_id,
        "summary": [{"type": "summary_text", "text": THINKING}],
        "encrypted_content": done["encrypted_content"],
    }
    assert done["encrypted_content"].startswith(PREFIX) and unseal(done["encrypted_content"]) == [SIGNED]
    completed = events[-1]["response"]
    assert completed["output"][0] == done and [o["type"] for o in completed["output"]] == ["reasoning", "function_call"]

    # Codex sends the whole history back, reasoning item first, on each step of the loop.
    history = [ASK, *completed["output"], _output(completed["output"][1], "a.txt")]
    events = events_of(base, {**CODEX, "input": history})
    assert events[-1]["type"] == "response.completed", events[-1]
    sent = strict_claude.requests[1].body
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    assert sent["messages"][1]["role"] == "assistant"
    assert sent["messages"][1]["content"][0] == LEADING_THINKING
    assert sent["messages"][1]["content"][1]["type"] == "tool_use"

    history += [*events[-1]["response"]["output"], _output(events[-1]["response"]["output"][1], "x")]
    events = events_of(base, {**CODEX, "input": history})
    assert events[-1]["type"] == "response.completed", events[-1]
    assert [t["content"][0] for t in strict_claude.requests[2].body["messages"] if t["role"] == "assistant"] == [
        LEADING_THINKING,
        LEADING_THINKING,
    ]
    assert len(strict_claude.requests) == 3


def test_the_sdk_carries_thinking_through_a_whole_answer(sdk: openai.OpenAI, strict_claude: FakeAnthropic) -> None:
    strict_claude.replies.extend([ToolCalls([("exec_command", {"cmd": "ls"})]), Text("Two files.")])
    first = sdk.responses.create(**CODEX, input=[ASK])  # type: ignore[call-overload]
    reasoning, call = first.output
    assert reasoning.type == "reasoning" and reasoning.summary[0].text == THINKING
    assert unseal(reasoning.encrypted_content) == [SIGNED]
    history = [ASK, reasoning.model_dump(exclude_none=True), call.model_dump(exclude_none=True), _output(call, "a b")]
    second = sdk.responses.create(**CODEX, input=history)  # type: ignore[call-overload]
    assert second.output_text == "Two files."
    assert strict_claude.requests[1].body["messages"][1]["content"][0] == LEADING_THINKING


def test_without_include_no_thinking_is_handed_out(sdk: openai.OpenAI, strict_claude: FakeAnthropic) -> None:
    strict_claude.replies.append(ToolCalls([("exec_command", {"cmd": "ls"})]))
    response = sdk.responses.create(**{**CODEX, "include": []}, input=[ASK])  # type: ignore[call-overload]
    assert response.output[0].model_dump(exclude_none=True) == {
        "type": "reasoning",
        "id": response.output[0].id,
        "summary": [{"type": "summary_text", "text": THINKING}],
    }


def test_foreign_reasoning_leaves_the_step_without_thinking(gateway: str, fake_anthropic: FakeAnthropic) -> None:
    """Another provider's ``encrypted_content``, or content that does not decode, is dropped as before:
    thinking is off for that step, which the real API allows (the lenient fake stands for it)."""
    call = {"type": "function_call", "call_id": "call_1", "name": "exec_command", "arguments": '{"cmd": "ls"}'}
    for content in ("gAAAAB-openai-own", PREFIX + "not-base64-json", PREFIX + "W10="):  # W10= is "[]"
        item = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": content}
        events = events_of(gateway, {**CODEX, "input": [ASK, item, call, _output(call, "a")]})
        assert events[-1]["type"] == "response.completed"
        sent = fake_anthropic.requests[-1].body
        assert "thinking" not in sent and sent["messages"][1]["content"][0]["type"] == "tool_use"


def _output(call: Any, text: str) -> dict[str, Any]:
    call_id = call["call_id"] if isinstance(call, dict) else call.call_id
    return {"type": "function_call_output", "call_id": call_id, "output": text}


def _tail(events: list[dict[str, Any]]) -> str:
    return str(events[0]["response"]["id"]).removeprefix("resp_")
