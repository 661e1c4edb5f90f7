from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import msgspec
import pytest
from anthropic.types import ErrorResponse, RawMessageStreamEvent
from anthropic.types import Message as SdkMessage
from pydantic import TypeAdapter

from tiergate.errors import (
    AuthError,
    NoTargetError,
    RateLimited,
    RequestError,
    TiergateError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamUnavailable,
)
from tiergate.protocols.anthropic import (
    ANSWER_TOOL,
    SIGNATURE_PREFIX,
    AnthropicMessage,
    StreamTranslator,
    StreamWriter,
    answer_tool_of,
    count_tokens,
    decode,
    error_body,
    from_message,
    native_body,
    native_headers,
    signature,
    to_messages_body,
    whole,
    whole_answer,
)
from tiergate.protocols.anthropic.tools import function_of
from tiergate.rules.agent_steps import DEFAULT_MARKERS
from tiergate.wire import (
    ChatRequest,
    Completion,
    ContentPart,
    FileData,
    Finish,
    FunctionCall,
    ImageURL,
    Message,
    Native,
    Raw,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallArgs,
    ToolCallStart,
    Usage,
    UsageReport,
)

# Two request bodies Claude Code 2.1.332 sent (captured for issue 12): a second turn carrying a tool_result,
# and the session-title call asking for structured output. Trimmed: system prompt texts (top-level
# `system` blocks and role "system" turns) longer than 400 characters end in "[... N characters trimmed
# ...]", and the dummy x-api-key header is left out; nothing else was changed (each file says so too).
FIXTURES = Path(__file__).parent / "fixtures"
STREAM_EVENT: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)
PNG = "iVBORw0KGgoAAAANSUhEUg=="
BASH = {"name": "Bash", "description": "Run a command", "input_schema": {"type": "object"}}
NOW = {"type": "function", "function": {"name": "now"}}
SCHEMA = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}


def unplaced(found: Any) -> Any:
    """Messages without where the client's body held them (``Message.at``), asserted on its own."""
    if isinstance(found, list):
        return [unplaced(m) for m in found]
    return msgspec.structs.replace(found, at=None)


def captured(name: str) -> tuple[bytes, dict[str, str]]:
    capture = json.loads((FIXTURES / f"anthropic-claude-code-2.1.332-{name}.json").read_text())
    return json.dumps(capture["body"]).encode(), dict(capture["headers"])


def body(**fields: Any) -> bytes:
    return json.dumps({"model": "claude-opus-5-5", "max_tokens": 1024, **fields}).encode()


def asked(*messages: dict[str, Any], **fields: Any) -> ChatRequest:
    """The internal form of a Messages body holding ``messages`` (a plain "hi" when none)."""
    return decode(body(messages=list(messages) or [{"role": "user", "content": "hi"}], **fields), {})


def chat(**fields: Any) -> ChatRequest:
    return msgspec.convert({"messages": [{"role": "user", "content": "hi"}], **fields}, ChatRequest)


TEXT = {"type": "text", "text": "hi"}
TOOL_USE = {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}


def user(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "content": list(blocks)}


def image(**source: Any) -> dict[str, Any]:
    return {"type": "image", "source": source}


def json_delta(index: int, partial: str) -> dict[str, Any]:
    return {
        "type": "content_block_delta",
        "index": index,
        "delta": {"type": "input_json_delta", "partial_json": partial},
    }


def frames(stream: bytes) -> list[tuple[str, dict[str, Any]]]:
    """Each SSE frame as (event name, data): every one has its `event:` line, naming its data's type."""
    assert stream.endswith(b"\n\n")
    out = []
    for frame in stream[:-2].split(b"\n\n"):
        event, data = frame.split(b"\n")
        assert event.startswith(b"event: ") and data.startswith(b"data: ")
        name, parsed = event[7:].decode(), json.loads(data[6:])
        assert parsed["type"] == name
        out.append((name, parsed))
    return out


def written(writer: StreamWriter, *events: StreamEvent) -> bytes:
    return writer.start() + b"".join(writer.event(e) or b"" for e in events) + writer.end()


def sdk_client(answer: httpx2.Response) -> anthropic.Anthropic:
    """The anthropic SDK (on its own httpx2), answered by ``answer`` without a socket."""
    transport = httpx2.MockTransport(lambda request: answer)
    return anthropic.Anthropic(
        api_key="k", base_url="http://tiergate.test", http_client=httpx2.Client(transport=transport)
    )


# --- decode: what Claude Code really sends ---------------------------------------------------------


def test_claude_code_tool_turn_decodes_to_the_internal_form() -> None:
    raw, headers = captured("tool_result")

    request = decode(raw, headers)

    assert [m.role for m in request.messages] == ["system", "user", "system", "assistant", "tool"]
    system, ask, environment, call, result = request.messages
    # Claude Code's attribution line (its first system block) is for Anthropic's API only: a translated target
    # reads the prompt from the block after it
    assert system.text().startswith("You are a Claude agent, built on Anthropic's Claude Agent SDK.\n")
    assert isinstance(ask.content, list) and ask.content[-1] == ContentPart(type="text", text="Run echo hi")
    assert ask.content[0].text is not None and ask.content[0].text.startswith("<system-reminder>")
    assert environment.text().startswith("# Environment\n")  # the mid-conversation system turn, in its place
    assert unplaced(call) == Message(
        role="assistant",
        content="I'll run the command.",
        tool_calls=[
            ToolCall(
                id="toolu_c0c3f2dd8e3e47978b1e5267",
                function=FunctionCall("Bash", '{"command": "echo hi", "description": "Run the test command"}'),
            )
        ],
    )
    assert unplaced(result) == Message(role="tool", content="hi", tool_call_id="toolu_c0c3f2dd8e3e47978b1e5267")
    assert [t.function.name for t in request.tools or []] == [
        "Agent", "Bash", "Edit", "ListAgents", "Read", "ReportFindings", "ScheduleWakeup", "Skill", "ToolSearch",
        "Workflow", "DeferredToolPlaceholder", "Write",
    ]  # fmt: skip
    bash = (request.tools or [])[1].function
    assert bash.parameters is not None and "command" in bash.parameters["properties"]
    assert (request.model, request.max_tokens, request.stream) == ("claude-opus-5-5", 128000, True)
    assert request.reasoning_effort == "medium"  # thinking {"type": "adaptive"}
    assert request.user is not None and json.loads(request.user)["session_id"] == "94deda48-9f74-4500-8656-c3678aa54b3e"
    assert request.native == Native(
        dialect="anthropic",
        body=json.loads(raw),
        headers={
            "anthropic-version": "2023-06-01",
            "anthropic-beta": headers["anthropic-beta"],
        },
    )


