"""A Claude stream cut short is charged what Claude had counted, whichever ingress served it: the real gateway,
the fake Anthropic.

Claude counts the prompt in ``message_start``, its cache reads apart (priced at ``cache_read``). On
``/v1/messages`` that frame reaches the client as it came, and its count was charged when the stream was cut
short; on ``/v1/chat/completions`` and ``/v1/responses`` the answer is translated, the count reaches the client
only at ``message_stop``, and a stream cut before it was charged characters / 4 of the request at the full
input price (a cached 10,000-token prompt at ten times its price; CJK text at a quarter), with no token counts
in its decision-log row.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_KEY, GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.scripts import Hang, StreamError, Text

ROUTES = """
backends:
  claude: {{kind: anthropic, base_url: "{anthropic}", api_key_env: ANTHROPIC_API_KEY}}
tiers:
  sonnet:
    targets:
      - backend: claude
        model: claude-sonnet
        capabilities: {{context_window: 200000}}
        price: {{input: 3, output: 4, cache_read: 0.3}}
retries: {{attempts: 0}}
routing:
  mode: fixed
  fixed_tier: sonnet
  band_tiers: {{local: sonnet, claude: sonnet, ambiguous: sonnet}}
  stickiness: {{enabled: false}}
budgets: {{clients: {{"*": {{daily_usd: 100}}}}}}
"""
#: ~41,000 characters: characters / 4 is about 10,000 tokens, all at the input price.
PROMPT = "def f():\n    return 1\n" * 1800
#: What the upstream counts: 200 new input tokens, 9,800 read from the prompt cache.
CACHED = Text("y" * 400, chunks=10, prompt_tokens=200, completion_tokens=100, cache_read_tokens=9_800)
#: The client leaves after the first 40 characters: 10 tokens out, estimated (message_start counts 1).
LEFT_USD = (200 * 3 + 9_800 * 0.3 + 10 * 4) / 1e6
#: The fake's default answer breaks after its first piece (10 characters: 3 tokens); it counted 11 tokens in.
BROKEN_USD = (11 * 3 + 3 * 4) / 1e6


def body(endpoint: str) -> dict[str, Any]:
    asked: dict[str, Any] = {"model": "sonnet", "stream": True, "max_tokens": 100}
    if endpoint == "/v1/responses":
        return {**asked, "input": PROMPT}
    return {**asked, "messages": [{"role": "user", "content": PROMPT}]}


def row(db: Path, decision_id: str) -> tuple[Any, ...]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if db.exists():
            with sqlite3.connect(db) as conn:
                found = conn.execute(
                    "SELECT status, prompt_tokens, cached_tokens, cost_usd FROM decisions WHERE decision_id = ?",
                    (decision_id,),
                ).fetchone()
            if found is not None:
                return tuple(found)
        time.sleep(0.02)
    raise AssertionError(f"no decision row for {decision_id}")


def start(tmp_path: Path, fake_anthropic: FakeAnthropic, gateway_for: GatewayFactory) -> str:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES.format(anthropic=fake_anthropic.url))  # type: ignore[attr-defined]
    return gateway_for(routes, {"ANTHROPIC_API_KEY": TEST_KEY})


def client_spend(base: str) -> float:
    return float(httpx.get(base + "/health").json()["spend"]["clients"]["anonymous"]["daily_usd"])


@pytest.mark.parametrize("endpoint", ["/v1/messages", "/v1/chat/completions", "/v1/responses"])
def test_a_stream_the_client_leaves_is_charged_claudes_own_count_on_every_ingress(
    tmp_path: Path, fake_anthropic: FakeAnthropic, gateway_for: GatewayFactory, endpoint: str
) -> None:
    base = start(tmp_path, fake_anthropic, gateway_for)
    # message_start, the text block's start, ping and the first 40 characters; then a pause the client leaves in
    fake_anthropic.replies.append(Hang(seconds=3, after_events=4, then=CACHED))
    headers = {"anthropic-version": "2023-06-01"}
    with httpx.stream("POST", base + endpoint, json=body(endpoint), headers=headers, timeout=10) as response:
        decision_id = response.headers["x-tiergate-decision-id"]
        for line in response.iter_lines():
            if "yyyy" in line:
                break  # the user presses stop
    assert row(tmp_path / "tiergate-decisions.db", decision_id) == (499, 10_000, 9_800, pytest.approx(LEFT_USD))
    assert client_spend(base) == pytest.approx(LEFT_USD)


@pytest.mark.parametrize("endpoint", ["/v1/messages", "/v1/chat/completions", "/v1/responses"])
def test_a_stream_claude_breaks_is_charged_claudes_own_count_on_every_ingress(
    tmp_path: Path, fake_anthropic: FakeAnthropic, gateway_for: GatewayFactory, endpoint: str
) -> None:
    base = start(tmp_path, fake_anthropic, gateway_for)
    fake_anthropic.replies.append(StreamError(after_events=4))  # after the first piece of the answer
    headers = {"anthropic-version": "2023-06-01"}
    response = httpx.post(base + endpoint, json=body(endpoint), headers=headers, timeout=10)
    decision_id = response.headers["x-tiergate-decision-id"]
    assert "Overloaded" in response.text  # the error event the client saw
    assert row(tmp_path / "tiergate-decisions.db", decision_id) == (529, 11, 0, pytest.approx(BROKEN_USD))
    assert client_spend(base) == pytest.approx(BROKEN_USD)
