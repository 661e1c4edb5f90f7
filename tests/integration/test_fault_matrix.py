"""The fault matrix: every upstream fault, stream and whole, on every backend kind, through every ingress.

Each case drives the real gateway (one per module) over loopback, against fakes scripted to fail, and
checks the two promises resilience rests on:

- **no silent truncation**: the client sees either a complete answer (the primary's whole text, or the
  fallback's) or an explicit error (an error status before the first byte, or an error event with no
  end-of-stream marker after it). A "complete" answer with any other text is a silent truncation;
- **no retry once an answer started**: a fault that comes after the upstream's success status line
  (a cut or stalled body, a missing completion marker, malformed JSON, an error body or event) is never
  tried again on the same target, because the call may already be generated and billed. Faults before
  it (refused, 5xx, 529, 429) are retried ``retries.attempts`` times, then fall back.

A module-wide ledger counts both across every case and asserts them at 0 when the module ends.

    primary  local  (ollama  qwen-test)   → cloud (anthropic claude-rescue)
             vllm   (openai  vllm-test)   → cloud
             sonnet (anthropic claude-test) → edge  (ollama  qwen-rescue)
"""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_KEY
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.scripts import (
    DEFAULT_TEXT,
    Cut,
    ErrorBody,
    Hang,
    Incomplete,
    Malformed,
    Reply,
    Status,
    StreamError,
    Text,
    Truncated,
)
from tests.fakes.server import ThreadedServer
from tiergate.api.dialects import DIALECTS
from tiergate.backends.registry import BACKEND_KINDS
from tiergate.server import build

Fake = FakeOllama | FakeAnthropic | FakeOpenAI
RESCUED = "Rescued by the fallback."
VLLM_KEY = "sk-vllm-SECRET-5e6f7a8b9c"

ROUTES = """
version: 1
backends:
  ollama: {kind: ollama, base_url: "${OLLAMA_HOST}"}
  anthropic: {kind: anthropic, base_url: "${ANTHROPIC_BASE_URL}", api_key_env: ANTHROPIC_API_KEY}
  vllm: {kind: openai, base_url: "${VLLM_URL}/v1", api_key_env: VLLM_KEY}
  ollama_dead: {kind: ollama, base_url: "${DEAD_URL}"}
  anthropic_dead: {kind: anthropic, base_url: "${DEAD_URL}", api_key_env: ANTHROPIC_API_KEY}
  vllm_dead: {kind: openai, base_url: "${DEAD_URL}/v1"}
tiers:
  local: {targets: [{backend: ollama, model: qwen-test, CAPS, FAST}]}
  vllm: {targets: [{backend: vllm, model: vllm-test, CAPS, FAST}]}
  sonnet: {targets: [{backend: anthropic, model: claude-test, CAPS, FAST}]}
  local-refused: {targets: [{backend: ollama_dead, model: qwen-test, CAPS, FAST}]}
  vllm-refused: {targets: [{backend: vllm_dead, model: vllm-test, CAPS, FAST}]}
  sonnet-refused: {targets: [{backend: anthropic_dead, model: claude-test, CAPS, FAST}]}
  cloud: {targets: [{backend: anthropic, model: claude-rescue, CAPS}]}
  edge: {targets: [{backend: ollama, model: qwen-rescue, CAPS}]}
fallbacks:
  local: [cloud]
  vllm: [cloud]
  sonnet: [edge]
  local-refused: [cloud]
  vllm-refused: [cloud]
  sonnet-refused: [edge]
routing: {mode: fixed, fixed_tier: local}
retries: {attempts: 2, backoff_base: 0.01, backoff_max: 0.05}
breakers: {fail_max: 100000, reset_timeout: 600}
server: {decision_log: {path: "DBPATH"}}
""".replace("CAPS", "capabilities: {tools: true, vision: true, context_window: 200000}").replace(
    # Hangs last 3 s, past every bound; the bounds leave a loaded CI machine time to serve the fakes.
    "FAST",
    "timeouts: {connect: 2, first_token: 1.5, idle: 1, total: 2}",
)


# --- the sides: one primary per backend kind -----------------------------------------------------


