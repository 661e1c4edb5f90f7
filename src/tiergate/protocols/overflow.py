"""An upstream's refusal of a prompt over its model's context window, as one error whatever the upstream.

Each backend decides, for its own answer, whether it is such a refusal (:func:`tiergate.errors.exceeds_context`)
and builds it here: an :class:`~tiergate.errors.UpstreamCapabilityError` (a bigger window may take the
request, so it falls back) with the code :data:`~tiergate.errors.CONTEXT_LENGTH_EXCEEDED`, and the figures
the upstream gave, read from its message (or llama.cpp's ``n_prompt_tokens`` and ``n_ctx``). The ingress
then tells its client in its own terms: Codex reads the code, Claude Code the words "prompt is too long"
and Anthropic's "N tokens > M maximum", which say how much to drop.

    raise too_long("vllm", url, "HTTP 400: This model's maximum context length is 32768 tokens. ...", status=400)
"""

from __future__ import annotations

import re

from tiergate.errors import CONTEXT_LENGTH_EXCEEDED, Overflow, UpstreamCapabilityError

#: Where upstreams name the window, each as they word it: Anthropic, OpenAI and vLLM, vLLM's "maximum model
#: length", SGLang, llama.cpp, TGI.
_WINDOW = [
    re.compile(p, re.I)
    for p in (
        r"prompt is too long: \d+ tokens > (\d+) maximum",
        r"maximum context length is (\d+) tokens",
        r"maximum model length of (\d+)",
        r"model's context length \((\d+) tokens\)",
        r"available context size \((\d+) tokens\)",
        r"`max_new_tokens` must be <= (\d+)",
        r"`inputs` must have less than (\d+) tokens",
    )
]
#: Where they name the tokens the request needed, the total (prompt and output) before the prompt alone.
_TOKENS = [
    re.compile(p, re.I)
    for p in (
        r"prompt is too long: (\d+) tokens",
        r"for a total of (?:at least )?(\d+) tokens",
        r"you requested (\d+) tokens",
        r"resulted in (\d+) tokens",
        r"your request has (\d+) input tokens",
        r"prompt \(length (\d+)\)",
        r"input \((\d+) tokens\)",
        r"request \((\d+) tokens\)",
    )
]


def figures(message: str, *, tokens: int | None = None, window: int | None = None) -> Overflow | None:
    """The tokens and the window ``message`` names (``tokens`` and ``window``, when the upstream said them
    apart from it, first), or None unless both are known and the tokens do pass the window.

        figures("This model's maximum context length is 8192 tokens. However, you requested 9000 tokens.")
        # Overflow(tokens=9000, window=8192)
    """
    tokens = tokens if tokens is not None else _first(_TOKENS, message)
    window = window if window is not None else _first(_WINDOW, message)
    if tokens is None or window is None or tokens <= window:
        return None
    return Overflow(tokens, window)


def too_long(
    backend: str,
    url: str,
    detail: str,
    *,
    status: int,
    upstream_type: str | None = None,
    started: bool = False,
    tokens: int | None = None,
    window: int | None = None,
) -> UpstreamCapabilityError:
    """The refusal of a prompt over the window: a 400 to the client even where the upstream said 500 (which
    stays in ``upstream_status`` and the detail), coded :data:`~tiergate.errors.CONTEXT_LENGTH_EXCEEDED`
    whatever code the upstream gave (LiteLLM's proxy sends ``"400"``). ``tokens`` and ``window``: the
    figures, when the upstream gave them outside its message (llama.cpp); else they are read from ``detail``."""
    error = UpstreamCapabilityError(
        backend, url, detail, status=status, upstream_type=upstream_type, code=CONTEXT_LENGTH_EXCEEDED, started=started
    )
    if status >= 500:
        error.status, error.type = 400, "invalid_request_error"
    error.overflow = figures(detail, tokens=tokens, window=window)
    return error


def _first(patterns: list[re.Pattern[str]], message: str) -> int | None:
    for pattern in patterns:
        if found := pattern.search(message):
            return int(found.group(1))
    return None
