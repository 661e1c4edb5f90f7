"""The routes.yaml tree as strict msgspec Structs.

Every Struct forbids unknown fields and is frozen, so one ``msgspec.convert`` call either yields a
complete, immutable config or a ValidationError whose ``$.path`` the loader turns into file:line.
Cross-field checks that need names from elsewhere in the file (unknown backend, fallback cycles, ...)
live in :mod:`tiergate.config.semantic`; they report the same kind of path.

The tree is assembled here from the pieces each extension point declares next to the code it
configures: backend kinds (``tiergate.backends``), condition operators (``tiergate.rules.operators``)
and scorer transforms (``tiergate.rules.transforms``). Each field's docstring is its description in
the JSON Schema (``make schema``).

    config = msgspec.convert(data, RoutesConfig)
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta
from msgspec.structs import force_setattr

from tiergate.backends.anthropic import AnthropicBackendConfig
from tiergate.backends.ollama import OllamaBackendConfig
from tiergate.backends.openai import OpenAIBackendConfig
from tiergate.backends.registry import BackendConfig
from tiergate.config.adaptive import Budgets, LatencyConfig, QualityConfig, SessionEscalation
from tiergate.config.base import Band, Capability, EnvName, Keywords, PositiveInt, Seconds, Strict, Unit, given
from tiergate.learned.scorer import LearnedConfig
from tiergate.redact import DEFAULT_ADMIN_KEY_ENV
from tiergate.rules.agent_steps import AgentConfig
from tiergate.rules.ask import AskConfig
from tiergate.rules.features import FEATURE_NAME
from tiergate.rules.operators import Condition
from tiergate.rules.transforms import Transform
from tiergate.rules.transforms.boolean import Boolean
from tiergate.rules.transforms.keywords import KeywordDensity
from tiergate.rules.transforms.ramp import Ramp
from tiergate.rules.transforms.threshold import Threshold

#: Names other modules import from here; each is defined where the code it configures lives.
__all__ = [
    "AnthropicBackendConfig",
    "BackendConfig",
    "Boolean",
    "Condition",
    "KeywordDensity",
    "OllamaBackendConfig",
    "OpenAIBackendConfig",
    "Ramp",
    "Threshold",
    "Transform",
]


# --- resilience defaults and overrides ------------------------------------------------------


class Timeouts(Strict):
    """Default time limits for every upstream call, in seconds; a target's `timeouts` overrides single values."""

    connect: Seconds = 5.0
    """Seconds to open a connection to the backend. Default: 5."""
    first_token: Seconds = 60.0
    """Seconds to wait for the first byte of the answer (the model's time to start). Default: 60."""
    idle: Seconds = 60.0
    """Most seconds between two chunks of a streamed answer. Default: 60."""
    total: Seconds = 600.0
    """Most seconds for the whole call, streaming included. Default: 600."""


class TimeoutOverrides(Strict):
    """Per-target time limits in seconds; each value left out (or null) keeps the file-level `timeouts` value."""

    connect: Seconds | None = None
    """Seconds to open a connection. Default: the file-level `timeouts.connect`."""
    first_token: Seconds | None = None
    """Seconds to wait for the first byte. Default: the file-level `timeouts.first_token`."""
    idle: Seconds | None = None
    """Most seconds between streamed chunks. Default: the file-level `timeouts.idle`."""
    total: Seconds | None = None
    """Most seconds for the whole call. Default: the file-level `timeouts.total`."""


class Retries(Strict):
    """Default retry policy for failed upstream calls (connection errors, 429, 5xx); a target's `retries` overrides
    single values."""

    attempts: Annotated[int, Meta(ge=0, le=10)] = 2
    """Retries after the first try of one target (0 to 10) before moving on to the next target. Default: 2."""
    backoff_base: Annotated[float, Meta(ge=0)] = 0.25
    """Seconds before the first retry; doubles with each retry (with jitter). Default: 0.25."""
    backoff_max: Annotated[float, Meta(ge=0)] = 8.0
    """Longest wait between two retries, in seconds. Default: 8."""


