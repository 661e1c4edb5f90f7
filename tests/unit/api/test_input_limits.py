"""server.input_limits: body bytes (413), JSON depth, messages and characters per message (400)."""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.helpers import MINIMAL, chat, request
from tiergate.api.app import create_app
from tiergate.api.gateway import Gateway
from tiergate.api.input_limits import check_messages, json_depth, message_chars
from tiergate.config.model import InputLimits
from tiergate.errors import RequestError
from tiergate.runtime import Rules

JSON = {"content-type": "application/json"}
LIMITS = """
server:
  input_limits: {max_body_bytes: 2000, max_messages: 3, max_message_chars: 100, max_json_depth: 8}
"""


@pytest_asyncio.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    path = tmp_path / "routes.yaml"
    path.write_text(textwrap.dedent(MINIMAL) + textwrap.dedent(LIMITS))
    rules = Rules.load(path, {"ANTHROPIC_API_KEY": "sk-ant-test"})  # set: the dry run's sonnet target is usable
    transport = httpx.ASGITransport(app=create_app(Gateway(rules)))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
        yield c
    await rules.aclose()


def error_of(r: httpx.Response) -> dict[str, Any]:
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]  # type: ignore[no-any-return]


def messages(n: int, text: str = "hi") -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}] * n}


def nested(depth: int) -> bytes:
    """A chat body whose ``metadata`` holds lists ``depth - 1`` deep (the body object is level 1)."""
    return (
        b'{"messages":[{"role":"user","content":"hi"}],"metadata":{"x":'
        + b"[" * (depth - 2)
        + b"]" * (depth - 2)
        + b"}}"
    )


# --- the checks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b"{}", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'{"a": "[[[[{{{{"}', 1),  # brackets in strings do not nest
        (b'{"a": "\\"[[[["}', 1),  # nor after an escaped quote
        (b'{"a": "x\\\\", "b": [[[]]]}', 4),  # an escaped backslash ends before the quote
        (b"[" * 500 + b"]" * 500, 500),
        (b"[]" * 1000, 1),
    ],
)
def test_json_depth_counts_nesting_outside_strings(body: bytes, depth: int) -> None:
    assert json_depth(body) == depth
    assert json_depth(body, limit=depth) <= depth  # the early exit never overstates


def test_json_depth_is_linear_on_hostile_bodies() -> None:
    hostile = [b"[" * 2_000_000 + b"]" * 2_000_000, b'"' + b'\\"' * 2_000_000, b'["' * 1_000_000]
    start = time.perf_counter()
    for body in hostile:
        json_depth(body, 64)
    assert time.perf_counter() - start < 2.0


def test_message_chars_count_text_and_tool_arguments_not_images() -> None:
    msg = request(
        messages=[
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "abc"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 500}},
                ],
                "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": '{"x": 1}'}}],
            }
        ]
    ).messages[0]
    assert message_chars(msg) == 3 + 8


def test_check_messages_names_the_limit_and_the_message() -> None:
    limits = InputLimits(max_messages=2, max_message_chars=5)
    check_messages(chat("12345"), limits)
    with pytest.raises(RequestError) as info:
        check_messages(
            request(messages=[{"role": "user", "content": "ok"}, {"role": "user", "content": "123456"}]), limits
        )
    assert (info.value.message, info.value.param, info.value.status) == (
        "messages[1] has 6 characters; the limit is 5 per message (server.input_limits.max_message_chars)",
        "messages[1].content",
        400,
    )
    with pytest.raises(RequestError) as info:
        check_messages(chat("123456"), limits, prompt=True)
    assert info.value.param == "prompt" and info.value.message.startswith("the prompt has 6 characters")


