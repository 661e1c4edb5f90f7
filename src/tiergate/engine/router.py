"""decide(): a chat request in, a RoutingDecision out, no upstream model called (except phase 2).

The steps, in order, each adding to the decision's reasons:

1. explicit — ``model`` names a tier, model id or alias, or ``provider`` names a mapped provider;
2. phase 1 — the compiled graph's rules and scorers give a band (or the fixed/keyword modes a tier);
3. phase 2 — only for AMBIGUOUS, the classifier (when configured) picks the tier; a classifier with a price
   is not asked for a client at its spend cap (which keeps only tiers without a price);
4. stickiness — a routed (not explicit) conversation never moves down a tier within its session;
5. session escalation — a session whose tier keeps failing moves up a tier for a while (not remembered
   by stickiness);
6. budgets — a tier or client at its spend cap spills to a cheaper tier, or the request is refused (429);
7. targets — the tier's targets, then its fallback tiers', each checked for capabilities, its backend's
   configuration (an unset key variable: ``Backend.missing``), breaker and budget.

Before phase 1 the cost/quality dial (``routing.quality_preference``, or the client's
``x-tiergate-quality`` header) moves the band thresholds and learned cut-offs (tiergate.engine.quality),
and the running system's signals leave the observed latency and the models each Ollama server holds on
the features (``target.<tier>.*``).

    router = Router(graph, classifier=None, breaker_state=lambda t: "closed")
    decision = await router.decide(request, headers)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

from tiergate.engine.budgets import Verdict
from tiergate.engine.decision import (
    AskReading,
    ClassifierOutcome,
    DryRunDecision,
    EscalationOutcome,
    LatencyStats,
    LearnedOutcome,
    QualityOutcome,
    RoutingDecision,
    Signal,
    TargetState,
    new_decision_id,
)
from tiergate.engine.graph import EvaluationGraph, Phase1, cheapest_first
from tiergate.engine.quality import Dial, preference
from tiergate.engine.sticky import session_key
from tiergate.engine.targets import Target
from tiergate.errors import NoTargetError, Overflow, RequestError, TiergateError
from tiergate.rules.features import Features
from tiergate.wire import ChatRequest, Native, Usage

Charge = Callable[[Target, Usage], None]
"""Where what routing spends at a target goes as it is spent: the requesting client's spend (budgets)."""


class Phase2(Protocol):
    """The second opinion for AMBIGUOUS requests. Never raises: failures come back as an outcome."""

    @property
    def target(self) -> Target | None:
        """The classifier model as a target: its price is what an outcome's ``usage`` is charged at (None:
        one that calls no model)."""

    async def classify(
        self, f: Features, phase1: Phase1, graph: EvaluationGraph, charge: Charge | None = None
    ) -> ClassifierOutcome:
        """``charge`` gets the usage of each model call this request makes, once, when the call ends: also when
        the request was cancelled meanwhile (its client left), since the call goes on for others."""
        ...


class Learned(Protocol):
    """The learned scorer (:mod:`tiergate.learned.scorer`): reads the request before phase 1 and leaves its
    probabilities on the features. Never raises: an unusable scorer says so in its outcome."""

    async def prepare(self, f: Features) -> LearnedOutcome: ...


class Observed(Protocol):
    """What the running system has observed (:mod:`tiergate.engine.adaptive`): latency per target, failures
    per session, spend per tier and client. Only a budget may refuse a request, through its Verdict."""

    def prepare(self, f: Features) -> None: ...

    def escalate(self, f: Features, session: str | None, p1: Phase1, remember: bool) -> EscalationOutcome | None: ...

    def budget(self, tier: str, client: str) -> Verdict: ...

    def client_over(self, client: str) -> str | None:
        """Why ``client`` may spend nothing more on priced models (its own cap is reached), or None."""
        ...

    def charge(self, client: str, target: Target, usage: Usage) -> None:
        """Count what routing spent at ``target`` (the classifier's call) in ``client``'s spend, now."""
        ...

    def target_latency(self, target: Target) -> LatencyStats | None: ...

    def target_loaded(self, target: Target) -> bool | None: ...


class SessionHold(Protocol):
    """Conversation stickiness (:mod:`tiergate.engine.sticky`): may raise phase 1's tier to the highest
    tier the session has been routed to. Returns True when it did."""

    async def hold(self, f: Features, client: str, p1: Phase1, remember: bool = True) -> bool: ...