class RetryOverrides(Strict):
    """Per-target retry policy; each value left out (or null) keeps the file-level `retries` value."""

    attempts: Annotated[int, Meta(ge=0, le=10)] | None = None
    """Retries after the first try of one target (0 to 10) before moving on to the next target. Default: the file-level
    `retries.attempts`."""
    backoff_base: Annotated[float, Meta(ge=0)] | None = None
    """Seconds before the first retry; doubles with each retry (with jitter). Default: the file-level
    `retries.backoff_base`."""
    backoff_max: Annotated[float, Meta(ge=0)] | None = None
    """Longest wait between two retries, in seconds. Default: the file-level `retries.backoff_max`."""


class Breaker(Strict):
    """Default circuit breaker for every target; a target's `breaker` overrides single values."""

    fail_max: PositiveInt = 5
    """Consecutive failures that open the circuit breaker (the target is then skipped). Default: 5."""
    reset_timeout: Seconds = 30.0
    """Seconds an open breaker waits before letting one trial call through. Default: 30."""


class BreakerOverrides(Strict):
    """Circuit breaker overrides; each value left out (or null) keeps the default."""

    fail_max: PositiveInt | None = None
    """Consecutive failures that open the circuit breaker (the target is then skipped). Default: the file-level
    `breakers` value (for the classifier, which has a breaker of its own: 5 failures)."""
    reset_timeout: Seconds | None = None
    """Seconds an open breaker waits before letting one trial call through. Default: the file-level `breakers` value
    (for the classifier: 60 seconds)."""


class Limits(Strict):
    """Rate and concurrency limits. At file level they apply to each target; a target's `limits` replaces them."""

    rpm: PositiveInt | None = None
    """Most requests per minute sent to a target. Default: no limit."""
    concurrency: PositiveInt | None = None
    """Most requests in flight at once to a target. Default: no limit."""
    on_limit: Literal["fallback", "wait", "reject"] = "fallback"
    """What a request does when a limit is reached: `fallback` to the next target, `wait` up to `max_wait` seconds for
    room, or `reject` with HTTP 429. Default: `fallback`."""
    max_wait: Annotated[float, Meta(ge=0)] = 10.0
    """Most seconds to wait for room when `on_limit` is `wait`. Default: 10."""


# --- tiers ----------------------------------------------------------------------------------


class Capabilities(Strict):
    """What the target's model can do; a request that needs a capability skips targets without it."""

    tools: bool = True
    """The model handles tool (function) calling. Default: true."""
    vision: bool = False
    """The model accepts images. Default: false."""
    documents: bool | None = None
    """The model reads PDF documents (an Anthropic `document` block, an OpenAI chat `file` part, a Responses
    `input_file`): a request carrying one skips targets without it, and is refused with a 400 naming the
    document when no target of its tier and fallbacks has it. An `anthropic` target gets the document as a
    `document` block; an `openai` one as a `file` part with `file_data` (OpenAI's chat API reads PDFs given
    so, not by URL: a document by URL skips it); `ollama` has no way to take one. Default: true on an
    `anthropic` backend, false on others."""
    context_window: PositiveInt = 8192
    """The model's context window in tokens; longer requests skip this target. On an `ollama` backend it is
    sent as `options.num_ctx` with every request, so Ollama runs the model with this window (and sizes the
    model's memory for it). Default: 8192."""
    max_output: PositiveInt | None = None
    """The most tokens the model writes in one answer (Claude Sonnet 4.5: 64000; Opus 4.1: 32000; Claude
    3.5 Haiku: 8192). On an `anthropic` backend, the `max_tokens` sent for a client that gives no output
    limit never passes it (nor the backend's `default_max_tokens`), and a client's own limit above it (the API
    refuses one) is lowered to it, in a Messages client's own body too; routing counts that lowered limit
    against the `context_window`. Other backends do not read it. Default: unset (the backend's
    `default_max_tokens` alone, and a client's own limit sent as given)."""
    thinking: bool = False
    """The model has extended thinking (Claude Sonnet and Opus 4 and later): a request's `reasoning_effort`
    turns it on, with a budget of 1024 (`minimal`, `low`), 4096 (`medium`), 16384 (`high`) or 30720 (`xhigh`,
    `max`, `ultra`) tokens, and 4096 for a level it does not know; `none` leaves it off. On an
    `ollama` backend (a thinking model: Qwen 3, DeepSeek-R1) it is sent as `think`: false for `none` and
    `minimal`, true otherwise. On an `openai` backend it is sent as given, except `none`, which is left out
    (vLLM refuses it). Without it, `reasoning_effort` is not sent. Default: false."""


