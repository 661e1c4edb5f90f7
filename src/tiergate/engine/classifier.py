"""Phase 2 of routing: a small local model's second opinion, asked only for AMBIGUOUS requests.

The classifier must never be the reason a request fails or waits long, so every call is:

- **cached** — a ``cachetools.TTLCache`` keyed by a hash of the last two messages (role + text) and the
  rules version. A reload that changes the file changes the version, so earlier answers are no longer
  found; the cache *object* (with the breaker) is replaced only when the classifier's own settings change,
  so an unrelated reload keeps a dead model's breaker open instead of paying for it again;
- **shared** — concurrent identical requests join one in-flight call (single flight). Followers get the
  leader's answer as outcome ``ok`` (not ``cache_hit``: they waited for the model) with their own latency;
- **bounded** — ``asyncio.timeout(classifier.timeout)`` around the call, separate from generation timeouts;
- **guarded** — its own pybreaker circuit breaker. Timeouts, errors and invalid answers all count as
  failures: the request is ours, not the client's, so a model that cannot answer is as useless as one
  that is down. Once open, ``classify`` answers ``breaker_open`` without a call until the reset timeout;
- **validated** — the answer must decode (msgspec) as ``{"tier": <configured tier>, "reason": "..."}``.

Failures come back as an outcome (``timeout``, ``error``, ``invalid``, ``breaker_open``) and the router
falls back to phase 1's guess. The structured answer is requested through ``response_format`` (a JSON
schema), which the Ollama backend turns into ``format=<schema>`` and the OpenAI-compatible backend passes on.

    classifier = ClassifierPool().build(graph, backends)          # None when routing.classifier is absent
    outcome = await classifier.classify(features, phase1, graph)  # ClassifierOutcome, never raises
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import msgspec
import pybreaker
from cachetools import TTLCache

from tiergate.backends.base import Backend, Call
from tiergate.config.model import ClassifierConfig, RoutesConfig
from tiergate.engine.decision import ClassifierOutcome
from tiergate.engine.graph import EvaluationGraph, Phase1
from tiergate.engine.router import Phase2
from tiergate.errors import UpstreamError
from tiergate.rules.features import Features
from tiergate.wire import ChatRequest, Message

log = logging.getLogger("tiergate.classifier")

Clock = Callable[[], float]
"""Monotonic seconds: drives the cache TTL and the breaker's reset timeout."""
PerfClock = Callable[[], int]
"""Nanoseconds: measures ``latency_us``."""
Failure = Literal["timeout", "error", "invalid"]

DEFAULT_FAIL_MAX = 3
DEFAULT_RESET_TIMEOUT = 30.0
ANSWER_TOKENS = 256
"""Room for ``{"tier", "reason"}`` with a sentence of reason; a longer answer is cut and fails to decode."""
ERROR_EXCERPT = 200

DEFAULT_PROMPT = """\
You are the router of a coding-assistant gateway. Read the end of a conversation and choose the
cheapest model tier that will answer its last request well.

Tiers, cheapest first:
{tiers}

Choose the cheapest sufficient tier. Explanations, small edits, renames, formatting, docstrings and
questions with one clear answer suit the cheapest tier. Choose a stronger tier only when the request
needs multi-step reasoning, a design that spans many parts, or subtle correctness (concurrency,
security, proofs). Do not answer the request itself."""

ANSWER_FORMAT = (
    'Reply with JSON only: {{"tier": "<tier>", "reason": "<one short sentence>"}}, where <tier> is one of {names}.'
)


class RouteAnswer(msgspec.Struct, frozen=True):
    """What the classifier model must reply with; this is also what the cache stores."""

    tier: str
    reason: str = ""


@dataclass(frozen=True)
class Verdict:
    """The result of one upstream call, shared by the leader and every follower of a single flight."""

    answer: RouteAnswer | None = None
    failure: Failure | None = None
    error: str | None = None


# --- the breaker ----------------------------------------------------------------------------


