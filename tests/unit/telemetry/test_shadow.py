"""Shadow rules: the candidate file decides each sampled request in the background, never on its path."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest

from tests.doubles import Clock
from tests.helpers import MINIMAL, chat
from tiergate.engine.decision import ClassifierOutcome
from tiergate.runtime import Rules
from tiergate.telemetry.record import RequestRecord, ShadowRecord
from tiergate.telemetry.shadow import ShadowRules
from tiergate.wire import Usage

pytestmark = pytest.mark.asyncio

PRICED = MINIMAL.replace("model: mid-model,", "model: mid-model, price: {input: 3, output: 15},").replace(
    "model: big-model,", "model: big-model, price: {input: 15, output: 75},"
)
CANDIDATE = PRICED + "routing: {mode: fixed, fixed_tier: sonnet}\n"


class Sink:
    def __init__(self) -> None:
        self.got: list[ShadowRecord] = []

    def observe_shadow(self, shadow: ShadowRecord) -> None:
        self.got.append(shadow)


def rules_with(tmp_path: Path, shadow: str, extra: str = "") -> Rules:
    path = tmp_path / "routes.yaml"
    path.write_text(textwrap.dedent(PRICED) + extra + f"shadow: {shadow}\n")
    return Rules.load(path, {"ANTHROPIC_API_KEY": "sk-ant-test"})  # set: a request routed to sonnet has its target


async def live_record(rules: Rules, text: str = "hello", **kw: object) -> RequestRecord:
    request = chat(text)
    routed = await rules.current.router.decide(request, {})
    target = routed.targets[0]
    return RequestRecord(routed.decision, target, [], 200, 5.0, "alice", False, "chat", request=request, **kw)  # type: ignore[arg-type]


def write(path: Path, text: str | None) -> None:
    """Edit (or, with None, remove) the candidate file, as an operator would."""
    if text is None:
        path.unlink()
    else:
        path.write_text(text)


@pytest.fixture
def candidate(tmp_path: Path) -> Path:
    path = tmp_path / "routes.next.yaml"
    path.write_text(CANDIDATE)
    return path


async def test_observe_only_queues_and_the_task_decides_with_the_candidate(tmp_path: Path, candidate: Path) -> None:
    rules = rules_with(tmp_path, candidate.name)
    sink = Sink()
    shadow = ShadowRules(rules, sink=lambda: sink)
    record = await live_record(rules, usage=Usage.of(1000, 100))
    shadow.observe(record)
    assert (sink.got, shadow.status()["pending"]) == ([], 1)  # nothing decided on the request's turn

    task = asyncio.create_task(shadow.run())
    for _ in range(200):
        if sink.got:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    [got] = sink.got
    assert record.decision.tier == "local"
    assert (got.decision_id, got.file, got.decision.tier, got.decision.phase) == (
        record.decision.decision_id,
        "routes.next.yaml",
        "sonnet",
        "heuristic",
    )
    assert got.decision.rules_version != record.decision.rules_version
    assert got.cost_usd == pytest.approx((1000 * 3 + 100 * 15) / 1_000_000)  # the live tokens at sonnet's price
    status = shadow.status()
    assert (status["decided"], status["version"], status["problems"], status["path"]) == (
        1,
        got.decision.rules_version,
        [],
        str(candidate),
    )


async def test_a_backend_the_live_rules_cannot_call_is_skipped_by_the_candidate_too(
    tmp_path: Path, candidate: Path
) -> None:
    """With no Anthropic key, a request sent to sonnet live skips it without a call; the candidate's decision
    named sonnet, at sonnet's price, as if it could be served."""
    path = tmp_path / "routes.yaml"
    path.write_text(textwrap.dedent(PRICED) + f"shadow: {candidate.name}\n")
    rules = Rules.load(path, {})
    sink = Sink()
    shadow = ShadowRules(rules, sink=lambda: sink)
    shadow.observe(await live_record(rules, usage=Usage.of(1000, 100)))
    await shadow.drain()
    [got] = sink.got
    [sonnet, *_] = got.decision.targets
    assert (sonnet.tier, sonnet.skipped) == (
        "sonnet",
        "backend 'anthropic' is not configured: environment variable ANTHROPIC_API_KEY is not set",
    )


