"""Model names a client sends, matched against ``routing.explicit.models`` patterns.

Coding clients send their own vendor's names whatever the gateway serves (Claude Code: ``claude-opus-5-5``,
``claude-sonnet-4-5-20250929``); the rule file says which of them to honour as a tier and which to route
as ``auto``. In a pattern only ``*`` is special (any run of characters); ``[``, ``.`` and the rest are
literal, so ``claude-sonnet-*[1m]`` means what it says.

    names = ModelNames.compile({"claude-opus-*": "opus", "claude-*": "auto"})
    names.match("claude-opus-5-5")      # ("claude-opus-*", "opus")
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Glob:
    """A pattern whose ``*`` is any run of characters, matched against a whole name without backtracking: the
    text before the first star must begin the name, the text after the last end it, and each piece between
    is found, leftmost, after the one before (which is where a match may put it). One pass over the name per
    piece. (As a regex, ``.*`` per star, two stars and a literal end took seconds on a 100 KB name the
    client chose, and hours on a megabyte.)

        Glob.of("claude-*-*[1m]").matches("claude-sonnet-4-5[1m]")   # True
    """

    pieces: tuple[str, ...]

    @classmethod
    def of(cls, pattern: str) -> Glob:
        return cls(tuple(pattern.split("*")))

    def matches(self, name: str) -> bool:
        if len(self.pieces) == 1:
            return name == self.pieces[0]
        first, last = self.pieces[0], self.pieces[-1]
        if len(name) < len(first) + len(last) or not name.startswith(first) or not name.endswith(last):
            return False
        at, end = len(first), len(name) - len(last)
        for piece in self.pieces[1:-1]:
            found = name.find(piece, at, end)
            if found < 0:
                return False
            at = found + len(piece)
        return True


@dataclass(frozen=True)
class ModelNames:
    patterns: tuple[tuple[str, Glob, str], ...] = ()

    @classmethod
    def compile(cls, models: Mapping[str, str]) -> ModelNames:
        """Patterns in file order; the first that matches wins."""
        return cls(tuple((pattern, Glob.of(pattern), tier) for pattern, tier in models.items()))

    def match(self, name: str) -> tuple[str, str] | None:
        """``(pattern, tier or auto name)`` of the first pattern matching the whole of ``name``."""
        for pattern, glob, tier in self.patterns:
            if glob.matches(name):
                return pattern, tier
        return None
