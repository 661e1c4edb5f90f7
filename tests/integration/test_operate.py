"""Operating the gateway, end to end over real loopback HTTP: keys, limits, metrics, readiness, logs.

The gateway runs ``ROUTES`` below — small and fixed, so these tests do not move when the default
routes.yaml is retuned — plus a ``server:`` section where a test needs one, in front of the fake
upstreams; clients are the openai SDK and httpx.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import TEST_KEY, GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Status, Text
from tiergate.config.problems import ConfigError
from tiergate.telemetry.logs import JsonFormatter

CLIENT_KEY = "tg-team-SECRET-3c4d5e6f70"
ADMIN_KEY = "tg-admin-SECRET-8192a3b4c5"
HEADER_SECRET = "tg-header-SECRET-d6e7f8a9b0"
HI = [{"role": "user", "content": "hi"}]
JSON = {"content-type": "application/json"}
ROUTES = """
backends:
  ollama: {kind: ollama, base_url: "${OLLAMA_HOST}"}
  anthropic: {kind: anthropic, base_url: "${ANTHROPIC_BASE_URL}", api_key_env: ANTHROPIC_API_KEY}
tiers:
  local: {targets: [{backend: ollama, model: "qwen2.5-coder:7b"}]}
  sonnet: {targets: [{backend: anthropic, model: claude-sonnet-4-5}]}
  opus: {targets: [{backend: anthropic, model: claude-opus-4-1}]}
fallbacks: {local: [sonnet], opus: [sonnet]}
routing:
  rules:
    - name: rename-is-local
      when: {feature: last_user_text, contains_any: [rename]}
      then: {band: LOCAL}
  scorers:  # everything else scores 1: CLAUDE
    - {name: anything, feature: message_count, transform: {kind: threshold, at: 1}}
retries: {attempts: 2, backoff_base: 0.01}
"""


def routes_with(tmp_path: Path, server: str = "", rules: str = "") -> Path:
    """``ROUTES`` with a ``server:`` section and more ``routing.rules`` entries (tried first)."""
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES.replace("  rules:\n", "  rules:\n" + rules, 1) + "\n" + server)
    return path


@pytest.fixture
def gateway(gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path) -> str:
    """Overrides conftest's: the gateway on ``ROUTES`` (conftest's ``client`` follows it)."""
    return gateway_for(routes_with(tmp_path), upstream_env)


def series(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


# --- auth -----------------------------------------------------------------------------------


def test_client_keys_from_the_sdk_and_continue_style_headers(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    config = routes_with(tmp_path, "server: {auth: {keys_env: [TIERGATE_KEYS]}}")
    base = gateway_for(config, {**upstream_env, "TIERGATE_KEYS": CLIENT_KEY})
    sdk = openai.OpenAI(base_url=base + "/v1", api_key=CLIENT_KEY, max_retries=0)
    assert sdk.chat.completions.create(model="local", messages=HI).choices[0].message.content  # type: ignore[arg-type]
    both = {"authorization": f"Bearer {CLIENT_KEY}", "x-api-key": CLIENT_KEY}  # what Continue sends
    assert httpx.post(base + "/v1/chat/completions", json={"model": "local", "messages": HI}, headers=both).is_success
    with pytest.raises(openai.AuthenticationError) as info:
        openai.OpenAI(base_url=base + "/v1", api_key="sk-wrong", max_retries=0).models.list()
    assert info.value.status_code == 401
    assert info.value.body == {
        "message": "invalid API key",
        "type": "authentication_error",
        "param": None,
        "code": "invalid_api_key",
    }
    # The client's key is the gateway's business only: it never travels upstream.
    assert len(fake_ollama.requests) == 2
    for sent in fake_ollama.requests:
        assert CLIENT_KEY not in json.dumps(sent.headers) and CLIENT_KEY not in json.dumps(sent.body)


def test_credential_headers_are_not_routing_features(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path
) -> None:
    by_key = """    - {name: by-key, when: {feature: header.x-api-key, ne: ""}, then: {tier: opus}}
"""
    with pytest.raises(ConfigError, match=r"header\.x-api-key': credential headers are not visible to rules"):
        gateway_for(routes_with(tmp_path, rules=by_key), upstream_env)
    by_team = """    - {name: by-team, when: {feature: header.x-team, eq: a}, then: {tier: local}}
