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
  ``serve`` with its problems, as with one process;
- **the port is ours alone.** ``SO_REUSEPORT`` would let a second ``serve --workers`` on the same port
  join the first one's sockets and take its traffic; the supervisor claims the address before any
  worker starts and refuses, naming it, when another process holds it (``claim``).

    tiergate serve --workers 2 --config routes.yaml
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import importlib.util
import json
import logging
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
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
#: How often a worker checks whether its rules version changed, to update its entry.
BOARD_POLL = 0.2
#: The most bytes a request's URL and header lines may take (tiergate.head_limit). Node allows 16 KiB,
#: nginx 4 lines of 8 KiB, h11 16 KiB; the coding clients send about 1 KiB (Claude Code's 20 headers, its
#: long ``anthropic-beta`` and the ``x-stainless-*`` ones, are 874 bytes in tests/unit/protocols/fixtures),
#: so 64 KiB leaves room for long beta lists, proxies' additions and a browser's cookies.
HEAD_LIMIT = 64 * 1024

log = logging.getLogger("tiergate.server")


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
    """In a worker: what ``/admin/reload`` calls after reloading itself (SIGHUP to the supervisor, while it
    is this worker's parent: a pid that is not may be another process's by now)."""
    pid = os.environ.get(ENV_SUPERVISOR)
    if not pid:
        return None

    def fanout() -> None:
        if os.getppid() == int(pid):
            os.kill(int(pid), signal.SIGHUP)
        else:
            log.warning("the supervisor (pid %s) is gone: only this worker reloaded", pid)

    return fanout


def watch_parent(parent: int, every: float = 1.0) -> threading.Thread:
    """In a worker: stop it (SIGTERM to itself, uvicorn's graceful stop) once ``parent``, the supervisor,
    is gone. A supervisor killed outright left its workers serving the port, unsupervised, and a new
    ``tiergate serve`` could not bind it."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        log.warning("tiergate worker %d: the supervisor (pid %d) is gone; stopping", os.getpid(), parent)
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=watch, name="tiergate-parent-watch", daemon=True)
    thread.start()
    return thread


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def reuseport_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` with ``SO_REUSEPORT``, not yet listening: the worker that gets it
    listens, so the kernel hands this socket connections only once that worker serves."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def bind_address(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` as uvicorn binds one (``SO_REUSEADDR``, so connections of a
    previous run in TIME_WAIT do not block it; no ``SO_REUSEPORT``), not yet listening. It fails with
    EADDRINUSE while anything else listens there, ``SO_REUSEPORT`` or not."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


#: Each address this process's supervisor claimed, by its guard (:func:`guard`): kept open while it lives.
_GUARDS: dict[tuple[str, int], socket.socket] = {}


def guard(host: str, port: int) -> socket.socket | None:
    """A Unix socket bound in the abstract namespace under ``host:port``: one process at a time can hold
    it, the kernel lets it go when that process ends, and it is scoped to the network namespace, as the
    port is. Raises ``OSError`` (EADDRINUSE) when another process holds it; None where the platform has no
    abstract namespace (not Linux)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(f"\0tiergate-serve {host} {port}")
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise
        return None
    return sock


