"""What both directions of the Anthropic Messages format share: constants, error types, stop reasons and
thinking signatures."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import msgspec

from tiergate.wire import (
    FinishReason,
)

Block = dict[str, Any]

DIALECT = "anthropic"
#: Starts every thinking signature tiergate makes; Anthropic would refuse such a block (:func:`native_body`).
SIGNATURE_PREFIX = "tiergate."
#: The forced tool that carries a structured answer when the request has no tools of its own.
ANSWER_TOOL = "json_answer"
ANSWER_DESCRIPTION = "Answer with JSON matching this schema."
#: Protocol headers a Messages client sends that an Anthropic upstream should see too.
PROTOCOL_HEADERS = ("anthropic-version", "anthropic-beta")
#: The beta under which a thinking budget may pass ``max_tokens`` (it spans the whole turn's tool calls); Claude
#: Code sends it with every request.
INTERLEAVED = "interleaved-thinking"

#: Anthropic's error types and the HTTP status each goes with (docs: "HTTP errors"); other 4xx statuses
#: are ``invalid_request_error``, other 5xx ones ``api_error`` (:func:`error_type`).
_TOOL_ID = re.compile(r"[A-Za-z0-9_-]+")
_NOT_IN_TOOL_ID = re.compile(r"[^A-Za-z0-9_-]")


def tool_use_id(raw: str) -> str:
    """A tool call's id as Anthropic accepts it (``^[a-zA-Z0-9_-]+$``). Other servers' ids (``functions.Bash:0``)
    get their other characters replaced and a digest of the whole id, so the same id always maps to the same
    one and two ids never merge. An id that is already acceptable, or empty, is kept.

        tool_use_id("functions.Bash:0")   # 'functions_Bash_0_5b2e9c1d'
    """
    if not raw or _TOOL_ID.fullmatch(raw):
        return raw
    digest = hashlib.sha256(raw.encode()).hexdigest()[:8]
    return f"{_NOT_IN_TOOL_ID.sub('_', raw[:64])}_{digest}"


ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
_ERROR_TYPE = {status: kind for kind, status in ERROR_STATUS.items()}

_STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
STOP_REASON_OF: dict[str, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}
#: ``reasoning_effort`` (:meth:`ChatRequest.effort`) → thinking budget; 1024 is the API's smallest budget.
#: Codex's levels above ``high`` (``xhigh``, ``max``, ``ultra``) get the most that leaves ``ANSWER_ROOM`` for an
#: answer under Claude Opus 4.1's 32,000 output tokens (the ``max_tokens`` sent when the client sets no limit
#: and the window has room; less room cuts the budget, not the reverse); a level not listed here, other than
#: ``none``, gets :data:`UNKNOWN_EFFORT_BUDGET`, since a client that asks for thinking by a new name still wants
#: it.
THINKING_BUDGETS = {"none": None, "minimal": 1024, "low": 1024, "medium": 4096, "high": 16384}
THINKING_BUDGETS |= dict.fromkeys(("xhigh", "max", "ultra"), 30720)
UNKNOWN_EFFORT_BUDGET = 4096
#: The smallest ``budget_tokens`` the API accepts.
MIN_THINKING_BUDGET = 1024
#: Room the thinking budget leaves for the answer under the ``max_tokens`` tiergate chose (the client set none).
ANSWER_ROOM = 1024
DATA_URL = re.compile(r"data:(?P<media>[^;,]+);base64,(?P<data>.*)", re.DOTALL)
EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}
ANY_OBJECT: dict[str, Any] = {"type": "object"}
encode_json = msgspec.json.Encoder().encode


def error_type(status: int) -> str:
    """Anthropic's error ``type`` for an HTTP status: the one its clients key their retries on. A 4xx the
    docs do not list (405, 415, 422...) is ``invalid_request_error``, as the docs say; any other is
    ``api_error``.

        error_type(415)   # "invalid_request_error"
    """
    if status in _ERROR_TYPE:
        return _ERROR_TYPE[status]
    return "invalid_request_error" if 400 <= status < 500 else "api_error"


def finish_reason(stop_reason: str | None) -> FinishReason:
    return _STOP_REASONS.get(stop_reason or "", "stop")


def signature(thinking: str) -> str:
    """The signature tiergate gives its own thinking blocks; recognisable by :data:`SIGNATURE_PREFIX`."""
    return SIGNATURE_PREFIX + hashlib.sha256(thinking.encode()).hexdigest()[:24]


def sse(name: str, obj: Any) -> bytes:
    """One Messages stream event: the ``event:`` line (clients dispatch on it) and its JSON."""
    return b"event: " + name.encode() + b"\ndata: " + encode_json(obj) + b"\n\n"


PING = sse("ping", {"type": "ping"})
#: The stream's last event, as Anthropic sends it; tiergate writes it for an upstream that said why the answer
#: stopped (``message_delta``) and then never sent it (:attr:`~.answer.StreamTranslator.stopped`).
MESSAGE_STOP = sse("message_stop", {"type": "message_stop"})
