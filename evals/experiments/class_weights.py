"""Cost-sensitive sample weights inside the learned head's fit, one set per question.

The shipped head weights every dev row 1 in both regressions and handles the asymmetry of mistakes only
through the cut-offs, which move the boundary without turning it. Here each regression gets its own
per-row weights, so the fitted direction changes too:

- ``local:W``: in the P(>= sonnet) regression the local-gold rows weigh W (the Claude-gold rows 1); the
  P(opus) regression is the shipped one.
- ``opus:W``: in the P(opus) regression the opus-gold rows weigh W (the others 1); the P(>= sonnet)
  regression is the shipped one.
- ``cost``: each row weighs what routing it one step too high would cost under the eval's price model
  (routes.yaml's prices, sonnet $3/$15, opus $15/$75 per 1M tokens; input = the request's
  ``approx_tokens``, output by gold tier as ``tiergate eval`` estimates it), normalised to mean 1 within
  the class it applies to: in the P(>= sonnet) regression a local-gold row weighs its sonnet cost, in
  the P(opus) regression a local- or sonnet-gold row weighs its opus cost minus its gold tier's cost;
  the positive rows weigh 1. ``cost:sqrt`` uses the square root of those costs.
- ``none``: the shipped head (every weight 1).

Same members (static, transformer, static:prose side by side), L2 0.3, and ``tiergate.learned.fit``'s
own ``fit_logistic``; the fold loop is ``train.cross_validated``'s with one weight vector per question.
Cross-validated on evals/dev.jsonl like the other experiments (each group left out, then four shuffles
of five folds; cut-offs chosen for 97% sufficiency each time). evals/test.jsonl is not read.

    OMP_NUM_THREADS=1 .venv/bin/python evals/experiments/class_weights.py none local:2 opus:0.5 cost
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
from folds import dev_set, five_runs, folded, print_summary

from tiergate.engine.graph import compile_graph
from tiergate.evals.metrics import TierTable, output_tokens
from tiergate.learned.fit import fit_logistic, predict_logistic


def question_weights(spec: str, gold: np.ndarray, costs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(weights of the P(>= sonnet) regression, weights of the P(opus) one) for a variant."""
    ws, wo = np.ones(len(gold)), np.ones(len(gold))
    kind, _, value = spec.partition(":")
    if kind == "local":
        ws[gold == 0] = float(value)
    elif kind == "opus":
        wo[gold == 2] = float(value)
    elif kind == "cost":
        damp = np.sqrt if value == "sqrt" else (lambda a: a)
        neg_s = gold == 0
        over_s = damp(costs["sonnet"] - costs["local"])
        ws[neg_s] = over_s[neg_s] / over_s[neg_s].mean()
        neg_o = gold < 2
        gold_cost = np.where(gold == 0, costs["local"], costs["sonnet"])
        over_o = damp(costs["opus"] - gold_cost)
        wo[neg_o] = over_o[neg_o] / over_o[neg_o].mean()
    elif kind != "none":
        raise SystemExit(f"unknown variant {spec!r}")
    return ws, wo


def cv_two_weights(ws: np.ndarray, wo: np.ndarray):
    """``train.cross_validated`` (concat) with one weight vector per question; ``w`` is ignored."""

    def predict(
        X: Sequence[np.ndarray], gold: np.ndarray, w: np.ndarray, l2: float, train: np.ndarray, held: np.ndarray
    ):
        x = np.hstack(list(X))
        sonnet = fit_logistic(x[train], (gold[train] >= 1).astype(np.float64), ws[train], l2=l2)
        opus = fit_logistic(x[train], (gold[train] == 2).astype(np.float64), wo[train], l2=l2)
        return predict_logistic(sonnet, x[held]), predict_logistic(opus, x[held])

    return folded(predict)


def main(variants: list[str]) -> None:
    dev = dev_set()
    graph = compile_graph(dev.loaded)
    table = TierTable.of(dev.loaded.config)
    tokens = np.array([float(graph.features(r.case.request)["approx_tokens"]) for r in dev.rows])
    out = np.array([output_tokens(int(g)) for g in dev.gold])
    costs = {t: np.array([table.cost(t, i, o) for i, o in zip(tokens, out, strict=True)]) for t in table.order}
    summary = []
    for spec in variants:
        ws, wo = question_weights(spec, dev.gold, costs)
        summary.append((spec, five_runs(*dev.args(), label=spec, cv=cv_two_weights(ws, wo))))
    print_summary(summary)


if __name__ == "__main__":
    main(sys.argv[1:] or ["none"])
