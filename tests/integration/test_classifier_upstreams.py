"""The phase-2 classifier against loopback fakes of the model servers it meets (Ollama, OpenAI, llama-cpp-python,
llama-server, vLLM), through the real backends, a real Dispatcher and ResilienceGuard, the router's floor, the
runtime's reload, the dry-run endpoint and the whole gateway."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import pytest_asyncio
from litestar.testing import AsyncTestClient

from tests.conftest import GatewayFactory
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_compat import PERSONALITIES, FakeOpenAI, Judgement, Personality
from tests.fakes.scripts import Hang, Malformed, Text
from tests.fakes.server import serve
from tiergate.api.app import create_app
from tiergate.api.gateway import Gateway
from tiergate.backends.base import Backend
from tiergate.backends.registry import build_backend
from tiergate.config.loader import load_text
from tiergate.dispatch.dispatcher import Dispatcher
from tiergate.engine.classifier import ClassifierPool, LLMClassifier, answer_schema, classifier_factory, response_format
from tiergate.engine.graph import EvaluationGraph, Phase1, compile_graph
from tiergate.engine.router import Router
from tiergate.resilience.breakers import Breakers
from tiergate.resilience.guard import guard_factory
from tiergate.resilience.limits import Limiters
from tiergate.rules.features import Features
from tiergate.rules.learned import MEMO_KEY, Reading
from tiergate.runtime import Extensions, Rules
from tiergate.wire import ChatRequest, Message

TIERS = ["local", "sonnet", "opus"]
SCHEMA = answer_schema(TIERS)
PHASE1 = Phase1("AMBIGUOUS", "sonnet", 0.3, 0.1)
QUESTION = "Is this lock-free queue linearizable under weak memory?"


def answer(tier: str = "opus", reason: str = "proof", confidence: float = 0.8) -> str:
    return json.dumps({"reason": reason, "tier": tier, "confidence": confidence})


OPUS = answer()

ROUTES = """
backends:
  ollama: {{kind: ollama, base_url: "{ollama}"}}
  cloud: {{kind: openai, base_url: "{cloud}/v1"}}
  judge: {judge}
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
    backend: judge
    model: judge-model
    timeout: {timeout}
    {extra}
"""

#: The classifier's server: Ollama's native API, or an OpenAI-compatible server with one personality.
KINDS = ["ollama", *PERSONALITIES]

Fake = FakeOllama | FakeOpenAI


@dataclass
class Upstreams:
    ollama: FakeOllama
    openai: dict[Personality, FakeOpenAI]
    urls: dict[str, str]

    def fake(self, kind: str) -> Fake:
        return self.ollama if kind == "ollama" else self.openai[kind]  # type: ignore[index]

    def routes(self, kind: str = "ollama", *, timeout: float = 5.0, extra: str = "", judge_url: str = "") -> str:
        """The rule file with the classifier on ``kind``'s fake (or at ``judge_url``); tiers on Ollama and OpenAI."""
        url = judge_url or self.urls[kind]
        backend, base = ("ollama", url) if kind == "ollama" else ("openai", f"{url}/v1")
        judge = f'{{kind: {backend}, base_url: "{base}"}}'
        urls = {"ollama": self.urls["ollama"], "cloud": self.urls["openai"]}
        return ROUTES.format(**urls, judge=judge, timeout=timeout, extra=extra)


@pytest.fixture(scope="module")
def servers() -> Iterator[Upstreams]:
    ollama = FakeOllama()
    fakes = {personality: FakeOpenAI(personality) for personality in PERSONALITIES}
    with contextlib.ExitStack() as stack:
        urls = {"ollama": stack.enter_context(serve(ollama.app))}
        urls |= {personality: stack.enter_context(serve(fake.app)) for personality, fake in fakes.items()}
        yield Upstreams(ollama, fakes, urls)


@pytest.fixture
def upstreams(servers: Upstreams) -> Upstreams:
    servers.ollama.queue.reset()
    for fake in servers.openai.values():
        fake.queue.reset()
    return servers


@dataclass
class Wired:
    """One load as the runtime wires it: backends, a dispatcher behind the real guard, the classifier, a router."""

    graph: EvaluationGraph
    classifier: LLMClassifier
    router: Router
    breakers: Breakers

    async def classify(self, text: str = QUESTION) -> Any:
        return await self.classifier.classify(features(text), PHASE1, self.graph)


