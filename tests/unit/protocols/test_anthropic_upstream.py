"""The Anthropic codec's egress half, without I/O: the internal request as a Messages body, the answer and its
stream events read back, error envelopes. (Structured outputs, thinking and native bodies: test_anthropic.py.)"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from tiergate.errors import RequestError, UpstreamProtocolError, UpstreamStatusError
from tiergate.protocols.anthropic import (
    AnthropicMessage,
    BlankLastMessage,
    StreamTranslator,
    finish_reason,
    from_message,
    status_error,
    to_messages_body,
)
from tiergate.wire import (
    ChatRequest,
    Completion,
    Finish,
    Message,
    ReasoningDelta,
    TextDelta,
    Thinking,
    Usage,
    UsageReport,
)

MODEL = "claude-test-1"
PNG = "iVBORw0KGgoAAAANSUhEUg=="


def chat(**fields: Any) -> ChatRequest:
    return msgspec.convert(fields, ChatRequest)


def hello(**fields: Any) -> ChatRequest:
    return chat(messages=[{"role": "user", "content": "hi"}], **fields)


# --- the request ----------------------------------------------------------------------------------


def test_a_whole_request_is_translated() -> None:
    request = chat(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
            {"role": "user", "content": "Hello"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in these?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                ],
            },
            {"role": "assistant", "content": "Un chat."},
            {"role": "user", "content": "Merci"},
        ],
        stop=["\n\nHuman:", "END"],
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "search",
                    "description": "Search the web",
                    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
                },
            },
            {"type": "function", "function": {"name": "now"}},
        ],
        tool_choice="required",
        parallel_tool_calls=False,
        temperature=0.2,
        top_p=0.9,
        user="user-42",
        seed=7,
    )

    assert to_messages_body(request, MODEL, default_max_tokens=4096) == {
        "model": MODEL,
        "max_tokens": 4096,
        "system": "Be brief.\n\nAnswer in French.",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Hello"},
                    {"type": "text", "text": "What is in these?"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
                ],
            },
            {"role": "assistant", "content": [{"type": "text", "text": "Un chat."}]},
            {"role": "user", "content": [{"type": "text", "text": "Merci"}]},
        ],
        "stop_sequences": ["\n\nHuman:", "END"],
        "tools": [
            {
                "name": "search",
                "description": "Search the web",
                "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
            },
            {"name": "now", "input_schema": {"type": "object", "properties": {}}},
        ],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "temperature": 0.2,
        "metadata": {"user_id": "user-42"},
    }


def test_tool_calls_and_results_become_tool_use_and_tool_result_blocks() -> None:
    request = chat(
        tools=[{"type": "function", "function": {"name": "get_weather"}}],
        messages=[
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "toolu_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    },
                    {"id": "toolu_2", "type": "function", "function": {"name": "get_weather", "arguments": ""}},
                ],
            },
            {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
            {"role": "tool", "tool_call_id": "toolu_2", "content": [{"type": "text", "text": "21C"}]},
            {"role": "user", "content": "And Lyon?"},
        ],
    )

    body = to_messages_body(request, MODEL, default_max_tokens=100)

    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Rome?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "21C"},
                {"type": "text", "text": "And Lyon?"},
            ],
        },
    ]
    assert "tool_choice" not in body


def test_images_in_tool_results_go_inside_the_tool_result_blocks() -> None:
    shot = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "high"}}
    cat = {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
    calls = [{"id": f"toolu_{n}", "function": {"name": "view_image", "arguments": "{}"}} for n in (1, 2)]
    request = chat(
        messages=[
            {"role": "user", "content": "Look at both."},
            {"role": "assistant", "tool_calls": calls},
            {"role": "tool", "tool_call_id": "toolu_1", "content": [{"type": "text", "text": "shot.png"}, shot]},
            {"role": "tool", "tool_call_id": "toolu_2", "content": [cat]},
        ]
    )

    body = to_messages_body(request, MODEL, default_max_tokens=100)

    assert body["messages"][-1] == {
        "role": "user",
        "content": [
            {
                "type": "tool_result",
                "tool_use_id": "toolu_1",
                "content": [
                    {"type": "text", "text": "shot.png"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                ],
            },
            {
                "type": "tool_result",
                "tool_use_id": "toolu_2",
                "content": [{"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}],
            },
        ],
    }


TOOLS = [{"type": "function", "function": {"name": "lookup"}}]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"tool_choice": "auto"}, {"type": "auto"}),
        ({"tool_choice": "required"}, {"type": "any"}),
        ({"tool_choice": "none"}, {"type": "none"}),
        ({"tool_choice": "none", "parallel_tool_calls": False}, {"type": "none"}),
        ({"tool_choice": {"type": "function", "function": {"name": "lookup"}}}, {"type": "tool", "name": "lookup"}),
        (
            {"tool_choice": {"type": "function", "function": {"name": "lookup"}}, "parallel_tool_calls": False},
            {"type": "tool", "name": "lookup", "disable_parallel_tool_use": True},
        ),
        ({"parallel_tool_calls": False}, {"type": "auto", "disable_parallel_tool_use": True}),
        ({"parallel_tool_calls": True}, None),
        ({}, None),
    ],
)
def test_tool_choice_mapping(fields: dict[str, Any], expected: dict[str, Any] | None) -> None:
    body = to_messages_body(hello(tools=TOOLS, **fields), MODEL, default_max_tokens=100)
    assert body.get("tool_choice") == expected


def test_tool_choice_is_dropped_without_tools() -> None:
    assert "tool_choice" not in to_messages_body(hello(tool_choice="required"), MODEL, default_max_tokens=100)


def test_unknown_tool_choice_is_a_request_error() -> None:
    with pytest.raises(RequestError, match="tool_choice"):
        to_messages_body(hello(tools=TOOLS, tool_choice="sometimes"), MODEL, default_max_tokens=100)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, {}),
        ({"temperature": 0.5}, {"temperature": 0.5}),
        ({"top_p": 0.8}, {"top_p": 0.8}),
        ({"temperature": 0.0, "top_p": 0.8}, {"temperature": 0.0}),
    ],
)
def test_only_one_of_temperature_and_top_p_is_sent(fields: dict[str, Any], expected: dict[str, Any]) -> None:
    body = to_messages_body(hello(**fields), MODEL, default_max_tokens=100)
    assert {k: body[k] for k in ("temperature", "top_p") if k in body} == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [({}, 100), ({"max_tokens": 55}, 55), ({"max_tokens": 55, "max_completion_tokens": 66}, 66)],
)
def test_max_tokens_is_always_sent(fields: dict[str, Any], expected: int) -> None:
    assert to_messages_body(hello(**fields), MODEL, default_max_tokens=100)["max_tokens"] == expected


def test_stream_flag_and_plain_request_minimum() -> None:
    assert to_messages_body(hello(stop="END"), MODEL, default_max_tokens=100, stream=True) == {
        "model": MODEL,
        "max_tokens": 100,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "stop_sequences": ["END"],
        "stream": True,
    }


def test_tool_results_open_the_user_turn_they_join() -> None:
    request = chat(
        messages=[
            {"role": "assistant", "tool_calls": [{"id": "t1", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "user", "content": "also this"},
            {"role": "tool", "tool_call_id": "t1", "content": ""},
        ]
    )
    messages = to_messages_body(request, MODEL, default_max_tokens=10)["messages"]
    assert messages[1] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "t1"},
            {"type": "text", "text": "also this"},
        ],
    }


@pytest.mark.parametrize(
    ("message", "param"),
    [
        (
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}]},
            "messages[0].content[0].image_url",
        ),
        ({"role": "tool", "content": "orphan"}, "messages[0].tool_call_id"),
    ],
)
def test_untranslatable_messages_name_their_path(message: dict[str, Any], param: str) -> None:
    with pytest.raises(RequestError) as caught:
        to_messages_body(chat(messages=[message]), MODEL, default_max_tokens=10)
    assert caught.value.param == param
    assert caught.value.message.startswith(param)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"cmd": "ls"', {"arguments": '{"cmd": "ls"'}),
        ("[1, 2]", {"arguments": "[1, 2]"}),
        ('"text"', {"arguments": '"text"'}),
        ("", {}),
        ('{"cmd": "ls"}', {"cmd": "ls"}),
    ],
)
def test_history_arguments_that_are_not_an_object_go_wrapped(arguments: str, expected: dict[str, Any]) -> None:
    """A weak model's broken arguments stay in an agent's history; refusing them would end the session."""
    call = {"id": "c", "function": {"name": "f", "arguments": arguments}}
    request = chat(messages=[{"role": "user", "content": "go"}, {"role": "assistant", "tool_calls": [call]}])
    messages = to_messages_body(request, MODEL, default_max_tokens=10)["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "c", "name": "f", "input": expected}],
    }


# --- answer translation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stop_reason", "expected"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("something_new", "stop"),
        (None, "stop"),
    ],
)
def test_stop_reason_mapping(stop_reason: str | None, expected: str) -> None:
    assert finish_reason(stop_reason) == expected


def test_answer_with_thinking_and_cached_prompt_tokens() -> None:
    answer = msgspec.json.decode(
        json.dumps(
            {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": MODEL,
                "content": [
                    {"type": "thinking", "thinking": "Let me see.", "signature": "sig"},
                    {"type": "text", "text": "Part one, "},
                    {"type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {}},
                    {"type": "text", "text": "part two."},
                ],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {
                    "input_tokens": 10,
                    "output_tokens": 5,
                    "cache_read_input_tokens": 100,
                    "cache_creation_input_tokens": 20,
                    "cache_creation": {"ephemeral_5m_input_tokens": 20},
                },
            }
        ),
        type=AnthropicMessage,
    )
    completion = from_message(answer)
    assert completion == Completion(
        content="Part one, part two.",
        finish_reason="stop",
        usage=Usage.of(130, 5, cached=100, cache_write=20),
        reasoning="Let me see.",
        thinking=[Thinking(thinking="Let me see.", signature="sig")],
    )


# --- stream events ---------------------------------------------------------------------------------


def test_translator_ignores_pings_unknown_events_and_signatures() -> None:
    translator = StreamTranslator("claude", "http://upstream")
    assert translator.feed("ping", '{"type": "ping"}') == []
    assert translator.feed("brand_new_event", '{"type": "brand_new_event", "x": 1}') == []
    assert (
        translator.feed(
            "", '{"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}'
        )
        == []
    )
    assert translator.feed(
        "content_block_delta",
        '{"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hmm"}}',
    ) == [ReasoningDelta("hmm")]
    assert (
        translator.feed(
            "content_block_delta",
            '{"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "s"}}',
        )
        == []
    )
    assert not translator.done


def test_translator_reports_cached_prompt_tokens_and_final_output_tokens() -> None:
    translator = StreamTranslator("claude", "http://upstream")
    translator.feed(
        "message_start",
        json.dumps(
            {
                "type": "message_start",
                "message": {
                    "content": [],
                    "usage": {"input_tokens": 4, "output_tokens": 1, "cache_read_input_tokens": 50},
                },
            }
        ),
    )
    translator.feed(
        "message_delta",
        json.dumps({"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 9}}),
    )
    assert translator.feed("message_stop", '{"type": "message_stop"}') == [
        Finish("length"),
        UsageReport(Usage.of(54, 9, cached=50)),
    ]
    assert translator.done


def test_message_stop_without_a_stop_reason_is_cut_short() -> None:
    """No message_delta, so no stop_reason: as a whole message without one, the answer is incomplete."""
    translator = StreamTranslator("claude", "http://upstream")
    translator.feed("message_start", json.dumps({"type": "message_start", "message": {"content": []}}))
    translator.feed(
        "content_block_delta",
        '{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello from the "}}',
    )
    translator.feed("content_block_stop", '{"type": "content_block_stop", "index": 0}')
    with pytest.raises(UpstreamProtocolError, match="message_stop without a stop_reason"):
        translator.feed("message_stop", '{"type": "message_stop"}')
    assert not translator.done


def test_the_answer_is_whole_once_message_delta_came_with_no_block_open() -> None:
    """``stopped``: a backend may then end the stream with its own message_stop when the upstream sends none. A
    stop reason while a block is still open (out of Anthropic's order) is not the end: the block may be cut."""
    translator = StreamTranslator("claude", "http://upstream")
    start = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    delta = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 4}}
    seen = []
    for name, data in [
        ("message_start", {"type": "message_start", "message": {"content": [], "usage": {"input_tokens": 7}}}),
        ("content_block_start", start),
        ("message_delta", delta),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ]:
        translator.feed(name, json.dumps(data))
        seen.append(translator.stopped)
    assert seen == [False, False, False, True]
    events = translator.feed("message_stop", '{"type": "message_stop"}')
    assert events == [Finish("stop"), UsageReport(Usage.of(7, 4))]
    assert translator.done and not translator.stopped


