"""Spend caps in the route: a tier or a client at its cap spills to a cheaper tier, or is refused with 429.

``budgets.tiers`` caps what everyone together spends on a tier; ``budgets.clients`` caps what one client
key spends on every priced tier (``*`` applies to each client not listed). A tier is *over* for a request
when its own cap is reached, or when the client's cap is reached and the tier has a price (a free local
model never counts against a client). Caps are checked against the spend so far (tiergate.telemetry.spend):
a request that starts under the cap is served whole, so a cap can be passed by the requests in flight.

At the cap, ``on_exceed`` of the cap reached decides:

- ``spill`` — the request goes to the first cheaper tier that is not over: the tier's own fallback
  tiers first (in their order), then the remaining cheaper tiers, dearest first. With none left it is
  refused like ``reject``.
- ``reject`` — 429 in the client's dialect (``BudgetExceeded``), ``retry-after`` until the period ends.

Whichever tier serves, targets of tiers that are over are left out of its fallback chain (``skipped``:
``budget``). A client at its own cap is not shown to a classifier with a price either (the router skips
it). Explicit choices (``model: opus``) are capped too: a budget is a limit on money, not a routing
preference. The decision's ``budget`` and ``reasons`` say what happened.

    check = BudgetCheck(config, chains, ledger, calendar, clock)
    verdict = check.route("opus", "ci")     # verdict.tier, verdict.outcome, verdict.closed, verdict.refusal
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tiergate.config.adaptive import Budget
from tiergate.config.model import RoutesConfig
from tiergate.engine.decision import BudgetOutcome
from tiergate.engine.graph import cheapest_first
from tiergate.engine.targets import TargetChains
from tiergate.errors import BudgetExceeded
from tiergate.telemetry.spend import PERIODS, Calendar, Scope, SpendLedger


@dataclass(frozen=True)
class Over:
    """One cap that is reached."""

    scope: Scope
    name: str
    period: str
    spent: float
    cap: float
    on_exceed: str
    resets_at: float

    def describe(self, amounts: bool = True) -> str:
        """For the decision (with the amounts) or for the client's error message (without them)."""
        who = f"tier {self.name}" if self.scope == "tier" else f"client {self.name}"
        if not amounts:
            return f"the {self.period} budget of {who} is reached"
        return f"{who}'s {self.period} budget ${self.cap:g} is reached (${self.spent:.4f} spent)"

    def outcome(self, action: str, tier: str, to_tier: str | None = None) -> BudgetOutcome:
        return BudgetOutcome(
            action=action,  # type: ignore[arg-type]
            scope=self.scope,
            name=self.name,
            period=self.period,  # type: ignore[arg-type]
            spent_usd=round(self.spent, 6),
            cap_usd=self.cap,
            tier=tier,
            to_tier=to_tier,
            resets_at=self.resets_at,
        )


@dataclass
class Verdict:
    """Where the budgets let a request go: ``tier`` (maybe spilled), the tiers to leave out of its chain
    and why, or a refusal to raise instead of calling anything."""

    tier: str
    outcome: BudgetOutcome | None = None
    closed: dict[str, str] = field(default_factory=dict)
    refusal: BudgetExceeded | None = None
    reasons: list[str] = field(default_factory=list)
    #: Per closed tier: its cap as a client may read it (no amounts), and when it reopens.
    caps: dict[str, tuple[str, float]] = field(default_factory=dict)
    checked_at: float = 0.0

    def refuse_closed(self, now: float) -> BudgetExceeded | None:
        """The 429 for a request that only a tier closed by its budget could have served (the tiers it may
        still use lack what it needs: a larger context, vision), as when no cheaper tier is within budget;
        None when no tier was closed. It names the cap, never the amount spent."""
        if not self.caps:
            return None
        why, until = min(self.caps.values(), key=lambda cap: cap[1])
        return BudgetExceeded(
            f"{why}, and no tier within its budgets can serve this request; it resets at {_iso(until)}",
            retry_after=max(1.0, until - now),
        )


@dataclass
class BudgetCheck:
    config: RoutesConfig
    chains: TargetChains
    ledger: SpendLedger
    calendar: Calendar
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self.order = cheapest_first(self.config)
        self.priced = {
            name: any(t.price.input or t.price.output for t in targets) for name, targets in self.chains.tiers.items()
        }

    @property
    def active(self) -> bool:
        budgets = self.config.budgets
        return bool(budgets.tiers or budgets.clients)

    def over(self, tier: str, client: str, now: float) -> Over | None:
        """The first cap reached for ``client`` on ``tier``: the tier's own, then the client's."""
        budgets = self.config.budgets
        own = budgets.tiers.get(tier)
        if own is not None and (found := self._reached("tier", tier, own, now)) is not None:
            return found
        return self.client_over(client, now) if self.priced.get(tier, False) else None

    def client_over(self, client: str, now: float) -> Over | None:
        """The client's own cap, when reached: the client then keeps only what has no price (tiers, and the
        classifier, which the router does not ask for it)."""
        budgets = self.config.budgets
        theirs = budgets.clients.get(client) or budgets.clients.get("*")
        return self._reached("client", client, theirs, now) if theirs is not None else None

    def _reached(self, scope: Scope, name: str, budget: Budget, now: float) -> Over | None:
        for period in PERIODS:
            cap = budget.daily_usd if period == "daily" else budget.monthly_usd
            if cap is None:
                continue
            spent = self.ledger.get((scope, name, period, self.calendar.label(period, now)))
            if spent >= cap:
                return Over(scope, name, period, spent, cap, budget.on_exceed, self.calendar.end(period, now))
        return None

    def route(self, tier: str, client: str) -> Verdict:
        if not self.active:
            return Verdict(tier)
        now = self.clock()
        over = self.over(tier, client, now)
        verdict = Verdict(tier)
        if over is not None:
            if over.on_exceed == "spill" and (spill := self._spill(tier, client, now)) is not None:
                verdict.tier = spill
                verdict.outcome = over.outcome("spill", tier, spill)
                verdict.reasons.append(f"budget: {over.describe()}; spilled from {tier} to {spill}")
            else:
                verdict.outcome = over.outcome("reject", tier)
                why = "" if over.on_exceed == "reject" else "; no cheaper tier is within its budgets"
                verdict.reasons.append(f"budget: {over.describe()}; refused{why}")
                verdict.refusal = BudgetExceeded(
                    f"{over.describe(amounts=False)}{why}; it resets at {_iso(over.resets_at)}",
                    retry_after=max(1.0, over.resets_at - now),
                )
                return verdict
        for name in self.chains.tier_order(verdict.tier):
            if (closed := self.over(name, client, now)) is not None:
                verdict.closed[name] = f"budget: {closed.describe()}"
                verdict.caps[name] = (closed.describe(amounts=False), closed.resets_at)
        verdict.checked_at = now
        return verdict

    def _spill(self, tier: str, client: str, now: float) -> str | None:
        rank = {name: i for i, name in enumerate(self.order)}
        mine = rank.get(tier, 0)
        first = [t for t in self.chains.tier_order(tier)[1:] if rank.get(t, mine) < mine]
        rest = [t for t in reversed(self.order[:mine]) if t not in first]
        return next((t for t in [*first, *rest] if self.over(t, client, now) is None), None)


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
