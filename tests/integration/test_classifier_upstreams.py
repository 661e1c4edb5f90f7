"""The phase-2 classifier through the real Ollama and OpenAI-compatible backends, against loopback fakes,
and through the router, the runtime's reload and the dry-run endpoint."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from litestar.testing import AsyncTestClient

from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.scripts import Hang, Malformed, ReplyQueue, Text
from tests.fakes.server import serve
from tiergate.api.app import create_app
from tiergate.api.gateway import Gateway
from tiergate.backends.base import Backend
from tiergate.backends.registry import build_backend
from tiergate.config.loader import load_text
from tiergate.engine.classifier import ClassifierPool, LLMClassifier, classifier_factory, response_format
from tiergate.engine.graph import EvaluationGraph, Phase1, compile_graph
from tiergate.rules.features import Features
from tiergate.runtime import Extensions, Rules
from tiergate.wire import ChatRequest, Message

OPUS = '{"tier":"opus","reason":"proof"}'
PHASE1 = Phase1("AMBIGUOUS", "sonnet", 0.3, 0.1)
QUESTION = "Is this lock-free queue linearizable under weak memory?"

ROUTES = """
backends:
  ollama: {{kind: ollama, base_url: "{ollama}"}}
  cloud: {{kind: openai, base_url: "{openai}/v1"}}
tiers:
  local:
    description: A coding model on the developer's machine.
    targets: [{{backend: ollama, model: small}}]
  sonnet:
    description: The everyday cloud model.
    targets: [{{backend: cloud, model: mid, price: {{input: 3, output: 15}}}}]
  opus:
    description: The strongest model.
    targets: [{{backend: cloud, model: big, price: {{input: 15, output: 75}}}}]
routing:
  bands: {{local: 0.0, claude: 1.0}}   # every request without signals is AMBIGUOUS
  classifier:
    backend: {classifier}
    model: judge
    timeout: {timeout}
    {extra}
