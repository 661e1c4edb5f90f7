"""A backend ``base_url`` with a query (Azure's ``?api-version=...``, a proxy's ``?token=...``): every call
goes to the endpoint's path under the URL's path, with the query kept.

The path was added to the end of the whole string, so it landed in the query (``/v1?token=t/chat/completions``)
and every call, and every readiness probe, went to ``/v1``: a 404, while ``tiergate validate`` said ok.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import TEST_KEY, GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_compat import FakeOpenAI

ROUTES = """
backends:
  ollama: {kind: ollama, base_url: "${OLLAMA_HOST}/?tenant=t1"}
  anthropic: {kind: anthropic, base_url: "${ANTHROPIC_BASE_URL}?api-version=2024-10-21"}
  vllm: {kind: openai, base_url: "${OPENAI_BASE_URL}/v1/?token=tok%26x&api-version=2024-10-21"}
tiers:
  local: {targets: [{backend: ollama, model: "qwen2.5-coder:7b"}]}
  sonnet: {targets: [{backend: anthropic, model: claude-sonnet-4-5}]}
  opus: {targets: [{backend: vllm, model: big}]}
routing: {bands: {local: 0.2, claude: 0.7}}
"""


def test_every_call_and_probe_keeps_the_base_urls_query(
    gateway_for: GatewayFactory,
    fake_ollama: FakeOllama,
    fake_anthropic: FakeAnthropic,
    fake_openai: FakeOpenAI,
    tmp_path: Path,
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    environ = {
        "OLLAMA_HOST": fake_ollama.url,  # type: ignore[attr-defined]
        "ANTHROPIC_BASE_URL": fake_anthropic.url,  # type: ignore[attr-defined]
        "OPENAI_BASE_URL": fake_openai.url,  # type: ignore[attr-defined]
        "ANTHROPIC_API_KEY": TEST_KEY,
    }
    base = gateway_for(routes, environ)

    ready = httpx.get(base + "/ready").json()
    statuses = [
        httpx.post(
            base + "/v1/chat/completions", json={"model": tier, "messages": [{"role": "user", "content": "hi"}]}
        ).status_code
        for tier in ("local", "sonnet", "opus")
    ]

    assert ready["backends"] == {"ollama": "ok", "anthropic": "ok", "vllm": "ok"}  # GET /models answered
    assert statuses == [200, 200, 200]
    assert [(r.path, r.query) for r in fake_ollama.requests] == [("/api/chat", "tenant=t1")]
    assert [(r.path, r.query) for r in fake_anthropic.requests] == [("/v1/messages", "api-version=2024-10-21")]
    assert [(r.path, r.query) for r in fake_openai.requests] == [
        ("/v1/chat/completions", "token=tok%26x&api-version=2024-10-21")
    ]