class MonotonicStorage(pybreaker.CircuitMemoryStorage):
    """pybreaker compares ``opened_at`` with ``datetime.now(UTC)``; this storage reports ``opened_at`` as
    "now minus the time elapsed on the injected monotonic clock", so pybreaker's own reset check follows
    that clock and tests advance it instead of sleeping. (The per-target breakers in
    :mod:`tiergate.resilience.breakers` stamp a wall clock instead, so replicas can share them; the
    classifier's breaker is per process.)

        breaker = pybreaker.CircuitBreaker(state_storage=MonotonicStorage(time.monotonic))
    """

    def __init__(self, clock: Clock) -> None:
        super().__init__(pybreaker.STATE_CLOSED)
        self._clock = clock
        self._opened: float | None = None

    @property
    def opened_at(self) -> datetime | None:
        if self._opened is None:
            return None
        return datetime.now(UTC) - timedelta(seconds=self.open_for())

    @opened_at.setter
    def opened_at(self, value: datetime) -> None:
        self._opened = self._clock()

    def open_for(self) -> float:
        """Seconds on the injected clock since the circuit last opened."""
        return 0.0 if self._opened is None else self._clock() - self._opened


class _Failed(Exception):
    """Raised inside ``breaker.call`` to record a failure that happened in async code."""


def _succeed() -> None:
    return None


def _fail() -> None:
    raise _Failed


class ClassifierBreaker:
    """pybreaker is synchronous, so the async call happens outside it: ``allows()`` asks before the call,
    ``record()`` replays the result through ``breaker.call`` so pybreaker's own state machine (closed →
    open → half-open → closed) does the counting.

        if breaker.allows():
            breaker.record(ok=await ask())   # ok=None: the call was abandoned, nothing learned
    """

    def __init__(self, name: str, fail_max: int, reset_timeout: float, clock: Clock) -> None:
        self._storage = MonotonicStorage(clock)
        self._breaker = pybreaker.CircuitBreaker(
            fail_max=fail_max, reset_timeout=reset_timeout, state_storage=self._storage, name=name
        )
        self._trial = False

    @property
    def state(self) -> str:
        return self._breaker.current_state

    def allows(self) -> bool:
        """Open and inside the reset timeout: no call. After it: one trial call, and none beside it."""
        if self._breaker.current_state != pybreaker.STATE_OPEN:
            return True
        if self._trial or self._storage.open_for() < self._breaker.reset_timeout:
            return False
        self._trial = True
        return True

    def retry_in(self) -> float:
        return max(0.0, self._breaker.reset_timeout - self._storage.open_for())

    def record(self, ok: bool | None) -> None:
        """A call that started before the circuit opened is not counted again (pybreaker refuses it)."""
        self._trial = False
        if ok is None:
            return
        before = self.state
        with contextlib.suppress(pybreaker.CircuitBreakerError, _Failed):
            self._breaker.call(_succeed if ok else _fail)
        if self.state != before:
            level = logging.WARNING if self.state == pybreaker.STATE_OPEN else logging.INFO
            log.log(level, "classifier breaker '%s': %s -> %s", self._breaker.name, before, self.state)


# --- the prompt -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Prompt:
    """Everything about the question that is fixed for one graph: compiled once per load."""

    system: str
    tiers: tuple[str, ...]
    response_format: dict[str, Any]
    max_chars: int

    @classmethod
    def compile(cls, cfg: ClassifierConfig, config: RoutesConfig) -> Prompt:
        tiers = cheapest_first(config)
        return cls(system_prompt(cfg, config, tiers), tiers, response_format(tiers), cfg.max_chars)

    def request(self, messages: Sequence[Message]) -> ChatRequest:
        """Temperature 0: the same conversation should get the same tier (and the cache assumes it)."""
        return self.request_for(transcript(messages, self.max_chars))

    def request_for(self, seen: str) -> ChatRequest:
        """The classifier call for a transcript already cut to ``max_chars``."""
        conversation = Message(role="user", content=seen)
        return ChatRequest(
            messages=[Message(role="system", content=self.system), conversation],
            temperature=0.0,
            max_tokens=ANSWER_TOKENS,
            response_format=self.response_format,
        )


