"""The dry run's dialects: how a pasted request body becomes the chat request routing reads.

Each ingress dialect tiergate understands is one entry: its name (the console's selector and
``POST /console/api/route?dialect=``), a label, the decoder its endpoint uses, and a small example body.
Adding an ingress adds one entry here; the decision and its trace are the same for every dialect.

    chat = DIALECTS["openai-chat"].decode(body, headers)
    routed = await runtime.router.decide(chat, headers, classify=classify, remember=False)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tiergate.api.bodies import decode_chat
from tiergate.protocols.anthropic import ingress as anthropic_ingress
from tiergate.protocols.responses import request as responses_request
from tiergate.wire import ChatRequest

Decoder = Callable[[bytes, Mapping[str, str]], ChatRequest]


@dataclass(frozen=True)
class Dialect:
    name: str
    label: str
    decode: Decoder
    example: dict[str, Any]


_ASK = "refactor the session handling in auth.py to use the new token store"

DIALECTS: dict[str, Dialect] = {
    d.name: d
    for d in (
        Dialect(
            "openai-chat",
            "OpenAI chat (/v1/chat/completions)",
            lambda body, headers: decode_chat(body),
            {"model": "auto", "messages": [{"role": "user", "content": _ASK}]},
        ),
        Dialect(
            "anthropic-messages",
            "Anthropic Messages (/v1/messages)",
            anthropic_ingress.decode,
            {"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": [{"role": "user", "content": _ASK}]},
        ),
        Dialect(
            "openai-responses",
            "OpenAI Responses (/v1/responses)",
            lambda body, headers: responses_request.decode(body),
            {"model": "auto", "input": _ASK},
        ),
    )
}
DEFAULT_DIALECT = "openai-chat"
