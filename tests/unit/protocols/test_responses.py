from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2  # the HTTP library under the openai SDK 3.x
import msgspec
import openai
import pytest
from openai._models import construct_type
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from tiergate.errors import CONTEXT_LENGTH_EXCEEDED, RateLimited, RequestError, TiergateError, UpstreamStatusError
from tiergate.protocols.overflow import too_long
from tiergate.protocols.quiet import Quiet
from tiergate.protocols.responses import (
    CUSTOM_INPUT_SCHEMA,
    StreamWriter,
    decode,
    error_body,
    item_id,
    whole,
)
from tiergate.wire import (
    ChatRequest,
    Completion,
    ContentPart,
    Finish,
    FunctionCall,
    FunctionDef,
    ImageURL,
    Message,
    Raw,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    Tool,
    ToolCall,
    ToolCallArgs,
    ToolCallStart,
    Usage,
    UsageReport,
)

# Request bodies Codex 0.171.0 sent (captured for issue 12). Trimmed: message texts over 400 characters
# and tool descriptions over 300 end in " [trimmed]"; nothing else was changed.
FIXTURES = Path(__file__).parent / "fixtures"
STREAM_EVENT: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
EXEC = {"type": "function", "name": "exec_command", "parameters": {"type": "object"}}


def unplaced(found: Any) -> Any:
    """Messages without where the client's body held them (``Message.at``), asserted on its own."""
    if isinstance(found, list):
        return [unplaced(m) for m in found]
    return msgspec.structs.replace(found, at=None)


def body(**fields: Any) -> bytes:
    return json.dumps({"model": "auto", "input": "hi", **fields}).encode()


def request(**fields: Any) -> ChatRequest:
    return decode(body(**fields))


def frames(stream: bytes) -> list[tuple[str, dict[str, Any]]]:
    """Each SSE frame as (event name, data), checking the frame's shape on the way."""
    assert stream.endswith(b"\n\n")
    out = []
    for frame in stream[:-2].split(b"\n\n"):
        event, data = frame.split(b"\n")
        assert event.startswith(b"event: ") and data.startswith(b"data: ")
        parsed = json.loads(data[len(b"data: ") :])
        assert parsed["type"] == event[len(b"event: ") :].decode()
        out.append((parsed["type"], parsed))
    return out


def run(writer: StreamWriter, events: list[StreamEvent]) -> bytes:
    return writer.start() + b"".join(writer.event(e) or b"" for e in events) + writer.end()


# --- decode: what Codex sends --------------------------------------------------------------------


def test_codex_tool_turn_with_reasoning_echoed_back() -> None:
    raw = (FIXTURES / "codex-0.171.0-reasoning-roundtrip.json").read_bytes()
    r = decode(raw)
    assert (r.model, r.stream, r.tool_choice, r.parallel_tool_calls) == ("fake-codex-model", True, "auto", True)
    assert r.wants_usage() and r.max_tokens is None and r.reasoning_effort is None and r.response_format is None
    # The reasoning item (input[4]) is gone; the function call and its output follow the user's turn.
    assert [m.role for m in r.messages] == ["developer", "developer", "user", "user", "assistant", "tool"]
    assert r.messages[3].content == "Say hello"
    assert r.messages[4] == Message(
        role="assistant",
        tool_calls=[
            ToolCall(id="call_078fc89b68244a06b8cf035b", function=FunctionCall("exec_command", '{"cmd": "echo hi"}'))
        ],
    )
    assert unplaced(r.messages[5]) == Message(
        role="tool",
        content="Chunk ID: 04048a\nWall time: 0.0000 seconds\nProcess exited with code 0\n"
        "Original token count: 1\nOutput:\nhi\n",
        tool_call_id="call_078fc89b68244a06b8cf035b",
    )
    # The namespace's functions are flattened in place; web_search is dropped.
    assert [t.function.name for t in r.tools or []] == [
        "exec_command",
        "write_stdin",
        "request_user_input",
        "view_image",
        "close_agent",
        "resume_agent",
        "send_input",
        "spawn_agent",
        "wait_agent",
        "get_goal",
        "create_goal",
        "update_goal",
    ]
    assert r.native is not None and r.native.dialect == "responses" and r.native.body == json.loads(raw)
    # What no target is offered is named; Codex's other fields ask nothing of the model, and name nothing.
    assert (r.native.unsent, r.extra) == (("tools[web_search]",), None)


def test_codex_apply_patch_turn_becomes_a_function_with_input() -> None:
    r = decode((FIXTURES / "codex-0.171.0-custom_tool_call_output.json").read_bytes())
    assert (r.model, r.reasoning_effort, r.response_format) == ("gpt-5.5", "medium", None)  # text.verbosity only
    names = [t.function.name for t in r.tools or []]
    assert "tool_search" not in names and names.count("apply_patch") == 1
    assert r.native is not None and r.native.unsent == ("tools[tool_search]", "tools[web_search]")
    patch = next(t.function for t in r.tools or [] if t.function.name == "apply_patch")
    assert patch.parameters == CUSTOM_INPUT_SCHEMA
    assert patch.description is not None
    assert patch.description.startswith("The `apply_patch` tool can be used to edit files.")
    assert 'Call it with {"input": "<the text>"}. The text must follow this lark grammar:\nstart: begin_patch' in (
        patch.description
    )
    call, output = r.messages[-2:]
    assert call.tool_calls == [
        ToolCall(
            id="call_e44aaa14f9e64a46858602bc",
            function=FunctionCall(
                "apply_patch",
                '{"input":"*** Begin Patch\\n*** Add File: hello.txt\\n+hi from apply_patch\\n*** End Patch\\n"}',
            ),
        )
    ]
    assert output.role == "tool" and output.tool_call_id == "call_e44aaa14f9e64a46858602bc"
    assert (
        output.content
        == "Exit code: 0\nWall time: 0.1 seconds\nOutput:\nSuccess. Updated the following files:\nA hello.txt\n"
    )


def test_codex_second_turn_keeps_the_earlier_answer() -> None:
    r = decode((FIXTURES / "codex-0.171.0-resume-second-turn.json").read_bytes())
    assert [(m.role, m.content) for m in r.messages[3:]] == [
        ("user", "first question"),
        ("assistant", "FAKE-TEXT: hello from the capture server"),
        ("user", "second question"),
    ]


# --- decode: the rest of the request ------------------------------------------------------------


def test_string_input_and_instructions() -> None:
    r = request(instructions="Be brief.", input="hello")
    assert unplaced(r.messages) == [Message(role="system", content="Be brief."), Message(role="user", content="hello")]
    assert not r.stream and r.stream_options is None


