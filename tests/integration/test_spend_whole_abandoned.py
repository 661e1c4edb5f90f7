"""A whole answer tiergate gives up on after sending it is charged the estimate of its prompt: the real gateway,
fake upstreams.

A non-stream upstream sends nothing until it has generated the whole answer, and goes on generating (and
billing) when its caller stops waiting. An attempt that timed out and fell back, or whose client left, was
charged to nobody: no count had come, and only a count was charged. It is now charged characters / 4 of
the request at its target's input price, marked ``estimated`` in ``attempts_json``. A call that never got
its request out (the connection refused) is still charged nothing.

    opus   (anthropic claude-opus,  $1/$2 a token, timeouts.total 1 s) → says nothing for 3 s
    answer (openai    llama-answer, $3/$4 a token)                     → answers (11 in, 7 out: $61)
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import TEST_KEY, GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.scripts import Hang

ROUTES = """
backends:
  claude: {{kind: anthropic, base_url: "{anthropic}", api_key_env: ANTHROPIC_API_KEY}}
  llama: {{kind: openai, base_url: "{openai}/v1"}}
tiers:
  opus:
    targets:
      - {{backend: claude, model: claude-opus, timeouts: {{total: 1}}, price: {{input: 1000000, output: 2000000}}}}
  answer: {{targets: [{{backend: llama, model: llama-answer, price: {{input: 3000000, output: 4000000}}}}]}}
fallbacks: {{opus: [answer]}}
retries: {{attempts: 0}}
routing:
  mode: fixed
  fixed_tier: opus
  band_tiers: {{local: answer, claude: opus, ambiguous: opus}}
  stickiness: {{enabled: false}}
budgets: {{clients: {{"*": {{daily_usd: 100000, on_exceed: reject}}}}}}
"""
ASK = [{"role": "user", "content": "x" * 400}]  # 100 tokens, estimated
ABANDONED = 100.0  # 100 tokens in at $1, nothing out
ANSWERED = 11 * 3 + 7 * 4


def logged(db: Path) -> tuple[int, float, list[dict[str, Any]]]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if db.exists():
            with sqlite3.connect(db) as conn:
                row = conn.execute("SELECT status, cost_usd, attempts_json FROM decisions").fetchone()
            if row is not None:
                return int(row[0]), float(row[1]), json.loads(row[2])
        time.sleep(0.02)
    raise AssertionError("no decision row")


def charges(tried: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    keys = ("tier", "outcome", "prompt_tokens", "completion_tokens", "cost_usd", "estimated")
    return [tuple(attempt.get(key) for key in keys) for attempt in tried]


def tier_spend(base: str) -> dict[str, float]:
    tiers = httpx.get(base + "/health").json()["spend"]["tiers"]
    return {name: row["daily_usd"] for name, row in tiers.items() if row["daily_usd"]}


def start(tmp_path: Path, gateway_for: GatewayFactory, anthropic_url: str, openai_url: str) -> str:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES.format(anthropic=anthropic_url, openai=openai_url))
    return gateway_for(routes, {"ANTHROPIC_API_KEY": TEST_KEY})


def test_a_whole_answer_that_times_out_and_falls_back_is_charged_its_prompt(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI, gateway_for: GatewayFactory
) -> None:
    base = start(tmp_path, gateway_for, fake_anthropic.url, fake_openai.url)  # type: ignore[attr-defined]
    fake_anthropic.replies.append(Hang(seconds=3))
    client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0, timeout=10)
    with client:
        answer = client.chat.completions.with_raw_response.create(model="opus", messages=ASK)  # type: ignore[arg-type]
    assert answer.headers["x-tiergate-attempts"] == "opus/claude-opus:timeout, answer/llama-answer:ok"
    status, cost, tried = logged(tmp_path / "tiergate-decisions.db")
    assert (status, cost) == (200, ABANDONED + ANSWERED)
    assert charges(tried) == [
        ("opus", "timeout", 100, 0, ABANDONED, True),
        ("answer", "ok", None, None, None, None),
    ]
    assert tier_spend(base) == {"opus": ABANDONED, "answer": ANSWERED}


def test_a_whole_answer_whose_client_leaves_is_charged_its_prompt(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI, gateway_for: GatewayFactory
) -> None:
    base = start(tmp_path, gateway_for, fake_anthropic.url, fake_openai.url)  # type: ignore[attr-defined]
    fake_anthropic.replies.append(Hang(seconds=3))
    client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0, timeout=0.5)
    with client, pytest.raises(openai.APITimeoutError):  # the client gives up first: it leaves
        client.chat.completions.create(model="opus", messages=ASK)  # type: ignore[arg-type]
    status, cost, tried = logged(tmp_path / "tiergate-decisions.db")
    assert (status, cost) == (499, ABANDONED)
    assert charges(tried) == [("opus", "disconnected", 100, 0, ABANDONED, True)]
    assert tier_spend(base) == {"opus": ABANDONED}
    assert not fake_openai.requests


def test_a_whole_answer_whose_request_never_went_out_is_charged_nothing(
    tmp_path: Path, fake_openai: FakeOpenAI, gateway_for: GatewayFactory, closed_port: int
) -> None:
    base = start(tmp_path, gateway_for, f"http://127.0.0.1:{closed_port}", fake_openai.url)  # type: ignore[attr-defined]
    client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0, timeout=10)
    with client:
        client.chat.completions.create(model="opus", messages=ASK)  # type: ignore[arg-type]
    status, cost, tried = logged(tmp_path / "tiergate-decisions.db")
    assert (status, cost) == (200, ANSWERED)
    assert charges(tried) == [
        ("opus", "connect", None, None, None, None),
        ("answer", "ok", None, None, None, None),
    ]
    assert tier_spend(base) == {"answer": ANSWERED}
