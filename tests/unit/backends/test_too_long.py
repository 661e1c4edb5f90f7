"""An upstream that never ends a line (NDJSON, an OpenAI ``data:`` line) or an event (Anthropic's SSE) fails the
call as a malformed answer once the unit passes the framing's cap, on every backend: a protocol error after
the head (never retried on the same target, falls back before the client's first byte), naming the backend
and the cap and none of the upstream's bytes. The cap is lowered so the test sends kilobytes, not 16 MiB."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from tests.fakes.mock_http import MockClient, Reply
from tiergate.backends.anthropic import AnthropicBackend
from tiergate.backends.base import Backend, Call
from tiergate.backends.ollama import OllamaBackend
from tiergate.backends.openai import OpenAIBackend
from tiergate.config.model import AnthropicBackendConfig, OllamaBackendConfig, OpenAIBackendConfig
from tiergate.errors import UpstreamProtocolError
from tiergate.protocols import framing
from tiergate.wire import ChatRequest, Finish, Message, ReasoningDelta, TextDelta

CAP = 4096
URL = "http://upstream.test"
FILLER = b"sk-upstream-bytes-" * 64  # what must never reach the message
#: Each backend, its media type, and the endless unit's pieces.
KINDS = {
    "ollama": ("application/x-ndjson", b'{"message": {"content": "' + FILLER, "line"),
    "openai": ("text/event-stream", b'data: {"choices": [{"delta": {"content": "' + FILLER, "line"),
    "anthropic": ("text/event-stream", b"data: " + FILLER + b"\n", "event"),  # short lines, no blank one
}


def build(kind: str, client: MockClient) -> Backend:
    if kind == "ollama":
        return OllamaBackend(kind, OllamaBackendConfig(base_url=URL), client=client)
    if kind == "openai":
        return OpenAIBackend(kind, OpenAIBackendConfig(base_url=URL + "/v1"), {}, client=client)
    return AnthropicBackend(kind, AnthropicBackendConfig(base_url=URL), {"ANTHROPIC_API_KEY": "k"}, client=client)


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", KINDS)
async def test_an_endless_unit_is_a_protocol_error(monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    monkeypatch.setattr(framing, "MAX_UNIT_BYTES", CAP)
    media, piece, unit = KINDS[kind]
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        while sent < 100 * CAP:  # far past the cap: a splitter without one returns nothing and asks for more
            sent += len(piece)
            yield piece

    client = MockClient(lambda request: Reply(200, {"content-type": media}, endless()))
    backend = build(kind, client)
    request = ChatRequest(messages=[Message(role="user", content="hi")], stream=True)
    with pytest.raises(UpstreamProtocolError) as info:
        async for _ in backend.stream(request, Call(model="m")):
            pass
    error = info.value
    where = URL + ("/v1" if kind == "openai" else "")
    assert error.message == f"backend '{kind}' at {where}: a stream {unit} passed the {CAP}-byte cap before it ended"
    assert (error.kind, error.started, error.retryable, error.fallback_ok) == ("protocol", True, False, True)
    assert sent < 2 * CAP, "read no further than the cap"
    assert client.open == 0, "the exchange is left"
    await backend.aclose()


def split_event(size: int) -> bytes:
    """An OpenAI chat event with ``size`` bytes of thinking and of text, its JSON over two ``data:`` lines (split
    between the two, where JSON takes a line break), as SSE lets one event's data run."""
    thinking = json.dumps({"reasoning_content": "t" * size})[:-1]
    text = json.dumps({"content": "x" * size})[1:]
    return b'data: {"choices": [{"delta": %s,\ndata: %s, "finish_reason": "stop"}]}\n\n' % (
        thinking.encode(),
        text.encode(),
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("size", [CAP // 2 - 100, CAP // 2 + 100])
async def test_an_openai_event_over_several_data_lines_has_the_cap_of_one_line(
    monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    """The event's lines joined are held to the framing's cap, with the same error: the reader had a cap of its own
    (8 MiB, half of it), so an event of 10 MB on one line passed and one of 9 MB on two lines failed."""
    monkeypatch.setattr(framing, "MAX_UNIT_BYTES", CAP)
    body = split_event(size) + b"data: [DONE]\n\n"
    client = MockClient(lambda request: Reply(200, {"content-type": "text/event-stream"}, [body]))
    backend = build("openai", client)
    request = ChatRequest(messages=[Message(role="user", content="hi")], stream=True)
    if 2 * size < CAP:  # each line and the event under the cap
        events = [event async for event in backend.stream(request, Call(model="m"))]
        assert events == [ReasoningDelta("t" * size), TextDelta("x" * size), Finish("stop")]
    else:  # each line under the cap, the event over it
        with pytest.raises(UpstreamProtocolError) as info:
            async for _ in backend.stream(request, Call(model="m")):
                pass
        assert (
            info.value.message
            == f"backend 'openai' at {URL}/v1: a stream event passed the {CAP}-byte cap before it ended"
        )
        assert (info.value.kind, info.value.started) == ("protocol", True)
    assert client.open == 0
    await backend.aclose()
