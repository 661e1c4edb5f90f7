"""What a backend reports to ``Call.billed`` when a call ends without a whole answer after the upstream's 200:
the count the upstream had sent by then (it may have billed it), and nothing for an error status or a
whole answer. The upstreams are exact bytes through an injected client (tests/fakes/mock_http.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from tests.fakes.mock_http import MockClient, Reply
from tiergate.backends.anthropic import AnthropicBackend
from tiergate.backends.base import Billed, Call
from tiergate.backends.openai import OpenAIBackend
from tiergate.config.model import AnthropicBackendConfig, OpenAIBackendConfig
from tiergate.errors import UpstreamError
from tiergate.wire import ChatRequest, StreamEvent, Usage

SSE = {"content-type": "text/event-stream"}
JSON = {"content-type": "application/json"}
HI = msgspec.convert({"messages": [{"role": "user", "content": "hi"}]}, ChatRequest)


def sse(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def chunk(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data)}\n\n".encode()


MESSAGE_START = sse(
    "message_start",
    {
        "type": "message_start",
        "message": {
            "type": "message",
            "content": [],
            "usage": {"input_tokens": 20, "cache_read_input_tokens": 5, "output_tokens": 1},
        },
    },
)
TEXT_BLOCK = sse(
    "content_block_start",
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
)
OVERLOADED = sse("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
WHOLE_STREAM = [
    MESSAGE_START,
    TEXT_BLOCK,
    sse(
        "content_block_delta",
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}},
    ),
    sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
    sse(
        "message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}}
    ),
    sse("message_stop", {"type": "message_stop"}),
]


def anthropic(reply: Reply) -> AnthropicBackend:
    cfg = AnthropicBackendConfig(base_url="http://claude.test")
    return AnthropicBackend("claude", cfg, {"ANTHROPIC_API_KEY": "sk-ant-test"}, client=MockClient(lambda _: reply))


def openai(reply: Reply) -> OpenAIBackend:
    cfg = OpenAIBackendConfig(base_url="http://vllm.test/v1")
    return OpenAIBackend("vllm", cfg, {}, client=MockClient(lambda _: reply))


async def collect(events: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in events]


async def billed_by(backend: AnthropicBackend | OpenAIBackend, *, stream: bool, fails: bool = True) -> Usage | None:
    billed = Billed()
    call = Call(model="m", billed=billed)
    if not fails:
        await (collect(backend.stream(HI, call)) if stream else backend.complete(HI, call))
        return billed.usage
    with pytest.raises(UpstreamError):
        await (collect(backend.stream(HI, call)) if stream else backend.complete(HI, call))
    return billed.usage


@pytest.mark.asyncio
async def test_an_anthropic_stream_broken_after_message_start_reports_its_count() -> None:
    """The input (cache reads included) and the output so far, as message_start counted them."""
    backend = anthropic(Reply(200, SSE, [MESSAGE_START, TEXT_BLOCK, OVERLOADED]))
    assert await billed_by(backend, stream=True) == Usage.of(25, 1, cached=5)


@pytest.mark.asyncio
async def test_an_anthropic_stream_cut_short_reports_its_count_and_one_before_any_count_nothing() -> None:
    assert await billed_by(anthropic(Reply(200, SSE, [MESSAGE_START, TEXT_BLOCK])), stream=True) == Usage.of(
        25, 1, cached=5
    )
    assert await billed_by(anthropic(Reply(200, SSE, [OVERLOADED])), stream=True) is None


@pytest.mark.asyncio
async def test_an_error_status_or_a_whole_answer_reports_nothing() -> None:
    status = Reply(529, JSON, json.dumps({"type": "error", "error": {"type": "overloaded_error"}}).encode())
    assert await billed_by(anthropic(status), stream=True) is None
    assert await billed_by(anthropic(status), stream=False) is None
    assert await billed_by(anthropic(Reply(200, SSE, WHOLE_STREAM)), stream=True, fails=False) is None


@pytest.mark.asyncio
async def test_an_anthropic_answer_without_its_stop_reason_reports_its_usage() -> None:
    body = {"type": "message", "content": [], "stop_reason": None, "usage": {"input_tokens": 9, "output_tokens": 4}}
    assert await billed_by(anthropic(Reply(200, JSON, json.dumps(body).encode())), stream=False) == Usage.of(9, 4)
    assert await billed_by(anthropic(Reply(200, JSON, b'{"type": "mess')), stream=False) is None


@pytest.mark.asyncio
async def test_an_openai_stream_that_counted_before_it_broke_reports_the_count() -> None:
    """vLLM's continuous usage stats put a count in every chunk, the first (role only) included."""
    started = chunk({"choices": [{"index": 0, "delta": {"role": "assistant"}}], "usage": {"prompt_tokens": 30}})
    error = chunk({"error": {"message": "the engine died", "code": 500}})
    assert await billed_by(openai(Reply(200, SSE, [started, error])), stream=True) == Usage.of(30, 0)
    assert await billed_by(openai(Reply(200, SSE, [error])), stream=True) is None


@pytest.mark.asyncio
async def test_an_openai_answer_without_its_finish_reason_reports_its_usage() -> None:
    body = {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hal"}, "finish_reason": None}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3},
    }
    assert await billed_by(openai(Reply(200, JSON, json.dumps(body).encode())), stream=False) == Usage.of(12, 3)


def test_billed_adds_each_count_and_ignores_none_and_zero() -> None:
    billed = Billed()
    billed.add(None)
    billed.add(Usage.of(0, 0))
    assert billed.usage is None
    billed.add(Usage.of(10, 1, cached=4))
    billed.add(Usage.of(5, 2, cache_write=3))
    assert billed.usage == Usage.of(15, 3, cached=4, cache_write=3)
