"""Anthropic Messages ingress: the official anthropic SDK → the gateway on the default routes.yaml → the fake
Ollama and Anthropic upstreams, over real sockets."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from tests.conftest import ROOT, TEST_KEY, GatewayFactory
from tests.fakes.anthropic import SIGNATURE, FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.scripts import Status, Text, ToolCalls
from tests.helpers import PNG, THREE_BACKENDS, VISION_ROUTES
from tiergate.protocols.anthropic import count_tokens, signature

EASY = "add type hints to def add(a, b)"
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture
def claude(gateway: str) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(
        base_url=gateway, api_key="sk-ant-client-unused", max_retries=0, timeout=30
    ) as sdk:  # closed: an unclosed socket is a ResourceWarning in a later test
        yield sdk


def test_create_on_the_local_tier(claude: anthropic.Anthropic, fake_ollama: FakeOllama) -> None:
    fake_ollama.replies.append(Text("def add(a: int, b: int) -> int: ...", chunks=1))
    raw = claude.messages.with_raw_response.create(
        model="claude-sonnet-5-5", max_tokens=256, system="be brief", messages=[{"role": "user", "content": EASY}]
    )
    message = raw.parse()
    assert message.type == "message" and message.role == "assistant"
    assert message.id.startswith("msg_") and message.model == "qwen2.5-coder:7b"
    assert [(b.type, getattr(b, "text", None)) for b in message.content] == [
        ("text", "def add(a: int, b: int) -> int: ...")
    ]
    assert (message.stop_reason, message.stop_sequence) == ("end_turn", None)
    assert (message.usage.input_tokens, message.usage.output_tokens) == (11, 7)
    assert raw.headers["x-tiergate-tier"] == "local"
    assert raw.headers["request-id"] == raw.headers["x-tiergate-decision-id"]
    sent = fake_ollama.requests[0].body
    assert sent["messages"][0] == {"role": "system", "content": "be brief"}
    assert sent["messages"][-1]["content"] == EASY


def test_the_dry_run_says_a_claude_name_was_routed_as_auto(gateway: str) -> None:
    body = {"model": "claude-opus-5-5", "max_tokens": 64, "messages": [{"role": "user", "content": EASY}]}
    decision = httpx.post(gateway + "/v1/route?dialect=anthropic&classify=false", json=body).json()
    assert decision["tier"] == "local"
    assert decision["reasons"][0] == "model 'claude-opus-5-5' matches 'claude-opus-*'; routed as auto"


def test_stream_on_the_local_tier(claude: anthropic.Anthropic, fake_ollama: FakeOllama) -> None:
    fake_ollama.replies.append(Text("one two three", chunks=3))
    with claude.messages.stream(
        model="claude-haiku-4-5", max_tokens=256, messages=[{"role": "user", "content": EASY}]
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(pieces) == "one two three" and len(pieces) == 3
    assert [b.type for b in final.content] == ["text"]
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 7
    assert fake_ollama.requests[0].body["stream"] is True


def test_the_stream_bytes_follow_anthropics_event_sequence(gateway: str, fake_ollama: FakeOllama) -> None:
    fake_ollama.replies.append(Text("ab", chunks=2))
    body = {"model": "local", "max_tokens": 32, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with httpx.stream("POST", gateway + "/v1/messages?beta=true", json=body) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        frames = [f for f in r.read().decode().split("\n\n") if f]
    names = [f.split("\n")[0] for f in frames]
    assert names == [
        "event: message_start",
        "event: content_block_start",
        "event: content_block_delta",
        "event: content_block_delta",
        "event: content_block_stop",
        "event: message_delta",
        "event: message_stop",
    ]
    data = [json.loads(f.split("\n", 1)[1].removeprefix("data: ")) for f in frames]
    assert data[1] == {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    assert data[2] == {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "a"}}
    assert data[4] == {"type": "content_block_stop", "index": 0}
    assert data[5]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert data[6] == {"type": "message_stop"}


def test_a_tool_turn_and_its_result_on_the_local_tier(claude: anthropic.Anthropic, fake_ollama: FakeOllama) -> None:
    fake_ollama.replies.append(ToolCalls([("get_weather", {"city": "Paris"})]))
    fake_ollama.replies.append(Text("It is 18C in Paris.", chunks=1))
    ask = {"role": "user", "content": "weather in Paris?"}
    first = claude.messages.create(model="local", max_tokens=256, tools=[WEATHER], messages=[ask])
    assert first.stop_reason == "tool_use"
    (call,) = first.content
    assert call.type == "tool_use" and call.name == "get_weather" and call.input == {"city": "Paris"}
    result = {"type": "tool_result", "tool_use_id": call.id, "content": "18C"}
    second = claude.messages.create(
        model="local",
        max_tokens=256,
        tools=[WEATHER],
        messages=[ask, {"role": "assistant", "content": first.content}, {"role": "user", "content": [result]}],
    )
    assert second.content[0].type == "text" and second.content[0].text == "It is 18C in Paris."
    sent = fake_ollama.requests[1].body
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert sent["messages"][-2]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": {"city": "Paris"}}
    assert sent["messages"][-1] == {"role": "tool", "content": "18C", "tool_name": "get_weather"}


def test_a_streamed_tool_call_is_assembled_by_the_sdk(claude: anthropic.Anthropic, fake_ollama: FakeOllama) -> None:
    fake_ollama.replies.append(ToolCalls([("get_weather", {"city": "Oslo"})], text="Checking."))
    with claude.messages.stream(
        model="local", max_tokens=256, tools=[WEATHER], messages=[{"role": "user", "content": "weather in Oslo?"}]
    ) as stream:
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["text", "tool_use"]
    assert final.content[0].text == "Checking."
    assert final.content[1].input == {"city": "Oslo"} and final.stop_reason == "tool_use"


def test_a_claude_tier_answers_through_anthropic(
    claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic, fake_ollama: FakeOllama
) -> None:
    fake_anthropic.replies.append(Text("Proof sketch.", chunks=2, prompt_tokens=30, completion_tokens=4))
    message = claude.messages.create(
        model="sonnet",
        max_tokens=512,
        system=[{"type": "text", "text": "be rigorous"}],
        metadata={"user_id": "dev-1"},
        stop_sequences=["END"],
        messages=[{"role": "user", "content": "prove the invariant"}],
    )
    assert message.content[0].type == "text" and message.content[0].text == "Proof sketch."
    assert (message.usage.input_tokens, message.usage.output_tokens) == (30, 4)
    sent = fake_anthropic.requests[0]
    # the client's own body, natively: only the model changed
    assert sent.body == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 512,
        "system": [{"type": "text", "text": "be rigorous"}],
        "metadata": {"user_id": "dev-1"},
        "stop_sequences": ["END"],
        "messages": [{"role": "user", "content": "prove the invariant"}],
        "stream": False,
    }
    assert sent.headers["x-api-key"] == TEST_KEY  # the gateway's key, never the client's
    assert not fake_ollama.requests


ATTRIBUTION = "x-anthropic-billing-header: cc_version=2.1.88.1a1; cc_entrypoint=cli; cch=7f3a2;"


@pytest.mark.parametrize(
    "system",
    [
        [{"type": "text", "text": ATTRIBUTION}, {"type": "text", "text": "You are Claude Code.", "cache_control": {}}],
        f"{ATTRIBUTION}\nYou are Claude Code.",
        # a proxy that merges the system blocks into one: the prompt in the attribution's block stays
        [{"type": "text", "text": f"{ATTRIBUTION}\nYou are Claude Code.", "cache_control": {}}],
    ],
    ids=["blocks", "string", "merged-block"],
)
def test_claude_codes_attribution_line_reaches_claude_but_no_local_model(
    claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic, fake_ollama: FakeOllama, system: Any
) -> None:
    """Claude Code opens its system prompt with a billing line whose hash changes per session and request: a
    local model read it, and its prompt cache missed from the first byte of a 12k-token prompt."""
    if isinstance(system, list):
        system[-1]["cache_control"] = {"type": "ephemeral"}
    fake_ollama.replies.append(Text("ok"))
    fake_anthropic.replies.append(Text("ok"))
    for model in ("local", "sonnet"):
        claude.messages.create(
            model=model, max_tokens=64, system=system, messages=[{"role": "user", "content": "list the files"}]
        )
    assert fake_ollama.requests[0].body["messages"][0] == {"role": "system", "content": "You are Claude Code."}
    assert fake_anthropic.requests[0].body["system"] == system


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
def test_a_web_search_claude_runs_itself_comes_through_whole(
    claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic, stream: bool
) -> None:
    """A server tool's input streams as input_json_delta on a server_tool_use block; it is no tool call of
    the client's, and the answer after it is not cut off."""
    fake_anthropic.replies.append(Text("Nothing found.", web_search="tiergate release notes"))
    ask: dict[str, Any] = {
        "model": "sonnet",
        "max_tokens": 256,
        "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 1}],
        "messages": [{"role": "user", "content": "search the web for tiergate's release notes"}],
    }
    if stream:
        with claude.messages.stream(**ask) as events:
            message = events.get_final_message()
    else:
        message = claude.messages.create(**ask)
    assert [b.type for b in message.content] == ["server_tool_use", "web_search_tool_result", "text"]
    assert message.content[0].input == {"query": "tiergate release notes"}  # type: ignore[union-attr]
    assert message.content[2].text == "Nothing found."  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    assert fake_anthropic.requests[0].body["tools"] == ask["tools"]


