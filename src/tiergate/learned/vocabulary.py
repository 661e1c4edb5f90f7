"""How much of a text the encoder's vocabulary knows: ``learned.unfamiliar``.

The shipped encoder (all-MiniLM-L6-v2) was trained on English; its WordPiece vocabulary holds English words
whole, and splits anything else (German compounds, Spanish inflections, Cyrillic, CJK) into pieces its
vectors were not trained to read. The head then reads an ask in another language as a guess: a hard
redesign asked in German or Japanese read as local work in the probe that found it. This measure lets a
rule notice that: of the letters in the text's words, the share in words the vocabulary does not hold
whole (after its own normalising: lower case, accents stripped). Identifiers (``camelCase``) and inline
code (`` `x` ``) are left out, since code words are unfamiliar in every language, and so is text that reads
as English by its function words (``the``, ``to``, ``with``...), since the tool and library names of an
English ask (pydantic, tsconfig, memoize) are unfamiliar too. German, Spanish and Portuguese read
0.75-0.85; Russian, Chinese, Japanese and Korean about 1.

    vocabulary = Vocabulary.of(tokenizer)
    vocabulary.unfamiliar("rename foo to bar in the parser")     # 0.0
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import tokenizers

#: Fewer letters than this: too little text to tell (a terse ask of jargon reads unfamiliar in English).
MIN_LETTERS = 40
#: ...unless this many of them are in another script than the Latin one (Cyrillic, CJK, Hangul, Arabic...): no
#: English jargon is written so, and a short question in those scripts is short in letters ("이 코드 안전한가요?",
#: eight; "ロックなしで大丈夫", eight), so the minimum for Latin text would leave every one of them read as a guess.
MIN_SCRIPT_LETTERS = 4
#: Characters read: the head of a long ask says what language it is written in.
READ_CHARS = 4000
#: English words that no other common language writes as words of its own: not "a", "in", "so" or "to"
#: (Polish), "do" (Portuguese), "was" and "will" (German), "is" and "we" (Dutch), "on" and "or" (French),
#: "for" (Danish), "my" (Polish). Two of them, and at least ``ENGLISH_SHARE`` of the words, and the text is
#: English whatever jargon it holds.
FUNCTION_WORDS = frozenset(
    [
        "the", "and", "with", "of", "this", "that", "these", "those", "should", "would", "could", "which",
        "what", "why", "how", "when", "where", "you", "your", "our", "they", "them", "their", "it", "its",
        "from", "into", "about", "because", "there", "than", "but", "not", "does", "doesn", "are", "isn",
        "have", "has", "been", "any", "every", "after", "before", "then", "if",
    ]
)  # fmt: skip
ENGLISH_SHARE = 0.08
_WORD = re.compile(r"[^\W\d_]+")
#: Inline code, and the markers the ask's reading puts in place of a fenced block (``[code]``, ``ask_prose``) or
#: an attached file (``[file src/app.py]``): words of no language, which would read a short question in another
#: language as a third English.
_INLINE_CODE = re.compile(r"`[^`\n]*`|\[code\]|\[file [^\]\n]*\]")
_IDENTIFIER = re.compile(r"[a-z][A-Z]")


@dataclass(frozen=True)
class Vocabulary:
    words: frozenset[str]
    normalizer: tokenizers.normalizers.Normalizer | None

    @classmethod
    def of(cls, tokenizer: tokenizers.Tokenizer) -> Vocabulary:
        """The whole words of ``tokenizer``'s vocabulary (not its ``##`` continuation pieces)."""
        words = frozenset(t for t in tokenizer.get_vocab() if not t.startswith("##"))
        return cls(words, tokenizer.normalizer)

    def unfamiliar(self, text: str) -> float:
        """The share of the text's word letters in words the vocabulary lacks; 0 for too little text, and 0
        for text that reads as English by its function words (jargon is unfamiliar in every language: "add
        docstrings to the pydantic validators and dataclasses" is English all the same)."""
        text = _INLINE_CODE.sub(" ", text[:READ_CHARS])
        letters = unknown = function = words = script = 0
        for match in _WORD.finditer(text):
            word = match.group()
            if _IDENTIFIER.search(word):
                continue
            words += 1
            letters += len(word)
            normal = word.lower() if word.isascii() else self._normal(word)
            if not word.isascii() and not _latin(word):
                script += len(word)
            function += normal in FUNCTION_WORDS
            if normal not in self.words:
                unknown += len(word)
        too_little = letters < MIN_LETTERS and script < MIN_SCRIPT_LETTERS
        if too_little or (function >= 2 and function >= ENGLISH_SHARE * words):
            return 0.0
        return unknown / letters

    def _normal(self, word: str) -> str:
        """As the encoder reads a word: lower case, accents stripped (its normaliser, for non-ASCII words only:
        it costs a call into the tokenizer, and lower-casing is all it does to ASCII)."""
        return self.normalizer.normalize_str(word) if self.normalizer is not None else word.lower()


def _latin(word: str) -> bool:
    """Every letter of ``word`` is in the Latin script (accented or not: "déjà", "Straße")."""
    return all(ch.isascii() or unicodedata.name(ch, "").startswith("LATIN") for ch in word)
