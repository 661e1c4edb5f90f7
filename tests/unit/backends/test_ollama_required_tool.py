"""OllamaBackend with a required tool call: an answer without one is refused, and what Ollama counted for it is
reported to ``call.billed`` (dispatch charges it to the attempt it falls back from, at the target's price), as
for any answer refused after a 200. The upstream is FakeOllama through an injected client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
import pytest_asyncio

from tests.fakes.mock_http import MockClient, asgi
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Text, ToolCalls
from tiergate.backends.base import Billed, Call
from tiergate.backends.ollama import OllamaBackend
from tiergate.config.model import OllamaBackendConfig
from tiergate.errors import UpstreamCapabilityError
from tiergate.wire import ChatRequest, TextDelta, ToolCallStart, Usage

URL = "http://ollama.test:11434"
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
REQUIRED: Any = {"tools": [WEATHER], "tool_choice": "required"}


@pytest.fixture
def fake() -> FakeOllama:
    return FakeOllama()


@pytest_asyncio.fixture
async def backend(fake: FakeOllama) -> AsyncIterator[OllamaBackend]:
    client = MockClient(asgi(fake.app))
    backend = OllamaBackend("local", OllamaBackendConfig(base_url=URL), client=client)
    yield backend
    await backend.aclose()
    assert client.open == 0, "every exchange is left"


def chat(**fields: Any) -> ChatRequest:
    return msgspec.convert({"messages": [{"role": "user", "content": "weather?"}], **fields}, ChatRequest)


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_a_text_answer_is_refused_and_its_count_billed(
    backend: OllamaBackend, fake: FakeOllama, stream: bool
) -> None:
    fake.replies.append(Text("It is sunny.", prompt_tokens=21, completion_tokens=5))
    billed = Billed()
    call = Call(model="qwen", billed=billed)
    with pytest.raises(UpstreamCapabilityError) as caught:
        if stream:
            assert [event async for event in backend.stream(chat(**REQUIRED), call)] == []
        else:
            await backend.complete(chat(**REQUIRED), call)
    assert (caught.value.code, caught.value.status) == ("tool_call_missing", 502)
    assert billed.usage == Usage.of(21, 5)


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_a_tool_call_passes_and_bills_nothing(backend: OllamaBackend, fake: FakeOllama, stream: bool) -> None:
    fake.replies.append(ToolCalls([("get_weather", {"city": "Paris"})], text="Checking."))
    billed = Billed()
    call = Call(model="qwen", billed=billed)
    if stream:
        events = [event async for event in backend.stream(chat(**REQUIRED), call)]
        assert [type(e) for e in events[:3]] == [TextDelta, TextDelta, ToolCallStart]
    else:
        completion = await backend.complete(chat(**REQUIRED), call)
        assert (completion.content, completion.finish_reason) == ("Checking.", "tool_calls")
    assert billed.usage is None


@pytest.mark.asyncio
async def test_a_text_answer_passes_when_no_call_is_required(backend: OllamaBackend, fake: FakeOllama) -> None:
    fake.replies.append(Text("It is sunny."))
    completion = await backend.complete(chat(tools=[WEATHER], tool_choice="auto"), Call(model="qwen"))
    assert completion.content == "It is sunny."
