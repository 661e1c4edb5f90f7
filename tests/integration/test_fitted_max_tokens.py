"""The ``max_tokens`` a Claude tier is sent for a client that gives no output limit (Codex through Responses,
many chat clients): the largest that fits, the backend's ``default_max_tokens`` or the target's
``capabilities.max_output`` when smaller, cut to the room the target's context window leaves beside the
prompt's estimate and its error margin, never below 4096. A fixed 4,096 cut a long turn (a file written in
one patch) short, and Codex printed "Incomplete response returned, reason: max_output_tokens". Where the API
counts the prompt far above the estimate (dense text) and refuses the limit as over the window, the request
is asked once more with the room the refusal names; and thinking fits under the limit, never raising it.
The openai and anthropic SDKs → the real gateway → the fake Anthropic server, which records each body."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.scripts import Status, Text

ROUTES = """
version: 1
backends:
  anthropic: {kind: anthropic, base_url: "${ANTHROPIC_BASE_URL}", api_key_env: ANTHROPIC_API_KEY}
  long: {kind: anthropic, base_url: "${ANTHROPIC_BASE_URL}", api_key_env: ANTHROPIC_API_KEY, default_max_tokens: 64000}
tiers:
  local: {targets: [{backend: anthropic, model: claude-haiku-4-5, capabilities: {context_window: 200000}}]}
  sonnet:
    targets: [{backend: long, model: claude-sonnet-4-5, capabilities: {context_window: 200000, max_output: 64000}}]
  opus: {targets: [{backend: long, model: claude-opus-4-1, capabilities: {context_window: 200000, max_output: 32000}}]}
  deep:
    targets: [{backend: anthropic, model: claude-sonnet-4-5, capabilities: {context_window: 200000, thinking: true}}]
fallbacks: {local: [sonnet], sonnet: [opus]}
"""
WINDOW = 200_000
#: A prompt of 540,000 characters: 135,000 tokens by tiergate's estimate (4 characters a token).
LONG = "word " * 108_000
LONG_ESTIMATE = 135_000
#: 148,000 tokens by the estimate: with a third more and 1024 for its error, no room left but the floor's.
NEAR_FULL = "word " * 118_400
#: 176,000 characters of Chinese: 44,000 tokens by the estimate, which leaves the cap's 32000 room; Claude
#: counts about one token a character, and refuses that beside it.
DENSE = "请检查这个函数是否正确" * 16_000
DENSE_REFUSAL = (
    "input length and `max_tokens` exceed context limit: 176015 + 32000 > 200000, decrease input length or"
    " `max_tokens` and try again"
)
#: The window less the prompt Claude counted, less the margin kept back.
DENSE_ROOM = 200_000 - 176_015 - 256


@pytest.fixture
def gateway(tmp_path: Path, gateway_for: GatewayFactory, upstream_env: dict[str, str]) -> str:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    return gateway_for(routes, upstream_env)


@pytest.fixture
def sdk(gateway: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gateway + "/v1", api_key="sk-client-unused", max_retries=0, timeout=60) as client:
        yield client


@pytest.fixture
def claude(gateway: str) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=gateway, api_key="sk-ant-client-unused", max_retries=0, timeout=60) as client:
        yield client


def sent_max_tokens(fake: FakeAnthropic) -> int:
    assert len(fake.requests) == 1
    value: int = fake.requests[0].body["max_tokens"]
    return value


def ask_responses(sdk: openai.OpenAI, model: str, text: str, *, stream: bool, **limit: Any) -> None:
    if stream:
        with sdk.responses.create(model=model, input=text, stream=True, **limit) as events:
            assert [e.type for e in events][-1] == "response.completed"
    else:
        assert sdk.responses.create(model=model, input=text, **limit).output_text == "done"


def ask_chat(sdk: openai.OpenAI, model: str, text: str, *, stream: bool, **limit: Any) -> None:
    messages: Any = [{"role": "user", "content": text}]
    if stream:
        chunks = list(sdk.chat.completions.create(model=model, messages=messages, stream=True, **limit))
        assert chunks[-1].choices[-1].finish_reason == "stop"
    else:
        answer = sdk.chat.completions.create(model=model, messages=messages, **limit)
        assert answer.choices[0].message.content == "done"


ASKS = {"responses": ask_responses, "chat": ask_chat}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("ingress", list(ASKS))
def test_a_short_prompt_without_a_limit_gets_the_backends_default(
    sdk: openai.OpenAI, fake_anthropic: FakeAnthropic, ingress: str, stream: bool
) -> None:
    """Codex's turn was sent 4096 and stopped there."""
    fake_anthropic.replies.append(Text("done"))
    ASKS[ingress](sdk, "local", "write the whole module in one patch", stream=stream)
    assert sent_max_tokens(fake_anthropic) == 32000