def cheapest_first(config: RoutesConfig) -> tuple[str, ...]:
    """Tier names ordered by their first target's price (file order among equals), for the prompt."""

    def price(name: str) -> float:
        first = config.tiers[name].targets[0].price
        return first.input + first.output

    return tuple(sorted(config.tiers, key=price))


def system_prompt(cfg: ClassifierConfig, config: RoutesConfig, tiers: Sequence[str]) -> str:
    """``classifier.prompt`` replaces the built-in text; ``{tiers}`` in it becomes the tier list. The
    answer-format line is always appended, because validation depends on it."""
    listing = "\n".join(f"- {name}: {config.tiers[name].description or 'no description'}" for name in tiers)
    body = (cfg.prompt or DEFAULT_PROMPT).replace("{tiers}", listing)
    names = ", ".join(f'"{name}"' for name in tiers)
    return f"{body.rstrip()}\n\n{ANSWER_FORMAT.format(names=names)}"


def response_format(tiers: Sequence[str]) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {"tier": {"type": "string", "enum": list(tiers)}, "reason": {"type": "string"}},
        "required": ["tier", "reason"],
        "additionalProperties": False,
    }
    return {"type": "json_schema", "json_schema": {"name": "route", "strict": True, "schema": schema}}


def transcript(messages: Sequence[Message], max_chars: int) -> str:
    """The last two messages as ``[role]`` blocks, each cut to its share of ``max_chars``."""
    last = list(messages[-2:])
    texts = [m.text() for m in last]
    budgets = shares([len(t) for t in texts], max_chars)
    blocks = [f"[{m.role}]\n{clip(t, b)}" for m, t, b in zip(last, texts, budgets, strict=True)]
    return "Route this conversation's last request.\n\n" + "\n\n".join(blocks)


