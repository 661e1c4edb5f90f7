"""What a fake upstream should do with its next request: shared by the Ollama, Anthropic and OpenAI fakes.

A test queues replies, drives the gateway, then asserts on what the fake received:

    fake.replies.append(ToolCalls([("get_weather", {"city": "Paris"})]))
    fake.replies.append(Status(529, "overloaded"))
    ...
    assert fake.requests[0].body["model"] == "claude-sonnet-4-5"

With the queue empty the fake answers ``Text(DEFAULT_TEXT)``. Each fake streams when the request
asks for a stream (``stream: true``; Ollama's default is streaming) and answers whole otherwise.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from litestar import Response

DEFAULT_TEXT = "Hello from the fake upstream."
#: What an answer cut off mid-generation holds (``Incomplete`` read whole).
PARTIAL = DEFAULT_TEXT[: len(DEFAULT_TEXT) // 2]


@dataclass
class Text:
    """An answer. Streamed as ``chunks`` pieces (split evenly by characters)."""

    text: str = DEFAULT_TEXT
    chunks: int = 3
    prompt_tokens: int = 11
    completion_tokens: int = 7
    #: tiergate's finish_reason vocabulary: stop | length | content_filter. The fake OpenAI server sends any
    #: other value as it is (``tool_calls`` after text only: a server whose tool parser failed).
    stop: str = "stop"
    #: The stop string the answer ended on: the fake vLLM reports it as the choice's ``stop_reason``.
    stop_sequence: str | None = None
    thinking: str | None = None  # reasoning before the text (Ollama's message.thinking), where a fake has it
    #: Prompt-cache reads and writes, beside ``prompt_tokens`` (the fake Anthropic's ``input_tokens``, which
    #: leave the cache out): ``cache_read_input_tokens`` / ``cache_creation_input_tokens``, sent when not 0.
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    counted: bool = True  # False: no token counts at all (Ollama's done line without its eval counts)
    #: The fake Anthropic searches the web first: a ``server_tool_use`` block (its input streamed as
    #: ``input_json_delta``) and its ``web_search_tool_result``, then the text.
    web_search: str | None = None


@dataclass
class ToolCalls:
    """One or more tool calls, optionally after some text. Arguments are dicts."""

    calls: list[tuple[str, dict[str, Any]]]
    text: str | None = None
    prompt_tokens: int = 13
    completion_tokens: int = 9
    #: The reason the answer ended, as the upstream says it: None for each fake's own after tool calls (Ollama's
    #: ``done_reason: "stop"``, OpenAI's ``tool_calls``); ``length``: the output limit came after the calls.
    stop: str | None = None


@dataclass
class Json:
    """A structured answer, given the way the request asked for one: a forced tool's call with ``value`` as
    its input (Anthropic's ``tool_choice: {type: tool}``), else ``value``'s JSON as the text."""

    value: Any
    prompt_tokens: int = 17
    completion_tokens: int = 8


@dataclass
class Status:
    """An HTTP error in the upstream's own error shape, before any byte of a body."""

    status: int
    message: str = "upstream failure"
    headers: dict[str, str] = field(default_factory=dict)
    #: The message as an HTML page (a proxy's error page), not in the upstream's JSON error shape.
    html: bool = False
    #: The fake OpenAI server's ``error.type`` (by default ``server_error`` for a 5xx, else
    #: ``invalid_request_error``): llama.cpp's ``exceed_context_size_error``.
    upstream_type: str | None = None
    #: More fields of the fake OpenAI server's ``error`` object, over its defaults: a ``code`` (OpenAI's
    #: ``context_length_exceeded``, LiteLLM's ``"400"``), llama.cpp's ``n_prompt_tokens`` and ``n_ctx``.
    fields: dict[str, Any] = field(default_factory=dict)

    def page(self) -> Response[Any]:
        text = f"<html><body>{self.message}</body></html>"
        return Response(text.encode(), status_code=self.status, headers=self.headers, media_type="text/html")


@dataclass
class Hang:
    """Send nothing for ``seconds`` (before the status line, or after ``after_events`` stream events)."""

    seconds: float = 30.0
    after_events: int | None = None
    #: The Anthropic fake's stream around the pause, shaped by the request as a ``Text`` reply is (its
    #: thinking, a web search), and the OpenAI-compatible fake's answer after it (streamed around a pause
    #: after ``after_events`` events, or whole after a pause before the status line); None: ``Text()``'s.
    then: Text | None = None


@dataclass
class Malformed:
    """A 200 whose body (or, streaming, the second event) is not valid JSON."""


@dataclass
class Truncated:
    """A 200 stream that stops after ``after_events`` events without its final event(s)."""

    after_events: int = 2


@dataclass
class StreamError:
    """An error inside a 200 stream after ``after_events`` events: Anthropic's ``error`` event,
    OpenAI's ``data: {"error": ...}``, Ollama's ``{"error": ...}`` line."""

    after_events: int = 2
    message: str = "Overloaded"
    #: The fake OpenAI server's ``error.type`` and ``error.code`` (llama-server's context overflow before the
    #: first token: ``exceed_context_size_error``, 400).
    upstream_type: str = "server_error"
    code: int | None = None


@dataclass
class Incomplete:
    """A 200 answer without its completion marker. Whole: Ollama's ``done: false``, Anthropic's
    ``stop_reason: null``, OpenAI's ``finish_reason: null``. Streamed: every event but the final one(s).

    ``end_marker``: a stream still ends as if whole, without the reason it stopped: OpenAI's ``[DONE]``
    with no ``finish_reason``, Anthropic's ``message_stop`` with no ``message_delta``. (Ollama's only
    marker is ``done: true``, so it has no such case.)"""

    end_marker: bool = False
    #: Streamed: none of the answer's pieces either (an empty stream, its end marker aside).
    empty: bool = False


@dataclass
class Cut:
    """The connection breaks mid-body. Whole: after half of the announced Content-Length. Streamed:
    after ``after_events`` events, with no end of stream (no last chunk)."""

    after_events: int = 2


@dataclass
class ErrorBody:
    """A 200 whose body is the upstream's error shape (overloaded) instead of an answer; streamed, the
    first event is that error."""

    message: str = "Overloaded"


@dataclass
class Unended:
    """A stream whose answer came whole, through its stop reason and final usage (Anthropic's ``message_delta``),
    and whose end marker (``message_stop``) never comes. ``ending``: the upstream then stalls (sends nothing more,
    until its client hangs up), closes the body, cuts the connection, sends an ``error`` event (an
    ``overloaded_error``) in its place and closes (``bare error``: its data line alone, as a proxy may send
    it), or sends a ``message_stop`` that is no event and closes: its first part alone (``half stop``: the body
    cut short mid-event) or with data that is not JSON (``garbled stop``). ``before_stop``: it ends that way one
    event earlier, before the stop reason, so the answer is not whole. The Anthropic fake's only: the
    OpenAI-compatible case has its own scripted upstream (``tests/integration/test_openai_stream_endings.py``)."""

    answer: Text | ToolCalls = field(default_factory=Text)
    ending: Literal["stall", "close", "cut", "error", "bare error", "half stop", "garbled stop"] = "stall"
    before_stop: bool = False


Reply = (
    Text
    | ToolCalls
    | Json
    | Status
    | Hang
    | Malformed
    | Truncated
    | StreamError
    | Incomplete
    | Cut
    | ErrorBody
    | Unended
)


def resolved(reply: Reply, forced_tool: str | None = None) -> Reply:
    """A :class:`Json` reply as the answer it becomes for a request (see there); any other reply as it is."""
    if not isinstance(reply, Json):
        return reply
    if forced_tool is not None:
        return ToolCalls([(forced_tool, reply.value)], None, reply.prompt_tokens, reply.completion_tokens)
    return Text(json.dumps(reply.value), 3, reply.prompt_tokens, reply.completion_tokens)


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any
    #: The query string the request was sent with ("" without one).
    query: str = ""


class ReplyQueue:
    """Thread-safe: the fake serves from its own thread while the test thread queues."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.replies: deque[Reply] = deque()
        self.requests: list[Recorded] = []
        self.default: Reply = Text()

    def next(self) -> Reply:
        with self._lock:
            return self.replies.popleft() if self.replies else self.default

    def record(self, path: str, headers: dict[str, str], body: Any, query: str = "") -> None:
        with self._lock:
            self.requests.append(Recorded(path, headers, body, query))

    def reset(self) -> None:
        with self._lock:
            self.replies.clear()
            self.requests.clear()
            self.default = Text()
