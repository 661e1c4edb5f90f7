"""What the egress codecs carry to each upstream and how they read its refusals, without I/O: Ollama's
``num_ctx``, ``think``, forced tool and penalties; ``arguments`` always sent to OpenAI-compatible servers; a
streamed no-argument Claude tool call; context-window refusals that fall back."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from tiergate.errors import RequestError, UpstreamCapabilityError, UpstreamStatusError
from tiergate.protocols import ollama
from tiergate.protocols.anthropic import StreamTranslator, to_messages_body
from tiergate.protocols.anthropic import decode as decode_messages
from tiergate.protocols.anthropic.answer import status_error as anthropic_status_error
from tiergate.protocols.openai.request import check_chat
from tiergate.protocols.openai.upstream import chat_body
from tiergate.protocols.openai.upstream import status_error as openai_status_error
from tiergate.wire import ChatRequest, Finish, ToolCallArgs, ToolCallStart

URL = "http://upstream.test"
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},
    {"type": "function", "function": {"name": "delete_file", "parameters": {"type": "object"}}},
]


def chat(**fields: Any) -> ChatRequest:
    fields.setdefault("messages", [{"role": "user", "content": "hi"}])
    return msgspec.convert(fields, ChatRequest)


def ollama_body(request: ChatRequest, **kw: Any) -> dict[str, Any]:
    _, body = ollama.encode(request, "qwen", stream=False, **kw)
    decoded: dict[str, Any] = json.loads(body)
    return decoded


# --- Ollama ---------------------------------------------------------------------------------------


def test_ollama_gets_the_targets_context_window_as_num_ctx() -> None:
    assert ollama_body(chat(), num_ctx=32768)["options"] == {"num_ctx": 32768}
    assert ollama_body(chat(suffix="\n}", max_tokens=8), num_ctx=8192)["options"] == {"num_predict": 8, "num_ctx": 8192}
    assert "options" not in ollama_body(chat())  # no window known: Ollama's own


@pytest.mark.parametrize(
    ("effort", "think"),
    [
        ("none", False),
        ("minimal", False),
        ("low", True),
        ("medium", True),
        ("high", True),
        ("xhigh", True),
        ("max", True),
        ("a-new-level", True),
        ("Max", True),
        ("off", False),
        ("", None),
    ],
)
def test_reasoning_effort_is_ollamas_think_on_a_thinking_target(effort: str, think: bool | None) -> None:
    assert ollama_body(chat(reasoning_effort=effort), thinking=True).get("think") is think  # "": as if unset
    assert "think" not in ollama_body(chat(reasoning_effort=effort))  # the target does not think


def test_no_reasoning_effort_sends_no_think() -> None:
    assert "think" not in ollama_body(chat(), thinking=True)


def test_a_named_tool_choice_offers_ollama_only_that_tool() -> None:
    forced = chat(tools=TOOLS, tool_choice={"type": "function", "function": {"name": "get_weather"}})
    assert [t["function"]["name"] for t in ollama_body(forced)["tools"]] == ["get_weather"]
    required = chat(tools=TOOLS, tool_choice="required")  # cannot be forced on Ollama: every tool, documented
    assert [t["function"]["name"] for t in ollama_body(required)["tools"]] == ["get_weather", "delete_file"]


def test_penalties_are_ollama_options() -> None:
    body = ollama_body(chat(presence_penalty=0.5, frequency_penalty=0.3))
    assert body["options"] == {"presence_penalty": 0.5, "frequency_penalty": 0.3}


def test_top_k_reaches_every_backend_that_samples_by_it() -> None:
    """A Messages client's top_k was dropped on its way to a local model; it now rides every egress but
    a thinking Claude's, which refuses it."""
    messages = decode_messages(
        json.dumps(
            {"model": "m", "max_tokens": 64, "top_k": 5, "messages": [{"role": "user", "content": "hi"}]}
        ).encode(),
        {},
    )
    assert messages.top_k == 5
    assert ollama_body(messages)["options"] == {"top_k": 5, "num_predict": 64}
    assert json.loads(chat_body(chat(top_k=7), "m", stream=False))["top_k"] == 7
    assert "top_k" not in json.loads(chat_body(chat(), "m", stream=False))
    sent = to_messages_body(chat(top_k=7, temperature=0.2), "claude-x", default_max_tokens=4096)
    assert (sent["top_k"], sent["temperature"]) == (7, 0.2)
    thinking = chat(top_k=7, reasoning_effort="high")
    assert "top_k" not in to_messages_body(thinking, "claude-x", default_max_tokens=4096, thinking_supported=True)


