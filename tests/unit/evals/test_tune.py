"""``tiergate tune``: the printed diff and metrics, the file left alone unless --write, and its parts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import ROOT, default_routes
from tiergate.cli import main
from tiergate.config.loader import load_file, load_text
from tiergate.engine.graph import compile_graph
from tiergate.engine.router import Router
from tiergate.evals.dataset import parse_dataset
from tiergate.evals.metrics import TierTable
from tiergate.evals.tune import Plan, YamlEdit, case_table, fit_ordinal

# Everything is AMBIGUOUS (-> sonnet): short requests pay for sonnet though local would do.
CONFIG = """\
backends:
  ollama: {kind: ollama, base_url: "http://127.0.0.1:1"}
  anthropic: {kind: anthropic, base_url: "http://127.0.0.1:1"}
tiers:
  local: {targets: [{backend: ollama, model: small}]}
  sonnet: {targets: [{backend: anthropic, model: mid, price: {input: 3, output: 15}}]}
  opus: {targets: [{backend: anthropic, model: big, price: {input: 15, output: 75}}]}
routing:
  rules:
    - {name: rename, when: {feature: last_user_text, contains_any: [rename]}, then: {band: LOCAL}}
  scorers:
    # how long the request is
    - name: size
      feature: total_chars
      transform: {kind: ramp, from: 0, to: 1000}
  bands: {local: 0, claude: 0.95}   # tuned by hand
