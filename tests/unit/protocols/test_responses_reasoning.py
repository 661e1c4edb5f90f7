"""Claude's signed thinking through the Responses codec and back to Anthropic: the encoding, the stream
translator's sealed blocks (redacted ones too), the writer's reasoning item, and the assistant turn."""

from __future__ import annotations

import json
from typing import Any

from tiergate.protocols.anthropic import StreamTranslator, to_messages_body
from tiergate.protocols.openai.upstream import chat_body
from tiergate.protocols.responses import StreamWriter, decode, whole
from tiergate.protocols.responses.reasoning import PREFIX, seal, unseal
from tiergate.wire import Completion, Finish, ReasoningDelta, Thinking, ToolCallStart

SIGNED = Thinking(thinking="Plan.", signature="EqQBsig")
REDACTED = Thinking(data="EmwKAhgBredacted")
CALL = {"type": "function_call", "call_id": "call_1", "name": "ls", "arguments": "{}"}
OUTPUT = {"type": "function_call_output", "call_id": "call_1", "output": "a"}
USER = {"role": "user", "content": "hi"}
TOOLS = [{"type": "function", "name": "ls", "parameters": {"type": "object"}}]


def body(**fields: Any) -> bytes:
    return json.dumps({"model": "sonnet", "include": ["reasoning.encrypted_content"], **fields}).encode()


def reasoning(*blocks: Thinking) -> dict[str, Any]:
    return {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": seal(blocks)}


def test_seal_round_trips_and_refuses_what_it_did_not_write() -> None:
    assert unseal(seal([SIGNED, REDACTED])) == [SIGNED, REDACTED]
    for content in (None, 3, "gAAAAB-openai", PREFIX, PREFIX + "%%%", PREFIX + "W10=", PREFIX + "é"):
        assert unseal(content) is None
    unsigned = seal([Thinking(thinking="Plan.")])
    both = seal([Thinking(thinking="x", signature="s", data="d")])
    assert unseal(unsigned) is None and unseal(both) is None


def test_the_translator_seals_thinking_and_redacted_blocks() -> None:
    translator = StreamTranslator("claude", "http://upstream")
    frames: list[tuple[str, dict[str, Any]]] = [
        ("content_block_start", {"index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
        ("content_block_delta", {"index": 0, "delta": {"type": "thinking_delta", "thinking": "Pl"}}),
        ("content_block_delta", {"index": 0, "delta": {"type": "thinking_delta", "thinking": "an."}}),
        ("content_block_delta", {"index": 0, "delta": {"type": "signature_delta", "signature": "EqQBsig"}}),
        ("content_block_stop", {"index": 0}),
        ("content_block_start", {"index": 1, "content_block": {"type": "redacted_thinking", "data": REDACTED.data}}),
        ("content_block_stop", {"index": 1}),
    ]
    events = [e for name, data in frames for e in translator.feed(name, json.dumps({"type": name, **data}))]
    assert events == [
        ReasoningDelta("Pl"),
        ReasoningDelta("an."),
        ReasoningDelta("", sealed=SIGNED),
        ReasoningDelta("", sealed=REDACTED),
    ]


def test_redacted_thinking_alone_is_a_reasoning_item_without_a_summary() -> None:
    writer = StreamWriter("resp_1", 1, "claude", request=decode(body(input="hi")))
    out = writer.start() + (writer.event(ReasoningDelta("", sealed=REDACTED)) or b"")
    out += (writer.event(ToolCallStart(0, "call_1", "ls")) or b"") + (writer.event(Finish("tool_calls")) or b"")
    out += writer.end()
    events = [json.loads(f.split(b"data: ", 1)[1]) for f in out.split(b"\n\n") if f]
    assert [e["type"] for e in events[2:4]] == ["response.output_item.added", "response.output_item.done"]
    assert events[3]["item"] == {
        "type": "reasoning",
        "id": "rs_1_0",
        "summary": [],
        "encrypted_content": seal([REDACTED]),
    }


def test_without_include_the_writer_and_whole_hand_out_no_thinking() -> None:
    request = decode(json.dumps({"model": "sonnet", "input": "hi", "reasoning": {"summary": "auto"}}).encode())
    writer = StreamWriter("resp_1", 1, "claude", request=request)
    assert writer.event(ReasoningDelta("", sealed=SIGNED)) is None
    payload = whole(
        Completion("ok", reasoning="Plan.", thinking=[SIGNED]), id="resp_1", created=1, model="c", request=request
    )
    assert payload["output"][0] == {
        "type": "reasoning",
        "id": "rs_1_0",
        "summary": [{"type": "summary_text", "text": "Plan."}],
    }


def test_reasoning_items_give_the_next_assistant_message_its_thinking() -> None:
    r = decode(body(input=[USER, reasoning(SIGNED), reasoning(REDACTED), CALL, OUTPUT], tools=TOOLS))
    assert [m.role for m in r.messages] == ["user", "assistant", "tool"]
    assert r.messages[1].thinking == [SIGNED, REDACTED]
    # A reasoning item after the assistant's text joins that message; one that no assistant item follows
    # is dropped with its run, and never makes an empty assistant message.
    assistant = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Look."}]}
    r = decode(body(input=[assistant, reasoning(SIGNED), CALL, OUTPUT, reasoning(REDACTED), USER], tools=TOOLS))
    assert [(m.role, m.thinking) for m in r.messages] == [
        ("assistant", [SIGNED]),
        ("tool", None),
        ("user", None),
    ]


def test_thinking_leads_the_loops_assistant_turn_only_while_thinking_is_on() -> None:
    r = decode(body(input=[USER, reasoning(SIGNED, REDACTED), CALL, OUTPUT], tools=TOOLS, reasoning={"effort": "low"}))
    sent = to_messages_body(r, "claude-x", default_max_tokens=4096, thinking_supported=True)
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert sent["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "Plan.", "signature": "EqQBsig"},
        {"type": "redacted_thinking", "data": REDACTED.data},
        {"type": "tool_use", "id": "call_1", "name": "ls", "input": {}},
    ]
    off = to_messages_body(r, "claude-x", default_max_tokens=4096, thinking_supported=False)
    assert "thinking" not in off and [b["type"] for b in off["messages"][1]["content"]] == ["tool_use"]
    # tiergate's own signature (a local model's reasoning) is no signature Anthropic can verify: thinking off.
    r.messages[1].thinking = [Thinking(thinking="local", signature="tiergate.abc")]
    mine = to_messages_body(r, "claude-x", default_max_tokens=4096, thinking_supported=True)
    assert "thinking" not in mine and [b["type"] for b in mine["messages"][1]["content"]] == ["tool_use"]


def test_an_openai_compatible_upstream_is_never_sent_the_thinking() -> None:
    r = decode(body(input=[USER, reasoning(SIGNED), CALL, OUTPUT], tools=TOOLS))
    assert r.messages[1].thinking == [SIGNED]
    sent = json.loads(chat_body(r, "qwen", stream=False))
    assert sent["messages"][1] == {
        "role": "assistant",
        "tool_calls": [{"id": "call_1", "function": {"name": "ls", "arguments": "{}"}, "type": "function"}],
    }
