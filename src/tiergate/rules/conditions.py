"""Compile a ``when:`` tree into a predicate over :class:`Features`.

Everything that can be done once is done here: feature names resolved, regexes and keyword lists
compiled, operands coerced. Unknown features and bad operands come back as Problems with their
path, so the loader can cite file:line.

    pred = compile_condition(rule.when, ("routing", "rules", 0, "when"), ctx)
    pred(features)            # bool
    pred.explain(features)    # {"total_chars": 31000} — the leaf values, for the decision's signals
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from tiergate.config.model import Condition
from tiergate.config.problems import Path, Problem, did_you_mean
from tiergate.rules.features import FAMILIES, FEATURES, Features, is_known, kind_of
from tiergate.rules.keywords import KeywordMatcher


@dataclass
class CompileContext:
    """What compiling needs from the rest of the file, and where problems go."""

    keyword_lists: dict[str, list[str]]
    problem: Callable[[Path, str], Problem]
    problems: list[Problem]
    _matchers: dict[tuple[str, ...], KeywordMatcher] | None = None

    def matcher(self, spec: str | list[str]) -> KeywordMatcher:
        words = self.keyword_lists.get(spec, []) if isinstance(spec, str) else spec
        key = tuple(words)
        if self._matchers is None:
            self._matchers = {}
        if key not in self._matchers:
            self._matchers[key] = KeywordMatcher(list(words))
        return self._matchers[key]

    def check_feature(self, name: str, path: Path) -> bool:
        if is_known(name):
            return True
        choices = [*FEATURES, *(f"{fam}." for fam in FAMILIES)]
        self.problems.append(self.problem(path, f"unknown feature '{name}'{did_you_mean(name, choices)}"))
        return False


class Predicate:
    __slots__ = ("leaves", "test")

    def __init__(self, test: Callable[[Features], bool], leaves: list[tuple[str, Callable[[Features], Any]]]) -> None:
        self.test = test
        self.leaves = leaves

    def __call__(self, f: Features) -> bool:
        return self.test(f)

    def explain(self, f: Features) -> dict[str, Any]:
        return {name: get(f) for name, get in self.leaves}


_NUMERIC = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


def compile_condition(cond: Condition, path: Path, ctx: CompileContext) -> Predicate:
    if cond.all is not None:
        parts = [compile_condition(c, (*path, "all", i), ctx) for i, c in enumerate(cond.all)]
        tests = tuple(p.test for p in parts)
        return Predicate(lambda f: all(t(f) for t in tests), [leaf for p in parts for leaf in p.leaves])
    if cond.any is not None:
        parts = [compile_condition(c, (*path, "any", i), ctx) for i, c in enumerate(cond.any)]
        tests = tuple(p.test for p in parts)
        return Predicate(lambda f: any(t(f) for t in tests), [leaf for p in parts for leaf in p.leaves])
    if cond.not_ is not None:
        inner = compile_condition(cond.not_, (*path, "not"), ctx)
        test = inner.test
        return Predicate(lambda f: not test(f), inner.leaves)
    return _compile_leaf(cond, path, ctx)


def _compile_leaf(cond: Condition, path: Path, ctx: CompileContext) -> Predicate:
    name = cond.feature
    assert name is not None
    never = Predicate(lambda f: False, [])
    if not ctx.check_feature(name, (*path, "feature")):
        return never
    kind = kind_of(name)
    op = cond.operators()[0]

    def get(f: Features) -> Any:
        return f[name]

    if op in _NUMERIC:
        if kind in ("text",):
            ctx.problems.append(
                ctx.problem(
                    (*path, op), f"`{op}` compares numbers, but '{name}' is text; use `contains_any` or `matches`"
                )
            )
            return never
        bound = float(getattr(cond, op))
        cmp = _NUMERIC[op]
        return Predicate(lambda f: _num(f[name], cmp, bound), [(name, get)])
    if op in ("eq", "ne"):
        expected = getattr(cond, op)
        negate = op == "ne"
        return Predicate(lambda f: (f[name] == expected) != negate, [(name, get)])
    if op in ("in", "not_in"):
        values = frozenset(_hashable(v) for v in (cond.in_ if op == "in" else cond.not_in) or [])
        negate = op == "not_in"
        return Predicate(lambda f: (_hashable(f[name]) in values) != negate, [(name, get)])
    if op == "matches":
        assert cond.matches is not None
        try:
            rx = re.compile(cond.matches)
        except re.error:
            return never  # reported by the semantic check, with its path
        return Predicate(
            lambda f: rx.search(str(f[name])) is not None, [(name, lambda f: bool(rx.search(str(f[name]))))]
        )
    assert cond.contains_any is not None
    if kind not in ("text", "str"):
        ctx.problems.append(
            ctx.problem((*path, "contains_any"), f"`contains_any` searches text, but '{name}' is a {kind}")
        )
        return never
    matcher = ctx.matcher(cond.contains_any)
    need = cond.min_count
    label = cond.contains_any if isinstance(cond.contains_any, str) else "keywords"
    return Predicate(
        lambda f: len(f.keyword_hits(matcher, name)) >= need,
        [(f"{name}:{label}", lambda f: list(f.keyword_hits(matcher, name)))],
    )


def _num(value: Any, cmp: Callable[[float, float], bool], bound: float) -> bool:
    try:
        return cmp(float(value), bound)
    except (TypeError, ValueError):
        return False


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict):
        return msgspec.json.encode(value)
    return value
