"""schemas/routes.schema.json is generated from the Structs, and says what the loader says.

The schema is written by ``make schema`` (``tiergate schema``) from the config Structs, their field
docstrings and their ``__schema_extra__``. These tests fail when the committed file is stale; when a
shipped file fails either check; when a file in ``broken/`` passes either check (or fails for more than
its one stated defect); and when a property has no description for editors to show.

    make schema   # after changing a Struct
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml
from jsonschema import Draft202012Validator

from tests.helpers import BACKEND_KIND_NAMES, OPERATOR_NAMES
from tiergate.backends.registry import BACKEND_KINDS
from tiergate.config import model
from tiergate.config.loader import load_file, load_text
from tiergate.config.problems import ConfigError
from tiergate.config.schema import render
from tiergate.engine.graph import compile_graph
from tiergate.rules.features import FEATURES
from tiergate.rules.transforms import TRANSFORMS

ROOT = Path(__file__).resolve().parents[3]
SCHEMA_FILE = ROOT / "schemas" / "routes.schema.json"
BROKEN = Path(__file__).parent / "broken"
VALID_FILES = [*sorted((ROOT / "examples").glob("*.yaml")), ROOT / "routes.yaml"]
BROKEN_FILES = sorted(BROKEN.glob("*.yaml"))


@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text())  # type: ignore[no-any-return]


@cache
def validator() -> Draft202012Validator:
    return Draft202012Validator(schema())


def sub_validator(subschema: dict[str, Any]) -> Draft202012Validator:
    """A validator for one piece of the schema; its ``#/$defs/...`` references still resolve."""
    return Draft202012Validator({**subschema, "$defs": schema()["$defs"]})


def resolve(pointer: str) -> dict[str, Any]:
    node: Any = schema()
    for part in pointer.removeprefix("#").strip("/").split("/"):
        if part:
            node = node[part]
    return node  # type: ignore[no-any-return]


def header(path: Path) -> dict[str, str]:
    """The ``# key: value`` comment lines that open a broken file; ``{operators}`` and ``{kinds}`` in them stand
    for every operator and every backend kind as the loader lists them (a new one is no edit of the file)."""
    out = {}
    for line in path.read_text().splitlines():
        m = re.match(r"# (defect|loader|schema-at|fix): (.*)$", line)
        if not m:
            break
        out[m.group(1)] = m.group(2).replace("{operators}", OPERATOR_NAMES).replace("{kinds}", BACKEND_KIND_NAMES)
    return out


# --- (a) the schema itself ------------------------------------------------------------------


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(schema())
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema()["$id"] == "https://tiergate.dev/schemas/routes.schema.json"
    assert schema()["title"] and schema()["description"]


# --- (b) every shipped file passes both ------------------------------------------------------


def test_the_documented_examples_exist() -> None:
    names = {p.name for p in VALID_FILES}
    assert {"local-only.yaml", "cost-saver.yaml", "quality-first.yaml", "routes.yaml"} <= names


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: p.name)
def test_shipped_file_passes_schema_and_loader(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    errors = [f"{e.json_path}: {e.message}" for e in validator().iter_errors(data)]
    assert errors == []
    loaded = load_file(path, environ={})  # every ${VAR} in a shipped file has a default
    compile_graph(loaded)
    assert [p.render() for p in loaded.warnings] == []


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: p.name)
def test_shipped_file_points_editors_at_the_schema(path: Path) -> None:
    first = path.read_text().splitlines()[0]
    m = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
    assert m is not None, first
    assert (path.parent / m.group(1)).resolve() == SCHEMA_FILE


# --- (c) every broken file fails both, for the reason it states ------------------------------


def test_there_are_enough_broken_files() -> None:
    assert len(BROKEN_FILES) >= 10


@pytest.mark.parametrize("path", BROKEN_FILES, ids=lambda p: p.stem)
def test_broken_file_fails_schema_and_loader(path: Path) -> None:
    meta = header(path)
    assert set(meta) == {"defect", "loader", "schema-at", "fix"}, f"{path.name} needs all four header lines"

    at = meta["schema-at"]
    errors = list(validator().iter_errors(yaml.safe_load(path.read_text())))
    assert errors, f"the schema accepts {path.name}"
    outside = [e.json_path for e in errors if not (e.json_path == at or e.json_path.startswith((at + ".", at + "[")))]
    assert outside == [], f"schema errors away from the one defect at {at}"

    with pytest.raises(ConfigError) as caught:
        load_file(path, environ={})
    assert meta["loader"] in str(caught.value)


