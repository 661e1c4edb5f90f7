"""Shadow rules: what they cost a request (nothing on its path) and what they cost the process.

Two figures on the default routes.yaml, with a candidate file that moves the bands:

- ``observe``: the only shadow work on the event loop's turn that ends a request (sampling and a
  queue put), in nanoseconds per call;
- ``decide``: the candidate's decision, which runs later on the shadow's own task (features, the
  learned scorer, phase 1, targets; no model call), in microseconds per request, for new asks and for
  asks the learned scorer's cache already holds (the live decision read them first).

    python bench/shadow.py [--n 20000] [--decide-n 300]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import time
from pathlib import Path

import msgspec
import numpy as np

from tiergate.learned.scorer import LearnedPool
from tiergate.runtime import Extensions, Rules
from tiergate.telemetry.record import RequestRecord, ShadowRecord
from tiergate.telemetry.shadow import ShadowRules
from tiergate.wire import ChatRequest

ROOT = Path(__file__).resolve().parents[1]
ASKS = [
    "add type hints to this function",
    "design a migration plan for the billing service with rollback steps",
    "rename foo to bar in the snippet below",
    "why does this async generator leak connections under cancellation",
]


class Sink:
    def __init__(self) -> None:
        self.count = 0

    def observe_shadow(self, shadow: ShadowRecord) -> None:
        self.count += 1


async def main(n: int, decide_n: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="tiergate-shadow-bench-"))
    routes = (
        (ROOT / "routes.yaml").read_text().replace("head: heads/default.json", f"head: {ROOT / 'heads/default.json'}")
    )
    (folder / "routes.yaml").write_text(routes + "\nshadow: routes.next.yaml\n")
    (folder / "routes.next.yaml").write_text(
        re.sub(r"^  bands: \{[^}\n]*\}", "  bands: {local: 0.2, claude: 0.3}", routes, count=1, flags=re.MULTILINE)
    )
    pool = LearnedPool()
    rules = Rules.load(folder / "routes.yaml", {}, Extensions(learned=pool.build))
    sink = Sink()
    shadow = ShadowRules(rules, sink=lambda: sink)

    async def record(text: str) -> RequestRecord:
        request = msgspec.convert({"messages": [{"role": "user", "content": text}]}, ChatRequest)
        routed = await rules.current.router.decide(request, {}, remember=False)
        return RequestRecord(routed.decision, routed.targets[0], [], 200, 1.0, "bench", False, "chat", request=request)

    sample = await record(ASKS[0])
    timings = []
    for _ in range(n):
        started = time.perf_counter_ns()
        shadow.observe(sample)
        timings.append(time.perf_counter_ns() - started)
        assert shadow._queue is not None
        shadow._queue.get_nowait()  # keep the queue empty: measure one put, not growth
    observe = np.array(timings)
    print(
        f"observe (on the request's turn): p50 {np.percentile(observe, 50):.0f} ns, "
        f"p99 {np.percentile(observe, 99):.0f} ns"
    )

    settings = shadow.settings()
    assert settings is not None
    await shadow.candidate(settings)
    for label, fresh in (("new asks", True), ("asks the live decision read", False)):
        spent = []
        for i in range(decide_n):
            text = f"{ASKS[i % len(ASKS)]} (variant {i})" if fresh else ASKS[i % len(ASKS)]
            rec = await record(text) if fresh else sample
            started = time.perf_counter_ns()
            await shadow.decide(rec, settings)
            spent.append((time.perf_counter_ns() - started) / 1000)
        arr = np.array(spent)
        print(
            f"decide, {label} (background task): p50 {np.percentile(arr, 50):.0f} us, "
            f"p95 {np.percentile(arr, 95):.0f} us"
        )
    pool.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--decide-n", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.decide_n))
