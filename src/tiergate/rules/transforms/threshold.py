"""``threshold``: a step at ``at``."""

from __future__ import annotations

from tiergate.config.problems import Path
from tiergate.rules.context import CompileContext
from tiergate.rules.transforms.base import Scale, TransformBase, just_below, numeric


class Threshold(TransformBase, tag="threshold", frozen=True):
    """1 when the feature is at least `at`, else 0."""

    at: float
    """The feature value from which the score is 1."""

    def scale(self, feature: str, ctx: CompileContext, path: Path) -> Scale | None:
        number = numeric(feature, ctx, path)
        return None if number is None else (number, just_below(self.at), self.at)