@pytest.mark.parametrize("path", BROKEN_FILES, ids=lambda p: p.stem)
def test_broken_file_has_exactly_the_one_defect(path: Path) -> None:
    meta = header(path)
    old, new = (json.loads(side) for side in meta["fix"].split(" => "))
    body = "".join(path.read_text().splitlines(keepends=True)[len(meta) :])
    assert body.count(old) == 1
    fixed = body.replace(old, new)
    assert [e.message for e in validator().iter_errors(yaml.safe_load(fixed))] == []
    compile_graph(load_text(fixed, path.name, environ={}))


# --- (d) generated, not written by hand --------------------------------------------------------


def test_the_committed_schema_is_the_generated_one() -> None:
    assert SCHEMA_FILE.read_text() == render(), "schemas/routes.schema.json is stale: run `make schema`"


def test_feature_names_offered_to_editors_are_the_registered_features() -> None:
    for where in ("Condition", "Scorer"):
        assert resolve(f"#/$defs/{where}")["properties"]["feature"]["examples"] == list(FEATURES)


def test_every_tag_of_a_union_is_offered() -> None:
    backend = resolve("#/$defs/Backend")
    assert backend["properties"]["kind"]["enum"] == [k.__struct_config__.tag for k in BACKEND_KINDS]
    transform = resolve("#/$defs/Transform")
    assert transform["properties"]["kind"]["enum"] == [t.__struct_config__.tag for t in TRANSFORMS]


def test_numbers_and_choices_may_come_from_the_environment() -> None:
    doc = {
        "backends": {"o": {"kind": "ollama", "base_url": "x"}},
        "tiers": {"local": {"targets": [{"backend": "o", "model": "m"}]}},
        "timeouts": {"total": "${TOTAL:-30}"},
        "limits": {"on_limit": "${ON_LIMIT:-wait}"},
    }
    assert [e.message for e in validator().iter_errors(doc)] == []
    doc["backends"]["o"]["kind"] = "${KIND}"  # a tag must be written literally
    assert list(validator().iter_errors(doc))


@pytest.mark.parametrize(
    ("key", "value"),
    [("bands", {"local": float("nan"), "claude": 0.6}), ("scan_chars", float("inf")), ("scan_chars", float("nan"))],
)
def test_a_number_that_is_not_finite_fails_both(key: str, value: Any) -> None:
    """YAML's .nan and .inf: the loader refused them, the schema took them (NaN passes every bound)."""
    text = VALID_FILES[-1].read_text()
    doc = yaml.safe_load(text)
    doc["routing"][key] = value
    assert list(validator().iter_errors(doc)), "the schema accepts a number that is not finite"
    timeouts = {**doc["timeouts"], "total": float("inf")}
    assert list(validator().iter_errors({**yaml.safe_load(text), "timeouts": timeouts}))
    written = {float("inf"): ".inf"}.get(value, ".nan") if key == "scan_chars" else "{local: .nan, claude: 0.6}"
    with pytest.raises(ConfigError, match="must be a finite number"):
        load_text(re.sub(rf"(?m)^  {key}: .*$", f"  {key}: {written}", text, count=1), environ={})


def test_every_finite_number_passes_the_schema_s_finite_check() -> None:
    finite = sub_validator(resolve("#/$defs/Finite"))
    for number in (0, 0.0, -0.0, 1, -1, 0.5, -1e-300, 1e308, -1.7976931348623157e308):
        assert finite.is_valid(number), number
    for number in (float("nan"), float("inf"), float("-inf")):
        assert not finite.is_valid(number), number


def test_a_whole_number_written_as_a_float_passes_both() -> None:
    """JSON Schema's integer takes 5.0 and 1e6; the loader refused them ("Expected `int`, got `float`")."""
    text = VALID_FILES[-1].read_text().replace("version: 1", "version: 1.0", 1)
    text = re.sub(r"(?m)^  scan_chars: .*$", "  scan_chars: 2.0e+4", text, count=1)  # 1.1 and 1.2 read it alike
    assert [e.message for e in validator().iter_errors(yaml.safe_load(text))] == []
    assert load_text(text, environ={}).config.routing.scan_chars == 20000


def test_a_number_from_the_environment_is_the_whole_value() -> None:
    """The loader reads a number from a value that is one reference and nothing else; so does the schema."""
    env_ref = sub_validator(resolve("#/$defs/EnvRef"))
    assert env_ref.is_valid("${T_CONNECT:-5}") and env_ref.is_valid("${T_CONNECT}")
    for text in ("${T_CONNECT:-5}s", "x${T_CONNECT}", "${A:-${B:-5}}"):
        assert not env_ref.is_valid(text), text
    with pytest.raises(ConfigError, match=re.escape("Expected `float`, got `str` at $.timeouts.connect")):
        load_text(VALID_FILES[-1].read_text().replace("connect: 5,", 'connect: "${T_CONNECT:-5}s",'), environ={})


