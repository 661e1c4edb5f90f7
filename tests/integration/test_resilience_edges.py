"""docs/resilience.md's promises at their edges, end to end: a model two tiers share, a half-open breaker
whose trial is a stream, a stream's budget across its retries, and the 429s a limit answers.

Each case has its own gateway (breakers and limiters keep state) in front of the fake upstreams.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_KEY, GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Hang, Status, Text, Truncated
from tests.helpers import wait_for_record

BACKENDS = """
version: 1
backends:
  ollama: {kind: ollama, base_url: "${OLLAMA_HOST}"}
  anthropic: {kind: anthropic, base_url: "${ANTHROPIC_BASE_URL}", api_key_env: ANTHROPIC_API_KEY}
routing: {mode: fixed, fixed_tier: local}
server: {decision_log: {enabled: false}}
"""
HI = [{"role": "user", "content": "hi"}]


def environ(ollama: FakeOllama, anthropic: FakeAnthropic) -> dict[str, str]:
    return {"OLLAMA_HOST": ollama.url, "ANTHROPIC_BASE_URL": anthropic.url, "ANTHROPIC_API_KEY": TEST_KEY}  # type: ignore[attr-defined]


def serve(tmp_path: Path, gateway_for: GatewayFactory, ollama: FakeOllama, anthropic: FakeAnthropic, rest: str) -> str:
    path = tmp_path / "routes.yaml"
    path.write_text(BACKENDS + rest)
    return gateway_for(path, environ(ollama, anthropic))


# --- one model in two tiers of a chain ---------------------------------------------------------------

SHARED_MODEL = """
tiers:
  local:
    targets:
      - {backend: ollama, model: qwen-test}
      - {backend: anthropic, model: claude-sonnet}
  sonnet:
    targets:
      - {backend: anthropic, model: claude-sonnet}
fallbacks: {local: [sonnet]}
retries: {attempts: 0}
"""


@pytest.mark.parametrize("stream", [False, True])
def test_a_model_two_tiers_of_a_chain_list_is_called_once(
    tmp_path: Path, gateway_for: GatewayFactory, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, stream: bool
) -> None:
    """Its answer was cut after its 200 (it may be billed): it is never called again for the request."""
    base = serve(tmp_path, gateway_for, fake_ollama, fake_anthropic, SHARED_MODEL)
    dry = httpx.post(base + "/v1/route", json={"messages": HI}).json()
    assert [(t["tier"], t["model"], t.get("skipped")) for t in dry["targets"]] == [
        ("local", "qwen-test", None),
        ("local", "claude-sonnet", None),
        ("sonnet", "claude-sonnet", "the same backend and model as local/claude-sonnet, tried first"),
    ]
    fake_ollama.replies.append(Status(500, "model crashed"))
    fake_anthropic.replies.extend([Truncated(after_events=2), Text("A second, paid answer.")])
    r = httpx.post(base + "/v1/chat/completions", json={"model": "auto", "messages": HI, "stream": stream}, timeout=30)
    assert r.status_code == 503
    assert r.headers["x-tiergate-attempts"] == "local/qwen-test:http_500, local/claude-sonnet:protocol"
    assert len(fake_anthropic.requests) == 1


# --- a half-open breaker whose trial is a stream ----------------------------------------------------

TRIAL = """
tiers:
  local:
    targets:
      - {backend: ollama, model: qwen-test, breaker: {fail_max: 1, reset_timeout: 0.3}}
  cloud:
    targets:
      - {backend: anthropic, model: claude-rescue}
