"""What a request cost, and what it would have cost on the always-Opus reference.

Prices come from routes.yaml (``price: {input, output, cache_read, cache_write}`` on each target, US
dollars per million tokens); a target without a price (a local model) costs nothing. Prompt tokens read
from or written to a prompt cache cost ``cache_read`` and ``cache_write``, or the input price when those
are not given (so a count errs high, never low). The reference answers "what if
every request had gone to the strongest model": the first target of the tier named ``opus`` when
the file declares one, else the most expensive target of any tier (reports call it ``always-<its tier>``:
:func:`reference_label`).

A decision-log row's ``cost_usd`` is the whole request's; an attempt it fell back from after the upstream's
200 has its own part in ``attempts_json``, which belongs to that attempt's tier (:func:`attempt_costs`):
spend's restore, ``tiergate stats`` and the console split a row's cost the same way.

    reference = reference_price(runtime.graph.chains.tiers)
    cost_usd(target.price, usage), cost_usd(reference, usage)
    attempt_costs(row_attempts_json)   # [("opus", 0.0123)]
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from tiergate.config.model import Price
from tiergate.engine.targets import Target
from tiergate.wire import Usage

#: The tier whose price is the "always-Opus" reference when the file declares it.
REFERENCE_TIER = "opus"
_PER = 1_000_000
#: ``attempts_json`` holds an attempt's cost: a ``LIKE`` pattern (passed as a parameter: ``%`` is psycopg's
#: placeholder mark) that picks the rows whose cost is split between tiers.
ATTEMPT_COST = '%"cost_usd":%'
#: The ``outcome`` of what routing spent in ``attempts_json`` (the classifier's call): not an attempt.
ROUTING = "routing"


def cost_usd(price: Price, usage: Usage) -> float:
    """US dollars for ``usage`` at ``price`` (per million tokens): uncached prompt tokens at the input price,
    cache reads at ``cache_read`` and cache writes at ``cache_write`` (each the input price when unset),
    output tokens at the output price.

        cost_usd(Price(input=3, output=15, cache_read=0.3), Usage.of(10010, 20, cached=10000))   # 0.00333
    """
    read = price.input if price.cache_read is None else price.cache_read
    write = price.input if price.cache_write is None else price.cache_write
    prompt = usage.uncached_prompt_tokens * price.input
    prompt += usage.cached_tokens * read + usage.cache_write_tokens * write
    return (prompt + usage.completion_tokens * price.output) / _PER


def reference_target(tiers: Mapping[str, Sequence[Target]]) -> Target | None:
    """The always-Opus target: tier ``opus``'s first target, else the priciest target anywhere (the first
    listed of equals); None without targets.

    "Priciest" compares input + output price, then output price."""
    preferred = tiers.get(REFERENCE_TIER)
    if preferred:
        return preferred[0]
    targets = [t for targets in tiers.values() for t in targets]
    if not targets:
        return None
    return max(targets, key=lambda t: (t.price.input + t.price.output, t.price.output))


def reference_price(tiers: Mapping[str, Sequence[Target]]) -> Price:
    """The reference target's price; a file with no prices at all yields a zero price, so the saving is
    reported as nothing rather than invented."""
    target = reference_target(tiers)
    return target.price if target is not None else Price()


def reference_label(tiers: Mapping[str, Sequence[Target]]) -> str | None:
    """``always-<tier>`` of the reference target's tier (``always-opus`` when the file has that tier): what
    a report calls the reference, so a file without an ``opus`` tier is not said to be priced at one."""
    target = reference_target(tiers)
    return f"always-{target.tier}" if target is not None else None


def attempt_costs(attempts_json: str) -> list[tuple[str, float]]:
    """(tier, US dollars) of each attempt a decision-log row's ``attempts_json`` gives a cost: the part of the
    row's ``cost_usd`` that belongs to that attempt's tier, not the row's."""
    try:
        attempts = json.loads(attempts_json)
    except ValueError:
        return []
    return [(str(a["tier"]), float(a["cost_usd"])) for a in attempts if a.get("cost_usd")]
