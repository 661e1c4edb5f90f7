"""The public outcome set in the P(opus) regression only.

The shipped head's binding constraint is telling sonnet work from opus work: the opus-worthy asks it sends
to sonnet use up the under-routing that 97% sufficiency allows, so the sonnet cut-off sits low and many
local-worthy asks go to sonnet (docs/encoders.md). The public outcome set (../shared/data, 1,593 contest
problems and repository issues, each labelled with the cheapest tier that solved it) hurt beside dev when
both regressions read it: its prompts are never IDE asks, so it pulls the local boundary. Here only the
P(opus) regression reads it, so it can teach the sonnet/opus boundary without touching the local one:

- ``claude:W``: its sonnet- and opus-labelled rows (910), weight W, in the P(opus) regression;
- ``all:W``: all its rows (local and sonnet as negatives), weight W, in the P(opus) regression;
- ``none``: the shipped head.

Same members, L2 0.3, ``tiergate.learned.fit``'s own regressions; the public rows are in every training
fold and never scored. Cross-validated on evals/dev.jsonl like the other experiments (each group left out,
then four shuffles of five folds; cut-offs chosen for 97% sufficiency each time). evals/test.jsonl is not
read.

    OMP_NUM_THREADS=1 .venv/bin/python evals/experiments/public_opus.py none claude:0.05 claude:0.2 all:0.2
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


def cv_public_opus(public_x: np.ndarray, public_gold: np.ndarray, weight: float):
    """``train.cross_validated`` (concat) with the public rows added to each fold's P(opus) fit."""

    def predict(
        X: Sequence[np.ndarray], gold: np.ndarray, w: np.ndarray, l2: float, train: np.ndarray, held: np.ndarray
    ):
        x = np.hstack(list(X))
        sonnet = fit_logistic(x[train], (gold[train] >= 1).astype(np.float64), w[train], l2=l2)
        xo = np.vstack([x[train], public_x])
        yo = np.concatenate([gold[train] == 2, public_gold == 2]).astype(np.float64)
        wo = np.concatenate([w[train], np.full(len(public_gold), weight)])
        opus = fit_logistic(xo, yo, wo, l2=l2)
        return predict_logistic(sonnet, x[held]), predict_logistic(opus, x[held])

    return folded(predict)


def main(variants: list[str]) -> None:
    dev = dev_set()
    public_rows = T.rows_from_dataset(PUBLIC, 1.0, compile_graph(dev.loaded))
    embedders = T.build_embedders(MEMBERS, dev.loaded.config.routing.learned)
    public_x = np.hstack(T.embed_all(embedders, [r.text for r in public_rows], inputs=MEMBERS))
    public_gold = np.array([r.gold for r in public_rows])
    summary = []
    for spec in variants:
        kind, _, value = spec.partition(":")
        if kind == "none":
            cv = None
        else:
            keep = public_gold >= 1 if kind == "claude" else np.ones(len(public_gold), dtype=bool)
            cv = cv_public_opus(public_x[keep], public_gold[keep], float(value))
        summary.append((spec, five_runs(*dev.args(), label=spec, cv=cv)))
    print_summary(summary)


if __name__ == "__main__":
    main(sys.argv[1:] or ["none"])
