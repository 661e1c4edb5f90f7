"""Distil a static embedding table from the transformer: model2vec's recipe, deterministic.

1. Every vocabulary id goes through the model once as ``[CLS] token [SEP]`` (batched), and its row is the
   transformer's output at the token's position.
2. PCA to ``dims``: centre, project on the top eigenvectors of the covariance. Each component's sign is
   fixed so that its largest loading is positive (as scikit-learn's ``svd_flip``), so two runs, or two
   machines, give the same table up to float rounding.
3. SIF weighting by rank: BERT's vocabulary is roughly ordered by frequency, so id ``i`` gets Zipf
   probability ``p ∝ 1/(i+2)`` and its row is scaled by ``a / (a + p)`` with ``a`` = 1e-4: frequent tokens
   count less in a text's mean.

``RECIPE`` names these steps; the table's file name and the static encoder's id carry it, so a changed
recipe never reads a table made by the old one.

    table = distil(Bert(weights), tokenizer, dims=256)       # (30522, 256) float32
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tiergate.learned.bert import F32, Bert
from tiergate.learned.tokens import Tokenizer

RECIPE = "m2v1"
SIF = 1e-4
#: Vocabulary ids per forward pass: three tokens each, so 3,072 rows in every matrix product.
BATCH = 1024


def distil(bert: Bert, tokenizer: Tokenizer, *, dims: int = 256, ids: Sequence[int] | None = None) -> F32:
    """The (vocabulary, dims) table. ``ids`` limits the work to those rows (the rest stay zero): for tests."""
    hidden, vocab = bert.config.hidden_size, bert.config.vocab_size
    if not 1 <= dims <= hidden:
        raise ValueError(f"dims must be between 1 and {hidden}, not {dims}")
    chosen = np.arange(vocab, dtype=np.int64) if ids is None else np.unique(np.asarray(ids, dtype=np.int64))
    if len(chosen) <= dims:
        raise ValueError(f"a {dims}-dimension PCA needs more than {dims} vocabulary ids, not {len(chosen)}")
    outputs = np.empty((len(chosen), hidden), dtype=np.float32)
    for start in range(0, len(chosen), BATCH):
        part = chosen[start : start + BATCH]
        seqs = np.stack([np.full_like(part, tokenizer.cls_id), part, np.full_like(part, tokenizer.sep_id)], axis=1)
        outputs[start : start + len(part)] = bert.hidden(seqs)[:, 1]
    table = np.zeros((vocab, dims), dtype=np.float32)
    table[chosen] = pca(outputs, dims) * sif_weights(vocab)[chosen, None]
    return table


def pca(vectors: F32, dims: int) -> F32:
    """Project centred ``vectors`` on their top ``dims`` principal axes, signs fixed."""
    centred = vectors.astype(np.float64)
    centred -= centred.mean(axis=0)
    _, eigenvectors = np.linalg.eigh(centred.T @ centred)  # ascending eigenvalues
    components = eigenvectors[:, ::-1][:, :dims]
    largest = np.abs(components).argmax(axis=0)
    components *= np.sign(components[largest, np.arange(dims)])
    projected: F32 = (centred @ components).astype(np.float32)
    return projected


def sif_weights(vocab: int) -> F32:
    """``a / (a + p(id))`` with Zipf's ``p(id) ∝ 1/(id + 2)``."""
    rank = np.arange(2, vocab + 2, dtype=np.float64)
    proba = (1 / rank) / np.sum(1 / rank)
    return (SIF / (SIF + proba)).astype(np.float32)
