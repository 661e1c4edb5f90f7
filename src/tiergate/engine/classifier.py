"""Phase 2 of routing: a small local model's second opinion, asked only for AMBIGUOUS requests.

Small generative models lean to the cheap answer and are slow on a CPU, so the classifier is kept on a
short lead (the router applies the floor: it may move a request at most one tier below the learned
scorer's tier, and only with the confidence it reports). Every call is:

- **cached**: a ``cachetools.TTLCache`` keyed by a hash of the last two messages (role + text) and the
  rules version; a reload that changes the classifier's own settings starts a fresh cache;
- **shared between replicas**: with ``state.redis_url`` a local miss asks Redis
  (:mod:`tiergate.state.cache`) before the model, and every answer is stored there too;
- **single flight**: concurrent identical requests join one in-flight call (single flight). Followers get the
  leader's answer as outcome ``ok`` (not ``cache_hit``: they waited for the model) with their own latency;
- **charged once, as it is spent**: the call's usage goes to the ``charge`` of the request that launched it
  (the router's: that client's spend and budgets) when the call ends, from the call's own task, so a leader
  whose client left (or a dry run, which records no request) still pays, and its followers never do;
- **dispatched**: through dispatch, like any target: its limits, its circuit breaker (keyed by
  ``backend/model``; an unusable answer counts as a failure, like an error), its time bounds;
- **streamed and capped**: the answer is streamed (at most ``max_tokens``) and the stream closed on
  timeout, which stops the model server's work (an abandoned non-stream call keeps it busy);
- **reason first**: ``{"reason", "tier", "confidence"}``, so the model argues before it commits;
- **portable**: ``response_format`` ``json_schema`` first; a server that refuses it (llama-cpp-python
  answers 500) gets ``{"type": "json_object", "schema": ...}`` from then on (each call refused for the
  ``json_schema`` it sent asks once more, also one that was already in flight when the first refusal came);
  an Ollama backend gets ``think: false`` (a thinking model would spend the timeout thinking);
- **forgiving of wrapping**: the one JSON object of an answer is read out of a Markdown fence (any case), a
  ``<think>`` block or a sentence around it; an answer with no object, or two, is invalid.

Failures come back as an outcome (``timeout``, ``error``, ``invalid``, ``breaker_open``) and the router
keeps phase 1's guess.

    classifier = ClassifierPool().build(graph, dispatcher)        # None when routing.classifier is absent
    outcome = await classifier.classify(features, phase1, graph, charge)  # ClassifierOutcome, never raises
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from cachetools import TTLCache
from msgspec import Meta

from tiergate.backends.base import Billed
from tiergate.config.model import ClassifierConfig, RoutesConfig
from tiergate.dispatch.dispatcher import Dispatcher
from tiergate.engine.decision import ClassifierOutcome
from tiergate.engine.graph import EvaluationGraph, Phase1, cheapest_first
from tiergate.engine.router import Charge, Phase2
from tiergate.engine.targets import Target, classifier_target
from tiergate.errors import RateLimited, UpstreamError, UpstreamProtocolError, UpstreamStatusError, refuses_format
from tiergate.rules.features import Features
from tiergate.state.cache import RemoteCache
from tiergate.wire import ChatRequest, Message, Usage

log = logging.getLogger("tiergate.classifier")

Clock = Callable[[], float]
"""Monotonic seconds: drives the cache TTL."""
PerfClock = Callable[[], int]
"""Nanoseconds: measures ``latency_us``."""
Failure = Literal["timeout", "error", "invalid", "breaker_open"]
Format = Literal["json_schema", "json_object"]

ERROR_EXCERPT = 200
INVALID = "invalid_answer"
"""The ``kind`` of the protocol error an unusable answer raises inside the guarded call (so the breaker counts it)."""

DEFAULT_PROMPT = """\
You are the router of a coding-assistant gateway. Read the end of a conversation and choose the
cheapest model tier that will answer its last request well.

Tiers, cheapest first:
{tiers}

