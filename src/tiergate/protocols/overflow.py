"""An upstream's refusal of a prompt over its model's context window, as one error whatever the upstream.

Each backend decides, for its own answer, whether it is such a refusal (:func:`tiergate.errors.exceeds_context`)
and builds it here: an :class:`~tiergate.errors.UpstreamCapabilityError` (a bigger window may take the
request, so it falls back) with the code :data:`~tiergate.errors.CONTEXT_LENGTH_EXCEEDED`, and the figures
the upstream gave, read from its message (or llama.cpp's ``n_prompt_tokens`` and ``n_ctx``): the prompt's
tokens and the output set aside for the answer apart, and the window. The ingress then tells its client in
its own terms: Codex reads the code, Claude Code Anthropic's words, "prompt is too long: P tokens > M
maximum" when the prompt alone passes the window (it compacts the conversation), else "input length and
`max_tokens` exceed context limit: P + O > M" (it asks again with a smaller ``max_tokens``).

    raise too_long("vllm", url, "HTTP 400: This model's maximum context length is 32768 tokens. ...", status=400)
"""

from __future__ import annotations

import re

from tiergate.errors import CONTEXT_LENGTH_EXCEEDED, Overflow, UpstreamCapabilityError

#: Where upstreams name the window, each as they word it: Anthropic's two refusals, OpenAI and vLLM, SGLang's
#: current words, Ollama's MLX runner, Ollama's cloud, vLLM's "maximum model length", SGLang's older words,
#: llama.cpp, TGI's two.
_WINDOW = [
    re.compile(p, re.I)
    for p in (
        r"prompt is too long: \d+ tokens > (\d+) maximum",
        r"exceed context limit: \d+ \+ \d+ > (\d+)",
        r"maximum context length is (\d+) tokens",
        r"maximum context length of (\d+) tokens",
        r"maximum context length \((\d+) tokens\)",
        r"maximum context length: (\d+)",
        r"maximum model length of (\d+)",
        r"model's context length \((\d+) tokens\)",
        r"available context size \((\d+) tokens\)",
        r"`inputs` tokens \+ `max_new_tokens` must be <= (\d+)",
        r"`inputs` must have less than (\d+) tokens",
    )
]
#: Where they name the prompt's tokens alone: Anthropic's two, vLLM's since 0.18 and before, OpenAI's and
#: older vLLM's breakdown, vLLM 0.2's, OpenAI's, vLLM's decoder prompt, SGLang's two, Ollama's MLX runner,
#: llama.cpp (its request is its prompt), TGI's two.
_PROMPT = [
    re.compile(p, re.I)
    for p in (
        r"prompt is too long: (\d+)",
        r"exceed context limit: (\d+) \+",
        r"prompt contains (?:at least )?(\d+) input tokens",
        r"your request has (\d+) input tokens",
        r"\((\d+) in (?:the messages|your prompt)",
        r"you requested (\d+) tokens in the messages",
        r"resulted in (\d+) tokens",
        r"prompt \(length (\d+)\)",
        r"(\d+) tokens from the input messages",
        r"the input \((\d+) tokens\)",
        r"input length \((\d+) tokens\)",
        r"request \((\d+) tokens\)",
        r"Given: (\d+) `inputs` tokens",
        r"`inputs` must have less than \d+ tokens\. Given: (\d+)",
    )
]
#: Where they name the output set aside for the answer (the request's ``max_tokens``): Anthropic, vLLM since
#: 0.18 and before it, OpenAI's and SGLang's, TGI, OpenRouter.
_OUTPUT = [
    re.compile(p, re.I)
    for p in (
        r"exceed context limit: \d+ \+ (\d+) >",
        r"you requested (\d+) output tokens",
        r"'max_completion_tokens' is too large: (\d+)",
        r"(\d+) (?:tokens )?(?:in|for) the completion",
        r"and (\d+) `max_new_tokens`",
        r"(\d+) in the output",
    )
]
#: Where they name the prompt and the output together: vLLM, SGLang, OpenAI and OpenRouter.
_TOTAL = [
    re.compile(p, re.I)
    for p in (
        r"for a total of (?:at least )?(\d+) tokens",
        r"requested a total of (\d+) tokens",
        r"you requested (?:about )?(\d+) tokens",
    )
]


