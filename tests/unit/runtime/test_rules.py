"""The live-rules holder: atomic swap, in-flight requests keep their graph, backends closed when unused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import MINIMAL
from tiergate.runtime import Rules


@pytest.mark.asyncio
async def test_inflight_request_keeps_its_runtime_until_done(tmp_path: Path) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text(MINIMAL)
    rules = Rules.load(path, {})
    async with rules.use() as old:
        path.write_text(MINIMAL.replace("http://127.0.0.1:1", "http://127.0.0.1:2"))
        outcome = await rules.reload()
        assert outcome.ok and outcome.changed
        assert rules.current is not old
        assert old.backends["ollama"].url == "http://127.0.0.1:1"
        assert rules.current.backends["ollama"].url == "http://127.0.0.1:2"
        assert old.graph.version != rules.current.graph.version
        closed: list[str] = []
        original = old.backends["ollama"].aclose

        async def spy() -> None:
            closed.append("ollama")
            await original()

        old.backends["ollama"].aclose = spy  # type: ignore[method-assign]
        assert closed == []
    assert closed == ["ollama"]
    await rules.aclose()


@pytest.mark.asyncio
async def test_unchanged_backends_are_shared_across_reloads(tmp_path: Path) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text(MINIMAL)
    rules = Rules.load(path, {})
    before = rules.current.backends
    path.write_text(MINIMAL + "\nbreakers: {fail_max: 9}\n")
    assert (await rules.reload()).changed
    assert rules.current.backends["ollama"] is before["ollama"]
    assert (await rules.reload()).changed is False
    await rules.aclose()
