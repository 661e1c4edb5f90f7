"""One dial between cost and quality: ``routing.quality_preference``, 0 (cheapest) to 1 (best).

The dial moves every threshold that decides "up a tier" together, the way a global quality-versus-speed
bias does, so an operator turns one knob instead of five numbers:

- the band thresholds ``bands.local`` and ``bands.claude`` (the complexity score's cuts);
- the learned head's cut-offs ``learned.cutoffs.sonnet`` and ``.opus`` (so ``learned.tier`` and the
  classifier's floor move too);
- ``escalation.score_at_least``.

Each threshold ``t`` moves in log-odds: ``logit(t') = logit(t) - 2 * span * (preference - 0.5)``. At 0.5
nothing moves (the thresholds are used exactly as written); towards 1 every threshold falls (more
requests go up), towards 0 every one rises. Log-odds keep thresholds inside (0, 1) and in their order
(``bands.local`` stays below ``bands.claude``), and a threshold of exactly 0 or 1 stays where it is.

A client may ask for its own preference with the ``x-tiergate-quality`` header; the file's
``quality.client_min`` and ``client_max`` bound it (a value outside is moved to the nearest limit and the
decision says so). A header that is not a number from 0 to 1 is a 400.

    dial = Dial.of(graph.config.routing, 0.7)     # None at 0.5
    phase1 = graph.phase1(features, dial)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

from tiergate.config.model import Bands, RoutingConfig
from tiergate.engine.decision import QualityOutcome
from tiergate.errors import RequestError
from tiergate.learned.scorer import Cutoffs
from tiergate.rules.features import Features
from tiergate.rules.learned import MEMO_KEY, Reading

HEADER = "x-tiergate-quality"
NEUTRAL = 0.5


def shift(threshold: float, preference: float, span: float) -> float:
    """``threshold`` moved by the dial: down towards 0 as ``preference`` rises above 0.5, up below it."""
    if preference == NEUTRAL or span == 0 or threshold <= 0.0 or threshold >= 1.0:
        return threshold
    logit = math.log(threshold / (1 - threshold)) - 2 * span * (preference - NEUTRAL)
    return 1 / (1 + math.exp(-logit))


@dataclass(frozen=True)
class Dial:
    """The thresholds one preference gives: what phase 1 and the learned tier read instead of the file's."""

    preference: float
    bands: Bands
    cutoffs: Cutoffs | None
    score_at_least: float | None

    @classmethod
    def of(cls, routing: RoutingConfig, preference: float) -> Dial | None:
        """None at 0.5 (or a span of 0): the file's thresholds are used exactly as written."""
        span = routing.quality.span
        if preference == NEUTRAL or span == 0:
            return None

        def move(t: float) -> float:
            return round(shift(t, preference, span), 6)

        bands = Bands(local=move(routing.bands.local), claude=move(routing.bands.claude))
        learned = routing.learned
        cutoffs = Cutoffs(sonnet=move(learned.cutoffs.sonnet), opus=move(learned.cutoffs.opus)) if learned else None
        esc = routing.escalation
        at_least = move(esc.score_at_least) if esc is not None and esc.score_at_least is not None else None
        return cls(preference, bands, cutoffs, at_least)

    def retier(self, f: Features) -> str | None:
        """Give the learned reading on ``f`` the tier (and ``learned.opus_alone``) of the moved cut-offs; the
        new tier, or None."""
        reading = f._memo.get(MEMO_KEY)
        if self.cutoffs is None or not isinstance(reading, Reading):
            return None
        tier = self.cutoffs.tier(reading.p_sonnet, reading.p_opus)
        alone = self.cutoffs.opus_alone(reading.p_sonnet, reading.p_opus)
        f._memo[MEMO_KEY] = dataclasses.replace(reading, tier=tier, opus_alone=alone)
        return tier

    def outcome(self, base: QualityOutcome) -> QualityOutcome:
        base.bands = {"local": round(self.bands.local, 4), "claude": round(self.bands.claude, 4)}
        if self.cutoffs is not None:
            base.cutoffs = {"sonnet": round(self.cutoffs.sonnet, 4), "opus": round(self.cutoffs.opus, 4)}
        if self.score_at_least is not None:
            base.score_at_least = round(self.score_at_least, 4)
        return base


def preference(routing: RoutingConfig, headers: Mapping[str, str], caller: float | None = None) -> QualityOutcome:
    """The preference for one request: the caller's (``tiergate eval``), else the client's header within the
    file's limits, else the file's. Raises RequestError for a header that is not a number from 0 to 1."""
    if caller is not None:
        return QualityOutcome(preference=caller, source="caller")
    raw = headers.get(HEADER)
    if raw is None:
        return QualityOutcome(preference=routing.quality_preference, source="file")
    try:
        asked = float(raw.strip())
    except ValueError:
        asked = math.nan
    if not 0.0 <= asked <= 1.0:  # also false for nan and inf
        raise RequestError(f"header {HEADER} must be a number from 0 to 1, got {raw[:40]!r}", param=HEADER)
    limits = routing.quality
    granted = min(max(asked, limits.client_min), limits.client_max)
    return QualityOutcome(preference=granted, source="header", requested=asked if granted != asked else None)
