"""LLMClassifier through a real Dispatcher and ResilienceGuard over a scripted in-memory backend: the request it
streams, the answers it accepts, the json_schema → json_object fallback, failures, dispatch's breaker (which
counts unusable answers), the cache and single flight."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

import msgspec
import pytest

from tests.doubles import Clock
from tests.fakes.openai_compat import llama_cpp_python_refusal
from tiergate.backends.base import Call
from tiergate.config.loader import load_text
from tiergate.dispatch.dispatcher import Dispatcher
from tiergate.engine.classifier import (
    ClassifierPool,
    LLMClassifier,
    answer_schema,
    cache_key,
    classifier_factory,
    decode_answer,
    shares,
    transcript,
)
from tiergate.engine.graph import EvaluationGraph, Phase1, compile_graph
from tiergate.engine.router import Charge
from tiergate.engine.targets import Target
from tiergate.errors import UpstreamCapabilityError, UpstreamStatusError, UpstreamUnavailable, refuses_format
from tiergate.redact import Redactor
from tiergate.resilience.breakers import Breakers
from tiergate.resilience.guard import guard_factory
from tiergate.resilience.limits import Limiters
from tiergate.rules.features import Features
from tiergate.wire import ChatRequest, Completion, Finish, Message, StreamEvent, TextDelta, Usage

URL = "http://127.0.0.1:9"
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
TIERS = ["local", "sonnet", "opus"]
PHASE1 = Phase1("AMBIGUOUS", "sonnet", 0.3, 0.1)


def answer(tier: str = "opus", reason: str = "needs a proof", confidence: float = 0.9) -> str:
    return json.dumps({"reason": reason, "tier": tier, "confidence": confidence})


OPUS = answer()
#: What the OpenAI backend raises for llama-cpp-python's answer to response_format json_schema.
LLAMA_CPP_REFUSAL = json.loads(llama_cpp_python_refusal("json_schema"))["error"]["message"]


def refusal(status: int = 500, message: str = LLAMA_CPP_REFUSAL) -> UpstreamStatusError:
    """What the OpenAI-compatible backend raises for an error answer: a refused format is a capability error."""
    detail = f"HTTP {status}: {message}"
    if refuses_format(status, message):
        return UpstreamCapabilityError("tiny", URL, detail, status=status)
    return UpstreamStatusError("tiny", URL, detail, status=status)


@dataclass
class Hang:
    """Send ``pieces`` pieces of an answer, then nothing until the stream is closed."""

    pieces: int = 1


Step = str | BaseException | Hang


class ScriptedBackend:
    """A Backend whose ``stream`` plays one step per call: a str is the answer's text (in three pieces, then
    Finish), an exception is raised before the first event, a Hang waits for ever. ``gate`` holds every call
    until it is set. ``closed`` counts streams whose generator has ended (its ``finally`` ran), ``left`` those
    closed by their reader before they ended."""

    probe_reaches = True

    name = "tiny"
    url = URL

    def __init__(self) -> None:
        self.script: deque[Step] = deque()
        self.default: Step = OPUS
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()
        self.calls: list[tuple[ChatRequest, Call]] = []
        self.closed = 0
        self.left = 0

    def missing(self) -> str | None:
        return None

    async def probe(self) -> str | None:
        return None

    async def aclose(self) -> None:
        return None

    async def complete(self, request: ChatRequest, call: Call) -> Completion:
        raise AssertionError("the classifier streams its answer")

    async def stream(self, request: ChatRequest, call: Call) -> AsyncIterator[StreamEvent]:
        self.calls.append((request, call))
        self.entered.set()
        step = self.script.popleft() if self.script else self.default
        try:
            if self.gate is not None:
                await self.gate.wait()
            if isinstance(step, BaseException):
                raise step
            if isinstance(step, Hang):
                for _ in range(step.pieces):
                    yield TextDelta('{"reason": "')
                await asyncio.Event().wait()
                raise AssertionError("an Event nobody sets was set")
            third = -(-len(step) // 3) or 1
            for i in range(0, len(step), third):
                yield TextDelta(step[i : i + third])
            yield Finish("stop")
        except (asyncio.CancelledError, GeneratorExit):
            self.left += 1
            raise
        finally:
            self.closed += 1

    def requests(self) -> list[ChatRequest]:
        return [request for request, _ in self.calls]

    def formats(self) -> list[str]:
        return [request.response_format["type"] for request in self.requests() if request.response_format]


def graph_of(*, timeout: float = 1.0, extra: str = "") -> EvaluationGraph:
    return compile_graph(load_text(ROUTES.format(timeout=timeout, extra=extra), "routes.yaml", {}))


GRAPH = graph_of()


def features(text: str = "is this lock-free queue linearizable?") -> Features:
    messages = [Message(role="system", content="be brief"), Message(role="user", content=text)]
    return Features.of(ChatRequest(messages=messages))


@dataclass
class Harness:
    """What one process holds: the breakers and limiters dispatch shares, the classifier pool, one backend.
    ``clock`` drives the breaker's reset timeout and the cache's TTL."""

    clock: Clock
    backend: ScriptedBackend
    breakers: Breakers
    limiters: Limiters
    pool: ClassifierPool
    redact: Redactor

    def build(self, graph: EvaluationGraph | None = None) -> LLMClassifier:
        """One load: its guard, its dispatcher, its classifier (as the runtime wires them)."""
        graph = graph or graph_of()
        guard = guard_factory(self.breakers, self.limiters)(graph)
        dispatcher = Dispatcher({"tiny": self.backend}, guard=guard, redact=self.redact)
        classifier = self.pool.build(graph, dispatcher)
        assert classifier is not None
        return classifier

    def breaker(self, classifier: LLMClassifier) -> str:
        return self.breakers.state(classifier.target)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def backend() -> ScriptedBackend:
    return ScriptedBackend()


@pytest.fixture
def h(clock: Clock, backend: ScriptedBackend) -> Harness:
    return Harness(clock, backend, Breakers(clock=clock), Limiters(), ClassifierPool(clock=clock), Redactor())


async def classify(classifier: LLMClassifier, f: Features | None = None) -> tuple[str, str | None, str | None]:
    """The graph argument is the Phase2 protocol's; a classifier uses the graph it was built for."""
    out = await classifier.classify(f or features(), PHASE1, GRAPH)
    return out.outcome, out.tier, out.error


