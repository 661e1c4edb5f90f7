"""The routes.yaml sections for signals the running system observes: latency, spend, failures, the dial.

Each section configures one module: ``routing.latency`` (:mod:`tiergate.telemetry.latency`), ``budgets``
(:mod:`tiergate.engine.budgets`), ``routing.session_escalation`` (:mod:`tiergate.engine.session_escalation`)
and ``routing.quality`` with ``routing.quality_preference`` (:mod:`tiergate.engine.quality`).
:mod:`tiergate.config.model` puts them in the file's tree.

    routing:
      quality_preference: 0.6
      latency: {alpha: 0.3, window: 256}
      session_escalation: {after_failures: 2, hold: 900}
    budgets:
      tiers: {opus: {daily_usd: 20, on_exceed: spill}}
"""

from __future__ import annotations

import zoneinfo
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from tiergate.config.base import PositiveInt, Seconds, Strict, Unit
from tiergate.config.problems import did_you_mean

Usd = Annotated[float, Meta(ge=0)]


class LatencyConfig(Strict, frozen=True):
    """How each target's observed latency is summarised for the `target.<tier>.*` features, `/health` and
    `/metrics`: an exponential moving average and percentiles over the most recent requests."""

    alpha: Annotated[float, Meta(gt=0, le=1)] = 0.3
    """Weight of the newest sample in the moving average (`ttft_ema_ms`, `total_ema_ms`), above 0 up to 1.
    Default: 0.3."""
    window: Annotated[int, Meta(ge=8, le=4096)] = 256
    """Most recent samples per target that the percentiles (p50, p95, p99) are computed over, 8 to 4096.
    Default: 256."""
    max_age: Annotated[float, Meta(gt=0)] = 900.0
    """Seconds a sample counts for. A rule that routes away from a slow tier leaves it without new
    samples, so without this one slow answer would keep it away until a restart; once its samples are
    older than this, the tier has no figures and is tried again. Profile seeds age the same way. Default:
    900 (15 minutes)."""


class QualityConfig(Strict, frozen=True):
    """How `routing.quality_preference` moves the thresholds, and how far a client may move it with the
    `x-tiergate-quality` header."""

    span: Annotated[float, Meta(ge=0, le=10)] = 2.0
    """How far the ends of the dial move each threshold, in logits (log-odds): at preference 1 every band
    threshold and learned cut-off is moved down by `span` logits (more requests go up a tier), at 0 up by
    `span`. 2 moves a threshold of 0.39 to 0.08 at 1 and to 0.83 at 0. Default: 2."""
    client_min: Unit = 0.0
    """The lowest preference a client may ask for with `x-tiergate-quality`; lower values are raised to it.
    Default: 0."""
    client_max: Unit = 1.0
    """The highest preference a client may ask for with `x-tiergate-quality`; higher values are lowered to
    it. Set both limits to `quality_preference` to ignore the header. Default: 1."""

    def __post_init__(self) -> None:
        if self.client_min > self.client_max:
            raise ValueError("quality.client_min must not be above quality.client_max")


Failure = Literal["error", "timeout", "refusal", "rating"]
REFUSAL_MARKERS = (
    "i can't help with",
    "i cannot help with",
    "i can't assist",
    "i cannot assist",
    "i'm unable to",
    "i am unable to",
    "i'm not able to",
    "as an ai language model",
    "i cannot provide",
    "i can't provide",
    "i do not have the ability",
    "i don't have the ability",
)


class SessionEscalation(Strict, frozen=True):
    """Move a conversation up a tier after repeated failures of a tier within its session (the first user
    message plus the client key): errors, timeouts, refusals in its answers, or low ratings."""

    after_failures: PositiveInt = 2
    """Failures of one tier within `window` seconds that move the session up from it. Default: 2."""
    window: Seconds = 600.0
    """Seconds over which failures are counted. Default: 600."""
    hold: Seconds = 900.0
    """Seconds the session stays a tier up after the last failure that moved it. Default: 900."""
    tiers: list[str] | None = None
    """The tiers whose failures count, each moving up to the next dearer tier. Default: the tier of
    `band_tiers.local`."""
    count: list[Failure] = msgspec.field(default_factory=lambda: ["error", "timeout", "refusal", "rating"])
    """What counts as a failure: `error` (an attempt on the tier failed), `timeout` (it timed out),
    `refusal` (its answer, sent back in the conversation's next turn, matches `refusal_markers`),
    `rating` (a `POST /v1/feedback` rating at or below `low_rating`). Default: all four."""
    low_rating: Annotated[int, Meta(ge=1, le=5)] = 2
    """Ratings at or below this count as a failure. Default: 2."""
    refusal_markers: list[str] = msgspec.field(default_factory=lambda: list(REFUSAL_MARKERS))
    """Phrases (lower case) that mark an answer as a refusal when found in its first 300 characters."""
    max_sessions: PositiveInt = 10000
    """Most sessions whose failures are remembered, in each process (least recently used are forgotten;
    with `state.redis_url` every process hears of every session's failures). Default: 10000."""


class Budget(Strict, frozen=True):
    """Spend caps in US dollars, from the targets' `price` and each answer's token usage. Days and months
    start at midnight in `budgets.timezone`."""

    daily_usd: Usd | None = None
    """Most dollars per day. Default: no daily cap."""
    monthly_usd: Usd | None = None
    """Most dollars per calendar month. Default: no monthly cap."""
    on_exceed: Literal["spill", "reject"] = "spill"
    """At the cap: `spill` to the next cheaper tier (its fallback tiers first, then by price) that is within
    its budgets, or `reject` with HTTP 429 until the period ends. Default: spill."""

    __schema_extra__ = {"anyOf": [{"required": ["daily_usd"]}, {"required": ["monthly_usd"]}]}

    def __post_init__(self) -> None:
        if self.daily_usd is None and self.monthly_usd is None:
            raise ValueError("a budget needs `daily_usd`, `monthly_usd` or both")


class Budgets(Strict, frozen=True):
    """Spend caps per tier and per client key. Spend is counted in process and rebuilt from the decision log
    at start-up, so a restart does not reset it."""

    tiers: dict[str, Budget] = {}
    """Tier name → its caps: what every client together may spend on the tier. Default: none."""
    clients: dict[str, Budget] = {}
    """Client key name (as in `server.auth`; `anonymous` without keys; `*` for each client not listed) →
    its caps over every tier. Over its cap a client spills to tiers without a price, or is rejected.
    Default: none."""
    timezone: str = "UTC"
    """The IANA time zone whose midnight starts a budget day (and month), e.g. `Europe/Paris`. Default: UTC."""

    def __post_init__(self) -> None:
        if self.timezone == "UTC":
            return
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = self.timezone
            hint = "an IANA name such as UTC or Europe/Paris; without a system zone database, pip install tzdata"
            close = did_you_mean(zone, zoneinfo.available_timezones())
            raise ValueError(f"unknown time zone '{zone}' ({hint}){close}") from None