Explanations, small edits, renames, formatting, docstrings and questions with one clear answer suit
the cheapest tier. Choose a stronger tier when the request needs multi-step reasoning, a design that
spans many parts, or subtle correctness (concurrency, security, proofs); when unsure, choose the
stronger tier and say so with a low confidence. Do not answer the request itself."""

ANSWER_FORMAT = (
    'Reply with JSON only, in this order: {{"reason": "<one short sentence>", "tier": "<tier>", '
    '"confidence": <0 to 1>}}, where <tier> is one of {names}.'
)


class RouteAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """What the classifier model must reply with; this is also what the cache stores.

    A small model asked for ``json_object`` may leave fields out. Without a ``reason`` the decision says
    "no reason given"; without a ``confidence`` the answer has none (not a made-up one), so it can raise
    the tier but never move it below the learned scorer's (the router's floor needs a reported confidence).
    """

    reason: str = ""
    tier: str
    confidence: Annotated[float, Meta(ge=0, le=1)] | None = None


@dataclass(frozen=True)
class Verdict:
    """The result of one upstream call, shared by the leader and every follower of a single flight."""

    answer: RouteAnswer | None = None
    failure: Failure | None = None
    error: str | None = None
    #: What the calls were charged (the leader's to pay: it made them; its ``charge`` got it as the call ended).
    usage: Usage | None = None


# --- the prompt -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Prompt:
    """Everything about the question that is fixed for one graph: compiled once per load."""

    system: str
    tiers: tuple[str, ...]
    max_chars: int
    max_tokens: int

    @classmethod
    def compile(cls, cfg: ClassifierConfig, config: RoutesConfig) -> Prompt:
        tiers = cheapest_first(config)
        return cls(system_prompt(cfg, config, tiers), tiers, cfg.max_chars, cfg.max_tokens)

    def request(self, messages: Sequence[Message], kind: Format = "json_schema") -> ChatRequest:
        return self.request_for(transcript(messages, self.max_chars), kind)

    def request_for(self, seen: str, kind: Format = "json_schema") -> ChatRequest:
        """Temperature 0 (the same conversation should get the same tier, and the cache assumes it), streamed
        so a timeout can stop the server, and capped: the answer is a sentence and two values."""
        return ChatRequest(
            messages=[Message(role="system", content=self.system), Message(role="user", content=seen)],
            temperature=0.0,
            max_tokens=self.max_tokens,
            response_format=response_format(self.tiers, kind),
            stream=True,
            # Ollama's `think: false` (the classifier target of an Ollama backend takes it; see classifier_target):
            # a thinking model would otherwise spend the classifier's timeout thinking before its answer
            reasoning_effort="none",
        )


def system_prompt(cfg: ClassifierConfig, config: RoutesConfig, tiers: Sequence[str]) -> str:
    """``classifier.prompt`` replaces the built-in text; ``{tiers}`` in it becomes the tier list. The
    answer-format line is always appended, because validation depends on it."""
    listing = "\n".join(f"- {name}: {config.tiers[name].description or 'no description'}" for name in tiers)
    body = (cfg.prompt or DEFAULT_PROMPT).replace("{tiers}", listing)
    names = ", ".join(f'"{name}"' for name in tiers)
    return f"{body.rstrip()}\n\n{ANSWER_FORMAT.format(names=names)}"


def answer_schema(tiers: Sequence[str]) -> dict[str, Any]:
    """Reason first: the model argues before it commits to a tier, and says how sure it is."""
    return {
        "type": "object",
        "properties": {
            "reason": {"type": "string"},
            "tier": {"type": "string", "enum": list(tiers)},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        },
        "required": ["reason", "tier", "confidence"],
        "additionalProperties": False,
    }


def response_format(tiers: Sequence[str], kind: Format = "json_schema") -> dict[str, Any]:
    """OpenAI's ``json_schema`` shape, or ``json_object`` with a ``schema`` (llama-cpp-python's, llama-server's)."""
    schema = answer_schema(tiers)
    if kind == "json_object":
        return {"type": "json_object", "schema": schema}
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
    found = the_object(content)
    if isinstance(found, int):
        return f"answer holds {found} JSON objects, not one: {excerpt(content)}"
    if not found:
        return f"empty answer besides its reasoning: {excerpt(content)}"
    try:
        answer = msgspec.json.decode(found, type=RouteAnswer)
    except msgspec.DecodeError as exc:
        return f'answer is not {{"reason", "tier", "confidence"}} JSON ({exc}): {excerpt(content)}'
    if answer.tier not in tiers:
        return f"answer names tier '{excerpt(answer.tier)}', which is not one of {', '.join(tiers)}"
    return answer


