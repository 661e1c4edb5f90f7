"""Prompt caching end to end: the official SDKs → ``tiergate serve``'s app → the fake Anthropic, which reports
prompt-cache reads and writes. Spend counts them at the target's ``cache_read`` / ``cache_write`` prices,
and each ingress dialect reports them in its own usage fields."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.conftest import TEST_KEY, GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Text

ROUTES = """
backends:
  ollama: {{kind: ollama, base_url: "{ollama}"}}
  anthropic: {{kind: anthropic, base_url: "{anthropic}", api_key_env: ANTHROPIC_API_KEY}}
tiers:
  local: {{targets: [{{backend: ollama, model: qwen-fake}}]}}
  sonnet: {{targets: [{{backend: anthropic, model: claude-mid, price: {price}}}]}}
fallbacks: {{local: [sonnet]}}
retries: {{attempts: 0}}
budgets: {{tiers: {{sonnet: {{daily_usd: 100}}}}}}
"""
CACHE_PRICED = "{input: 3, output: 15, cache_read: 0.3, cache_write: 3.75}"
ENV = {"ANTHROPIC_API_KEY": TEST_KEY}
MESSAGES: Any = [{"role": "user", "content": "continue the refactor"}]

#: A Claude Code turn: 10 new input tokens, 10000 read from the prompt cache, 20 out. At $3 in, $0.30 a
#: cached read and $15 out per million: 10 x 3 + 10000 x 0.3 + 20 x 15 = $0.003330 (not $0.030330).
CACHED_TURN_USD = 0.003330
#: 10 new, 2000 written to the cache at $3.75, 20 out.
WRITING_TURN_USD = (10 * 3 + 2_000 * 3.75 + 20 * 15) / 1e6


def cached_turn() -> Text:
    return Text("ok", chunks=2, prompt_tokens=10, completion_tokens=20, cache_read_tokens=10_000)


def start(
    tmp_path: Path,
    fake_ollama: FakeOllama,
    fake_anthropic: FakeAnthropic,
    gateway_for: GatewayFactory,
    price: str = CACHE_PRICED,
) -> str:
    path = tmp_path / "routes.yaml"
    url = {"ollama": fake_ollama.url, "anthropic": fake_anthropic.url}  # type: ignore[attr-defined]
    path.write_text(ROUTES.format(price=price, **url))
    return gateway_for(path, ENV)


def spent(base: str, expected: float) -> float:
    """The sonnet tier's spend today, once the finished requests have been counted (observers run after the
    response has gone out)."""
    deadline = time.monotonic() + 5
    while True:
        usd = float(httpx.get(base + "/health").json()["spend"]["tiers"]["sonnet"]["daily_usd"])
        if usd == pytest.approx(expected) or time.monotonic() > deadline:
            return usd
        time.sleep(0.02)


def logged_cost(db: Path, decision_id: str) -> float:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if db.exists():
            with sqlite3.connect(db) as conn:
                row = conn.execute("SELECT cost_usd FROM decisions WHERE decision_id = ?", (decision_id,)).fetchone()
            if row is not None:
                return float(row[0])
        time.sleep(0.02)
    raise AssertionError(f"no decision log row for {decision_id}")


def test_chat_completions_count_cache_reads_at_the_cache_price_and_report_them(
    tmp_path: Path, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, gateway_for: GatewayFactory
) -> None:
    base = start(tmp_path, fake_ollama, fake_anthropic, gateway_for)
    fake_anthropic.replies.append(cached_turn())
    with openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(model="sonnet", messages=MESSAGES)
        answer = raw.parse()
        assert raw.headers["x-tiergate-tier"] == "sonnet"
        assert answer.usage is not None
        assert (answer.usage.prompt_tokens, answer.usage.completion_tokens, answer.usage.total_tokens) == (
            10_010,
            20,
            10_030,
        )
        assert answer.usage.prompt_tokens_details is not None
        assert answer.usage.prompt_tokens_details.cached_tokens == 10_000
        assert spent(base, CACHED_TURN_USD) == pytest.approx(CACHED_TURN_USD)
        db = tmp_path / "tiergate-decisions.db"
        assert logged_cost(db, raw.headers["x-tiergate-decision-id"]) == pytest.approx(CACHED_TURN_USD)

        fake_anthropic.replies.append(cached_turn())
        chunks = list(
            client.chat.completions.create(
                model="sonnet", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
            )
        )
    usage = chunks[-1].usage
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (10_010, 20)
    assert usage.prompt_tokens_details is not None and usage.prompt_tokens_details.cached_tokens == 10_000
    assert spent(base, 2 * CACHED_TURN_USD) == pytest.approx(2 * CACHED_TURN_USD)


def test_responses_report_the_cached_input_tokens_and_count_cache_writes_at_their_price(
    tmp_path: Path, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, gateway_for: GatewayFactory
) -> None:
    base = start(tmp_path, fake_ollama, fake_anthropic, gateway_for)
    fake_anthropic.replies.append(cached_turn())
    with openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0) as client:
        response = client.responses.create(model="sonnet", input="continue the refactor", store=False)
        assert response.output_text == "ok" and response.usage is not None
        assert (response.usage.input_tokens, response.usage.output_tokens) == (10_010, 20)
        assert response.usage.input_tokens_details.cached_tokens == 10_000
        assert spent(base, CACHED_TURN_USD) == pytest.approx(CACHED_TURN_USD)

        fake_anthropic.replies.append(
            Text("ok", chunks=2, prompt_tokens=10, completion_tokens=20, cache_write_tokens=2_000)
        )
        with client.responses.stream(model="sonnet", input="continue the refactor") as stream:
            final = stream.get_final_response()
    assert final.usage is not None and (final.usage.input_tokens, final.usage.output_tokens) == (2_010, 20)
    assert final.usage.input_tokens_details.cached_tokens == 0
    assert spent(base, CACHED_TURN_USD + WRITING_TURN_USD) == pytest.approx(CACHED_TURN_USD + WRITING_TURN_USD)


def test_messages_passed_through_from_anthropic_are_counted_at_the_cache_price(
    tmp_path: Path, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, gateway_for: GatewayFactory
) -> None:
    base = start(tmp_path, fake_ollama, fake_anthropic, gateway_for)
    with anthropic.Anthropic(base_url=base, api_key="unused", max_retries=0, timeout=30) as claude:
        fake_anthropic.replies.append(cached_turn())
        message = claude.messages.create(model="sonnet", max_tokens=64, messages=MESSAGES)
        assert (message.usage.input_tokens, message.usage.cache_read_input_tokens) == (10, 10_000)
        assert spent(base, CACHED_TURN_USD) == pytest.approx(CACHED_TURN_USD)

        fake_anthropic.replies.append(cached_turn())
        with claude.messages.stream(model="sonnet", max_tokens=64, messages=MESSAGES) as stream:
            final = stream.get_final_message()
    assert (final.usage.input_tokens, final.usage.cache_read_input_tokens, final.usage.output_tokens) == (
        10,
        10_000,
        20,
    )
    assert spent(base, 2 * CACHED_TURN_USD) == pytest.approx(2 * CACHED_TURN_USD)


def test_without_cache_prices_cache_reads_are_reported_and_cost_the_input_price(
    tmp_path: Path, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, gateway_for: GatewayFactory
) -> None:
    base = start(tmp_path, fake_ollama, fake_anthropic, gateway_for, price="{input: 3, output: 15}")
    fake_anthropic.replies.append(cached_turn())
    with openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0) as client:
        answer = client.chat.completions.create(model="sonnet", messages=MESSAGES)
    assert answer.usage is not None and answer.usage.prompt_tokens == 10_010
    assert answer.usage.prompt_tokens_details is not None
    assert answer.usage.prompt_tokens_details.cached_tokens == 10_000
    assert spent(base, 0.030330) == pytest.approx(0.030330)  # errs high, never low
