"""Encoder latency: each kind's embedding cost on a cache miss at four text sizes, and on a cache hit.

Runs on one core (``os.sched_setaffinity``; BLAS limited to one thread before numpy loads, onnxruntime
sessions use one thread), as the budgets assume: phase 1 on a cache miss within ~8 ms with the static
encoder and ~55 ms with a transformer, a cache hit within 0.3 ms. Every sample goes through
``await Embedder.embed`` as the gateway will call it, so a transformer miss includes the hop to its worker
thread. A miss uses a text never seen before.

Texts are this repository's README and source: a ~32- and a ~128-token ask, and a 2,000- and
8,000-character ask with pasted code. Kinds: static; transformer on onnxruntime and on numpy (same
vectors); transformer-int8. ``--sweep`` also times each transformer at several ``max_tokens`` on the
2,000-character text, to find the largest that meets the budget.

    python bench/encoder.py [--n 60] [--sweep 64,96,128,160,192,256] [--kinds static,transformer] [--cpu 1]
"""

from __future__ import annotations

import os

# Before numpy is imported anywhere: one BLAS thread, or the "one core" figures are not one core's.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import asyncio  # noqa: E402
import gc  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from tiergate.learned.embedder import Embedder  # noqa: E402
from tiergate.learned.encoder import build_encoder  # noqa: E402
from tiergate.learned.onnx_encoder import available  # noqa: E402
from tiergate.learned.tokens import Tokenizer  # noqa: E402
from tiergate.learned.weights import load_weights  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BUDGET_MS = {"static": 8.0, "transformer": 55.0, "hit": 0.3}


