"""A body that arrives in pieces, cut into the units a wire format reads: lines (NDJSON, OpenAI's SSE
``data:`` lines) and whole server-sent events. Pure: bytes in, units out, whatever the piece boundaries.

    lines = Lines()
    for line in lines.feed(chunk): ...          # each complete line, without its line ending
    events = SseEvents()
    for frame in events.feed(chunk): ...        # each complete event, as the exact bytes that carried it
    name, data = sse_fields(frame)              # its ``event:`` name and its ``data:`` lines joined

An SSE event ends at a blank line; lines end at ``\\r\\n``, ``\\n`` or ``\\r`` (the SSE specification's
three line endings). What is left when the body ends is ``rest()``: an unfinished line or event.
"""

from __future__ import annotations

import re

# A line ending, then a second one: the blank line that ends an event. ``\r`` alone must not be the first
# half of a ``\r\n``, or a single CRLF would read as two line endings.
_EVENT_END = re.compile(rb"(?:\r\n|\n|\r(?!\n))(?:\r\n|\n|\r(?!\n))")


class Lines:
    """Complete lines from a body's pieces; blank lines included (SSE needs them, NDJSON skips them)."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        data = self._pending + chunk if self._pending else chunk
        if b"\r" in data:
            if data.endswith(b"\r"):  # its \n may be in the next piece
                self._pending = data
                return []
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *lines, self._pending = data.split(b"\n")
        return lines

    def rest(self) -> bytes:
        pending, self._pending = self._pending.rstrip(b"\r"), b""
        return pending


class SseEvents:
    """Complete server-sent events from a body's pieces, each the exact bytes of the event through the blank
    line that ends it (so a pass-through can send them on as they came)."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        data = self._pending + chunk if self._pending else chunk
        frames: list[bytes] = []
        start = 0
        for end in _EVENT_END.finditer(data):
            if end.end() == len(data) and data.endswith(b"\r"):  # may be the \r of a \r\n still on its way
                break
            frames.append(data[start : end.end()])
            start = end.end()
        self._pending = data[start:]
        return frames

    def rest(self) -> bytes:
        pending, self._pending = self._pending, b""
        return pending


def sse_fields(frame: bytes) -> tuple[str, bytes]:
    """``(event name, data)`` of one event: ``data:`` lines joined with ``\\n``; comments and other fields
    (``id:``, ``retry:``) dropped. A space after the colon is not part of the value."""
    name = ""
    data: list[bytes] = []
    for line in frame.splitlines():
        field, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if field == b"data":
            data.append(value)
        elif field == b"event":
            name = value.decode("utf-8", "replace")
    return name, b"\n".join(data)