@pytest_asyncio.fixture
async def wire() -> AsyncIterator[Callable[[str], Wired]]:
    built: list[Backend] = []

    def build(text: str) -> Wired:
        graph = compile_graph(load_text(text, "routes.yaml", {}))
        backends = {name: build_backend(name, cfg, {}) for name, cfg in graph.config.backends.items()}
        built.extend(backends.values())
        breakers = Breakers()
        dispatcher = Dispatcher(backends, guard=guard_factory(breakers, Limiters())(graph))
        classifier = ClassifierPool().build(graph, dispatcher)
        assert classifier is not None
        return Wired(graph, classifier, Router(graph, classifier=classifier, breaker_state=breakers.state), breakers)

    yield build
    for backend in built:
        await backend.aclose()


def features(text: str = QUESTION) -> Features:
    return Features.of(ChatRequest(messages=[Message(role="user", content=text)], model="auto"))


def chat(text: str = QUESTION) -> ChatRequest:
    return ChatRequest(messages=[Message(role="user", content=text)], model="auto")


def formats(fake: Fake) -> list[str]:
    return [r.body["response_format"]["type"] for r in fake.requests]


# --- each server ends with a valid answer ---------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", KINDS)
async def test_each_server_ends_with_a_valid_answer(
    upstreams: Upstreams, wire: Callable[[str], Wired], kind: str
) -> None:
    fake = upstreams.fake(kind)
    fake.replies.append(Text(OPUS))
    out = await wire(upstreams.routes(kind)).classify()
    assert (out.outcome, out.tier, out.reason, out.confidence, out.model) == ("ok", "opus", "proof", 0.8, "judge-model")
    bodies = [r.body for r in fake.requests]
    if isinstance(fake, FakeOllama):
        (body,) = bodies
        assert body["format"] == SCHEMA and list(body["format"]["properties"]) == ["reason", "tier", "confidence"]
        assert body["stream"] is True and body["options"] == {"temperature": 0, "num_predict": 96}
        assert body["think"] is False  # a thinking model would spend the timeout thinking
    elif kind == "llama-cpp-python":  # json_schema refused, then json_object with the schema
        refused, accepted = bodies
        assert refused["response_format"] == response_format(TIERS)
        assert fake.judge(refused).status == 500
        assert accepted["response_format"] == {"type": "json_object", "schema": SCHEMA}
        assert fake.judge(accepted) == Judgement(200, SCHEMA)
    else:
        (body,) = bodies
        assert body["response_format"] == response_format(TIERS)
        assert fake.judge(body) == Judgement(200, SCHEMA)
    if isinstance(fake, FakeOpenAI):
        assert all(b["stream"] is True and b["max_tokens"] == 96 and b["temperature"] == 0 for b in bodies)
        assert not any("reasoning_effort" in b for b in bodies)  # not every server takes "none"
    assert QUESTION in bodies[-1]["messages"][1]["content"] and bodies[-1]["model"] == "judge-model"
    assert not fake.hung_up.is_set()  # read to its end: nobody left early


@pytest.mark.asyncio
async def test_llama_cpp_python_is_asked_with_json_object_from_then_on(
    upstreams: Upstreams, wire: Callable[[str], Wired]
) -> None:
    fake = upstreams.openai["llama-cpp-python"]
    fake.queue.default = Text(OPUS)
    wired = wire(upstreams.routes("llama-cpp-python"))
    assert (await wired.classify("one")).outcome == "ok"
    assert (await wired.classify("two")).outcome == "ok"
    assert formats(fake) == ["json_schema", "json_object", "json_object"]
    assert [fake.judge(r.body).status for r in fake.requests] == [500, 200, 200]
    assert wired.breakers.state(wired.classifier.target) == "closed"


@pytest.mark.asyncio
async def test_llama_cpp_pythons_refusal_is_not_a_breaker_failure(
    upstreams: Upstreams, wire: Callable[[str], Wired]
) -> None:
    """Its 500 names the format: a healthy server without json_schema, so even fail_max 1 stays closed."""
    fake = upstreams.openai["llama-cpp-python"]
    fake.queue.default = Text(OPUS)
    wired = wire(upstreams.routes("llama-cpp-python", extra="breaker: {fail_max: 1, reset_timeout: 60}"))
    outcome = await wired.classify()
    assert (outcome.outcome, outcome.tier) == ("ok", "opus")
    assert wired.breakers.state(wired.classifier.target) == "closed"