@dataclass(frozen=True)
class Side:
    backend: str
    tier: str
    model: str
    rescue_tier: str
    #: stream events the fake sends before the first text reaches the client, and a count past it
    before_token: int
    after_token: int

    @property
    def label(self) -> str:
        return f"{self.tier}/{self.model}"


SIDES = {
    "ollama": Side("ollama", "local", "qwen-test", "cloud", before_token=0, after_token=2),
    "openai": Side("openai", "vllm", "vllm-test", "cloud", before_token=1, after_token=3),
    "anthropic": Side("anthropic", "sonnet", "claude-test", "edge", before_token=2, after_token=5),
}


@dataclass(frozen=True)
class Upstreams:
    ollama: FakeOllama
    anthropic: FakeAnthropic
    openai: FakeOpenAI

    def primary(self, side: Side) -> Fake:
        return {"ollama": self.ollama, "anthropic": self.anthropic, "openai": self.openai}[side.backend]

    def rescue(self, side: Side) -> Fake:
        return self.ollama if side.backend == "anthropic" else self.anthropic


# --- the faults ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fallback:
    """The primary failed before the client saw a byte; the fallback's whole answer came instead."""

    outcome: str | Callable[[str], str]
    #: calls the primary received (None: it could not be reached at all)
    calls: int | None


@dataclass(frozen=True)
class CutOff:
    """The stream had started; it ends with an error event, saying ``detail``, and no end-of-stream marker."""

    detail: str = ""


Expect = Fallback | CutOff


@dataclass(frozen=True)
class Fault:
    name: str
    #: the fake's reply for a whole answer and for a stream, given the side
    reply: Callable[[Side, bool], Reply | None]
    expect: Callable[[Side, bool], Expect]
    #: the fault comes after the upstream's success status line: never retried on the same target
    started: bool


STREAM_END = {"ollama": "done", "openai": "finish", "anthropic": "message_stop"}


UNREASONED_END = {
    "ollama": "stream ended before done",
    "openai": "stream was closed (data: DONE) without a finish_reason: the answer is incomplete",
    "anthropic": "message_stop without a stop_reason: the answer is incomplete",
}


def _ended_early(side: Side) -> CutOff:
    return CutOff(f"stream ended before {STREAM_END[side.backend]}")


def _same(reply: Reply) -> Callable[[Side, bool], Reply]:
    return lambda side, stream: reply


def _error_body_outcome(backend: str) -> str:
    # Anthropic's overloaded error keeps its status; an Ollama or OpenAI error object in a 200 is a 502.
    return {"anthropic": "http_529", "ollama": "http_502", "openai": "http_502"}[backend]


FAULTS = [
    Fault("refused", lambda side, stream: None, lambda side, stream: Fallback("connect", None), started=False),
    Fault("500", _same(Status(500, "model crashed")), lambda s, st: Fallback("http_500", 3), started=False),
    Fault("529", _same(Status(529, "overloaded")), lambda s, st: Fallback("http_529", 3), started=False),
    Fault(
        "429-retry-after",
        _same(Status(429, "slow down", {"retry-after-ms": "20"})),
        lambda s, st: Fallback("http_429", 3),
        started=False,
    ),
    Fault("hang-before-first-byte", _same(Hang(seconds=3)), lambda s, st: Fallback("timeout", 1), started=False),
    Fault(
        "hang-mid-stream",
        lambda side, stream: Hang(seconds=3, after_events=side.after_token),
        lambda side, stream: CutOff("no data for 1s mid-stream (timeouts.idle)") if stream else Fallback("timeout", 1),
        started=True,
    ),
    Fault(
        "stream-cut-without-final-event",
        lambda side, stream: Truncated(after_events=side.after_token),
        lambda side, stream: _ended_early(side) if stream else Fallback("protocol", 1),
        started=True,
    ),
    Fault(
        "stream-closed-before-first-event",
        _same(Cut(after_events=0)),
        lambda side, stream: Fallback("protocol", 1),
        started=True,
    ),
    Fault(
        "body-without-completion-marker",
        _same(Incomplete()),
        lambda side, stream: _ended_early(side) if stream else Fallback("protocol", 1),
        started=True,
    ),
    Fault(
        "end-marker-without-its-reason",
        # OpenAI's [DONE] with no finish_reason, Anthropic's message_stop with no stop_reason: still cut short
        lambda side, stream: Incomplete(end_marker=side.backend != "ollama"),
        lambda side, stream: CutOff(UNREASONED_END[side.backend]) if stream else Fallback("protocol", 1),
        started=True,
    ),
    Fault(
        "empty-stream-with-its-end-marker",
        # [DONE] alone; message_start then message_stop; nothing at all from Ollama: before the first byte
        _same(Incomplete(end_marker=True, empty=True)),
        lambda side, stream: Fallback("protocol", 1),
        started=True,
    ),
    Fault(
        "malformed-json",
        _same(Malformed()),
        # Ollama's first line carries text; the others' first events carry none, so the bad one comes first.
        lambda side, stream: (
            CutOff("unreadable response: JSON is malformed")
            if stream and side.backend == "ollama"
            else Fallback("protocol", 1)
        ),
        started=True,
    ),
    Fault(
        "body-cut-mid-way",
        lambda side, stream: Cut(after_events=side.after_token),
        lambda side, stream: CutOff("the answer was cut short") if stream else Fallback("protocol", 1),
        started=True,
    ),
    Fault(
        "200-with-error-body",
        _same(ErrorBody()),
        lambda side, stream: Fallback(_error_body_outcome(side.backend) if not stream else _stream_error(side), 1),
        started=True,
    ),
]


