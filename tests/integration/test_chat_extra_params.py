"""Chat body fields tiergate does not model, through the real gateway with the openai SDK's ``extra_body``
and fake upstreams recording what they were sent: a local server's sampling extras reach the servers that
take them (as sent, or as Ollama's ``options``), and nothing else does unless the backend's ``pass_params``
names it (a parameter a proxy or server reads as which model answers, or what it costs, would undo tiergate's
decision); what a target is not sent is named in ``x-tiergate-dropped-params`` and the request's log line,
and none is taken for one of tiergate's own."""

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
    + """  tuned:
    {kind: openai, base_url: "${VLLM_URL}/v1", pass_params: [ignore_eos, store, n_predict, chat_template_kwargs]}
tiers:
  local: {targets: [{backend: ollama, model: qwen, capabilities: {context_window: 32768}}]}
  sonnet: {targets: [{backend: anthropic, model: claude-sonnet-4-5, capabilities: {context_window: 200000}}]}
  thinks:
    targets:
      - backend: anthropic
        model: claude-sonnet-4-5
        capabilities: {tools: true, thinking: true, context_window: 200000}
  vllm: {targets: [{backend: vllm, model: m3, capabilities: {context_window: 32768}}]}
  own: {targets: [{backend: tuned, model: m3-tuned, capabilities: {context_window: 32768}}]}
fallbacks: {vllm: [local], own: [vllm]}
"""
)
HI: list[Any] = [{"role": "user", "content": "hi"}]
#: What a vLLM or llama.cpp user sends with ``extra_body``, and OpenAI's newer parameters.
SAMPLING = {"top_k": 20, "min_p": 0.05, "repetition_penalty": 1.1, "typical_p": 0.9, "repeat_last_n": 64}
#: Constrained decoding, the answer's text and the chat template: vLLM's, llama.cpp's, SGLang's.
DECODING = {
    "guided_json": {"type": "object"},
    "structured_outputs": {"regex": "[a-z]+"},
    "grammar": 'root ::= "ok"',
    "dry_multiplier": 0.8,
    "dry_sequence_breakers": ["\n"],
    "xtc_probability": 0.5,
    "mirostat": 2,
    "skip_special_tokens": False,
    "include_stop_str_in_output": True,
    "chat_template_kwargs": {"enable_thinking": False},
}
#: What a proxy or a server behind an OpenAI-compatible backend reads as which model answers, how many tokens
#: it writes, what it costs or how it is queued: LiteLLM's, OpenRouter's, llama.cpp's, vLLM's.
STEERING = {
    "fallbacks": ["gpt-5-pro"],
    "mock_testing_fallbacks": True,
    "models": ["openai/o3-pro"],
    "route": "fallback",
    "plugins": [{"id": "web"}],
    "n_predict": 100000,
    "ignore_eos": True,
    "min_tokens": 4000,
    "lora": [{"id": 0, "scale": 1.0}],
    "id_slot": 0,
    "priority": -100,
    "request_id": "victim-id",
}
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
        "max_tokens": 32000,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }


# --- an OpenAI-compatible server: the sampling parameters as sent, and no other -----------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_an_openai_compatible_server_gets_the_sampling_extras_as_sent_and_no_other(
    client: openai.OpenAI, fake_openai: FakeOpenAI, stream: bool
) -> None:
    """OpenAI's own (``store``, ``prediction``) went to every OpenAI-compatible server, as did everything else
    but two; now only the open servers' sampling and decoding parameters do."""
    fake_openai.replies.append(Text("ok"))
    raw = client.chat.completions.with_raw_response.create(
        model="vllm", messages=HI, stream=stream, extra_body={**SAMPLING, **OPENAI_ONLY, **DECODING}
    )
    if stream:
        list(raw.parse())  # type: ignore[call-overload]
    assert raw.headers[DROPPED] == "store, prediction, service_tier, web_search_options"
    assert fake_openai.requests[0].body == {
        "messages": HI,
        "top_k": 20,
        "min_p": 0.05,
        "repetition_penalty": 1.1,
        "typical_p": 0.9,
        "repeat_last_n": 64,
        **DECODING,
        "model": "m3",
        "stream": stream,
        **({"stream_options": {"include_usage": True}} if stream else {}),
    }


