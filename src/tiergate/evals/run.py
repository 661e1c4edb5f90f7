"""``tiergate eval``: route every case of an evaluation set through a rule file and report the quality.

Each request goes through the same :class:`~tiergate.engine.router.Router` the gateway uses, offline:
explicit choices are honoured, phase 1 runs, and AMBIGUOUS requests go to ``band_tiers.ambiguous``
unless ``classify=True``, which asks the configured classifier (a live model). No stickiness: every
case is its own conversation.

    tiergate eval --config routes.yaml evals/test.jsonl
    tiergate eval --config routes.yaml --classify --misses evals/test.jsonl
    tiergate eval --config routes.yaml scored.jsonl          # {messages, strong_score, weak_score}: APGR
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tiergate.backends.registry import build_backend
from tiergate.dispatch.dispatcher import Dispatcher
from tiergate.engine.classifier import ClassifierPool
from tiergate.engine.decision import ClassifierOutcome
from tiergate.engine.graph import EvaluationGraph, Phase1
from tiergate.engine.quality import Dial
from tiergate.engine.router import Learned, Phase2, Router
from tiergate.evals.dataset import Dataset
from tiergate.evals.metrics import OUTPUT_TOKENS, ApgrReport, Outcome, Report, TierTable, apgr, score_labelled
from tiergate.learned.scorer import LearnedPool
from tiergate.redact import Redactor


@dataclass(frozen=True)
class EvalOptions:
    classify: bool = False
    output_tokens: int | None = None
    sweep: int = 10
    #: Points of the cost/quality curve over ``routing.quality_preference`` (0 to 1); 0 skips it.
    curve: int = 11


def decision_score(p1: Phase1, cheapest: str) -> float:
    """The number a threshold sweep cuts: phase 1's score, or 0/1 when a rule forced the band or tier
    (forced to the cheapest tier → 0, elsewhere → 1)."""
    if p1.forced:
        return 0.0 if p1.tier == cheapest else 1.0
    return p1.score


async def route_all(
    graph: EvaluationGraph,
    data: Dataset,
    *,
    classifier: Phase2 | None = None,
    learned: Learned | None = None,
    quality: float | None = None,
) -> list[Outcome]:
    """Route every case; the classifier (if given) is asked for AMBIGUOUS ones. ``quality`` sets the
    cost/quality dial instead of the file's ``routing.quality_preference``."""
    router = Router(graph, classifier=classifier, learned=learned)
    cheapest = TierTable.of(graph.config).cheapest
    dial = Dial.of(graph.config.routing, quality) if quality is not None else None
    outcomes = []
    for case in data.cases:
        f = graph.features(case.request)
        routed = await router.decide(case.request, {}, features=f, classify=classifier is not None, quality=quality)
        p1 = graph.phase1(f, dial)  # again, for the decision score (the learned reading is on f now)
        d = routed.decision
        outcomes.append(
            Outcome(
                id=case.id,
                predicted=d.tier,
                band=d.band,
                phase=d.phase,
                input_tokens=int(f["approx_tokens"]),
                gold=case.gold,
                decision_score=decision_score(p1, cheapest),
                strong_score=case.strong_score,
                weak_score=case.weak_score,
                classifier_error=_failure(d.classifier) if d.phase == "fallback" else None,
            )
        )
    return outcomes


def _failure(outcome: ClassifierOutcome | None) -> str:
    """What went wrong with the classifier, as the decision records it: its error, else its outcome."""
    if outcome is None:
        return "no answer"
    return f"{outcome.outcome}: {outcome.error}" if outcome.error else outcome.outcome


def classifier_failures(outcomes: Sequence[Outcome]) -> tuple[int, int, str | None]:
    """(AMBIGUOUS cases the classifier gave no answer for, AMBIGUOUS cases, the first one's error)."""
    ambiguous = [o for o in outcomes if o.band == "AMBIGUOUS"]
    failed = [o for o in ambiguous if o.phase == "fallback"]
    return len(failed), len(ambiguous), failed[0].classifier_error if failed else None


def render_classifier(outcomes: Sequence[Outcome]) -> list[str]:
    """``classifier failed on N of M AMBIGUOUS cases (first failure: ...)``: its failures are routed as with it off."""
    failed, ambiguous, first = classifier_failures(outcomes)
    if not failed:
        return [f"classifier failed on 0 of {ambiguous} AMBIGUOUS cases"]
    return [
        f"classifier failed on {failed} of {ambiguous} AMBIGUOUS cases (first failure: {first}); "
        "those went to band_tiers.ambiguous as with the classifier off"
    ]


@dataclass(frozen=True)
class CurvePoint:
    """The labelled set routed at one setting of the dial."""

    preference: float
    report: Report
    shares: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        r = self.report
        return {
            "preference": self.preference,
            "shares": self.shares,
            "accuracy": r.accuracy,
            "sufficiency": r.sufficiency,
            "under_routing": r.under,
            "severe_under_routing": r.severe_under,
            "over_routing": r.over,
            "cost_usd": r.cost,
            "saved_vs_dearest": r.saved,
        }