def texts(tokenizer: Tokenizer) -> dict[str, str]:
    prose = " ".join((ROOT / "README.md").read_text().split())
    code = (ROOT / "src" / "tiergate" / "engine" / "router.py").read_text()

    def with_tokens(n: int) -> str:
        lo, hi = 1, len(prose)
        while lo < hi:  # the longest prefix of the README with at most n tokens, [CLS] and [SEP] included
            mid = (lo + hi + 1) // 2
            if len(tokenizer.inner.encode(prose[:mid]).ids) <= n:
                lo = mid
            else:
                hi = mid - 1
        return prose[:lo]

    def pasted(chars: int) -> str:
        ask = "This raises KeyError when the rules reload mid-request; why, and what is the smallest fix?\n```python\n"
        body = (code * (chars // len(code) + 1))[: chars - len(ask) - 4]
        return ask + body + "\n```"

    return {
        "~32 tokens": with_tokens(32),
        "~128 tokens": with_tokens(128),
        "2k chars": pasted(2000),
        "8k chars": pasted(8000),
    }


async def measure(embedder: Embedder, text: str, n: int, *, hit: bool) -> list[float]:
    """Milliseconds per ``embed``; each miss sample gets a fresh prefix so the cache never has it."""
    for i in range(3):
        await embedder.embed(f"warm-up {i} {text}")
    if hit:
        await embedder.embed(text)
    samples = []
    gc.disable()
    try:
        for i in range(n):
            sample = text if hit else f"#{i}-{time.perf_counter_ns()} {text}"
            t0 = time.perf_counter_ns()
            await embedder.embed(sample)
            samples.append((time.perf_counter_ns() - t0) / 1e6)
    finally:
        gc.enable()
    return samples


def row(label: str, tokens: int, samples: list[float], budget: float | None) -> str:
    p50, p95 = np.percentile(samples, 50), np.percentile(samples, 95)
    verdict = "" if budget is None else ("ok" if p95 <= budget else "OVER")
    shown = f"≤ {budget:g}" if budget is not None else ""
    return f"  {label:<24}{tokens:>8}{p50:>10.2f}{p95:>10.2f}{shown:>10}  {verdict}"


#: name: (kind, backend)
VARIANTS: dict[str, tuple[str, str]] = {
    "static": ("static", "auto"),
    "transformer": ("transformer", "onnxruntime"),
    "transformer-numpy": ("transformer", "numpy"),
    "transformer-int8": ("transformer-int8", "onnxruntime"),
}


def budget(kind: str) -> float:
    return BUDGET_MS["static"] if kind == "static" else BUDGET_MS["transformer"]


async def bench_kind(kind: str, backend: str, sizes: dict[str, str], n: int) -> None:
    started = time.perf_counter()
    encoder = build_encoder(kind, backend=backend)  # type: ignore[arg-type]
    built = time.perf_counter() - started
    embedder = Embedder(encoder)
    tokenizer: Tokenizer = encoder.inner.tokenizer  # type: ignore[attr-defined]
    count = tokenizer.content_ids if kind == "static" else tokenizer.ids
    print(f"\n{encoder.id}  {type(encoder.inner).__name__}, {backend}  (built in {built:.2f} s, {n} samples a row)")
    print(f"  {'text':<24}{'tokens':>8}{'p50 ms':>10}{'p95 ms':>10}{'budget':>10}")
    try:
        for label, text in sizes.items():
            samples = await measure(embedder, text, n, hit=False)
            print(row(f"miss, {label}", len(count(text)), samples, budget(kind)))
        samples = await measure(embedder, sizes["8k chars"], max(n, 200), hit=True)
        print(row("hit, 8k chars", len(count(sizes["8k chars"])), samples, BUDGET_MS["hit"]))
    finally:
        embedder.close()


async def sweep(kind: str, backend: str, limits: list[int], text: str, n: int) -> None:
    print(f"\n{kind} ({backend}): cache miss on the 2k-character text by max_tokens ({n} samples each)")
    print(f"  {'max_tokens':<24}{'tokens':>8}{'p50 ms':>10}{'p95 ms':>10}{'budget':>10}")
    for limit in limits:
        encoder = build_encoder(kind, max_tokens=limit, backend=backend)  # type: ignore[arg-type]
        embedder = Embedder(encoder)
        try:
            samples = await measure(embedder, text, n, hit=False)
        finally:
            embedder.close()
        tokens = len(encoder.inner.tokenizer.ids(text))  # type: ignore[attr-defined]
        print(row(str(limit), tokens, samples, budget(kind)))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=60, help="samples per cache-miss row (static uses 5x)")
    parser.add_argument("--sweep", default="64,96,128,160,192,256", help="max_tokens to sweep; '' for none")
    parser.add_argument("--cpu", type=int, default=None, help="the core to pin to (default: the last one)")
    parser.add_argument("--kinds", default=",".join(VARIANTS), help="which of: " + ", ".join(VARIANTS))
    parser.add_argument("--no-table", action="store_true", help="only the --sweep")
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    cpu = cpus[-1] if args.cpu is None else args.cpu
    os.sched_setaffinity(0, {cpu})
    print(f"pinned to CPU {cpu} of {os.cpu_count()} (sched_setaffinity); BLAS and onnxruntime: 1 thread")
    started = time.perf_counter()
    weights = load_weights()
    print(f"weights: {weights.origin}, loaded in {time.perf_counter() - started:.2f} s")
    sizes = texts(Tokenizer.parse(weights.tokenizer_json, max_tokens=512))
    chosen = [VARIANTS[name] for name in args.kinds.split(",")]
    variants = [v for v in chosen if v[1] != "onnxruntime" or available()]
    if len(variants) < len(chosen):
        print("onnxruntime is not installed: its rows are skipped (pip install 'tiergate[onnx]')")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for kind, backend in variants if not args.no_table else []:
        await bench_kind(kind, backend, sizes, args.n * 5 if kind == "static" else args.n)
    if args.sweep:
        for kind, backend in [v for v in variants if v[0] != "static"]:
            await sweep(kind, backend, [int(x) for x in args.sweep.split(",")], sizes["2k chars"], args.n)
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (other work on the machine)")


if __name__ == "__main__":
    asyncio.run(main())
