"""A classifier on a paid endpoint is charged to the request that called it: its spend, its budgets, the decision
log's ``cost_usd``, ``tiergate stats`` and the console, under the tier name ``classifier``. The real gateway,
fake OpenAI-compatible upstreams (the classifier on one, the answering tier on another), SQLite's log.

    every request AMBIGUOUS → the classifier (judge, $1/$2 a token) answers "sonnet" (20 in, 5 out)
                            → sonnet (gpt-sonnet, $3/$4 a token) answers (11 in, 7 out)
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

from tests.conftest import GatewayFactory
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.scripts import DEFAULT_TEXT, Hang, Text
from tests.integration.test_spend_tiers import stats_when_logged
from tiergate.telemetry.stats import render

ROUTES = """
backends:
  ollama: {{kind: ollama, base_url: "{ollama}"}}
  gpt: {{kind: openai, base_url: "{openai}/v1"}}
  judge: {{kind: openai, base_url: "{judge}/v1"}}
tiers:
  local:
    description: The laptop's model.
    targets: [{{backend: ollama, model: small}}]
  sonnet:
    description: The everyday cloud model.
    targets: [{{backend: gpt, model: gpt-sonnet, price: {{input: 3000000, output: 4000000}}}}]
retries: {{attempts: 0}}
routing:
  bands: {{local: 0.0, claude: 1.0}}   # every request without signals is AMBIGUOUS
  band_tiers: {{local: local, claude: sonnet, ambiguous: sonnet}}
  stickiness: {{enabled: false}}
  classifier:
    backend: judge
    model: judge-model
    price: {{input: 1000000, output: 2000000}}