# --- error envelopes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "detail", "upstream_type"),
    [
        (
            b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
            "Overloaded",
            "overloaded_error",
        ),
        (b'{"type":"error","error":{"type":"api_error","message":""}}', "HTTP 529", "api_error"),
        (b"<html>bad gateway</html>", "<html>bad gateway</html>", None),
        (b"", "HTTP 529", None),
    ],
)
def test_status_error_reads_the_envelope(body: bytes, detail: str, upstream_type: str | None) -> None:
    error = status_error("claude", "https://api.test", 529, body, retry_after=2.0)

    assert isinstance(error, UpstreamStatusError)
    assert (error.status, error.detail, error.upstream_type, error.retry_after) == (529, detail, upstream_type, 2.0)
    assert not error.started


def test_a_temperature_above_anthropics_range_is_sent_as_its_top() -> None:
    """OpenAI's temperature runs 0-2, Anthropic's 0-1: 1.5 went as it was, and Claude refused a request the
    local tier took."""
    assert to_messages_body(hello(temperature=1.5), MODEL, default_max_tokens=10)["temperature"] == 1.0
    assert to_messages_body(hello(temperature=0.3), MODEL, default_max_tokens=10)["temperature"] == 0.3


def test_a_history_of_tool_calls_without_tools_declares_them_and_calls_none() -> None:
    """A summary of an agent's conversation sends its tool calls and results with no ``tools``, which OpenAI
    takes and Anthropic refuses ("Requests which include tool_use or tool_result blocks must define tools")."""
    call = {"id": "call_1", "function": {"name": "read_file", "arguments": '{"path": "a.py"}'}}
    request = chat(
        messages=[
            {"role": "user", "content": "read a.py"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "print(1)"},
            {"role": "user", "content": "summarize the conversation"},
        ]
    )
    body = to_messages_body(request, MODEL, default_max_tokens=10)
    assert body["tools"] == [
        {
            "name": "read_file",
            "description": "Called earlier in this conversation; not offered in this request.",
            "input_schema": {"type": "object", "properties": {}},
        }
    ]
    assert body["tool_choice"] == {"type": "none"}
    assert [b["type"] for t in body["messages"] for b in t["content"]] == ["text", "tool_use", "tool_result", "text"]
    assert "tools" not in to_messages_body(hello(), MODEL, default_max_tokens=10)


