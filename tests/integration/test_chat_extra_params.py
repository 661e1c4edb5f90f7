"""Chat body fields tiergate does not model, through the real gateway with the openai SDK's ``extra_body``
and fake upstreams recording what they were sent: a local server's sampling extras reach the servers that
take them (as sent, or as Ollama's ``options``), what a target is not sent is named in
``x-tiergate-dropped-params`` and the request's log line, and none is taken for one of tiergate's own."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.scripts import Status, Text
from tests.helpers import THREE_BACKENDS, wait_for_record

ROUTES = (
    THREE_BACKENDS
    + """tiers:
  local: {targets: [{backend: ollama, model: qwen, capabilities: {context_window: 32768}}]}
  sonnet: {targets: [{backend: anthropic, model: claude-sonnet-4-5, capabilities: {context_window: 200000}}]}
  vllm: {targets: [{backend: vllm, model: m3, capabilities: {context_window: 32768}}]}
fallbacks: {vllm: [local]}
"""
)
HI: list[Any] = [{"role": "user", "content": "hi"}]
#: What a vLLM or llama.cpp user sends with ``extra_body``, and OpenAI's newer parameters.
SAMPLING = {"top_k": 20, "min_p": 0.05, "repetition_penalty": 1.1, "typical_p": 0.9, "repeat_last_n": 64}
OPENAI_ONLY = {
    "store": True,
    "prediction": {"type": "content", "content": "hi"},
    "service_tier": "flex",
    "web_search_options": {},
}
DROPPED = "x-tiergate-dropped-params"


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


# --- an OpenAI-compatible server: as sent, but for two that tiergate could not honour -------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_an_openai_compatible_server_gets_the_extras_as_sent(
    client: openai.OpenAI, fake_openai: FakeOpenAI, stream: bool
) -> None:
    fake_openai.replies.append(Text("ok"))
    template = {"chat_template_kwargs": {"enable_thinking": False}}
    raw = client.chat.completions.with_raw_response.create(
        model="vllm", messages=HI, stream=stream, extra_body={**SAMPLING, **OPENAI_ONLY, **template}
    )
    if stream:
        list(raw.parse())  # type: ignore[call-overload]
    assert raw.headers[DROPPED] == "service_tier, web_search_options"
    assert fake_openai.requests[0].body == {
        "messages": HI,
        "top_k": 20,
        "min_p": 0.05,
        "repetition_penalty": 1.1,
        "typical_p": 0.9,
        "repeat_last_n": 64,
        "store": True,
        "prediction": {"type": "content", "content": "hi"},
        "chat_template_kwargs": {"enable_thinking": False},
        "model": "m3",
        "stream": stream,
        **({"stream_options": {"include_usage": True}} if stream else {}),
    }


def test_with_nothing_left_out_there_is_no_header(client: openai.OpenAI, fake_openai: FakeOpenAI) -> None:
    fake_openai.replies.append(Text("ok"))
    raw = client.chat.completions.with_raw_response.create(model="vllm", messages=HI, extra_body={"min_p": 0.05})
    assert DROPPED not in raw.headers
    assert fake_openai.requests[0].body["min_p"] == 0.05


# --- Ollama: the sampling parameters it has, as options ---------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_ollama_gets_the_sampling_extras_as_options(
    client: openai.OpenAI, fake_ollama: FakeOllama, stream: bool
) -> None:
    fake_ollama.replies.append(Text("ok", chunks=1))
    raw = client.chat.completions.with_raw_response.create(
        model="local", messages=HI, stream=stream, extra_body={**SAMPLING, "num_ctx": 2048, "store": True}
    )
    if stream:
        list(raw.parse())  # type: ignore[call-overload]
    assert raw.headers[DROPPED] == "num_ctx, store"
    assert fake_ollama.requests[0].body == {
        "model": "qwen",
        "stream": stream,
        "messages": HI,
        "options": {
            "top_k": 20,
            "num_ctx": 32768,  # the target's, never the client's: Ollama reloads a model whose num_ctx changes
            "min_p": 0.05,
            "typical_p": 0.9,
            "repeat_last_n": 64,
            "repeat_penalty": 1.1,
        },
    }


def test_ollamas_own_spelling_wins_over_repetition_penalty(client: openai.OpenAI, fake_ollama: FakeOllama) -> None:
    fake_ollama.replies.append(Text("ok", chunks=1))
    raw = client.chat.completions.with_raw_response.create(
        model="local", messages=HI, extra_body={"repetition_penalty": 1.1, "repeat_penalty": 1.3}
    )
    assert raw.headers[DROPPED] == "repetition_penalty"
    assert fake_ollama.requests[0].body["options"] == {"num_ctx": 32768, "repeat_penalty": 1.3}


# --- Claude: top_k alone --------------------------------------------------------------------------------------


def test_claude_gets_top_k_and_the_log_line_names_the_rest(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tiergate.requests")
    fake_anthropic.replies.append(Text("ok"))
    raw = client.chat.completions.with_raw_response.create(
        model="sonnet", messages=HI, extra_body={**SAMPLING, "store": True}
    )
    dropped = ["min_p", "repetition_penalty", "typical_p", "repeat_last_n", "store"]
    assert raw.headers[DROPPED] == ", ".join(dropped)
    assert fake_anthropic.requests[0].body == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "top_k": 20,
    }
    assert wait_for_record(caplog, raw.headers["x-tiergate-decision-id"])["dropped_params"] == dropped


def test_the_header_speaks_of_the_target_that_answered(
    client: openai.OpenAI, fake_openai: FakeOpenAI, fake_ollama: FakeOllama
) -> None:
    """vLLM is sent ``store`` but cannot take the prompt; Ollama, which answers, is not sent it."""
    fake_openai.replies.append(Status(400, "This model's maximum context length is 8192 tokens."))
    fake_ollama.replies.append(Text("rescued", chunks=1))
    raw = client.chat.completions.with_raw_response.create(
        model="vllm", messages=HI, extra_body={"min_p": 0.05, "store": True}
    )
    assert raw.headers["x-tiergate-attempts"] == "vllm/m3:capability, local/qwen:ok"
    assert raw.headers[DROPPED] == "store"
    assert (fake_openai.requests[0].body["min_p"], fake_openai.requests[0].body["store"]) == (0.05, True)
    assert fake_ollama.requests[0].body["options"] == {"num_ctx": 32768, "min_p": 0.05}
