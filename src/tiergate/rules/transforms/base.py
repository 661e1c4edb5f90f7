"""The transform seam: a scorer's transform turns a feature into a number in [0, 1].

Every transform compiles to a clamped ramp over one raw number, ``(extract, lo, hi)``, so the scorer
bank evaluates all of them as one vector operation. A transform is one file in this package: a tagged
Struct (its ``kind`` and settings) whose ``scale`` compiles it; the package finds it by itself.

    class Threshold(TransformBase, tag="threshold"):
        at: float
        def scale(self, feature, ctx, path): return number(feature), self.at - STEP, self.at
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from tiergate.config.base import Strict
from tiergate.config.problems import Path
from tiergate.rules.context import CompileContext
from tiergate.rules.features import Features, kind_of

Scale = tuple[Callable[[Features], float], float, float]
#: A step just below a threshold, so ``x >= at`` scores exactly 1.
STEP = 1e-9


class TransformBase(Strict, tag_field="kind", frozen=True):
    def scale(self, feature: str, ctx: CompileContext, path: Path) -> Scale | None:
        """``(extract, lo, hi)`` for ``feature``, or None after reporting why it cannot score it."""
        raise NotImplementedError


def numeric(feature: str, ctx: CompileContext, path: Path) -> Callable[[Features], float] | None:
    """The feature as a float (0 when it is not a number); text features are refused."""
    if kind_of(feature) == "text":
        ctx.report((*path, "feature"), f"'{feature}' is text; score it with a `keywords` transform")
        return None

    def number(f: Features) -> float:
        return as_float(f[feature])

    return number


def as_float(value: Any) -> float:
    """``value`` as a finite number, else 0: a header or metadata value of ``nan`` or ``inf`` (a client's
    text) is no number, and a NaN would make the whole score NaN, which the bands read as LOCAL."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def just_below(at: float) -> float:
    """The low end of a step at ``at``: ``at - STEP``, or the float just below ``at`` where ``STEP`` is lost
    in rounding (from about 1e7), so that ``x >= at`` still scores exactly 1 and a lower value 0."""
    return min(at - STEP, math.nextafter(at, -math.inf))
