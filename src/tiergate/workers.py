"""``tiergate serve --workers N``: N worker processes serving one socket, all on the same rules.

uvicorn's supervisor starts N workers (spawned, so each imports tiergate afresh and builds its own app)
and restarts a worker that dies. Four things are added here:

- **each worker its own socket.** On one shared listening socket, the worker that wakes first accepts
  every connection waiting (asyncio accepts up to the backlog per wakeup), so a burst of keep-alive
  clients can all land on one worker while the other idles. Each worker gets its own socket bound to
  the same port with ``SO_REUSEPORT`` instead, and the kernel spreads connections across them;

- **reload reaches every worker.** Each worker watches the rule file itself. SIGHUP to the supervisor is
  forwarded to every worker (uvicorn's own SIGHUP restarts them, which would drop in-process state),
  and ``POST /admin/reload`` reloads the worker that took it, then sends the supervisor a SIGHUP;
- **one version.** Each worker writes its pid, rules version and load time to a small file in a folder
  the supervisor owns; ``/health`` reads them all (``workers.agree`` is true when every worker has the
  same version);
- **rules are checked once,** in the supervisor, before any worker starts: a broken file stops
  ``serve`` with its problems, as with one process.

    tiergate serve --workers 2 --config routes.yaml
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from tiergate.runtime import Rules

ENV_CONFIG = "TIERGATE_WORKER_CONFIG"
ENV_WATCH = "TIERGATE_WORKER_WATCH"
ENV_BOARD = "TIERGATE_WORKERS_DIR"
ENV_SUPERVISOR = "TIERGATE_SUPERVISOR_PID"
ENV_LOG_LEVEL = "TIERGATE_WORKER_LOG_LEVEL"
ENV_ANNOUNCE = "TIERGATE_WORKER_ANNOUNCE"
#: How often a worker checks whether its rules version changed, to update its entry.
BOARD_POLL = 0.2


class WorkerBoard:
    """One file per worker in a shared folder: pid, rules version, load time.

    board = WorkerBoard(Path("/tmp/tiergate-workers-x"))
    board.publish("3f2a…", time.time()); board.read()   # {"serving", "count", "agree", "version", "workers"}
    """

    def __init__(self, directory: Path | None, pid: int | None = None) -> None:
        self.directory = directory
        self.pid = pid or os.getpid()
        self._mine: dict[str, Any] = {}

    def publish(self, version: str, loaded_at: float) -> None:
        self._mine = {"pid": self.pid, "version": version, "loaded_at": loaded_at}
        if self.directory is None:
            return
        path = self.directory / f"{self.pid}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._mine))
        tmp.replace(path)

    def remove(self) -> None:
        if self.directory is not None:
            with contextlib.suppress(OSError):
                (self.directory / f"{self.pid}.json").unlink()

    def read(self) -> dict[str, Any]:
        entries = [self._mine] if self.directory is None else self._entries()
        versions = {e["version"] for e in entries}
        return {
            "serving": self.pid,  # the worker that answered
            "count": len(entries),
            "agree": len(versions) == 1,
            "version": next(iter(versions)) if len(versions) == 1 else None,
            "workers": {str(e["pid"]): {"version": e["version"], "loaded_at": e["loaded_at"]} for e in entries},
        }

    def _entries(self) -> list[dict[str, Any]]:
        assert self.directory is not None
        found = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                entry = json.loads(path.read_text())
                os.kill(int(entry["pid"]), 0)  # a worker that died without cleaning up is not counted
            except (OSError, ValueError, KeyError, TypeError):
                continue
            found.append(entry)
        return found or [self._mine]

    def lifespan(self, rules: Rules) -> Callable[[Any], AbstractAsyncContextManager[None]]:
        @asynccontextmanager
        async def lifespan(app: Any) -> AsyncIterator[None]:
            async def follow() -> None:
                seen = ""
                while True:
                    if rules.current.version != seen:
                        seen = rules.current.version
                        await asyncio.to_thread(self.publish, seen, rules.loaded_at)
                    await asyncio.sleep(BOARD_POLL)

            self.publish(rules.current.version, rules.loaded_at)
            task = asyncio.get_running_loop().create_task(follow())
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                self.remove()

        return lifespan


def reload_everywhere() -> Callable[[], None] | None:
    """In a worker: what ``/admin/reload`` calls after reloading itself (SIGHUP to the supervisor)."""
    pid = os.environ.get(ENV_SUPERVISOR)
    if not pid:
        return None
    return lambda: os.kill(int(pid), signal.SIGHUP)


def reuseport_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` with ``SO_REUSEPORT``, not yet listening: the worker that gets it
    listens, so the kernel hands this socket connections only once that worker serves."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class Supervisor(Multiprocess):
    """uvicorn's supervisor, but each worker it starts gets a socket of its own on the port (``sockets`` is
    read once per worker start), and SIGHUP reloads the workers' rules instead of restarting them."""

    def __init__(self, config: uvicorn.Config, host: str, port: int, *, hold: socket.socket | None = None) -> None:
        self._address = (host, port)
        self._given: list[socket.socket] = [hold] if hold is not None else []
        super().__init__(config, sockets=[])

    @property
    def sockets(self) -> list[socket.socket]:
        sock = reuseport_socket(*self._address)
        self._given.append(sock)  # the worker holds its own copy; these close when the supervisor ends
        return [sock]

    @sockets.setter
    def sockets(self, value: list[socket.socket]) -> None:
        """uvicorn's constructor sets the shared list; each worker gets a fresh socket instead."""

    def close(self) -> None:
        for sock in self._given:
            sock.close()
        self._given.clear()

    def handle_hup(self) -> None:
        for process in self.processes:
            if process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGHUP)


def serve_workers(config: Path, host: str, port: int, workers: int, *, log_level: str, watch: bool) -> int:
    """Run ``workers`` processes on ``host:port`` until SIGINT or SIGTERM."""
    try:  # the port is checked (and port 0 given a number) before any worker starts
        probe = reuseport_socket(host, port)
    except OSError as exc:
        print(f"tiergate serve: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    port = probe.getsockname()[1]
    board = Path(tempfile.mkdtemp(prefix="tiergate-workers-"))
    os.environ.update(
        {
            ENV_CONFIG: str(config),
            ENV_WATCH: "1" if watch else "0",
            ENV_BOARD: str(board),
            ENV_SUPERVISOR: str(os.getpid()),
            ENV_LOG_LEVEL: log_level,
            ENV_ANNOUNCE: f"tiergate worker {{pid}} of {workers} listening on http://{host}:{port}/v1",
        }
    )
    uv = uvicorn.Config(
        "tiergate.workers:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    supervisor = Supervisor(uv, host, port, hold=probe)  # the probe keeps the port ours while workers restart
    try:
        supervisor.run()
    finally:
        supervisor.close()
        shutil.rmtree(board, ignore_errors=True)
    return 0


def worker_app() -> Any:
    """The app of one worker process (uvicorn calls this in each worker)."""
    from tiergate.server import build, settle_gc
    from tiergate.telemetry.logs import configure_logging

    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # until the app's lifespan takes SIGHUP as "reload"
    configure_logging(os.environ.get(ENV_LOG_LEVEL, "info"))
    board = WorkerBoard(Path(os.environ[ENV_BOARD]))
    app = build(
        Path(os.environ[ENV_CONFIG]),
        watch=os.environ.get(ENV_WATCH) == "1",
        announce=os.environ.get(ENV_ANNOUNCE, "").replace("{pid}", str(os.getpid())) or None,
        board=board,
        fanout=reload_everywhere(),
    )
    settle_gc()
    return app