fallbacks: {local: [cloud]}
retries: {attempts: 0}
"""


def attempts(base: str, *, stream: bool = False) -> str:
    body = {"model": "auto", "messages": HI, "stream": stream}
    r = httpx.post(base + "/v1/chat/completions", json=body, timeout=30)
    assert r.status_code == 200
    return r.headers["x-tiergate-attempts"]


def wait_for_breaker(base: str, key: str, state: str) -> None:
    deadline = time.monotonic() + 5
    while httpx.get(base + "/health").json()["breakers"][key] != state:
        assert time.monotonic() < deadline, f"the breaker of {key} never read {state}"
        time.sleep(0.02)


def test_a_streaming_trial_refuses_others_until_it_ends(
    tmp_path: Path,
    gateway_for: GatewayFactory,
    fake_ollama: FakeOllama,
    fake_anthropic: FakeAnthropic,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Its first token is not its outcome: requests that come while it streams fall back. Its client leaving
    settles nothing, but ends the trial: the next request is the next trial."""
    caplog.set_level(logging.INFO, logger="tiergate.requests")
    base = serve(tmp_path, gateway_for, fake_ollama, fake_anthropic, TRIAL)
    fake_ollama.replies.append(Status(500, "model crashed"))
    assert attempts(base) == "local/qwen-test:http_500, cloud/claude-rescue:ok"
    wait_for_breaker(base, "ollama/qwen-test", "half-open")
    fake_ollama.replies.append(Hang(seconds=10, after_events=2))  # the trial: its first token, then a pause
    body = {"model": "auto", "messages": HI, "stream": True}
    with httpx.stream("POST", base + "/v1/chat/completions", json=body, timeout=30) as r:
        assert r.headers["x-tiergate-attempts"] == "local/qwen-test:ok"
        decision_id = r.headers["x-tiergate-decision-id"]
        lines = r.iter_lines()  # kept: a dropped iterator closes the response, and the client has left
        next(line for line in lines if '"content":"Hello' in line)
        for stream in (False, True):  # skipped, as the dry run says: the trial refuses them
            assert attempts(base, stream=stream) == "cloud/claude-rescue:ok"
        dry = httpx.post(base + "/v1/route", json={"model": "auto", "messages": HI}).json()
        assert [(t["tier"], t["breaker"], t["skipped"]) for t in dry["targets"]] == [
            ("local", "open", f"breaker open (last failure: backend 'ollama' at {fake_ollama.url}: model crashed)"),
            ("cloud", "closed", None),
        ]
        assert httpx.get(base + "/health").json()["breakers"]["ollama/qwen-test"] == "open"
        assert len(fake_ollama.requests) == 2
    assert wait_for_record(caplog, decision_id)["status"] == 499  # written once the trial's stream was closed
    assert httpx.get(base + "/health").json()["breakers"]["ollama/qwen-test"] == "half-open"
    assert attempts(base, stream=True) == "local/qwen-test:ok"
    assert httpx.get(base + "/health").json()["breakers"]["ollama/qwen-test"] == "closed"


# --- a stream's budget across its retries ----------------------------------------------------------

BUDGET = """
tiers:
  local:
    targets:
      - backend: ollama
        model: qwen-test
        timeouts: {first_token: 5, idle: 5, total: 1}
        retries: {attempts: 1, backoff_base: 0.01, backoff_max: 0.01}
"""


def test_a_stream_after_a_retry_has_what_is_left_of_the_targets_total(
    tmp_path: Path, gateway_for: GatewayFactory, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic
) -> None:
    """total is the target's whole budget: the 0.6 s wait the 429 asked for is spent, so a stream that then
    pauses 0.8 s is cut at 1 s, not given a second budget of its own."""
    base = serve(tmp_path, gateway_for, fake_ollama, fake_anthropic, BUDGET)
    fake_ollama.replies.extend([Status(429, "slow down", {"retry-after-ms": "600"}), Hang(seconds=0.8, after_events=2)])
    body = {"model": "auto", "messages": HI, "stream": True}
    with httpx.stream("POST", base + "/v1/chat/completions", json=body, timeout=30) as r:
        assert r.status_code == 200 and r.headers["x-tiergate-attempts"] == "local/qwen-test:ok"
        events = [line for line in r.iter_lines() if line]
    assert (
        events[-1]
        == (
            'data: {"error":{"message":"backend \'ollama\' at ' + fake_ollama.url + ": the whole answer took longer "  # type: ignore[attr-defined]
            'than 1s, retries included (timeouts.total)","type":"upstream_error","param":null,"code":null}}'
        )
    )
    assert "data: [DONE]" not in events and len(fake_ollama.requests) == 2


# --- every 429 says when to come back ------------------------------------------------------------------

LIMITED = """
tiers:
  local:
    targets:
      - {backend: ollama, model: qwen-test, limits: LIMITS}
retries: {attempts: 0}
"""


@pytest.mark.parametrize(
    "limits", ["{concurrency: 1, on_limit: reject}", "{concurrency: 1, on_limit: wait, max_wait: 0.05}"]
)
def test_a_concurrency_limit_answers_429_with_retry_after(
    tmp_path: Path, gateway_for: GatewayFactory, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, limits: str
) -> None:
    """When a slot frees cannot be foreseen: the 429 says the shortest wait, as an rpm limit says its own."""
    base = serve(tmp_path, gateway_for, fake_ollama, fake_anthropic, LIMITED.replace("LIMITS", limits))
    fake_ollama.replies.append(Hang(seconds=1))  # holds the only slot, then answers
    held: list[int] = []
    holder = threading.Thread(target=lambda: held.append(chat(base).status_code))
    holder.start()
    wait_for_requests(fake_ollama, 1)
    detail = "concurrency limit for ollama/qwen-test reached (limits.concurrency: 1 in flight)"
    if "wait" in limits:
        detail += "; none free within 0.05s (limits.max_wait)"
    r = chat(base)
    assert (r.status_code, r.headers["retry-after"]) == (429, "1")
    assert r.headers["x-tiergate-attempts"] == "local/qwen-test:rate_limited"
    assert r.json() == {
        "error": {"message": detail, "type": "rate_limit_error", "param": None, "code": "rate_limit_exceeded"}
    }
    body = {"model": "auto", "max_tokens": 10, "messages": HI}
    r = httpx.post(base + "/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"}, timeout=30)
    assert (r.status_code, r.headers["retry-after"]) == (429, "1")
    assert r.json() == {"type": "error", "error": {"type": "rate_limit_error", "message": detail}}
    holder.join(timeout=10)
    assert held == [200] and len(fake_ollama.requests) == 1


