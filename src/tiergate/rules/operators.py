"""The condition operators, as one table: adding an operator is one entry here (and its test).

Each entry names the operator (its YAML key), the type of its operand, the feature kinds it accepts, a
line of documentation and the function that compiles it, the way rule-engine looks operators up by
name. Everything else is derived from the table: the ``Condition`` Struct the loader decodes (so an
unknown key gets a did-you-mean from the real names), its error messages, the JSON Schema (``make
schema``) and the operator table in the README (a test keeps it in step).

    {feature: total_chars, gt: 30000}
    {feature: last_user_text, contains_any: deep_reasoning, min_count: 2}

    predicate = OPERATORS["gt"].compile("total_chars", 30000.0, condition, ctx, path)
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import msgspec
from msgspec import Meta

from tiergate.config.base import Keywords, Strict, given
from tiergate.config.problems import Path, did_you_mean
from tiergate.rules import regex_risk
from tiergate.rules.context import NEVER, CompileContext, Predicate
from tiergate.rules.features import FAMILIES, FEATURE_NAME, FEATURES, Features, kind_of, value_kind

T = TypeVar("T")

Compile = Callable[[str, Any, "Condition", CompileContext, Path], Predicate]
#: A list that must hold something: an empty `all` or `not_in` is always true, an empty `any`, `in` or
#: `contains_any` never, so the loader rejects them and the schema says `minItems: 1`.
NonEmpty = Annotated[T, Meta(min_length=1)]
ANY_KIND = frozenset({"number", "bool", "text", "str"})


@dataclass(frozen=True)
class Extra:
    """A field that only modifies an operator (``min_count`` of ``contains_any``). The Struct holds it as
    UNSET when it is not written, so that one written beside another operator (or a combinator), where it
    would be ignored, is refused rather than taken silently."""

    name: str
    type: Any
    default: Any
    doc: str
    #: What it does, for the message that refuses it elsewhere.
    what: str = ""

    def value(self, condition: Any) -> Any:
        """The value written, or the default."""
        written = getattr(condition, self.name)
        return self.default if written is msgspec.UNSET else written


@dataclass(frozen=True)
class Operator:
    name: str
    operand: Any
    kinds: frozenset[str]
    doc: str
    compile: Compile
    #: What "not given" looks like: None, except for operators whose operand may itself be null.
    absent: Any = None
    extras: tuple[Extra, ...] = ()
    #: For a feature of a kind it does not take: what it does, and what to use instead.
    takes: str = ""
    instead: str = ""

    @property
    def attr(self) -> str:
        """The Struct attribute (``in`` and ``not`` are Python keywords)."""
        return self.name + "_" if self.name in ("in", "not") else self.name

    def given(self, condition: Any) -> bool:
        return getattr(condition, self.attr) is not self.absent


# --- compile functions --------------------------------------------------------------------------


def _shown(name: str, test: Callable[[Features], bool]) -> Callable[[Features], Any]:
    """What a comparison's leaf shows in the trace: the feature's value, or for the conversation's text (a
    ``text`` feature: the person's words, which the decision log keeps out) only the comparison's result."""
    return test if kind_of(name) == "text" else _getter(name)


def _getter(name: str) -> Callable[[Features], Any]:
    def get(f: Features) -> Any:
        return f[name]

    return get


def _compare(cmp: Callable[[float, float], bool]) -> Compile:
    def compile_(name: str, operand: Any, cond: Condition, ctx: CompileContext, path: Path) -> Predicate:
        bound = float(operand)

        def test(f: Features) -> bool:
            try:
                return cmp(float(f[name]), bound)
            except (TypeError, ValueError):
                return False

        return Predicate(test, [(name, _getter(name))])

    return compile_


def _equals(negate: bool) -> Compile:
    def compile_(name: str, operand: Any, cond: Condition, ctx: CompileContext, path: Path) -> Predicate:
        if not _comparable(name, operand, ctx, path):
            return NEVER
        want = _json_key(operand)

        def test(f: Features) -> bool:
            return bool((_json_key(f[name]) == want) != negate)

        return Predicate(test, [(name, _shown(name, test))])

    return compile_


def _member(negate: bool) -> Compile:
    def compile_(name: str, operand: Any, cond: Condition, ctx: CompileContext, path: Path) -> Predicate:
        if not all([_comparable(name, v, ctx, (*path, i)) for i, v in enumerate(operand)]):  # report every one
            return NEVER
        values = frozenset(_json_key(v) for v in operand)

        def test(f: Features) -> bool:
            return (_json_key(f[name]) in values) != negate

        return Predicate(test, [(name, _shown(name, test))])

    return compile_


def _matches(name: str, operand: Any, cond: Condition, ctx: CompileContext, path: Path) -> Predicate:
    try:
        rx = re.compile(operand)
    except re.error as exc:
        ctx.report(path, f"invalid regular expression: {exc}")
        return NEVER
    if regex_risk.nested_repeat(operand):
        ctx.warn(path, regex_risk.WARNING)
    # the trace shows whether it matched, never what: the text is the person's (a rule keeping keys local would
    # write the key into the decision log, which stores no ask unless told to)
    return Predicate(
        lambda f: rx.search(_text_of(f[name])) is not None, [(name, lambda f: bool(rx.search(_text_of(f[name]))))]
    )


def _text_of(value: Any) -> str:
    """A feature's value as ``matches`` searches it: a switch as ``true``/``false``, as routes.yaml writes it
    (Python's ``True`` never matched ``^true$``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _contains_any(name: str, operand: Any, cond: Condition, ctx: CompileContext, path: Path) -> Predicate:
    if isinstance(operand, str) and operand not in ctx.keyword_lists:
        ctx.report(path, f"unknown keyword list '{operand}'{did_you_mean(operand, list(ctx.keyword_lists))}")
        return NEVER
    matcher = ctx.matcher(operand)
    need = _MIN_COUNT.value(cond)
    if need > len(matcher.words):
        have = len(matcher.words)
        listed = ", ".join(matcher.words)
        ctx.report(
            (*path[:-1], "min_count"),
            f"min_count {need} can never be met: the list has {have} distinct keyword{'s' if have != 1 else ''} "
            f"({listed}), so this condition never matches; lower min_count or add keywords",
        )
        return NEVER
    label = operand if isinstance(operand, str) else "keywords"
    return Predicate(
        lambda f: len(f.keyword_hits(matcher, name)) >= need,
        [(f"{name}:{label}", lambda f: list(f.keyword_hits(matcher, name)))],
    )


#: ``contains_any``'s ``min_count``.
_MIN_COUNT = Extra(
    "min_count",
    Annotated[int, Meta(ge=1, extra_json_schema={"default": 1})] | msgspec.UnsetType,
    1,
    "With `contains_any` only: distinct keywords that must appear (default 1).",
    "how many distinct keywords must appear",
)

#: Per kind of feature: what its values are, and what a comparison with them has to be given.
_VALUES: dict[str, tuple[str, str, Callable[[Any], bool]]] = {
    "bool": ("a boolean", "true/false", lambda v: isinstance(v, bool)),
    "number": ("a number", "a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool)),
    "text": ("text", "a string", lambda v: isinstance(v, str)),
    "str": ("a string", "a string", lambda v: isinstance(v, str)),
}


def _comparable(name: str, value: Any, ctx: CompileContext, path: Path) -> bool:
    """Whether an `eq`/`ne`/`in`/`not_in` value can ever equal one of the feature's values; if not (the string
    "true" for a bool feature, a number for a header), the problem is reported at the value: the rule would
    never fire (or, negated, always)."""
    kind = value_kind(name)
    if kind is None or kind not in _VALUES:
        return True
    what, use, fits = _VALUES[kind]
    if fits(value):
        return _one_of_its_values(name, value, ctx, path)
    hint = ""
    if kind in _TEXT and isinstance(value, bool | int | float):
        hint = f" (quote it: '{_yaml(value)}')"
    ctx.report(path, f"feature '{name}' is {what}: compare with {use}, not {_described(value)}{hint}")
    return False


def _one_of_its_values(name: str, value: Any, ctx: CompileContext, path: Path) -> bool:
    """Whether ``value`` is one a feature of a fixed set of values (``learned.tier``) can have: ``eq: opsu``
    never matched, without a word."""
    spec = FEATURES.get(name)
    if spec is None or not spec.values or value in spec.values:
        return True
    shown = ", ".join(f"'{v}'" for v in spec.values)
    hint = did_you_mean(value, [v for v in spec.values if v])
    ctx.report(path, f"feature '{name}' is one of {shown}: '{value}' never matches{hint}")
    return False


def _yaml(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _described(value: Any) -> str:
    if isinstance(value, str):
        return f"the string '{value}'"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return _yaml(value)


def _json_key(value: Any) -> Any:
    """A value as JSON compares it, hashable: a boolean is not a number (Python's ``True == 1`` made
    ``{feature: metadata.priority, eq: 1}`` fire on ``"priority": true``), while ``1`` and ``1.0`` are the
    same number; lists and objects compare item by item, an object's keys in any order."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", value)  # 1 == 1.0 and hash(1) == hash(1.0)
    if isinstance(value, list | tuple):
        return ("array", tuple(_json_key(v) for v in value))
    if isinstance(value, dict):
        return ("object", frozenset((k, _json_key(v)) for k, v in value.items()))
    return value  # a string, or null


# --- the table ----------------------------------------------------------------------------------

_NOT_TEXT = frozenset({"number", "bool", "str"})
_NUMERIC: dict[str, Any] = {"takes": "compares numbers", "instead": "use `contains_any` or `matches`"}
_TEXT = frozenset({"text", "str"})

OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator(
            "eq",
            Any,
            ANY_KIND,
            "equality with a value of the feature's kind (`metadata.*`: any JSON value, null included, "
            "compared as JSON: `true` is not `1`, `1.0` is `1`)",
            _equals(False),
            msgspec.UNSET,
        ),
        Operator(
            "ne",
            Any,
            ANY_KIND,
            "inequality with a value of the feature's kind (`metadata.*`: any JSON value, null included, "
            "compared as JSON)",
            _equals(True),
            msgspec.UNSET,
        ),
        Operator("gt", float, _NOT_TEXT, "the feature is greater than a number", _compare(operator.gt), **_NUMERIC),
        Operator("gte", float, _NOT_TEXT, "the feature is at least a number", _compare(operator.ge), **_NUMERIC),
        Operator("lt", float, _NOT_TEXT, "the feature is less than a number", _compare(operator.lt), **_NUMERIC),
        Operator("lte", float, _NOT_TEXT, "the feature is at most a number", _compare(operator.le), **_NUMERIC),
        Operator("in", NonEmpty[list[Any]], ANY_KIND, "membership in a list of values", _member(False)),
        Operator("not_in", NonEmpty[list[Any]], ANY_KIND, "absence from a list of values", _member(True)),
        Operator(
            "matches",
            str,
            ANY_KIND,
            "a Python regular expression, searched in the feature's text (`(?i)` ignores case); one that "
            "repeats a repeat (`(a+)+`), which can take exponential time on a text a client picks, is a warning",
            _matches,
        ),
        Operator(
            "contains_any",
            str | Keywords,
            _TEXT,
            "at least `min_count` distinct keywords of a named list under `routing.keywords` or an inline "
            "list, as whole words, case-insensitive",
            _contains_any,
            takes="searches text",
            extras=(_MIN_COUNT,),
        ),
    )
}
COMBINATORS = ("all", "any", "not")


def compile_leaf(cond: Condition, path: Path, ctx: CompileContext) -> Predicate:
    """A ``feature`` comparison through its operator's entry; a kind it does not accept is a problem."""
    name = cond.feature
    assert name is not None
    wrong = _unreadable(name)
    if wrong is not None:
        ctx.report((*path, "feature"), wrong)
        return NEVER
    if not ctx.check_feature(name, (*path, "feature")):
        return NEVER
    op = next(op for op in OPERATORS.values() if op.given(cond))
    kind = kind_of(name)
    if kind not in op.kinds:
        article = "" if kind == "text" else "a "
        instead = f"; {op.instead}" if op.instead else ""
        ctx.report((*path, op.name), f"`{op.name}` {op.takes}, but '{name}' is {article}{kind}{instead}")
        return NEVER
    return op.compile(name, getattr(cond, op.attr), cond, ctx, (*path, op.name))


#: Headers the gateway strips before routing (``CREDENTIAL_HEADERS`` in :mod:`tiergate.api.ingress`, kept equal
#: by a test; not imported, so that compiling rules does not load the web app): a rule would read "" from them.
CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "proxy-authorization", "cookie"})
#: What a family's key names, for ``header.`` with nothing after the dot.
_FAMILY_KEYS = {"header": "a header name", "metadata": "a metadata key", "target": "a tier and a stat"}


def _unreadable(name: str) -> str | None:
    """What is wrong with a family feature no request can give a value for: an empty key (``header.``), or a
    credential header, which routing never sees."""
    prefix, dot, key = name.partition(".")
    fam = FAMILIES.get(prefix)
    if fam is None or not dot or name in FEATURES:
        return None
    if not key:
        example = re.search(rf"`({re.escape(prefix)}\.[^`]+)`", fam.doc)
        eg = f", e.g. {example.group(1)}" if example else ""
        return f"{prefix}. needs {_FAMILY_KEYS.get(prefix, 'a key')}{eg}"
    if prefix == "header" and key.lower() in CREDENTIAL_HEADERS:
        hidden = ", ".join(sorted(CREDENTIAL_HEADERS))
        return (
            f"feature '{name}': credential headers are not visible to rules (the gateway removes {hidden} "
            "before routing, so it would always read as empty)"
        )
    return None


def operator_table() -> str:
    """The README's table of operators, rendered from the table."""
    rows = ["| operator | compares | feature kinds |", "| --- | --- | --- |"]
    for op in OPERATORS.values():
        kinds = "any" if op.kinds == ANY_KIND else ", ".join(sorted(op.kinds))
        extra = "".join(f" (+ `{e.name}`)" for e in op.extras)
        rows.append(f"| `{op.name}`{extra} | {op.doc} | {kinds} |")
    return "\n".join(rows)


# --- the Condition Struct, derived from the table --------------------------------------------------


def _check_condition(self: Any) -> None:
    combinators = [n for n in COMBINATORS if getattr(self, n + ("_" if n == "not" else "")) is not None]
    if len(combinators) > 1:
        raise ValueError("a condition takes one of `all`, `any` or `not`")
    given = [op.name for op in OPERATORS.values() if op.given(self)]
    if combinators:
        if self.feature is not None or given:
            raise ValueError("a condition is either a combinator or a `feature` comparison")
        _check_extras(self, f"the combinator `{combinators[0]}`")
        return
    if self.feature is None:
        raise ValueError("a condition needs `feature` (with an operator) or `all`/`any`/`not`")
    if len(given) != 1:
        names = " ".join(OPERATORS)
        got = f" (got {', '.join(given)})" if given else ""
        raise ValueError(f"a feature comparison takes exactly one operator of {names}{got}")
    _check_extras(self, f"this `{given[0]}`")


def _check_extras(self: Any, used: str) -> None:
    """An operator's extra (``min_count``) written beside another operator or a combinator: it would be
    ignored (``{feature: last_user_text, matches: x, min_count: 3}`` fired on one match)."""
    for op in OPERATORS.values():
        for extra in op.extras:
            if getattr(self, extra.name) is not msgspec.UNSET and not op.given(self):
                raise ValueError(f"`{extra.name}` applies only to `{op.name}` ({extra.what}): remove it from {used}")


def _fields() -> list[tuple[str, Any, Any]]:
    fields: list[tuple[str, Any, Any]] = [
        ("all", "NonEmpty[list[Condition]] | None", None),
        ("any", "NonEmpty[list[Condition]] | None", None),
        ("not_", "Condition | None", msgspec.field(default=None, name="not")),
        ("feature", Annotated[str | None, FEATURE_NAME], None),
    ]
    for op in OPERATORS.values():
        operand = op.operand if op.absent is msgspec.UNSET else op.operand | None
        default = op.absent if op.attr == op.name else msgspec.field(default=op.absent, name=op.name)
        fields.append((op.attr, operand, default))
        fields.extend((extra.name, extra.type, msgspec.UNSET) for extra in op.extras)
    return fields


def _schema_extra() -> dict[str, Any]:
    """Exactly one combinator, or a feature with exactly one operator: as JSON Schema, for editors."""
    combinators = [given(name) for name in COMBINATORS]
    operators = [given(op.name, null_is_a_value=op.absent is msgspec.UNSET) for op in OPERATORS.values()]
    return {
        "oneOf": [
            {"title": "combinator", "oneOf": combinators, "not": {"anyOf": [given("feature"), *operators]}},
            {"title": "comparison", "allOf": [given("feature")], "oneOf": operators, "not": {"anyOf": combinators}},
        ],
        # an operator's extra (min_count) only beside its operator
        "dependentRequired": {extra.name: [op.name] for op in OPERATORS.values() for extra in op.extras},
    }


if TYPE_CHECKING:

    class Condition(Strict, frozen=True):
        all: list[Condition] | None
        any: list[Condition] | None
        not_: Condition | None
        feature: str | None
        min_count: int | msgspec.UnsetType

else:
    Condition = msgspec.defstruct(
        "Condition",
        _fields(),
        bases=(Strict,),
        module=__name__,
        namespace={
            "__doc__": "A condition over request features: a combinator (exactly one of `all`, `any`, `not`) or "
            "a comparison (`feature` plus exactly one operator of " + ", ".join(OPERATORS) + ").",
            "__post_init__": _check_condition,
            "__schema_extra__": _schema_extra(),
            "__field_docs__": {
                "all": "True when every sub-condition is true. A combinator: use alone, without `feature`.",
                "any": "True when at least one sub-condition is true. A combinator: use alone, without `feature`.",
                "not": "True when the sub-condition is false. A combinator: use alone, without `feature`.",
                "feature": "The request feature to compare, with exactly one operator: a registered feature "
                "(see the examples), `header.<name>` (a request header) or `metadata.<key>` (a key of the body's "
                "`metadata`). Unknown names are reported by `tiergate validate`.",
                **{op.name: f"True when {op.doc}." for op in OPERATORS.values()},
                **{e.name: e.doc for op in OPERATORS.values() for e in op.extras},
            },
        },
    )
