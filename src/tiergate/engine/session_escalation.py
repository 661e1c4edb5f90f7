"""Escalation after repeated failures: a session whose cheap tier keeps failing moves up a tier for a while.

With ``routing.session_escalation`` set, each failure of a counted tier (``tiers``, by default the LOCAL
band's tier) within a session — the first user message plus the client key, as for stickiness — is
remembered. Once ``after_failures`` of them fall within ``window`` seconds, routed requests of that
session that would go to the tier go to the next dearer one instead, until ``hold`` seconds after the
last failure. What counts (``count``):

- ``error`` / ``timeout`` — an attempt on one of the tier's targets failed or timed out (learned from each
  finished request; a request the client got wrong, 400/413/422, counts nothing);
- ``refusal`` — the tier's last answer in this session, as the client sends it back in the next turn,
  opens with one of ``refusal_markers`` ("I can't help with ..."); counted once per answer;
- ``rating`` — ``POST /v1/feedback`` rated a request the tier served at or below ``low_rating``: at
  most one failure per decision, from its latest rating (rating it again does not add one; a later
  rating above ``low_rating`` takes it back). Only a rating by the client that made the request, or
  from the admin console (``rater`` None), counts: another client's rating is stored, not counted.

The move is applied after stickiness, so stickiness does not remember it: when the hold ends the session
comes back down. Explicit choices are honoured as asked. The dry run shows an escalation without
counting anything. The decision's ``escalation`` names both tiers, the failures and the end of the hold.
Explicit requests and side requests (a rule's ``sticky: false``) have no session: they neither count
failures nor follow the session's escalation.

The failures live in process; :class:`FailureStore` is the seam for a shared store
(:mod:`tiergate.state.failures`, with ``state.redis_url``).

    store = LocalFailures(max_sessions=10000)
    step = SessionEscalator(cfg, order, store, clock)                # one per load
    outcome = step.apply(features, session, phase1, remember=True)   # EscalationOutcome | None
"""

from __future__ import annotations

import hashlib
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import msgspec
from cachetools import LRUCache

from tiergate.config.adaptive import SessionEscalation
from tiergate.engine.decision import EscalationOutcome, Signal
from tiergate.engine.graph import Phase1
from tiergate.rules.features import Features
from tiergate.telemetry.record import RequestRecord

Clock = Callable[[], float]
#: Statuses that are the request's fault: another model would refuse it too.
CLIENT_FAULTS = frozenset({400, 401, 403, 404, 413, 422})
#: Attempt outcomes that say nothing against the tier: an answer, a rate limit, a client that left.
NOT_FAILURES = frozenset({"ok", "rate_limited", "disconnected"})
REFUSAL_SCAN = 300


class FailureStore(Protocol):
    """Failures per session and tier, the holds they caused, and which session and tier served a decision."""

    def configure(self, max_sessions: int) -> None:
        """How many sessions (and decisions) to keep: ``max_sessions`` as the file says now."""
        ...

    def fail(self, session: str, tier: str, kind: str, at: float) -> None: ...

    def failures(self, session: str, tier: str, since: float) -> list[tuple[float, str]]: ...

    def hold(self, session: str, tier: str, until: float) -> None: ...

    def held(self, session: str, tier: str) -> float: ...

    def rating(self, session: str, tier: str, decision_id: str, at: float | None) -> None:
        """A low rating of a decision: one failure of ``tier`` at ``at``, kept if the decision already has
        one; ``at=None`` (a later, good rating) takes the decision's failure back."""
        ...

    def served(self, decision_id: str, session: str, tier: str, client: str | None = None) -> None: ...

    def decision(self, decision_id: str) -> tuple[str, str, str | None] | None:
        """The session, tier and client that served ``decision_id``."""
        ...

    def last_tier(self, session: str) -> str | None: ...

    def seen_answer(self, session: str, digest: bytes, *, remember: bool = True) -> bool:
        """True when this answer was already counted; records it otherwise (unless ``remember`` is false)."""
        ...


@dataclass
class _Session:
    failures: dict[str, deque[tuple[float, str]]] = field(default_factory=dict)
    holds: dict[str, float] = field(default_factory=dict)
    #: Rating failures by decision id: (tier, when), oldest first.
    ratings: dict[str, tuple[str, float]] = field(default_factory=dict)
    last_tier: str | None = None
    answers: deque[bytes] = field(default_factory=lambda: deque(maxlen=8))