def test_images_reach_a_vision_target(claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic) -> None:
    png = "iVBORw0KGgoAAAANSUhEUg=="
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}}
    claude.messages.create(
        model="sonnet",
        max_tokens=64,
        messages=[{"role": "user", "content": [image, {"type": "text", "text": "what is this?"}]}],
    )
    content = fake_anthropic.requests[0].body["messages"][0]["content"]
    assert content[0] == image and content[1] == {"type": "text", "text": "what is this?"}


def test_count_tokens_is_an_estimate(claude: anthropic.Anthropic, gateway: str) -> None:
    messages = [{"role": "user", "content": "count these words for me please"}]
    counted = claude.messages.count_tokens(model="claude-opus-5-5", messages=messages)  # type: ignore[arg-type]
    body = json.dumps({"model": "claude-opus-5-5", "messages": messages}).encode()
    assert counted.input_tokens == count_tokens(body)["input_tokens"] > 0
    r = httpx.post(
        gateway + "/v1/messages/count_tokens?beta=true", content=body, headers={"content-type": "application/json"}
    )
    assert r.headers["x-tiergate-estimate"] == "true"


def test_every_answer_names_its_request(claude: anthropic.Anthropic) -> None:
    """The SDKs expose ``request-id`` for bug reports; the answers that are not chat carry one too."""
    counted = claude.messages.count_tokens(model="auto", messages=[{"role": "user", "content": "abcd"}])
    listed = claude.models.with_raw_response.list()
    ids = [counted._request_id, listed.headers["request-id"], listed.headers["x-request-id"]]
    assert all(re.fullmatch("req_[0-9a-f]{20}", str(i)) for i in ids), ids
    assert ids[0] != ids[1] == ids[2]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "model: Field required"),
        ({"model": "m", "messages": "hi"}, "messages: Expected `array`, got `str`"),
        ({"model": "m", "messages": [1]}, "messages[0]: Expected `object`, got `int`"),
        (
            {"model": "m", "messages": [{"role": "bot", "content": "x"}]},
            "messages[0].role: expected 'user', 'assistant' or 'system', got 'bot'",
        ),
    ],
)
def test_count_tokens_refuses_what_messages_refuses(gateway: str, body: dict[str, Any], message: str) -> None:
    r = httpx.post(gateway + "/v1/messages/count_tokens", json=body)
    assert r.status_code == 400
    assert r.json() == {"type": "error", "error": {"type": "invalid_request_error", "message": message}}


