"""Signals from the running system, end to end through ``tiergate serve``'s app and the fake upstreams:
latency in /health, /metrics and the dry run; budgets that spill, refuse in each dialect and survive a
restart; sessions that move up after local failures and low ratings; the quality header."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import psycopg
import pytest

from tests.conftest import TEST_KEY, GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Hang, Status

ROUTES = """
backends:
  ollama: {{kind: ollama, base_url: "{ollama}"}}
  anthropic: {{kind: anthropic, base_url: "{anthropic}", api_key_env: ANTHROPIC_API_KEY}}
tiers:
  local: {{targets: [{{backend: ollama, model: qwen-fake}}]}}
  sonnet: {{targets: [{{backend: anthropic, model: claude-mid, price: {{input: 3, output: 15}}}}]}}
  opus: {{targets: [{{backend: anthropic, model: claude-top, price: {{input: 15, output: 75}}}}]}}
fallbacks: {{local: [sonnet], opus: [sonnet]}}
retries: {{attempts: 0}}
routing:
  rules:
    - {{name: slow_local, when: {{feature: target.local.total_p95_ms, gt: 600}}, then: {{tier: sonnet}}}}
    - {{name: big, when: {{feature: total_chars, gt: 2000}}, then: {{tier: opus}}}}
  scorers:
    - {{name: size, feature: total_chars, transform: {{kind: ramp, from: 0, to: 1000}}}}
  bands: {{local: 0.3, claude: 0.6}}
  stickiness: {{enabled: false}}
{extra}
"""


def write(tmp_path: Path, ollama: FakeOllama, claude: FakeAnthropic, extra: str = "") -> Path:
    path = tmp_path / "routes.yaml"
    url = {"ollama": ollama.url, "anthropic": claude.url}  # type: ignore[attr-defined]
    path.write_text(ROUTES.format(extra=extra, **url))
    return path


def ask(
    base: str, text: str, model: str = "auto", headers: dict[str, str] | None = None, **body: Any
) -> httpx.Response:
    payload = {"model": model, "messages": [{"role": "user", "content": text}], **body}
    return httpx.post(base + "/v1/chat/completions", json=payload, headers=headers or {}, timeout=30)


def wait_for(check: Any, what: str, timeout: float = 5.0) -> Any:
    """Observers run once the response has gone out: poll until they have."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


ENV = {"ANTHROPIC_API_KEY": TEST_KEY}


def test_latency_is_observed_and_shown_in_health_metrics_and_the_dry_run(
    tmp_path: Path, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, gateway_for: GatewayFactory
) -> None:
    base = gateway_for(write(tmp_path, fake_ollama, fake_anthropic), ENV)
    with openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0) as client:
        assert client.chat.completions.create(model="auto", messages=[{"role": "user", "content": "hi"}]).choices
        messages: Any = [{"role": "user", "content": "yo"}]
        chunks = list(client.chat.completions.create(model="auto", messages=messages, stream=True))
    assert chunks[0].model == "qwen-fake"
    stats = wait_for(lambda: httpx.get(base + "/health").json()["latency"].get("ollama/qwen-fake"), "two samples")
    stats = wait_for(
        lambda: (s := httpx.get(base + "/health").json()["latency"]["ollama/qwen-fake"])["observed"] == 2 and s,
        "the stream's sample",
    )
    assert stats["samples"] == 2 and stats["ttft_p50_ms"] > 0 and stats["total_p95_ms"] >= stats["ttft_p50_ms"]
    assert set(stats) == {
        "samples", "observed", "ttft_ema_ms", "ttft_p50_ms", "ttft_p95_ms", "ttft_p99_ms",
        "total_ema_ms", "total_p50_ms", "total_p95_ms", "total_p99_ms",
    }  # fmt: skip
    metrics = httpx.get(base + "/metrics").text
    assert 'tiergate_target_ttft_seconds{stat="p95",target="ollama/qwen-fake"}' in metrics
    assert 'tiergate_target_latency_seconds{stat="ema",target="ollama/qwen-fake"}' in metrics
    assert 'tiergate_target_latency_samples_total{target="ollama/qwen-fake"} 2.0' in metrics
    decision = httpx.post(base + "/v1/route", json={"messages": [{"role": "user", "content": "hi"}]}).json()
    assert list(decision["latency"]) == ["ollama/qwen-fake"]  # sonnet, next in the chain, has served nothing
    assert decision["latency"]["ollama/qwen-fake"]["observed"] == 2