class LocalFailures:
    """The in-process store: the ``max_sessions`` most recently used sessions, ``per_tier`` failures each."""

    def __init__(self, max_sessions: int = 10000, per_tier: int = 64) -> None:
        self._sessions: LRUCache[str, _Session] = LRUCache(max_sessions)
        self._decisions: LRUCache[str, tuple[str, str, str | None]] = LRUCache(max_sessions)
        self._per_tier = per_tier

    def configure(self, max_sessions: int) -> None:
        if self._sessions.maxsize == max_sessions:
            return
        sessions, decisions = self._sessions, self._decisions
        self._sessions, self._decisions = LRUCache(max_sessions), LRUCache(max_sessions)
        self._sessions.update(sessions.items())  # as many as fit: a smaller store drops the first ones
        self._decisions.update(decisions.items())

    def _session(self, session: str) -> _Session:
        found = self._sessions.get(session)
        if found is None:
            found = self._sessions[session] = _Session()
        return found

    def fail(self, session: str, tier: str, kind: str, at: float) -> None:
        s = self._session(session)
        s.failures.setdefault(tier, deque(maxlen=self._per_tier)).append((at, kind))

    def failures(self, session: str, tier: str, since: float) -> list[tuple[float, str]]:
        s = self._sessions.get(session)
        if s is None:
            return []
        found = [f for f in s.failures.get(tier, ()) if f[0] >= since]
        rated = [(at, "rating") for t, at in s.ratings.values() if t == tier and at >= since]
        return sorted(found + rated, key=lambda f: f[0]) if rated else found

    def rating(self, session: str, tier: str, decision_id: str, at: float | None) -> None:
        if at is None:
            s = self._sessions.get(session)
            if s is not None:
                s.ratings.pop(decision_id, None)
            return
        s = self._session(session)
        if decision_id in s.ratings:
            return  # rated low again: still the one failure, from its first low rating
        s.ratings[decision_id] = (tier, at)
        if len(s.ratings) > self._per_tier:
            del s.ratings[next(iter(s.ratings))]

    def hold(self, session: str, tier: str, until: float) -> None:
        s = self._session(session)
        s.holds[tier] = max(until, s.holds.get(tier, 0.0))

    def held(self, session: str, tier: str) -> float:
        s = self._sessions.get(session)
        return s.holds.get(tier, 0.0) if s is not None else 0.0

    def served(self, decision_id: str, session: str, tier: str, client: str | None = None) -> None:
        self._decisions[decision_id] = (session, tier, client)
        self._session(session).last_tier = tier

    def decision(self, decision_id: str) -> tuple[str, str, str | None] | None:
        return self._decisions.get(decision_id)

    def last_tier(self, session: str) -> str | None:
        s = self._sessions.get(session)
        return s.last_tier if s is not None else None

    def seen_answer(self, session: str, digest: bytes, *, remember: bool = True) -> bool:
        s = self._sessions.get(session)
        if s is not None and digest in s.answers:
            return True
        if remember:
            self._session(session).answers.append(digest)
        return False


def is_refusal(text: str, markers: Sequence[str]) -> bool:
    head = text[:REFUSAL_SCAN].lower().replace("\u2019", "'")
    return any(marker in head for marker in markers)


def _last_answer(f: Features) -> tuple[int, str] | None:
    """The assistant message the client sends back as the answer to its previous turn, and where it is."""
    for i in range(len(f.messages) - 1, -1, -1):
        if f.messages[i].role == "assistant":
            return i, f.messages[i].text()
    return None