def test_messages_that_are_all_empty_are_refused_before_the_call() -> None:
    """``content: ""`` alone went as ``messages: []``, which Anthropic refuses with its own 400."""
    with pytest.raises(RequestError) as info:
        to_messages_body(chat(messages=[{"role": "user", "content": ""}]), MODEL, default_max_tokens=10)
    assert (info.value.status, info.value.param) == (400, "messages")
    assert "every user and assistant message is empty" in info.value.message


def test_messages_that_are_all_empty_are_named_by_the_clients_field() -> None:
    """A Responses body's conversation is its ``input``: the error names it, not the chat body's ``messages``."""
    request = chat(messages=[{"role": "system", "content": "be brief", "tiergate_at": "instructions"}])
    request.messages.append(Message(role="user", content=[], at="input[0].content"))
    with pytest.raises(RequestError) as info:
        to_messages_body(request, MODEL, default_max_tokens=10)
    assert (info.value.param, info.value.message) == (
        "input",
        "input: every user and assistant message is empty or only whitespace, and Claude needs at least one with"
        " content",
    )


def text_of(turn: dict[str, Any]) -> list[str]:
    return [block["text"] for block in turn["content"]]


@pytest.mark.parametrize("blank", ["", "  \n", [{"type": "text", "text": " "}, {"type": "text", "text": "\t"}]])
def test_a_blank_system_is_not_sent(blank: Any) -> None:
    """The API refuses a ``system`` of whitespace alone ("text content blocks must contain non-whitespace text"),
    which OpenAI's takes: it went as sent, and only a request routed to Claude failed."""
    request = chat(
        messages=[
            {"role": "system", "content": blank},
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": "hi"},
        ]
    )
    assert to_messages_body(request, MODEL, default_max_tokens=10)["system"] == "Be brief."
    request.messages.pop(1)
    assert "system" not in to_messages_body(request, MODEL, default_max_tokens=10)


