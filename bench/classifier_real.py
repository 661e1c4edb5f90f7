"""The phase-2 classifier against a real model server: latency, answers, the floor, and timeouts that stop work.

Every case of a labelled set is forced into the AMBIGUOUS band (so the classifier is asked), routed through
the real Router with the default rules and the learned scorer, and the classifier's call goes to an
OpenAI-compatible server (llama-cpp-python's `python -m llama_cpp.server`, llama.cpp's `llama-server`,
LM Studio, vLLM) or Ollama. Prints the outcomes, latency, how often the answer was the gold tier, how often
the floor held it up, and the severe under-routing with and without the floor.

    python -m llama_cpp.server --model SmolLM2-135M-Instruct.Q4_1.gguf --n_threads 1 --port 8085 &
    python bench/classifier_real.py --url http://127.0.0.1:8085 --model smollm2 --cases 40 --timeout 8
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np

from tiergate.engine.classifier import classifier_factory
from tiergate.evals.dataset import load_dataset
from tiergate.learned.scorer import LearnedPool
from tiergate.resilience.breakers import Breakers
from tiergate.resilience.guard import guard_factory
from tiergate.resilience.limits import Limiters
from tiergate.runtime import Extensions, Rules

ROOT = Path(__file__).resolve().parents[1]
RANK = {"local": 0, "sonnet": 1, "opus": 2}


def routes(url: str, model: str, kind: str, timeout: float) -> str:
    """The default routes.yaml, its classifier on the server under test, every request AMBIGUOUS."""
    text = (ROOT / "routes.yaml").read_text()
    text = text.replace("head: heads/default.json", f"head: {ROOT / 'heads' / 'default.json'}")
    base = f"{url}/v1" if kind == "openai" else url
    text = text.replace("backends:\n", f"backends:\n  bench:\n    kind: {kind}\n    base_url: {base}\n", 1)
    text = text.replace("    backend: ollama\n    model: qwen2.5:1.5b\n", f"    backend: bench\n    model: {model}\n")
    text = text.replace("timeout: ${TIERGATE_CLASSIFIER_TIMEOUT:-8}", f"timeout: {timeout}")
    when = "{feature: message_count, gte: 0}"
    rule = f"    - name: everything_ambiguous\n      when: {when}\n      then: {{band: AMBIGUOUS}}\n"
    return text.replace("  rules:\n", "  rules:\n" + rule, 1)


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "routes.yaml"
        path.write_text(routes(args.url, args.model, args.kind, args.timeout))
        pool = LearnedPool()
        ext = Extensions(
            guard=guard_factory(Breakers(), Limiters()),
            classifier=classifier_factory(),
            learned=pool.build,
        )
        rules = Rules.load(path, dict(os.environ), ext)
        data = load_dataset(Path(args.data))
        step = max(1, len(data.cases) // args.cases)
        cases = list(data.cases)[::step][: args.cases]  # every kind of case, not just the first group
        rows = []
        for case in cases:
            t0 = time.perf_counter()
            async with rules.use() as rt:
                d = (await rt.router.decide(case.request)).decision
            c = d.classifier
            rows.append(
                {
                    "id": case.id,
                    "gold": case.gold,
                    "outcome": c.outcome if c else "none",
                    "answer": c.tier if c else None,
                    "confidence": c.confidence if c else None,
                    "floor": c.floor if c else None,
                    "learned": d.learned.tier if d.learned else None,
                    "routed": d.tier,
                    "seconds": time.perf_counter() - t0,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
            if c and c.outcome == "timeout":
                t1 = time.perf_counter()  # a server still busy with the abandoned answer is slow to answer this
                async with httpx.AsyncClient(timeout=120) as client:
                    await client.get(f"{args.url}/v1/models" if args.kind == "openai" else f"{args.url}/api/tags")
                rows[-1]["next_ready_s"] = round(time.perf_counter() - t1, 3)
        await rules.aclose()
        pool.close()
    summarize(rows, args)


def summarize(rows: list[dict[str, object]], args: argparse.Namespace) -> None:
    answered = [r for r in rows if r["outcome"] in ("ok", "cache_hit")]
    seconds = np.array([float(r["seconds"]) for r in rows])  # type: ignore[arg-type]
    print(f"\nclassifier {args.model} at {args.url} ({args.kind}), timeout {args.timeout}s, {len(rows)} cases")
    print("outcomes:", dict(Counter(str(r["outcome"]) for r in rows)))
    print(f"latency per decision: p50 {np.percentile(seconds, 50):.2f}s, p95 {np.percentile(seconds, 95):.2f}s")
    if answered:
        print("answers:", dict(Counter(str(r["answer"]) for r in answered)))
        exact = sum(r["answer"] == r["gold"] for r in answered) / len(answered)
        held = sum(r["answer"] != r["routed"] for r in answered)
        print(f"answer = gold: {exact:.0%}; held up by the floor: {held} of {len(answered)}")
        raw_severe = sum(r["gold"] == "opus" and r["answer"] == "local" for r in answered)
        severe = sum(r["gold"] == "opus" and r["routed"] == "local" for r in rows)
        print(f"severe under-routing (opus -> local): classifier alone {raw_severe}, after the floor {severe}")
    ready = [r["next_ready_s"] for r in rows if "next_ready_s" in r]
    if ready:
        print(f"after a timeout, the server answered the next request in: {ready} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the model server, e.g. http://127.0.0.1:8085")
    parser.add_argument("--model", required=True)
    parser.add_argument("--kind", choices=["openai", "ollama"], default="openai")
    parser.add_argument("--data", default=str(ROOT / "evals" / "dev.jsonl"))
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--timeout", type=float, default=8.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
