"""Fault injection, end to end: each upstream fault, streamed and whole, through both backends.

Every case ends one of two ways, and the test says which, exactly:

- the fault came before the first byte reached the client: the whole answer comes from the
  fallback target, and ``x-tiergate-attempts`` names each target tried and how it ended;
- the fault came after it: the stream's last event is ``data: {"error": ...}`` and no ``[DONE]``
  follows, so a cut answer can never pass for a complete one.

The gateway has one primary tier per backend, each falling back to the other backend:

    local  (ollama    qwen-test)   → cloud (anthropic claude-rescue)
    sonnet (anthropic claude-test) → edge  (ollama    qwen-rescue)

Primaries have short timeouts (first token and idle 0.5 s, total 1 s) and near-zero backoff, so
a hang costs half a second. Breakers and limiters keep state, so those tests get a gateway each.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import TEST_KEY, GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import DEFAULT_TEXT, Hang, Status, Text, Truncated
from tests.fakes.server import ThreadedServer, handled_before_chat, serve
from tests.helpers import wait_for_record
from tiergate.server import build

Fake = FakeOllama | FakeAnthropic

ROUTES = """
version: 1
backends:
  ollama: {kind: ollama, base_url: "${OLLAMA_HOST}"}
  anthropic: {kind: anthropic, base_url: "${ANTHROPIC_BASE_URL}", api_key_env: ANTHROPIC_API_KEY}
tiers:
  local:
    targets:
      - backend: ollama
        model: qwen-test
        capabilities: {tools: false, vision: false, context_window: 8192}
        PRIMARY
  sonnet:
    targets:
      - backend: anthropic
        model: claude-test
        capabilities: {tools: false, vision: false, context_window: 8192}
        PRIMARY
  cloud:
    targets:
      - {backend: anthropic, model: claude-rescue, capabilities: {tools: true, vision: true, context_window: 200000}}
  edge:
    targets:
      - {backend: ollama, model: qwen-rescue, capabilities: {tools: true, vision: true, context_window: 200000}}
fallbacks: {local: [cloud], sonnet: [edge]}
routing: {mode: fixed, fixed_tier: local}
timeouts: {connect: 2, first_token: 5, idle: 5, total: 10}
retries: {attempts: 2, backoff_base: 0.01, backoff_max: 0.05}
breakers: {fail_max: 1000, reset_timeout: 600}
"""
FAST = "timeouts: {first_token: 0.5, idle: 0.5, total: 1}"
RESCUED = "Rescued by the fallback."
FIRST_TWO = "Hello from the fake "  # DEFAULT_TEXT's first two of three stream pieces
HI = [{"role": "user", "content": "hi"}]


def write_routes(directory: Path, *primary: str) -> Path:
    """routes.yaml with ``primary`` (YAML lines such as ``limits: {rpm: 1}``) added to both primary targets."""
    path = directory / "routes.yaml"
    path.write_text(ROUTES.replace("PRIMARY", "\n        ".join(primary or (FAST,))))
    return path


@dataclass(frozen=True)
class Side:
    """One backend under test: its primary tier and model, and the tier it falls back to."""

    backend: str
    tier: str
    model: str
    rescue_tier: str
    rescue_model: str

    @property
    def label(self) -> str:
        return f"{self.tier}/{self.model}"

    @property
    def rescue_label(self) -> str:
        return f"{self.rescue_tier}/{self.rescue_model}"

    @property
    def key(self) -> str:
        return f"{self.backend}/{self.model}"


SIDES = {
    "ollama": Side("ollama", "local", "qwen-test", "cloud", "claude-rescue"),
    "anthropic": Side("anthropic", "sonnet", "claude-test", "edge", "qwen-rescue"),
}
URL_ENV = {"ollama": "OLLAMA_HOST", "anthropic": "ANTHROPIC_BASE_URL"}


@dataclass
class Fakes:
    """The primary's fake (scripted to fail) and the rescue's fake (answers ``RESCUED``)."""

    primary: Fake
    rescue: Fake

    def environ(self, **urls: str) -> dict[str, str]:
        """The gateway's environment; ``urls`` moves a backend elsewhere, e.g. ``ollama=dead_url``."""
        by_kind: dict[type, Any] = {type(fake): fake for fake in (self.primary, self.rescue)}
        return environ(by_kind[FakeOllama], by_kind[FakeAnthropic], **urls)

    @classmethod
    def of(cls, side: Side, ollama: FakeOllama, anthropic: FakeAnthropic) -> Fakes:
        fakes = cls(ollama, anthropic) if side.backend == "ollama" else cls(anthropic, ollama)
        fakes.rescue.queue.default = Text(RESCUED, chunks=2)
        return fakes


