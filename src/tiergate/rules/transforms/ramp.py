"""``ramp``: 0 at or below ``from``, 1 at or above ``to``, linear between."""

from __future__ import annotations

import msgspec

from tiergate.config.problems import Path
from tiergate.rules.context import CompileContext
from tiergate.rules.transforms.base import Scale, TransformBase, numeric


class Ramp(TransformBase, tag="ramp", frozen=True):
    """0 at or below `from`, 1 at or above `to`, linear between (`to` below `from` makes a descending ramp;
    they must differ)."""

    from_: float = msgspec.field(name="from")
    """Feature value that scores 0."""
    to: float
    """Feature value that scores 1; must differ from `from`."""

    def __post_init__(self) -> None:
        if self.to == self.from_:
            raise ValueError("a ramp needs `from` and `to` to differ")

    def scale(self, feature: str, ctx: CompileContext, path: Path) -> Scale | None:
        number = numeric(feature, ctx, path)
        return None if number is None else (number, self.from_, self.to)