# --- the request ----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_valid_answer_gives_tier_reason_confidence_and_latency(h: Harness) -> None:
    out = await h.build().classify(features(), PHASE1, GRAPH)
    assert (out.outcome, out.tier, out.reason, out.confidence, out.model) == (
        "ok",
        "opus",
        "needs a proof",
        0.9,
        "judge",
    )
    assert out.latency_us >= 0 and out.error is None and out.floor is None  # the router sets the floor


@pytest.mark.asyncio
async def test_the_call_is_streamed_capped_and_schema_bound_at_temperature_zero(h: Harness) -> None:
    await classify(h.build(graph_of(timeout=0.5)))
    ((request, call),) = h.backend.calls
    assert call.billed is not None  # what the upstream counted before a cut: charged to the request
    # thinking: the Ollama backend sends reasoning_effort "none" as `think: false` (the backend's own tests)
    # every timeout of the classifier's call is its own `timeout`, the idle one too
    expected = Call(model="judge", connect_timeout=0.5, total_timeout=0.5, idle_timeout=0.5, thinking=True)
    assert msgspec.structs.replace(call, billed=None) == expected
    assert request.stream is True and request.max_tokens == 96 and request.temperature == 0.0
    assert request.reasoning_effort == "none"
    assert request.response_format == {
        "type": "json_schema",
        "json_schema": {"name": "route", "strict": True, "schema": answer_schema(TIERS)},
    }
    system, user = (m.text() for m in request.messages)
    assert "- local: The laptop's model.\n- sonnet: The everyday cloud model.\n- opus:" in system
    assert system.endswith(
        'Reply with JSON only, in this order: {"reason": "<one short sentence>", "tier": "<tier>", '
        '"confidence": <0 to 1>}, where <tier> is one of "local", "sonnet", "opus".'
    )
    assert user == transcript(features().messages, 4000)
    assert user.endswith("[system]\nbe brief\n\n[user]\nis this lock-free queue linearizable?")


def test_the_schema_asks_for_the_reason_first_then_the_tier_then_the_confidence() -> None:
    schema = answer_schema(TIERS)
    assert list(schema["properties"]) == ["reason", "tier", "confidence"]
    assert schema["required"] == ["reason", "tier", "confidence"]
    assert schema["properties"]["tier"] == {"type": "string", "enum": TIERS}
    assert schema["properties"]["confidence"] == {"type": "number", "minimum": 0, "maximum": 1}
    assert schema["additionalProperties"] is False


