"""`tiergate serve` as a real process: starts, answers, and reloads its rules on SIGHUP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import default_routes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_process_reloads_on_sighup(tmp_path: Path) -> None:
    rules = tmp_path / "routes.yaml"
    rules.write_text(default_routes())
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    env["OLLAMA_HOST"] = f"http://127.0.0.1:{free_port()}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tiergate.cli", "serve", "--config", str(rules), "--port", str(port), "--no-watch"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                version = httpx.get(base + "/health").json()["rules"]["version"]
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[0].decode()
                time.sleep(0.1)
        rules.write_text(rules.read_text().replace("aliases: [qwen]", "aliases: [qwen, q7]"))
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while httpx.get(base + "/health").json()["rules"]["version"] == version:
            assert time.monotonic() < deadline, "SIGHUP did not reload"
            time.sleep(0.05)
        assert "q7" in [m["id"] for m in httpx.get(base + "/v1/models").json()["data"]]
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0].decode()
    assert "rules loaded from" in out
    assert "environment variable ANTHROPIC_API_KEY is not set" in out
    # The listening line comes last, once the rules are loaded and the backends probed.
    assert out.index(f"tiergate listening on http://127.0.0.1:{port}/v1") > out.index("rules loaded from")
    assert out.index("tiergate listening on") > out.index("ANTHROPIC_API_KEY is not set")


def test_serve_on_a_taken_port_says_so_in_one_log_line_and_never_that_it_listens(tmp_path: Path) -> None:
    """The port is bound before start-up: a second gateway on it stops at once, in tiergate's JSON log,
    naming the address, and exits 1; it never logs "tiergate listening on"."""
    rules = tmp_path / "routes.yaml"
    rules.write_text(default_routes())
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIERGATE_")}
    env["OLLAMA_HOST"] = f"http://127.0.0.1:{free_port()}"
    with socket.socket() as taken:  # as the first gateway's socket is: SO_REUSEADDR, listening
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "tiergate.cli", "serve", "--config", str(rules), "--port", str(port), "--no-watch"],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
            check=False,
        )
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "listening on" not in out
    (line,) = [line for line in out.splitlines() if "cannot listen" in line or "Errno" in line]
    entry = json.loads(line)
    assert entry["level"] == "error" and entry["logger"] == "tiergate.server"
    assert entry["msg"].startswith(f"cannot listen on 127.0.0.1:{port}: address already in use"), entry