@pytest.mark.asyncio
async def test_response_format_json_object_skips_the_json_schema_probe(
    upstreams: Upstreams, wire: Callable[[str], Wired]
) -> None:
    fake = upstreams.openai["llama-cpp-python"]
    fake.replies.append(Text(OPUS))
    out = await wire(upstreams.routes("llama-cpp-python", extra="response_format: json_object")).classify()
    assert out.outcome == "ok" and formats(fake) == ["json_object"]


# The llama-cpp-python body is the one observed from 0.3.36 (see the notes on local model servers), verbatim.
LLAMA_CPP_PYTHON_500 = (
    "{\"error\":{\"message\":\"1 validation error:\\n  {'type': 'literal_error', 'loc': ('body', "
    "'response_format', 'type'), 'msg': \\\"Input should be 'text' or 'json_object'\\\", 'input': 'json_schema', "
    "'ctx': {'expected': \\\"'text' or 'json_object'\\\"}}\\n\\n  File \\\"/work/scratch/llama/venv/lib/python3.11/"
    'site-packages/llama_cpp/server/app.py\\", line 376, in create_chat_completion\\n    POST /v1/chat/completions",'
    '"type":"internal_server_error","param":null,"code":null}}'
)
JSON_SCHEMA = response_format(TIERS)
JSON_OBJECT = {"type": "json_object", "schema": SCHEMA}
XML = {"type": "xml"}


@pytest.mark.parametrize(
    ("personality", "requested", "status", "schema"),
    [
        ("openai", JSON_SCHEMA, 200, SCHEMA),
        ("openai", XML, 200, None),
        ("llama-cpp-python", JSON_SCHEMA, 500, None),
        ("llama-cpp-python", JSON_OBJECT, 200, SCHEMA),
        ("llama-cpp-python", {"type": "json_object"}, 200, None),
        ("llama-cpp-python", XML, 500, None),
        ("llama-server", JSON_SCHEMA, 200, SCHEMA),
        ("llama-server", JSON_OBJECT, 200, SCHEMA),
        ("llama-server", XML, 400, None),
        ("vllm", JSON_SCHEMA, 200, SCHEMA),
        ("vllm", JSON_OBJECT, 200, None),
        ("vllm", {"type": "json_schema", "json_schema": {"schema": SCHEMA}}, 400, None),
        ("vllm", XML, 400, None),
    ],
)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_the_fakes_take_response_format_as_the_real_servers_do(
    upstreams: Upstreams, personality: Personality, requested: dict[str, Any], status: int, schema: Any, stream: bool
) -> None:
    fake = upstreams.openai[personality]
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "response_format": requested}
    body |= {"stream": stream, "stream_options": {"include_usage": True}} if stream else {}
    response = httpx.post(upstreams.urls[personality] + "/v1/chat/completions", json=body, timeout=10)
    judgement = fake.judge(fake.requests[-1].body)
    assert (response.status_code, judgement.status, judgement.schema) == (status, status, schema)
    if status != 200:  # refused before any stream starts: a plain JSON error, as the real servers send it
        assert response.headers["content-type"] == "application/json"
        assert response.json()["error"]["type"] in ("internal_server_error", "invalid_request_error", "BadRequestError")
    if (personality, requested, status) == ("llama-cpp-python", JSON_SCHEMA, 500):
        assert response.text == LLAMA_CPP_PYTHON_500
    if stream and status == 200:  # llama-cpp-python ignores stream_options: its streams never carry usage
        assert ('"usage"' in response.text) == (personality != "llama-cpp-python")