def test_count_tokens_needs_no_max_tokens_but_a_user_turn(claude: anthropic.Anthropic) -> None:
    ask: list[Any] = [{"role": "user", "content": "abcd"}]
    assert claude.messages.count_tokens(model="auto", messages=ask).input_tokens == 1
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.count_tokens(model="auto", messages=[{"role": "assistant", "content": "abcd"}])
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "messages: a conversation needs at least one user turn"},
    }


def test_a_4xx_anthropic_does_not_list_is_an_invalid_request_error(gateway: str) -> None:
    wrong_method = httpx.get(gateway + "/v1/messages")
    not_json = httpx.post(gateway + "/v1/messages", content=b"hi", headers={"content-type": "text/plain"})

    assert (wrong_method.status_code, not_json.status_code) == (405, 415)
    assert wrong_method.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "method GET is not allowed on /v1/messages"},
    }
    assert not_json.json()["type"] == "error" and not_json.json()["error"]["type"] == "invalid_request_error"


def test_errors_come_back_in_anthropics_shape(claude: anthropic.Anthropic, gateway: str) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(model="auto", max_tokens=16, messages=[])
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "messages: a conversation needs at least one user turn"},
    }
    r = httpx.post(gateway + "/v1/messages", json={"model": "auto", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 400 and r.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
    }
    missing = httpx.get(gateway + "/v1/messages/batches")
    assert missing.status_code == 404 and missing.json()["type"] == "error"
    assert missing.json()["error"]["type"] == "not_found_error"


def test_an_upstream_refusal_is_an_anthropic_error(claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.replies.append(Status(400, "messages: text content blocks must be non-empty"))
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(model="opus", max_tokens=16, messages=[{"role": "user", "content": "x"}])
    body = caught.value.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert "text content blocks must be non-empty" in body["error"]["message"]
    assert TEST_KEY not in body["error"]["message"]
    assert len(fake_anthropic.requests) == 1  # a 400 is neither retried nor sent elsewhere


def test_a_prompt_no_target_can_hold_is_anthropics_prompt_too_long(
    claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic
) -> None:
    """tiergate's own refusal, before any call, in the words of Anthropic's: Claude Code reads "prompt is too
    long" in an error's message as a full context window, and compacts."""
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(
            model="sonnet", max_tokens=1024, messages=[{"role": "user", "content": "word " * 200_000}]
        )
    assert caught.value.body == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "prompt is too long: 250000 tokens > 200000 maximum (the prompt's tokens estimated;"
            " no target can serve this request:"
            " sonnet/claude-sonnet-4-5: context window 200000 < ~251024 tokens (prompt ~250000 + max_tokens 1024))",
        },
    }
    assert not fake_anthropic.requests


