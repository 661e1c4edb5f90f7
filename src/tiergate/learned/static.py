"""The static encoder: a text is the unit-length mean of its tokens' rows in a distilled table.

No matrix products at request time, so it runs on the event loop: the cost is tokenizing (about 0.5 µs a
character) and one gather. Long texts keep their head and tail, like the transformer's
(:mod:`tiergate.learned.tokens`), with a larger budget because tokens are cheap here. A text with no tokens
(empty, or only whitespace) has no direction and encodes as zeros.

    encoder = StaticEncoder.build(load_weights(), dims=256)     # distils the table once per machine
    encoder.encode(["rename foo to bar"])                        # (1, 256) float32, unit rows
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tiergate.learned.bert import F32, normalise
from tiergate.learned.distil import RECIPE
from tiergate.learned.tables import prepare_table
from tiergate.learned.tokens import Tokenizer
from tiergate.learned.transformer import MODEL
from tiergate.learned.weights import Weights


class StaticEncoder:
    inline = True

    def __init__(self, table: F32, tokenizer: Tokenizer, digest: str) -> None:
        self.table = table
        self.tokenizer = tokenizer
        self.dim = int(table.shape[1])
        self.id = f"{MODEL}/static-{self.dim}-{RECIPE}-{tokenizer.label}@{digest[:8]}"

    @classmethod
    def build(
        cls, weights: Weights, *, dims: int = 256, max_tokens: int = 512, cache_dir: Path | None = None
    ) -> StaticEncoder:
        """Loads the cached table or distils it (tens of seconds, once per machine)."""
        prepared = prepare_table(weights, dims=dims, directory=cache_dir)
        return cls(prepared.table, Tokenizer.parse(weights.tokenizer_json, max_tokens=max_tokens), weights.digest)

    def encode(self, texts: Sequence[str]) -> F32:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            ids = self.tokenizer.content_ids(text)
            if len(ids):
                out[row] = self.table[ids].sum(axis=0)
        return normalise(out)
