"""Test doubles for injected time: a clock that moves only when told, and a sleep that moves it.

clock = Clock(0.0)
sleep = Sleeper(clock)
await sleep(1.5)        # returns at once; clock.now == 1.5, sleep.waits == [1.5]
"""

from __future__ import annotations


class Clock:
    """Seconds that move only when a test says so."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Sleeper:
    """Records each wait and moves the clock by it: no real time passes."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.now += seconds
