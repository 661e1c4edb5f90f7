from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tiergate.config.loader import load_file
from tiergate.evals.dataset import DatasetError, load_dataset, parse_dataset

ROOT = Path(__file__).resolve().parents[3]
MSG = [{"role": "user", "content": "hi"}]


def lines(*rows: object) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def test_labelled_cases() -> None:
    data = parse_dataset(
        lines({"id": "a", "gold": "local", "why": "easy", "tags": ["py"], "request": {"messages": MSG}}), "d.jsonl"
    )
    assert data.kind == "labelled"
    (case,) = data.cases
    assert (case.id, case.gold, case.why, case.tags) == ("a", "local", "easy", ("py",))
    assert case.request.messages[0].content == "hi"


def test_scored_cases_take_other_chat_fields_and_default_ids() -> None:
    data = parse_dataset(
        lines(
            {"messages": MSG, "strong_score": 1, "weak_score": 0.5, "tools": []},
            {"messages": MSG, "strong_score": 0, "weak_score": 0},
        )
    )
    assert data.kind == "scored"
    assert [(c.id, c.strong_score, c.weak_score) for c in data.cases] == [("#1", 1.0, 0.5), ("#2", 0.0, 0.0)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json\n", "d.jsonl:1: not JSON"),
        ("[1, 2]\n", "d.jsonl:1: each line must be a JSON object"),
        (lines({"id": "a", "request": {"messages": MSG}}), "d.jsonl:1: a labelled case needs gold"),
        (
            lines(
                {"id": "a", "gold": "local", "request": {"messages": MSG}},
                {"messages": MSG, "strong_score": 1, "weak_score": 0},
            ),
            "d.jsonl:2: a scored case in a labelled file",
        ),
        (
            lines(
                {"id": "a", "gold": "local", "request": {"messages": MSG}},
                {"id": "a", "gold": "opus", "request": {"messages": MSG}},
            ),
            "d.jsonl:2: duplicate id 'a'",
        ),
        (
            lines({"messages": MSG, "strong_score": "high", "weak_score": 0}),
            "d.jsonl:1: `strong_score` must be a number",
        ),
        (
            lines({"id": "a", "gold": "local", "request": {"messages": "hi"}}),
            "d.jsonl:1: the request is not an OpenAI chat body",
        ),
        (lines({"id": "a", "gold": "local", "request": {"messages": []}}), "d.jsonl:1: the request has no messages"),
        ("\n\n", "d.jsonl: no cases"),
    ],
)
def test_problems_name_the_file_and_line(text: str, message: str) -> None:
    with pytest.raises(DatasetError) as err:
        parse_dataset(text, "d.jsonl")
    assert str(err.value).startswith(message)


def test_gold_must_name_a_configured_tier() -> None:
    data = parse_dataset(lines({"id": "a", "gold": "haiku", "request": {"messages": MSG}}), "d.jsonl")
    with pytest.raises(DatasetError) as err:
        data.check_tiers(["local", "sonnet", "opus"])
    assert (
        str(err.value)
        == "d.jsonl:1: case 'a' has gold 'haiku', which is not a tier of the config (local, opus, sonnet)"
    )


def test_a_misspelt_gold_is_named_at_its_line_with_the_tier_meant() -> None:
    """It named neither the line nor the tier, unlike every other problem in a set."""
    good = {"id": "a", "gold": "local", "request": {"messages": MSG}}
    data = parse_dataset(lines(good) + "\n" + lines({**good, "id": "b", "gold": "sonet"}), "d.jsonl")
    with pytest.raises(DatasetError) as err:
        data.check_tiers(["local", "sonnet", "opus"])
    assert str(err.value) == (
        "d.jsonl:3: case 'b' has gold 'sonet', which is not a tier of the config (local, opus, sonnet); "
        "did you mean 'sonnet'?"
    )


def test_missing_file() -> None:
    with pytest.raises(DatasetError, match=r"nope\.jsonl: cannot read"):
        load_dataset(Path("nope.jsonl"))


# --- the repository's own set ------------------------------------------------------------------


def test_the_labelled_set_covers_what_the_issue_asks_for() -> None:
    dev, test = load_dataset(ROOT / "evals" / "dev.jsonl"), load_dataset(ROOT / "evals" / "test.jsonl")
    tiers = load_file(ROOT / "routes.yaml").config.tiers
    dev.check_tiers(tiers)
    test.check_tiers(tiers)
    cases = [*dev.cases, *test.cases]
    assert len(cases) >= 150
    assert not {c.id for c in dev.cases} & {c.id for c in test.cases}
    assert 0.5 <= len(dev.cases) / len(cases) <= 0.65
    tags = Counter(t for c in cases for t in c.tags)
    for kind in ("single", "chat", "agent", "long", "misleading"):
        assert tags[kind] >= 10, kind
    for language in ("python", "typescript", "go", "rust", "java", "cpp", "sql", "shell"):
        assert tags[language] >= 3, language
    assert sum(1 for c in cases if c.request.tools) >= 10
    assert sum(1 for c in cases if any(m.role == "tool" for m in c.request.messages)) >= 10
    assert sum(1 for c in cases if sum(len(m.text()) for m in c.request.messages) > 30000) >= 5
    assert sum(1 for c in cases if sum(m.role == "user" for m in c.request.messages) > 1) >= 15
    for data in (dev, test):
        assert {c.gold for c in data.cases} == {"local", "sonnet", "opus"}
    assert all(c.why for c in cases)


def test_the_split_is_what_build_py_writes() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "evals" / "build.py"), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
