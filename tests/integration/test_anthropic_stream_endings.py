"""How an Anthropic stream ends when ``message_stop`` never comes, behind the real gateway, through each ingress
with its official SDK: an answer whose ``message_delta`` (its stop reason and final usage) came is whole, and
ends as one when the upstream then stalls, closes the body, breaks the connection, or sends an error event or a
broken ``message_stop`` in its place; before that, it is an error.

Anthropic sends ``message_stop`` right after ``message_delta``: all the client needs has come by then. The
tier's ``idle`` is 1 s, so the wait for ``message_stop`` (half of it) is 0.5 s; tier ``sonnet`` falls back to an
Ollama tier, ``rescue``, which a whole answer must never reach.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import anthropic
import httpx
import openai
import pytest

from tests.conftest import TEST_KEY, GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Text, ToolCalls, Unended

ROUTES = """
version: 1
backends:
  claude: {kind: anthropic, base_url: "${ANTHROPIC_BASE_URL}", api_key_env: ANTHROPIC_API_KEY}
  ollama: {kind: ollama, base_url: "${OLLAMA_HOST}"}
tiers:
  sonnet: {targets: [{backend: claude, model: claude-test, capabilities: {tools: true, context_window: 200000}}]}
  rescue: {targets: [{backend: ollama, model: qwen-rescue, capabilities: {tools: true}}]}
fallbacks: {sonnet: [rescue]}
routing: {mode: fixed, fixed_tier: sonnet, band_tiers: {local: rescue}, stickiness: {enabled: false}}
timeouts: {connect: 2, first_token: 3, idle: 1, total: 10}
retries: {attempts: 0}
"""
ANSWER = "The whole answer, every word of it."
Ending = Literal["stall", "close", "cut", "error", "bare error", "half stop", "garbled stop"]
ENDINGS: list[Ending] = ["stall", "close", "cut"]
#: After message_delta, an error event or a broken message_stop in its place ends a whole answer too (Codex
#: re-asked, and paid, and the target's breaker counted a good answer as a failure)
WHOLE_ENDINGS: list[Ending] = [*ENDINGS, "error", "bare error", "half stop", "garbled stop"]
WEATHER = {"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}


@pytest.fixture
def gateway(tmp_path: Path, gateway_for: GatewayFactory, fake_anthropic: FakeAnthropic, fake_ollama: FakeOllama) -> str:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    env = {
        "ANTHROPIC_BASE_URL": fake_anthropic.url,  # type: ignore[attr-defined]
        "ANTHROPIC_API_KEY": TEST_KEY,
        "OLLAMA_HOST": fake_ollama.url,  # type: ignore[attr-defined]
    }
    return gateway_for(routes, env)


@pytest.fixture
def claude(gateway: str) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=gateway, api_key="sk-client-unused", max_retries=0, timeout=30) as sdk:
        yield sdk


@pytest.fixture
def gpt(gateway: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gateway + "/v1", api_key="sk-client-unused", max_retries=0, timeout=30) as sdk:
        yield sdk


def logged(tmp_path: Path) -> tuple[str, int | None, int | None, str | None]:
    """The one request's decision-log row, once written (after the answer): attempts, tokens, error kind."""
    deadline = time.monotonic() + 5
    while True:
        with sqlite3.connect(tmp_path / "tiergate-decisions.db") as conn:
            query = "SELECT attempts, prompt_tokens, completion_tokens, error_kind FROM decisions"
            rows = conn.execute(query).fetchall()
        if rows or time.monotonic() > deadline:
            assert len(rows) == 1, rows
            return rows[0]
        time.sleep(0.02)


def messages_stream(claude: anthropic.Anthropic, **extra: Any) -> tuple[list[str], anthropic.types.Message]:
    """The event types the client got (as they came: a pass-through of Anthropic's own), and its final message."""
    body: dict[str, Any] = {"model": "sonnet", "max_tokens": 256, "messages": [{"role": "user", "content": "hi"}]}
    with claude.messages.stream(**body, **extra) as stream:
        kinds = [event.type for event in stream if event.type not in ("text", "input_json")]  # the SDK's own
        final = stream.get_final_message()
    return kinds, final


# --- Messages ingress: the upstream's own frames, passed through ------------------------------------------------