@dataclass
class Routed:
    """A decision plus the live Target objects dispatch will try, in order, and the ask routing read."""

    decision: RoutingDecision
    targets: list[Target]
    ask: str = ""
    #: Raised by dispatch instead of calling any target (a budget at its cap with nowhere to spill, a
    #: document no target reads).
    refusal: TiergateError | None = None
    #: What routing itself spent, at which target: the classifier's call this request made. Already counted
    #: in spend and budgets (``Observed.charge``, as the call ended); kept for the decision log's ``cost_usd``.
    spent: list[tuple[Target, Usage]] = field(default_factory=list)
    #: What the rules read (the ask, the agent steps), when ``decide`` was asked to keep it (the dry run).
    reading: AskReading | None = None

    def shown(self) -> DryRunDecision:
        """The decision as the dry run shows it: with what the rules read."""
        fields = {name: getattr(self.decision, name) for name in self.decision.__struct_fields__}
        return DryRunDecision(**fields, read=self.reading)


#: Characters of a long ask the dry run shows at each end.
ASK_SHOWN = 200
AGENT_FEATURES = ("agent.steps", "agent.failures_in_row", "agent.repeated_failure", "agent.tests_green")


def reading_of(f: Features) -> AskReading:
    """The ask as the rules read it (a long one's first and last ``ASK_SHOWN`` characters) and the agent steps."""
    ask = str(f["ask_text"])
    shown = ask if len(ask) <= 2 * ASK_SHOWN + 3 else ask[:ASK_SHOWN] + " … " + ask[-ASK_SHOWN:]
    agent = {name.removeprefix("agent."): f[name] for name in AGENT_FEATURES}
    return AskReading(shown, len(ask), agent)


#: How a target skipped for its open breaker is reported; the last failure may follow in parentheses.
BREAKER_OPEN = "breaker open"


def unconfigured(backend: str, missing: str) -> str:
    """How a target is reported skipped whose backend cannot be called at all (``Backend.missing``: its key
    variable is not set): in the dry run's ``targets[]`` and in the request's error alike."""
    return f"backend '{backend}' is not configured: {missing}"


def _always_closed(target: Target) -> str:
    return "closed"


def _no_failure(target: Target) -> str | None:
    return None


def _nothing_missing(backend: str) -> str | None:
    return None


