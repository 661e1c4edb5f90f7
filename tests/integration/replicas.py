"""`tiergate serve` as real processes: replicas of one gateway, as a load balancer would see them.

with Replica.start(config, env, tmp_path / "a.log") as a: httpx.get(a.url + "/health")
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

from tests.engines import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Replica:
    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path
    _log: IO[bytes]

    @classmethod
    def start(cls, config: Path, env: dict[str, str], log_path: Path, *args: str, timeout: float = 60) -> Replica:
        port = free_port()
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("TIERGATE_", "ANTHROPIC_"))}
        environ.update(env)
        environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), environ.get("PYTHONPATH", "")])
        log = log_path.open("wb")
        command = [sys.executable, "-m", "tiergate.cli", "serve", "--config", str(config), "--port", str(port), *args]
        proc = subprocess.Popen(command, env=environ, stdout=log, stderr=subprocess.STDOUT, cwd=config.parent)
        replica = cls(proc, f"http://127.0.0.1:{port}", log_path, log)
        deadline = time.monotonic() + timeout
        while True:
            try:
                httpx.get(replica.url + "/health", timeout=2).raise_for_status()
                return replica
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    replica.stop()
                    raise AssertionError(f"tiergate serve did not start:\n{replica.output()[-4000:]}") from None
                time.sleep(0.1)

    def health(self) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(self.url + "/health", timeout=5).json()
        return body

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()

    def __enter__(self) -> Replica:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_until(check: Any, timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``check()`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.05)
