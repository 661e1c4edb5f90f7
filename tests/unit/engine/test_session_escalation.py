"""Session escalation: repeated failures of the local tier within a session move it up a tier for ``hold``
seconds — errors and timeouts from finished requests, refusals read back from the next turn, low ratings."""

from __future__ import annotations

from typing import Any

import pytest

from tests.doubles import Clock
from tests.helpers import MINIMAL, graph, request
from tiergate.dispatch.dispatcher import Attempt
from tiergate.engine.adaptive import Signals
from tiergate.engine.decision import RoutingDecision
from tiergate.engine.router import Router
from tiergate.engine.session_escalation import FailureStore, LocalFailures, is_refusal
from tiergate.engine.sticky import SessionPool
from tiergate.telemetry.record import RequestRecord

RULES = """
routing:
  rules:
    - {name: all_local, when: {feature: message_count, gte: 0}, then: {band: LOCAL}}
  session_escalation: {after_failures: 2, window: 600, hold: 900%s}
"""
REFUSAL = "I'm sorry, but I can't help with that request."
# A client's side request (a system prompt asking for a title) is LOCAL and stays out of the session.
SIDE_RULES = RULES.replace(
    "  rules:\n",
    "  rules:\n"
    "    - name: side\n"
    "      when: {feature: system_text, contains_any: [title for the chat]}\n"
    "      then: {band: LOCAL, sticky: false}\n",
)
TITLE = {"role": "system", "content": "Write a title for the chat in at most 5 words."}


class Rig:
    def __init__(
        self,
        extra: str = "",
        sticky: bool = False,
        failures: FailureStore | None = None,
        clock: Clock | None = None,
        rules: str = RULES,
    ) -> None:
        self.clock = clock or Clock(1_750_000_000.0)
        self.graph = graph(rules % extra, base=MINIMAL)
        self.signals = Signals(clock=self.clock, failures=failures)
        sessions = SessionPool(clock=self.clock).build(self.graph) if sticky else None
        self.router = Router(self.graph, signals=self.signals.build(self.graph), sessions=sessions)
        self.local, self.sonnet = self.graph.chains.tiers["local"][0], self.graph.chains.tiers["sonnet"][0]

    async def decide(self, *texts: str, answers: list[str] | None = None, **kw: Any) -> RoutingDecision:
        messages: list[dict[str, Any]] = []
        for i, text in enumerate(texts):
            if i:
                messages.append({"role": "assistant", "content": (answers or [])[i - 1] if answers else "ok"})
            messages.append({"role": "user", "content": text})
        return (await self.router.decide(request(messages=messages, **kw.pop("body", {})), **kw)).decision

    def finish(self, decision: RoutingDecision, *attempts: Attempt, stream: bool = False, **kw: Any) -> None:
        served = next((a.target for a in attempts if a.outcome == "ok"), None)
        fields: dict[str, Any] = {"status": 200, "latency_ms": 10.0, "client": "anonymous", "endpoint": "chat"}
        self.signals.observe(RequestRecord(decision, served, list(attempts), stream=stream, **{**fields, **kw}))

    def fail_local(self, decision: RoutingDecision, outcome: str = "http_500", status: int | None = 500) -> None:
        self.finish(decision, Attempt(self.local, outcome, 5.0, "boom", status), Attempt(self.sonnet, "ok", 9.0))


@pytest.mark.asyncio
async def test_two_local_failures_move_the_session_up_for_the_hold() -> None:
    rig = Rig()
    first = await rig.decide("fix the parser")
    assert first.tier == "local" and first.escalation is None
    rig.fail_local(first)
    rig.clock.advance(30)
    second = await rig.decide("fix the parser", "still broken")
    assert second.tier == "local"  # one failure is not a pattern
    rig.fail_local(second, outcome="timeout", status=504)
    rig.clock.advance(30)
    third = await rig.decide("fix the parser", "still broken", "again")
    assert third.tier == "sonnet" and third.escalation is not None
    assert (third.escalation.from_tier, third.escalation.to_tier) == ("local", "sonnet")
    assert third.escalation.failures == ["error", "timeout"]
    assert third.escalation.until == rig.clock.now - 30 + 900
    assert any(r.startswith("session escalation: 2 recent failure(s) of local") for r in third.reasons)
    assert any(s.kind == "escalation" and s.action == "tier=sonnet" for s in third.signals)
    other = await rig.decide("an unrelated conversation")
    assert other.tier == "local"  # another session is not affected
    rig.clock.advance(871)
    back = await rig.decide("fix the parser", "still broken", "again", "and now?")
    assert back.tier == "local" and back.escalation is None