def test_an_upstream_429_without_retry_after_gets_one(
    tmp_path: Path, gateway_for: GatewayFactory, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic
) -> None:
    """As when several targets all answered 429: the client is told when to come back."""
    base = serve(tmp_path, gateway_for, fake_ollama, fake_anthropic, LIMITED.replace("LIMITS", "{}"))
    fake_ollama.replies.append(Status(429, "slow down"))
    r = chat(base)
    assert (r.status_code, r.headers["retry-after"]) == (429, "1")
    assert r.headers["x-tiergate-attempts"] == "local/qwen-test:http_429"


def chat(base: str) -> httpx.Response:
    return httpx.post(base + "/v1/chat/completions", json={"model": "auto", "messages": HI}, timeout=30)


def wait_for_requests(fake: FakeOllama, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(fake.requests) < count:
        assert time.monotonic() < deadline, f"the fake never saw request {count}"
        time.sleep(0.005)


# --- a Claude stream's first token, passed through to a Messages client -------------------------------

CLAUDE = """
tiers:
  local:
    targets:
      - backend: anthropic
        model: claude-test
        capabilities: {thinking: true}
        timeouts: {first_token: 0.5, idle: 5, total: 10}
  edge:
    targets:
      - {backend: ollama, model: qwen-rescue}
fallbacks: {local: [edge]}
retries: {attempts: 0}
"""
MESSAGES = {"anthropic-version": "2023-06-01"}
SEARCH = [{"type": "web_search_20250305", "name": "web_search"}]


def messages_stream(base: str, **extra: object) -> tuple[httpx.Headers, list[str]]:
    """The response's headers and its events' names, read from the raw bytes."""
    body = {"model": "auto", "max_tokens": 4000, "stream": True, "messages": HI, **extra}
    with httpx.stream("POST", base + "/v1/messages", json=body, headers=MESSAGES, timeout=30) as r:
        assert r.status_code == 200, r.read()
        names = [line.removeprefix("event: ") for line in r.iter_lines() if line.startswith("event: ")]
    return r.headers, names


START, DELTA, STOP = "content_block_start", "content_block_delta", "content_block_stop"
TEXT_BLOCK = [START, DELTA, DELTA, DELTA, STOP]
END = ["message_delta", "message_stop"]


@pytest.mark.parametrize(
    ("extra", "then", "pause_after", "events"),
    [
        # the empty thinking block's start and a ping, then (the pause) its signature when the thinking ends
        (
            {"thinking": {"type": "adaptive", "display": "omitted"}},
            Text("The answer."),
            3,
            ["message_start", START, "ping", DELTA, STOP, *TEXT_BLOCK, *END],
        ),
        # server_tool_use's start, a ping, its input and stop, the result's start and stop: then the search runs
        (
            {"tools": SEARCH},
            Text("The answer.", web_search="tiergate"),
            7,
            ["message_start", START, "ping", DELTA, STOP, START, STOP, *TEXT_BLOCK, *END],
        ),
    ],
    ids=["omitted-thinking", "web-search"],
)
def test_a_claude_stream_whose_answer_began_without_text_is_not_cut_by_first_token(
    tmp_path: Path,
    gateway_for: GatewayFactory,
    fake_ollama: FakeOllama,
    fake_anthropic: FakeAnthropic,
    extra: dict[str, object],
    then: Text,
    pause_after: int,
    events: list[str],
) -> None:
    """A content block has started, hidden thinking or a server tool's: the answer has begun, so the pause
    that follows (past first_token, within idle) is Claude at work, and the client has had its first bytes."""
    base = serve(tmp_path, gateway_for, fake_ollama, fake_anthropic, CLAUDE)
    fake_anthropic.replies.append(Hang(seconds=1.0, after_events=pause_after, then=then))
    headers, names = messages_stream(base, **extra)
    assert headers["x-tiergate-attempts"] == "local/claude-test:ok"
    assert names == events
    assert not fake_ollama.requests


def test_a_claude_stream_that_only_says_hello_and_pings_falls_back(
    tmp_path: Path, gateway_for: GatewayFactory, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic
) -> None:
    """message_start and keep-alive pings are no answer: first_token still cuts such a stream, before the
    client got a byte, and the next target answers."""
    base = serve(tmp_path, gateway_for, fake_ollama, fake_anthropic, CLAUDE)
    fake_anthropic.replies.append(Hang(seconds=3, after_events=1))
    headers, names = messages_stream(base)
    assert headers["x-tiergate-attempts"] == "local/claude-test:timeout, edge/qwen-rescue:ok"
    assert names[-2:] == ["message_delta", "message_stop"] and "error" not in names
    assert len(fake_anthropic.requests) == 1 and len(fake_ollama.requests) == 1