def _stream_error(side: Side) -> str:
    return {"anthropic": "http_529", "ollama": "http_502", "openai": "http_502"}[side.backend]


# --- the ingresses: each sends one request and reads back exactly what the client received --------


@dataclass
class Seen:
    """What the client got, read from the raw bytes (nothing hidden by an SDK's parser)."""

    status: int
    headers: httpx.Headers
    complete: bool  # a success answer that claims to be whole
    text: str
    error: dict[str, Any] | None = None
    raw: str = ""


@dataclass(frozen=True)
class Ingress:
    name: str
    path: str
    body: Callable[[str, bool, str], dict[str, Any]]
    read_whole: Callable[[dict[str, Any]], tuple[bool, str]]
    #: SSE events as (event name or None, data) → (claims to be whole, text, the error it ends with)
    read_stream: Callable[[list[tuple[str | None, Any]]], tuple[bool, str, dict[str, Any] | None]]
    #: the error of a non-200 answer, as {"message", ...}
    read_error: Callable[[dict[str, Any]], dict[str, Any]] = lambda payload: payload["error"]


def _chat_body(model: str, stream: bool, text: str) -> dict[str, Any]:
    return {"model": model, "stream": stream, "messages": [{"role": "user", "content": text}]}


def _chat_whole(payload: dict[str, Any]) -> tuple[bool, str]:
    choice = payload["choices"][0]
    return choice["finish_reason"] == "stop", choice["message"]["content"] or ""


def _openai_error(events: list[Any]) -> dict[str, Any] | None:
    error = events[-1].get("error") if isinstance(events[-1], dict) else None
    if error is not None:
        assert set(error) == {"message", "type", "param", "code"}, error
    return error


def _chat_stream(frames: list[tuple[str | None, Any]]) -> tuple[bool, str, dict[str, Any] | None]:
    events = [data for _, data in frames]
    chunks = [e for e in events if isinstance(e, dict) and e.get("choices")]
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"][0]["finish_reason"]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    return events[-1:] == ["[DONE]"] and finishes == ["stop"], text, _openai_error(events)


def _text_body(model: str, stream: bool, text: str) -> dict[str, Any]:
    return {"model": model, "stream": stream, "prompt": text}


def _text_whole(payload: dict[str, Any]) -> tuple[bool, str]:
    choice = payload["choices"][0]
    return choice["finish_reason"] == "stop", choice["text"]


def _text_stream(frames: list[tuple[str | None, Any]]) -> tuple[bool, str, dict[str, Any] | None]:
    events = [data for _, data in frames]
    chunks = [e for e in events if isinstance(e, dict) and e.get("choices")]
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"][0]["finish_reason"]]
    text = "".join(c["choices"][0]["text"] for c in chunks)
    return events[-1:] == ["[DONE]"] and finishes == ["stop"], text, _openai_error(events)


