"""The routes.yaml tree as strict msgspec Structs.

Every Struct forbids unknown fields and is frozen, so one ``msgspec.convert`` call either yields a
complete, immutable config or a ValidationError whose ``$.path`` the loader turns into file:line.
Cross-field checks that need names from elsewhere in the file (unknown backend, fallback cycles, ...)
live in :mod:`tiergate.config.semantic`; they report the same kind of path.

    config = msgspec.convert(data, RoutesConfig)
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

Unit = Annotated[float, Meta(ge=0, le=1)]
Seconds = Annotated[float, Meta(gt=0)]
PositiveInt = Annotated[int, Meta(ge=1)]
Band = Literal["LOCAL", "AMBIGUOUS", "CLAUDE"]
Capability = Literal["tools", "vision"]


class Strict(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Base for every node of the file."""


# --- backends -------------------------------------------------------------------------------


class _BackendBase(Strict, tag_field="kind"):
    base_url: str
    headers: dict[str, str] = {}
    max_connections: PositiveInt = 100
    description: str | None = None


class OllamaBackendConfig(_BackendBase, tag="ollama"):
    keep_alive: str | None = None


class AnthropicBackendConfig(_BackendBase, tag="anthropic"):
    api_key_env: str = "ANTHROPIC_API_KEY"
    anthropic_version: str = "2023-06-01"
    default_max_tokens: PositiveInt = 4096


class OpenAIBackendConfig(_BackendBase, tag="openai"):
    api_key_env: str | None = None


BackendConfig = OllamaBackendConfig | AnthropicBackendConfig | OpenAIBackendConfig


# --- resilience defaults and overrides ------------------------------------------------------


class Timeouts(Strict):
    connect: Seconds = 5.0
    first_token: Seconds = 60.0
    idle: Seconds = 60.0
    total: Seconds = 600.0


class TimeoutOverrides(Strict):
    connect: Seconds | None = None
    first_token: Seconds | None = None
    idle: Seconds | None = None
    total: Seconds | None = None


class Retries(Strict):
    attempts: Annotated[int, Meta(ge=0, le=10)] = 2
    backoff_base: Annotated[float, Meta(ge=0)] = 0.25
    backoff_max: Annotated[float, Meta(ge=0)] = 8.0


class RetryOverrides(Strict):
    attempts: Annotated[int, Meta(ge=0, le=10)] | None = None
    backoff_base: Annotated[float, Meta(ge=0)] | None = None
    backoff_max: Annotated[float, Meta(ge=0)] | None = None


class Breaker(Strict):
    fail_max: PositiveInt = 5
    reset_timeout: Seconds = 30.0


class BreakerOverrides(Strict):
    fail_max: PositiveInt | None = None
    reset_timeout: Seconds | None = None


class Limits(Strict):
    rpm: PositiveInt | None = None
    concurrency: PositiveInt | None = None
    on_limit: Literal["fallback", "wait", "reject"] = "fallback"
    max_wait: Annotated[float, Meta(ge=0)] = 10.0


# --- tiers ----------------------------------------------------------------------------------


class Capabilities(Strict):
    tools: bool = True
    vision: bool = False
    context_window: PositiveInt = 8192


class Price(Strict):
    """US dollars per million tokens."""

    input: Annotated[float, Meta(ge=0)] = 0.0
    output: Annotated[float, Meta(ge=0)] = 0.0


class TargetConfig(Strict):
    backend: str
    model: str
    aliases: list[str] = []
    capabilities: Capabilities = Capabilities()
    price: Price = Price()
    timeouts: TimeoutOverrides | None = None
    retries: RetryOverrides | None = None
    breaker: BreakerOverrides | None = None
    limits: Limits | None = None


class TierConfig(Strict):
    targets: Annotated[list[TargetConfig], Meta(min_length=1)]
    description: str | None = None


# --- rules ----------------------------------------------------------------------------------


