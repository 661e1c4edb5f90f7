"""``boolean``: 1 for a truthy feature."""

from __future__ import annotations

from tiergate.config.problems import Path
from tiergate.rules.context import CompileContext
from tiergate.rules.transforms.base import STEP, Scale, TransformBase


class Boolean(TransformBase, tag="boolean", frozen=True):
    """1 when the feature is truthy, else 0."""

    def scale(self, feature: str, ctx: CompileContext, path: Path) -> Scale | None:
        return (lambda f: 1.0 if f[feature] else 0.0), 1.0 - STEP, 1.0