class Price(Strict):
    """US dollars per million tokens, for cost reporting and for ordering tiers cheapest first in the classifier
    prompt."""

    input: Annotated[float, Meta(ge=0)] = 0.0
    """Dollars per million input (prompt) tokens. Default: 0."""
    output: Annotated[float, Meta(ge=0)] = 0.0
    """Dollars per million output tokens. Default: 0."""
    cache_read: Annotated[float, Meta(ge=0)] | None = None
    """Dollars per million prompt tokens read from the upstream's prompt cache (Anthropic's
    `cache_read_input_tokens`, OpenAI's `cached_tokens`). Default: the `input` price."""
    cache_write: Annotated[float, Meta(ge=0)] | None = None
    """Dollars per million prompt tokens written to the upstream's prompt cache (Anthropic's
    `cache_creation_input_tokens`). Default: the `input` price."""


class TargetConfig(Strict):
    """One model on one backend. A tier tries its targets in order."""

    backend: str
    """Name of a backend declared under `backends`. Required."""
    model: str
    """The model id sent to the backend, e.g. `qwen2.5-coder:7b` or `claude-sonnet-4-5`. Required."""
    aliases: list[str] = []
    """Other names a client may put in `model` to ask for this target explicitly. Default: none."""
    capabilities: Capabilities | None = None
    """What the model can do (tools, vision, documents, context window, thinking). Default: what the target's
    `profile` measured, else tools, no vision, documents only on an `anthropic` backend, 8192 tokens, no
    thinking."""
    profile: str | None = None
    """A profile file written by `tiergate profile` (relative to this file): when `capabilities` is not
    given they come from it (tools, vision, context window), and the target's latency features start from
    its measurements. Default: none."""
    price: Price = Price()
    """Price per million tokens, in US dollars. Default: 0 for input and output."""
    timeouts: TimeoutOverrides | None = None
    """Time limits for this target only. Default: the file-level `timeouts`."""
    retries: RetryOverrides | None = None
    """Retry policy for this target only. Default: the file-level `retries`."""
    breaker: BreakerOverrides | None = None
    """Circuit breaker for this target only. Default: the file-level `breakers`."""
    limits: Limits | None = None
    """Rate and concurrency limits for this target, replacing the file-level `limits`. Default: the file-level
    `limits`."""
    pinned: bool = False
    """Keep this model in the Ollama server's memory: every request to it sends `keep_alive: -1`, and a
    backend's `max_loaded` never unloads it. Only for targets on an `ollama` backend. Default: false."""


class TierConfig(Strict):
    """A named level of model strength (`local`, `sonnet`, `opus`, or any name): an ordered list of targets."""

    targets: Annotated[list[TargetConfig], Meta(min_length=1)]
    """The models that serve this tier, tried in order (skipping targets whose breaker is open or that lack a
    capability the request needs). Required, at least one."""
    description: str | None = None
    """What the tier is for; shown to the phase-2 classifier. Default: none."""


# --- rules ----------------------------------------------------------------------------------


class Action(Strict):
    """What a rule does when its condition holds: force a band or a tier, add to the score, require capabilities. It
    needs at least one of `band`, `tier`, `score` or a non-empty `require`, and not both `band` and `tier`."""

    band: Band | None = None
    """Force this band (the first matching rule that forces a band or tier wins). Default: none."""
    tier: str | None = None
    """Force this tier by name (skips the band and the opus escalation). Default: none."""
    confidence: Unit = 0.9
    """The decision's confidence when this rule forces the band or tier, 0 to 1. Default: 0.9."""
    score: Annotated[float, Meta(ge=-1, le=1)] | None = None
    """Added to the complexity score (-1 to 1); negative values favour LOCAL. Default: none."""
    require: list[Capability] = []
    """Capabilities the chosen target must have (`tools`, `vision`, `documents`). Default: none."""
    sticky: bool = True
    """`false`: the request stays out of its conversation's session (`routing.stickiness`): it neither takes the
    conversation's tier nor raises it. For a client's side request (a title for the chat, a commit message), which
    opens with the conversation's first message but is not a turn of it. Default: true."""

    __schema_extra__ = {
        "not": {"allOf": [given("band"), given("tier")]},
        "anyOf": [
            given("band"),
            given("tier"),
            given("score"),
            {
                "required": ["require"],
                "properties": {"require": {"description": "`require` lists at least one capability", "minItems": 1}},
            },
        ],
    }

    def __post_init__(self) -> None:
        if self.band is not None and self.tier is not None:
            raise ValueError("an action forces a `band` or a `tier`, not both")
        if self.band is None and self.tier is None and self.score is None and not self.require:
            raise ValueError("an action needs one of `band`, `tier`, `score` or `require`")


