"""``max_loaded``: room for a model on its Ollama server before each call. The plan (``make_room``) is
pure; the switch runs it against a fake server whose memory the test reads: what it unloads, in which
order, what it waits for, and that it never takes down a pinned model or one still answering."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.helpers import graph
from tiergate.config.model import Breaker, Capabilities, Limits, Price, Retries, Timeouts
from tiergate.dispatch.switch import LoadSwitch, NoSwitch, Plan, Switchboard, make_room
from tiergate.engine.targets import Target
from tiergate.errors import UpstreamStatusError, UpstreamUnavailable
from tiergate.protocols.ollama_ps import Resident, same_model
from tiergate.redact import Redactor
from tiergate.telemetry.residency import Residency


def resident(name: str, expires: str = "2025-01-01T00:00:00Z") -> Resident:
    return Resident(name, expires)


# --- the plan ----------------------------------------------------------------------------------------


def test_a_loaded_model_needs_nothing() -> None:
    assert make_room("a", [resident("a:latest"), resident("b:1b")], [], 1, frozenset()) == Plan()


def test_room_under_the_limit_needs_nothing() -> None:
    assert make_room("c:1b", [resident("a:1b")], [], 2, frozenset()) == Plan()


def test_the_soonest_to_expire_goes_first() -> None:
    listed = [resident("late:1b", "2025-01-01T00:10:00Z"), resident("early:1b", "2025-01-01T01:00:00+02:00")]
    assert make_room("c:1b", listed, [], 2, frozenset()) == Plan(unload=("early:1b",))
    assert make_room("c:1b", listed, [], 1, frozenset()) == Plan(unload=("early:1b", "late:1b"))


def test_a_pinned_model_stays_and_the_rest_make_room() -> None:
    listed = [resident("pin:1b", "2318-01-01T00:00:00Z"), resident("old:1b")]
    assert make_room("c:1b", listed, [], 2, frozenset({"pin:1b"})) == Plan(unload=("old:1b",))


def test_pinned_models_that_fill_the_limit_are_reported() -> None:
    listed = [resident("pin:1b"), resident("old:1b")]
    assert make_room("c:1b", listed, [], 1, frozenset({"pin:1b"})) == Plan(unload=("old:1b",), crowded=("pin:1b",))


def test_a_model_in_use_is_waited_for() -> None:
    assert make_room("c:1b", [resident("busy:1b")], ["busy:1b"], 1, frozenset()) == Plan(wait=True)


def test_a_model_loading_for_a_call_counts_before_ps_lists_it() -> None:
    assert make_room("c:1b", [], ["loading:1b"], 1, frozenset()) == Plan(wait=True)


# --- the switch --------------------------------------------------------------------------------------


class Server:
    """An Ollama backend with ``max_loaded``: its memory, what it was asked, in order."""

    name = "ollama"
    url = "http://127.0.0.1:11434"

    def __init__(self, limit: int = 1) -> None:
        self.loaded_ttl = 5.0
        self.max_loaded = limit
        self.memory: list[str] = []
        self.log: list[str] = []
        self.ps_fails = False
        self.unload_fails = False
        #: What a failing /api/ps or unload says (a proxy's refusal may quote the header it got).
        self.said = ""

    async def residents(self) -> list[Resident]:
        self.log.append("ps")
        if self.ps_fails:
            raise UpstreamStatusError(self.name, self.url, "ps failed" + self.said, status=500)
        return [Resident(m, f"2025-01-01T00:0{i}:00Z") for i, m in enumerate(self.memory)]

    async def unload(self, model: str) -> None:
        self.log.append(f"unload {model}")
        if self.unload_fails:
            raise UpstreamStatusError(self.name, self.url, "unload failed" + self.said, status=500)
        self.memory = [m for m in self.memory if not same_model(model, m)]

    def serve(self, model: str) -> None:
        """A call reached the server: it loads the model."""
        self.log.append(f"chat {model}")
        if not any(same_model(model, m) for m in self.memory):
            self.memory.append(model)


def target(model: str, first_token: float = 5.0, backend: str = "ollama") -> Target:
    timeouts = Timeouts(first_token=first_token)
    return Target("local", backend, model, Capabilities(), Price(), timeouts, Retries(), Breaker(), Limits())


def switch_for(
    server: Server, pinned: frozenset[str] = frozenset(), redact: Redactor | None = None
) -> tuple[LoadSwitch, Switchboard]:
    residency = Residency()
    board = Switchboard(residency)
    switch = board.build(graph(), {"ollama": server}, redact or Redactor())
    assert isinstance(switch, LoadSwitch)
    switch.pinned["ollama"] = pinned
    return switch, board


async def call(switch: LoadSwitch, server: Server, model: str, release: asyncio.Event | None = None) -> None:
    async with switch.hold(target(model)):
        server.serve(model)
        if release is not None:
            await release.wait()


@pytest.mark.asyncio
async def test_the_other_model_is_unloaded_before_the_call() -> None:
    server = Server(limit=1)
    server.memory = ["a:1b"]
    switch, board = switch_for(server)

    await call(switch, server, "b:1b")
    await call(switch, server, "b:1b")

    assert server.log == ["ps", "unload a:1b", "chat b:1b", "ps", "chat b:1b"]
    assert board.unloads == {"ollama": 1}


@pytest.mark.asyncio
async def test_a_pinned_model_is_never_unloaded(caplog: pytest.LogCaptureFixture) -> None:
    server = Server(limit=1)
    server.memory = ["pin:1b"]
    switch, _ = switch_for(server, frozenset({"pin:1b"}))

    with caplog.at_level(logging.WARNING, "tiergate.switch"):
        await call(switch, server, "b:1b")

    assert server.log == ["ps", "chat b:1b"]
    assert server.memory == ["pin:1b", "b:1b"]
    assert [r.getMessage() for r in caplog.records] == [
        "backend 'ollama': pinned pin:1b fill max_loaded; b:1b loads beside"
    ]


@pytest.mark.asyncio
async def test_a_switch_waits_for_the_other_models_calls_and_new_calls_wait_behind_it() -> None:
    server = Server(limit=1)
    switch, _ = switch_for(server)
    first_done = asyncio.Event()
    first = asyncio.create_task(call(switch, server, "a:1b", first_done))
    await asyncio.sleep(0.01)
    other = asyncio.create_task(call(switch, server, "b:1b"))
    await asyncio.sleep(0.01)
    again = asyncio.create_task(call(switch, server, "a:1b"))
    await asyncio.sleep(0.01)

    assert server.log == ["ps", "chat a:1b", "ps"]  # b waits for a's call; the second a waits behind b
    first_done.set()
    await asyncio.gather(first, other, again)

    assert server.log == [
        "ps", "chat a:1b", "ps",       # a served; b finds a in use
        "ps", "unload a:1b", "chat b:1b",  # a's call ended: a goes, b comes
        "ps", "unload b:1b", "chat a:1b",  # then a again, b's call having ended
    ]  # fmt: skip


@pytest.mark.asyncio
async def test_calls_to_the_model_being_served_go_straight_through() -> None:
    server = Server(limit=1)
    switch, _ = switch_for(server)
    release = asyncio.Event()
    calls = [asyncio.create_task(call(switch, server, "a:1b", release)) for _ in range(3)]
    await asyncio.sleep(0.01)
    release.set()
    await asyncio.gather(*calls)

    assert server.log == ["ps", "chat a:1b", "chat a:1b", "chat a:1b"]


@pytest.mark.asyncio
async def test_a_wait_past_first_token_fails_the_attempt_as_a_timeout() -> None:
    server = Server(limit=1)
    switch, _ = switch_for(server)
    release = asyncio.Event()
    busy = asyncio.create_task(call(switch, server, "a:1b", release))
    await asyncio.sleep(0.01)

    with pytest.raises(UpstreamUnavailable) as info:
        async with switch.hold(target("b:1b", first_token=0.05)):
            pytest.fail("the call must not be sent")

    assert (info.value.kind, info.value.status, info.value.fallback_ok) == ("timeout", 504, True)
    assert info.value.detail == "no room for b:1b within 0.05s (max_loaded; in use: a:1b)"
    release.set()
    await busy
    await call(switch, server, "b:1b")  # the lock was given back
    assert server.log[-2:] == ["unload a:1b", "chat b:1b"]


@pytest.mark.asyncio
async def test_a_failing_ps_or_unload_lets_the_call_through(caplog: pytest.LogCaptureFixture) -> None:
    server = Server(limit=1)
    server.memory = ["a:1b"]
    switch, board = switch_for(server)
    server.ps_fails = True
    with caplog.at_level(logging.INFO, "tiergate"):
        await call(switch, server, "b:1b")
        server.ps_fails, server.unload_fails = False, True
        server.memory = ["a:1b"]
        await call(switch, server, "c:1b")

    assert server.log == ["ps", "chat b:1b", "ps", "unload a:1b", "chat c:1b"]
    assert board.unloads == {}
    assert [r.getMessage() for r in caplog.records] == [
        "backend 'ollama': /api/ps failed, loaded models unknown: ps failed",
        "backend 'ollama': /api/ps answers again",
        "backend 'ollama': unloading a:1b failed: unload failed",
    ]


@pytest.mark.asyncio
async def test_what_a_failing_ps_or_unload_logs_passes_through_the_loads_redactor(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The switch's debug line and the unload warning kept the upstream's text as it came, a header it quoted
    included."""
    token = "oll-tok-5e6f7a8b9c"
    server = Server()
    switch, _ = switch_for(server, redact=Redactor([token]))
    server.said, server.ps_fails = f": invalid authorization Bearer {token}", True
    with caplog.at_level(logging.DEBUG, "tiergate"):
        await call(switch, server, "b:1b")
        server.ps_fails, server.unload_fails = False, True
        server.memory = ["a:1b"]
        await call(switch, server, "c:1b")

    assert [r.getMessage() for r in caplog.records] == [
        "backend 'ollama': /api/ps failed, loaded models unknown: ps failed: invalid authorization Bearer ***",
        "backend 'ollama': /api/ps failed; b:1b goes without a switch: ps failed: invalid authorization Bearer ***",
        "backend 'ollama': /api/ps answers again",
        "backend 'ollama': unloading a:1b failed: unload failed: invalid authorization Bearer ***",
    ]


