"""The evaluation graph: routes.yaml compiled once per load, evaluated per request.

Compiling resolves every name, compiles every regex and keyword list, and builds the scorer
vectors; any error is raised as a ConfigError citing file:line, and warnings are kept on the graph
(``graph.warnings``), as the file is served with them. The graph is immutable, so a
reload builds a new one and swaps a single reference.

    graph = compile_graph(load_file("routes.yaml"))
    result = graph.phase1(Features.of(request))
    result.band, result.score, result.signals
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Any

from cachetools import LRUCache

from tiergate.config.loader import LoadedConfig
from tiergate.config.model import RoutesConfig
from tiergate.config.problems import ConfigError, Path, Problem
from tiergate.engine.decision import Signal
from tiergate.engine.model_names import ModelNames
from tiergate.engine.targets import Target, TargetChains, classifier_target
from tiergate.profile.file import Profile
from tiergate.rules.agent_steps import AgentMarkers
from tiergate.rules.ask import AskReader
from tiergate.rules.conditions import compile_condition
from tiergate.rules.context import CompileContext, Predicate
from tiergate.rules.features import Features
from tiergate.rules.keywords import KeywordMatcher
from tiergate.rules.scorers import ScorerBank
from tiergate.wire import ChatRequest

if TYPE_CHECKING:
    from tiergate.engine.quality import Dial

#: Conversations whose session (engine.sticky) a load keeps by their opening as sent: reading an opening for
#: the client's blocks costs about 8 µs per 1,000 characters, and every turn sends it again.
OPENINGS = 4096


@dataclass(frozen=True)
class CompiledRule:
    name: str
    predicate: Predicate
    band: str | None
    tier: str | None
    confidence: float
    score: float
    require: frozenset[str]
    sticky: bool = True

    def action(self) -> str:
        parts = []
        if self.band:
            parts.append(f"band={self.band}")
        if self.tier:
            parts.append(f"tier={self.tier}")
        if self.score:
            parts.append(f"score{self.score:+g}")
        if self.require:
            parts.append("require=" + ",".join(sorted(self.require)))
        if not self.sticky:
            parts.append("sticky=false")
        return " ".join(parts)


@dataclass
class Phase1:
    band: str
    tier: str
    score: float
    confidence: float
    signals: list[Signal] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    requires: set[str] = field(default_factory=set)
    forced: bool = False
    #: False when a matching rule keeps the request out of its conversation's session (``sticky: false``).
    sticky: bool = True


@dataclass(frozen=True)
class EvaluationGraph:
    config: RoutesConfig
    version: str
    rules: tuple[CompiledRule, ...]
    scorers: ScorerBank
    escalation: Predicate | None
    keyword_routes: tuple[tuple[str, KeywordMatcher], ...]
    chains: TargetChains
    #: What the feature functions read per load (the ask reader, the agent markers, the sessions' cache of
    #: openings): Features.settings.
    settings: Mapping[str, Any] = field(default_factory=dict)
    #: The rule file's directory: relative paths in it (the learned head) are read from there.
    source_dir: FsPath | None = None
    #: ``routing.explicit.models``, compiled.
    model_names: ModelNames = field(default_factory=ModelNames)
    #: The ``tiergate profile`` files targets name, by target key (``backend/model``).
    profiles: Mapping[str, Profile] = field(default_factory=dict)
    #: What the file draws that does not stop it being served (the rules' own, such as a regex that can take
    #: exponential time, then the loader's): ``tiergate validate`` shows them, the gateway logs them.
    warnings: tuple[Problem, ...] = ()

    def features(self, request: ChatRequest, headers: Mapping[str, str] | None = None) -> Features:
        """A request's features as this graph reads them."""
        return Features.of(request, headers, self.config.routing.scan_chars, self.settings)

    def dispatch_targets(self) -> list[Target]:
        """Every target dispatch may call under this load: the tiers' and the classifier's."""
        side = self.config.routing.classifier
        extra = (
            [classifier_target(side, self.config)] if side is not None and side.backend in self.config.backends else []
        )
        return [*self.chains.all_targets(), *extra]

    # --- phase 1 ------------------------------------------------------------------------------

    def phase1(self, f: Features, dial: Dial | None = None) -> Phase1:
        """``dial`` (tiergate.engine.quality) replaces the file's bands and ``escalation.score_at_least``."""
        routing = self.config.routing
        if routing.mode == "fixed":
            assert routing.fixed_tier is not None
            tier = routing.fixed_tier
            return Phase1(
                self._band_of(tier),
                tier,
                0.0,
                1.0,
                [Signal("fixed", "mode", tier, action=f"tier={tier}")],
                [f"routing mode is fixed: every request goes to {tier}"],
                forced=True,
            )
        if routing.mode == "keyword":
            return self._keyword(f)
        return self._local_first(f, dial)

    def _local_first(self, f: Features, dial: Dial | None) -> Phase1:
        routing = self.config.routing
        signals: list[Signal] = []
        reasons: list[str] = []
        requires: set[str] = set()
        forced: CompiledRule | None = None
        outside: str | None = None  # a matching rule with sticky: false
        adds = 0.0
        for rule in self.rules:
            if not rule.predicate(f):
                continue
            signals.append(Signal(rule.name, "rule", rule.predicate.explain(f), rule.score, rule.action()))
            requires |= rule.require
            adds += rule.score
            if not rule.sticky and outside is None:
                outside = rule.name
            if forced is None and (rule.band or rule.tier):
                forced = rule
        values, contributions, raw = self.scorers.evaluate(f)
        for i, name in enumerate(self.scorers.names):
            if values[i] > 0:
                signals.append(Signal(name, "scorer", raw[i], round(float(contributions[i]), 4)))
        score = min(1.0, max(0.0, float(contributions.sum()) + adds))
        bands = dial.bands if dial is not None else routing.bands
        if forced is not None:
            band = forced.band or self._band_of(forced.tier or "")
            tier = forced.tier or self._tier_of_band(band)
            reasons.append(f"rule '{forced.name}' forces {forced.tier or band}")
            result = Phase1(band, tier, score, forced.confidence, signals, reasons, requires, forced=True)
        else:
            if score < bands.local:
                band = "LOCAL"
                confidence = 0.5 + 0.5 * (bands.local - score) / bands.local if bands.local > 0 else 1.0
            elif score >= bands.claude:
                band = "CLAUDE"
                confidence = 0.5 + 0.5 * (score - bands.claude) / (1 - bands.claude) if bands.claude < 1 else 1.0
            else:
                band = "AMBIGUOUS"
                half = (bands.claude - bands.local) / 2
                confidence = 0.5 * abs(score - (bands.local + half)) / half if half > 0 else 0.5
            reasons.append(f"score {score:.3f} is in band {band} (local < {bands.local}, claude >= {bands.claude})")
            result = Phase1(band, self._tier_of_band(band), score, round(confidence, 4), signals, reasons, requires)
        if outside is not None:
            result.sticky = False
            reasons.append(f"rule '{outside}' keeps it out of the conversation's session")
        if self._escalates_from(result.band) and not (forced is not None and forced.tier):
            self._escalate(f, result, dial)
        return result

    def _escalates_from(self, band: str) -> bool:
        """CLAUDE escalates; so does AMBIGUOUS when it falls back to the CLAUDE band's tier, or an ask the
        escalation sends to opus would reach only sonnet for scoring a little lower (phase 2 still decides)."""
        bt = self.config.routing.band_tiers
        return band == "CLAUDE" or (band == "AMBIGUOUS" and bt.ambiguous == bt.claude)

    def _escalate(self, f: Features, result: Phase1, dial: Dial | None) -> None:
        esc = self.config.routing.escalation
        if esc is None:
            return
        at_least = dial.score_at_least if dial is not None else esc.score_at_least
        if self.escalation is not None and self.escalation(f):
            result.tier = esc.tier
            result.signals.append(Signal("escalation", "rule", self.escalation.explain(f), action=f"tier={esc.tier}"))
            result.reasons.append(f"escalation condition holds: {result.band} goes to {esc.tier}")
        elif at_least is not None and result.score >= at_least:
            result.tier = esc.tier
            result.reasons.append(f"score {result.score:.3f} >= {at_least:.4g}: {result.band} goes to {esc.tier}")

    def _keyword(self, f: Features) -> Phase1:
        mode = self.config.routing.keyword_mode
        assert mode is not None
        for tier, matcher in self.keyword_routes:
            hits = f.keyword_hits(matcher, "last_user_text")
            if hits:
                return Phase1(
                    self._band_of(tier),
                    tier,
                    0.0,
                    0.9,
                    [Signal(f"keywords:{tier}", "rule", list(hits), action=f"tier={tier}")],
                    [f"keyword mode: {', '.join(hits)} → {tier}"],
                    forced=True,
                )
        tier = mode.default_tier
        return Phase1(self._band_of(tier), tier, 0.0, 0.5, [], [f"keyword mode: no keyword hit → default {tier}"])

    def _tier_of_band(self, band: str) -> str:
        bt = self.config.routing.band_tiers
        return {"LOCAL": bt.local, "CLAUDE": bt.claude}.get(band, bt.ambiguous)

    def _band_of(self, tier: str) -> str:
        return "LOCAL" if tier == self.config.routing.band_tiers.local else "CLAUDE"

    def band_of(self, tier: str) -> str:
        return self._band_of(tier)