def test_a_wrong_key_is_an_anthropic_authentication_error(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        (ROOT / "routes.yaml").read_text().replace("head: heads/default.json", f"head: {ROOT / 'heads/default.json'}")
    )
    base = gateway_for(routes, {**upstream_env, "TIERGATE_KEYS": "team-key-0123456789"})
    wrong = anthropic.Anthropic(base_url=base, api_key="not-the-key", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as caught:
        wrong.messages.create(model="auto", max_tokens=16, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body["type"] == "error"  # type: ignore[index]
    assert caught.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    right = anthropic.Anthropic(base_url=base, api_key="team-key-0123456789", max_retries=0)
    assert right.models.retrieve("auto").id == "auto"


def test_thinking_signed_by_tiergate_is_not_sent_back_to_claude(
    claude: anthropic.Anthropic, gateway: str, fake_anthropic: FakeAnthropic
) -> None:
    # A session that went Claude → local → Claude: the client sends back both assistant turns, each with its
    # thinking. Anthropic verifies signatures and refuses one it did not write (the fake does too).
    local_thinking = "The local model reasons here."
    from_claude = {"type": "thinking", "thinking": "Claude reasoned.", "signature": SIGNATURE}
    from_local = {"type": "thinking", "thinking": local_thinking, "signature": signature(local_thinking)}
    messages: list[Any] = [
        {"role": "user", "content": "prove the invariant"},
        {"role": "assistant", "content": [from_claude, {"type": "text", "text": "It holds."}]},
        {"role": "user", "content": "now rename x"},
        {"role": "assistant", "content": [from_local, {"type": "text", "text": "Renamed."}]},
        {"role": "user", "content": "and prove it again"},
    ]
    refused = httpx.post(
        fake_anthropic.url + "/v1/messages",  # type: ignore[attr-defined]
        json={"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": messages},
        headers={"x-api-key": TEST_KEY, "anthropic-version": "2023-06-01"},
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "messages.3.content.0: Invalid `signature` in `thinking` block"

    fake_anthropic.replies.append(Text("Still holds.", chunks=1))
    message = claude.messages.create(model="sonnet", max_tokens=64, messages=messages)
    assert message.content[0].type == "text" and message.content[0].text == "Still holds."
    sent = fake_anthropic.requests[-1].body["messages"]
    assert sent[1] == messages[1]  # Claude's own thinking goes back as it came, signature and all
    assert sent[3] == {"role": "assistant", "content": [{"type": "text", "text": "Renamed."}]}
    assert [turn["content"] for turn in sent[::2]] == ["prove the invariant", "now rename x", "and prove it again"]


def test_a_tool_loop_a_local_model_began_goes_to_claude_without_thinking(
    claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic
) -> None:
    """With thinking on, Anthropic wants the last assistant turn of a tool loop to begin with its own
    thinking. A loop whose tool call a local model made (its thinking signed by tiergate, so removed) goes
    to Claude with thinking off for this request, instead of a 400; ids other servers made are rewritten."""
    local_thinking = "look at the file first"
    messages: list[Any] = [
        {"role": "user", "content": "what does main.py do?"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": local_thinking, "signature": signature(local_thinking)},
                {"type": "tool_use", "id": "functions.Read:0", "name": "Read", "input": {"path": "main.py"}},
            ],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "functions.Read:0", "content": "x=1"}]},
    ]
    tools: list[Any] = [{"name": "Read", "input_schema": {"type": "object"}}]
    thinking: Any = {"type": "enabled", "budget_tokens": 1024}
    fake_anthropic.replies.append(Text("It sets x.", chunks=1))
    message = claude.messages.create(model="sonnet", max_tokens=2048, thinking=thinking, tools=tools, messages=messages)
    assert message.content[-1].type == "text" and message.content[-1].text == "It sets x."
    sent = fake_anthropic.requests[-1].body
    assert "thinking" not in sent
    rewritten = "functions_Read_0_" + hashlib.sha256(b"functions.Read:0").hexdigest()[:8]
    assert sent["messages"][1]["content"] == [
        {"type": "tool_use", "id": rewritten, "name": "Read", "input": {"path": "main.py"}}
    ]
    assert sent["messages"][2]["content"] == [{"type": "tool_result", "tool_use_id": rewritten, "content": "x=1"}]

    # a loop Claude began, its signed thinking first, keeps thinking on
    messages[1]["content"][0] = {"type": "thinking", "thinking": "Claude's", "signature": SIGNATURE}
    fake_anthropic.replies.append(Text("It sets x.", chunks=1))
    claude.messages.create(model="sonnet", max_tokens=2048, thinking=thinking, tools=tools, messages=messages)
    assert fake_anthropic.requests[-1].body["thinking"] == thinking