"""
    base = gateway_for(routes_with(tmp_path, rules=by_team), upstream_env)
    r = httpx.post(base + "/v1/route", json={"messages": HI}, headers={"x-api-key": "tg-feature-key", "x-team": "a"})
    assert r.status_code == 200
    assert r.json()["tier"] == "local"  # other headers are features
    assert "tg-feature-key" not in r.text


# --- input -----------------------------------------------------------------------------------


def test_control_characters_reach_the_model_intact_and_routing_ignores_them(
    gateway: str, client: openai.OpenAI, fake_ollama: FakeOllama
) -> None:
    content = "re\x00na\x1bme foo to bar\tin\nthis \x7fsnippet"
    fake_ollama.replies.append(Text("done", chunks=1))
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": content}]
    )
    assert raw.headers["x-tiergate-tier"] == "local"
    assert fake_ollama.requests[0].body["messages"] == [{"role": "user", "content": content}]
    decision = httpx.post(gateway + "/v1/route", json={"messages": [{"role": "user", "content": content}]}).json()
    assert (decision["band"], decision["reasons"][0]) == ("LOCAL", "rule 'rename-is-local' forces LOCAL")
    # "re\x00na\x1bme" reads as "rename"
    assert decision["signals"][0]["value"] == {"last_user_text:keywords": ["rename"]}
    plain = httpx.post(gateway + "/v1/route", json={"messages": [{"role": "user", "content": "re-na-me foo"}]}).json()
    assert plain["band"] == "CLAUDE"  # the rule needs the word itself


def test_limits_over_real_http(gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path) -> None:
    config = routes_with(tmp_path, "server: {input_limits: {max_body_bytes: 4096, max_json_depth: 8}}")
    base = gateway_for(config, upstream_env)
    big = json.dumps({"messages": [{"role": "user", "content": "x" * 50_000}]}).encode()
    r = httpx.post(base + "/v1/chat/completions", content=big, headers=JSON)
    assert r.status_code == 413
    assert r.json()["error"]["message"] == (
        f"the request body is {len(big)} bytes; the limit is 4096 bytes (server.input_limits.max_body_bytes)"
    )
    deep = b'{"messages": [{"role": "user", "content": "hi"}], "metadata": {"a": [[[[[[[[1]]]]]]]]}}'
    r = httpx.post(base + "/v1/chat/completions", content=deep, headers=JSON)
    assert r.status_code == 400 and r.json()["error"]["code"] == "json_too_deep"
    assert httpx.post(base + "/v1/route", json={"messages": HI}).status_code == 200  # the connection pool recovered


# --- metrics -----------------------------------------------------------------------------------


def test_metrics_after_a_few_requests(
    gateway: str, client: openai.OpenAI, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic
) -> None:
    fake_ollama.replies.append(Text("ok", chunks=1))
    client.chat.completions.create(model="auto", messages=[{"role": "user", "content": "rename foo to bar"}])
    fake_anthropic.replies.append(Text("streamed", chunks=2))
    list(client.chat.completions.create(model="sonnet", messages=HI, stream=True))  # type: ignore[arg-type]
    fake_ollama.replies.extend([Status(500, "boom")] * 3)
    fake_anthropic.replies.append(Text("rescued", chunks=1))
    client.chat.completions.create(model="local", messages=HI)  # type: ignore[arg-type]
    r = httpx.get(gateway + "/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    deadline = time.monotonic() + 5  # a stream's record is written when its last byte has gone
    latency_count = ("tiergate_request_latency_seconds_count", ())
    while (got := series(httpx.get(gateway + "/metrics").text)).get(latency_count) != 3:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    requests = {labels: v for (name, labels), v in got.items() if name == "tiergate_requests_total"}
    assert requests == {
        (("model", "qwen2.5-coder:7b"), ("status", "200"), ("tier", "local")): 1.0,
        (("model", "claude-sonnet-4-5"), ("status", "200"), ("tier", "sonnet")): 2.0,
    }
    assert got[("tiergate_decisions_total", (("band", "LOCAL"), ("phase", "heuristic")))] == 1
    assert got[("tiergate_decisions_total", (("band", "CLAUDE"), ("phase", "explicit")))] == 1
    assert got[("tiergate_decisions_total", (("band", "LOCAL"), ("phase", "explicit")))] == 1
    assert got[("tiergate_upstream_errors_total", (("backend", "ollama"), ("kind", "http_500")))] == 1
    assert got[("tiergate_time_to_first_token_seconds_count", ())] == 1
    assert got[("tiergate_decision_seconds_count", ())] == 3
    assert got[("tiergate_breaker_state", (("target", "ollama/qwen2.5-coder:7b"),))] == 0
    assert got[("tiergate_breaker_state", (("target", "anthropic/claude-opus-4-1"),))] == 0
    assert got[("tiergate_rules_reloads_total", ())] == 0
    assert ("tiergate_classifier_cache_hits_total", ()) in got
    assert ("tiergate_rate_limit_rejections_total", (("scope", "client"),)) not in got


def test_metrics_can_be_switched_off(gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path) -> None:
    base = gateway_for(routes_with(tmp_path, "server: {metrics: false}"), upstream_env)
    assert httpx.get(base + "/metrics").status_code == 404


# --- health and readiness --------------------------------------------------------------------


def test_health_the_console_and_admin_config_list_the_serving_rules_warnings(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path
) -> None:
    """A file with warnings is served; only `tiergate validate` and the log said so, and /health, the console
    and /admin/config showed nothing of them. A warning that quotes a key (one written as a model id) shows it
    as ***, and a reload shows the new rules' warnings."""
    routes = routes_with(tmp_path)  # tier 'opus' is never chosen: one warning
    plain = routes.read_text()
    opus = "  opus: {targets: [{backend: anthropic, model: claude-opus-4-1}]}\n"
    keyed = (
        '  opus: {targets: [{backend: anthropic, model: claude-opus-4-1}, {backend: anthropic, model: "${KEY}"}]}\n'
        '  spare: {targets: [{backend: anthropic, model: "${KEY}"}]}\n'
    ).replace("KEY", "ANTHROPIC_API_KEY")
    routes.write_text(plain.replace(opus, keyed))
    base = gateway_for(routes, upstream_env)
    never = "is never chosen by routing or fallbacks (clients can still name it as model)"
    opus_never = {
        "file": str(routes),
        "line": 8,
        "col": 3,
        "path": "$.tiers.opus",
        "severity": "warning",
        "message": f"tier 'opus' {never}",
    }
    twice = "model '***' is also a target of tier 'opus' (anthropic/***, line 8), which comes first: a request for"
    expected = [
        {
            "file": str(routes),
            "line": 9,
            "col": 49,
            "path": "$.tiers.spare.targets[0].model",
            "severity": "warning",
            "message": f"{twice} model '***' goes to tier 'opus'",
        },
        opus_never,
        {**opus_never, "line": 9, "path": "$.tiers.spare", "message": f"tier 'spare' {never}"},
    ]
    health = httpx.get(base + "/health")
    status = httpx.get(base + "/console/api/status")
    config = httpx.get(base + "/admin/config")
    assert health.json()["rules"]["warnings"] == expected
    assert status.json()["rules"]["warnings"] == expected
    assert config.json()["warnings"] == expected  # the key each quotes is *** in all three

    routes.write_text(plain)
    reloaded = httpx.post(base + "/admin/reload")
    assert reloaded.status_code == 200 and reloaded.json()["problems"] == [opus_never]
    assert httpx.get(base + "/health").json()["rules"]["warnings"] == [opus_never]
    assert httpx.get(base + "/console/api/status").json()["rules"]["warnings"] == [opus_never]
    assert httpx.get(base + "/admin/config").json()["warnings"] == [opus_never]


