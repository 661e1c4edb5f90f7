"""``create_app``: the one place the Litestar app is wired.

It builds what every request path needs beside the rules: the origin guard (no cross-site use), the
auth guard (with the per-client rpm limiters), the metrics observer and registry, and the readiness
prober; all live in ``app.state``.

    app = create_app(Gateway(Rules.load(Path("routes.yaml"), os.environ)), limiters=Limiters())
    uvicorn.run(app, host="127.0.0.1", port=8080)
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from litestar import Litestar, Response
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware

from tiergate.api.auth import Authenticator
from tiergate.api.console import CONSOLE_HANDLERS
from tiergate.api.errors import EXCEPTION_HANDLERS
from tiergate.api.gateway import Gateway
from tiergate.api.handlers import HANDLERS
from tiergate.api.origin import OriginGuard
from tiergate.api.readiness import Readiness
from tiergate.resilience.limits import Limiters
from tiergate.telemetry.metrics import Metrics

Lifespan = Callable[[Litestar], AbstractAsyncContextManager[None]]

#: Litestar's body limit is fixed here; the live ``server.input_limits.max_body_bytes`` is enforced
#: below it by tiergate.api.input_limits, so it may change on reload.
BODY_CEILING = 256 * 1024 * 1024


def create_app(
    gateway: Gateway,
    *,
    lifespans: Sequence[Lifespan] = (),
    limiters: Limiters | None = None,
    readiness: Readiness | None = None,
    max_body_bytes: int = BODY_CEILING,
) -> Litestar:
    """``limiters`` should be the process's registry (shared with the dispatch guard); tests may omit it."""

    @asynccontextmanager
    async def close_rules(app: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await gateway.rules.aclose()

    metrics = Metrics(gateway.rules)
    gateway.observers.append(metrics)
    auth = Authenticator(limiters or Limiters(), on_rate_limited=metrics.client_rate_limited)
    state = {"gateway": gateway, "auth": auth, "metrics": metrics, "readiness": readiness or Readiness()}

    return Litestar(
        route_handlers=[*HANDLERS, *CONSOLE_HANDLERS],
        middleware=[DefineMiddleware(OriginGuard, rules=gateway.rules)],
        before_request=auth,
        after_request=_request_ids,
        state=State(state),
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[close_rules, *lifespans],
        request_max_body_size=max_body_bytes,
        openapi_config=None,
        logging_config=None,
    )


async def _request_ids(response: Response) -> Response:  # type: ignore[type-arg]
    """Every answer names its request, as Anthropic's (``request-id``) and OpenAI's (``x-request-id``) do:
    the SDKs expose it (``_request_id``) for a user's bug report. Chat answers carry their decision's id
    and errors their own; the rest (models, ``count_tokens``, health) get a fresh one here."""
    if "request-id" not in response.headers:
        request_id = "req_" + secrets.token_hex(10)
        response.headers.setdefault("x-request-id", request_id)
        response.headers["request-id"] = response.headers["x-request-id"]
    return response