"""


def case(id: str, gold: str, text: str) -> dict[str, Any]:
    return {"id": id, "gold": gold, "why": "", "request": {"messages": [{"role": "user", "content": text}]}}


DEV = [case(f"s{i}", "local", "x" * (20 * i + 20)) for i in range(5)] + [
    case(f"l{i}", "sonnet", "y" * (100 * i + 500)) for i in range(5)
]
TEST = [case("t1", "local", "x" * 60), case("t2", "sonnet", "y" * 800)]


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "routes.yaml"
    config.write_text(CONFIG)
    write(tmp_path / "test.jsonl", TEST)
    return config, write(tmp_path / "dev.jsonl", DEV)


def test_tune_prints_a_diff_and_before_after_metrics(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, dev = files
    assert main(["tune", "--config", str(config), str(dev)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith(f"tiergate tune: {config} (rules ")
    assert lines[0].endswith("10 cases, 10 placed by the scores (the rest forced by rules or explicit)")
    assert lines[1] == "phase-1 simulation agrees with the engine on 10/10 dev cases"
    assert lines[2].startswith("weights: all-threshold ordinal logistic on 10 cases, β ≥ 0, L2 0.1 toward the current")
    assert (
        lines[3].startswith("thresholds: ")
        and "each gold tier's sufficiency at or above the current file's" in lines[3]
    )
    diff = lines[lines.index(f"--- a/{config}") :]
    assert diff[1] == f"+++ b/{config}"
    assert diff[2].startswith("@@ ")
    removed = [line for line in diff if line.startswith("-  bands")]
    added = [line for line in diff if line.startswith("+  bands")]
    assert removed == ["-  bands: {local: 0, claude: 0.95}   # tuned by hand"]
    (new,) = added
    local = float(re.search(r"local: ([0-9.]+)", new).group(1))  # type: ignore[union-attr]
    assert 0.1 < local <= 0.5 and new.endswith("claude: 0.95}   # tuned by hand")
    header = next(line for line in lines if line.startswith("metrics (classifier off)"))
    assert header.split()[-8:] == ["dev", "before", "dev", "after", "test", "before", "test", "after"]
    rows = {line[:24].strip(): line[24:].split() for line in lines[lines.index(header) + 1 : lines.index(header) + 9]}
    assert list(rows) == [
        "exact accuracy",
        "sufficiency",
        "under-routing",
        "severe under-routing",
        "over-routing",
        "severe over-routing",
        "decided by phase 1",
        "cost saved vs dearest",
    ]
    assert rows["exact accuracy"] == ["50.0%", "100.0%", "50.0%", "100.0%"]
    assert rows["sufficiency"] == ["100.0%", "100.0%", "100.0%", "100.0%"]
    assert lines[-1] == f"not written: rerun with --write to apply, or edit {config} by hand"
    assert config.read_text() == CONFIG


def test_write_applies_the_suggestion(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    config, dev = files
    assert main(["tune", "--config", str(config), "--write", str(dev)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"wrote {config}"
    text = config.read_text()
    assert text != CONFIG and "# how long the request is" in text and "# tuned by hand" in text
    assert load_file(config).config.routing.bands.local > 0.1
    assert main(["tune", "--config", str(config), str(dev)]) == 0  # a fixed point now
    assert "(no change suggested: the current file is already the best found)" in capsys.readouterr().out


def test_an_impossible_constraint_suggests_nothing(
    tmp_path: Path, files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, _ = files
    dev = write(tmp_path / "hard.jsonl", [*DEV, case("r", "opus", "rename the lock-free queue and prove it")])
    assert main(["tune", "--config", str(config), "--max-severe", "0", str(dev)]) == 1
    out = capsys.readouterr().out
    assert "no setting of the weights and bands meets the constraints on dev: no change suggested" in out
    assert config.read_text() == CONFIG


def test_tune_scores_the_current_file_as_eval_does_with_its_learned_scorer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """routes.yaml reads learned.* in its scorer and rules: tune's "before" figures must be eval's."""
    config = tmp_path / "routes.yaml"
    config.write_text(default_routes())
    rows = (ROOT / "evals" / "dev.jsonl").read_text().splitlines(keepends=True)[::8]  # a fast, mixed slice
    dev = tmp_path / "dev.jsonl"
    dev.write_text("".join(rows))
    assert main(["eval", "--config", str(config), "--curve", "0", "--json", str(dev)]) == 0
    report = json.loads(capsys.readouterr().out)["report"]
    assert main(["tune", "--config", str(config), str(dev)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == f"phase-1 simulation agrees with the engine on {len(rows)}/{len(rows)} dev cases"
    header = next(i for i, line in enumerate(lines) if line.startswith("metrics (classifier off)"))
    before = {line[:24].strip(): line[24:].split()[0] for line in lines[header + 1 : header + 9]}
    wanted = {
        "exact accuracy": "accuracy",
        "sufficiency": "sufficiency",
        "under-routing": "under_routing",
        "severe under-routing": "severe_under_routing",
        "over-routing": "over_routing",
        "severe over-routing": "severe_over_routing",
        "decided by phase 1": "phase1_share",
        "cost saved vs dearest": "saved_vs_dearest",
    }
    assert before == {row: f"{100 * report[key]:.1f}%" for row, key in wanted.items()}
    assert report["phase1_share"] > 0.5  # the learned scorer was read: its rule for "unavailable" sends to AMBIGUOUS


def test_per_tier_floors_and_bad_arguments(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    config, dev = files
    assert main(["tune", "--config", str(config), "--min-sufficiency", "sonnet=1,opus=1", str(dev)]) == 0
    assert "(sonnet 100%, opus 100%)" in capsys.readouterr().out
    assert main(["tune", "--config", str(config), "--min-sufficiency", "haiku=0.9", str(dev)]) == 2
    assert "--min-sufficiency names haiku, not tiers of" in capsys.readouterr().err
    assert main(["tune", "--config", str(config), "--min-sufficiency", "lots", str(dev)]) == 2


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--cost-tolerance", "-1"),
        ("--max-severe", "5"),
        ("--max-severe", "nan"),
        ("--l2", "-1"),
        ("--l2", "inf"),
        ("--output-tokens", "-5"),
    ],
)
def test_out_of_range_settings_are_refused(
    files: tuple[Path, Path], flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config, dev = files
    with pytest.raises(SystemExit) as exited:
        main(["tune", "--config", str(config), flag, value, str(dev)])
    assert exited.value.code == 2
    assert f"argument {flag}: must be" in capsys.readouterr().err


@pytest.mark.parametrize("spec", ["sonnet=2", "sonnet=0.9,opus=-0.1", "nan", "1.5"])
def test_a_sufficiency_floor_outside_0_to_1_is_refused(
    files: tuple[Path, Path], spec: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config, dev = files
    assert main(["tune", "--config", str(config), "--min-sufficiency", spec, str(dev)]) == 2
    assert "a share must be between 0 and 1, got" in capsys.readouterr().err
    assert config.read_text() == CONFIG


# --- parts ------------------------------------------------------------------------------------


def test_yaml_edit_replaces_scalars_in_place() -> None:
    text = "a:\n  b: {x: 1, y: 2}  # keep\n  c:\n    - {name: n, weight: 3}\n"
    edit = YamlEdit(text)
    edit.set(("a", "b", "y"), "0.5")
    edit.set(("a", "c", 0, "weight"), "1.25")
    assert edit.result() == "a:\n  b: {x: 1, y: 0.5}  # keep\n  c:\n    - {name: n, weight: 1.25}\n"


def test_yaml_edit_adds_missing_keys() -> None:
    text = "r:\n  s:\n    - name: a\n      feature: f  # why\n  t: {x: 1}\n"
    edit = YamlEdit(text)
    edit.set(("r", "s", 0, "weight"), "2")
    edit.set(("r", "t", "y"), "3")
    edit.set(("r", "bands", "local"), "0.1")
    assert edit.result() == (
        "r:\n  s:\n    - name: a\n      feature: f  # why\n      weight: 2\n  t: {x: 1, y: 3}\n  bands: {local: 0.1}\n"
    )


def test_the_ordinal_fit_weighs_the_informative_feature() -> None:
    rng = np.random.default_rng(7)
    signal = rng.uniform(0, 1, 300)
    noise = rng.uniform(0, 1, 300)
    y = np.digitize(signal + rng.normal(0, 0.05, 300), [0.4, 0.75]).astype(np.int64)
    fit = fit_ordinal(np.stack([signal, noise], axis=1), y, 3, np.array([1.0, 1.0]), l2=0.01, iterations=3000)
    assert fit.beta[0] > 5 * fit.beta[1] and fit.beta.min() >= 0
    assert fit.cuts[0] < fit.cuts[1]


ESCALATING = CONFIG.replace(
    "  bands: {local: 0, claude: 0.95}   # tuned by hand\n",
    "  bands: {local: 0.3, claude: 0.7}\n"
    "  escalation: {tier: opus, when: {feature: last_user_text, contains_any: [prove]}}\n",
)


@pytest.mark.asyncio
@pytest.mark.parametrize("ambiguous", ["sonnet", "local"])
async def test_the_simulation_routes_as_the_engine_does(ambiguous: str) -> None:
    text = ESCALATING + f"  band_tiers: {{ambiguous: {ambiguous}}}\n"
    g = compile_graph(load_text(text, "routes.yaml", {}))
    rows = [
        case("short", "local", "x" * 100),  # LOCAL
        case("middle", "sonnet", "x" * 500),  # AMBIGUOUS
        case("middle-prove", "opus", "prove " + "x" * 494),  # AMBIGUOUS, and the escalation holds
        case("long-prove", "opus", "prove " + "x" * 994),  # CLAUDE, and the escalation holds
        case("rename", "local", "rename " + "x" * 994),  # a rule forces LOCAL
    ]
    data = parse_dataset("".join(json.dumps(r) + "\n" for r in rows), "dev.jsonl")
    table = TierTable.of(g.config)
    cases = await case_table(g, data, table, None)
    s = cases.values @ np.array([1.0]) + cases.adds
    simulated = [table.order[r] for r in Plan.of(cases, g.config, table).route(s, 0.3, 0.7, None)]
    router = Router(g)
    engine = [(await router.decide(c.request, {}, classify=False)).decision.tier for c in data.cases]
    assert simulated == engine
    assert engine == ["local", ambiguous, "opus" if ambiguous == "sonnet" else "local", "opus", "local"]
