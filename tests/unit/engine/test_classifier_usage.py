"""What a classifier call is charged, and to which request: the upstream's count, or the estimate a served
answer gets where there is none; the leader of a single flight pays, followers and cache hits do not; a call
that failed before its 200 costs nothing. The classifier's price: its own, a tier target's of the same model,
or nothing. The scripted backend sends no usage report, so every charge here is the estimate."""

from __future__ import annotations

import asyncio

import pytest

from tests.doubles import Clock
from tests.unit.engine.test_classifier import (
    GRAPH,
    OPUS,
    PHASE1,
    ROUTES,
    Hang,
    Harness,
    ScriptedBackend,
    classify,
    features,
    graph_of,
    refusal,
)
from tiergate.backends.base import Call
from tiergate.config.loader import load_text
from tiergate.config.model import Price
from tiergate.engine.classifier import ClassifierPool
from tiergate.engine.targets import classifier_target
from tiergate.redact import Redactor
from tiergate.resilience.breakers import Breakers
from tiergate.resilience.limits import Limiters
from tiergate.wire import ChatRequest, Finish, StreamEvent, TextDelta, Usage, UsageReport, tokens_in


@pytest.fixture
def h() -> Harness:
    clock = Clock()
    return Harness(clock, ScriptedBackend(), Breakers(clock=clock), Limiters(), ClassifierPool(clock=clock), Redactor())


def estimate(request: ChatRequest, chars: int) -> Usage:
    """The estimate a served answer without a count is charged: characters / 4 of the request and the answer."""
    return Usage.of(request.estimated_tokens(), tokens_in(chars))


@pytest.mark.asyncio
async def test_a_call_without_a_count_is_charged_the_estimate(h: Harness) -> None:
    out = await h.build().classify(features(), PHASE1, GRAPH)
    ((request, _),) = h.backend.calls
    assert out.outcome == "ok"
    assert out.usage == estimate(request, len(OPUS))


class Counted(ScriptedBackend):
    """Answers with the upstream's own count after the text, as a usage chunk or Ollama's done line does."""

    async def stream(self, request: ChatRequest, call: Call):  # type: ignore[override]
        self.calls.append((request, call))
        events: list[StreamEvent] = [TextDelta(OPUS), Finish("stop"), UsageReport(Usage.of(120, 30))]
        for event in events:
            yield event


@pytest.mark.asyncio
async def test_the_upstreams_count_is_what_is_charged(h: Harness) -> None:
    h.backend = Counted()
    out = await h.build().classify(features(), PHASE1, GRAPH)
    assert (out.outcome, out.usage) == ("ok", Usage.of(120, 30))


@pytest.mark.asyncio
async def test_an_unusable_answer_is_charged_too(h: Harness) -> None:
    h.backend.default = "not json at all"
    out = await h.build().classify(features(), PHASE1, GRAPH)
    ((request, _),) = h.backend.calls
    assert out.outcome == "invalid"
    assert out.usage == estimate(request, len("not json at all"))


@pytest.mark.asyncio
async def test_a_timeout_after_the_200_is_charged_what_came(h: Harness) -> None:
    h.backend.default = Hang(pieces=2)
    out = await h.build(graph_of(timeout=0.3)).classify(features(), PHASE1, GRAPH)
    ((request, _),) = h.backend.calls
    assert out.outcome == "timeout"
    assert out.usage == estimate(request, 2 * len('{"reason": "'))


@pytest.mark.asyncio
async def test_a_call_refused_before_its_200_costs_nothing(h: Harness) -> None:
    h.backend.script.append(refusal(500))  # json_schema refused: the json_object call that follows is charged
    out = await h.build().classify(features(), PHASE1, GRAPH)
    first, second = (request for request, _ in h.backend.calls)
    assert out.outcome == "ok"
    assert out.usage == estimate(second, len(OPUS))
    assert second.estimated_tokens() != 0 and first.response_format != second.response_format


@pytest.mark.asyncio
async def test_only_the_leader_of_a_single_flight_pays_and_a_cache_hit_is_free(h: Harness) -> None:
    h.backend.gate = asyncio.Event()
    classifier = h.build()
    tasks = [asyncio.create_task(classifier.classify(features(), PHASE1, GRAPH)) for _ in range(3)]
    await h.backend.entered.wait()
    h.backend.gate.set()
    leader, *followers = await asyncio.gather(*tasks)
    assert leader.usage is not None and leader.usage.prompt_tokens > 0
    assert [f.usage for f in followers] == [None, None]
    hit = await classifier.classify(features(), PHASE1, GRAPH)
    assert (hit.outcome, hit.usage) == ("cache_hit", None)
    assert (await classify(classifier))[0] == "cache_hit"


def price_of(text: str) -> Price:
    config = load_text(text, "routes.yaml", {}).config
    assert config.routing.classifier is not None
    return classifier_target(config.routing.classifier, config).price


def test_the_price_is_the_classifiers_own_else_a_tier_targets_of_the_same_model_else_none() -> None:
    plain = ROUTES.format(timeout=1, extra="")
    assert price_of(ROUTES.format(timeout=1, extra="price: {input: 1, output: 2}")) == Price(input=1, output=2)
    twin = plain.replace("model: judge", "model: mid").replace("backend: tiny\n", "backend: cloud\n")
    assert price_of(twin) == Price(input=3, output=15)
    # the first tier's target (tiny/small) is not the classifier's model: its price is not borrowed
    priced_local = plain.replace("model: small}", "model: small, price: {input: 9, output: 9}}")
    assert price_of(priced_local) == Price()
