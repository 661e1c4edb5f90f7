"""What a served answer is charged: the upstream's own token counts, or an estimate where it gave none.

Budgets count what the upstream reported. Some answers come with no count, though the upstream did the
work: an OpenAI-compatible server that ignores ``stream_options.include_usage``, an Ollama without eval
counts, a stream that ends early (an upstream error after the first byte, a client that hangs up) before
the count that comes last. Counting those as nothing would leave a priced target outside every cap, so
they are charged an estimate instead: characters / 4 of the request, and of what came back. That is the
estimate the Anthropic ingress shows its clients before the upstream has counted.

    meter = Meter(request)
    for event in events:
        meter.see(event)
    charged, estimated = meter.charged(reported=writer.usage, whole=True)

The request record keeps the upstream's count (``usage``, None when there was none) apart from what is
charged (``charged``), so the decision log's token columns stay the upstream's own.
"""

from __future__ import annotations

from tiergate.protocols.estimate import answer_chars, topped_up
from tiergate.wire import (
    ChatRequest,
    Completion,
    StreamEvent,
    Usage,
    UsageReport,
    tokens_in,
)


class Meter:
    """Counts the characters of an answer as it is served, and the upstream's last usage report."""

    def __init__(self, request: ChatRequest) -> None:
        self._request = request
        self._chars = 0
        #: The upstream's latest count, if it sent one.
        self.reported: Usage | None = None
        #: Whether any event came (the upstream answered 200).
        self.seen = False

    def see(self, event: StreamEvent) -> None:
        self.seen = True
        self._chars += answer_chars(event)
        if isinstance(event, UsageReport) and not event.partial:  # a partial count is the call's, in ``counted``
            self.reported = event.usage

    def see_whole(self, completion: Completion) -> None:
        self._chars += completion.chars()
        self.reported = completion.usage

    def charged(
        self, reported: Usage | None = None, *, whole: bool, counted: Usage | None = None
    ) -> tuple[Usage, bool]:
        """(the usage to charge, whether any of it is estimated). ``reported``: the writer's count, when it
        keeps one of its own (a native stream's frames); else the upstream's last report. ``whole``: the
        answer ended as the upstream meant it to; a stream cut short is charged at least the estimate of
        what it had sent, because a count from its start (Anthropic's message_start) leaves that out.
        ``counted``: what the upstream had counted when its call was cut short, before any report reached
        the answer (:class:`~tiergate.backends.base.Billed`: a translated stream's ``message_start``, a usage
        chunk held for the end); used when no report came, as a count from the start, whatever ``whole``
        says (a stream ended at an emulated stop closed its upstream before the output was counted)."""
        usage = reported if reported is not None else self.reported
        if usage is None and counted is not None:
            usage, whole = counted, False
        if usage is None:
            return Usage.of(self._request.estimated_tokens(), tokens_in(self._chars)), True
        if whole:
            return usage, False
        return topped_up(usage, self._request, self._chars)
