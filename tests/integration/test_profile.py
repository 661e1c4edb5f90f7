"""``tiergate profile`` against the fake upstreams on loopback: timings, the three probes, the judged prompt set,
the file it writes, and a rule file that names that file (capabilities, latency features, /health)."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_KEY, GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.scripts import Status, Text, ToolCalls
from tiergate.cli import main
from tiergate.config.loader import load_text
from tiergate.config.problems import ConfigError
from tiergate.engine.graph import compile_graph
from tiergate.errors import ProfileError
from tiergate.profile.file import load_profile, write_profile
from tiergate.profile.probes import red_png

ROUTES = """
backends:
  llama: {{kind: openai, base_url: "{openai}/v1"}}
  ollama: {{kind: ollama, base_url: "{ollama}"}}
  anthropic: {{kind: anthropic, base_url: "{anthropic}", api_key_env: ANTHROPIC_API_KEY}}
tiers:
  local:
    targets:
      - {{backend: llama, model: fake-model{extra}}}
  sonnet: {{targets: [{{backend: anthropic, model: claude-judge, price: {{input: 3, output: 15}}}}]}}
  home: {{targets: [{{backend: ollama, model: qwen-fake}}]}}
fallbacks: {{local: [sonnet]}}
routing:
  rules:
    - {{name: local_is_slow, when: {{feature: target.local.ttft_p95_ms, gt: 5000}}, then: {{tier: sonnet}}}}
  bands: {{local: 0.5, claude: 0.9}}