@pytest.mark.asyncio
async def test_max_tokens_caps_the_answer(h: Harness) -> None:
    await classify(h.build(graph_of(extra="max_tokens: 32")))
    assert h.backend.requests()[0].max_tokens == 32


@pytest.mark.asyncio
async def test_a_custom_prompt_gets_the_tier_list_substituted(h: Harness) -> None:
    await classify(h.build(graph_of(extra='prompt: "Pick one of:\\n{tiers}"')))
    system = h.backend.requests()[0].messages[0].text()
    assert system.startswith("Pick one of:\n- local: The laptop's model.\n- sonnet:")
    assert "Reply with JSON only" in system


# --- answers --------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("reply", "why"),
    [
        pytest.param("I think opus", "is not", id="prose"),
        pytest.param(answer(tier="gpt-9"), "tier 'gpt-9', which is not one of local, sonnet, opus", id="unknown-tier"),
        pytest.param('{"reason": "no tier", "confidence": 0.9}', "is not", id="no-tier"),
        pytest.param(answer(confidence=1.5), "is not", id="confidence-over-1"),
        pytest.param('{"reason": "the lock is held while', "is not", id="cut-at-max-tokens"),
        pytest.param("", "empty answer", id="empty"),
    ],
)
async def test_unreadable_or_unknown_answers_are_invalid(h: Harness, reply: str, why: str) -> None:
    h.backend.default = reply
    outcome, tier, error = await classify(h.build())
    assert (outcome, tier) == ("invalid", None)
    assert error is not None and why in error and "model 'judge'" in error and URL in error


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(f"```JSON\n{OPUS}\n```", id="upper-case-fence"),
        pytest.param(f"```\n{OPUS}\n```", id="bare-fence"),
        pytest.param(f"Sure! Here is my answer: {OPUS}", id="preamble"),
        pytest.param(f"{OPUS}\nHope that helps.", id="afterword"),
        pytest.param(f"<think>Is {{this}} hard? A proof, so yes.</think>\n{OPUS}", id="think-block"),
        pytest.param(f"<THINK>\nhmm\n</THINK>```json\n{OPUS}\n```", id="think-then-fence"),
        pytest.param(answer(reason="the {lock} and the } are subtle"), id="braces-inside-the-reason"),
    ],
)
def test_the_one_json_object_of_a_wrapped_answer_is_read(reply: str) -> None:
    decoded = decode_answer(reply, TIERS)
    assert not isinstance(decoded, str), decoded
    assert (decoded.tier, decoded.confidence) == ("opus", 0.9)


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        pytest.param(f"{answer('local')} or maybe {OPUS}", "answer holds 2 JSON objects, not one", id="two-objects"),
        pytest.param(f"[{answer('local')}, {OPUS}]", "answer holds 2 JSON objects, not one", id="a-list-of-two"),
        pytest.param("Sure! I would pick {opus}.", "answer is not", id="braces-but-no-json"),
        pytest.param(f"<think>cut off while thinking: {OPUS}", "empty answer", id="unclosed-think-block"),
        pytest.param("<think>only thoughts</think>", "empty answer", id="thoughts-and-no-answer"),
    ],
)
def test_an_answer_without_exactly_one_json_object_is_invalid(reply: str, why: str) -> None:
    decoded = decode_answer(reply, TIERS)
    assert isinstance(decoded, str) and decoded.startswith(why), decoded


def test_a_fenced_answer_is_read_and_a_missing_confidence_is_none_not_made_up() -> None:
    fenced = decode_answer('```json\n{"tier": "local"}\n```', TIERS)
    assert not isinstance(fenced, str)
    assert (fenced.tier, fenced.reason, fenced.confidence) == ("local", "", None)


# --- response_format: json_schema, then json_object with the schema --------------------------


