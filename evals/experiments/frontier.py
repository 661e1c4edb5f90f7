"""The shipped head's trade-off between sufficiency and exact accuracy (and the saving), on dev only.

For each cross-validated run (each group left out, then two shuffles of five folds), the cut-offs are
chosen as `tiergate train` chooses them, for each of several `--sufficiency` targets; the means over the
runs are printed per target. Test is not read. Run from this folder:

    OMP_NUM_THREADS=1 ../../.venv/bin/python frontier.py
"""

from __future__ import annotations

import numpy as np
from folds import dev_set

from tiergate.learned import train as T

TARGETS = (0.90, 0.93, 0.95, 0.97, 0.99)
RUNS = ("g", 0, 1)


def main() -> None:
    dev = dev_set()
    found: dict[float, list[tuple[float, float, float, float]]] = {t: [] for t in TARGETS}
    for seed in RUNS:
        by_group = seed == "g"
        probs = T.cross_validated(
            dev.X,
            dev.gold,
            dev.weights,
            dev.inner,
            0.3,
            5,
            "concat",
            0 if by_group else int(seed),
            dev.groups if by_group else None,
        )
        for target in TARGETS:
            cut, _, report = T.choose_cutoffs(dev.loaded, dev.rows, probs, T.Options(data=[], sufficiency=target))
            share = report.saved / report.oracle_saved
            found[target].append((report.accuracy, share, report.sufficiency, report.severe_under))
            print(
                f"--sufficiency {target:.2f} folds {seed}: exact {report.accuracy:.1%} saved {share:.2f} x "
                f"sufficiency {report.sufficiency:.1%} severe {report.severe_under:.1%} cut-offs {cut}",
                flush=True,
            )
    print("\n--sufficiency | mean exact | mean saved | mean sufficiency | severe (max)")
    for target, runs in found.items():
        a = np.array(runs)
        print(
            f"{target:.2f} | {a[:, 0].mean():.1%} | {a[:, 1].mean():.2f} x | {a[:, 2].mean():.1%} | {a[:, 3].max():.1%}"
        )


if __name__ == "__main__":
    main()
