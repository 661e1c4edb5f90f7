"""How much of a text the encoder's vocabulary knows: ``learned.unfamiliar``.

The shipped encoder (all-MiniLM-L6-v2) was trained on English; its WordPiece vocabulary holds English words
whole, and splits anything else (German compounds, Spanish inflections, Cyrillic, CJK) into pieces its
vectors were not trained to read. The head then reads an ask in another language as a guess: a hard
redesign asked in German or Japanese read as local work in the probe that found it. This measure lets a
rule notice that: of the letters in the text's words, the share in words the vocabulary does not hold
whole (after its own normalising: lower case, accents stripped). Identifiers (``camelCase``) and inline
code (`` `x` ``) are left out, since code words are unfamiliar in every language. English asks on the
dev set read 0.14 at the median and under 0.7 at most; German, Spanish and Portuguese 0.75-0.85;
Russian, Chinese, Japanese and Korean about 1.

    vocabulary = Vocabulary.of(tokenizer)
    vocabulary.unfamiliar("rename foo to bar in the parser")     # 0.0
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import tokenizers

#: Fewer letters than this: too little text to tell (a terse ask of jargon reads unfamiliar in English).
MIN_LETTERS = 40
#: Characters read: the head of a long ask says what language it is written in.
READ_CHARS = 4000
_WORD = re.compile(r"[^\W\d_]+")
_INLINE_CODE = re.compile(r"`[^`\n]*`")
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
        """The share of the text's word letters in words the vocabulary lacks; 0 for too little text."""
        text = _INLINE_CODE.sub(" ", text[:READ_CHARS])
        letters = unknown = 0
        for match in _WORD.finditer(text):
            word = match.group()
            if _IDENTIFIER.search(word):
                continue
            letters += len(word)
            normal = self.normalizer.normalize_str(word) if self.normalizer is not None else word.lower()
            if normal not in self.words:
                unknown += len(word)
        return unknown / letters if letters >= MIN_LETTERS else 0.0
