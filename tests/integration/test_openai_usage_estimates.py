"""OpenAI clients see the usage they were charged: the real gateway, fake upstreams, the openai SDK.

An upstream that counts no tokens (an Ollama done line without its eval counts, llama-cpp-python, which
ignores ``stream_options``) is charged an estimate, characters / 4 of the request and of the answer; the
chat and legacy completions answer that same estimate, marked ``estimated: true``, instead of zeros. The
decision log keeps the upstream's own count (none).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.scripts import Text

ROUTES = """
backends:
  ollama: {{kind: ollama, base_url: "{ollama}"}}
  llama: {{kind: openai, base_url: "{openai}/v1"}}
tiers:
  local: {{targets: [{{backend: ollama, model: qwen-fake}}]}}
  llama: {{targets: [{{backend: llama, model: llama-fake}}]}}
retries: {{attempts: 0}}
routing: {{mode: fixed, fixed_tier: local, stickiness: {{enabled: false}}}}
"""

ASK = "x" * 40  # 10 tokens
ANSWER = "a" * 22  # 6 tokens, rounded up
ESTIMATE = (10, 6, 16)


@pytest.fixture
def base(tmp_path: Path, fake_ollama: FakeOllama, fake_openai: FakeOpenAI, gateway_for: GatewayFactory) -> str:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES.format(ollama=fake_ollama.url, openai=fake_openai.url))  # type: ignore[attr-defined]
    return gateway_for(routes, {})


@pytest.fixture
def client(base: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0, timeout=30) as sdk:
        yield sdk


@pytest.fixture
def uncounted_streams(fake_ollama: FakeOllama, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    """One ``ANSWER`` queued on each upstream, streamed without a count: Ollama's done line has no eval counts,
    and the OpenAI upstream is llama-cpp-python."""
    fake_ollama.replies.append(Text(ANSWER, counted=False))
    monkeypatch.setattr(fake_openai, "personality", "llama-cpp-python")  # its streams never carry usage
    fake_openai.replies.append(Text(ANSWER))


def counts(usage: Any) -> tuple[int, int, int]:
    return usage.prompt_tokens, usage.completion_tokens, usage.total_tokens


def logged(tmp_path: Path, rows: int) -> list[tuple[Any, ...]]:
    """The decision log's token columns, once it holds ``rows`` rows (a row is written after the answer)."""
    deadline = time.monotonic() + 5
    while True:
        with sqlite3.connect(tmp_path / "tiergate-decisions.db") as conn:
            found = conn.execute("SELECT tier, prompt_tokens, completion_tokens FROM decisions ORDER BY ts").fetchall()
        if len(found) >= rows or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def test_a_whole_chat_answer_without_a_count_reports_the_estimate(
    tmp_path: Path, client: openai.OpenAI, fake_ollama: FakeOllama
) -> None:
    fake_ollama.replies.extend([Text(ANSWER, counted=False), Text(ANSWER)])

    uncounted = client.chat.completions.create(model="local", messages=[{"role": "user", "content": ASK}])
    assert uncounted.choices[0].message.content == ANSWER
    assert uncounted.usage is not None
    assert counts(uncounted.usage) == ESTIMATE and uncounted.usage.model_extra == {"estimated": True}

    counted = client.chat.completions.create(model="local", messages=[{"role": "user", "content": ASK}])
    assert counted.usage is not None
    assert counts(counted.usage) == (11, 7, 18) and not counted.usage.model_extra

    assert logged(tmp_path, 2) == [("local", None, None), ("local", 11, 7)]


@pytest.mark.usefixtures("uncounted_streams")
@pytest.mark.parametrize("tier", ["local", "llama"])
def test_a_chat_stream_without_a_count_ends_with_the_estimate(tmp_path: Path, client: openai.OpenAI, tier: str) -> None:
    chunks = list(
        client.chat.completions.create(
            model=tier,
            messages=[{"role": "user", "content": ASK}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ANSWER
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert counts(last.usage) == ESTIMATE and last.usage.model_extra == {"estimated": True}
    assert all(c.usage is None for c in chunks[:-1])
    assert logged(tmp_path, 1) == [(tier, None, None)]


def test_a_legacy_completion_without_a_count_reports_the_estimate(
    client: openai.OpenAI, fake_ollama: FakeOllama
) -> None:
    fake_ollama.replies.extend([Text(ANSWER, counted=False), Text(ANSWER, counted=False)])

    whole = client.completions.create(model="local", prompt=ASK)
    assert whole.choices[0].text == ANSWER
    assert whole.usage is not None
    assert counts(whole.usage) == ESTIMATE and whole.usage.model_extra == {"estimated": True}

    streamed = list(
        client.completions.create(model="local", prompt=ASK, stream=True, stream_options={"include_usage": True})
    )
    assert "".join(c.choices[0].text for c in streamed if c.choices) == ANSWER
    assert streamed[-1].usage is not None
    assert counts(streamed[-1].usage) == ESTIMATE and streamed[-1].usage.model_extra == {"estimated": True}
