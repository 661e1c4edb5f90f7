"""Keep web pages from using the gateway: cross-site requests never reach an upstream or an admin action.

A gateway on 127.0.0.1 without client keys trusts every loopback peer, and a browser is one: any page
the developer visits could POST to ``http://127.0.0.1:8080/v1/chat/completions`` (as ``text/plain``,
which needs no preflight) and spend money, or ``POST /admin/reload``. So, before routing and auth:

- a request that carries an ``Origin`` is refused (403) unless the origin is the gateway's own (the
  console) or listed in ``server.cors.allow_origins``; SDKs, CLIs and editors send no ``Origin``;
- a body sent with ``POST`` must be JSON (``application/json`` or ``+json``): 415 otherwise, so the
  content types a page may send without a preflight (``text/plain``, forms) are refused whatever
  their origin;
- a CORS preflight (``OPTIONS`` with ``Access-Control-Request-Method``) is answered for allowed
  origins only; allowed origins get ``Access-Control-Allow-Origin`` on every answer;
- a request with more than one ``Origin``, ``Host`` or ``Content-Type`` header is refused (400): what
  this guard, auth and the handlers read of it could differ.

A page on a DNS-rebound name is the same origin as that name, so it passes here; what it could use is
what a loopback peer gets without a key, and auth (tiergate.api.auth.Locality) admits that only to
requests addressed to a loopback name. (The Host was checked here once, before auth, for every
endpoint: /health and /metrics, open to everyone, and requests with the admin key were refused too.)

The settings are read from the live rules on each request, so a reload applies at once. Refusals use
the error shape auth's do (the endpoint's dialect, or the one whose client header the request sends), and
a refusal to an allowed origin carries ``Access-Control-Allow-Origin``, so the page can read why.

    Litestar(..., middleware=[DefineMiddleware(OriginGuard, rules=rules)])
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import msgspec

from tiergate.api.errors import error_body_for
from tiergate.runtime import Rules

ASGIApp = Callable[..., Any]
_encode = msgspec.json.Encoder().encode
ALLOWED_METHODS = b"GET, POST, OPTIONS"
EXPOSED_HEADERS = (
    b"x-tiergate-decision-id, x-tiergate-tier, x-tiergate-model, x-tiergate-phase, x-tiergate-attempts, "
    b"x-tiergate-dropped-params, retry-after, x-request-id, request-id"
)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class OriginGuard:
    def __init__(self, app: ASGIApp, *, rules: Rules) -> None:
        self.app = app
        self.rules = rules

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = content_type = host = preflight = None
        has_body = False
        seen: set[bytes] = set()
        twice: bytes | None = None
        for name, value in scope["headers"]:
            if name in _ONCE:
                twice = name if name in seen else twice
                seen.add(name)
            if name == b"origin":
                origin = value.decode("latin-1")
            elif name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"host":
                host = value.decode("latin-1")
            elif name == b"access-control-request-method":
                preflight = value
            elif name == b"content-length":
                has_body = has_body or value.strip() not in (b"", b"0")
            elif name == b"transfer-encoding":
                has_body = True
        if twice is not None:
            await _refuse(scope, send, 400, _TWICE.format(name=_ONCE[twice]), "duplicate_header")
            return
        method = scope["method"]
        allowed = origin is None or _same_origin(origin, host) or origin in self._allow_origins()
        if not allowed:
            await _refuse(scope, send, 403, _FOREIGN.format(origin=origin), "origin_not_allowed")
            return
        if method == "OPTIONS" and preflight is not None and origin is not None:
            await self._preflight(scope, send, origin)
            return
        replying = send if origin is None else _with_cors(send, origin)  # an allowed page may read every answer
        if method in _BODY_METHODS and (content_type is not None or has_body) and not _is_json(content_type):
            shown = content_type if content_type is not None else "a body without one"
            await _refuse(scope, replying, 415, _NOT_JSON.format(shown=shown), "unsupported_media_type")
            return
        await self.app(scope, receive, replying)

    def _allow_origins(self) -> list[str]:
        return self.rules.current.graph.config.server.cors.allow_origins

    async def _preflight(self, scope: dict[str, Any], send: Callable[..., Any], origin: str) -> None:
        requested = next((v for n, v in scope["headers"] if n == b"access-control-request-headers"), b"")
        max_age = self.rules.current.graph.config.server.cors.max_age
        headers = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", ALLOWED_METHODS),
            (b"access-control-max-age", str(max_age).encode()),
            (b"vary", b"origin"),
            (b"content-length", b"0"),
        ]
        if requested:
            headers.append((b"access-control-allow-headers", requested))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


_FOREIGN = (
    "requests from the web page origin {origin} are refused: tiergate serves browsers only from origins "
    "listed in server.cors.allow_origins"
)
_NOT_JSON = "the request body must be JSON (Content-Type: application/json), not {shown}"
#: Headers a request may carry once. This guard read the last of several and auth and Litestar the first, so
#: ``Origin: <a foreign page>`` then ``Origin: <the gateway's own>`` passed here as the gateway's own, and two
#: Host headers, a loopback name first, passed auth's check for a loopback name. Refused rather than read one
#: way everywhere: no client sends them twice, and a request that does may be read differently further on.
_ONCE = {b"origin": "Origin", b"content-type": "Content-Type", b"host": "Host"}
_TWICE = "the request carries more than one {name} header; send it once"


def _with_cors(send: Callable[..., Any], origin: str) -> Callable[..., Any]:
    extra = [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-expose-headers", EXPOSED_HEADERS),
        (b"vary", b"origin"),
    ]

    async def sending(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return sending


async def _refuse(scope: Any, send: Callable[..., Any], status: int, message: str, code: str) -> None:
    """An error in the shape auth's own refusals take: the path's dialect, or on a path no dialect owns
    (``/v1/feedback``, ``/v1/models``), the one whose client header (``anthropic-version``) the request sends."""
    sent = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
    body = _encode(error_body_for(scope["path"], status, message, code, sent))
    request_id = ("req_" + secrets.token_hex(10)).encode()  # as every other answer has (tiergate.api.app)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id),
        (b"request-id", request_id),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _is_json(content_type: str | None) -> bool:
    if content_type is None:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _same_origin(origin: str, host: str | None) -> bool:
    """The gateway's own pages: the origin names the host the request was sent to."""
    if host is None:
        return False
    scheme, _, rest = origin.partition("://")
    return scheme in ("http", "https") and rest.lower() == host.lower()
