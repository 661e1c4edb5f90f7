"""OllamaBackend and the server's model memory: a pinned call's ``keep_alive``, ``/api/ps`` through
``residents``, and ``unload``. The upstream is FakeOllama answering in memory through an injected client,
so each test reads the exact bodies sent and what the fake then holds."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
import pytest_asyncio

from tests.fakes.mock_http import MockClient, asgi
from tests.fakes.ollama import FakeOllama
from tiergate.backends.base import Call
from tiergate.backends.http import Request
from tiergate.backends.ollama import OllamaBackend
from tiergate.config.model import OllamaBackendConfig
from tiergate.errors import UpstreamStatusError, UpstreamUnavailable
from tiergate.protocols.ollama_ps import Resident
from tiergate.wire import ChatRequest

URL = "http://ollama.test:11434"


@pytest.fixture
def fake() -> FakeOllama:
    return FakeOllama()


@pytest.fixture
def client(fake: FakeOllama) -> MockClient:
    return MockClient(asgi(fake.app))


def make(client: MockClient, **cfg: Any) -> OllamaBackend:
    return OllamaBackend("local", OllamaBackendConfig(base_url=URL, **cfg), client=client)


@pytest_asyncio.fixture
async def backend(client: MockClient) -> AsyncIterator[OllamaBackend]:
    backend = make(client, keep_alive="10m")
    yield backend
    await backend.aclose()
    assert client.open == 0, "every exchange is left"


def chat() -> ChatRequest:
    return msgspec.convert({"messages": [{"role": "user", "content": "hi"}]}, ChatRequest)


def sent(client: MockClient) -> list[tuple[str, str, Any]]:
    return [(r.method, r.url.removeprefix(URL), json.loads(r.body) if r.body else None) for r in client.requests]


@pytest.mark.asyncio
@pytest.mark.parametrize("streaming", [False, True])
async def test_a_pinned_call_keeps_its_model_loaded_for_ever(
    backend: OllamaBackend, fake: FakeOllama, client: MockClient, streaming: bool
) -> None:
    call = Call(model="qwen:7b", pinned=True)
    if streaming:
        assert [e async for e in backend.stream(chat(), call)]
    else:
        await backend.complete(chat(), call)

    assert client.requests[0].body is not None and b'"keep_alive":-1' in client.requests[0].body  # a number
    assert fake.memory.loaded() == {"qwen:7b": float("inf")}
    assert await backend.residents() == [Resident("qwen:7b", "2318-01-01T00:00:00Z")]


@pytest.mark.asyncio
async def test_an_unpinned_call_sends_the_backends_keep_alive(
    backend: OllamaBackend, fake: FakeOllama, client: MockClient
) -> None:
    await backend.complete(chat(), Call(model="qwen:7b"))

    assert sent(client)[0][2]["keep_alive"] == "10m"
    assert [r.name for r in await backend.residents()] == ["qwen:7b"]


@pytest.mark.asyncio
async def test_a_numeric_keep_alive_goes_as_a_number_which_ollama_accepts(client: MockClient, fake: FakeOllama) -> None:
    backend = make(client, keep_alive="-1")
    try:
        completion = await backend.complete(chat(), Call(model="qwen:7b"))
    finally:
        await backend.aclose()

    assert completion.content
    assert client.requests[0].body is not None and b'"keep_alive":-1' in client.requests[0].body
    assert fake.memory.loaded() == {"qwen:7b": float("inf")}


@pytest.mark.asyncio
async def test_the_fake_refuses_minus_one_as_a_string_as_ollama_does(fake: FakeOllama) -> None:
    """Why numbers go as numbers: Ollama reads a string as a Go duration, and "-1" has no unit."""
    client = MockClient(asgi(fake.app))
    body = {"model": "qwen:7b", "messages": [{"role": "user", "content": "hi"}], "keep_alive": "-1"}
    async with client.send(_post("/api/chat", body)) as response:
        assert (response.status, json.loads(await response.read())) == (
            400,
            {"error": 'time: missing unit in duration "-1"'},
        )


@pytest.mark.asyncio
async def test_unload_drops_the_model_with_keep_alive_zero(
    backend: OllamaBackend, fake: FakeOllama, client: MockClient
) -> None:
    fake.memory.load("qwen:7b")
    fake.memory.load("llama3.2:3b")

    await backend.unload("qwen:7b")

    assert sent(client) == [("POST", "/api/generate", {"model": "qwen:7b", "keep_alive": 0, "stream": False})]
    assert [r.name for r in await backend.residents()] == ["llama3.2:3b"]
    assert fake.queue.requests[0].body == {"model": "qwen:7b", "keep_alive": 0, "stream": False}


@pytest.mark.asyncio
async def test_residents_lists_what_ps_lists(backend: OllamaBackend, fake: FakeOllama, client: MockClient) -> None:
    assert await backend.residents() == []
    fake.memory.load("b:1b")
    fake.memory.load("a:1b", -1)

    listed = await backend.residents()

    assert [r.name for r in listed] == ["a:1b", "b:1b"]
    assert listed[0].expires_at == "2318-01-01T00:00:00Z" and listed[1].expires_at.endswith("Z")
    assert sent(client)[-1] == ("GET", "/api/ps", None)


@pytest.mark.asyncio
async def test_a_failing_ps_raises_the_status(backend: OllamaBackend, fake: FakeOllama) -> None:
    fake.ps_status = 500
    with pytest.raises(UpstreamStatusError) as info:
        await backend.residents()
    assert (info.value.status, info.value.detail) == (500, "ps failed")


@pytest.mark.asyncio
async def test_ps_of_a_server_that_is_not_there(closed_port: int) -> None:
    backend = OllamaBackend("local", OllamaBackendConfig(base_url=f"http://127.0.0.1:{closed_port}"))
    try:
        with pytest.raises(UpstreamUnavailable) as info:
            await backend.residents()
    finally:
        await backend.aclose()
    assert info.value.kind == "connect" and "is Ollama running?" in info.value.message


def _post(path: str, body: dict[str, Any]) -> Request:
    return Request("POST", URL + path, {"content-type": "application/json"}, json.dumps(body).encode())
