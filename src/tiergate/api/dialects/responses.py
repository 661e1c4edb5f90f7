"""OpenAI Responses (``POST /v1/responses``), stateless: the Codex CLI and the openai SDK's ``responses``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from tiergate.api.dialects.base import ASK, Writer
from tiergate.errors import TiergateError
from tiergate.protocols import responses
from tiergate.wire import ChatRequest, Completion


class Responses:
    name = responses.DIALECT
    endpoint = "responses"
    path = "/v1/responses"
    client_header = None
    id_prefix = "resp_"
    prompt_only = False
    label = "OpenAI Responses (/v1/responses)"
    example: ClassVar[dict[str, Any]] = {"model": "auto", "input": ASK}

    def decode(self, body: bytes, headers: Mapping[str, str]) -> ChatRequest:
        return responses.decode(body)

    def whole(self, completion: Completion, *, id: str, created: int, model: str, request: ChatRequest) -> Any:
        return responses.whole(completion, id=id, created=created, model=model, request=request)

    def writer(self, *, id: str, created: int, model: str, request: ChatRequest, native: bool) -> Writer:
        return responses.StreamWriter(id, created, model, request=request)

    def error_body(self, exc: TiergateError) -> dict[str, Any]:
        return responses.error_body(exc)


DIALECT = Responses()
