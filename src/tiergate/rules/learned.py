"""The learned scorer's probabilities as request features, beside the structural ones.

The scorer (:mod:`tiergate.learned.scorer`) embeds the user's ask, runs the trained head and leaves a
:class:`Reading` on the request's features before phase 1; rules, scorers and the escalation then name
these features like any other. Without a reading (no learned scorer configured, or its weights or head
unusable) ``learned.available`` is false and the rest read as 0 / ``""``, so a rule can send such
requests somewhere safe, and nothing passes for a prediction.

    {feature: learned.p_sonnet, gte: 0.4}
    {feature: learned.tier, eq: opus}
    {feature: learned.available, eq: false}
    {feature: learned.unfamiliar, gte: 0.75}
    {feature: learned.opus_alone, eq: true}
"""

from __future__ import annotations

from dataclasses import dataclass

from tiergate.rules.features import Features, feature

MEMO_KEY = "learned"


@dataclass(frozen=True)
class Reading:
    """What the head said about one request: P(tier >= sonnet), P(tier = opus), and the tier its cut-offs give."""

    p_sonnet: float
    p_opus: float
    tier: str
    #: The share of the ask's words its encoder's vocabulary lacks (:mod:`tiergate.learned.vocabulary`).
    unfamiliar: float = 0.0
    #: P(opus) reached its cut-off while P(>= sonnet) stayed under its own (`learned.opus_alone`).
    opus_alone: bool = False


def reading(f: Features) -> Reading | None:
    found = f._memo.get(MEMO_KEY)
    return found if isinstance(found, Reading) else None


@feature(
    "bool",
    "The learned scorer read this request (false: not configured, or weights or head unusable).",
    name="learned.available",
)
def available(f: Features) -> bool:
    return reading(f) is not None


@feature(
    "number",
    "The learned head's probability that the request needs sonnet or above (0 when unavailable).",
    name="learned.p_sonnet",
)
def p_sonnet(f: Features) -> float:
    r = reading(f)
    return r.p_sonnet if r else 0.0


@feature(
    "number", "The learned head's probability that the request needs opus (0 when unavailable).", name="learned.p_opus"
)
def p_opus(f: Features) -> float:
    r = reading(f)
    return r.p_opus if r else 0.0


@feature(
    "number",
    "The share of the ask's word letters (`ask_prose`) in words the encoder's vocabulary lacks: near 1 for an ask "
    "in a language the encoder was not trained on, when its probabilities are a guess (0 when unavailable).",
    name="learned.unfamiliar",
)
def unfamiliar(f: Features) -> float:
    r = reading(f)
    return r.unfamiliar if r else 0.0


@feature(
    "str",
    "The tier the learned head's cut-offs give (`routing.learned.cutoffs`); empty when unavailable.",
    name="learned.tier",
    values=("local", "sonnet", "opus", ""),  # Cutoffs.tier, or unavailable
)
def tier(f: Features) -> str:
    r = reading(f)
    return r.tier if r else ""


@feature(
    "bool",
    "The head's P(opus) reached its cut-off while its P(>= sonnet) stayed under its own: its tier is opus, though "
    "P(>= sonnet) alone reads local (both cut-offs are `routing.learned.cutoffs`, which `tiergate train --write` "
    "sets; false when unavailable).",
    name="learned.opus_alone",
)
def opus_alone(f: Features) -> bool:
    r = reading(f)
    return r.opus_alone if r else False