def test_message_items_and_parts() -> None:
    r = request(
        input=[
            {"role": "system", "content": "s"},  # an easy message: no `type`
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "d"}]},
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "a"},
                    {"type": "input_text", "text": "b"},
                ],
            },
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "look"},
                    {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "low"},
                    {"type": "input_image", "image_url": "https://example.com/x.png"},
                ],
            },
        ]
    )
    assert unplaced(r.messages) == [
        Message(role="system", content="s"),
        Message(role="developer", content="d"),
        Message(role="user", content="a\nb"),
        Message(
            role="user",
            content=[
                ContentPart(type="text", text="look"),
                ContentPart(type="image_url", image_url=ImageURL("data:image/png;base64,AAAA", "low")),
                ContentPart(type="image_url", image_url=ImageURL("https://example.com/x.png")),
            ],
        ),
    ]


def test_consecutive_assistant_items_merge_and_outputs_follow() -> None:
    r = request(
        input=[
            {"type": "message", "role": "user", "content": "go"},
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAA-not-ours"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "On it."}]},
            {"type": "function_call", "call_id": "c1", "name": "exec_command", "arguments": '{"cmd":"ls"}'},
            {"type": "function_call", "call_id": "c2", "name": "close_agent", "namespace": "multi_agent_v1"},
            {"type": "function_call_output", "call_id": "c1", "output": "a.txt"},
            {
                "type": "function_call_output",
                "call_id": "c2",
                "output": [{"type": "input_text", "text": "closed"}, {"type": "input_text", "text": "ok"}],
            },
            {"type": "additional_tools", "role": "developer", "tools": []},
            {"type": "web_search_call", "id": "ws_1", "status": "completed"},
            {"type": "message", "role": "assistant", "content": "Done."},
        ]
    )
    assert unplaced(r.messages) == [
        Message(role="user", content="go"),
        Message(
            role="assistant",
            content="On it.",
            tool_calls=[
                ToolCall(id="c1", function=FunctionCall("exec_command", '{"cmd":"ls"}')),
                ToolCall(id="c2", function=FunctionCall("close_agent", "{}")),  # bare name; no arguments
            ],
        ),
        Message(role="tool", content="a.txt", tool_call_id="c1"),
        Message(role="tool", content="closed\nok", tool_call_id="c2"),
        Message(role="assistant", content="Done."),
    ]


def test_images_in_a_function_call_output_are_kept_as_parts() -> None:
    """Codex's ``view_image`` answers with the image itself: it reaches the tool message, beside the text."""
    png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg=="
    r = request(
        input=[
            {"type": "message", "role": "user", "content": "look at shot.png"},
            {"type": "function_call", "call_id": "c1", "name": "view_image", "arguments": '{"path":"shot.png"}'},
            {"type": "function_call", "call_id": "c2", "name": "view_image", "arguments": '{"path":"b.png"}'},
            {
                "type": "function_call_output",
                "call_id": "c1",
                "output": [{"type": "input_image", "image_url": png, "detail": "high"}],
            },
            {
                "type": "custom_tool_call_output",
                "call_id": "c2",
                "output": [
                    {"type": "input_text", "text": "b.png"},
                    {"type": "input_image", "image_url": "https://example.com/b.png"},
                ],
            },
        ]
    )
    assert unplaced(r.messages[2:]) == [
        Message(
            role="tool",
            content=[ContentPart(type="image_url", image_url=ImageURL(png, "high"))],
            tool_call_id="c1",
        ),
        Message(
            role="tool",
            content=[
                ContentPart(type="text", text="b.png"),
                ContentPart(type="image_url", image_url=ImageURL("https://example.com/b.png")),
            ],
            tool_call_id="c2",
        ),
    ]
    assert [m.images() for m in r.messages] == [[], [], [png], ["https://example.com/b.png"]]


def test_tools_of_every_kind() -> None:
    r = request(
        tools=[
            {"type": "function", "name": "f", "description": "F.", "parameters": {"type": "object"}, "strict": True},
            {"type": "custom", "name": "raw"},
            {"type": "namespace", "name": "ns", "description": "", "tools": [{"type": "function", "name": "g"}]},
            {"type": "function", "name": "f", "description": "a second f"},
            {"type": "web_search"},
            {"type": "file_search", "vector_store_ids": []},
            {"type": "tool_search", "execution": "client"},
            {"type": "computer_use_preview"},
            {"type": "mcp", "server_label": "x"},
        ]
    )
    assert [msgspec.to_builtins(t) for t in r.tools or []] == [
        {"function": {"name": "f", "description": "F.", "parameters": {"type": "object"}, "strict": True}},
        {
            "function": {
                "name": "raw",
                "description": 'Call it with {"input": "<the text>"}.',
                "parameters": CUSTOM_INPUT_SCHEMA,
            }
        },
        {"function": {"name": "g"}},
    ]
    assert request(tools=[{"type": "web_search"}]).tools is None


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ({"type": "function", "name": "f"}, {"type": "function", "function": {"name": "f"}}),
        ({"type": "custom", "name": "apply_patch"}, {"type": "function", "function": {"name": "apply_patch"}}),
        ({"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "f"}]}, "required"),
    ],
)
def test_tool_choice(choice: Any, expected: Any) -> None:
    tools = [{"type": "function", "name": "f"}, {"type": "custom", "name": "apply_patch"}]
    assert request(tools=tools, tool_choice=choice).tool_choice == expected


@pytest.mark.parametrize(
    ("tools", "choice", "names", "expected"),
    [
        (
            [{"type": "function", "name": "f"}, {"type": "custom", "name": "g"}, {"type": "function", "name": "h"}],
            {
                "type": "allowed_tools",
                "mode": "auto",
                "tools": [{"type": "function", "name": "h"}, {"type": "custom", "name": "g"}],
            },
            ["g", "h"],
            "auto",
        ),
        (
            [{"type": "function", "name": "f"}, {"type": "web_search"}],
            {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "web_search"}]},
            None,  # only a hosted tool allowed, and hosted tools are left out: no tools, no choice
            None,
        ),
        (None, "auto", None, None),
    ],
)
def test_allowed_tools_restrict_the_tools(tools: Any, choice: Any, names: list[str] | None, expected: Any) -> None:
    r = request(tools=tools, tool_choice=choice)
    assert ([t.function.name for t in r.tools] if r.tools else None, r.tool_choice) == (names, expected)


REQUIRED_NONE = (
    "`tool_choice` requires a tool call, but the request has no function or custom `tools` to call (hosted tools"
    " run only at OpenAI, and tiergate leaves them out)"
)