@pytest.mark.asyncio
async def test_the_board_switches_only_backends_with_max_loaded_and_keeps_state_across_loads() -> None:
    g = graph(
        base="""
backends:
  ollama: {kind: ollama, base_url: "http://127.0.0.1:1"}
tiers:
  local: {targets: [{backend: ollama, model: a:1b, pinned: true}, {backend: ollama, model: b:1b}]}
routing: {band_tiers: {claude: local, ambiguous: local}}
"""
    )
    server = Server(limit=1)
    board = Switchboard(Residency())
    assert isinstance(board.build(g, {"ollama": _Unlimited()}), NoSwitch)

    first = board.build(g, {"ollama": server})
    second = board.build(g, {"ollama": server})
    assert isinstance(first, LoadSwitch) and isinstance(second, LoadSwitch)
    assert first.pinned == {"ollama": frozenset({"a:1b"})}
    assert first.limited["ollama"][1] is second.limited["ollama"][1]  # one room per server across reloads
    rebuilt = board.build(g, {"ollama": Server(limit=1)})
    assert isinstance(rebuilt, LoadSwitch) and rebuilt.limited["ollama"][1] is not first.limited["ollama"][1]


class _Unlimited(Server):
    def __init__(self) -> None:
        super().__init__()
        self.max_loaded = None  # type: ignore[assignment]
