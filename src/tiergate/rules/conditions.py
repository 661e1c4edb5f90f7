"""Compile a ``when:`` tree into a predicate over :class:`Features`.

Combinators (``all``, ``any``, ``not``) are compiled here; each comparison goes through its operator's
entry in :mod:`tiergate.rules.operators`. Everything that can be done once is done here: feature names
resolved, regexes and keyword lists compiled, operands coerced. Unknown features and bad operands come
back as Problems with their path, so the loader can cite file:line.

    pred = compile_condition(rule.when, ("routing", "rules", 0, "when"), ctx)
    pred(features)            # bool
    pred.explain(features)    # {"total_chars": 31000}: the leaf values, for the decision's signals
"""

from __future__ import annotations

from tiergate.config.problems import Path
from tiergate.rules.context import CompileContext, Predicate
from tiergate.rules.operators import Condition, compile_leaf


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
    return compile_leaf(cond, path, ctx)
