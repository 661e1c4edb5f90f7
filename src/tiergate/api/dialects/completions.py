"""Legacy OpenAI completions (``POST /v1/completions``): Continue's autocomplete, fill-in-the-middle with
``suffix``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tiergate.api.dialects.base import Writer
from tiergate.errors import TiergateError
from tiergate.protocols.openai.reply import error_body, text_completion
from tiergate.protocols.openai.request import decode_completion
from tiergate.protocols.openai.stream import TextChunkWriter
from tiergate.wire import ChatRequest, Completion


class Completions:
    name = "completions"
    endpoint = "completions"
    path = "/v1/completions"
    id_prefix = "cmpl-"
    prompt_only = True

    def decode(self, body: bytes, headers: Mapping[str, str]) -> ChatRequest:
        return decode_completion(body)[1]

    def whole(self, completion: Completion, *, id: str, created: int, model: str, request: ChatRequest) -> Any:
        return text_completion(completion, id=id, created=created, model=model)

    def writer(self, *, id: str, created: int, model: str, request: ChatRequest, native: bool) -> Writer:
        return TextChunkWriter(id, created, model, include_usage=request.wants_usage())

    def error_body(self, exc: TiergateError) -> dict[str, Any]:
        return error_body(exc)


DIALECT = Completions()
