"""A fourth member beside the learned head's three: hashed word n-grams of the ask's prose.

docs/encoders.md, "What else was tried". Each ask's prose (``ask_prose``) is lower-cased and cut into
words; its words and word pairs are hashed (CRC-32) into 256 signed buckets, counts are log-scaled and
the row set to unit length, then scaled by ``scale`` beside the shipped members (static, transformer,
static:prose). Cross-validated on evals/dev.jsonl like the others: each group left out ("g"), then four
shuffles of five folds; cut-offs chosen for 97% sufficiency each time. evals/test.jsonl is not read.

    OMP_NUM_THREADS=1 .venv/bin/python evals/experiments/hashed_words.py 0.5    # 0 for the shipped head
"""

from __future__ import annotations

import itertools
import re
import sys
import zlib
from pathlib import Path

import numpy as np
from folds import five_runs

from tiergate.config.loader import load_file
from tiergate.engine.graph import compile_graph
from tiergate.learned import train as T

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = ["static", "transformer", "static:prose"]
WORD = re.compile(r"[a-z][a-z0-9_']+")
BUCKETS = 256


def hashed(text: str) -> np.ndarray:
    words = WORD.findall(text.lower())
    grams = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
    row = np.zeros(BUCKETS)
    for gram in grams:
        h = zlib.crc32(gram.encode())
        row[h % BUCKETS] += 1.0 if (h >> 20) & 1 else -1.0
    row = np.sign(row) * np.log1p(np.abs(row))
    norm = np.linalg.norm(row)
    return row / norm if norm else row


def main(scale: float) -> None:
    loaded = load_file(ROOT / "routes.yaml")
    graph = compile_graph(loaded)
    rows = T.rows_from_dataset(ROOT / "evals/dev.jsonl", 1.0, graph)
    X = T.embed_all(T.build_embedders(MEMBERS, loaded.config.routing.learned), [r.text for r in rows], inputs=MEMBERS)
    if scale:
        prose = [graph.features(r.case.request)["ask_prose"] or "" for r in rows]
        X = [*X, np.array([hashed(p) for p in prose]) * scale]
    gold = np.array([r.gold for r in rows])
    weights, inner, groups = np.ones(len(rows)), np.arange(len(rows)), [T.group_of(r) for r in rows]
    five_runs(loaded, rows, X, gold, weights, inner, groups, label=f"scale {scale}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 0.5)