def test_a_local_tier_thinking_comes_back_signed_by_tiergate(
    claude: anthropic.Anthropic, fake_ollama: FakeOllama
) -> None:
    fake_ollama.replies.append(Text("Renamed.", chunks=1, thinking="x is used twice."))
    message = claude.messages.create(model="local", max_tokens=64, messages=[{"role": "user", "content": EASY}])
    thinking, text = message.content
    assert thinking.type == "thinking" and thinking.thinking == "x is used twice."
    assert thinking.signature == signature("x is used twice.") and thinking.signature.startswith("tiergate.")
    assert text.type == "text" and text.text == "Renamed."


# --- images in tool results (Claude Code's Read of a PNG) ---------------------------------------------

READ = {"name": "Read", "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}}}}
#: Claude Code's second turn after its Read tool opened a PNG: the tool result is the image.
READ_A_PNG: list[Any] = [
    {"role": "user", "content": "what is in shot.png?"},
    {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "toolu_01Read", "name": "Read", "input": {"file_path": "shot.png"}}],
    },
    {
        "role": "user",
        "content": [
            {
                "type": "tool_result",
                "tool_use_id": "toolu_01Read",
                "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}],
            }
        ],
    },
]


@pytest.fixture
def vision_claude(
    tmp_path: Path, gateway_for: GatewayFactory, upstream_env: dict[str, str], fake_openai: FakeOpenAI
) -> Iterator[anthropic.Anthropic]:
    routes = tmp_path / "vision.yaml"
    routes.write_text(VISION_ROUTES)
    base = gateway_for(routes, {**upstream_env, "VLLM_URL": fake_openai.url})  # type: ignore[attr-defined]
    with anthropic.Anthropic(
        base_url=base, api_key="sk-ant-client-unused", max_retries=0, timeout=30
    ) as sdk:  # closed: an unclosed socket is a ResourceWarning in a later test
        yield sdk