#: A reasoning block some models write before the answer even when asked for JSON (``<think>…</think>``);
#: one left open (cut at ``max_tokens``) runs to the end: the model never answered.
_THINKING = re.compile(r"<(think|thinking|reasoning)>.*?(?:</\1>|\Z)", re.IGNORECASE | re.DOTALL)
_OBJECTS = json.JSONDecoder()


def the_object(content: str) -> str | int:
    """The one JSON object in an answer, as text: the whole answer when it is one, else the object a model
    wrapped in a Markdown fence (```JSON), a ``<think>`` block or a sentence ("Sure! {...}"). With none the
    answer itself (the decoder then says what is wrong with it); with more than one, how many: which of two
    tiers the model meant is not for the gateway to guess."""
    text = _THINKING.sub("", content).strip()
    objects: list[str] = []
    at = text.find("{")
    while at != -1:
        try:
            value, end = _OBJECTS.raw_decode(text, at)
        except ValueError:
            at = text.find("{", at + 1)
            continue
        if isinstance(value, dict):
            objects.append(text[at:end])
        at = text.find("{", end)
    if len(objects) > 1:
        return len(objects)
    return objects[0] if objects else text


def excerpt(text: str) -> str:
    return text if len(text) <= ERROR_EXCERPT else text[:ERROR_EXCERPT] + "…"


# --- the classifier -------------------------------------------------------------------------


@dataclass
class Shared:
    """What one set of classifier settings keeps across reloads: answers, in-flight calls, and which
    ``response_format`` shape the server takes."""

    settings: str
    cache: TTLCache[bytes, RouteAnswer]
    inflight: dict[bytes, asyncio.Task[Verdict]]
    format: Format = "json_schema"
    remote: RemoteCache | None = None


