"""An upstream's refusal of a prompt over its context window, as each ingress's client reads it, when no
fallback can take the request: Claude Code compacts its conversation only when the Messages error says
"prompt is too long" (and reads Anthropic's "N tokens > M maximum" to know by how much), Codex reports a
full window only for the code ``context_length_exceeded``. The official anthropic and openai SDKs → the real
gateway → the fake vLLM/llama.cpp, Ollama and Anthropic servers, over real sockets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.scripts import Status, StreamError, Text
from tests.helpers import THREE_BACKENDS

ROUTES = (
    THREE_BACKENDS
    + """tiers:
  local: {targets: [{backend: vllm, model: small, capabilities: {context_window: 8192}}]}
  sonnet: {targets: [{backend: anthropic, model: claude-sonnet-4-5, capabilities: {context_window: 200000}}]}
  solo: {targets: [{backend: vllm, model: solo, capabilities: {context_window: 32768}}]}
  qwen: {targets: [{backend: ollama, model: qwen, capabilities: {context_window: 32768}}]}
  claude: {targets: [{backend: anthropic, model: claude-opus-4-1, capabilities: {context_window: 200000}}]}
  long: {targets: [{backend: vllm, model: long, capabilities: {context_window: 1000000}}]}
fallbacks: {local: [sonnet], claude: [long]}
"""
)
ASK: Any = [{"role": "user", "content": "summarise the log"}]

VLLM = "This model's maximum context length is 32768 tokens. However, you requested 41000 tokens (40000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion."  # noqa: E501
VLLM_018 = "This model's maximum context length is 32768 tokens. However, you requested 1000 output tokens and your prompt contains at least 40000 input tokens, for a total of at least 41000 tokens. Please reduce the length of the input prompt or the number of requested output tokens. (parameter=input_tokens, value=40000)"  # noqa: E501
OPENAI = "This model's maximum context length is 32768 tokens. However, your messages resulted in 40000 tokens. Please reduce the length of the messages."  # noqa: E501
LLAMA = "request (40000 tokens) exceeds the available context size (32768 tokens), try increasing it"
LLAMA_OLD = "the request exceeds the available context size, try increasing it"
OLLAMA = "the input length exceeds the context length"
CLAUDE = "prompt is too long: 250000 tokens > 200000 maximum"
CLAUDE_MAX_TOKENS = "input length and `max_tokens` exceed context limit: 188240 + 21333 > 200000, decrease input length or `max_tokens` and try again"  # noqa: E501

#: Each server's own refusal of the same 40,000-token prompt on a 32,768-token window.
REFUSALS = {
    "vllm": Status(400, VLLM, upstream_type="BadRequestError", fields={"code": 400}),
    "openai": Status(400, OPENAI, fields={"param": "messages", "code": "context_length_exceeded"}),
    "llama.cpp": Status(400, LLAMA, upstream_type="exceed_context_size_error", fields={"code": 400}),
    "llama.cpp, figures in fields only": Status(
        400,
        LLAMA_OLD,
        upstream_type="exceed_context_size_error",
        fields={"code": 400, "n_prompt_tokens": 40000, "n_ctx": 32768},
    ),
    # the output named beside the prompt: the prompt's own figure, not the total, is the one over the window
    "vllm 0.18": Status(400, VLLM_018, upstream_type="BadRequestError", fields={"code": 400, "param": "input_tokens"}),
    "tgi": Status(422, "Input validation error: `inputs` must have less than 32768 tokens. Given: 40000"),
}
#: Each server's own refusal of a 15,000-token prompt that fits a 32,768-token window, asked for 20,000 tokens out.
OUTPUT_REFUSALS = {
    "vllm": Status(
        400,
        "'max_tokens' or 'max_completion_tokens' is too large: 20000. This model's maximum context length is 32768"
        " tokens and your request has 15000 input tokens (20000 > 32768 - 15000).",
        upstream_type="BadRequestError",
        fields={"code": 400},
    ),
    "vllm 0.19": Status(
        400,
        "This model's maximum context length is 32768 tokens. However, you requested 20000 output tokens and your"
        " prompt contains 15000 input tokens, for a total of 35000 tokens (15000 + 20000 = 35000 > 32768). Please"
        " reduce the length of the input prompt or the number of requested output tokens.",
        upstream_type="BadRequestError",
        fields={"code": 400},
    ),
    "sglang": Status(
        400,
        "Requested token count exceeds the model's maximum context length of 32768 tokens. You requested a total of"
        " 35000 tokens: 15000 tokens from the input messages and 20000 tokens for the completion. Please reduce the"
        " number of tokens in the input messages or the completion to fit within the limit.",
        upstream_type="BadRequest",
        fields={"code": 400},
    ),
    "tgi": Status(
        422,
        "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 32768. Given: 15000 `inputs` tokens"
        " and 20000 `max_new_tokens`",
    ),
    # the messages named are a part of the prompt: read as the prompt, 12000 + 20000 fit the window
    "openai, with functions": Status(
        400,
        "This model's maximum context length is 32768 tokens. However, you requested 35000 tokens (12000 in the"
        " messages, 3000 in the functions, and 20000 in the completion). Please reduce the length of the messages,"
        " functions, or completion.",
        fields={"param": "messages", "code": "context_length_exceeded"},
    ),
    "a total alone": Status(
        400,
        "This model's maximum context length is 32768 tokens. However, you requested 35000 tokens. Please reduce"
        " the length of the messages or completion.",
    ),
}


@pytest.fixture
def gateway(tmp_path: Path, gateway_for: GatewayFactory, upstream_env: dict[str, str], fake_openai: FakeOpenAI) -> str:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    return gateway_for(routes, {**upstream_env, "VLLM_URL": fake_openai.url})  # type: ignore[attr-defined]


@pytest.fixture
def claude(gateway: str) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=gateway, api_key="sk-ant-client-unused", max_retries=0, timeout=30) as sdk:
        yield sdk


@pytest.fixture
def codex(gateway: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gateway + "/v1", api_key="sk-client-unused", max_retries=0, timeout=30) as sdk:
        yield sdk


def claude_error(message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": "invalid_request_error", "message": message}}


# --- the Messages ingress: Anthropic's "prompt is too long" -----------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("server", list(REFUSALS))
def test_a_local_servers_overflow_reaches_a_messages_client_as_prompt_is_too_long(
    claude: anthropic.Anthropic, fake_openai: FakeOpenAI, server: str, stream: bool
) -> None:
    """The upstream's own words (vLLM's "maximum context length", llama.cpp's "exceeds the available context
    size") came through as they were, and Claude Code, which compacts only on "prompt is too long", stopped
    at an error instead of compacting."""
    refusal = REFUSALS[server]
    fake_openai.replies.append(refusal)
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(model="solo", max_tokens=1000, messages=ASK, stream=stream)
    url = fake_openai.url  # type: ignore[attr-defined]
    said = f"backend 'vllm' at {url}/v1: HTTP {refusal.status}: {refusal.message}"
    assert caught.value.status_code == 400
    assert caught.value.body == claude_error(f"prompt is too long: 40000 tokens > 32768 maximum ({said})")
    assert len(fake_openai.requests) == 1


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("server", list(OUTPUT_REFUSALS))
def test_a_prompt_that_fits_without_its_max_tokens_reaches_a_messages_client_as_anthropic_words_it(
    claude: anthropic.Anthropic, fake_openai: FakeOpenAI, server: str, stream: bool
) -> None:
    """The total (prompt and output) was read as the prompt: Claude Code was told "prompt is too long: 35000
    tokens > 32768 maximum" and compacted a conversation that fits, where Anthropic's own words for this make
    it ask again with a smaller ``max_tokens``. A server that names only the total counts the request's
    ``max_tokens`` in it."""
    refusal = OUTPUT_REFUSALS[server]
    fake_openai.replies.append(refusal)
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(model="solo", max_tokens=20000, messages=ASK, stream=stream)
    url = fake_openai.url  # type: ignore[attr-defined]
    said = f"backend 'vllm' at {url}/v1: HTTP {refusal.status}: {refusal.message}"
    assert caught.value.status_code == 400
    assert caught.value.body == claude_error(
        "input length and `max_tokens` exceed context limit: 15000 + 20000 > 32768, decrease input length or"
        f" `max_tokens` and try again ({said})"
    )


def test_ollamas_overflow_without_figures_is_prompt_is_too_long(
    claude: anthropic.Anthropic, fake_ollama: FakeOllama
) -> None:
    fake_ollama.replies.append(Status(400, OLLAMA))
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(model="qwen", max_tokens=1000, messages=ASK)
    url = fake_ollama.url  # type: ignore[attr-defined]
    assert caught.value.body == claude_error(f"prompt is too long (backend 'ollama' at {url}: {OLLAMA})")


def test_a_bigger_window_is_still_tried_before_the_client_is_told(
    claude: anthropic.Anthropic, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic
) -> None:
    fake_openai.replies.append(REFUSALS["vllm"])
    fake_anthropic.replies.append(Text("rescued"))
    raw = claude.messages.with_raw_response.create(model="local", max_tokens=1000, messages=ASK)
    assert raw.parse().content[0].text == "rescued"  # type: ignore[union-attr]
    assert raw.headers["x-tiergate-attempts"] == "local/small:capability, sonnet/claude-sonnet-4-5:ok"


def test_when_every_window_refused_the_largest_ones_figures_are_said(
    claude: anthropic.Anthropic, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic
) -> None:
    fake_openai.replies.append(REFUSALS["vllm"])
    fake_anthropic.replies.append(Status(400, CLAUDE))
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(model="local", max_tokens=1000, messages=ASK)
    vllm, claude_url = fake_openai.url, fake_anthropic.url  # type: ignore[attr-defined]
    assert caught.value.body == claude_error(
        f"{CLAUDE} (all 2 targets failed: local/small: backend 'vllm' at {vllm}/v1: HTTP 400: {VLLM};"
        f" sonnet/claude-sonnet-4-5: backend 'anthropic' at {claude_url}: {CLAUDE})"
    )


def test_claudes_refusal_of_max_tokens_falls_back_to_a_bigger_window(
    claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI
) -> None:
    """Anthropic's "input length and `max_tokens` exceed context limit" was no overflow to tiergate: a 400 that
    ended the request, where a model with a bigger window takes the prompt and all the output asked for."""
    fake_anthropic.replies.append(Status(400, CLAUDE_MAX_TOKENS))
    fake_openai.replies.append(Text("rescued"))
    raw = claude.messages.with_raw_response.create(model="claude", max_tokens=21333, messages=ASK)
    assert raw.parse().content[0].text == "rescued"  # type: ignore[union-attr]
    assert raw.headers["x-tiergate-attempts"] == "claude/claude-opus-4-1:capability, long/long:ok"


def test_claudes_refusal_of_max_tokens_with_no_bigger_window_left_keeps_its_words(
    claude: anthropic.Anthropic, codex: openai.OpenAI, fake_anthropic: FakeAnthropic
) -> None:
    """Its figures are read as the prompt's and the output's, so a Messages client is told Anthropic's words
    again, not "prompt is too long" (Claude Code would compact a conversation that fits); Codex gets the code
    of a full window, which it did not."""
    fake_anthropic.replies.extend([Status(400, CLAUDE_MAX_TOKENS)] * 2)
    with pytest.raises(anthropic.BadRequestError) as worded:
        claude.messages.create(model="sonnet", max_tokens=21333, messages=ASK)
    url = fake_anthropic.url  # type: ignore[attr-defined]
    said = f"backend 'anthropic' at {url}: {CLAUDE_MAX_TOKENS}"
    assert worded.value.body == claude_error(f"{CLAUDE_MAX_TOKENS} ({said})")
    with pytest.raises(openai.BadRequestError) as coded:
        codex.responses.create(model="sonnet", input="summarise the log", max_output_tokens=21333)
    assert coded.value.body == {
        "message": said,
        "type": "invalid_request_error",
        "param": None,
        "code": "context_length_exceeded",
    }


# --- the Responses ingress: OpenAI's context_length_exceeded ----------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_an_overflow_under_a_proxys_own_code_is_context_length_exceeded(
    codex: openai.OpenAI, fake_openai: FakeOpenAI, stream: bool
) -> None:
    """LiteLLM's proxy sends its status as the code (``"400"``): that code was passed on, and Codex did not
    see a full window."""
    message = f"litellm.ContextWindowExceededError: {VLLM}"
    fake_openai.replies.append(Status(400, message, upstream_type="None", fields={"code": "400"}))
    with pytest.raises(openai.BadRequestError) as caught:
        codex.responses.create(model="solo", input="summarise the log", stream=stream)
    url = fake_openai.url  # type: ignore[attr-defined]
    assert caught.value.body == {
        "message": f"backend 'vllm' at {url}/v1: HTTP 400: {message}",
        "type": "invalid_request_error",
        "param": None,
        "code": "context_length_exceeded",
    }


def test_when_every_target_refused_the_window_codex_is_told_context_length_exceeded(
    codex: openai.OpenAI, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic
) -> None:
    """Two refusals of the window left as ``no_target_available``, which Codex prints as raw JSON."""
    fake_openai.replies.append(REFUSALS["vllm"])
    fake_anthropic.replies.append(Status(400, CLAUDE))
    with pytest.raises(openai.BadRequestError) as caught:
        codex.responses.create(model="local", input="summarise the log")
    vllm, claude_url = fake_openai.url, fake_anthropic.url  # type: ignore[attr-defined]
    assert caught.value.body == {
        "message": f"all 2 targets failed: local/small: backend 'vllm' at {vllm}/v1: HTTP 400: {VLLM};"
        f" sonnet/claude-sonnet-4-5: backend 'anthropic' at {claude_url}: {CLAUDE}",
        "type": "invalid_request_error",
        "param": None,
        "code": "context_length_exceeded",
    }


# --- a window refused by one target only is no overflow -------------------------------------------------------


def test_one_refused_window_among_other_failures_is_not_an_overflow(
    claude: anthropic.Anthropic, codex: openai.OpenAI, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic
) -> None:
    """The bigger window failed for another reason (its key refused): a compaction would not help, and
    the joined message names a window only because the first target's did."""
    fake_openai.replies.extend([REFUSALS["vllm"]] * 2)
    fake_anthropic.replies.extend([Status(401, "invalid x-api-key")] * 2)
    with pytest.raises(openai.InternalServerError) as coded:
        codex.responses.create(model="local", input="summarise the log")
    assert coded.value.status_code == 503
    assert isinstance(coded.value.body, dict) and coded.value.body["code"] == "no_target_available"
    with pytest.raises(anthropic.InternalServerError) as worded:
        claude.messages.create(model="local", max_tokens=1000, messages=ASK)
    assert worded.value.status_code == 503
    assert isinstance(worded.value.body, dict)
    assert worded.value.body["error"]["message"].startswith("all 2 targets failed: local/small: backend 'vllm'")


def test_a_total_said_inside_a_200_stream_counts_the_max_tokens_sent(
    claude: anthropic.Anthropic, fake_openai: FakeOpenAI
) -> None:
    """The same total as a status splits into prompt and output; said as the stream's first event (a server or
    proxy that reports there), it was read as the prompt, and Claude Code compacted a conversation that fits."""
    message = "This model's maximum context length is 32768 tokens. However, you requested 36192 tokens. Please reduce"
    fake_openai.replies.append(StreamError(0, message, upstream_type="invalid_request_error", code=400))
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(model="solo", max_tokens=8192, messages=ASK, stream=True)
    url = fake_openai.url  # type: ignore[attr-defined]
    assert caught.value.body == claude_error(
        "input length and `max_tokens` exceed context limit: 28000 + 8192 > 32768, decrease input length or"
        f" `max_tokens` and try again (backend 'vllm' at {url}/v1: error in answer: {message})"
    )
