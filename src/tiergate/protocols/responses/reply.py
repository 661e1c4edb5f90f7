"""The whole answer: a ``Completion`` → the Response object, with tool calls in the client's own terms.

A finished answer its upstream counted no tokens for reports the estimate spend charges it (characters / 4
of the request and of the answer, :mod:`tiergate.protocols.estimate`), marked ``"estimated": true`` in its
``usage``, as the chat ingress does (:mod:`tiergate.protocols.openai.reply`): Codex adds ``usage`` up for
its token display and compacts its context when ``total_tokens`` nears the window, so ``null`` would let
a long session on a local model overflow it.

    payload = whole(completion, id="resp_1", created=1700000000, model="qwen2.5-coder:7b", request=request)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import msgspec

from tiergate.errors import CONTEXT_LENGTH_EXCEEDED, TiergateError
from tiergate.protocols.estimate import estimated_usage
from tiergate.protocols.openai.reply import error_body as openai_error_body
from tiergate.protocols.responses.common import DIALECT, tool_lists
from tiergate.protocols.responses.reasoning import seal, wants_sealed, wants_summary
from tiergate.wire import (
    ChatRequest,
    Completion,
    Thinking,
    Tool,
    Usage,
)


def item_id(response_id: str, prefix: str, output_index: int) -> str:
    """An output item's id, derived from its response's so that one answer always reads the same.

    item_id("resp_7f3a", "msg", 0) == "msg_7f3a_0"
    """
    return f"{prefix}_{response_id.removeprefix('resp_')}_{output_index}"


class Origin(NamedTuple):
    custom: bool
    namespace: str | None


def tool_origins(request: ChatRequest) -> dict[str, Origin]:
    """Where each tool the model may call came from in the client's ``tools``, by its bare name."""
    out: dict[str, Origin] = {}
    for tool in _native_tools(request):
        if not isinstance(tool, dict):
            continue
        namespace = tool.get("name") if tool.get("type") == "namespace" else None
        inner = tool.get("tools") if namespace else [tool]
        for t in inner if isinstance(inner, list) else []:
            if isinstance(t, dict) and isinstance(t.get("name"), str):
                out.setdefault(t["name"], Origin(t.get("type") == "custom", namespace))
    return out


def _native(request: ChatRequest) -> dict[str, Any]:
    native = request.native
    return native.body if native is not None and native.dialect == DIALECT else {}


def _native_tools(request: ChatRequest) -> list[Any]:
    return [t for _, tools in tool_lists(_native(request)) if isinstance(tools, list) for t in tools]


def _custom_input(arguments: str) -> str:
    """The text a freeform tool gets: ``input`` from the arguments, or the arguments as they came."""
    try:
        parsed = msgspec.json.decode(arguments)
    except (msgspec.DecodeError, RecursionError):
        return arguments
    return parsed["input"] if isinstance(parsed, dict) and isinstance(parsed.get("input"), str) else arguments


def message_item(id: str, text: str | None, status: str) -> dict[str, Any]:
    content = [] if text is None else [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
    return {"type": "message", "id": id, "status": status, "role": "assistant", "content": content}


def reasoning_item(id: str, text: str | None, sealed: Sequence[Thinking] = ()) -> dict[str, Any]:
    """A reasoning item: its text as the summary, and signed thinking (when the client asked for it) as
    ``encrypted_content`` (:mod:`.reasoning`)."""
    item = {"type": "reasoning", "id": id, "summary": [] if text is None else [{"type": "summary_text", "text": text}]}
    if sealed:
        item["encrypted_content"] = seal(sealed)
    return item


def call_item(id: str, call_id: str, name: str, arguments: str, origin: Origin, status: str) -> dict[str, Any]:
    if origin.custom:
        item = {"type": "custom_tool_call", "id": id, "call_id": call_id, "name": name}
        item["input"] = _custom_input(arguments) if arguments else ""
    else:
        item = {"type": "function_call", "id": id, "call_id": call_id, "name": name, "arguments": arguments}
    if origin.namespace is not None:
        item["namespace"] = origin.namespace
    item["status"] = status
    return item


def usage_body(usage: Usage, *, estimated: bool = False) -> dict[str, Any]:
    """The Response's ``usage`` object, with ``estimated: true`` (tiergate's, not OpenAI's) when no upstream
    counted the tokens.

        usage_body(Usage.of(3, 4))["total_tokens"]   # 7
    """
    body: dict[str, Any] = {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_tokens, "cache_write_tokens": usage.cache_write_tokens},
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }
    if estimated:
        body["estimated"] = True
    return body


def _usage(usage: Usage | None, request: ChatRequest, chars: int | None, estimated: bool) -> dict[str, Any] | None:
    if usage is not None:
        return usage_body(usage, estimated=estimated)
    if chars is None:
        return None
    return usage_body(estimated_usage(request, chars), estimated=True)


#: A refusal ends ``incomplete`` with reason ``content_filter``, as OpenAI's own filter does, and its text stays
#: in an ``output_text`` part. Not a ``refusal`` content part: the Codex CLI's message content items are
#: input_text, input_image and output_text with no catch-all, so a part of another type fails its parse.
ENDINGS: dict[str | None, tuple[str, dict[str, str] | None]] = {
    "length": ("incomplete", {"reason": "max_output_tokens"}),
    "content_filter": ("incomplete", {"reason": "content_filter"}),
}


