"""The five cross-validated runs the experiments report: each group left out ("g"), then four shuffles of
five folds, cut-offs chosen for 97% sufficiency each time; each run's line and their mean are printed.

    from folds import five_runs     # the experiments run as scripts, from this folder
    five_runs(loaded, dev_rows, X, gold, weights, inner, groups, label="scale 0.5")
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tiergate.learned import train as T


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
) -> list[tuple[str, float, float, float, float]]:
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
