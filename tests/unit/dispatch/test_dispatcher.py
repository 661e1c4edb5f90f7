"""Dispatch over in-memory backends: fallback order, what stops a fallback, and stream bounds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from tests.helpers import chat, graph
from tiergate.backends.base import Call
from tiergate.dispatch.dispatcher import Dispatcher
from tiergate.engine.router import Router
from tiergate.errors import (
    NoTargetError,
    TiergateError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamUnavailable,
)
from tiergate.redact import Redactor
from tiergate.wire import ChatRequest, Completion, Finish, Raw, StreamEvent, TextDelta

FAST = "timeouts: {first_token: 0.05, idle: 0.05, total: 5}\n"


class ScriptedBackend:
    """Answers from a list of behaviours, one per call: an exception, a Completion, or a list of events."""

    probe_reaches = True

    def __init__(self, name: str, script: list[object]) -> None:
        self.name, self.url, self.script, self.calls = name, f"http://{name}.test", script, 0

    def missing(self) -> str | None:
        return None

    async def probe(self) -> str | None:
        return None

    async def aclose(self) -> None:
        return None

    def _next(self) -> object:
        self.calls += 1
        return self.script.pop(0)

    async def complete(self, request: ChatRequest, call: Call) -> Completion:
        step = self._next()
        if isinstance(step, BaseException):
            raise step
        assert isinstance(step, Completion)
        return step

    async def stream(self, request: ChatRequest, call: Call) -> AsyncIterator[StreamEvent]:
        step = self._next()
        if isinstance(step, BaseException):
            raise step
        assert isinstance(step, list)
        for item in step:
            if item == "hang":
                await asyncio.Event().wait()
            elif isinstance(item, float):  # a pause, in seconds
                await asyncio.sleep(item)
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item


async def setup(ollama: list[object], anthropic: list[object], routing: str = FAST, **kw: Any):  # type: ignore[no-untyped-def]
    g = graph(routing)
    backends = {"ollama": ScriptedBackend("ollama", ollama), "anthropic": ScriptedBackend("anthropic", anthropic)}
    routed = await Router(g).decide(chat("hi", model="local"))
    return Dispatcher(backends, **kw), routed, backends  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_falls_back_in_order_and_records_attempts() -> None:
    d, routed, _b = await setup([UpstreamUnavailable("ollama", "u", "refused", kind="connect")], [Completion("ok")])
    answer = await d.complete(routed, chat("hi"))
    assert answer.completion.content == "ok" and answer.target.tier == "sonnet"
    assert [a.render() for a in answer.attempts] == ["local/small-model:connect", "sonnet/mid-model:ok"]


@pytest.mark.asyncio
async def test_request_errors_do_not_fall_back() -> None:
    d, routed, b = await setup([UpstreamStatusError("ollama", "u", "bad request", status=400)], [Completion("never")])
    with pytest.raises(UpstreamStatusError) as info:
        await d.complete(routed, chat("hi"))
    assert info.value.status == 400 and b["anthropic"].calls == 0
    assert [a.render() for a in info.value.attempts] == ["local/small-model:http_400"]


@pytest.mark.asyncio
async def test_all_failing_lists_every_attempt() -> None:
    d, routed, _ = await setup(
        [UpstreamStatusError("ollama", "u", "boom", status=500)],
        [UpstreamStatusError("anthropic", "v", "boom", status=500)],
    )
    with pytest.raises(NoTargetError) as info:
        await d.complete(routed, chat("hi"))
    assert info.value.status == 500
    assert info.value.message == (
        "all 2 targets failed: local/small-model: backend 'ollama' at u: boom; "
        "sonnet/mid-model: backend 'anthropic' at v: boom"
    )


@pytest.mark.asyncio
async def test_stream_first_token_timeout_falls_back() -> None:
    d, routed, _ = await setup([["hang"]], [[TextDelta("b"), Finish("stop")]])
    opened = await d.open_stream(routed, chat("hi", stream=True))
    assert opened.target.tier == "sonnet" and opened.first == TextDelta("b")
    assert [a.render() for a in opened.attempts] == ["local/small-model:timeout", "sonnet/mid-model:ok"]
    assert "no first token within 0.05s (timeouts.first_token)" in (opened.attempts[0].error or "")
    assert [e async for e in opened.rest] == [Finish("stop")]


HELLO = Raw("anthropic", b"event: message_start\ndata: {}\n\n")
PING = Raw("anthropic", b"event: ping\ndata: {}\n\n")
HIDDEN = Raw("anthropic", b"event: content_block_start\ndata: {}\n\n", answering=True)  # empty thinking


@pytest.mark.asyncio
async def test_a_native_frame_by_which_the_answer_began_is_the_first_token() -> None:
    """It translates to nothing (hidden thinking), but the upstream is answering: the pause after it is
    bounded by idle, not first_token, and the stream is committed to its target from there."""
    slow = "timeouts: {first_token: 0.05, idle: 5, total: 5}\n"
    d, routed, b = await setup([[HELLO, HIDDEN, PING, 0.2, TextDelta("a"), Finish("stop")]], [], routing=slow)
    opened = await d.open_stream(routed, chat("hi", stream=True))
    assert (opened.target.tier, opened.prelude, opened.first) == ("local", (HELLO,), HIDDEN)
    assert [a.render() for a in opened.attempts] == ["local/small-model:ok"]
    assert [e async for e in opened.rest] == [PING, TextDelta("a"), Finish("stop")]
    assert b["anthropic"].calls == 0


@pytest.mark.asyncio
async def test_a_stream_that_only_says_hello_and_pings_has_no_first_token() -> None:
    d, routed, _ = await setup([[HELLO, PING, PING, "hang"]], [[TextDelta("b"), Finish("stop")]])
    opened = await d.open_stream(routed, chat("hi", stream=True))
    assert [a.render() for a in opened.attempts] == ["local/small-model:timeout", "sonnet/mid-model:ok"]
    assert "no first token within 0.05s (timeouts.first_token)" in (opened.attempts[0].error or "")


@pytest.mark.asyncio
async def test_stream_failure_after_first_event_is_raised_not_hidden() -> None:
    d, routed, b = await setup([[TextDelta("a"), "hang"]], [[Finish("stop")]])
    opened = await d.open_stream(routed, chat("hi", stream=True))
    with pytest.raises(UpstreamUnavailable, match=r"no data for 0.05s mid-stream \(timeouts.idle\)"):
        async for _ in opened.rest:
            pass
    assert b["anthropic"].calls == 0


@pytest.mark.asyncio
async def test_stream_without_finish_is_an_error() -> None:
    d, routed, _ = await setup([[TextDelta("a")]], [])
    opened = await d.open_stream(routed, chat("hi", stream=True))
    with pytest.raises(UpstreamProtocolError, match="the stream ended before the answer was complete"):
        async for _ in opened.rest:
            pass


@pytest.mark.asyncio
async def test_empty_stream_falls_back() -> None:
    d, routed, _ = await setup([[]], [[TextDelta("x"), Finish("stop")]])
    opened = await d.open_stream(routed, chat("hi", stream=True))
    assert opened.target.tier == "sonnet"
    assert opened.attempts[0].outcome == "protocol"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("sonnet", "status", "code", "headers"),
    [
        (403, 502, "upstream_credentials_refused", {"x-should-retry": "false"}),
        (500, 503, "no_target_available", {}),
    ],
)
async def test_targets_refusing_tiergates_key(sonnet: int, status: int, code: str, headers: dict[str, str]) -> None:
    """Every target refusing tiergate's key (401, 403) is one 502 that says not to retry; a refusal beside
    another failure is the usual 503. The attempts keep what each upstream said."""
    d, routed, _ = await setup(
        [UpstreamStatusError("ollama", "u", "no", status=401)],
        [UpstreamStatusError("anthropic", "v", "no", status=sonnet)],
    )
    with pytest.raises(NoTargetError) as info:
        await d.complete(routed, chat("hi"))
    assert (info.value.status, info.value.code, info.value.headers()) == (status, code, headers)
    assert [a.status for a in info.value.attempts] == [401, sonnet]


@pytest.mark.asyncio
async def test_no_usable_target_explains_skips() -> None:
    g = graph(
        base="""