def test_a_rule_moves_off_a_local_model_that_got_slow(
    tmp_path: Path, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, gateway_for: GatewayFactory
) -> None:
    base = gateway_for(write(tmp_path, fake_ollama, fake_anthropic), ENV)
    assert ask(base, "hi").headers["x-tiergate-tier"] == "local"
    wait_for(lambda: httpx.get(base + "/health").json()["latency"].get("ollama/qwen-fake"), "a quick sample")
    assert ask(base, "hi").headers["x-tiergate-tier"] == "local"  # p95 of quick answers: under 600 ms
    fake_ollama.replies.append(Hang(1.0))  # then one answer takes a second to start
    assert ask(base, "hi").headers["x-tiergate-tier"] == "local"
    wait_for(
        lambda: httpx.get(base + "/health").json()["latency"]["ollama/qwen-fake"]["observed"] == 3, "the slow sample"
    )
    moved = ask(base, "hi")
    assert moved.headers["x-tiergate-tier"] == "sonnet"
    decision = httpx.post(base + "/v1/route", json={"messages": [{"role": "user", "content": "hi"}]}).json()
    assert (
        decision["signals"][0]["name"] == "slow_local"
        and decision["signals"][0]["value"]["target.local.total_p95_ms"] >= 300
    )


def decisions_in(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM decisions WHERE cost_usd > 0").fetchone()[0])


def test_a_budget_spills_and_survives_a_restart(
    tmp_path: Path, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, gateway_for: GatewayFactory
) -> None:
    routes = write(tmp_path, fake_ollama, fake_anthropic, "budgets: {tiers: {sonnet: {daily_usd: 0.0001}}}")
    base = gateway_for(routes, ENV)
    first = ask(base, "plan it", model="sonnet")
    assert first.headers["x-tiergate-tier"] == "sonnet"  # 11 in, 7 out at $3/$15: $0.000138
    spend = wait_for(lambda: httpx.get(base + "/health").json()["spend"]["tiers"]["sonnet"]["daily_usd"], "spend")
    assert spend == pytest.approx(0.000138)
    assert httpx.get(base + "/health").json()["spend"]["tiers"]["sonnet"]["daily_cap_usd"] == 0.0001
    spilled = ask(base, "plan it", model="sonnet")
    assert spilled.headers["x-tiergate-tier"] == "local"
    decision = httpx.post(
        base + "/v1/route", json={"model": "sonnet", "messages": [{"role": "user", "content": "x"}]}
    ).json()
    assert decision["budget"]["action"] == "spill" and decision["budget"]["to_tier"] == "local"
    assert any(r.startswith("budget: tier sonnet's daily budget $0.0001 is reached") for r in decision["reasons"])
    metrics = httpx.get(base + "/metrics").text
    assert 'tiergate_spend_usd{name="sonnet",period="daily",scope="tier"} 0.000138' in metrics
    assert 'tiergate_budget_actions_total{action="spill",name="sonnet",scope="tier"} 1.0' in metrics

    wait_for(lambda: decisions_in(tmp_path / "tiergate-decisions.db") == 1, "the decision log's row")
    again = gateway_for(routes, ENV)  # a restart: a new process state over the same decision log
    restored = httpx.get(again + "/health").json()["spend"]["tiers"]["sonnet"]["daily_usd"]
    assert restored == pytest.approx(0.000138)
    assert ask(again, "plan it", model="sonnet").headers["x-tiergate-tier"] == "local"


def test_a_budget_survives_a_restart_over_a_postgres_decision_log(
    tmp_path: Path,
    fake_ollama: FakeOllama,
    fake_anthropic: FakeAnthropic,
    gateway_for: GatewayFactory,
    postgres_url: str,
) -> None:
    budgets = "budgets: {tiers: {sonnet: {daily_usd: 0.0001}}}"
    routes = write(
        tmp_path, fake_ollama, fake_anthropic, f"{budgets}\nserver: {{decision_log: {{url: '{postgres_url}'}}}}"
    )
    base = gateway_for(routes, ENV)
    assert ask(base, "plan it", model="sonnet").headers["x-tiergate-tier"] == "sonnet"  # $0.000138

    def logged() -> int:
        with psycopg.connect(postgres_url) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM decisions WHERE cost_usd > 0").fetchone()[0])  # type: ignore[index]

    wait_for(lambda: logged() == 1, "the decision log's row in PostgreSQL")
    again = gateway_for(routes, ENV)  # a restart: its spend can only come from the Postgres log
    restored = httpx.get(again + "/health").json()["spend"]["tiers"]["sonnet"]["daily_usd"]
    assert restored == pytest.approx(0.000138)
    assert ask(again, "plan it", model="sonnet").headers["x-tiergate-tier"] == "local"


def test_a_clients_cap_follows_its_key_when_the_key_list_is_reordered_across_a_restart(
    tmp_path: Path, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, gateway_for: GatewayFactory
) -> None:
    alice, bob = "key-alice-0123456789", "key-bob-9876543210"
    name = "TIERGATE_KEYS:" + hashlib.sha256(alice.encode()).hexdigest()[:8]  # alice's client, by her key's digest
    extra = (
        f"budgets: {{clients: {{'{name}': {{daily_usd: 0.0001, on_exceed: reject}}}}}}\n"
        "server: {auth: {keys_env: [TIERGATE_KEYS]}}"
    )
    routes = write(tmp_path, fake_ollama, fake_anthropic, extra)
    base = gateway_for(routes, {**ENV, "TIERGATE_KEYS": f"{alice},{bob}"})
    as_alice, as_bob = {"authorization": f"Bearer {alice}"}, {"authorization": f"Bearer {bob}"}
    assert ask(base, "plan it", model="sonnet", headers=as_alice).status_code == 200  # $0.000138: over her cap
    wait_for(lambda: httpx.get(base + "/health").json()["spend"]["clients"][name]["daily_usd"] > 0, "spend")
    assert ask(base, "plan it", model="sonnet", headers=as_alice).status_code == 429
    wait_for(lambda: decisions_in(tmp_path / "tiergate-decisions.db") == 1, "the decision log's row")

    again = gateway_for(routes, {**ENV, "TIERGATE_KEYS": f"{bob},{alice}"})  # reordered, then a restart
    spend = httpx.get(again + "/health").json()["spend"]["clients"]
    assert spend[name]["daily_usd"] == pytest.approx(0.000138) and spend[name]["daily_cap_usd"] == 0.0001
    assert alice not in str(spend) and bob not in str(spend)
    refused = ask(again, "plan it", model="sonnet", headers=as_alice)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "budget_exceeded"
    served = ask(again, "plan it", model="sonnet", headers=as_bob)
    assert served.status_code == 200 and served.headers["x-tiergate-tier"] == "sonnet"


def test_a_rejecting_budget_answers_429_in_each_dialect(
    tmp_path: Path, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, gateway_for: GatewayFactory
) -> None:
    budgets = "budgets: {tiers: {sonnet: {daily_usd: 0.0001, on_exceed: reject}}}"
    base = gateway_for(write(tmp_path, fake_ollama, fake_anthropic, budgets), ENV)
    assert ask(base, "plan", model="sonnet").status_code == 200
    wait_for(lambda: httpx.get(base + "/health").json()["spend"]["tiers"]["sonnet"]["daily_usd"] > 0, "spend")
    calls = len(fake_anthropic.requests)

    refused = ask(base, "plan", model="sonnet")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1 and refused.headers["x-tiergate-decision-id"].startswith("dec_")
    message = refused.json()["error"]["message"]
    assert refused.json() == {
        "error": {"message": message, "type": "rate_limit_error", "param": None, "code": "budget_exceeded"}
    }
    assert message.startswith("the daily budget of tier sonnet is reached; it resets at ")

    sdk_client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0)
    with sdk_client as client, pytest.raises(openai.RateLimitError) as sdk:
        client.chat.completions.create(model="sonnet", messages=[{"role": "user", "content": "plan"}], stream=True)
    assert sdk.value.code == "budget_exceeded"

    claude_client = anthropic.Anthropic(base_url=base, api_key="unused", max_retries=0)
    with claude_client as messages, pytest.raises(anthropic.RateLimitError) as claude:
        messages.messages.create(model="sonnet", max_tokens=64, messages=[{"role": "user", "content": "plan"}])
    body = claude.value.response.json()
    assert body == {"type": "error", "error": {"type": "rate_limit_error", "message": message}}
    assert len(fake_anthropic.requests) == calls  # nothing was sent upstream