"""
PROMPTS = [{"id": "p1", "prompt": "rename x to y", "reference": "y = 1"}, {"id": "p2", "prompt": "explain git"}]


@pytest.fixture
def urls(fake_openai: FakeOpenAI, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic) -> dict[str, str]:
    return {
        "openai": fake_openai.url,  # type: ignore[attr-defined]
        "ollama": fake_ollama.url,  # type: ignore[attr-defined]
        "anthropic": fake_anthropic.url,  # type: ignore[attr-defined]
    }


def write_routes(tmp_path: Path, urls: dict[str, str], extra: str = "") -> Path:
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES.format(extra=extra, **urls))
    return path


def test_a_profile_measures_probes_judges_and_writes_its_file(
    tmp_path: Path,
    urls: dict[str, str],
    fake_openai: FakeOpenAI,
    fake_anthropic: FakeAnthropic,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_KEY)
    routes = write_routes(tmp_path, urls)
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps(p) + "\n" for p in PROMPTS))
    fake_openai.replies.extend([Text(chunks=4, completion_tokens=9) for _ in range(3)])  # cold + 2 warm
    fake_openai.replies.extend(
        [
            ToolCalls([("get_weather", {"city": "Paris"})]),
            Text("Red."),
            Text('{"name": "Ada", "age": 36}'),
            Text("y = 1"),
            Text("git tracks changes"),
        ]
    )
    fake_anthropic.replies.extend(
        [Text('{"score": 5, "reason": "matches the reference"}'), Text('Grade: {"score": 2, "reason": "too vague"}')]
    )

    args = ["--runs", "2", "--max-tokens", "32", "--judge", "sonnet", "--prompts", str(prompts)]
    code = main(["profile", "--config", str(routes), *args, "--context-window", "4096"])
    out = capsys.readouterr().out
    assert code == 0, out
    path = tmp_path / "profiles" / "local-llama-fake-model.json"
    assert f"wrote {path}; use it with `profile: profiles/local-llama-fake-model.json`" in out
    profile = load_profile(path)
    assert (profile.tier, profile.backend, profile.kind, profile.model) == ("local", "llama", "openai", "fake-model")
    assert profile.url == urls["openai"] + "/v1" and profile.runs == 2 and profile.max_tokens == 32
    assert len(profile.ttft_ms.samples) == len(profile.total_ms.samples) == 2
    assert profile.ttft_ms.p50 is not None and 0 < profile.ttft_ms.p50 <= profile.total_ms.p50  # type: ignore[operator]
    assert profile.tokens_per_s is not None and profile.tokens_per_s > 0 and profile.load_ms is not None
    caps = profile.capabilities
    assert (caps.tools, caps.vision, caps.json_mode, caps.context_window) == (True, True, True, 4096)
    assert profile.probes["tools"].detail == 'called get_weather({"city": "Paris"})'
    assert profile.probes["vision"].detail == "answered 'Red.' for a red image"
    assert profile.quality is not None
    q = profile.quality
    assert (q.judge, q.prompts, q.graded, q.mean_score, q.pass_rate, q.pass_at) == (
        "sonnet/claude-judge",
        2,
        2,
        3.5,
        0.5,
        4,
    )
    assert [(c.id, c.score, c.reason) for c in q.cases] == [
        ("p1", 5.0, "matches the reference"),
        ("p2", 2.0, "too vague"),
    ]

    timing = [r.body for r in fake_openai.requests[:3]]
    assert all(b["stream"] is True and b["max_tokens"] == 32 and b["model"] == "fake-model" for b in timing)
    tools, vision, json_mode = (r.body for r in fake_openai.requests[3:6])
    assert tools["tools"][0]["function"]["name"] == "get_weather"
    image = vision["messages"][0]["content"][1]["image_url"]["url"]
    assert image == "data:image/png;base64," + base64.b64encode(red_png()).decode()
    assert json_mode["response_format"] == {"type": "json_object"}
    grading = fake_anthropic.requests[0].body
    assert (
        grading["model"] == "claude-judge"
        and "Reference answer:\ny = 1" in grading["messages"][0]["content"][0]["text"]
    )
    assert "Answer to grade:\ny = 1" in grading["messages"][0]["content"][0]["text"]


def test_what_a_server_refuses_is_a_failed_probe_not_a_crash(
    tmp_path: Path, urls: dict[str, str], fake_openai: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    routes = write_routes(tmp_path, urls)
    fake_openai.replies.extend([Text(), Text()])
    fake_openai.replies.extend([Status(500, "tools are not supported"), Text("It is blue."), Text("Ada is 36.")])
    assert main(["profile", "--config", str(routes), "--runs", "1", "--out", str(tmp_path / "p")]) == 0
    profile = load_profile(tmp_path / "p" / "local-llama-fake-model.json")
    assert not profile.probes["tools"].ok and "refused: " in profile.probes["tools"].detail
    assert "tools are not supported" in profile.probes["tools"].detail
    assert profile.probes["vision"].detail == "answered 'It is blue.' for a red image"
    assert profile.probes["json_mode"].detail == "not JSON: 'Ada is 36.'"
    caps = profile.capabilities
    assert (caps.tools, caps.vision, caps.json_mode, caps.context_window) == (False, False, False, None)
    assert "tools: no (refused: backend 'llama'" in capsys.readouterr().out


def test_an_ollama_target_is_timed_too(
    tmp_path: Path, urls: dict[str, str], fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    routes = write_routes(tmp_path, urls)
    code = main(["profile", "--config", str(routes), "--tier", "home", "--runs", "3", "--no-probes"])
    assert code == 0, capsys.readouterr().err
    profile = load_profile(tmp_path / "profiles" / "home-ollama-qwen-fake.json")
    assert profile.kind == "ollama" and profile.runs == 3 and profile.probes == {}
    assert "probes skipped (--no-probes): capabilities are not measured" in profile.notes
    assert [r.path for r in fake_ollama.requests] == ["/api/chat"] * 4


def test_an_unreachable_target_fails_with_its_name(
    tmp_path: Path, urls: dict[str, str], closed_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    routes = write_routes(tmp_path, {**urls, "openai": f"http://127.0.0.1:{closed_port}"})
    assert main(["profile", "--config", str(routes), "--runs", "1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tiergate profile: cannot profile local/fake-model on backend 'llama': backend 'llama' at ")
    assert not (tmp_path / "profiles").exists()


def test_a_rule_file_takes_capabilities_and_latency_from_the_profile(
    tmp_path: Path,
    urls: dict[str, str],
    fake_openai: FakeOpenAI,
    fake_anthropic: FakeAnthropic,
    gateway_for: GatewayFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    routes = write_routes(tmp_path, urls)
    fake_openai.replies.extend([Text(), Text(), Text()])
    fake_openai.replies.extend([Status(500, "no tools"), Text("Red"), Text('{"name": "Ada", "age": 36}')])
    assert main(["profile", "--config", str(routes), "--runs", "2"]) == 0
    capsys.readouterr()
    path = tmp_path / "profiles" / "local-llama-fake-model.json"
    profile = load_profile(path)
    # make the measured model slow, as a real one on a small machine might be
    profile.ttft_ms.samples = [*profile.ttft_ms.samples, 6000.0, 7000.0]
    write_profile(path, profile)

    named = write_routes(tmp_path, urls, extra=", profile: profiles/local-llama-fake-model.json")
    loaded = load_text(named.read_text(), str(named), {})
    effective = loaded.config.tiers["local"].targets[0].capabilities  # what GET /admin/config shows
    assert effective is not None and (effective.tools, effective.vision) == (False, True)
    graph = compile_graph(loaded)
    local = graph.chains.tiers["local"][0]
    assert (local.capabilities.tools, local.capabilities.vision) == (False, True)
    assert local.capabilities.context_window == 8192  # not measured: the default
    written = write_routes(
        tmp_path, urls, extra=", profile: profiles/local-llama-fake-model.json, capabilities: {tools: true}"
    )
    assert compile_graph(load_text(written.read_text(), str(written), {})).chains.tiers["local"][0].capabilities.tools

    base = gateway_for(named, {"ANTHROPIC_API_KEY": TEST_KEY})
    health = httpx.get(base + "/health").json()
    seeded = health["latency"][local.key]
    assert seeded["observed"] == 0 and seeded["samples"] == 4 and seeded["ttft_p95_ms"] == 7000.0
    decision = httpx.post(base + "/v1/route", json={"messages": [{"role": "user", "content": "hi"}]}).json()
    assert decision["tier"] == "sonnet"  # the rule reads the profile's p95 before any request was seen
    assert decision["signals"][0]["name"] == "local_is_slow"
    assert decision["signals"][0]["value"] == {"target.local.ttft_p95_ms": 7000.0}


def test_a_missing_or_broken_profile_is_a_problem_at_its_line(tmp_path: Path, urls: dict[str, str]) -> None:
    missing = write_routes(tmp_path, urls, extra=", profile: profiles/none.json")
    with pytest.raises(ConfigError) as info:
        compile_graph(load_text(missing.read_text(), str(missing), {}))
    rendered = next(p.render() for p in info.value.problems if p.severity == "error")
    assert rendered.startswith(f"{missing}:9:54: profile {tmp_path / 'profiles' / 'none.json'}: cannot read it")
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "bad.json").write_text('{"version": 1}')
    broken = write_routes(tmp_path, urls, extra=", profile: profiles/bad.json")
    with pytest.raises(ConfigError) as info:
        compile_graph(load_text(broken.read_text(), str(broken), {}))
    (error,) = [p for p in info.value.problems if p.severity == "error"]
    assert "not a tiergate profile (Object missing required field `tier`)" in error.message


def test_a_profile_with_a_context_window_below_1_is_refused(tmp_path: Path, urls: dict[str, str]) -> None:
    """Such a window would make every request skip the target: the file is a problem at its line instead."""
    path = tmp_path / "profiles" / "small.json"
    for window in (-5, 0):
        path.parent.mkdir(exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "tier": "local",
                    "backend": "llama",
                    "kind": "openai",
                    "model": "fake-model",
                    "url": "http://127.0.0.1:1/v1",
                    "measured_at": "2025-06-01T10:00:00Z",
                    "runs": 1,
                    "max_tokens": 8,
                    "capabilities": {"tools": True, "context_window": window},
                }
            )
        )
        with pytest.raises(ProfileError, match=r"Expected `int` >= 1 - at `\$\.capabilities\.context_window`"):
            load_profile(path)
        named = write_routes(tmp_path, urls, extra=", profile: profiles/small.json")
        with pytest.raises(ConfigError) as info:
            compile_graph(load_text(named.read_text(), str(named), {}))
        (error,) = [p for p in info.value.problems if p.severity == "error"]
        assert error.message == (
            f"profile {path}: not a tiergate profile (Expected `int` >= 1 - at `$.capabilities.context_window`)"
        )


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--context-window", "-5"),
        ("--context-window", "0"),
        ("--runs", "0"),
        ("--runs", "-1"),
        ("--max-tokens", "0"),
        ("--pass-at", "9"),
        ("--pass-at", "0"),
        ("--timeout", "0"),
        ("--timeout", "nan"),
    ],
)
def test_out_of_range_settings_are_refused(
    tmp_path: Path, flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["profile", "--config", str(tmp_path / "routes.yaml"), flag, value])
    assert exited.value.code == 2
    assert f"argument {flag}: must be" in capsys.readouterr().err
    assert not (tmp_path / "profiles").exists()


def test_the_probe_image_is_a_valid_red_png() -> None:
    png = red_png(4)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    idat = png.index(b"IDAT")
    length = int.from_bytes(png[idat - 4 : idat], "big")
    rows = zlib.decompress(png[idat + 4 : idat + 4 + length])
    assert rows == (b"\x00" + b"\xff\x00\x00" * 4) * 4


KEYED = """
backends:
  llama: {{kind: openai, base_url: "{openai}/v1", api_key_env: LLAMA_KEY}}
