"""What happened to one request, handed to every observer when the request ends.

The API builds one RequestRecord per routed request (for a stream: when its last byte is sent or
the client leaves). Observers — the decision log, metrics — each take it in one call and must not
block: slow work goes to their own thread or queue.

    gateway.observe(RequestRecord(decision, target, attempts, status=200, ...))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from tiergate.engine.decision import RoutingDecision
from tiergate.engine.targets import Target
from tiergate.wire import ChatRequest, Usage


@dataclass
class RequestRecord:
    decision: RoutingDecision
    target: Target | None
    attempts: list[Any]
    status: int
    latency_ms: float
    client: str
    stream: bool
    endpoint: str
    #: The upstream's own token counts; None when it reported none.
    usage: Usage | None = None
    ttft_ms: float | None = None
    error: str | None = None
    error_kind: str | None = None
    disconnected: bool = False
    #: The user's ask as routing read it, kept only with ``server.decision_log.store_ask``.
    ask: str | None = None
    #: The request as routing read it, and its headers (credentials left out): for the shadow rules.
    request: ChatRequest | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    #: What spend counts (:mod:`tiergate.telemetry.usage`): ``usage``, or an estimate where the upstream
    #: reported none or the stream was cut short; None when no target served the request.
    charged: Usage | None = None
    #: True when ``charged`` is (partly) an estimate.
    estimated: bool = False
    #: What routing itself spent, at which target (the classifier's call): charged like an attempt.
    side: list[tuple[Target, Usage]] = field(default_factory=list)
    #: What the serving target's backend left out of the parameters tiergate models (Claude's ``top_p`` beside
    #: ``temperature``): the log line's ``dropped_params`` names them.
    left_out: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.charged is None:
            self.charged = self.usage

    def spent(self, *, side: bool = True) -> list[tuple[Target, Usage]]:
        """Each target the request spent tokens at, with the usage charged there: every attempt that failed
        after its upstream's 200 with tokens counted (its ``charged``; the upstream billed them), then the
        serving target's ``charged``, after what routing spent (``side``; left out with ``side=False``: spend
        counted it as it was spent). Spend and the decision log's ``cost_usd`` price each at its target."""
        spent = list(self.side) if side else []
        spent += [(a.target, a.charged) for a in self.attempts if getattr(a, "charged", None) is not None]
        if self.target is not None and self.charged is not None:
            spent.append((self.target, self.charged))
        return spent


@dataclass(frozen=True)
class ShadowRecord:
    """What routes.yaml's candidate rules (``shadow``) decided for a live request, decided after it ended."""

    decision_id: str
    file: str
    decision: RoutingDecision
    #: The live request's charged usage (its tokens, or the estimate it was charged) at the candidate target's
    #: price; None when no target served it.
    cost_usd: float | None = None


class Observer(Protocol):
    def observe(self, record: RequestRecord) -> None: ...