# --- the floor, through the router ----------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("learned", "said", "confidence", "tier", "floor", "held"),
    [
        pytest.param("sonnet", "local", 0.9, "local", "local", None, id="confident-one-below-is-taken"),
        pytest.param(
            "sonnet",
            "local",
            0.5,
            "sonnet",
            "sonnet",
            "held at sonnet (confidence under 0.7: not below sonnet, the learned scorer's tier)",
            id="unsure-is-held",
        ),
        pytest.param(
            "opus",
            "local",
            0.95,
            "sonnet",
            "sonnet",
            "held at sonnet (one tier below opus, the learned scorer's tier)",
            id="two-below-is-held-one-below",
        ),
        pytest.param("opus", "sonnet", 0.9, "sonnet", "sonnet", None, id="confident-one-below-opus"),
        pytest.param("local", "opus", 0.2, "opus", "local", None, id="up-needs-no-confidence"),
        pytest.param(None, "local", 0.9, "local", "local", None, id="no-reading-anchors-on-phase-1"),
        pytest.param(
            None,
            "local",
            0.5,
            "sonnet",
            "sonnet",
            "held at sonnet (confidence under 0.7: not below sonnet, phase 1's tier: no learned scorer read)",
            id="no-reading-is-held-at-phase-1-and-says-so",
        ),
    ],
)
async def test_the_router_lets_the_classifier_go_at_most_one_tier_below_the_learned_tier(
    upstreams: Upstreams,
    wire: Callable[[str], Wired],
    learned: str | None,
    said: str,
    confidence: float,
    tier: str,
    floor: str,
    held: str | None,
) -> None:
    upstreams.ollama.replies.append(Text(answer(said, "a routine fix", confidence)))
    wired = wire(upstreams.routes("ollama"))
    request = chat()
    f = wired.graph.features(request)
    if learned is not None:
        f._memo[MEMO_KEY] = Reading(0.5, 0.2, learned)
    decision = (await wired.router.decide(request, features=f)).decision
    assert (decision.band, decision.phase, decision.tier) == ("AMBIGUOUS", "llm_classifier", tier), decision.reasons
    assert decision.model == {"local": "small", "sonnet": "mid", "opus": "big"}[tier]
    assert decision.classifier is not None
    assert (decision.classifier.tier, decision.classifier.confidence, decision.classifier.floor) == (
        said,
        confidence,
        floor,
    )
    chose = f"classifier chose {said} (a routine fix; confidence {confidence:g})"
    assert decision.reasons[-1] == (chose if held is None else f"{chose}; {held}")
    assert decision.signals[-1].action == f"tier={tier}"


@pytest.mark.asyncio
async def test_an_answer_without_a_confidence_never_goes_below_the_learned_tier(
    upstreams: Upstreams, wire: Callable[[str], Wired]
) -> None:
    upstreams.ollama.replies.append(Text('{"tier": "local"}'))  # what a small model may send for json_object
    wired = wire(upstreams.routes("ollama", extra="min_confidence: 0.5"))
    request = chat()
    f = wired.graph.features(request)
    f._memo[MEMO_KEY] = Reading(0.5, 0.2, "sonnet")
    decision = (await wired.router.decide(request, features=f)).decision
    assert (decision.phase, decision.tier) == ("llm_classifier", "sonnet"), decision.reasons
    assert decision.classifier is not None and decision.classifier.confidence is None
    assert decision.reasons[-1] == (
        "classifier chose local (no reason given); held at sonnet (confidence under 0.5: not below sonnet, "
        "the learned scorer's tier)"
    )


