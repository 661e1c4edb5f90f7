"""The conversation around the ask, as a fourth block beside the shipped members.

The head reads only the ask: the last thing the person wrote. In a conversation, a follow-up ("now make it
thread-safe", "ok, do it") means what the turns before it set up. A fourth block reads that context through
one of the head's encoders, zero for a request with no earlier turn:

- ``first``: the conversation's first user message, as routing reads an ask (client blocks left out);
- ``prev``: the last assistant message before the ask's, its first and last 1,000 characters.

``<context>/<encoder>/<scale>``: e.g. ``first/transformer/1``. Cross-validated on evals/dev.jsonl like the
other experiments (each group left out, then four shuffles of five folds; cut-offs chosen for 97%
sufficiency each time). evals/test.jsonl is not read.

    cd evals/experiments
    OMP_NUM_THREADS=1 ../../.venv/bin/python context.py none first/transformer/1 prev/transformer/1
"""

from __future__ import annotations

import sys

import msgspec
import numpy as np
from folds import dev_set, five_runs, print_summary

from tiergate.engine.graph import compile_graph
from tiergate.learned import train as T
from tiergate.rules.features import window


def context_text(graph, request, kind: str) -> str:
    messages = request.messages
    users = [i for i, m in enumerate(messages) if m.role == "user"]
    if kind == "first":
        if len(users) < 2:
            return ""
        return T.ask_of(graph, msgspec.structs.replace(request, messages=messages[: users[0] + 1]))
    last = users[-1] if users else len(messages)
    before = [m for m in messages[:last] if m.role == "assistant" and m.text().strip()]
    return window(before[-1].text(), 2000) if before else ""


def main(variants: list[str]) -> None:
    dev = dev_set()
    graph = compile_graph(dev.loaded)
    summary = []
    cache: dict[tuple[str, str], np.ndarray] = {}
    for spec in variants:
        X = dev.X
        if spec != "none":
            kind, encoder, scale = spec.split("/")
            if (kind, encoder) not in cache:
                texts = [context_text(graph, r.case.request, kind) for r in dev.rows]
                have = np.array([bool(t.strip()) for t in texts])
                print(f"{kind}: {have.sum()} of {len(texts)} rows have context", flush=True)
                embedder = T.build_embedders([encoder], dev.loaded.config.routing.learned)
                (block,) = T.embed_all(embedder, [t or "." for t in texts])
                block[~have] = 0.0
                cache[(kind, encoder)] = block
            X = [*dev.X, cache[(kind, encoder)] * float(scale)]
        summary.append((spec, five_runs(*dev.args(X), label=spec)))
    print_summary(summary)


if __name__ == "__main__":
    main(sys.argv[1:] or ["none"])
