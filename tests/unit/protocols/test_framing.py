"""Lines and server-sent events cut from a body that arrives in pieces, wherever the pieces break."""

from __future__ import annotations

import pytest

from tiergate.protocols.framing import Lines, SseEvents, sse_fields

STREAM = (
    b": keep-alive\n\n"
    b'event: message_start\ndata: {"a":\n'
    b"data: 1}\n\n"
    b"event: ping\r\ndata: {}\r\n\r\n"
    b"id: 7\rretry: 5\rdata: cr\r\r"
    b"data: last\n\n"
)
EVENTS = [
    b": keep-alive\n\n",
    b'event: message_start\ndata: {"a":\ndata: 1}\n\n',
    b"event: ping\r\ndata: {}\r\n\r\n",
    b"id: 7\rretry: 5\rdata: cr\r\r",
    b"data: last\n\n",
]


def fed(splitter: SseEvents | Lines, data: bytes, size: int) -> list[bytes]:
    out: list[bytes] = []
    for i in range(0, len(data), size):
        out += splitter.feed(data[i : i + size])
    return out


@pytest.mark.parametrize("size", [1, 2, 3, 7, 16, len(STREAM)])
def test_events_are_the_exact_bytes_whatever_the_pieces(size: int) -> None:
    events = SseEvents()
    assert fed(events, STREAM, size) == EVENTS
    assert events.rest() == b""


def test_an_unfinished_event_is_the_rest() -> None:
    events = SseEvents()
    assert events.feed(b"data: a\n\ndata: b\n") == [b"data: a\n\n"]
    assert events.rest() == b"data: b\n"
    assert events.rest() == b""


def test_a_cr_at_the_end_of_a_piece_waits_for_what_follows() -> None:
    events = SseEvents()
    assert events.feed(b"data: a\r\n\r") == []
    assert events.feed(b"\ndata: b\n\n") == [b"data: a\r\n\r\n", b"data: b\n\n"]


@pytest.mark.parametrize(
    ("frame", "fields"),
    [
        (EVENTS[0], ("", b"")),
        (EVENTS[1], ("message_start", b'{"a":\n1}')),
        (EVENTS[2], ("ping", b"{}")),
        (EVENTS[3], ("", b"cr")),
        (b"event:x\ndata:no space\n\n", ("x", b"no space")),
        (b"data:  two spaces\n\n", ("", b" two spaces")),
    ],
)
def test_sse_fields(frame: bytes, fields: tuple[str, bytes]) -> None:
    assert sse_fields(frame) == fields


@pytest.mark.parametrize("size", [1, 2, 5, 64])
def test_lines_whatever_the_pieces_and_line_endings(size: int) -> None:
    lines = Lines()
    body = b'{"a": 1}\n{"b": 2}\r\n\r\n{"c": 3}\r{"d"'
    assert fed(lines, body, size) == [b'{"a": 1}', b'{"b": 2}', b"", b'{"c": 3}']
    assert lines.rest() == b'{"d"'