def test_ready_with_the_upstreams_up(gateway: str) -> None:
    r = httpx.get(gateway + "/ready")
    assert r.status_code == 200
    body = r.json()
    assert body["ready"] is True and body["reasons"] == []
    assert body["tiers"] == {
        "local": "local/qwen2.5-coder:7b",
        "sonnet": "sonnet/claude-sonnet-4-5",
        "opus": "opus/claude-opus-4-1",
    }
    assert body["backends"] == {"ollama": "ok", "anthropic": "ok"}
    assert body["rules"]["status"] == "ok"


def test_not_ready_when_nothing_can_serve(gateway_for: GatewayFactory, closed_port: int, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    base = gateway_for(routes_with(tmp_path), {"OLLAMA_HOST": url, "ANTHROPIC_BASE_URL": url})
    r = httpx.get(base + "/ready")
    assert r.status_code == 503
    body = r.json()
    assert body["ready"] is False
    assert body["tiers"] == {"local": None, "sonnet": None, "opus": None}
    assert body["backends"]["anthropic"] == "environment variable ANTHROPIC_API_KEY is not set"
    assert body["backends"]["ollama"] != "ok"
    local = body["reasons"][0]
    assert local.startswith("tier 'local' has no available target (local/qwen2.5-coder:7b: ")
    assert local.endswith("; sonnet/claude-sonnet-4-5: environment variable ANTHROPIC_API_KEY is not set)")
    assert httpx.get(base + "/health").status_code == 200  # alive, just not ready


def test_ollama_down_is_ready_through_the_fallback(
    gateway_for: GatewayFactory, fake_anthropic: FakeAnthropic, closed_port: int, tmp_path: Path
) -> None:
    env = {
        "OLLAMA_HOST": f"http://127.0.0.1:{closed_port}",
        "ANTHROPIC_BASE_URL": fake_anthropic.url,  # type: ignore[attr-defined]
        "ANTHROPIC_API_KEY": TEST_KEY,
    }
    body = httpx.get(gateway_for(routes_with(tmp_path), env) + "/ready").json()
    assert body["ready"] is True
    assert body["tiers"]["local"] == "sonnet/claude-sonnet-4-5"


def test_an_open_breaker_makes_the_gateway_unready(
    gateway_for: GatewayFactory, fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    url = fake_anthropic.url  # type: ignore[attr-defined]
    config = tmp_path / "routes.yaml"
    config.write_text(
        f"""
backends:
  anthropic: {{kind: anthropic, base_url: "{url}"}}
tiers:
  sonnet: {{targets: [{{backend: anthropic, model: claude-sonnet-4-5}}]}}
routing:
  mode: fixed
  fixed_tier: sonnet
  band_tiers: {{local: sonnet, claude: sonnet, ambiguous: sonnet}}
retries: {{attempts: 0}}
breakers: {{fail_max: 1, reset_timeout: 300}}
"""
    )
    base = gateway_for(config, {"ANTHROPIC_API_KEY": TEST_KEY})
    assert httpx.get(base + "/ready").status_code == 200
    fake_anthropic.replies.append(Status(500, "down"))
    assert httpx.post(base + "/v1/chat/completions", json={"messages": HI}).status_code == 500
    r = httpx.get(base + "/ready")
    assert r.status_code == 503
    why = "tier 'sonnet' has no available target (sonnet/claude-sonnet-4-5: circuit breaker open)"
    assert r.json()["reasons"] == [why]
    breaker = ("tiergate_breaker_state", (("target", "anthropic/claude-sonnet-4-5"),))
    assert series(httpx.get(base + "/metrics").text)[breaker] == 2.0


# --- logs ------------------------------------------------------------------------------------


def test_one_json_line_per_request_keyed_by_decision_id(
    client: openai.OpenAI, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tiergate.requests")
    fake_ollama.replies.append(Text("a", chunks=1))
    fake_anthropic.replies.extend([Text("b", chunks=2), Status(400, "bad request")])
    ids = [
        client.chat.completions.with_raw_response.create(model="local", messages=HI).headers[  # type: ignore[arg-type]
            "x-tiergate-decision-id"
        ]
    ]
    with client.chat.completions.with_streaming_response.create(model="sonnet", messages=HI, stream=True) as s:  # type: ignore[arg-type]
        ids.append(s.headers["x-tiergate-decision-id"])
        list(s.iter_lines())
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="sonnet", messages=HI)  # type: ignore[arg-type]
    ids.append(info.value.response.headers["x-tiergate-decision-id"])
    deadline = time.monotonic() + 5
    while len([r for r in caplog.records if r.name == "tiergate.requests"]) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    records = [r for r in caplog.records if r.name == "tiergate.requests"]
    lines = [JsonFormatter().format(r) for r in records]
    assert all("\n" not in line for line in lines)
    entries = [json.loads(line) for line in lines]
    assert [e["decision_id"] for e in entries] == ids
    assert [(e["msg"], e["tier"], e["status"], e["stream"]) for e in entries] == [
        ("request", "local", 200, False),
        ("request", "sonnet", 200, True),
        ("request", "sonnet", 400, False),
    ]
    assert {"latency_ms", "attempts", "client", "phase", "band"} <= set(entries[0])
