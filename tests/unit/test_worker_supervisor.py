"""A worker's link to its supervisor: the reload it fans out goes only to a supervisor still its parent."""

from __future__ import annotations

import os
import signal

import pytest

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