@pytest.mark.asyncio
async def test_a_refused_json_schema_is_asked_again_as_json_object_and_remembered(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tiergate.classifier")
    h.backend.script.append(refusal())
    classifier = h.build()
    assert (await classify(classifier))[:2] == ("ok", "opus")
    first, second = h.backend.requests()
    assert first.response_format is not None and first.response_format["type"] == "json_schema"
    assert second.response_format == {"type": "json_object", "schema": answer_schema(TIERS)}
    assert classifier.shared.format == "json_object"
    assert "refused response_format json_schema" in caplog.text
    assert (await classify(classifier, features("another question")))[0] == "ok"
    assert h.backend.formats() == ["json_schema", "json_object", "json_object"]


@pytest.mark.asyncio
async def test_calls_in_flight_when_the_first_refusal_comes_each_ask_again_as_json_object(h: Harness) -> None:
    """Four different questions sent json_schema before any refusal came back; each is refused, and each asks
    once more with json_object (they all failed while only the first was let retry)."""
    h.backend.gate = asyncio.Event()
    h.backend.script.extend(refusal() for _ in range(4))
    classifier = h.build()
    tasks = [asyncio.create_task(classify(classifier, features(f"question {i}"))) for i in range(4)]
    while len(h.backend.calls) < 4:  # every call sent (json_schema) and held at the gate
        h.backend.entered.clear()
        await h.backend.entered.wait()
    h.backend.gate.set()
    assert await asyncio.gather(*tasks) == [("ok", "opus", None)] * 4
    assert h.backend.formats() == ["json_schema"] * 4 + ["json_object"] * 4
    assert classifier.shared.format == "json_object"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "message"),
    [
        pytest.param(500, LLAMA_CPP_REFUSAL, id="llama-cpp-python"),
        pytest.param(
            500, 'response_format type must be one of "text" or "json_object", but got: json_schema', id="old-server"
        ),
        pytest.param(400, "response_format: unsupported type", id="400"),
        pytest.param(422, "json_schema is not supported", id="422"),
    ],
)
async def test_every_refusal_that_names_the_format_falls_back(h: Harness, status: int, message: str) -> None:
    h.backend.script.append(refusal(status, message))
    assert (await classify(h.build()))[0] == "ok"
    assert h.backend.formats() == ["json_schema", "json_object"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "message"),
    [(500, "CUDA out of memory"), (503, "response_format json_schema is loading"), (404, "no model 'judge'")],
)
async def test_other_errors_are_not_taken_for_a_refused_format(h: Harness, status: int, message: str) -> None:
    h.backend.script.append(refusal(status, message))
    classifier = h.build()
    outcome, _, error = await classify(classifier)
    assert outcome == "error" and error is not None and message in error
    assert h.backend.formats() == ["json_schema"] and classifier.shared.format == "json_schema"


@pytest.mark.asyncio
async def test_a_refused_json_object_is_not_asked_again(h: Harness) -> None:
    h.backend.script.append(refusal(500, "response_format json_object needs a grammar"))
    outcome, _, _ = await classify(h.build(graph_of(extra="response_format: json_object")))
    assert outcome == "error" and h.backend.formats() == ["json_object"]


@pytest.mark.asyncio
async def test_response_format_json_object_asks_for_it_from_the_start(h: Harness) -> None:
    await classify(h.build(graph_of(extra="response_format: json_object")))
    assert h.backend.requests()[0].response_format == {"type": "json_object", "schema": answer_schema(TIERS)}


@pytest.mark.asyncio
async def test_the_format_learned_is_kept_across_a_reload_with_the_same_settings(h: Harness) -> None:
    h.backend.script.append(refusal())
    await classify(h.build())
    reloaded = h.build(graph_of(extra="# a comment changes the rules version"))
    assert (await classify(reloaded))[0] == "ok"
    assert h.backend.formats() == ["json_schema", "json_object", "json_object"]


# --- failures -------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("pieces", [pytest.param(0, id="before-the-first-token"), pytest.param(1, id="mid-answer")])
async def test_a_hanging_model_times_out_and_its_stream_is_closed(h: Harness, pieces: int) -> None:
    h.backend.default = Hang(pieces)
    outcome, tier, error = await classify(h.build(graph_of(timeout=0.05)))
    assert (outcome, tier) == ("timeout", None)
    assert error is not None and "0.05s" in error and URL in error
    assert (h.backend.left, h.backend.closed) == (1, 1)  # closed by dispatch, which stops the model server's work


@pytest.mark.asyncio
async def test_a_whole_answer_closes_its_stream_too(h: Harness) -> None:
    await classify(h.build())
    assert (h.backend.left, h.backend.closed) == (0, 1)


@pytest.mark.asyncio
async def test_an_upstream_error_is_reported_with_backend_and_url(h: Harness) -> None:
    h.backend.default = UpstreamUnavailable("tiny", URL, "connection refused", kind="connect")
    outcome, _, error = await classify(h.build())
    assert (outcome, error) == ("error", f"backend 'tiny' at {URL}: connection refused")


