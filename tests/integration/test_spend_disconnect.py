"""A client that leaves during a fallback still pays for the attempts that ended before it: the real gateway,
fake upstreams.

An Anthropic answer that broke after its 200 has been billed what its upstream counted (``message_start``'s
count, or a whole answer's usage without its ``stop_reason``), and tiergate charges that to the attempt's
tier as it falls back. When the client hangs up while the fallback is still waiting, the request ends as a
499: the broken attempt's charge must reach budgets (``/health``), ``tiergate_spend_usd`` and the decision
log all the same. The chain:

    opus   (anthropic claude-opus,  $1/$2 a token)   → 200, then broken: its count is charged
    answer (openai    llama-answer, $3/$4 a token)   → says nothing for 3 s; the client gives up after 1 s

A whole answer's fallback had its request sent when the client left: its upstream goes on generating, so it
is charged the estimate of its prompt (``hi``: 1 token) as well; a stream's is closed with the client, and
had counted nothing.
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
from tests.fakes.scripts import Hang, Incomplete, Reply, StreamError

ROUTES = """
backends:
  claude: {{kind: anthropic, base_url: "{anthropic}", api_key_env: ANTHROPIC_API_KEY}}
  llama: {{kind: openai, base_url: "{openai}/v1"}}
tiers:
  opus: {{targets: [{{backend: claude, model: claude-opus, price: {{input: 1000000, output: 2000000}}}}]}}
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

HI = [{"role": "user", "content": "hi"}]
#: (stream, the broken reply, what it had counted: tokens in and out, at $1/$2; what the fallback abandoned
#: when the client left is charged, at $3/$4)
CASES: dict[str, tuple[bool, Reply, int, int, float]] = {
    "stream": (True, StreamError(after_events=2, message="Overloaded"), 11, 1, 0.0),  # message_start's count
    "whole": (False, Incomplete(), 11, 7, 3.0),  # the whole answer's usage, without its stop_reason; "hi" at $3
}


def logged(db: Path) -> tuple[int, float | None, list[dict[str, Any]]]:
    """The last decision row's status, cost and attempts, once written."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if db.exists():
            with sqlite3.connect(db) as conn:
                row = conn.execute("SELECT status, cost_usd, attempts_json FROM decisions ORDER BY ts DESC").fetchone()
            if row is not None:
                return int(row[0]), row[1], json.loads(row[2])
        time.sleep(0.02)
    raise AssertionError("no decision row")


def tier_spend(base: str) -> tuple[dict[str, float], float]:
    """Each tier's spend today (tiers that spent nothing left out), and the client's: what budgets read."""
    now = httpx.get(base + "/health").json()["spend"]
    tiers = {name: row["daily_usd"] for name, row in now["tiers"].items() if row["daily_usd"]}
    return tiers, now["clients"].get("anonymous", {}).get("daily_usd", 0.0)


@pytest.mark.parametrize("case", list(CASES))
def test_a_client_that_leaves_during_the_fallback_still_pays_the_attempt_before_it(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI, gateway_for: GatewayFactory, case: str
) -> None:
    stream, broken, prompt, completion, abandoned = CASES[case]
    charged = prompt * 1 + completion * 2
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES.format(anthropic=fake_anthropic.url, openai=fake_openai.url))  # type: ignore[attr-defined]
    base = gateway_for(routes, {"ANTHROPIC_API_KEY": TEST_KEY})
    fake_anthropic.replies.append(broken)
    fake_openai.replies.append(Hang(seconds=3))  # the fallback is under way when the client leaves

    client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0, timeout=1)
    with client, pytest.raises(openai.APITimeoutError):  # the client gives up: it leaves
        answer = client.chat.completions.create(model="opus", messages=HI, stream=stream)
        if stream:
            list(answer)  # type: ignore[arg-type]

    status, cost, tried = logged(tmp_path / "tiergate-decisions.db")
    assert status == 499
    assert cost == pytest.approx(charged + abandoned)
    left = [("answer", 1, 0, abandoned)] if abandoned else []
    assert [(a["tier"], a.get("prompt_tokens"), a.get("completion_tokens"), a.get("cost_usd")) for a in tried] == [
        ("opus", prompt, completion, charged),
        *left,
    ]
    assert tier_spend(base) == ({"opus": charged, **({"answer": abandoned} if abandoned else {})}, charged + abandoned)
    metrics = httpx.get(base + "/metrics").text
    assert f'tiergate_spend_usd{{name="opus",period="daily",scope="tier"}} {float(charged)}' in metrics
    total = float(charged + abandoned)
    assert f'tiergate_spend_usd{{name="anonymous",period="daily",scope="client"}} {total}' in metrics


def test_a_client_that_leaves_before_the_first_token_pays_what_the_upstream_had_counted(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI, gateway_for: GatewayFactory
) -> None:
    """Past its 200 and message_start (a long prefill, hidden thinking), the answer had not begun when the
    client hung up: no attempt was recorded, so a request cancelled then escaped spend and budgets."""
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES.format(anthropic=fake_anthropic.url, openai=fake_openai.url))  # type: ignore[attr-defined]
    base = gateway_for(routes, {"ANTHROPIC_API_KEY": TEST_KEY})
    fake_anthropic.replies.append(Hang(seconds=3, after_events=1))  # message_start, then nothing
    client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0, timeout=1)
    with client, pytest.raises(openai.APITimeoutError):
        list(client.chat.completions.create(model="opus", messages=HI, stream=True))
    status, cost, tried = logged(tmp_path / "tiergate-decisions.db")
    charged = 11 * 1 + 1 * 2  # message_start's count, at $1/$2 a token
    assert (status, cost) == (499, pytest.approx(charged))
    assert [(a["tier"], a["outcome"], a.get("cost_usd")) for a in tried] == [("opus", "disconnected", charged)]
    assert tier_spend(base) == ({"opus": charged}, charged)
    assert not fake_openai.requests  # no fallback for a client that left
    assert 'kind="disconnected"' not in httpx.get(base + "/metrics").text  # a client leaving is no upstream error