tiers:
  local: {{targets: [{{backend: llama, model: fake-model}}]}}
routing: {{band_tiers: {{local: local, claude: local, ambiguous: local}}}}
"""
LLAMA_KEY = "sk-llama-SECRET-0a1b2c3d"


def test_what_a_server_refuses_with_is_printed_and_written_without_the_key(
    tmp_path: Path,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The profile called its backends without the Redactor: a server that quoted the key back put it in the
    probe's ``refused: ...``, the warm run's note (both in the file) and the printed summary."""
    monkeypatch.setenv("LLAMA_KEY", LLAMA_KEY)
    routes = tmp_path / "routes.yaml"
    routes.write_text(KEYED.format(openai=fake_openai.url))  # type: ignore[attr-defined]
    fake_openai.replies.extend(
        [
            Text(),  # cold
            Status(500, f"overloaded; key {LLAMA_KEY}"),  # the first warm run
            Text(),
            Status(400, f"tools are not supported for key {LLAMA_KEY}"),
            Text("Red."),
            Text('{"name": "Ada", "age": 36}'),
        ]
    )

    assert main(["profile", "--config", str(routes), "--runs", "2", "--out", str(tmp_path / "p")]) == 0

    out = capsys.readouterr().out
    path = tmp_path / "p" / "local-llama-fake-model.json"
    profile = load_profile(path)
    assert profile.probes["tools"].detail.endswith("tools are not supported for key ***")
    assert profile.notes == [f"warm run failed: backend 'llama' at {fake_openai.url}/v1: HTTP 500: overloaded; key ***"]  # type: ignore[attr-defined]
    assert "tools: no (refused: backend 'llama'" in out and "for key ***" in out
    assert LLAMA_KEY not in out + path.read_text()


def test_a_target_that_refuses_the_key_quoting_it_fails_without_showing_it(
    tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LLAMA_KEY", LLAMA_KEY)
    routes = tmp_path / "routes.yaml"
    routes.write_text(KEYED.format(openai=fake_openai.url))  # type: ignore[attr-defined]
    fake_openai.replies.append(Status(401, f"invalid api key {LLAMA_KEY}"))

    assert main(["profile", "--config", str(routes), "--runs", "1"]) == 1

    err = capsys.readouterr().err
    assert err.startswith("tiergate profile: cannot profile local/fake-model on backend 'llama': ")
    assert err.rstrip().endswith("invalid api key ***") and LLAMA_KEY not in err