def curve_points(points: int) -> list[float]:
    """``points`` evenly spaced preferences from 0 to 1 (0.5 among them when ``points`` is odd)."""
    if points < 2:
        return [0.5] if points == 1 else []
    return [round(i / (points - 1), 4) for i in range(points)]


async def quality_curve(
    graph: EvaluationGraph, data: Dataset, options: EvalOptions, learned: Learned | None
) -> list[CurvePoint]:
    """The labelled set routed at each point of the dial, classifier off: what each setting costs and
    how often it answers well. The learned scorer's embeddings are cached, so each extra point costs the
    rules, not the encoder."""
    table = TierTable.of(graph.config)
    found = []
    for point in curve_points(options.curve):
        outcomes = await route_all(graph, data, learned=learned, quality=point)
        report = score_labelled(outcomes, table, options.output_tokens)
        n = len(outcomes)
        shares = {tier: sum(o.predicted == tier for o in outcomes) / n for tier in table.order}
        found.append(CurvePoint(point, report, shares))
    return found


async def evaluate(
    graph: EvaluationGraph, data: Dataset, options: EvalOptions, environ: Mapping[str, str] | None = None
) -> list[Outcome]:
    """Route the set (see :func:`evaluate_with_curve` for the dial's curve too)."""
    outcomes, _ = await evaluate_with_curve(graph, data, dataclasses.replace(options, curve=0), environ)
    return outcomes


async def evaluate_with_curve(
    graph: EvaluationGraph, data: Dataset, options: EvalOptions, environ: Mapping[str, str] | None = None
) -> tuple[list[Outcome], list[CurvePoint]]:
    """Route the set; with ``options.classify`` build the configured classifier for the run and close it after."""
    data.check_tiers(graph.config.tiers)
    pool = LearnedPool()
    try:
        learned = pool.build(graph)
        wants_curve = data.kind == "labelled" and graph.config.routing.mode == "local_first" and options.curve > 0
        curve = await quality_curve(graph, data, options, learned) if wants_curve else []
        if not options.classify:
            return await route_all(graph, data, learned=learned), curve
        cfg = graph.config.routing.classifier
        if cfg is None:
            raise ValueError("--classify: the config has no routing.classifier section")
        environ = os.environ if environ is None else environ
        backend = build_backend(cfg.backend, graph.config.backends[cfg.backend], environ)
        # the report quotes the classifier's first failure: scrubbed as the gateway's dispatch scrubs it
        dispatcher = Dispatcher({cfg.backend: backend}, redact=Redactor.of(graph.config, environ))
        try:
            classifier = ClassifierPool().build(graph, dispatcher)
            return await route_all(graph, data, classifier=classifier, learned=learned), curve
        finally:
            with contextlib.suppress(Exception):
                await backend.aclose()
    finally:
        pool.close()


# --- reports --------------------------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{100 * x:5.1f}%"


def render_report(report: Report, table: TierTable, options: EvalOptions) -> list[str]:
    """The labelled-set report as text lines (also used by ``tiergate tune``)."""
    width = max(8, *(len(t) + 2 for t in table.order))
    lines = ["confusion (rows: gold, columns: predicted)", " " * 10 + "".join(f"{t:>{width}}" for t in table.order)]
    for tier, row in zip(table.order, report.confusion, strict=True):
        lines.append(f"  {tier:<8}" + "".join(f"{v:>{width}}" for v in row))
    c, n = report.counts, report.n
    top, low = table.dearest, table.cheapest
    lines += [
        "",
        f"exact accuracy              {_pct(report.accuracy)}  ({c['correct']}/{n})",
        f"sufficiency (pred >= gold)  {_pct(report.sufficiency)}  ({c['sufficient']}/{n})",
        f"under-routing               {_pct(report.under)}  ({c['under']}/{n})",
        f"  severe ({top} -> {low})"[:28].ljust(28) + f"{_pct(report.severe_under)}  ({c['severe_under']}/{n})",
        f"over-routing                {_pct(report.over)}  ({c['over']}/{n})",
        f"  severe ({low} -> {top})"[:28].ljust(28) + f"{_pct(report.severe_over)}  ({c['severe_over']}/{n})",
        f"decided by phase 1          {_pct(report.phase1_share)}  ({c['phase1']}/{n}, the rest were AMBIGUOUS)",
        f"estimated cost              ${report.cost:.4f} vs always-{top} ${report.cost_dearest:.4f}: "
        f"saved {_pct(report.saved).strip()} (oracle: {_pct(report.oracle_saved).strip()})",
        "  " + _token_note(table, options),
    ]
    return lines


def _token_note(table: TierTable, options: EvalOptions) -> str:
    prices = ", ".join(f"{t} ${table.prices[t].input:g}/${table.prices[t].output:g}" for t in table.order)
    if options.output_tokens is not None:
        out = f"{options.output_tokens} output tokens per case"
    else:
        per = [f"{t} {OUTPUT_TOKENS[min(i, len(OUTPUT_TOKENS) - 1)]}" for i, t in enumerate(table.order)]
        out = "output tokens by gold tier: " + ", ".join(per)
    return f"input tokens = approx_tokens; {out}; price per 1M tokens in/out: {prices}"