def test_a_tool_result_image_reaches_ollama_in_a_user_message(
    vision_claude: anthropic.Anthropic, fake_ollama: FakeOllama
) -> None:
    fake_ollama.replies.append(Text("One red pixel.", chunks=1))
    message = vision_claude.messages.create(model="local", max_tokens=64, tools=[READ], messages=READ_A_PNG)
    assert message.content[0].type == "text" and message.content[0].text == "One red pixel."
    assert fake_ollama.requests[0].body["messages"] == [
        {"role": "user", "content": "what is in shot.png?"},
        {"role": "assistant", "tool_calls": [{"function": {"name": "Read", "arguments": {"file_path": "shot.png"}}}]},
        {"role": "tool", "content": "", "tool_name": "Read"},
        {"role": "user", "content": "Images from tool call toolu_01Read:", "images": [PNG]},
    ]


def test_a_tool_result_image_reaches_an_openai_compatible_server_in_a_user_message(
    vision_claude: anthropic.Anthropic, fake_openai: FakeOpenAI
) -> None:
    fake_openai.replies.append(Text("One red pixel.", chunks=1))
    with vision_claude.messages.stream(model="opus", max_tokens=64, tools=[READ], messages=READ_A_PNG) as stream:
        message = stream.get_final_message()
    assert message.content[0].type == "text" and message.content[0].text == "One red pixel."
    assert fake_openai.requests[0].body["messages"] == [
        {"role": "user", "content": "what is in shot.png?"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "toolu_01Read",
                    "type": "function",
                    "function": {"name": "Read", "arguments": '{"file_path": "shot.png"}'},
                }
            ],
        },
        {"role": "tool", "content": "", "tool_call_id": "toolu_01Read"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Images from tool call toolu_01Read:"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
            ],
        },
    ]


def test_a_tool_result_image_goes_to_claude_natively_unchanged(
    claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic, fake_ollama: FakeOllama
) -> None:
    """On the repository's routes the local target has no vision, so the image takes the request to sonnet,
    which gets the client's own body."""
    fake_anthropic.replies.append(Text("One red pixel.", chunks=1))
    raw = claude.messages.with_raw_response.create(model="local", max_tokens=64, tools=[READ], messages=READ_A_PNG)
    assert raw.headers["x-tiergate-tier"] == "sonnet"
    assert fake_anthropic.requests[0].body["messages"] == READ_A_PNG
    assert not fake_ollama.requests


@pytest.mark.parametrize(
    ("tools", "declared"),
    [([WEATHER], "it declares get_weather"), ([], "the request has no `tools`")],
    ids=["other-tool", "no-tools"],
)
@pytest.mark.parametrize("model", ["local", "sonnet"])
def test_a_tool_choice_of_an_undeclared_tool_is_a_400_naming_it(
    claude: anthropic.Anthropic,
    fake_ollama: FakeOllama,
    fake_anthropic: FakeAnthropic,
    model: str,
    tools: list[Any],
    declared: str,
) -> None:
    """As on chat: the local model would answer as if no tool had been asked for."""
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(
            model=model,
            max_tokens=64,
            messages=[{"role": "user", "content": "weather in Paris?"}],
            tools=tools,
            tool_choice={"type": "tool", "name": "get_forecast"},
        )
    assert caught.value.body == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": f"`tool_choice` names `get_forecast`, which `tools` does not declare ({declared})",
        },
    }
    assert not fake_ollama.requests and not fake_anthropic.requests


@pytest.mark.parametrize("model", ["local", "sonnet"])
def test_an_empty_user_turn_is_anthropics_400_on_every_tier(
    claude: anthropic.Anthropic, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, model: str
) -> None:
    """Ollama would get no message at all and answer with nothing."""
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(model=model, max_tokens=64, messages=[{"role": "user", "content": []}])
    assert caught.value.body == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "messages.0: all messages must have non-empty content except for the optional final"
            " assistant message",
        },
    }
    assert not fake_ollama.requests and not fake_anthropic.requests