@pytest.mark.parametrize(
    ("tools", "choice", "message"),
    [
        (
            [{"type": "function", "name": "f"}, {"type": "web_search"}],
            {"type": "web_search"},
            "`tool_choice` forces the hosted tool `web_search`, which runs only at OpenAI: tiergate leaves hosted"
            " tools out (an answer without the forced call would look like it)",
        ),
        (
            [{"type": "function", "name": "f"}, {"type": "web_search"}],
            {"type": "allowed_tools", "mode": "required", "tools": [{"type": "web_search"}]},
            REQUIRED_NONE,
        ),
        ([{"type": "web_search"}], "required", REQUIRED_NONE),
        (None, "required", REQUIRED_NONE),
    ],
)
def test_a_call_that_cannot_be_made_is_a_400(tools: Any, choice: Any, message: str) -> None:
    """A forced hosted tool, or a required call with only hosted tools (or none), came back 200 as a plain
    answer whose echoed ``tool_choice`` said the choice was honoured."""
    with pytest.raises(RequestError) as caught:
        request(tools=tools, tool_choice=choice)
    assert (caught.value.param, str(caught.value)) == ("tool_choice", message)


@pytest.mark.parametrize(
    ("fields", "param"),
    [({"top_logprobs": 5}, "top_logprobs"), ({"include": ["message.output_text.logprobs"]}, "include")],
)
def test_log_probabilities_are_refused_as_on_chat(fields: dict[str, Any], param: str) -> None:
    """They came back as an empty list (chat refuses them with a 400)."""
    with pytest.raises(RequestError) as caught:
        request(**fields)
    assert (caught.value.param, str(caught.value)) == (
        param,
        f"`{param}` asks for log probabilities: tiergate does not return them; leave it out",
    )
    assert request(top_logprobs=0, include=["reasoning.encrypted_content"]).tools is None


def test_allowed_tools_needs_a_list() -> None:
    with pytest.raises(RequestError) as caught:
        request(tools=[{"type": "function", "name": "f"}], tool_choice={"type": "allowed_tools", "mode": "auto"})
    assert caught.value.param == "tool_choice.tools"


def test_options() -> None:
    r = request(
        stream=True,
        max_output_tokens=100,
        temperature=0.2,
        top_p=1,
        parallel_tool_calls=False,
        reasoning={"effort": "high", "summary": "auto"},
        metadata={"k": "v"},
        safety_identifier="u-1",
        store=True,  # accepted; nothing is stored
        include=["reasoning.encrypted_content"],
        truncation="auto",
        previous_response_id=None,
    )
    assert (r.stream, r.max_tokens, r.temperature, r.top_p, r.parallel_tool_calls) == (True, 100, 0.2, 1, False)
    assert (r.reasoning_effort, r.metadata, r.user) == ("high", {"k": "v"}, "u-1")
    assert request(user="u-2", safety_identifier="u-1").user == "u-2"


def test_text_formats() -> None:
    schema = {"type": "object", "properties": {"title": {"type": "string"}}}
    fmt = {"type": "json_schema", "name": "t", "description": "d", "schema": schema, "strict": True}
    assert request(text={"format": fmt}).response_format == {
        "type": "json_schema",
        "json_schema": {"name": "t", "description": "d", "schema": schema, "strict": True},
    }
    assert request(text={"format": {"type": "json_schema", "schema": schema}}).response_format == {
        "type": "json_schema",
        "json_schema": {"name": "response", "schema": schema},
    }
    assert request(text={"format": {"type": "json_object"}}).response_format == {"type": "json_object"}
    assert request(text={"format": {"type": "text"}, "verbosity": "low"}).response_format is None


# --- decode: every refusal names its field -------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "param", "words"),
    [
        ({"previous_response_id": "resp_1"}, "previous_response_id", "tiergate is stateless"),
        ({"conversation": "conv_1"}, "conversation", "tiergate is stateless"),
        ({"prompt": {"id": "pmpt_1"}}, "prompt", "stored prompts"),
        ({"background": True}, "background", "not supported"),
        ({"n": 2}, "n", "other than 1"),
        ({"max_output_tokens": 0}, "max_output_tokens", "at least 1, got 0"),
        ({"max_output_tokens": "9"}, "max_output_tokens", "must be an integer, got a string"),
        ({"max_output_tokens": True}, "max_output_tokens", "must be an integer, got a boolean"),
        ({"model": 5}, "model", "must be a string"),
        ({"stream": "yes"}, "stream", "must be a boolean"),
        ({"temperature": "hot"}, "temperature", "must be a number"),
        ({"instructions": ["x"]}, "instructions", "must be a string"),
        ({"reasoning": {"effort": 3}}, "reasoning.effort", "must be a string"),
        ({"input": None}, "input", "got missing"),
        ({"input": []}, "input", "no user turn"),
        ({"input": [{"role": "developer", "content": "only rules"}]}, "input", "no user turn"),
        ({"input": [7]}, "input[0]", "must be an object"),
        ({"input": [{"role": "tool", "content": "x"}]}, "input[0].role", "must be one of"),
        ({"input": [{"role": "user", "content": 3}]}, "input[0].content", "string or an array"),
        ({"input": [{"role": "user", "content": [{"type": "input_text"}]}]}, "input[0].content[0].text", "missing"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]},
            "input[0].content[0]",
            "needs `file_data` or `file_url` (files by `file_id` need OpenAI's file storage",
        ),
        (
            {
                "input": [
                    {"role": "user", "content": [{"type": "input_file", "file_data": "data:text/csv;base64,YQ=="}]}
                ]
            },
            "input[0].content[0].file_data",
            "must be a PDF as data:application/pdf;base64,... (tiergate carries no other file type",
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_file", "file_url": "ftp://x/a.pdf"}]}]},
            "input[0].content[0].file_url",
            "must be an http(s) URL",
        ),
        (
            {
                "input": [
                    {"role": "developer", "content": [{"type": "input_file", "file_url": "https://x/a.pdf"}]},
                    {"role": "user", "content": "summarise it"},
                ]
            },
            "input[0].content[0]",
            "an `input_file` belongs in a `user` message (or a tool's output), not a `developer` one",
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}, {"type": "input_audio"}]}]},
            "input[0].content[1].type",
            "is `input_audio`: tiergate forwards only `input_text`, `output_text`, `input_image` and `input_file`",
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file_1"}]}]},
            "input[0].content[0].image_url",
            "file storage",
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "data:text/plain,hi"}]}]},
            "input[0].content[0].image_url",
            "data:image/",
        ),
        ({"input": ["hi", {"type": "function_call", "name": "f"}]}, "input[0]", "must be an object"),
        (
            {"input": [{"role": "user", "content": "x"}, {"type": "function_call", "name": "f", "arguments": "{}"}]},
            "input[1].call_id",
            "got missing",
        ),
        (
            {"input": [{"role": "user", "content": "x"}, {"type": "function_call", "call_id": "c", "name": " "}]},
            "input[1].name",
            "is empty",
        ),
        (
            {
                "input": [
                    {"role": "user", "content": "x"},
                    {"type": "function_call", "call_id": "c", "name": "f", "arguments": {}},
                ]
            },
            "input[1].arguments",
            "must be a string, got an object",
        ),
        (
            {"input": [{"role": "user", "content": "x"}, {"type": "custom_tool_call", "call_id": "c", "name": "p"}]},
            "input[1].input",
            "got missing",
        ),
        ({"input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id", "got missing"),
        ({"input": [{"type": "function_call_output", "call_id": "c"}]}, "input[0].output", "got missing"),
        (
            {
                "input": [
                    {"role": "user", "content": "x"},
                    {
                        "type": "function_call_output",
                        "call_id": "c",
                        "output": [{"type": "input_text", "text": "a"}, {"type": "input_file", "file_data": "JVBE"}],
                    },
                ]
            },
            "input[1].output[1].file_data",
            "must be a PDF as data:application/pdf;base64,...",
        ),
        (
            {"input": [{"type": "function_call_output", "call_id": "c", "output": [{"type": "input_image"}]}]},
            "input[0].output[0].image_url",
            "file storage",
        ),
        (
            {"input": [{"type": "function_call_output", "call_id": "c", "output": [{"type": "input_audio"}]}]},
            "input[0].output[0].type",
            "is `input_audio`",
        ),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0]", "item_reference"),
        ({"tools": {"type": "function"}}, "tools", "must be an array"),
        ({"tools": ["f"]}, "tools[0]", "must be an object"),
        ({"tools": [{"type": "function", "name": ""}]}, "tools[0].name", "is empty"),
        ({"tools": [{"type": "custom"}]}, "tools[0].name", "got missing"),
        ({"tools": [{"type": "function", "name": "f", "parameters": []}]}, "tools[0].parameters", "an object"),
        ({"tools": [{"type": "namespace", "name": "n", "tools": {}}]}, "tools[0].tools", "must be an array"),
        (
            {"tools": [{"type": "namespace", "name": "n", "tools": [{"type": "function"}]}]},
            "tools[0].tools[0].name",
            "got missing",
        ),
        (
            {"input": [{"type": "additional_tools", "role": "developer", "tools": {"type": "custom"}}]},
            "input[0].tools",
            "must be an array",
        ),
        (
            {
                "input": [
                    {"role": "user", "content": "hi"},
                    {"type": "additional_tools", "tools": [{"type": "function"}]},
                ]
            },
            "input[1].tools[0].name",
            "got missing",
        ),
        ({"tool_choice": "always"}, "tool_choice", "auto, none, required"),
        ({"tool_choice": {"type": "function"}}, "tool_choice.name", "got missing"),
        ({"text": "json"}, "text", "must be an object"),
        ({"text": {"format": {"type": "xml"}}}, "text.format.type", "got 'xml'"),
        ({"text": {"format": {"type": "json_schema", "name": "x"}}}, "text.format.schema", "JSON Schema object"),
    ],
)
def test_refusals_name_the_field(fields: dict[str, Any], param: str, words: str) -> None:
    with pytest.raises(RequestError) as info:
        decode(body(**fields))
    assert info.value.status == 400 and info.value.param == param
    assert words in info.value.message


