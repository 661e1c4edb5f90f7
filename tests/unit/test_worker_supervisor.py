"""A worker's link to its supervisor: the reload it fans out goes only to a supervisor still its parent."""

from __future__ import annotations

import os
import signal
import socket

import pytest
import uvicorn

from tiergate import workers


def test_admin_reload_signals_the_supervisor_only_while_it_is_this_workers_parent(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A killed supervisor's pid may be another process's by now; SIGHUP to it was a ProcessLookupError
    500, or a signal to a stranger."""
    sent: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: sent.append((pid, sig)))
    monkeypatch.setenv(workers.ENV_SUPERVISOR, str(os.getppid()))
    fanout = workers.reload_everywhere()
    assert fanout is not None
    fanout()
    assert sent == [(os.getppid(), signal.SIGHUP)]

    monkeypatch.setenv(workers.ENV_SUPERVISOR, str(os.getppid() + 100_000))
    stranger = workers.reload_everywhere()
    assert stranger is not None
    stranger()
    assert sent == [(os.getppid(), signal.SIGHUP)]  # nothing more sent
    assert f"the supervisor (pid {os.getppid() + 100_000}) is gone: only this worker reloaded" in caplog.text


def test_no_supervisor_no_fanout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(workers.ENV_SUPERVISOR, raising=False)
    assert workers.reload_everywhere() is None


class _Started:
    """What the supervisor reads of a uvicorn worker: the socket its process was started with."""

    def __init__(self, sock: socket.socket) -> None:
        self.process = type("Spawned", (), {"_kwargs": {"sockets": [sock]}})()
        self.pid, self.exitcode = 4242, -9


def test_the_supervisor_closes_each_gone_workers_own_socket_and_no_other() -> None:
    """Sockets were matched to workers by order: a worker added and removed in one tick (SIGTTIN then
    SIGTTOU) shifted the match, and a later dead worker's listening socket stayed open, taking connections."""
    hold = workers.claim("127.0.0.1", 0)
    port = hold.getsockname()[1]
    supervisor = workers.Supervisor(uvicorn.Config("tiergate.workers:worker_app"), "127.0.0.1", port, hold=hold)
    try:
        first, second = supervisor.sockets[0], supervisor.sockets[0]
        kept = _Started(second)
        supervisor.processes = [kept]  # the worker given `first` was let go before the supervisor looked
        supervisor._settle()
        assert first.fileno() == -1 and second.fileno() != -1
        third = supervisor.sockets[0]
        replacement = _Started(third)
        supervisor.processes = [replacement]  # `kept` died and was replaced
        supervisor._settle()
        assert second.fileno() == -1 and third.fileno() != -1
    finally:
        supervisor.close()
    assert third.fileno() == -1 and hold.fileno() == -1
