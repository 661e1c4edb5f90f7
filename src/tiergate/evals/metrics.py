"""Routing quality as numbers: what was routed where, against what should have been.

Tiers are ranked cheapest first by their first target's price (``input + output``; file order among
equal prices), so "predicted ≥ gold" compares ranks. Every metric is a share of all cases:

- **accuracy** — predicted == gold;
- **sufficiency** — predicted ≥ gold (the answer is good enough, perhaps dearer than needed);
- **under-routing** — predicted < gold; **severe** — gold is the dearest tier and predicted the cheapest;
- **over-routing** — predicted > gold; **severe** — gold is the cheapest tier and predicted the dearest;
- **phase-1 share** — decisions phase 1 made without the classifier (band not AMBIGUOUS);
- **cost** — per case, ``input tokens * input price + output tokens * output price``. Input tokens are the
  request's ``approx_tokens``; output tokens are an estimate by gold tier (:data:`OUTPUT_TOKENS`: harder
  work gets longer answers) or one fixed number. **Saved** is ``1 - cost / cost of always the dearest tier``;
  the **oracle** routes every case to its gold tier.

For scored sets (strong and weak model scores per request) :func:`apgr` computes RouteLLM's average
performance gap recovered over a sweep of the decision score.

    table = TierTable.of(config)
    report = score_labelled(outcomes, table)
    report.sufficiency, report.saved
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from tiergate.config.model import Price, RoutesConfig
from tiergate.engine.graph import cheapest_first

#: Estimated output tokens for a case whose gold tier has rank 0, 1, 2 (and beyond: the last).
OUTPUT_TOKENS = (300, 800, 1500)


@dataclass(frozen=True)
class TierTable:
    """Tier names cheapest first, and the price of each tier's first target (USD per million tokens)."""

    order: tuple[str, ...]
    prices: dict[str, Price]

    @classmethod
    def of(cls, config: RoutesConfig) -> TierTable:
        """The classifier's ordering (:func:`~tiergate.engine.classifier.cheapest_first`), so eval, tune,
        stickiness and the classifier prompt agree on which tier is "higher"."""
        prices = {name: tier.targets[0].price for name, tier in config.tiers.items()}
        return cls(cheapest_first(config), prices)

    def rank(self, tier: str) -> int:
        return self.order.index(tier)

    @property
    def cheapest(self) -> str:
        return self.order[0]

    @property
    def dearest(self) -> str:
        return self.order[-1]

    def cost(self, tier: str, input_tokens: float, output_tokens: float) -> float:
        price = self.prices[tier]
        return (input_tokens * price.input + output_tokens * price.output) / 1e6


@dataclass(frozen=True)
class Outcome:
    """One case's routing: the tier it went to and what phase 1 made of it."""

    id: str
    predicted: str
    band: str
    phase: str
    input_tokens: int
    gold: str | None = None
    decision_score: float = 0.0
    strong_score: float | None = None
    weak_score: float | None = None
    #: Why the classifier gave no answer for this AMBIGUOUS case (phase ``fallback``), else None.
    classifier_error: str | None = None

    @property
    def by_phase1(self) -> bool:
        return self.band != "AMBIGUOUS"


@dataclass
class Report:
    n: int
    tiers: tuple[str, ...]
    confusion: list[list[int]]  # [gold rank][predicted rank]
    accuracy: float
    sufficiency: float
    under: float
    severe_under: float
    over: float
    severe_over: float
    phase1_share: float
    cost: float
    cost_dearest: float
    cost_oracle: float
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def saved(self) -> float:
        return 1 - self.cost / self.cost_dearest if self.cost_dearest > 0 else 0.0

    @property
    def oracle_saved(self) -> float:
        return 1 - self.cost_oracle / self.cost_dearest if self.cost_dearest > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "tiers": list(self.tiers),
            "confusion": {
                "rows_gold_cols_predicted": list(self.tiers),
                "matrix": self.confusion,
            },
            "accuracy": self.accuracy,
            "sufficiency": self.sufficiency,
            "under_routing": self.under,
            "severe_under_routing": self.severe_under,
            "over_routing": self.over,
            "severe_over_routing": self.severe_over,
            "phase1_share": self.phase1_share,
            "cost_usd": self.cost,
            "cost_always_dearest_usd": self.cost_dearest,
            "cost_oracle_usd": self.cost_oracle,
            "saved_vs_dearest": self.saved,
            "oracle_saved_vs_dearest": self.oracle_saved,
            "counts": self.counts,
        }


def output_tokens(gold_rank: int, fixed: int | None = None) -> int:
    if fixed is not None:
        return fixed
    return OUTPUT_TOKENS[min(gold_rank, len(OUTPUT_TOKENS) - 1)]