def claim(host: str, port: int) -> socket.socket:
    """Make ``host:port`` the supervisor's before any worker starts (port 0 gets its number here).

    The returned socket holds the address while workers come and go; each worker's own socket joins it
    with ``SO_REUSEPORT``. Raises ``OSError`` (EADDRINUSE) when another process holds the address:

    1. a probe binds without ``SO_REUSEPORT`` (``bind_address``). That fails while any other socket
       listens there, including another ``serve --workers`` whose ``SO_REUSEPORT`` sockets would
       otherwise let ours join them. The probe is closed at once;
    2. the :func:`guard` of the address: another supervisor that probed in the same instant (two started
       at once) holds it, or takes it after us and is refused here. It is held for the process's life;
    3. the hold binds with ``SO_REUSEPORT`` and *without* ``SO_REUSEADDR``. Until our first worker
       listens (seconds: workers import tiergate and probe the backends first) nothing of ours is
       listening, and a socket with ``SO_REUSEADDR`` that is not listening does not stop another
       ``SO_REUSEADDR`` bind; a hold without it does, so a second ``serve`` started meanwhile (with
       workers or not) is refused too.

    What remains is the instant between closing the probe and binding the hold for a process that is
    not a tiergate supervisor (it takes no guard) but binds with ``SO_REUSEPORT`` as the same user and
    probes in exactly those microseconds. If a connection a process without ``SO_REUSEPORT`` left in
    TIME_WAIT (a single-process gateway stopped a moment ago) blocks the hold, it is bound with
    ``SO_REUSEADDR`` as well: the workers still start, and the port is guarded from when the first one
    listens.
    """
    with bind_address(host, port) as probe:
        port = probe.getsockname()[1]
    held = guard(host, port)
    if held is not None:
        _GUARDS[host, port] = held
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            sock.close()
            sock = reuseport_socket(host, port)
    except OSError:
        sock.close()
        raise
    return sock


def cannot_listen(host: str, port: int, exc: OSError) -> str:
    """One line for a bind that failed: the address, and what is wrong with it."""
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {address}: address already in use (another process listens there, or is "
            "starting to; stop it or choose another --port)"
        )
    return f"cannot listen on {address}: {exc.strerror or exc}"


def server_config(app: Any, host: str, port: int, announce: str, **more: Any) -> uvicorn.Config:
    """uvicorn's settings for ``serve``, one process or several: tiergate writes its own request log,
    ``announce`` is logged once the socket listens (:class:`Announce`), and a request's head is bounded by
    ``HEAD_LIMIT`` whichever HTTP implementation runs (:func:`http_protocol`)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        callback_notify=Announce(announce),
        http=http_protocol(),
        h11_max_incomplete_event_size=HEAD_LIMIT,
        **more,
    )


def http_protocol() -> str:
    """httptools with the head bound (tiergate.head_limit), as uvicorn's ``auto`` would pick httptools; h11
    where httptools is not installed, which ``h11_max_incomplete_event_size`` bounds by itself (with a 400).
    A name, not the class: importing the class needs httptools."""
    if importlib.util.find_spec("httptools") is None:
        return "h11"
    from tiergate.head_limit import fits

    if not fits():  # uvicorn changed what the protocol builds on: serve unbounded rather than not at all
        log.warning("this uvicorn's httptools protocol is not the one tiergate.head_limit knows: heads are unbounded")
        return "httptools"
    return "tiergate.head_limit:HeadLimitProtocol"


class Announce:
    """uvicorn's ``callback_notify``: the server calls it first once its sockets listen, at the first
    tick after start-up, then every ``timeout_notify`` seconds. It logs ``message`` the first time only
    (``{pid}`` is the process's). Picklable, so each worker gets its own copy."""

    def __init__(self, message: str) -> None:
        self.message = message
        self.done = False

    async def __call__(self) -> None:
        if not self.done:
            self.done = True
            log.info("%s", self.message.replace("{pid}", str(os.getpid())))


class Supervisor(Multiprocess):
    """uvicorn's supervisor, but each worker it starts gets a socket of its own on the port (``sockets`` is
    read once per worker start), and SIGHUP reloads the workers' rules instead of restarting them.

    The supervisor keeps its copy of each worker's socket while that worker lives, and closes it once the
    worker is gone: the worker made it listen, so a copy left open stays in the port's group with nobody
    accepting, and the kernel kept handing it a share of new connections, which hung."""

    def __init__(self, config: uvicorn.Config, host: str, port: int, *, hold: socket.socket | None = None) -> None:
        self._address = (host, port)
        self._hold = hold
        #: Sockets made for workers not started yet (``sockets`` is read just before a worker is made).
        self._fresh: list[socket.socket] = []
        self._owned: dict[Any, socket.socket] = {}  # by uvicorn's Process object, held so ids stay unique
        super().__init__(config, sockets=[])

    @property
    def sockets(self) -> list[socket.socket]:
        sock = reuseport_socket(*self._address)
        self._fresh.append(sock)
        return [sock]

    @sockets.setter
    def sockets(self, value: list[socket.socket]) -> None:
        """uvicorn's constructor sets the shared list; each worker gets a fresh socket instead."""

    def init_processes(self) -> None:
        super().init_processes()
        self._settle()

    def keep_subprocess_alive(self) -> None:
        before = set(self._owned)
        super().keep_subprocess_alive()
        self._settle()
        for gone in before - set(self._owned):
            log.warning("tiergate worker %s stopped (exit code %s); a new one takes its place", gone.pid, gone.exitcode)

    def handle_signals(self) -> None:
        super().handle_signals()
        self._settle()

    def _settle(self) -> None:
        """Note each new worker's socket (the one it was started with), and close the sockets of workers no
        longer running, and of workers made and let go before this look (SIGTTIN then SIGTTOU)."""
        for process in self.processes:
            if process not in self._owned:
                sock = _socket_of(process)
                if sock is None and self._fresh:  # uvicorn keeps it elsewhere: the oldest socket made
                    sock = self._fresh[0]
                if sock is not None:
                    self._owned[process] = sock
                    self._fresh = [s for s in self._fresh if s is not sock]
        held = {id(sock) for sock in self._owned.values()}
        for sock in self._fresh:
            if id(sock) not in held:
                sock.close()
        self._fresh.clear()
        running = set(self.processes)
        for process in [p for p in self._owned if p not in running]:
            self._owned.pop(process).close()

    def close(self) -> None:
        for sock in [*self._owned.values(), *self._fresh, *([self._hold] if self._hold is not None else [])]:
            sock.close()
        self._owned.clear()
        self._fresh.clear()

    def handle_hup(self) -> None:
        for process in self.processes:
            if process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGHUP)