def shares(lengths: Sequence[int], total: int) -> list[int]:
    """Split ``total`` characters evenly, giving what a short text does not use to the others."""
    budgets = [0] * len(lengths)
    left, pending = total, sorted(range(len(lengths)), key=lambda i: lengths[i])
    while pending:
        i = pending.pop(0)
        budgets[i] = min(lengths[i], left // (len(pending) + 1))
        left -= budgets[i]
    return budgets


def clip(text: str, limit: int) -> str:
    """Head and tail: the question is often at one end of a long paste."""
    if len(text) <= limit:
        return text
    head = limit // 2
    tail = limit - head
    return f"{text[:head]}\n…[{len(text) - limit} characters left out]…\n{text[len(text) - tail :]}"


def cache_key(messages: Sequence[Message], rules_version: str, max_chars: int = 4000) -> bytes:
    """A hash of what the classifier is shown (the last two messages, cut to ``max_chars``).

    Hashing the cut transcript rather than whole messages keeps a hit cheap on long conversations,
    and two conversations that would be shown identically share one answer.
    """
    return transcript_key(transcript(messages, max_chars), rules_version)


def transcript_key(seen: str, rules_version: str) -> bytes:
    """Length-prefixed by msgspec's JSON, so no two inputs hash the same material."""
    return hashlib.sha256(msgspec.json.encode([rules_version, seen])).digest()


def decode_answer(content: str | None, tiers: Sequence[str]) -> RouteAnswer | str:
    """The answer, or why it is invalid. A tier that is not configured is invalid."""
    if not content or not content.strip():
        return "empty answer"
    try:
        answer = msgspec.json.decode(unfenced(content), type=RouteAnswer)
    except msgspec.DecodeError as exc:
        return f'answer is not {{"tier", "reason"}} JSON ({exc}): {excerpt(content)}'
    if answer.tier not in tiers:
        return f"answer names tier '{excerpt(answer.tier)}', which is not one of {', '.join(tiers)}"
    return answer


def unfenced(content: str) -> str:
    """Some models wrap JSON in a Markdown fence even when a schema is set."""
    text = content.strip()
    if text.startswith("```") and text.endswith("```"):
        text = text[3:-3].strip()
        if text.startswith("json"):
            text = text[4:]
    return text


def excerpt(text: str) -> str:
    return text if len(text) <= ERROR_EXCERPT else text[:ERROR_EXCERPT] + "…"


# --- the classifier -------------------------------------------------------------------------


@dataclass
class Shared:
    """What one set of classifier settings keeps across reloads: answers, in-flight calls, the breaker."""

    settings: str
    cache: TTLCache[bytes, RouteAnswer]
    inflight: dict[bytes, asyncio.Task[Verdict]]
    breaker: ClassifierBreaker


@dataclass
class LLMClassifier:
    """Phase 2 for one loaded graph. Build it with :class:`ClassifierPool`, which owns ``shared``.

    ``classify`` reads only the conversation (not phase 1's signals), which is what makes an answer
    reusable for the same last two messages under the same rules.

        outcome = await classifier.classify(features, phase1, graph)
    """

    cfg: ClassifierConfig
    backend: Backend
    prompt: Prompt
    rules_version: str
    call: Call
    shared: Shared
    perf: PerfClock = time.perf_counter_ns
    redact: Callable[[str], str] = str

    async def classify(self, f: Features, phase1: Phase1, graph: EvaluationGraph) -> ClassifierOutcome:
        start = self.perf()
        seen = transcript(f.messages, self.prompt.max_chars)
        key = transcript_key(seen, self.rules_version)
        cached = self.shared.cache.get(key)
        if cached is not None:
            return self._answered("cache_hit", cached, start)
        flight = self.shared.inflight.get(key)
        if flight is None:
            if not self.shared.breaker.allows():
                return self._refused(start)
            flight = self._launch(key, seen)
        verdict = await asyncio.shield(flight)
        if verdict.answer is not None:
            return self._answered("ok", verdict.answer, start)
        assert verdict.failure is not None
        return ClassifierOutcome(self.cfg.model, verdict.failure, latency_us=self._since(start), error=verdict.error)

    def _launch(self, key: bytes, seen: str) -> asyncio.Task[Verdict]:
        """The call runs as its own task so a leader's cancellation (client gone) does not fail followers."""
        flight = asyncio.get_running_loop().create_task(self._fly(key, seen))
        inflight = self.shared.inflight
        inflight[key] = flight
        flight.add_done_callback(lambda _: inflight.pop(key, None))
        return flight

    async def _fly(self, key: bytes, seen: str) -> Verdict:
        """Records the outcome even when cancelled (shutdown), so a trial call cannot hold the breaker open."""
        verdict: Verdict | None = None
        try:
            verdict = await self._ask(self.prompt.request_for(seen))
        finally:
            self.shared.breaker.record(ok=None if verdict is None else verdict.answer is not None)
        if verdict.answer is not None:
            self.shared.cache[key] = verdict.answer
        return verdict

    async def _ask(self, request: ChatRequest) -> Verdict:
        """One bounded upstream call; every exception becomes a failed Verdict here."""
        if (missing := self.backend.missing()) is not None:
            return Verdict(failure="error", error=f"backend '{self.backend.name}' cannot be called: {missing}")
        try:
            async with asyncio.timeout(self.cfg.timeout):
                completion = await self.backend.complete(request, self.call)
        except TimeoutError:
            return Verdict(failure="timeout", error=self._late())
        except UpstreamError as exc:
            failure: Failure = "timeout" if exc.kind == "timeout" else "error"
            return Verdict(failure=failure, error=self.redact(exc.message))
        except Exception as exc:  # the classifier must never fail the request
            detail = f"backend '{self.backend.name}' at {self.backend.url}: {type(exc).__name__}: {exc}"
            return Verdict(failure="error", error=self.redact(detail))
        decoded = decode_answer(completion.content, self.prompt.tiers)
        if isinstance(decoded, str):
            error = f"model '{self.cfg.model}' on '{self.backend.name}': {decoded}"
            return Verdict(failure="invalid", error=self.redact(error))
        return Verdict(answer=decoded)

    def _answered(self, outcome: Literal["ok", "cache_hit"], answer: RouteAnswer, start: int) -> ClassifierOutcome:
        return ClassifierOutcome(self.cfg.model, outcome, answer.tier, answer.reason, self._since(start))

    def _refused(self, start: int) -> ClassifierOutcome:
        error = (
            f"classifier breaker is open after repeated failures of backend '{self.backend.name}' at "
            f"{self.backend.url}; next try in {self.shared.breaker.retry_in():.0f}s"
        )
        return ClassifierOutcome(self.cfg.model, "breaker_open", latency_us=self._since(start), error=error)

    def _late(self) -> str:
        return (
            f"backend '{self.backend.name}' at {self.backend.url}: model '{self.cfg.model}' gave no answer "
            f"within {self.cfg.timeout:g}s (routing.classifier.timeout)"
        )

    def _since(self, start: int) -> int:
        return (self.perf() - start) // 1000


# --- across reloads -------------------------------------------------------------------------


class ClassifierPool:
    """Lives as long as the app and builds one :class:`LLMClassifier` per load. It keeps the cache,
    the in-flight calls and the breaker while the classifier's settings stay the same, and starts
    them afresh when a reload changes them.

        pool = ClassifierPool()
        Extensions(classifier=pool.build)
    """

    def __init__(self, *, clock: Clock = time.monotonic, perf: PerfClock = time.perf_counter_ns) -> None:
        self._clock = clock
        self._perf = perf
        self._shared: Shared | None = None

    def build(
        self, graph: EvaluationGraph, backends: Mapping[str, Backend], redact: Callable[[str], str] = str
    ) -> LLMClassifier | None:
        config = graph.config
        cfg = config.routing.classifier
        if cfg is None:
            return None
        backend = backends.get(cfg.backend)
        if backend is None:  # the config checks make this unreachable; refuse rather than guess
            log.error("routing.classifier.backend '%s' is not a configured backend; classifier disabled", cfg.backend)
            return None
        prompt = Prompt.compile(cfg, config)
        connect = min(cfg.timeout, config.timeouts.connect)
        call = Call(model=cfg.model, connect_timeout=connect, total_timeout=cfg.timeout)
        shared = self._shared_for(settings_key(cfg, config, prompt), cfg)
        return LLMClassifier(cfg, backend, prompt, graph.version, call, shared, self._perf, redact)

    def _shared_for(self, settings: str, cfg: ClassifierConfig) -> Shared:
        if self._shared is None or self._shared.settings != settings:
            breaker = ClassifierBreaker(f"classifier:{cfg.backend}", *breaker_limits(cfg), self._clock)
            cache: TTLCache[bytes, RouteAnswer] = TTLCache(cfg.cache_size, cfg.cache_ttl, timer=self._clock)
            self._shared = Shared(settings, cache, {}, breaker)
        return self._shared


def settings_key(cfg: ClassifierConfig, config: RoutesConfig, prompt: Prompt) -> str:
    """Everything that changes what the classifier would answer, or whom it asks."""
    material = msgspec.json.encode([cfg, config.backends[cfg.backend], prompt.system, sorted(prompt.tiers)])
    return hashlib.sha256(material).hexdigest()


def breaker_limits(cfg: ClassifierConfig) -> tuple[int, float]:
    overrides = cfg.breaker
    fail_max = overrides.fail_max if overrides and overrides.fail_max is not None else DEFAULT_FAIL_MAX
    reset = overrides.reset_timeout if overrides and overrides.reset_timeout is not None else DEFAULT_RESET_TIMEOUT
    return fail_max, reset


def classifier_factory(
    *, clock: Clock = time.monotonic, perf: PerfClock = time.perf_counter_ns
) -> Callable[[EvaluationGraph, Mapping[str, Backend], Callable[[str], str]], Phase2 | None]:
    """The hook for ``Extensions(classifier=...)``: one pool, so the cache survives reloads.

    rules = Rules.load(path, os.environ, Extensions(classifier=classifier_factory()))
    """
    return ClassifierPool(clock=clock, perf=perf).build
