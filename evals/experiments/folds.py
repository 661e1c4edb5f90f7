"""The five cross-validated runs the experiments report: each group left out ("g"), then four shuffles of
five folds, cut-offs chosen for 97% sufficiency each time; each run's line and their mean are printed.

    from folds import five_runs     # the experiments run as scripts, from this folder
    five_runs(loaded, dev_rows, X, gold, weights, inner, groups, label="scale 0.5")

    dev = dev_set()                 # the shipped head's members on evals/dev.jsonl
    print_summary([("none", five_runs(*dev.args(), label="none"))])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tiergate.config.loader import load_file
from tiergate.engine.graph import compile_graph
from tiergate.learned import train as T

ROOT = Path(__file__).resolve().parents[2]
#: The shipped head's members.
MEMBERS = ["static", "transformer", "static:prose"]
Run = tuple[str, float, float, float, float]
#: ``predict(X, gold, w, l2, train, held)``: fitted on the ``train`` rows, P(>= sonnet) and P(opus) of the
#: ``held`` rows; ``X`` the members' vectors.
Predict = Callable[
    [Sequence[np.ndarray], np.ndarray, np.ndarray, float, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]
]


def folded(predict: Predict) -> Callable[..., np.ndarray]:
    """A ``cv`` for :func:`five_runs`: ``train.cross_validated``'s folds, each held-out fold scored by
    ``predict``, P(>= sonnet) raised to P(opus) as the head does."""

    def cv(
        X: Sequence[np.ndarray],
        gold: np.ndarray,
        w: np.ndarray,
        inner: np.ndarray,
        l2: float,
        folds: int,
        combine: str = "concat",
        seed: int = 0,
        groups: Sequence[str] | None = None,
    ) -> np.ndarray:
        out = np.zeros((len(gold), 2))
        for held in T.held_out_folds(inner, folds, seed, groups):
            train = np.setdiff1d(np.arange(len(gold)), held)
            ps, po = predict(X, gold, w, l2, train, held)
            out[held, 0], out[held, 1] = np.maximum(ps, po), po
        return out[inner]

    return cv


@dataclass
class DevSet:
    """evals/dev.jsonl read as ``tiergate train`` reads it, with the members' vectors: every row in the
    cross-validated set, each weighing 1."""

    loaded: Any
    rows: list[T.Row]
    X: list[np.ndarray]
    gold: np.ndarray
    weights: np.ndarray
    inner: np.ndarray
    groups: list[str]

    def args(self, X: Sequence[np.ndarray] | None = None) -> tuple[Any, ...]:
        """:func:`five_runs`'s first arguments, with other vectors in place of the members' if given."""
        return (
            self.loaded,
            self.rows,
            list(X) if X is not None else self.X,
            self.gold,
            self.weights,
            self.inner,
            self.groups,
        )


def dev_set(members: Sequence[str] = MEMBERS) -> DevSet:
    loaded = load_file(ROOT / "routes.yaml")
    rows = T.rows_from_dataset(ROOT / "evals/dev.jsonl", 1.0, compile_graph(loaded))
    embedders = T.build_embedders(list(members), loaded.config.routing.learned)
    X = T.embed_all(embedders, [r.text for r in rows], inputs=list(members))
    n = len(rows)
    gold = np.array([r.gold for r in rows])
    return DevSet(loaded, rows, list(X), gold, np.ones(n), np.arange(n), [T.group_of(r) for r in rows])


def print_summary(summary: Sequence[tuple[str, Sequence[Run]]]) -> None:
    """One line per variant: the means of its runs, the sufficiency's range, the worst severe rate, and
    each run's exact accuracy and saving."""
    print("\nvariant | mean exact | mean saved | sufficiency range | severe (max) | per run exact/saved (g,0,1,2,3)")
    for label, runs in summary:
        a = np.array([r[1:] for r in runs])
        print(
            f"{label} | {a[:, 0].mean():.1%} | {a[:, 1].mean():.2f} x | {a[:, 2].min():.1%}-{a[:, 2].max():.1%} | "
            f"{a[:, 3].max():.1%} | " + ", ".join(f"{r[1]:.1%}/{r[2]:.2f}" for r in runs)
        )


def five_runs(
    loaded: Any,
    scored: Sequence[T.Row],
    X: Sequence[np.ndarray],
    gold: np.ndarray,
    weights: np.ndarray,
    inner: np.ndarray,
    groups: Sequence[str],
    label: str,
    cv: Callable[..., np.ndarray] | None = None,
) -> list[Run]:
    """``scored``: the rows ``inner`` indexes (the cross-validated set; the other rows only train). ``cv``
    replaces ``T.cross_validated`` (same arguments). Returns each run's (folds, exact, saved x, sufficiency,
    severe)."""
    cv = cv or T.cross_validated
    results = []
    runs = []
    for seed in ("g", 0, 1, 2, 3):
        by_group = seed == "g"
        probs = cv(
            X, gold, weights, inner, 0.3, 5, "concat", 0 if by_group else int(seed), groups if by_group else None
        )
        cut, _, report = T.choose_cutoffs(loaded, scored, probs, T.Options(data=[]))
        share = report.saved / report.oracle_saved
        results.append((report.accuracy, share, report.sufficiency))
        runs.append((str(seed), report.accuracy, share, report.sufficiency, report.severe_under))
        print(
            f"{label} folds {seed}: exact {report.accuracy:.1%} saved {share:.2f} x "
            f"sufficiency {report.sufficiency:.1%} severe {report.severe_under:.1%} cut-offs {cut}",
            flush=True,
        )
    exact, share, suff = np.mean(results, axis=0)
    print(f"{label} mean: exact {exact:.1%} saved {share:.2f} x sufficiency {suff:.1%}", flush=True)
    return runs
