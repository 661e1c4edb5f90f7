"""Legacy OpenAI completions (``POST /v1/completions``): Continue's autocomplete, fill-in-the-middle with
``suffix``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

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
    client_header = None
    id_prefix = "cmpl-"
    prompt_only = True
    label = "OpenAI legacy completions (/v1/completions)"
    example: ClassVar[dict[str, Any]] = {
        "model": "auto",
        "prompt": "def add(a, b):\n    ",
        "suffix": "\n\nprint(add(1, 2))",
    }

    def decode(self, body: bytes, headers: Mapping[str, str]) -> ChatRequest:
        return decode_completion(body)[1]

    def whole(self, completion: Completion, *, id: str, created: int, model: str, request: ChatRequest) -> Any:
        return text_completion(completion, id=id, created=created, model=model, request=request)

    def writer(self, *, id: str, created: int, model: str, request: ChatRequest, native: bool) -> Writer:
        return TextChunkWriter(id, created, model, include_usage=request.wants_usage(), request=request)

    def error_body(self, exc: TiergateError) -> dict[str, Any]:
        return error_body(exc)


DIALECT = Completions()
