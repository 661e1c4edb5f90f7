"""An upstream that keeps sending a whole (non-stream) body and never ends it is a malformed answer as soon as
the body passes the HTTP client's cap, not a body to buffer until the total timeout runs out; an error
status's endless body is read only as far as its message needs, and the status decides.

The upstream is a tiny ASGI app: a status, then the start of a JSON answer, then 16 KiB pieces of it until its
client hangs up. The cap is lowered to 64 KiB and the total timeout is long (6 s), so only the cap can end
the attempt promptly:

- the fallback target answers, and the attempts header says the primary failed as ``protocol``, once;
- with no fallback, the client gets a 502 error in the OpenAI shape, naming the backend and the cap;
- an error status with an endless body is retried and falls back as that status, promptly.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_KEY, GatewayFactory
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Text
from tests.fakes.server import handled_before_chat, serve
from tiergate.backends import http

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
CAP = 64 * 1024
PROMPTLY = 1.5  # seconds: the cap trips within a few pieces; the total timeout would take 6
RESCUED = "Rescued by the fallback."
PIECE = b"x" * 16384
UNTIL = 64 * 1024 * 1024  # the fake stops here, gateway or not: a gateway without a cap buffers all it gets

#: Each protocol: the backend's config beyond kind and base_url, base_url's path, the answer's opening.
KINDS = {
    "ollama": ("", "", b'{"model": "m", "message": {"role": "assistant", "content": "'),
    "openai": ("", "/v1", b'{"id": "c1", "object": "chat.completion", "choices": [{"message": {"content": "'),
    "anthropic": (
        ", api_key_env: ANTHROPIC_API_KEY",
        "",
        b'{"type": "message", "content": [{"type": "text", "text": "',
    ),
}


class Endless:
    """An upstream whose whole answer never ends. ``calls`` counts chat requests; ``hung_up`` is set when the
    gateway closes the connection."""

    def __init__(self, opening: bytes, status: int) -> None:
        self.opening = opening
        self.status = status
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
        head = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": self.status, "headers": head})
        body, sent = self.opening, 0
        while not gone.is_set() and sent < UNTIL:
            await send({"type": "http.response.body", "body": body, "more_body": True})
            sent += len(body)
            body = PIECE
            await asyncio.sleep(0.01)
        watcher.cancel()


@pytest.fixture
def capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "MAX_BODY_BYTES", CAP)


@pytest.fixture(params=list(KINDS))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def rescue(fake_ollama: FakeOllama) -> FakeOllama:
    fake_ollama.queue.default = Text(RESCUED)
    return fake_ollama


@pytest.fixture
def endless_upstream(kind: str, request: pytest.FixtureRequest) -> Iterator[tuple[Endless, str]]:
    fake = Endless(KINDS[kind][2], getattr(request, "param", 200))
    with serve(fake) as url:
        yield fake, url


def start(tmp_path: Path, gateway_for: GatewayFactory, kind: str, upstream: str, rescue: FakeOllama) -> str:
    extra, path, _ = KINDS[kind]
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES.replace("KIND", kind).replace("EXTRA", extra))
    environ = {
        "ENDLESS_URL": upstream + path,
        "OLLAMA_HOST": rescue.url,  # type: ignore[attr-defined]
        "ANTHROPIC_API_KEY": TEST_KEY,
    }
    return gateway_for(routes, environ)


def chat(base: str, tier: str) -> tuple[httpx.Response, float]:
    body = {"model": tier, "messages": [{"role": "user", "content": "hi"}]}
    began = time.monotonic()
    r = httpx.post(base + "/v1/chat/completions", json=body, timeout=30)
    return r, time.monotonic() - began


@pytest.mark.usefixtures("capped")
def test_the_fallback_answers_promptly(
    tmp_path: Path, gateway_for: GatewayFactory, kind: str, rescue: FakeOllama, endless_upstream: tuple[Endless, str]
) -> None:
    fake, url = endless_upstream
    base = start(tmp_path, gateway_for, kind, url, rescue)
    r, took = chat(base, "local")
    assert r.status_code == 200, r.text
    assert r.headers["x-tiergate-attempts"] == "local/endless-model:protocol, rescue/qwen-rescue:ok"
    assert r.json()["choices"][0]["message"]["content"] == RESCUED
    assert took < PROMPTLY, f"the fallback took {took:.1f}s"
    assert fake.calls == 1, "a malformed answer is not retried on the same target"
    assert fake.hung_up.wait(PROMPTLY), "the endless upstream's connection is dropped"


@pytest.mark.usefixtures("capped")
def test_with_no_fallback_the_client_gets_an_error(
    tmp_path: Path, gateway_for: GatewayFactory, kind: str, rescue: FakeOllama, endless_upstream: tuple[Endless, str]
) -> None:
    fake, url = endless_upstream
    base = start(tmp_path, gateway_for, kind, url, rescue)
    r, took = chat(base, "alone")
    assert r.status_code == 502, r.text
    assert r.headers["x-tiergate-attempts"] == "alone/alone-model:protocol"
    error = r.json()["error"]
    detail = f"backend 'endless' at {url + KINDS[kind][1]}: the answer's body passed the {CAP}-byte cap before it ended"
    assert (error["message"], error["type"]) == (detail, "upstream_error")
    assert "xxxx" not in r.text, "none of the upstream's bytes"
    assert took < PROMPTLY
    assert fake.calls == 1
    assert not rescue.requests


@pytest.mark.parametrize("endless_upstream", [500], indirect=True, ids=["http-500"])
def test_an_endless_error_body_is_its_status(
    tmp_path: Path, gateway_for: GatewayFactory, kind: str, rescue: FakeOllama, endless_upstream: tuple[Endless, str]
) -> None:
    fake, url = endless_upstream
    base = start(tmp_path, gateway_for, kind, url, rescue)
    r, took = chat(base, "local")
    assert r.status_code == 200, r.text
    assert r.headers["x-tiergate-attempts"] == "local/endless-model:http_500, rescue/qwen-rescue:ok"
    assert r.json()["choices"][0]["message"]["content"] == RESCUED
    assert took < PROMPTLY, f"the fallback took {took:.1f}s"
    assert fake.calls == 3, "an error status is retried (twice), as ever"