# --- through the app ------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "status", "param", "code", "message"),
    [
        (
            lambda: b'{"messages":[{"role":"user","content":"' + b"x" * 2400 + b'"}]}',
            413,
            None,
            "request_too_large",
            "the request body is 2443 bytes; the limit is 2000 bytes (server.input_limits.max_body_bytes)",
        ),
        (
            lambda: nested(9),
            400,
            None,
            "json_too_deep",
            "the request JSON nests deeper than 8 levels (server.input_limits.max_json_depth)",
        ),
        (
            lambda: json.dumps(messages(4)).encode(),
            400,
            "messages",
            "too_many_messages",
            "the request has 4 messages; the limit is 3 (server.input_limits.max_messages)",
        ),
        (
            lambda: json.dumps(messages(2, "y" * 101)).encode(),
            400,
            "messages[0].content",
            "message_too_long",
            "messages[0] has 101 characters; the limit is 100 per message (server.input_limits.max_message_chars)",
        ),
    ],
)
async def test_violations_get_413_or_400_with_a_clear_message(
    client: httpx.AsyncClient, body: Callable[[], bytes], status: int, param: str | None, code: str, message: str
) -> None:
    for path in ("/v1/chat/completions", "/v1/route"):
        r = await client.post(path, content=body(), headers={"content-type": "application/json"})
        assert r.status_code == status, r.text
        assert error_of(r) == {"message": message, "type": "invalid_request_error", "param": param, "code": code}


@pytest.mark.asyncio
async def test_at_the_limits_is_fine(client: httpx.AsyncClient) -> None:
    for r in (
        await client.post("/v1/route", content=nested(8), headers=JSON),
        await client.post("/v1/route", json=messages(3, "z" * 100)),
    ):
        assert r.status_code == 200, r.text
        d = r.json()
        # a plain request scores 0: MINIMAL's local tier, then its fallback to sonnet
        assert (d["tier"], d["provider"], d["model"], d["band"]) == ("local", "ollama", "small-model", "LOCAL")
        assert [(t["tier"], t["backend"], t["model"], t["skipped"]) for t in d["targets"]] == [
            ("local", "ollama", "small-model", None),
            ("sonnet", "anthropic", "mid-model", None),
        ]


@pytest.mark.asyncio
async def test_a_chunked_body_is_cut_off_at_the_limit(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}]}'

    r = await client.post("/v1/chat/completions", content=chunks(), headers=JSON)
    assert "content-length" not in r.request.headers
    assert r.status_code == 413
    assert error_of(r)["message"] == (
        "the request body is over the limit of 2000 bytes (server.input_limits.max_body_bytes)"
    )


@pytest.mark.asyncio
async def test_legacy_completions_name_the_prompt(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/completions", json={"prompt": "p" * 101})
    assert r.status_code == 400
    assert error_of(r)["param"] == "prompt"
    assert error_of(r)["message"] == (
        "the prompt has 101 characters; the limit is 100 per message (server.input_limits.max_message_chars)"
    )


LONG = "p" * 101
TOOL_USE = {"type": "tool_use", "id": "t1", "name": "Read", "input": {}}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        (
            "/v1/responses",
            {  # the instructions are the first message tiergate reads; the item is the body's second
                "model": "auto",
                "instructions": "x",
                "input": [{"role": "user", "content": "a"}, {"role": "user", "content": LONG}],
            },
            "input[1].content",
        ),
        (
            "/v1/responses",
            {"model": "auto", "input": [{"type": "function_call_output", "call_id": "c", "output": LONG}]},
            "input[0].output",
        ),
        ("/v1/responses", {"model": "auto", "instructions": LONG, "input": "hi"}, "instructions"),
        (
            "/v1/messages",
            {"model": "auto", "max_tokens": 9, "system": "s", "messages": [{"role": "user", "content": LONG}]},
            "messages[0].content",
        ),
        (
            "/v1/messages",
            {
                "model": "auto",
                "max_tokens": 9,
                "messages": [
                    {"role": "user", "content": "read it"},
                    {"role": "assistant", "content": [TOOL_USE]},
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": LONG}]},
                ],
            },
            "messages[2].content[0].content",
        ),
    ],
)
async def test_each_dialect_names_the_too_long_message_where_its_body_holds_it(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], param: str
) -> None:
    """Responses and Messages bodies are not ``messages[i]`` one for one (instructions, a system prompt and
    tool results become messages of their own): the error names the client's own field."""
    r = await client.post(path, json=body)
    assert r.status_code == 400, r.text
    message = r.json()["error"]["message"]
    assert message == (
        f"{param.removesuffix('.content')} has 101 characters; the limit is 100 per message "
        "(server.input_limits.max_message_chars)"
    )
    if path == "/v1/responses":
        assert r.json()["error"]["param"] == param
