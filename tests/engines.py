"""Real Redis and PostgreSQL servers for the tests, each on a free loopback port in a temp folder.

The session starts one of each (``redis_server``, ``postgres_server``) and stops them at the end; a
test that kills Redis starts its own (``RedisServer.start()``). A missing binary FAILS the test with
what to install: CI installs the Debian packages (.ci/run), so a skip would hide a broken setup.

    def test_x(redis_url: str, postgres_url: str): ...   # a fresh key prefix / a fresh database each
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

INSTALL = "apt-get update && apt-get install -y redis-server postgresql"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not _listening(port):
        if proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            pytest.fail(f"{what} exited with {proc.returncode} before listening on {port}:\n{out[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not listen on 127.0.0.1:{port} within {timeout:g}s")
        time.sleep(0.05)


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    if proc.stdout is not None:
        proc.stdout.close()


# --- Redis ----------------------------------------------------------------------------------------


@dataclass
class RedisServer:
    """One redis-server process; ``kill()`` it (SIGKILL) and ``start()`` it again on the same port."""

    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="tiergate-redis-")))

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail(f"redis-server is not installed: the shared-state tests need a real Redis ({INSTALL})")
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(
            [*args, "--dir", str(self.folder), "--protected-mode", "no"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        _wait_port(self.port, self.proc, "redis-server")
        return self

    def kill(self) -> None:
        """As a crash would: no goodbye to the clients."""
        if self.proc is not None:
            _stop(self.proc, signal.SIGKILL)

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix of the test's own (``state.prefix``), so tests on one Redis never see each other."""
    return "t" + secrets.token_hex(4)


# --- PostgreSQL -----------------------------------------------------------------------------------


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    binary = found[-1] if found else shutil.which(name)
    if binary is None:
        pytest.fail(f"PostgreSQL's {name} is not installed: the decision-log tests need a real PostgreSQL ({INSTALL})")
    return binary


@dataclass
class PostgresServer:
    """An initdb'd cluster of its own, trust auth on loopback, run as ``postgres`` when we are root."""

    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="tiergate-pg-")))

    @property
    def url(self) -> str:
        return f"postgresql://tiergate@127.0.0.1:{self.port}/postgres"

    def _as_owner(self) -> dict[str, Any]:
        """Popen's arguments that run a command as ``postgres`` (PostgreSQL refuses to run as root)."""
        if os.geteuid() != 0:
            return {}
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail(f"running as root and there is no 'postgres' user to run PostgreSQL as ({INSTALL})")
        shutil.chown(self.folder, "postgres", "postgres")
        return {"user": "postgres", "group": "postgres", "extra_groups": [], "cwd": str(self.folder)}

    def start(self) -> PostgresServer:
        initdb, postgres = _pg_bin("initdb"), _pg_bin("postgres")
        owner = self._as_owner()
        data = self.folder / "data"
        init = subprocess.run(
            [initdb, "-D", str(data), "-A", "trust", "-U", "tiergate", "--no-sync", "-E", "UTF8"],
            capture_output=True,
            check=False,
            **owner,
        )
        if init.returncode != 0:
            pytest.fail(f"initdb failed: {init.stderr.decode(errors='replace')[-2000:]}")
        settings = ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        self.proc = subprocess.Popen(
            [postgres, "-D", str(data), "-p", str(self.port), "-h", "127.0.0.1", "-k", str(self.folder), *settings],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            **owner,
        )
        _wait_port(self.port, self.proc, "postgres")
        return self

    def database(self) -> str:
        """A fresh, empty database: its URL."""
        import psycopg

        name = "t" + secrets.token_hex(6)
        deadline = time.monotonic() + 20
        while True:
            try:
                with psycopg.connect(self.url, autocommit=True) as conn:
                    conn.execute(f"CREATE DATABASE {name}")
                break
            except psycopg.OperationalError:  # still starting up
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        return f"postgresql://tiergate@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc, signal.SIGINT)  # fast shutdown
        with contextlib.suppress(OSError):
            shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    return postgres_server.database()
