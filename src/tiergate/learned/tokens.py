"""Text to WordPiece ids, bounded: ``[CLS]`` + head + tail + ``[SEP]``, at most ``max_tokens`` in all.

The shipped tokenizer.json pads and truncates to 128; both are switched off here and the bound is applied
by hand. A long ask keeps its head and its tail: the task is usually stated first and the question last,
with the pasted code or log between them. The text is cut to a character budget before tokenizing, so a
megabyte paste costs no more than one that just fills ``max_tokens``.

    tokens = Tokenizer.parse(weights.tokenizer_json, max_tokens=256)
    tokens.ids("rename foo to bar")     # array([ 101, 14916, ..., 102])
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import tokenizers

from tiergate.learned.vocabulary import Vocabulary

#: Characters kept per token of budget before tokenizing. English and code run 3-5 a token, so this cuts
#: only what the token bound would drop anyway; tokenizing costs ~0.5 µs a character, so it bounds that.
CHARS_PER_TOKEN = 12


@dataclass(frozen=True)
class Tokenizer:
    inner: tokenizers.Tokenizer
    max_tokens: int
    cls_id: int
    sep_id: int
    vocab_size: int

    @classmethod
    def parse(cls, tokenizer_json: str, *, max_tokens: int) -> Tokenizer:
        """Raises ValueError when the JSON is not a tokenizer with ``[CLS]``/``[SEP]``, or max_tokens < 3."""
        if max_tokens < 3:
            raise ValueError(f"max_tokens must be at least 3 ([CLS], one token, [SEP]), not {max_tokens}")
        try:
            inner = tokenizers.Tokenizer.from_str(tokenizer_json)
        except Exception as exc:  # the Rust binding raises plain Exception
            raise ValueError(f"tokenizer.json: {exc}") from exc
        inner.no_padding()
        inner.no_truncation()
        cls_id, sep_id = inner.token_to_id("[CLS]"), inner.token_to_id("[SEP]")
        if cls_id is None or sep_id is None:
            raise ValueError("tokenizer.json: no [CLS] or [SEP] token")
        return cls(inner, max_tokens, cls_id, sep_id, inner.get_vocab_size())

    @functools.cached_property
    def vocabulary(self) -> Vocabulary:
        """Its whole words, to tell how much of a text it knows (``learned.unfamiliar``); built once."""
        return Vocabulary.of(self.inner)

    @property
    def label(self) -> str:
        """How text is bounded, for encoder ids: a change here changes long texts' vectors, so the id changes."""
        return f"t{self.max_tokens}c{CHARS_PER_TOKEN}"

    def ids(self, text: str) -> npt.NDArray[np.int64]:
        """``[CLS] ... [SEP]``, at most ``max_tokens`` ids, head and tail kept when the text is longer."""
        return self._bounded(text, self.max_tokens - 2, special=True)

    def content_ids(self, text: str) -> npt.NDArray[np.int64]:
        """The same bound and the same head + tail, without ``[CLS]``/``[SEP]``: for the static table."""
        return self._bounded(text, self.max_tokens, special=False)

    def _bounded(self, text: str, keep: int, *, special: bool) -> npt.NDArray[np.int64]:
        budget = keep * CHARS_PER_TOKEN
        if len(text) > budget:
            text = text[: budget // 2] + "\n" + text[-(budget - budget // 2) :]
        try:
            body = self.inner.encode(text, add_special_tokens=False).ids
        except TypeError:  # lone surrogates (valid in a JSON string) are not text to the Rust side
            body = self.inner.encode(text.encode("utf-8", "replace").decode("utf-8"), add_special_tokens=False).ids
        if len(body) > keep:
            head = keep - keep // 2
            body = body[:head] + body[len(body) - (keep - head) :]
        if special:
            body = [self.cls_id, *body, self.sep_id]
        return np.asarray(body, dtype=np.int64)