@pytest.mark.parametrize(("raw", "words"), [(b"", "empty"), (b"{", "not valid JSON"), (b"[1]", "JSON object")])
def test_bodies_that_are_not_requests(raw: bytes, words: str) -> None:
    with pytest.raises(RequestError, match=words) as info:
        decode(raw)
    assert info.value.code == "invalid_json"


def test_previous_response_id_refusal_is_openai_shaped() -> None:
    with pytest.raises(RequestError) as info:
        decode(body(previous_response_id="resp_1"))
    assert error_body(info.value) == {
        "error": {
            "message": "`previous_response_id` is not supported: tiergate is stateless: send the whole conversation "
            "in `input` (with `store: false`)",
            "type": "invalid_request_error",
            "param": "previous_response_id",
            "code": "unsupported_parameter",
        }
    }


# --- whole ---------------------------------------------------------------------------------------


def envelope(status: str, output: list[Any], usage: dict[str, Any] | None, **over: Any) -> dict[str, Any]:
    """The Response object for ``request(tools=[EXEC])`` answered as resp_1 by model m."""
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1700000000,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": "m",
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": False,
        "temperature": None,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [EXEC],
        "top_p": None,
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": {},
        **over,
    }


USAGE = {
    "input_tokens": 10,
    "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
    "output_tokens": 5,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 15,
}
MESSAGE = {
    "type": "message",
    "id": "msg_1_1",
    "status": "completed",
    "role": "assistant",
    "content": [{"type": "output_text", "text": "Hello", "annotations": [], "logprobs": []}],
}
CALL = {
    "type": "function_call",
    "id": "fc_1_2",
    "call_id": "call_1",
    "name": "exec_command",
    "arguments": '{"cmd":"ls"}',
    "status": "completed",
}


def test_whole_answer_with_reasoning_text_and_a_call() -> None:
    completion = Completion(
        content="Hello",
        tool_calls=[ToolCall(id="call_1", function=FunctionCall("exec_command", '{"cmd":"ls"}'))],
        finish_reason="tool_calls",
        usage=Usage.of(10, 5),
        reasoning="Think.",
    )
    asked = request(tools=[EXEC], reasoning={"summary": "auto"})
    payload = whole(completion, id="resp_1", created=1700000000, model="m", request=asked)
    reasoning = {"type": "reasoning", "id": "rs_1_0", "summary": [{"type": "summary_text", "text": "Think."}]}
    settings = {"effort": None, "summary": "auto"}
    assert payload == envelope("completed", [reasoning, MESSAGE, CALL], USAGE, reasoning=settings)
    parsed = Response.model_validate(payload)
    assert parsed.output_text == "Hello" and parsed.usage is not None and parsed.usage.total_tokens == 15


def test_whole_answer_shows_no_reasoning_text_the_client_did_not_ask_to_see() -> None:
    """Without ``reasoning.summary`` OpenAI's reasoning is not shown; the thinking is not either."""
    completion = Completion(content="Hello", finish_reason="stop", usage=Usage.of(10, 5), reasoning="Think.")
    payload = whole(completion, id="resp_1", created=1700000000, model="m", request=request(tools=[EXEC]))
    message = {**MESSAGE, "id": "msg_1_0"}
    assert payload == envelope("completed", [message], USAGE)