def environ(ollama: FakeOllama, anthropic: FakeAnthropic, /, **urls: str) -> dict[str, str]:
    env = {"OLLAMA_HOST": ollama.url, "ANTHROPIC_BASE_URL": anthropic.url, "ANTHROPIC_API_KEY": TEST_KEY}  # type: ignore[attr-defined]
    return {**env, **{URL_ENV[backend]: url for backend, url in urls.items()}}


def sdk(base: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base + "/v1", api_key="sk-client-unused", max_retries=0, timeout=30)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, _ollama: FakeOllama, _anthropic: FakeAnthropic) -> Iterator[str]:
    """One gateway for the stateless cases: breakers that never open (fail_max 1000), no limits."""
    routes = write_routes(tmp_path_factory.mktemp("faults"))
    server = ThreadedServer(build(routes, environ=environ(_ollama, _anthropic), watch=False))
    yield server.start()
    server.stop()


@pytest.fixture(params=["ollama", "anthropic"])
def side(request: pytest.FixtureRequest) -> Side:
    return SIDES[request.param]


@pytest.fixture
def fakes(side: Side, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic) -> Fakes:
    return Fakes.of(side, fake_ollama, fake_anthropic)


# --- what the client sees -------------------------------------------------------------------------


def ask(base: str, side: Side, *, stream: bool, **extra: Any) -> tuple[str, httpx.Headers]:
    """The whole answer's text and headers, through the openai SDK; a stream must end with a finish."""
    messages = extra.pop("messages", HI)
    with sdk(base) as client:
        raw = client.chat.completions.with_raw_response.create(
            model=side.tier, messages=messages, stream=stream, **extra
        )
        if not stream:
            done = raw.parse()
            assert done.choices[0].finish_reason == "stop"
            return done.choices[0].message.content or "", raw.headers
        chunks = [c for c in raw.parse() if c.choices]
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices[0].finish_reason]
    assert finishes == ["stop"], "a complete stream ends with exactly one finish chunk"
    return "".join(c.choices[0].delta.content or "" for c in chunks), raw.headers


# --- the matrix of every fault is tests/integration/test_fault_matrix.py ----------------------------


@pytest.mark.parametrize("backend", ["ollama", "anthropic"])
def test_the_sdk_raises_on_a_cut_stream(
    shared: str, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, backend: str
) -> None:
    side = SIDES[backend]
    fakes = Fakes.of(side, fake_ollama, fake_anthropic)
    fakes.primary.queue.default = Truncated(after_events=2 if backend == "ollama" else 5)
    received: list[str] = []
    with sdk(shared) as client, pytest.raises(openai.APIError) as info:
        for chunk in client.chat.completions.create(model=side.tier, messages=HI, stream=True):  # type: ignore[arg-type]
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == FIRST_TWO
    detail = "stream ended before done" if backend == "ollama" else "stream ended before message_stop"
    assert info.value.message == f"backend '{backend}' at {fakes.primary.url}: {detail}"  # type: ignore[attr-defined]


def test_connection_refused_falls_back(
    tmp_path: Path, gateway_for: GatewayFactory, closed_port: int, side: Side, fakes: Fakes
) -> None:
    dead = f"http://127.0.0.1:{closed_port}"
    base = gateway_for(write_routes(tmp_path), fakes.environ(**{side.backend: dead}))
    for stream in (False, True):
        text, headers = ask(base, side, stream=stream)
        assert text == RESCUED
        assert headers["x-tiergate-attempts"] == f"{side.label}:connect, {side.rescue_label}:ok"
    assert not fakes.primary.requests


