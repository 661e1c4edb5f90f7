"""A finished stream leaves its upstream connection open for the next request (no new handshake)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.server import serve
from tiergate.backends.anthropic import AnthropicBackend
from tiergate.backends.base import Backend, Call
from tiergate.backends.openai import OpenAIBackend
from tiergate.config.model import AnthropicBackendConfig, OpenAIBackendConfig
from tiergate.wire import ChatRequest, Message


@pytest.fixture(params=["anthropic", "openai"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "anthropic":
        with serve(FakeAnthropic().app) as url:
            yield AnthropicBackend("anthropic", AnthropicBackendConfig(base_url=url), {"ANTHROPIC_API_KEY": "k"})
    else:
        with serve(FakeOpenAI().app) as url:
            yield OpenAIBackend("openai", OpenAIBackendConfig(base_url=url + "/v1"), {})


@pytest.mark.asyncio
async def test_streams_reuse_one_connection(backend: Backend) -> None:
    upstream = backend
    request = ChatRequest(messages=[Message(role="user", content="hi")], stream=True)
    for _ in range(3):
        events = [e async for e in upstream.stream(request, Call(model="m"))]
        assert events
    pool = upstream._client._transport._pool  # type: ignore[attr-defined]
    assert len(pool.connections) == 1
    await upstream.aclose()
