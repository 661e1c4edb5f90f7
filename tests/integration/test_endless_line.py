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

import json
import time
from collections.abc import Iterator
from typing import Any, NamedTuple

import httpx
import pytest

from tests.fakes.ollama import FakeOllama
from tests.fakes.server import serve
from tests.integration.endless import (
    PIECE,
    PROMPTLY,
    RESCUED,
    Endless,
    backend_url,
    fixture_gateway,  # noqa: F401 (a fixture)
    fixture_kind,  # noqa: F401 (a fixture)
    fixture_rescue,  # noqa: F401 (a fixture)
    refused,
)
from tiergate.protocols import framing

CAP = 4096

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
    """One upstream protocol's stream, as the endless upstream speaks it."""

    media: bytes
    first: bytes  # the start of an answer, for the cases after the first byte
    opening: bytes  # the endless unit's first bytes
    piece: bytes  # then this, again and again
    unit: str  # what the error calls it


KINDS = {
    "ollama": Kind(b"application/x-ndjson", OLLAMA_FIRST, b'{"message": {"content": "', PIECE, "line"),
    "openai": Kind(b"text/event-stream", OPENAI_FIRST, b"data: ", PIECE, "line"),
    # an event of short lines that never gets its blank line: no line is long, the event is
    "anthropic": Kind(
        b"text/event-stream", ANTHROPIC_FIRST, b"event: content_block_delta\n", b"data: xxxxxxxxxx\n" * 964, "event"
    ),
}


@pytest.fixture
def capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(framing, "MAX_UNIT_BYTES", CAP)


@pytest.fixture
def endless_upstream(kind: str, request: pytest.FixtureRequest) -> Iterator[tuple[Endless, str]]:
    """The endless unit, after the start of an answer when the test's parameter says so."""
    spoken = KINDS[kind]
    first = spoken.first if getattr(request, "param", False) else b""
    fake = Endless(200, spoken.media, first + spoken.opening, spoken.piece)
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


def capped_error(kind: str, upstream: str) -> str:
    """The error's message when the endless unit passes the cap."""
    where = backend_url(kind, upstream)
    return f"backend 'endless' at {where}: a stream {KINDS[kind].unit} passed the {CAP}-byte cap before it ended"


@pytest.mark.usefixtures("capped")
def test_before_the_first_byte_the_fallback_answers_promptly(
    gateway: str, endless_upstream: tuple[Endless, str]
) -> None:
    fake, _ = endless_upstream
    r, raw, took = chat(gateway, "local")
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
    gateway: str, kind: str, rescue: FakeOllama, endless_upstream: tuple[Endless, str]
) -> None:
    fake, url = endless_upstream
    r, _, took = chat(gateway, "alone")
    refused(r, took, capped_error(kind, url), fake, rescue)


@pytest.mark.usefixtures("capped")
@pytest.mark.parametrize("endless_upstream", [True], indirect=True, ids=["after-first-byte"])
def test_after_the_first_byte_the_stream_ends_in_an_error(
    gateway: str, kind: str, rescue: FakeOllama, endless_upstream: tuple[Endless, str]
) -> None:
    fake, url = endless_upstream
    r, raw, took = chat(gateway, "local")
    assert r.status_code == 200, raw
    got = frames(raw)
    assert "[DONE]" not in got, "a cut answer never passes for a complete one"
    assert "".join(f["choices"][0]["delta"].get("content") or "" for f in got[:-1] if f.get("choices")) == "Hel"
    assert got[-1]["error"]["message"] == capped_error(kind, url)
    assert took < PROMPTLY
    assert fake.calls == 1
    assert not rescue.requests
