"""Weighted scorers as one vector operation.

Every transform is a clamped ramp over a raw number (each transform's ``scale``, in
:mod:`tiergate.rules.transforms`), so compilation reduces each scorer to ``(extract, lo, hi)`` and
evaluation is ``clip((x - lo) / (hi - lo), 0, 1) @ weights``.

Weights are normalised at compile time, so the weighted sum is already in [0, 1].

    bank = ScorerBank.compile(config.routing.scorers, ("routing", "scorers"), ctx)
    scores, contributions = bank.evaluate(features)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from tiergate.config.problems import Path
from tiergate.rules.context import CompileContext
from tiergate.rules.features import Features

if TYPE_CHECKING:
    from tiergate.config.model import Scorer


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
            built = scorer.transform.scale(scorer.feature, ctx, here)
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
