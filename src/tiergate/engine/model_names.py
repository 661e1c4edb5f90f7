"""Model names a client sends, matched against ``routing.explicit.models`` patterns.

Coding clients send their own vendor's names whatever the gateway serves (Claude Code: ``claude-opus-5-5``,
``claude-sonnet-4-5-20250929``); the rule file says which of them to honour as a tier and which to route
as ``auto``. In a pattern only ``*`` is special (any run of characters); ``[``, ``.`` and the rest are
literal, so ``claude-sonnet-*[1m]`` means what it says.

    names = ModelNames.compile({"claude-opus-*": "opus", "claude-*": "auto"})
    names.match("claude-opus-5-5")      # ("claude-opus-*", "opus")
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass


def glob(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else re.escape(c) for c in pattern), re.DOTALL)


@dataclass(frozen=True)
class ModelNames:
    patterns: tuple[tuple[str, re.Pattern[str], str], ...] = ()

    @classmethod
    def compile(cls, models: Mapping[str, str]) -> ModelNames:
        """Patterns in file order; the first that matches wins."""
        return cls(tuple((pattern, glob(pattern), tier) for pattern, tier in models.items()))

    def match(self, name: str) -> tuple[str, str] | None:
        """``(pattern, tier or auto name)`` of the first pattern matching the whole of ``name``."""
        for pattern, regex, tier in self.patterns:
            if regex.fullmatch(name):
                return pattern, tier
        return None
