"""``tiergate eval`` on a tiny config and a tiny set whose routing is known case by case."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Status, Text
from tiergate.cli import main

CONFIG = """
backends:
  ollama: {kind: ollama, base_url: "http://127.0.0.1:1"}
  anthropic: {kind: anthropic, base_url: "http://127.0.0.1:1"}
tiers:
  local: {targets: [{backend: ollama, model: small}]}
  sonnet: {targets: [{backend: anthropic, model: mid, price: {input: 3, output: 15}}]}
  opus: {targets: [{backend: anthropic, model: big, price: {input: 15, output: 75}}]}
routing:
  rules:
    - {name: tools, when: {feature: tools_present, eq: true}, then: {band: CLAUDE}}
  scorers:
    - {name: size, feature: total_chars, transform: {kind: ramp, from: 0, to: 1000}}
  bands: {local: 0.2, claude: 0.6}
  escalation: {tier: opus, score_at_least: 0.9}
"""
TOOL = {"type": "function", "function": {"name": "read_file"}}


def case(id: str, gold: str, chars: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": id,
        "gold": gold,
        "why": f"{id} why",
        "request": {"messages": [{"role": "user", "content": "x" * chars}], **extra},
    }


SET = [
    case("one", "local", 10),  # score 0.01: LOCAL
    case("two", "sonnet", 500),  # 0.5: AMBIGUOUS -> sonnet
    case("three", "opus", 950),  # 0.95: CLAUDE, escalates
    case("four", "opus", 700),  # 0.7: CLAUDE -> sonnet, under-routed
    case("five", "local", 10, tools=[TOOL]),  # forced CLAUDE: over-routed
    case("six", "local", 10, model="opus"),  # explicit opus: severe over-routing
]


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "routes.yaml"
    config.write_text(CONFIG)
    data = tmp_path / "set.jsonl"
    data.write_text("".join(json.dumps(c) + "\n" for c in SET))
    return config, data


def test_eval_reports_every_metric(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    config, data = files
    assert main(["eval", "--config", str(config), str(data)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith(f"tiergate eval: {config} (rules ") and lines[0].endswith(
        "6 labelled cases, classifier off"
    )
    assert "  local          1       1       1" in lines
    assert "  sonnet         0       1       0" in lines
    assert "  opus           0       1       1" in lines
    expected = {
        "exact accuracy": " 50.0%  (3/6)",
        "sufficiency (pred >= gold)": " 83.3%  (5/6)",
        "under-routing": " 16.7%  (1/6)",
        "  severe (opus -> local)": "  0.0%  (0/6)",
        "over-routing": " 33.3%  (2/6)",
        "  severe (local -> opus)": " 16.7%  (1/6)",
        "decided by phase 1": " 83.3%  (5/6, the rest were AMBIGUOUS)",
    }
    for label, value in expected.items():
        assert any(line.startswith(label) and line.endswith(value) for line in lines), label
    assert any(line.startswith("estimated cost") and "vs always-opus" in line and "(oracle:" in line for line in lines)
    assert "under-routed cases (1):" in lines
    assert "  UNDER four: opus -> sonnet (CLAUDE, heuristic) — four why" in lines


def test_misses_lists_every_misrouted_case(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    config, data = files
    assert main(["eval", "--config", str(config), "--misses", str(data)]) == 0
    out = capsys.readouterr().out
    assert "misrouted cases (3):" in out
    assert "  over  six: local -> opus (CLAUDE, explicit) — six why" in out


def test_eval_as_json(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    config, data = files
    assert main(["eval", "--config", str(config), "--json", str(data)]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["kind"] == "labelled" and body["classifier"] is False
    assert body["report"]["confusion"]["matrix"] == [[1, 1, 1], [0, 1, 0], [0, 1, 1]]
    assert body["report"]["sufficiency"] == pytest.approx(5 / 6)
    by_id = {c["id"]: c for c in body["cases"]}
    assert (by_id["four"]["predicted"], by_id["four"]["band"]) == ("sonnet", "CLAUDE")
    assert by_id["five"]["decision_score"] == 1.0  # a rule forced the band
    assert by_id["two"]["decision_score"] == pytest.approx(0.5)


def test_scored_sets_report_apgr(tmp_path: Path, files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    config, _ = files
    scored = tmp_path / "scored.jsonl"
    rows = [(100, 1, 1), (400, 1, 0), (600, 1, 1), (900, 1, 0)]
    scored.write_text(
        "".join(
            json.dumps({"messages": [{"role": "user", "content": "x" * n}], "strong_score": s, "weak_score": w}) + "\n"
            for n, s, w in rows
        )
    )
    assert main(["eval", "--config", str(config), "--sweep", "2", str(scored)]) == 0
    out = capsys.readouterr().out
    assert "strong = any tier above local (sonnet, opus); weak = local" in out
    assert "APGR 0.5000 over 3 thresholds of the decision score" in out
    assert "as configured: 75.0% to strong, mean score 1.0000 (PGR 1.0000)" in out


def test_problems_exit_2_with_a_message(
    tmp_path: Path, files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, data = files
    assert main(["eval", "--config", str(config), "--classify", str(data)]) == 2
    assert "the config has no routing.classifier section" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(case("x", "haiku", 1)) + "\n")
    assert main(["eval", "--config", str(config), str(bad)]) == 2
    assert "case 'x' has gold 'haiku'" in capsys.readouterr().err


def test_classify_asks_the_configured_classifier(
    tmp_path: Path, fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "routes.yaml"
    url = fake_ollama.url  # type: ignore[attr-defined]
    config.write_text(
        CONFIG.replace('"http://127.0.0.1:1"}\n  anthropic', f'"{url}"}}\n  anthropic', 1)
        + "  classifier: {backend: ollama, model: tiny-router, timeout: 5}\n"
    )
    data = tmp_path / "set.jsonl"
    data.write_text(json.dumps(case("two", "local", 500)) + "\n")  # AMBIGUOUS: the classifier decides
    fake_ollama.replies.append(Text('{"reason": "a small edit", "tier": "local", "confidence": 0.9}', chunks=1))
    assert main(["eval", "--config", str(config), "--classify", "--json", str(data)]) == 0
    (only,) = json.loads(capsys.readouterr().out)["cases"]
    assert (only["predicted"], only["band"], only["phase"]) == ("local", "AMBIGUOUS", "llm_classifier")
    assert fake_ollama.requests[0].body["model"] == "tiny-router"


def test_a_classifier_that_cannot_be_reached_is_reported(
    tmp_path: Path, files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, data = files  # ollama at 127.0.0.1:1: refused, no network
    config.write_text(CONFIG + "  classifier: {backend: ollama, model: tiny-router, timeout: 5}\n")
    data.write_text("".join(json.dumps(c) + "\n" for c in [*SET, case("seven", "sonnet", 400)]))
    assert main(["eval", "--config", str(config), "--classify", str(data)]) == 0
    head, failed = capsys.readouterr().out.splitlines()[:2]
    assert head.endswith("7 labelled cases, classifier on")
    assert failed.startswith("classifier failed on 2 of 2 AMBIGUOUS cases (first failure: ")
    assert "127.0.0.1:1" in failed
    assert main(["eval", "--config", str(config), "--classify", "--json", str(data)]) == 0
    body = json.loads(capsys.readouterr().out)
    assert (body["classifier_failures"]["failed"], body["classifier_failures"]["ambiguous"]) == (2, 2)
    assert body["classifier_failures"]["first_error"] == failed.split("(first failure: ", 1)[1].split("); ")[0]


def test_a_classifier_failure_quoting_a_key_is_reported_without_it(
    tmp_path: Path, fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The run's dispatcher had no Redactor: a classifier server that quoted the header it refused put the
    token in the report's "first failure"."""
    token = "oll-tok-5e6f7a8b9c"
    monkeypatch.setenv("OLL_TOKEN", token)
    config = tmp_path / "routes.yaml"
    url = fake_ollama.url  # type: ignore[attr-defined]
    backend = f'"{url}", headers: {{Authorization: "Bearer ${{OLL_TOKEN}}"}}}}\n  anthropic'
    config.write_text(
        CONFIG.replace('"http://127.0.0.1:1"}\n  anthropic', backend, 1)
        + "  classifier: {backend: ollama, model: tiny-router, timeout: 5}\n"
    )
    data = tmp_path / "set.jsonl"
    data.write_text(json.dumps(case("two", "local", 500)) + "\n")  # AMBIGUOUS: the classifier decides
    fake_ollama.replies.extend([Status(401, f"invalid authorization Bearer {token}")] * 4)

    assert main(["eval", "--config", str(config), "--classify", str(data)]) == 0

    out = capsys.readouterr().out
    assert "(first failure: " in out and "invalid authorization ***" in out
    assert token not in out


