"""docs/resilience.md's promises at their edges, end to end: a model two tiers share, a half-open breaker
whose trial is a stream, a stream's budget across its retries, and the 429s a limit answers.

Each case has its own gateway (breakers and limiters keep state) in front of the fake upstreams.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_KEY, GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Status, Text, Truncated

BACKENDS = """
version: 1
backends:
  ollama: {kind: ollama, base_url: "${OLLAMA_HOST}"}
  anthropic: {kind: anthropic, base_url: "${ANTHROPIC_BASE_URL}", api_key_env: ANTHROPIC_API_KEY}
routing: {mode: fixed, fixed_tier: local}
server: {decision_log: {enabled: false}}
"""
HI = [{"role": "user", "content": "hi"}]


def environ(ollama: FakeOllama, anthropic: FakeAnthropic) -> dict[str, str]:
    return {"OLLAMA_HOST": ollama.url, "ANTHROPIC_BASE_URL": anthropic.url, "ANTHROPIC_API_KEY": TEST_KEY}  # type: ignore[attr-defined]


def serve(tmp_path: Path, gateway_for: GatewayFactory, ollama: FakeOllama, anthropic: FakeAnthropic, rest: str) -> str:
    path = tmp_path / "routes.yaml"
    path.write_text(BACKENDS + rest)
    return gateway_for(path, environ(ollama, anthropic))


# --- one model in two tiers of a chain ---------------------------------------------------------------

SHARED_MODEL = """
tiers:
  local:
    targets:
      - {backend: ollama, model: qwen-test}
      - {backend: anthropic, model: claude-sonnet}
  sonnet:
    targets:
      - {backend: anthropic, model: claude-sonnet}
fallbacks: {local: [sonnet]}
retries: {attempts: 0}
"""


@pytest.mark.parametrize("stream", [False, True])
def test_a_model_two_tiers_of_a_chain_list_is_called_once(
    tmp_path: Path, gateway_for: GatewayFactory, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, stream: bool
) -> None:
    """Its answer was cut after its 200 (it may be billed): it is never called again for the request."""
    base = serve(tmp_path, gateway_for, fake_ollama, fake_anthropic, SHARED_MODEL)
    dry = httpx.post(base + "/v1/route", json={"messages": HI}).json()
    assert [(t["tier"], t["model"]) for t in dry["targets"]] == [("local", "qwen-test"), ("local", "claude-sonnet")]
    fake_ollama.replies.append(Status(500, "model crashed"))
    fake_anthropic.replies.extend([Truncated(after_events=2), Text("A second, paid answer.")])
    r = httpx.post(base + "/v1/chat/completions", json={"model": "auto", "messages": HI, "stream": stream}, timeout=30)
    assert r.status_code == 503
    assert r.headers["x-tiergate-attempts"] == "local/qwen-test:http_500, local/claude-sonnet:protocol"
    assert len(fake_anthropic.requests) == 1
