"""What every node of the rule file is built from: the strict Struct base and the shared value types.

Each extension point declares its own Structs on this base, in its own module (a transform in
``rules/transforms/``, a backend kind in ``backends/``, an ingress dialect in ``api/dialects/``), and
:mod:`tiergate.config.model` assembles the file's tree from them. Fields are documented by the
docstring right under them; ``make schema`` turns those into the JSON Schema's descriptions.

    class Ramp(TransformBase, tag="ramp", frozen=True):   # frozen again: mypy does not see it inherited
        to: float
        \"\"\"Feature value that scores 1.\"\"\"
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from tiergate.redact import ENV_NAME

Unit = Annotated[float, Meta(ge=0, le=1)]
Seconds = Annotated[float, Meta(gt=0)]
PositiveInt = Annotated[int, Meta(ge=1)]
#: A keyword list: at least one keyword, none blank (a list with none, or an empty keyword, never matches).
Keywords = Annotated[list[Annotated[str, Meta(pattern=r"\S")]], Meta(min_length=1)]
Band = Literal["LOCAL", "AMBIGUOUS", "CLAUDE"]
Capability = Literal["tools", "vision", "documents"]
#: What a ``*_env`` field holds: the name of an environment variable. A key written in its place (its
#: value, or ``${VAR}``) is refused at load, and the refusal never quotes it (tiergate.config.loader).
EnvName = Annotated[str, Meta(pattern=f"^{ENV_NAME.pattern}$")]


class Strict(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Base for every node of the file: unknown keys are errors, and a loaded config never changes."""


def given(name: str, *, null_is_a_value: bool = False) -> dict[str, Any]:
    """A JSON Schema fragment for a Struct's ``__schema_extra__``: key ``name`` is present (and not null).

    __schema_extra__ = {"not": {"allOf": [given("band"), given("tier")]}}   # not both
    """
    if null_is_a_value:
        return {"description": f"`{name}` is given (any value, null included).", "required": [name]}
    return {
        "description": f"`{name}` is given and not null.",
        "required": [name],
        "properties": {name: {"description": f"`{name}` is not null.", "not": {"type": "null"}}},
    }