class Rule(Strict):
    """A named rule: when the condition holds, apply the action. Rules are checked in order; all matching rules add
    their score and requirements, the first one forcing a band or tier decides."""

    name: str
    """Unique name, reported in decisions (`signals`, `reasons`). Required."""
    when: Condition
    """The condition (required)."""
    then: Action
    """The action (required)."""
    description: str | None = None
    """Why the rule exists, for people reading the file. Default: none."""


class Scorer(Strict):
    """A weighted scorer: feature → transform → weight. The complexity score is the weighted average of all scorers
    (plus the rules' `score`), clamped to [0, 1]."""

    name: str
    """Unique name, reported in decisions. Required."""
    feature: Annotated[str, FEATURE_NAME]
    """The request feature to score (see `condition.feature` for the names). Required."""
    transform: Transform
    """How the feature becomes a number in [0, 1]. Required."""
    weight: Annotated[float, Meta(ge=0)] = 1.0
    """Relative weight among the scorers (normalised so all weights sum to 1). Default: 1."""
    description: str | None = None
    """What the scorer measures, for people reading the file. Default: none."""


class Bands(Strict):
    """Score thresholds: score < `local` → LOCAL; score >= `claude` → CLAUDE; between → AMBIGUOUS. `local` must not be
    above `claude`."""

    local: Unit = 0.3
    """Scores below this are LOCAL, 0 to 1. Default: 0.3."""
    claude: Unit = 0.6
    """Scores at or above this are CLAUDE, 0 to 1. Default: 0.6."""

    def __post_init__(self) -> None:
        if self.local > self.claude:
            raise ValueError("bands.local must not be above bands.claude")


class BandTiers(Strict):
    """Which tier each band sends a request to (before the opus escalation)."""

    local: str = "local"
    """Tier for the LOCAL band. Default: `local`."""
    claude: str = "sonnet"
    """Tier for the CLAUDE band. Default: `sonnet`."""
    ambiguous: str = "sonnet"
    """Tier for the AMBIGUOUS band when the classifier is absent, disabled or fails without a guess. When it is
    the CLAUDE band's tier, the escalation applies to AMBIGUOUS as it does to CLAUDE. Default: `sonnet`."""


class Escalation(Strict):
    """When a CLAUDE-band request goes to `tier` (opus) instead of `band_tiers.claude`: if `when` holds, or the score
    is at least `score_at_least`. An AMBIGUOUS request whose fallback is `band_tiers.claude` escalates the same way;
    the classifier, when it answers, still decides it."""

    tier: str = "opus"
    """The stronger tier. Default: `opus`."""
    when: Condition | None = None
    """Escalate when this condition holds. Default: no condition."""
    score_at_least: Unit | None = None
    """Escalate when the score is at least this, 0 to 1. Default: no score escalation."""


class Explicit(Strict):
    """How a client may choose its target itself: by `model` (a tier name, model id or alias) or by a
    `provider` field."""

    honour_model: bool = True
    """Honour a client's `model` when it names a tier, a target's model id or an alias. Default: true."""
    auto_names: list[str] = msgspec.field(default_factory=lambda: ["auto"])
    """`model` values that mean "let tiergate decide". Default: `[auto]`."""
    providers: dict[str, str] = {}
    """Values of the request's `provider` field, each mapped to a tier name. Default: none."""
    models: dict[str, str] = {}
    """Model names clients send, as patterns (`*` matches any characters; nothing else is special), each
    mapped to a tier name to honour it or to one of `auto_names` to route it; the first match wins. Checked
    after exact tier names, model ids and aliases. E.g. `{"claude-opus-*": opus, "claude-*": auto}`.
    Names that match nothing are routed as auto too, with a note in the decision. Default: none."""


class KeywordRoute(Strict):
    """One route of the legacy keyword router."""

    tier: str
    """Tier chosen when a keyword appears. Required."""
    keywords: str | Keywords
    """The name of a list under `routing.keywords`, or the keywords themselves. Required."""


