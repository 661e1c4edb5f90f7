"""What every upstream would refuse is refused at the edge, with a 400 naming the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers import LEGACY_REFUSALS
from tiergate.errors import RequestError
from tiergate.protocols.openai.request import decode_chat, decode_completion

USER = {"role": "user", "content": "hi"}


def refused(body: dict[str, Any]) -> RequestError:
    with pytest.raises(RequestError) as info:
        decode_chat(json.dumps(body).encode())
    assert info.value.status == 400
    return info.value


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        ({"messages": [USER], "max_tokens": 0}, "max_tokens", "`max_tokens` must be at least 1, got 0"),
        (
            {"messages": [USER], "max_completion_tokens": -5},
            "max_completion_tokens",
            "`max_completion_tokens` must be at least 1, got -5",
        ),
        (
            {"messages": [{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}]},
            "messages",
            "`messages` has no user turn: a conversation needs at least one message with role `user`",
        ),
        (
            {"messages": [{"role": "system", "content": "be brief"}]},
            "messages",
            "`messages` has no user turn: a conversation needs at least one message with role `user`",
        ),
        (
            {"messages": [USER], "tools": [{"type": "function", "function": {"name": "  "}}]},
            "tools[0].function.name",
            "`tools[0].function.name` is empty: every tool needs a name",
        ),
        (
            {
                "messages": [
                    USER,
                    {"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "", "arguments": "{}"}}]},
                    {"role": "tool", "tool_call_id": "c1", "content": "x"},
                ]
            },
            "messages[1].tool_calls[0].function.name",
            "`messages[1].tool_calls[0].function.name` is empty: a tool call names its tool",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "look"},
                            {"type": "image_url", "image_url": {"url": "data:text/html;base64,PGgxPg=="}},
                        ],
                    }
                ]
            },
            "messages[0].content[1].image_url.url",
            "`messages[0].content[1].image_url.url` is a data: URL of text/html, not an image "
            "(data:image/png;base64,...)",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "file:///etc/x"}}]}]},
            "messages[0].content[0].image_url.url",
            "`messages[0].content[0].image_url.url` must be an http(s) URL or a data: URL",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
            "messages[0].content[0].image_url",
            "`messages[0].content[0].image_url` is missing: the part has no image",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "bogus"}]}]},
            "messages[0].content[0].type",
            "`messages[0].content[0].type` is `bogus`: tiergate forwards only `text`, `image_url` and `file` content"
            " parts (send a file's contents as `text`)",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "file", "file": {"file_id": "file-abc"}}]}]},
            "messages[0].content[0].file.file_id",
            "`messages[0].content[0].file.file_id`: files by id need OpenAI's file storage, which tiergate does not"
            " have; send the PDF as `file_data` (data:application/pdf;base64,...)",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "file", "file": {"file_data": "data:text/plain;base64,aGk="}}],
                    }
                ]
            },
            "messages[0].content[0].file.file_data",
            "`messages[0].content[0].file.file_data` is a data: URL of text/plain: a `file` part carries a PDF as"
            " data:application/pdf;base64,... (send a text file's contents as `text`)",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "file", "file": {"filename": "a.pdf"}}]}]},
            "messages[0].content[0].file.file_data",
            "`messages[0].content[0].file.file_data` is missing: the part has no file",
        ),
        (
            {
                "messages": [
                    {
                        "role": "system",
                        "content": [{"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE"}}],
                    },
                    {"role": "user", "content": "summarise it"},
                ]
            },
            "messages[0].content[0]",
            "`messages[0].content[0]`: a `file` part belongs in a `user` message, not a `system` one",
        ),
    ],
)
def test_refused_with_the_field_named(body: dict[str, Any], param: str, message: str) -> None:
    error = refused(body)
    assert (error.param, error.message) == (param, message)


def test_what_upstreams_accept_passes() -> None:
    body = {
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}}]},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "and?"},
        ],
        "max_tokens": 1,
        "stop": ["\n\n", " "],  # valid OpenAI: whitespace-only stops are emulated on the Anthropic path
        "tools": [{"type": "function", "function": {"name": "f"}}],
    }
    assert decode_chat(json.dumps(body).encode()).max_tokens == 1


def test_legacy_completions_are_checked_too() -> None:
    with pytest.raises(RequestError) as info:
        decode_completion(json.dumps({"prompt": "def f(", "max_tokens": 0}).encode())
    assert info.value.param == "max_tokens"


@pytest.mark.parametrize(("fields", "param", "message"), LEGACY_REFUSALS)
def test_legacy_fields_tiergate_cannot_honour_are_refused(fields: dict[str, Any], param: str, message: str) -> None:
    with pytest.raises(RequestError) as info:
        decode_completion(json.dumps(fields).encode())
    assert (info.value.param, info.value.message, info.value.code) == (param, message, "unsupported_value")


def test_legacy_fields_at_their_defaults_are_fine() -> None:
    fields = {"prompt": ["def add(a, b):"], "echo": False, "logprobs": None, "best_of": 1}
    _, chat = decode_completion(json.dumps(fields).encode())
    assert chat.messages[0].content == "def add(a, b):"


LEGACY = "legacy function calling is not carried: send `tools`, `tool_choice`, `tool_calls` and `tool` messages"
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        (
            {"messages": [USER], "functions": [{"name": "get_weather"}]},
            "functions",
            f"`functions` is set: {LEGACY}",
        ),
        ({"messages": [USER], "function_call": "auto"}, "function_call", f"`function_call` is set: {LEGACY}"),
        (
            {
                "messages": [
                    USER,
                    {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": "{}"}},
                    {"role": "function", "name": "f", "content": "sunny"},
                ]
            },
            "messages[1].function_call",
            f"`messages[1].function_call`: {LEGACY}",
        ),
        (
            {"messages": [USER, {"role": "function", "name": "f", "content": "sunny"}]},
            "messages[1].role",
            f"`messages[1].role`: {LEGACY}",
        ),
        (
            {"messages": [USER], "modalities": ["text", "audio"], "audio": {"voice": "alloy", "format": "wav"}},
            "audio",
            '`audio`: tiergate answers in text only; leave out `audio` and send `modalities: ["text"]`',
        ),
        (
            {"messages": [USER], "modalities": ["audio"]},
            "modalities",
            '`modalities`: tiergate answers in text only; leave out `audio` and send `modalities: ["text"]`',
        ),
        (
            {"messages": [USER], "tools": [WEATHER], "tool_choice": "bogus"},
            "tool_choice",
            "`tool_choice` must be none, auto, required or an object naming a tool, got 'bogus'",
        ),
        (
            {"messages": [USER], "tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "nope"}}},
            "tool_choice",
            "`tool_choice` names `nope`, which `tools` does not declare (it declares get_weather)",
        ),
        (
            {"messages": [USER], "tool_choice": {"type": "function", "function": {"name": "get_weather"}}},
            "tool_choice",
            "`tool_choice` names `get_weather`, which `tools` does not declare (the request has no `tools`)",
        ),
    ],
)
def test_what_would_be_lost_or_refused_upstream_is_a_400(body: dict[str, Any], param: str, message: str) -> None:
    """Legacy functions were dropped (the answer came back without a call, 200), audio output ignored, and
    a tool choice naming no declared tool went to each backend differently (Ollama: the tools removed)."""
    error = refused(body)
    assert (error.param, error.message) == (param, message)


def test_null_stream_and_include_usage_read_as_unset() -> None:
    """The openai SDK types ``stream`` as ``Optional[Literal[False]]`` and sends ``null``; it was a 400."""
    request = decode_chat(
        json.dumps({"messages": [USER], "stream": None, "stream_options": {"include_usage": None}}).encode()
    )
    assert request.stream is False and request.wants_usage() is False
    legacy, chat = decode_completion(json.dumps({"prompt": "def f(", "stream": None}).encode())
    assert legacy.stream is False and chat.stream is False


def test_a_named_declared_tool_and_text_modalities_pass() -> None:
    choice = {"type": "function", "function": {"name": "get_weather"}}
    body = {"messages": [USER], "tools": [WEATHER], "tool_choice": choice, "modalities": ["text"]}
    request = decode_chat(json.dumps(body).encode())
    assert request.tool_choice == choice and request.modalities == ["text"]


def test_an_assistants_refusal_part_is_read_as_its_text() -> None:
    """The SDK's assistant content may hold ``refusal`` parts (sent back in the history); they were a 400."""
    body = {
        "messages": [
            USER,
            {"role": "assistant", "content": [{"type": "refusal", "refusal": "I can't help with that."}]},
            {"role": "user", "content": "then explain why"},
        ]
    }
    request = decode_chat(json.dumps(body).encode())
    assert request.messages[1].text() == "I can't help with that."
    user_refusal = {"messages": [{"role": "user", "content": [{"type": "refusal", "refusal": "x"}]}]}
    assert refused(user_refusal).param == "messages[0].content[0].type"


def test_only_a_legacy_completion_is_a_continuation() -> None:
    """The flag that sends a prompt to Ollama raw is the completions decoder's: a chat body cannot set it."""
    _, chat = decode_completion(json.dumps({"prompt": "def f("}).encode())
    assert chat.continuation is True
    smuggled = decode_chat(json.dumps({"messages": [USER], "tiergate_continuation": True}).encode())
    assert smuggled.continuation is False


@pytest.mark.parametrize(
    ("fields", "extra"),
    [
        ({}, None),
        ({"tiergate_extra": {"min_p": 0.5}}, None),  # tiergate's own name: never a body's to set
        ({"min_p": 0.05, "tiergate_extra": {"min_p": 0.5}}, {"min_p": 0.05}),
        ({"store": True, "temperature": 0.2, "service_tier": None}, {"store": True, "service_tier": None}),
    ],
)
def test_the_fields_tiergate_does_not_model_are_kept_as_sent(fields: dict[str, Any], extra: Any) -> None:
    request = decode_chat(json.dumps({"messages": [USER], **fields}).encode())
    assert request.extra == extra


def test_a_bad_field_is_named_whether_or_not_an_unknown_one_comes_first() -> None:
    """A body with a field tiergate does not model is read twice; the 400 is the one a single read gives."""
    for body in ({"min_p": 0.05, "messages": "hi"}, {"messages": "hi", "min_p": 0.05}):
        assert (refused(body).message, refused(body).param) == (
            "invalid request: Expected `array`, got `str` at `messages`",
            "messages",
        )