def test_an_image_url_is_refused_as_a_capability_not_a_bad_request() -> None:
    image = {"type": "image_url", "image_url": {"url": "https://example.test/cat.png"}}
    request = chat(messages=[{"role": "user", "content": [{"type": "text", "text": "what?"}, image]}])
    with pytest.raises(ollama.ImageURLRefused) as caught:
        ollama.encode(request, "qwen", stream=False)
    assert caught.value.param == "messages[0].content"
    broken = chat(messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:x"}}]}])
    with pytest.raises(RequestError) as bad:
        ollama.encode(broken, "qwen", stream=False)
    assert not isinstance(bad.value, ollama.ImageURLRefused)  # a broken data URL is the request's fault


def test_ollamas_context_refusal_falls_back() -> None:
    body = b'{"error":"the input length exceeds the context length"}'
    error = ollama.status_error("ollama", URL, 400, body)
    assert isinstance(error, UpstreamCapabilityError) and error.fallback_ok and error.status == 400


# --- OpenAI-compatible servers ----------------------------------------------------------------------


@pytest.mark.parametrize("arguments", ["", "  "])
def test_a_tool_call_without_arguments_goes_out_with_an_empty_object(arguments: str) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "now", "arguments": arguments}}
    request = chat(
        messages=[
            {"role": "user", "content": "time?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "12:00"},
        ]
    )
    sent = json.loads(chat_body(request, "m", stream=False))
    assert sent["messages"][1]["tool_calls"] == [
        {"id": "call_1", "function": {"name": "now", "arguments": "{}"}, "type": "function"}
    ]


def test_penalties_pass_to_openai_compatible_servers_as_sent() -> None:
    sent = json.loads(chat_body(chat(presence_penalty=0.5, frequency_penalty=-0.25), "m", stream=False))
    assert (sent["presence_penalty"], sent["frequency_penalty"]) == (0.5, -0.25)


@pytest.mark.parametrize(("field", "value"), [("logprobs", True), ("top_logprobs", 2), ("logit_bias", {"50256": -100})])
def test_log_probabilities_and_biases_are_refused_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(RequestError) as caught:
        check_chat(chat(**{field: value}))
    assert caught.value.param == field and caught.value.code == "unsupported_value"


def test_logprobs_false_is_no_request_for_them() -> None:
    check_chat(chat(logprobs=False, top_logprobs=0, logit_bias={}))
    assert "logprobs" not in json.loads(chat_body(chat(logprobs=False), "m", stream=False))


VLLM_TOO_LONG = (
    b'{"object":"error","message":"This model\'s maximum context length is 8192 tokens. However, you requested'
    b' 9000 tokens.","type":"BadRequestError","param":null,"code":400}'
)
LLAMA_CPP_TOO_LONG = (
    b'{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it",'
    b'"type":"exceed_context_size_error","n_prompt_tokens":9000,"n_ctx":8192}}'
)


#: (status, body) of context-window refusals worded otherwise, which fell through as final 400s and 422s.
TOO_LONG_ELSEWHERE = [
    (
        422,
        b'{"error":"Input validation error: `inputs` tokens + `max_new_tokens` must be <= 8192. Given: 9000'
        b' `inputs` tokens and 1000 `max_new_tokens`","error_type":"validation"}',
    ),  # TGI
    (
        422,
        b'{"error":"Input validation error: `inputs` must have less than 8192 tokens. Given: 9000",'
        b'"error_type":"validation"}',
    ),  # TGI
    (
        400,
        b'{"error":{"message":"The decoder prompt (length 9000) is longer than the maximum model length of 8192.'
        b' Make sure that `max_model_len` is no smaller than the number of text tokens.","type":"BadRequestError",'
        b'"param":null,"code":400}}',
    ),  # vLLM
]


@pytest.mark.parametrize(("status", "body"), [(400, VLLM_TOO_LONG), (400, LLAMA_CPP_TOO_LONG), *TOO_LONG_ELSEWHERE])
def test_a_context_window_refusal_falls_back(status: int, body: bytes) -> None:
    """With no target left the client is told 400, as Anthropic and OpenAI say an overflow (TGI's 422 stays in
    ``upstream_status``): Claude Code asks again with a smaller ``max_tokens`` only on a 400."""
    error = openai_status_error("vllm", URL, status, body)
    assert isinstance(error, UpstreamCapabilityError)
    assert (error.fallback_ok, error.retryable, error.trips_breaker) == (True, False, False)
    assert (error.status, error.upstream_status) == (400, status)
    assert error.detail.startswith(f"HTTP {status}: ")


def test_llama_cpps_500_naming_a_context_overflow_falls_back_and_tells_the_client_400() -> None:
    """llama.cpp's server answered an overflow with a 500 for a while: retried three times (the same prompt
    fails the same way), counted against the server's breaker, and never the bigger window's to take."""
    body = (
        b'{"error":{"code":500,"message":"the request exceeds the available context size. try increasing the'
        b' context size or enable context shift","type":"exceed_context_size_error","n_prompt_tokens":1407,'
        b'"n_ctx":256}}'
    )
    error = openai_status_error("llama", URL, 500, body)
    assert isinstance(error, UpstreamCapabilityError)
    assert (error.fallback_ok, error.retryable, error.trips_breaker) == (True, False, False)
    assert (error.status, error.type, error.upstream_status) == (400, "invalid_request_error", 500)
    assert error.detail.startswith("HTTP 500: the request exceeds the available context size")


@pytest.mark.parametrize(
    "body",
    [
        b'{"error":{"code":500,"message":"failed to allocate the context size buffer","type":"server_error"}}',
        b'{"error":"Model crashed: context window state lost"}',
    ],
)
def test_a_500_that_only_mentions_a_context_stays_a_server_error(body: bytes) -> None:
    error = openai_status_error("llama", URL, 500, body)
    assert type(error) is UpstreamStatusError
    assert (error.status, error.retryable, error.trips_breaker) == (500, True, True)


#: Ordinary refusals, some in the same servers' words: another model would refuse them too.
FINAL = [
    (400, b'{"error":{"message":"messages: role must be user","type":"invalid_request_error"}}'),
    (422, b'{"error":"Input validation error: `max_new_tokens` must be strictly positive","error_type":"validation"}'),
    (422, b'{"error":"Input validation error: `inputs` cannot be empty","error_type":"validation"}'),
    (
        422,
        b'{"error":"Input validation error: `truncate` must be strictly positive and less than 8192. Given: 9000",'
        b'"error_type":"validation"}',
    ),
    (422, b'{"error":"Input validation error: `top_n_tokens` must be >= 0 and <= 5","error_type":"validation"}'),
    (400, b'{"object":"error","message":"temperature must be non-negative, got -1.0.","type":"BadRequestError"}'),
    (400, b'{"object":"error","message":"The model `m` does not exist.","type":"NotFoundError","code":404}'),
]


@pytest.mark.parametrize(("status", "body"), FINAL)
def test_other_400s_stay_final(status: int, body: bytes) -> None:
    error = openai_status_error("vllm", URL, status, body)
    assert type(error) is UpstreamStatusError and not error.fallback_ok


def test_anthropics_prompt_is_too_long_falls_back() -> None:
    body = b'{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 250000 tokens"}}'
    error = anthropic_status_error("anthropic", URL, 400, body)
    assert isinstance(error, UpstreamCapabilityError) and error.fallback_ok
    assert error.upstream_type == "invalid_request_error"


# --- a streamed Claude answer calling a tool without arguments -----------------------------------------


def _claude_tool_stream(*deltas: str) -> list[tuple[str, dict[str, Any]]]:
    block = {"type": "tool_use", "id": "toolu_1", "name": "now", "input": {}}
    return [
        ("message_start", {"type": "message_start", "message": {"usage": {"input_tokens": 3, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}),
        *(
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": d}},
            )
            for d in deltas
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 2}},
        ),
        ("message_stop", {"type": "message_stop"}),
    ]