class KeywordMode(Strict):
    """The legacy router (`mode: keyword`): the first route with a keyword in the last user message picks the tier."""

    routes: list[KeywordRoute] = []
    """Routes, checked in order. Default: none."""
    default_tier: str = "local"
    """Tier when no route matches. Default: `local`."""


class ClassifierConfig(Strict):
    """Phase 2: a model asked to pick the tier for AMBIGUOUS requests, cached, with a timeout; on any failure the
    phase-1 guess stands."""

    backend: str
    """Name of the backend serving the classifier model. Required."""
    model: str
    """The classifier's model id on that backend. Required."""
    enabled: bool = True
    """Set false to keep the settings but skip phase 2. Default: true."""
    prompt: str | None = None
    """System prompt replacing the built-in one; `{tiers}` becomes the tier list. Default: the built-in prompt."""
    timeout: Seconds = 8.0
    """Seconds for the classifier's whole answer; then its stream is closed (which stops the server's work)
    and phase 1's guess stands. A 1.5B model on a CPU answers in about 5 s. Default: 8."""
    cache_size: PositiveInt = 256
    """Answers kept in the LRU cache. Default: 256."""
    cache_ttl: Seconds = 3600.0
    """Seconds a cached answer stays valid. Default: 3600."""
    max_chars: PositiveInt = 4000
    """Characters of the conversation shown to the classifier. Default: 4000."""
    max_tokens: Annotated[int, Meta(ge=16, le=1024)] = 96
    """Most tokens of the answer (a sentence of reason, a tier, a confidence). Default: 96."""
    min_confidence: Unit = 0.7
    """The confidence the classifier must report to move a request below the learned scorer's tier (one tier
    at most). Default: 0.7."""
    response_format: Literal["auto", "json_schema", "json_object"] = "auto"
    """How the answer's JSON schema is asked for: `json_schema` (OpenAI, vLLM, llama-server, Ollama),
    `json_object` with a `schema` (llama-cpp-python), or `auto`: the first, then the second for good once the
    server refuses it. Default: auto."""
    breaker: BreakerOverrides | None = None
    """The classifier's circuit breaker (failures, timeouts and unusable answers count). Default: 5 failures,
    60 seconds."""
    limits: Limits | None = None
    """Rate and concurrency limits of the classifier's calls. Default: none."""
    price: Price | None = None
    """What the classifier's calls cost, charged to the request that made each call (its spend, budgets, the
    decision log, under the tier name `classifier`). Default: the price of a tier target with the same
    backend and model, else nothing."""


class Stickiness(Strict):
    """Conversation stickiness: within a session (the first user message plus the client key) a conversation never
    moves down a tier, so an agent loop does not bounce between opus and local."""

    enabled: bool = True
    """Keep conversations from moving down a tier. Default: true."""
    ttl: Seconds = 3600.0
    """Seconds a session is remembered after its last request. Default: 3600."""
    max_sessions: PositiveInt = 10000
    """Most sessions remembered (least recently used are forgotten). Default: 10000."""


