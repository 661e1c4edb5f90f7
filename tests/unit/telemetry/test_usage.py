"""What an answer is charged: the upstream's count, or characters / 4 where it gave none."""

from __future__ import annotations

from tiergate.telemetry.usage import Meter
from tiergate.wire import (
    ChatRequest,
    Completion,
    Finish,
    FunctionCall,
    Message,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolCallArgs,
    ToolCallStart,
    Usage,
    UsageReport,
)

# 40 characters of user text: 10 tokens.
REQUEST = ChatRequest(model="auto", messages=[Message(role="user", content="x" * 40)])


def test_an_upstream_count_is_charged_as_it_came() -> None:
    meter = Meter(REQUEST)
    for event in (TextDelta("hello"), Finish("stop"), UsageReport(Usage.of(7, 3))):
        meter.see(event)
    assert meter.charged(whole=True) == (Usage.of(7, 3), False)


def test_no_count_charges_the_request_and_every_kind_of_output() -> None:
    meter = Meter(REQUEST)
    # 4 + 4 + 5 + 9 = 22 characters: 6 tokens, rounded up
    for event in (
        TextDelta("abcd"),
        ReasoningDelta("efgh"),
        ToolCallStart(0, "c1", "write"),
        ToolCallArgs(0, '{"a": 12}'),
        Finish("tool_calls"),
    ):
        meter.see(event)
    assert meter.charged(whole=True) == (Usage.of(10, 6), True)


def test_a_stream_cut_short_is_charged_at_least_what_it_sent() -> None:
    meter = Meter(REQUEST)
    meter.see(TextDelta("y" * 80))  # 20 tokens sent before the cut
    # Anthropic's message_start counted the input exactly and 1 output token: the input is kept
    partial = Usage.of(11, 1)
    assert meter.charged(partial, whole=False) == (Usage.of(11, 20), True)
    # and with no count at all, both halves are estimates
    assert meter.charged(whole=False) == (Usage.of(10, 20), True)


def test_a_stream_cut_short_after_its_final_count_is_charged_that_count() -> None:
    meter = Meter(REQUEST)
    meter.see(TextDelta("y" * 8))
    meter.see(UsageReport(Usage.of(12, 30)))
    assert meter.charged(whole=False) == (Usage.of(12, 30), False)


def test_a_count_from_a_call_cut_short_is_topped_up_with_what_was_sent_even_when_the_stream_ended_whole() -> None:
    """A stream that ended at an emulated stop closed its upstream before the output was counted: the count
    the backend had read (message_start's) is the input, the output is at least what was sent."""
    meter = Meter(REQUEST)
    meter.see(TextDelta("y" * 80))
    counted = Usage.of(10_000, 1, cached=9_800)
    assert meter.charged(whole=True, counted=counted) == (Usage.of(10_000, 20, cached=9_800), True)
    meter.see(UsageReport(Usage.of(10_000, 30, cached=9_800)))  # a report that came wins
    assert meter.charged(whole=True, counted=counted) == (Usage.of(10_000, 30, cached=9_800), False)


def test_a_partial_report_is_no_final_count() -> None:
    """A stream ended at an emulated stop reports message_start's count as partial: the charge is still that
    count topped up with what was sent, as when no report came."""
    meter = Meter(REQUEST)
    meter.see(TextDelta("y" * 80))
    counted = Usage.of(10_000, 1, cached=9_800)
    meter.see(UsageReport(counted, partial=True))
    assert meter.reported is None
    assert meter.charged(whole=True, counted=counted) == (Usage.of(10_000, 20, cached=9_800), True)


def test_a_whole_answer_without_usage_is_estimated_from_its_content() -> None:
    call = ToolCall(id="c1", function=FunctionCall(name="ls", arguments="{}"))  # 4 characters
    meter = Meter(REQUEST)
    meter.see_whole(Completion(content="z" * 36, tool_calls=[call], usage=None))
    assert meter.charged(whole=True) == (Usage.of(10, 10), True)
    counted = Meter(REQUEST)
    counted.see_whole(Completion(content="z", usage=Usage.of(3, 1)))
    assert counted.charged(whole=True) == (Usage.of(3, 1), False)


def test_the_request_estimate_counts_tool_definitions() -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {}}}
    with_tool = ChatRequest(model="auto", messages=REQUEST.messages, tools=[tool])
    assert with_tool.estimated_tokens() > REQUEST.estimated_tokens() == 10
