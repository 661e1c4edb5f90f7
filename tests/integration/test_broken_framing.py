"""An upstream that answers ``200 OK`` and then breaks HTTP's chunked framing (a chunk size that is no number,
after one good chunk holding the answer) had begun to answer: the call may already be generated and billed,
so it is one protocol failure, never retried, whether aiohttp read the bad chunk with the head (all in one
write: it fails before it returns the response) or after it.

The upstream is a raw TCP server writing exact bytes: the head, one chunk, ``ZZZZ\\r\\n``. Timeouts are long (3 s
to a first token, 3 s idle, 6 s total) and retries allowed (2), so only the framing can end the attempt
promptly, and only a retry could call the upstream twice:

- with no fallback, the client gets a 502 ``upstream_error`` naming the backend, whole or streamed, on Chat
  Completions and on Messages;
- with a fallback, the fallback answers and the attempts header says the primary failed as ``protocol``, once;
- the bad chunk a moment after the head, with aiohttp's Python parser (``AIOHTTP_NO_EXTENSIONS``): the stream
  ends in its error event at once. (aiohttp's C parser never tells the body's reader: the stream ends at the
  idle timeout, aiohttp's own failing, not tested here.)
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import anthropic
import httpx
import openai
import pytest

from tests.conftest import TEST_KEY, GatewayFactory
from tests.fakes.ollama import FakeOllama
from tests.fakes.raw import Peer, RawServer, chunk, response, serve_raw
from tests.fakes.scripts import Text

ROUTES = """
version: 1
backends:
  broken: {kind: KIND, base_url: "${BROKEN_URL}"EXTRA}
  ollama: {kind: ollama, base_url: "${OLLAMA_HOST}"}
tiers:
  local: {targets: [{backend: broken, model: broken-model}]}
  alone: {targets: [{backend: broken, model: alone-model}]}
  rescue: {targets: [{backend: ollama, model: qwen-rescue}]}
