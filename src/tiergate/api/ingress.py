"""Each dialect's route: read the body within the live input limits, decode it in the dialect, and serve it.

HANDLERS = [route_for(dialect) for dialect in DIALECTS.values()]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Request, Response, post
from litestar.handlers import HTTPRouteHandler
from litestar.response import Stream

from tiergate.api.auth import ACCESS_CLIENT_METERED
from tiergate.api.dialects import Dialect
from tiergate.api.gateway import client_of, gateway_of
from tiergate.api.input_limits import check_messages, read_json
from tiergate.api.serve import serve, until_disconnected
from tiergate.errors import RequestError

#: Credentials never become routing features (``header.authorization`` reads as empty).
CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "proxy-authorization", "cookie"})


def feature_headers(request: Request[Any, Any, Any]) -> Mapping[str, str]:
    """The request's headers as routing sees them: lower-case names, credentials left out."""
    return {k.lower(): v for k, v in request.headers.items() if k.lower() not in CREDENTIAL_HEADERS}


def route_for(dialect: Dialect) -> HTTPRouteHandler:
    async def handle(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
        limits = gateway_of(request).rules.current.graph.config.server.input_limits
        headers = feature_headers(request)
        chat = dialect.decode(await read_json(request, limits), headers)
        check_messages(chat, limits, prompt=dialect.prompt_only)
        work = serve(gateway_of(request), dialect, chat, headers, client=client_of(request))
        return await until_disconnected(request.receive, work)

    handle.__name__ = handle.__qualname__ = f"serve_{dialect.name}"
    return post(dialect.path, status_code=200, opt=ACCESS_CLIENT_METERED, name=dialect.name)(handle)


def query_flag(given: str | None, name: str, default: bool) -> bool:
    """``true``/``false`` (or ``1``/``0``, any case), as Litestar read them."""
    word = given.strip().lower() if given is not None else None
    if word is None:
        return default
    if word in ("true", "1", "false", "0"):
        return word in ("true", "1")
    raise RequestError(f"`{name}` must be true or false", param=name, code="invalid_value")