def score_labelled(outcomes: Sequence[Outcome], table: TierTable, fixed_output: int | None = None) -> Report:
    """The report for a labelled set. Raises ValueError on an empty set or an unknown tier."""
    if not outcomes:
        raise ValueError("no cases to score")
    k = len(table.order)
    gold = np.array([table.rank(o.gold or "") for o in outcomes])
    pred = np.array([table.rank(o.predicted) for o in outcomes])
    confusion = np.zeros((k, k), dtype=int)
    np.add.at(confusion, (gold, pred), 1)
    top = k - 1
    cost = cost_dearest = cost_oracle = 0.0
    for o, g in zip(outcomes, gold, strict=True):
        out = output_tokens(int(g), fixed_output)
        cost += table.cost(o.predicted, o.input_tokens, out)
        cost_dearest += table.cost(table.dearest, o.input_tokens, out)
        cost_oracle += table.cost(table.order[int(g)], o.input_tokens, out)
    counts = {
        "correct": int((pred == gold).sum()),
        "sufficient": int((pred >= gold).sum()),
        "under": int((pred < gold).sum()),
        "severe_under": int(((gold == top) & (pred == 0)).sum()) if top > 0 else 0,
        "over": int((pred > gold).sum()),
        "severe_over": int(((gold == 0) & (pred == top)).sum()) if top > 0 else 0,
        "phase1": sum(1 for o in outcomes if o.by_phase1),
    }
    n = len(outcomes)
    return Report(
        n=n,
        tiers=table.order,
        confusion=confusion.tolist(),
        accuracy=counts["correct"] / n,
        sufficiency=counts["sufficient"] / n,
        under=counts["under"] / n,
        severe_under=counts["severe_under"] / n,
        over=counts["over"] / n,
        severe_over=counts["severe_over"] / n,
        phase1_share=counts["phase1"] / n,
        cost=cost,
        cost_dearest=cost_dearest,
        cost_oracle=cost_oracle,
        counts=counts,
    )


# --- APGR (RouteLLM) ------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepPoint:
    threshold: float
    strong_share: float
    performance: float


@dataclass
class ApgrReport:
    """``apgr`` is None when the strong and weak models score the same on average (no gap to recover)."""

    apgr: float | None
    strong_performance: float
    weak_performance: float
    points: list[SweepPoint]
    operating_share: float
    operating_performance: float

    @property
    def operating_pgr(self) -> float | None:
        gap = self.strong_performance - self.weak_performance
        return (self.operating_performance - self.weak_performance) / gap if gap else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "apgr": self.apgr,
            "strong_performance": self.strong_performance,
            "weak_performance": self.weak_performance,
            "operating_point": {
                "strong_share": self.operating_share,
                "performance": self.operating_performance,
                "pgr": self.operating_pgr,
            },
            "sweep": [
                {"threshold": p.threshold, "strong_share": p.strong_share, "performance": p.performance}
                for p in self.points
            ],
        }


def apgr(
    scores: Sequence[float],
    strong: Sequence[float],
    weak: Sequence[float],
    routed_strong: Sequence[bool],
    n_thresholds: int = 10,
) -> ApgrReport:
    """RouteLLM's APGR: thresholds at the ``n_thresholds``-quantile edges of the decision score; at each,
    requests scoring ≥ it go to the strong model (above it, for the last edge, so the sweep reaches 0%).
    The area under performance-vs-strong-share, less the weak model's area, over the strong model's
    area less the weak model's. ``routed_strong`` is what the configured router actually did."""
    s = np.asarray(scores, dtype=np.float64)
    hi = np.asarray(strong, dtype=np.float64)
    lo = np.asarray(weak, dtype=np.float64)
    if not len(s):
        raise ValueError("no cases to score")
    edges = np.quantile(s, np.linspace(0, 1, n_thresholds + 1))
    points = []
    for i, t in enumerate(edges):
        chosen = s > t if i == len(edges) - 1 else s >= t
        points.append(SweepPoint(float(t), float(chosen.mean()), float(np.where(chosen, hi, lo).mean())))
    points.sort(key=lambda p: p.strong_share)
    x = np.array([p.strong_share for p in points])
    y = np.array([p.performance for p in points])
    strong_perf, weak_perf = float(hi.mean()), float(lo.mean())
    width = float(x[-1] - x[0])
    area = _trapezoid(y, x)
    gap = (strong_perf - weak_perf) * width
    value = (area - weak_perf * width) / gap if gap else None
    picked = np.asarray(routed_strong, dtype=bool)
    return ApgrReport(
        value,
        strong_perf,
        weak_perf,
        points,
        float(picked.mean()),
        float(np.where(picked, hi, lo).mean()),
    )


def _trapezoid(y: npt.NDArray[np.float64], x: npt.NDArray[np.float64]) -> float:
    return float(((y[1:] + y[:-1]) / 2 * np.diff(x)).sum())