def test_claude_code_title_call_asks_for_structured_output() -> None:
    raw, headers = captured("title")

    request = decode(raw, headers)

    assert request.response_format == {
        "type": "json_schema",
        "json_schema": {
            "name": ANSWER_TOOL,
            "schema": {
                "type": "object",
                "properties": {"title": {"type": "string"}},
                "required": ["title"],
                "additionalProperties": False,
            },
            "strict": True,
        },
    }
    assert request.tools is None and request.reasoning_effort is None
    assert [m.role for m in request.messages] == ["system", "user"]
    assert "structured-outputs-2025-12-15" in request.native.headers["anthropic-beta"]  # type: ignore[union-attr]


def test_thinking_is_dropped_and_the_rest_of_the_turn_kept() -> None:
    request = asked(
        {"role": "user", "content": "Run it"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "The user wants it run.", "signature": "EqQBCgIYAhIM"},
                {"type": "redacted_thinking", "data": "EmwKAhgBEgy"},
                {"type": "text", "text": "Running."},
                {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {}},
            ],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "done"}]},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "Only thoughts.", "signature": "x"}]},
        {"role": "user", "content": "Thanks"},
    )

    assert unplaced(request.messages) == [
        Message(role="user", content="Run it"),
        Message(role="assistant", content="Running.", tool_calls=[ToolCall("toolu_1", FunctionCall("Bash", "{}"))]),
        Message(role="tool", content="done", tool_call_id="toolu_1"),
        Message(role="user", content="Thanks"),
    ]


def test_system_as_blocks_and_mid_conversation_system_keep_their_places() -> None:
    request = asked(
        {"role": "user", "content": "one"},
        {"role": "system", "content": [{"type": "text", "text": "Be terse."}, {"type": "text", "text": "No emoji."}]},
        {"role": "user", "content": "two"},
        system=[{"type": "text", "text": "You are Claude.", "cache_control": {"type": "ephemeral"}}],
    )

    assert unplaced(request.messages) == [
        Message(role="system", content="You are Claude."),
        Message(role="user", content="one"),
        Message(role="system", content="Be terse.\nNo emoji."),
        Message(role="user", content="two"),
    ]


def test_user_blocks_images_documents_and_tool_results() -> None:
    request = asked(
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {"path": "a"}}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look:"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
                {
                    "type": "document",
                    "source": {"type": "text", "media_type": "text/plain", "data": "Doc text."},
                    "title": "notes.txt",
                    "context": "the design review's minutes",
                },
                {
                    "type": "document",
                    "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
                    "context": "signed copy",
                },
                {
                    "type": "search_result",
                    "source": "https://example.com",
                    "title": "Result",
                    "content": [{"type": "text", "text": "Found it."}],
                },
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": [
                        {"type": "text", "text": "line 1"},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                        {"type": "text", "text": "line 2"},
                    ],
                },
            ],
        },
    )

    assert unplaced(request.messages[1:]) == [
        Message(
            role="tool",
            content=[
                ContentPart(type="text", text="line 1\nline 2"),
                ContentPart(type="image_url", image_url=ImageURL(url=f"data:image/png;base64,{PNG}")),
            ],
            tool_call_id="t1",
        ),
        Message(
            role="user",
            content=[
                ContentPart(type="text", text="Look:"),
                ContentPart(type="image_url", image_url=ImageURL(url=f"data:image/png;base64,{PNG}")),
                ContentPart(type="image_url", image_url=ImageURL(url="https://example.com/cat.jpg")),
                ContentPart(type="text", text="Title: notes.txt\nContext: the design review's minutes\n\nDoc text."),
                ContentPart(
                    type="file",
                    file=FileData(file_data="data:application/pdf;base64,JVBE", at="messages[1].content[4]"),
                ),
                ContentPart(type="text", text="Context: signed copy"),
                ContentPart(type="text", text="Title: Result\nSource: https://example.com\n\nFound it."),
            ],
        ),
    ]


def test_a_tool_result_of_only_an_image_keeps_it_and_counts_as_an_image() -> None:
    """Claude Code's Read of a PNG: the result is the image alone."""
    request = asked(
        {"role": "user", "content": "what is in shot.png?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {}}]},
        user(
            {
                "type": "tool_result",
                "tool_use_id": "t1",
                "content": [image(type="url", url="https://example.com/shot.png")],
                "is_error": True,
            }
        ),
    )

    result = request.messages[-1]
    assert unplaced(result) == Message(
        role="tool",
        content=[
            ContentPart(type="text", text="error: "),
            ContentPart(type="image_url", image_url=ImageURL(url="https://example.com/shot.png")),
        ],
        tool_call_id="t1",
    )
    assert result.images() == ["https://example.com/shot.png"]


def test_a_failed_tool_result_reads_as_a_failure_to_the_agent_markers() -> None:
    refused = "Output redirection to '/tmp/made.txt' needs approval"
    request = asked(
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "t1", "content": refused, "is_error": True}],
        },
    )

    result = request.messages[-1]
    assert unplaced(result) == Message(role="tool", content=f"error: {refused}", tool_call_id="t1")
    assert DEFAULT_MARKERS.failed(result.text()) and not DEFAULT_MARKERS.failed(refused)


def test_tools_choice_stops_sampling_metadata_and_thinking() -> None:
    request = asked(
        tools=[
            {**BASH, "defer_loading": True, "cache_control": {"type": "ephemeral"}},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 5},
            {"type": "bash_20250124", "name": "bash"},
            {"type": "custom", "name": "Read", "input_schema": {"type": "object"}},
        ],
        tool_choice={"type": "tool", "name": "Bash", "disable_parallel_tool_use": True},
        stop_sequences=["END", "\n\nHuman:"],
        temperature=0.5,
        top_p=0.9,
        top_k=40,
        metadata={"user_id": '{"device_id":"d1"}'},
        thinking={"type": "disabled"},
    )

    assert [(t.function.name, t.function.description, t.function.parameters) for t in request.tools or []] == [
        ("Bash", "Run a command", {"type": "object"}),
        ("web_search", "Anthropic's web_search_20250305", {"type": "object"}),
        ("bash", function_of("bash_20250124", "bash").description, function_of("bash_20250124", "bash").parameters),  # type: ignore[union-attr]
        ("Read", None, {"type": "object"}),
    ]
    assert request.native is not None
    assert request.native.exclusive == (
        ("tools[1]", "'web_search_20250305' is a server tool, which Anthropic runs itself"),
    )
    assert request.tool_choice == {"type": "function", "function": {"name": "Bash"}}
    assert request.parallel_tool_calls is False
    assert request.stop == ["END", "\n\nHuman:"]
    assert (request.temperature, request.top_p, request.user) == (0.5, 0.9, '{"device_id":"d1"}')
    assert request.reasoning_effort == "none"  # thinking disabled: a thinking model on Ollama gets think: false
    assert request.stream is False and request.stream_options is None