def cheapest_first(config: RoutesConfig) -> tuple[str, ...]:
    """Tier names ordered by their first target's price (file order among equals): what "higher" means for
    the classifier's prompt and floor, eval, tune and stickiness."""

    def price(name: str) -> float:
        first = config.tiers[name].targets[0].price
        return first.input + first.output

    return tuple(sorted(config.tiers, key=price))


def compile_graph(loaded: LoadedConfig) -> EvaluationGraph:
    config, source = loaded.config, loaded.source
    problems: list[Problem] = []
    ctx = CompileContext(config.routing.keywords, lambda path, msg: source.problem(path, msg), problems, config.tiers)
    rpath: Path = ("routing",)
    rules = tuple(
        CompiledRule(
            rule.name,
            compile_condition(rule.when, (*rpath, "rules", i, "when"), ctx),
            rule.then.band,
            rule.then.tier,
            rule.then.confidence,
            rule.then.score or 0.0,
            frozenset(rule.then.require),
            rule.then.sticky,
        )
        for i, rule in enumerate(config.routing.rules)
    )
    scorers = ScorerBank.compile(config.routing.scorers, (*rpath, "scorers"), ctx)
    esc = config.routing.escalation
    escalation = compile_condition(esc.when, (*rpath, "escalation", "when"), ctx) if esc and esc.when else None
    keyword_routes: tuple[tuple[str, KeywordMatcher], ...] = ()
    if config.routing.keyword_mode is not None:
        keyword_routes = tuple((r.tier, ctx.matcher(r.keywords)) for r in config.routing.keyword_mode.routes)
    if any(p.severity == "error" for p in problems):  # a warning alone does not stop the file being served
        raise ConfigError([*problems, *loaded.warnings])
    settings = {
        "ask": AskReader.compile(config.routing.ask),
        "agent": AgentMarkers.compile(config.routing.agent),
        "openings": LRUCache(OPENINGS),
    }
    chains = TargetChains.compile(config)
    return EvaluationGraph(
        config,
        loaded.version,
        rules,
        scorers,
        escalation,
        keyword_routes,
        chains,
        settings,
        FsPath(loaded.source.file).resolve().parent,
        ModelNames.compile(config.routing.explicit.models),
        {chains.tiers[tier][i].key: p for (tier, i), p in loaded.profiles.items()},
        (*problems, *loaded.warnings),
    )
