"""The ``max_tokens`` a Claude tier is sent for a client that gives no output limit (Codex through Responses,
many chat clients): the largest that fits, the backend's ``default_max_tokens`` or the target's
``capabilities.max_output`` when smaller, cut to the room the target's context window leaves beside the
prompt's estimate and its error margin, never below 4096. A fixed 4,096 cut a long turn (a file written in
one patch) short, and Codex printed "Incomplete response returned, reason: max_output_tokens". The openai
SDK → the real gateway → the fake Anthropic server, which records each body."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.scripts import Text

ROUTES = """
version: 1
backends:
  anthropic: {kind: anthropic, base_url: "${ANTHROPIC_BASE_URL}", api_key_env: ANTHROPIC_API_KEY}
  long: {kind: anthropic, base_url: "${ANTHROPIC_BASE_URL}", api_key_env: ANTHROPIC_API_KEY, default_max_tokens: 64000}
tiers:
  local: {targets: [{backend: anthropic, model: claude-haiku-4-5, capabilities: {context_window: 200000}}]}
  sonnet:
    targets: [{backend: long, model: claude-sonnet-4-5, capabilities: {context_window: 200000, max_output: 64000}}]
  opus: {targets: [{backend: long, model: claude-opus-4-1, capabilities: {context_window: 200000, max_output: 32000}}]}
fallbacks: {local: [sonnet], sonnet: [opus]}
"""
WINDOW = 200_000
#: A prompt of 540,000 characters: 135,000 tokens by tiergate's estimate (4 characters a token).
LONG = "word " * 108_000
LONG_ESTIMATE = 135_000
#: 148,000 tokens by the estimate: with a third more and 1024 for its error, no room left but the floor's.
NEAR_FULL = "word " * 118_400


@pytest.fixture
def sdk(tmp_path: Path, gateway_for: GatewayFactory, upstream_env: dict[str, str]) -> Iterator[openai.OpenAI]:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    url = gateway_for(routes, upstream_env)
    with openai.OpenAI(base_url=url + "/v1", api_key="sk-client-unused", max_retries=0, timeout=60) as client:
        yield client


def sent_max_tokens(fake: FakeAnthropic) -> int:
    assert len(fake.requests) == 1
    value: int = fake.requests[0].body["max_tokens"]
    return value


def ask_responses(sdk: openai.OpenAI, model: str, text: str, *, stream: bool, **limit: Any) -> None:
    if stream:
        with sdk.responses.create(model=model, input=text, stream=True, **limit) as events:
            assert [e.type for e in events][-1] == "response.completed"
    else:
        assert sdk.responses.create(model=model, input=text, **limit).output_text == "done"


def ask_chat(sdk: openai.OpenAI, model: str, text: str, *, stream: bool, **limit: Any) -> None:
    messages: Any = [{"role": "user", "content": text}]
    if stream:
        chunks = list(sdk.chat.completions.create(model=model, messages=messages, stream=True, **limit))
        assert chunks[-1].choices[-1].finish_reason == "stop"
    else:
        answer = sdk.chat.completions.create(model=model, messages=messages, **limit)
        assert answer.choices[0].message.content == "done"


ASKS = {"responses": ask_responses, "chat": ask_chat}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("ingress", list(ASKS))
def test_a_short_prompt_without_a_limit_gets_the_backends_default(
    sdk: openai.OpenAI, fake_anthropic: FakeAnthropic, ingress: str, stream: bool
) -> None:
    """Codex's turn was sent 4096 and stopped there."""
    fake_anthropic.replies.append(Text("done"))
    ASKS[ingress](sdk, "local", "write the whole module in one patch", stream=stream)
    assert sent_max_tokens(fake_anthropic) == 32000


@pytest.mark.parametrize(("tier", "expected"), [("sonnet", 64000), ("opus", 32000)])
@pytest.mark.parametrize("ingress", list(ASKS))
def test_the_targets_max_output_bounds_a_larger_default(
    sdk: openai.OpenAI, fake_anthropic: FakeAnthropic, ingress: str, tier: str, expected: int
) -> None:
    """The backend's 64000 goes to Sonnet 4.5, which writes as much; Opus 4.1, which writes at most 32000,
    gets its own."""
    fake_anthropic.replies.append(Text("done"))
    ASKS[ingress](sdk, tier, "write the whole module in one patch", stream=False)
    assert sent_max_tokens(fake_anthropic) == expected


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("ingress", list(ASKS))
def test_a_long_prompt_gets_the_room_its_window_leaves(
    sdk: openai.OpenAI, fake_anthropic: FakeAnthropic, ingress: str, stream: bool
) -> None:
    """A 32000 beside a 135,000-token prompt (up to 180,000 as Claude counts text at 3 characters a token)
    would be refused as over the window: the window less the estimate, a third of it and 1024 is sent."""
    fake_anthropic.replies.append(Text("done"))
    ASKS[ingress](sdk, "local", LONG, stream=stream)
    assert sent_max_tokens(fake_anthropic) == WINDOW - LONG_ESTIMATE - LONG_ESTIMATE // 3 - 1024 == 18976


@pytest.mark.parametrize("ingress", list(ASKS))
def test_a_prompt_that_leaves_no_room_still_gets_the_floor(
    sdk: openai.OpenAI, fake_anthropic: FakeAnthropic, ingress: str
) -> None:
    """The backend's 64000 beside a 148,000-token prompt was refused as over the window (raising the default
    was the way round the cut turns, and broke long conversations). Less than 4096 would cut most answers
    short; a prompt over the window even with it is the upstream's to refuse."""
    fake_anthropic.replies.append(Text("done"))
    ASKS[ingress](sdk, "sonnet", NEAR_FULL, stream=False)
    assert sent_max_tokens(fake_anthropic) == 4096


@pytest.mark.parametrize(
    ("ingress", "limit"), [("responses", {"max_output_tokens": 50000}), ("chat", {"max_tokens": 50000})]
)
def test_a_clients_own_limit_is_sent_as_given(
    sdk: openai.OpenAI, fake_anthropic: FakeAnthropic, ingress: str, limit: dict[str, int]
) -> None:
    """Neither the backend's default nor the target's ``max_output`` changes what the client asked for."""
    fake_anthropic.replies.extend([Text("done"), Text("done")])
    ASKS[ingress](sdk, "opus", "write the whole module in one patch", stream=False, **limit)
    ASKS[ingress](sdk, "local", LONG, stream=False, **limit)
    assert [r.body["max_tokens"] for r in fake_anthropic.requests] == [50000, 50000]