class StalledBody:
    """An upstream that sends ``200`` and half a JSON body, then nothing; notes when its client hangs up."""

    def __init__(self) -> None:
        self.calls = 0
        self.hung_up = threading.Event()

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if await handled_before_chat(scope, receive, send):
            return
        self.calls += 1
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send(
            {"type": "http.response.body", "body": b'{"model": "qwen-test", "message": {"role": ', "more_body": True}
        )
        if (await receive())["type"] == "http.disconnect":
            self.hung_up.set()


def test_a_whole_answer_that_stalls_mid_body_falls_back(
    tmp_path: Path, gateway_for: GatewayFactory, side: Side, fakes: Fakes
) -> None:
    """The non-stream form of a mid-stream hang: nothing reached the client, so it is a fallback."""
    stalled = StalledBody()
    with serve(stalled) as url:
        env = fakes.environ(**{side.backend: url})
        base = gateway_for(write_routes(tmp_path), env)
        text, headers = ask(base, side, stream=False)
        assert text == RESCUED
        assert headers["x-tiergate-attempts"] == f"{side.label}:timeout, {side.rescue_label}:ok"
        assert stalled.calls == 1  # the whole budget (timeouts.total) went to one try: none left to retry
        assert stalled.hung_up.wait(5), "the gateway left the stalled upstream connection open"


# --- errors that are the request's own, and the end of the chain --------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_a_400_is_neither_retried_nor_fallen_back_from(shared: str, side: Side, fakes: Fakes, stream: bool) -> None:
    fakes.primary.queue.default = Status(400, "messages: roles must alternate")
    with sdk(shared) as client, pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=side.tier, messages=HI, stream=stream)  # type: ignore[call-overload]
    err = info.value
    assert err.status_code == 400
    assert err.body == {
        "message": f"backend '{side.backend}' at {fakes.primary.url}: messages: roles must alternate",  # type: ignore[attr-defined]
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    assert err.response.headers["x-tiergate-attempts"] == f"{side.label}:http_400"
    assert len(fakes.primary.requests) == 1 and not fakes.rescue.requests


@pytest.mark.parametrize("stream", [False, True])
def test_when_every_target_fails_the_error_comes_before_any_byte(
    shared: str, side: Side, fakes: Fakes, stream: bool
) -> None:
    fakes.primary.queue.default = Status(500, "model crashed")
    fakes.rescue.queue.default = Status(503, "down for maintenance")
    body = {"model": side.tier, "stream": stream, "messages": HI}
    r = httpx.post(shared + "/v1/chat/completions", json=body, timeout=30)
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-tiergate-attempts"] == f"{side.label}:http_500, {side.rescue_label}:http_503"
    error = r.json()["error"]
    assert error["type"] == "service_unavailable" and error["code"] == "no_target_available"
    assert error["message"] == (
        f"all 2 targets failed: {side.label}: backend '{side.backend}' at {fakes.primary.url}: model crashed; "  # type: ignore[attr-defined]
        f"{side.rescue_label}: backend '{'anthropic' if side.backend == 'ollama' else 'ollama'}' "
        f"at {fakes.rescue.url}: down for maintenance"  # type: ignore[attr-defined]
    )
    assert len(fakes.primary.requests) == 3 and len(fakes.rescue.requests) == 3


# --- retries ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    "failure",
    [Status(500, "model crashed"), Status(529, "overloaded"), Status(429, "slow down", {"retry-after": "0"})],
    ids=["500", "529", "429"],
)
def test_one_transient_failure_is_retried_on_the_same_target(
    shared: str, side: Side, fakes: Fakes, failure: Status, stream: bool
) -> None:
    fakes.primary.replies.extend([failure, Text("Second time lucky.")])
    text, headers = ask(shared, side, stream=stream)
    assert text == "Second time lucky."
    assert headers["x-tiergate-attempts"] == f"{side.label}:ok"
    assert len(fakes.primary.requests) == 2 and not fakes.rescue.requests