def test_a_server_tool_is_declared_for_routing_and_only_anthropic_serves_it() -> None:
    """Routing sees the tool (``tools_present``), and the request goes only to an Anthropic target, which
    gets the client's own ``tools``; no other model is ever sent the stand-in."""
    request = asked(
        tools=[{"type": "web_search_20250305", "name": "web_search"}],
        tool_choice={"type": "tool", "name": "web_search", "disable_parallel_tool_use": True},
    )
    assert [t.function.name for t in request.tools or []] == ["web_search"]
    assert (request.tool_choice, request.parallel_tool_calls) == (
        {"type": "function", "function": {"name": "web_search"}},
        False,
    )
    assert request.native is not None and [where for where, _ in request.native.exclusive] == ["tools[0]"]


def test_a_user_block_tiergate_does_not_read_is_only_anthropics_to_serve() -> None:
    """An assistant turn's blocks from Claude's server tools stay as they were: dropped for other models."""
    searched = {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []}
    request = asked(
        user({"type": "audio", "source": {}}, TEXT),
        {"role": "assistant", "content": [TEXT, searched]},
        user({"type": "tool_result", "tool_use_id": "t", "content": [TEXT, {"type": "tool_reference"}]}),
    )
    assert request.native is not None and request.native.exclusive == (
        ("messages[0].content[0]", "'audio' is a content block type tiergate has no translation of for other models"),
        (
            "messages[2].content[0].content[1]",
            "'tool_reference' is a content block type tiergate has no translation of for other models",
        ),
    )


@pytest.mark.parametrize(
    ("choice", "expected"),
    [({"type": "auto"}, "auto"), ({"type": "any"}, "required"), ({"type": "none"}, "none")],
)
def test_tool_choice_kinds(choice: dict[str, Any], expected: str) -> None:
    request = asked(tools=[BASH], tool_choice=choice)
    assert (request.tool_choice, request.parallel_tool_calls) == (expected, None)


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"max_tokens": None}, "max_tokens"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": "many"}, "max_tokens"),
        ({"model": None}, "model"),
        ({"stop_sequences": ["END", " \n"]}, "stop_sequences[1]"),
        ({"messages": [{"role": "assistant", "content": "hi"}]}, "messages"),
        ({"messages": [{"content": "hi"}]}, "messages[0].role"),
        ({"messages": [{"role": "tool", "content": "hi"}]}, "messages[0].role"),
        ({"tools": [BASH, {**BASH, "name": ""}]}, "tools[1].name"),
        ({"tool_choice": {"type": "tool"}}, "tool_choice.name"),
        ({"tool_choice": {"type": "required"}}, "tool_choice.type"),
        (
            {"messages": [user(image(type="base64", media_type="text/plain", data="aGk="))]},
            "messages[0].content[0].source.media_type",
        ),
        (
            {"messages": [user(image(type="url", url="data:text/html;base64,PGI+"))]},
            "messages[0].content[0].source.url",
        ),
        ({"messages": [user(image(type="file"))]}, "messages[0].content[0].source.file_id"),
        ({"messages": [user(image(type="bytes", data="aGk="))]}, "messages[0].content[0].source.type"),
        (
            {"messages": [user({"type": "tool_use", "id": "t", "name": "x", "input": {}})]},
            "messages[0].content[0].type",
        ),
        (
            {
                "messages": [
                    user(TEXT),
                    {"role": "assistant", "content": [{"type": "tool_use", "name": "x", "input": {}}]},
                ]
            },
            "messages[1].content[0].id",
        ),
        ({"messages": [user({"type": "tool_result", "content": "x"})]}, "messages[0].content[0].tool_use_id"),
        (
            {
                "messages": [
                    user(
                        {
                            "type": "tool_result",
                            "tool_use_id": "t",
                            "content": [{"type": "text", "text": "x"}, image(type="file")],
                        }
                    )
                ]
            },
            "messages[0].content[0].content[1].source.file_id",
        ),
        (
            {"messages": [user({"type": "document", "source": {"type": "base64", "media_type": "text/plain"}})]},
            "messages[0].content[0].source.media_type",
        ),
        (
            {"messages": [user({"type": "document", "source": {"type": "base64", "media_type": "application/pdf"}})]},
            "messages[0].content[0].source.data",
        ),
        ({"messages": [user({"type": "document", "source": {"type": "url"}})]}, "messages[0].content[0].source.url"),
        (
            {"messages": [user({"type": "document", "source": {"type": "file"}})]},
            "messages[0].content[0].source.file_id",
        ),
        (
            {"messages": [user({"type": "document", "source": {"type": "zip", "data": "aGk="}})]},
            "messages[0].content[0].source.type",
        ),
        ({"messages": [user({"type": "document", "title": "a.pdf"})]}, "messages[0].content[0].source"),
    ],
)
def test_what_the_api_refuses_is_a_400_naming_the_field(fields: dict[str, Any], param: str) -> None:
    fields = {"messages": [{"role": "user", "content": "hi"}], **fields}
    raw = json.dumps({k: v for k, v in {"model": "m", "max_tokens": 8, **fields}.items() if v is not None}).encode()

    with pytest.raises(RequestError) as caught:
        decode(raw, {})

    assert (caught.value.status, caught.value.param) == (400, param)
    assert caught.value.message.startswith(f"{param}: ")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tools": [BASH, {"name": "now"}]}, "tools[1].input_schema: Field required"),
        ({"tool_choice": {"type": "any"}}, "tool_choice: tool_choice may only be specified while providing tools"),
        (
            {"tools": [], "tool_choice": {"type": "auto"}},
            "tool_choice: tool_choice may only be specified while providing tools",
        ),
        ({"thinking": {"type": "enabled"}}, "thinking.enabled.budget_tokens: Field required"),
        (
            {"max_tokens": 4000, "thinking": {"type": "enabled", "budget_tokens": 1023}},
            "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
        ),
        (
            {"max_tokens": 2048, "thinking": {"type": "enabled", "budget_tokens": 2048}},
            "`max_tokens` must be greater than `thinking.budget_tokens`.",
        ),
    ],
    ids=[
        "tool-without-schema",
        "any-without-tools",
        "auto-with-no-tools",
        "no-budget",
        "small-budget",
        "budget-at-max",
    ],
)
def test_tools_and_thinking_the_api_refuses_are_refused_on_every_tier(fields: dict[str, Any], message: str) -> None:
    """A local tier answered them and Claude refused them: whether a request was valid depended on routing."""
    with pytest.raises(RequestError) as caught:
        decode(body(messages=[user(TEXT)], **fields), {})
    assert (caught.value.status, caught.value.message) == (400, message)


@pytest.mark.parametrize(
    "fields",
    [
        {"tool_choice": {"type": "none"}},
        {"tools": [{"type": "bash_20250124", "name": "bash"}, {"type": "web_search_20250305", "name": "web_search"}]},
        {"max_tokens": 1025, "thinking": {"type": "enabled", "budget_tokens": 1024}},
        {"thinking": {"type": "adaptive", "display": "omitted"}},
        {"thinking": {"type": "disabled"}},
    ],
    ids=["none-without-tools", "anthropics-own-tools", "smallest-budget", "adaptive", "disabled"],
)
def test_tools_and_thinking_the_api_takes_are_taken(fields: dict[str, Any]) -> None:
    assert decode(body(messages=[user(TEXT)], **fields), {}).messages


