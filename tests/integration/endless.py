"""An upstream that starts an answer and never ends it, behind the real gateway: shared by the tests of the cap
on one stream unit (``test_endless_line``) and on a whole body (``test_endless_body``).

A test module defines the fixture ``endless_upstream`` (an ``Endless`` and its URL, per ``kind``) and imports
the fixtures here, which pytest finds by their ``name``:

from tests.integration.endless import fixture_gateway, fixture_kind, fixture_rescue  # noqa: F401 (fixtures)
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_KEY, GatewayFactory
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Text
from tests.fakes.server import handled_before_chat

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
PROMPTLY = 1.5  # seconds: the cap trips within a few pieces; the timeouts would take 3 (first token, idle) or 6
RESCUED = "Rescued by the fallback."
PIECE = b"x" * 16384
UNTIL = 64 * 1024 * 1024  # the fake stops here, gateway or not: a gateway without a cap buffers all it gets

#: Each upstream protocol: the backend's config beyond kind and base_url, and base_url's path.
BACKENDS = {
    "ollama": ("", ""),
    "openai": ("", "/v1"),
    "anthropic": (", api_key_env: ANTHROPIC_API_KEY", ""),
}


class Endless:
    """An upstream whose answer never ends: ``status``, then ``opening``, then ``piece`` again and again until
    its client hangs up. ``calls`` counts chat requests; ``hung_up`` is set when the gateway closes the
    connection."""

    def __init__(self, status: int, media: bytes, opening: bytes, piece: bytes = PIECE) -> None:
        self.status = status
        self.media = media
        self.opening = opening
        self.piece = piece
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
        await send({"type": "http.response.start", "status": self.status, "headers": [(b"content-type", self.media)]})
        body, sent = self.opening, 0
        while not gone.is_set() and sent < UNTIL:
            await send({"type": "http.response.body", "body": body, "more_body": True})
            sent += len(body)
            body = self.piece
            await asyncio.sleep(0.01)
        watcher.cancel()


def backend_url(kind: str, upstream: str) -> str:
    """The endless backend's base_url, as its errors name it."""
    return upstream + BACKENDS[kind][1]


def refused(r: httpx.Response, took: float, message: str, fake: Endless, rescue: FakeOllama) -> None:
    """Tier ``alone``'s answer once its one target passed the cap: a 502 in the OpenAI shape saying ``message``,
    promptly, with no retry and no fallback."""
    assert r.status_code == 502, r.text
    assert r.headers["x-tiergate-attempts"] == "alone/alone-model:protocol"
    error = r.json()["error"]
    assert (error["message"], error["type"]) == (message, "upstream_error")
    assert "xxxx" not in r.text, "none of the upstream's bytes"
    assert took < PROMPTLY
    assert fake.calls == 1
    assert not rescue.requests


@pytest.fixture(name="kind", params=list(BACKENDS))
def fixture_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(name="rescue")
def fixture_rescue(fake_ollama: FakeOllama) -> FakeOllama:
    fake_ollama.queue.default = Text(RESCUED, chunks=2)
    return fake_ollama


@pytest.fixture(name="gateway")
def fixture_gateway(
    tmp_path: Path, gateway_for: GatewayFactory, kind: str, rescue: FakeOllama, endless_upstream: tuple[Endless, str]
) -> str:
    """The gateway's URL: tiers ``local`` (falling back to ``rescue``) and ``alone`` on the endless upstream."""
    _, url = endless_upstream
    extra, _ = BACKENDS[kind]
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES.replace("KIND", kind).replace("EXTRA", extra))
    environ = {
        "ENDLESS_URL": backend_url(kind, url),
        "OLLAMA_HOST": rescue.url,  # type: ignore[attr-defined]
        "ANTHROPIC_API_KEY": TEST_KEY,
    }
    return gateway_for(routes, environ)
