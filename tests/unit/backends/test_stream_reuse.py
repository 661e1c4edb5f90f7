"""A finished stream leaves its upstream connection open for the next request (no new handshake)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.server import serve
from tiergate.backends.anthropic import AnthropicBackend
from tiergate.backends.base import Backend, Call
from tiergate.backends.ollama import OllamaBackend
from tiergate.backends.openai import OpenAIBackend
from tiergate.config.model import AnthropicBackendConfig, OllamaBackendConfig, OpenAIBackendConfig
from tiergate.wire import ChatRequest, Message

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class PeerRecorder:
    """Wraps an ASGI app and notes the client address (host, port) of every HTTP request: one
    address means one TCP connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.peers: list[tuple[str, int]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.peers.append(tuple(scope["client"]))
        await self.app(scope, receive, send)


@pytest.fixture(params=["anthropic", "openai", "ollama"])
def backend(request: pytest.FixtureRequest) -> Iterator[tuple[Backend, PeerRecorder]]:
    if request.param == "anthropic":
        recorder = PeerRecorder(FakeAnthropic().app)
        with serve(recorder) as url:
            yield (
                AnthropicBackend("anthropic", AnthropicBackendConfig(base_url=url), {"ANTHROPIC_API_KEY": "k"}),
                recorder,
            )
    elif request.param == "ollama":
        recorder = PeerRecorder(FakeOllama().app)
        with serve(recorder) as url:
            yield OllamaBackend("ollama", OllamaBackendConfig(base_url=url)), recorder
    else:
        recorder = PeerRecorder(FakeOpenAI().app)
        with serve(recorder) as url:
            yield OpenAIBackend("openai", OpenAIBackendConfig(base_url=url + "/v1"), {}), recorder


@pytest.mark.asyncio
async def test_streams_reuse_one_connection(backend: tuple[Backend, PeerRecorder]) -> None:
    upstream, recorder = backend
    request = ChatRequest(messages=[Message(role="user", content="hi")], stream=True)
    try:
        for _ in range(3):
            events = [e async for e in upstream.stream(request, Call(model="m"))]
            assert events
    finally:
        await upstream.aclose()
    assert len(recorder.peers) == 3
    assert len(set(recorder.peers)) == 1
