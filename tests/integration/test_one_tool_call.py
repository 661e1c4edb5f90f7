"""One tool call at most where the client asked for no parallel calls (Messages'
``disable_parallel_tool_use``, chat's ``parallel_tool_calls: false``), on upstreams that do not keep it
themselves: Ollama has no such option, and an OpenAI-compatible server may ignore it (the fake one does).
The official SDKs → the real gateway → the fake upstreams, over real sockets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.scripts import ToolCalls
from tests.helpers import VISION_ROUTES

HI: list[Any] = [{"role": "user", "content": "look up the weather and the time in Paris"}]
CALLS = [("get_weather", {"city": "Paris"}), ("get_time", {"city": "Paris"})]
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}}
MESSAGES_TOOLS: list[Any] = [{"name": n, "input_schema": SCHEMA} for n in ("get_weather", "get_time")]
CHAT_TOOLS: list[Any] = [
    {"type": "function", "function": {"name": n, "parameters": SCHEMA}} for n in ("get_weather", "get_time")
]
#: the tier on each kind of upstream (VISION_ROUTES: local on Ollama, opus on an OpenAI-compatible server)
TIERS = ["local", "opus"]


@pytest.fixture
def base(tmp_path: Path, gateway_for: GatewayFactory, upstream_env: dict[str, str], fake_openai: FakeOpenAI) -> str:
    routes = tmp_path / "routes.yaml"
    routes.write_text(VISION_ROUTES)
    return gateway_for(routes, {**upstream_env, "VLLM_URL": fake_openai.url})  # type: ignore[attr-defined]


@pytest.fixture
def claude(base: str) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=base, api_key="unused", max_retries=0, timeout=30) as sdk:
        yield sdk


@pytest.fixture
def chat(base: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0, timeout=30) as sdk:
        yield sdk


def script(tier: str, ollama: FakeOllama, compatible: FakeOpenAI) -> None:
    (ollama if tier == "local" else compatible).replies.append(ToolCalls(CALLS))


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("kind", ["auto", "any"])
@pytest.mark.parametrize("tier", TIERS)
def test_messages_disable_parallel_tool_use_gets_one_call(
    claude: anthropic.Anthropic,
    fake_ollama: FakeOllama,
    fake_openai: FakeOpenAI,
    tier: str,
    kind: str,
    stream: bool,
) -> None:
    script(tier, fake_ollama, fake_openai)
    ask: dict[str, Any] = {
        "model": tier,
        "max_tokens": 64,
        "messages": HI,
        "tools": MESSAGES_TOOLS,
        "tool_choice": {"type": kind, "disable_parallel_tool_use": True},
    }
    if stream:
        with claude.messages.stream(**ask) as events:
            message = events.get_final_message()
    else:
        message = claude.messages.create(**ask)
    assert message.stop_reason == "tool_use"
    assert [(b.type, b.name, b.input) for b in message.content] == [  # type: ignore[union-attr]
        ("tool_use", "get_weather", {"city": "Paris"})
    ]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("tier", TIERS)
def test_chat_parallel_tool_calls_false_gets_one_call(
    chat: openai.OpenAI, fake_ollama: FakeOllama, fake_openai: FakeOpenAI, tier: str, stream: bool
) -> None:
    script(tier, fake_ollama, fake_openai)
    ask: dict[str, Any] = {"model": tier, "messages": HI, "tools": CHAT_TOOLS, "parallel_tool_calls": False}
    if stream:
        calls: dict[int, list[str]] = {}
        for chunk in chat.chat.completions.create(stream=True, **ask):
            for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                piece = calls.setdefault(call.index, ["", ""])
                piece[0] += call.function.name or "" if call.function else ""
                piece[1] += call.function.arguments or "" if call.function else ""
        made = [(name, json.loads(arguments)) for name, arguments in calls.values()]
    else:
        message = chat.chat.completions.create(**ask).choices[0].message
        made = [(c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []]  # type: ignore[union-attr]
    assert made == [("get_weather", {"city": "Paris"})]


@pytest.mark.parametrize("tier", TIERS)
def test_parallel_calls_are_kept_when_the_client_allows_them(
    claude: anthropic.Anthropic, fake_ollama: FakeOllama, fake_openai: FakeOpenAI, tier: str
) -> None:
    script(tier, fake_ollama, fake_openai)
    message = claude.messages.create(model=tier, max_tokens=64, messages=HI, tools=MESSAGES_TOOLS)
    assert [b.name for b in message.content] == ["get_weather", "get_time"]  # type: ignore[union-attr]
