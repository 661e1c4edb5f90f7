from __future__ import annotations

from typing import Any

import pytest

from tiergate.errors import RequestError
from tiergate.protocols.response_format import format_type, json_schema

SCHEMA = {"type": "object"}


@pytest.mark.parametrize("kind", ["text", "json_object", "json_schema"])
def test_the_three_types_are_taken(kind: str) -> None:
    assert format_type(kind, "response_format.type") == kind


@pytest.mark.parametrize(("kind", "got"), [("xml", "got 'xml'"), (None, "got missing"), (3, "got 3")])
def test_any_other_type_is_a_400_naming_where(kind: Any, got: str) -> None:
    with pytest.raises(RequestError, match=got) as info:
        format_type(kind, "text.format.type")
    assert (info.value.status, info.value.param) == (400, "text.format.type")


def test_a_spec_keeps_the_fields_openai_defines() -> None:
    spec = {"name": "t", "description": "d", "schema": SCHEMA, "strict": False, "other": 1}
    assert json_schema(spec, "w") == {"name": "t", "description": "d", "schema": SCHEMA, "strict": False}
    assert json_schema({"name": "t"}, "w") == {"name": "t"}


def test_a_default_name_and_a_required_schema() -> None:
    """The Responses reading: a nameless format is named, and its schema is required."""
    assert json_schema({"schema": SCHEMA}, "w", default_name="response", schema_required=True) == {
        "name": "response",
        "schema": SCHEMA,
    }
    with pytest.raises(RequestError, match=r"`w\.schema` is missing") as info:
        json_schema({"name": "t"}, "w", schema_required=True)
    assert info.value.code == "missing_required_parameter"


@pytest.mark.parametrize(
    ("spec", "param", "code"),
    [
        (None, "w", "missing_required_parameter"),
        ([], "w", "invalid_type"),
        ({"schema": SCHEMA}, "w.name", "missing_required_parameter"),
        ({"name": 1}, "w.name", "invalid_type"),
        ({"name": ""}, "w.name", "invalid_value"),
        ({"name": "x" * 65}, "w.name", "invalid_value"),
        ({"name": "a.b"}, "w.name", "invalid_value"),
        ({"name": "t", "schema": []}, "w.schema", "invalid_type"),
        ({"name": "t", "description": 1}, "w.description", "invalid_type"),
        ({"name": "t", "strict": 1}, "w.strict", "invalid_type"),
    ],
)
def test_what_openai_refuses_is_a_400_naming_the_field(spec: Any, param: str, code: str) -> None:
    with pytest.raises(RequestError) as info:
        json_schema(spec, "w")
    assert (info.value.param, info.value.code) == (param, code)
