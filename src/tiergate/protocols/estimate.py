"""The usage an ingress reports for an answer its upstream counted no tokens for: characters / 4 of the
request (:meth:`~tiergate.wire.ChatRequest.estimated_tokens`) and of the answer, the estimate spend charges
it (:mod:`tiergate.telemetry.usage`). Zeros there would tell a client that adds usage up that the answer
was free. An answer whose upstream counted only its prompt before tiergate cut it (an emulated stop) reports
that count, with the estimate of its output. And the room the same estimate leaves for an answer in a context
window (:func:`output_room`).

    usage = completion.usage or estimated_usage(request, completion.chars())
    usage, estimated = reported_or_estimated(report, request, written)   # a stream's last UsageReport
    room = output_room(request, 200_000)
"""

from __future__ import annotations

import msgspec

from tiergate.wire import (
    ChatRequest,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallArgs,
    ToolCallStart,
    Usage,
    UsageReport,
    tokens_in,
)


def estimated_usage(request: ChatRequest | None, chars: int) -> Usage:
    """``request``'s estimate (0 without one) and ``chars`` characters of answer, as a ``Usage``."""
    return Usage.of(request.estimated_tokens() if request is not None else 0, tokens_in(chars))


def topped_up(usage: Usage, request: ChatRequest | None, chars: int) -> tuple[Usage, bool]:
    """A count from a call cut short (Claude's ``message_start``: its prompt, and 1 output token) with at least
    ``chars`` characters of answer as output, and the prompt's estimate where it counted none; and whether any
    of it is estimated. What a stream cut short is charged (:mod:`tiergate.telemetry.usage`), and what a stream
    ended at an emulated stop reports.

        topped_up(Usage.of(150, 1, cached=50), request, 80)   # (Usage.of(150, 20, cached=50), True)
    """
    prompt = usage.prompt_tokens or (request.estimated_tokens() if request is not None else 0)
    completion = max(usage.completion_tokens, tokens_in(chars))
    if (prompt, completion) == (usage.prompt_tokens, usage.completion_tokens):
        return usage, False
    return msgspec.structs.replace(
        usage, prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
    ), True


def reported_or_estimated(report: UsageReport | None, request: ChatRequest | None, chars: int) -> tuple[Usage, bool]:
    """The usage a writer shows for an answer of ``chars`` characters, and whether it is estimated: the
    upstream's ``report``; a partial one (:class:`~tiergate.wire.UsageReport`) topped up (:func:`topped_up`), and
    estimated however short the answer (its output count is the stream's placeholder, not a count of what was
    written); none, the estimate (:func:`estimated_usage`)."""
    if report is None:
        return estimated_usage(request, chars), True
    if report.partial:
        return topped_up(report.usage, request, chars)[0], True
    return report.usage, False


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