@pytest.mark.asyncio
async def test_an_upstream_timeout_error_counts_as_timeout(h: Harness) -> None:
    h.backend.default = UpstreamUnavailable("tiny", URL, "timed out", kind="timeout")
    assert (await classify(h.build()))[0] == "timeout"


@pytest.mark.asyncio
async def test_a_foreign_exception_never_escapes(h: Harness) -> None:
    h.backend.default = RuntimeError("bug in a backend")
    classifier = h.build()
    outcome, _, error = await classify(classifier)
    assert outcome == "error" and error == f"backend 'tiny' at {URL}: RuntimeError: bug in a backend"
    assert h.breaker(classifier) == "closed"


@pytest.mark.asyncio
async def test_errors_are_scrubbed_of_secrets(h: Harness) -> None:
    secret = "sk-upstream-SECRET-0a1b2c3d"
    h.redact = Redactor([secret])
    h.backend.script.extend([UpstreamStatusError("tiny", URL, f"bad key {secret}", status=400), RuntimeError(secret)])
    classifier = h.build()
    assert (await classify(classifier, features("one")))[2] == f"backend 'tiny' at {URL}: bad key ***"
    assert (await classify(classifier, features("two")))[2] == f"backend 'tiny' at {URL}: RuntimeError: ***"


# --- the breaker: dispatch's, keyed backend/model -------------------------------------------


@pytest.mark.asyncio
async def test_invalid_answers_open_the_breaker_which_then_costs_no_call_until_reset(h: Harness, clock: Clock) -> None:
    h.backend.default = "nonsense"
    classifier = h.build()
    for i in range(3):
        assert (await classify(classifier, features(f"question {i}")))[0] == "invalid"
    outcome, tier, error = await classify(classifier, features("question 4"))
    assert (outcome, tier) == ("breaker_open", None)
    assert error == f"backend 'tiny' at {URL}: circuit breaker open for classifier:tiny/judge (retry in 30s)"
    assert h.breaker(classifier) == "open" and len(h.backend.calls) == 3
    clock.advance(29.9)
    assert (await classify(classifier, features("question 5")))[0] == "breaker_open"
    clock.advance(0.1)
    h.backend.default = OPUS
    assert (await classify(classifier, features("question 6")))[0] == "ok"
    assert h.breaker(classifier) == "closed" and len(h.backend.calls) == 4


@pytest.mark.asyncio
async def test_errors_timeouts_and_invalid_answers_all_count(h: Harness) -> None:
    h.backend.script.extend([UpstreamUnavailable("tiny", URL, "refused", kind="connect"), Hang(), "nonsense"])
    classifier = h.build(graph_of(timeout=0.05))
    outcomes = [(await classify(classifier, features(f"q{i}")))[0] for i in range(4)]
    assert outcomes == ["error", "timeout", "invalid", "breaker_open"]


@pytest.mark.asyncio
async def test_a_success_resets_the_failure_count(h: Harness) -> None:
    h.backend.script.extend(["x", "x", OPUS, "x", "x"])
    classifier = h.build()
    outcomes = [(await classify(classifier, features(f"q{i}")))[0] for i in range(6)]
    assert outcomes == ["invalid", "invalid", "ok", "invalid", "invalid", "ok"]


async def opened(h: Harness, clock: Clock) -> LLMClassifier:
    """A classifier whose breaker has opened and whose reset timeout has just passed."""
    h.backend.script.extend(["nonsense"] * 3)
    classifier = h.build()
    for i in range(3):
        await classify(classifier, features(f"q{i}"))
    assert h.breaker(classifier) == "open"
    clock.advance(30)
    return classifier


@pytest.mark.asyncio
async def test_a_failed_trial_call_opens_the_breaker_again(h: Harness, clock: Clock) -> None:
    classifier = await opened(h, clock)
    h.backend.script.append("still nonsense")
    assert (await classify(classifier, features("trial")))[0] == "invalid"
    assert (await classify(classifier, features("after")))[0] == "breaker_open"
    assert len(h.backend.calls) == 4