def test_a_session_moves_up_after_local_failures_and_low_ratings(
    tmp_path: Path, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, gateway_for: GatewayFactory
) -> None:
    escalation = "  session_escalation: {after_failures: 2, hold: 600}"
    base = gateway_for(write(tmp_path, fake_ollama, fake_anthropic, escalation), ENV)
    turns = [{"role": "user", "content": "fix the flaky test"}]
    fake_ollama.replies.extend([Status(500, "llama runner crashed"), Status(500, "llama runner crashed")])
    for _ in range(2):
        answer = httpx.post(base + "/v1/chat/completions", json={"messages": turns}, timeout=30)
        assert answer.headers["x-tiergate-attempts"] == "local/qwen-fake:http_500, sonnet/claude-mid:ok"
        turns += [{"role": "assistant", "content": "try this"}, {"role": "user", "content": "still failing"}]
    dry = wait_for(
        lambda: (d := httpx.post(base + "/v1/route", json={"messages": turns}).json())["escalation"] and d,
        "the escalation",
    )
    assert (dry["tier"], dry["escalation"]["from_tier"], dry["escalation"]["failures"]) == (
        "sonnet",
        "local",
        ["error", "error"],
    )
    third = httpx.post(base + "/v1/chat/completions", json={"messages": turns}, timeout=30)
    assert third.headers["x-tiergate-attempts"] == "sonnet/claude-mid:ok"  # local not even tried
    metrics = httpx.get(base + "/metrics").text
    assert 'tiergate_session_escalations_total{from_tier="local",to_tier="sonnet"} 1.0' in metrics

    other = [{"role": "user", "content": "another conversation"}]
    for _ in range(2):
        served = httpx.post(base + "/v1/chat/completions", json={"messages": other}, timeout=30)
        assert served.headers["x-tiergate-tier"] == "local"
        rated = httpx.post(
            base + "/v1/feedback", json={"decision_id": served.headers["x-tiergate-decision-id"], "rating": 1}
        )
        assert rated.status_code == 200, rated.text
    moved = httpx.post(base + "/v1/route", json={"messages": other}).json()
    assert moved["tier"] == "sonnet" and moved["escalation"]["failures"] == ["rating", "rating"]


def test_only_the_clients_own_ratings_and_routed_requests_move_its_session(
    tmp_path: Path, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, gateway_for: GatewayFactory
) -> None:
    """Another client's ratings, side requests (``sticky: false``) and explicit requests leave the session
    where it is; the client's own low ratings, one per decision, move it."""
    alice, bob = "key-alice-0123456789", "key-bob-9876543210"
    extra = "  session_escalation: {after_failures: 2, hold: 600}\nserver: {auth: {keys_env: [TIERGATE_KEYS]}}"
    routes = write(tmp_path, fake_ollama, fake_anthropic, extra)
    side = (
        "    - {name: title, when: {feature: system_text, contains_any: [title]}, then: {band: LOCAL, sticky: false}}"
    )
    routes.write_text(routes.read_text().replace("  rules:\n", f"  rules:\n{side}\n", 1))
    base = gateway_for(routes, {**ENV, "TIERGATE_KEYS": f"{alice},{bob}"})
    as_alice, as_bob = {"authorization": f"Bearer {alice}"}, {"authorization": f"Bearer {bob}"}
    opener = [{"role": "user", "content": "fix the flaky test"}]
    title = {"role": "system", "content": "Write a short title for this chat."}
    turns = [*opener, {"role": "assistant", "content": "try this"}, {"role": "user", "content": "still failing"}]

    def post(path: str, body: dict[str, Any], headers: dict[str, str] = as_alice) -> httpx.Response:
        return httpx.post(base + path, json=body, headers=headers, timeout=30)

    def dry() -> dict[str, Any]:
        return post("/v1/route", {"messages": turns}).json()  # type: ignore[no-any-return]

    def logged() -> int:
        with sqlite3.connect(tmp_path / "tiergate-decisions.db") as conn:
            return int(conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0])

    fake_ollama.replies.extend([Status(500, "llama runner crashed")] * 4)
    for body in [{"messages": [title, *opener]}, {"messages": turns, "model": "local"}] * 2:
        failed = post("/v1/chat/completions", body)
        assert failed.headers["x-tiergate-attempts"].startswith("local/qwen-fake:http_500"), failed.headers
        assert post("/v1/feedback", {"decision_id": failed.headers["x-tiergate-decision-id"], "rating": 1}).is_success
    wait_for(lambda: logged() == 4, "the failed requests observed")  # the decision log observes after signals
    assert (dry()["tier"], dry()["escalation"]) == ("local", None)

    served = []
    for _ in range(2):
        answer = post("/v1/chat/completions", {"messages": turns})
        assert answer.headers["x-tiergate-tier"] == "local"
        served.append(answer.headers["x-tiergate-decision-id"])
    wait_for(lambda: logged() == 6, "the served requests observed")
    for decision_id in served:
        rated = post("/v1/feedback", {"decision_id": decision_id, "rating": 1}, headers=as_bob)
        assert rated.status_code == 200, rated.text  # stored, but bob's ratings do not move alice's session
    assert post("/v1/feedback", {"decision_id": served[0], "rating": 1}).is_success
    assert post("/v1/feedback", {"decision_id": served[0], "rating": 2}).is_success  # the same decision: one failure
    assert (dry()["tier"], dry()["escalation"]) == ("local", None)
    assert post("/v1/feedback", {"decision_id": served[1], "rating": 1}).is_success
    moved = dry()
    assert moved["tier"] == "sonnet" and moved["escalation"]["failures"] == ["rating", "rating"]
    titled = post("/v1/chat/completions", {"messages": [title, *turns]})
    assert titled.headers["x-tiergate-tier"] == "local"  # a side request does not follow the escalation