def test_count_tokens_takes_a_thinking_budget_without_max_tokens() -> None:
    thinking = {"type": "enabled", "budget_tokens": 4096}
    counted = count_tokens(json.dumps({"model": "m", "thinking": thinking, "messages": [user(TEXT)]}).encode())
    assert counted == {"input_tokens": 1}


EMPTY_TURN = "all messages must have non-empty content except for the optional final assistant message"
EMPTY_TEXT = "text content blocks must be non-empty"


@pytest.mark.parametrize(
    ("messages", "message"),
    [
        ([user()], f"messages.0: {EMPTY_TURN}"),
        ([{"role": "user", "content": ""}], f"messages.0: {EMPTY_TURN}"),
        ([user(TEXT), {"role": "assistant", "content": []}, user(TEXT)], f"messages.1: {EMPTY_TURN}"),
        ([user({"type": "text", "text": ""})], f"messages[0].content[0].text: {EMPTY_TEXT}"),
        (
            [user(TEXT, {"type": "text", "text": "", "cache_control": {"type": "ephemeral"}})],
            f"messages[0].content[1].text: {EMPTY_TEXT}",
        ),
    ],
    ids=["no-blocks", "empty-string", "empty-assistant", "empty-text", "empty-text-after-text"],
)
def test_an_empty_turn_or_text_block_is_refused_as_the_api_refuses_it(messages: list[Any], message: str) -> None:
    """A translated request would lose the turn: an empty user turn left Ollama with no message at all."""
    raw = json.dumps({"model": "m", "max_tokens": 8, "messages": messages}).encode()
    with pytest.raises(RequestError) as caught:
        decode(raw, {})
    assert (caught.value.status, caught.value.message) == (400, message)


BLANK = "text content blocks must contain non-whitespace text"
TRAILING = "final assistant content cannot end with trailing whitespace"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"messages": [{"role": "user", "content": "   "}]}, f"messages[0].content: {BLANK}"),
        ({"messages": [user({"type": "text", "text": "\n\n"})]}, f"messages[0].content: {BLANK}"),
        (
            {"messages": [user({"type": "text", "text": " "}, {"type": "text", "text": "\t"})]},
            f"messages[0].content: {BLANK}",
        ),
        (
            {"messages": [user(TEXT), {"role": "assistant", "content": " "}, user(TEXT)]},
            f"messages[1].content: {BLANK}",
        ),
        ({"messages": [user(TEXT), {"role": "assistant", "content": "\n"}]}, f"messages[1].content: {BLANK}"),
        ({"messages": [user(TEXT), {"role": "assistant", "content": "Sure: "}]}, f"messages[1].content: {TRAILING}"),
        (
            {"messages": [user(TEXT), {"role": "assistant", "content": [{"type": "text", "text": "{\n"}]}]},
            f"messages[1].content: {TRAILING}",
        ),
        ({"system": "  "}, f"system: {BLANK}"),
        (
            {"system": [{"type": "text", "text": "You code."}, {"type": "text", "text": ""}]},
            f"system[1].text: {EMPTY_TEXT}",
        ),
    ],
    ids=[
        "spaces",
        "newlines-block",
        "blank-blocks",
        "blank-assistant",
        "blank-prefill",
        "prefill-ending-in-a-space",
        "prefill-block-ending-in-a-newline",
        "blank-system",
        "empty-system-block",
    ],
)
def test_whitespace_alone_and_a_prefill_ending_in_it_are_refused_as_the_api_refuses_them(
    fields: dict[str, Any], message: str
) -> None:
    """A local model would answer them, and the same conversation would be refused once it reached Claude."""
    raw = json.dumps({"model": "m", "max_tokens": 8, "messages": [user(TEXT)], **fields}).encode()
    with pytest.raises(RequestError) as caught:
        decode(raw, {})
    assert (caught.value.status, caught.value.message) == (400, message)


@pytest.mark.parametrize(
    "fields",
    [
        {"messages": [user(TEXT, {"type": "text", "text": " "})]},
        {"messages": [user({"type": "text", "text": "\n"}, image(type="base64", media_type="image/png", data=PNG))]},
        {"messages": [user(TEXT), {"role": "assistant", "content": [{"type": "text", "text": "\n\n"}, TOOL_USE]}]},
        {"messages": [user(TEXT), {"role": "assistant", "content": "Sure:"}]},
        {"messages": [user(TEXT), {"role": "assistant", "content": "a  b"}, user(TEXT)]},
        {"system": ""},
        {"messages": [user({"type": "tool_result", "tool_use_id": "t", "content": " "})]},
    ],
    ids=[
        "beside-text",
        "beside-an-image",
        "beside-a-tool-call",
        "prefill",
        "inner-spaces",
        "empty-system",
        "tool-result",
    ],
)
def test_whitespace_beside_other_content_is_taken(fields: dict[str, Any]) -> None:
    raw = json.dumps({"model": "m", "max_tokens": 8, "tools": [BASH], "messages": [user(TEXT)], **fields}).encode()
    assert decode(raw, {}).messages


def test_the_final_assistant_turn_may_be_empty() -> None:
    request = asked(user(TEXT), {"role": "assistant", "content": ""})
    assert [m.role for m in request.messages] == ["user"]


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b""])
def test_a_body_that_is_no_json_object_is_a_400(raw: bytes) -> None:
    with pytest.raises(RequestError) as caught:
        decode(raw, {})
    assert (caught.value.status, caught.value.param) == (400, None)


def test_count_tokens_is_characters_over_four() -> None:
    tool = {"name": "Bash", "input_schema": {"type": "object"}}  # 48 characters of JSON
    raw = body(
        system=[{"type": "text", "text": "x" * 40, "cache_control": {"type": "ephemeral"}}],
        messages=[
            {"role": "user", "content": "y" * 20},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {}}]},
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "z" * 4000}}
                ],
            },
        ],
        tools=[tool],
    )

    assert len(json.dumps(tool, separators=(",", ":"))) == 48
    # "Bash" is the tool_use's text; the image counts 1,600 whatever its bytes
    assert count_tokens(raw) == {"input_tokens": (40 + 20 + 4 + 48 + 3) // 4 + 1600}
    assert count_tokens(b'{"model": "m", "messages": [{"role": "user", "content": "abcd"}]}') == {"input_tokens": 1}


# --- egress: the internal form → an Anthropic upstream --------------------------------------------


def test_mid_conversation_system_goes_to_the_top_level_system_in_order() -> None:
    request = chat(
        messages=[
            {"role": "system", "content": "First."},
            {"role": "user", "content": "a"},
            {"role": "developer", "content": "Second."},
            {"role": "assistant", "content": "b"},
            {"role": "system", "content": "Third."},
            {"role": "user", "content": "c"},
        ],
        stop=["\n\n", "END"],
    )

    sent = to_messages_body(request, "claude-x", default_max_tokens=4096)

    assert sent == {
        "model": "claude-x",
        "max_tokens": 4096,
        "system": "First.\n\nSecond.\n\nThird.",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "a"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "b"}]},
            {"role": "user", "content": [{"type": "text", "text": "c"}]},
        ],
        "stop_sequences": ["END"],  # the blank one is emulated, never sent
    }


