"""LLMClassifier against a scripted in-process backend: answers, failures, breaker, cache, single flight."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from tiergate.backends.base import Call
from tiergate.config.loader import load_text
from tiergate.engine.classifier import (
    ClassifierPool,
    LLMClassifier,
    cache_key,
    classifier_factory,
    decode_answer,
    shares,
    transcript,
)
from tiergate.engine.graph import EvaluationGraph, Phase1, compile_graph
from tiergate.errors import UpstreamUnavailable
from tiergate.rules.features import Features
from tiergate.wire import ChatRequest, Completion, Message, StreamEvent

ROUTES = """
backends:
  tiny: {{kind: ollama, base_url: "http://127.0.0.1:9"}}
  cloud: {{kind: openai, base_url: "http://127.0.0.1:9/v1"}}
tiers:
  local:
    description: The laptop's model.
    targets: [{{backend: tiny, model: small}}]
  sonnet:
    description: The everyday cloud model.
    targets: [{{backend: cloud, model: mid, price: {{input: 3, output: 15}}}}]
  opus:
    description: The strongest model.
    targets: [{{backend: cloud, model: big, price: {{input: 15, output: 75}}}}]
routing:
  classifier:
    backend: tiny
    model: judge
    timeout: {timeout}
    cache_size: 8
    breaker: {{fail_max: 3, reset_timeout: 30}}
    {extra}
"""

OPUS = '{"tier": "opus", "reason": "needs a proof"}'
PHASE1 = Phase1("AMBIGUOUS", "sonnet", 0.3, 0.1)
GRAPH = compile_graph(load_text(ROUTES.format(timeout=1, extra=""), "routes.yaml", {}))


class Forever:
    """A reply that never comes: the backend waits on an Event nobody sets."""


Script = str | BaseException | Forever


@dataclass
class ScriptedBackend:
    """A Backend whose ``complete`` answers from a script; ``gate`` holds every call until it is set."""

    replies: deque[Script] = field(default_factory=deque)
    default: Script = OPUS
    gate: asyncio.Event | None = None
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    calls: list[tuple[ChatRequest, Call]] = field(default_factory=list)
    name: str = "tiny"
    url: str = "http://127.0.0.1:9"

    def missing(self) -> str | None:
        return None

    async def complete(self, request: ChatRequest, call: Call) -> Completion:
        self.calls.append((request, call))
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        reply = self.replies.popleft() if self.replies else self.default
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, Forever):
            await asyncio.Event().wait()
            raise AssertionError("an Event nobody sets was set")
        return Completion(content=reply)

    def stream(self, request: ChatRequest, call: Call) -> AsyncIterator[StreamEvent]:
        raise NotImplementedError

    async def probe(self) -> str | None:
        return None

    async def aclose(self) -> None:
        return None


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def graph_of(*, timeout: float = 1.0, extra: str = "") -> EvaluationGraph:
    return compile_graph(load_text(ROUTES.format(timeout=timeout, extra=extra), "routes.yaml", {}))


def features(text: str = "is this lock-free queue linearizable?") -> Features:
    messages = [Message(role="system", content="be brief"), Message(role="user", content=text)]
    return Features.of(ChatRequest(messages=messages))


def build(pool: ClassifierPool, graph: EvaluationGraph, backend: ScriptedBackend) -> LLMClassifier:
    classifier = pool.build(graph, {"tiny": backend})
    assert classifier is not None
    return classifier


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def pool(clock: FakeClock) -> ClassifierPool:
    return ClassifierPool(clock=clock)


@pytest.fixture
def backend() -> ScriptedBackend:
    return ScriptedBackend()


async def classify(classifier: LLMClassifier, f: Features | None = None) -> tuple[str, str | None, str | None]:
    """The graph argument is the Phase2 protocol's; a classifier uses the graph it was built for."""
    out = await classifier.classify(f or features(), PHASE1, GRAPH)
    return out.outcome, out.tier, out.error


# --- answers --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_valid_answer_picks_the_tier_and_reports_reason_and_latency(
    pool: ClassifierPool, backend: ScriptedBackend
) -> None:
    classifier = build(pool, graph_of(), backend)
    out = await classifier.classify(features(), PHASE1, GRAPH)
    assert (out.outcome, out.tier, out.reason, out.model) == ("ok", "opus", "needs a proof", "judge")
    assert out.latency_us >= 0 and out.error is None


@pytest.mark.asyncio
async def test_request_asks_for_a_schema_bound_answer_at_temperature_zero(
    pool: ClassifierPool, backend: ScriptedBackend
) -> None:
    await classify(build(pool, graph_of(timeout=0.5), backend))
    request, call = backend.calls[0]
    assert call == Call(model="judge", connect_timeout=0.5, total_timeout=0.5)
    assert request.temperature == 0.0 and not request.stream
    assert request.response_format is not None
    schema = request.response_format["json_schema"]["schema"]
    assert schema["properties"]["tier"]["enum"] == ["local", "sonnet", "opus"]
    system = request.messages[0].text()
    assert "- local: The laptop's model." in system and '"opus"' in system
    assert "linearizable" in request.messages[1].text()


