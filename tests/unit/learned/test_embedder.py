"""The async wrapper: the transformer kind runs on its worker thread while the loop keeps running."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from tests.unit.learned.fakes import CountingEncoder
from tiergate.learned.cache import CachedEncoder
from tiergate.learned.embedder import Embedder


class CountingExecutor(ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


@pytest.mark.asyncio
async def test_an_offloaded_encode_runs_on_another_thread_and_the_loop_stays_free() -> None:
    loop = asyncio.get_running_loop()
    fake = CountingEncoder(inline=False)
    started = asyncio.Event()
    fake.on_start = lambda: loop.call_soon_threadsafe(started.set)
    fake.release.clear()
    embedder = Embedder(CachedEncoder(fake))
    try:
        task = asyncio.create_task(embedder.embed("why does this hang?"))
        await started.wait()
        # The encode is running and blocked; the loop still runs other work meanwhile.
        other = await asyncio.wait_for(asyncio.to_thread(lambda: "other work"), timeout=10)
        assert other == "other work" and not task.done()
        fake.release.set()
        row = await task
    finally:
        embedder.close()
    assert row.tolist() == [0, 0, 0, 1]  # len 19 -> one-hot at 3
    assert fake.threads[0] != threading.get_ident()


@pytest.mark.asyncio
async def test_an_inline_encoder_runs_on_the_loop_thread() -> None:
    fake = CountingEncoder(inline=True)
    embedder = Embedder(CachedEncoder(fake))
    await embedder.embed("rename foo")
    assert fake.threads == [threading.get_ident()]
    embedder.close()


@pytest.mark.asyncio
async def test_a_cache_hit_returns_without_the_worker() -> None:
    fake = CountingEncoder(inline=False)
    executor = CountingExecutor()
    embedder = Embedder(CachedEncoder(fake), executor=executor)
    try:
        first = await embedder.embed("same ask")
        second = await embedder.embed("same ask")
    finally:
        embedder.close()
        assert executor.submit(lambda: "still open").result() == "still open"  # a given executor is the caller's
        executor.shutdown()
    assert executor.submitted == 2 and len(fake.calls) == 1
    assert first.tolist() == second.tolist()
    assert embedder.id == "fake/counting"


@pytest.mark.asyncio
async def test_queued_duplicates_meet_the_cache() -> None:
    fake = CountingEncoder(inline=False)
    embedder = Embedder(CachedEncoder(fake))
    try:
        rows = await asyncio.gather(*(embedder.embed("agent step") for _ in range(5)))
    finally:
        embedder.close()
    assert len(fake.calls) == 1
    assert all(row.tolist() == rows[0].tolist() for row in rows)


@pytest.mark.asyncio
async def test_a_lookup_says_whether_this_process_had_the_row_and_counts_each_hit_once() -> None:
    embedder = Embedder(CachedEncoder(CountingEncoder(inline=True)))
    first, first_hit = await embedder.lookup("same ask")
    second, second_hit = await embedder.lookup("same ask")
    embedder.close()
    assert (first_hit, second_hit) == (False, True)
    assert first.tolist() == second.tolist()
    assert (embedder.encoder.hits, embedder.encoder.misses) == (1, 1)