def _socket_of(process: Any) -> socket.socket | None:
    """The socket uvicorn started ``process`` (its ``Process``) with: its ``multiprocessing`` process's
    ``sockets`` argument."""
    started = getattr(getattr(process, "process", None), "_kwargs", None) or {}
    given = started.get("sockets") or []
    return given[0] if given and isinstance(given[0], socket.socket) else None


def serve_workers(config: Path, host: str, port: int, workers: int, *, log_level: str, watch: bool) -> int:
    """Run ``workers`` processes on ``host:port`` until SIGINT or SIGTERM."""
    try:  # the address is claimed (and port 0 given a number) before any worker starts
        hold = claim(host, port)
    except OSError as exc:
        log.error("%s", cannot_listen(host, port, exc))
        return 1
    port = hold.getsockname()[1]
    board = Path(tempfile.mkdtemp(prefix="tiergate-workers-"))
    os.environ.update(
        {
            ENV_CONFIG: str(config),
            ENV_WATCH: "1" if watch else "0",
            ENV_BOARD: str(board),
            ENV_SUPERVISOR: str(os.getpid()),
            ENV_LOG_LEVEL: log_level,
        }
    )
    announce = f"tiergate worker {{pid}} of {workers} listening on http://{host}:{port}/v1"
    uv = server_config("tiergate.workers:worker_app", host, port, announce, factory=True, workers=workers)
    supervisor = Supervisor(uv, host, port, hold=hold)  # the hold keeps the port ours while workers restart
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
    if supervisor := os.environ.get(ENV_SUPERVISOR):
        watch_parent(int(supervisor))
    board = WorkerBoard(Path(os.environ[ENV_BOARD]))
    app = build(
        Path(os.environ[ENV_CONFIG]),
        watch=os.environ.get(ENV_WATCH) == "1",
        board=board,
        fanout=reload_everywhere(),
    )
    settle_gc()
    return app
