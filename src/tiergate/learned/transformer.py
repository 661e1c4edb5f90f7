"""The transformer encoder: tokens through the numpy BERT, mean-pooled, unit length — all-MiniLM-L6-v2's vectors.

Texts are sorted by token count and run in batches of similar length, so padding wastes little; the output
keeps the input order. At ``max_tokens`` = 256 (sentence-transformers' own limit) and texts that fit, the
vectors match the published model's to float32 precision; longer texts keep their head and tail
(:mod:`tiergate.learned.tokens`) where sentence-transformers keeps only the head.

Cost is the matrix products, linear in tokens: see docs/encoders.md for the figures. Run it off the event
loop (:class:`tiergate.learned.embedder.Embedder` does).

    encoder = TransformerEncoder.build(load_weights(), max_tokens=128)
    encoder.encode(["A man is eating food."])        # (1, 384) float32, unit rows
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tiergate.learned.bert import F32, Bert, pool
from tiergate.learned.tokens import Tokenizer
from tiergate.learned.weights import Weights

MODEL = "minilm-l6-v2"
#: Texts per forward pass when encoding many (training, distillation of a dev set).
BATCH = 16


class TransformerEncoder:
    inline = False

    def __init__(self, bert: Bert, tokenizer: Tokenizer, digest: str) -> None:
        self.bert = bert
        self.tokenizer = tokenizer
        self.dim = bert.config.hidden_size
        self.id = f"{MODEL}/transformer-{tokenizer.label}@{digest[:8]}"

    @classmethod
    def build(cls, weights: Weights, *, max_tokens: int = 256) -> TransformerEncoder:
        """Raises ValueError when ``max_tokens`` is below 3 or above the model's position table."""
        if max_tokens > weights.config.max_positions:
            raise ValueError(f"max_tokens {max_tokens} exceeds the model's {weights.config.max_positions} positions")
        tokenizer = Tokenizer.parse(weights.tokenizer_json, max_tokens=max_tokens)
        return cls(Bert(weights), tokenizer, weights.digest)

    def encode(self, texts: Sequence[str]) -> F32:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        ids = [self.tokenizer.ids(text) for text in texts]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), BATCH):
            chunk = order[start : start + BATCH]
            out[chunk] = self._run([ids[i] for i in chunk])
        return out

    def _run(self, ids: list[np.ndarray]) -> F32:
        seq = max(len(x) for x in ids)
        batch = np.zeros((len(ids), seq), dtype=np.int64)
        mask = np.zeros((len(ids), seq), dtype=np.bool_)
        for row, x in enumerate(ids):
            batch[row, : len(x)] = x
            mask[row, : len(x)] = True
        return pool(self.bert.hidden(batch, mask), mask)
