"""The Ollama codec, without I/O: ``/api/chat`` and ``/api/generate`` bodies, NDJSON lines and whole answers
read back, error bodies."""

from __future__ import annotations

import base64
import json
from typing import Any

import msgspec
import pytest

from tiergate.errors import RequestError, UpstreamCapabilityError, UpstreamProtocolError, UpstreamStatusError
from tiergate.protocols import ollama, responses
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
HINT = " (declare it in this target's capabilities so tiergate skips it without a call)"


def chat(**fields: Any) -> ChatRequest:
    fields.setdefault("messages", [{"role": "user", "content": "hi"}])
    return msgspec.convert(fields, ChatRequest)


def encoded(request: ChatRequest, **kw: Any) -> tuple[str, dict[str, Any]]:
    path, body = ollama.encode(request, "qwen", stream=False, **kw)
    return path, json.loads(body)


def test_a_chat_body_has_only_what_was_asked() -> None:
    assert encoded(chat()) == (
        "/api/chat",
        {"model": "qwen", "stream": False, "messages": [{"role": "user", "content": "hi"}]},
    )


def test_a_suffix_is_fill_in_the_middle_on_generate() -> None:
    request = chat(
        messages=[{"role": "system", "content": "Complete code."}, {"role": "user", "content": "def f(x):\n    "}],
        suffix="\n\nf(1)",
        stop=["\n\n"],
        temperature=0.0,
        response_format={"type": "json_object"},
    )

    assert encoded(request, keep_alive="1h") == (
        "/api/generate",
        {
            "model": "qwen",
            "stream": False,
            "prompt": "def f(x):\n    ",
            "suffix": "\n\nf(1)",
            "system": "Complete code.",
            "format": "json",
            "options": {"temperature": 0.0, "stop": ["\n\n"]},
            "keep_alive": "1h",
        },
    )


def test_an_empty_suffix_is_still_fill_in_the_middle() -> None:
    path, body = encoded(chat(suffix=""))
    assert (path, body["prompt"], body["suffix"]) == ("/api/generate", "hi", "")


def test_a_legacy_completion_without_a_suffix_is_continued_raw() -> None:
    """Continue's autocomplete puts the cursor's surroundings in its own fill-in-the-middle template and
    sends it as a prompt without a suffix: it went to /api/chat as a user turn, wrapped in the model's chat
    template. It is text to continue, as OpenAI's completions endpoint reads a prompt."""
    prompt = "<fim_prefix>def add(a, b):\n    <fim_suffix>\n<fim_middle>"
    request = chat(messages=[{"role": "user", "content": prompt}], tiergate_continuation=True, stop=["\n\n"])
    assert encoded(request) == (
        "/api/generate",
        {"model": "qwen", "stream": False, "prompt": prompt, "raw": True, "options": {"stop": ["\n\n"]}},
    )
    path, body = encoded(chat(messages=[{"role": "user", "content": "def f("}], tiergate_continuation=True, suffix=""))
    assert (path, "raw" in body, body["suffix"]) == ("/api/generate", False, "")  # a suffix: the model's template


@pytest.mark.parametrize(
    ("arguments", "sent"),
    [
        ('{"cmd": "ls"', {"arguments": '{"cmd": "ls"'}),
        ("[1, 2]", {"arguments": "[1, 2]"}),
        ("", {}),
        ('{"cmd": "ls"}', {"cmd": "ls"}),
    ],
)
def test_history_arguments_that_are_not_an_object_go_wrapped(arguments: str, sent: dict[str, Any]) -> None:
    """A weak model's broken arguments stay in an agent's history; refusing them would end the session."""
    call = {"id": "c", "function": {"name": "f", "arguments": arguments}}
    _, body = encoded(chat(messages=[{"role": "user", "content": "go"}, {"role": "assistant", "tool_calls": [call]}]))
    assert body["messages"][1] == {"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": sent}}]}


@pytest.mark.parametrize(
    ("url", "sent"),
    [
        ("data:image/png;base64," + base64.b64encode(b"\x89PNG").decode(), base64.b64encode(b"\x89PNG").decode()),
        ("data:image/png;base64,iVBO\n Rw==", "iVBORw=="),
        ("data:image/svg+xml,%3Csvg%2F%3E", base64.b64encode(b"<svg/>").decode()),
    ],
)
def test_images_go_as_base64(url: str, sent: str) -> None:
    content = [{"type": "text", "text": "what?"}, {"type": "image_url", "image_url": {"url": url}}]
    _, body = encoded(chat(messages=[{"role": "user", "content": content}]))
    assert body["messages"] == [{"role": "user", "content": "what?", "images": [sent]}]