@pytest.mark.asyncio
async def test_stickiness_does_not_remember_the_escalation() -> None:
    rig = Rig(sticky=True)
    for turn in range(2):
        rig.fail_local(await rig.decide("task", *["more"] * turn))
    escalated = await rig.decide("task", "more", "more")
    assert escalated.tier == "sonnet" and not escalated.sticky
    rig.clock.advance(901)
    later = await rig.decide("task", "more", "more", "more")
    assert later.tier == "local" and not later.sticky


@pytest.mark.asyncio
async def test_client_faults_and_rate_limits_are_not_failures_of_the_tier() -> None:
    rig = Rig()
    for _ in range(3):
        d = await rig.decide("task")
        rig.finish(d, Attempt(rig.local, "http_400", 5.0, "bad request", 400))
        rig.finish(d, Attempt(rig.local, "rate_limited", 0.1, "full", 429), Attempt(rig.sonnet, "ok", 9.0))
    assert (await rig.decide("task")).tier == "local"


@pytest.mark.asyncio
async def test_a_stream_that_broke_after_it_started_counts() -> None:
    rig = Rig()
    for _ in range(2):
        d = await rig.decide("task")
        rig.finish(d, Attempt(rig.local, "ok", 5.0), stream=True, status=502, error="cut", error_kind="protocol")
    assert (await rig.decide("task")).escalation is not None


@pytest.mark.asyncio
async def test_refusals_read_back_from_the_next_turn_count_once_each() -> None:
    rig = Rig()
    d1 = await rig.decide("write a port scanner")
    rig.finish(d1, Attempt(rig.local, "ok", 5.0))
    d2 = await rig.decide("write a port scanner", "please", answers=[REFUSAL])
    assert d2.tier == "local"  # one refusal
    rig.finish(d2, Attempt(rig.local, "ok", 5.0))
    resent = await rig.decide("write a port scanner", "please", answers=[REFUSAL])
    assert resent.tier == "local"  # the same answer again is not a second refusal
    rig.finish(resent, Attempt(rig.local, "ok", 5.0))
    other_refusal = "I cannot assist with creating network scanning tools."
    d3 = await rig.decide("write a port scanner", "please", "it is for my own lab", answers=[REFUSAL, other_refusal])
    assert d3.tier == "sonnet" and d3.escalation is not None and d3.escalation.failures == ["refusal", "refusal"]


@pytest.mark.asyncio
async def test_the_same_refusal_in_a_later_turn_counts_again() -> None:
    """A small model repeats its refusal word for word; counted once per session by its text alone, it
    never escalated. A retry of the same turn (the same answer in the same place) still counts once."""
    rig = Rig()
    d1 = await rig.decide("write a port scanner")
    rig.finish(d1, Attempt(rig.local, "ok", 5.0))
    d2 = await rig.decide("write a port scanner", "please", answers=[REFUSAL])
    assert d2.tier == "local"
    rig.finish(d2, Attempt(rig.local, "ok", 5.0))
    d3 = await rig.decide("write a port scanner", "please", "it is for my lab", answers=[REFUSAL, REFUSAL])
    assert d3.tier == "sonnet" and d3.escalation is not None and d3.escalation.failures == ["refusal", "refusal"]


@pytest.mark.asyncio
async def test_a_client_that_left_is_no_failure_of_the_tier() -> None:
    rig = Rig()
    for turn in ("a", "b"):
        d = await rig.decide("write a port scanner", turn)
        rig.finish(d, Attempt(rig.local, "disconnected", 5.0, "client disconnected"), status=499)
    assert (await rig.decide("write a port scanner", "c")).tier == "local"