class RoutingConfig(Strict):
    """How a request's tier is chosen."""

    mode: Literal["local_first", "keyword", "fixed"] = "local_first"
    """`local_first`: rules and scorers pick a band (the default); `keyword`: the legacy keyword router
    (`keyword_mode`); `fixed`: every request goes to `fixed_tier`. Default: `local_first`."""
    fixed_tier: str | None = None
    """The tier for `mode: fixed` (required there). Default: none."""
    scan_chars: Annotated[int, Meta(ge=1000)] = 16000
    """Text features (keywords, regexes) of a long message read only its first and last `scan_chars / 2` characters;
    lengths and counts always see the whole request. At least 1000. Default: 16000."""
    keywords: dict[str, Keywords] = {}
    """Named keyword lists, used by `contains_any`, `keywords` transforms and keyword routes. Default: none."""
    rules: list[Rule] = []
    """Rules, checked in order. Default: none."""
    scorers: list[Scorer] = []
    """Weighted scorers whose average is the complexity score. Default: none (score 0)."""
    bands: Bands = Bands()
    """Score thresholds of the bands. Default: local 0.3, claude 0.6."""
    band_tiers: BandTiers = BandTiers()
    """The tier of each band. Default: LOCAL → `local`, CLAUDE and AMBIGUOUS → `sonnet`."""
    escalation: Escalation | None = None
    """When CLAUDE goes to opus instead of sonnet. Default: no escalation."""
    explicit: Explicit = Explicit()
    """How clients name a target themselves. Default: honour `model`, `auto` means decide, no providers."""
    keyword_mode: KeywordMode | None = None
    """The legacy keyword router's routes (required for `mode: keyword`). Default: none."""
    classifier: ClassifierConfig | None = None
    """The phase-2 classifier for AMBIGUOUS requests. Default: none (AMBIGUOUS goes to `band_tiers.ambiguous`)."""
    stickiness: Stickiness = Stickiness()
    """Conversation stickiness. Default: on."""
    learned: LearnedConfig | None = None
    """The learned scorer (a trained head over sentence embeddings of the ask), whose probabilities are the
    `learned.*` features. Default: none."""
    ask: AskConfig = AskConfig()
    """What counts as the user's actual ask (`ask_text`): client-injected blocks left out. Default: markers for
    Claude Code, Codex, Cursor, Cline, Continue and aider."""
    agent: AgentConfig = AgentConfig()
    """How tool results read (failure, clean test run) for the `agent.*` features. Default: common markers of
    shells, test runners and edit tools."""
    quality_preference: Unit = 0.5
    """One dial between cost (0) and quality (1): it moves every band threshold, the learned cut-offs and
    `escalation.score_at_least` together (`quality.span` says how far). At 0.5 nothing moves. A client may
    ask for another value with the `x-tiergate-quality` header, within `quality.client_min` and
    `client_max`. Default: 0.5."""
    quality: QualityConfig = QualityConfig()
    """How far the dial moves the thresholds, and the limits of the `x-tiergate-quality` header. Default:
    2 logits at either end; clients may ask for any value from 0 to 1."""
    latency: LatencyConfig = LatencyConfig()
    """How each target's observed latency is summarised (the `target.<tier>.*` features). Default: moving
    average with alpha 0.3, percentiles over the last 256 requests."""
    session_escalation: SessionEscalation | None = None
    """Move a session up a tier for a while after repeated failures of its tier. Default: off."""

    __schema_extra__ = {
        "allOf": [
            {
                "if": {
                    "required": ["mode"],
                    "properties": {"mode": {"description": "`mode` is fixed", "const": "fixed"}},
                },
                "then": given("fixed_tier"),
            },
            {
                "if": {
                    "required": ["mode"],
                    "properties": {"mode": {"description": "`mode` is keyword", "const": "keyword"}},
                },
                "then": given("keyword_mode"),
            },
        ]
    }

    def __post_init__(self) -> None:
        if self.mode == "fixed" and self.fixed_tier is None:
            raise ValueError("mode `fixed` needs `fixed_tier`")
        if self.mode == "keyword" and self.keyword_mode is None:
            raise ValueError("mode `keyword` needs a `keyword_mode` section")


# --- the server around the rules -----------------------------------------------------------


class ClientKey(Strict):
    """A client key stored as its SHA-256 hex digest, never in clear."""

    name: str
    """A label for the key, used in logs, metrics and the decision log."""
    sha256: Annotated[str, Meta(pattern="^[0-9a-f]{64}$")]
    """SHA-256 hex digest of the key (`printf %s "$KEY" | sha256sum`)."""
    rpm: PositiveInt | None = None
    """Requests per minute for this key. Default: `server.auth.client_rpm`."""


class Auth(Strict):
    """Client keys. With none configured the gateway serves loopback clients only."""

    keys_env: list[EnvName] = []
    """Names of environment variables that each hold one client key (or several, comma-separated). Default: none."""
    keys: list[ClientKey] = []
    """Client keys stored hashed in this file. Default: none."""
    admin_key_env: EnvName = DEFAULT_ADMIN_KEY_ENV
    """Environment variable holding the admin key that guards `/admin/*`. Default: `TIERGATE_ADMIN_KEY`."""
    client_rpm: PositiveInt | None = None
    """Requests per minute allowed to each client key. Default: no limit."""


class InputLimits(Strict):
    """Bounds on what a client may send."""

    max_body_bytes: PositiveInt = 8 * 1024 * 1024
    """Largest request body in bytes; larger gets 413. Default: 8388608 (8 MiB)."""
    max_messages: PositiveInt = 2000
    """Most messages in one request; more gets 400. Default: 2000."""
    max_message_chars: PositiveInt = 2_000_000
    """Most characters in one message; more gets 400. Default: 2000000."""
    max_json_depth: Annotated[int, Meta(ge=8, le=512)] = 64
    """Deepest JSON nesting accepted; deeper gets 400. Default: 64."""


