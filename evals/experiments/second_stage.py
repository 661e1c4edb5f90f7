"""A second stage over the learned head: docs/encoders.md, "What else was tried".

The first stage is the shipped head's cross-validated probabilities on evals/dev.jsonl (5 shuffled folds).
A small regression then reads their two logits (``logits``), or the logits beside ten structural numbers
(``stack``), with its own shuffled folds; ``base`` routes the first stage's probabilities as they are. The
cut-offs are chosen for 97% sufficiency each time, as ``tiergate train`` does. evals/test.jsonl is not read.

    OMP_NUM_THREADS=1 .venv/bin/python evals/experiments/second_stage.py stack
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from tiergate.config.loader import load_file
from tiergate.engine.graph import compile_graph
from tiergate.learned import train as T
from tiergate.learned.fit import fit_logistic, predict_logistic

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = ["static", "transformer", "static:prose"]


def structural(features) -> list[float]:
    ask, prose = features["ask_text"] or "", features["ask_prose"] or ""
    return [
        math.log1p(len(ask)),
        math.log1p(len(prose)),
        len(prose) / max(1, len(ask)),
        min(features["code_blocks"], 5),
        math.log1p(features["message_count"]),
        float(bool(features["tools_present"])),
        min(features["file_references"], 5),
        float(features["agent.failures_in_row"] > 0),
        float(bool(features["agent.tests_green"])),
        math.log1p(features["total_chars"]),
    ]


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def main(mode: str, l2: float = 1.0) -> None:
    loaded = load_file(ROOT / "routes.yaml")
    graph = compile_graph(loaded)
    rows = T.rows_from_dataset(ROOT / "evals/dev.jsonl", 1.0, graph)
    X = T.embed_all(T.build_embedders(MEMBERS, loaded.config.routing.learned), [r.text for r in rows], inputs=MEMBERS)
    gold = np.array([r.gold for r in rows])
    w, inner = np.ones(len(rows)), np.arange(len(rows))
    S = np.array([structural(graph.features(r.case.request)) for r in rows], float)
    results = []
    for seed in range(4):
        probs = T.cross_validated(X, gold, w, inner, 0.3, 5, "concat", seed)
        if mode == "base":
            P = probs
        else:
            F = np.column_stack([logit(probs[:, 0]), logit(probs[:, 1])] + ([S] if mode == "stack" else []))
            F = (F - F.mean(0)) / (F.std(0) + 1e-9)
            P = np.zeros_like(probs)
            for held in np.array_split(np.random.default_rng(100 + seed).permutation(inner), 5):
                fit = np.setdiff1d(inner, held)
                ws = fit_logistic(F[fit], (gold[fit] >= 1).astype(float), w[fit], l2=l2)
                wo = fit_logistic(F[fit], (gold[fit] >= 2).astype(float), w[fit], l2=l2)
                ps, po = predict_logistic(ws, F[held]), predict_logistic(wo, F[held])
                P[held, 0], P[held, 1] = np.maximum(ps, po), po
        _, _, report = T.choose_cutoffs(loaded, rows, P, T.Options(data=[]))
        share = report.saved / report.oracle_saved
        results.append((report.accuracy, share, report.sufficiency, report.severe_under))
        print(
            f"{mode} seed {seed}: exact {report.accuracy:.1%} saved {share:.2f} x "
            f"sufficiency {report.sufficiency:.1%} severe {report.severe_under:.1%}",
            flush=True,
        )
    exact, share, sufficiency, severe = np.mean(results, axis=0)
    print(f"{mode} mean: exact {exact:.1%} saved {share:.2f} x sufficiency {sufficiency:.1%} severe {severe:.1%}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "stack", float(sys.argv[2]) if len(sys.argv) > 2 else 1.0)