@pytest.mark.asyncio
async def test_a_dry_run_shows_an_escalation_without_counting() -> None:
    rig = Rig()
    d1 = await rig.decide("task")
    rig.fail_local(d1)
    rig.finish(await rig.decide("task", "more"), Attempt(rig.local, "ok", 5.0))
    dry = await rig.decide("task", "more", "and", answers=["ok", REFUSAL], remember=False)
    assert dry.tier == "sonnet" and dry.escalation is not None  # one error plus this refusal
    again = await rig.decide("task", "more", "and", answers=["ok", REFUSAL], remember=False)
    assert again.tier == "sonnet"  # the dry run did not record the refusal as seen...
    real = await rig.decide("task", "more", "and", answers=["ok", REFUSAL])
    assert real.tier == "sonnet"  # ...so the real request counts it now


@pytest.mark.asyncio
async def test_low_ratings_count_and_good_ones_do_not() -> None:
    rig = Rig()
    for rating in (4, 5, 2):
        d = await rig.decide("task")
        rig.finish(d, Attempt(rig.local, "ok", 5.0))
        rig.signals.rated(d.decision_id, rating)
    assert (await rig.decide("task")).tier == "local"
    d = await rig.decide("task")
    rig.finish(d, Attempt(rig.local, "ok", 5.0))
    rig.signals.rated(d.decision_id, 1)
    rig.signals.rated("dec_unknown", 1)  # not a decision this process served: nothing happens
    escalated = await rig.decide("task")
    assert escalated.escalation is not None and escalated.escalation.failures == ["rating", "rating"]


@pytest.mark.asyncio
async def test_a_decision_counts_one_rating_failure_from_its_latest_rating() -> None:
    rig = Rig()
    once = await rig.decide("task")
    rig.finish(once, Attempt(rig.local, "ok", 5.0))
    rig.signals.rated(once.decision_id, 1)
    rig.signals.rated(once.decision_id, 1)  # the same decision rated again: still one failure
    assert (await rig.decide("task")).tier == "local"
    corrected = []
    for _ in range(2):
        d = await rig.decide("another task")
        rig.finish(d, Attempt(rig.local, "ok", 5.0))
        rig.signals.rated(d.decision_id, 1)
        rig.signals.rated(d.decision_id, 5)  # a correction takes the failure back
        corrected.append(d.decision_id)
    assert (await rig.decide("another task")).tier == "local"
    rig.signals.rated(corrected[0], 2)  # low again: its latest rating counts
    assert (await rig.decide("another task")).tier == "local"
    rig.signals.rated(corrected[1], 1)
    escalated = await rig.decide("another task")
    assert escalated.escalation is not None and escalated.escalation.failures == ["rating", "rating"]


@pytest.mark.asyncio
async def test_only_the_requesting_client_or_the_admin_counts_a_rating() -> None:
    rig = Rig()
    served = []
    for _ in range(2):
        d = await rig.decide("task", client="team-a")
        rig.finish(d, Attempt(rig.local, "ok", 5.0), client="team-a")
        served.append(d.decision_id)
    for decision_id in served:
        rig.signals.rated(decision_id, 1, "team-b")  # another client's ratings: kept in the log, never counted
    assert (await rig.decide("task", client="team-a")).tier == "local"
    rig.signals.rated(served[0], 1, "team-a")
    rig.signals.rated(served[0], 5, "team-b")  # nor can another client take the owner's rating back
    assert (await rig.decide("task", client="team-a")).tier == "local"
    rig.signals.rated(served[1], 1, None)  # the admin console
    escalated = await rig.decide("task", client="team-a")
    assert escalated.escalation is not None and escalated.escalation.failures == ["rating", "rating"]