@pytest.mark.parametrize("ending", WHOLE_ENDINGS)
def test_a_messages_stream_whose_message_delta_came_ends_whole(
    tmp_path: Path, claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic, fake_ollama: FakeOllama, ending: Ending
) -> None:
    """The answer, its stop reason and its usage came, then no message_stop: the client got an error event for a
    whole answer (and, when the upstream stalled, after the whole ``idle``)."""
    fake_anthropic.replies.append(Unended(Text(ANSWER, prompt_tokens=21, completion_tokens=9), ending=ending))
    kinds, final = messages_stream(claude)
    assert kinds == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * 3,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert [block.text for block in final.content if block.type == "text"] == [ANSWER]
    assert (final.stop_reason, final.usage.input_tokens, final.usage.output_tokens) == ("end_turn", 21, 9)
    assert logged(tmp_path) == ("sonnet/claude-test:ok", 21, 9, None)
    assert not fake_ollama.requests


def test_the_message_stop_a_pass_through_client_gets_is_anthropics_own(
    claude: anthropic.Anthropic, gateway: str, fake_anthropic: FakeAnthropic
) -> None:
    """The upstream's frames as they came, through message_delta, then the one message_stop Anthropic sends."""
    fake_anthropic.replies.append(Unended(Text(ANSWER, completion_tokens=9)))
    body = {"model": "sonnet", "max_tokens": 256, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with httpx.stream("POST", gateway + "/v1/messages", json=body, timeout=30) as r:
        text = r.read().decode()
    end = 'event: message_delta\ndata: {"type": "message_delta", "delta": {"stop_reason": "end_turn", '
    end += '"stop_sequence": null}, "usage": {"output_tokens": 9}}\n\n'
    assert text.endswith(end + 'event: message_stop\ndata: {"type":"message_stop"}\n\n')
    assert text.count("event: message_stop") == 1


@pytest.mark.parametrize(("answer", "stop"), [(Text(ANSWER, stop="length"), "max_tokens"), (None, "tool_use")])
def test_each_stop_reason_ends_a_stalled_messages_stream_whole(
    tmp_path: Path, claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic, answer: Text | None, stop: str
) -> None:
    calls = ToolCalls([("get_weather", {"city": "Oslo"})], completion_tokens=12)
    fake_anthropic.replies.append(Unended(answer or calls))
    _, final = messages_stream(claude, tools=[WEATHER])
    assert final.stop_reason == stop
    if answer is None:
        (call,) = final.content
        assert call.type == "tool_use" and (call.name, call.input) == ("get_weather", {"city": "Oslo"})
    assert logged(tmp_path)[0] == "sonnet/claude-test:ok"


#: What the client is told of a stream that ended before message_delta, by how it ended.
FAILURES = {
    "stall": ("timeout", "no data for 1s mid-stream (timeouts.idle)"),
    "close": ("protocol", "stream ended before message_stop"),
    "cut": ("protocol", "the answer was cut short ("),
}


@pytest.mark.parametrize("ending", ENDINGS)
def test_a_messages_stream_that_ends_before_its_message_delta_fails(
    tmp_path: Path, claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic, fake_ollama: FakeOllama, ending: Ending
) -> None:
    """Without the stop reason the answer may be cut mid-generation: never passed off as whole."""
    fake_anthropic.replies.append(Unended(Text(ANSWER), ending=ending, before_stop=True))
    with pytest.raises(anthropic.APIStatusError) as caught:
        messages_stream(claude)
    kind, detail = FAILURES[ending]
    assert caught.value.message.startswith(f"backend 'claude' at {fake_anthropic.url}: {detail}")  # type: ignore[attr-defined]
    assert logged(tmp_path) == ("sonnet/claude-test:ok", 11, 1, kind), "the stream had begun: charged what was counted"
    assert not fake_ollama.requests


# --- translated: the OpenAI chat and Responses ingresses ----------------------------------------------------------


def chat_stream(gpt: openai.OpenAI, **extra: Any) -> list[Any]:
    """The chunks' choices as (content, tool calls' arguments, finish reason), and the last chunk's usage."""
    stream = gpt.chat.completions.create(
        model="sonnet",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
        **extra,
    )
    chunks = list(stream)  # the SDK raises on the error event a failed stream ends with
    said = []
    for chunk in chunks[:-1]:
        (choice,) = chunk.choices
        calls = [call.function.arguments for call in choice.delta.tool_calls or [] if call.function]
        said.append((choice.delta.content, calls, choice.finish_reason))
    usage = chunks[-1].usage
    assert usage is not None and not chunks[-1].choices
    return [*said, (usage.prompt_tokens, usage.completion_tokens)]


@pytest.mark.parametrize("ending", WHOLE_ENDINGS)
def test_a_chat_stream_whose_message_delta_came_ends_whole(
    tmp_path: Path, gpt: openai.OpenAI, fake_anthropic: FakeAnthropic, fake_ollama: FakeOllama, ending: Ending
) -> None:
    fake_anthropic.replies.append(Unended(Text(ANSWER, prompt_tokens=21, completion_tokens=9), ending=ending))
    assert chat_stream(gpt) == [
        ("", [], None),
        ("The whole an", [], None),
        ("swer, every ", [], None),
        ("word of it.", [], None),
        (None, [], "stop"),
        (21, 9),
    ]
    assert logged(tmp_path) == ("sonnet/claude-test:ok", 21, 9, None)
    assert not fake_ollama.requests


def test_a_chat_stream_of_tool_calls_whose_message_delta_came_ends_whole(
    tmp_path: Path, gpt: openai.OpenAI, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.replies.append(Unended(ToolCalls([("get_weather", {"city": "Oslo"})], completion_tokens=12)))
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER["input_schema"]}}
    got = chat_stream(gpt, tools=[tool])
    assert "".join(piece for _, calls, _ in got[:-2] for piece in calls) == '{"city": "Oslo"}'
    assert got[-2:] == [(None, [], "tool_calls"), (13, 12)]
    assert logged(tmp_path) == ("sonnet/claude-test:ok", 13, 12, None)