def test_the_curve_over_the_dial_trades_cost_for_sufficiency(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, data = files
    assert main(["eval", "--config", str(config), "--json", "--curve", "5", str(data)]) == 0
    body = json.loads(capsys.readouterr().out)
    curve = body["curve"]
    assert [p["preference"] for p in curve] == [0.0, 0.25, 0.5, 0.75, 1.0]
    middle = curve[2]
    report = body["report"]
    assert (middle["accuracy"], middle["sufficiency"], middle["cost_usd"]) == (
        report["accuracy"],
        report["sufficiency"],
        report["cost_usd"],
    )  # the file's own setting (0.5) is the report
    costs = [p["cost_usd"] for p in curve]
    assert costs == sorted(costs) and costs[0] < costs[-1]
    assert [p["sufficiency"] for p in curve] == sorted(p["sufficiency"] for p in curve)
    assert curve[0]["shares"]["local"] > curve[-1]["shares"]["local"]
    assert all(abs(sum(p["shares"].values()) - 1) < 1e-9 for p in curve)


def test_the_curve_is_printed_with_the_files_setting_marked(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, data = files
    config.write_text(config.read_text() + "  quality_preference: 0.75\n")
    assert main(["eval", "--config", str(config), "--curve", "5", str(data)]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = lines.index("cost/quality over routing.quality_preference (classifier off; * the file's value)")
    header = ["preference", "local", "sonnet", "opus", "accuracy", "sufficiency", "under", "severe", "saved"]
    assert lines[start + 1].split() == header
    rows = lines[start + 2 : start + 7]
    assert [row.split()[0] for row in rows] == ["0.00", "0.25", "0.50", "0.75*", "1.00"]
    assert main(["eval", "--config", str(config), "--curve", "0", str(data)]) == 0
    assert "cost/quality over" not in capsys.readouterr().out