class Envelope:
    """The Response object around the output: the request's settings echoed once, the rest per call."""

    def __init__(self, id: str, created: int, model: str, request: ChatRequest) -> None:
        self.id, self.created, self.model = id, created, model
        self._request = request
        body = _native(request)
        text, reasoning = _object(body, "text"), _object(body, "reasoning")
        fmt = _object(text, "format") or {"type": "text"}
        own = request.native is not None and request.native.dialect == DIALECT
        tools = _native_tools(request) if own else [_function_tool(t) for t in request.tools or ()]
        choice = body.get("tool_choice", "auto") if own else request.tool_choice
        self._settings: dict[str, Any] = {
            "instructions": body.get("instructions"),
            "max_output_tokens": request.output_limit(),
            "parallel_tool_calls": request.parallel_tool_calls is not False,
            "reasoning": {"effort": request.reasoning_effort, "summary": reasoning.get("summary")},
            "temperature": request.temperature,
            "text": {"format": fmt, **({"verbosity": text["verbosity"]} if "verbosity" in text else {})},
            "tool_choice": choice if choice is not None else "auto",
            "tools": tools,
            "top_p": request.top_p,
            "user": request.user,
            "metadata": request.metadata or {},
        }

    def response(
        self,
        status: str,
        output: list[dict[str, Any]],
        usage: Usage | None,
        *,
        chars: int | None = None,
        estimated: bool = False,
        incomplete: dict[str, str] | None = None,
        error: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """``usage``: the upstream's count (``estimated``: some of it is tiergate's estimate); where it sent none,
        the estimate for a finished answer of ``chars`` characters, and ``null`` for an answer still going or
        failed (``chars`` None)."""
        s = self._settings
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "background": False,
            "error": error,
            "incomplete_details": incomplete,
            "instructions": s["instructions"],
            "max_output_tokens": s["max_output_tokens"],
            "model": self.model,
            "output": output,
            "parallel_tool_calls": s["parallel_tool_calls"],
            "previous_response_id": None,
            "reasoning": s["reasoning"],
            "store": False,
            "temperature": s["temperature"],
            "text": s["text"],
            "tool_choice": s["tool_choice"],
            "tools": s["tools"],
            "top_p": s["top_p"],
            "truncation": "disabled",  # what tiergate does whatever was asked: it never drops input items
            "usage": _usage(usage, self._request, chars, estimated),
            "user": s["user"],
            "metadata": s["metadata"],
        }


def _object(obj: dict[str, Any], name: str) -> dict[str, Any]:
    value = obj.get(name)
    return value if isinstance(value, dict) else {}


def _function_tool(tool: Tool) -> dict[str, Any]:
    f = tool.function
    return {
        "type": "function",
        "name": f.name,
        "description": f.description,
        "parameters": f.parameters,
        "strict": f.strict,
    }


def whole(completion: Completion, *, id: str, created: int, model: str, request: ChatRequest) -> dict[str, Any]:
    """The Response object of a non-streamed answer: reasoning, then the message, then one item per call.
    The reasoning's text is its summary, and signed thinking its ``encrypted_content``, each when the client
    asked for it (:mod:`.reasoning`).

    An answer the output limit (or a filter) cut marks incomplete the items it was writing when it stopped:
    the calls, which come last, or the message when there are none. A message before calls was whole, and
    is ``completed``, as the stream marks it when the first call begins (:mod:`.stream`)."""
    status, incomplete = ENDINGS.get(completion.finish_reason, ("completed", None))
    item_status = "incomplete" if incomplete else "completed"
    message_status = "completed" if completion.tool_calls else item_status
    origins = tool_origins(request)
    output: list[dict[str, Any]] = []
    sealed = completion.thinking if wants_sealed(request) else []
    summary = completion.reasoning if wants_summary(request) else None
    if summary or sealed:
        output.append(reasoning_item(item_id(id, "rs", len(output)), summary, sealed))
    if completion.content:
        output.append(message_item(item_id(id, "msg", len(output)), completion.content, message_status))
    for call in completion.tool_calls:
        name, arguments = call.function.name, call.function.arguments
        origin = origins.get(name, Origin(False, None))
        arguments = arguments if arguments.strip() or origin.custom else "{}"  # Codex parses them as JSON
        prefix = "ctc" if origin.custom else "fc"
        output.append(call_item(item_id(id, prefix, len(output)), call.id, name, arguments, origin, item_status))
    envelope = Envelope(id, created, model, request)
    return envelope.response(status, output, completion.usage, chars=completion.chars(), incomplete=incomplete)


def error_body(exc: TiergateError) -> dict[str, Any]:
    """OpenAI's error envelope, which the Responses API shares with chat completions."""
    return openai_error_body(exc)


def failure_code(exc: TiergateError) -> str:
    """The ``error.code`` of a ``response.failed``: Codex retries ``server_error`` and
    ``rate_limit_exceeded``, reports a full window on ``context_length_exceeded`` (an upstream's refusal of
    the window, as its backend classed it: not a message that merely names a context), and stops (showing
    the message) on the others."""
    if exc.code == CONTEXT_LENGTH_EXCEEDED:
        return CONTEXT_LENGTH_EXCEEDED
    if exc.status == 429:
        return "rate_limit_exceeded"
    if exc.status in (400, 413, 422):
        return "invalid_prompt"
    return "server_error"