def _messages_body(model: str, stream: bool, text: str) -> dict[str, Any]:
    return {"model": model, "stream": stream, "max_tokens": 256, "messages": [{"role": "user", "content": text}]}


def _messages_whole(payload: dict[str, Any]) -> tuple[bool, str]:
    text = "".join(b["text"] for b in payload["content"] if b["type"] == "text")
    return payload["stop_reason"] == "end_turn", text


def _messages_stream(frames: list[tuple[str | None, Any]]) -> tuple[bool, str, dict[str, Any] | None]:
    assert all(name == data["type"] for name, data in frames), "each Messages event names its type"
    names = [name for name, _ in frames]
    deltas = [d["delta"] for n, d in frames if n == "content_block_delta" and d["delta"]["type"] == "text_delta"]
    stops = [d["delta"]["stop_reason"] for n, d in frames if n == "message_delta"]
    complete = names[-1:] == ["message_stop"] and stops == ["end_turn"]
    # README: a cut answer ends in `event: error` and no `message_stop` (Claude Code reads one as the end)
    assert not {"error", "message_stop"} <= set(names), names
    error = frames[-1][1]["error"] if names[-1:] == ["error"] else None
    if error is not None:
        assert set(error) == {"type", "message"}, error
    return complete, "".join(d["text"] for d in deltas), error


def _responses_body(model: str, stream: bool, text: str) -> dict[str, Any]:
    return {"model": model, "stream": stream, "input": [{"role": "user", "content": text}]}


def _responses_whole(payload: dict[str, Any]) -> tuple[bool, str]:
    text = "".join(part["text"] for item in payload["output"] if item["type"] == "message" for part in item["content"])
    return payload["status"] == "completed", text


def _responses_stream(frames: list[tuple[str | None, Any]]) -> tuple[bool, str, dict[str, Any] | None]:
    assert all(name == data["type"] for name, data in frames), "each Responses event names its type"
    names = [name for name, _ in frames]
    text = "".join(d["delta"] for n, d in frames if n == "response.output_text.delta")
    last = frames[-1][1]
    error = last["response"]["error"] if names[-1:] == ["response.failed"] else None
    if error is not None:
        assert set(error) == {"code", "message"}, error
    return names[-1:] == ["response.completed"], text, error


INGRESSES = {
    "chat": Ingress("chat", "/v1/chat/completions", _chat_body, _chat_whole, _chat_stream),
    "completions": Ingress("completions", "/v1/completions", _text_body, _text_whole, _text_stream),
    "messages": Ingress("messages", "/v1/messages", _messages_body, _messages_whole, _messages_stream),
    "responses": Ingress("responses", "/v1/responses", _responses_body, _responses_whole, _responses_stream),
}


def test_the_matrix_drives_every_dialect() -> None:
    """A dialect added to ``api/dialects/`` is served by itself, but the matrix drives it only through an
    ``Ingress`` here (its body and the readers of its answers): one left out fails here, not in silence."""
    assert sorted(ingress.path for ingress in INGRESSES.values()) == sorted(d.path for d in DIALECTS.values())


def test_the_matrix_fails_every_backend_kind() -> None:
    """A backend kind added to ``backends/`` is found by itself, but the matrix fails it only with a ``Side``
    here (its tiers in ``ROUTES``, a fake in ``Upstreams``): one left out fails here, not in silence."""
    assert sorted(SIDES) == sorted(str(kind.__struct_config__.tag) for kind in BACKEND_KINDS)


def send(base: str, ingress: Ingress, model: str, *, stream: bool, text: str = "hi") -> Seen:
    body = ingress.body(model, stream, text)
    with httpx.stream("POST", base + ingress.path, json=body, timeout=30) as r:
        raw = r.read().decode()
    if r.status_code != 200:
        return Seen(r.status_code, r.headers, False, "", ingress.read_error(json.loads(raw)), raw)
    if not stream:
        complete, got = ingress.read_whole(json.loads(raw))
        return Seen(200, r.headers, complete, got, None, raw)
    assert raw.endswith("\n\n"), "every SSE event ends with a blank line"
    frames: list[tuple[str | None, Any]] = []
    for block in raw[:-2].split("\n\n"):
        name = None
        if block.startswith("event: "):
            head, block = block.split("\n", 1)
            name = head.removeprefix("event: ")
        assert block.startswith("data: "), block
        data = block.removeprefix("data: ")
        frames.append((name, data if data == "[DONE]" else json.loads(data)))
    complete, got, error = ingress.read_stream(frames)
    return Seen(200, r.headers, complete, got, error, raw)


