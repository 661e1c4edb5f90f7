"""Decode request bodies and encode whole (non-stream) responses in the OpenAI shapes.

request = decode_chat(await http_request.body())
payload = chat_completion(completion, model="qwen2.5-coder:7b", id="chatcmpl-…", created=…)
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from tiergate.errors import RequestError
from tiergate.wire import ChatRequest, Completion, CompletionRequest, Message

T = TypeVar("T")
_AT = re.compile(r"^(.*?)(?: - at `\$\.?([^`]*)`)?$", re.S)


def _decode(body: bytes, type_: type[T]) -> T:
    if not body.strip():
        raise RequestError("the request body is empty; send a JSON object", code="invalid_json")
    try:
        return msgspec.json.decode(body, type=type_)
    except msgspec.ValidationError as exc:
        m = _AT.match(str(exc))
        message, param = (m.group(1), m.group(2)) if m else (str(exc), None)
        where = f" at `{param}`" if param else ""
        raise RequestError(f"invalid request: {message}{where}", param=param or None, code="invalid_request") from None
    except msgspec.DecodeError as exc:
        raise RequestError(f"the request body is not valid JSON: {exc}", code="invalid_json") from None


def decode_chat(body: bytes) -> ChatRequest:
    request = _decode(body, ChatRequest)
    if not request.messages:
        raise RequestError("`messages` must hold at least one message", param="messages", code="invalid_request")
    for i, m in enumerate(request.messages):
        if m.role == "tool" and not m.tool_call_id:
            raise RequestError(
                f"messages[{i}] has role `tool` but no `tool_call_id`", param=f"messages[{i}].tool_call_id"
            )
    return request


def decode_completion(body: bytes) -> tuple[CompletionRequest, ChatRequest]:
    """A legacy completion request, and the chat request that serves it."""
    legacy = _decode(body, CompletionRequest)
    prompt = legacy.prompt if isinstance(legacy.prompt, str) else "".join(legacy.prompt)
    chat = ChatRequest(
        messages=[Message(role="user", content=prompt)],
        model=legacy.model,
        stream=legacy.stream,
        stream_options=legacy.stream_options,
        max_tokens=legacy.max_tokens,
        temperature=legacy.temperature,
        top_p=legacy.top_p,
        stop=legacy.stop,
        seed=legacy.seed,
        metadata=legacy.metadata,
        provider=legacy.provider,
    )
    return legacy, chat


def _usage(completion: Completion) -> dict[str, int] | None:
    if completion.usage is None:
        return None
    usage: dict[str, int] = msgspec.to_builtins(completion.usage)
    return usage


def chat_completion(completion: Completion, *, id: str, created: int, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": completion.content, "refusal": None}
    if completion.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.function.name, "arguments": c.function.arguments}}
            for c in completion.tool_calls
        ]
    if completion.reasoning:
        message["reasoning_content"] = completion.reasoning
    return {
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": None,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": completion.finish_reason}],
        "usage": _usage(completion) or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def text_completion(completion: Completion, *, id: str, created: int, model: str) -> dict[str, Any]:
    return {
        "id": id,
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": [
            {"text": completion.content or "", "index": 0, "logprobs": None, "finish_reason": completion.finish_reason}
        ],
        "usage": _usage(completion) or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }
