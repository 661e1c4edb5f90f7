"""Where a request's cost shows: under each tier it was charged at, in ``tiergate stats`` and the console as in
budgets. The real gateway, fake upstreams, and its decision log in SQLite or in a real PostgreSQL.

An opus attempt broken after its ``message_start`` was billed what its upstream had counted; sonnet then
answered. The decision log's row is sonnet's (it answered) and its ``cost_usd`` is the whole request's; the
opus attempt's part (its ``attempts_json``) belongs under opus, though opus answered no request:

    opus   (anthropic claude-opus, $1/$2 a token)   → 200, message_start (11 in, 1 out), then overloaded_error
    sonnet (openai    gpt-sonnet,  $3/$4 a token)   → the answer (11 in, 7 out)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import TEST_KEY, GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.scripts import DEFAULT_TEXT, StreamError
from tiergate.telemetry.stats import StatsError, compute, render

ROUTES = """
backends:
  claude: {{kind: anthropic, base_url: "{anthropic}", api_key_env: ANTHROPIC_API_KEY}}
  gpt: {{kind: openai, base_url: "{openai}/v1"}}
tiers:
  opus: {{targets: [{{backend: claude, model: claude-opus, price: {{input: 1000000, output: 2000000}}}}]}}
  sonnet: {{targets: [{{backend: gpt, model: gpt-sonnet, price: {{input: 3000000, output: 4000000}}}}]}}
fallbacks: {{opus: [sonnet]}}
retries: {{attempts: 0}}
routing:
  mode: fixed
  fixed_tier: opus
  band_tiers: {{local: sonnet, claude: opus, ambiguous: opus}}
  stickiness: {{enabled: false}}
server: {{decision_log: {log}}}
"""

#: What the broken opus attempt was charged (11 in, 1 out at $1/$2), and sonnet's answer (11 in, 7 out at $3/$4).
OPUS = 11 * 1 + 1 * 2
SONNET = 11 * 3 + 7 * 4
HI = [{"role": "user", "content": "hi"}]


def stats_when_logged(where: Path | str) -> Any:
    """``tiergate stats`` over the whole log, once the request's row is in it."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            stats = compute(where)
        except StatsError:  # the file or the table is not there yet
            stats = None
        if stats is not None and stats.requests:
            return stats
        time.sleep(0.05)
    raise AssertionError("no decision row")


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_an_attempts_charge_shows_under_its_own_tier_in_stats_and_the_console(
    tmp_path: Path,
    fake_anthropic: FakeAnthropic,
    fake_openai: FakeOpenAI,
    gateway_for: GatewayFactory,
    request: pytest.FixtureRequest,
    store: str,
) -> None:
    where: Path | str = tmp_path / "decisions.db"
    if store == "postgres":
        where = request.getfixturevalue("postgres_url")
    log = f"{{url: '{where}'}}" if store == "postgres" else f"{{path: '{where}'}}"
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES.format(anthropic=fake_anthropic.url, openai=fake_openai.url, log=log))  # type: ignore[attr-defined]
    base = gateway_for(routes, {"ANTHROPIC_API_KEY": TEST_KEY})
    fake_anthropic.replies.append(StreamError(after_events=2, message="Overloaded"))

    with openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0, timeout=30) as client:
        text = "".join(
            c.choices[0].delta.content or ""
            for c in client.chat.completions.create(model="opus", messages=HI, stream=True)
            if c.choices
        )
    assert text == DEFAULT_TEXT

    stats = stats_when_logged(where)
    assert stats.cost_usd == pytest.approx(OPUS + SONNET)
    assert [(t.tier, t.requests, t.cost_usd) for t in stats.tiers] == [
        ("sonnet", 1, pytest.approx(SONNET)),
        ("opus", 0, pytest.approx(OPUS)),
    ]
    [opus_line] = [line.split() for line in render(stats).splitlines() if line.startswith("opus ")]
    assert opus_line[:6] == ["opus", "0", "0.0%", "-", "-", f"{OPUS:.4f}"]

    window = httpx.get(base + "/console/api/savings?window=1h", timeout=30).json()["stats"]
    tiers = {t["tier"]: (t["requests"], t["cost_usd"], t["counted_cost_usd"]) for t in window["tiers"]}
    assert tiers == {"sonnet": (1, pytest.approx(SONNET), pytest.approx(SONNET)), "opus": (0, OPUS, OPUS)}

    spend = httpx.get(base + "/health").json()["spend"]["tiers"]  # budgets: the same split, in memory
    assert (spend["opus"]["daily_usd"], spend["sonnet"]["daily_usd"]) == (OPUS, SONNET)
