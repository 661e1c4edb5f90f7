"""A fourth member beside the learned head's three: the ask's similarity to rubric anchors (kinds of work).

The head's commonest miss is a local-worthy mechanical ask about an alarming subject (a typo in a Raft
log line, docstrings on a lock-free deque): it reads the subject, not the work. ANCHORS are short
sentences naming kinds of work, written from the labelling rubric (evals/README.md, "The labelling
rubric"), not from any case: mechanical edits and lookups (local), well-trodden multi-step work (sonnet),
subtle correctness (opus). Each anchor is embedded once with one of the head's encoders; each ask's text
(``ask_prose``, its first sentence, or the whole ask) is embedded with the same encoder, and its cosine
similarity to every anchor is a column. The columns are standardised over the dev rows (no labels), the
block divided by the square root of its width (about unit length per row, like the other members) and
scaled by ``scale``. With ``agg`` only three numbers per encoder are added instead: max similarity to
the local anchors minus the max to the Claude ones, and the max to the opus anchors minus the max to the
sonnet ones, and the mean over all anchors.

Cross-validated on evals/dev.jsonl like the other experiments (each group left out, then four shuffles
of five folds; cut-offs chosen for 97% sufficiency each time). evals/test.jsonl is not read.

    OMP_NUM_THREADS=1 .venv/bin/python evals/experiments/anchors.py VARIANT [VARIANT ...]

A VARIANT is ``none`` (the shipped head) or ``ENCODERS/TEXT/MODE/SCALE``: ENCODERS ``static``,
``transformer`` or ``static+transformer``; TEXT ``prose``, ``first`` (the prose's first sentence) or
``ask``; MODE ``all`` (one column per anchor) or ``agg``; e.g. ``transformer/prose/all/1``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
from folds import five_runs

from tiergate.config.loader import load_file
from tiergate.engine.graph import compile_graph
from tiergate.learned import train as T

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = ["static", "transformer", "static:prose"]

# Kinds of work, from the rubric's bullets only (no dev case was read to write them).
LOCAL = [
    "Fix the typos in this comment.",
    "Add docstrings to these functions.",
    "Rename this variable everywhere in the snippet.",
    "Add type hints to this function.",
    "Format this code consistently.",
    "Sort the imports.",
    "Add comments explaining each line without changing the code.",
    "Rewrite this loop as a list comprehension.",
    "Generate getters and setters for this class.",
    "Explain what this short function does.",
    "What is the difference between a mutex and a semaphore?",
    "What is the syntax for this API call?",
    "Write a regex that matches an email address.",
    "Write a Dockerfile for a small app.",
    "Write a table-driven test for this pure function.",
    "Fix this obvious one-line bug in a short snippet.",
    "Is this code safe? It only reads a constant and local variables.",
    "What does this error message mean?",
    "Write a short title for this conversation.",
    "Write a one-line commit message for this change.",
    "Summarize this chat in two sentences.",
    "Quote the first line of this log that mentions an error.",
]
SONNET = [
    "Debug this failure from the stack trace.",
    "Here is the EXPLAIN plan; why is this query slow and how do I fix it?",
    "Find the goroutine leak in this service.",
    "Fix this deadlock caused by acquiring locks in different orders.",
    "Implement this feature across several files and components.",
    "Write tests for this module with database fixtures that roll back after each test.",
    "Refactor this module to store money as integer minor units.",
    "Design the REST API for this service, with idempotent requests.",
    "Migrate these tests from JUnit 4 to JUnit 5.",
    "Migrate the models from pydantic v1 to pydantic v2.",
    "The test suite fails after this change; find out why and fix it.",
    "This async code hangs under load; find the cause from the logs.",
    "Check this regex for catastrophic backtracking.",
    "Compute the p95 latency over data processed in chunks.",
]
OPUS = [
    "Prove that this invariant always holds.",
    "Prove that this data structure is linearizable.",
    "Are the memory orderings and fences in this lock-free queue correct?",
    "Check this hazard pointer reclamation for ABA and use-after-free.",
    "Review this authentication code for security holes.",
    "Is this JWT token verification secure?",
    "Audit this parser of untrusted input for vulnerabilities.",
    "Can this consensus implementation violate safety during a leader change?",
    "Can this replication scheme lose committed writes?",
    "Do these leases and fencing tokens prevent split brain?",
    "Is this transaction safe under snapshot isolation, or can write skew break the invariant?",
    "Design an exactly-once pipeline that survives consumer rebalances.",
    "Design a zero-downtime migration of the production database with dual writes.",
    "Design active-active replication across regions.",
    "Latency doubled after we changed several layers at once; how do we investigate?",
    "Write a TLA+ specification and check the safety property.",
]
ANCHORS = LOCAL + SONNET + OPUS
KIND = np.array([0] * len(LOCAL) + [1] * len(SONNET) + [2] * len(OPUS))
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def first_sentence(prose: str) -> str:
    """The prose's first sentence with words in it (a lone ``[code]`` is skipped)."""
    for part in SENTENCE.split(prose):
        if re.search(r"[A-Za-z]{2,}", part.replace("[code]", "")):
            return part.strip()
    return prose.strip()


def block(sims: np.ndarray, mode: str) -> np.ndarray:
    if mode == "agg":
        local, sonnet, opus = (sims[:, KIND == k].max(axis=1) for k in range(3))  # noqa: SIM300
        sims = np.column_stack([local - np.maximum(sonnet, opus), opus - sonnet, sims.mean(axis=1)])
    z = (sims - sims.mean(axis=0)) / (sims.std(axis=0) + 1e-9)
    return z / np.sqrt(z.shape[1])


def main(variants: list[str]) -> None:
    loaded = load_file(ROOT / "routes.yaml")
    graph = compile_graph(loaded)
    rows = T.rows_from_dataset(ROOT / "evals/dev.jsonl", 1.0, graph)
    embedders = T.build_embedders(MEMBERS, loaded.config.routing.learned)
    X = T.embed_all(embedders, [r.text for r in rows], inputs=MEMBERS)
    prose = [graph.features(r.case.request)["ask_prose"] or "" for r in rows]
    texts = {"prose": prose, "first": [first_sentence(p) for p in prose], "ask": [r.text for r in rows]}
    by_kind = {"static": embedders[0], "transformer": embedders[1]}
    gold = np.array([r.gold for r in rows])
    weights, inner, groups = np.ones(len(rows)), np.arange(len(rows)), [T.group_of(r) for r in rows]
    for variant in variants:
        extra = []
        if variant != "none":
            encoders, text, mode, scale = variant.split("/")
            for kind in encoders.split("+"):
                enc = by_kind[kind]
                asks = T.embed_all([enc], texts[text])[0]
                anchors = T.embed_all([enc], ANCHORS)[0]
                extra.append(block(asks @ anchors.T, mode))
            extra = [np.hstack(extra) * float(scale) / np.sqrt(len(extra))]
        five_runs(loaded, rows, [*X, *extra], gold, weights, inner, groups, label=variant)


if __name__ == "__main__":
    main(sys.argv[1:] or ["transformer/prose/all/1"])
