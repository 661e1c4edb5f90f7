"""Case-insensitive whole-word keyword matching, compiled once per list.

Single-word keywords are looked up in the text's word set (built once per request and text);
a phrase ("security audit", "lock-free") is searched for only when each of its words is in that
set, and phrases are indexed by their longest word, so most cost nothing at all.

    matcher = KeywordMatcher(["security audit", "race"])
    matcher.hits(features, "last_user_text")   # ("security audit",)
"""

from __future__ import annotations

import re
from typing import Protocol


class TextSource(Protocol):
    def lower(self, name: str) -> str: ...

    def words(self, name: str) -> frozenset[str]: ...


_WORD = re.compile(r"^\w+$")
#: Punctuation and whitespace become spaces before a text is split into words.
SEPARATORS = str.maketrans(dict.fromkeys("!\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~\t\n\r", " "))


class KeywordMatcher:
    __slots__ = ("_by_key", "_keys", "_singles", "words")

    def __init__(self, words: list[str]) -> None:
        self.words = tuple(dict.fromkeys(w.lower().strip() for w in words if w.strip()))
        self._singles = frozenset(w for w in self.words if _WORD.match(w))
        # Each phrase is filed under its longest word (the likeliest to be rare): a text that lacks
        # that word cannot contain the phrase, so most phrases are never looked at.
        by_key: dict[str, list[tuple[str, frozenset[str], re.Pattern[str]]]] = {}
        for w in self.words:
            if w in self._singles:
                continue
            parts = frozenset(w.translate(SEPARATORS).split())
            rx = re.compile(r"(?<!\w)" + re.escape(w) + r"(?!\w)")
            by_key.setdefault(max(parts, key=len), []).append((w, parts, rx))
        self._by_key = by_key
        self._keys = frozenset(by_key)

    def hits(self, source: TextSource, name: str) -> tuple[str, ...]:
        """Distinct keywords found in text feature ``name``, in list order."""
        words = source.words(name)
        found = self._singles & words
        candidates = self._keys & words
        if candidates:
            found = found | self._phrases_in(source.lower(name), words, candidates)
        if not found:
            return ()
        return tuple(w for w in self.words if w in found)

    def _phrases_in(self, lowered: str, words: frozenset[str], candidates: frozenset[str]) -> frozenset[str]:
        return frozenset(
            w for key in candidates for w, parts, rx in self._by_key[key] if parts <= words and rx.search(lowered)
        )