@pytest.mark.asyncio
async def test_only_one_trial_call_goes_out_after_the_reset_timeout(h: Harness, clock: Clock) -> None:
    classifier = await opened(h, clock)
    h.backend.gate, h.backend.entered = asyncio.Event(), asyncio.Event()
    trial = asyncio.create_task(classify(classifier, features("trial")))
    await h.backend.entered.wait()
    outcome, _, error = await classify(classifier, features("beside the trial"))
    assert outcome == "breaker_open" and error is not None and "a trial call is in flight" in error
    h.backend.gate.set()
    assert (await trial)[0] == "ok"
    assert (await classify(classifier, features("after")))[0] == "ok"
    assert len(h.backend.calls) == 5


@pytest.mark.asyncio
async def test_an_abandoned_trial_call_does_not_keep_the_breaker_shut(h: Harness, clock: Clock) -> None:
    classifier = await opened(h, clock)
    h.backend.gate, h.backend.entered = asyncio.Event(), asyncio.Event()
    trial = asyncio.create_task(classify(classifier, features("trial")))
    await h.backend.entered.wait()
    for flight in list(classifier.shared.inflight.values()):
        flight.cancel()
    with pytest.raises(asyncio.CancelledError):
        await trial
    assert h.backend.left == 1
    h.backend.gate.set()
    assert (await classify(classifier, features("next")))[0] == "ok"


@pytest.mark.asyncio
async def test_the_breaker_outlives_a_reload_that_starts_a_fresh_cache(h: Harness) -> None:
    h.backend.default = "nonsense"
    first = h.build()
    for i in range(3):
        await classify(first, features(f"q{i}"))
    second = h.build(graph_of(extra='prompt: "Choose: {tiers}"'))
    assert second.shared is not first.shared
    assert (await classify(second))[0] == "breaker_open"
    assert len(h.backend.calls) == 3


# --- cache ----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_second_identical_request_is_a_cache_hit_without_a_call(h: Harness) -> None:
    classifier = h.build()
    await classify(classifier)
    out = await classifier.classify(features(), PHASE1, GRAPH)
    assert (out.outcome, out.tier, out.reason, out.confidence) == ("cache_hit", "opus", "needs a proof", 0.9)
    assert len(h.backend.calls) == 1


@pytest.mark.asyncio
async def test_the_cache_key_is_the_last_two_messages(h: Harness) -> None:
    classifier = h.build()
    earlier = [Message(role="user", content="hello"), Message(role="assistant", content="hi")]
    tail = [Message(role="user", content="ok"), Message(role="user", content="is this linearizable?")]
    await classifier.classify(Features.of(ChatRequest(messages=[earlier[0], *tail])), PHASE1, GRAPH)
    out = await classifier.classify(Features.of(ChatRequest(messages=[*earlier, *tail])), PHASE1, GRAPH)
    assert out.outcome == "cache_hit"
    assert cache_key(tail, "v1") != cache_key(tail, "v2")
    as_user, as_assistant = Message(role="user", content="a"), Message(role="assistant", content="a")
    assert cache_key([as_user], "v") != cache_key([as_assistant], "v")


@pytest.mark.asyncio
async def test_failures_are_not_cached(h: Harness) -> None:
    h.backend.script.append("garbage")
    classifier = h.build()
    assert [(await classify(classifier))[0] for _ in range(3)] == ["invalid", "ok", "cache_hit"]


@pytest.mark.asyncio
async def test_cached_answers_expire_after_the_ttl(h: Harness, clock: Clock) -> None:
    classifier = h.build(graph_of(extra="cache_ttl: 60"))
    await classify(classifier)
    clock.advance(59)
    assert (await classify(classifier))[0] == "cache_hit"
    clock.advance(1)
    assert (await classify(classifier))[0] == "ok"


@pytest.mark.asyncio
async def test_changed_classifier_settings_start_a_fresh_cache(h: Harness) -> None:
    first = h.build()
    await classify(first)
    second = h.build(graph_of(extra='prompt: "Choose: {tiers}"'))
    assert second.shared is not first.shared
    assert (await classify(second))[0] == "ok"
    assert len(h.backend.calls) == 2


@pytest.mark.asyncio
async def test_a_reload_with_the_same_settings_keeps_the_cache_but_misses_on_the_new_rules_version(
    h: Harness,
) -> None:
    first = h.build()
    await classify(first)
    reloaded = h.build(graph_of(extra="# edited"))
    assert reloaded.shared is first.shared and reloaded.rules_version != first.rules_version
    assert (await classify(reloaded))[0] == "ok"
    assert len(h.backend.calls) == 2


