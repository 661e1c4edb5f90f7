"""The JSON Schema of routes.yaml, generated from the Structs: ``make schema`` writes it, a test checks it.

``msgspec.json.schema`` gives the shape: types, bounds, defaults, required keys, and each Struct's
docstring as its description. This module adds what msgspec cannot know, all of it kept beside the
Structs it describes:

- a field's default built by a factory (the built-in markers of ``routing.ask`` and ``routing.agent``), so
  an editor shows what a list written there replaces;
- each field's description, from the docstring written under the field (or a Struct's
  ``__field_docs__`` when the Struct is built from a table, like ``Condition``);
- the tagged unions (backend kinds, transforms) as one definition each, whose ``kind`` offers every tag
  to an editor's completion;
- every number finite, as the loader requires (JSON has no NaN or infinity, YAML has ``.nan``, ``.inf``);
- ``${VAR}`` / ``${VAR:-default}`` where a number, a switch or a fixed choice is expected, since the
  loader expands them before the value is checked (``kind`` tags excepted: they must be literal);
- a Struct's ``__schema_extra__`` (cross-field rules such as "exactly one operator"), merged into its
  definition.

    tiergate schema > schemas/routes.schema.json
"""

from __future__ import annotations

import ast
import inspect
import json
import textwrap
from functools import cache
from typing import Any

import msgspec
import msgspec.inspect as mi

from tiergate.config.model import BackendConfig, RoutesConfig, Transform
from tiergate.rules.features import FEATURE_NAME, FEATURES

SCHEMA_ID = "https://tiergate.dev/schemas/routes.schema.json"
ENV_REF = {
    "description": "A string that is exactly one `${VAR}` or `${VAR:-default}`, expanded from the environment when the "
    "file is loaded; accepted where a number, a switch or a fixed choice is expected because its value is only known "
    "then.",
    "type": "string",
    "pattern": r"^\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}$",
}
#: The largest finite float: a bound that ``.inf`` and ``-.inf`` exceed.
_FLOAT_MAX = 1.7976931348623157e308
#: What every number field also is: finite, as the loader requires (``must be a finite number``). NaN passes
#: every bound (each comparison with it is false), so it is refused by failing the three ``not``/``const``
#: branches that together hold every other number.
FINITE = {
    "description": "A finite number: YAML's `.nan`, `.inf` and `-.inf` are refused, by the loader too.",
    "minimum": -_FLOAT_MAX,
    "maximum": _FLOAT_MAX,
    "anyOf": [
        {"description": "Below zero.", "not": {"minimum": 0}},
        {"description": "Above zero.", "not": {"maximum": 0}},
        {"description": "Zero.", "const": 0},
    ],
}
#: Each tagged union of the file: its definition's name and description.
UNIONS: dict[Any, tuple[str, str]] = {
    BackendConfig: ("Backend", "A named connection to a model server; `kind` selects which of the variants applies."),
    Transform: ("Transform", "How a scorer turns a feature into a number in [0, 1]; `kind` selects the variant."),
}


def routes_schema() -> dict[str, Any]:
    raw = msgspec.json.schema(RoutesConfig)
    defs: dict[str, Any] = raw["$defs"]
    structs = _structs()
    for name, node in defs.items():
        node.pop("title", None)
        cls = structs.get(name)
        if cls is not None:
            _describe_fields(node, cls)
            node.update(getattr(cls, "__schema_extra__", {}))
    unions = _union_defs(structs)
    for node in defs.values():
        _rewrite(node, unions)
    root = defs.pop(RoutesConfig.__name__)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "tiergate routes.yaml",
        **root,
        "$defs": {
            **dict(sorted(defs.items())),
            **{n: u for n, u in sorted(unions.items())},
            "EnvRef": ENV_REF,
            "Finite": FINITE,
        },
    }


def render() -> str:
    return json.dumps(routes_schema(), indent=2, ensure_ascii=False) + "\n"


# --- field descriptions -----------------------------------------------------------------------


def _describe_fields(node: dict[str, Any], cls: type) -> None:
    docs = field_docs(cls)
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    tag_field = info.tag_field
    built = {f.encode_name: f.default_factory() for f in info.fields if f.default_factory is not msgspec.NODEFAULT}
    features = {f.encode_name for f in info.fields if _names_a_feature(f.type)}
    for name, prop in node.get("properties", {}).items():
        if built.get(name):  # msgspec leaves a factory's default out: the built-in lists (routing.ask) are shown
            prop["default"] = msgspec.to_builtins(built[name])
        if name == tag_field:
            prop["description"] = (
                f"Selects this variant: `{info.tag}`. Write it literally; `${{VAR}}` is not accepted here."
            )
            prop["const"] = prop.pop("enum")[0]
            continue
        text = docs.get(name)
        if text:
            prop["description"] = text
        if name in features:  # first, where msgspec writes a field's own examples
            node["properties"][name] = {"examples": list(FEATURES), **prop}


def _names_a_feature(t: mi.Type) -> bool:
    """Whether a field is marked ``FEATURE_NAME``: its examples are every feature registered now, when the
    schema is rendered and every feature module has been imported."""
    return isinstance(t, mi.Metadata) and t.extra == FEATURE_NAME.extra


