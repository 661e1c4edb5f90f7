"""The usage an ingress reports for an answer its upstream counted no tokens for: characters / 4 of the
request (:meth:`~tiergate.wire.ChatRequest.estimated_tokens`) and of the answer, the estimate spend charges
it (:mod:`tiergate.telemetry.usage`). Zeros there would tell a client that adds usage up that the answer
was free. And the room the same estimate leaves for an answer in a context window (:func:`output_room`).

    usage = completion.usage or estimated_usage(request, completion.chars())
    room = output_room(request, 200_000)
"""

from __future__ import annotations

from tiergate.wire import (
    ChatRequest,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallArgs,
    ToolCallStart,
    Usage,
    tokens_in,
)


def estimated_usage(request: ChatRequest | None, chars: int) -> Usage:
    """``request``'s estimate (0 without one) and ``chars`` characters of answer, as a ``Usage``."""
    return Usage.of(request.estimated_tokens() if request is not None else 0, tokens_in(chars))


#: What :func:`output_room` keeps back beyond the estimate, for what no character counts: the message and tool
#: framing, and the system prompt Anthropic adds for tools (some hundreds of tokens).
FRAMING_TOKENS = 1024


def output_room(request: ChatRequest, window: int) -> int:
    """Tokens a ``window`` leaves for the answer beside ``request``'s prompt, by the estimate, with room for
    its error: the estimate counts 4 characters a token, and text runs 3 to 5 (:func:`~tiergate.wire.tokens_in`),
    so the prompt is taken at 4/3 of it (3 characters a token: an upstream that counts more than the estimate
    still finds the answer's room inside its window) plus :data:`FRAMING_TOKENS`. Negative when even that
    passes the window.

        output_room(request, 200_000)   # 200000 - 120000 - 40000 - 1024 = 38976 for a 120,000-token estimate
    """
    prompt = request.estimated_tokens()
    return window - prompt - prompt // 3 - FRAMING_TOKENS


def answer_chars(event: StreamEvent) -> int:
    """Characters of the answer one stream event carries, counted as :meth:`~tiergate.wire.Completion.chars`
    counts a whole answer (text, reasoning, tool names and arguments).

        chars = sum(answer_chars(event) for event in events)
    """
    if isinstance(event, TextDelta | ReasoningDelta):
        return len(event.text)
    if isinstance(event, ToolCallStart):
        return len(event.name)
    if isinstance(event, ToolCallArgs):
        return len(event.arguments)
    return 0
