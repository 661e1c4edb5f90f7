"""Keep-alives while a writer holds a tool call's arguments: Anthropic's ping, a comment for Responses."""

from __future__ import annotations

import msgspec

from tiergate.protocols.anthropic import StreamWriter as MessagesWriter
from tiergate.protocols.anthropic.common import PING
from tiergate.protocols.quiet import SSE_COMMENT, Quiet
from tiergate.protocols.responses import StreamWriter as ResponsesWriter
from tiergate.wire import ChatRequest, ToolCallArgs, ToolCallStart


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


def test_held_arguments_send_a_keep_alive_in_each_dialect_after_ten_quiet_seconds() -> None:
    for writer_of, keep_alive in (
        (lambda q: MessagesWriter("msg_1", "qwen", request=chat(), quiet=q), PING),
        (lambda q: ResponsesWriter("resp_1", 1, "qwen", request=chat(), quiet=q), SSE_COMMENT),
    ):
        clock = Clock()
        writer = writer_of(Quiet(every=10, clock=clock))
        assert writer.start()  # message_start, or response.created: bytes the client heard
        writer.event(ToolCallStart(0, "call_1", "Write"))
        held = []
        for _ in range(25):  # a piece of a long file every second
            clock.now += 1
            held.append(writer.event(ToolCallArgs(0, '{"content": "x"')))
        assert held == [None] * 9 + [keep_alive] + [None] * 9 + [keep_alive] + [None] * 5