fallbacks: {local: [rescue]}
routing: {mode: fixed, fixed_tier: local}
timeouts: {connect: 2, first_token: 3, idle: 3, total: 6}
retries: {attempts: 2, backoff_base: 0.01, backoff_max: 0.05}
"""
#: Each upstream protocol: the backend's config beyond kind and base_url, and base_url's path.
BACKENDS = {
    "ollama": ("", ""),
    "openai": ("", "/v1"),
    "anthropic": (", api_key_env: ANTHROPIC_API_KEY", ""),
}
PROMPTLY = 1.5  # seconds: the timeouts would take 3 (first token, idle) or 6 (total)
RESCUED = "Rescued by the fallback."
BAD_CHUNK = b"ZZZZ\r\ngarbage\r\n"
BROKE = "the answer broke HTTP after its status line ("

WHOLE = {
    "ollama": {
        "model": "m",
        "created_at": "2025-01-01T00:00:00Z",
        "message": {"role": "assistant", "content": "Hello"},
        "done": True,
        "done_reason": "stop",
        "prompt_eval_count": 3,
        "eval_count": 1,
    },
    "openai": {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    },
    "anthropic": {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [{"type": "text", "text": "Hello"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 1},
    },
}
ANTHROPIC_START: list[dict[str, Any]] = [
    {
        "type": "message_start",
        "message": {"id": "msg_1", "type": "message", "role": "assistant", "content": [], "usage": {}},
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
]
#: Each protocol's stream, as far as its first piece of text.
FIRST = {
    "ollama": json.dumps({"model": "m", "message": {"role": "assistant", "content": "Hel"}, "done": False}).encode()
    + b"\n",
    "openai": b"data: "
    + json.dumps(
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}, "finish_reason": None}],
        }
    ).encode()
    + b"\n\n",
    "anthropic": b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in ANTHROPIC_START),
}
MEDIA = {"ollama": "application/x-ndjson", "openai": "text/event-stream", "anthropic": "text/event-stream"}


class Broken:
    """The upstream: a GET (Ollama's start-up probe) gets an empty model list; a POST gets ``200 OK``, one good
    chunk (the whole answer, or a stream's first events), then :data:`BAD_CHUNK`: in the same write, or
    ``after`` seconds later."""

    def __init__(self, kind: str, after: float | None = None) -> None:
        self.kind = kind
        self.after = after

    async def __call__(self, peer: Peer) -> None:
        while (request := await peer.request()) is not None:
            if request.line.startswith("GET "):
                await peer.send(response(b'{"models": []}', headers=[("Content-Type", "application/json")]))
                continue
            streamed = json.loads(request.body).get("stream", self.kind == "ollama")
            media = MEDIA[self.kind] if streamed else "application/json"
            first = FIRST[self.kind] if streamed else json.dumps(WHOLE[self.kind]).encode()
            head = response(headers=[("Content-Type", media), ("Transfer-Encoding", "chunked")])
            if self.after is None:
                await peer.send(head + chunk(first) + BAD_CHUNK)
            else:
                await peer.send(head + chunk(first))
                await asyncio.sleep(self.after)
                await peer.send(BAD_CHUNK)
            await peer.until_closed_by_client()
            return


def calls(upstream: RawServer) -> int:
    return sum(request.line.startswith("POST ") for request in upstream.received)


@pytest.fixture(params=list(BACKENDS))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def rescue(fake_ollama: FakeOllama) -> FakeOllama:
    fake_ollama.queue.default = Text(RESCUED, chunks=2)
    return fake_ollama


def start(
    tmp_path: Path, gateway_for: GatewayFactory, kind: str, rescue: FakeOllama, upstream: RawServer
) -> tuple[str, str]:
    """The gateway's URL, and the broken backend's as its errors name it."""
    extra, path = BACKENDS[kind]
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES.replace("KIND", kind).replace("EXTRA", extra))
    where = upstream.url + path
    environ = {"BROKEN_URL": where, "OLLAMA_HOST": rescue.url, "ANTHROPIC_API_KEY": TEST_KEY}  # type: ignore[attr-defined]
    return gateway_for(routes, environ), where


@pytest.fixture
def at_once(
    tmp_path: Path, gateway_for: GatewayFactory, kind: str, rescue: FakeOllama
) -> Iterator[tuple[str, str, RawServer]]:
    """The gateway, the broken backend's URL, and the upstream: the bad chunk in the head's write."""
    with serve_raw(Broken(kind)) as upstream:
        gateway, where = start(tmp_path, gateway_for, kind, rescue, upstream)
        yield gateway, where, upstream


def sdk(gateway: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway + "/v1", api_key="sk-client-unused", max_retries=0, timeout=30)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_with_no_fallback_the_client_gets_one_502(
    at_once: tuple[str, str, RawServer], rescue: FakeOllama, stream: bool
) -> None:
    gateway, where, upstream = at_once
    began = time.monotonic()
    with sdk(gateway) as client, pytest.raises(openai.APIStatusError) as raised:
        answer = client.chat.completions.create(
            model="alone", messages=[{"role": "user", "content": "hi"}], stream=stream
        )
        if stream:
            list(answer)  # type: ignore[arg-type]
    took = time.monotonic() - began

    failed = raised.value
    assert failed.status_code == 502
    assert failed.response.headers["x-tiergate-attempts"] == "alone/alone-model:protocol"
    error = failed.response.json()["error"]
    assert (error["type"], error["code"]) == ("upstream_error", None)
    assert error["message"].startswith(f"backend 'broken' at {where}: {BROKE}"), error["message"]
    assert "Hello" not in failed.response.text and "garbage" not in failed.response.text
    assert calls(upstream) == 1, "an upstream that began to answer is not called again"
    assert took < PROMPTLY
    assert not rescue.requests


def test_the_fallback_answers_after_one_call(at_once: tuple[str, str, RawServer], rescue: FakeOllama) -> None:
    gateway, _, upstream = at_once
    with sdk(gateway) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="local", messages=[{"role": "user", "content": "hi"}]
        )
    assert raw.headers["x-tiergate-attempts"] == "local/broken-model:protocol, rescue/qwen-rescue:ok"
    assert raw.parse().choices[0].message.content == RESCUED
    assert calls(upstream) == 1


@pytest.mark.parametrize("kind", ["openai"])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_on_messages_the_client_gets_one_502(
    at_once: tuple[str, str, RawServer], rescue: FakeOllama, stream: bool
) -> None:
    """Messages, translated for an OpenAI-compatible upstream: the error in Anthropic's shape."""
    gateway, where, upstream = at_once
    with (
        anthropic.Anthropic(base_url=gateway, api_key="sk-ant-client-unused", max_retries=0, timeout=30) as claude,
        pytest.raises(anthropic.APIStatusError) as raised,
    ):
        message = claude.messages.create(
            model="alone", max_tokens=64, messages=[{"role": "user", "content": "hi"}], stream=stream
        )
        if stream:
            list(message)  # type: ignore[arg-type]

    failed = raised.value
    assert failed.status_code == 502
    body = failed.response.json()
    assert (body["type"], body["error"]["type"]) == ("error", "api_error")
    assert body["error"]["message"].startswith(f"backend 'broken' at {where}: {BROKE}")
    assert calls(upstream) == 1
    assert not rescue.requests


@pytest.fixture
def python_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """aiohttp's Python response parser, as under ``AIOHTTP_NO_EXTENSIONS`` (read at import, so set here)."""
    monkeypatch.setattr(aiohttp.client_proto, "HttpResponseParser", aiohttp.http_parser.HttpResponseParserPy)


@pytest.mark.usefixtures("python_parser")
def test_a_bad_chunk_after_the_first_ends_the_stream_at_once(
    tmp_path: Path, gateway_for: GatewayFactory, kind: str, rescue: FakeOllama
) -> None:
    with serve_raw(Broken(kind, after=0.3)) as upstream:
        gateway, where = start(tmp_path, gateway_for, kind, rescue, upstream)
        body = {"model": "alone", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        began = time.monotonic()
        with httpx.stream("POST", gateway + "/v1/chat/completions", json=body, timeout=30) as r:
            events = [line[len("data: ") :] for line in r.iter_lines() if line.startswith("data: ")]
        took = time.monotonic() - began

    assert r.status_code == 200
    assert r.headers["x-tiergate-attempts"] == "alone/alone-model:ok"
    text = [choice["delta"].get("content") for e in events[:-1] for choice in json.loads(e)["choices"]]
    assert "".join(filter(None, text)) == "Hel"
    error = json.loads(events[-1])["error"]
    assert error["message"] == f"backend 'broken' at {where}: {BROKE}ZZZZ)"
    assert "[DONE]" not in events
    assert calls(upstream) == 1
    assert took < PROMPTLY