def test_a_combinator_with_an_operator_fails_both() -> None:
    when = {"all": [{"feature": "user_turns", "eq": 1}], "gt": 5}
    assert not sub_validator(resolve("#/$defs/Condition")).is_valid(when)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(when, model.Condition)


# --- (e) every property is described ---------------------------------------------------------


def _undescribed(node: Any, where: str) -> Iterator[str]:
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            if not (isinstance(sub, dict) and isinstance(sub.get("description"), str) and sub["description"].strip()):
                yield f"{where}/properties/{name}"
        for key, value in node.items():
            yield from _undescribed(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _undescribed(value, f"{where}/{i}")


def test_every_property_and_definition_has_a_description() -> None:
    assert list(_undescribed(schema(), "#")) == []
    assert [name for name, node in schema()["$defs"].items() if not node.get("description", "").strip()] == []


def test_the_built_in_markers_are_the_schema_s_defaults() -> None:
    """A list under routing.ask replaces the built-in one; an editor shows what it replaces (the schema gave
    no default for a list built by a factory)."""
    from tiergate.rules.agent_steps import (
        DEFAULT_EDIT_ARGUMENTS,
        DEFAULT_EDIT_COMMANDS,
        DEFAULT_EDIT_REPLIES,
        DEFAULT_EDIT_TOOLS,
        DEFAULT_FAILURE,
        DEFAULT_PASS,
    )
    from tiergate.rules.ask import DEFAULT_ATTACHMENT_TAGS, DEFAULT_BLOCKS, DEFAULT_REPORTS, DEFAULT_TAGS

    ask = schema()["$defs"]["AskConfig"]["properties"]
    assert ask["drop_tags"]["default"] == DEFAULT_TAGS
    assert ask["report_patterns"]["default"] == DEFAULT_REPORTS
    assert ask["attachment_tags"]["default"] == DEFAULT_ATTACHMENT_TAGS
    assert ask["blocks"]["default"] == [
        {"keep": False, "last_only": False, "alone": False, "tool_result": False, **b} for b in DEFAULT_BLOCKS
    ]
    agent = schema()["$defs"]["AgentConfig"]["properties"]
    assert agent["failure_patterns"]["default"] == DEFAULT_FAILURE
    assert agent["pass_patterns"]["default"] == DEFAULT_PASS
    assert agent["edit_arguments"]["default"] == DEFAULT_EDIT_ARGUMENTS
    assert agent["edit_tools"]["default"] == DEFAULT_EDIT_TOOLS
    assert agent["edit_commands"]["default"] == DEFAULT_EDIT_COMMANDS
    assert agent["edit_replies"]["default"] == DEFAULT_EDIT_REPLIES
    assert validator().is_valid({**yaml.safe_load(VALID_FILES[-1].read_text()), "routing": {"ask": {
        key: prop["default"] for key, prop in ask.items()
    }}})  # fmt: skip


@pytest.mark.parametrize(
    ("backend", "path", "said"),
    [
        # an anthropic backend's key named as a reference, not as the variable: its own variant says so
        (
            {"kind": "anthropic", "base_url": "https://api.anthropic.com", "api_key_env": "${ANTHROPIC_API_KEY}"},
            "$.backends.claude.api_key_env",
            "does not match",
        ),
        (
            {"kind": "ollama", "base_url": "http://127.0.0.1:11434", "api_key_env": "OLLAMA_KEY"},
            "$.backends.claude",
            "'api_key_env' was unexpected",
        ),
        ({"kind": "olama", "base_url": "http://127.0.0.1:11434"}, "$.backends.claude.kind", "is not one of"),
    ],
)
def test_a_backend_is_checked_against_the_variant_its_kind_names(backend: dict[str, Any], path: str, said: str) -> None:
    """The best match a validator reports (check-jsonschema's, an editor's) is from the backend's own kind: with the
    variants as a oneOf it named `api_key_env` as unexpected in an anthropic backend, from the ollama variant."""
    from jsonschema.exceptions import best_match

    doc = yaml.safe_load((ROOT / "routes.yaml").read_text())
    doc["backends"]["claude"] = backend
    found = best_match(validator().iter_errors(doc))
    assert found is not None and found.json_path == path and said in found.message, (found.json_path, found.message)


def test_a_backend_that_is_no_object_is_said_once() -> None:
    """Every variant's condition held for a value that is no object, and each said it was none."""
    doc = yaml.safe_load((ROOT / "routes.yaml").read_text())
    doc["backends"]["claude"] = "anthropic"
    said = [e.message for e in validator().iter_errors(doc)]
    assert said == ["'anthropic' is not of type 'object'"]