@pytest.mark.asyncio
async def test_custom_prompt_gets_the_tier_list_substituted(pool: ClassifierPool, backend: ScriptedBackend) -> None:
    await classify(build(pool, graph_of(extra='prompt: "Pick one of:\\n{tiers}"'), backend))
    system = backend.calls[0][0].messages[0].text()
    assert system.startswith("Pick one of:\n- local: The laptop's model.\n- sonnet:")
    assert "Reply with JSON only" in system


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ("I think opus", "not {"),
        ('{"tier": "gpt-9", "reason": "x"}', "tier 'gpt-9', which is not one of"),
        ('{"reason": "no tier"}', "not {"),
        ("", "empty answer"),
    ],
)
async def test_unreadable_or_unknown_answers_are_invalid(
    pool: ClassifierPool, backend: ScriptedBackend, reply: str, why: str
) -> None:
    backend.default = reply
    outcome, tier, error = await classify(build(pool, graph_of(), backend))
    assert (outcome, tier) == ("invalid", None)
    assert error is not None and why in error and "judge" in error


def test_a_fenced_answer_is_read() -> None:
    answer = decode_answer('```json\n{"tier": "local"}\n```', ["local"])
    assert not isinstance(answer, str) and answer.tier == "local"


# --- failures -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_hanging_model_times_out_within_the_classifier_timeout(
    pool: ClassifierPool, backend: ScriptedBackend
) -> None:
    backend.default = Forever()
    outcome, tier, error = await classify(build(pool, graph_of(timeout=0.05), backend))
    assert (outcome, tier) == ("timeout", None)
    assert error is not None and "0.05s" in error and "http://127.0.0.1:9" in error


@pytest.mark.asyncio
async def test_an_upstream_error_is_reported_with_backend_and_url(
    pool: ClassifierPool, backend: ScriptedBackend
) -> None:
    backend.default = UpstreamUnavailable("tiny", "http://127.0.0.1:9", "connection refused", kind="connect")
    outcome, _, error = await classify(build(pool, graph_of(), backend))
    assert outcome == "error"
    assert error == "backend 'tiny' at http://127.0.0.1:9: connection refused"


@pytest.mark.asyncio
async def test_an_upstream_timeout_error_counts_as_timeout(pool: ClassifierPool, backend: ScriptedBackend) -> None:
    backend.default = UpstreamUnavailable("tiny", "http://127.0.0.1:9", "timed out", kind="timeout")
    assert (await classify(build(pool, graph_of(), backend)))[0] == "timeout"


@pytest.mark.asyncio
async def test_a_foreign_exception_never_escapes(pool: ClassifierPool, backend: ScriptedBackend) -> None:
    backend.default = RuntimeError("bug in a backend")
    outcome, _, error = await classify(build(pool, graph_of(), backend))
    assert outcome == "error" and error is not None and "RuntimeError: bug in a backend" in error


@pytest.mark.asyncio
async def test_a_backend_that_cannot_be_called_is_not_called(pool: ClassifierPool, backend: ScriptedBackend) -> None:
    backend.missing = lambda: "environment variable KEY (api_key_env) is not set"  # type: ignore[method-assign]
    outcome, _, error = await classify(build(pool, graph_of(), backend))
    assert outcome == "error" and error is not None and "KEY" in error
    assert backend.calls == []


# --- breaker --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_breaker_opens_after_fail_max_then_costs_no_call_until_reset(
    pool: ClassifierPool, clock: FakeClock, backend: ScriptedBackend
) -> None:
    backend.replies.extend([ConnectionError("down")] * 3)
    classifier = build(pool, graph_of(), backend)
    for i in range(3):
        assert (await classify(classifier, features(f"question {i}")))[0] == "error"
    outcome, tier, error = await classify(classifier, features("question 4"))
    assert (outcome, tier) == ("breaker_open", None)
    assert error is not None and "next try in 30s" in error
    assert len(backend.calls) == 3
    clock.now += 29.9
    assert (await classify(classifier, features("question 5")))[0] == "breaker_open"
    clock.now += 0.1
    assert (await classify(classifier, features("question 6")))[0] == "ok"
    assert classifier.shared.breaker.state == "closed"
    assert len(backend.calls) == 4


