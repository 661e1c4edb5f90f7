"""Other poolings of the transformer's last layer, in place of the shipped mean.

The transformer member is the mean of the last layer's token vectors, unit length (sentence-transformers'
pooling). Here the same forward pass (numpy float32, 128 tokens, head + tail kept: ``TransformerEncoder``'s
``token_states`` below) is pooled another way, and that vector replaces the transformer member beside the
other two (static, static:prose), the three side by side as in the shipped head:

- ``mean``: the shipped pooling, recomputed from the token vectors (a check: the shipped member's figures).
- ``max``: the largest value of each dimension over the real tokens ([CLS] and [SEP] included, as the
  mean includes them), unit length.
- ``head16``: the mean of the first 16 tokens and the mean of all, each unit length, side by side as
  one member of 768 dims (its rows are √2 long); ``head16/unit`` scales that member to unit length.
- ``idf``: a weighted mean, each token's weight its IDF, ``log((1 + N) / (1 + df)) + 1`` where df counts
  the texts among N that hold the token id. The counts come from the training folds only (no labels):
  each fold's member is pooled again with its own counts, and a held-out token unseen in training gets
  the largest weight. [CLS] and [SEP] are in every text and get weight 1, the least.

Cross-validated on evals/dev.jsonl like the other experiments (each group left out, then four shuffles
of five folds; cut-offs chosen for 97% sufficiency each time). evals/test.jsonl is not read.

    OMP_NUM_THREADS=1 .venv/bin/python evals/experiments/pooling.py max head16 idf    # mean: the shipped head
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from folds import dev_set, five_runs, folded, print_summary

from tiergate.learned import train as T
from tiergate.learned.encoder import MAX_TOKENS
from tiergate.learned.fit import fit_ordinal, predict_logistic
from tiergate.learned.transformer import BATCH, TransformerEncoder
from tiergate.learned.weights import load_weights

HEAD = 16

States = list[tuple[np.ndarray, np.ndarray]]


def token_states(encoder: TransformerEncoder, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each text's token ids and the last layer's vector for each token, (tokens,) and (tokens, dim): what
    the encoder's ``encode`` pools, before pooling, batched shortest first as it batches."""
    ids = [encoder.tokenizer.ids(text) for text in texts]
    out: list[tuple[np.ndarray, np.ndarray]] = [(x, np.empty((0, encoder.dim), np.float32)) for x in ids]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    for start in range(0, len(order), BATCH):
        chunk = order[start : start + BATCH]
        seq = max(len(ids[i]) for i in chunk)
        batch = np.zeros((len(chunk), seq), dtype=np.int64)
        mask = np.zeros((len(chunk), seq), dtype=np.bool_)
        for row, i in enumerate(chunk):
            batch[row, : len(ids[i])] = ids[i]
            mask[row, : len(ids[i])] = True
        hidden = encoder.bert.hidden(batch, mask)
        for row, i in enumerate(chunk):
            out[i] = (ids[i], hidden[row, : len(ids[i])].copy())
    return out


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def pooled(states: States, how: str) -> np.ndarray:
    if how == "mean":
        return unit(np.array([h.mean(axis=0) for _, h in states], dtype=np.float64))
    if how == "max":
        return unit(np.array([h.max(axis=0) for _, h in states], dtype=np.float64))
    if how.startswith("head16"):
        head = unit(np.array([h[:HEAD].mean(axis=0) for _, h in states], dtype=np.float64))
        both = np.hstack([head, pooled(states, "mean")])
        return both / np.sqrt(2) if how == "head16/unit" else both
    raise SystemExit(f"unknown pooling {how!r}")


def idf_pooled(states: States, fitted_on: np.ndarray) -> np.ndarray:
    """IDF-weighted means of every row, the document frequencies counted over ``fitted_on`` rows only."""
    df: dict[int, int] = {}
    for i in fitted_on:
        for t in set(states[i][0].tolist()):
            df[t] = df.get(t, 0) + 1
    n = len(fitted_on)
    rows = []
    for ids, h in states:
        w = np.array([np.log((1 + n) / (1 + df.get(int(t), 0))) + 1 for t in ids])
        rows.append((w[:, None] * h).sum(axis=0) / w.sum())
    return unit(np.array(rows, dtype=np.float64))


def cv_member(others: Sequence[np.ndarray], slot: int, member: Callable[[np.ndarray], np.ndarray]):
    """``train.cross_validated`` (concat), the member at ``slot`` rebuilt for each fold from its training rows."""

    def predict(
        X: Sequence[np.ndarray], gold: np.ndarray, w: np.ndarray, l2: float, train: np.ndarray, held: np.ndarray
    ):
        blocks = list(others)
        blocks[slot] = member(train)
        x = np.hstack(blocks)
        sonnet, opus = fit_ordinal(x[train], gold[train], w[train], l2=l2)
        return predict_logistic(sonnet, x[held]), predict_logistic(opus, x[held])

    return folded(predict)


def main(variants: list[str]) -> None:
    dev = dev_set()
    X = dev.X
    learned = dev.loaded.config.routing.learned
    weights_dir = Path(learned.weights_dir) if learned and learned.weights_dir else None
    encoder = TransformerEncoder.build(load_weights(weights_dir), max_tokens=MAX_TOKENS["transformer"])
    states = token_states(encoder, T.view("ask", [r.text for r in dev.rows]))
    check = np.einsum("ij,ij->i", pooled(states, "mean"), X[1])
    print(f"mean pooling vs the shipped member: cosine min {check.min():.6f}", flush=True)
    summary = []
    for how in variants:
        if how == "idf":
            cv = cv_member(X, 1, lambda train: idf_pooled(states, train))
            runs = five_runs(*dev.args(), label=how, cv=cv)
        else:
            runs = five_runs(*dev.args([X[0], pooled(states, how), X[2]]), label=how)
        summary.append((how, runs))
    print_summary(summary)


if __name__ == "__main__":
    main(sys.argv[1:] or ["mean"])
