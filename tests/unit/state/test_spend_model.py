"""The shared spend against a model, on a real Redis: random runs of processes that spend, sync, pause and
wake, die, leave cleanly, start, move silent peers to ``gone`` and rejoin, while Redis now and then loses its
data, from midday, across midnight and across a month's end. After every live process has synced, each
current hash's totals are exactly what was spent in its period, and no field holds float residue.

Redis losing its data right after a move or a leave, or while a process that was moved is paused, can count
the moved spend twice (the safe way; tiergate.state.spend's docstring): the runs do not lose data then.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass

import pytest

from tests.unit.state.test_spend_silent import SILENCE, Clock, held, lose_data
from tiergate.state.link import RedisLink
from tiergate.state.spend import SharedSpend, totals
from tiergate.telemetry.spend import Calendar, SpendKey

CAL = Calendar()
STARTS = {
    "midday": 1_764_763_200.0,  # 2025-12-03 12:00 UTC
    "before midnight": 1_764_805_800.0,  # 2025-12-03 23:50 UTC
    "before the month's end": 1_767_224_400.0 - 600,  # 2025-12-31 23:50 UTC
}
AMOUNTS = (0.1, 0.2, 0.3, 1.1, 0.05, 0.7, 2.0)


@dataclass
class Process:
    spend: SharedSpend
    name: str
    state: str = "live"  # paused, dead (killed), left (stopped cleanly)


class Run:
    def __init__(self, redis_url: str, seed: int, start: str) -> None:
        self.redis_url = redis_url
        self.prefix = "m" + secrets.token_hex(4)
        self.rng = random.Random(f"{seed}-{start}")
        self.clock = Clock()
        self.clock.now = STARTS[start]
        self.processes: list[Process] = []
        self.spent: dict[SpendKey, float] = {}
        self.trace: list[str] = []
        self.moved_since_sync = False  # a move or a leave not yet read by every live process

    async def start(self) -> Process:
        # a run makes thousands of calls: the request path's 0.25 s timeout would fail one on a stall of the
        # machine (a sync that gets no answer returns False), which is not what this test is about
        link = RedisLink(self.redis_url, prefix=self.prefix, timeout=5.0)
        await link.start()
        process = Process(SharedSpend(link, clock=self.clock, silence=SILENCE), f"p{len(self.processes)}")
        self.processes.append(process)
        assert await process.spend.sync(), process.spend.link.last_error
        return process

    def live(self) -> list[Process]:
        return [p for p in self.processes if p.state == "live"]

    def pay(self, process: Process, usd: float) -> None:
        keys = CAL.keys(self.clock.now, "opus", process.name)
        process.spend.add(keys, usd)
        for key in keys:
            self.spent[key] = self.spent.get(key, 0.0) + usd  # type: ignore[index]
        self.trace.append(f"{process.name} ({process.state}) spends {usd}")

    async def tick(self) -> None:
        """A minute: every live process syncs, then looks for silent peers."""
        self.clock.now += 60
        for process in self.live():
            assert await process.spend.sync(), process.spend.link.last_error
        self.moved_since_sync = False
        for process in self.live():
            for name in await process.spend.fold_silent():
                self.moved_since_sync = True
                self.trace.append(f"{process.name} moves {name}")

    async def check(self, when: str) -> None:
        for _ in range(2):
            self.clock.now += 1
            for process in self.live():
                assert await process.spend.sync(), process.spend.link.last_error
        for period in ("daily", "monthly"):
            label = CAL.label(period, self.clock.now)
            fields = {k: float(v) for k, v in held(self.redis_url, f"{self.prefix}:spend:{period}:{label}").items()}
            assert all(usd >= 1e-9 for usd in fields.values()), (when, fields, self.trace)
            want = {(s, n): usd for (s, n, p, lab), usd in self.spent.items() if (p, lab) == (period, label)}
            got = totals(fields.items())
            for key in {*got, *want}:
                assert got.get(key, 0.0) == pytest.approx(want.get(key, 0.0), abs=1e-9), (when, period, key, self.trace)

    def wake_all(self) -> None:
        for process in self.processes:
            if process.state == "paused":
                process.state = "live"
                self.moved_since_sync = True
                self.trace.append(f"{process.name} wakes")

    async def step(self) -> None:
        live = self.live()
        paused = [p for p in self.processes if p.state == "paused"]
        roll = self.rng.random()
        if roll < 0.30 and live + paused:
            self.pay(self.rng.choice(live + paused), self.rng.choice(AMOUNTS))
        elif roll < 0.55:
            for _ in range(self.rng.randint(1, 4)):
                await self.tick()
        elif roll < 0.62 and len(live) > 1:
            process = self.rng.choice(live)
            process.state = "paused"
            self.trace.append(f"{process.name} pauses")
        elif roll < 0.70 and paused:
            process = self.rng.choice(paused)
            process.state = "live"
            self.moved_since_sync = True
            self.trace.append(f"{process.name} wakes")
        elif roll < 0.74 and not self.moved_since_sync and not paused:
            lose_data(self.redis_url, self.prefix)
            self.trace.append("Redis loses its data")
        elif roll < 0.77 and len(live) > 1:
            process = self.rng.choice(live)
            assert await process.spend.sync(), process.spend.link.last_error
            await process.spend.link.aclose()
            process.state = "dead"
            self.moved_since_sync = True
            self.trace.append(f"{process.name} is killed")
        elif roll < 0.80 and len(live) > 1:
            process = self.rng.choice(live)
            await process.spend.aclose()
            await process.spend.link.aclose()
            process.state = "left"
            self.moved_since_sync = True
            self.trace.append(f"{process.name} stops")
        elif roll < 0.83 and len(self.processes) < 6:
            self.trace.append(f"{(await self.start()).name} starts")
        elif roll < 0.90:
            for _ in range(self.rng.randint(10, 14)):  # long enough for silent peers to be moved
                await self.tick()
        else:
            self.wake_all()
            await self.check(f"after {len(self.trace)} events")

    async def close(self) -> None:
        for process in self.processes:
            if process.state != "dead":
                await process.spend.link.aclose()
        lose_data(self.redis_url, self.prefix)


@pytest.mark.asyncio
@pytest.mark.parametrize("start", list(STARTS))
@pytest.mark.parametrize("seed", range(12))
async def test_the_totals_are_what_was_spent(redis_url: str, seed: int, start: str) -> None:
    run = Run(redis_url, seed, start)
    try:
        for _ in range(run.rng.randint(2, 3)):
            await run.start()
        for _ in range(run.rng.randint(30, 70)):
            await run.step()
        run.wake_all()
        await run.check("at the end")
        for process in run.live():  # and every process stopping cleanly keeps them
            await process.spend.aclose()
            process.state = "left"
        await run.check("after every process stopped")
    finally:
        await run.close()
