"""``tiergate`` commands given a bad argument or an unreadable file: one line saying so and exit 2, never a
traceback. ``serve`` is stopped before it would run (``tiergate.server.run`` is replaced)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import tiergate.server
from tiergate.cli import main
from tiergate.rules import regex_risk

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What ``serve`` would have run with, instead of running it."""
    calls: dict[str, Any] = {}

    def run(config: Path, host: str, port: int, **kwargs: Any) -> int:
        calls.update(kwargs, port=port)
        return 0

    monkeypatch.setattr(tiergate.server, "run", run)
    monkeypatch.delenv("TIERGATE_LOG_LEVEL", raising=False)
    return calls


def test_serve_takes_a_log_level_in_any_case(served: dict[str, Any]) -> None:
    assert main(["serve", "--log-level", "DEBUG"]) == 0
    assert served["log_level"] == "debug"


def test_serve_refuses_an_unknown_log_level(served: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--log-level", "bogus"])
    assert exited.value.code == 2
    assert "argument --log-level: invalid choice: 'bogus'" in capsys.readouterr().err
    assert served == {}


def test_serve_reads_the_log_level_from_the_environment(
    served: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIERGATE_LOG_LEVEL", "Warning")
    assert main(["serve"]) == 0
    assert served["log_level"] == "warning"


def test_serve_names_the_variable_holding_an_unknown_log_level(
    served: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TIERGATE_LOG_LEVEL", "verbose")
    assert main(["serve"]) == 2
    levels = "debug, info, warning, error, critical"
    assert (
        capsys.readouterr().err
        == f"tiergate serve: TIERGATE_LOG_LEVEL='verbose' is not a log level (one of {levels})\n"
    )
    assert served == {}


@pytest.mark.parametrize("port", ["99999", "-1"])
def test_serve_refuses_a_port_out_of_range(
    served: dict[str, Any], capsys: pytest.CaptureFixture[str], port: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--port", port])
    assert exited.value.code == 2
    assert f"argument --port: must be a port from 0 to 65535 (0: any free one), got {port}" in capsys.readouterr().err
    assert served == {}


def test_serve_takes_port_0(served: dict[str, Any]) -> None:
    assert main(["serve", "--port", "0"]) == 0
    assert served["port"] == 0


def test_route_says_a_request_file_cannot_be_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nonexistent.json"
    assert main(["route", "--config", str(ROOT / "routes.yaml"), str(missing)]) == 2
    assert capsys.readouterr().err == f"{missing}: cannot read: No such file or directory\n"


def test_schema_says_its_file_cannot_be_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "nonexistent-dir" / "x.json"
    assert main(["schema", "--write", str(target)]) == 2
    assert capsys.readouterr().err == f"tiergate schema: {target}: cannot write: No such file or directory\n"


AMBIGUOUS = """
backends:
  ollama: {kind: ollama, base_url: "http://127.0.0.1:1"}
  anthropic: {kind: anthropic, base_url: "http://127.0.0.1:1"}
tiers:
  local: {targets: [{backend: ollama, model: small}]}
  sonnet: {targets: [{backend: anthropic, model: mid}]}
routing:
  scorers:
    - {name: size, feature: total_chars, transform: {kind: ramp, from: 0, to: 1000}}
  bands: {local: 0.2, claude: 0.6}
  classifier: {backend: ollama, model: tiny-router, timeout: 5}
"""


def test_route_says_the_configured_classifier_was_not_called(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "routes.yaml"
    config.write_text(AMBIGUOUS)
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"messages": [{"role": "user", "content": "x" * 500}]}))  # score 0.5: AMBIGUOUS
    assert main(["route", "--config", str(config), str(request)]) == 0
    decision = json.loads(capsys.readouterr().out)
    assert (decision["band"], decision["tier"], decision["phase"]) == ("AMBIGUOUS", "sonnet", "heuristic")
    assert decision["classifier"] == {"model": "tiny-router", "outcome": "skipped"}
    assert "ambiguous; classifier skipped: band_tiers.ambiguous sends it to sonnet" in decision["reasons"]
    agent = {"steps": 0, "failures_in_row": 0, "repeated_failure": 0, "tests_green": False}
    assert decision["read"] == {"ask": "x" * 200 + " … " + "x" * 200, "ask_chars": 500, "agent": agent}


def test_profile_suggests_the_tier_meant(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "routes.yaml"
    config.write_text(AMBIGUOUS)
    assert main(["profile", "--config", str(config), "--tier", "sonet"]) == 1
    assert capsys.readouterr().err == "tiergate profile: no tier 'sonet' in the rule file; did you mean 'sonnet'?\n"


@pytest.mark.parametrize(
    ("flag", "value", "what"),
    [
        ("--sweep", "-3", "a whole number from 1 to 1000"),
        ("--sweep", "0", "a whole number from 1 to 1000"),  # no threshold: APGR would read "no gap"
        ("--sweep", "1001", "a whole number from 1 to 1000"),
        ("--output-tokens", "-5", "0 or more"),  # a negative cost, and a saving over 100%
        ("--curve", "-1", "a whole number from 0 to 101 (0: no curve)"),
        ("--curve", "1000000", "a whole number from 0 to 101 (0: no curve)"),  # routed the set for ever
    ],
)
def test_eval_refuses_a_count_out_of_range(
    capsys: pytest.CaptureFixture[str], flag: str, value: str, what: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["eval", "--config", str(ROOT / "routes.yaml"), flag, value, str(ROOT / "evals" / "dev.jsonl")])
    assert exited.value.code == 2
    assert capsys.readouterr().err.endswith(f"tiergate eval: error: argument {flag}: must be {what}, got {value}\n")


def test_eval_takes_the_ends_of_its_ranges(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scored = tmp_path / "scored.jsonl"
    rows = [("hi", 0.9, 0.9), ("refactor the whole service layer " * 40, 0.9, 0.2)]
    lines = [{"messages": [{"role": "user", "content": c}], "strong_score": s, "weak_score": w} for c, s, w in rows]
    scored.write_text("".join(json.dumps(line) + "\n" for line in lines))
    config = ["eval", "--config", str(ROOT / "routes.yaml"), "--json"]
    assert main([*config, "--sweep", "1", "--output-tokens", "0", "--curve", "0", str(scored)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["apgr"]["apgr"] == pytest.approx(0.5)  # one threshold: all strong, or none


def test_profile_refuses_prompts_without_a_judge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps({"id": "p1", "prompt": "rename x to y"}) + "\n")
    assert main(["profile", "--config", str(ROOT / "routes.yaml"), "--prompts", str(prompts)]) == 2
    assert capsys.readouterr().err == (
        "tiergate profile: --prompts is the prompt set --judge grades: add --judge TIER (e.g. --judge sonnet) "
        "or leave --prompts out\n"
    )


def test_validate_and_route_agree_on_a_file_with_only_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A regex that repeats a repeat is a warning: validate passes the file, and route serves it (it said
    the file had errors and exited 2), with the warning on stderr as validate prints it (it printed none)."""
    config = tmp_path / "routes.yaml"
    rule = "  rules:\n    - {name: risky, when: {feature: last_user_text, matches: '^(a+)+$'}, then: {tier: sonnet}}\n"
    config.write_text(AMBIGUOUS.replace("  scorers:\n", rule + "  scorers:\n"))
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"messages": [{"role": "user", "content": "aaa"}]}))
    assert main(["validate", str(config)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{config}:10:62: warning: {regex_risk.WARNING}",
        f"{config}: ok (1 warning(s))",
    ]
    assert main(["route", "--config", str(config), str(request)]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["tier"] == "sonnet"
    assert out.err == f"{config}:10:62: warning: {regex_risk.WARNING}\n"


def test_eval_train_and_tune_say_the_rule_files_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each reads the file the gateway would serve, and says on stderr what the gateway would log about it."""
    config = tmp_path / "routes.yaml"
    rule = "  rules:\n    - {name: risky, when: {feature: last_user_text, matches: '^(a+)+$'}, then: {tier: sonnet}}\n"
    config.write_text(AMBIGUOUS.replace("  scorers:\n", rule + "  scorers:\n"))
    cases = tmp_path / "dev.jsonl"
    case = {"id": "c1", "gold": "sonnet", "why": "-", "request": {"messages": [{"role": "user", "content": "aaa"}]}}
    cases.write_text(json.dumps(case) + "\n")
    warning = f"{config}:10:62: warning: {regex_risk.WARNING}\n"
    assert main(["eval", "--config", str(config), "--curve", "0", str(cases)]) == 0
    assert capsys.readouterr().err == warning
    assert main(["train", "--config", str(config), "--data", str(cases)]) == 2  # nothing to train for
    refused = f"tiergate train: {config} has no routing.learned section to train for\n"
    assert capsys.readouterr().err == warning + refused
    main(["tune", "--config", str(config), "--test", str(cases), str(cases)])
    assert capsys.readouterr().err.startswith(warning)


def test_the_shipped_rule_file_validates_without_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    """Every gateway started on it would log its warnings: a pattern the ReDoS check flags is mended, not
    shipped."""
    assert main(["validate", str(ROOT / "routes.yaml")]) == 0
    assert capsys.readouterr().out.strip().endswith("routes.yaml: ok")