def test_what_steers_the_model_or_its_cost_is_not_sent_and_is_named(
    client: openai.OpenAI, fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    """Passed through, each of these let a client undo the tier decision behind it: a fallback to a dearer
    model group, an output limit read before ``max_tokens``, a queue position, while spend was charged at the
    cheap target's price and the decision logged as its tier, and the header named none of them."""
    caplog.set_level(logging.INFO, logger="tiergate.requests")
    fake_openai.replies.append(Text("ok"))
    raw = client.chat.completions.with_raw_response.create(
        model="vllm", messages=HI, max_tokens=16, extra_body={"min_p": 0.05, **STEERING}
    )
    assert raw.headers[DROPPED] == ", ".join(STEERING)
    assert fake_openai.requests[0].body == {
        "messages": HI,
        "max_tokens": 16,
        "min_p": 0.05,
        "model": "m3",
        "stream": False,
    }
    assert wait_for_record(caplog, raw.headers["x-tiergate-decision-id"])["dropped_params"] == list(STEERING)


def test_a_backends_pass_params_are_sent_to_its_server_alone(client: openai.OpenAI, fake_openai: FakeOpenAI) -> None:
    """``own``'s backend names ``ignore_eos``, ``store`` and ``n_predict``: its server gets them as sent; when
    it cannot take the prompt, the plain ``vllm`` backend that answers is not sent them, and they are named."""
    fake_openai.replies.append(Text("ok"))
    extra = {"min_p": 0.05, "ignore_eos": True, "store": False, "n_predict": 64, "fallbacks": ["gpt-5-pro"]}
    raw = client.chat.completions.with_raw_response.create(model="own", messages=HI, extra_body=extra)
    assert raw.headers[DROPPED] == "fallbacks"
    assert fake_openai.requests[0].body == {
        "messages": HI,
        "min_p": 0.05,
        "ignore_eos": True,
        "store": False,
        "n_predict": 64,
        "model": "m3-tuned",
        "stream": False,
    }

    fake_openai.replies.extend([Status(400, "This model's maximum context length is 8192 tokens."), Text("ok")])
    raw = client.chat.completions.with_raw_response.create(model="own", messages=HI, extra_body=extra)
    assert raw.headers["x-tiergate-attempts"] == "own/m3-tuned:capability, vllm/m3:ok"
    assert raw.headers[DROPPED] == "ignore_eos, store, n_predict, fallbacks"
    assert fake_openai.requests[1].body["n_predict"] == 64
    assert fake_openai.requests[2].body == {"messages": HI, "min_p": 0.05, "model": "m3", "stream": False}


def test_chat_template_kwargs_reaches_the_server_with_the_templates_switches_alone(
    client: openai.OpenAI, fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    """Passed whole, a nested ``chat_template`` replaced the server's template (SGLang renders with it; Jinja
    run on the server), and ``messages`` or ``tools`` what llama.cpp's template renders in place of the
    conversation tiergate routed on. A backend whose ``pass_params`` names it still gets it whole."""
    caplog.set_level(logging.INFO, logger="tiergate.requests")
    kwargs = {
        "chat_template": "{{ 'anything' }}",
        "enable_thinking": False,
        "messages": [{"role": "user", "content": "something else"}],
        "tools": [{"type": "function", "function": {"name": "shell"}}],
        "reasoning_effort": "high",
    }
    fake_openai.replies.extend([Text("ok"), Text("ok")])
    raw = client.chat.completions.with_raw_response.create(
        model="vllm", messages=HI, extra_body={"chat_template_kwargs": kwargs, "chat_template": "{{ 'x' }}"}
    )
    dropped = [
        "chat_template_kwargs.chat_template",
        "chat_template_kwargs.messages",
        "chat_template_kwargs.tools",
        "chat_template",
    ]
    assert raw.headers[DROPPED] == ", ".join(dropped)
    assert fake_openai.requests[0].body == {
        "messages": HI,
        "chat_template_kwargs": {"enable_thinking": False, "reasoning_effort": "high"},
        "model": "m3",
        "stream": False,
    }
    assert wait_for_record(caplog, raw.headers["x-tiergate-decision-id"])["dropped_params"] == dropped

    raw = client.chat.completions.with_raw_response.create(
        model="own", messages=HI, extra_body={"chat_template_kwargs": kwargs}
    )
    assert DROPPED not in raw.headers
    assert fake_openai.requests[1].body == {
        "messages": HI,
        "chat_template_kwargs": kwargs,
        "model": "m3-tuned",
        "stream": False,
    }


def test_many_names_or_names_no_header_can_carry_are_counted_not_listed(
    client: openai.OpenAI, fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    """20,000 unknown keys made a 900 KB header the client refused after the answer was paid for, and a key
    with a line break in it made the server refuse the whole response: the first 20 names, then a count."""
    caplog.set_level(logging.INFO, logger="tiergate.requests")
    fake_openai.replies.append(Text("ok"))
    many = {f"k{i}": 1 for i in range(2000)}
    raw = client.chat.completions.with_raw_response.create(
        model="vllm", messages=HI, max_tokens=16, extra_body={"bad\r\nx-injected: 1": 1, **many}
    )
    listed = [f"k{i}" for i in range(20)]
    assert raw.headers[DROPPED] == ", ".join([*listed, "+1981 more"])
    assert "x-injected" not in raw.headers
    assert raw.parse().choices[0].message.content == "ok"
    logged = wait_for_record(caplog, raw.headers["x-tiergate-decision-id"])["dropped_params"]
    assert logged == [*listed, "+1981 more"]


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


# --- Claude: top_k, and the sampling parameters it cannot take named --------------------------------------------


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
        "max_tokens": 32000,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "top_k": 20,
    }
    assert wait_for_record(caplog, raw.headers["x-tiergate-decision-id"])["dropped_params"] == dropped


@pytest.mark.parametrize("stream", [False, True])
def test_claude_is_sent_temperature_and_top_p_beside_it_is_named(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic, caplog: pytest.LogCaptureFixture, stream: bool
) -> None:
    """Claude refuses ``temperature`` and ``top_p`` together, so ``top_p`` is left out: the header named only
    ``min_p``, as if Claude had been sent ``top_p``."""
    caplog.set_level(logging.INFO, logger="tiergate.requests")
    fake_anthropic.replies.append(Text("ok"))
    raw = client.chat.completions.with_raw_response.create(
        model="sonnet", messages=HI, temperature=0.5, top_p=0.3, stream=stream, extra_body={"min_p": 0.05}
    )
    if stream:
        list(raw.parse())  # type: ignore[call-overload]
    assert raw.headers[DROPPED] == "top_p, min_p"
    sent = fake_anthropic.requests[0].body
    assert sent["temperature"] == 0.5 and "top_p" not in sent
    assert wait_for_record(caplog, raw.headers["x-tiergate-decision-id"])["dropped_params"] == ["top_p", "min_p"]


def test_with_thinking_on_claude_is_sent_no_sampling_parameter_and_each_is_named(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic
) -> None:
    """Thinking refuses ``temperature``, ``top_p`` and ``top_k``; where thinking cannot be on (a forced tool
    call), ``temperature`` and ``top_k`` go, and only ``top_p`` is named."""
    fake_anthropic.replies.extend([Text("ok"), Text("ok")])
    sampling: dict[str, Any] = {"temperature": 0.5, "top_p": 0.3, "reasoning_effort": "high"}
    raw = client.chat.completions.with_raw_response.create(
        model="thinks", messages=HI, **sampling, extra_body={"top_k": 5}
    )
    assert raw.headers[DROPPED] == "temperature, top_p, top_k"
    sent = fake_anthropic.requests[0].body
    assert sent["thinking"]["type"] == "enabled" and not {"temperature", "top_p", "top_k"} & set(sent)

    tool: Any = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    forced: Any = {"type": "function", "function": {"name": "f"}}
    raw = client.chat.completions.with_raw_response.create(
        model="thinks", messages=HI, **sampling, tools=[tool], tool_choice=forced, extra_body={"top_k": 5}
    )
    assert raw.headers[DROPPED] == "top_p"
    sent = fake_anthropic.requests[1].body
    assert "thinking" not in sent and (sent["temperature"], sent["top_k"]) == (0.5, 5) and "top_p" not in sent


def test_claude_has_no_seed_nor_penalties_and_each_is_named(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.replies.append(Text("ok"))
    raw = client.chat.completions.with_raw_response.create(
        model="sonnet", messages=HI, seed=7, presence_penalty=0.5, frequency_penalty=0.5
    )
    assert raw.headers[DROPPED] == "seed, presence_penalty, frequency_penalty"
    assert not {"seed", "presence_penalty", "frequency_penalty"} & set(fake_anthropic.requests[0].body)


def test_safety_identifier_is_the_end_user_claude_is_told_of(
    client: openai.OpenAI, fake_anthropic: FakeAnthropic
) -> None:
    """OpenAI's successor to ``user``: read as ``user`` (as the Responses ingress reads it), not dropped and named;
    ``user`` wins where both are sent."""
    fake_anthropic.replies.extend([Text("ok"), Text("ok")])
    raw = client.chat.completions.with_raw_response.create(model="sonnet", messages=HI, safety_identifier="u-hash-1")
    assert DROPPED not in raw.headers
    assert fake_anthropic.requests[0].body["metadata"] == {"user_id": "u-hash-1"}
    client.chat.completions.create(model="sonnet", messages=HI, safety_identifier="u-hash-1", user="u-2")
    assert fake_anthropic.requests[1].body["metadata"] == {"user_id": "u-2"}


def test_values_that_ask_for_nothing_are_not_named(client: openai.OpenAI, fake_anthropic: FakeAnthropic) -> None:
    """A client's defaults (no penalty, the whole distribution beside a temperature) change nothing left out."""
    fake_anthropic.replies.append(Text("ok"))
    raw = client.chat.completions.with_raw_response.create(
        model="sonnet", messages=HI, temperature=0.2, top_p=1, presence_penalty=0, frequency_penalty=0.0, seed=3
    )
    assert raw.headers[DROPPED] == "seed"
    assert fake_anthropic.requests[0].body["temperature"] == 0.2


def test_the_header_speaks_of_the_target_that_answered(
    client: openai.OpenAI, fake_openai: FakeOpenAI, fake_ollama: FakeOllama
) -> None:
    """vLLM is sent ``dry_multiplier`` but cannot take the prompt; Ollama, which answers, is not sent it."""
    fake_openai.replies.append(Status(400, "This model's maximum context length is 8192 tokens."))
    fake_ollama.replies.append(Text("rescued", chunks=1))
    raw = client.chat.completions.with_raw_response.create(
        model="vllm", messages=HI, extra_body={"min_p": 0.05, "dry_multiplier": 0.8}
    )
    assert raw.headers["x-tiergate-attempts"] == "vllm/m3:capability, local/qwen:ok"
    assert raw.headers[DROPPED] == "dry_multiplier"
    assert (fake_openai.requests[0].body["min_p"], fake_openai.requests[0].body["dry_multiplier"]) == (0.05, 0.8)
    assert fake_ollama.requests[0].body["options"] == {"num_ctx": 32768, "min_p": 0.05}
