"""``keywords``: how many distinct keywords of a list a text feature holds."""

from __future__ import annotations

from tiergate.config.base import Keywords, PositiveInt
from tiergate.config.problems import Path, did_you_mean
from tiergate.rules.context import CompileContext
from tiergate.rules.features import kind_of
from tiergate.rules.transforms.base import Scale, TransformBase


class KeywordDensity(TransformBase, tag="keywords", frozen=True):
    """Distinct keyword hits in a text feature, divided by `saturate` and capped at 1."""

    keywords: str | Keywords
    """The name of a list under `routing.keywords`, or the keywords themselves."""
    saturate: PositiveInt = 3
    """Distinct hits that score 1."""

    def scale(self, feature: str, ctx: CompileContext, path: Path) -> Scale | None:
        kind = kind_of(feature)
        if kind not in ("text", "str"):
            ctx.report((*path, "transform"), f"a keywords transform needs a text feature, and '{feature}' is a {kind}")
            return None
        if isinstance(self.keywords, str) and self.keywords not in ctx.keyword_lists:
            known = list(ctx.keyword_lists)
            ctx.report(
                (*path, "transform", "keywords"),
                f"unknown keyword list '{self.keywords}'{did_you_mean(self.keywords, known)}",
            )
            return None
        matcher = ctx.matcher(self.keywords)
        return (lambda f: float(len(f.keyword_hits(matcher, feature)))), 0.0, float(self.saturate)
