"""Every error leaves in the shape of the dialect its path belongs to (tiergate.api.dialects): OpenAI's
``{"error": {...}}`` for the OpenAI paths, Anthropic's ``{"type": "error", "error": {...}}`` under
``/v1/messages``. On a path no dialect owns (``/v1/models``, an unknown path), a request carrying a
dialect's ``client_header`` (the anthropic SDK's ``anthropic-version``) gets that dialect's shape.

Litestar's own errors (unknown path, wrong method, body too large) are mapped too, so a client
never has to parse a second error format. Unexpected exceptions are logged with their traceback
and answered with a generic message (no internals, no secrets).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException

from tiergate.api.dialects import dialect_for_path
from tiergate.errors import TiergateError

log = logging.getLogger("tiergate.api")
_encode = msgspec.json.Encoder().encode

_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
}


class Refusal(TiergateError):
    """An error made outside tiergate's own code (Litestar's routing, the origin guard): only a status."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.type = _TYPES.get(status, "invalid_request_error" if status < 500 else "server_error")


def error_body_for(
    path: str, status: int, message: str, code: str | None = None, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The error body for a refusal made before any handler ran (tiergate.api.origin), in the shape
    :func:`_respond` gives: ``headers`` (lower-case names) choose the dialect on a path none owns."""
    return dialect_for_path(path, headers).error_body(Refusal(status, message, code))


def _respond(
    request: Request[Any, Any, Any], exc: TiergateError, headers: dict[str, str] | None = None
) -> Response[bytes]:
    body = dialect_for_path(request.url.path, request.headers).error_body(exc)
    request_id = (headers or {}).get("x-request-id") or "req_" + secrets.token_hex(10)
    ids = {"x-request-id": request_id, "request-id": request_id}
    return Response(
        _encode(body), status_code=exc.status, media_type="application/json", headers={**ids, **(headers or {})}
    )


def tiergate_error(request: Request[Any, Any, Any], exc: TiergateError) -> Response[bytes]:
    return _respond(request, exc, {**exc.headers(), **exc.extra_headers})


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    message = exc.detail or "error"
    if status == 404:
        message = f"no such endpoint: {request.method} {request.url.path}"
    elif status == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
    elif status == 413:
        message = "the request body is too large"
    return _respond(request, Refusal(status, message))


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    request_id = "req_" + secrets.token_hex(10)  # in the log line and the answer: what a bug report quotes
    log.exception("unhandled error on %s %s (request-id %s)", request.method, request.url.path, request_id)
    refusal = Refusal(500, f"internal error in tiergate: {type(exc).__name__}")
    return _respond(request, refusal, {"x-request-id": request_id})


EXCEPTION_HANDLERS: dict[Any, Any] = {
    TiergateError: tiergate_error,
    HTTPException: http_error,
    Exception: internal_error,
}
