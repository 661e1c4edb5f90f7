"""``tiergate serve --workers N``: N worker processes serving one socket, all on the same rules.

uvicorn's supervisor binds the socket once and starts N workers (spawned, so each imports tiergate
afresh and builds its own app); it restarts a worker that dies. Three things are added here:

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


class Supervisor(Multiprocess):
    """uvicorn's supervisor, but SIGHUP reloads the workers' rules instead of restarting them."""

    def handle_hup(self) -> None:
        for process in self.processes:
            if process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGHUP)


def serve_workers(config: Path, host: str, port: int, workers: int, *, log_level: str, watch: bool) -> int:
    """Run ``workers`` processes on ``host:port`` until SIGINT or SIGTERM."""
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
    sock = uv.bind_socket()
    try:
        Supervisor(uv, sockets=[sock]).run()
    finally:
        sock.close()
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
