"""A whole (non-stream) body is capped as a stream's units are: a success body past the HTTP client's cap fails
the call as a malformed answer (a protocol error after the head: never retried on the same target, falls
back), naming the backend and the cap and none of the upstream's bytes; an error status's body is read only
as far as its message needs, and the status decides as it would for a short one.

Each backend through the in-memory client, then the real client against raw servers on 127.0.0.1 (the cap
counts decoded bytes; the connection of a body left unread is dropped). The cap is lowered so the tests
send kilobytes, not 64 MiB.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.fakes.mock_http import MockClient, Reply
from tests.fakes.raw import CHUNKED_HEAD, Peer, RawServer, answering, chunk, response
from tiergate.backends import http
from tiergate.backends.anthropic import AnthropicBackend
from tiergate.backends.base import Backend, Call
from tiergate.backends.failures import TRANSPORT_ERRORS, Where, transport_failure
from tiergate.backends.http import AiohttpClient, Request
from tiergate.backends.ollama import OllamaBackend
from tiergate.backends.openai import OpenAIBackend
from tiergate.config.model import AnthropicBackendConfig, OllamaBackendConfig, OpenAIBackendConfig
from tiergate.errors import UpstreamError, UpstreamProtocolError, UpstreamStatusError
from tiergate.wire import ChatRequest, Message

CAP = 4096
PIECE = 1024
URL = "http://upstream.test"
SECRET = "sk-upstream-bytes"  # in every filler: what must never reach a message
HI = ChatRequest(messages=[Message(role="user", content="hi")])
#: Seconds to wait for something that should happen promptly; only a broken client reaches it.
WAIT = 30.0


def answer(kind: str, text: str) -> dict[str, Any]:
    """A whole, valid non-stream answer of ``kind``'s protocol saying ``text``."""
    if kind == "ollama":
        message = {"role": "assistant", "content": text}
        return {"model": "m", "created_at": "2025-01-01T00:00:00Z", "message": message, "done": True}
    if kind == "openai":
        choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        return {"id": "c1", "object": "chat.completion", "created": 1, "model": "m", "choices": [choice]}
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }


#: Each backend's error envelope saying "overloaded", and the detail its status error gives.
ENVELOPES = {
    "ollama": ({"error": "overloaded"}, "overloaded"),
    "openai": ({"error": {"message": "overloaded", "type": "server_error"}}, "HTTP 503: overloaded"),
    "anthropic": ({"type": "error", "error": {"type": "overloaded_error", "message": "overloaded"}}, "overloaded"),
}


def sized(kind: str, size: int) -> bytes:
    """A valid answer of exactly ``size`` bytes: its text is filler."""
    empty = len(json.dumps(answer(kind, "")).encode())
    filler = (SECRET * (size // len(SECRET) + 1))[: size - empty]
    body = json.dumps(answer(kind, filler)).encode()
    assert len(body) == size
    return body


class Counted:
    """A body sent in pieces, counting the bytes the reader took; ``then`` repeats after them until ``until``."""

    def __init__(self, body: bytes, then: bytes = b"", until: int = 0) -> None:
        self.body = body
        self.then = then
        self.until = until
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.body), PIECE):
            self.sent += len(self.body[start : start + PIECE])
            yield self.body[start : start + PIECE]
        while self.then and self.sent < self.until:
            self.sent += len(self.then)
            yield self.then


def build(kind: str, client: MockClient) -> Backend:
    if kind == "ollama":
        return OllamaBackend(kind, OllamaBackendConfig(base_url=URL), client=client)
    if kind == "openai":
        return OpenAIBackend(kind, OpenAIBackendConfig(base_url=URL + "/v1"), {}, client=client)
    return AnthropicBackend(kind, AnthropicBackendConfig(base_url=URL), {"ANTHROPIC_API_KEY": "k"}, client=client)


async def failure(kind: str, status: int, body: Counted) -> tuple[UpstreamError, MockClient]:
    client = MockClient(lambda request: Reply(status, {"content-type": "application/json"}, body))
    backend = build(kind, client)
    with pytest.raises(UpstreamError) as info:
        await backend.complete(HI, Call(model="m"))
    await backend.aclose()
    return info.value, client


@pytest.fixture
def capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "MAX_BODY_BYTES", CAP)


# --- 1. every backend, through the in-memory client -------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.usefixtures("capped")
@pytest.mark.parametrize("kind", ENVELOPES)
async def test_a_body_of_the_cap_is_an_answer(kind: str) -> None:
    body = Counted(sized(kind, CAP))
    client = MockClient(lambda request: Reply(200, {"content-type": "application/json"}, body))
    backend = build(kind, client)
    completion = await backend.complete(HI, Call(model="m"))
    await backend.aclose()
    assert (completion.content or "").startswith(SECRET)
    assert body.sent == CAP