class Condition(Strict):
    """One node of a ``when:`` tree: a combinator (all/any/not) or a feature comparison."""

    all: list[Condition] | None = None
    any: list[Condition] | None = None
    not_: Condition | None = msgspec.field(default=None, name="not")
    feature: str | None = None
    eq: Any = msgspec.UNSET
    ne: Any = msgspec.UNSET
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None
    in_: list[Any] | None = msgspec.field(default=None, name="in")
    not_in: list[Any] | None = None
    matches: str | None = None
    contains_any: str | list[str] | None = None
    min_count: PositiveInt = 1

    def __post_init__(self) -> None:
        combinators = [n for n in ("all", "any", "not_") if getattr(self, n) is not None]
        if len(combinators) > 1:
            raise ValueError("a condition takes one of `all`, `any` or `not`")
        if combinators:
            if self.feature is not None or self.operators():
                raise ValueError("a condition is either a combinator or a `feature` comparison")
            return
        if self.feature is None:
            raise ValueError("a condition needs `feature` (with an operator) or `all`/`any`/`not`")
        ops = self.operators()
        if len(ops) != 1:
            raise ValueError(
                "a feature comparison takes exactly one operator of "
                "eq ne gt gte lt lte in not_in matches contains_any" + (f" (got {', '.join(ops)})" if ops else "")
            )

    def operators(self) -> list[str]:
        found = []
        for name in ("eq", "ne"):
            if getattr(self, name) is not msgspec.UNSET:
                found.append(name)
        for name in ("gt", "gte", "lt", "lte", "in_", "not_in", "matches", "contains_any"):
            if getattr(self, name) is not None:
                found.append(name.rstrip("_"))
        return found


class Action(Strict):
    band: Band | None = None
    tier: str | None = None
    confidence: Unit = 0.9
    score: Annotated[float, Meta(ge=-1, le=1)] | None = None
    require: list[Capability] = []

    def __post_init__(self) -> None:
        if self.band is not None and self.tier is not None:
            raise ValueError("an action forces a `band` or a `tier`, not both")
        if self.band is None and self.tier is None and self.score is None and not self.require:
            raise ValueError("an action needs one of `band`, `tier`, `score` or `require`")


class Rule(Strict):
    name: str
    when: Condition
    then: Action
    description: str | None = None


class Ramp(Strict, tag_field="kind", tag="ramp"):
    """0 at or below ``from``, 1 at or above ``to``, linear between."""

    from_: float = msgspec.field(name="from")
    to: float

    def __post_init__(self) -> None:
        if self.to == self.from_:
            raise ValueError("a ramp needs `from` and `to` to differ")


class Threshold(Strict, tag_field="kind", tag="threshold"):
    """1 when the feature is at least ``at``, else 0."""

    at: float


class KeywordDensity(Strict, tag_field="kind", tag="keywords"):
    """Distinct keyword hits in a text feature, divided by ``saturate`` and capped at 1."""

    keywords: str | list[str]
    saturate: PositiveInt = 3


class Boolean(Strict, tag_field="kind", tag="boolean"):
    """1 when the feature is truthy."""


Transform = Ramp | Threshold | KeywordDensity | Boolean


class Scorer(Strict):
    name: str
    feature: str
    transform: Transform
    weight: Annotated[float, Meta(ge=0)] = 1.0
    description: str | None = None


class Bands(Strict):
    """score < local → LOCAL; score >= claude → CLAUDE; otherwise AMBIGUOUS."""

    local: Unit = 0.3
    claude: Unit = 0.6

    def __post_init__(self) -> None:
        if self.local > self.claude:
            raise ValueError("bands.local must not be above bands.claude")


class BandTiers(Strict):
    """Which tier each band sends a request to before the opus escalation."""

    local: str = "local"
    claude: str = "sonnet"
    ambiguous: str = "sonnet"


class Escalation(Strict):
    """When the CLAUDE band goes to ``tier`` instead of ``band_tiers.claude``."""

    tier: str = "opus"
    when: Condition | None = None
    score_at_least: Unit | None = None


class Explicit(Strict):
    """How a client may name its target: ``model`` (tier, model id, alias) or ``provider``."""

    honour_model: bool = True
    auto_names: list[str] = msgspec.field(default_factory=lambda: ["auto"])
    providers: dict[str, str] = {}


