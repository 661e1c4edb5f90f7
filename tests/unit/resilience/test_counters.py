"""Gate and Bucket: first come first served, cancellation, and resizing with waiters queued."""

from __future__ import annotations

import asyncio

import pytest

from tiergate.resilience.counters import Bucket, Gate


@pytest.mark.asyncio
async def test_a_gate_hands_slots_to_its_waiters_in_the_order_they_came() -> None:
    gate, order = Gate(1), list[int]()
    gate.take_now()

    async def waiter(n: int) -> None:
        await gate.take()
        order.append(n)

    tasks = [asyncio.create_task(waiter(n)) for n in range(3)]
    await asyncio.sleep(0)
    assert not gate.free(), "a caller that does not wait gets nothing while others wait"
    gate.resize(4)  # the one in flight and the three waiting
    await asyncio.wait_for(asyncio.gather(*tasks), 1.0)
    assert order == [0, 1, 2] and gate.inflight == 4


@pytest.mark.asyncio
async def test_a_gate_waiter_cancelled_after_it_was_handed_a_slot_gives_it_back() -> None:
    gate = Gate(1)
    gate.take_now()
    first = asyncio.create_task(gate.take())
    second = asyncio.create_task(gate.take())
    await asyncio.sleep(0)
    gate.release()  # handed to the first, which has not run yet
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, 1.0)
    assert gate.inflight == 1


@pytest.mark.asyncio
async def test_a_lowered_gate_admits_no_one_until_below_its_limit() -> None:
    gate = Gate(3)
    for _ in range(3):
        gate.take_now()
    gate.resize(1)
    waiter = asyncio.create_task(gate.take())
    gate.release()
    gate.release()
    await asyncio.sleep(0)
    assert not waiter.done() and gate.inflight == 1
    gate.release()
    await asyncio.wait_for(waiter, 1.0)
    assert gate.inflight == 1


@pytest.mark.asyncio
async def test_a_bucket_waiter_cancelled_while_it_waits_takes_nothing() -> None:
    bucket = Bucket(1, period=0.05)
    bucket.take_now()
    first = asyncio.create_task(bucket.take())
    second = asyncio.create_task(bucket.take())
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, 1.0)  # the next leak goes to the second, the first took none
    assert not bucket.free()


@pytest.mark.asyncio
async def test_a_bucket_resized_keeps_the_share_it_spent() -> None:
    """3 of 3 spent is 4 of 4: raising and lowering the rate never refills it."""
    bucket = Bucket(3, period=60.0)
    for _ in range(3):
        assert bucket.free()
        bucket.take_now()
    for rpm in (4, 3, 6):
        bucket.resize(rpm)
        assert not bucket.free(), rpm


@pytest.mark.asyncio
async def test_a_bucket_hands_leaked_requests_to_its_waiters_in_the_order_they_came() -> None:
    bucket, order = Bucket(1, period=0.02), list[int]()
    bucket.take_now()

    async def waiter(n: int) -> None:
        await bucket.take()
        order.append(n)

    tasks = [asyncio.create_task(waiter(n)) for n in range(3)]
    await asyncio.sleep(0)
    assert not bucket.free()
    await asyncio.wait_for(asyncio.gather(*tasks), 2.0)
    assert order == [0, 1, 2]


@pytest.mark.asyncio
async def test_a_bucket_without_a_limit_lets_its_waiters_go() -> None:
    bucket = Bucket(1, period=60.0)
    bucket.take_now()
    waiter = asyncio.create_task(bucket.take())
    await asyncio.sleep(0)
    assert not waiter.done()
    bucket.resize(None)
    await asyncio.wait_for(waiter, 1.0)
    assert bucket.free()


@pytest.mark.asyncio
async def test_a_gate_waiter_cancelled_in_the_step_a_slot_frees_takes_none() -> None:
    """Its timeout (or its client leaving) cancels it, and a call ends, in one loop step: the slot goes to
    the next waiter or stays free, never to the cancelled one (it was lost for good at concurrency 1)."""
    gate = Gate(1)
    await gate.take()
    cancelled = asyncio.create_task(gate.take())
    await asyncio.sleep(0)
    cancelled.cancel()
    gate.release()  # the same step: the cancelled waiter's task has not run yet
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert (gate.inflight, gate.free()) == (0, True)