def test_retry_after_is_honoured(tmp_path: Path, gateway_for: GatewayFactory, side: Side, fakes: Fakes) -> None:
    """Backoff alone would wait at most 0.05 s (backoff_max); the upstream asks for longer.

    Anthropic's ``retry-after`` in seconds is covered by its unit tests; here it would cost a second.
    """
    base = gateway_for(write_routes(tmp_path, "timeouts: {total: 10}"), fakes.environ())
    asked = [("retry-after-ms", "300", 0.3)] + ([("retry-after", "1", 1.0)] if side.backend == "ollama" else [])
    for header, value, at_least in asked:
        fakes.primary.queue.reset()
        fakes.primary.replies.extend([Status(429, "rate limited", {header: value}), Text("Waited as asked.")])
        started = time.monotonic()
        text, headers = ask(base, side, stream=False)
        assert time.monotonic() - started >= at_least, header
        assert text == "Waited as asked." and headers["x-tiergate-attempts"] == f"{side.label}:ok"
        assert len(fakes.primary.requests) == 2


def test_a_retry_after_beyond_the_budget_falls_back_at_once(shared: str, side: Side, fakes: Fakes) -> None:
    fakes.primary.replies.append(Status(429, "rate limited", {"retry-after": "30"}))
    started = time.monotonic()
    text, headers = ask(shared, side, stream=False)
    assert time.monotonic() - started < 10  # not 30: the primary's budget (timeouts.total) is 1 s
    assert text == RESCUED and headers["x-tiergate-attempts"] == f"{side.label}:http_429, {side.rescue_label}:ok"
    assert len(fakes.primary.requests) == 1


def test_an_ollama_model_without_tool_support_falls_back(
    tmp_path: Path, gateway_for: GatewayFactory, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic
) -> None:
    """The target claimed tools in routes.yaml, but its model refuses them: another target can answer."""
    side = SIDES["ollama"]
    fakes = Fakes.of(side, fake_ollama, fake_anthropic)
    routes = write_routes(tmp_path, FAST, "breaker: {fail_max: 1, reset_timeout: 600}")
    routes.write_text(routes.read_text().replace("capabilities: {tools: false,", "capabilities: {tools: true,"))
    base = gateway_for(routes, fakes.environ())
    fakes.primary.queue.default = Status(400, "registry.ollama.ai/library/qwen-test:latest does not support tools")
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]
    for stream in (False, True):
        text, headers = ask(base, side, stream=stream, tools=tools)
        assert text == RESCUED
        assert headers["x-tiergate-attempts"] == f"{side.label}:capability, {side.rescue_label}:ok"
    assert len(fakes.primary.requests) == 2  # neither retried nor held against its breaker
    assert httpx.get(base + "/health").json()["breakers"][side.key] == "closed"
    fakes.primary.queue.default = Status(400, "invalid message format")  # any other 400 is the request's fault
    with pytest.raises(openai.BadRequestError):
        ask(base, side, stream=False, tools=tools)
    assert len(fakes.primary.requests) == 3 and len(fakes.rescue.requests) == 2  # no fallback for that one


# --- circuit breakers ---------------------------------------------------------------------------------


