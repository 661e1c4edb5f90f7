"""A chat conversation that ends in a blank user message, through the real gateway with the openai SDK: Claude
takes no such message, and without it the answer before it would be a prefill, which Claude continued (the
client got the rest of its previous answer as a new one). The Claude target is passed over without a call: tier
``sonnet`` falls back to an Ollama tier, ``rescue``, which answers the new turn; tier ``alone`` has nowhere to
go, and the client gets a 400 naming the message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.conftest import TEST_KEY, GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Text

ROUTES = """
version: 1
backends:
  claude: {kind: anthropic, base_url: "${ANTHROPIC_BASE_URL}", api_key_env: ANTHROPIC_API_KEY}
  ollama: {kind: ollama, base_url: "${OLLAMA_HOST}"}
tiers:
  sonnet: {targets: [{backend: claude, model: claude-test, capabilities: {context_window: 200000}}]}
  alone: {targets: [{backend: claude, model: claude-alone, capabilities: {context_window: 200000}}]}
  rescue: {targets: [{backend: ollama, model: qwen-rescue}]}
fallbacks: {sonnet: [rescue]}
routing: {mode: fixed, fixed_tier: sonnet, band_tiers: {local: rescue}, stickiness: {enabled: false}}
retries: {attempts: 0}
"""
HAIKU: list[Any] = [
    {"role": "user", "content": "Write a haiku about rain."},
    {"role": "assistant", "content": "Soft rain on the roof \n"},
    {"role": "user", "content": " \n"},
]


@pytest.fixture
def client(
    tmp_path: Path, gateway_for: GatewayFactory, fake_anthropic: FakeAnthropic, fake_ollama: FakeOllama
) -> Iterator[openai.OpenAI]:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    env = {
        "ANTHROPIC_BASE_URL": fake_anthropic.url,  # type: ignore[attr-defined]
        "ANTHROPIC_API_KEY": TEST_KEY,
        "OLLAMA_HOST": fake_ollama.url,  # type: ignore[attr-defined]
    }
    url = gateway_for(routes, env)
    with openai.OpenAI(base_url=url + "/v1", api_key="sk-client-unused", max_retries=0, timeout=30) as sdk:
        yield sdk


@pytest.mark.parametrize("stream", [False, True])
def test_a_blank_last_user_message_falls_back_from_claude_to_a_target_that_answers_it(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic, fake_ollama: FakeOllama, stream: bool
) -> None:
    fake_anthropic.replies.append(Text(" and more of the old answer."))
    fake_ollama.replies.append(Text("Your message came through empty: what would you like?"))

    raw = client.chat.completions.with_raw_response.create(model="sonnet", messages=HAIKU, stream=stream)

    if stream:
        text = "".join(chunk.choices[0].delta.content or "" for chunk in raw.parse() if chunk.choices)  # type: ignore[union-attr]
    else:
        text = raw.parse().choices[0].message.content  # type: ignore[union-attr]
    assert text == "Your message came through empty: what would you like?"
    assert raw.headers["x-tiergate-attempts"] == "sonnet/claude-test:capability, rescue/qwen-rescue:ok"
    assert not fake_anthropic.requests
    assert [(m["role"], m["content"]) for m in fake_ollama.requests[0].body["messages"]] == [
        (m["role"], m["content"]) for m in HAIKU
    ]


def test_a_blank_last_user_message_with_no_target_left_is_a_400_naming_it(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.replies.append(Text(" and more of the old answer."))

    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="alone", messages=HAIKU)

    anthropic = fake_anthropic.url  # type: ignore[attr-defined]
    assert caught.value.response.json() == {
        "error": {
            "message": f"backend 'claude' at {anthropic}: messages[2].content: the conversation ends in a user"
            " message that is empty or only whitespace, which Claude does not take; without it Claude would go on"
            " with the assistant message before it instead of answering",
            "type": "invalid_request_error",
            "param": "messages[2].content",
            "code": None,
        }
    }
    assert not fake_anthropic.requests


def test_the_clients_own_prefill_is_still_continued_by_claude(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic, fake_ollama: FakeOllama
) -> None:
    """A conversation that ends in an assistant message is the client's prefill: Claude goes on from it."""
    fake_anthropic.replies.append(Text("falls the evening hush"))

    completion = client.chat.completions.create(model="sonnet", messages=HAIKU[:2])

    assert completion.choices[0].message.content == "falls the evening hush"
    assert fake_anthropic.requests[0].body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Write a haiku about rain."}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Soft rain on the roof"}]},
    ]
    assert not fake_ollama.requests
