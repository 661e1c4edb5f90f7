"""A small non-linear head in place of the two logistic regressions, on the same inputs.

Every head tried so far is linear in the members' vectors (or nearest neighbours). Here one hidden layer
reads the same three members side by side (static, transformer, static:prose) and answers both questions:

- ``mlp:H``: ``H`` tanh units shared by the two questions (two sigmoid outputs, P(>= sonnet) and P(opus)),
  fitted together on the sum of both questions' weighted log-losses;
- ``mlp2:H``: one such network per question;
- ``mlp:H:L``, ``mlp2:H:L``: the same with L2 ``L`` instead of the shipped head's 0.3;
- ``none``: the shipped head (``tiergate.learned.fit``'s logistic regressions).

Full-batch Adam, 300 steps, L2 (0.3 unless given; scaled like ``fit_logistic``'s) on both layers,
initial weights from a seeded normal; P(>= sonnet) is raised to P(opus) as the head does.
Cross-validated on evals/dev.jsonl like the other experiments (each group left out, then four shuffles of
five folds; cut-offs chosen for 97% sufficiency each time). evals/test.jsonl is not read.

    OMP_NUM_THREADS=1 .venv/bin/python evals/experiments/mlp.py none mlp:16 mlp:64 mlp2:16
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
from folds import dev_set, five_runs, folded, print_summary

STEPS = 300
RATE = 0.01


def fit_mlp(x: np.ndarray, y: np.ndarray, w: np.ndarray, hidden: int, l2: float, seed: int = 0) -> list[np.ndarray]:
    """One tanh layer, ``y.shape[1]`` sigmoid outputs; the loss is the weighted mean log-loss summed over
    outputs, plus ``l2 / 2n`` times the squared weights (biases free): ``fit_logistic``'s objective over n."""
    rng = np.random.default_rng(seed)
    n, d = x.shape
    k = y.shape[1]
    params = [
        rng.normal(0, 1 / np.sqrt(d), (d, hidden)),
        np.zeros(hidden),
        rng.normal(0, 1 / np.sqrt(hidden), (hidden, k)),
        np.zeros(k),
    ]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    share = w / w.sum()
    for step in range(1, STEPS + 1):
        W1, b1, W2, b2 = params
        h = np.tanh(x @ W1 + b1)
        p = 1 / (1 + np.exp(-(h @ W2 + b2)))
        dz = (p - y) * share[:, None]
        gW2 = h.T @ dz + l2 / n * W2
        gb2 = dz.sum(0)
        dh = (dz @ W2.T) * (1 - h * h)
        gW1 = x.T @ dh + l2 / n * W1
        gb1 = dh.sum(0)
        for i, g in enumerate((gW1, gb1, gW2, gb2)):
            m[i] = 0.9 * m[i] + 0.1 * g
            v[i] = 0.999 * v[i] + 0.001 * g * g
            params[i] = params[i] - RATE * (m[i] / (1 - 0.9**step)) / (np.sqrt(v[i] / (1 - 0.999**step)) + 1e-8)
    return params


def predict_mlp(params: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    W1, b1, W2, b2 = params
    return 1 / (1 + np.exp(-(np.tanh(x @ W1 + b1) @ W2 + b2)))


def cv_mlp(spec: str):
    kind, size, *strength = spec.split(":")
    hidden = int(size)
    penalty = float(strength[0]) if strength else None

    def predict(
        X: Sequence[np.ndarray], gold: np.ndarray, w: np.ndarray, l2: float, train: np.ndarray, held: np.ndarray
    ):
        l2 = penalty if penalty is not None else l2
        x = np.hstack(list(X))
        y = np.stack([(gold >= 1), (gold == 2)], axis=1).astype(np.float64)
        if kind == "mlp":
            p = predict_mlp(fit_mlp(x[train], y[train], w[train], hidden, l2), x[held])
            return p[:, 0], p[:, 1]
        ps = predict_mlp(fit_mlp(x[train], y[train, :1], w[train], hidden, l2), x[held])[:, 0]
        po = predict_mlp(fit_mlp(x[train], y[train, 1:], w[train], hidden, l2), x[held])[:, 0]
        return ps, po

    return folded(predict)


def main(variants: list[str]) -> None:
    dev = dev_set()
    summary = []
    for spec in variants:
        cv = None if spec == "none" else cv_mlp(spec)
        summary.append((spec, five_runs(*dev.args(), label=spec, cv=cv)))
    print_summary(summary)


if __name__ == "__main__":
    main(sys.argv[1:] or ["none"])