def test_breaker_opens_after_fail_max_failures_and_skips_its_target(
    tmp_path: Path, gateway_for: GatewayFactory, side: Side, fakes: Fakes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tiergate.breakers")
    routes = write_routes(tmp_path, FAST, "breaker: {fail_max: 2, reset_timeout: 600}")
    base = gateway_for(routes, fakes.environ())

    def breaker() -> str:
        return str(httpx.get(base + "/health").json()["breakers"][side.key])

    fakes.primary.queue.default = Status(400, "bad request")  # the client's fault: not the upstream's health
    for _ in range(3):
        with pytest.raises(openai.BadRequestError):
            ask(base, side, stream=False)
    assert breaker() == "closed" and len(fakes.primary.requests) == 3

    fakes.primary.queue.default = Status(500, "model crashed")
    for n in (1, 2):
        text, headers = ask(base, side, stream=False)
        assert text == RESCUED and headers["x-tiergate-attempts"] == f"{side.label}:http_500, {side.rescue_label}:ok"
        assert breaker() == ("closed" if n == 1 else "open")  # one outcome per request, after its retries
    assert len(fakes.primary.requests) == 3 + 2 * 3
    assert f"circuit breaker for {side.key} is now open (was closed)" in caplog.messages

    dry = httpx.post(base + "/v1/route", json={"model": side.tier, "messages": HI}).json()
    assert dry["targets"] == [
        {
            "tier": side.tier,
            "backend": side.backend,
            "model": side.model,
            "breaker": "open",
            # the reason names what failed, not only that the breaker is open
            "skipped": f"breaker open (last failure: backend '{side.backend}' at {fakes.primary.url}: model crashed)",  # type: ignore[attr-defined]
        },
        {
            "tier": side.rescue_tier,
            "backend": "anthropic" if side.backend == "ollama" else "ollama",
            "model": side.rescue_model,
            "breaker": "closed",
            "skipped": None,
        },
    ]
    assert (dry["tier"], dry["model"]) == (side.rescue_tier, side.rescue_model)

    for stream in (False, True):
        text, headers = ask(base, side, stream=stream)
        assert text == RESCUED
        assert headers["x-tiergate-attempts"] == f"{side.rescue_label}:ok"  # the open target was never tried
    assert len(fakes.primary.requests) == 9


def test_a_stream_cut_after_its_first_token_counts_against_the_breaker(
    tmp_path: Path, gateway_for: GatewayFactory, side: Side, fakes: Fakes
) -> None:
    routes = write_routes(tmp_path, FAST, "breaker: {fail_max: 2, reset_timeout: 600}")
    base = gateway_for(routes, fakes.environ())

    def breaker() -> str:
        return str(httpx.get(base + "/health").json()["breakers"][side.key])

    fakes.primary.queue.default = Truncated(after_events=2 if side.backend == "ollama" else 5)
    for n in (1, 2):
        with sdk(base) as client, pytest.raises(openai.APIError):
            for _ in client.chat.completions.create(model=side.tier, messages=HI, stream=True):  # type: ignore[arg-type]
                pass
        assert breaker() == ("closed" if n == 1 else "open")  # the client got its first tokens both times
    text, headers = ask(base, side, stream=True)
    assert text == RESCUED
    assert headers["x-tiergate-attempts"] == f"{side.rescue_label}:ok"
    assert len(fakes.primary.requests) == 2


def test_a_client_leaving_mid_stream_is_not_the_targets_failure(
    tmp_path: Path, gateway_for: GatewayFactory, side: Side, fakes: Fakes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tiergate.requests")
    routes = write_routes(tmp_path, "breaker: {fail_max: 1, reset_timeout: 600}")
    base = gateway_for(routes, fakes.environ())
    # the answer has started (Anthropic's first text delta is its 4th event) and is still coming
    fakes.primary.queue.default = Hang(seconds=10, after_events=2 if side.backend == "ollama" else 5)
    for _ in range(2):
        with httpx.stream(
            "POST", base + "/v1/chat/completions", json={"model": side.tier, "messages": HI, "stream": True}
        ) as r:
            assert r.status_code == 200
            decision_id = r.headers["x-tiergate-decision-id"]
            next(r.iter_lines())  # one event, then hang up
        logged = wait_for_record(caplog, decision_id)  # written after the upstream stream was closed
        assert (logged["status"], logged["error"]) == (499, "client disconnected")
    assert httpx.get(base + "/health").json()["breakers"][side.key] == "closed"
    assert len(fakes.primary.requests) == 2  # the target was still tried the second time


# --- rate limits ----------------------------------------------------------------------------------------


def limited(tmp_path: Path, gateway_for: GatewayFactory, fakes: Fakes, limits: str) -> str:
    routes = write_routes(tmp_path, "timeouts: {total: 10}", f"limits: {limits}")
    return gateway_for(routes, fakes.environ())


def test_rpm_limit_spills_over_to_the_fallback(
    tmp_path: Path, gateway_for: GatewayFactory, side: Side, fakes: Fakes
) -> None:
    base = limited(tmp_path, gateway_for, fakes, "{rpm: 1, on_limit: fallback}")
    fakes.primary.queue.default = Text("From the primary.")
    assert ask(base, side, stream=False)[0] == "From the primary."
    for stream in (False, True):
        text, headers = ask(base, side, stream=stream)
        assert text == RESCUED
        assert headers["x-tiergate-attempts"] == f"{side.label}:rate_limited, {side.rescue_label}:ok"
    assert len(fakes.primary.requests) == 1


def test_rpm_limit_in_reject_mode_is_a_429_with_retry_after(
    tmp_path: Path, gateway_for: GatewayFactory, side: Side, fakes: Fakes
) -> None:
    base = limited(tmp_path, gateway_for, fakes, "{rpm: 1, on_limit: reject}")
    ask(base, side, stream=False)
    for stream in (False, True):  # a stream is refused before its first byte, with the same status
        with sdk(base) as client, pytest.raises(openai.RateLimitError) as info:
            client.chat.completions.create(model=side.tier, messages=HI, stream=stream)  # type: ignore[call-overload]
        err = info.value
        assert err.status_code == 429
        assert err.response.headers["retry-after"] == "60"  # one request a minute: the next fits in 60 s
        assert err.response.headers["x-tiergate-attempts"] == f"{side.label}:rate_limited"
        assert err.body == {
            "message": f"rate limit for {side.key} reached (limits.rpm: 1)",
            "type": "rate_limit_error",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    assert len(fakes.primary.requests) == 1 and not fakes.rescue.requests


def in_background(call: Callable[[], tuple[str, httpx.Headers]]) -> Callable[[], tuple[str, httpx.Headers]]:
    """Start ``call`` on a thread; the returned function joins it and hands back its result."""
    result: list[tuple[str, httpx.Headers]] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()

    def join() -> tuple[str, httpx.Headers]:
        thread.join(timeout=20)
        assert result, "the background request did not finish"
        return result[0]

    return join


def wait_for_requests(fake: Fake, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(fake.requests) < count:
        assert time.monotonic() < deadline, f"the fake never saw request {count}"
        time.sleep(0.005)


def test_concurrency_limit_spills_over_while_the_slot_is_held(
    tmp_path: Path, gateway_for: GatewayFactory, side: Side, fakes: Fakes
) -> None:
    base = limited(tmp_path, gateway_for, fakes, "{concurrency: 1, on_limit: fallback}")
    fakes.primary.replies.append(Hang(seconds=0.6))  # then answers DEFAULT_TEXT: holds the slot meanwhile
    first = in_background(lambda: ask(base, side, stream=False))
    wait_for_requests(fakes.primary, 1)
    text, headers = ask(base, side, stream=False)
    assert text == RESCUED
    assert headers["x-tiergate-attempts"] == f"{side.label}:rate_limited, {side.rescue_label}:ok"
    text, headers = first()
    assert text == DEFAULT_TEXT and headers["x-tiergate-attempts"] == f"{side.label}:ok"


def test_an_open_stream_holds_its_concurrency_slot_until_it_ends(
    tmp_path: Path, gateway_for: GatewayFactory, side: Side, fakes: Fakes
) -> None:
    base = limited(tmp_path, gateway_for, fakes, "{concurrency: 1, on_limit: fallback}")
    # A pause after the first token: the stream is open (the call that opened it has returned) but not over.
    fakes.primary.replies.append(Hang(seconds=0.6, after_events=2 if side.backend == "ollama" else 4))
    body = {"model": side.tier, "stream": True, "messages": HI}
    with httpx.stream("POST", base + "/v1/chat/completions", json=body, timeout=30) as r:
        lines = r.iter_lines()
        for line in lines:
            if '"content":"Hello from' in line:
                break
        text, headers = ask(base, side, stream=False)  # while the first stream is open
        assert text == RESCUED
        assert headers["x-tiergate-attempts"] == f"{side.label}:rate_limited, {side.rescue_label}:ok"
        rest = [line for line in lines if line]
    assert rest[-1] == "data: [DONE]"
    fakes.primary.replies.append(Text("The slot is free again."))
    text, headers = ask(base, side, stream=False)
    assert text == "The slot is free again." and headers["x-tiergate-attempts"] == f"{side.label}:ok"


def test_concurrency_limit_in_wait_mode_serialises_requests(
    tmp_path: Path, gateway_for: GatewayFactory, side: Side, fakes: Fakes
) -> None:
    base = limited(tmp_path, gateway_for, fakes, "{concurrency: 1, on_limit: wait, max_wait: 5}")
    fakes.primary.replies.extend([Hang(seconds=0.5), Hang(seconds=0.3)])
    started = time.monotonic()
    first = in_background(lambda: ask(base, side, stream=False))
    wait_for_requests(fakes.primary, 1)
    second = in_background(lambda: ask(base, side, stream=False))
    for join in (first, second):
        text, headers = join()
        assert text == DEFAULT_TEXT and headers["x-tiergate-attempts"] == f"{side.label}:ok"
    # One at a time: the second upstream call began after the first (0.5 s) ended, and took 0.3 s.
    assert time.monotonic() - started >= 0.8
    assert len(fakes.primary.requests) == 2 and not fakes.rescue.requests


# --- capabilities ---------------------------------------------------------------------------------------

PNG = "data:image/png;base64,iVBORw0KGgo="
TOOL = {"type": "function", "function": {"name": "noop", "parameters": {"type": "object", "properties": {}}}}


@pytest.mark.parametrize(
    ("need", "extra", "reason"),
    [
        (
            "vision",
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": PNG}}]}]},
            "no vision support",
        ),
        ("tools", {"tools": [TOOL]}, "no tool support"),
        ("context", {"messages": [{"role": "user", "content": "x" * 40_000}]}, "context window 8192 < ~10000 tokens"),
    ],
    ids=["vision", "tools", "context"],
)
def test_a_target_lacking_a_capability_is_skipped(
    shared: str, side: Side, fakes: Fakes, need: str, extra: dict[str, Any], reason: str
) -> None:
    text, headers = ask(shared, side, stream=False, **extra)
    assert text == RESCUED
    assert headers["x-tiergate-attempts"] == f"{side.rescue_label}:ok"
    assert not fakes.primary.requests
    dry = httpx.post(shared + "/v1/route", json={"model": side.tier, "messages": HI, **extra}).json()
    assert [(t["model"], t["skipped"]) for t in dry["targets"]] == [(side.model, reason), (side.rescue_model, None)]


def test_a_request_no_target_can_take_is_a_400_of_the_clients_type(shared: str, side: Side, fakes: Fakes) -> None:
    """Every target too small for the prompt and the output it asks for: OpenAI's code for a full window,
    and the words Anthropic's API uses for it, naming the largest window."""
    body = {"model": side.tier, "messages": HI, "max_tokens": 10_000_000}
    r = httpx.post(shared + "/v1/chat/completions", json=body, timeout=30)
    assert r.status_code == 400
    error = r.json()["error"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "context_length_exceeded")
    assert error["message"] == (
        "input length and `max_tokens` exceed context limit: 0 + 10000000 > 200000, decrease input length or"
        " `max_tokens` and try again (the prompt's tokens estimated; no target can serve this request:"
        f" {side.label}: context window 8192 < ~10000000 tokens (prompt ~0 + max_tokens 10000000);"
        f" {side.rescue_label}: context window 200000 < ~10000000 tokens (prompt ~0 + max_tokens 10000000))"
    )
    assert not fakes.primary.requests and not fakes.rescue.requests
