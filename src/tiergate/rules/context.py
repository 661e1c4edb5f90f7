"""What compiling a rule needs from the rest of the file, and what it produces.

A condition compiles to a :class:`Predicate` (a test over :class:`Features`, plus the leaf values that
explain it); problems found on the way go to the context with their path, so the loader can cite
file:line. Keyword lists are compiled once per load and shared by every rule that names them.

    ctx = CompileContext(config.routing.keywords, source.problem, problems)
    matcher = ctx.matcher("deep_reasoning")
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from tiergate.config.problems import Path, Problem, did_you_mean
from tiergate.rules.features import FAMILIES, FEATURES, Features, is_known
from tiergate.rules.keywords import KeywordMatcher


@dataclass
class CompileContext:
    keyword_lists: dict[str, list[str]]
    problem: Callable[[Path, str], Problem]
    problems: list[Problem]
    #: The file's tier names, for families whose keys name a tier (``target.local.ttft_p95_ms``).
    tiers: Collection[str] = ()
    _matchers: dict[tuple[str, ...], KeywordMatcher] = field(default_factory=dict)

    def matcher(self, spec: str | list[str]) -> KeywordMatcher:
        words = self.keyword_lists.get(spec, []) if isinstance(spec, str) else spec
        key = tuple(words)
        if key not in self._matchers:
            self._matchers[key] = KeywordMatcher(list(words))
        return self._matchers[key]

    def check_feature(self, name: str, path: Path) -> bool:
        if is_known(name):
            prefix, _, key = name.partition(".")
            fam = FAMILIES.get(prefix) if name not in FEATURES else None
            wrong = fam.check(key, self.tiers) if fam is not None and fam.check is not None else None
            if wrong is not None:
                self.report(path, f"feature '{name}': {wrong}")
                return False
            return True
        choices = [*FEATURES, *(f"{fam}." for fam in FAMILIES)]
        self.report(path, f"unknown feature '{name}'{did_you_mean(name, choices)}")
        return False

    def report(self, path: Path, message: str) -> None:
        self.problems.append(self.problem(path, message))

    def warn(self, path: Path, message: str) -> None:
        self.problems.append(dataclasses.replace(self.problem(path, message), severity="warning"))


class Predicate:
    """A compiled condition: ``pred(features)`` tests it, ``pred.explain(features)`` shows its inputs."""

    __slots__ = ("leaves", "test")

    def __init__(self, test: Callable[[Features], bool], leaves: list[tuple[str, Callable[[Features], Any]]]) -> None:
        self.test = test
        self.leaves = leaves

    def __call__(self, f: Features) -> bool:
        return self.test(f)

    def explain(self, f: Features) -> dict[str, Any]:
        """Each leaf's value by its feature's name; a feature a condition reads again is numbered (``system_text
        #2``), so two patterns on one text each show theirs (one overwrote the other, and a rule forced LOCAL
        showed only a false)."""
        shown: dict[str, Any] = {}
        for name, get in self.leaves:
            key, n = name, 1
            while key in shown:
                n += 1
                key = f"{name} #{n}"
            shown[key] = get(f)
        return shown


NEVER = Predicate(lambda f: False, [])
