"""settle_gc: start-up objects frozen out of the collector's sight, a higher young threshold."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from tiergate.server import GC_THRESHOLDS, settle_gc


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_gc")
def test_settle_gc_freezes_what_exists_and_raises_the_young_threshold() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    settle_gc()
    assert gc.get_threshold() == GC_THRESHOLDS
    assert GC_THRESHOLDS[0] > 700  # above CPython's default, or the setting does nothing
    # Everything alive at start-up (this test session's modules included) is frozen...
    assert gc.get_freeze_count() > 10_000
    # ...and objects made afterwards are still collected: a cycle is freed by an explicit pass.
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1
