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
    """Complete lines from a body's pieces; blank lines included (SSE needs them, NDJSON skips them).

    A piece without a line ending is only kept, and an unfinished line is joined once, when its ending
    comes: a line of megabytes in kilobyte pieces costs one pass, not one pass over all it has so far per
    piece (4 MB in 1 KB pieces took 6 s that way)."""

    __slots__ = ("_cr", "_pending")

    def __init__(self) -> None:
        self._pending: list[bytes] = []  # pieces of the unfinished line, none with a line ending
        self._cr = False  # the last piece ended with \r: a \n opening the next one is the rest of that ending

    def feed(self, chunk: bytes) -> list[bytes]:
        if not chunk:
            return []
        if self._cr:
            self._cr = False
            if chunk.startswith(b"\n"):
                chunk = chunk[1:]
        if b"\n" not in chunk and b"\r" not in chunk:
            if chunk:
                self._pending.append(chunk)
            return []
        data = b"".join([*self._pending, chunk]) if self._pending else chunk
        if data.endswith(b"\r"):  # a line ending already; its \n may open the next piece
            self._cr = True
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *lines, rest = data.split(b"\n")
        self._pending = [rest] if rest else []
        return lines

    def rest(self) -> bytes:
        pending, self._pending, self._cr = b"".join(self._pending), [], False
        return pending


class SseEvents:
    """Complete server-sent events from a body's pieces, each the exact bytes of the event through the blank
    line that ends it (so a pass-through can send them on as they came).

    Each piece is searched once, with the last three bytes before it (an event's end, ``\\r\\n\\r\\n`` at
    most, may begin there), and an unfinished event is joined once, when it ends: searching all of it again
    for every piece made one event of 4 MB in 1 KB pieces cost 35 s."""

    __slots__ = ("_pending", "_tail")

    def __init__(self) -> None:
        self._pending: list[bytes] = []  # pieces of the unfinished event
        self._tail = b""  # its last three bytes (fewer when it is shorter)

    def feed(self, chunk: bytes) -> list[bytes]:
        if not chunk:
            return []
        window = self._tail + chunk
        skip = len(self._tail)  # window[skip:] is the chunk
        frames: list[bytes] = []
        start = 0  # in the chunk: where the unfinished event's part of it begins
        for end in _EVENT_END.finditer(window):
            if end.end() == len(window) and window.endswith(b"\r"):  # may be the \r of a \r\n still on its way
                break
            cut = end.end() - skip  # >= 0: no event ended inside what an earlier piece left unfinished
            if frames:
                frames.append(chunk[start:cut])
            else:
                frames.append(b"".join([*self._pending, chunk[:cut]]))
                self._pending = []
            start = cut
        rest = chunk[start:] if start else chunk
        if rest:
            self._pending.append(rest)
        self._tail = (self._tail + rest)[-3:] if not frames else rest[-3:]
        return frames

    def rest(self) -> bytes:
        pending, self._pending, self._tail = b"".join(self._pending), [], b""
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