# --- the ledger: totals over the whole matrix -------------------------------------------------------


@dataclass
class Ledger:
    cases: int = 0
    silent_truncations: list[str] = field(default_factory=list)
    retries_after_start: list[str] = field(default_factory=list)

    def record(self, case: str, seen: Seen, started: bool, primary_calls: int) -> None:
        self.cases += 1
        if seen.complete and seen.text not in (DEFAULT_TEXT, RESCUED):
            self.silent_truncations.append(f"{case}: {seen.text!r}")
        if started and primary_calls > 1:
            self.retries_after_start.append(f"{case}: {primary_calls} calls")


@pytest.fixture(scope="module")
def ledger() -> Iterator[Ledger]:
    book = Ledger()
    yield book
    print(
        f"\nfault matrix: {book.cases} cases, {len(book.silent_truncations)} silent truncations, "
        f"{len(book.retries_after_start)} retries after an answer started"
    )
    assert book.silent_truncations == [], book.silent_truncations
    assert book.retries_after_start == [], book.retries_after_start


# --- the gateway ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("matrix") / "decisions.db"


@pytest.fixture(scope="module")
def shared(
    db_path: Path, _ollama: FakeOllama, _anthropic: FakeAnthropic, _openai_upstream: FakeOpenAI
) -> Iterator[str]:
    routes = db_path.parent / "routes.yaml"
    routes.write_text(ROUTES.replace("DBPATH", str(db_path)))
    environ = {
        "OLLAMA_HOST": _ollama.url,  # type: ignore[attr-defined]
        "ANTHROPIC_BASE_URL": _anthropic.url,  # type: ignore[attr-defined]
        "ANTHROPIC_API_KEY": TEST_KEY,
        "VLLM_URL": _openai_upstream.url,  # type: ignore[attr-defined]
        "VLLM_KEY": VLLM_KEY,
        "DEAD_URL": f"http://127.0.0.1:{_closed_port()}",  # nothing listens: connections are refused
    }
    server = ThreadedServer(build(routes, environ=environ, watch=False))
    yield server.start()
    server.stop()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def upstreams(fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI) -> Upstreams:
    ups = Upstreams(fake_ollama, fake_anthropic, fake_openai)
    for fake in (fake_ollama, fake_anthropic):
        fake.queue.default = Text(RESCUED, chunks=2)  # the rescue tiers' answer
    return ups


MATRIX = [
    pytest.param(
        fault, backend, stream, ingress, id=f"{ingress}-{backend}-{'stream' if stream else 'whole'}-{fault.name}"
    )
    for ingress in INGRESSES
    for backend in SIDES
    for stream in (False, True)
    for fault in FAULTS
]


