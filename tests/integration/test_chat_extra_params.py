"""Chat body fields tiergate does not model, through the real gateway with the openai SDK's ``extra_body``
and fake upstreams recording what they were sent: none is taken for one of tiergate's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.scripts import Text
from tests.helpers import THREE_BACKENDS

ROUTES = (
    THREE_BACKENDS
    + """tiers:
  local: {targets: [{backend: ollama, model: qwen, capabilities: {context_window: 32768}}]}
  sonnet: {targets: [{backend: anthropic, model: claude-sonnet-4-5, capabilities: {context_window: 200000}}]}
  vllm: {targets: [{backend: vllm, model: m3, capabilities: {context_window: 32768}}]}
"""
)
HI: list[Any] = [{"role": "user", "content": "hi"}]


@pytest.fixture
def client(
    tmp_path: Path, gateway_for: GatewayFactory, upstream_env: dict[str, str], fake_openai: FakeOpenAI
) -> Iterator[openai.OpenAI]:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    url = gateway_for(routes, {**upstream_env, "VLLM_URL": fake_openai.url})  # type: ignore[attr-defined]
    with openai.OpenAI(base_url=url + "/v1", api_key="sk-client-unused", max_retries=0, timeout=30) as sdk:
        yield sdk


def test_a_chat_bodys_native_field_is_not_sent_to_claude_in_place_of_its_messages(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic
) -> None:
    """``native`` is the Messages ingress's own (a Claude Code body passed through as it came); a chat body
    naming it had Claude sent that body instead of the messages routing read."""
    fake_anthropic.replies.append(Text("ok"))
    smuggled = {"model": "x", "max_tokens": 5, "messages": [{"role": "user", "content": "something else"}]}
    client.chat.completions.create(
        model="sonnet", messages=HI, extra_body={"native": {"dialect": "anthropic", "body": smuggled}}
    )
    assert fake_anthropic.requests[0].body == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }
