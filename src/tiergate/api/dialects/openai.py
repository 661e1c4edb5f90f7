"""OpenAI chat completions (``POST /v1/chat/completions``): Continue, Cursor, aider, the openai SDK."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from tiergate.api.dialects.base import ASK, Writer
from tiergate.errors import TiergateError
from tiergate.protocols.openai.reply import chat_completion, error_body
from tiergate.protocols.openai.request import decode_chat
from tiergate.protocols.openai.stream import ChunkWriter
from tiergate.wire import ChatRequest, Completion


class OpenAIChat:
    name = "openai"
    endpoint = "chat"
    path = "/v1/chat/completions"
    client_header = None
    id_prefix = "chatcmpl-"
    prompt_only = False
    label = "OpenAI chat (/v1/chat/completions)"
    example: ClassVar[dict[str, Any]] = {"model": "auto", "messages": [{"role": "user", "content": ASK}]}

    def decode(self, body: bytes, headers: Mapping[str, str]) -> ChatRequest:
        return decode_chat(body)

    def whole(self, completion: Completion, *, id: str, created: int, model: str, request: ChatRequest) -> Any:
        return chat_completion(completion, id=id, created=created, model=model, request=request)

    def writer(self, *, id: str, created: int, model: str, request: ChatRequest, native: bool) -> Writer:
        return ChunkWriter(id, created, model, include_usage=request.wants_usage(), request=request)

    def error_body(self, exc: TiergateError) -> dict[str, Any]:
        return error_body(exc)


DIALECT = OpenAIChat()
