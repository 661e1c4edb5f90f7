"""Two gateway processes on one real Redis: breakers, rate limits, sticky sessions and the classifier's
cache are shared; Redis killed mid-run fails no request; decision rows of both land in one PostgreSQL.

Each replica is `tiergate serve` in its own process, in front of the fake upstreams; each test has its
own Redis key prefix (``state.prefix``) and, where it logs decisions, its own PostgreSQL database.
"""

from __future__ import annotations

import concurrent.futures
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import TEST_KEY
from tests.engines import RedisServer
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Hang, Status, Text
from tests.integration.replicas import ROOT, Replica, wait_until
from tiergate.state.spend import totals
from tiergate.telemetry.postgres import MIGRATIONS

ROUTES = """
backends:
  ollama: {kind: ollama, base_url: "${OLLAMA_HOST}"}
  anthropic: {kind: anthropic, base_url: "${ANTHROPIC_BASE_URL}", api_key_env: ANTHROPIC_API_KEY}
tiers:
  local:
    targets: [{backend: ollama, model: "qwen2.5-coder:7b", breaker: {fail_max: 3, reset_timeout: 120}}]
  sonnet: {targets: [{backend: anthropic, model: claude-sonnet-4-5}]}
  opus: {targets: [{backend: anthropic, model: claude-opus-4-1}]}
  limited: {targets: [{backend: anthropic, model: claude-haiku-4-5, limits: {rpm: 10, on_limit: reject}}]}
fallbacks: {local: [sonnet], opus: [sonnet]}
routing:
  rules:
    - {name: small, when: {feature: last_user_text, contains_any: [rename]}, then: {band: LOCAL}}
    - {name: unsure, when: {feature: last_user_text, contains_any: [maybe]}, then: {band: AMBIGUOUS}}
    - {name: deep, when: {feature: last_user_text, contains_any: [architecture]}, then: {tier: opus}}
  scorers:
    - {name: anything, feature: message_count, transform: {kind: threshold, at: 1}}
  classifier: {backend: ollama, model: "qwen2.5:1.5b", timeout: 5, min_confidence: 0.5}
  stickiness: {enabled: true, ttl: 600}
retries: {attempts: 0}
state: {redis_url: "${TIERGATE_REDIS_URL}", prefix: "${TIERGATE_REDIS_PREFIX}", retry_interval: 0.2}
server:
  decision_log: {url: "${TIERGATE_DECISION_LOG_URL:-}", path: decisions.db}
"""
LOCAL_KEY = "ollama/qwen2.5-coder:7b"


def chat(text: str, *history: str, model: str = "auto") -> dict[str, object]:
    turns = [*history, text]
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(turns)]
    return {"model": model, "messages": messages}


@pytest.fixture
def routes(tmp_path: Path) -> Path:
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES)
    return path


@pytest.fixture
def env(fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, redis_url: str, redis_prefix: str) -> dict[str, str]:
    return {
        "OLLAMA_HOST": fake_ollama.url,  # type: ignore[attr-defined]
        "ANTHROPIC_BASE_URL": fake_anthropic.url,  # type: ignore[attr-defined]
        "ANTHROPIC_API_KEY": TEST_KEY,
        "TIERGATE_REDIS_URL": redis_url,
        "TIERGATE_REDIS_PREFIX": redis_prefix,
        "TIERGATE_LOG_LEVEL": "info",
    }


@pytest.fixture
def pair(routes: Path, env: dict[str, str], tmp_path: Path) -> Iterator[tuple[Replica, Replica]]:
    with (
        Replica.start(routes, env, tmp_path / "a.log") as a,
        Replica.start(routes, env, tmp_path / "b.log") as b,
    ):
        yield a, b


def post(replica: Replica, body: dict[str, object], path: str = "/v1/chat/completions") -> httpx.Response:
    return httpx.post(replica.url + path, json=body, timeout=30)


