"""What the gateway knows of each Ollama server's memory: answered from the last /api/ps, never waiting
on it; refreshed in the background once it is older than the backend's ``loaded_ttl``; unknown (never
asked, or failing) reads as not loaded."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.doubles import Clock
from tiergate.errors import UpstreamStatusError
from tiergate.protocols.ollama_ps import Resident
from tiergate.redact import Redactor
from tiergate.telemetry.residency import Residency


class Source:
    """An Ollama backend's ``residents``: what it lists, how often it was asked, and a gate to hold it."""

    def __init__(self, name: str = "ollama", ttl: float = 5.0) -> None:
        self.name = name
        self.loaded_ttl = ttl
        self.models: list[str] = []
        self.calls = 0
        self.fail: int | None = None
        self.said = "ps failed"
        self.gate: asyncio.Event | None = None

    async def residents(self) -> list[Resident]:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise UpstreamStatusError(self.name, "http://127.0.0.1:11434", self.said, status=self.fail)
        return [Resident(m, "2025-01-01T00:00:00Z") for m in self.models]


class Anthropic:
    name = "anthropic"


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_first_read_is_false_then_the_background_answer_is_used() -> None:
    clock, source = Clock(100.0), Source()
    source.models = ["qwen:7b"]
    residency = Residency(clock)
    residency.attach({"ollama": source, "anthropic": Anthropic()})

    assert residency.loaded("ollama", "qwen:7b") is False  # unknown yet: not loaded; a refresh is started
    await settle()
    assert source.calls == 1
    assert residency.loaded("ollama", "qwen:7b") is True
    assert residency.loaded("ollama", "qwen") is False
    assert residency.loaded("anthropic", "claude") is None
    assert not residency.manages("anthropic") and residency.manages("ollama")


@pytest.mark.asyncio
async def test_the_answer_is_reused_for_ttl_then_refreshed_once() -> None:
    clock, source = Clock(100.0), Source(ttl=5.0)
    residency = Residency(clock)
    residency.attach({"ollama": source})
    residency.loaded("ollama", "qwen:7b")
    await settle()
    source.models = ["qwen:7b"]

    clock.advance(4.9)
    assert residency.loaded("ollama", "qwen:7b") is False  # still the first answer
    await settle()
    assert source.calls == 1

    clock.advance(0.1)
    for _ in range(3):
        assert residency.loaded("ollama", "qwen:7b") is False  # stale: served, one refresh in flight
    await settle()
    assert source.calls == 2
    assert residency.loaded("ollama", "qwen:7b") is True


@pytest.mark.asyncio
async def test_a_slow_ps_never_holds_a_read() -> None:
    source = Source()
    source.gate = asyncio.Event()
    residency = Residency(Clock())
    residency.attach({"ollama": source})

    for _ in range(10):
        assert residency.loaded("ollama", "qwen:7b") is False
        await settle()
    assert source.calls == 1  # one refresh, still waiting; no read waited for it
    source.models = ["qwen:7b"]
    source.gate.set()
    await settle()
    assert residency.loaded("ollama", "qwen:7b") is True


@pytest.mark.asyncio
async def test_a_failing_ps_reads_as_unknown_and_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    clock, source = Clock(100.0), Source(ttl=5.0)
    source.models = ["qwen:7b"]
    residency = Residency(clock)
    residency.attach({"ollama": source})
    residency.loaded("ollama", "qwen:7b")
    await settle()
    assert residency.loaded("ollama", "qwen:7b") is True

    source.fail = 500
    clock.advance(5)
    with caplog.at_level(logging.WARNING, "tiergate.residency"):
        residency.loaded("ollama", "qwen:7b")
        await settle()
        clock.advance(5)
        residency.loaded("ollama", "qwen:7b")
        await settle()
    assert residency.loaded("ollama", "qwen:7b") is False
    assert [r.getMessage() for r in caplog.records] == [
        "backend 'ollama': /api/ps failed, loaded models unknown: ps failed"
    ]  # once, not at every refresh
    assert residency.report() == {"ollama": {"models": None, "checked_s_ago": 0.0, "error": "ps failed"}}

    source.fail = None
    clock.advance(5)
    residency.loaded("ollama", "qwen:7b")
    await settle()
    clock.advance(1.5)
    assert residency.report() == {"ollama": {"models": ["qwen:7b"], "checked_s_ago": 1.5, "error": None}}


@pytest.mark.asyncio
async def test_fresh_asks_now_and_raises_and_dropped_forgets_a_model() -> None:
    source = Source()
    source.models = ["a:1b", "b:1b"]
    residency = Residency(Clock())
    residency.attach({"ollama": source})

    assert [r.name for r in await residency.fresh("ollama")] == ["a:1b", "b:1b"]
    residency.dropped("ollama", "a:1b")
    assert (residency.loaded("ollama", "a:1b"), residency.loaded("ollama", "b:1b")) == (False, True)
    assert source.calls == 1  # fresh's answer is the cache's

    source.fail = 502
    with pytest.raises(UpstreamStatusError):
        await residency.fresh("ollama")
    assert residency.loaded("ollama", "b:1b") is False


@pytest.mark.asyncio
async def test_a_refusal_quoting_a_key_is_shown_logged_and_raised_through_the_loads_redactor(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """/health (open to anyone), the warning and the error the switch logs showed an Ollama proxy's refusal
    whole, the Authorization header it quoted included."""
    token = "oll-tok-5e6f7a8b9c"
    source = Source()
    source.fail, source.said = 403, f"invalid authorization Bearer {token}"
    residency = Residency(Clock())
    residency.attach({"ollama": source}, Redactor([token]))

    with caplog.at_level(logging.WARNING, "tiergate.residency"):
        residency.loaded("ollama", "a:1b")
        await settle()
        with pytest.raises(UpstreamStatusError) as raised:
            await residency.fresh("ollama")

    shown = "refused tiergate's key or account for this backend (HTTP 403): invalid authorization Bearer ***"
    assert residency.report()["ollama"]["error"] == shown
    warned = [r.getMessage() for r in caplog.records]
    assert warned == [f"backend 'ollama': /api/ps failed, loaded models unknown: {shown}"]
    assert token not in str(raised.value) and token not in raised.value.detail


@pytest.mark.asyncio
async def test_a_rebuilt_backend_starts_from_unknown() -> None:
    first, second = Source(), Source()
    first.models = second.models = ["a:1b"]
    residency = Residency(Clock())
    residency.attach({"ollama": first})
    await residency.fresh("ollama")
    residency.attach({"ollama": first})  # a reload that kept the backend
    assert residency.loaded("ollama", "a:1b") is True

    residency.attach({"ollama": second})  # its config changed: a new backend
    assert residency.loaded("ollama", "a:1b") is False
    await settle()
    assert (first.calls, second.calls) == (1, 1)


@pytest.mark.asyncio
async def test_aclose_stops_a_refresh_in_flight() -> None:
    source = Source()
    source.gate = asyncio.Event()
    residency = Residency(Clock())
    residency.attach({"ollama": source})
    residency.loaded("ollama", "a:1b")
    await settle()

    await residency.aclose()

    assert source.calls == 1 and not residency._tasks


def test_an_offline_read_starts_nothing() -> None:
    """No running loop (a dry run from the command line): unknown, and no refresh to start."""
    source = Source()
    residency = Residency(Clock())
    residency.attach({"ollama": source})
    assert residency.loaded("ollama", "a:1b") is False
    assert source.calls == 0