async def test_sampling_and_the_queue_bound(tmp_path: Path, candidate: Path) -> None:
    rules = rules_with(tmp_path, f"{{file: {candidate.name}, sample: 0.5, max_pending: 2}}")
    draws = iter([0.7, 0.3, 0.1, 0.2])
    shadow = ShadowRules(rules, sink=Sink, sample=lambda: next(draws))
    for _ in range(4):
        shadow.observe(await live_record(rules))
    status = shadow.status()
    assert (status["sample"], status["pending"], status["dropped"]) == (0.5, 2, 1)  # 0.7 not sampled; the 4th dropped


async def test_no_shadow_without_a_file_a_request_or_a_sink(tmp_path: Path, candidate: Path) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(PRICED)
    plain = Rules.load(path, {})
    shadow = ShadowRules(plain, sink=Sink)
    shadow.observe(await live_record(plain))
    assert (shadow.status()["configured"], shadow.status()["pending"]) == (False, 0)

    rules = rules_with(tmp_path, candidate.name)
    no_sink = ShadowRules(rules, sink=lambda: None)
    no_sink.observe(await live_record(rules))
    without_request = await live_record(rules)
    without_request.request = None
    sinked = ShadowRules(rules, sink=Sink)
    sinked.observe(without_request)
    assert (no_sink.status()["pending"], sinked.status()["pending"]) == (0, 0)


async def test_a_broken_or_missing_candidate_is_reported_and_a_fix_is_picked_up(
    tmp_path: Path, candidate: Path
) -> None:
    rules = rules_with(tmp_path, candidate.name)
    clock = Clock(0.0)
    sink = Sink()
    shadow = ShadowRules(rules, sink=lambda: sink, clock=clock, check_every=2.0)
    settings = shadow.settings()
    assert settings is not None

    write(candidate, PRICED + "routing: {mode: fixed, fixed_tier: sonet}\n")
    assert await shadow.decide(await live_record(rules), settings) is None
    problems = shadow.status()["problems"]
    assert any("sonet" in p and "routes.next.yaml" in p for p in problems), problems

    write(candidate, CANDIDATE)
    assert await shadow.decide(await live_record(rules), settings) is None  # not looked at again within 2 s
    clock.advance(2.0)
    decided = await shadow.decide(await live_record(rules), settings)
    assert decided is not None and decided.decision.tier == "sonnet" and shadow.status()["problems"] == []

    write(candidate, None)
    clock.advance(2.0)
    assert await shadow.decide(await live_record(rules), settings) is None
    assert shadow.status()["problems"] == [f"{candidate}: no such file"]
    assert len(sink.got) == 1


async def test_the_candidate_replays_the_live_classifier_answer_and_calls_no_model(
    tmp_path: Path, candidate: Path
) -> None:
    # Both files send every request to AMBIGUOUS and name a classifier on a port where nothing listens:
    # a model call would fail, so an answer of "ok" can only be the live one, replayed.
    ambiguous = """
routing:
  bands: {local: 0.0, claude: 1.0}
  classifier: {backend: ollama, model: tiny-classifier}
"""
    write(candidate, PRICED + ambiguous)
    rules = rules_with(tmp_path, candidate.name, ambiguous)
    record = await live_record(rules, "hello")
    answered = ClassifierOutcome(model="tiny-classifier", outcome="ok", tier="local", reason="easy", confidence=0.95)
    record.decision.classifier = answered
    settings = ShadowRules(rules, sink=Sink).settings()
    assert settings is not None

    got = await ShadowRules(rules, sink=Sink).decide(record, settings)
    assert got is not None and got.decision.phase == "llm_classifier"
    assert got.decision.classifier is not None and got.decision.classifier.outcome == "ok"
    assert got.decision.tier == "local" and answered.floor is None  # the live outcome was copied, not changed

    record.decision.classifier = ClassifierOutcome(model="tiny-classifier", outcome="timeout")
    skipped = await ShadowRules(rules, sink=Sink).decide(record, settings)
    assert skipped is not None and skipped.decision.classifier is not None
    assert (skipped.decision.classifier.outcome, skipped.decision.tier) == ("skipped", "sonnet")
