"""The state one app instance serves from: the live rules and when it started.

gateway = Gateway(rules)
app = create_app(gateway)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from litestar import Request

from tiergate.runtime import Rules
from tiergate.telemetry.record import Observer, RequestRecord

log = logging.getLogger("tiergate.api")

#: Where authentication leaves the client's name in the ASGI scope.
CLIENT_SCOPE_KEY = "tiergate.client"


@dataclass
class Gateway:
    rules: Rules
    started_at: float = field(default_factory=time.time)
    observers: list[Observer] = field(default_factory=list)
    #: Extra sections of ``/health``, each read when it is asked for.
    reports: list[Callable[[], dict[str, Any]]] = field(default_factory=list)

    def observe(self, record: RequestRecord) -> None:
        for observer in self.observers:
            try:
                observer.observe(record)
            except Exception:  # an observer's bug must never fail a request
                log.exception("observer %s failed", type(observer).__name__)

    def rated(self, decision_id: str, rating: int, rater: str | None = None) -> None:
        """A stored ``POST /v1/feedback`` rating by client ``rater`` (None: the admin console), for observers
        that learn from ratings (``rated``)."""
        for observer in self.observers:
            rated = getattr(observer, "rated", None)
            if rated is None:
                continue
            try:
                rated(decision_id, rating, rater)
            except Exception:
                log.exception("observer %s failed on a rating", type(observer).__name__)


def client_of(request: Request[Any, Any, Any]) -> str:
    """The authenticated client's name, or ``anonymous`` when the gateway runs without keys."""
    return str(request.scope.get(CLIENT_SCOPE_KEY, "anonymous"))


def gateway_of(request: Request) -> Gateway:  # type: ignore[type-arg]
    return request.app.state.gateway  # type: ignore[no-any-return]
