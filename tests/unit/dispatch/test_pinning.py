"""Pinned models loaded ahead of their first request: once per backend object, in the background, and a
server that cannot load one is logged, never raised."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import pytest

from tiergate.dispatch.pinning import Pinner
from tiergate.errors import UpstreamUnavailable
from tiergate.redact import Redactor


class Server:
    def __init__(self, name: str, fail: bool = False, said: str = "connection refused; is Ollama running?") -> None:
        self.name, self.fail, self.said, self.asked = name, fail, said, []  # type: list[str]

    async def pin(self, model: str, num_ctx: int | None = None) -> None:
        self.asked.append(model)
        if self.fail:
            raise UpstreamUnavailable(self.name, "http://127.0.0.1:1", self.said)


def graph(*targets: tuple[str, str, bool]) -> Any:
    found = [SimpleNamespace(backend=b, model=m, pinned=p, num_ctx=None) for b, m, p in targets]
    return SimpleNamespace(chains=SimpleNamespace(all_targets=lambda: found))


@pytest.mark.asyncio
async def test_each_pinned_model_is_loaded_once_per_backend_object() -> None:
    pinner, ollama = Pinner(), Server("ollama")
    g = graph(("ollama", "a", True), ("ollama", "b", False), ("anthropic", "c", True))
    backends = {"ollama": ollama, "anthropic": object()}  # a backend without pin() is left alone
    pinner.build(g, backends)
    pinner.build(g, backends)  # a reload that keeps the backend
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert ollama.asked == ["a"] and pinner.loaded == [("ollama", "a")]
    rebuilt = Server("ollama")
    pinner.build(g, {"ollama": rebuilt})  # a reload that rebuilt it (another URL): asked again
    await asyncio.sleep(0)
    assert rebuilt.asked == ["a"]


def test_before_the_loop_runs_the_lifespan_starts_the_loads() -> None:
    pinner, ollama = Pinner(), Server("ollama")
    pinner.build(graph(("ollama", "a", True)), {"ollama": ollama})  # at start-up, no running loop
    assert ollama.asked == []

    async def serve() -> None:
        async with pinner.lifespan()(None):
            await asyncio.sleep(0.01)

    asyncio.run(serve())
    assert ollama.asked == ["a"]


@pytest.mark.asyncio
async def test_a_server_that_cannot_load_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    pinner, ollama = Pinner(), Server("ollama", fail=True)
    with caplog.at_level(logging.WARNING, logger="tiergate.switch"):
        pinner.build(graph(("ollama", "a", True)), {"ollama": ollama})
        await asyncio.sleep(0.01)
    assert pinner.loaded == []
    assert [r.getMessage() for r in caplog.records] == [
        "pinned model a not loaded ahead of its first request: backend 'ollama' at http://127.0.0.1:1: "
        "connection refused; is Ollama running?"
    ]


@pytest.mark.asyncio
async def test_a_refusal_quoting_a_key_is_logged_through_the_loads_redactor(caplog: pytest.LogCaptureFixture) -> None:
    token = "oll-tok-5e6f7a8b9c"
    pinner, ollama = Pinner(), Server("ollama", fail=True, said=f"invalid authorization Bearer {token}")
    with caplog.at_level(logging.WARNING, logger="tiergate.switch"):
        pinner.build(graph(("ollama", "a", True)), {"ollama": ollama}, Redactor([token]))
        await asyncio.sleep(0.01)
    assert [r.getMessage() for r in caplog.records] == [
        "pinned model a not loaded ahead of its first request: backend 'ollama' at http://127.0.0.1:1: "
        "invalid authorization Bearer ***"
    ]
