"""Responses ``usage`` when the upstream counted nothing: the estimate spend charges, marked, never null.

Codex reads the ``usage`` of ``response.completed`` for its token counts and compacts its context by its
``total_tokens``; null there let a long session on a local model run past the window.
"""

from __future__ import annotations

import json
from typing import Any

from tests.unit.protocols.test_openai_usage import EVENTS, WHOLE  # 22 characters of answer: 6 tokens
from tiergate.errors import TiergateError
from tiergate.protocols.responses import StreamWriter, decode, whole
from tiergate.telemetry.usage import Meter
from tiergate.wire import Completion, Finish, StreamEvent, TextDelta, Usage, UsageReport

ASK = "x" * 40  # 10 tokens
REQUEST = decode(json.dumps({"model": "auto", "input": ASK}).encode())


def usage(input: int, output: int, **extra: Any) -> dict[str, Any]:
    return {
        "input_tokens": input,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input + output,
        **extra,
    }


ESTIMATE = usage(len(ASK) // 4, (22 + 3) // 4, estimated=True)
COUNTED = usage(3, 4)


def frames(data: bytes) -> dict[str, dict[str, Any]]:
    """Each event's ``response`` by the event's type."""
    out: dict[str, dict[str, Any]] = {}
    for frame in data.split(b"\n\n"):
        if frame:
            event = json.loads(frame.split(b"\ndata: ", 1)[1])
            out[event["type"]] = event.get("response", event)
    return out


def test_a_whole_answer_without_a_count_reports_the_estimate() -> None:
    payload = whole(WHOLE, id="resp_1", created=1, model="m", request=REQUEST)
    assert payload["status"] == "completed" and payload["usage"] == ESTIMATE


def test_a_cut_whole_answer_without_a_count_reports_the_estimate() -> None:
    completion = Completion("y" * 9, finish_reason="length")
    payload = whole(completion, id="resp_1", created=1, model="m", request=REQUEST)
    assert payload["status"] == "incomplete" and payload["usage"] == usage(10, 3, estimated=True)


def test_a_whole_answer_with_a_count_reports_it_unmarked() -> None:
    payload = whole(Completion("abcd", usage=Usage.of(3, 4)), id="resp_1", created=1, model="m", request=REQUEST)
    assert payload["usage"] == COUNTED


def test_a_stream_without_a_count_completes_with_the_estimate_it_is_charged() -> None:
    writer = StreamWriter("resp_1", 1, "m", request=REQUEST)
    meter = Meter(REQUEST)
    out = writer.start()
    for event in EVENTS:
        meter.see(event)
        out += writer.event(event) or b""
    out += writer.end()
    sent = frames(out)
    assert sent["response.completed"]["usage"] == ESTIMATE
    assert sent["response.created"]["usage"] is None and sent["response.in_progress"]["usage"] is None
    charged, estimated = meter.charged(writer.usage, whole=True)
    assert (charged.prompt_tokens, charged.completion_tokens, estimated) == (10, 6, True)
    assert writer.usage is None  # the request record keeps the upstream's own count: none


def test_a_cut_stream_without_a_count_ends_incomplete_with_the_estimate() -> None:
    writer = StreamWriter("resp_1", 1, "m", request=REQUEST)
    cut: list[StreamEvent] = [TextDelta("y" * 5), TextDelta("y" * 4), Finish("length")]
    out = writer.start()
    for event in cut:
        out += writer.event(event) or b""
    assert frames(out + writer.end())["response.incomplete"]["usage"] == usage(10, 3, estimated=True)


def test_a_stream_with_a_count_completes_with_it_unmarked() -> None:
    writer = StreamWriter("resp_1", 1, "m", request=REQUEST)
    for event in [*EVENTS, UsageReport(Usage.of(3, 4))]:
        writer.event(event)
    assert frames(writer.end())["response.completed"]["usage"] == COUNTED
    assert writer.usage == Usage.of(3, 4)


def test_a_partial_count_completes_with_its_input_and_the_output_estimate_marked() -> None:
    """A count the upstream made before tiergate cut its stream (an emulated stop) has its input, not its output."""
    writer = StreamWriter("resp_1", 1, "m", request=REQUEST)
    for event in [*EVENTS, UsageReport(Usage.of(150, 1, cached=50), partial=True)]:
        writer.event(event)
    sent = frames(writer.end())["response.completed"]["usage"]
    cached = {"cached_tokens": 50, "cache_write_tokens": 0}
    assert sent == {**usage(150, 6, estimated=True), "input_tokens_details": cached}
    assert writer.usage is None  # no final count: the record keeps the call's own (dispatch's)


def test_a_failed_stream_claims_no_count() -> None:
    writer = StreamWriter("resp_1", 1, "m", request=REQUEST)
    writer.start()
    writer.event(TextDelta("abcd"))
    failed = frames(writer.error(TiergateError("upstream went away")))["response.failed"]
    assert failed["status"] == "failed" and failed["usage"] is None