@pytest.mark.parametrize(("deltas", "arguments"), [((), "{}"), (("",), "{}"), (("", '{"a"', ": 1}"), '{"a": 1}')])
def test_a_streamed_tool_call_always_has_arguments(deltas: tuple[str, ...], arguments: str) -> None:
    translator = StreamTranslator("claude", URL)
    events = [e for name, data in _claude_tool_stream(*deltas) for e in translator.feed(name, json.dumps(data))]
    assert events[0] == ToolCallStart(0, "toolu_1", "now")
    assert "".join(e.arguments for e in events if isinstance(e, ToolCallArgs)) == arguments
    assert Finish("tool_calls") in events


def test_reasoning_effort_goes_to_an_openai_compatible_target_only_with_thinking() -> None:
    """It went to every such server, whatever ``capabilities.thinking`` said (the docs say it is not sent
    without it); a Messages client's ``thinking: disabled`` (``none``) then reached servers that refuse it."""
    request = chat(reasoning_effort="high")
    assert "reasoning_effort" not in json.loads(chat_body(request, "m", stream=False))
    assert json.loads(chat_body(request, "m", stream=False, thinking=True))["reasoning_effort"] == "high"


@pytest.mark.parametrize("effort", ["none", "off", "None", "disabled"])
def test_reasoning_effort_none_goes_to_no_openai_compatible_target(effort: str) -> None:
    """vLLM refuses ``none`` (it takes low, medium and high); it went to every target with thinking."""
    assert "reasoning_effort" not in json.loads(
        chat_body(chat(reasoning_effort=effort), "m", stream=False, thinking=True)
    )
