"""A Messages request's ``stop_sequences`` on an OpenAI-compatible target: where the server says which stop
string ended the answer (vLLM's ``stop_reason``), the anthropic SDK reads ``stop_reason: stop_sequence``
and the sequence, whole and streamed; where it does not say (other servers), or names a string the request
did not ask for, ``end_turn``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_compat import FakeOpenAI, Personality
from tests.fakes.scripts import Text
from tests.fakes.server import serve
from tests.helpers import THREE_BACKENDS

ROUTES = (
    THREE_BACKENDS
    + "tiers:\n  local: {targets: [{backend: vllm, model: qwen-coder}]}\nrouting: {mode: fixed, fixed_tier: local}\n"
)
ASK: Any = [{"role": "user", "content": "list three colours, one per line"}]


@pytest.fixture(params=["vllm", "openai"])
def upstream(request: pytest.FixtureRequest) -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI(request.param)
    with serve(fake.app) as url:
        fake.url = url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture
def gateway(
    tmp_path: Path, gateway_for: GatewayFactory, upstream_env: dict[str, str], upstream: FakeOpenAI
) -> Iterator[str]:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    yield gateway_for(routes, {**upstream_env, "VLLM_URL": upstream.url})  # type: ignore[attr-defined]


def expected(personality: Personality, sequence: str | None) -> tuple[str, str | None]:
    """What the client reads: the sequence only where the server names one the request asked for."""
    if personality == "vllm" and sequence == "###":
        return "stop_sequence", "###"
    return "end_turn", None


@pytest.mark.parametrize("sequence", ["###", "END", None])
def test_a_whole_answer_names_the_stop_sequence_it_ended_on(
    gateway: str, upstream: FakeOpenAI, sequence: str | None
) -> None:
    upstream.replies.append(Text("red\ngreen\nblue\n", stop_sequence=sequence))
    with anthropic.Anthropic(base_url=gateway, api_key="sk-ant-unused", max_retries=0, timeout=30) as claude:
        message = claude.messages.create(model="local", max_tokens=64, messages=ASK, stop_sequences=["###", "---"])
    assert (message.stop_reason, message.stop_sequence) == expected(upstream.personality, sequence)
    assert upstream.requests[0].body["stop"] == ["###", "---"]


@pytest.mark.parametrize("sequence", ["###", "END", None])
def test_a_stream_names_the_stop_sequence_in_its_message_delta(
    gateway: str, upstream: FakeOpenAI, sequence: str | None
) -> None:
    upstream.replies.extend([Text("red\ngreen\nblue\n", stop_sequence=sequence)] * 2)
    body = {"model": "local", "max_tokens": 64, "stream": True, "messages": ASK, "stop_sequences": ["###", "---"]}
    with httpx.stream("POST", gateway + "/v1/messages", json=body, timeout=30) as r:
        frames = [f for f in r.read().decode().split("\n\n") if f]
    delta = next(json.loads(f.split("\n", 1)[1].removeprefix("data: ")) for f in frames if "message_delta" in f)
    stop_reason, stop_sequence = expected(upstream.personality, sequence)
    assert delta["delta"] == {"stop_reason": stop_reason, "stop_sequence": stop_sequence}
    with (
        anthropic.Anthropic(base_url=gateway, api_key="sk-ant-unused", max_retries=0, timeout=30) as claude,
        claude.messages.stream(model="local", max_tokens=64, messages=ASK, stop_sequences=["###"]) as stream,
    ):
        final = stream.get_final_message()
    assert (final.stop_reason, final.stop_sequence) == (stop_reason, stop_sequence)
    assert final.content[0].type == "text" and final.content[0].text == "red\ngreen\nblue\n"