def test_images_in_tool_results_follow_the_run_of_tool_messages_in_user_messages() -> None:
    """An Ollama tool message carries only text: each result's images go in a user message of their own,
    naming the call, right after the tool messages."""
    png = base64.b64encode(b"\x89PNG").decode()
    shot = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}}
    calls = [{"id": f"c{n}", "function": {"name": "view_image", "arguments": "{}"}} for n in (1, 2, 3)]
    request = chat(
        messages=[
            {"role": "user", "content": "Look at these."},
            {"role": "assistant", "tool_calls": calls},
            {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "a.png"}, shot]},
            {"role": "tool", "tool_call_id": "c2", "content": "no such file"},
            {"role": "tool", "tool_call_id": "c3", "content": [shot, shot]},
            {"role": "user", "content": "What do you see?"},
        ]
    )

    _, body = encoded(request)

    assert body["messages"][2:] == [
        {"role": "tool", "content": "a.png", "tool_name": "view_image"},
        {"role": "tool", "content": "no such file", "tool_name": "view_image"},
        {"role": "tool", "content": "", "tool_name": "view_image"},
        {"role": "user", "content": "Images from tool call c1:", "images": [png]},
        {"role": "user", "content": "Images from tool call c3:", "images": [png, png]},
        {"role": "user", "content": "What do you see?"},
    ]


IMAGE_URL = "an image by URL, which Ollama cannot fetch (it takes only data: URL images)"


def test_a_tool_result_image_ollama_cannot_take_is_a_request_error() -> None:
    cat = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    request = chat(
        messages=[
            {"role": "user", "content": "Look."},
            {"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "view_image", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": [cat]},
        ]
    )
    with pytest.raises(RequestError) as caught:
        ollama.encode(request, "qwen", stream=True)
    assert caught.value.message == "messages[2].content: " + IMAGE_URL
    assert isinstance(caught.value, ollama.ImageURLRefused)  # the backend makes it a capability error


def test_an_image_url_from_a_responses_body_is_named_where_that_body_holds_it() -> None:
    """The instructions are the first message tiergate reads, the image's item the body's ``input[1]``."""
    cat = {"type": "input_image", "image_url": "https://example.com/cat.png"}
    body = {
        "instructions": "be brief",
        "input": [{"role": "user", "content": "hi"}, {"role": "user", "content": [cat]}],
    }
    with pytest.raises(RequestError) as caught:
        ollama.encode(responses.decode(json.dumps(body).encode()), "qwen", stream=True)
    assert (caught.value.message, caught.value.param) == ("input[1].content: " + IMAGE_URL, "input[1].content")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://example.com/cat.png", "messages[0].content: " + IMAGE_URL),
        ("data:image/png;base64,@@@", "messages[0].content: an image data URL is not valid base64"),
    ],
)
def test_images_ollama_cannot_take_are_request_errors(url: str, message: str) -> None:
    content = [{"type": "image_url", "image_url": {"url": url}}]
    with pytest.raises(RequestError) as caught:
        ollama.encode(chat(messages=[{"role": "user", "content": content}]), "qwen", stream=True)
    assert (caught.value.status, caught.value.message) == (400, message)


@pytest.mark.parametrize(
    ("requested", "sent"),
    [
        (None, None),
        ({"type": "text"}, None),
        ({"type": "json_object"}, "json"),
        ({"type": "json_object", "schema": {"type": "object"}}, {"type": "object"}),
        ({"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "array"}}}, {"type": "array"}),
        ({"type": "json_schema", "json_schema": {"name": "x"}}, "json"),
    ],
)
def test_output_format(requested: dict[str, Any] | None, sent: object) -> None:
    assert ollama.output_format(requested) == sent


def test_stream_lines_of_chat_and_of_generate() -> None:
    reader = ollama.StreamReader("ollama", URL)
    lines = [
        b'{"message": {"role": "assistant", "content": "", "thinking": "hmm"}, "done": false}',
        b"",
        b'{"response": "ret", "done": false}',
        b'{"message": {"role": "assistant", "content": "", "tool_calls": '
        b'[{"function": {"name": "f", "arguments": {"a": "\xc3\xa9"}}}]}, "done": false}',
        b'{"message": {"role": "assistant", "content": ""}, "done": true, "done_reason": "stop", '
        b'"prompt_eval_count": 4, "eval_count": 2}',
    ]

    events = [event for line in lines for event in reader.feed(line)]

    start = events[2]
    assert isinstance(start, ToolCallStart) and start.id.startswith("call_")
    assert events == [
        ReasoningDelta("hmm"),
        TextDelta("ret"),
        start,
        ToolCallArgs(0, '{"a": "é"}'),
        Finish("tool_calls"),
        UsageReport(Usage(4, 2, 6)),
    ]
    assert reader.done


def test_arguments_sent_as_a_string_are_passed_on_as_they_came() -> None:
    """A server imitating Ollama's protocol may send the arguments' JSON as a string: the call still comes
    through (an agent then reads a malformed call as its own tool's error), not the whole turn."""
    body = (
        b'{"message": {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "f", '
        b'"arguments": "{\\"a\\": 1}"}}, {"function": {"name": "g", "arguments": "not json"}}]}, '
        b'"done": true, "done_reason": "stop"}'
    )
    completion = ollama.whole_answer("ollama", URL, body)
    calls = [(c.function.name, c.function.arguments) for c in completion.tool_calls or ()]
    assert calls == [("f", '{"a": 1}'), ("g", "not json")]
    assert completion.finish_reason == "tool_calls"


@pytest.mark.parametrize(
    ("body", "error", "detail"),
    [
        (
            b'{"message": {"content": "Hel"}, "done": false}',
            UpstreamProtocolError,
            "the answer is incomplete (done: false)",
        ),
        (b'{"error": "out of memory"}', UpstreamStatusError, "out of memory"),
        (b'{"model": "x", "message": {"role": ', UpstreamProtocolError, "unreadable response: "),
        (b"[1, 2]", UpstreamProtocolError, "unreadable response: Expected `object`, got `array`"),
    ],
)
def test_what_is_not_a_whole_answer(body: bytes, error: type[Exception], detail: str) -> None:
    with pytest.raises((UpstreamStatusError, UpstreamProtocolError)) as caught:
        ollama.whole_answer("ollama", URL, body)
    assert type(caught.value) is error
    assert caught.value.detail.startswith(detail)
    assert (caught.value.status, caught.value.started) == (502, True)


def test_a_whole_generate_answer() -> None:
    body = b'{"response": "return 1", "done": true, "done_reason": "length", "prompt_eval_count": 3, "eval_count": 9}'
    completion = ollama.whole_answer("ollama", URL, body)
    assert (completion.content, completion.finish_reason, completion.usage) == ("return 1", "length", Usage(3, 9, 12))


@pytest.mark.parametrize(
    ("status", "body", "model", "kind", "detail"),
    [
        (
            404,
            b'{"error": "model \\"qwen\\" not found, try pulling it first"}',
            "qwen",
            "http_404",
            "model 'qwen' not found on Ollama; pull it with `ollama pull qwen`",
        ),
        (404, b"404 page not found", "qwen", "http_404", "404 page not found; check backends.ollama.base_url"),
        (
            400,
            b'{"error": "qwen does not support tools"}',
            "qwen",
            "capability",
            "qwen does not support tools" + HINT,
        ),
        (
            400,
            b'{"error": "qwen does not support insert"}',
            "qwen",
            "capability",
            "qwen does not support insert" + HINT,
        ),
        (
            500,
            b'{"error": "llama runner process has terminated"}',
            "qwen",
            "http_500",
            "llama runner process has terminated",
        ),
        (503, b"", None, "http_503", "HTTP 503"),
    ],
)
def test_status_errors(status: int, body: bytes, model: str | None, kind: str, detail: str) -> None:
    error = ollama.status_error("ollama", URL, status, body, model=model, retry_after=1.5)

    assert (error.status, error.kind, error.detail) == (status, kind, detail)
    assert isinstance(error, UpstreamCapabilityError) == (kind == "capability")
    assert error.retry_after == (None if kind == "capability" else 1.5)