def test_thinking_the_client_did_not_ask_to_see_still_keeps_the_stream_alive() -> None:
    """Thinking not shown for minutes was minutes of silence (a proxy's idle timeout, Codex's): the writer sends
    ``response.in_progress`` after ten quiet seconds, as it does while tool calls are held."""
    now = [0.0]
    writer = StreamWriter(
        "resp_1", 1, "m", request=request(stream=True, reasoning={"effort": "high"}), quiet=Quiet(clock=lambda: now[0])
    )
    writer.start()
    sent = []
    for second in range(31):
        now[0] = float(second)
        sent.append(writer.event(ReasoningDelta("hmm ")))
    alive = [frames(s) for s in sent if s is not None]
    assert [second for second, s in enumerate(sent) if s is not None] == [10, 20, 30]
    assert all(f == [("response.in_progress", f[0][1])] and f[0][1]["response"]["output"] == [] for f in alive)


def test_stream_shows_no_reasoning_text_the_client_did_not_ask_to_see() -> None:
    writer = StreamWriter("resp_1", 1, "m", request=request(stream=True))
    got = frames(run(writer, [ReasoningDelta("Plan"), TextDelta("Hi"), Finish("stop"), UsageReport(Usage.of(3, 2))]))
    assert [t for t, _ in got] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [i["id"] for i in got[-1][1]["response"]["output"]] == ["msg_1_0"]


def test_whole_echoes_the_request_settings() -> None:
    schema = {"type": "object"}
    fmt = {"type": "json_schema", "name": "t", "schema": schema, "strict": True}
    r = request(
        instructions="Be brief.",
        max_output_tokens=50,
        temperature=0.5,
        top_p=0.9,
        parallel_tool_calls=False,
        reasoning={"effort": "low", "summary": "auto"},
        text={"format": fmt, "verbosity": "low"},
        tool_choice={"type": "function", "name": "exec_command"},
        tools=[EXEC, {"type": "web_search"}],
        metadata={"k": "v"},
        user="u",
        store=True,
    )
    payload = whole(Completion(content="{}"), id="resp_1", created=1700000000, model="m", request=r)
    assert {k: payload[k] for k in ("instructions", "max_output_tokens", "temperature", "top_p", "store")} == {
        "instructions": "Be brief.",
        "max_output_tokens": 50,
        "temperature": 0.5,
        "top_p": 0.9,
        "store": False,
    }
    assert payload["parallel_tool_calls"] is False and payload["reasoning"] == {"effort": "low", "summary": "auto"}
    assert payload["text"] == {"format": fmt, "verbosity": "low"}
    assert payload["usage"]["estimated"] is True  # no count: the estimate (test_responses_usage.py)
    assert payload["tool_choice"] == {"type": "function", "name": "exec_command"}
    assert payload["tools"] == [EXEC, {"type": "web_search"}]  # as the client sent them, as the API does
    assert (payload["metadata"], payload["user"]) == ({"k": "v"}, "u")
    Response.model_validate(payload)


@pytest.mark.parametrize(("finish", "reason"), [("length", "max_output_tokens"), ("content_filter", "content_filter")])
def test_whole_cut_short_is_incomplete(finish: Any, reason: str) -> None:
    payload = whole(
        Completion(content="Hel", finish_reason=finish), id="resp_1", created=1, model="m", request=request()
    )
    assert payload["status"] == "incomplete" and payload["incomplete_details"] == {"reason": reason}
    assert payload["output"][0]["id"] == "msg_1_0" and payload["output"][0]["status"] == "incomplete"
    assert Response.model_validate(payload).incomplete_details is not None


def test_text_then_a_call_cut_by_the_limit_reads_the_same_streamed_and_whole() -> None:
    """The message was whole before the call began (the stream closes it then, ``completed``); the call was
    being written when the limit hit. A whole answer marked both incomplete."""
    call = ToolCall(id="c0", function=FunctionCall("exec_command", '{"cm'))
    completion = Completion(content="Let me", tool_calls=[call], finish_reason="length")
    payload = whole(completion, id="resp_1", created=1, model="m", request=request(tools=[EXEC]))
    writer = StreamWriter("resp_1", 1, "m", request=request(tools=[EXEC]))
    events = [TextDelta("Let me"), ToolCallStart(0, "c0", "exec_command"), ToolCallArgs(0, '{"cm'), Finish("length")]
    streamed = frames(run(writer, events))[-1][1]["response"]
    expected = [("message", "msg_1_0", "completed"), ("function_call", "fc_1_1", "incomplete")]
    assert [(i["type"], i["id"], i["status"]) for i in payload["output"]] == expected
    assert payload["output"] == streamed["output"]
    assert (payload["status"], streamed["status"]) == ("incomplete", "incomplete")


def codex_request() -> ChatRequest:
    return request(
        tools=[
            {
                "type": "custom",
                "name": "apply_patch",
                "format": {"type": "grammar", "syntax": "lark", "definition": "s"},
            },
            {
                "type": "namespace",
                "name": "multi_agent_v1",
                "description": "",
                "tools": [EXEC | {"name": "close_agent"}],
            },
        ]
    )


def test_whole_calls_to_custom_and_namespaced_tools_go_back_in_their_own_kind() -> None:
    patch = "*** Begin Patch\n*** End Patch\n"
    completion = Completion(
        content=None,
        tool_calls=[
            ToolCall(id="call_1", function=FunctionCall("apply_patch", json.dumps({"input": patch}))),
            ToolCall(id="call_2", function=FunctionCall("apply_patch", "not json")),
            ToolCall(id="call_3", function=FunctionCall("close_agent", '{"target":"a"}')),
        ],
        finish_reason="tool_calls",
    )
    payload = whole(completion, id="resp_9", created=1, model="m", request=codex_request())
    assert payload["output"] == [
        {
            "type": "custom_tool_call",
            "id": "ctc_9_0",
            "call_id": "call_1",
            "name": "apply_patch",
            "input": patch,
            "status": "completed",
        },
        {
            "type": "custom_tool_call",
            "id": "ctc_9_1",
            "call_id": "call_2",
            "name": "apply_patch",
            "input": "not json",
            "status": "completed",
        },
        {
            "type": "function_call",
            "id": "fc_9_2",
            "call_id": "call_3",
            "name": "close_agent",
            "arguments": '{"target":"a"}',
            "namespace": "multi_agent_v1",
            "status": "completed",
        },
    ]
    Response.model_validate(payload)


def catalogue_request() -> ChatRequest:
    """Codex with a model name in its own catalogue: no top-level tools, its tools in an input item."""
    declared = [
        {"type": "custom", "name": "exec", "description": "Run JavaScript", "format": {"type": "text"}},
        EXEC,
    ]
    return request(
        input=[
            {
                "type": "additional_tools",
                "id": "at_1",
                "role": "developer",
                "tools": [
                    {"type": "namespace", "name": "functions", "description": "", "tools": declared},
                    {"type": "namespace", "name": "clock", "description": "", "tools": [EXEC | {"name": "now"}]},
                    {"type": "web_search"},
                ],
            },
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        ],
        tool_choice="auto",
    )


