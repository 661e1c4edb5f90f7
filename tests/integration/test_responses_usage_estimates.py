"""Responses clients see the usage they were charged: the real gateway, fake upstreams, the openai SDK.

Codex reads the ``usage`` of ``response.completed`` for its token counts and compacts its context by its
``total_tokens``. An upstream that counts no tokens (an Ollama done line without its eval counts,
llama-cpp-python, which ignores ``stream_options``) is answered with the estimate it is charged, marked
``estimated: true``, instead of null; the decision log keeps the upstream's own count (none).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.scripts import Text
from tests.integration.test_openai_usage_estimates import (
    ANSWER,
    ASK,
    ESTIMATE,
    ROUTES,
    logged,
    uncounted_streams,  # noqa: F401 (a fixture)
)


@pytest.fixture
def client(
    tmp_path: Path, fake_ollama: FakeOllama, fake_openai: FakeOpenAI, gateway_for: GatewayFactory
) -> Iterator[openai.OpenAI]:
    """The openai SDK before the gateway on the chat tests' routes: ``local`` (Ollama), ``llama`` (OpenAI)."""
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES.format(ollama=fake_ollama.url, openai=fake_openai.url))  # type: ignore[attr-defined]
    base = gateway_for(routes, {})
    with openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0, timeout=30) as sdk:
        yield sdk


def counts(usage: Any) -> tuple[int, int, int]:
    return usage.input_tokens, usage.output_tokens, usage.total_tokens


def assert_estimated(usage: Any) -> None:
    assert usage is not None and counts(usage) == ESTIMATE and usage.model_extra == {"estimated": True}
    assert usage.input_tokens_details.cached_tokens == 0 and usage.output_tokens_details.reasoning_tokens == 0


def test_a_whole_response_without_a_count_reports_the_estimate(
    tmp_path: Path, client: openai.OpenAI, fake_ollama: FakeOllama
) -> None:
    fake_ollama.replies.extend([Text(ANSWER, counted=False), Text(ANSWER)])

    uncounted = client.responses.create(model="local", input=ASK, store=False)
    assert uncounted.output_text == ANSWER and uncounted.status == "completed"
    assert_estimated(uncounted.usage)

    counted = client.responses.create(model="local", input=ASK, store=False)
    assert counted.usage is not None
    assert counts(counted.usage) == (11, 7, 18) and not counted.usage.model_extra

    assert logged(tmp_path, 2) == [("local", None, None), ("local", 11, 7)]


@pytest.mark.usefixtures("uncounted_streams")
@pytest.mark.parametrize("tier", ["local", "llama"])
def test_a_response_stream_without_a_count_completes_with_the_estimate(
    tmp_path: Path, client: openai.OpenAI, tier: str
) -> None:
    events = list(client.responses.create(model=tier, input=ASK, store=False, stream=True))

    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == ANSWER
    last = events[-1]
    assert last.type == "response.completed"
    assert_estimated(last.response.usage)
    assert all(e.response.usage is None for e in events[:-1] if e.type in ("response.created", "response.in_progress"))
    assert logged(tmp_path, 1) == [(tier, None, None)]