class DecisionLog(Strict):
    """The embedded SQLite decision log (WAL mode, written off the event loop)."""

    enabled: bool = True
    """Record every request's decision, attempts, usage, latency and cost. Default: true."""
    path: str = "tiergate-decisions.db"
    """SQLite file, relative to the working directory. Default: `tiergate-decisions.db`."""
    url: str | None = None
    """A team's shared log: `postgresql://user@host:5432/db` writes the same rows to PostgreSQL instead of the
    SQLite `path` (every replica and worker into one database). Empty or unset: SQLite. Default: unset."""
    max_rows: PositiveInt | None = 1_000_000
    """Rows kept; the oldest are deleted beyond this, but not those of the last 32 days, since budgets' monthly
    spend is rebuilt from them at start-up (a busy month keeps more rows until they age). Default: 1000000."""
    max_age_days: Annotated[float, Meta(gt=0)] | None = 32.0
    """Days a row is kept: at least a month, since budgets' monthly spend is rebuilt from the log at start-up.
    Default: 32."""
    store_ask: bool = False
    """Keep each request's ask (the user's own words, as routing read them) in the log, so `tiergate train
    --log` can learn from rated traffic. Off by default: it stores what users wrote."""
    ask_chars: PositiveInt = 4000
    """With `store_ask`: the most characters of an ask kept; a longer one keeps its first and last halves
    (the encoders read a long ask's head and tail; words between two long pastes are lost). Default: 4000."""


Origin = Annotated[str, Meta(pattern=r"^https?://[^/\s*]+$")]
_DEFAULT_PORTS = {"http": 80, "https": 443}


def web_origin(origin: str) -> str:
    """``origin`` as a browser writes it in an ``Origin`` header: the scheme and host in lower case, the port
    without leading zeros and left out when it is the scheme's default.

    The origin guard compares origins exactly, and no browser sends ``http://LOCALHOST:3000`` or
    ``https://a.example:443``: written so in ``allow_origins``, an entry matched no page.

        web_origin("https://App.Example:443")   # "https://app.example"
    """
    scheme, _, host = origin.partition("://")
    scheme, host = scheme.lower(), host.lower()
    name, colon, port = host.rpartition(":")
    if colon and port.isdigit() and (name.endswith("]") or "[" not in name):  # not a colon inside [v6]
        host = name if int(port) == _DEFAULT_PORTS.get(scheme) else f"{name}:{int(port)}"
    return f"{scheme}://{host}"


class Cors(Strict):
    """Cross-origin access from web pages. The gateway's own pages (same origin) never need an entry."""

    allow_origins: list[Origin] = []
    """Exact origins (`scheme://host[:port]`, no path, no wildcard) whose pages may call the gateway; preflights are
    answered for these only. Each is read as browsers send it: `http://LOCALHOST:3000` is
    `http://localhost:3000`, `https://a.example:443` is `https://a.example`. Default: []."""
    max_age: Annotated[int, Meta(ge=0)] = 600
    """Seconds a browser may cache a preflight answer. Default: 600."""

    def __post_init__(self) -> None:
        force_setattr(self, "allow_origins", list(dict.fromkeys(map(web_origin, self.allow_origins))))


class ServerConfig(Strict):
    """The gateway around the rules: client keys, browser origins, input limits, the decision log, metrics."""

    auth: Auth = Auth()
    """Client and admin keys. Default: no client keys (loopback only)."""
    cors: Cors = Cors()
    """Browser origins allowed to call the gateway. Default: none; a request carrying any other `Origin` is refused
    (403), so a web page cannot spend money or reload rules."""
    input_limits: InputLimits = InputLimits()
    """Request size limits. Default: the limits' own defaults."""
    decision_log: DecisionLog = DecisionLog()
    """Where and how long decisions are kept. Default: on, `tiergate-decisions.db`."""
    metrics: bool = True
    """Serve Prometheus metrics on `/metrics`. Default: true."""


