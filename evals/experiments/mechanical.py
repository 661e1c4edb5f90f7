"""Mechanical asks on hard material, as extra training rows for the learned head.

docs/encoders.md, "Mechanical asks on hard material". The head's misses are local-worthy asks about
frightening subjects (a typo in a Raft log line, doc comments on a lock-free deque): it reads the
subject, not the work. This script writes such asks from the public outcome set
(`../shared/data/public-outcomes.jsonl`): the problem statements and repository issues labelled sonnet
or opus there, each wrapped in a mechanical instruction the rubric calls local (spelling, a title, a
summary, a translation, doc comments, a rename, formatting). None of evals/ is read to build them.

    python evals/experiments/mechanical.py build OUT.jsonl [N] [paired]   # the rows, evals/ format, gold local
    OMP_NUM_THREADS=1 python evals/experiments/mechanical.py cv OUT.jsonl WEIGHT   # 0: the shipped head

With ``paired`` each mechanical row is followed by the public row it wraps, with that row's own label
(the same subject, asked for the real work), so the head sees the two side by side.

``cv`` cross-validates on evals/dev.jsonl like the other experiments (each group left out, then four
shuffles of five folds; cut-offs for 97% sufficiency each time), with the built rows added to every
training fold at WEIGHT. evals/test.jsonl is not read.
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = ROOT.parent / "shared" / "data" / "public-outcomes.jsonl"
MEMBERS = ["static", "transformer", "static:prose"]

TEXT_OPS = [
    "Fix the spelling and grammar in the text below. Don't change what it says.\n\n{t}",
    "fix typos only:\n\n{t}",
    "Give this a short title, under ten words:\n\n{t}",
    "{t}\n\nWrite a one-line title for the above.",
    "{t}\n\nSummarize this in two sentences.",
    "Summarize the following for a changelog entry, one line:\n\n{t}",
    "Translate this into German. Leave code and names as they are.\n\n{t}",
    "{t}\n\ntranslate to spanish pls",
    "Reflow this text so no line is longer than 80 characters. Keep every word.\n\n{t}",
    "Turn this into a markdown bullet list, one point per sentence:\n\n{t}",
    "List every identifier in backticks from this text as a JSON array of strings:\n\n{t}",
    "{t}\n\nWhat is the first sentence that mentions an error? Quote it.",
    "Rewrite this in a more polite tone for a GitHub comment:\n\n{t}",
    "Count the paragraphs in this text and give the first word of each:\n\n{t}",
]
CODE_OPS = [
    "Add a docstring to each function in this code. Do not change the code itself.\n```\n{c}\n```",
    "```\n{c}\n```\nadd comments explaining each line, code unchanged",
    "Rename `{i}` to `{j}` everywhere in this snippet:\n```\n{c}\n```",
    "```\n{c}\n```\nrename {i} -> {j}",
    "Format this code consistently (4-space indents, one statement per line):\n```\n{c}\n```",
    "Convert the indentation in this snippet to tabs:\n```\n{c}\n```",
    "Wrap this snippet in a markdown code block with the right language tag and nothing else:\n{c}",
    "```\n{c}\n```\nFix the typos in the comments and strings here, nothing else.",
    "What does the `{i}` name refer to in this snippet? One sentence.\n```\n{c}\n```",
]
IDENT = re.compile(r"\b([a-z_][a-z0-9_]{3,})\s*[=(]")
FENCE = re.compile(r"```[a-zA-Z0-9]*\n(.*?)```", re.S)


def _trim(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text.strip()
    cut = text.rfind("\n\n", 0, limit)
    return text[: cut if cut > limit // 2 else limit].strip()


def _statement(content: str) -> str:
    for prefix in ("Fix this issue in the repository:\n", "Solve this programming problem:\n"):
        if content.startswith(prefix):
            return content[len(prefix) :]
    return content


def build(out: Path, n: int, paired: bool = False, seed: int = 0) -> int:
    rng = random.Random(seed)
    public = [json.loads(line) for line in PUBLIC.read_text().splitlines() if line.strip()]
    hard = [r for r in public if r["source"] in ("swe", "lcb") and r["gold"] in ("sonnet", "opus")]
    rng.shuffle(hard)
    rows = []
    for k, case in enumerate(hard):
        if len(rows) >= (2 * n if paired else n):
            break
        text = _statement(case["request"]["messages"][-1]["content"])
        blocks = [b.strip("\n") for b in FENCE.findall(text) if b.count("\n") >= 2 and len(b) < 3000]
        idents = sorted({m for b in blocks for m in IDENT.findall(b)})
        if blocks and idents and k % 2 == 0:
            i = rng.choice(idents)
            ask = rng.choice(CODE_OPS).format(c=rng.choice(blocks), i=i, j=i + "_value")
            kind = "code"
        else:
            ask = rng.choice(TEXT_OPS).format(t=_trim(text, 4000))
            kind = "text"
        rows.append(
            {
                "id": f"mech-{kind}-{case['id']}",
                "gold": "local",
                "tags": ["mechanical-aux"],
                "why": f"A mechanical {kind} edit of {case['id']}'s statement (gold {case['gold']} there).",
                "request": {"model": "auto", "messages": [{"role": "user", "content": ask}]},
            }
        )
        if paired:
            rows.append({**case, "tags": ["public-aux"]})
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return len(rows)


def cv(extra: Path, weight: float) -> None:
    import numpy as np
    from folds import five_runs

    from tiergate.config.loader import load_file
    from tiergate.engine.graph import compile_graph
    from tiergate.learned import train as T

    loaded = load_file(ROOT / "routes.yaml")
    graph = compile_graph(loaded)
    dev = T.rows_from_dataset(ROOT / "evals/dev.jsonl", 1.0, graph)
    aux = T.rows_from_dataset(extra, weight, graph) if weight else []
    rows = dev + aux
    X = T.embed_all(T.build_embedders(MEMBERS, loaded.config.routing.learned), [r.text for r in rows], inputs=MEMBERS)
    gold = np.array([r.gold for r in rows])
    weights = np.array([r.weight for r in rows])
    inner, groups = np.arange(len(dev)), [T.group_of(r) for r in rows]
    five_runs(loaded, dev, X, gold, weights, inner, groups, label=f"weight {weight}")


if __name__ == "__main__":
    if sys.argv[1] == "build":
        print(build(Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 300, "paired" in sys.argv[4:]))
    else:
        cv(Path(sys.argv[2]), float(sys.argv[3]))
