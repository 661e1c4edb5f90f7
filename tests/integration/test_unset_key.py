"""A backend whose key variable is not set, end to end: the dry run (``/v1/route``, the console's, ``tiergate
route``) shows its targets skipped and why, the request skips them the same way without a call, and the
client gets the same 503 ``no_target_available`` whichever tier named them and whichever dialect it speaks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, GatewayFactory
from tests.fakes.anthropic import FakeAnthropic

UNSET = "backend 'anthropic' is not configured: environment variable ANTHROPIC_API_KEY is not set"
SONNET = {"tier": "sonnet", "backend": "anthropic", "model": "claude-sonnet-4-5", "breaker": "closed", "skipped": UNSET}
OPUS = {"tier": "opus", "backend": "anthropic", "model": "claude-opus-4-1", "breaker": "closed", "skipped": UNSET}
HI = [{"role": "user", "content": "hi"}]
REFUSED = "connection refused; is Ollama running? (set OLLAMA_HOST or edit backends.ollama.base_url)"


def keyless(gateway_for: GatewayFactory, fake_anthropic: FakeAnthropic, ollama: str) -> str:
    """The default routes.yaml with ANTHROPIC_API_KEY unset, as on a fresh machine."""
    env = {"OLLAMA_HOST": ollama, "ANTHROPIC_BASE_URL": fake_anthropic.url}  # type: ignore[attr-defined]
    return gateway_for(ROOT / "routes.yaml", env)


@pytest.mark.parametrize(
    ("model", "targets"),
    [
        ("sonnet", [SONNET]),
        ("opus", [OPUS, SONNET]),
    ],
)
def test_dry_run_shows_targets_without_their_key_skipped(
    gateway_for: GatewayFactory, fake_anthropic: FakeAnthropic, closed_port: int, model: str, targets: list[Any]
) -> None:
    base = keyless(gateway_for, fake_anthropic, f"http://127.0.0.1:{closed_port}")
    route = httpx.post(base + "/v1/route", json={"model": model, "messages": HI}, timeout=30).json()
    assert route["targets"] == targets
    console = httpx.post(base + "/console/api/route", json={"model": model, "messages": HI}, timeout=30).json()
    assert console["decision"]["targets"] == targets


def test_dry_run_and_request_agree_on_the_fallback(
    gateway_for: GatewayFactory, fake_anthropic: FakeAnthropic, closed_port: int
) -> None:
    """local falls back to sonnet: the dry run says sonnet would be skipped, and the request skips it (the
    Claude upstream is never called), naming it beside the local failure."""
    url = f"http://127.0.0.1:{closed_port}"
    base = keyless(gateway_for, fake_anthropic, url)
    local = {"tier": "local", "backend": "ollama", "model": "qwen2.5-coder:7b", "breaker": "closed", "skipped": None}
    route = httpx.post(base + "/v1/route", json={"model": "local", "messages": HI}, timeout=30).json()
    assert route["targets"] == [local, SONNET]
    r = httpx.post(base + "/v1/chat/completions", json={"model": "local", "messages": HI}, timeout=30)
    assert r.status_code == 503
    assert r.json() == {
        "error": {
            "message": f"no target could serve this request: sonnet/claude-sonnet-4-5: {UNSET}; "
            f"local/qwen2.5-coder:7b: backend 'ollama' at {url}: {REFUSED}",
            "type": "service_unavailable",
            "param": None,
            "code": "no_target_available",
        }
    }
    assert r.headers["x-tiergate-attempts"] == "local/qwen2.5-coder:7b:connect"
    assert fake_anthropic.requests == []


def _ask(base: str, dialect: str, model: str) -> httpx.Response:
    if dialect == "chat":
        return httpx.post(base + "/v1/chat/completions", json={"model": model, "messages": HI}, timeout=30)
    if dialect == "messages":
        body = {"model": model, "max_tokens": 64, "messages": HI}
        return httpx.post(base + "/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"}, timeout=30)
    return httpx.post(base + "/v1/responses", json={"model": model, "input": "hi"}, timeout=30)


@pytest.mark.parametrize("dialect", ["chat", "messages", "responses"])
@pytest.mark.parametrize(
    ("model", "message"),
    [
        # one target
        ("sonnet", f"no target can serve this request: sonnet/claude-sonnet-4-5: {UNSET}"),
        # a tier and its fallback
        ("opus", f"no target can serve this request: opus/claude-opus-4-1: {UNSET}; sonnet/claude-sonnet-4-5: {UNSET}"),
        # routed (to local, which falls back to sonnet)
        (
            "auto",
            f"no target could serve this request: sonnet/claude-sonnet-4-5: {UNSET}; "
            "local/qwen2.5-coder:7b: backend 'ollama' at {url}: " + REFUSED,
        ),
    ],
)
def test_one_error_for_an_unset_key_in_every_dialect(
    gateway_for: GatewayFactory,
    fake_anthropic: FakeAnthropic,
    closed_port: int,
    dialect: str,
    model: str,
    message: str,
) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    base = keyless(gateway_for, fake_anthropic, url)
    r = _ask(base, dialect, model)
    message = message.replace("{url}", url)
    assert r.status_code == 503
    if dialect == "messages":
        assert r.json() == {"type": "error", "error": {"type": "api_error", "message": message}}
    else:
        error = {"message": message, "type": "service_unavailable", "param": None, "code": "no_target_available"}
        assert r.json() == {"error": error}
    assert "retry-after" not in r.headers
    assert r.headers.get("x-tiergate-attempts") == ("local/qwen2.5-coder:7b:connect" if model == "auto" else None)
    assert fake_anthropic.requests == []


def test_route_command_shows_targets_without_their_key_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tiergate.cli import main

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"model": "opus", "messages": HI}))
    assert main(["route", "--config", str(ROOT / "routes.yaml"), str(request)]) == 0
    assert json.loads(capsys.readouterr().out)["targets"] == [OPUS, SONNET]
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-set")
    assert main(["route", "--config", str(ROOT / "routes.yaml"), str(request)]) == 0
    assert json.loads(capsys.readouterr().out)["targets"] == [{**OPUS, "skipped": None}, {**SONNET, "skipped": None}]
