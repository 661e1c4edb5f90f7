"""What one request sends to Redis, counted rather than timed: commands, writes, and round trips it waits for.

Starts what ``bench/proxy.py --shared-state`` starts (the mock upstream, a throwaway ``redis-server``,
``tiergate serve`` on the repo's routing with every target limited and state in Redis), then sends
``--requests`` chat requests one at a time, twice: one conversation repeated (an agent loop, and
``proxy.py``'s load), then a new conversation each time (every request a first turn). Before and after
each, it reads Redis's ``INFO`` (``commandstats`` and ``total_reads_processed``: Redis reads once per
write it receives) and the gateway's ``/metrics`` (``tiergate_state_redis_waits_total``: calls a
request waited for). Counts do not depend on other load on the machine, so this runs anywhere; what
the calls cost in latency is ``proxy.py``'s to measure.

    python bench/redis_calls.py                  # table on stdout
    python bench/redis_calls.py --requests 1000
    PYTHONPATH=/elsewhere/src python bench/redis_calls.py   # another checkout's gateway (nan: no counter)
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
from proxy import (
    CHAT,
    ROOT,
    BenchError,
    Proc,
    chat_body,
    check_answers,
    http_once,
    running,
    start_gateway,
    start_mock,
    start_redis,
    write_routes,
)

#: What the gateway sends (Redis counts the scripts' own calls too, so GET and SET are not shown).
COMMANDS = ("evalsha", "eval", "zrem")


def metric(gateway: Proc, name: str) -> float:
    """A counter of the gateway's /metrics; NaN when it has none (a gateway older than the counter)."""
    status, body = http_once(gateway.url, "GET", "/metrics", b"")
    if status != 200:
        raise BenchError(f"{gateway.name}: /metrics answered {status}")
    found = re.search(rb"^" + name.encode() + rb" (\S+)$", body, re.M)
    return float(found.group(1)) if found is not None else float("nan")


def count(gateway: Proc, r: redis.Redis, requests: int, *, new_conversations: bool) -> dict[str, float]:
    """Per request: each command Redis ran for the gateway, its writes, and the calls the gateway waited for."""
    r.info("everything")  # the INFO connection is open before the first snapshot
    before, waits = r.info("everything"), metric(gateway, "tiergate_state_redis_waits_total")
    for i in range(requests):
        status, body = http_once(gateway.url, "POST", CHAT, chat_body(marker=f"#{i}" if new_conversations else ""))
        if status != 200:
            raise BenchError(f"{gateway.name} answered {status}: {body[:300]!r}")
    time.sleep(0.1)  # the last release goes out within 10 ms
    after = r.info("everything")
    waited = metric(gateway, "tiergate_state_redis_waits_total") - waits

    def delta(name: str) -> int:
        stat_before: dict[str, Any] = before.get(name, {"calls": 0})
        return int(after.get(name, {"calls": 0})["calls"]) - int(stat_before["calls"])

    syncs = delta("cmdstat_exec")  # budgets' spend, synced every 0.5 s in one MULTI/EXEC write
    reads = after["total_reads_processed"] - before["total_reads_processed"] - syncs - 1  # less the last INFO
    out = {name: delta(f"cmdstat_{name}") / requests for name in COMMANDS}
    out["writes"] = reads / requests
    out["waited"] = waited / requests
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--routes", type=Path, default=ROOT / "routes.yaml", help="whose routing section to use")
    parser.add_argument("--python", default=sys.executable, help="interpreter that runs the gateway")
    args = parser.parse_args(argv)
    procs: list[Proc] = []
    try:
        with tempfile.TemporaryDirectory(prefix="tiergate-bench-") as tmp, running(procs):
            workdir = Path(tmp)
            mock = start_mock(workdir, 20, None)
            procs.append(mock)
            server = start_redis(workdir)
            procs.append(server)
            routes = write_routes(workdir, mock.url + "/v1", args.routes, redis_url=server.url, limits=True)
            gateway = start_gateway(workdir, routes, args.python, "warning", None, label="state in Redis")
            procs.append(gateway)
            check_answers(mock, gateway)
            r = redis.Redis.from_url(server.url)
            rows = {
                "one conversation": count(gateway, r, args.requests, new_conversations=False),
                "a new conversation each": count(gateway, r, args.requests, new_conversations=True),
            }
            r.close()
    except (BenchError, OSError) as exc:
        print(f"bench/redis_calls.py: {exc}", file=sys.stderr)
        return 1
    print(f"Redis traffic per request, {args.requests} requests one at a time, 1 worker, every target limited")
    print(f"  {'requests':<26}" + "".join(f"{c.upper():>9}" for c in COMMANDS) + f"{'writes':>9}{'waited':>9}")
    for label, row in rows.items():
        cells = "".join(f"{row[c]:>9.2f}" for c in (*COMMANDS, "writes", "waited"))
        print(f"  {label:<26}{cells}")
    print("  (writes: writes Redis received from the gateway; waited: calls a request waited for, a round trip each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
