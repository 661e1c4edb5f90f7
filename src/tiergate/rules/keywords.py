"""Case-insensitive whole-word keyword matching, compiled once per list.

Single-word keywords are looked up in the text's word set (built once per request and text);
a phrase ("security audit", "lock-free") is searched for only when each of its words is in that
set, so most phrases cost a set test and no scan of the text.

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
    __slots__ = ("_phrases", "_singles", "words")

    def __init__(self, words: list[str]) -> None:
        self.words = tuple(dict.fromkeys(w.lower().strip() for w in words if w.strip()))
        self._singles = frozenset(w for w in self.words if _WORD.match(w))
        self._phrases = tuple(
            (w, frozenset(w.translate(SEPARATORS).split()), re.compile(r"(?<!\w)" + re.escape(w) + r"(?!\w)"))
            for w in self.words
            if w not in self._singles
        )

    def hits(self, source: TextSource, name: str) -> tuple[str, ...]:
        """Distinct keywords found in text feature ``name``, in list order."""
        words = source.words(name)
        return self._match(source.lower(name) if self._phrases else "", words)

    def hits_in(self, text: str) -> tuple[str, ...]:
        """The same for a plain string."""
        lowered = text.lower()
        return self._match(lowered, frozenset(lowered.translate(SEPARATORS).split()))

    def _match(self, lowered: str, words: frozenset[str]) -> tuple[str, ...]:
        found = self._singles & words
        # A phrase can only occur if each of its words does: a set test spares most substring scans.
        phrases = {w for w, parts, rx in self._phrases if parts <= words and rx.search(lowered)}
        if not found and not phrases:
            return ()
        return tuple(w for w in self.words if w in found or w in phrases)
