"""The Ollama codec's check of a required tool call (Ollama has no ``tool_choice``): which requests require one,
a whole answer without one refused, a stream held until its first call and refused when it ends without one or
calls another tool than the one named; a call to a tool the request does not declare passes."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from tiergate.errors import UpstreamCapabilityError
from tiergate.protocols import ollama
from tiergate.wire import (
    ChatRequest,
    Finish,
    ReasoningDelta,
    TextDelta,
    ToolCallArgs,
    ToolCallStart,
    Usage,
    UsageReport,
)

URL = "http://ollama.test:11434"
DETAIL = "the model answered without a tool call, which tool_choice requires (Ollama cannot force one)"
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}
NAMED = {"type": "function", "function": {"name": "get_weather"}}


def chat(**fields: Any) -> ChatRequest:
    fields.setdefault("messages", [{"role": "user", "content": "hi"}])
    return msgspec.convert(fields, ChatRequest)


REQUIRED = ollama.call_rule(chat(tools=[WEATHER], tool_choice="required"))


def line(
    content: str = "", *, calls: list[str] | None = None, done: bool = False, thinking: str | None = None
) -> bytes:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = [{"function": {"name": name, "arguments": {"city": "Paris"}}} for name in calls]
    if thinking is not None:
        message["thinking"] = thinking
    part: dict[str, Any] = {"model": "qwen", "message": message, "done": done}
    if done:
        part |= {"done_reason": "stop", "prompt_eval_count": 11, "eval_count": 7}
    return json.dumps(part).encode()


@pytest.mark.parametrize(
    ("fields", "required"),
    [
        ({"tools": [WEATHER], "tool_choice": "required"}, True),  # also Anthropic's any, Responses' required
        ({"tools": [WEATHER], "tool_choice": NAMED}, True),  # also Anthropic's {type: tool}
        ({"tools": [WEATHER], "tool_choice": "auto"}, False),
        ({"tools": [WEATHER]}, False),
        ({"tools": [WEATHER], "tool_choice": "none"}, False),
        ({"tool_choice": "required"}, False),  # no tools offered: nothing to call
        ({"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "other"}}}, False),
        ({"tools": [WEATHER], "tool_choice": "required", "suffix": ""}, False),  # /api/generate: no tools
    ],
)
def test_which_requests_require_a_tool_call(fields: dict[str, Any], required: bool) -> None:
    assert ollama.tool_call_required(chat(**fields)) is required


def test_a_whole_answer_without_a_call_is_refused_and_one_with_a_call_passes() -> None:
    body = line("It is sunny.", done=True)
    with pytest.raises(UpstreamCapabilityError) as caught:
        ollama.whole_answer("local", URL, body, calls=REQUIRED)
    error = caught.value
    assert (error.message, error.status, error.code, error.kind) == (
        f"backend 'local' at {URL}: {DETAIL}",
        502,
        "tool_call_missing",
        "capability",
    )
    assert (error.fallback_ok, error.retryable, error.trips_breaker) == (True, False, False)
    assert ollama.reported_usage(body) == Usage.of(11, 7)
    assert ollama.whole_answer("local", URL, body).content == "It is sunny."  # not required: as it was
    called = ollama.whole_answer("local", URL, line("ok", calls=["get_weather"], done=True), calls=REQUIRED)
    assert [c.function.name for c in called.tool_calls] == ["get_weather"] and called.content == "ok"


def test_a_stream_is_held_until_its_first_call_then_flows() -> None:
    reader = ollama.StreamReader("local", URL, calls=REQUIRED)
    assert reader.feed(line(thinking="hmm")) == []
    assert reader.feed(line("Let me ")) == []
    assert reader.feed(line("check.")) == []
    flushed = reader.feed(line(calls=["get_weather"]))
    assert flushed[:3] == [ReasoningDelta("hmm"), TextDelta("Let me "), TextDelta("check.")]
    assert [type(e) for e in flushed[3:]] == [ToolCallStart, ToolCallArgs]
    assert reader.feed(line(" Done.")) == [TextDelta(" Done.")]  # after the call: as it comes
    assert reader.feed(line(done=True)) == [Finish("tool_calls"), UsageReport(Usage.of(11, 7))]
    assert reader.done and reader.counted is None


def test_a_stream_that_ends_without_a_call_is_refused_with_what_it_counted() -> None:
    reader = ollama.StreamReader("local", URL, calls=REQUIRED)
    assert reader.feed(line("It is ")) == [] and reader.feed(line("sunny.")) == []
    with pytest.raises(UpstreamCapabilityError) as caught:
        reader.feed(line(done=True))
    assert caught.value.message == f"backend 'local' at {URL}: {DETAIL}"
    assert not reader.done and reader.counted == Usage.of(11, 7)


def test_a_stream_whose_done_line_carries_the_call_passes() -> None:
    reader = ollama.StreamReader("local", URL, calls=REQUIRED)
    assert reader.feed(line("ok")) == []
    events = reader.feed(line(calls=["get_weather"], done=True))
    assert events[0] == TextDelta("ok") and events[-2:] == [Finish("tool_calls"), UsageReport(Usage.of(11, 7))]


def test_a_stream_whose_first_call_is_another_tool_than_the_named_one_is_refused_with_nothing_said() -> None:
    reader = ollama.StreamReader("local", URL, calls=ollama.call_rule(chat(tools=[WEATHER, TIME], tool_choice=NAMED)))
    assert reader.feed(line("Let me check.")) == []
    with pytest.raises(UpstreamCapabilityError) as caught:
        reader.feed(line(calls=["get_time"]))
    assert caught.value.code == "tool_call_missing" and not reader.done


@pytest.mark.parametrize("choice", ["auto", "required"])
def test_a_call_to_an_undeclared_tool_passes_as_it_came(choice: str) -> None:
    """The client answers it as a tool it does not have: whole and streamed, beside the declared call."""
    rule = ollama.call_rule(chat(tools=[WEATHER], tool_choice=choice))
    body = line("Let me check.", calls=["get_weather", "run_shell"], done=True)
    completion = ollama.whole_answer("local", URL, body, calls=rule)
    assert [c.function.name for c in completion.tool_calls] == ["get_weather", "run_shell"]
    assert (completion.content, completion.finish_reason) == ("Let me check.", "tool_calls")
    reader = ollama.StreamReader("local", URL, calls=rule)
    events = reader.feed(line("Let me check.")) + reader.feed(line(calls=["get_weather", "run_shell"], done=True))
    said = [e.text if isinstance(e, TextDelta) else e.name for e in events if isinstance(e, TextDelta | ToolCallStart)]
    assert said == ["Let me check.", "get_weather", "run_shell"] and reader.done
