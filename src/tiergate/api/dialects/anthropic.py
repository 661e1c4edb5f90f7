"""Anthropic Messages (``POST /v1/messages``, also with ``?beta=true``): Claude Code and the anthropic SDK.

When the chosen target is Anthropic, the client's body goes on natively (only ``model`` changes) and the
answer comes back in Anthropic's own frames; otherwise the request is translated. ``count_tokens`` answers
with an estimate (about four characters per token), not Anthropic's tokenizer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec
from litestar import Request, Response, post

from tiergate.api.auth import ACCESS_CLIENT
from tiergate.api.dialects.base import ASK, Writer
from tiergate.api.gateway import gateway_of
from tiergate.api.input_limits import read_json
from tiergate.errors import TiergateError
from tiergate.protocols import anthropic
from tiergate.wire import ChatRequest, Completion

_encode = msgspec.json.Encoder().encode


class AnthropicMessages:
    name = anthropic.DIALECT
    endpoint = "messages"
    path = "/v1/messages"
    client_header = "anthropic-version"
    id_prefix = "msg_"
    prompt_only = False
    label = "Anthropic Messages (/v1/messages)"
    example: ClassVar[dict[str, Any]] = {
        "model": "auto",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": ASK}],
    }

    def decode(self, body: bytes, headers: Mapping[str, str]) -> ChatRequest:
        return anthropic.decode(body, headers)

    def whole(self, completion: Completion, *, id: str, created: int, model: str, request: ChatRequest) -> Any:
        return anthropic.whole(completion, id=id, model=model, request=request)

    def writer(self, *, id: str, created: int, model: str, request: ChatRequest, native: bool) -> Writer:
        return anthropic.StreamWriter(id, model, request=request, native=native)

    def error_body(self, exc: TiergateError) -> dict[str, Any]:
        return anthropic.error_body(exc)


DIALECT = AnthropicMessages()


@post("/v1/messages/count_tokens", status_code=200, opt=ACCESS_CLIENT)
async def count_tokens(request: Request[Any, Any, Any]) -> Response[bytes]:
    """An estimate: Anthropic's own count would need its tokenizer (or a call to Anthropic). A body that
    ``/v1/messages`` would refuse (``max_tokens`` aside) is a 400 ``invalid_request_error``."""
    limits = gateway_of(request).rules.current.graph.config.server.input_limits
    counted = anthropic.count_tokens(await read_json(request, limits))
    return Response(_encode(counted), media_type="application/json", headers={"x-tiergate-estimate": "true"})


HANDLERS = [count_tokens]
