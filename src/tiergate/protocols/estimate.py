"""The usage an ingress reports for an answer its upstream counted no tokens for: characters / 4 of the
request (:meth:`~tiergate.wire.ChatRequest.estimated_tokens`) and of the answer, the estimate spend charges
it (:mod:`tiergate.telemetry.usage`). Zeros there would tell a client that adds usage up that the answer
was free.

    usage = completion.usage or estimated_usage(request, completion.chars())
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
