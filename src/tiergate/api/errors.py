"""Every error leaves in the OpenAI shape: ``{"error": {"message", "type", "param", "code"}}``.

Litestar's own errors (unknown path, wrong method, body too large) are mapped too, so a client
never has to parse a second error format. Unexpected exceptions are logged with their traceback
and answered with a generic message (no internals, no secrets).
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException

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


def error_body_for(path: str, status: int, message: str, code: str | None = None) -> dict[str, Any]:
    """The error body for a refusal made before any handler ran (tiergate.api.origin)."""
    kind = _TYPES.get(status, "invalid_request_error" if status < 500 else "server_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _respond(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(_encode(body), status_code=status, media_type="application/json", headers=headers or {})


def tiergate_error(request: Request[Any, Any, Any], exc: TiergateError) -> Response[bytes]:
    headers = {**exc.headers(), **exc.extra_headers}
    return _respond(exc.status, exc.body(), headers)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    message = exc.detail or "error"
    if status == 404:
        message = f"no such endpoint: {request.method} {request.url.path}"
    elif status == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
    elif status == 413:
        message = "the request body is too large"
    kind = _TYPES.get(status, "invalid_request_error" if status < 500 else "server_error")
    return _respond(status, {"error": {"message": message, "type": kind, "param": None, "code": None}})


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _respond(
        500,
        {
            "error": {
                "message": f"internal error in tiergate: {type(exc).__name__}",
                "type": "server_error",
                "param": None,
                "code": None,
            }
        },
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    TiergateError: tiergate_error,
    HTTPException: http_error,
    Exception: internal_error,
}
