"""Local model management, end to end through ``tiergate serve``'s app and the fake Ollama (which keeps
models in memory as Ollama does): a pinned target's ``keep_alive: -1``, a rule reading
``target.local.loaded``, ``max_loaded: 1`` unloading the other model before the call, and a failing
``/api/ps`` that never fails a request. Clients are the openai SDK and plain HTTP."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import openai

from tests.conftest import TEST_KEY, GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Hang, Text

ROUTES = """
backends:
  ollama: {{kind: ollama, base_url: "{ollama}", loaded_ttl: 0.1{backend}}}
  anthropic: {{kind: anthropic, base_url: "{anthropic}", api_key_env: ANTHROPIC_API_KEY}}
tiers:
  local: {{targets: [{{backend: ollama, model: qwen-fake{pinned}}}]}}
  coder: {{targets: [{{backend: ollama, model: "coder-fake:7b"}}]}}
  sonnet: {{targets: [{{backend: anthropic, model: claude-mid}}]}}
fallbacks: {{local: [sonnet], coder: [sonnet]}}
retries: {{attempts: 0}}
routing:
  rules: [{rules}]
  stickiness: {{enabled: false}}
"""
COLD_TO_SONNET = "{name: cold_local, when: {feature: target.local.loaded, eq: false}, then: {tier: sonnet}}"
ENV = {"ANTHROPIC_API_KEY": TEST_KEY}
HI: Any = [{"role": "user", "content": "hi"}]


def write(tmp_path: Path, ollama: FakeOllama, claude: FakeAnthropic, **parts: str) -> Path:
    path = tmp_path / "routes.yaml"
    fields = {"backend": "", "pinned": "", "rules": "", **parts}
    path.write_text(ROUTES.format(ollama=ollama.url, anthropic=claude.url, **fields))  # type: ignore[attr-defined]
    return path


def ask(base: str, model: str = "auto", text: str = "hi", **body: Any) -> httpx.Response:
    payload = {"model": model, "messages": [{"role": "user", "content": text}], **body}
    return httpx.post(base + "/v1/chat/completions", json=payload, timeout=30)


def route(base: str) -> dict[str, Any]:
    response = httpx.post(base + "/v1/route", json={"messages": [{"role": "user", "content": "hi"}]}, timeout=10)
    assert response.status_code == 200
    return dict(response.json())


def wait_for(check: Any, what: str, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def chats(fake: FakeOllama) -> list[tuple[str, str, Any]]:
    """What reached the fake Ollama, in order: path, model, keep_alive."""
    return [(r.path, r.body["model"], r.body.get("keep_alive")) for r in fake.requests]


def test_a_pinned_target_is_kept_loaded_for_ever(
    tmp_path: Path, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, gateway_for: GatewayFactory
) -> None:
    base = gateway_for(write(tmp_path, fake_ollama, fake_anthropic, pinned=", pinned: true"), ENV)
    # Loaded at start-up, before any request: a load with no prompt, kept for ever.
    wait_for(lambda: fake_ollama.memory.loaded(), "the pinned model to be loaded at start-up")
    assert fake_ollama.memory.loaded() == {"qwen-fake:latest": float("inf")}
    # With the window its requests send (the default 8192), so the first request finds it loaded as it wants.
    assert [r.body for r in fake_ollama.requests] == [
        {"model": "qwen-fake", "keep_alive": -1, "stream": False, "options": {"num_ctx": 8192}}
    ]
    with openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0) as client:
        whole = client.chat.completions.create(model="auto", messages=[{"role": "user", "content": "hi"}])
        streamed = list(client.chat.completions.create(model="local", messages=HI, stream=True))
    assert whole.model == "qwen-fake" and streamed[-1].choices[0].finish_reason == "stop"
    assert chats(fake_ollama) == [
        ("/api/generate", "qwen-fake", -1),
        ("/api/chat", "qwen-fake", -1),
        ("/api/chat", "qwen-fake", -1),
    ]
    assert 'tiergate_ollama_pinned_loads_total{backend="ollama"} 1.0' in httpx.get(base + "/metrics").text.splitlines()
    assert fake_ollama.memory.loaded() == {"qwen-fake:latest": float("inf")}
    assert fake_ollama.memory.loads == ["qwen-fake:latest"]  # off the disk once, not again on the first request
    ask(base, "coder")  # an unpinned target on the same backend keeps Ollama's default
    assert chats(fake_ollama)[-1] == ("/api/chat", "coder-fake:7b", None)


def test_a_reload_that_pins_a_model_loads_it_once(
    tmp_path: Path, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, gateway_for: GatewayFactory
) -> None:
    config = write(tmp_path, fake_ollama, fake_anthropic)
    base = gateway_for(config, ENV)
    assert fake_ollama.requests == [] and fake_ollama.memory.loaded() == {}  # nothing pinned, nothing loaded

    config.write_text(config.read_text().replace("model: qwen-fake", "model: qwen-fake, pinned: true"))
    assert httpx.post(base + "/admin/reload", timeout=10).status_code == 200
    wait_for(lambda: fake_ollama.memory.loaded(), "the newly pinned model to be loaded")
    assert chats(fake_ollama) == [("/api/generate", "qwen-fake", -1)]
    assert httpx.post(base + "/admin/reload", timeout=10).status_code == 200  # same backend: not asked again
    assert ask(base, "local").status_code == 200
    assert chats(fake_ollama)[1:] == [("/api/chat", "qwen-fake", -1)]


def test_a_rule_routes_by_whether_the_local_model_is_loaded(
    tmp_path: Path, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, gateway_for: GatewayFactory
) -> None:
    base = gateway_for(write(tmp_path, fake_ollama, fake_anthropic, rules=COLD_TO_SONNET), ENV)

    cold = ask(base)
    assert cold.status_code == 200 and cold.headers["x-tiergate-tier"] == "sonnet"  # not loaded: sonnet
    assert fake_ollama.requests == []

    fake_ollama.memory.load("qwen-fake")  # someone loads it (ollama run, another client)
    warm = wait_for(lambda: (d := route(base))["tier"] == "local" and d, "the refreshed /api/ps")
    assert warm["loaded"] == {"ollama/qwen-fake": True}
    assert not any(s["name"] == "cold_local" for s in warm["signals"])
    assert ask(base).headers["x-tiergate-tier"] == "local"
    assert chats(fake_ollama) == [("/api/chat", "qwen-fake", None)]
    health = httpx.get(base + "/health").json()["loaded"]
    assert health["ollama"]["models"] == ["qwen-fake:latest"] and health["ollama"]["error"] is None

    fake_ollama.memory.unload("qwen-fake")
    gone = wait_for(lambda: (d := route(base))["tier"] == "sonnet" and d, "the model to read as unloaded")
    assert gone["loaded"] is None  # sonnet's chain has no Ollama target; the rule's input shows the state
    fired = [s for s in gone["signals"] if s["name"] == "cold_local"]
    assert fired == [
        {
            "name": "cold_local",
            "kind": "rule",
            "value": {"target.local.loaded": False},
            "contribution": 0.0,
            "action": "tier=sonnet",
        }
    ]


def test_max_loaded_one_unloads_the_other_model_before_the_call(
    tmp_path: Path, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, gateway_for: GatewayFactory
) -> None:
    base = gateway_for(write(tmp_path, fake_ollama, fake_anthropic, backend=", max_loaded: 1"), ENV)
    fake_ollama.memory.load("qwen-fake")

    with openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0) as client:
        coder = client.chat.completions.create(model="coder", messages=[{"role": "user", "content": "fix it"}])
        again = client.chat.completions.create(model="coder", messages=[{"role": "user", "content": "and this"}])
        local = list(client.chat.completions.create(model="local", messages=HI, stream=True))

    assert coder.model == again.model == "coder-fake:7b" and local[0].model == "qwen-fake"
    assert chats(fake_ollama) == [
        ("/api/generate", "qwen-fake:latest", 0),  # one unload, before the switch's chat
        ("/api/chat", "coder-fake:7b", None),
        ("/api/chat", "coder-fake:7b", None),  # already loaded: no unload
        ("/api/generate", "coder-fake:7b", 0),
        ("/api/chat", "qwen-fake", None),
    ]
    assert fake_ollama.memory.peak == 1  # never two models at once
    assert list(fake_ollama.memory.loaded()) == ["qwen-fake:latest"]
    metrics = httpx.get(base + "/metrics").text
    assert 'tiergate_ollama_unloads_total{backend="ollama"} 2.0' in metrics.splitlines()


def test_max_loaded_waits_for_a_stream_before_unloading_its_model(
    tmp_path: Path, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, gateway_for: GatewayFactory
) -> None:
    base = gateway_for(write(tmp_path, fake_ollama, fake_anthropic, backend=", max_loaded: 1"), ENV)
    fake_ollama.replies.append(Hang(0.6, after_events=1))  # the local stream pauses after its first line
    results: dict[str, httpx.Response] = {}

    def coder() -> None:
        results["coder"] = ask(base, "coder")

    body = {"model": "local", "stream": True, "messages": HI}
    with httpx.stream("POST", base + "/v1/chat/completions", json=body, timeout=30) as stream:
        lines = stream.iter_lines()
        assert next(line for line in lines if line.startswith("data: "))  # the local stream has begun
        waiting = threading.Thread(target=coder)
        waiting.start()
        time.sleep(0.2)
        assert [c[1] for c in chats(fake_ollama)] == ["qwen-fake"]  # coder waits: qwen is answering
        rest = "".join(lines)
    waiting.join(10)

    assert rest.endswith("data: [DONE]") and results["coder"].status_code == 200
    assert chats(fake_ollama) == [
        ("/api/chat", "qwen-fake", None),
        ("/api/generate", "qwen-fake:latest", 0),
        ("/api/chat", "coder-fake:7b", None),
    ]
    assert fake_ollama.memory.peak == 1


def test_a_failing_ps_never_fails_a_request(
    tmp_path: Path, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, gateway_for: GatewayFactory
) -> None:
    rule = "{name: warm, when: {feature: target.local.loaded, eq: true}, then: {tier: coder}}"
    base = gateway_for(write(tmp_path, fake_ollama, fake_anthropic, backend=", max_loaded: 1", rules=rule), ENV)
    fake_ollama.ps_status = 500
    fake_ollama.memory.load("qwen-fake")
    fake_ollama.replies.extend([Text("one"), Text("two")])

    first = ask(base)
    wait_for(lambda: httpx.get(base + "/health").json()["loaded"]["ollama"]["error"], "the failed /api/ps")
    second = ask(base)

    assert [r.status_code for r in (first, second)] == [200, 200]
    assert [r.json()["choices"][0]["message"]["content"] for r in (first, second)] == ["one", "two"]
    assert [r.headers["x-tiergate-tier"] for r in (first, second)] == ["local", "local"]  # unknown: not loaded
    assert chats(fake_ollama) == [("/api/chat", "qwen-fake", None), ("/api/chat", "qwen-fake", None)]  # no unload
    loaded = httpx.get(base + "/health").json()["loaded"]["ollama"]
    assert (loaded["models"], loaded["error"]) == (None, "ps failed") and loaded["checked_s_ago"] >= 0
    assert route(base)["loaded"] == {"ollama/qwen-fake": False}