def test_tier_descriptions_and_the_classifier_backend_are_settings(h: Harness) -> None:
    text = ROUTES.format(timeout=1, extra="")
    first = h.build()
    assert h.build().shared is first.shared
    moved = compile_graph(load_text(text.replace(':9"}', ':10"}', 1), "routes.yaml", {}))
    second = h.build(moved)
    assert second.shared is not first.shared
    renamed = compile_graph(load_text(text.replace("The laptop's model.", "A small model."), "routes.yaml", {}))
    assert h.build(renamed).shared is not second.shared


# --- single flight --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_fifty_concurrent_identical_requests_share_one_call(h: Harness) -> None:
    h.backend.gate = asyncio.Event()
    classifier = h.build()
    tasks = [asyncio.create_task(classify(classifier)) for _ in range(50)]
    await h.backend.entered.wait()
    h.backend.gate.set()
    assert await asyncio.gather(*tasks) == [("ok", "opus", None)] * 50
    assert len(h.backend.calls) == 1 and classifier.shared.inflight == {}
    assert (await classify(classifier))[0] == "cache_hit"


@pytest.mark.asyncio
async def test_followers_share_a_failure_and_the_breaker_counts_it_once(h: Harness) -> None:
    h.backend.gate = asyncio.Event()
    h.backend.default = "not json"
    classifier = h.build()
    tasks = [asyncio.create_task(classify(classifier)) for _ in range(10)]
    await h.backend.entered.wait()
    h.backend.gate.set()
    assert {r[0] for r in await asyncio.gather(*tasks)} == {"invalid"}
    assert len(h.backend.calls) == 1
    assert h.breaker(classifier) == "closed"  # fail_max is 3: ten counts would have opened it


@pytest.mark.asyncio
async def test_a_cancelled_leader_does_not_fail_its_followers(h: Harness) -> None:
    h.backend.gate = asyncio.Event()
    classifier = h.build()
    leader = asyncio.create_task(classify(classifier))
    follower = asyncio.create_task(classify(classifier))
    await h.backend.entered.wait()
    leader.cancel()
    h.backend.gate.set()
    assert await follower == ("ok", "opus", None)
    assert leader.cancelled() and h.backend.left == 0


@pytest.mark.asyncio
async def test_a_call_is_charged_once_to_the_request_that_made_it_even_after_it_left(h: Harness) -> None:
    """The leader's client leaves while the call runs on for a follower: the call's usage still reaches the
    leader's charge, once, as the call ends; the follower (and a later cache hit) is charged nothing."""
    h.backend.gate = asyncio.Event()
    classifier = h.build()
    charged: dict[str, list[tuple[Target, Usage]]] = {"leader": [], "follower": [], "later": []}

    def charge(who: str) -> Charge:
        return lambda target, usage: charged[who].append((target, usage))

    leader = asyncio.create_task(classifier.classify(features(), PHASE1, GRAPH, charge("leader")))
    await h.backend.entered.wait()
    follower = asyncio.create_task(classifier.classify(features(), PHASE1, GRAPH, charge("follower")))
    await asyncio.sleep(0)  # the follower joins the flight
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert charged["leader"] == []  # the call has not ended yet
    h.backend.gate.set()
    shared = await follower
    assert (shared.outcome, shared.usage) == ("ok", None)
    hit = await classifier.classify(features(), PHASE1, GRAPH, charge("later"))
    assert hit.outcome == "cache_hit"
    ((target, usage),) = charged["leader"]
    assert target is classifier.target and usage.completion_tokens > 0
    assert (charged["follower"], charged["later"]) == ([], [])


# --- pieces ---------------------------------------------------------------------------------


def test_the_factory_builds_nothing_without_a_classifier_section(backend: ScriptedBackend) -> None:
    text = ROUTES.format(timeout=1, extra="").split("routing:")[0]
    dispatcher = Dispatcher({"tiny": backend})
    assert classifier_factory()(compile_graph(load_text(text, "routes.yaml", {})), dispatcher) is None
    assert classifier_factory()(graph_of(), dispatcher) is not None


