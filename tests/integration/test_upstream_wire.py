"""Features that live in the backends' codecs, end to end over loopback: structured outputs and
``reasoning_effort`` through the real gateway to the fake Anthropic (the openai SDK as the client), and, with
each backend on its real HTTP client, Ollama's fill-in-the-middle and the Anthropic native pass-through."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
import pydantic
import pytest

from tests.conftest import TEST_KEY
from tests.fakes.anthropic import THINKING, FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Json, Text
from tiergate.backends.anthropic import AnthropicBackend, AnthropicBackendConfig
from tiergate.backends.base import Call
from tiergate.backends.ollama import OllamaBackend, OllamaBackendConfig
from tiergate.protocols.anthropic import decode
from tiergate.wire import ChatRequest, Message, Raw, StreamEvent, TextDelta

CAPTURE = (
    Path(__file__).parents[1] / "unit" / "protocols" / "fixtures" / "anthropic-claude-code-2.1.332-tool_result.json"
)


class Title(pydantic.BaseModel):
    title: str
    words: int


# --- structured outputs on the Anthropic tiers, through the gateway ----------------------------------


def test_chat_completions_parse_gets_the_object_from_a_claude_tier(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.replies.append(Json({"title": "Fix the flaky test", "words": 4}))

    completion = client.chat.completions.parse(
        model="sonnet",
        messages=[{"role": "user", "content": "title for: the CI test fails one run in ten"}],
        response_format=Title,
    )

    message = completion.choices[0].message
    assert message.parsed == Title(title="Fix the flaky test", words=4)
    assert json.loads(message.content or "") == {"title": "Fix the flaky test", "words": 4}
    assert message.tool_calls in (None, [])
    assert completion.choices[0].finish_reason == "stop"
    sent = fake_anthropic.requests[0].body
    assert sent["tool_choice"] == {"type": "tool", "name": "Title"}
    assert sent["tools"][0]["name"] == "Title"
    assert sent["tools"][0]["input_schema"]["required"] == ["title", "words"]


def test_a_streamed_parse_gets_the_object_from_a_claude_tier(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.replies.append(Json({"title": "Split the module", "words": 3}))

    with client.chat.completions.stream(
        model="sonnet", messages=[{"role": "user", "content": "title it"}], response_format=Title
    ) as stream:
        final = stream.get_final_completion()

    assert final.choices[0].message.parsed == Title(title="Split the module", words=3)
    assert fake_anthropic.requests[0].body["stream"] is True


def test_chat_completions_parse_gets_the_object_from_the_local_tier(
    client: openai.OpenAI, fake_ollama: FakeOllama
) -> None:
    fake_ollama.replies.append(Json({"title": "Rename the helper", "words": 3}))

    completion = client.chat.completions.parse(
        model="local", messages=[{"role": "user", "content": "title it"}], response_format=Title
    )

    assert completion.choices[0].message.parsed == Title(title="Rename the helper", words=3)
    assert completion.choices[0].finish_reason == "stop"
    schema = fake_ollama.requests[0].body["format"]  # Ollama's structured outputs: the schema as `format`
    assert schema["properties"] == {
        "title": {"title": "Title", "type": "string"},
        "words": {"title": "Words", "type": "integer"},
    }
    assert schema["required"] == ["title", "words"]


def test_json_object_gets_json_content_from_a_claude_tier(client: openai.OpenAI, fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.replies.append(Json({"ok": True, "items": [1, 2]}))

    completion = client.chat.completions.create(
        model="opus",
        messages=[{"role": "user", "content": "answer in JSON"}],
        response_format={"type": "json_object"},
    )

    assert json.loads(completion.choices[0].message.content or "") == {"ok": True, "items": [1, 2]}
    assert fake_anthropic.requests[0].body["tool_choice"] == {"type": "tool", "name": "json_answer"}
    assert fake_anthropic.requests[0].body["tools"][0]["input_schema"] == {"type": "object"}


# --- reasoning_effort → thinking, on the tiers the repository's routes.yaml says think -----------------


def test_reasoning_effort_thinks_on_a_claude_tier(client: openai.OpenAI, fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.replies.append(Text("Use a lock.", chunks=2))

    raw = client.chat.completions.with_raw_response.create(
        model="sonnet",
        reasoning_effort="low",
        temperature=0.2,
        messages=[{"role": "user", "content": "how do I avoid this race?"}],
    )

    completion = raw.parse()
    message = completion.choices[0].message
    assert message.content == "Use a lock."
    assert json.loads(raw.content)["choices"][0]["message"]["reasoning_content"] == THINKING
    sent = fake_anthropic.requests[0].body
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert "temperature" not in sent and sent["max_tokens"] > 1024


def test_a_user_message_after_a_tool_result_leaves_thinking_off_as_the_api_demands(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic
) -> None:
    """The tool result and the user's next words are one user turn, so the loop is still under way and its
    assistant turn carries no signed thinking: the fake refuses thinking there, as the API does."""
    fake_anthropic.replies.append(Text("Rome is sunny too."))
    call = {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}

    completion = client.chat.completions.create(
        model="sonnet",
        reasoning_effort="low",
        tools=[{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}],
        messages=[
            {"role": "user", "content": "weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},  # type: ignore[list-item]
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "user", "content": "thanks, and Rome?"},
        ],
    )

    assert completion.choices[0].message.content == "Rome is sunny too."
    sent = fake_anthropic.requests[0].body
    assert "thinking" not in sent
    assert [block["type"] for block in sent["messages"][2]["content"]] == ["tool_result", "text"]


# --- whitespace the Anthropic API refuses, in requests OpenAI's API takes ---------------------------------


def test_blank_chat_messages_and_a_prefills_trailing_space_reach_a_claude_tier_as_it_takes_them(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic
) -> None:
    """A system and an assistant turn of whitespace alone, and a prefill ending in a space, went to Claude as
    sent, and the fake refused them as the API does: only a request routed to Claude failed."""
    fake_anthropic.replies.append(Text("to help."))

    completion = client.chat.completions.create(
        model="sonnet",
        messages=[
            {"role": "system", "content": "  \n"},
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": " \n"},
            {"role": "user", "content": "b"},
            {"role": "assistant", "content": "Sure, "},
        ],
    )

    assert completion.choices[0].message.content == "to help."
    sent = fake_anthropic.requests[0].body
    assert "system" not in sent
    assert sent["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Sure,"}]},
    ]


def test_blank_responses_instructions_and_input_reach_a_claude_tier_as_it_takes_them(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.replies.append(Text("Done."))

    response = client.responses.create(
        model="sonnet",
        instructions="  ",
        input=[
            {"role": "user", "content": "a"},
            {"role": "user", "content": [{"type": "input_text", "text": "\t"}]},
            {"role": "assistant", "content": "\n"},
            {"role": "user", "content": "b"},
        ],
        stream=False,
    )

    assert response.output_text == "Done."
    sent = fake_anthropic.requests[0].body
    assert "system" not in sent
    assert sent["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    ]


# --- each backend on its real client, against its loopback fake -----------------------------------------


async def collect(events: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in events]


@pytest.mark.asyncio
async def test_a_suffix_reaches_ollamas_generate(fake_ollama: FakeOllama) -> None:
    fake_ollama.replies.append(Text("a + b", chunks=2))
    backend = OllamaBackend("ollama", OllamaBackendConfig(base_url=fake_ollama.url))  # type: ignore[attr-defined]
    request = ChatRequest(
        messages=[Message(role="user", content="def add(a, b):\n    return ")], suffix="\n", stream=True
    )

    try:
        events = await collect(backend.stream(request, Call(model="qwen2.5-coder:7b")))
    finally:
        await backend.aclose()

    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "a + b"
    (sent,) = fake_ollama.requests
    assert sent.path == "/api/generate"
    assert (sent.body["prompt"], sent.body["suffix"]) == ("def add(a, b):\n    return ", "\n")


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [False, True])
async def test_a_claude_code_body_reaches_anthropic_unchanged_but_for_the_model(
    fake_anthropic: FakeAnthropic, stream: bool
) -> None:
    capture = json.loads(CAPTURE.read_text())
    body: dict[str, Any] = {**capture["body"], "stream": stream}
    request = decode(json.dumps(body).encode(), dict(capture["headers"]))
    cfg = AnthropicBackendConfig(base_url=fake_anthropic.url)  # type: ignore[attr-defined]
    backend = AnthropicBackend("anthropic", cfg, {"ANTHROPIC_API_KEY": TEST_KEY})

    try:
        if stream:
            events = await collect(backend.stream(request, Call(model="claude-sonnet-4-5")))
            native = b"".join(e.frame for e in events if isinstance(e, Raw))
            assert native.startswith(b"event: message_start\n") and native.endswith(
                b"event: message_stop\n" + b'data: {"type": "message_stop"}\n\n'
            )
        else:
            completion = await backend.complete(request, Call(model="claude-sonnet-4-5"))
            assert completion.native is not None and json.loads(completion.native)["type"] == "message"
    finally:
        await backend.aclose()

    (sent,) = fake_anthropic.requests
    assert sent.body == {**body, "model": "claude-sonnet-4-5"}
    headers = {k.lower(): v for k, v in capture["headers"]}
    assert sent.headers["anthropic-beta"] == headers["anthropic-beta"]
    assert sent.headers["anthropic-version"] == headers["anthropic-version"]
