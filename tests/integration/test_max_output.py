"""A client's output limit above what the Claude target's model writes (``capabilities.max_output``): the API
refuses such a ``max_tokens`` with a 400, and a client of ``model: auto`` cannot know which model it will
get, so tiergate lowers the limit to ``max_output`` on every ingress, the Messages client's own body
included (a thinking budget that no longer fits under it is cut), and routing counts the lowered limit
against the target's window. The openai and anthropic SDKs → the real gateway → the fake Anthropic server,
which records each body."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.scripts import Text

ROUTES = """
version: 1
backends:
  anthropic: {kind: anthropic, base_url: "${ANTHROPIC_BASE_URL}", api_key_env: ANTHROPIC_API_KEY}
tiers:
  sonnet:
    targets:
      - {backend: anthropic, model: claude-sonnet-4-5,
         capabilities: {context_window: 200000, max_output: 64000, thinking: true}}
  small:
    targets: [{backend: anthropic, model: claude-small, capabilities: {context_window: 20000, max_output: 8000}}]
  local: {targets: [{backend: anthropic, model: claude-bare, capabilities: {context_window: 200000}}]}
"""
ASK: Any = [{"role": "user", "content": "write the whole module"}]
#: 8,000 tokens by tiergate's estimate (4 characters a token): with the client's 16000 it passes the small
#: target's 20000-token window; with the 8000 the target is sent, it fits.
PROMPT_8K: Any = [{"role": "user", "content": "word " * 6_400}]


@pytest.fixture
def gateway(tmp_path: Path, gateway_for: GatewayFactory, upstream_env: dict[str, str]) -> str:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    return gateway_for(routes, upstream_env)


@pytest.fixture
def sdk(gateway: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gateway + "/v1", api_key="sk-client-unused", max_retries=0, timeout=30) as client:
        yield client


@pytest.fixture
def claude(gateway: str) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=gateway, api_key="sk-ant-client-unused", max_retries=0, timeout=30) as client:
        yield client


def ask(
    sdk: openai.OpenAI, claude: anthropic.Anthropic, ingress: str, model: str, limit: int, *, stream: bool = False
) -> str:
    """The answer's text, asked through ``ingress`` with the output limit ``limit``."""
    if ingress == "chat":
        if stream:
            chunks = sdk.chat.completions.create(model=model, messages=ASK, max_tokens=limit, stream=True)
            return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        return sdk.chat.completions.create(model=model, messages=ASK, max_tokens=limit).choices[0].message.content or ""
    if ingress == "responses":
        if stream:
            with sdk.responses.stream(model=model, input="write the whole module", max_output_tokens=limit) as events:
                return events.get_final_response().output_text
        return sdk.responses.create(model=model, input="write the whole module", max_output_tokens=limit).output_text
    if stream:
        with claude.messages.stream(model=model, max_tokens=limit, messages=ASK) as events:
            return events.get_final_text()
    message = claude.messages.create(model=model, max_tokens=limit, messages=ASK)
    return "".join(block.text for block in message.content if block.type == "text")


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("ingress", ["chat", "responses", "messages"])
def test_a_limit_above_max_output_is_lowered_to_it(
    sdk: openai.OpenAI, claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic, ingress: str, stream: bool
) -> None:
    """Sonnet 4.5 writes at most 64000: the API refused the client's 100000, and the client got a 400."""
    fake_anthropic.replies.append(Text("done"))
    assert ask(sdk, claude, ingress, "sonnet", 100_000, stream=stream) == "done"
    assert [r.body["max_tokens"] for r in fake_anthropic.requests] == [64000]


@pytest.mark.parametrize("ingress", ["chat", "responses", "messages"])
def test_a_limit_within_max_output_or_without_one_is_sent_as_given(
    sdk: openai.OpenAI, claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic, ingress: str
) -> None:
    fake_anthropic.replies.extend([Text("done"), Text("done")])
    ask(sdk, claude, ingress, "sonnet", 50_000)
    ask(sdk, claude, ingress, "local", 100_000)  # no max_output: the API is the judge
    assert [r.body["max_tokens"] for r in fake_anthropic.requests] == [50_000, 100_000]


def test_a_messages_thinking_budget_past_the_lowered_limit_is_cut_under_it(
    claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic
) -> None:
    """The client's 80000 budget fit under its 100000, not under 64000: cut to leave 1024 for the answer
    (the fake refuses a budget not below ``max_tokens``, as the API does)."""
    fake_anthropic.replies.append(Text("done"))
    thinking: Any = {"type": "enabled", "budget_tokens": 80_000}
    claude.messages.create(model="sonnet", max_tokens=100_000, thinking=thinking, messages=ASK)
    body = fake_anthropic.requests[0].body
    assert (body["max_tokens"], body["thinking"]) == (64000, {"type": "enabled", "budget_tokens": 64000 - 1024})


def test_under_interleaved_thinking_the_budget_is_the_clients_own(
    claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic
) -> None:
    """Under the interleaved-thinking beta (Claude Code's) the budget may pass ``max_tokens``: left as sent."""
    fake_anthropic.replies.append(Text("done"))
    thinking: Any = {"type": "enabled", "budget_tokens": 80_000}
    beta = {"anthropic-beta": "interleaved-thinking-2025-05-14"}
    claude.messages.create(model="sonnet", max_tokens=100_000, thinking=thinking, messages=ASK, extra_headers=beta)
    body = fake_anthropic.requests[0].body
    assert (body["max_tokens"], body["thinking"]) == (64000, thinking)


@pytest.mark.parametrize("ingress", ["chat", "messages"])
def test_routing_counts_the_lowered_limit_against_the_window(
    sdk: openai.OpenAI, claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic, ingress: str
) -> None:
    """8000 + 16000 passes the 20000 window, and the request was refused as too long without a call; 8000 +
    the 8000 the target is sent fits."""
    fake_anthropic.replies.append(Text("done"))
    if ingress == "chat":
        sdk.chat.completions.create(model="small", messages=PROMPT_8K, max_tokens=16_000)
    else:
        claude.messages.create(model="small", max_tokens=16_000, messages=PROMPT_8K)
    assert [r.body["max_tokens"] for r in fake_anthropic.requests] == [8000]


def test_a_window_too_small_for_the_lowered_limit_is_still_refused_before_any_call(
    sdk: openai.OpenAI, fake_anthropic: FakeAnthropic
) -> None:
    """16,000 tokens of prompt and the 8000 sent pass the 20000 window: the same 400 as before, and no call."""
    long: Any = [{"role": "user", "content": "word " * 12_800}]
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model="small", messages=long, max_tokens=16_000)
    assert caught.value.code == "context_length_exceeded"
    assert "max_tokens 8000" in caught.value.message
    assert not fake_anthropic.requests