# --- failures -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_wait_for_the_classifiers_slot_counts_against_its_timeout(
    upstreams: Upstreams, wire: Callable[[str], Wired]
) -> None:
    """One slot (`limits: {concurrency: 1, on_limit: wait}`): the second ask waits while the first hangs to
    its timeout; by then its own time is up too, so it is not sent and costs no more than the timeout."""
    upstreams.ollama.replies.append(Hang(seconds=30, after_events=1))
    one_slot = "limits: {concurrency: 1, on_limit: wait, max_wait: 10}"
    wired = wire(upstreams.routes("ollama", timeout=1.0, extra=one_slot))
    started = time.perf_counter()
    first, second = await asyncio.gather(wired.classify("first question"), wired.classify("second question"))
    elapsed = time.perf_counter() - started
    assert [(o.outcome, o.tier) for o in (first, second)] == [("timeout", None), ("timeout", None)]
    assert elapsed < 1.8, elapsed  # was over 2 s: the second ask got a whole timeout after its wait
    assert len(upstreams.ollama.requests) == 1  # the second was never sent to the busy server


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", KINDS)
async def test_a_classifier_that_hangs_is_cut_off_at_its_timeout_and_the_server_sees_it_leave(
    upstreams: Upstreams, wire: Callable[[str], Wired], kind: str
) -> None:
    fake = upstreams.fake(kind)
    fake.replies.append(Hang(seconds=30, after_events=1))  # the stream opens, then the model stalls
    wired = wire(upstreams.routes(kind, timeout=0.5))
    started = time.perf_counter()
    out = await wired.classify()
    assert time.perf_counter() - started < 3
    assert (out.outcome, out.tier) == ("timeout", None)
    assert out.error is not None and "0.5s" in out.error
    assert await asyncio.to_thread(fake.hung_up.wait, 5), "the stream was abandoned, not closed"


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["ollama", "openai"])
@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(Hang(seconds=30), id="before-the-status-line"),
        pytest.param(Hang(seconds=30, after_events=0), id="before-the-first-token"),
        pytest.param(Hang(seconds=30, after_events=2), id="mid-stream"),
    ],
)
async def test_a_classifier_timeout_names_routing_classifier_timeout(
    upstreams: Upstreams, wire: Callable[[str], Wired], kind: str, reply: Hang
) -> None:
    """Every bound of the classifier's call is its own `timeout`: the error names that setting, not the file's
    `timeouts.total` (which the classifier does not use, and which has retries the classifier does not make)."""
    upstreams.fake(kind).replies.append(reply)
    out = await wire(upstreams.routes(kind, timeout=0.5)).classify()
    url = upstreams.urls[kind] + ("" if kind == "ollama" else "/v1")
    assert (out.outcome, out.error) == (
        "timeout",
        f"backend 'judge' at {url}: no answer within 0.5s (routing.classifier.timeout)",
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["ollama", "openai"])
@pytest.mark.parametrize(
    ("reply", "outcome", "why"),
    [
        pytest.param(Text("Sure! I would pick opus."), "invalid", "is not", id="prose"),
        pytest.param(Text(answer(tier="gpt-9")), "invalid", "tier 'gpt-9'", id="unknown-tier"),
        pytest.param(Malformed(), "error", "at http://127.0.0.1:", id="malformed-body"),
    ],
)
async def test_unusable_answers_fall_back(
    upstreams: Upstreams, wire: Callable[[str], Wired], kind: str, reply: Any, outcome: str, why: str
) -> None:
    upstreams.fake(kind).replies.append(reply)
    out = await wire(upstreams.routes(kind)).classify()
    assert (out.outcome, out.tier) == (outcome, None)
    assert out.error is not None and why in out.error


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["ollama", "openai"])
async def test_a_server_that_is_down_is_an_error_then_an_open_breaker(
    upstreams: Upstreams, wire: Callable[[str], Wired], closed_port: int, kind: str
) -> None:
    dead = f"http://127.0.0.1:{closed_port}"
    extra = "breaker: {fail_max: 2, reset_timeout: 60}"
    wired = wire(upstreams.routes(kind, judge_url=dead, extra=extra))
    first = await wired.classify("one")
    assert first.outcome == "error" and first.error is not None and dead in first.error
    assert (await wired.classify("two")).outcome == "error"
    third = await wired.classify("three")
    assert third.outcome == "breaker_open" and third.error is not None and "judge/judge-model" in third.error
    assert wired.breakers.state(wired.classifier.target) == "open"


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["ollama", "llama-cpp-python"])
async def test_fifty_concurrent_identical_requests_make_one_answered_call(
    upstreams: Upstreams, wire: Callable[[str], Wired], kind: str
) -> None:
    fake = upstreams.fake(kind)
    fake.queue.default = Text(OPUS)
    wired = wire(upstreams.routes(kind))
    outcomes = await asyncio.gather(*(wired.classify() for _ in range(50)))
    assert {(o.outcome, o.tier) for o in outcomes} == {("ok", "opus")}
    answered = [r for r in fake.requests if isinstance(fake, FakeOllama) or fake.judge(r.body).status == 200]
    assert len(answered) == 1
    again = await wired.classify()
    assert again.outcome == "cache_hit" and len(answered) == 1


# --- through the runtime, the dry-run endpoint and the gateway ------------------------------


@pytest_asyncio.fixture
async def rules(upstreams: Upstreams, tmp_path: Path) -> AsyncIterator[Rules]:
    path = tmp_path / "routes.yaml"
    path.write_text(upstreams.routes("ollama"))
    breakers, limiters = Breakers(), Limiters()
    extensions = Extensions(
        guard=guard_factory(breakers, limiters), breaker_state=breakers.state, classifier=classifier_factory()
    )
    rules = Rules.load(path, {}, extensions)
    yield rules
    await rules.aclose()