@pytest.mark.parametrize("model", ["local", "sonnet"])
def test_a_user_turn_with_nothing_to_read_is_a_400_naming_it_on_every_tier(
    claude: anthropic.Anthropic, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, model: str
) -> None:
    """A plain-text document with no text was dropped, so Ollama got a conversation ending on the assistant
    (a prefill to continue) and answered a turn it never saw."""
    empty = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": ""}}
    messages: list[Any] = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": [empty]},
    ]
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(model=model, max_tokens=64, messages=messages)
    assert caught.value.body == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "messages.2: user messages must have non-empty content; this turn's blocks ('document')"
            " hold no text, image or PDF",
        },
    }
    assert not fake_ollama.requests and not fake_anthropic.requests


@pytest.mark.parametrize("model", ["local", "sonnet"])
def test_a_user_turn_of_whitespace_is_anthropics_400_on_every_tier(
    claude: anthropic.Anthropic, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, model: str
) -> None:
    """A local model would answer it, and the same conversation would fail once it reached Claude."""
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(model=model, max_tokens=64, messages=[{"role": "user", "content": " \n "}])
    assert caught.value.body == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "messages[0].content: text content blocks must contain non-whitespace text",
        },
    }
    assert not fake_ollama.requests and not fake_anthropic.requests


def weather_called_with(arguments: Any) -> dict[str, Any]:
    """A conversation whose assistant turn called ``get_weather`` with ``arguments`` as its ``input`` (None: no
    ``input`` at all), and the call's result."""
    call = {"type": "tool_use", "id": "toolu_1", "name": "get_weather"}
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}
    return {
        "tools": [WEATHER],
        "messages": [
            {"role": "user", "content": "weather in Paris?"},
            {"role": "assistant", "content": [call if arguments is None else {**call, "input": arguments}]},
            {"role": "user", "content": [result]},
        ],
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"thinking": {"type": "enabled", "budget_tokens": 4096}},
            "`max_tokens` must be greater than `thinking.budget_tokens`.",
        ),
        ({"tools": [{"name": "get_weather"}]}, "tools[0].input_schema: Field required"),
        ({"temperature": 5}, "temperature: range: 0..1"),
        ({"temperature": -0.5}, "temperature: range: 0..1"),
        ({"top_p": 7}, "top_p: range: 0..1"),
        ({"top_k": -3}, "top_k: Input should be greater than or equal to 0"),
        (
            weather_called_with("Paris"),
            "messages.1.content.0.tool_use.input: Input should be a valid dictionary",
        ),
        (
            weather_called_with(None),
            "messages.1.content.0.tool_use.input: Field required",
        ),
    ],
    ids=[
        "budget-over-max_tokens",
        "tool-without-schema",
        "temperature-over-1",
        "temperature-below-0",
        "top_p-over-1",
        "negative-top_k",
        "tool_use-input-a-string",
        "tool_use-without-input",
    ],
)
@pytest.mark.parametrize("model", ["local", "sonnet"])
def test_what_claude_refuses_is_refused_on_every_tier(
    gateway: str,
    fake_ollama: FakeOllama,
    fake_anthropic: FakeAnthropic,
    model: str,
    fields: dict[str, Any],
    message: str,
) -> None:
    """A request's validity does not depend on where it is routed: a local tier answered these."""
    body = {"model": model, "max_tokens": 1024, "messages": [{"role": "user", "content": EASY}], **fields}
    r = httpx.post(gateway + "/v1/messages", json=body)
    assert (r.status_code, r.json()) == (
        400,
        {"type": "error", "error": {"type": "invalid_request_error", "message": message}},
    )
    assert not fake_ollama.requests and not fake_anthropic.requests


