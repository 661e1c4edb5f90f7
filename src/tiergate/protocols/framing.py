"""A body that arrives in pieces, cut into the units a wire format reads: lines (NDJSON, OpenAI's SSE
``data:`` lines) and whole server-sent events. Pure: bytes in, units out, whatever the piece boundaries.

    lines = Lines()
    for line in lines.feed(chunk): ...          # each complete line, without its line ending
    events = SseEvents()
    for frame in events.feed(chunk): ...        # each complete event, as the exact bytes that carried it
    name, data = sse_fields(frame)              # its ``event:`` name and its ``data:`` lines joined

An SSE event ends at a blank line; lines end at ``\\r\\n``, ``\\n`` or ``\\r`` (the SSE specification's
three line endings). What is left when the body ends is ``rest()``: an unfinished line or event.

One line (without its ending) or one event (with the blank line that ends it) holds at most
:data:`MAX_UNIT_BYTES`. Once one passes it, finished or not, the splitter raises :class:`TooLong` (after it
has handed over the units before that one), so an upstream that never ends a line is not buffered until a
timeout runs out.
"""

from __future__ import annotations

import itertools
import re

# A line ending, then a second one: the blank line that ends an event. ``\r`` alone must not be the first
# half of a ``\r\n``, or a single CRLF would read as two line endings.
_EVENT_END = re.compile(rb"(?:\r\n|\n|\r(?!\n))(?:\r\n|\n|\r(?!\n))")

#: The most bytes one line or one event may hold. No real upstream event comes near it: the largest carry
#: one tool call's whole arguments (a file an agent writes) or a whole answer in one piece, and a model's
#: longest output (128k tokens, about 0.5 MB of text) is a few MB as JSON even with every character escaped.
#: 16 MiB leaves several times that, and bounds what a broken upstream costs in memory per stream. Read
#: when a splitter is made, so a test may lower it.
MAX_UNIT_BYTES = 16 * 1024 * 1024


class TooLong(ValueError):
    """A line or an event passed :data:`MAX_UNIT_BYTES`. Says which, and the cap; never the bytes (they may
    be huge, or hold a secret)."""

    def __init__(self, unit: str, limit: int) -> None:
        super().__init__(f"one {unit} passed the {limit}-byte cap")
        self.unit = unit
        self.limit = limit


class _Capped:
    """What both splitters keep to hold a unit to :data:`MAX_UNIT_BYTES`."""

    __slots__ = ("_limit", "_over", "_pending", "_size")
    _unit = ""  # what the error calls one: "line", "event"

    def __init__(self) -> None:
        self._pending: list[bytes] = []  # pieces of the unfinished unit
        self._size = 0  # bytes in them
        self._over = False  # a unit passed the cap: every later call raises
        self._limit = MAX_UNIT_BYTES

    def _within_cap(self, units: list[bytes]) -> list[bytes]:
        """``units``; when one of them or the unfinished unit passes the cap, those before it, and every later
        call raises :class:`TooLong` (this one too, when none comes before it). The units that ended before
        the one too long are not lost to where the pieces happened to break."""
        limit = self._limit
        if self._size <= limit and all(len(unit) <= limit for unit in units):
            return units
        self._over, self._pending, self._size = True, [], 0  # dropped: the error's traceback keeps this alive
        kept = list(itertools.takewhile(lambda unit: len(unit) <= limit, units))
        if not kept:
            raise TooLong(self._unit, limit)
        return kept

    def _refuse_past_cap(self) -> None:
        if self._over:
            raise TooLong(self._unit, self._limit)


class Lines(_Capped):
    """Complete lines from a body's pieces; blank lines included (SSE needs them, NDJSON skips them).

    A piece without a line ending is only kept, and an unfinished line is joined once, when its ending
    comes: a line of megabytes in kilobyte pieces costs one pass, not one pass over all it has so far per
    piece (4 MB in 1 KB pieces took 6 s that way)."""

    __slots__ = ("_cr",)
    _unit = "line"

    def __init__(self) -> None:
        super().__init__()  # _pending: none of its pieces has a line ending
        self._cr = False  # the last piece ended with \r: a \n opening the next one is the rest of that ending

    def feed(self, chunk: bytes) -> list[bytes]:
        self._refuse_past_cap()
        if not chunk:
            return []
        if self._cr:
            self._cr = False
            if chunk.startswith(b"\n"):
                chunk = chunk[1:]
        if b"\n" not in chunk and b"\r" not in chunk:
            if chunk:
                self._pending.append(chunk)
                self._size += len(chunk)
            return self._within_cap([])
        data = b"".join([*self._pending, chunk]) if self._pending else chunk
        if data.endswith(b"\r"):  # a line ending already; its \n may open the next piece
            self._cr = True
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *lines, rest = data.split(b"\n")
        self._pending, self._size = ([rest] if rest else []), len(rest)
        return self._within_cap(lines)

    def rest(self) -> bytes:
        self._refuse_past_cap()
        pending, self._pending, self._size, self._cr = b"".join(self._pending), [], 0, False
        return pending


class SseEvents(_Capped):
    """Complete server-sent events from a body's pieces, each the exact bytes of the event through the blank
    line that ends it (so a pass-through can send them on as they came).

    Each piece is searched once, with the last three bytes before it (an event's end, ``\\r\\n\\r\\n`` at
    most, may begin there), and an unfinished event is joined once, when it ends: searching all of it again
    for every piece made one event of 4 MB in 1 KB pieces cost 35 s."""

    __slots__ = ("_tail",)
    _unit = "event"

    def __init__(self) -> None:
        super().__init__()
        self._tail = b""  # the unfinished event's last three bytes (fewer when it is shorter)

    def feed(self, chunk: bytes) -> list[bytes]:
        self._refuse_past_cap()
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
        self._size = self._size + len(rest) if not frames else len(rest)
        return self._within_cap(frames)

    def rest(self) -> bytes:
        self._refuse_past_cap()
        pending, self._pending, self._size, self._tail = b"".join(self._pending), [], 0, b""
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