@dataclass
class Router:
    graph: EvaluationGraph
    classifier: Phase2 | None = None
    breaker_state: Callable[[Target], str] = _always_closed
    #: What an open breaker's last failure said; named in the reason a target is skipped.
    breaker_failure: Callable[[Target], str | None] = _no_failure
    #: What the backend of this name lacks to be called at all (``Backend.missing``), or None: its targets are
    #: skipped without a call, as the request would find them.
    missing: Callable[[str], str | None] = _nothing_missing
    clock: Callable[[], int] = field(default=time.perf_counter_ns)
    sessions: SessionHold | None = None
    learned: Learned | None = None
    signals: Observed | None = None
    #: Dials already computed for this graph, by preference (the file's, and the few clients ask for).
    _dials: dict[float, Dial | None] = field(default_factory=dict, repr=False)

    async def decide(
        self,
        request: ChatRequest,
        headers: Mapping[str, str] | None = None,
        *,
        classify: bool = True,
        features: Features | None = None,
        client: str = "anonymous",
        remember: bool = True,
        quality: float | None = None,
        read: bool = False,
    ) -> Routed:
        """``quality`` sets the cost/quality dial for this request, ahead of the header and the file (eval).
        ``read`` keeps what the rules read of the conversation in ``Routed.reading`` (the dry run shows it)."""
        start = self.clock()
        f = features or self.graph.features(request, headers)
        graph = self.graph
        signals = self.signals
        if signals is not None:
            signals.prepare(f)
        first: Target | None = None
        outcome: ClassifierOutcome | None = None
        learned: LearnedOutcome | None = None
        dialled: QualityOutcome | None = None
        phase = "heuristic"
        explicit = self._explicit(request)
        if explicit is not None:
            tier, first, why = explicit
            p1 = Phase1(
                graph.band_of(tier),
                tier,
                0.0,
                1.0,
                [Signal("explicit", "explicit", why, action=f"tier={tier}")],
                [why],
                forced=True,
            )
            phase = "explicit"
        else:
            routing = graph.config.routing
            dial: Dial | None = None
            if routing.mode == "local_first":
                dialled = preference(routing, f.headers, quality)
                dial = self._dial(dialled.preference)
            learned = await self.learned.prepare(f) if self.learned is not None else None
            if dial is not None and dialled is not None:
                dialled = dial.outcome(dialled)
                moved = dial.retier(f)
                if moved is not None and learned is not None and learned.available:
                    learned.tier = moved
            p1 = graph.phase1(f, dial)
            if learned is not None and not learned.available:
                p1.reasons.append(f"{learned.reason}; rules read learned.available as false")
            if request.model and request.model not in graph.config.routing.explicit.auto_names:
                named = graph.model_names.match(request.model)
                why = f"matches '{named[0]}'" if named else "is not configured here"
                p1.reasons.insert(0, f"model '{_shown(request.model)}' {why}; routed as auto")
            if p1.band == "AMBIGUOUS":
                outcome = await self._phase2(f, p1, classify, client)
                if outcome is not None and outcome.outcome in ("ok", "cache_hit") and outcome.tier:
                    p1.tier = self._floored(outcome, f, p1)
                    phase = "llm_classifier"
                    p1.signals.append(Signal("classifier", "classifier", outcome.reason, action=f"tier={p1.tier}"))
                elif outcome is not None and outcome.outcome != "skipped":
                    phase = "fallback"
                    p1.reasons.append(f"classifier {outcome.outcome}: using phase 1's guess {p1.tier}")
                else:
                    why = "classifier skipped" if outcome else "no classifier configured"
                    if outcome is not None and outcome.reason:
                        why += f" ({outcome.reason})"
                    band = graph.config.routing.band_tiers.ambiguous
                    source = "band_tiers.ambiguous" if p1.tier == band else "the escalation above"
                    p1.reasons.append(f"ambiguous; {why}: {source} sends it to {p1.tier}")
        # An explicit choice or a side request (a rule's `sticky: false`) stays out of its conversation's
        # session: no stickiness, no escalation, and no session for its failures and ratings to count on.
        # Its conversation's key is still logged (``conversation``), so `tiergate train` can join an explicit
        # retry to the routed requests before it.
        in_session = explicit is None and p1.sticky
        sessions = self.sessions if in_session else None
        sticky = sessions is not None and await sessions.hold(f, client, p1, remember)
        key = session_key(f, client)
        conversation = key.hex()[:16] if key else None
        session = conversation if in_session else None
        escalated = signals.escalate(f, session, p1, remember) if signals is not None and session else None
        verdict = signals.budget(p1.tier, client) if signals is not None else None
        if verdict is not None and verdict.outcome is not None:
            if verdict.tier != p1.tier:
                first = None  # an explicitly named target of the tier the budget left
                p1.tier = verdict.tier
            p1.reasons.extend(verdict.reasons)
            p1.signals.append(
                Signal("budget", "budget", verdict.outcome.name, action=f"{verdict.outcome.action} tier={p1.tier}")
            )
        closed = verdict.closed if verdict is not None else {}
        needs = set(p1.requires)
        if f["tools_present"] or f["tool_results_present"]:
            needs.add("tools")
        if f["images_present"]:
            needs.add("vision")
        if f["documents_present"]:
            needs.add("documents")
        if request.suffix:  # an empty suffix is a plain completion, which every target can do
            needs.add("fill_in_the_middle")
        native = request.native if request.native is not None and request.native.exclusive else None
        if native is not None:
            needs.add(native.dialect)
        output = int(f["max_tokens"])
        tokens = int(f["approx_tokens"]) + output
        chain = graph.chains.for_tier(p1.tier, first)
        required = frozenset(needs)
        states: list[TargetState] = []
        usable: list[Target] = []
        latency: dict[str, LatencyStats] = {}
        loaded: dict[str, bool] = {}
        taken: dict[str, Target] = {}
        budget_only = False  # a target only a budget kept out: the request is the budget's to refuse
        for target in chain:
            breaker = self.breaker_state(target)
            lack = target.lacks(required, tokens, output) or (_not_native(target, native) if native else None)
            skipped = (
                lack
                or self._unconfigured(target)
                or (self._open(target) if breaker == "open" else None)
                or closed.get(target.tier)
            )
            budget_only = budget_only or (skipped is not None and skipped == closed.get(target.tier))
            if skipped is None and (earlier := taken.get(target.key)) is not None:
                skipped = f"the same backend and model as {earlier.label}, tried first"
            if skipped is None:
                taken[target.key] = target
            states.append(TargetState(target.tier, target.backend, target.model, breaker, skipped))
            if skipped is None:
                usable.append(target)
            if signals is not None and (seen := signals.target_latency(target)) is not None:
                latency[target.key] = seen
            if signals is not None and (resident := signals.target_loaded(target)) is not None:
                loaded[target.key] = resident
        refusal = (
            _unread_document(request, chain)
            or _too_long(chain, states, tokens, output)
            or (verdict.refusal if verdict is not None else None)
        )
        if refusal is None and not usable and budget_only and verdict is not None:
            refusal = verdict.refuse_closed(verdict.checked_at)
        if refusal is not None:
            usable = []
        chosen = usable[0] if usable else (chain[0] if chain else None)
        decision = RoutingDecision(
            decision_id=new_decision_id(),
            tier=chosen.tier if chosen else p1.tier,
            provider=self._provider(chosen),
            model=chosen.model if chosen else "",
            band=p1.band,
            phase=phase,  # type: ignore[arg-type]
            score=round(p1.score, 4),
            confidence=round(p1.confidence, 4),
            reasons=p1.reasons,
            signals=p1.signals,
            targets=states,
            cache_hit=bool(outcome and outcome.outcome == "cache_hit"),
            rules_version=graph.version,
            elapsed_us=(self.clock() - start) // 1000,
            requires=sorted(needs),
            classifier=outcome,
            sticky=sticky,
            learned=learned,
            session=session,
            conversation=None if session else conversation,
            quality=dialled,
            latency=latency or None,
            loaded=loaded or None,
            escalation=escalated,
            budget=verdict.outcome if verdict is not None else None,
        )
        if chosen is not None and chosen.tier != p1.tier and refusal is None:
            decision.reasons.append(f"{p1.tier} has no usable target; first usable is {chosen.label}")
        paid = self.classifier.target if self.classifier and outcome and outcome.usage else None
        spent = [(paid, outcome.usage)] if paid is not None and outcome and outcome.usage else []
        return Routed(decision, usable, str(f["ask_text"]), refusal, spent, reading_of(f) if read else None)

    def _dial(self, preference: float) -> Dial | None:
        if preference not in self._dials:
            if len(self._dials) >= 64:  # arbitrary header values must not grow it without bound
                self._dials.clear()
            self._dials[preference] = Dial.of(self.graph.config.routing, preference)
        return self._dials[preference]

    def _explicit(self, request: ChatRequest) -> tuple[str, Target | None, str] | None:
        cfg = self.graph.config.routing.explicit
        chains = self.graph.chains
        if request.provider:
            tier = cfg.providers.get(request.provider)
            if tier is not None:
                return tier, None, f"provider '{request.provider}' maps to tier {tier}"
        model = request.model
        if not cfg.honour_model or not model or model in cfg.auto_names:
            return None
        if model in chains.tiers:
            return model, None, f"model '{model}' names tier {model}"
        # A pattern the operator wrote for clients' names comes before a target's model id: with the default
        # "claude-*": auto, Claude Code's "claude-opus-4-1" is routed even where a target serves that id.
        named = self.graph.model_names.match(model)
        if named is not None:
            if named[1] in chains.tiers:
                return named[1], None, f"model '{_shown(model)}' matches '{named[0]}', which names tier {named[1]}"
            return None
        target = chains.by_model.get(model)
        if target is not None:
            return target.tier, target, f"model '{model}' names {target.backend}/{target.model} in tier {target.tier}"
        return None

    def _floored(self, outcome: ClassifierOutcome, f: Features, p1: Phase1) -> str:
        """The classifier's tier, held up by the floor: it may go at most one tier below the learned scorer's
        tier (phase 1's guess without one), and only when it reports at least ``min_confidence``."""
        assert outcome.tier is not None
        cfg = self.graph.config.routing.classifier
        order = cheapest_first(self.graph.config)
        learned = str(f["learned.tier"])
        anchor = learned if learned in order else p1.tier
        rank = order.index(anchor) if anchor in order else 0
        sure = outcome.confidence is not None and cfg is not None and outcome.confidence >= cfg.min_confidence
        floor = order[max(rank - 1, 0)] if sure else anchor
        outcome.floor = floor
        said = f"classifier chose {outcome.tier} ({outcome.reason or 'no reason given'}"
        said += f"; confidence {outcome.confidence:g})" if outcome.confidence is not None else ")"
        if order.index(outcome.tier) >= order.index(floor):
            p1.reasons.append(said)
            return outcome.tier
        why = (
            "one tier below" if sure else f"confidence under {cfg.min_confidence:g}: not below" if cfg else "not below"
        )
        source = "the learned scorer's tier" if learned in order else "phase 1's tier: no learned scorer read"
        p1.reasons.append(f"{said}; held at {floor} ({why} {anchor}, {source})")
        return floor

    async def _phase2(self, f: Features, p1: Phase1, classify: bool, client: str) -> ClassifierOutcome | None:
        classifier = self.classifier
        if classifier is None:
            return None
        cfg = self.graph.config.routing.classifier
        if not classify or cfg is None or not cfg.enabled:
            return ClassifierOutcome(model=cfg.model if cfg else "", outcome="skipped")
        signals = self.signals
        paid = classifier.target is not None and bool(classifier.target.price.input or classifier.target.price.output)
        over = signals.client_over(client) if signals is not None and paid else None
        if over is not None:  # a client at its cap keeps only tiers without a price: the classifier has one
            return ClassifierOutcome(model=cfg.model, outcome="skipped", reason=f"{over}; the classifier has a price")
        charge = partial(signals.charge, client) if signals is not None else None
        return await classifier.classify(f, p1, self.graph, charge)

    def _unconfigured(self, target: Target) -> str | None:
        missing = self.missing(target.backend)
        return unconfigured(target.backend, missing) if missing is not None else None

    def _open(self, target: Target) -> str:
        """The reason a target is skipped for its open breaker: ``breaker open``, and what failed last."""
        failure = self.breaker_failure(target)
        return BREAKER_OPEN + (f" (last failure: {failure})" if failure else "")

    def _provider(self, target: Target | None) -> str:
        if target is None:
            return ""
        backend = self.graph.config.backends.get(target.backend)
        return backend.__struct_config__.tag if backend is not None else ""  # type: ignore[return-value]