@dataclass
class LLMClassifier:
    """Phase 2 for one loaded graph. Build it with :class:`ClassifierPool`, which owns ``shared``.

    ``classify`` reads only the conversation (not phase 1's signals), which is what makes an answer
    reusable for the same last two messages under the same rules.

        outcome = await classifier.classify(features, phase1, graph)
    """

    cfg: ClassifierConfig
    dispatcher: Dispatcher
    target: Target
    url: str
    prompt: Prompt
    rules_version: str
    shared: Shared
    perf: PerfClock = time.perf_counter_ns

    async def classify(
        self, f: Features, phase1: Phase1, graph: EvaluationGraph, charge: Charge | None = None
    ) -> ClassifierOutcome:
        """``charge`` gets what a call this request launches is charged, when the call ends (see the module)."""
        start = self.perf()
        seen = transcript(f.messages, self.prompt.max_chars)
        key = transcript_key(seen, self.rules_version)
        cached = self.shared.cache.get(key)
        if cached is not None:
            return self._answered("cache_hit", cached, start)
        if self.shared.remote is not None and key not in self.shared.inflight:
            shared = await self._remote_answer(key)
            if shared is not None:
                return self._answered("cache_hit", shared, start)
        flight = self.shared.inflight.get(key)
        leader = flight is None
        if flight is None:
            flight = self._launch(key, seen, charge)
        verdict = await asyncio.shield(flight)
        usage = verdict.usage if leader else None  # followers waited for the call; the leader made it (and paid)
        if verdict.answer is not None:
            return self._answered("ok", verdict.answer, start, usage)
        assert verdict.failure is not None
        return ClassifierOutcome(
            self.cfg.model, verdict.failure, latency_us=self._since(start), error=verdict.error, usage=usage
        )

    def _launch(self, key: bytes, seen: str, charge: Charge | None) -> asyncio.Task[Verdict]:
        """The call runs as its own task so a leader's cancellation (client gone) does not fail followers, nor
        leave the call unpaid."""
        flight = asyncio.get_running_loop().create_task(self._fly(key, seen, charge))
        inflight = self.shared.inflight
        inflight[key] = flight
        flight.add_done_callback(lambda _: inflight.pop(key, None))
        return flight

    async def _fly(self, key: bytes, seen: str, charge: Charge | None) -> Verdict:
        verdict = await self._ask(seen)
        if verdict.usage is not None and charge is not None:
            try:
                charge(self.target, verdict.usage)
            except Exception:  # a spend store's failure must not fail the requests waiting for the answer
                log.exception("classifier: could not charge the call's usage")
        if verdict.answer is not None:
            self.shared.cache[key] = verdict.answer
            if self.shared.remote is not None:
                self.shared.remote.put(key, msgspec.json.encode(verdict.answer))
        return verdict

    async def _remote_answer(self, key: bytes) -> RouteAnswer | None:
        """Another replica's answer for the same transcript, kept here from now on; None on a miss."""
        assert self.shared.remote is not None
        found = await self.shared.remote.get(key)
        if not isinstance(found, bytes):
            return None
        try:
            answer = msgspec.json.decode(found, type=RouteAnswer)
        except msgspec.DecodeError:
            return None
        if answer.tier not in self.prompt.tiers:
            return None
        self.shared.cache[key] = answer
        return answer

    async def _ask(self, seen: str) -> Verdict:
        """One dispatched call (two when the server refuses ``json_schema``); every error becomes a Verdict,
        with what the calls were charged."""
        spent: list[Usage] = []
        verdict = await self._verdict(seen, spent)
        return dataclasses.replace(verdict, usage=total(spent)) if spent else verdict

    async def _verdict(self, seen: str, spent: list[Usage]) -> Verdict:
        sent = self.shared.format  # what this call asks with: calls in flight when a refusal comes sent it too
        try:
            try:
                return Verdict(answer=await self._call(seen, sent, spent))
            except UpstreamStatusError as exc:
                auto = self.cfg.response_format == "auto"
                if not auto or sent != "json_schema" or not refused_format(exc):
                    raise
                if self.shared.format == "json_schema":  # the first refusal: said once
                    log.info(
                        "classifier: backend '%s' refused response_format json_schema (%s); using json_object "
                        "with a schema from now on",
                        self.target.backend,
                        excerpt(exc.detail),
                    )
                    self.shared.format = "json_object"
                return Verdict(answer=await self._call(seen, "json_object", spent))
        except UpstreamError as exc:
            return Verdict(failure=_failure(exc), error=exc.message)
        except TimeoutError:  # the backstop below: e.g. a `limits` wait longer than the timeout
            return Verdict(
                failure="timeout", error=f"no answer within {self.cfg.timeout:g}s (routing.classifier.timeout)"
            )
        except RateLimited as exc:  # `limits` with on_limit: reject
            return Verdict(failure="error", error=exc.message)
        except Exception as exc:  # the classifier must never fail the request
            detail = f"backend '{self.target.backend}' at {self.url}: {type(exc).__name__}: {exc}"
            return Verdict(failure="error", error=self.dispatcher.redact(detail))

    async def _call(self, seen: str, kind: Format, spent: list[Usage]) -> RouteAnswer:
        request = self.prompt.request_for(seen, kind)
        async with asyncio.timeout(self.cfg.timeout + 1.0):  # a backstop: `within` and the target's bounds end it first
            return await self.dispatcher.ask(self.target, request, self._read, within=self.cfg.timeout, spent=spent)

    def _read(self, text: str) -> RouteAnswer:
        decoded = decode_answer(text, self.prompt.tiers)
        if isinstance(decoded, str):
            detail = f"model '{self.cfg.model}': {decoded}"
            raise UpstreamProtocolError(self.target.backend, self.url, detail, kind=INVALID, started=True)
        return decoded

    def _answered(
        self, outcome: Literal["ok", "cache_hit"], answer: RouteAnswer, start: int, usage: Usage | None = None
    ) -> ClassifierOutcome:
        return ClassifierOutcome(
            self.cfg.model,
            outcome,
            answer.tier,
            answer.reason,
            self._since(start),
            confidence=answer.confidence,
            usage=usage,
        )

    def _since(self, start: int) -> int:
        return (self.perf() - start) // 1000


