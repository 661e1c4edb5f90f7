"""Spend for attempts tiergate fell back from after their upstream's 200: the real gateway, fake upstreams.

An Anthropic stream counts its input in ``message_start``; when it then breaks (an ``overloaded_error``
event, a stall past ``first_token``) before the client got anything, tiergate falls back, but the upstream
has billed what it counted. That count is charged to the failed attempt's tier at its price, beside the
answer's; an attempt refused with an error status (no 200) adds nothing. The chain:

    first  (anthropic claude-first,  $5/$7 a token)   → 529 or 500: no 200, nothing billed
    second (anthropic claude-second, $1/$2 a token)   → 200, then broken: its count is charged
    answer (openai    llama-answer,  $3/$4 a token)   → the answer (11 tokens in, 7 out)
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
from tests.fakes.scripts import DEFAULT_TEXT, Hang, Incomplete, Status, StreamError

ROUTES = """
backends:
  claude: {{kind: anthropic, base_url: "{anthropic}", api_key_env: ANTHROPIC_API_KEY}}
  llama: {{kind: openai, base_url: "{openai}/v1"}}
tiers:
  first: {{targets: [{{backend: claude, model: claude-first, price: {{input: 5000000, output: 7000000}}}}]}}
  second:
    targets:
      - backend: claude
        model: claude-second
        price: {{input: 1000000, output: 2000000}}
        timeouts: {{first_token: 1}}
  answer: {{targets: [{{backend: llama, model: llama-answer, price: {{input: 3000000, output: 4000000}}}}]}}
fallbacks: {{first: [second, answer]}}
retries: {{attempts: 0}}
routing:
  mode: fixed
  fixed_tier: first
  band_tiers: {{local: answer, claude: first, ambiguous: first}}
  stickiness: {{enabled: false}}
budgets: {{clients: {{"*": {{daily_usd: 100000, on_exceed: reject}}}}}}
"""

#: The fake Anthropic's ``message_start``: 11 input tokens, 1 output token so far, at $1/$2.
STARTED = 11 * 1 + 1 * 2
#: The fake Anthropic's whole answer without its stop_reason still counts 11 in and 7 out, at $1/$2.
CUT_WHOLE = 11 * 1 + 7 * 2
#: The answer: 11 in and 7 out at $3/$4.
ANSWER = 11 * 3 + 7 * 4
HI = [{"role": "user", "content": "hi"}]


def start(tmp_path: Path, claude: FakeAnthropic, llama: FakeOpenAI, gateway_for: GatewayFactory) -> tuple[Path, str]:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES.format(anthropic=claude.url, openai=llama.url))  # type: ignore[attr-defined]
    return routes, gateway_for(routes, {"ANTHROPIC_API_KEY": TEST_KEY})


def spend(base: str) -> dict[str, Any]:
    return httpx.get(base + "/health").json()["spend"]  # type: ignore[no-any-return]


def daily(base: str) -> tuple[dict[str, float], float]:
    """Each tier's spend today (tiers that spent nothing left out), and the client's."""
    now = spend(base)
    tiers = {name: row["daily_usd"] for name, row in now["tiers"].items() if row["daily_usd"]}
    return tiers, now["clients"].get("anonymous", {}).get("daily_usd", 0.0)


def settled(base: str, total: float) -> tuple[dict[str, float], float]:
    """The spend once the request's record was observed (a stream's is, just after its last byte)."""
    deadline = time.monotonic() + 5
    while daily(base)[1] < total - 1e-9 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)  # anything charged twice would show now
    return daily(base)


def logged(db: Path) -> tuple[float, list[dict[str, Any]]]:
    """The last decision row's cost and attempts, once written."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if db.exists():
            with sqlite3.connect(db) as conn:
                row = conn.execute("SELECT cost_usd, attempts_json FROM decisions ORDER BY ts DESC").fetchone()
            if row is not None:
                return float(row[0]), json.loads(row[1])
        time.sleep(0.02)
    raise AssertionError("no decision row")


def test_a_stream_broken_after_its_200_is_charged_what_it_counted_and_a_529_nothing(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI, gateway_for: GatewayFactory
) -> None:
    routes, base = start(tmp_path, fake_anthropic, fake_openai, gateway_for)
    # first: a 529 before any body; second: message_start, an empty text block, then overloaded_error
    fake_anthropic.replies.extend([Status(529, "Overloaded"), StreamError(after_events=2, message="Overloaded")])
    client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0)

    raw = client.chat.completions.with_raw_response.create(model="first", messages=HI, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    client.close()

    assert text == DEFAULT_TEXT
    assert (
        raw.headers["x-tiergate-attempts"]
        == "first/claude-first:http_529, second/claude-second:http_529, answer/llama-answer:ok"
    )
    assert settled(base, STARTED + ANSWER) == ({"second": STARTED, "answer": ANSWER}, STARTED + ANSWER)
    cost, tried = logged(tmp_path / "tiergate-decisions.db")
    assert cost == pytest.approx(STARTED + ANSWER)
    assert [(a["tier"], a.get("prompt_tokens"), a.get("completion_tokens"), a.get("cost_usd")) for a in tried] == [
        ("first", None, None, None),
        ("second", 11, 1, STARTED),
        ("answer", None, None, None),
    ]

    again = gateway_for(routes, {"ANTHROPIC_API_KEY": TEST_KEY})  # a restart: spend rebuilt from the log
    assert daily(again) == ({"second": STARTED, "answer": ANSWER}, STARTED + ANSWER)


def test_a_stream_past_its_first_token_bound_after_message_start_is_charged_its_input(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI, gateway_for: GatewayFactory
) -> None:
    _, base = start(tmp_path, fake_anthropic, fake_openai, gateway_for)
    # first: a 500; second: message_start, then nothing for longer than its first_token (1 s)
    fake_anthropic.replies.extend([Status(500, "boom"), Hang(seconds=3, after_events=1)])
    client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0)

    text = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(model="first", messages=HI, stream=True)
        if c.choices
    )
    client.close()

    assert text == DEFAULT_TEXT
    assert settled(base, STARTED + ANSWER) == ({"second": STARTED, "answer": ANSWER}, STARTED + ANSWER)


def test_a_whole_answer_cut_off_after_its_200_is_charged_what_it_counted(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI, gateway_for: GatewayFactory
) -> None:
    _, base = start(tmp_path, fake_anthropic, fake_openai, gateway_for)
    # first: a 529; second: a whole message with its usage but no stop_reason (cut off mid-generation)
    fake_anthropic.replies.extend([Status(529, "Overloaded"), Incomplete()])
    client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0)

    answer = client.chat.completions.create(model="first", messages=HI)
    client.close()

    assert answer.choices[0].message.content == DEFAULT_TEXT
    assert settled(base, CUT_WHOLE + ANSWER) == ({"second": CUT_WHOLE, "answer": ANSWER}, CUT_WHOLE + ANSWER)