@pytest.mark.parametrize(("tier", "expected"), [("sonnet", 64000), ("opus", 32000)])
@pytest.mark.parametrize("ingress", list(ASKS))
def test_the_targets_max_output_bounds_a_larger_default(
    sdk: openai.OpenAI, fake_anthropic: FakeAnthropic, ingress: str, tier: str, expected: int
) -> None:
    """The backend's 64000 goes to Sonnet 4.5, which writes as much; Opus 4.1, which writes at most 32000,
    gets its own."""
    fake_anthropic.replies.append(Text("done"))
    ASKS[ingress](sdk, tier, "write the whole module in one patch", stream=False)
    assert sent_max_tokens(fake_anthropic) == expected


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("ingress", list(ASKS))
def test_a_long_prompt_gets_the_room_its_window_leaves(
    sdk: openai.OpenAI, fake_anthropic: FakeAnthropic, ingress: str, stream: bool
) -> None:
    """A 32000 beside a 135,000-token prompt (up to 180,000 as Claude counts text at 3 characters a token)
    would be refused as over the window: the window less the estimate, a third of it and 1024 is sent."""
    fake_anthropic.replies.append(Text("done"))
    ASKS[ingress](sdk, "local", LONG, stream=stream)
    assert sent_max_tokens(fake_anthropic) == WINDOW - LONG_ESTIMATE - LONG_ESTIMATE // 3 - 1024 == 18976


@pytest.mark.parametrize("ingress", list(ASKS))
def test_a_prompt_that_leaves_no_room_still_gets_the_floor(
    sdk: openai.OpenAI, fake_anthropic: FakeAnthropic, ingress: str
) -> None:
    """The backend's 64000 beside a 148,000-token prompt was refused as over the window (raising the default
    was the way round the cut turns, and broke long conversations). Less than 4096 would cut most answers
    short; a prompt over the window even with it is the upstream's to refuse."""
    fake_anthropic.replies.append(Text("done"))
    ASKS[ingress](sdk, "sonnet", NEAR_FULL, stream=False)
    assert sent_max_tokens(fake_anthropic) == 4096


@pytest.mark.parametrize(
    ("ingress", "limit"), [("responses", {"max_output_tokens": 50000}), ("chat", {"max_tokens": 50000})]
)
def test_a_clients_own_limit_is_sent_as_given_up_to_max_output(
    sdk: openai.OpenAI, fake_anthropic: FakeAnthropic, ingress: str, limit: dict[str, int]
) -> None:
    """The backend's default and the prompt's room do not change what the client asked for; the target's
    ``max_output`` bounds it (Opus 4.1 writes at most 32000, and the API refuses more:
    tests/integration/test_max_output.py)."""
    fake_anthropic.replies.extend([Text("done"), Text("done"), Text("done")])
    ASKS[ingress](sdk, "sonnet", "write the whole module in one patch", stream=False, **limit)
    ASKS[ingress](sdk, "local", LONG, stream=False, **limit)
    ASKS[ingress](sdk, "opus", "write the whole module in one patch", stream=False, **limit)
    assert [r.body["max_tokens"] for r in fake_anthropic.requests] == [50000, 50000, 32000]


# --- thinking fits under the limit tiergate chose -----------------------------------------------------------


EFFORT = {"responses": {"reasoning": {"effort": "xhigh"}}, "chat": {"reasoning_effort": "xhigh"}}


@pytest.mark.parametrize("ingress", list(ASKS))
def test_thinking_is_cut_to_the_fitted_limit_not_the_limit_raised_to_it(
    sdk: openai.OpenAI, fake_anthropic: FakeAnthropic, ingress: str
) -> None:
    """Codex's xhigh (a 30720 budget) raised the 18976 that fits beside a 135,000-token prompt to 31744, past
    what the window holds: the budget is cut instead, leaving 1024 for the answer."""
    fake_anthropic.replies.append(Text("done"))
    ASKS[ingress](sdk, "deep", LONG, stream=False, **EFFORT[ingress])
    body = fake_anthropic.requests[0].body
    assert (body["max_tokens"], body["thinking"]) == (18976, {"type": "enabled", "budget_tokens": 18976 - 1024})


