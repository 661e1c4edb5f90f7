"""Case-insensitive whole-word keyword matching, compiled once per list.

A substring test (C speed) screens each keyword first; only keywords present somewhere in the text
pay for the word-boundary regex. On a 100k-character prompt with no hits that is one pass per
keyword and no regex at all.

    matcher = KeywordMatcher(["security audit", "race condition"])
    matcher.hits("Please do a Security Audit of auth.py")   # ("security audit",)
"""

from __future__ import annotations

import re


class KeywordMatcher:
    __slots__ = ("words", "_checks")

    def __init__(self, words: list[str]) -> None:
        self.words = tuple(dict.fromkeys(w.lower().strip() for w in words if w.strip()))
        self._checks = tuple(
            (w, re.compile(r"(?<!\w)" + re.escape(w) + r"(?!\w)")) for w in self.words
        )

    def hits(self, lowered: str) -> tuple[str, ...]:
        """Distinct keywords found in ``lowered`` (already lower-cased text)."""
        return tuple(w for w, rx in self._checks if w in lowered and rx.search(lowered))

    def count(self, lowered: str) -> int:
        return len(self.hits(lowered))
