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


def test_two_patterns_on_one_text_each_show_whether_they_matched() -> None:
    """A rule whose second pattern fired showed only the first's false: the trace of a rule that forced a
    request LOCAL did not say why. Each pattern now shows its own result."""
    rules = """
routing:
  rules:
    - name: side
      when:
        any:
          - {feature: last_user_text, matches: "(?i)a title for the chat"}
          - {feature: last_user_text, matches: "(?i)commit messages? for the (?:diff|changes)"}
      then: {score: 0.0}
"""
    result = graph(rules).phase1(Features.of(chat("Write a commit message for the diff below")))
    (side,) = [s for s in result.signals if s.name == "side"]
    # whether each matched, not what: the matched text is the person's, which the decision log keeps out
    assert side.value == {"last_user_text": False, "last_user_text #2": True}


def test_a_comparison_on_the_conversations_text_shows_its_result_not_the_text() -> None:
    """``eq``/``in`` on a text feature wrote the person's whole message into the trace (and so the decision
    log, which keeps the ask out unless told to); other features still show their value."""
    rules = """
routing:
  rules:
    - name: exact
      when:
        all:
          - {feature: last_user_text, in: ["deploy key AKIAIOSFODNN7EXAMPLE", "x"]}
          - {feature: requested_model, eq: auto}
          - {not: {feature: system_text, eq: "secret prompt"}}
      then: {score: 0.0}
"""
    result = graph(rules).phase1(Features.of(chat("deploy key AKIAIOSFODNN7EXAMPLE")))
    (exact,) = [s for s in result.signals if s.name == "exact"]
    assert exact.value == {"last_user_text": True, "requested_model": "auto", "system_text": False}


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("{feature: total_charz, gt: 1}", "unknown feature 'total_charz'; did you mean 'total_chars'?"),
        ("{feature: last_user_text, gt: 1}", "`gt` compares numbers, but 'last_user_text' is text"),
        ("{feature: total_chars, contains_any: [x]}", "`contains_any` searches text, but 'total_chars' is a number"),
        # an empty list is always true (`all`, `not_in`) or never (`any`, `in`, `contains_any`)
        ("{all: []}", "$.routing.rules[0].when.all is an empty list: it needs at least one item"),
        ("{any: []}", "$.routing.rules[0].when.any is an empty list: it needs at least one item"),
        ("{feature: header.x-team, in: []}", "$.routing.rules[0].when.in is an empty list: it needs at least one item"),
        (
            "{feature: header.x-team, not_in: []}",
            "$.routing.rules[0].when.not_in is an empty list: it needs at least one item",
        ),
        (
            "{feature: last_user_text, contains_any: []}",
            "$.routing.rules[0].when.contains_any is an empty list: it needs at least one item",
        ),
        # a value of another type than the feature's can never be equal to it
        (
            '{feature: tools_present, eq: "true"}',
            "feature 'tools_present' is a boolean: compare with true/false, not the string 'true'",
        ),
        ("{feature: stream, ne: 1}", "feature 'stream' is a boolean: compare with true/false, not 1"),
        (
            "{feature: total_chars, in: [1, '2']}",
            "feature 'total_chars' is a number: compare with a number, not the string '2'",
        ),
        ("{feature: user_turns, eq: true}", "feature 'user_turns' is a number: compare with a number, not true"),
        ("{feature: last_user_text, eq: null}", "feature 'last_user_text' is text: compare with a string, not null"),
        (
            "{feature: header.x-version, not_in: [2]}",
            "feature 'header.x-version' is a string: compare with a string, not 2 (quote it: '2')",
        ),
        (
            "{feature: requested_model, eq: [a]}",
            "feature 'requested_model' is a string: compare with a string, not a list",
        ),
        # credential headers are removed before routing
        (
            "{feature: header.authorization, eq: x}",
            "feature 'header.authorization': credential headers are not visible",
        ),
        (
            "{feature: header.X-Api-Key, ne: x}",
            "feature 'header.X-Api-Key': credential headers are not visible to rules",
        ),
        # a family with nothing after the dot
        ("{feature: header., eq: x}", "header. needs a header name, e.g. header.x-team"),
        ("{feature: metadata., eq: x}", "metadata. needs a metadata key, e.g. metadata.project"),
        ("{feature: target., gt: 1}", "target. needs a tier and a stat, e.g. target.local.ttft_p95_ms"),
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


def test_values_of_the_feature_s_type_compile() -> None:
    routing = """
routing:
  rules:
    - {name: a, when: {feature: tools_present, in: [true]}, then: {score: 0.1}}
    - {name: b, when: {feature: total_chars, eq: 2.5}, then: {score: 0.1}}
    - {name: c, when: {feature: header.x-team, eq: "2"}, then: {score: 0.1}}
    - {name: d, when: {feature: metadata.priority, eq: 2}, then: {score: 0.1}}
    - {name: e, when: {feature: target.local.loaded, eq: true}, then: {score: 0.1}}
    - {name: f, when: {feature: header.x-authorization, eq: x}, then: {score: 0.1}}
"""
    g = graph(routing)
    req = chat("x", metadata={"priority": 2})
    names = [s.name for s in g.phase1(Features.of(req, {"x-team": "2"})).signals if s.kind == "rule"]
    assert names == ["c", "d"]


