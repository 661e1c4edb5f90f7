"""The members' vectors whitened, or cut to their main components, before the regressions.

The head's L2 penalty treats every direction of a member's vectors alike, and sentence vectors are far from
isotropic: a few directions carry most of the variance (what every coding ask shares), many carry little.
Two ways to change that geometry, each fitted inside every fold on the training rows only (and, with
``+public``, the public outcome set's prompts as unlabelled text; its labels are not read):

- ``white:A``: each member centred and whitened by its covariance shrunk towards a multiple of the identity
  (``(1 - A) C + A tr(C)/d I``), so the penalty weighs every direction by its spread;
- ``pca:K``: each member centred and projected on its K main components, the rest dropped.

Both are linear maps, so a head fitted this way is still one linear head at run time (the map folds into
its weights and bias). Same members, L2 0.3, ``tiergate.learned.fit``'s own regressions. Cross-validated on
evals/dev.jsonl like the other experiments (each group left out, then four shuffles of five folds; cut-offs
chosen for 97% sufficiency each time). evals/test.jsonl is not read.

    cd evals/experiments
    OMP_NUM_THREADS=1 ../../.venv/bin/python whitening.py none white:0.3 white:0.7 pca:32 pca:96
    OMP_NUM_THREADS=1 ../../.venv/bin/python whitening.py \
        white:0.5+public white:0.7+public white:0.85+public pca:96+public
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
from folds import MEMBERS, ROOT, dev_set, five_runs, folded, print_summary

from tiergate.engine.graph import compile_graph
from tiergate.learned import train as T
from tiergate.learned.fit import fit_logistic, predict_logistic

PUBLIC = ROOT.parent / "shared/data/public-outcomes.jsonl"


def linear_map(rows: np.ndarray, kind: str, value: float) -> tuple[np.ndarray, np.ndarray]:
    """The centre and the matrix of ``kind`` fitted on ``rows``."""
    mean = rows.mean(axis=0)
    cov = np.cov(rows - mean, rowvar=False)
    vals, vecs = np.linalg.eigh(cov)
    if kind == "pca":
        top = np.argsort(vals)[::-1][: int(value)]
        return mean, vecs[:, top]
    shrunk = (1 - value) * vals + value * vals.sum() / len(vals)
    scale = np.sqrt(vals.sum() / len(vals))  # keeps the members' overall size, so L2 means what it did
    return mean, vecs @ np.diag(scale / np.sqrt(shrunk)) @ vecs.T


def cv_mapped(kind: str, value: float, extra: Sequence[np.ndarray] | None):
    def predict(
        X: Sequence[np.ndarray], gold: np.ndarray, w: np.ndarray, l2: float, train: np.ndarray, held: np.ndarray
    ):
        blocks = []
        for at, member in enumerate(X):
            fit_on = member[train] if extra is None else np.vstack([member[train], extra[at]])
            mean, matrix = linear_map(fit_on, kind, value)
            blocks.append((member - mean) @ matrix)
        x = np.hstack(blocks)
        sonnet = fit_logistic(x[train], (gold[train] >= 1).astype(np.float64), w[train], l2=l2)
        opus = fit_logistic(x[train], (gold[train] == 2).astype(np.float64), w[train], l2=l2)
        return predict_logistic(sonnet, x[held]), predict_logistic(opus, x[held])

    return folded(predict)


def main(variants: list[str]) -> None:
    dev = dev_set()
    public: list[np.ndarray] | None = None
    if any(spec.endswith("+public") for spec in variants):
        rows = T.rows_from_dataset(PUBLIC, 1.0, compile_graph(dev.loaded))
        embedders = T.build_embedders(MEMBERS, dev.loaded.config.routing.learned)
        public = list(T.embed_all(embedders, [r.text for r in rows], inputs=MEMBERS))
    summary = []
    for spec in variants:
        name, plus, _ = spec.partition("+")
        kind, _, value = name.partition(":")
        cv = None if kind == "none" else cv_mapped(kind, float(value), public if plus else None)
        summary.append((spec, five_runs(*dev.args(), label=spec, cv=cv)))
    print_summary(summary)


if __name__ == "__main__":
    main(sys.argv[1:] or ["none"])