def test_tool_ids_a_server_repeated_across_turns_are_made_unique_with_their_results() -> None:
    """A server numbering its calls per answer (``functions.Bash:0``) writes the same id every turn; Anthropic
    refuses such a history ("tool_use ids must be unique")."""

    def step(call_id: str, command: str) -> list[dict[str, Any]]:
        call = {"id": call_id, "type": "function", "function": {"name": "Bash", "arguments": f'{{"c": "{command}"}}'}}
        return [
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": call_id, "content": f"ran {command}"},
        ]

    request = chat(
        messages=[{"role": "user", "content": "go"}, *step("t0", "ls"), *step("t0", "pwd"), *step("t0_2", "id")]
    )
    turns = to_messages_body(request, "claude-x", default_max_tokens=64)["messages"]
    pairs = [
        (block.get("id") or block.get("tool_use_id"), block["type"])
        for turn in turns
        for block in turn["content"]
        if block["type"] in ("tool_use", "tool_result")
    ]
    assert pairs == [
        ("t0", "tool_use"),
        ("t0", "tool_result"),
        ("t0_3", "tool_use"),  # t0_2 is a call of its own, later on
        ("t0_3", "tool_result"),
        ("t0_2", "tool_use"),
        ("t0_2", "tool_result"),
    ]


@pytest.mark.parametrize(
    ("response_format", "name", "schema"),
    [
        ({"type": "json_schema", "json_schema": {"name": "Title", "schema": SCHEMA}}, "Title", SCHEMA),
        ({"type": "json_schema", "json_schema": {"schema": SCHEMA}}, ANSWER_TOOL, SCHEMA),
        ({"type": "json_object"}, ANSWER_TOOL, {"type": "object"}),
    ],
)
def test_structured_output_without_tools_is_a_forced_answer_tool(
    response_format: dict[str, Any], name: str, schema: dict[str, Any]
) -> None:
    request = chat(response_format=response_format, reasoning_effort="high")

    sent = to_messages_body(request, "claude-x", default_max_tokens=512, thinking_supported=True)

    assert answer_tool_of(request) == name
    assert sent == {
        "model": "claude-x",
        "max_tokens": 512,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "tools": [{"name": name, "description": "Answer with JSON matching this schema.", "input_schema": schema}],
        "tool_choice": {"type": "tool", "name": name},  # and no thinking: the API refuses it with a forced tool
    }


def test_structured_output_with_own_tools_is_anthropics_output_config() -> None:
    request = chat(
        tools=[NOW],
        response_format={"type": "json_schema", "json_schema": {"name": "Title", "schema": SCHEMA}},
    )

    sent = to_messages_body(request, "claude-x", default_max_tokens=512)

    assert answer_tool_of(request) is None
    assert sent["tools"] == [{"name": "now", "input_schema": {"type": "object", "properties": {}}}]
    assert "tool_choice" not in sent
    assert sent["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}


def test_plain_text_needs_no_answer_tool() -> None:
    assert answer_tool_of(chat()) is None
    assert answer_tool_of(chat(response_format={"type": "text"})) is None
    assert "tools" not in to_messages_body(chat(response_format={"type": "text"}), "m", default_max_tokens=1)


def test_a_forced_tool_answer_is_read_back_as_text() -> None:
    answer = {
        "type": "message",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "Title", "input": {"title": "Make a file"}}],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 30, "output_tokens": 9},
    }

    completion = whole_answer("claude", "https://api.test", json.dumps(answer).encode(), answer_tool="Title")

    assert completion == Completion(content='{"title": "Make a file"}', finish_reason="stop", usage=Usage.of(30, 9))
    as_call = from_message(msgspec.convert(answer, AnthropicMessage))
    assert as_call.finish_reason == "tool_calls" and as_call.tool_calls[0].function.name == "Title"


def test_a_forced_tool_answer_streams_as_text() -> None:
    translator = StreamTranslator("claude", "https://api.test", answer_tool="Title")
    fed = [
        ("message_start", {"type": "message_start", "message": {"usage": {"input_tokens": 30, "output_tokens": 1}}}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "tool_use", "id": "toolu_1", "name": "Title", "input": {}},
            },
        ),
        ("content_block_delta", json_delta(0, "")),
        ("content_block_delta", json_delta(0, '{"title": "Ma')),
        ("content_block_delta", json_delta(0, 'ke a file"}')),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}},
        ),
        ("message_stop", {"type": "message_stop"}),
    ]

    events = [event for name, data in fed for event in translator.feed(name, json.dumps(data))]

    assert events == [
        TextDelta('{"title": "Ma'),
        TextDelta('ke a file"}'),
        Finish("stop"),
        UsageReport(Usage.of(30, 9)),
    ]
    assert translator.done


def test_the_stream_translator_still_reads_tool_calls_and_errors() -> None:
    translator = StreamTranslator("claude", "https://api.test")
    start = {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {}}
    assert translator.feed("content_block_start", json.dumps({"index": 1, "content_block": start})) == [
        ToolCallStart(0, "toolu_1", "Bash")
    ]
    with pytest.raises(UpstreamProtocolError):
        translator.feed("content_block_delta", json.dumps(json_delta(0, "{")))
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    with pytest.raises(UpstreamStatusError) as caught:
        translator.feed("error", json.dumps(overloaded))
    assert (caught.value.status, caught.value.started) == (529, True)


def test_the_answer_has_begun_once_a_content_block_starts_even_one_that_translates_to_nothing() -> None:
    """Hidden thinking (``display: omitted``) starts an empty block: nothing to translate, but Claude is
    answering. message_start and ping are not an answer."""
    translator = StreamTranslator("claude", "https://api.test")
    hidden = {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}
    seen = []
    for name, data in [("message_start", {"message": {}}), ("ping", {}), ("content_block_start", hidden)]:
        assert translator.feed(name, json.dumps(data)) == []
        seen.append(translator.answering)
    assert seen == [False, False, True]


@pytest.mark.parametrize(("effort", "budget"), [("minimal", 1024), ("low", 1024), ("medium", 4096), ("high", 16384)])
def test_reasoning_effort_turns_thinking_on_where_the_target_has_it(effort: str, budget: int) -> None:
    request = chat(reasoning_effort=effort, temperature=0.3, top_p=0.9, max_tokens=2000)

    sent = to_messages_body(request, "claude-x", default_max_tokens=4096, thinking_supported=True)
    plain = to_messages_body(request, "claude-x", default_max_tokens=4096)

    assert sent["thinking"] == {"type": "enabled", "budget_tokens": min(budget, 1999)}
    assert "temperature" not in sent and "top_p" not in sent
    assert sent["max_tokens"] == 2000  # the client's limit: the budget fits under it, never the reverse
    assert "thinking" not in plain and plain["temperature"] == 0.3 and plain["max_tokens"] == 2000


@pytest.mark.parametrize(
    ("effort", "budget"),
    [
        ("high", 16384),
        ("HIGH ", 16384),
        ("xhigh", 30720),
        ("max", 30720),
        ("ultra", 30720),
        ("a-new-level", 4096),
        ("none", None),
        ("off", None),
        ("", None),
    ],
)
def test_every_effort_but_none_thinks_and_the_levels_above_high_think_most(effort: str, budget: int | None) -> None:
    """Codex sends ``xhigh``, ``max`` and ``ultra``: they once turned thinking off, as no level was known. Each
    budget leaves an answer room under the backend's default, Claude Opus 4.1's most output tokens."""
    request = chat(reasoning_effort=effort)
    sent = to_messages_body(request, "claude-x", default_max_tokens=32000, thinking_supported=True)

    assert sent["max_tokens"] == 32000
    if budget is None:
        assert "thinking" not in sent
    else:
        assert sent["thinking"] == {"type": "enabled", "budget_tokens": budget} and budget + 1024 <= 32000


@pytest.mark.parametrize(
    ("limit", "default", "thinking", "max_tokens"),
    [
        (300, 4096, None, 300),  # under the API's minimum budget once cut: no thinking rather than a raise
        (1024, 4096, None, 1024),
        (1025, 4096, 1024, 1025),
        (20000, 4096, 16384, 20000),
        # no client limit: tiergate's (fitted to the window) is no more raised, and leaves the answer 1024
        (None, 4096, 3072, 4096),
        (None, 2048, 1024, 2048),
        (None, 2047, None, 2047),
        (None, 32000, 16384, 32000),
    ],
)
def test_thinking_never_raises_the_limit_the_clients_or_tiergates(
    limit: int | None, default: int, thinking: int | None, max_tokens: int
) -> None:
    """tiergate's limit was raised to the budget and 1024: past the room the window leaves beside the prompt,
    which the API refused."""
    request = chat(reasoning_effort="high", temperature=0.3, max_completion_tokens=limit)

    sent = to_messages_body(request, "claude-x", default_max_tokens=default, thinking_supported=True)

    assert sent["max_tokens"] == max_tokens
    if thinking is None:
        assert "thinking" not in sent and sent["temperature"] == 0.3
    else:
        assert sent["thinking"] == {"type": "enabled", "budget_tokens": thinking} and "temperature" not in sent


@pytest.mark.parametrize(
    "fields",
    [
        {"reasoning_effort": "none"},
        {"tools": [NOW], "tool_choice": "required"},
        {"tools": [NOW], "tool_choice": {"type": "function", "function": {"name": "now"}}},
        {
            "messages": [
                {"role": "user", "content": "what time is it?"},
                {"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "now", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "noon"},
            ]
        },
        {  # the user speaks after the tool result: the same user turn, the same loop
            "messages": [
                {"role": "user", "content": "what time is it?"},
                {"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "now", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "noon"},
                {"role": "user", "content": "and in Rome?"},
            ]
        },
    ],
)
def test_no_thinking_where_the_api_would_refuse_it(fields: dict[str, Any]) -> None:
    request = chat(**{"reasoning_effort": "high", "temperature": 0.3, **fields})

    sent = to_messages_body(request, "claude-x", default_max_tokens=4096, thinking_supported=True)

    assert "thinking" not in sent and sent["temperature"] == 0.3


# --- native pass-through ------------------------------------------------------------------------


def test_native_body_changes_only_the_model_and_keeps_every_unknown_field() -> None:
    raw, headers = captured("tool_result")
    request = decode(raw, headers)
    assert request.native is not None

    sent = native_body(request.native, "claude-sonnet-5-5", stream=False)

    assert sent == {**json.loads(raw), "model": "claude-sonnet-5-5", "stream": False}
    assert sent["context_management"] == {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}
    assert sent["tools"][10]["defer_loading"] is True
    assert request.native.body["model"] == "claude-opus-5-5"  # the client's body itself is not changed
    assert native_headers(request.native) == {
        "anthropic-version": "2023-06-01",
        "anthropic-beta": headers["anthropic-beta"],
    }


def test_native_body_makes_repeated_tool_ids_unique_and_leaves_the_clients_body_alone() -> None:
    """Claude Code sends back the ids a local model's answers gave it: a server's per-answer counter
    (functions.Bash:0) repeats, and Anthropic refuses the history."""

    def step(command: str) -> list[dict[str, Any]]:
        call = {"type": "tool_use", "id": "functions_Bash_0_a97d1507", "name": "Bash", "input": {"c": command}}
        result = {"type": "tool_result", "tool_use_id": "functions_Bash_0_a97d1507", "content": "ok"}
        return [{"role": "assistant", "content": [call]}, {"role": "user", "content": [result]}]

    messages = [{"role": "user", "content": "go"}, *step("ls"), *step("pwd")]
    native = Native("anthropic", {"model": "auto", "max_tokens": 10, "messages": messages})
    before = json.dumps(native.body)

    sent = native_body(native, "claude-x", stream=False)

    ids = [block.get("id") or block.get("tool_use_id") for turn in sent["messages"][1:] for block in turn["content"]]
    assert ids == ["functions_Bash_0_a97d1507"] * 2 + ["functions_Bash_0_a97d1507_2"] * 2
    assert json.dumps(native.body) == before


def test_native_body_drops_thinking_anthropic_cannot_verify() -> None:
    ours = {"type": "thinking", "thinking": "local reasoning", "signature": signature("local reasoning")}
    theirs = {"type": "thinking", "thinking": "Claude's reasoning", "signature": "EqQBCgIYAhIM"}
    redacted = {"type": "redacted_thinking", "data": "EmwKAhgBEgy"}
    unsigned = {"type": "thinking", "thinking": "no signature"}
    call = {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {}}
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [theirs, redacted, {"type": "text", "text": "a"}]},
        {"role": "user", "content": "on"},
        {"role": "assistant", "content": [ours, call]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}]},
        {"role": "assistant", "content": [unsigned]},
        {"role": "user", "content": "and?"},
    ]
    native = Native("anthropic", {"model": "auto", "max_tokens": 10, "messages": messages, "safeguards": [{"v": 1}]})

    sent = native_body(native, "claude-x", stream=True)

    assert sent == {
        "model": "claude-x",
        "max_tokens": 10,
        "stream": True,
        "safeguards": [{"v": 1}],
        "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [theirs, redacted, {"type": "text", "text": "a"}]},
            {"role": "user", "content": "on"},
            {"role": "assistant", "content": [call]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}]},
            # the emptied assistant turn is gone: the API refuses empty content and joins these two user turns
            {"role": "user", "content": "and?"},
        ],
    }
    assert native.body["messages"][3]["content"] == [ours, call]


