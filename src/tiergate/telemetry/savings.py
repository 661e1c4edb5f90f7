"""What routing saved over a window, against named baselines: every request on one tier.

A baseline prices the window's token counts (of the requests that reported usage) at that tier's first
target price in the live routes.yaml, prompt-cache reads and writes at that price's ``cache_read`` and
``cache_write`` (as :func:`tiergate.telemetry.cost.cost_usd` does; rows logged before the cache counts were
kept count as uncached); the actual cost is what the log recorded for the same requests.
A saving is the baseline minus the actual cost: negative when routing cost more (e.g. much opus
traffic against an always-Sonnet baseline), and shown so.

    baselines = price_baselines(window, runtime.graph.chains.tiers)
    [(b.name, b.cost_usd, b.saving_usd) for b in baselines]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from tiergate.config.model import Price
from tiergate.engine.targets import Target
from tiergate.telemetry.cost import cost_usd
from tiergate.telemetry.queries import Window
from tiergate.wire import Usage

#: The console's baselines: name → the tier every request would have gone to.
BASELINES: tuple[tuple[str, str], ...] = (("always-opus", "opus"), ("always-sonnet", "sonnet"))


class Baseline(msgspec.Struct):
    name: str
    tier: str
    #: None when the rules have no such tier (``reason`` says so).
    price: Price | None
    cost_usd: float | None
    actual_usd: float
    saving_usd: float | None
    #: The saving as a share of the baseline's cost; None when the baseline costs nothing.
    saving_share: float | None
    reason: str | None = None


def price_baselines(window: Window, tiers: Mapping[str, Sequence[Target]]) -> list[Baseline]:
    prompt = sum(t.prompt_tokens for t in window.tiers)
    completion = sum(t.completion_tokens for t in window.tiers)
    cached = sum(t.cached_tokens for t in window.tiers)
    written = sum(t.cache_write_tokens for t in window.tiers)
    usage = Usage(prompt, completion, prompt + completion, cached, written)
    # Like with like: the baselines price the token counts of the requests that reported usage, so the
    # actual cost is theirs too (an estimated row's cost is spend, but has no tokens to re-price).
    actual = float(sum(t.counted_cost_usd for t in window.tiers))
    out: list[Baseline] = []
    for name, tier in BASELINES:
        targets = tiers.get(tier)
        if not targets:
            reason = f"routes.yaml has no tier named {tier}"
            out.append(Baseline(name, tier, None, None, actual, None, None, reason))
            continue
        price = targets[0].price
        cost = cost_usd(price, usage)
        saving = cost - actual
        out.append(Baseline(name, tier, price, cost, actual, saving, saving / cost if cost > 0 else None))
    return out