"""


@dataclass
class Upstreams:
    ollama: FakeOllama
    openai: FakeOpenAI
    ollama_url: str
    openai_url: str

    def fake(self, kind: str) -> ReplyQueue:
        return self.ollama.queue if kind == "ollama" else self.openai.queue

    def routes(
        self,
        *,
        classifier: str = "ollama",
        timeout: float = 2.0,
        extra: str = "",
        ollama: str | None = None,
        openai: str | None = None,
    ) -> str:
        return ROUTES.format(
            ollama=ollama or self.ollama_url,
            openai=openai or self.openai_url,
            classifier=classifier,
            timeout=timeout,
            extra=extra,
        )


@pytest.fixture(scope="module")
def servers() -> Iterator[Upstreams]:
    ollama, openai = FakeOllama(), FakeOpenAI()
    with serve(ollama.app) as ollama_url, serve(openai.app) as openai_url:
        yield Upstreams(ollama, openai, ollama_url, openai_url)


@pytest.fixture
def upstreams(servers: Upstreams) -> Upstreams:
    servers.ollama.queue.reset()
    servers.openai.queue.reset()
    return servers


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest_asyncio.fixture
async def built() -> AsyncIterator[list[Backend]]:
    """Backends a test builds, closed after it."""
    backends: list[Backend] = []
    yield backends
    for backend in backends:
        await backend.aclose()


def graph_of(text: str) -> EvaluationGraph:
    return compile_graph(load_text(text, "routes.yaml", {}))


def classifier_for(graph: EvaluationGraph, built: list[Backend]) -> LLMClassifier:
    backends = {name: build_backend(name, cfg, {}) for name, cfg in graph.config.backends.items()}
    built.extend(backends.values())
    classifier = ClassifierPool().build(graph, backends)
    assert classifier is not None
    return classifier


def features(text: str = QUESTION) -> Features:
    return Features.of(ChatRequest(messages=[Message(role="user", content=text)], model="auto"))


KINDS = [pytest.param("ollama", id="ollama"), pytest.param("cloud", id="openai")]


# --- the classifier through each backend ----------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", KINDS)
async def test_valid_answer_with_a_schema_in_the_upstream_request(
    upstreams: Upstreams, built: list[Backend], kind: str
) -> None:
    fake = upstreams.fake(kind)
    fake.replies.append(Text(OPUS))
    graph = graph_of(upstreams.routes(classifier=kind))
    out = await classifier_for(graph, built).classify(features(), PHASE1, graph)
    assert (out.outcome, out.tier, out.reason, out.model) == ("ok", "opus", "proof", "judge")
    body: dict[str, Any] = fake.requests[0].body
    expected = response_format(["local", "sonnet", "opus"])
    assert body["model"] == "judge" and body["stream"] is False
    if kind == "ollama":
        assert body["format"] == expected["json_schema"]["schema"]
        assert body["options"]["temperature"] == 0
    else:
        assert body["response_format"] == expected
        assert body["temperature"] == 0
    assert QUESTION in body["messages"][1]["content"]


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("reply", "outcome", "why"),
    [
        pytest.param(Text("Sure! I would pick opus."), "invalid", "is not", id="prose"),
        pytest.param(Text('{"tier":"gpt-9","reason":"x"}'), "invalid", "tier 'gpt-9'", id="unknown-tier"),
        pytest.param(Malformed(), "error", "at http://127.0.0.1:", id="malformed-body"),
    ],
)
async def test_unusable_answers_fall_back(
    upstreams: Upstreams, built: list[Backend], kind: str, reply: Any, outcome: str, why: str
) -> None:
    upstreams.fake(kind).replies.append(reply)
    graph = graph_of(upstreams.routes(classifier=kind))
    out = await classifier_for(graph, built).classify(features(), PHASE1, graph)
    assert (out.outcome, out.tier) == (outcome, None)
    assert out.error is not None and why in out.error


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", KINDS)
async def test_a_slow_answer_times_out_at_the_classifier_timeout(
    upstreams: Upstreams, built: list[Backend], kind: str
) -> None:
    upstreams.fake(kind).replies.append(Hang(seconds=2))
    graph = graph_of(upstreams.routes(classifier=kind, timeout=0.2))
    started = time.perf_counter()
    out = await classifier_for(graph, built).classify(features(), PHASE1, graph)
    assert time.perf_counter() - started < 1.5
    assert out.outcome == "timeout" and out.tier is None


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", KINDS)
async def test_a_server_that_is_down_is_an_error_then_an_open_breaker(
    upstreams: Upstreams, built: list[Backend], closed_port: int, kind: str
) -> None:
    dead = f"http://127.0.0.1:{closed_port}"
    extra = "breaker: {fail_max: 2, reset_timeout: 60}"
    graph = graph_of(upstreams.routes(classifier=kind, ollama=dead, openai=dead, extra=extra))
    classifier = classifier_for(graph, built)
    first = await classifier.classify(features("one"), PHASE1, graph)
    assert first.outcome == "error" and first.error is not None and dead in first.error
    await classifier.classify(features("two"), PHASE1, graph)
    third = await classifier.classify(features("three"), PHASE1, graph)
    assert third.outcome == "breaker_open"


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", KINDS)
async def test_fifty_concurrent_identical_requests_make_one_upstream_call(
    upstreams: Upstreams, built: list[Backend], kind: str
) -> None:
    fake = upstreams.fake(kind)
    fake.default = Text(OPUS)
    graph = graph_of(upstreams.routes(classifier=kind))
    classifier = classifier_for(graph, built)
    outcomes = await asyncio.gather(*(classifier.classify(features(), PHASE1, graph) for _ in range(50)))
    assert len(fake.requests) == 1
    assert {(o.outcome, o.tier) for o in outcomes} == {("ok", "opus")}
    again = await classifier.classify(features(), PHASE1, graph)
    assert (again.outcome, len(fake.requests)) == ("cache_hit", 1)


# --- through the router, the runtime and the dry-run endpoint -------------------------------


@pytest_asyncio.fixture
async def rules(upstreams: Upstreams, tmp_path: Path) -> AsyncIterator[Rules]:
    path = tmp_path / "routes.yaml"
    path.write_text(upstreams.routes(classifier="ollama"))
    rules = Rules.load(path, {}, Extensions(classifier=classifier_factory()))
    yield rules
    await rules.aclose()


def chat(text: str = QUESTION) -> ChatRequest:
    return ChatRequest(messages=[Message(role="user", content=text)], model="auto")


@pytest.mark.asyncio
async def test_router_takes_the_classifiers_tier_for_an_ambiguous_request(upstreams: Upstreams, rules: Rules) -> None:
    upstreams.ollama.replies.append(Text(OPUS))
    decision = (await rules.current.router.decide(chat())).decision
    assert (decision.band, decision.phase) == ("AMBIGUOUS", "llm_classifier")
    assert (decision.tier, decision.model) == ("opus", "big")
    assert decision.classifier is not None
    assert (decision.classifier.outcome, decision.classifier.reason) == ("ok", "proof")
    assert decision.classifier.latency_us > 0
    assert not decision.cache_hit
    hit = (await rules.current.router.decide(chat())).decision
    assert (hit.phase, hit.tier, hit.cache_hit) == ("llm_classifier", "opus", True)
    assert len(upstreams.ollama.requests) == 1


@pytest.mark.asyncio
async def test_router_falls_back_to_phase_one_when_the_classifier_fails(upstreams: Upstreams, rules: Rules) -> None:
    upstreams.ollama.replies.append(Text("no idea"))
    decision = (await rules.current.router.decide(chat())).decision
    assert (decision.phase, decision.tier) == ("fallback", "sonnet")
    assert decision.classifier is not None and decision.classifier.outcome == "invalid"
    assert any("using phase 1's guess sonnet" in reason for reason in decision.reasons)


@pytest.mark.asyncio
async def test_router_skips_the_classifier_when_told_not_to_classify(upstreams: Upstreams, rules: Rules) -> None:
    decision = (await rules.current.router.decide(chat(), classify=False)).decision
    assert decision.classifier is not None and decision.classifier.outcome == "skipped"
    assert (decision.phase, decision.tier) == ("heuristic", "sonnet")
    assert upstreams.ollama.requests == []


@pytest.mark.asyncio
async def test_a_reload_with_changed_classifier_settings_misses_the_cache(upstreams: Upstreams, rules: Rules) -> None:
    upstreams.ollama.queue.default = Text(OPUS)
    await rules.current.router.decide(chat())
    rules.path.write_text(upstreams.routes(classifier="ollama", extra='prompt: "Route it. {tiers}"'))
    assert (await rules.reload()).changed
    decision = (await rules.current.router.decide(chat())).decision
    assert decision.classifier is not None and decision.classifier.outcome == "ok"
    assert len(upstreams.ollama.requests) == 2
    assert upstreams.ollama.requests[1].body["messages"][0]["content"].startswith("Route it. - local:")


@pytest.mark.asyncio
async def test_dry_run_endpoint_classifies_unless_classify_is_false(upstreams: Upstreams, rules: Rules) -> None:
    upstreams.ollama.queue.default = Text(OPUS)
    body = {"model": "auto", "messages": [{"role": "user", "content": QUESTION}]}
    async with AsyncTestClient(create_app(Gateway(rules))) as client:
        skipped = (await client.post("/v1/route?classify=false", json=body)).json()
        assert upstreams.ollama.requests == []
        classified = (await client.post("/v1/route", json=body)).json()
    assert (skipped["phase"], skipped["classifier"]["outcome"]) == ("heuristic", "skipped")
    assert (classified["phase"], classified["tier"]) == ("llm_classifier", "opus")
    assert classified["classifier"]["reason"] == "proof"
    assert len(upstreams.ollama.requests) == 1