def metric(replica: Replica, name: str) -> float:
    text = httpx.get(replica.url + "/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                return float(sample.value)
    raise AssertionError(f"{name} not in /metrics")


def test_a_budget_reached_through_one_replica_holds_on_the_other(
    routes: Path, env: dict[str, str], tmp_path: Path, fake_anthropic: FakeAnthropic
) -> None:
    priced = "sonnet: {targets: [{backend: anthropic, model: claude-sonnet-4-5, price: {input: 3000, output: 15000}}]}"
    text = ROUTES.replace("sonnet: {targets: [{backend: anthropic, model: claude-sonnet-4-5}]}", priced)
    routes.write_text(text + "budgets: {tiers: {sonnet: {daily_usd: 0.1, on_exceed: reject}}}\n")
    fake_anthropic.replies.append(Text("Proof.", prompt_tokens=11, completion_tokens=7))  # $0.138
    with (
        Replica.start(routes, env, tmp_path / "a.log") as a,
        Replica.start(routes, env, tmp_path / "b.log") as b,
    ):
        assert post(a, chat("prove it", model="sonnet")).status_code == 200  # under the cap before it
        spent = wait_until(
            lambda: b.health()["spend"]["tiers"].get("sonnet", {}).get("daily_usd", 0) >= 0.138,
            what="replica B to count A's spend",
        )
        assert spent
        refused = post(b, chat("prove it again", model="sonnet"))
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "budget_exceeded"
        assert len(fake_anthropic.requests) == 1


# --- each piece of state, shared -----------------------------------------------------------------


def test_a_breaker_opened_through_one_replica_is_open_on_the_other(
    pair: tuple[Replica, Replica], fake_ollama: FakeOllama
) -> None:
    a, b = pair
    assert a.health()["state"]["status"] == "ok" and b.health()["state"]["status"] == "ok"
    fake_ollama.queue.default = Status(500, "model crashed")
    for _ in range(3):  # fail_max: 3, through replica A only
        reply = post(a, chat("rename foo to bar"))
        assert reply.status_code == 200
        assert reply.headers["x-tiergate-attempts"].startswith("local/qwen2.5-coder:7b:")
    assert len(fake_ollama.requests) == 3
    assert a.health()["breakers"][LOCAL_KEY] == "open"
    wait_until(lambda: b.health()["breakers"][LOCAL_KEY] == "open", what="B to see A's breaker open")
    # B never called the local model, and now does not: it goes straight to the fallback.
    reply = post(b, chat("rename x to y"))
    assert reply.status_code == 200
    assert reply.headers["x-tiergate-tier"] == "sonnet"
    assert "qwen2.5-coder" not in reply.headers.get("x-tiergate-attempts", "")
    assert len(fake_ollama.requests) == 3
    route = post(b, chat("rename x to y"), "/v1/route").json()
    local = next(t for t in route["targets"] if t["model"] == "qwen2.5-coder:7b")
    assert local["breaker"] == "open" and local["skipped"]


def test_an_rpm_limit_of_10_holds_across_both_replicas(pair: tuple[Replica, Replica]) -> None:
    a, b = pair
    statuses = [post((a, b)[i % 2], chat("hello", model="limited")).status_code for i in range(20)]
    assert sorted(statuses) == [200] * 10 + [429] * 10
    # Each replica alone would have allowed 10 of its own 10.
    assert statuses.count(200) == 10


def test_a_sticky_session_started_on_one_replica_stays_sticky_on_the_other(pair: tuple[Replica, Replica]) -> None:
    a, b = pair
    first = post(a, chat("review the architecture of the payment service"))
    assert first.headers["x-tiergate-tier"] == "opus"
    follow_up = chat("now rename foo to bar", "review the architecture of the payment service", "Done.")
    reply = post(b, follow_up)
    assert reply.status_code == 200
    assert reply.headers["x-tiergate-tier"] == "opus"
    decision = post(b, follow_up, "/v1/route").json()
    assert "sticky: session already on opus; not moving down to local" in decision["reasons"]
    # A conversation that never went to opus is routed on its own merits.
    assert post(b, chat("rename foo to bar")).headers["x-tiergate-tier"] == "local"


def test_a_session_raised_through_one_replica_is_raised_on_another_that_served_it_lower(
    pair: tuple[Replica, Replica],
) -> None:
    a, b = pair
    for replica in pair:
        wait_until(lambda r=replica: r.health()["state"]["subscribed"], what="each replica to follow the channels")
    opener = "rename foo to bar"
    assert post(b, chat(opener)).headers["x-tiergate-tier"] == "local"  # B serves the session, at local
    deep = chat("now review the architecture", opener, "Done.")
    assert post(a, deep).headers["x-tiergate-tier"] == "opus"  # A raises it (its own first turn of it)
    third = chat("rename x", opener, "Done.", "now review the architecture", "Reviewed.")
    # B answers the session from its memory; A's raise reaches it through Redis's channel.
    wait_until(lambda: post(b, third, "/v1/route").json()["tier"] == "opus", what="B to learn of A's raise")
    reply = post(b, third)
    assert reply.status_code == 200 and reply.headers["x-tiergate-tier"] == "opus"


def test_local_failures_seen_by_two_replicas_move_the_session_up_on_both(
    routes: Path, env: dict[str, str], tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    """Each replica sees one of the session's two local failures: only counted together do they escalate. A
    replica started afterwards keeps the session up too."""
    escalation = "  stickiness: {enabled: true, ttl: 600}\n  session_escalation: {after_failures: 2, hold: 600}\n"
    routes.write_text(ROUTES.replace("  stickiness: {enabled: true, ttl: 600}\n", escalation))
    fake_ollama.replies.extend([Status(500, "llama runner crashed"), Status(500, "llama runner crashed")])
    with (
        Replica.start(routes, env, tmp_path / "a.log") as a,
        Replica.start(routes, env, tmp_path / "b.log") as b,
    ):
        for replica in (a, b):
            wait_until(lambda r=replica: r.health()["state"]["subscribed"], what="each replica to follow the channels")
        history: list[str] = []
        for replica in (a, b):
            reply = post(replica, chat("rename foo to bar", *history))
            assert reply.headers["x-tiergate-attempts"] == (
                "local/qwen2.5-coder:7b:http_500, sonnet/claude-sonnet-4-5:ok"
            )
            history += ["rename foo to bar", "Done."]
        turn = chat("rename foo to bar", *history)
        for replica in (a, b):
            dry = wait_until(
                lambda r=replica: (d := post(r, turn, "/v1/route").json())["escalation"] and d,
                what="the escalation on each replica",
            )
            assert (dry["tier"], dry["escalation"]["from_tier"], dry["escalation"]["failures"]) == (
                "sonnet",
                "local",
                ["error", "error"],
            )
        third = post(a, turn)
        assert third.headers["x-tiergate-attempts"] == "sonnet/claude-sonnet-4-5:ok"  # local not even tried
        # A replica started now (a rolling deploy) saw neither failure: it reads the hold kept in Redis.
        with Replica.start(routes, env, tmp_path / "c.log") as c:
            wait_until(lambda: c.health()["state"]["subscribed"], what="the new replica to follow the channels")
            dry = post(c, turn, "/v1/route").json()
            assert (dry["tier"], dry["escalation"]["from_tier"], dry["escalation"]["failures"]) == (
                "sonnet",
                "local",
                ["held"],
            )


def test_max_loaded_holds_across_replicas_a_model_answering_through_one_is_not_unloaded_by_the_other(
    routes: Path, env: dict[str, str], tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    """One small GPU behind two replicas (max_loaded: 1): B's call to another model waits for A's stream."""
    limited = 'ollama: {kind: ollama, base_url: "${OLLAMA_HOST}", max_loaded: 1, loaded_ttl: 0.1}'
    text = ROUTES.replace('ollama: {kind: ollama, base_url: "${OLLAMA_HOST}"}', limited)
    coder = '  coder: {targets: [{backend: ollama, model: "coder-fake:7b"}]}\n  sonnet:'
    routes.write_text(text.replace("  sonnet:", coder, 1))
    fake_ollama.replies.append(Hang(0.8, after_events=1))  # A's local stream pauses after its first line
    results: dict[str, httpx.Response] = {}
    with (
        Replica.start(routes, env, tmp_path / "a.log") as a,
        Replica.start(routes, env, tmp_path / "b.log") as b,
    ):
        for replica in (a, b):
            wait_until(lambda r=replica: r.health()["state"]["subscribed"], what="each replica to follow the channels")
        body = {**chat("hi", model="local"), "stream": True}
        with httpx.stream("POST", a.url + "/v1/chat/completions", json=body, timeout=30) as stream:
            lines = stream.iter_lines()
            assert next(line for line in lines if line.startswith("data: "))  # A's stream has begun
            other = threading.Thread(target=lambda: results.update(coder=post(b, chat("fix it", model="coder"))))
            other.start()
            time.sleep(0.4)
            assert [r.body["model"] for r in fake_ollama.requests] == ["qwen2.5-coder:7b"]  # B waits
            rest = "".join(lines)
        other.join(10)
    assert rest.endswith("data: [DONE]") and results["coder"].status_code == 200
    assert [(r.path, r.body["model"], r.body.get("keep_alive")) for r in fake_ollama.requests] == [
        ("/api/chat", "qwen2.5-coder:7b", None),
        ("/api/generate", "qwen2.5-coder:7b", 0),  # unloaded once A's stream had ended
        ("/api/chat", "coder-fake:7b", None),
    ]
    assert fake_ollama.memory.peak == 1


@pytest.mark.parametrize(("ahead", "waits_per_turn"), [(8, 0), (0, 1)])
def test_a_turn_of_a_conversation_the_replica_served_waits_for_no_redis_round_trip_while_limits_have_room(
    routes: Path, env: dict[str, str], tmp_path: Path, redis_url: str, ahead: int, waits_per_turn: int
) -> None:
    """Counted in the real Redis (INFO commandstats) and by the gateway: each turn sends the target's rate-limit
    script, the session's script and the previous turn's slot release. With the limits far from full
    (``state.limits_ahead``, on by default) the turn waits for none of them; with ``limits_ahead: 0`` it waits
    for the limit's. A change that adds a round trip to the request path fails here."""
    plain = 'targets: [{backend: ollama, model: "qwen2.5-coder:7b", breaker: {fail_max: 3, reset_timeout: 120}}]'
    limited = plain.replace("}}]", "}, limits: {rpm: 100000, concurrency: 50}}]")
    state = f"retry_interval: 0.2, limits_ahead: {ahead}}}"
    routes.write_text(ROUTES.replace(plain, limited).replace("retry_interval: 0.2}", state))
    counter = redis.Redis.from_url(redis_url)
    with Replica.start(routes, env, tmp_path / "a.log") as a:
        wait_until(lambda: a.health()["state"]["subscribed"], what="the replica to follow the channels")
        body = chat("rename foo to bar")
        assert post(a, body).headers["x-tiergate-tier"] == "local"  # the conversation's first turn here
        time.sleep(0.1)
        waits, before = metric(a, "tiergate_state_redis_waits_total"), counter.info("commandstats")
        turns = 20
        for _ in range(turns):
            reply = post(a, body)
            assert reply.status_code == 200 and reply.headers["x-tiergate-tier"] == "local"
        time.sleep(0.1)  # the last release goes out within 10 ms
        after = counter.info("commandstats")
        calls = {name: stat["calls"] - before.get(name, {"calls": 0})["calls"] for name, stat in after.items()}
        assert metric(a, "tiergate_state_redis_waits_total") - waits == waits_per_turn * turns
        assert metric(a, "tiergate_state_limit_takes_ahead_total") == (1 - waits_per_turn) * turns
        assert metric(a, "tiergate_state_limit_overruns_total") == 0
        assert calls["cmdstat_evalsha"] == 2 * turns  # the limit's script and the session's
        assert calls["cmdstat_zrem"] == turns  # each slot given back
        assert calls.get("cmdstat_eval", 0) == 0  # both scripts were loaded by the first turn
    counter.close()


def test_a_classifier_answer_from_one_replica_is_a_cache_hit_on_the_other(
    pair: tuple[Replica, Replica], fake_ollama: FakeOllama
) -> None:
    a, b = pair
    fake_ollama.replies.append(Text('{"reason": "a small edit", "tier": "local", "confidence": 0.9}'))
    first = post(a, chat("maybe tidy this function"), "/v1/route").json()
    assert first["classifier"]["outcome"] == "ok" and first["classifier"]["tier"] == "local"
    asked = [r for r in fake_ollama.requests if r.body["model"] == "qwen2.5:1.5b"]
    assert len(asked) == 1

    second = wait_until(
        lambda: (
            (d := post(b, chat("maybe tidy this function"), "/v1/route").json())["classifier"]["outcome"] == "cache_hit"
            and d
        ),
        what="B to find A's classifier answer in Redis",
    )
    assert second["classifier"]["tier"] == "local" and second["tier"] == "local"
    assert [r for r in fake_ollama.requests if r.body["model"] == "qwen2.5:1.5b"] == asked


# --- Redis down is not an outage ----------------------------------------------------------------


def test_redis_killed_mid_run_fails_no_request_and_comes_back(
    routes: Path, env: dict[str, str], tmp_path: Path
) -> None:
    own = RedisServer().start()
    env = {**env, "TIERGATE_REDIS_URL": own.url}
    try:
        with (
            Replica.start(routes, env, tmp_path / "a.log") as a,
            Replica.start(routes, env, tmp_path / "b.log") as b,
        ):
            bodies = [chat("rename foo"), chat("what is a monad"), chat("maybe tidy this"), chat("hello", model="opus")]
            stop = threading.Event()
            results: list[int] = []
            errors: list[str] = []

            def load(replica: Replica) -> None:
                with httpx.Client(timeout=30) as client:
                    i = 0
                    while not stop.is_set():
                        try:
                            r = client.post(replica.url + "/v1/chat/completions", json=bodies[i % len(bodies)])
                            results.append(r.status_code)
                        except httpx.HTTPError as exc:
                            errors.append(repr(exc))
                        i += 1

            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                running = [pool.submit(load, r) for r in (a, b, a, b)]
                wait_until(lambda: len(results) >= 40, what="requests before the kill")
                own.kill()
                wait_until(lambda: a.health()["state"]["status"] == "down", what="A to notice Redis is gone")
                wait_until(lambda: b.health()["state"]["status"] == "down", what="B to notice Redis is gone")
                during = len(results)
                wait_until(lambda: len(results) >= during + 40, what="requests while Redis is down")
                assert metric(a, "tiergate_state_redis_up") == 0
                down = a.health()["state"]
                assert down["last_error"] and down["down_since"] is not None
                own.start()  # the same port again
                wait_until(lambda: a.health()["state"]["status"] == "ok", what="A back on Redis")
                wait_until(lambda: b.health()["state"]["status"] == "ok", what="B back on Redis")
                after = len(results)
                wait_until(lambda: len(results) >= after + 40, what="requests after Redis returned")
                stop.set()
                for future in running:
                    future.result()
            assert errors == []
            assert results and set(results) == {200}, f"failed requests: {[s for s in results if s != 200]}"
            assert metric(a, "tiergate_state_redis_up") == 1
            assert metric(a, "tiergate_state_redis_outages_total") == 1
            assert metric(a, "tiergate_state_local_fallbacks_total") > 0
            for replica in (a, b):
                out = replica.output()
                assert out.count("is unreachable") == 1, out[-3000:]
                assert out.count("is back after") == 1, out[-3000:]
            # Back on Redis, state is shared again: a session opened on A is sticky on B.
            assert post(a, chat("the architecture, once more")).headers["x-tiergate-tier"] == "opus"
            follow = chat("rename foo", "the architecture, once more", "Sure.")
            assert post(b, follow).headers["x-tiergate-tier"] == "opus"
    finally:
        own.stop()


def test_a_gateway_starts_and_serves_while_redis_is_unreachable(
    routes: Path, env: dict[str, str], tmp_path: Path, closed_port: int
) -> None:
    env = {**env, "TIERGATE_REDIS_URL": f"redis://127.0.0.1:{closed_port}/0"}
    with Replica.start(routes, env, tmp_path / "a.log") as a:
        state = a.health()["state"]
        assert state["status"] == "down" and state["backend"] == "redis"
        assert state["url"] == f"redis://127.0.0.1:{closed_port}/0"
        for _ in range(3):
            assert post(a, chat("rename foo")).status_code == 200
            assert post(a, chat("hello", model="limited")).status_code == 200
        assert metric(a, "tiergate_state_redis_up") == 0
        assert a.output().count("is unreachable") == 1


# --- Redis coming back empty ---------------------------------------------------------------------

PRICED = "sonnet: {targets: [{backend: anthropic, model: claude-sonnet-4-5, price: {input: 3000, output: 15000}}]}"
SONNET_CAP = "budgets: {tiers: {sonnet: {daily_usd: 0.1, on_exceed: reject}}}\n"


def capped(routes: Path) -> None:
    """Sonnet at $0.138 a request (the fakes' 11 tokens in, 7 out), against a daily cap of $0.10."""
    routes.write_text(
        ROUTES.replace("sonnet: {targets: [{backend: anthropic, model: claude-sonnet-4-5}]}", PRICED) + SONNET_CAP
    )


def sonnet_today(replica: Replica) -> float:
    return float(replica.health()["spend"]["tiers"].get("sonnet", {}).get("daily_usd", 0.0))


def sonnet_in_redis(url: str, prefix: str) -> float:
    """Sonnet's spend this month as Redis holds it (``state.spend.totals``: the fields each process raised)."""
    client: Any = redis.Redis.from_url(url)
    return sum(
        totals((field.decode(), float(value)) for field, value in client.hgetall(key).items()).get(
            ("tier", "sonnet"), 0.0
        )
        for key in client.keys(f"{prefix}:spend:monthly:*")
    )


def test_a_budget_restored_while_redis_was_down_holds_when_an_empty_redis_starts(
    routes: Path, env: dict[str, str], tmp_path: Path, redis_prefix: str, fake_anthropic: FakeAnthropic
) -> None:
    capped(routes)
    server = RedisServer()  # nothing listens on its port until it starts
    env = {**env, "TIERGATE_REDIS_URL": server.url}
    try:
        with Replica.start(routes, env, tmp_path / "a.log") as a:
            assert post(a, chat("prove it", model="sonnet")).status_code == 200  # into the SQLite log
        with Replica.start(routes, env, tmp_path / "b.log") as b:  # restored from the log, into its mirror
            assert sonnet_today(b) == pytest.approx(0.138)
            assert post(b, chat("prove it again", model="sonnet")).status_code == 429
            server.start()
            wait_until(lambda: sonnet_in_redis(server.url, redis_prefix) >= 0.138, what="the restored spend in Redis")
            assert b.health()["state"]["status"] == "ok"
            assert sonnet_today(b) == pytest.approx(0.138)
            assert post(b, chat("and again", model="sonnet")).status_code == 429
        assert len(fake_anthropic.requests) == 1
    finally:
        server.stop()


def test_a_budget_holds_on_both_replicas_when_redis_restarts_empty(
    routes: Path,
    env: dict[str, str],
    tmp_path: Path,
    redis_prefix: str,
    postgres_url: str,
    fake_anthropic: FakeAnthropic,
) -> None:
    capped(routes)
    own = RedisServer().start()
    env = {**env, "TIERGATE_REDIS_URL": own.url, "TIERGATE_DECISION_LOG_URL": postgres_url}
    try:
        with (
            Replica.start(routes, env, tmp_path / "a.log") as a,
            Replica.start(routes, env, tmp_path / "b.log") as b,
        ):
            assert post(a, chat("prove it", model="sonnet")).status_code == 200
            wait_until(lambda: sonnet_today(b) >= 0.138, what="replica B to count A's spend")
            own.kill()
            own.start()  # as after `redis-cli shutdown nosave`: the same port, nothing in it
            wait_until(lambda: sonnet_in_redis(own.url, redis_prefix) >= 0.138, what="the spend back in Redis")
            time.sleep(1.0)  # both replicas synced with it again, a few times over
            assert sonnet_in_redis(own.url, redis_prefix) == pytest.approx(0.138)  # once, not once per replica
            for replica in (a, b):
                assert sonnet_today(replica) == pytest.approx(0.138)
                assert post(replica, chat("prove it again", model="sonnet")).status_code == 429
            # A replica started now finds the month claimed: it reads the spend, and restores nothing on top.
            with Replica.start(routes, env, tmp_path / "c.log") as c:
                wait_until(lambda: sonnet_today(c) > 0, what="replica C's first sync")
                time.sleep(0.6)  # and one more
                assert sonnet_today(c) == pytest.approx(0.138)
                assert post(c, chat("and again", model="sonnet")).status_code == 429
        assert len(fake_anthropic.requests) == 1
    finally:
        own.stop()


def test_a_replica_that_stops_leaves_its_spend_to_gone_and_the_next_counts_it(
    routes: Path, env: dict[str, str], tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    """``tiergate serve`` stopped by SIGTERM moves its fields to the process named ``gone`` (state/spend.py)."""
    capped(routes)
    with Replica.start(routes, env, tmp_path / "a.log") as a:
        assert post(a, chat("prove it", model="sonnet")).status_code == 200
        wait_until(lambda: sonnet_in_redis(redis_url, redis_prefix) >= 0.138, what="A's spend in Redis")
    client: Any = redis.Redis.from_url(redis_url)
    month = client.keys(f"{redis_prefix}:spend:monthly:*")
    assert len(month) == 1
    assert sorted(f.decode() for f in client.hgetall(month[0])) == [
        "in\x1fgone\x1fclient\x1fanonymous",
        "in\x1fgone\x1ftier\x1fsonnet",
    ]
    assert sonnet_in_redis(redis_url, redis_prefix) == pytest.approx(0.138)
    with Replica.start(routes, env, tmp_path / "b.log") as b:
        wait_until(lambda: sonnet_today(b) > 0, what="replica B's first sync")
        assert sonnet_today(b) == pytest.approx(0.138)
        assert post(b, chat("prove it again", model="sonnet")).status_code == 429


# --- one decision log for the team ------------------------------------------------------------


def test_decision_rows_from_both_replicas_land_in_one_postgres(
    routes: Path, env: dict[str, str], tmp_path: Path, postgres_url: str
) -> None:
    env = {**env, "TIERGATE_DECISION_LOG_URL": postgres_url}
    with (
        Replica.start(routes, env, tmp_path / "a.log") as a,
        Replica.start(routes, env, tmp_path / "b.log") as b,
    ):
        ids = {
            name: [post(replica, chat(f"rename item {i}")).headers["x-tiergate-decision-id"] for i in range(5)]
            for name, replica in (("a", a), ("b", b))
        }

        def logged() -> set[str]:
            with psycopg.connect(postgres_url) as conn:
                return {row[0] for row in conn.execute("SELECT decision_id FROM decisions")}

        wait_until(lambda: logged() == set(ids["a"]) | set(ids["b"]), what="both replicas' rows in PostgreSQL")
        # Feedback on B for a decision A made: the row is in the shared log.
        rated = httpx.post(b.url + "/v1/feedback", json={"decision_id": ids["a"][0], "rating": 5}, timeout=10)
        assert rated.status_code == 200 and rated.json() == {"ok": True, "decision_id": ids["a"][0]}
        unknown = httpx.post(a.url + "/v1/feedback", json={"decision_id": "dec_nope", "rating": 1}, timeout=10)
        assert unknown.status_code == 404
        # The console of either replica reads the shared log.
        stats = httpx.get(a.url + "/console/api/savings?window=1h", timeout=10).json()["stats"]
        tiers = [(t["tier"], t["requests"], t["ratings"]) for t in stats["tiers"]]
        assert (stats["requests"], tiers) == (10, [("local", 10, 1)])
        rows = httpx.get(b.url + "/console/api/requests?limit=20", timeout=10).json()["requests"]
        assert sorted(r["decision_id"] for r in rows) == sorted(ids["a"] + ids["b"])
        detail = httpx.get(b.url + f"/console/api/requests/{ids['a'][0]}", timeout=10).json()
        assert [r["rating"] for r in detail["ratings"]] == [5] and detail["row"]["decided_by"] == "rules"
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT max(version) FROM tiergate_schema").fetchone() == (len(MIGRATIONS),)
        assert conn.execute("SELECT count(*), min(tier), max(tier) FROM decisions").fetchone() == (10, "local", "local")
    stats = subprocess.run(
        [sys.executable, "-m", "tiergate.cli", "stats", "--db", postgres_url],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert "10 requests" in stats.stdout
    assert "ratings:   1, mean 5.00" in stats.stdout
    assert stats.stdout.startswith(postgres_url.replace("tiergate@", "***@") + ": 10 requests")  # the user is hidden


def test_redis_keys_are_namespaced_and_hold_no_request_text(
    pair: tuple[Replica, Replica], redis_url: str, redis_prefix: str
) -> None:
    a, _ = pair
    post(a, chat("review the architecture of the secret-project service"))
    keys = wait_until(lambda: redis.Redis.from_url(redis_url).keys(f"{redis_prefix}:*"), what="keys in Redis")
    assert all(k.decode().startswith(redis_prefix + ":") for k in keys)
    dump = json.dumps([k.decode() for k in keys])
    assert "secret-project" not in dump
