"""Which part of the router settled a decision: what the console's "decided by" share counts.

A decision's ``phase`` says explicit, heuristic, llm_classifier or fallback; ``heuristic`` covers both a
rule that forced the band (or a fixed/keyword mode) and the score of the weighted scorers, which in the
default rules is the learned scorer's probability. The operator asks which of those did the work.

    decided_by(decision)   # "explicit" | "rules" | "learned" | "classifier" | "fallback"
"""

from __future__ import annotations

from typing import Literal

from tiergate.engine.decision import RoutingDecision

DecidedBy = Literal["explicit", "rules", "learned", "classifier", "fallback"]
#: Every value, in the order the console shows them.
DECIDED_BY: tuple[DecidedBy, ...] = ("explicit", "rules", "learned", "classifier", "fallback")
#: The signal of ``routing.escalation``: it picks opus over sonnet once the band is settled; it decides nothing here.
ESCALATION = "escalation"
_PHASES: dict[str, DecidedBy] = {"explicit": "explicit", "llm_classifier": "classifier", "fallback": "fallback"}


def decided_by(decision: RoutingDecision) -> DecidedBy:
    """``rules`` when a rule forced the band or tier (or the mode fixed it); ``learned`` when the score
    decided and the learned scorer had read the request; the score alone, without it, counts as ``rules``."""
    mapped = _PHASES.get(decision.phase)
    if mapped is not None:
        return mapped
    forced = any(
        s.kind == "mode" or (s.kind == "rule" and s.name != ESCALATION and _forces(s.action)) for s in decision.signals
    )
    if forced:
        return "rules"
    learned = decision.learned
    return "learned" if learned is not None and learned.available else "rules"


def _forces(action: str | None) -> bool:
    return action is not None and any(part.startswith(("band=", "tier=")) for part in action.split())