@dataclass
class SessionEscalator:
    """``routing.session_escalation`` for one load: the tiers it watches, in price order."""

    cfg: SessionEscalation
    order: tuple[str, ...]
    store: FailureStore
    clock: Clock = time.time
    tiers: frozenset[str] = frozenset()

    def up(self, tier: str) -> str | None:
        i = self.order.index(tier) if tier in self.order else len(self.order)
        return self.order[i + 1] if i + 1 < len(self.order) else None

    def apply(self, f: Features, session: str | None, p1: Phase1, *, remember: bool) -> EscalationOutcome | None:
        """Move ``p1.tier`` up while the session holds its tier; records a refusal in the last answer first."""
        if session is None:
            return None
        now = self.clock()
        pending = self._refusal(f, session, now, remember)
        start, kinds, until = p1.tier, [], 0.0
        while p1.tier in self.tiers and (nxt := self.up(p1.tier)) is not None:
            found = self.store.failures(session, p1.tier, now - self.cfg.window)
            if pending is not None and pending == p1.tier:
                found.append((now, "refusal"))
            held = self.store.held(session, p1.tier)
            if len(found) >= self.cfg.after_failures:
                held = max(held, max(at for at, _ in found) + self.cfg.hold)
                if remember:
                    self.store.hold(session, p1.tier, held)
            if held <= now:
                break
            kinds += [kind for _, kind in found] or ["held"]
            until = max(until, held)
            p1.reasons.append(
                f"session escalation: {len(found)} recent failure(s) of {p1.tier} in this session "
                f"({', '.join(k for _, k in found) or 'earlier failures'}); {nxt} until {_iso(held)}"
            )
            p1.tier = nxt
        if p1.tier == start:
            return None
        p1.signals.append(Signal("session_escalation", "escalation", kinds, action=f"tier={p1.tier}"))
        return EscalationOutcome(from_tier=start, to_tier=p1.tier, failures=kinds, until=until)

    def _refusal(self, f: Features, session: str, now: float, remember: bool) -> str | None:
        """The tier whose last answer (sent back in this request) is a refusal not counted yet, or None."""
        if "refusal" not in self.cfg.count:
            return None
        tier = self.store.last_tier(session)
        last = _last_answer(f)
        answer = last[1] if last is not None else ""
        if tier not in self.tiers or not answer or not is_refusal(answer, self.cfg.refusal_markers):
            return None
        # the answer and its place: a retry of the turn is the same one, and the same words a later turn
        # (a small model repeats its refusal verbatim) are another
        digest = hashlib.sha256(msgspec.json.encode([last[0] if last else 0, answer])).digest()[:16]
        if self.store.seen_answer(session, digest, remember=remember):
            return None
        assert tier is not None
        if not remember:
            return tier  # a dry run: counted for this decision only
        self.store.fail(session, tier, "refusal", now)
        return None  # recorded: the store's failures include it now


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class FailureObserver:
    """Counts the failures of finished requests and remembers which session and tier served each decision."""

    def __init__(
        self,
        store: FailureStore,
        cfg: Callable[[], tuple[SessionEscalation, frozenset[str]] | None],
        clock: Clock = time.time,
    ) -> None:
        self.store = store
        self.cfg = cfg
        self.clock = clock

    def observe(self, record: RequestRecord) -> None:
        current = self.cfg()
        session = record.decision.session
        if current is None or session is None:
            return
        cfg, tiers = current
        now = self.clock()
        for attempt in record.attempts:
            tier = attempt.target.tier
            if tier not in tiers or attempt.outcome in NOT_FAILURES or attempt.status in CLIENT_FAULTS:
                continue
            kind = "timeout" if attempt.outcome == "timeout" else "error"
            if kind in cfg.count:
                self.store.fail(session, tier, kind, now)
        target = record.target
        if target is not None and record.stream and record.error_kind is not None and target.tier in tiers:
            kind = "timeout" if record.error_kind == "timeout" else "error"
            if kind in cfg.count:
                self.store.fail(session, target.tier, kind, now)
        if target is not None:
            self.store.served(record.decision.decision_id, session, target.tier, record.client)

    def rated(self, decision_id: str, rating: int, rater: str | None = None) -> None:
        """A stored rating: the decision's one rating failure follows its latest rating. Counted only when
        ``rater`` is the client that made the request, or the admin (None)."""
        current = self.cfg()
        found = self.store.decision(decision_id)
        if current is None or found is None:
            return
        cfg, tiers = current
        session, tier, client = found
        if rater is not None and rater != client:
            return  # another client's rating is kept in the log but never moves this session
        if "rating" in cfg.count and tier in tiers:
            low = rating <= cfg.low_rating
            self.store.rating(session, tier, decision_id, self.clock() if low else None)
