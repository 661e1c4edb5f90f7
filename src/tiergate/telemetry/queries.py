"""What the console reads from the decision log, as one small interface any store can serve.

The SQLite log serves it through :class:`tiergate.telemetry.sql_queries.SqlQueries` over a read-only
connection; a Postgres log serves the same statements through its own ``Runner`` (placeholders and
one time-bucket expression differ, nothing else). The answers are msgspec Structs, encoded as they
are for the console's JSON.

    queries = dlog.queries()
    window = await queries.window(since, until, bucket_s=3600)
    rows = await queries.recent(limit=50)
"""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

#: The console's windows: seconds covered and the width of one bar of the tier-share chart.
WINDOWS: dict[str, tuple[float, float]] = {
    "1h": (3_600.0, 300.0),
    "24h": (86_400.0, 3_600.0),
    "7d": (604_800.0, 21_600.0),
    "30d": (2_592_000.0, 86_400.0),
}


class TierWindow(msgspec.Struct):
    """One tier over a window. ``priced`` requests reported token usage; the token sums are theirs."""

    tier: str
    requests: int
    cost_usd: float
    priced: int
    prompt_tokens: int
    completion_tokens: int
    fallbacks: int
    errors: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    ttft_p50_ms: float | None
    ttft_p95_ms: float | None
    ratings: int
    rating_mean: float | None
    #: Of ``prompt_tokens``: those read from and written to a prompt cache (0 for rows logged before they were kept).
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    #: Of ``cost_usd``: the cost of the ``priced`` requests, the ones whose tokens the sums hold. The rest were
    #: charged an estimate (no usage reported, or a stream cut short), and baselines cannot price them.
    counted_cost_usd: float = 0.0


class Bucket(msgspec.Struct):
    """Requests per tier whose ``ts`` falls in ``[start, start + bucket_s)``."""

    start: float
    tiers: dict[str, int]


class Window(msgspec.Struct):
    since: float
    until: float
    bucket_s: float
    requests: int
    fallbacks: int
    errors: int
    tiers: list[TierWindow]
    #: Requests by what settled them (tiergate.telemetry.phases); rows logged before that was kept: ``unknown``.
    decided_by: dict[str, int]
    series: list[Bucket]


class Rating(msgspec.Struct):
    ts: float
    rating: int
    comment: str | None
    client: str | None


class RecentRow(msgspec.Struct):
    decision_id: str
    ts: float
    client: str
    tier: str
    model: str
    phase: str
    decided_by: str | None
    status: int
    cost_usd: float | None
    latency_ms: float
    ttft_ms: float | None
    #: The latest rating given, if any.
    rating: int | None


class Candidate(msgspec.Struct):
    """What the shadow rules decided for a request."""

    file: str
    rules_version: str
    tier: str
    model: str
    decided_by: str
    cost_usd: float | None
    decision: dict[str, Any]


class Detail(msgspec.Struct):
    """One request as the log holds it: the row, its decision trace, its attempts, ratings, and shadow."""

    row: RecentRow
    endpoint: str
    stream: bool
    decided_tier: str
    band: str
    prompt_tokens: int | None
    completion_tokens: int | None
    fallback: bool
    error: str | None
    error_kind: str | None
    attempts: list[dict[str, Any]]
    decision: dict[str, Any]
    ratings: list[Rating]
    shadow: Candidate | None


class Pair(msgspec.Struct):
    live: str
    candidate: str
    count: int


class ShadowExample(msgspec.Struct):
    row: RecentRow
    live: dict[str, Any]
    candidate: Candidate


class ShadowReport(msgspec.Struct):
    """Live rules against the candidate over a window: where they disagree, cost, and ratings."""

    since: float
    until: float
    shadowed: int
    agreed: int
    #: Counts by (live tier, candidate tier), disagreements first.
    pairs: list[Pair]
    #: Over the shadowed requests that reported usage: what they cost, and the candidate's estimate.
    priced: int
    live_cost_usd: float
    candidate_cost_usd: float
    #: Ratings given to requests where the two disagree: how many, the mean, and a count per value.
    disagreeing_rated: int
    disagreeing_rating_mean: float | None
    disagreeing_ratings: dict[str, int]
    examples: list[ShadowExample]
    versions: list[str]


class DecisionQueries(Protocol):
    """The console's read side of the decision log. Every method is a read; none blocks the event loop."""

    async def window(self, since: float, until: float, bucket_s: float) -> Window: ...

    async def recent(
        self, limit: int, before: float | None = None, before_id: str | None = None
    ) -> list[RecentRow]: ...

    async def detail(self, decision_id: str) -> Detail | None: ...

    async def shadow(self, since: float, until: float, examples: int) -> ShadowReport: ...
