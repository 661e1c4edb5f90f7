"""The JSON answer a request asks for, checked as OpenAI checks it, once for the two ingresses that take one:
chat's ``response_format`` and the Responses ``text.format``. A malformed one is a 400 at the edge, naming the
field, whatever the target: passed on, Claude took an unknown type for plain text and a ``json_schema`` without
its ``json_schema`` for any object, and an OpenAI-compatible server got it as sent.

    kind = format_type(fmt.get("type"), "response_format.type")   # "text", "json_object" or "json_schema"
    spec = json_schema(fmt["json_schema"], "response_format.json_schema")   # {"name": ..., "schema": ...}
"""

from __future__ import annotations

import re
from typing import Any

from tiergate.errors import RequestError

FORMATS = ("text", "json_object", "json_schema")
#: What OpenAI takes as a format's name (and Claude as the answer tool's that carries it).
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def format_type(kind: Any, where: str) -> str:
    """``kind`` when it is one of :data:`FORMATS`; a 400 naming ``where`` otherwise.

    format_type("xml", "text.format.type")   # → 400: `text.format.type` must be text, json_schema or ...
    """
    if isinstance(kind, str) and kind in FORMATS:
        return kind
    got = "missing" if kind is None else repr(kind)
    raise RequestError(
        f"`{where}` must be text, json_schema or json_object, got {got}",
        param=where,
        code="missing_required_parameter" if kind is None else "invalid_value",
    )


def json_schema(
    spec: Any, where: str, *, default_name: str | None = None, schema_required: bool = False
) -> dict[str, Any]:
    """A ``json_schema`` format's fields at ``where`` (chat's ``response_format.json_schema`` object, or the
    Responses format itself): its ``name``, and its ``description``, ``schema`` and ``strict`` where given, as
    the internal ``json_schema`` holds them. The name is required unless there is a ``default_name``; the schema
    must be an object, and is required with ``schema_required``.

        json_schema({"name": "Title", "schema": {"type": "object"}}, "response_format.json_schema")
    """
    if not isinstance(spec, dict):
        raise _wrong(where, "an object", spec)
    name = default_name if spec.get("name") is None else spec["name"]
    if not isinstance(name, str):
        raise _wrong(f"{where}.name", "a string", name)
    if not _NAME.fullmatch(name):
        raise RequestError(
            f"`{where}.name` must be 1 to 64 letters, digits, underscores or dashes, got {name!r}",
            param=f"{where}.name",
            code="invalid_value",
        )
    out: dict[str, Any] = {"name": name}
    for field, type_, what in _FIELDS:
        value = spec.get(field)
        if value is None and not (field == "schema" and schema_required):
            continue
        if not isinstance(value, type_):
            raise _wrong(f"{where}.{field}", what, value)
        out[field] = value
    return out


#: A ``json_schema`` format's fields besides its name: each optional (the schema required on Responses).
_FIELDS = (("description", str, "a string"), ("schema", dict, "a JSON Schema object"), ("strict", bool, "a boolean"))


def _wrong(param: str, what: str, value: Any) -> RequestError:
    """The 400 for a field that is not ``what``; one that is missing says so (OpenAI's code for it)."""
    if value is None:
        return RequestError(f"`{param}` is missing: it must be {what}", param=param, code="missing_required_parameter")
    return RequestError(f"`{param}` must be {what}, got {_kind(value)}", param=param, code="invalid_type")


def _kind(value: Any) -> str:
    kinds = {bool: "a boolean", str: "a string", list: "an array", dict: "an object"}
    return kinds.get(type(value), "a number")