def test_the_quality_header_turns_the_dial_and_a_bad_one_is_a_400(
    tmp_path: Path, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, gateway_for: GatewayFactory
) -> None:
    quality = "  quality: {client_min: 0.1, client_max: 0.9}"
    base = gateway_for(write(tmp_path, fake_ollama, fake_anthropic, quality), ENV)
    text = "x" * 250  # score 0.25: LOCAL by the file's bands (< 0.3)
    route = f"{base}/v1/route"
    plain = httpx.post(route, json={"messages": [{"role": "user", "content": text}]}).json()
    assert plain["tier"] == "local" and plain["quality"] == {"preference": 0.5, "source": "file"}
    dialled = httpx.post(
        route, json={"messages": [{"role": "user", "content": text}]}, headers={"x-tiergate-quality": "1"}
    ).json()
    assert dialled["tier"] == "sonnet"
    assert (dialled["quality"]["preference"], dialled["quality"]["requested"]) == (0.9, 1.0)
    assert dialled["quality"]["bands"]["local"] < 0.25

    bad = ask(base, text, headers={"x-tiergate-quality": "max"})
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "x-tiergate-quality"
    assert bad.json()["error"]["message"] == "header x-tiergate-quality must be a number from 0 to 1, got 'max'"
    claude = httpx.post(
        base + "/v1/messages",
        json={"model": "auto", "max_tokens": 10, "messages": [{"role": "user", "content": text}]},
        headers={"x-tiergate-quality": "2", "anthropic-version": "2023-06-01"},
    )
    assert claude.status_code == 400 and claude.json()["type"] == "error"
    assert claude.json()["error"]["type"] == "invalid_request_error"
