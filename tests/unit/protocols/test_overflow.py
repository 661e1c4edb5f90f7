"""The figures of an upstream's refusal of its context window, read from each server's own words: the prompt's
tokens and the output set aside for the answer apart, since Claude Code compacts a conversation only when told
the prompt alone passes the window."""

from __future__ import annotations

import pytest

from tiergate.errors import CONTEXT_LENGTH_EXCEEDED, Overflow, exceeds_context
from tiergate.protocols.openai.reply import overflow_message
from tiergate.protocols.overflow import figures, too_long


@pytest.mark.parametrize(
    ("message", "said"),
    [
        ("prompt is too long: 215000 tokens > 200000 maximum", Overflow(215000, 200000)),  # Anthropic
        (  # Anthropic, the prompt fits but not with max_tokens
            "input length and `max_tokens` exceed context limit: 188240 + 21333 > 200000, decrease input length"
            " or `max_tokens` and try again",
            Overflow(188240, 200000, 21333),
        ),
        (  # vLLM since 0.18: the prompt fits, the output does not
            "This model's maximum context length is 32768 tokens. However, you requested 1000 output tokens and"
            " your prompt contains at least 32001 input tokens, for a total of at least 33001 tokens.",
            Overflow(32001, 32768, 1000),
        ),
        (  # the same, without "at least"
            "This model's maximum context length is 32768 tokens. However, you requested 20000 output tokens and"
            " your prompt contains 15000 input tokens, for a total of 35000 tokens (15000 + 20000 = 35000 > 32768).",
            Overflow(15000, 32768, 20000),
        ),
        (  # vLLM before 0.18, the prompt alone
            "This model's maximum context length is 32768 tokens. However, your request has 40000 input tokens.",
            Overflow(40000, 32768),
        ),
        (  # vLLM before 0.18, with max_tokens
            "'max_tokens' or 'max_completion_tokens' is too large: 20000. This model's maximum context length is"
            " 32768 tokens and your request has 15000 input tokens (20000 > 32768 - 15000).",
            Overflow(15000, 32768, 20000),
        ),
        (  # OpenAI and older vLLM: the total first, then its parts
            "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens (8000 in the"
            " messages, 1000 in the completion). Please reduce the length of the messages or completion.",
            Overflow(8000, 8192, 1000),
        ),
        (  # OpenAI, the messages alone
            "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.",
            Overflow(130000, 128000),
        ),
        (  # vLLM
            "The decoder prompt (length 40000) is longer than the maximum model length of 32768.",
            Overflow(40000, 32768),
        ),
        (  # SGLang, the prompt alone
            "The input (9000 tokens) is longer than the model's context length (8192 tokens).",
            Overflow(9000, 8192),
        ),
        (  # SGLang, with max_tokens
            "Requested token count exceeds the model's maximum context length of 32768 tokens. You requested a total"
            " of 35000 tokens: 15000 tokens from the input messages and 20000 tokens for the completion. Please"
            " reduce the number of tokens in the input messages or the completion to fit within the limit.",
            Overflow(15000, 32768, 20000),
        ),
        (  # llama.cpp
            "request (9000 tokens) exceeds the available context size (8192 tokens), try increasing it",
            Overflow(9000, 8192),
        ),
        (  # Ollama's MLX runner
            "input length (9000 tokens) exceeds the model's maximum context length (8192 tokens)",
            Overflow(9000, 8192),
        ),
        ("the input length exceeds the context length", None),  # Ollama: no figures
        (  # TGI, with max_new_tokens
            "`inputs` tokens + `max_new_tokens` must be <= 8192. Given: 8000 `inputs` tokens and 1000 `max_new_tokens`",
            Overflow(8000, 8192, 1000),
        ),
        ("`inputs` must have less than 4096 tokens. Given: 5000", Overflow(5000, 4096)),  # TGI, the prompt alone
    ],
)
def test_figures_in_each_servers_words(message: str, said: Overflow | None) -> None:
    assert exceeds_context(400, message)
    assert figures(message) == said