class KeywordRoute(Strict):
    tier: str
    keywords: str | list[str]


class KeywordMode(Strict):
    """The legacy router: the first list with a hit in the last user message picks the tier."""

    routes: list[KeywordRoute] = []
    default_tier: str = "local"


class ClassifierConfig(Strict):
    backend: str
    model: str
    enabled: bool = True
    prompt: str | None = None
    timeout: Seconds = 5.0
    cache_size: PositiveInt = 256
    cache_ttl: Seconds = 3600.0
    max_chars: PositiveInt = 4000
    breaker: BreakerOverrides | None = None


class Stickiness(Strict):
    """A conversation never moves down a tier within a session (keyed by first user message + client key)."""

    enabled: bool = True
    ttl: Seconds = 3600.0
    max_sessions: PositiveInt = 10000


class RoutingConfig(Strict):
    mode: Literal["local_first", "keyword", "fixed"] = "local_first"
    fixed_tier: str | None = None
    scan_chars: Annotated[int, Meta(ge=1000)] = 16000
    keywords: dict[str, list[str]] = {}
    rules: list[Rule] = []
    scorers: list[Scorer] = []
    bands: Bands = Bands()
    band_tiers: BandTiers = BandTiers()
    escalation: Escalation | None = None
    explicit: Explicit = Explicit()
    keyword_mode: KeywordMode | None = None
    classifier: ClassifierConfig | None = None
    stickiness: Stickiness = Stickiness()

    def __post_init__(self) -> None:
        if self.mode == "fixed" and self.fixed_tier is None:
            raise ValueError("mode `fixed` needs `fixed_tier`")
        if self.mode == "keyword" and self.keyword_mode is None:
            raise ValueError("mode `keyword` needs a `keyword_mode` section")


# --- the server around the rules -----------------------------------------------------------


class ClientKey(Strict):
    """A client key stored as its SHA-256 hex digest (``printf %s "$KEY" | sha256sum``)."""

    name: str
    sha256: Annotated[str, Meta(pattern="^[0-9a-f]{64}$")]
    rpm: PositiveInt | None = None


class Auth(Strict):
    keys_env: list[str] = []
    keys: list[ClientKey] = []
    admin_key_env: str = "TIERGATE_ADMIN_KEY"
    client_rpm: PositiveInt | None = None


class InputLimits(Strict):
    max_body_bytes: PositiveInt = 8 * 1024 * 1024
    max_messages: PositiveInt = 2000
    max_message_chars: PositiveInt = 2_000_000
    max_json_depth: Annotated[int, Meta(ge=8, le=512)] = 64


class DecisionLog(Strict):
    enabled: bool = True
    path: str = "tiergate-decisions.db"
    max_rows: PositiveInt | None = 1_000_000
    max_age_days: Annotated[float, Meta(gt=0)] | None = 30.0


Origin = Annotated[str, Meta(pattern=r"^https?://[^/\s*]+$")]


class Cors(Strict):
    """Web pages (by origin) that may call the gateway from a browser. Empty: none but the gateway's own."""

    allow_origins: list[Origin] = []
    max_age: Annotated[int, Meta(ge=0)] = 600


class ServerConfig(Strict):
    auth: Auth = Auth()
    cors: Cors = Cors()
    input_limits: InputLimits = InputLimits()
    decision_log: DecisionLog = DecisionLog()
    metrics: bool = True


# --- the file -------------------------------------------------------------------------------


class RoutesConfig(Strict):
    backends: Annotated[dict[str, BackendConfig], Meta(min_length=1)]
    tiers: Annotated[dict[str, TierConfig], Meta(min_length=1)]
    version: Literal[1] = 1
    fallbacks: dict[str, list[str]] = {}
    routing: RoutingConfig = RoutingConfig()
    timeouts: Timeouts = Timeouts()
    retries: Retries = Retries()
    breakers: Breaker = Breaker()
    limits: Limits = Limits()
    server: ServerConfig = ServerConfig()