@pytest.mark.parametrize("blank", ["", " \n", [{"type": "text", "text": "  "}]], ids=["empty", "string", "part"])
@pytest.mark.parametrize("role", ["assistant", "user"])
def test_a_blank_turn_is_left_out_as_an_empty_one_is(role: str, blank: Any) -> None:
    """Its neighbours, of the other role, merge into one turn, so turns still alternate."""
    other = "user" if role == "assistant" else "assistant"
    request = chat(
        messages=[
            {"role": other, "content": "a"},
            {"role": role, "content": blank},
            {"role": other, "content": "b"},
            {"role": role, "content": "c"},
        ]
    )
    turns = to_messages_body(request, MODEL, default_max_tokens=10)["messages"]
    assert [(t["role"], text_of(t)) for t in turns] == [(other, ["a", "b"]), (role, ["c"])]


def test_blank_text_beside_other_content_is_left_out() -> None:
    """Only the blank part goes: the image beside it stays."""
    image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    request = chat(messages=[{"role": "user", "content": [{"type": "text", "text": " \n"}, image]}])
    [turn] = to_messages_body(request, MODEL, default_max_tokens=10)["messages"]
    assert [block["type"] for block in turn["content"]] == ["image"]


def test_a_conversation_of_blank_messages_is_refused_as_an_empty_one() -> None:
    request = chat(messages=[{"role": "user", "content": " "}, {"role": "assistant", "content": "\n"}])
    with pytest.raises(RequestError) as info:
        to_messages_body(request, MODEL, default_max_tokens=10)
    assert info.value.param == "messages" and "empty or only whitespace" in info.value.message