@pytest.mark.asyncio
async def test_a_failed_trial_call_opens_the_breaker_again(
    pool: ClassifierPool, clock: FakeClock, backend: ScriptedBackend
) -> None:
    backend.default = "nonsense"
    classifier = build(pool, graph_of(), backend)
    for i in range(3):
        await classify(classifier, features(f"q{i}"))
    clock.now += 30
    assert (await classify(classifier, features("trial")))[0] == "invalid"
    assert (await classify(classifier, features("after")))[0] == "breaker_open"
    assert len(backend.calls) == 4


async def opened(pool: ClassifierPool, clock: FakeClock, backend: ScriptedBackend) -> LLMClassifier:
    """A classifier whose breaker has opened and whose reset timeout has just passed."""
    backend.replies.extend([ConnectionError("down")] * 3)
    classifier = build(pool, graph_of(), backend)
    for i in range(3):
        await classify(classifier, features(f"q{i}"))
    assert classifier.shared.breaker.state == "open"
    clock.now += 30
    return classifier


@pytest.mark.asyncio
async def test_only_one_trial_call_goes_out_after_the_reset_timeout(
    pool: ClassifierPool, clock: FakeClock, backend: ScriptedBackend
) -> None:
    classifier = await opened(pool, clock, backend)
    backend.gate, backend.entered = asyncio.Event(), asyncio.Event()
    trial = asyncio.create_task(classify(classifier, features("trial")))
    await backend.entered.wait()
    assert (await classify(classifier, features("beside the trial")))[0] == "breaker_open"
    backend.gate.set()
    assert (await trial)[0] == "ok"
    assert (await classify(classifier, features("after")))[0] == "ok"
    assert len(backend.calls) == 5


@pytest.mark.asyncio
async def test_an_abandoned_trial_call_does_not_keep_the_breaker_shut(
    pool: ClassifierPool, clock: FakeClock, backend: ScriptedBackend
) -> None:
    classifier = await opened(pool, clock, backend)
    backend.gate, backend.entered = asyncio.Event(), asyncio.Event()
    trial = asyncio.create_task(classify(classifier, features("trial")))
    await backend.entered.wait()
    for flight in list(classifier.shared.inflight.values()):
        flight.cancel()
    with pytest.raises(asyncio.CancelledError):
        await trial
    backend.gate.set()
    assert (await classify(classifier, features("next")))[0] == "ok"


@pytest.mark.asyncio
async def test_a_success_resets_the_failure_count(pool: ClassifierPool, backend: ScriptedBackend) -> None:
    backend.replies.extend(["x", "x", OPUS, "x", "x"])
    classifier = build(pool, graph_of(), backend)
    outcomes = [(await classify(classifier, features(f"q{i}")))[0] for i in range(6)]
    assert outcomes == ["invalid", "invalid", "ok", "invalid", "invalid", "ok"]


# --- cache ----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_second_identical_request_is_a_cache_hit_without_a_call(
    pool: ClassifierPool, backend: ScriptedBackend
) -> None:
    classifier = build(pool, graph_of(), backend)
    await classify(classifier)
    out = await classifier.classify(features(), PHASE1, GRAPH)
    assert (out.outcome, out.tier, out.reason) == ("cache_hit", "opus", "needs a proof")
    assert len(backend.calls) == 1


@pytest.mark.asyncio
async def test_cache_key_is_the_last_two_messages(pool: ClassifierPool, backend: ScriptedBackend) -> None:
    classifier = build(pool, graph_of(), backend)
    earlier = [Message(role="user", content="hello"), Message(role="assistant", content="hi")]
    tail = [Message(role="user", content="ok"), Message(role="user", content="is this linearizable?")]
    await classifier.classify(Features.of(ChatRequest(messages=[earlier[0], *tail])), PHASE1, GRAPH)
    out = await classifier.classify(Features.of(ChatRequest(messages=[*earlier, *tail])), PHASE1, GRAPH)
    assert out.outcome == "cache_hit"
    assert cache_key(tail, "v1") != cache_key(tail, "v2")
    as_user, as_assistant = Message(role="user", content="a"), Message(role="assistant", content="a")
    assert cache_key([as_user], "v") != cache_key([as_assistant], "v")


@pytest.mark.asyncio
async def test_failures_are_not_cached(pool: ClassifierPool, backend: ScriptedBackend) -> None:
    backend.replies.append("garbage")
    classifier = build(pool, graph_of(), backend)
    assert (await classify(classifier))[0] == "invalid"
    assert (await classify(classifier))[0] == "ok"
    assert (await classify(classifier))[0] == "cache_hit"


@pytest.mark.asyncio
async def test_cached_answers_expire_after_the_ttl(
    pool: ClassifierPool, clock: FakeClock, backend: ScriptedBackend
) -> None:
    classifier = build(pool, graph_of(extra="cache_ttl: 60"), backend)
    await classify(classifier)
    clock.now += 59
    assert (await classify(classifier))[0] == "cache_hit"
    clock.now += 1
    assert (await classify(classifier))[0] == "ok"