backends:
  ollama: {kind: ollama, base_url: "http://127.0.0.1:1"}
tiers:
  local: {targets: [{backend: ollama, model: small-model}]}
routing: {band_tiers: {local: local, claude: local, ambiguous: local}}
"""
    )
    img = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}]}
    routed = await Router(g).decide(msgspec.convert({"messages": [img]}, ChatRequest))
    assert routed.targets == []
    with pytest.raises(TiergateError) as info:
        await Dispatcher({}).complete(routed, chat("x"))
    assert info.value.status == 400
    assert info.value.message == "no target can serve this request: local/small-model: no vision support"


@pytest.mark.asyncio
async def test_a_target_lacking_more_than_its_window_keeps_the_request_from_reading_as_too_long() -> None:
    """Only when every target's window is all it lacks is the request too long: a shorter prompt would
    still find no target with tools."""
    g = graph(
        base="""
backends:
  ollama: {kind: ollama, base_url: "http://127.0.0.1:1"}
tiers:
  local: {targets: [{backend: ollama, model: small-model, capabilities: {tools: false, context_window: 8}}]}
  big: {targets: [{backend: ollama, model: big-model, capabilities: {tools: true, context_window: 16}}]}
fallbacks: {local: [big]}
routing: {band_tiers: {local: local, claude: local, ambiguous: local}}
"""
    )
    tool = {"type": "function", "function": {"name": "noop", "parameters": {"type": "object"}}}
    body = {"messages": [{"role": "user", "content": "x" * 400}], "tools": [tool]}
    routed = await Router(g).decide(msgspec.convert(body, ChatRequest))
    with pytest.raises(TiergateError) as info:
        await Dispatcher({}).complete(routed, chat("x"))
    assert (info.value.status, info.value.code) == (400, "no_target_available")
    assert info.value.message == (
        "no target can serve this request: local/small-model: no tool support;"
        " big/big-model: context window 16 < ~105 tokens"
    )


# --- every upstream error is scrubbed as it leaves its backend --------------------------------

KEY = "sk-upstream-SECRET-0a1b2c3d"


def echoing(status: int = 401) -> UpstreamStatusError:
    return UpstreamStatusError("anthropic", "v", f"invalid x-api-key {KEY}", status=status)


@pytest.mark.asyncio
async def test_a_whole_answer_error_is_scrubbed_before_anyone_reads_it() -> None:
    d, routed, _ = await setup([echoing(500)], [echoing(500)], redact=Redactor([KEY]))
    with pytest.raises(NoTargetError) as info:
        await d.complete(routed, chat("hi"))
    texts = [info.value.message, *(a.error or "" for a in info.value.attempts)]
    texts += [a.exc.message + a.exc.detail for a in info.value.attempts if isinstance(a.exc, UpstreamStatusError)]
    assert all(KEY not in t for t in texts) and all("invalid x-api-key ***" in t for t in texts)


@pytest.mark.asyncio
async def test_a_stream_error_before_and_after_the_first_event_is_scrubbed() -> None:
    d, routed, _ = await setup([[echoing(529)]], [[TextDelta("a"), echoing(529)]], redact=Redactor([KEY]))
    opened = await d.open_stream(routed, chat("hi", stream=True))
    assert opened.attempts[0].error == "backend 'anthropic' at v: invalid x-api-key ***"
    with pytest.raises(UpstreamStatusError) as info:
        async for _ in opened.rest:
            pass
    assert info.value.message == "backend 'anthropic' at v: invalid x-api-key ***"
    assert info.value.detail == "invalid x-api-key ***"


@pytest.mark.asyncio
async def test_without_secrets_nothing_is_rewritten() -> None:
    d, routed, _ = await setup([echoing(500)], [Completion("ok")])
    answer = await d.complete(routed, chat("hi"))
    assert KEY in (answer.attempts[0].error or "")


@pytest.mark.asyncio
async def test_a_dropped_second_call_still_shows_the_upstream_alive() -> None:
    """With one call at a time, the second call's events were dropped before the idle bound saw them: an
    upstream streaming a long second call was cut mid-stream for want of data it was sending."""
    from tiergate.wire import ToolCallArgs, ToolCallStart

    slow = "timeouts: {first_token: 5, idle: 0.3, total: 30}\n"
    second = [item for _ in range(8) for item in (0.1, ToolCallArgs(1, "x"))]
    script = [ToolCallStart(0, "a", "f"), ToolCallArgs(0, "{}"), ToolCallStart(1, "b", "f"), *second, Finish("stop")]
    d, routed, _ = await setup([script], [], routing=slow)
    tools = [{"type": "function", "function": {"name": "f"}}]
    opened = await d.open_stream(routed, chat("hi", stream=True, tools=tools, parallel_tool_calls=False))
    assert opened.first == ToolCallStart(0, "a", "f")
    rest = [e async for e in opened.rest]
    assert [e for e in rest if e != ToolCallArgs(0, "")] == [ToolCallArgs(0, "{}"), Finish("stop")]
    assert rest.count(ToolCallArgs(0, "")) == 9  # each dropped event: an empty piece, for the writers' keep-alive