def test_a_thinking_block_tiergate_wrote_comes_back_and_is_dropped_before_claude() -> None:
    answer = whole(Completion("Hi.", reasoning="Greet back.", usage=Usage.of(5, 2)), id="msg_1", model="qwen")
    echoed = asked(
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": answer["content"]},
        {"role": "user", "content": "bye"},
    )
    assert echoed.native is not None

    sent = native_body(echoed.native, "claude-x", stream=True)

    assert answer["content"][0]["signature"].startswith(SIGNATURE_PREFIX)
    assert sent["messages"][1] == {"role": "assistant", "content": [{"type": "text", "text": "Hi."}]}
    assert unplaced(echoed.messages[1]) == Message(role="assistant", content="Hi.")


# --- ingress answers: whole, stream, errors -------------------------------------------------------


def test_whole_answer_shape_and_the_sdk_reads_it() -> None:
    completion = Completion(
        content="I'll run it.",
        tool_calls=[
            ToolCall("call_1", FunctionCall("Bash", '{"command": "echo hi"}')),
            ToolCall("call_2", FunctionCall("Now", "")),
            ToolCall("call_3", FunctionCall("Bash", '{"command": ')),
        ],
        finish_reason="tool_calls",
        usage=Usage.of(120, 15),
        reasoning="Run it.",
    )

    payload = whole(completion, id="msg_01", model="qwen2.5-coder:7b")

    assert payload == {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "qwen2.5-coder:7b",
        "content": [
            {"type": "thinking", "thinking": "Run it.", "signature": signature("Run it.")},
            {"type": "text", "text": "I'll run it."},
            {"type": "tool_use", "id": "call_1", "name": "Bash", "input": {"command": "echo hi"}},
            {"type": "tool_use", "id": "call_2", "name": "Now", "input": {}},
            {"type": "tool_use", "id": "call_3", "name": "Bash", "input": {"arguments": '{"command": '}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 120,
            "output_tokens": 15,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }
    assert SdkMessage.model_validate(payload).content[2].type == "tool_use"
    with sdk_client(httpx2.Response(200, json=payload)) as client:
        created = client.messages.create(model="auto", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert created.model_dump(exclude_none=True) == SdkMessage.model_validate(payload).model_dump(exclude_none=True)


@pytest.mark.parametrize(
    ("finish", "stop_reason"),
    [("stop", "end_turn"), ("length", "max_tokens"), ("tool_calls", "tool_use"), ("content_filter", "refusal")],
)
def test_stop_reasons(finish: Any, stop_reason: str) -> None:
    payload = whole(Completion("", finish_reason=finish), id="msg_1", model="m")
    assert (payload["stop_reason"], payload["content"]) == (stop_reason, [])
    assert payload["usage"]["input_tokens"] == 0
    SdkMessage.model_validate(payload)


def test_a_native_answer_is_returned_as_it_came() -> None:
    upstream = {"id": "msg_up", "type": "message", "content": [], "container": {"id": "c1"}, "usage": {"x": 1}}
    assert whole(Completion(None, native=json.dumps(upstream).encode()), id="msg_1", model="m") == upstream


TEXT_THEN_TOOL = (
    b'event: message_start\n'
    b'data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"qwen",'
    b'"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,'
    b'"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}\n\n'
    b'event: content_block_start\n'
    b'data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n'
    b'event: content_block_delta\n'
    b'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"I\'ll run"}}\n\n'
    b'event: content_block_delta\n'
    b'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" it."}}\n\n'
    b'event: content_block_stop\n'
    b'data: {"type":"content_block_stop","index":0}\n\n'
    b'event: content_block_start\n'
    b'data: {"type":"content_block_start","index":1,'
    b'"content_block":{"type":"tool_use","id":"call_1","name":"Bash","input":{}}}\n\n'
    b'event: content_block_delta\n'
    b'data: {"type":"content_block_delta","index":1,'
    b'"delta":{"type":"input_json_delta","partial_json":"{\\"command\\":\\"echo hi\\"}"}}\n\n'
    b'event: content_block_stop\n'
    b'data: {"type":"content_block_stop","index":1}\n\n'
    b'event: message_delta\n'
    b'data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},'
    b'"usage":{"input_tokens":120,"output_tokens":15}}\n\n'
    b'event: message_stop\n'
    b'data: {"type":"message_stop"}\n\n'
)  # fmt: skip


def test_stream_of_text_then_a_tool_call_exact_bytes() -> None:
    writer = StreamWriter("msg_1", "qwen", request=chat(messages=[{"role": "user", "content": "Run echo hi"}]))

    stream = written(
        writer,
        TextDelta("I'll run"),
        TextDelta(""),
        TextDelta(" it."),
        ToolCallStart(0, "call_1", "Bash"),
        ToolCallArgs(0, ""),
        ToolCallArgs(0, '{"command":'),
        ToolCallArgs(0, ' "echo hi"}'),
        Finish("tool_calls"),
        UsageReport(Usage.of(120, 15)),
    )

    assert stream == TEXT_THEN_TOOL
    assert (writer.finish, writer.usage) == ("tool_calls", Usage.of(120, 15))
    for _, data in frames(stream):
        STREAM_EVENT.validate_python(data)


def test_stream_of_reasoning_then_text_exact_bytes() -> None:
    writer = StreamWriter("msg_2", "qwen", request=chat())
    sig = signature("Think. More.").encode()

    stream = written(writer, ReasoningDelta("Think."), ReasoningDelta(" More."), TextDelta("Hi."), Finish("stop"))

    assert stream == (
        b'event: message_start\n'
        b'data: {"type":"message_start","message":{"id":"msg_2","type":"message","role":"assistant","model":"qwen",'
        b'"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1,'
        b'"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}\n\n'
        b'event: content_block_start\n'
        b'data: {"type":"content_block_start","index":0,'
        b'"content_block":{"type":"thinking","thinking":"","signature":""}}\n\n'
        b'event: content_block_delta\n'
        b'data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Think."}}\n\n'
        b'event: content_block_delta\n'
        b'data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":" More."}}\n\n'
        b'event: content_block_delta\n'
        b'data: {"type":"content_block_delta","index":0,'
        b'"delta":{"type":"signature_delta","signature":"' + sig + b'"}}\n\n'
        b'event: content_block_stop\n'
        b'data: {"type":"content_block_stop","index":0}\n\n'
        b'event: content_block_start\n'
        b'data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}\n\n'
        b'event: content_block_delta\n'
        b'data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Hi."}}\n\n'
        b'event: content_block_stop\n'
        b'data: {"type":"content_block_stop","index":1}\n\n'
        b'event: message_delta\n'
        b'data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},'
        b'"usage":{"output_tokens":4}}\n\n'  # no count upstream: (15 characters + 3) // 4, input left out
        b'event: message_stop\n'
        b'data: {"type":"message_stop"}\n\n'
    )  # fmt: skip
    assert sig.startswith(SIGNATURE_PREFIX.encode())
    for _, data in frames(stream):
        STREAM_EVENT.validate_python(data)


def test_a_partial_count_ends_with_its_input_and_at_least_the_output_written() -> None:
    """A count the upstream made before tiergate cut its stream (an emulated stop): its input and cache reads, and
    for the output it never counted, what was written ((15 characters + 3) // 4)."""
    writer = StreamWriter("msg_3", "claude", request=chat())
    partial = UsageReport(Usage.of(150, 1, cached=50), partial=True)
    stream = written(writer, TextDelta("fifteen chars.."), Finish("stop"), partial)
    delta = dict(frames(stream))["message_delta"]
    assert delta["usage"] == {
        "input_tokens": 100,
        "output_tokens": 4,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 50,
    }
    assert writer.usage is None


def test_the_sdk_assembles_the_stream_into_the_message() -> None:
    stream = written(
        StreamWriter("msg_3", "qwen", request=chat()),
        ReasoningDelta("Plan."),
        TextDelta("Running."),
        ToolCallStart(0, "call_1", "Bash"),
        ToolCallArgs(0, '{"command": "echo hi"}'),
        ToolCallStart(1, "call_2", "Now"),
        Finish("tool_calls"),
        UsageReport(Usage.of(40, 12)),
    )
    answer = httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=stream)

    with (
        sdk_client(answer) as client,
        client.messages.stream(model="auto", max_tokens=10, messages=[{"role": "user", "content": "hi"}]) as events,
    ):
        message = events.get_final_message()

    assert [block.model_dump(exclude_none=True) for block in message.content] == [
        {"type": "thinking", "thinking": "Plan.", "signature": signature("Plan.")},
        {"type": "text", "text": "Running."},
        {"type": "tool_use", "id": "call_1", "name": "Bash", "input": {"command": "echo hi"}},
        {"type": "tool_use", "id": "call_2", "name": "Now", "input": {}},
    ]
    assert (message.stop_reason, message.usage.input_tokens, message.usage.output_tokens) == ("tool_use", 40, 12)


def test_a_native_stream_passes_the_upstream_frames_and_still_learns_usage() -> None:
    writer = StreamWriter("msg_local", "claude-x", request=chat(), native=True)
    upstream = [
        b'event: message_start\ndata: {"type": "message_start", "message": {"id": "msg_up", "type": "message", '
        b'"role": "assistant", "model": "claude-x", "content": [], "usage": {"input_tokens": 46, '
        b'"cache_read_input_tokens": 4, "output_tokens": 1}}}\n\n',
        b'event: ping\ndata: {"type": "ping"}\n\n',
        b'event: content_block_start\ndata: {"type": "content_block_start", "index": 0, '
        b'"content_block": {"type": "text", "text": ""}}\n\n',
        b'event: message_delta\ndata: {"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, '
        b'"usage": {"output_tokens": 12}}\n\n',
        b'event: message_stop\ndata: {"type": "message_stop"}\n\n',
    ]  # fmt: skip

    out = [writer.start()]
    for frame in upstream:
        out += [
            writer.event(Raw("anthropic", frame)),
            writer.event(TextDelta("translated")),
            writer.event(Raw("responses", b"x")),
        ]
    out += [writer.event(Finish("stop")), writer.event(UsageReport(Usage.of(1, 1))), writer.end()]

    assert b"".join(chunk or b"" for chunk in out) == b"".join(upstream)
    assert (writer.finish, writer.usage) == ("length", Usage.of(50, 12, cached=4))


@pytest.mark.parametrize(
    ("frame", "written"),
    [
        (b'data: {"type": "ping"}\n\n', b'event: ping\ndata: {"type": "ping"}\n\n'),
        (
            b'id: 7\r\ndata: {"type": "message_stop"}\r\n\r\n',
            b'event: message_stop\nid: 7\r\ndata: {"type": "message_stop"}\r\n\r\n',
        ),
        (b': hi\nevent: ping\ndata: {"type": "ping"}\n\n', b': hi\nevent: ping\ndata: {"type": "ping"}\n\n'),
        (b"data: {not json\n\n", b"data: {not json\n\n"),
    ],
    ids=["data-only", "data-only-crlf", "named-after-a-comment", "not-json"],
)
def test_a_native_frame_without_an_event_line_is_named_by_its_type(frame: bytes, written: bytes) -> None:
    writer = StreamWriter("msg_local", "claude-x", request=chat(), native=True)
    assert writer.event(Raw("anthropic", frame)) == written


def test_a_translated_stream_skips_raw_frames() -> None:
    writer = StreamWriter("msg_1", "qwen", request=chat())
    assert writer.event(Raw("anthropic", b'event: ping\ndata: {"type": "ping"}\n\n')) is None


def test_ping_is_a_keep_alive_event() -> None:
    assert StreamWriter("msg_1", "m", request=chat()).ping() == b'event: ping\ndata: {"type":"ping"}\n\n'


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (RequestError("max_tokens: Field required", param="max_tokens"), "invalid_request_error"),
        (AuthError("no key"), "authentication_error"),
        (AuthError("not you", status=403), "permission_error"),
        (RequestError("too big", status=413), "request_too_large"),
        (RequestError("method GET is not allowed on /v1/messages", status=405), "invalid_request_error"),
        (RequestError("the body must be JSON", status=415), "invalid_request_error"),
        (UpstreamUnavailable("ollama", "http://127.0.0.1:11434", "no first token", status=504), "timeout_error"),
        (RateLimited("slow down", retry_after=2), "rate_limit_error"),
        (UpstreamStatusError("claude", "https://api.test", "Overloaded", status=529), "overloaded_error"),
        (UpstreamStatusError("claude", "https://api.test", "no such model", status=404), "not_found_error"),
        (UpstreamUnavailable("ollama", "http://127.0.0.1:11434", "connection refused"), "api_error"),
        (NoTargetError("every target failed"), "api_error"),
        (TiergateError("internal error in tiergate: KeyError"), "api_error"),
    ],
)
def test_errors_in_anthropics_shape(exc: TiergateError, kind: str) -> None:
    envelope = error_body(exc)

    assert envelope == {"type": "error", "error": {"type": kind, "message": exc.message}}
    if kind != "request_too_large":  # in Anthropic's docs ("HTTP errors"), not in the SDK's model
        assert ErrorResponse.model_validate(envelope).error.type == kind
    assert StreamWriter("msg_1", "m", request=chat()).error(exc) == (
        b"event: error\ndata: " + msgspec.json.encode(envelope) + b"\n\n"
    )


@pytest.mark.parametrize(
    ("budget", "effort"),
    [(1024, "low"), (4095, "low"), (4096, "medium"), (10000, "medium"), (16384, "high"), (63999, "high")],
)
def test_a_thinking_budget_is_the_effort_a_local_model_is_asked(budget: int, effort: str) -> None:
    """Every budget was ``medium``: a client asking Claude for 1,024 tokens of thinking and one asking for
    60,000 asked a local thinking model (gpt-oss on Ollama, a vLLM reasoning model) for the same effort."""
    assert asked(thinking={"type": "enabled", "budget_tokens": budget}, max_tokens=64000).reasoning_effort == effort
