"""Keep-alives while a writer holds a tool call's arguments: Anthropic's ping, ``response.in_progress``
again for Responses (Codex's idle timer counts events and skips comment lines)."""

from __future__ import annotations

import json
from typing import Any

import httpx2  # the HTTP library under the openai SDK 3.x
import msgspec
import openai

from tiergate.protocols.anthropic import StreamWriter as MessagesWriter
from tiergate.protocols.anthropic.common import PING
from tiergate.protocols.quiet import Quiet
from tiergate.protocols.responses import StreamWriter as ResponsesWriter
from tiergate.protocols.responses import decode
from tiergate.wire import ChatRequest, Finish, TextDelta, ToolCallArgs, ToolCallStart


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def chat() -> ChatRequest:
    return msgspec.convert({"model": "auto", "messages": [{"role": "user", "content": "write it"}]}, ChatRequest)


def test_quiet_is_due_after_its_seconds_without_a_byte() -> None:
    clock = Clock()
    quiet = Quiet(every=10, clock=clock)
    clock.now += 9.9
    assert not quiet.due()
    clock.now += 0.1
    assert quiet.due()
    assert not quiet.due()  # the keep-alive it allowed counts as written
    clock.now += 8
    quiet.wrote()
    clock.now += 9
    assert not quiet.due()


def held(writer: Any, clock: Clock) -> list[bytes | None]:
    """25 argument pieces of one long call, a second apart, after the stream's start."""
    assert writer.start()  # message_start, or response.created: bytes the client heard
    writer.event(ToolCallStart(0, "call_1", "Write"))
    out = []
    for _ in range(25):
        clock.now += 1
        out.append(writer.event(ToolCallArgs(0, '{"content": "x"')))
    return out


def test_held_arguments_send_a_ping_to_a_messages_client_after_ten_quiet_seconds() -> None:
    clock = Clock()
    got = held(MessagesWriter("msg_1", "qwen", request=chat(), quiet=Quiet(every=10, clock=clock)), clock)
    assert got == [None] * 9 + [PING] + [None] * 9 + [PING] + [None] * 5


def test_held_arguments_send_response_in_progress_with_the_output_so_far() -> None:
    clock = Clock()
    writer = ResponsesWriter("resp_1", 1, "qwen", request=chat(), quiet=Quiet(every=10, clock=clock))
    got = held(writer, clock)
    assert [i for i, frame in enumerate(got) if frame] == [9, 19]
    name, data = got[9].decode().split("\n", 2)[:2]  # type: ignore[union-attr]
    event = json.loads(data.removeprefix("data: "))
    assert name == "event: response.in_progress"
    assert (event["response"]["id"], event["response"]["status"], event["response"]["output"]) == (
        "resp_1",
        "in_progress",
        [],
    )


def test_the_sdk_reads_a_stream_with_keep_alives_and_a_call_without_arguments() -> None:
    """The openai SDK merges a repeated response.in_progress into its snapshot; a call whose upstream sent
    no arguments at all reaches the client as "{}", which Codex can parse."""

    def handler(http: httpx2.Request) -> httpx2.Response:
        clock = Clock()
        writer = ResponsesWriter("resp_1", 1, "m", request=decode(http.content), quiet=Quiet(every=1, clock=clock))
        stream = writer.start() + (writer.event(TextDelta("Saving.")) or b"")
        stream += writer.event(ToolCallStart(0, "call_1", "save")) or b""
        stream += writer.event(ToolCallStart(1, "call_2", "exec_command")) or b""
        for piece in ('{"cmd":', '"ls"}'):
            clock.now += 2
            stream += writer.event(ToolCallArgs(1, piece)) or b""
        stream += (writer.event(Finish("tool_calls")) or b"") + writer.end()
        assert stream.count(b"event: response.in_progress\n") == 3  # the start's, and two keep-alives
        return httpx2.Response(200, content=stream, headers={"content-type": "text/event-stream"})

    client = openai.OpenAI(
        api_key="sk-test",
        base_url="http://tiergate.test/v1",
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )
    tools: Any = [{"type": "function", "name": n, "parameters": {"type": "object"}} for n in ("save", "exec_command")]
    with client.responses.stream(model="auto", input="save it", tools=tools) as stream:
        final = stream.get_final_response()
    assert final.output_text == "Saving."
    calls = [(item.name, item.arguments) for item in final.output if item.type == "function_call"]
    assert calls == [("save", "{}"), ("exec_command", '{"cmd":"ls"}')]


def test_a_whole_answer_gives_a_call_without_arguments_an_empty_object() -> None:
    from tiergate.protocols.responses import whole
    from tiergate.wire import Completion, FunctionCall, ToolCall

    call = ToolCall(id="call_1", function=FunctionCall(name="save", arguments=""))
    payload = whole(
        Completion(None, tool_calls=[call], finish_reason="tool_calls"), id="r", created=1, model="m", request=chat()
    )
    assert [item["arguments"] for item in payload["output"]] == ["{}"]