server: {{decision_log: {{path: "{log}"}}}}
"""

#: The classifier's call (20 in, 5 out at $1/$2) and sonnet's answer (11 in, 7 out at $3/$4).
CLASSIFIER = 20 * 1 + 5 * 2
SONNET = 11 * 3 + 7 * 4
ASK = [{"role": "user", "content": "Is this lock-free queue linearizable under weak memory?"}]


@pytest.fixture
def judge() -> FakeOpenAI:
    from tests.fakes.server import serve

    fake = FakeOpenAI()
    with serve(fake.app) as url:
        fake.url = url  # type: ignore[attr-defined]
        yield fake


def verdict(tier: str) -> Text:
    return Text(
        json.dumps({"reason": "a proof", "tier": tier, "confidence": 0.9}), prompt_tokens=20, completion_tokens=5
    )


def test_the_classifiers_call_is_charged_to_its_request_under_its_own_name(
    tmp_path: Path, fake_ollama: FakeOllama, fake_openai: FakeOpenAI, judge: FakeOpenAI, gateway_for: GatewayFactory
) -> None:
    log = tmp_path / "decisions.db"
    routes = tmp_path / "routes.yaml"
    urls = {"ollama": fake_ollama.url, "openai": fake_openai.url, "judge": judge.url}  # type: ignore[attr-defined]
    routes.write_text(ROUTES.format(**urls, log=log))
    base = gateway_for(routes, {})
    judge.replies.append(verdict("sonnet"))

    with openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0, timeout=30) as client:
        first = client.chat.completions.create(model="auto", messages=ASK)
        again = client.chat.completions.create(model="auto", messages=ASK)  # the classifier's cache: no call
    assert (first.choices[0].message.content, again.choices[0].message.content) == (DEFAULT_TEXT, DEFAULT_TEXT)
    assert len(judge.requests) == 1 and len(fake_openai.requests) == 2

    stats = stats_when_logged(log)
    assert stats.requests == 2
    assert stats.cost_usd == pytest.approx(CLASSIFIER + 2 * SONNET)
    assert [(t.tier, t.requests, t.cost_usd) for t in stats.tiers] == [
        ("sonnet", 2, pytest.approx(2 * SONNET)),
        ("classifier", 0, pytest.approx(CLASSIFIER)),
    ]
    [line] = [line.split() for line in render(stats).splitlines() if line.startswith("classifier ")]
    assert line[:6] == ["classifier", "0", "0.0%", "-", "-", f"{CLASSIFIER:.4f}"]

    spend = httpx.get(base + "/health", timeout=30).json()["spend"]
    assert spend["tiers"]["classifier"]["daily_usd"] == CLASSIFIER
    assert spend["tiers"]["sonnet"]["daily_usd"] == 2 * SONNET

    with sqlite3.connect(log) as conn:
        rows = conn.execute(
            "SELECT decision_id, cost_usd, attempt_count, fallback, attempts_json, decision_json "
            "FROM decisions ORDER BY ts"
        ).fetchall()
    (paid, cost, count, fallback, attempts, decision), (_, cost_again, _, _, attempts_again, decision_again) = rows
    assert (cost, count, fallback) == (pytest.approx(CLASSIFIER + SONNET), 1, 0)
    assert json.loads(attempts)[1] == {
        "tier": "classifier",
        "backend": "judge",
        "model": "judge-model",
        "outcome": "routing",
        "prompt_tokens": 20,
        "completion_tokens": 5,
        "cost_usd": CLASSIFIER,
    }
    assert json.loads(decision)["classifier"]["usage"] == {
        "prompt_tokens": 20,
        "completion_tokens": 5,
        "total_tokens": 25,
        "cached_tokens": 0,
        "cache_write_tokens": 0,
        "reasoning_tokens": 0,
    }
    assert cost_again == pytest.approx(SONNET) and len(json.loads(attempts_again)) == 1
    assert json.loads(decision_again)["classifier"]["outcome"] == "cache_hit"
    assert "usage" not in json.loads(decision_again)["classifier"]

    detail = httpx.get(f"{base}/console/api/requests/{paid}", timeout=30).json()
    assert [a["outcome"] for a in detail["attempts"]] == ["ok"]  # the classifier's call is not an attempt
    assert detail["decision"]["classifier"]["usage"]["prompt_tokens"] == 20


def serve_routes(tmp_path: Path, upstreams: dict[str, str], gateway_for: GatewayFactory, extra: str = "") -> str:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES.format(**upstreams, log=tmp_path / "decisions.db") + extra)
    return gateway_for(routes, {})


def spend_of(base: str) -> dict[str, Any]:
    spend: dict[str, Any] = httpx.get(base + "/health", timeout=30).json()["spend"]
    return spend


def test_a_dry_run_that_asks_a_paid_classifier_is_charged_to_its_client(
    tmp_path: Path, fake_ollama: FakeOllama, fake_openai: FakeOpenAI, judge: FakeOpenAI, gateway_for: GatewayFactory
) -> None:
    """The dry run calls no model but the classifier, and that call is paid for like a real request's: by the
    client that asked (the console's dry run: by `console`)."""
    urls = {"ollama": fake_ollama.url, "openai": fake_openai.url, "judge": judge.url}  # type: ignore[attr-defined]
    base = serve_routes(tmp_path, urls, gateway_for)
    judge.replies.extend([verdict("sonnet"), verdict("sonnet")])

    dry = httpx.post(base + "/v1/route", json={"model": "auto", "messages": ASK}, timeout=30).json()
    console = httpx.post(
        base + "/console/api/route", json={"messages": [{"role": "user", "content": "Is this one racy?"}]}, timeout=30
    ).json()["decision"]
    assert [d["classifier"]["outcome"] for d in (dry, console)] == ["ok", "ok"]
    assert dry["classifier"]["usage"]["prompt_tokens"] == 20 and len(judge.requests) == 2
    assert fake_openai.requests == [] and fake_ollama.requests == []  # no other model was called

    spend = spend_of(base)
    assert spend["tiers"]["classifier"]["daily_usd"] == 2 * CLASSIFIER
    assert spend["clients"]["anonymous"]["daily_usd"] == CLASSIFIER
    assert spend["clients"]["console"]["daily_usd"] == CLASSIFIER


def test_a_client_that_leaves_while_the_paid_classifier_answers_still_pays_for_the_call(
    tmp_path: Path, fake_ollama: FakeOllama, fake_openai: FakeOpenAI, judge: FakeOpenAI, gateway_for: GatewayFactory
) -> None:
    """The call goes on (its answer is cached for the next identical request), so it is charged, once, to the
    client that made it, though that request ended without a decision."""
    urls = {"ollama": fake_ollama.url, "openai": fake_openai.url, "judge": judge.url}  # type: ignore[attr-defined]
    base = serve_routes(tmp_path, urls, gateway_for)
    judge.replies.append(Hang(seconds=2, after_events=1, then=verdict("sonnet")))  # the answer pauses 2 s
    body = {"model": "auto", "messages": ASK}

    with pytest.raises(httpx.ReadTimeout):  # the client gives up after 0.5 s, while the classifier answers
        httpx.post(base + "/v1/chat/completions", json=body, timeout=0.5)
    deadline = time.monotonic() + 15
    while "classifier" not in spend_of(base)["tiers"] and time.monotonic() < deadline:
        time.sleep(0.05)
    spend = spend_of(base)
    assert spend["tiers"]["classifier"]["daily_usd"] == CLASSIFIER
    assert spend["clients"]["anonymous"]["daily_usd"] == CLASSIFIER
    assert len(judge.requests) == 1 and not judge.hung_up.is_set()  # read to its end, not abandoned
    assert fake_openai.requests == []  # the request never got past routing

    again = httpx.post(base + "/v1/chat/completions", json=body, timeout=30)
    assert again.status_code == 200 and again.headers["x-tiergate-phase"] == "llm_classifier"
    assert len(judge.requests) == 1  # the answer the leaver paid for, from the cache
    spend = spend_of(base)
    assert spend["tiers"]["classifier"]["daily_usd"] == CLASSIFIER
    assert spend["clients"]["anonymous"]["daily_usd"] == CLASSIFIER + SONNET


@pytest.mark.parametrize(("on_exceed", "status", "tier"), [("reject", 429, None), ("spill", 200, "local")])
def test_a_client_at_its_cap_is_not_shown_to_a_paid_classifier(
    tmp_path: Path,
    fake_ollama: FakeOllama,
    fake_openai: FakeOpenAI,
    judge: FakeOpenAI,
    gateway_for: GatewayFactory,
    on_exceed: str,
    status: int,
    tier: str | None,
) -> None:
    """A client over its cap keeps only tiers without a price: the priced classifier is skipped (the decision
    says why), phase 1's tier stands, and the budget then refuses the request or spills it to the free tier."""
    urls = {"ollama": fake_ollama.url, "openai": fake_openai.url, "judge": judge.url}  # type: ignore[attr-defined]
    cap = f'budgets: {{clients: {{"*": {{daily_usd: 50, on_exceed: {on_exceed}}}}}}}\n'
    base = serve_routes(tmp_path, urls, gateway_for, cap)
    judge.replies.append(verdict("sonnet"))
    first = httpx.post(base + "/v1/chat/completions", json={"model": "auto", "messages": ASK}, timeout=30)
    assert first.status_code == 200  # under the cap when it started: served whole, and now over it
    assert spend_of(base)["clients"]["anonymous"]["daily_usd"] == CLASSIFIER + SONNET

    over = f"budget: client anonymous's daily budget $50 is reached (${CLASSIFIER + SONNET:.4f} spent)"
    other = {"model": "auto", "messages": [{"role": "user", "content": "Is this one racy?"}]}
    dry = httpx.post(base + "/v1/route", json=other, timeout=30).json()
    assert dry["classifier"] == {
        "model": "judge-model",
        "outcome": "skipped",
        "reason": f"{over}; the classifier has a price",
    }
    assert dry["phase"] == "heuristic"
    assert (
        f"ambiguous; classifier skipped ({over}; the classifier has a price): band_tiers.ambiguous sends it to sonnet"
        in dry["reasons"]
    )
    second = httpx.post(base + "/v1/chat/completions", json=other, timeout=30)
    assert second.status_code == status
    if tier is not None:
        assert second.headers["x-tiergate-tier"] == tier
    assert len(judge.requests) == 1  # only the first request's call
    assert spend_of(base)["clients"]["anonymous"]["daily_usd"] == CLASSIFIER + SONNET
