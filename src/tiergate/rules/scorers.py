"""Weighted scorers as one vector operation.

Every transform is a clamped ramp over a raw number, so compilation reduces each scorer to
``(extract, lo, hi)`` and evaluation is ``clip((x - lo) / (hi - lo), 0, 1) @ weights``:

- ramp ``from``/``to``: lo=from, hi=to (a descending ramp has hi < lo);
- threshold ``at``: a step just below ``at``;
- keywords: distinct hits, lo=0, hi=saturate;
- boolean: 0/1, a step at 1.

Weights are normalised at compile time, so the weighted sum is already in [0, 1].

    bank = ScorerBank.compile(config.routing.scorers, ("routing", "scorers"), ctx)
    scores, contributions = bank.evaluate(features)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tiergate.config.model import Boolean, KeywordDensity, Ramp, Scorer, Threshold
from tiergate.config.problems import Path
from tiergate.rules.conditions import CompileContext
from tiergate.rules.features import Features, kind_of

_STEP = 1e-9


@dataclass(frozen=True)
class ScorerBank:
    names: tuple[str, ...]
    features: tuple[str, ...]
    extractors: tuple[Callable[[Features], float], ...]
    lo: npt.NDArray[np.float64]
    span: npt.NDArray[np.float64]
    weights: npt.NDArray[np.float64]

    @classmethod
    def compile(cls, scorers: list[Scorer], path: Path, ctx: CompileContext) -> ScorerBank:
        names, feats, extractors, lo, hi, weights = [], [], [], [], [], []
        for i, scorer in enumerate(scorers):
            here = (*path, i)
            if not ctx.check_feature(scorer.feature, (*here, "feature")):
                continue
            built = _compile_one(scorer, here, ctx)
            if built is None:
                continue
            extract, low, high = built
            names.append(scorer.name)
            feats.append(scorer.feature)
            extractors.append(extract)
            lo.append(low)
            hi.append(high)
            weights.append(scorer.weight)
        w = np.asarray(weights, dtype=np.float64)
        total = w.sum()
        lo_arr = np.asarray(lo, dtype=np.float64)
        return cls(
            tuple(names),
            tuple(feats),
            tuple(extractors),
            lo_arr,
            np.asarray(hi, dtype=np.float64) - lo_arr,
            w / total if total > 0 else w,
        )

    def evaluate(self, f: Features) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], list[float]]:
        """(transformed values in [0,1], contributions to the score, raw values)."""
        if not self.extractors:
            empty = np.zeros(0)
            return empty, empty, []
        raw = [e(f) for e in self.extractors]
        values = np.clip((np.asarray(raw, dtype=np.float64) - self.lo) / self.span, 0.0, 1.0)
        return values, values * self.weights, raw


def _compile_one(
    scorer: Scorer, path: Path, ctx: CompileContext
) -> tuple[Callable[[Features], float], float, float] | None:
    name = scorer.feature
    t = scorer.transform
    kind = kind_of(name)
    if isinstance(t, KeywordDensity):
        if kind not in ("text", "str"):
            ctx.problems.append(
                ctx.problem(
                    (*path, "transform"), f"a keywords transform needs a text feature, and '{name}' is a {kind}"
                )
            )
            return None
        matcher = ctx.matcher(t.keywords)
        return (lambda f: float(len(f.keyword_hits(matcher, name)))), 0.0, float(t.saturate)
    if kind == "text":
        ctx.problems.append(ctx.problem((*path, "feature"), f"'{name}' is text; score it with a `keywords` transform"))
        return None

    def number(f: Features) -> float:
        return _as_float(f[name])

    if isinstance(t, Ramp):
        return number, t.from_, t.to
    if isinstance(t, Threshold):
        return number, t.at - _STEP, t.at
    assert isinstance(t, Boolean)
    return (lambda f: 1.0 if f[name] else 0.0), 1.0 - _STEP, 1.0


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