@pytest.mark.asyncio
@pytest.mark.usefixtures("capped")
@pytest.mark.parametrize("kind", ENVELOPES)
@pytest.mark.parametrize("size", [CAP + 1, 100 * CAP], ids=["one-byte-over", "far-over"])
async def test_a_body_past_the_cap_is_a_protocol_error(kind: str, size: int) -> None:
    body = Counted(sized(kind, size))
    error, client = await failure(kind, 200, body)
    where = URL + ("/v1" if kind == "openai" else "")
    assert isinstance(error, UpstreamProtocolError)
    assert error.message == f"backend '{kind}' at {where}: the answer's body passed the {CAP}-byte cap before it ended"
    assert (error.kind, error.started, error.retryable, error.fallback_ok) == ("protocol", True, False, True)
    assert body.sent <= CAP + PIECE, "read no further than the cap"
    assert client.open == 0, "the exchange is left"


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ENVELOPES)
async def test_an_endless_error_body_is_the_status_error_its_start_says(kind: str) -> None:
    envelope, detail = ENVELOPES[kind]
    short, _ = await failure(kind, 503, Counted(json.dumps(envelope).encode()))
    endless = Counted(json.dumps(envelope).encode(), then=b" " * PIECE, until=100 * http.ERROR_BODY_BYTES)
    error, client = await failure(kind, 503, endless)
    assert isinstance(error, UpstreamStatusError)
    assert (error.detail, error.status, error.started, error.retryable) == (detail, 503, False, True)
    assert (error.message, error.kind, error.fallback_ok) == (short.message, short.kind, short.fallback_ok)
    assert endless.sent <= http.ERROR_BODY_BYTES + PIECE, "read no further than the message needs"
    assert client.open == 0


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ENVELOPES)
async def test_an_endless_error_page_gives_a_bounded_message(kind: str) -> None:
    page = Counted(b"<html>", then=SECRET.encode() * 64, until=100 * http.ERROR_BODY_BYTES)
    error, _ = await failure(kind, 502, page)
    assert isinstance(error, UpstreamStatusError)
    assert (error.status, error.started, error.retryable) == (502, False, True)
    assert len(error.detail) <= 220, "an excerpt, not the body"
    assert page.sent <= http.ERROR_BODY_BYTES + len(page.then)


# --- 2. the real client, against raw servers -------------------------------------------------------------


def endless(status: str) -> Any:
    """A chunked body that never ends; ``hung_up`` is set when the client closes the connection."""
    hung_up = asyncio.Event()

    async def handler(peer: Peer) -> None:
        await peer.request()
        await peer.send(CHUNKED_HEAD.replace(b"200 OK", status.encode()))
        try:
            while True:
                await peer.send(chunk(SECRET.encode() * 64))
                await asyncio.sleep(0)
        except ConnectionError:
            pass
        hung_up.set()

    return handler, hung_up


def get(url: str) -> Request:
    return Request("GET", url, {}, None, WAIT, WAIT)


async def failure_of(client: AiohttpClient, sent: Request) -> UpstreamError:
    try:
        async with client.send(sent) as got:
            await got.read()
    except TRANSPORT_ERRORS as exc:
        return transport_failure(exc, Where("up", sent.url, sent.connect_timeout, sent.total_timeout))
    raise AssertionError("the exchange did not fail")


@pytest.mark.asyncio
@pytest.mark.usefixtures("capped")
async def test_the_real_client_reads_the_cap_and_keeps_the_connection() -> None:
    async with RawServer(answering(lambda _: response(b"x" * CAP))) as server:
        client = AiohttpClient(1, proxies={})
        for _ in range(2):
            async with client.send(get(server.url)) as got:
                assert await got.read() == b"x" * CAP
                assert got.ended
        await client.aclose()
    assert server.connections == 1


@pytest.mark.asyncio
@pytest.mark.usefixtures("capped")
@pytest.mark.parametrize(
    "answer",
    [response(b"x" * (CAP + 1)), response(gzip.compress(b"\0" * 100 * CAP), headers=[("Content-Encoding", "gzip")])],
    ids=["one-byte-over", "decoded-past-it"],
)
async def test_the_real_client_refuses_a_body_past_the_cap(answer: bytes) -> None:
    async with RawServer(answering(lambda _: answer)) as server:
        client = AiohttpClient(1, proxies={})
        error = await failure_of(client, get(server.url))
        await client.aclose()
    assert (error.kind, error.started) == ("protocol", True)
    assert error.detail == f"the answer's body passed the {CAP}-byte cap before it ended"


@pytest.mark.asyncio
@pytest.mark.usefixtures("capped")
async def test_the_real_client_drops_an_endless_body_at_the_cap() -> None:
    handler, hung_up = endless("200 OK")
    async with RawServer(handler) as server:
        client = AiohttpClient(1, proxies={})
        error = await asyncio.wait_for(failure_of(client, get(server.url)), WAIT)
        await asyncio.wait_for(hung_up.wait(), WAIT)
        await client.aclose()
    assert (error.kind, error.started) == ("protocol", True)
    assert SECRET not in error.message


@pytest.mark.asyncio
async def test_the_real_client_reads_the_start_of_an_endless_error_body() -> None:
    handler, hung_up = endless("500 Internal Server Error")
    async with RawServer(handler) as server:
        client = AiohttpClient(1, proxies={})
        async with client.send(get(server.url)) as got:
            body = await asyncio.wait_for(got.read(), WAIT)
            assert not got.ended
        await asyncio.wait_for(hung_up.wait(), WAIT)
        await client.aclose()
    assert len(body) == http.ERROR_BODY_BYTES
    assert body.startswith(SECRET.encode())