def test_the_classifier_is_a_dispatch_target_with_its_own_bounds_and_breaker(h: Harness) -> None:
    target = h.build(graph_of(timeout=2.5)).target
    assert (target.key, target.retries.attempts) == ("classifier:tiny/judge", 0)
    assert (target.timeouts.first_token, target.timeouts.idle, target.timeouts.total) == (2.5, 2.5, 2.5)
    assert (target.breaker.fail_max, target.breaker.reset_timeout) == (3, 30)
    text = ROUTES.format(timeout=1, extra="").replace("breaker: {fail_max: 3, reset_timeout: 30}", "")
    defaults = h.build(compile_graph(load_text(text, "routes.yaml", {}))).target.breaker
    assert (defaults.fail_max, defaults.reset_timeout) == (5, 60)


def test_the_transcript_shares_max_chars_between_the_last_two_messages() -> None:
    long = Message(role="user", content="A" * 500 + "the question?")
    short = Message(role="assistant", content="short")
    text = transcript([Message(role="system", content="dropped"), short, long], 100)
    assert "dropped" not in text
    assert "[assistant]\nshort" in text
    assert "the question?" in text and "characters left out" in text
    assert shares([5, 513], 100) == [5, 95] and shares([500, 600], 100) == [50, 50]


# --- settings that a reload changes ---------------------------------------------------------


@pytest.mark.asyncio
async def test_a_reload_applies_new_classifier_breaker_settings(h: Harness) -> None:
    h.backend.default = "nonsense"
    await classify(h.build(), features("q0"))  # the breaker exists now, with fail_max 3
    text = ROUTES.format(timeout=1, extra="").replace("fail_max: 3", "fail_max: 1")
    reloaded = h.build(compile_graph(load_text(text, "routes.yaml", {})))
    await classify(reloaded, features("q1"))
    assert h.breaker(reloaded) == "open"


@pytest.mark.asyncio
async def test_a_reload_applies_new_classifier_limits(h: Harness) -> None:
    await classify(h.build(), features("warm"))  # the limiter slots exist now, unlimited
    limited = h.build(graph_of(extra="limits: {concurrency: 1, on_limit: reject}"))
    h.backend.entered.clear()
    gate = h.backend.gate = asyncio.Event()
    one = asyncio.create_task(classify(limited, features("one")))
    await h.backend.entered.wait()
    h.backend.gate = None
    two = await classify(limited, features("two"))
    gate.set()
    assert (await one)[0] == "ok"
    assert two[0] == "error" and two[2] is not None and "concurrency" in two[2]


@pytest.mark.asyncio
async def test_a_tier_on_the_same_model_keeps_its_own_breaker(h: Harness) -> None:
    """The classifier's model may also serve a tier; the two keep separate breakers and limits."""
    text = ROUTES.format(timeout=1, extra="").replace("model: judge", "model: small")
    graph = compile_graph(load_text(text, "routes.yaml", {}))
    classifier = h.build(graph)
    local = graph.chains.for_tier("local")[0]
    assert classifier.target.key != local.key
    h.backend.default = "nonsense"
    for i in range(3):
        await classify(classifier, features(f"q{i}"))
    assert (h.breakers.state(classifier.target), h.breakers.state(local)) == ("open", "closed")


# --- format refusals ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_refused_json_schema_does_not_count_against_the_breaker(h: Harness) -> None:
    h.backend.script.append(refusal())  # llama-cpp-python's 500: a healthy server without that format
    text = ROUTES.format(timeout=1, extra="").replace("fail_max: 3", "fail_max: 1")
    outcome, _, error = await classify(h.build(compile_graph(load_text(text, "routes.yaml", {}))))
    assert outcome == "ok", error
    assert h.backend.formats() == ["json_schema", "json_object"]


@pytest.mark.asyncio
async def test_an_explicit_json_schema_format_never_falls_back(h: Harness) -> None:
    h.backend.script.append(refusal())
    outcome, _, error = await classify(h.build(graph_of(extra="response_format: json_schema")))
    assert outcome == "error" and error is not None and "json_schema" in error
    assert h.backend.formats() == ["json_schema"]


@pytest.mark.asyncio
async def test_a_limit_wait_longer_than_the_timeout_is_a_timeout(h: Harness) -> None:
    classifier = h.build(graph_of(timeout=0.1, extra="limits: {rpm: 1, on_limit: wait, max_wait: 30}"))
    assert (await classify(classifier, features("one")))[0] == "ok"
    outcome, _, error = await classify(classifier, features("two"))  # no rate capacity for a minute
    assert outcome == "timeout" and error == "no answer within 0.1s (routing.classifier.timeout)"
