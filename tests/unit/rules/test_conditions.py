from __future__ import annotations

import pytest

from tests.helpers import MINIMAL, chat, graph, request
from tiergate.config.problems import ConfigError
from tiergate.rules.features import Features


def fired(routing: str, req: object) -> list[str]:
    g = graph(routing)
    result = g.phase1(Features.of(req))  # type: ignore[arg-type]
    return [s.name for s in result.signals if s.kind == "rule"]


RULES = """
routing:
  keywords:
    hard: [proof, deadlock, linearizable]
  rules:
    - {name: long, when: {feature: total_chars, gt: 10}, then: {score: 0.1}}
    - {name: short, when: {feature: total_chars, lte: 10}, then: {score: -0.1}}
    - {name: eq_model, when: {feature: requested_model, eq: auto}, then: {score: 0.0}}
    - {name: ne_model, when: {feature: requested_model, ne: auto}, then: {score: 0.0}}
    - {name: in_team, when: {feature: header.x-team, in: [pay, core]}, then: {score: 0.0}}
    - {name: not_in_team, when: {feature: header.x-team, not_in: [pay, core]}, then: {score: 0.0}}
    - {name: regex, when: {feature: last_user_text, matches: "(?i)^fix"}, then: {score: 0.0}}
    - {name: two_hard, when: {feature: last_user_text, contains_any: hard, min_count: 2}, then: {score: 0.0}}
    - {name: inline_list, when: {feature: last_user_text, contains_any: [typo]}, then: {score: 0.0}}
    - name: combo
      when:
        all:
          - {feature: user_turns, eq: 1}
          - any: [{feature: tools_present, eq: true}, {not: {feature: total_chars, gte: 1000}}]
      then: {score: 0.0}
"""


def test_each_operator() -> None:
    names = fired(RULES, chat("Fix the deadlock; then a proof"))
    assert names == ["long", "eq_model", "not_in_team", "regex", "two_hard", "combo"]
    req = request(model="opus", messages=[{"role": "user", "content": "a typo"}])
    assert fired(RULES, req) == ["short", "ne_model", "not_in_team", "inline_list", "combo"]


def test_header_feature_in() -> None:
    g = graph(RULES)
    result = g.phase1(Features.of(chat("x"), {"x-team": "core"}))
    assert "in_team" in [s.name for s in result.signals]


def test_explain_records_leaf_values() -> None:
    g = graph(RULES)
    result = g.phase1(Features.of(chat("Fix the deadlock; then a proof")))
    by_name = {s.name: s for s in result.signals}
    assert by_name["long"].value == {"total_chars": 30}
    assert by_name["two_hard"].value == {"last_user_text:hard": ["proof", "deadlock"]}


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("{feature: total_charz, gt: 1}", "unknown feature 'total_charz'; did you mean 'total_chars'?"),
        ("{feature: last_user_text, gt: 1}", "`gt` compares numbers, but 'last_user_text' is text"),
        ("{feature: total_chars, contains_any: [x]}", "`contains_any` searches text, but 'total_chars' is a number"),
    ],
)
def test_compile_problems_cite_the_line(when: str, message: str) -> None:
    routing = f"""
routing:
  rules:
    - name: r
      when: {when}
      then: {{score: 0.1}}
"""
    with pytest.raises(ConfigError) as info:
        graph(routing)
    rendered = str(info.value)
    assert message in rendered
    line = (MINIMAL + "\n" + routing).splitlines().index(f"      when: {when}") + 1
    assert rendered.startswith(f"test.yaml:{line}:")


def test_the_readme_operator_table_is_the_operator_table() -> None:
    from pathlib import Path

    from tiergate.rules.operators import operator_table

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    assert operator_table() in readme, "README.md's operator table differs from rules/operators.py's OPERATORS"