def _unread_document(request: ChatRequest, chain: list[Target]) -> RequestError | None:
    """A 400 naming the request's first document when no target of its chain reads documents, whatever
    their breakers: the model would otherwise answer without it, and no retry can help."""
    if not chain or any(t.capabilities.documents for t in chain):
        return None
    document = next((d for m in request.messages for d in m.documents()), None)
    if document is None:
        return None
    at = document.at or "messages"
    targets = ", ".join(t.label for t in chain)
    return RequestError(
        f"{at}: {document.described()} needs a target that reads documents, and none of this request's"
        f" targets does ({targets}); send the document's text instead",
        param=at,
        code="unsupported_content",
    )


def _too_long(chain: list[Target], states: list[TargetState], tokens: int, output: int) -> NoTargetError | None:
    """A 400 ``context_length_exceeded`` when every target of the chain was skipped for its context window
    alone: the code OpenAI's clients read as a full window (Codex then reports one), and the message
    in the words of Anthropic's own refusal, which Claude Code reads the same way ("prompt is too long", or
    when the prompt alone would fit, "input length and `max_tokens` exceed context limit":
    :meth:`~tiergate.errors.Overflow.words`, as an upstream's refusal is worded too), its figures bare
    numbers, as Claude Code parses them to retry with a smaller ``max_tokens`` (the prompt's is tiergate's
    estimate, said after them). ``states`` are the chain's targets' states, in its order."""
    pairs = list(zip(chain, states, strict=True))
    if not pairs or any(s.skipped is None or s.skipped != t.too_small(tokens, output) for t, s in pairs):
        return None
    window = max(t.capabilities.context_window for t in chain)
    overflow = Overflow(tokens - output, window, output)
    skipped = "; ".join(f"{t.label}: {s.skipped}" for t, s in pairs)
    error = NoTargetError(
        f"{overflow.words()} (the prompt's tokens estimated; no target can serve this request: {skipped})",
        status=400,
        code="context_length_exceeded",
    )
    error.overflow = overflow  # an OpenAI dialect's message opens in OpenAI's words with these figures
    return error


def _not_native(target: Target, native: Native) -> str | None:
    """Why ``target`` cannot serve what only a backend of the client's own dialect serves (an Anthropic
    server tool, a Files API reference): the first such thing, where it is and why."""
    if target.native == native.dialect:
        return None
    where, why = native.exclusive[0]
    return f"not {native.dialect.capitalize()}, which {where} needs ({why})"


def _shown(name: str, limit: int = 120) -> str:
    """A client-sent name as a reason quotes it: cut to ``limit`` characters."""
    return name if len(name) <= limit else name[: limit - 1] + "…"