def figures(
    message: str, *, prompt: int | None = None, window: int | None = None, asked: int | None = None
) -> Overflow | None:
    """The prompt, the output and the window ``message`` names (``prompt`` and ``window``, when the upstream
    said them apart from it, first), or None unless the window and the prompt are known and the prompt, or
    the prompt and the output together, do pass the window.

    The prompt and the output are read apart wherever the upstream names them: Claude Code compacts a
    conversation on "prompt is too long" and only asks again with a smaller ``max_tokens`` when told the
    prompt fits (:meth:`~tiergate.errors.Overflow.words`), so a total must not pass for the prompt. Where the
    upstream names a total and the output, the prompt is the total less the output: a prompt figure named
    beside them may be a part of it (OpenAI's "you requested 9000 tokens (6000 in the messages, 1000 in the
    functions, and 2000 in the completion)" is a prompt of 7000, which fits a window of 8192). Where the
    upstream names only a total, that total counts the output it set aside, which is the ``max_tokens`` it
    was sent: ``asked``, so the prompt is the total less ``asked``. Without ``asked`` (the request set no
    bound; servers then reserve none, or only the room left) the total is the prompt's.

        figures("... maximum context length is 32768 tokens. However, you requested 20000 output tokens and"
                " your prompt contains 15000 input tokens, for a total of 35000 tokens ...")
        # Overflow(prompt=15000, window=32768, output=20000)
    """
    window = window if window is not None else _first(_WINDOW, message)
    output, total = _first(_OUTPUT, message), _first(_TOTAL, message)
    if prompt is None and total is not None and output is not None:
        prompt = total - output  # the whole prompt: the one named beside may be a part ("6000 in the messages")
    prompt = prompt if prompt is not None else _first(_PROMPT, message)
    if prompt is None and total is not None:
        output = output if output is not None else asked or 0
        prompt = total - output
    if output is None:
        output = total - prompt if total is not None and prompt is not None and total > prompt else 0
    if window is None or prompt is None or prompt < 0 or prompt + output <= window:
        return None
    return Overflow(prompt, window, output)


def too_long(
    backend: str,
    url: str,
    detail: str,
    *,
    status: int,
    upstream_type: str | None = None,
    started: bool = False,
    prompt: int | None = None,
    window: int | None = None,
    asked: int | None = None,
) -> UpstreamCapabilityError:
    """The refusal of a prompt over the window: a 400 to the client even where the upstream said 500 or TGI's
    422 (which stays in ``upstream_status`` and the detail), as Anthropic and OpenAI say it: Claude Code asks
    again with a smaller ``max_tokens`` only on a 400. Coded :data:`~tiergate.errors.CONTEXT_LENGTH_EXCEEDED`
    whatever code the upstream gave (LiteLLM's proxy sends ``"400"``). ``prompt`` and ``window``: the
    figures, when the upstream gave them outside its message (llama.cpp); else they are read from ``detail``.
    ``asked``: the ``max_tokens`` the upstream was sent, which a total it names alone counts (:func:`figures`)."""
    error = UpstreamCapabilityError(
        backend, url, detail, status=status, upstream_type=upstream_type, code=CONTEXT_LENGTH_EXCEEDED, started=started
    )
    if status != 400:
        error.status, error.type = 400, "invalid_request_error"
    error.overflow = figures(detail, prompt=prompt, window=window, asked=asked)
    return error


def _first(patterns: list[re.Pattern[str]], message: str) -> int | None:
    for pattern in patterns:
        if found := pattern.search(message):
            return int(found.group(1))
    return None