def render_misses(outcomes: Sequence[Outcome], data: Dataset, table: TierTable, every: bool) -> list[str]:
    """Under-routed cases (and, with ``every``, all misrouted ones): id, gold -> predicted, band, why."""
    why = {c.id: c.why for c in data.cases}
    rows = []
    for o in outcomes:
        g, p = table.rank(o.gold or ""), table.rank(o.predicted)
        if p < g or (every and p != g):
            mark = "UNDER" if p < g else "over "
            rows.append(f"  {mark} {o.id}: {o.gold} -> {o.predicted} ({o.band}, {o.phase}) — {why.get(o.id, '')}")
    if not rows:
        return []
    title = "misrouted cases" if every else "under-routed cases"
    return ["", f"{title} ({len(rows)}):", *rows]


def render_apgr(result: ApgrReport, table: TierTable) -> list[str]:
    strong = ", ".join(table.order[1:])
    lines = [
        f"strong = any tier above {table.cheapest} ({strong}); weak = {table.cheapest}",
        f"strong model mean score {result.strong_performance:.4f}, weak {result.weak_performance:.4f}",
        "APGR "
        + (f"{result.apgr:.4f}" if result.apgr is not None else "undefined (no gap between the models)")
        + f" over {len(result.points)} thresholds of the decision score",
        f"as configured: {_pct(result.operating_share).strip()} to strong, mean score "
        f"{result.operating_performance:.4f}"
        + (f" (PGR {result.operating_pgr:.4f})" if result.operating_pgr is not None else ""),
        "",
        "  threshold  strong share  mean score",
    ]
    for p in result.points:
        lines.append(f"  {p.threshold:9.4f}  {_pct(p.strong_share):>12}  {p.performance:10.4f}")
    return lines


def render_curve(curve: Sequence[CurvePoint], table: TierTable, configured: float) -> list[str]:
    """The cost/quality curve as a table: one row per preference, the file's own marked with ``*``."""
    if not curve:
        return []
    shares = "".join(f"{t:>8}" for t in table.order)
    lines = [
        "",
        "cost/quality over routing.quality_preference (classifier off; * the file's value)",
        f"  preference{shares}  accuracy  sufficiency   under  severe   saved",
    ]
    for p in curve:
        r = p.report
        mark = "*" if abs(p.preference - configured) < 1e-9 else " "
        row = "".join(f"{_pct(p.shares[t]):>8}" for t in table.order)
        lines.append(
            f"  {p.preference:9.2f}{mark}{row}  {_pct(r.accuracy):>8}  {_pct(r.sufficiency):>11}"
            f"  {_pct(r.under):>6}  {_pct(r.severe_under):>6}  {_pct(r.saved):>6}"
        )
    return lines


def report_dict(
    outcomes: Sequence[Outcome],
    data: Dataset,
    table: TierTable,
    options: EvalOptions,
    curve: Sequence[CurvePoint] = (),
) -> dict[str, Any]:
    out: dict[str, Any] = {"dataset": data.path, "kind": data.kind, "classifier": options.classify}
    if options.classify:
        failed, ambiguous, first = classifier_failures(outcomes)
        out["classifier_failures"] = {"failed": failed, "ambiguous": ambiguous, "first_error": first}
    if data.kind == "labelled":
        out["report"] = score_labelled(outcomes, table, options.output_tokens).to_dict()
        out["curve"] = [p.to_dict() for p in curve]
    else:
        out["apgr"] = scored(outcomes, table, options).to_dict()
    out["cases"] = [dataclasses.asdict(o) for o in outcomes]
    return out


def scored(outcomes: Sequence[Outcome], table: TierTable, options: EvalOptions) -> ApgrReport:
    return apgr(
        [o.decision_score for o in outcomes],
        [o.strong_score or 0.0 for o in outcomes],
        [o.weak_score or 0.0 for o in outcomes],
        [o.predicted != table.cheapest for o in outcomes],
        options.sweep,
    )


def render(
    outcomes: Sequence[Outcome],
    data: Dataset,
    graph: EvaluationGraph,
    config_path: Path,
    options: EvalOptions,
    *,
    misses: bool = False,
    curve: Sequence[CurvePoint] = (),
) -> str:
    table = TierTable.of(graph.config)
    mode = "classifier on" if options.classify else "classifier off"
    head = (
        f"tiergate eval: {config_path} (rules {graph.version}) on {data.path}: "
        f"{len(outcomes)} {data.kind} cases, {mode}"
    )
    lines = [head, *(render_classifier(outcomes) if options.classify else []), ""]
    if data.kind == "labelled":
        lines += render_report(score_labelled(outcomes, table, options.output_tokens), table, options)
        lines += render_curve(curve, table, graph.config.routing.quality_preference)
        lines += render_misses(outcomes, data, table, every=misses)
    else:
        lines += render_apgr(scored(outcomes, table, options), table)
    return "\n".join(lines) + "\n"
