"""One line or event holds at most MAX_UNIT_BYTES: exactly that many passes, one byte more fails, whether the
unit ended or is still coming; the units before it are handed over whatever the pieces, and the error says
the cap, never the bytes."""

from __future__ import annotations

import pytest

from tiergate.protocols import framing
from tiergate.protocols.framing import MAX_UNIT_BYTES, Lines, SseEvents, TooLong

PIECE = 1024 * 1024


def fed(splitter: Lines | SseEvents, data: bytes) -> list[bytes]:
    out: list[bytes] = []
    for i in range(0, len(data), PIECE):
        out += splitter.feed(data[i : i + PIECE])
    return out


def event(size: int) -> bytes:
    """An event of exactly ``size`` bytes, with the blank line that ends it."""
    return b"data: " + b"a" * (size - 8) + b"\n\n"


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_a_line_of_the_cap_passes(ending: bytes) -> None:
    line = b"a" * MAX_UNIT_BYTES
    assert fed(Lines(), line + ending + b"next") == [line]
    assert Lines().feed(line + ending) == [line]  # in one piece


def test_an_unended_line_one_byte_past_the_cap_fails() -> None:
    lines = Lines()
    assert fed(lines, b"a" * MAX_UNIT_BYTES) == []
    with pytest.raises(TooLong) as info:
        lines.feed(b"a")
    assert str(info.value) == f"one line passed the {MAX_UNIT_BYTES}-byte cap"
    assert (info.value.unit, info.value.limit) == ("line", MAX_UNIT_BYTES)


@pytest.mark.parametrize("split", [None, -10, 3], ids=["one-piece", "ended-in-the-next-piece", "pieces"])
def test_an_ended_line_one_byte_past_the_cap_fails_after_the_lines_before_it(split: int | None) -> None:
    body = b"ok\n" + b"a" * (MAX_UNIT_BYTES + 1) + b"\nlater\n"
    lines = Lines()
    pieces = [body] if split is None else [body[:split], body[split:]]
    got: list[bytes] = []
    with pytest.raises(TooLong):
        for piece in pieces:
            got += lines.feed(piece)
        lines.feed(b"more\n")
    assert got == [b"ok"]
    with pytest.raises(TooLong):
        lines.rest()  # the body's end does not hand over what was too long either


def test_an_event_of_the_cap_passes() -> None:
    assert fed(SseEvents(), event(MAX_UNIT_BYTES) + b"data: next") == [event(MAX_UNIT_BYTES)]
    assert SseEvents().feed(event(MAX_UNIT_BYTES)) == [event(MAX_UNIT_BYTES)]


@pytest.mark.parametrize("in_pieces", [False, True], ids=["one-piece", "in-pieces"])
def test_an_ended_event_one_byte_past_the_cap_fails_after_the_events_before_it(in_pieces: bool) -> None:
    events = SseEvents()
    body = b"data: ok\n\n" + event(MAX_UNIT_BYTES + 1) + b"data: later\n\n"
    with pytest.raises(TooLong) as info:
        got = fed(events, body) if in_pieces else events.feed(body)
        assert got == [b"data: ok\n\n"]
        events.feed(b"data: more\n\n")
    assert str(info.value) == f"one event passed the {MAX_UNIT_BYTES}-byte cap"
    with pytest.raises(TooLong):
        events.rest()


def test_an_unended_event_of_short_lines_fails_one_byte_past_the_cap() -> None:
    """No line is long: the event never ends."""
    events = SseEvents()
    assert fed(events, b"data: x\n" * (MAX_UNIT_BYTES // 8)) == []
    with pytest.raises(TooLong):
        events.feed(b"d")


def test_the_count_starts_again_at_each_unit() -> None:
    lines, events = Lines(), SseEvents()
    for _ in range(3):
        assert fed(lines, b"a" * MAX_UNIT_BYTES + b"\n") == [b"a" * MAX_UNIT_BYTES]
        assert fed(events, event(MAX_UNIT_BYTES)) == [event(MAX_UNIT_BYTES)]
    assert fed(lines, b"a" * MAX_UNIT_BYTES) == []
    assert lines.rest() == b"a" * MAX_UNIT_BYTES
    assert fed(lines, b"a" * MAX_UNIT_BYTES) == []


def test_the_cap_is_read_when_a_splitter_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    lines, events = Lines(), SseEvents()
    monkeypatch.setattr(framing, "MAX_UNIT_BYTES", 10)
    assert lines.feed(b"a" * 11 + b"\n") == [b"a" * 11]  # made before: the cap it read
    assert events.feed(event(11)) == [event(11)]
    assert Lines().feed(b"a" * 10 + b"\n") == [b"a" * 10]
    with pytest.raises(TooLong, match="10-byte cap"):
        Lines().feed(b"a" * 11)
    with pytest.raises(TooLong, match="10-byte cap"):
        SseEvents().feed(event(11))