# --- asked again when Claude counts the prompt far above the estimate ------------------------------------


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("ingress", list(ASKS))
def test_a_dense_prompt_refused_beside_the_fitted_limit_is_asked_again_with_the_room_named(
    sdk: openai.OpenAI, fake_anthropic: FakeAnthropic, ingress: str, stream: bool
) -> None:
    """Chinese runs near a token a character, not the estimate's four: the 32000 chosen beside it was refused
    as over the window, and the client, which sent no limit, had none to lower (the former fixed 4096 fit).
    The same body goes again with the window less the prompt Claude counted, less 256."""
    fake_anthropic.replies.extend([Status(400, DENSE_REFUSAL), Text("done")])
    ASKS[ingress](sdk, "opus", DENSE, stream=stream)
    first, again = (r.body for r in fake_anthropic.requests)
    assert (first["max_tokens"], again) == (32000, {**first, "max_tokens": DENSE_ROOM})


def test_the_request_asked_again_is_one_attempt_that_answered(
    sdk: openai.OpenAI, fake_anthropic: FakeAnthropic
) -> None:
    """Dispatch sees one call that answered: no failed attempt, nothing for the target's breaker."""
    fake_anthropic.replies.extend([Status(400, DENSE_REFUSAL), Text("done")])
    raw = sdk.chat.completions.with_raw_response.create(model="opus", messages=[{"role": "user", "content": DENSE}])
    assert raw.parse().choices[0].message.content == "done"
    assert raw.headers["x-tiergate-attempts"] == "opus/claude-opus-4-1:ok"


@pytest.mark.parametrize(
    ("counted", "thinking"),
    [
        (176_015, {"type": "enabled", "budget_tokens": 200_000 - 176_015 - 256 - 1024}),
        (197_000, {"type": "enabled", "budget_tokens": 2744 - 1024}),
        (198_500, None),  # 1244 left: under the API's smallest budget and the answer's room, no thinking
    ],
)
def test_thinking_asked_again_fits_under_the_room_named(
    sdk: openai.OpenAI, fake_anthropic: FakeAnthropic, counted: int, thinking: dict[str, Any] | None
) -> None:
    refusal = DENSE_REFUSAL.replace("176015", str(counted))
    fake_anthropic.replies.extend([Status(400, refusal), Text("done")])
    ask_chat(sdk, "deep", DENSE, stream=False, reasoning_effort="xhigh")
    first, again = (r.body for r in fake_anthropic.requests)
    assert first["thinking"] == {"type": "enabled", "budget_tokens": 30720}
    assert (again["max_tokens"], again.get("thinking")) == (200_000 - counted - 256, thinking)


@pytest.mark.parametrize("ingress", ["responses", "chat", "messages"])
def test_a_clients_own_limit_refused_is_not_asked_again(
    sdk: openai.OpenAI, claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic, ingress: str
) -> None:
    """The client chose it, and lowers it itself (Claude Code asks again on these words); a Messages body
    always has its own."""
    fake_anthropic.replies.append(Status(400, DENSE_REFUSAL))
    with pytest.raises((openai.BadRequestError, anthropic.BadRequestError)):
        if ingress == "messages":
            claude.messages.create(model="opus", max_tokens=32000, messages=[{"role": "user", "content": DENSE}])
        else:
            limit = {"responses": {"max_output_tokens": 32000}, "chat": {"max_tokens": 32000}}[ingress]
            ASKS[ingress](sdk, "opus", DENSE, stream=False, **limit)
    assert [r.body["max_tokens"] for r in fake_anthropic.requests] == [32000]


@pytest.mark.parametrize("stream", [False, True])
def test_a_refusal_that_leaves_less_than_1024_is_the_overflow_it_was(
    sdk: openai.OpenAI, fake_anthropic: FakeAnthropic, stream: bool
) -> None:
    """744 tokens of room would cut most answers short: the refusal reaches the client as a full window."""
    refusal = DENSE_REFUSAL.replace("176015", "199000")
    fake_anthropic.replies.append(Status(400, refusal))
    with pytest.raises(openai.BadRequestError) as caught:
        ask_responses(sdk, "opus", DENSE, stream=stream)
    url = fake_anthropic.url  # type: ignore[attr-defined]
    assert caught.value.body == {
        "message": f"backend 'long' at {url}: {refusal}",
        "type": "invalid_request_error",
        "param": None,
        "code": "context_length_exceeded",
    }
    assert len(fake_anthropic.requests) == 1