@pytest.mark.parametrize(
    ("prefill", "sent"),
    [
        ("Sure, ", ["Sure,"]),
        ("{\n  ", ["{"]),
        ([{"type": "text", "text": "One "}, {"type": "text", "text": "two\n"}], ["One ", "two"]),
        ([{"type": "text", "text": "One"}, {"type": "text", "text": "\n"}], ["One"]),
        ("  Sure", ["  Sure"]),
    ],
)
def test_a_prefill_loses_the_whitespace_it_ends_in(prefill: Any, sent: list[str]) -> None:
    """The API refuses "final assistant content cannot end with trailing whitespace"; the model goes on from
    the text's end. Only the last turn's last block changes: earlier turns keep theirs."""
    request = chat(
        messages=[
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "b \n"},
            {"role": "user", "content": "c"},
            {"role": "assistant", "content": prefill},
        ]
    )
    turns = to_messages_body(request, MODEL, default_max_tokens=10)["messages"]
    assert [text_of(t) for t in turns] == [["a"], ["b \n"], ["c"], sent]


def test_a_prefill_of_two_messages_is_trimmed_at_the_end_of_their_text() -> None:
    """Two final assistant messages are one turn; the whitespace goes from the end of the last one's text,
    and a blank last one leaves the first's text to be trimmed."""
    request = chat(
        messages=[
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "Sure, "},
            {"role": "assistant", "content": "  "},
        ]
    )
    turns = to_messages_body(request, MODEL, default_max_tokens=10)["messages"]
    assert [text_of(t) for t in turns] == [["a"], ["Sure,"]]


HAIKU = "Write a haiku about rain."
BLANK_LAST = (
    ": the conversation ends in a user message that is empty or only whitespace, which Claude does not take;"
    " without it Claude would go on with the assistant message before it instead of answering"
)


@pytest.mark.parametrize("blank", ["", " \n", [{"type": "text", "text": "  "}]], ids=["empty", "string", "part"])
def test_a_blank_last_user_message_is_refused_rather_than_made_a_prefill(blank: Any) -> None:
    """Left out as a blank message elsewhere is, it left the assistant message before it last: a prefill, which
    Claude continued, and the client got the rest of its previous answer as the new one. OpenAI's API answers
    the new, empty turn; another target may, so the refusal is one the backend falls back from."""
    request = chat(
        messages=[
            {"role": "user", "content": HAIKU},
            {"role": "assistant", "content": "Soft rain on the roof \n"},
            {"role": "user", "content": blank},
        ]
    )
    with pytest.raises(BlankLastMessage) as info:
        to_messages_body(request, MODEL, default_max_tokens=10)
    assert (info.value.status, info.value.param, info.value.message) == (
        400,
        "messages[2].content",
        "messages[2].content" + BLANK_LAST,
    )


def test_a_blank_last_user_message_is_refused_whatever_blank_messages_follow_it() -> None:
    """Several blank user messages, and a blank final assistant one (a prefill of nothing), still leave the
    assistant message before them last: the last blank user message is named, by the client's own field."""
    request = chat(
        messages=[
            {"role": "user", "content": HAIKU},
            {"role": "assistant", "content": "Soft rain"},
            {"role": "user", "content": ""},
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "\t"},
            {"role": "assistant", "content": " "},
        ]
    )
    request.messages[4].at = "input[3].content"
    with pytest.raises(BlankLastMessage) as info:
        to_messages_body(request, MODEL, default_max_tokens=10)
    assert (info.value.param, info.value.message) == ("input[3].content", "input[3].content" + BLANK_LAST)


