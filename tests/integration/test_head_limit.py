"""`tiergate serve`, in one process and with workers, answers a request whose headers pass the limit with 431
before any of tiergate sees it (auth included), and serves on. The client is httpx, as a real client that
writes its whole request before it reads the answer."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.integration.replicas import Replica, wait_until
from tiergate.workers import HEAD_LIMIT

ROUTES = """
backends:
  ollama: {kind: ollama, base_url: "${OLLAMA_HOST}"}
tiers:
  local: {targets: [{backend: ollama, model: "qwen2.5-coder:7b"}]}
routing: {mode: fixed, fixed_tier: local}
server:  # a key no client here holds: every request that reaches tiergate gets 401
  auth: {keys: [{name: ci, sha256: "abababababababababababababababababababababababababababababababab"}]}
"""


@pytest.mark.parametrize("workers", [[], ["--workers", "2"]], ids=["one process", "two workers"])
def test_an_oversized_head_gets_431_and_the_gateway_serves_on(
    tmp_path: Path, upstream_env: dict[str, str], workers: list[str]
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    with Replica.start(routes, upstream_env, tmp_path / "gw.log", "--no-watch", *workers) as gw:
        if workers:
            wait_until(lambda: gw.health()["workers"]["count"] == 2, timeout=60, what="two workers")
        for _ in range(4):  # fresh connections: with workers, the kernel spreads them
            refused = httpx.get(gw.url + "/v1/models", headers={"x-big": "a" * 1024 * 1024}, timeout=10)
            assert refused.status_code == 431
            assert refused.headers["connection"] == "close"
            assert f"over {HEAD_LIMIT} bytes" in refused.text
            assert httpx.get(gw.url + "/health", timeout=10).status_code == 200
        served = httpx.get(gw.url + "/v1/models", headers={"x-big": "a" * (HEAD_LIMIT - 1024)}, timeout=10)
        assert served.status_code == 401, "under the limit, the request reaches tiergate (and its auth)"
    assert "answered 431" in gw.output()