def test_an_additional_tools_item_declares_tools_as_the_top_level_does() -> None:
    """Once dropped: the model got no tools while Codex waited for calls."""
    decoded = catalogue_request()
    assert [t.function.name for t in decoded.tools or ()] == ["exec", "exec_command", "now"]
    assert decoded.tool_choice == "auto"
    assert [m.role for m in decoded.messages] == ["user"]
    completion = Completion(
        content=None,
        tool_calls=[
            ToolCall(id="call_1", function=FunctionCall("exec", json.dumps({"input": "await tools.now()"}))),
            ToolCall(id="call_2", function=FunctionCall("now", "{}")),
        ],
        finish_reason="tool_calls",
    )
    payload = whole(completion, id="resp_9", created=1, model="m", request=decoded)
    assert [(i["type"], i["name"], i.get("namespace"), i.get("input")) for i in payload["output"]] == [
        ("custom_tool_call", "exec", "functions", "await tools.now()"),
        ("function_call", "now", "clock", None),
    ]


def test_both_places_together_keep_a_names_first_declaration() -> None:
    decoded = request(
        tools=[EXEC | {"description": "top"}],
        input=[
            {"type": "additional_tools", "tools": [EXEC | {"description": "item"}, EXEC | {"name": "more"}]},
            {"role": "user", "content": "hi"},
        ],
    )
    assert [(t.function.name, t.function.description) for t in decoded.tools or ()] == [
        ("exec_command", "top"),
        ("more", None),
    ]


def test_item_ids_come_from_the_response_id() -> None:
    assert item_id("resp_7f3a", "msg", 0) == "msg_7f3a_0"
    assert item_id("abc", "fc", 3) == "fc_abc_3"


def test_whole_for_a_request_from_another_dialect_lists_its_function_tools() -> None:
    r = ChatRequest(messages=[Message(role="user", content="hi")], tools=[Tool(FunctionDef("f"))], tool_choice="none")
    payload = whole(Completion(content="x"), id="resp_1", created=1, model="m", request=r)
    assert payload["tools"] == [
        {"type": "function", "name": "f", "description": None, "parameters": None, "strict": None}
    ]
    assert payload["tool_choice"] == "none"
    Response.model_validate(payload)


# --- the stream ----------------------------------------------------------------------------------


def test_stream_text_then_a_call_byte_for_byte() -> None:
    writer = StreamWriter("resp_1", 1700000000, "m", request=request(stream=True, tools=[EXEC]))
    events: list[StreamEvent] = [
        TextDelta("Hel"),
        TextDelta("lo"),
        ToolCallStart(0, "call_1", "exec_command"),
        ToolCallArgs(0, '{"cmd":'),
        ToolCallArgs(0, '"ls"}'),
        Finish("tool_calls"),
        UsageReport(Usage.of(10, 5)),
    ]
    stream = run(writer, events)
    at0 = '"item_id":"msg_1_0","output_index":0'
    at1 = '"item_id":"fc_1_1","output_index":1'
    part = '{"type":"output_text","text":"Hello","annotations":[],"logprobs":[]}'
    message = '{"type":"message","id":"msg_1_0","status":"completed","role":"assistant","content":[' + part + "]}"
    call = (
        '{"type":"function_call","id":"fc_1_1","call_id":"call_1","name":"exec_command",'
        '"arguments":"{\\"cmd\\":\\"ls\\"}","status":"completed"}'
    )
    started = compact(envelope("in_progress", [], None))
    completed = compact(envelope("completed", [json.loads(message), json.loads(call)], USAGE))
    expected = [
        f'response.created\ndata: {{"type":"response.created","sequence_number":0,"response":{started}}}',
        f'response.in_progress\ndata: {{"type":"response.in_progress","sequence_number":1,"response":{started}}}',
        'response.output_item.added\ndata: {"type":"response.output_item.added","sequence_number":2,"output_index":0,'
        '"item":{"type":"message","id":"msg_1_0","status":"in_progress","role":"assistant","content":[]}}',
        'response.content_part.added\ndata: {"type":"response.content_part.added","sequence_number":3,'
        + at0
        + ',"content_index":0,"part":{"type":"output_text","text":"","annotations":[],"logprobs":[]}}',
        'response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":4,'
        + at0
        + ',"content_index":0,"delta":"Hel","logprobs":[]}',
        'response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":5,'
        + at0
        + ',"content_index":0,"delta":"lo","logprobs":[]}',
        'response.output_text.done\ndata: {"type":"response.output_text.done","sequence_number":6,'
        + at0
        + ',"content_index":0,"text":"Hello","logprobs":[]}',
        'response.content_part.done\ndata: {"type":"response.content_part.done","sequence_number":7,'
        + at0
        + ',"content_index":0,"part":'
        + part
        + "}",
        'response.output_item.done\ndata: {"type":"response.output_item.done","sequence_number":8,"output_index":0,'
        '"item":' + message + "}",
        'response.output_item.added\ndata: {"type":"response.output_item.added","sequence_number":9,"output_index":1,'
        '"item":{"type":"function_call","id":"fc_1_1","call_id":"call_1","name":"exec_command","arguments":"",'
        '"status":"in_progress"}}',
        'response.function_call_arguments.delta\ndata: {"type":"response.function_call_arguments.delta",'
        '"sequence_number":10,' + at1 + ',"delta":"{\\"cmd\\":"}',
        'response.function_call_arguments.delta\ndata: {"type":"response.function_call_arguments.delta",'
        '"sequence_number":11,' + at1 + ',"delta":"\\"ls\\"}"}',
        'response.function_call_arguments.done\ndata: {"type":"response.function_call_arguments.done",'
        '"sequence_number":12,' + at1 + ',"name":"exec_command","arguments":"{\\"cmd\\":\\"ls\\"}"}',
        'response.output_item.done\ndata: {"type":"response.output_item.done","sequence_number":13,"output_index":1,'
        '"item":' + call + "}",
        f'response.completed\ndata: {{"type":"response.completed","sequence_number":14,"response":{completed}}}',
    ]
    got = stream.decode().split("\n\n")
    assert got[-1] == ""  # the stream ends with a whole frame, and no [DONE]
    assert len(got) - 1 == len(expected)
    for frame, want in zip(got, expected, strict=False):
        assert frame == "event: " + want
    assert writer.usage == Usage.of(10, 5) and writer.finish == "tool_calls"
    for _, data in frames(stream):
        STREAM_EVENT.validate_python(data)


def compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def test_stream_reasoning_then_text_and_every_event_parses() -> None:
    writer = StreamWriter("resp_1", 1, "m", request=request(stream=True, reasoning={"summary": "detailed"}))
    stream = run(
        writer,
        [ReasoningDelta("Plan"), ReasoningDelta("ning"), TextDelta("Hi"), Finish("stop"), UsageReport(Usage.of(3, 2))],
    )
    got = frames(stream)
    assert [t for t, _ in got] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [d["sequence_number"] for _, d in got] == list(range(len(got)))
    assert got[2][1]["item"] == {"type": "reasoning", "id": "rs_1_0", "summary": []}
    assert got[6][1] == {
        "type": "response.reasoning_summary_text.done",
        "sequence_number": 6,
        "item_id": "rs_1_0",
        "output_index": 0,
        "summary_index": 0,
        "text": "Planning",
    }
    done = {"type": "reasoning", "id": "rs_1_0", "summary": [{"type": "summary_text", "text": "Planning"}]}
    assert got[8][1]["item"] == done
    assert got[9][1]["output_index"] == 1 and got[9][1]["item"]["id"] == "msg_1_1"
    completed = got[-1][1]["response"]
    assert [i["id"] for i in completed["output"]] == ["rs_1_0", "msg_1_1"]
    assert completed["usage"]["total_tokens"] == 5
    for _, data in got:
        STREAM_EVENT.validate_python(data)


def test_stream_custom_and_namespaced_calls() -> None:
    writer = StreamWriter("resp_1", 1, "m", request=codex_request())
    stream = run(
        writer,
        [
            ToolCallStart(0, "call_1", "apply_patch"),
            ToolCallArgs(0, '{"input":"*** Begin'),
            ToolCallArgs(0, ' Patch\\n"}'),
            ToolCallStart(1, "call_2", "close_agent"),
            ToolCallArgs(1, "{}"),
            Finish("tool_calls"),
        ],
    )
    got = frames(stream)
    # The custom call's input comes whole when the call ends: only then is the JSON around it complete.
    assert [(t, d.get("delta", d.get("input"))) for t, d in got[2:7]] == [
        ("response.output_item.added", None),
        ("response.custom_tool_call_input.delta", "*** Begin Patch\n"),
        ("response.custom_tool_call_input.done", "*** Begin Patch\n"),
        ("response.output_item.done", None),
        ("response.output_item.added", None),
    ]
    assert got[2][1]["item"] == {
        "type": "custom_tool_call",
        "id": "ctc_1_0",
        "call_id": "call_1",
        "name": "apply_patch",
        "input": "",
        "status": "in_progress",
    }
    assert got[5][1]["item"]["input"] == "*** Begin Patch\n"
    assert got[6][1]["item"]["namespace"] == "multi_agent_v1" and got[6][1]["item"]["type"] == "function_call"
    output = got[-1][1]["response"]["output"]
    assert [(i["type"], i["id"]) for i in output] == [("custom_tool_call", "ctc_1_0"), ("function_call", "fc_1_1")]
    for _, data in got:
        STREAM_EVENT.validate_python(data)


def test_stream_cut_by_the_output_limit_is_incomplete() -> None:
    writer = StreamWriter("resp_1", 1, "m", request=request(max_output_tokens=2))
    got = frames(run(writer, [TextDelta("Hel"), Finish("length")]))
    assert got[-2][1]["item"]["status"] == "incomplete"
    assert got[-1][0] == "response.incomplete"
    final = got[-1][1]["response"]
    assert (final["status"], final["incomplete_details"], final["max_output_tokens"]) == (
        "incomplete",
        {"reason": "max_output_tokens"},
        2,
    )
    for _, data in got:
        STREAM_EVENT.validate_python(data)


def test_stream_quiet_events_and_an_end_without_finish() -> None:
    writer = StreamWriter("resp_1", 1, "m", request=request())
    writer.start()
    assert writer.event(TextDelta("")) is None
    assert writer.event(ReasoningDelta("")) is None
    assert writer.event(Raw("anthropic", b"event: ping\ndata: {}\n\n")) is None
    assert writer.event(ToolCallArgs(5, "{}")) is None  # no such call: nothing to attach it to
    assert writer.event(Finish("stop")) is None  # nothing open to close
    got = frames(writer.end())
    assert [t for t, _ in got] == ["response.completed"] and got[0][1]["response"]["output"] == []
    with pytest.raises(TypeError):
        writer.event("text")  # type: ignore[arg-type]

    writer = StreamWriter("resp_1", 1, "m", request=request())
    writer.start()
    writer.event(TextDelta("a"))
    got = frames(writer.end())  # an upstream that never said why it stopped: the open item still closes
    assert [t for t, _ in got][-2:] == ["response.output_item.done", "response.completed"]


def test_stream_parallel_calls_with_interleaved_arguments_come_whole_one_after_another() -> None:
    """An OpenAI-compatible upstream may send both calls' headers, then their argument pieces alternating:
    each call is held until the finish and then sent whole, so its ``output_item.done`` has all of it."""
    writer = StreamWriter("resp_1", 1, "m", request=request(tools=[EXEC]))
    writer.start()
    held = [
        writer.event(TextDelta("On it.")),
        writer.event(ToolCallStart(0, "c0", "exec_command")),  # the message is done here
        writer.event(ToolCallStart(1, "c1", "exec_command")),
        writer.event(ToolCallArgs(0, '{"a":')),
        writer.event(ToolCallArgs(1, '{"b":')),
        writer.event(ToolCallArgs(0, "1}")),
        writer.event(ToolCallArgs(1, "2}")),
    ]
    assert [frame is None for frame in held] == [False, False, True, True, True, True, True]
    got = frames((writer.event(Finish("tool_calls")) or b"") + writer.end())
    calls = [(t, d.get("output_index"), d.get("item_id"), d.get("delta", d.get("arguments"))) for t, d in got]
    assert calls == [
        ("response.output_item.added", 1, None, None),
        ("response.function_call_arguments.delta", 1, "fc_1_1", '{"a":'),
        ("response.function_call_arguments.delta", 1, "fc_1_1", "1}"),
        ("response.function_call_arguments.done", 1, "fc_1_1", '{"a":1}'),
        ("response.output_item.done", 1, None, None),
        ("response.output_item.added", 2, None, None),
        ("response.function_call_arguments.delta", 2, "fc_1_2", '{"b":'),
        ("response.function_call_arguments.delta", 2, "fc_1_2", "2}"),
        ("response.function_call_arguments.done", 2, "fc_1_2", '{"b":2}'),
        ("response.output_item.done", 2, None, None),
        ("response.completed", None, None, None),
    ]
    assert [d["item"]["arguments"] for t, d in got if t == "response.output_item.done"] == ['{"a":1}', '{"b":2}']
    assert [d["item"]["id"] for t, d in got if t == "response.output_item.added"] == ["fc_1_1", "fc_1_2"]
    final = got[-1][1]["response"]["output"]
    assert [(i["type"], i.get("arguments")) for i in final] == [
        ("message", None),
        ("function_call", '{"a":1}'),
        ("function_call", '{"b":2}'),
    ]
    assert [d["sequence_number"] for _, d in got] == list(
        range(8, 19)
    )  # after 8 events: created, in_progress, the message's 6
    for _, data in got:
        STREAM_EVENT.validate_python(data)