@pytest.mark.parametrize(
    ("messages", "sent"),
    [
        # the client's own prefill, after a blank user message: Claude continues it, as it did
        (
            [("user", "a"), ("assistant", "b"), ("user", " "), ("assistant", "Sure, ")],
            [("user", ["a"]), ("assistant", ["b", "Sure,"])],
        ),
        # a blank user message after one with text: the conversation still ends in a user turn
        (
            [("user", "a"), ("assistant", "b"), ("user", "c"), ("user", "\n")],
            [("user", ["a"]), ("assistant", ["b"]), ("user", ["c"])],
        ),
        # a blank user message in the middle: its neighbours join, as before
        (
            [("user", "a"), ("assistant", "b"), ("user", ""), ("assistant", "c"), ("user", "d")],
            [("user", ["a"]), ("assistant", ["b", "c"]), ("user", ["d"])],
        ),
    ],
    ids=["prefill", "after-text", "middle"],
)
def test_blank_user_messages_that_leave_the_clients_own_ending_are_left_out(
    messages: list[tuple[str, str]], sent: list[tuple[str, list[str]]]
) -> None:
    request = chat(messages=[{"role": role, "content": text} for role, text in messages])
    turns = to_messages_body(request, MODEL, default_max_tokens=10)["messages"]
    assert [(t["role"], text_of(t)) for t in turns] == sent


def test_a_blank_last_tool_result_is_sent_as_a_result_without_content() -> None:
    """A tool message is always a ``tool_result`` block: a blank one never leaves the call before it last."""
    call = {"id": "call_1", "type": "function", "function": {"name": "sh", "arguments": "{}"}}
    request = chat(
        messages=[
            {"role": "user", "content": "run it"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": " \n"},
        ],
        tools=[{"type": "function", "function": {"name": "sh", "parameters": {"type": "object"}}}],
    )
    turns = to_messages_body(request, MODEL, default_max_tokens=10)["messages"]
    assert turns[-1]["role"] == "user"
    assert turns[-1]["content"][0]["type"] == "tool_result"


REFUSED = "I can't help with that."


def test_a_structured_answer_that_claude_refused_keeps_its_words() -> None:
    """With a forced answer tool (``response_format``), only that tool's input was read: a refusal, which
    calls no tool, came back with no content at all, whole and streamed."""
    refusal = msgspec.json.decode(
        json.dumps(
            {
                "content": [{"type": "text", "text": REFUSED}],
                "stop_reason": "refusal",
                "usage": {"input_tokens": 10, "output_tokens": 5},
            }
        ),
        type=AnthropicMessage,
    )
    done = from_message(refusal, answer_tool="json_answer")
    assert (done.content, done.finish_reason) == (REFUSED, "content_filter")

    translator = StreamTranslator("claude", "http://upstream", answer_tool="json_answer")
    start = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": REFUSED}}
    assert translator.feed("content_block_start", json.dumps(start)) == []
    assert translator.feed("content_block_delta", json.dumps(delta)) == []  # held: it may sit beside the tool
    translator.feed("content_block_stop", '{"type": "content_block_stop", "index": 0}')
    translator.feed("message_delta", '{"type": "message_delta", "delta": {"stop_reason": "refusal"}}')
    assert translator.feed("message_stop", '{"type": "message_stop"}')[:2] == [
        TextDelta(REFUSED),
        Finish("content_filter"),
    ]


def test_text_beside_the_answer_tools_call_stays_out_of_the_json() -> None:
    translator = StreamTranslator("claude", "http://upstream", answer_tool="json_answer")
    text = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": "Sure."}}
    call = {
        "type": "content_block_start",
        "index": 1,
        "content_block": {"type": "tool_use", "id": "t", "name": "json_answer", "input": {"a": 1}},
    }
    assert translator.feed("content_block_start", json.dumps(text)) == []
    assert translator.feed("content_block_start", json.dumps(call)) == [TextDelta('{"a": 1}')]
    translator.feed("message_delta", '{"type": "message_delta", "delta": {"stop_reason": "tool_use"}}')
    assert translator.feed("message_stop", '{"type": "message_stop"}')[0] == Finish("stop")
