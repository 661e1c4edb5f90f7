"""Blank stop sequences (refused by Anthropic) are emulated: the answer is cut at the first one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tiergate.protocols.stops import StopScanner, cut_completion, is_blank, split_stops, stop_emulated
from tiergate.wire import (
    Completion,
    Finish,
    FunctionCall,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallArgs,
    ToolCallStart,
    Usage,
    UsageReport,
)


def test_blank_stops_are_held_back_and_the_rest_sent() -> None:
    assert split_stops(["\n\n", "END", " ", "", "\t"], refuses=is_blank) == (["END"], ["\n\n", " ", "\t"])


def test_a_whole_answer_is_cut_at_the_earliest_stop() -> None:
    call = ToolCall(id="c", function=FunctionCall("f", "{}"))
    whole = Completion("one\ntwo\n\nthree", tool_calls=[call], finish_reason="tool_calls")
    assert cut_completion(whole, ["\n\n", "\n"]) == Completion("one", finish_reason="stop")
    assert cut_completion(Completion("no stop here"), ["\n\n"]) == Completion("no stop here")


@pytest.mark.parametrize(
    ("pieces", "emitted", "stopped"),
    [
        (["ab\n", "\ncd"], ["ab", ""], True),  # a stop spanning two pieces
        (["ab", "cd"], ["a", "bc"], False),  # one character held back while a stop could still begin
        (["\n\nx"], [""], True),
    ],
)
def test_the_scanner_finds_stops_across_pieces(pieces: list[str], emitted: list[str], stopped: bool) -> None:
    scanner = StopScanner(["\n\n"])
    got = [scanner.feed(p) for p in pieces]
    assert [text for text, _ in got] == emitted
    assert got[-1][1] is stopped


async def events(*items: StreamEvent) -> AsyncIterator[StreamEvent]:
    for item in items:
        yield item


@pytest.mark.asyncio
async def test_a_stream_ends_at_the_stop_and_reads_no_further() -> None:
    read: list[StreamEvent] = []

    async def upstream() -> AsyncIterator[StreamEvent]:
        for item in [UsageReport(Usage.of(5, 1)), TextDelta("a\n"), TextDelta("\nb"), TextDelta("never")]:
            read.append(item)
            yield item

    out = [e async for e in stop_emulated(upstream(), ["\n\n"])]
    assert out == [TextDelta("a"), Finish("stop"), UsageReport(Usage.of(5, 1))]
    assert TextDelta("never") not in read


@pytest.mark.asyncio
async def test_a_stream_cut_before_its_report_ends_with_the_count_so_far_as_a_partial_report() -> None:
    """Claude reports its usage after the last text: at the cut, what it had counted (message_start's) goes."""
    so_far = Usage.of(150, 1, cached=50)
    upstream = events(TextDelta("a\n"), TextDelta("\nb"), Finish("stop"), UsageReport(Usage.of(150, 9, cached=50)))
    out = [e async for e in stop_emulated(upstream, ["\n\n"], counted=lambda: so_far)]
    assert out == [TextDelta("a"), Finish("stop"), UsageReport(so_far, partial=True)]
    nothing_yet = [e async for e in stop_emulated(events(TextDelta("a\n\n")), ["\n\n"], counted=lambda: None)]
    assert nothing_yet == [TextDelta("a"), Finish("stop")]


@pytest.mark.asyncio
async def test_without_a_stop_the_held_back_text_comes_before_the_finish() -> None:
    out = [e async for e in stop_emulated(events(TextDelta("ab"), TextDelta("c\n"), Finish("length")), ["\n\n"])]
    assert "".join(e.text for e in out if isinstance(e, TextDelta)) == "abc\n"
    assert out[-1] == Finish("length")


@pytest.mark.asyncio
async def test_the_held_back_text_comes_before_a_tool_call() -> None:
    upstream = events(
        TextDelta("Checking."),
        ToolCallStart(0, "call_1", "get_weather"),
        ToolCallArgs(0, '{"city":"Oslo"}'),
        Finish("tool_calls"),
        UsageReport(Usage.of(5, 1)),
    )
    assert [e async for e in stop_emulated(upstream, ["\n\n"])] == [
        TextDelta("Checking"),
        TextDelta("."),
        ToolCallStart(0, "call_1", "get_weather"),
        ToolCallArgs(0, '{"city":"Oslo"}'),
        Finish("tool_calls"),
        UsageReport(Usage.of(5, 1)),
    ]