def test_stream_failure_announces_the_held_calls_and_lists_them_as_incomplete() -> None:
    """``response.failed`` lists no item the stream never announced: a held call is added, with its argument
    pieces so far, as the open message was, before the failure."""
    writer = StreamWriter("resp_1", 1, "m", request=request(tools=[EXEC]))
    writer.start()
    writer.event(ToolCallStart(0, "c0", "exec_command"))
    writer.event(ToolCallArgs(0, '{"a":'))
    writer.event(TextDelta("x"))
    got = frames(writer.error(TiergateError("cut")))
    seen = [(kind, data.get("output_index"), data.get("item", {}).get("id"), data.get("delta")) for kind, data in got]
    assert seen == [
        ("response.output_item.added", 1, "fc_1_1", None),
        ("response.function_call_arguments.delta", 1, None, '{"a":'),
        ("response.failed", None, None, None),
    ]
    data = got[-1][1]
    assert [(i["type"], i["id"], i["status"]) for i in data["response"]["output"]] == [
        ("message", "msg_1_0", "incomplete"),
        ("function_call", "fc_1_1", "incomplete"),
    ]
    assert data["response"]["output"][1]["arguments"] == '{"a":'
    for _, event in got:
        STREAM_EVENT.validate_python(event)


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (UpstreamStatusError("ollama", "http://h", "boom", status=500), "server_error"),
        (TiergateError("internal error in tiergate: KeyError"), "server_error"),
        (RateLimited("slow down"), "rate_limit_exceeded"),
        (UpstreamStatusError("openai", "http://h", "bad image", status=400), "invalid_prompt"),
    ],
)
def test_stream_failure_codes_codex_acts_on(exc: TiergateError, code: str) -> None:
    writer = StreamWriter("resp_1", 1, "m", request=request())
    writer.start()
    writer.event(TextDelta("Hal"))
    (kind, data), *rest = frames(writer.error(exc))
    assert kind == "response.failed" and not rest and data["sequence_number"] == 5
    response = data["response"]
    assert response["status"] == "failed" and response["error"] == {"code": code, "message": exc.message}
    # The unfinished message is in the output, marked incomplete.
    assert response["output"] == [
        {
            "type": "message",
            "id": "msg_1_0",
            "status": "incomplete",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Hal", "annotations": [], "logprobs": []}],
        }
    ]
    STREAM_EVENT.validate_python(data)


@pytest.mark.parametrize(
    "message",
    [
        "This model's maximum context length is 8192 tokens",
        "prompt is too long: 210000 tokens > 200000 maximum",
        "the request exceeds the available context size",
    ],
)
def test_stream_context_overflow_stops_codex(message: str) -> None:
    """The code follows the backend's own classing of its refusal (:func:`too_long`), not words in a message."""
    writer = StreamWriter("resp_1", 1, "m", request=request())
    writer.start()
    exc = too_long("local", "http://h", message, status=400)
    (_, data), *_ = frames(writer.error(exc))
    assert data["response"]["error"]["code"] == "context_length_exceeded"
    said = data["response"]["error"]["message"]  # in OpenAI's words, as the error body before the stream says it
    assert "This model's maximum context length is" in said and message in said  # the words LiteLLM reads
    # The SDK's ResponseError.code Literal lacks this code (Codex maps it), so strict validation refuses it;
    # the SDK itself parses stream events without validation (construct_type), as here.
    event: Any = construct_type(type_=ResponseStreamEvent, value=data)
    assert type(event).__name__ == "ResponseFailedEvent" and event.response.error.code == "context_length_exceeded"


def test_error_body_is_openais_envelope() -> None:
    exc = RequestError("bad", param="input[3].call_id", code="invalid_type")
    assert error_body(exc) == {
        "error": {
            "message": "bad",
            "type": "invalid_request_error",
            "param": "input[3].call_id",
            "code": "invalid_type",
        }
    }


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (too_long("anthropic", "http://h", "prompt is too long: 210000 > 200000", status=400), CONTEXT_LENGTH_EXCEEDED),
        (
            UpstreamStatusError("vllm", "http://h", "too long", status=400, code="context_length_exceeded"),
            "context_length_exceeded",
        ),
        (UpstreamStatusError("ollama", "http://h", "bad image", status=400), None),
        (RequestError("the context window of no target fits", code="invalid_type"), "invalid_type"),
    ],
)
def test_error_body_codes_a_context_overflow_as_the_stream_does(exc: TiergateError, code: str | None) -> None:
    """Before the stream starts as after it (``response.failed``): Codex needs ``context_length_exceeded``."""
    assert error_body(exc)["error"]["code"] == code


def test_the_openai_sdk_client_reads_both_answers() -> None:
    """``responses.create`` and the ``responses.stream`` accumulator, over a mock transport (no sockets)."""
    seen: list[ChatRequest] = []

    def handler(http: httpx2.Request) -> httpx2.Response:
        r = decode(http.content)
        seen.append(r)
        if not r.stream:
            return httpx2.Response(
                200, json=whole(Completion(content="Hi"), id="resp_2", created=1, model="m", request=r)
            )
        events: list[StreamEvent] = [
            ReasoningDelta("think"),
            TextDelta("Hel"),
            TextDelta("lo"),
            ToolCallStart(0, "call_1", "exec_command"),
            ToolCallArgs(0, '{"cmd":"ls"}'),
            Finish("tool_calls"),
            UsageReport(Usage.of(3, 4)),
        ]
        stream = run(StreamWriter("resp_1", 1, "m", request=r), events)
        return httpx2.Response(200, content=stream, headers={"content-type": "text/event-stream"})

    http = httpx2.Client(transport=httpx2.MockTransport(handler))
    client = openai.OpenAI(api_key="sk-test", base_url="http://tiergate.test/v1", http_client=http)
    assert client.responses.create(model="auto", input="hi").output_text == "Hi"
    tools: Any = [EXEC | {"strict": False}]
    asked: Any = {"summary": "auto"}
    with client.responses.stream(model="auto", input="hi", tools=tools, reasoning=asked) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert final.output_text == "Hello" and [item.type for item in final.output] == [
        "reasoning",
        "message",
        "function_call",
    ]
    assert final.usage is not None and final.usage.total_tokens == 7
    assert [r.stream for r in seen] == [False, True]