@pytest.mark.asyncio
async def test_changed_classifier_settings_start_a_fresh_cache_and_breaker(
    pool: ClassifierPool, backend: ScriptedBackend
) -> None:
    first = build(pool, graph_of(), backend)
    await classify(first)
    second = build(pool, graph_of(extra='prompt: "Choose: {tiers}"'), backend)
    assert second.shared is not first.shared
    assert (await classify(second))[0] == "ok"
    assert len(backend.calls) == 2


@pytest.mark.asyncio
async def test_unchanged_settings_keep_the_breaker_but_a_new_rules_version_misses(
    pool: ClassifierPool, backend: ScriptedBackend
) -> None:
    backend.replies.extend([ConnectionError("down")] * 3)
    first = build(pool, graph_of(), backend)
    for i in range(3):
        await classify(first, features(f"q{i}"))
    reloaded = build(pool, graph_of(extra="# a comment changes the rules version"), backend)
    assert reloaded.rules_version != first.rules_version
    assert reloaded.shared is first.shared
    assert (await classify(reloaded))[0] == "breaker_open"


@pytest.mark.asyncio
async def test_reload_with_same_settings_misses_on_the_new_rules_version(
    pool: ClassifierPool, backend: ScriptedBackend
) -> None:
    await classify(build(pool, graph_of(), backend))
    assert (await classify(build(pool, graph_of(extra="# edited"), backend)))[0] == "ok"
    assert len(backend.calls) == 2


# --- single flight --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_fifty_concurrent_identical_requests_share_one_call(
    pool: ClassifierPool, backend: ScriptedBackend
) -> None:
    backend.gate = asyncio.Event()
    classifier = build(pool, graph_of(), backend)
    tasks = [asyncio.create_task(classify(classifier)) for _ in range(50)]
    await backend.entered.wait()
    backend.gate.set()
    results = await asyncio.gather(*tasks)
    assert len(backend.calls) == 1
    assert results == [("ok", "opus", None)] * 50
    assert classifier.shared.inflight == {}
    assert (await classify(classifier))[0] == "cache_hit"


@pytest.mark.asyncio
async def test_followers_share_a_failure_and_the_breaker_counts_it_once(
    pool: ClassifierPool, backend: ScriptedBackend
) -> None:
    backend.gate = asyncio.Event()
    backend.default = "not json"
    classifier = build(pool, graph_of(), backend)
    tasks = [asyncio.create_task(classify(classifier)) for _ in range(10)]
    await backend.entered.wait()
    backend.gate.set()
    assert {r[0] for r in await asyncio.gather(*tasks)} == {"invalid"}
    assert len(backend.calls) == 1
    assert classifier.shared.breaker.state == "closed"


@pytest.mark.asyncio
async def test_a_cancelled_leader_does_not_fail_its_followers(pool: ClassifierPool, backend: ScriptedBackend) -> None:
    backend.gate = asyncio.Event()
    classifier = build(pool, graph_of(), backend)
    leader = asyncio.create_task(classify(classifier))
    follower = asyncio.create_task(classify(classifier))
    await backend.entered.wait()
    leader.cancel()
    backend.gate.set()
    assert await follower == ("ok", "opus", None)
    assert leader.cancelled()


# --- pieces ---------------------------------------------------------------------------------


def test_factory_builds_nothing_without_a_classifier_section(backend: ScriptedBackend) -> None:
    text = ROUTES.format(timeout=1, extra="").split("routing:")[0]
    graph = compile_graph(load_text(text, "routes.yaml", {}))
    assert classifier_factory()(graph, {"tiny": backend}) is None
    assert classifier_factory()(graph_of(), {"tiny": backend}) is not None


def test_transcript_shares_max_chars_between_the_last_two_messages() -> None:
    long = Message(role="user", content="A" * 500 + "the question?")
    short = Message(role="assistant", content="short")
    text = transcript([Message(role="system", content="dropped"), short, long], 100)
    assert "dropped" not in text
    assert "[assistant]\nshort" in text
    assert "the question?" in text and "characters left out" in text
    assert shares([5, 513], 100) == [5, 95] and shares([500, 600], 100) == [50, 50]


def test_tier_descriptions_and_the_classifier_backend_are_settings(
    pool: ClassifierPool, backend: ScriptedBackend
) -> None:
    text = ROUTES.format(timeout=1, extra="")
    first = build(pool, graph_of(), backend)
    assert build(pool, graph_of(), backend).shared is first.shared
    moved = compile_graph(load_text(text.replace(':9"}', ':10"}', 1), "routes.yaml", {}))
    second = build(pool, moved, backend)
    assert second.shared is not first.shared
    renamed = compile_graph(load_text(text.replace("The laptop's model.", "A small model."), "routes.yaml", {}))
    assert build(pool, renamed, backend).shared is not second.shared
