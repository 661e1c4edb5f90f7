"""The figures of an upstream's refusal of its context window, read from each server's own words."""

from __future__ import annotations

import pytest

from tiergate.errors import CONTEXT_LENGTH_EXCEEDED, Overflow
from tiergate.protocols.overflow import figures, too_long


@pytest.mark.parametrize(
    ("message", "said"),
    [
        ("prompt is too long: 215000 tokens > 200000 maximum", Overflow(215000, 200000)),  # Anthropic
        (  # vLLM, prompt and output together
            "This model's maximum context length is 32768 tokens. However, you requested 1000 output tokens and"
            " your prompt contains at least 32001 input tokens, for a total of at least 33001 tokens.",
            Overflow(33001, 32768),
        ),
        (
            "This model's maximum context length is 32768 tokens. However, your request has 40000 input tokens.",
            Overflow(40000, 32768),
        ),
        (  # vLLM
            "The decoder prompt (length 40000) is longer than the maximum model length of 32768.",
            Overflow(40000, 32768),
        ),
        (  # SGLang
            "The input (9000 tokens) is longer than the model's context length (8192 tokens).",
            Overflow(9000, 8192),
        ),
        (  # llama.cpp
            "request (9000 tokens) exceeds the available context size (8192 tokens), try increasing it",
            Overflow(9000, 8192),
        ),
        ("the input length exceeds the context length", None),  # Ollama: no figures
        (  # TGI names the input alone, which fits: no "N > M" to say
            "`inputs` tokens + `max_new_tokens` must be <= 8192. Given: 8000 `inputs` tokens and 1000 `max_new_tokens`",
            None,
        ),
    ],
)
def test_figures_in_each_servers_words(message: str, said: Overflow | None) -> None:
    assert figures(message) == said


def test_llama_cpps_fields_give_the_figures_its_message_lacks() -> None:
    error = too_long("llama", "http://h", "HTTP 400: the request exceeds the available context size", status=400)
    assert error.overflow is None
    error = too_long("llama", "http://h", "HTTP 500: ...", status=500, tokens=9000, window=8192)
    assert (error.overflow, error.code, error.status, error.upstream_status) == (
        Overflow(9000, 8192),
        CONTEXT_LENGTH_EXCEEDED,
        400,
        500,
    )
