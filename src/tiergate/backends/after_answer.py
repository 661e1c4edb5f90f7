"""What an upstream sends after a stream's whole answer, where it cuts nothing: logged, never the client's error.

A stream's answer is whole once what says so came: Anthropic's ``message_delta``, which is sent once, at the end;
an OpenAI-compatible stream's usage chunk after the chunk with its ``finish_reason`` (a finish alone is not
enough: some servers set one on chunks before the end of the answer; see the OpenAI codec's ``StreamReader``).
All that should follow is the end marker (``[DONE]``, ``message_stop``), which servers send at
once. Whatever comes instead (a stall, the body's end, a broken connection, an ``error`` event, an event that
cannot be read, or one the body's end cut short) ends the stream as the whole answer it is: failing it would
have the client ask again for an answer it got and paid for (Codex retries ``server_error``) and count a good
answer against the target's breaker. A backend that reads such an event calls :func:`ended_whole`, so an
operator sees what the upstream did there.

    whole = reader.whole
    try:
        events = reader.feed(line)
    except UpstreamError as failure:
        if not whole:
            raise
        ended_whole(failure, "usage chunk")   # and end the stream as whole
"""

from __future__ import annotations

import logging

from tiergate.errors import UpstreamStatusError

log = logging.getLogger("tiergate.backends")


def ended_whole(failure: Exception, marker: str) -> None:
    """Log ``failure``, raised by an event that came after the answer's ``marker`` (``message_delta``), by its
    kind: an error event by the upstream's type for it (``overloaded_error``), any other failure as a malformed
    event. Never its message: an upstream may make it echo the key, and only dispatch holds the redactor."""
    log.warning("%s came after the whole answer (its %s): the answer ends whole", _kind(failure), marker)


def _kind(failure: Exception) -> str:
    if not isinstance(failure, UpstreamStatusError):
        return "a malformed event"
    said = failure.upstream_type
    return f"an error event ({said if isinstance(said, str) and said.isidentifier() else 'of no type'})"
