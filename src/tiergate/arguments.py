"""Argument types for tiergate's commands: a number in its range, or argparse's own error naming both.

    p.add_argument("--l2", type=AT_LEAST_ZERO)   # --l2 -1: "argument --l2: must be a number 0 or more, got -1"
    p.add_argument("--runs", type=POSITIVE)      # --runs x: "argument --runs: invalid int value: 'x'"

NaN is outside every range (no comparison holds for it), and infinity outside all but none.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import TypeVar

N = TypeVar("N", int, float)


def ranged(kind: Callable[[str], N], within: Callable[[N], bool], what: str) -> Callable[[str], N]:
    """A ``type=`` for argparse: ``kind(text)``, refused unless ``within`` holds for it."""

    def parse(text: str) -> N:
        value = kind(text)
        if not within(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
        return value

    parse.__name__ = getattr(kind, "__name__", "number")  # argparse's "invalid float value: 'x'"
    return parse


AT_LEAST_ZERO = ranged(float, lambda v: 0 <= v < math.inf, "a number 0 or more")
SHARE = ranged(float, lambda v: 0 <= v <= 1, "between 0 and 1")
SECONDS = ranged(float, lambda v: 0 < v < math.inf, "a number of seconds above 0")
COUNT = ranged(int, lambda v: v >= 0, "0 or more")
POSITIVE = ranged(int, lambda v: v >= 1, "a whole number 1 or more")
GRADE = ranged(int, lambda v: 1 <= v <= 5, "a grade from 1 to 5")
#: ``tiergate eval --sweep``: RouteLLM's APGR needs at least one threshold; a sweep of more than 1000 quantile
#: edges draws no finer a curve than the scores of the set allow, and only takes longer.
SWEEP = ranged(int, lambda v: 1 <= v <= 1000, "a whole number from 1 to 1000")
#: ``tiergate eval --curve``: each point routes the whole set again; 101 is every 0.01 of the dial.
CURVE = ranged(int, lambda v: 0 <= v <= 101, "a whole number from 0 to 101 (0: no curve)")
PORT = ranged(int, lambda v: 0 <= v <= 65535, "a port from 0 to 65535 (0: any free one)")
