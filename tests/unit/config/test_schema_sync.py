"""schemas/routes.schema.json and the Structs of config/model.py describe the same file.

An editor checks routes.yaml against the schema; tiergate decodes it into the Structs. These tests fail
as soon as one changes without the other: every example passes both, every file in ``broken/`` fails
both (and passes both once its one defect is fixed), every Struct's fields are exactly its schema
object's properties with the same required keys, defaults and accepted values, and every property
says what it does.

    PYTHONPATH=src:. python -m pytest tests/unit/config/test_schema_sync.py -q
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest
import yaml
from jsonschema import Draft202012Validator

from tiergate.config import model
from tiergate.config.loader import load_file, load_text
from tiergate.config.problems import ConfigError
from tiergate.engine.graph import compile_graph
from tiergate.rules.features import FEATURES

ROOT = Path(__file__).resolve().parents[3]
SCHEMA_FILE = ROOT / "schemas" / "routes.schema.json"
BROKEN = Path(__file__).parent / "broken"
VALID_FILES = [*sorted((ROOT / "examples").glob("*.yaml")), ROOT / "routes.yaml"]
BROKEN_FILES = sorted(BROKEN.glob("*.yaml"))

# Each Struct reachable from RoutesConfig and the schema object that describes it.
STRUCTS = {
    "RoutesConfig": "#",
    "OllamaBackendConfig": "#/$defs/ollama_backend",
    "AnthropicBackendConfig": "#/$defs/anthropic_backend",
    "OpenAIBackendConfig": "#/$defs/openai_backend",
    "Timeouts": "#/$defs/timeouts",
    "TimeoutOverrides": "#/$defs/timeout_overrides",
    "Retries": "#/$defs/retries",
    "RetryOverrides": "#/$defs/retry_overrides",
    "Breaker": "#/$defs/breaker",
    "BreakerOverrides": "#/$defs/breaker_overrides",
    "Limits": "#/$defs/limits",
    "Capabilities": "#/$defs/capabilities",
    "Price": "#/$defs/price",
    "TargetConfig": "#/$defs/target",
    "TierConfig": "#/$defs/tier",
    "Condition": "#/$defs/condition",
    "Action": "#/$defs/action",
    "Rule": "#/$defs/rule",
    "Ramp": "#/$defs/ramp_transform",
    "Threshold": "#/$defs/threshold_transform",
    "KeywordDensity": "#/$defs/keywords_transform",
    "Boolean": "#/$defs/boolean_transform",
    "Scorer": "#/$defs/scorer",
    "Bands": "#/$defs/bands",
    "BandTiers": "#/$defs/band_tiers",
    "Escalation": "#/$defs/escalation",
    "Explicit": "#/$defs/explicit",
    "KeywordRoute": "#/$defs/keyword_route",
    "KeywordMode": "#/$defs/keyword_mode",
    "ClassifierConfig": "#/$defs/classifier",
    "RoutingConfig": "#/$defs/routing",
    "Stickiness": "#/$defs/stickiness",
    "ClientKey": "#/$defs/client_key",
    "Auth": "#/$defs/auth",
    "Cors": "#/$defs/cors",
    "InputLimits": "#/$defs/input_limits",
    "DecisionLog": "#/$defs/decision_log",
    "ServerConfig": "#/$defs/server",
}

# Values tried against every field, on top of each field's own literals and bounds. Integral floats
# (2.0) are left out on purpose: JSON Schema's "integer" accepts them, msgspec's int does not, and
# no schema keyword can tell them apart.
# fmt: off
PROBES: list[Any] = [
    None, True, False, 0, 1, -1, 2, 10, 11, 100, 0.5, 1.5, -0.5, -1.5, 1e-9, "", "x", "local",
    "audio", [], ["x"], [1], [{}], {}, {"x": "y"}, {"x": 1}, {"x": ["y"]},
]
# fmt: on


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


def reachable_structs() -> dict[str, mi.StructType]:
    found: dict[str, mi.StructType] = {}

    def walk(t: Any) -> None:
        if isinstance(t, mi.StructType):
            if t.cls.__name__ in found:
                return
            found[t.cls.__name__] = t
            for f in t.fields:
                walk(f.type)
        elif isinstance(t, mi.UnionType):
            for member in t.types:
                walk(member)
        elif isinstance(t, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
            walk(t.item_type)
        elif isinstance(t, mi.DictType):
            walk(t.key_type)
            walk(t.value_type)
        elif isinstance(t, mi.TupleType):
            for member in t.item_types:
                walk(member)

    walk(mi.type_info(model.RoutesConfig))
    return found


def struct_fields() -> Iterator[tuple[str, mi.StructType, mi.Field]]:
    for name, info in reachable_structs().items():
        for f in info.fields:
            yield name, info, f


def field_ids() -> list[str]:
    return [f"{name}.{f.encode_name}" for name, _, f in struct_fields()]


def accepts(value: Any, hint: Any) -> bool:
    try:
        msgspec.convert(value, hint)
    except msgspec.ValidationError:
        return False
    return True


def header(path: Path) -> dict[str, str]:
    """The ``# key: value`` comment lines that open a broken file."""
    out = {}
    for line in path.read_text().splitlines():
        m = re.match(r"# (defect|loader|schema-at|fix): (.*)$", line)
        if not m:
            break
        out[m.group(1)] = m.group(2)
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