def total(spent: Sequence[Usage]) -> Usage:
    """The sum of calls' usages."""
    billed = Billed()
    for usage in spent:
        billed.add(usage)
    return billed.usage or Usage()


def refused_format(exc: UpstreamStatusError) -> bool:
    """A server that does not take the ``json_schema`` response_format (llama-cpp-python: 500, naming it)."""
    return refuses_format(exc.status, exc.detail)


def _failure(exc: UpstreamError) -> Failure:
    if exc.kind == INVALID:
        return "invalid"
    if exc.kind == "breaker_open":
        return "breaker_open"
    return "timeout" if exc.kind == "timeout" else "error"


# --- across reloads -------------------------------------------------------------------------


class ClassifierPool:
    """Lives as long as the app and builds one :class:`LLMClassifier` per load. It keeps the cache and the
    in-flight calls while the classifier's settings stay the same, and starts them afresh when a reload
    changes them. (Its breaker lives with every other target's, in dispatch.)

        pool = ClassifierPool()
        Extensions(classifier=pool.build)
    """

    def __init__(
        self,
        *,
        clock: Clock = time.monotonic,
        perf: PerfClock = time.perf_counter_ns,
        remote: Callable[[str, float], RemoteCache] | None = None,
    ) -> None:
        """``remote(namespace, ttl)`` builds the Redis cache shared with other replicas (state.redis_url)."""
        self._clock = clock
        self._perf = perf
        self._remote = remote
        self._shared: Shared | None = None

    def build(self, graph: EvaluationGraph, dispatcher: Dispatcher) -> LLMClassifier | None:
        config = graph.config
        cfg = config.routing.classifier
        if cfg is None:
            return None
        backend_cfg = config.backends.get(cfg.backend)
        if backend_cfg is None:  # the config checks make this unreachable; refuse rather than guess
            log.error("routing.classifier.backend '%s' is not a configured backend; classifier disabled", cfg.backend)
            return None
        prompt = Prompt.compile(cfg, config)
        shared = self._shared_for(settings_key(cfg, config, prompt), cfg)
        url = backend_cfg.base_url.rstrip("/")
        return LLMClassifier(
            cfg, dispatcher, classifier_target(cfg, config), url, prompt, graph.version, shared, self._perf
        )

    def _shared_for(self, settings: str, cfg: ClassifierConfig) -> Shared:
        if self._shared is None or self._shared.settings != settings:
            cache: TTLCache[bytes, RouteAnswer] = TTLCache(cfg.cache_size, cfg.cache_ttl, timer=self._clock)
            remote = self._remote(f"classifier:{settings[:16]}", cfg.cache_ttl) if self._remote else None
            self._shared = Shared(
                settings, cache, {}, "json_object" if cfg.response_format == "json_object" else "json_schema", remote
            )
        return self._shared


def settings_key(cfg: ClassifierConfig, config: RoutesConfig, prompt: Prompt) -> str:
    """Everything that changes what the classifier would answer, or whom it asks."""
    material = msgspec.json.encode([cfg, config.backends[cfg.backend], prompt.system, sorted(prompt.tiers)])
    return hashlib.sha256(material).hexdigest()


def classifier_factory(
    *,
    clock: Clock = time.monotonic,
    perf: PerfClock = time.perf_counter_ns,
    remote: Callable[[str, float], RemoteCache] | None = None,
) -> Callable[[EvaluationGraph, Dispatcher], Phase2 | None]:
    """The hook for ``Extensions(classifier=...)``: one pool, so the cache survives reloads.

    rules = Rules.load(path, os.environ, Extensions(classifier=classifier_factory()))
    """
    return ClassifierPool(clock=clock, perf=perf, remote=remote).build