class Shadow(Strict):
    """Candidate rules decided beside the live ones, off the request path, for the console to compare."""

    file: Annotated[str, Meta(min_length=1)]
    """The candidate rule file (a whole routes.yaml), relative to this file's folder. Promote it by renaming it
    over routes.yaml; the reload does the rest. Required."""
    sample: Annotated[float, Meta(gt=0, le=1)] = 1.0
    """The share of live requests the candidate also decides (each after its response is sent, with no model
    call). Default: 1 (every request)."""
    max_pending: PositiveInt = 1000
    """Most requests waiting for their candidate decision; beyond this new ones are not shadowed. Default: 1000."""


class StateConfig(Strict):
    """Where the state that replicas and workers share lives: breakers, rate limits, sticky sessions, the classifier
    and embedding caches, budgets' spend. Read at start-up. Without `redis_url` each process keeps its own, in
    memory."""

    redis_url: str | None = None
    """`redis://host:6379/0` (or `rediss://`, `unix://`): share state through Redis. Empty or unset: in process.
    While Redis is unreachable each process serves on its own state and goes back to Redis when it returns.
    Default: unset."""
    prefix: Annotated[str, Meta(min_length=1, max_length=64)] = "tiergate"
    """Prefix of every Redis key, so gateways of different teams can share one Redis. Default: `tiergate`."""
    timeout: Annotated[float, Meta(gt=0, le=5)] = 0.25
    """Seconds one Redis call may take before the request goes on with in-process state. Default: 0.25."""
    retry_interval: Seconds = 1.0
    """Seconds between attempts to reach Redis again while it is down. Default: 1."""
    limits_ahead: Annotated[int, Meta(ge=0, le=1000)] = 8
    """Rate and concurrency takes of one target or client key that a process may let through before Redis has
    answered them, while Redis's last answer (under a second old) left at least half of each of the key's limits,
    and 16 or more, free. Such a request skips its round trip to Redis. The price: if the other processes fill a
    limit from half free within one answer, up to this many requests of this process go over it (counted in
    /metrics as `tiergate_state_limit_overruns`). 0, or a `rediss://` or `unix://` URL: every take waits for Redis.
    Default: 8."""


# --- the file -------------------------------------------------------------------------------


class RoutesConfig(Strict):
    """The rule file of tiergate, a rules-engine LLM gateway: backends, tiers of targets, routing rules and scorers,
    fallbacks and resilience defaults. `${VAR}` and `${VAR:-default}` in string values expand from the environment.
    Cross-references (backend and tier names, feature names, keyword lists, regexes, fallback cycles) are checked by
    `tiergate validate`, not by this schema."""

    backends: Annotated[dict[str, BackendConfig], Meta(min_length=1)]
    """Named connections to model servers; targets refer to them by name. Required, at least one."""
    tiers: Annotated[dict[str, TierConfig], Meta(min_length=1)]
    """Named tiers (`local`, `sonnet`, `opus`, or others), each an ordered list of targets. Required, at least one."""
    version: Literal[1] = 1
    """Version of the file format. Default: 1."""
    fallbacks: dict[str, list[str]] = {}
    """Tier → tiers to try next, in order, when every target of the tier fails or is skipped. No cycles.
    Default: none."""
    routing: RoutingConfig = RoutingConfig()
    """How a request's tier is chosen. Default: `local_first` with no rules or scorers."""
    timeouts: Timeouts = Timeouts()
    """Default time limits of upstream calls. Default: connect 5, first_token 60, idle 60, total 600 seconds."""
    retries: Retries = Retries()
    """Default retry policy. Default: 2 attempts, backoff 0.25 to 8 seconds."""
    breakers: Breaker = Breaker()
    """Default circuit breaker of each target. Default: open after 5 failures, retry after 30 seconds."""
    limits: Limits = Limits()
    """Default rate and concurrency limits of each target. Default: no limits."""
    server: ServerConfig = ServerConfig()
    """Server settings: client keys, input limits, decision log, metrics."""
    budgets: Budgets = Budgets()
    """Daily and monthly spend caps per tier and per client key. Default: none."""
    shadow: str | Shadow | None = None
    """A candidate rule file that decides every live request too (`shadow: routes.next.yaml`, or an object with
    `file` and `sample`), without a model call and after the response is sent; the console shows where the two
    disagree. Default: none."""

    @property
    def shadow_settings(self) -> Shadow | None:
        """``shadow`` with its short form (a file name) spelled out."""
        return Shadow(file=self.shadow) if isinstance(self.shadow, str) else self.shadow

    state: StateConfig = StateConfig()
    """Shared state for several workers or replicas (Redis). Default: in process."""