def test_a_total_said_alone_counts_the_max_tokens_the_request_asked_for() -> None:
    """The server named neither part: its total holds the output it set aside, the request's ``max_tokens``."""
    said = "This model's maximum context length is 32768 tokens. However, you requested 35000 tokens."
    assert figures(said, asked=20000) == Overflow(15000, 32768, 20000)
    assert figures(said, asked=1000) == Overflow(34000, 32768, 1000)
    assert figures(said) == Overflow(35000, 32768)  # no bound asked: the server set none aside


@pytest.mark.parametrize(
    ("message", "said"),
    [
        (  # OpenAI with functions: the messages are a part of the prompt; 7000 + 2000 fits no more than 8192
            "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens (6000 in the"
            " messages, 1000 in the functions, and 2000 in the completion). Please reduce the length of the"
            " messages, functions, or completion.",
            Overflow(7000, 8192, 2000),
        ),
        (  # the same, the prompt alone over the window with its functions, not with its messages alone
            "This model's maximum context length is 8192 tokens. However, you requested 8300 tokens (8000 in the"
            " messages, 200 in the functions, and 100 in the completion). Please reduce the length of the"
            " messages, functions, or completion.",
            Overflow(8200, 8192, 100),
        ),
        (  # OpenRouter, text and images
            "This endpoint's maximum context length is 131072 tokens. However, you requested about 135000 tokens"
            " (125000 of text input, 4000 of image input, 6000 in the output). Please reduce the length of either one.",
            Overflow(129000, 131072, 6000),
        ),
    ],
)
def test_a_total_and_an_output_said_make_the_prompt_whatever_part_of_it_is_named(message: str, said: Overflow) -> None:
    """The prompt named beside a total may be one part of it (OpenAI's messages without their functions): read as
    the prompt, 6000 + 2000 fit the window, so no figures, and Claude Code compacted a conversation that fits."""
    assert figures(message, asked=said.output) == said


@pytest.mark.parametrize(
    ("overflow", "words"),
    [
        (Overflow(40000, 32768, 1000), "prompt is too long: 40000 tokens > 32768 maximum"),
        (
            Overflow(15000, 32768, 20000),
            "input length and `max_tokens` exceed context limit: 15000 + 20000 > 32768, decrease input length or"
            " `max_tokens` and try again",
        ),
    ],
)
def test_anthropics_words_say_prompt_is_too_long_only_when_the_prompt_alone_passes(
    overflow: Overflow, words: str
) -> None:
    assert overflow.words() == words


def test_llama_cpps_fields_give_the_figures_its_message_lacks() -> None:
    error = too_long("llama", "http://h", "HTTP 400: the request exceeds the available context size", status=400)
    assert error.overflow is None
    error = too_long("llama", "http://h", "HTTP 500: ...", status=500, prompt=9000, window=8192)
    assert (error.overflow, error.code, error.status, error.upstream_status) == (
        Overflow(9000, 8192),
        CONTEXT_LENGTH_EXCEEDED,
        400,
        500,
    )


@pytest.mark.parametrize(
    ("said", "opening"),
    [
        (
            Overflow(40000, 32768),
            "This model's maximum context length is 32768 tokens. However, your messages resulted in 40000 tokens."
            " Please reduce the length of the messages.",
        ),
        (
            Overflow(15000, 32768, 20000),
            "This model's maximum context length is 32768 tokens. However, you requested 35000 tokens (15000 in the"
            " messages, 20000 in the completion). Please reduce the length of the messages or completion.",
        ),
    ],
)
def test_an_openai_dialects_full_window_opens_in_openais_words(said: Overflow, opening: str) -> None:
    """LiteLLM, which aider is built on, tells a full window by OpenAI's words ("This model's maximum context
    length is"), not by the code: tiergate's "prompt is too long" reached aider as a plain 400."""
    refused = too_long("anthropic", "http://h", "prompt is too long: 40000 tokens > 32768 maximum", status=400)
    refused.overflow = said
    assert overflow_message(refused) == f"{opening} ({refused.message})"
    vllm = too_long("vllm", "http://h", "This model's maximum context length is 8192 tokens. However, ...", status=400)
    assert overflow_message(vllm) == vllm.message  # already in the words such clients read