@pytest.mark.parametrize("model", ["local", "sonnet"])
def test_sampling_at_the_ends_of_its_ranges_is_taken_on_every_tier(
    gateway: str, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, model: str
) -> None:
    """The range checks refuse only what the API refuses: 0 and 1 are in range, and a ``top_k`` of 0 is."""
    for fields in ({"temperature": 1, "top_k": 0}, {"top_p": 0}, {"temperature": 0}, {"top_p": 1}):
        fake_ollama.replies.append(Text("ok"))
        fake_anthropic.replies.append(Text("ok"))
        body = {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": EASY}], **fields}
        r = httpx.post(gateway + "/v1/messages", json=body)
        assert r.status_code == 200, (fields, r.text)
    if model == "local":
        assert [r.body["options"].get("temperature") for r in fake_ollama.requests] == [1, None, 0, None]
    else:
        assert [r.body.get("top_p") for r in fake_anthropic.requests] == [None, 0, None, 1]


@pytest.mark.parametrize("model", ["local", "sonnet"])
def test_a_thinking_budget_over_max_tokens_is_taken_under_interleaved_thinking(
    claude: anthropic.Anthropic, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, model: str
) -> None:
    """Claude Code sends the interleaved-thinking beta, under which Claude takes a budget above ``max_tokens``
    (it spans the turn's tool calls): refusing it refused Claude Code's own requests."""
    answer = claude.messages.create(
        model=model,
        max_tokens=16000,
        thinking={"type": "enabled", "budget_tokens": 32000},
        messages=[{"role": "user", "content": EASY}],
        extra_headers={"anthropic-beta": "interleaved-thinking-2025-05-14"},
    )
    assert answer.stop_reason == "end_turn"
    assert len(fake_ollama.requests) + len(fake_anthropic.requests) == 1


# --- thinking turned off, or asked for without its text, on a local thinking model -------------------------

THINKING_LOCAL = THREE_BACKENDS + (
    "tiers:\n  local: {targets: [{backend: ollama, model: qwen3-test, capabilities: {tools: true, thinking: true}}]}\n"
    "routing: {mode: fixed, fixed_tier: local}\n"
)


@pytest.fixture
def thinking_local(tmp_path: Path, gateway_for: GatewayFactory, upstream_env: dict[str, str]) -> str:
    routes = tmp_path / "thinking.yaml"
    routes.write_text(THINKING_LOCAL)
    return gateway_for(routes, {**upstream_env, "VLLM_URL": "http://127.0.0.1:9"})


@pytest.mark.parametrize(
    ("thinking", "think"),
    [({"type": "disabled"}, False), ({"type": "enabled", "budget_tokens": 2048}, True), (None, None)],
    ids=["disabled", "enabled", "unset"],
)
def test_thinking_turned_off_is_think_false_on_ollama(
    thinking_local: str, fake_ollama: FakeOllama, thinking: dict[str, Any] | None, think: bool | None
) -> None:
    """A thinking model on Ollama thinks by default: turned off, it is told so."""
    body: dict[str, Any] = {"model": "auto", "max_tokens": 4096, "messages": [{"role": "user", "content": EASY}]}
    if thinking is not None:
        body["thinking"] = thinking
    assert httpx.post(thinking_local + "/v1/messages", json=body).status_code == 200
    assert fake_ollama.requests[0].body.get("think") is think


OMITTED = {"type": "adaptive", "display": "omitted"}


def test_omitted_thinking_comes_back_empty_but_signed(thinking_local: str, fake_ollama: FakeOllama) -> None:
    fake_ollama.replies.append(Text("Renamed.", chunks=1, thinking="x is used twice."))
    body = {"model": "auto", "max_tokens": 4096, "thinking": OMITTED, "messages": [{"role": "user", "content": EASY}]}
    content = httpx.post(thinking_local + "/v1/messages", json=body).json()["content"]
    assert content == [
        {"type": "thinking", "thinking": "", "signature": signature("x is used twice.")},
        {"type": "text", "text": "Renamed."},
    ]


def test_omitted_thinking_streams_as_a_signed_block_without_its_text(
    thinking_local: str, fake_ollama: FakeOllama
) -> None:
    fake_ollama.replies.append(Text("Renamed.", chunks=1, thinking="x is used twice."))
    body = {"model": "auto", "max_tokens": 4096, "stream": True, "thinking": OMITTED}
    body["messages"] = [{"role": "user", "content": EASY}]
    with httpx.stream("POST", thinking_local + "/v1/messages", json=body) as r:
        frames = [f for f in r.read().decode().split("\n\n") if f]
    events = [json.loads(f.split("\n", 1)[1].removeprefix("data: ")) for f in frames]
    thinking = [e for e in events if e.get("index") == 0]
    assert thinking == [
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": signature("x is used twice.")},
        },
        {"type": "content_block_stop", "index": 0},
    ]
