"""An upstream that keeps sending bytes and never ends a line (Ollama's NDJSON, OpenAI's ``data:`` line) or an
event (Anthropic's SSE) is a malformed answer as soon as the unit passes the framing's cap, not a stream to
buffer until a timeout runs out.

The upstream is a tiny ASGI app: a 200, then (mid-stream cases) the start of an answer, then one unit that
never ends, in 16 KiB pieces until its client hangs up. The cap is lowered to 4 KiB and the timeouts are long
(3 s to a first token, 3 s idle), so only the cap can end the attempt promptly:

- before the first byte to the client, the fallback target answers, and the attempts header says the
  primary failed as ``protocol``;
- with no fallback, the client gets a 502 error in the OpenAI shape, naming the backend and the cap;
- after the first byte, the stream ends in an error event and no ``[DONE]``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest

from tests.conftest import TEST_KEY, GatewayFactory
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Text
from tests.fakes.server import handled_before_chat, serve
from tiergate.protocols import framing

ROUTES = """
version: 1
backends:
  endless: {kind: KIND, base_url: "${ENDLESS_URL}"EXTRA}
  ollama: {kind: ollama, base_url: "${OLLAMA_HOST}"}
tiers:
  local: {targets: [{backend: endless, model: endless-model}]}
  alone: {targets: [{backend: endless, model: alone-model}]}
  rescue: {targets: [{backend: ollama, model: qwen-rescue}]}