@pytest.mark.asyncio
async def test_the_router_takes_the_classifiers_tier_and_then_its_cached_answer(
    upstreams: Upstreams, rules: Rules
) -> None:
    upstreams.ollama.replies.append(Text(OPUS))
    decision = (await rules.current.router.decide(chat())).decision
    assert (decision.band, decision.phase, decision.tier) == ("AMBIGUOUS", "llm_classifier", "opus")
    assert decision.model == "big"
    assert decision.classifier is not None
    assert (decision.classifier.outcome, decision.classifier.reason) == ("ok", "proof")
    assert decision.classifier.latency_us > 0 and not decision.cache_hit
    hit = (await rules.current.router.decide(chat())).decision
    assert (hit.phase, hit.tier, hit.cache_hit) == ("llm_classifier", "opus", True)
    assert len(upstreams.ollama.requests) == 1


@pytest.mark.asyncio
async def test_the_router_keeps_phase_ones_guess_when_the_classifier_fails(upstreams: Upstreams, rules: Rules) -> None:
    upstreams.ollama.replies.append(Text("no idea"))
    decision = (await rules.current.router.decide(chat())).decision
    assert (decision.phase, decision.tier) == ("fallback", "sonnet")
    assert decision.classifier is not None and decision.classifier.outcome == "invalid"
    assert decision.reasons[-1] == "classifier invalid: using phase 1's guess sonnet"


@pytest.mark.asyncio
async def test_a_reload_with_changed_classifier_settings_misses_the_cache(upstreams: Upstreams, rules: Rules) -> None:
    upstreams.ollama.queue.default = Text(OPUS)
    await rules.current.router.decide(chat())
    rules.path.write_text(upstreams.routes("ollama", extra='prompt: "Route it. {tiers}"'))
    assert (await rules.reload()).changed
    decision = (await rules.current.router.decide(chat())).decision
    assert decision.classifier is not None and decision.classifier.outcome == "ok"
    assert len(upstreams.ollama.requests) == 2
    assert upstreams.ollama.requests[1].body["messages"][0]["content"].startswith("Route it. - local:")


@pytest.mark.asyncio
async def test_the_dry_run_endpoint_classifies_unless_classify_is_false(upstreams: Upstreams, rules: Rules) -> None:
    upstreams.ollama.queue.default = Text(OPUS)
    body = {"model": "auto", "messages": [{"role": "user", "content": QUESTION}]}
    app = create_app(Gateway(rules))
    transport = httpx.ASGITransport(app=app)  # a loopback peer (127.0.0.1), addressed as localhost
    async with AsyncTestClient(app), httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        skipped = (await client.post("/v1/route?classify=false", json=body)).json()
        assert upstreams.ollama.requests == []
        classified = (await client.post("/v1/route", json=body)).json()
    assert (skipped["phase"], skipped["classifier"]["outcome"]) == ("heuristic", "skipped")
    assert (classified["phase"], classified["tier"]) == ("llm_classifier", "opus")
    assert classified["classifier"] == {
        "model": "judge-model",
        "outcome": "ok",
        "tier": "opus",
        "reason": "proof",
        "latency_us": classified["classifier"]["latency_us"],
        "confidence": 0.8,
        "floor": "local",
        # the fake Ollama's own counts for the call (prompt_eval_count, eval_count)
        "usage": {
            "prompt_tokens": 11,
            "completion_tokens": 7,
            "total_tokens": 18,
            "cached_tokens": 0,
            "cache_write_tokens": 0,
            "reasoning_tokens": 0,
        },
    }
    assert len(upstreams.ollama.requests) == 1


def test_the_gateway_routes_with_llama_cpp_python_as_classifier(
    upstreams: Upstreams, gateway_for: GatewayFactory, tmp_path: Path
) -> None:
    judge, cloud = upstreams.openai["llama-cpp-python"], upstreams.openai["openai"]
    judge.queue.default = Text(OPUS)
    cloud.replies.append(Text("Linearizable, with one caveat."))
    routes = tmp_path / "routes.yaml"
    routes.write_text(upstreams.routes("llama-cpp-python"))
    client = openai.OpenAI(base_url=gateway_for(routes, {}) + "/v1", api_key="unused", max_retries=0, timeout=30)
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": QUESTION}]
    )
    assert (raw.headers["x-tiergate-tier"], raw.headers["x-tiergate-phase"]) == ("opus", "llm_classifier")
    assert raw.parse().choices[0].message.content == "Linearizable, with one caveat."
    assert [r.body["model"] for r in cloud.requests] == ["big"]
    assert formats(judge) == ["json_schema", "json_object"]
    client.chat.completions.create(model="auto", messages=[{"role": "user", "content": "Is this one racy?"}])
    assert formats(judge) == ["json_schema", "json_object", "json_object"]