@pytest.mark.parametrize(("fault", "backend", "stream", "ingress"), MATRIX)
def test_fault(
    shared: str, upstreams: Upstreams, ledger: Ledger, fault: Fault, backend: str, stream: bool, ingress: str
) -> None:
    side = SIDES[backend]
    primary, rescue = upstreams.primary(side), upstreams.rescue(side)
    reply = fault.reply(side, stream)
    tier, label = side.tier, side.label
    if reply is None:  # refused: the tier whose primary backend points at a closed port
        tier, label = f"{side.tier}-refused", f"{side.tier}-refused/{side.model}"
    else:
        primary.queue.replies.extend([reply] * 5)  # every retry meets the same fault
    seen = send(shared, INGRESSES[ingress], tier, stream=stream)
    primary_calls = 0 if reply is None else len([r for r in primary.requests if r.body.get("model") == side.model])
    ledger.record(f"{ingress}-{backend}-{stream}-{fault.name}", seen, fault.started, primary_calls)

    expect = fault.expect(side, stream)
    if isinstance(expect, Fallback):
        outcome = expect.outcome(backend) if callable(expect.outcome) else expect.outcome
        assert seen.status == 200 and seen.complete, seen.raw[:500]
        assert seen.text == RESCUED
        assert seen.headers["x-tiergate-attempts"].startswith(f"{label}:{outcome}, ")
        assert seen.headers["x-tiergate-tier"] == side.rescue_tier
        if expect.calls is not None:
            assert primary_calls == expect.calls
        return
    assert seen.status == 200 and not seen.complete, seen.raw[:500]
    assert seen.error is not None, seen.raw[-500:]
    assert "[DONE]" not in seen.raw
    # What came before the fault, and nothing more. Usually some text; none when the cut reaches the gateway
    # in the same read as the last pieces (a loaded machine): the HTTP client then raises before handing
    # over what it buffered. Either way the stream ends in an error, never as a whole answer.
    assert DEFAULT_TEXT.startswith(seen.text)
    name = "vllm" if backend == "openai" else backend
    assert seen.error["message"].startswith(f"backend '{name}' at {_url(primary, side)}: {expect.detail}")
    assert seen.headers["x-tiergate-attempts"] == f"{label}:ok"
    assert primary_calls == 1
    assert not [r for r in rescue.requests if r.body.get("model", "").endswith("rescue")]


def _url(fake: Fake, side: Side) -> str:
    return str(fake.url) + ("/v1" if side.backend == "openai" else "")  # type: ignore[attr-defined]


# --- a key an upstream echoes never reaches the client, a log line or the decision log ---------------


ECHOES = [
    pytest.param(Status(401, f"invalid x-api-key {TEST_KEY}"), id="status"),
    pytest.param(ErrorBody(f"bad key {TEST_KEY} and {VLLM_KEY}"), id="error-body"),
    pytest.param(StreamError(after_events=99, message=f"quota for {TEST_KEY} exceeded"), id="mid-stream-error"),
    # a proxy's page, quoted up to 200 characters: the key straddles the cut, 20 of its characters before it
    pytest.param(Status(502, "x" * 157 + f" x-api-key: {TEST_KEY} {VLLM_KEY}", html=True), id="html-page-cut"),
]


@pytest.mark.parametrize("reply", ECHOES)
@pytest.mark.parametrize("backend", list(SIDES))
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("ingress", list(INGRESSES))
def test_an_echoed_key_reaches_no_reader(
    shared: str,
    upstreams: Upstreams,
    db_path: Path,
    caplog: pytest.LogCaptureFixture,
    reply: Reply,
    backend: str,
    stream: bool,
    ingress: str,
) -> None:
    side = SIDES[backend]
    if isinstance(reply, StreamError):
        reply = StreamError(after_events=side.after_token, message=reply.message)
    for fake in (upstreams.ollama, upstreams.anthropic, upstreams.openai):
        fake.queue.replies.extend([reply] * 5)  # the fallback echoes too: the client gets an error
    caplog.set_level("INFO", logger="tiergate")
    seen = send(shared, INGRESSES[ingress], side.tier, stream=stream)
    assert seen.error is not None, seen.raw[:300]
    assert "***" in seen.error["message"]
    decision_id = seen.headers["x-tiergate-decision-id"]
    for key in (TEST_KEY, VLLM_KEY):
        secret = key[: len(key) // 2]  # half a key is as much as may show
        assert secret not in seen.raw
        assert all(secret not in r.getMessage() + repr(getattr(r, "tiergate", "")) for r in caplog.records)
    row = _decision_row(db_path, decision_id)
    assert row["error"] and "***" in row["error"]
    assert TEST_KEY[:14] not in json.dumps(row) and VLLM_KEY[:12] not in json.dumps(row)


def _decision_row(db_path: Path, decision_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with sqlite3.connect(db_path) as db:
            db.row_factory = sqlite3.Row
            row = db.execute("SELECT * FROM decisions WHERE decision_id = ?", (decision_id,)).fetchone()
        if row is not None:
            return dict(row)
        time.sleep(0.02)
    raise AssertionError(f"no decision-log row for {decision_id}")
