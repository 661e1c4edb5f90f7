"""``create_app``: the one place the Litestar app is wired.

app = create_app(Gateway(Rules.load(Path("routes.yaml"), os.environ)))
uvicorn.run(app, host="127.0.0.1", port=8080)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.datastructures import State

from tiergate.api.errors import EXCEPTION_HANDLERS
from tiergate.api.gateway import Gateway
from tiergate.api.handlers import HANDLERS

Lifespan = Callable[[Litestar], AbstractAsyncContextManager[None]]


def create_app(
    gateway: Gateway, *, lifespans: Sequence[Lifespan] = (), max_body_bytes: int = 16 * 1024 * 1024
) -> Litestar:
    @asynccontextmanager
    async def close_rules(app: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await gateway.rules.aclose()

    app_kwargs: dict[str, Any] = {}
    return Litestar(
        route_handlers=HANDLERS,
        state=State({"gateway": gateway}),
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[close_rules, *lifespans],
        request_max_body_size=max_body_bytes,
        openapi_config=None,
        logging_config=None,
        **app_kwargs,
    )
