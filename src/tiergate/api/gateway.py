"""The state one app instance serves from: the live rules and when it started.

gateway = Gateway(rules)
app = create_app(gateway)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from litestar import Request

from tiergate.runtime import Rules


@dataclass
class Gateway:
    rules: Rules
    started_at: float = field(default_factory=time.time)


def gateway_of(request: Request) -> Gateway:  # type: ignore[type-arg]
    return request.app.state.gateway  # type: ignore[no-any-return]
