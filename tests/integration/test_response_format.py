"""A ``response_format`` OpenAI would refuse, through the real gateway: a 400 in the chat ingress's own shape,
before routing, on a tier of each backend kind (Claude took an unknown type for plain text and a ``json_schema``
without its ``json_schema`` for any object; an OpenAI-compatible server got either as sent), and the same
checks on the Responses ingress's ``text.format``. What OpenAI takes still goes on as sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.scripts import Text
from tests.helpers import THREE_BACKENDS

ROUTES = (
    THREE_BACKENDS
    + """tiers:
  local: {targets: [{backend: ollama, model: qwen, capabilities: {context_window: 32768}}]}
  sonnet: {targets: [{backend: anthropic, model: claude-sonnet-4-5, capabilities: {context_window: 200000}}]}
  vllm: {targets: [{backend: vllm, model: m3, capabilities: {context_window: 32768}}]}
"""
)
HI: list[Any] = [{"role": "user", "content": "hi"}]
SCHEMA = {"type": "object", "properties": {"title": {"type": "string"}}}


@pytest.fixture
def gateway(tmp_path: Path, gateway_for: GatewayFactory, upstream_env: dict[str, str], fake_openai: FakeOpenAI) -> str:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    return gateway_for(routes, {**upstream_env, "VLLM_URL": fake_openai.url})  # type: ignore[attr-defined]


def refusal(message: str, param: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}


@pytest.mark.parametrize("model", ["local", "sonnet", "vllm"])
@pytest.mark.parametrize(
    ("response_format", "expected"),
    [
        (
            {"type": "bogus"},
            refusal(
                "`response_format.type` must be text, json_schema or json_object, got 'bogus'",
                "response_format.type",
                "invalid_value",
            ),
        ),
        (
            {"json_schema": {"name": "t", "schema": SCHEMA}},
            refusal(
                "`response_format.type` must be text, json_schema or json_object, got missing",
                "response_format.type",
                "missing_required_parameter",
            ),
        ),
        (
            {"type": "json_schema"},
            refusal(
                "`response_format.json_schema` is missing: it must be an object",
                "response_format.json_schema",
                "missing_required_parameter",
            ),
        ),
        (
            {"type": "json_schema", "json_schema": {"schema": SCHEMA}},
            refusal(
                "`response_format.json_schema.name` is missing: it must be a string",
                "response_format.json_schema.name",
                "missing_required_parameter",
            ),
        ),
        (
            {"type": "json_schema", "json_schema": {"name": "my title", "schema": SCHEMA}},
            refusal(
                "`response_format.json_schema.name` must be 1 to 64 letters, digits, underscores or dashes,"
                " got 'my title'",
                "response_format.json_schema.name",
                "invalid_value",
            ),
        ),
        (
            {"type": "json_schema", "json_schema": {"name": "t", "schema": "not an object"}},
            refusal(
                "`response_format.json_schema.schema` must be a JSON Schema object, got a string",
                "response_format.json_schema.schema",
                "invalid_type",
            ),
        ),
        (
            {"type": "json_schema", "json_schema": {"name": "t", "schema": SCHEMA, "strict": "yes"}},
            refusal(
                "`response_format.json_schema.strict` must be a boolean, got a string",
                "response_format.json_schema.strict",
                "invalid_type",
            ),
        ),
    ],
    ids=["unknown-type", "no-type", "no-json_schema", "no-name", "name-with-space", "schema-a-string", "strict"],
)
def test_a_malformed_response_format_is_refused_before_any_target(
    gateway: str,
    fake_ollama: FakeOllama,
    fake_anthropic: FakeAnthropic,
    fake_openai: FakeOpenAI,
    model: str,
    response_format: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    for reply in (fake_ollama, fake_anthropic, fake_openai):
        reply.replies.append(Text("ok"))
    body = {"model": model, "messages": HI, "response_format": response_format}
    for path in ("/v1/chat/completions", "/v1/route"):
        r = httpx.post(gateway + path, json=body)
        assert (r.status_code, r.json()) == (400, expected), path
    assert fake_ollama.requests == [] and fake_anthropic.requests == [] and fake_openai.requests == []


@pytest.mark.parametrize(
    "response_format",
    [
        {"type": "text"},
        {"type": "json_object"},
        {"type": "json_schema", "json_schema": {"name": "t"}},  # OpenAI's schema is optional
        {"type": "json_schema", "json_schema": {"name": "t", "schema": SCHEMA, "strict": True, "description": "d"}},
    ],
    ids=["text", "json_object", "name-alone", "whole"],
)
def test_what_openai_takes_reaches_an_openai_compatible_server_as_sent(
    gateway: str, fake_openai: FakeOpenAI, response_format: dict[str, Any]
) -> None:
    fake_openai.replies.append(Text("{}"))
    body = {"model": "vllm", "messages": HI, "response_format": response_format}
    r = httpx.post(gateway + "/v1/chat/completions", json=body)
    assert r.status_code == 200, r.text
    assert fake_openai.requests[0].body["response_format"] == response_format


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (
            {"type": "bogus"},
            refusal(
                "`text.format.type` must be text, json_schema or json_object, got 'bogus'",
                "text.format.type",
                "invalid_value",
            ),
        ),
        (
            {"type": "json_schema", "name": "t"},
            refusal(
                "`text.format.schema` is missing: it must be a JSON Schema object",
                "text.format.schema",
                "missing_required_parameter",
            ),
        ),
        (
            {"type": "json_schema", "name": "my title", "schema": SCHEMA},
            refusal(
                "`text.format.name` must be 1 to 64 letters, digits, underscores or dashes, got 'my title'",
                "text.format.name",
                "invalid_value",
            ),
        ),
    ],
    ids=["unknown-type", "no-schema", "name-with-space"],
)
def test_the_responses_text_format_is_checked_by_the_same_rules(
    gateway: str, fake_anthropic: FakeAnthropic, fmt: dict[str, Any], expected: dict[str, Any]
) -> None:
    r = httpx.post(gateway + "/v1/responses", json={"model": "sonnet", "input": "hi", "text": {"format": fmt}})
    assert (r.status_code, r.json()) == (400, expected)
    assert fake_anthropic.requests == []