@pytest.mark.asyncio
async def test_side_requests_and_explicit_choices_neither_count_nor_follow_the_escalation() -> None:
    rig = Rig(rules=SIDE_RULES)
    opener = [{"role": "user", "content": "fix the parser"}]

    async def side() -> RoutingDecision:
        return (await rig.router.decide(request(messages=[TITLE, *opener]))).decision

    for _ in range(2):
        title = await side()
        explicit = await rig.decide("fix the parser", body={"model": "local"})
        assert (title.session, explicit.session) == (None, None)  # no session to count on
        rig.fail_local(title)
        rig.fail_local(explicit)
        rig.signals.rated(title.decision_id, 1)
        rig.signals.rated(explicit.decision_id, 1)
    conversation = await rig.decide("fix the parser", "more")
    assert conversation.tier == "local" and conversation.escalation is None
    for turn in range(2):
        rig.fail_local(await rig.decide("fix the parser", *["more"] * turn))
    assert (await rig.decide("fix the parser", "more", "more")).tier == "sonnet"
    title = await side()  # a title for an escalated conversation still goes where its rule says
    assert title.tier == "local" and title.escalation is None


@pytest.mark.asyncio
async def test_count_chooses_the_failures_and_explicit_choices_are_honoured() -> None:
    rig = Rig(", count: [timeout]")
    for _ in range(3):
        rig.fail_local(await rig.decide("task"))  # errors: not counted here
    assert (await rig.decide("task")).tier == "local"
    for _ in range(2):
        rig.fail_local(await rig.decide("task"), outcome="timeout", status=504)
    assert (await rig.decide("task")).tier == "sonnet"
    explicit = await rig.decide("task", body={"model": "local"})
    assert explicit.tier == "local" and explicit.escalation is None


@pytest.mark.asyncio
async def test_a_chain_of_counted_tiers_moves_up_more_than_one() -> None:
    rig = Rig(", tiers: [local, sonnet]")
    for _ in range(2):
        d = await rig.decide("task")
        rig.finish(d, Attempt(rig.local, "http_500", 5.0, "x", 500), Attempt(rig.sonnet, "http_500", 5.0, "x", 500))
    d = await rig.decide("task")
    assert (
        d.tier == "opus"
        and d.escalation is not None
        and (d.escalation.from_tier, d.escalation.to_tier)
        == (
            "local",
            "opus",
        )
    )


def test_refusal_markers_read_the_opening_of_an_answer() -> None:
    markers = ["i can't help with", "i cannot assist"]
    assert is_refusal("I can\u2019t help with that.", markers)  # typographic apostrophe
    assert not is_refusal("Sure! " + "x" * 400 + " I can't help with more", markers)
    assert not is_refusal("Here is the scanner you asked for.", markers)


def test_a_smaller_max_sessions_keeps_the_latest_sessions_and_a_larger_one_keeps_all() -> None:
    store = LocalFailures(max_sessions=4)
    for n in range(4):
        store.fail(f"s{n}", "local", "error", float(n))
        store.served(f"dec_{n}", f"s{n}", "local")
    store.configure(4)  # unchanged: nothing moves
    store.configure(8)
    assert [store.failures(f"s{n}", "local", 0.0) for n in range(4)] == [[(float(n), "error")] for n in range(4)]
    store.configure(2)
    assert [bool(store.failures(f"s{n}", "local", 0.0)) for n in range(4)] == [False, False, True, True]
    assert (store.decision("dec_1"), store.decision("dec_3")) == (None, ("s3", "local", None))
    for n in range(4, 7):
        store.fail(f"s{n}", "local", "error", float(n))
    assert [bool(store.failures(f"s{n}", "local", 0.0)) for n in range(7)] == [False] * 5 + [True, True]


@pytest.mark.asyncio
async def test_a_reload_that_changes_max_sessions_resizes_the_store() -> None:
    rig = Rig()
    store = rig.signals._failures
    assert isinstance(store, LocalFailures) and store._sessions.maxsize == 10_000
    rig.signals.build(graph(RULES.replace("hold: 900", "hold: 900, max_sessions: 3") % "", base=MINIMAL))
    assert rig.signals._failures is store and store._sessions.maxsize == 3