METADATA_RULES = """
routing:
  rules:
    - {name: eq_one, when: {feature: metadata.p, eq: 1}, then: {score: 0.0}}
    - {name: eq_true, when: {feature: metadata.p, eq: true}, then: {score: 0.0}}
    - {name: in_zero_one, when: {feature: metadata.p, in: [0, 1]}, then: {score: 0.0}}
    - {name: in_false, when: {feature: metadata.p, in: [false]}, then: {score: 0.0}}
    - {name: ne_one, when: {feature: metadata.p, ne: 1}, then: {score: 0.0}}
    - {name: not_in_one, when: {feature: metadata.p, not_in: [1]}, then: {score: 0.0}}
    - {name: eq_list, when: {feature: metadata.p, eq: [1, true]}, then: {score: 0.0}}
    - {name: eq_object, when: {feature: metadata.p, eq: {a: 1, b: [false]}}, then: {score: 0.0}}
"""


@pytest.mark.parametrize(
    ("value", "fired"),
    [
        (True, ["eq_true", "ne_one", "not_in_one"]),  # true was 1: eq_one and in_zero_one fired, ne_one did not
        (False, ["in_false", "ne_one", "not_in_one"]),  # false was 0: in_zero_one fired
        (1, ["eq_one", "in_zero_one"]),
        (1.0, ["eq_one", "in_zero_one"]),  # one number, however it is written
        (0, ["in_zero_one", "ne_one", "not_in_one"]),
        ("1", ["ne_one", "not_in_one"]),
        ([1.0, True], ["ne_one", "not_in_one", "eq_list"]),
        ([True, 1], ["ne_one", "not_in_one"]),  # was equal to [1, true]
        ({"b": [False], "a": 1.0}, ["ne_one", "not_in_one", "eq_object"]),
        ({"a": True, "b": [0]}, ["ne_one", "not_in_one"]),  # was equal to {a: 1, b: [false]}
    ],
)
def test_metadata_compares_as_json_a_boolean_is_not_a_number(value: object, fired: list[str]) -> None:
    g = graph(METADATA_RULES)
    result = g.phase1(Features.of(chat("x", metadata={"p": value})))
    assert [s.name for s in result.signals if s.kind == "rule"] == fired


def test_every_bad_value_of_a_list_is_reported() -> None:
    routing = """
routing:
  rules:
    - {name: r, when: {feature: tools_present, in: [true, "yes", 0]}, then: {score: 0.1}}
"""
    with pytest.raises(ConfigError) as info:
        graph(routing)
    errors = [p for p in info.value.problems if p.severity == "error"]
    assert [p.message for p in errors] == [
        "feature 'tools_present' is a boolean: compare with true/false, not the string 'yes'",
        "feature 'tools_present' is a boolean: compare with true/false, not 0",
    ]
    line = routing.splitlines()[-1]
    assert [p.col for p in errors] == [line.index('"yes"') + 1, line.index("0]") + 1]


def test_the_credential_headers_are_the_ones_the_gateway_strips() -> None:
    from tiergate.api.ingress import CREDENTIAL_HEADERS as STRIPPED
    from tiergate.rules.operators import CREDENTIAL_HEADERS

    assert CREDENTIAL_HEADERS == STRIPPED


def test_the_readme_operator_table_is_the_operator_table() -> None:
    from pathlib import Path

    from tiergate.rules.operators import operator_table

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    assert operator_table() in readme, "README.md's operator table differs from rules/operators.py's OPERATORS"


def test_matches_reads_a_switch_as_routes_yaml_writes_it() -> None:
    """A bool feature was searched as Python's ``True``/``False``: ``matches: '^false$'`` never fired."""
    rule = "routing:\n  rules:\n    - name: r\n      when: {feature: tools_present, matches: '^false$'}\n"
    g = graph(rule + "      then: {band: CLAUDE}\n")
    assert [s.name for s in g.phase1(Features.of(chat("hi"))).signals] == ["r"]


def test_a_value_learned_tier_never_has_is_reported() -> None:
    """``{feature: learned.tier, eq: opsu}`` was taken and never matched."""
    routing = """
routing:
  rules:
    - {name: typo, when: {feature: learned.tier, in: [sonnet, opsu]}, then: {score: 0.1}}
    - {name: fine, when: {feature: learned.tier, ne: ""}, then: {score: 0.1}}
"""
    with pytest.raises(ConfigError) as info:
        graph(routing)
    assert [p.render() for p in info.value.problems] == [
        "test.yaml:14:63: feature 'learned.tier' is one of 'local', 'sonnet', 'opus', '': 'opsu' never matches; "
        "did you mean 'opus'?",
        "test.yaml:8:3: warning: tier 'opus' is never chosen by routing or fallbacks (clients can still name it as "
        "model)",
    ]
