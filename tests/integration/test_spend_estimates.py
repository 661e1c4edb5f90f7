"""Spend for answers that came without a token count: the real gateway, fake upstreams, the openai SDK.

A priced target whose upstream reports no usage (llama-cpp-python ignores ``stream_options``, an Ollama
done line without its eval counts), or a stream cut short before its count, is charged an estimate:
characters / 4 of the request and of what came back. Prices here are $1 a token, so dollars are tokens.
"""

from __future__ import annotations

import math
import sqlite3
import time
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.scripts import DEFAULT_TEXT, StreamError, Text

ROUTES = """
backends:
  ollama: {{kind: ollama, base_url: "{ollama}"}}
  llama: {{kind: openai, base_url: "{openai}/v1"}}
tiers:
  local: {{targets: [{{backend: ollama, model: qwen-fake, price: {{input: 1000000, output: 1000000}}}}]}}
  llama: {{targets: [{{backend: llama, model: llama-fake, price: {{input: 1000000, output: 1000000}}}}]}}
retries: {{attempts: 0}}
routing: {{mode: fixed, fixed_tier: local, stickiness: {{enabled: false}}}}
budgets: {{clients: {{"*": {{daily_usd: 1000, on_exceed: reject}}}}}}
"""

ASK = "hi"  # 2 characters: 1 token
ASKED = 1


def start(tmp_path: Path, ollama: FakeOllama, upstream: FakeOpenAI, gateway_for: GatewayFactory) -> str:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES.format(ollama=ollama.url, openai=upstream.url))  # type: ignore[attr-defined]
    return gateway_for(routes, {})


def spent(base: str) -> float:
    clients = httpx.get(base + "/health").json()["spend"]["clients"]
    return float(clients.get("anonymous", {}).get("daily_usd", 0.0))


def settled(base: str, before: float) -> float:
    """The spend added since ``before``, once the request's record has been observed."""
    deadline = time.monotonic() + 5
    while (now := spent(base)) == before and time.monotonic() < deadline:
        time.sleep(0.02)
    return now - before


def logged(tmp_path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp_path / "tiergate-decisions.db") as conn:
        return conn.execute(
            "SELECT tier, prompt_tokens, completion_tokens, cost_usd FROM decisions ORDER BY ts"
        ).fetchall()


@pytest.fixture
def llama_cpp(fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    monkeypatch.setattr(fake_openai, "personality", "llama-cpp-python")  # a stream without usage
    return fake_openai


def test_a_stream_without_usage_is_charged_an_estimate_not_nothing(
    tmp_path: Path, fake_ollama: FakeOllama, llama_cpp: FakeOpenAI, gateway_for: GatewayFactory
) -> None:
    base = start(tmp_path, fake_ollama, llama_cpp, gateway_for)
    client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0)
    before = spent(base)

    chunks = list(
        client.chat.completions.create(model="llama", messages=[{"role": "user", "content": ASK}], stream=True)
    )

    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == DEFAULT_TEXT
    assert settled(base, before) == pytest.approx(ASKED + math.ceil(len(DEFAULT_TEXT) / 4))
    # the log keeps the upstream's own count (none) apart from what was charged
    time.sleep(0.3)
    assert logged(tmp_path)[-1] == ("llama", None, None, pytest.approx(ASKED + math.ceil(len(DEFAULT_TEXT) / 4)))


def test_an_ollama_answer_without_eval_counts_is_charged_an_estimate(
    tmp_path: Path, fake_ollama: FakeOllama, fake_openai: FakeOpenAI, gateway_for: GatewayFactory
) -> None:
    base = start(tmp_path, fake_ollama, fake_openai, gateway_for)
    client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0)
    fake_ollama.queue.replies.extend([Text("a" * 40, counted=False), Text("b" * 40, counted=False)])
    before = spent(base)

    whole = client.chat.completions.create(model="local", messages=[{"role": "user", "content": ASK}])
    assert whole.choices[0].message.content == "a" * 40
    assert settled(base, before) == pytest.approx(ASKED + 10)

    before = spent(base)
    streamed = client.chat.completions.create(model="local", messages=[{"role": "user", "content": ASK}], stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == "b" * 40
    assert settled(base, before) == pytest.approx(ASKED + 10)


def test_a_stream_cut_short_is_charged_for_what_it_sent(
    tmp_path: Path, fake_ollama: FakeOllama, fake_openai: FakeOpenAI, gateway_for: GatewayFactory
) -> None:
    """The count comes last, so a stream that breaks has none: the text sent so far is charged."""
    base = start(tmp_path, fake_ollama, fake_openai, gateway_for)
    client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0)
    fake_openai.queue.replies.append(StreamError(after_events=3, message="the model crashed"))
    before = spent(base)

    received = []
    with pytest.raises(openai.APIError, match="the model crashed"):
        for chunk in client.chat.completions.create(
            model="llama", messages=[{"role": "user", "content": ASK}], stream=True
        ):
            received.append(chunk.choices[0].delta.content or "" if chunk.choices else "")

    text = "".join(received)
    assert text and DEFAULT_TEXT.startswith(text) and text != DEFAULT_TEXT
    assert settled(base, before) == pytest.approx(ASKED + math.ceil(len(text) / 4))


def test_a_messages_client_sees_the_estimate_it_was_charged_whole_and_streamed(
    tmp_path: Path, fake_ollama: FakeOllama, fake_openai: FakeOpenAI, gateway_for: GatewayFactory
) -> None:
    """An answer the upstream counted no tokens for: the Messages usage is the estimate, never zeros."""
    base = start(tmp_path, fake_ollama, fake_openai, gateway_for)
    claude = anthropic.Anthropic(base_url=base, api_key="unused", max_retries=0)
    fake_ollama.queue.replies.extend([Text("a" * 40, counted=False), Text("b" * 40, counted=False)])
    ask: Any = {"model": "local", "max_tokens": 64, "messages": [{"role": "user", "content": ASK}]}

    before = spent(base)
    whole = claude.messages.create(**ask)
    assert (whole.usage.input_tokens, whole.usage.output_tokens) == (ASKED, 10)
    assert settled(base, before) == pytest.approx(ASKED + 10)

    with claude.messages.stream(**ask) as stream:
        streamed = stream.get_final_message()
    assert (streamed.usage.input_tokens, streamed.usage.output_tokens) == (ASKED, 10)