def field_docs(cls: type) -> dict[str, str]:
    """``{encoded field name: docstring}`` for a Struct and its bases (the nearest definition wins)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__.startswith("tiergate"):
            docs.update(_attribute_docstrings(klass))
        docs.update(getattr(klass, "__dict__", {}).get("__field_docs__", {}))
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    renames = {f.name: f.encode_name for f in info.fields}
    return {renames.get(k, k): v for k, v in docs.items()}


@cache
def _attribute_docstrings(cls: type) -> dict[str, str]:
    """The string literal right under each annotated field in the class body (as Sphinx reads them)."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    body = ast.parse(source).body[0]
    assert isinstance(body, ast.ClassDef)
    found: dict[str, str] = {}
    for stmt, following in zip(body.body, [*body.body[1:], None], strict=True):
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
            continue
        doc = (
            following.value.value
            if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
            else None
        )
        if isinstance(doc, str):
            found[stmt.target.id] = " ".join(inspect.cleandoc(doc).split())
    return found


# --- unions, env references ---------------------------------------------------------------------


def _union_defs(structs: dict[str, type]) -> dict[str, Any]:
    unions: dict[str, Any] = {}
    for union, (name, description) in UNIONS.items():
        members = [mi.type_info(t) for t in union.__args__]
        tags = [m.tag for m in members]  # type: ignore[attr-defined]
        tag_field = members[0].tag_field  # type: ignore[attr-defined]
        unions[name] = {
            "description": description,
            "type": "object",
            "required": [tag_field],
            "properties": {
                tag_field: {"description": f"The variant: {', '.join(f'`{t}`' for t in tags)}.", "enum": tags}
            },
            # the variant its tag names, picked by the tag: with a oneOf, an error in a variant was reported
            # from whichever variant a validator found the best match (check-jsonschema named `api_key_env`
            # as unexpected in an anthropic backend, against the ollama variant)
            "allOf": [
                {
                    "if": {  # an object, or every variant would claim a value that is none (and say so)
                        "type": "object",
                        "properties": {tag_field: {"const": m.tag, "description": f"The `{m.tag}` variant."}},  # type: ignore[attr-defined]
                        "required": [tag_field],
                    },
                    "then": {"$ref": f"#/$defs/{m.cls.__name__}"},  # type: ignore[attr-defined]
                }
                for m in members
            ],
        }
    return unions


def _rewrite(node: Any, unions: dict[str, Any]) -> Any:
    """Walks the schema: a tagged union becomes a reference to its definition; typed values also take
    an environment reference."""
    if isinstance(node, list):
        for item in node:
            _rewrite(item, unions)
        return node
    if not isinstance(node, dict):
        return node
    for key in ("properties", "$defs"):
        for name, sub in list(node.get(key, {}).items()):
            node[key][name] = _property(sub, unions) if key == "properties" else _rewrite(sub, unions)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            node[key] = _property(node[key], unions)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in node:
            node[key] = [_rewrite(sub, unions) for sub in node[key]]
    return node


def _property(prop: dict[str, Any], unions: dict[str, Any]) -> dict[str, Any]:
    if "discriminator" in prop:
        refs = {ref["$ref"] for ref in prop["anyOf"] if "$ref" in ref}
        for name, union in unions.items():
            if refs == {branch["then"]["$ref"] for branch in union["allOf"]}:
                kept = {k: v for k, v in prop.items() if k not in ("anyOf", "discriminator")}
                return {**kept, "$ref": f"#/$defs/{name}"}
    prop = _rewrite(prop, unions)
    if "const" in prop or "$ref" in prop:
        return prop
    for node in [prop, *prop.get("anyOf", [])]:
        if node.get("type") == "number":
            node["$ref"] = "#/$defs/Finite"
    typed = prop.get("type") in ("number", "integer", "boolean") or "enum" in prop
    if typed:
        meta: dict[str, Any] = {k: prop.pop(k) for k in ("description", "default", "examples") if k in prop}
        return {**meta, "anyOf": [prop, {"$ref": "#/$defs/EnvRef"}]}
    if "anyOf" in prop and any(s.get("type") in ("number", "integer", "boolean") or "enum" in s for s in prop["anyOf"]):
        prop["anyOf"] = [*prop["anyOf"], {"$ref": "#/$defs/EnvRef"}]
    return prop


@cache
def _structs() -> dict[str, type]:
    """Every Struct reachable from RoutesConfig, by the name msgspec gives its definition."""
    found: dict[str, type] = {}

    def walk(t: Any) -> None:
        if isinstance(t, mi.StructType):
            if t.cls.__name__ not in found:
                found[t.cls.__name__] = t.cls
                for f in t.fields:
                    walk(f.type)
        elif isinstance(t, mi.UnionType):
            for member in t.types:
                walk(member)
        elif isinstance(t, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
            walk(t.item_type)
        elif isinstance(t, mi.DictType):
            walk(t.value_type)

    walk(mi.type_info(RoutesConfig))
    return found