# --- (d) the Structs and the schema objects have the same shape -------------------------------


def test_every_struct_reachable_from_routes_config_has_a_schema_object() -> None:
    assert set(reachable_structs()) == set(STRUCTS)


@pytest.mark.parametrize("name", sorted(STRUCTS))
def test_struct_fields_are_the_schema_properties(name: str) -> None:
    info = reachable_structs()[name]
    node = resolve(STRUCTS[name])
    tag = {info.tag_field} if info.tag is not None else set()
    assert set(node["properties"]) == {f.encode_name for f in info.fields} | tag
    assert set(node.get("required", [])) == {f.encode_name for f in info.fields if f.required} | tag
    assert info.forbid_unknown_fields
    assert node["additionalProperties"] is False
    assert node["type"] == "object"
    if info.tag is not None:
        assert node["properties"][info.tag_field]["const"] == info.tag


def test_tagged_unions_offer_exactly_their_variants() -> None:
    for union, fields in (("backend", model.BackendConfig), ("transform", model.Transform)):
        variants = typing.get_args(fields)
        node = resolve(f"#/$defs/{union}")
        assert [resolve(v["$ref"]) for v in node["oneOf"]] == [resolve(STRUCTS[v.__name__]) for v in variants]
        tags = [mi.type_info(v).tag for v in variants]  # type: ignore[attr-defined]
        assert node["properties"]["kind"]["enum"] == tags


@pytest.mark.parametrize(("struct", "info", "field"), list(struct_fields()), ids=field_ids())
def test_field_default_matches_schema_default(struct: str, info: mi.StructType, field: mi.Field) -> None:
    prop = resolve(STRUCTS[struct])["properties"][field.encode_name]
    if field.default is msgspec.NODEFAULT and field.default_factory is msgspec.NODEFAULT:
        assert "default" not in prop
        return
    default = field.default if field.default is not msgspec.NODEFAULT else field.default_factory()
    hint = typing.get_type_hints(info.cls, include_extras=True)[field.name]
    assert "default" in prop, f"{struct}.{field.encode_name} defaults to {default!r}; say so in the schema"
    assert msgspec.convert(prop["default"], hint) == default


def _literals(t: Any) -> list[Any]:
    if isinstance(t, mi.LiteralType):
        return list(t.values)
    if isinstance(t, mi.UnionType):
        return [v for member in t.types for v in _literals(member)]
    if isinstance(t, (mi.ListType, mi.SetType)):
        return [[v] for v in _literals(t.item_type)]
    return []


def _schema_choices(node: Any) -> list[Any]:
    """The ``enum`` and ``const`` values a schema property offers (what an editor would complete)."""
    if not isinstance(node, dict):
        return []
    found = [*node.get("enum", []), *([node["const"]] if "const" in node else [])]
    for key in ("anyOf", "oneOf", "allOf"):
        for member in node.get(key, []):
            found += _schema_choices(member)
    found += [[v] for v in _schema_choices(node.get("items"))]
    return found


def _bounds(t: Any) -> list[Any]:
    if isinstance(t, (mi.IntType, mi.FloatType)):
        step = 1 if isinstance(t, mi.IntType) else 1e-6
        edges = [v for v in (t.ge, t.gt, t.le, t.lt) if v is not None]
        return [e + d for e in edges for d in (-step, 0, step)]
    if isinstance(t, mi.UnionType):
        return [v for member in t.types for v in _bounds(member)]
    return []


@pytest.mark.parametrize(("struct", "info", "field"), list(struct_fields()), ids=field_ids())
def test_field_accepts_the_same_values_as_its_schema(struct: str, info: mi.StructType, field: mi.Field) -> None:
    hint = typing.get_type_hints(info.cls, include_extras=True)[field.name]
    prop = resolve(STRUCTS[struct])["properties"][field.encode_name]
    check = sub_validator(prop)
    disagree = [
        (probe, accepts(probe, hint))
        for probe in [*PROBES, *_literals(field.type), *_schema_choices(prop), *_bounds(field.type)]
        if accepts(probe, hint) != check.is_valid(probe)
    ]
    assert disagree == [], "(value, accepted by msgspec) where the schema decides otherwise"


def test_feature_names_offered_to_editors_are_the_registered_features() -> None:
    assert set(resolve("#/$defs/condition")["properties"]["feature"]["examples"]) == set(FEATURES)


def test_a_combinator_with_an_operator_fails_both() -> None:
    when = {"all": [{"feature": "user_turns", "eq": 1}], "gt": 5}
    assert not sub_validator(resolve("#/$defs/condition")).is_valid(when)
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
