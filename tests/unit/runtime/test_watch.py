"""The watcher catches an edit made before it was armed (no file event will ever come for it)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.helpers import MINIMAL
from tiergate.reload import _watch
from tiergate.runtime import Rules


@pytest.mark.asyncio
async def test_edit_before_the_watcher_arms_is_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text(MINIMAL)
    rules = Rules.load(path, {})
    seen = rules.signature()
    path.write_text(MINIMAL + "\nbreakers: {fail_max: 7}\n")
    old = rules.current.version
    stop = asyncio.Event()
    task = asyncio.create_task(_watch(rules, stop, 10, seen, poll_ms=50))
    try:
        for _ in range(500):  # up to 10 s
            if rules.current.version != old:
                break
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await task
        await rules.aclose()
    assert rules.current.graph.config.breakers.fail_max == 7