def test_a_chat_stream_that_stalls_before_its_message_delta_fails(
    tmp_path: Path, gpt: openai.OpenAI, fake_anthropic: FakeAnthropic, fake_ollama: FakeOllama
) -> None:
    fake_anthropic.replies.append(Unended(Text(ANSWER), before_stop=True))
    with pytest.raises(openai.APIError) as caught:
        chat_stream(gpt)
    assert caught.value.message == f"backend 'claude' at {fake_anthropic.url}: {FAILURES['stall'][1]}"  # type: ignore[attr-defined]
    assert logged(tmp_path)[3] == "timeout" and not fake_ollama.requests


@pytest.mark.parametrize("ending", WHOLE_ENDINGS)
def test_a_responses_stream_whose_message_delta_came_ends_completed(
    tmp_path: Path, gpt: openai.OpenAI, fake_anthropic: FakeAnthropic, fake_ollama: FakeOllama, ending: Ending
) -> None:
    fake_anthropic.replies.append(Unended(Text(ANSWER, prompt_tokens=21, completion_tokens=9), ending=ending))
    events = list(gpt.responses.create(model="sonnet", input="hi", stream=True))
    assert [event.type for event in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 3,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    final = events[-1]
    assert final.type == "response.completed"
    response = final.response
    assert (response.status, response.output_text) == ("completed", ANSWER)
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (21, 9)
    assert logged(tmp_path) == ("sonnet/claude-test:ok", 21, 9, None)
    assert not fake_ollama.requests


@pytest.mark.parametrize(
    ("ending", "kind"),
    [
        ("error", "an error event (overloaded_error)"),
        ("bare error", "an error event (overloaded_error)"),
        ("half stop", "a malformed event"),
        ("garbled stop", "a malformed event"),
    ],
)
def test_what_came_after_the_whole_answer_is_logged_by_its_kind_alone(
    claude: anthropic.Anthropic,
    fake_anthropic: FakeAnthropic,
    caplog: pytest.LogCaptureFixture,
    ending: Ending,
    kind: str,
) -> None:
    """Ended whole, what the upstream sent in place of message_stop was in no log line; an error's message is
    left out (an upstream may echo the key, and only dispatch holds the redactor)."""
    caplog.set_level("WARNING", logger="tiergate.backends")
    fake_anthropic.replies.append(Unended(Text(ANSWER, completion_tokens=9), ending=ending))
    messages_stream(claude)
    assert [r.getMessage() for r in caplog.records if r.name == "tiergate.backends"] == [
        f"{kind} came after the whole answer (its message_delta): the answer ends whole"
    ]
