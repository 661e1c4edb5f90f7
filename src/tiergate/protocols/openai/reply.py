"""The internal answer → OpenAI's whole (non-stream) chat and text completion objects, and OpenAI's error
envelope (which the Responses API shares).

An answer its upstream counted no tokens for reports the estimate spend charges it (characters / 4 of the
request and of the answer, :mod:`tiergate.protocols.estimate`), marked ``"estimated": true`` in its
``usage``: clients add ``usage`` up for their cost displays, and zeros would say the answer was free.

    payload = chat_completion(completion, id="chatcmpl-1", created=1700000000, model="qwen2.5-coder:7b", request=chat)
"""

from __future__ import annotations

import re
from typing import Any

from tiergate.errors import CONTEXT_LENGTH_EXCEEDED, TiergateError
from tiergate.protocols.estimate import estimated_usage
from tiergate.wire import ChatRequest, Completion, Usage


def error_body(exc: TiergateError) -> dict[str, Any]:
    """``{"error": {"message", "type", "param", "code"}}``. A refusal of the context window, whichever upstream
    made it (Anthropic's, Ollama's, a server that sends no code or its own), has OpenAI's code
    ``context_length_exceeded`` (:mod:`tiergate.protocols.overflow`), the one Codex reads as a full window, and
    a message that opens in OpenAI's words (:func:`overflow_message`)."""
    return {"error": {"message": overflow_message(exc), "type": exc.type, "param": exc.param, "code": exc.code}}


#: What clients built on LiteLLM (aider) read as a full window, whatever the code: OpenAI's words, and those of
#: Anthropic's refusal when the output does not fit.
_READ_AS_FULL = re.compile(r"this model's maximum context length is|exceed context limit", re.IGNORECASE)


def overflow_message(exc: TiergateError) -> str:
    """``exc``'s message; a refusal of the context window opens in OpenAI's words, with the figures counted
    (:meth:`~tiergate.errors.Overflow.openai_words`), unless it has words such clients read already. LiteLLM, which
    aider is built on, tells a full window by its message alone; "prompt is too long" (Anthropic's, and
    tiergate's own) it reads as any other 400.

        This model's maximum context length is 32768 tokens. However, your messages resulted in 40000 tokens.
        Please reduce the length of the messages. (prompt is too long: 40000 tokens > 32768 maximum (...))
    """
    if exc.code != CONTEXT_LENGTH_EXCEEDED or _READ_AS_FULL.search(exc.message):
        return exc.message
    opening = exc.overflow.openai_words() if exc.overflow is not None else _UNCOUNTED
    return f"{opening} ({exc.message})"


_UNCOUNTED = "This model's maximum context length is less than the tokens of this request."


def usage_body(usage: Usage, *, estimated: bool = False) -> dict[str, Any]:
    """OpenAI's ``usage`` object; ``prompt_tokens_details.cached_tokens`` only when some prompt tokens came
    from a prompt cache (cache writes have no OpenAI field: they are plain prompt tokens there),
    ``completion_tokens_details.reasoning_tokens`` only when the upstream counted some, and
    ``estimated: true`` (tiergate's, not OpenAI's) when no upstream counted them.

        usage_body(Usage.of(3, 4))   # {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    """
    body: dict[str, Any] = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
    if usage.cached_tokens > 0:
        body["prompt_tokens_details"] = {"cached_tokens": usage.cached_tokens}
    if usage.reasoning_tokens > 0:
        body["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning_tokens}
    if estimated:
        body["estimated"] = True
    return body


def _usage(completion: Completion, request: ChatRequest | None) -> dict[str, Any]:
    if completion.usage is not None:
        return usage_body(completion.usage)
    return usage_body(estimated_usage(request, completion.chars()), estimated=True)


def chat_completion(
    completion: Completion, *, id: str, created: int, model: str, request: ChatRequest | None = None
) -> dict[str, Any]:
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
        "usage": _usage(completion, request),
    }


def text_completion(
    completion: Completion, *, id: str, created: int, model: str, request: ChatRequest | None = None
) -> dict[str, Any]:
    return {
        "id": id,
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": [
            {"text": completion.content or "", "index": 0, "logprobs": None, "finish_reason": completion.finish_reason}
        ],
        "usage": _usage(completion, request),
    }