fallbacks: {local: [rescue]}
routing: {mode: fixed, fixed_tier: local}
timeouts: {connect: 2, first_token: 3, idle: 3, total: 6}
retries: {attempts: 2, backoff_base: 0.01, backoff_max: 0.05}
"""
CAP = 4096
PROMPTLY = 1.5  # seconds: the cap trips on the first piece; the timeouts would take 3
RESCUED = "Rescued by the fallback."
PIECE = b"x" * 16384
UNTIL = 64 * 1024 * 1024  # the fake stops here, gateway or not: a gateway without a cap buffers all it gets

OLLAMA_FIRST = (
    json.dumps(
        {"model": "m", "created_at": "2025-01-01T00:00:00Z", "message": {"role": "assistant", "content": "Hel"}}
    ).encode()
    + b"\n"
)
OPENAI_FIRST = (
    b"data: "
    + json.dumps(
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}, "finish_reason": None}],
        }
    ).encode()
    + b"\n\n"
)
ANTHROPIC_START: list[dict[str, Any]] = [
    {
        "type": "message_start",
        "message": {"id": "msg_1", "type": "message", "role": "assistant", "content": [], "usage": {}},
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
]
ANTHROPIC_FIRST = b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in ANTHROPIC_START)


class Kind(NamedTuple):
    """One upstream protocol, as the endless upstream speaks it."""

    extra: str  # the backend's config beyond kind and base_url
    path: str  # base_url's path
    media: bytes
    first: bytes  # the start of an answer, for the cases after the first byte
    opening: bytes  # the endless unit's first bytes
    piece: bytes  # then this, again and again
    unit: str  # what the error calls it


KINDS = {
    "ollama": Kind("", "", b"application/x-ndjson", OLLAMA_FIRST, b'{"message": {"content": "', PIECE, "line"),
    "openai": Kind("", "/v1", b"text/event-stream", OPENAI_FIRST, b"data: ", PIECE, "line"),
    # an event of short lines that never gets its blank line: no line is long, the event is
    "anthropic": Kind(
        ", api_key_env: ANTHROPIC_API_KEY",
        "",
        b"text/event-stream",
        ANTHROPIC_FIRST,
        b"event: content_block_delta\n",
        b"data: xxxxxxxxxx\n" * 964,
        "event",
    ),
}


class Endless:
    """An upstream whose answer is one unit that never ends. ``calls`` counts chat requests; ``hung_up`` is set
    when the gateway closes the connection."""

    def __init__(self, kind: Kind, *, first: bool) -> None:
        self.kind = kind
        self.first = first
        self.calls = 0
        self.hung_up = threading.Event()

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if await handled_before_chat(scope, receive, send):
            return
        self.calls += 1
        gone = asyncio.Event()

        async def watch() -> None:
            if (await receive())["type"] == "http.disconnect":
                gone.set()
                self.hung_up.set()

        watcher = asyncio.create_task(watch())
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", self.kind.media)]})
        body = (self.kind.first if self.first else b"") + self.kind.opening
        sent = 0
        while not gone.is_set() and sent < UNTIL:
            await send({"type": "http.response.body", "body": body, "more_body": True})
            sent += len(body)
            body = self.kind.piece
            await asyncio.sleep(0.01)
        watcher.cancel()


@pytest.fixture
def capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(framing, "MAX_UNIT_BYTES", CAP)


@pytest.fixture(params=list(KINDS))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def rescue(fake_ollama: FakeOllama) -> FakeOllama:
    fake_ollama.queue.default = Text(RESCUED, chunks=2)
    return fake_ollama


def start(tmp_path: Path, gateway_for: GatewayFactory, kind: str, upstream: str, rescue: FakeOllama) -> str:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES.replace("KIND", kind).replace("EXTRA", KINDS[kind].extra))
    environ = {
        "ENDLESS_URL": upstream + KINDS[kind].path,
        "OLLAMA_HOST": rescue.url,  # type: ignore[attr-defined]
        "ANTHROPIC_API_KEY": TEST_KEY,
    }
    return gateway_for(routes, environ)


@pytest.fixture
def endless_upstream(kind: str, request: pytest.FixtureRequest) -> Iterator[tuple[Endless, str]]:
    fake = Endless(KINDS[kind], first=getattr(request, "param", False))
    with serve(fake) as url:
        yield fake, url


def chat(base: str, tier: str) -> tuple[httpx.Response, str, float]:
    body = {"model": tier, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    began = time.monotonic()
    with httpx.stream("POST", base + "/v1/chat/completions", json=body, timeout=30) as r:
        raw = r.read().decode()
    return r, raw, time.monotonic() - began


def frames(raw: str) -> list[Any]:
    return [
        block.removeprefix("data: ") if block == "data: [DONE]" else json.loads(block.removeprefix("data: "))
        for block in raw.strip().split("\n\n")
    ]


@pytest.mark.usefixtures("capped")
def test_before_the_first_byte_the_fallback_answers_promptly(
    tmp_path: Path, gateway_for: GatewayFactory, kind: str, rescue: FakeOllama, endless_upstream: tuple[Endless, str]
) -> None:
    fake, url = endless_upstream
    base = start(tmp_path, gateway_for, kind, url, rescue)
    r, raw, took = chat(base, "local")
    assert r.status_code == 200, raw
    assert r.headers["x-tiergate-attempts"] == "local/endless-model:protocol, rescue/qwen-rescue:ok"
    got = frames(raw)
    assert got[-1] == "[DONE]"
    assert "".join(f["choices"][0]["delta"].get("content") or "" for f in got[:-1] if f["choices"]) == RESCUED
    assert took < PROMPTLY, f"the fallback took {took:.1f}s"
    assert fake.calls == 1, "a malformed answer is not retried on the same target"
    assert fake.hung_up.wait(PROMPTLY), "the endless upstream's connection is dropped"


@pytest.mark.usefixtures("capped")
def test_with_no_fallback_the_client_gets_an_error(
    tmp_path: Path, gateway_for: GatewayFactory, kind: str, rescue: FakeOllama, endless_upstream: tuple[Endless, str]
) -> None:
    fake, url = endless_upstream
    base = start(tmp_path, gateway_for, kind, url, rescue)
    r, raw, took = chat(base, "alone")
    assert r.status_code == 502, raw
    assert r.headers["x-tiergate-attempts"] == "alone/alone-model:protocol"
    error = json.loads(raw)["error"]
    where = url + KINDS[kind].path
    detail = f"backend 'endless' at {where}: a stream {KINDS[kind].unit} passed the {CAP}-byte cap before it ended"
    assert (error["message"], error["type"]) == (detail, "upstream_error")
    assert "xxxx" not in raw, "none of the upstream's bytes"
    assert took < PROMPTLY
    assert fake.calls == 1
    assert not rescue.requests


@pytest.mark.usefixtures("capped")
@pytest.mark.parametrize("endless_upstream", [True], indirect=True, ids=["after-first-byte"])
def test_after_the_first_byte_the_stream_ends_in_an_error(
    tmp_path: Path, gateway_for: GatewayFactory, kind: str, rescue: FakeOllama, endless_upstream: tuple[Endless, str]
) -> None:
    fake, url = endless_upstream
    base = start(tmp_path, gateway_for, kind, url, rescue)
    r, raw, took = chat(base, "local")
    assert r.status_code == 200, raw
    got = frames(raw)
    assert "[DONE]" not in got, "a cut answer never passes for a complete one"
    assert "".join(f["choices"][0]["delta"].get("content") or "" for f in got[:-1] if f.get("choices")) == "Hel"
    where = url + KINDS[kind].path
    detail = f"backend 'endless' at {where}: a stream {KINDS[kind].unit} passed the {CAP}-byte cap before it ended"
    assert got[-1]["error"]["message"] == detail
    assert took < PROMPTLY
    assert fake.calls == 1
    assert not rescue.requests
