"""`tiergate serve --workers 2`: two processes serve one port, on one rules version, and every reload
(the file, SIGHUP, POST /admin/reload) reaches both."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.engines import free_port
from tests.integration.replicas import ROOT, Replica, wait_until

ROUTES = """
backends:
  ollama: {kind: ollama, base_url: "${OLLAMA_HOST}"}
  anthropic: {kind: anthropic, base_url: "${ANTHROPIC_BASE_URL}", api_key_env: ANTHROPIC_API_KEY}
tiers:
  local: {targets: [{backend: ollama, model: "qwen2.5-coder:7b", aliases: [qwen]}]}
  sonnet: {targets: [{backend: anthropic, model: claude-sonnet-4-5}]}
fallbacks: {local: [sonnet]}
routing:
  rules:
    - {name: small, when: {feature: last_user_text, contains_any: [rename]}, then: {band: LOCAL}}
"""


def both_on(gw: Replica, version: str | None = None) -> dict[str, Any] | None:
    """/health once both workers have published the same version (``version``, if given)."""
    workers = gw.health()["workers"]
    if workers["count"] != 2 or not workers["agree"]:
        return None
    if version is not None and workers["version"] != version:
        return None
    return dict(workers)


def test_two_workers_serve_one_port_and_sighup_and_admin_reload_reach_both(
    tmp_path: Path, upstream_env: dict[str, str]
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    with Replica.start(routes, upstream_env, tmp_path / "gw.log", "--workers", "2", "--no-watch") as gw:
        first = wait_until(lambda: both_on(gw), timeout=60, what="two workers on one version")
        assert first["version"] == gw.health()["rules"]["version"]
        assert len(first["workers"]) == 2

        def serving(_: int) -> int:
            with httpx.Client() as fresh:  # a new connection each time: the kernel picks a worker
                return int(fresh.get(gw.url + "/health").json()["workers"]["serving"])

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            pids = set(pool.map(serving, range(200)))
        assert pids == {int(pid) for pid in first["workers"]}, "both workers answer requests"
        reply = httpx.post(
            gw.url + "/v1/chat/completions", json={"model": "auto", "messages": [{"role": "user", "content": "hi"}]}
        )
        assert reply.status_code == 200

        routes.write_text(ROUTES.replace("aliases: [qwen]", "aliases: [qwen, q7]"))
        gw.proc.send_signal(signal.SIGHUP)  # to the supervisor, which forwards it
        second = wait_until(
            lambda: (w := both_on(gw)) and w["version"] != first["version"] and w,
            what="both workers reloaded on SIGHUP",
        )
        assert set(second["workers"]) == set(first["workers"]), "reloaded in place, not restarted"

        routes.write_text(ROUTES.replace("aliases: [qwen]", "aliases: [qwen, q7, q8]"))
        outcome = httpx.post(gw.url + "/admin/reload").json()
        assert outcome["ok"] is True and outcome["changed"] is True
        wait_until(lambda: both_on(gw, outcome["version"]), what="both workers on the admin reload's version")
        for _ in range(10):
            assert "q8" in [m["id"] for m in httpx.get(gw.url + "/v1/models").json()["data"]]
    out = gw.output()
    assert out.count("tiergate worker") == 2 and "of 2 listening on" in out


def test_each_worker_follows_the_rule_file(tmp_path: Path, upstream_env: dict[str, str]) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    with Replica.start(routes, upstream_env, tmp_path / "gw.log", "--workers", "2") as gw:
        first = wait_until(lambda: both_on(gw), timeout=60, what="two workers on one version")
        routes.write_text(ROUTES.replace("aliases: [qwen]", "aliases: [qwen, q7]"))
        wait_until(
            lambda: (w := both_on(gw)) and w["version"] != first["version"], what="both workers on the edited file"
        )


def test_a_broken_file_stops_serve_before_any_worker_starts(tmp_path: Path, upstream_env: dict[str, str]) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES.replace("backend: ollama", "backend: olama"))
    done = subprocess.run(
        [sys.executable, "-m", "tiergate.cli", "serve", "--config", str(routes), "--workers", "2", "--port", "1"],
        capture_output=True,
        text=True,
        env={**upstream_env, "PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "unknown backend 'olama'; did you mean 'ollama'?" in done.stderr


def test_a_burst_of_keep_alive_clients_is_spread_over_both_workers(
    tmp_path: Path, upstream_env: dict[str, str]
) -> None:
    """32 clients connect at once and keep their connections (as a load generator or an editor's pool
    does). On one shared socket the first worker to wake accepts them all; with a socket per worker the
    kernel spreads them, so each worker serves a share."""
    import socket

    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    with Replica.start(routes, upstream_env, tmp_path / "gw.log", "--workers", "2", "--no-watch") as gw:
        wait_until(lambda: both_on(gw), timeout=60, what="two workers on one version")
        host, port = gw.url.removeprefix("http://").rsplit(":", 1)
        clients = [socket.create_connection((host, int(port)), timeout=10) for _ in range(32)]
        try:
            served: dict[int, int] = {}
            for sock in clients:
                sock.sendall(f"GET /health HTTP/1.1\r\nhost: {host}\r\n\r\n".encode())
                head, _, body = sock.recv(65536).partition(b"\r\n\r\n")
                length = int(
                    next(
                        line.split(b":")[1]
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    )
                )
                while len(body) < length:
                    body += sock.recv(65536)
                pid = int(httpx.Response(200, content=body).json()["workers"]["serving"])
                served[pid] = served.get(pid, 0) + 1
        finally:
            for sock in clients:
                sock.close()
    assert len(served) == 2 and min(served.values()) >= 4, served


def test_a_port_another_program_holds_stops_serve_with_a_clear_error(
    tmp_path: Path, upstream_env: dict[str, str]
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    port, lines = busy_port_output(routes, upstream_env)
    assert len(lines) == 1, lines
    assert (lines[0]["level"], lines[0]["logger"]) == ("error", "tiergate.server")
    assert lines[0]["msg"] == (
        f"cannot listen on 127.0.0.1:{port}: address already in use (another process listens there, or is "
        "starting to; stop it or choose another --port)"
    )


def busy_port_output(routes: Path, env: dict[str, str]) -> tuple[int, list[dict[str, Any]]]:
    """``serve --workers 2`` on a port another socket holds (listening without SO_REUSEPORT: no worker socket
    may join it): it stops there; the port, and the JSON lines it wrote."""
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [
                *(sys.executable, "-m", "tiergate.cli", "serve", "--config", str(routes), "--workers", "2"),
                *("--host", "127.0.0.1", "--port", str(port)),
            ],
            capture_output=True,
            text=True,
            env={**env, "PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
            timeout=60,
            check=False,
        )
    assert done.returncode == 1, done.stderr
    return port, [json.loads(line) for line in done.stderr.strip().splitlines()]


BUDGETS = "budgets: {tiers: {sonnet: {monthly_usd: 100}}}\n"


def test_workers_without_redis_warn_that_budgets_hold_per_worker(tmp_path: Path, upstream_env: dict[str, str]) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES + BUDGETS)
    _, (warning, refused) = busy_port_output(routes, upstream_env)
    assert (warning["level"], warning["logger"]) == ("warning", "tiergate.server")
    assert warning["msg"] == (
        "budgets: 2 workers without state.redis_url count spend each on its own, so a cap can be passed up to "
        "2 times over (set state.redis_url to share spend between workers)"
    )
    assert refused["level"] == "error"
    # With shared state, or with no caps, nothing to warn of.
    routes.write_text(ROUTES + BUDGETS + 'state: {redis_url: "redis://127.0.0.1:1/0"}\n')
    assert [entry["level"] for entry in busy_port_output(routes, upstream_env)[1]] == ["error"]
    routes.write_text(ROUTES)
    assert [entry["level"] for entry in busy_port_output(routes, upstream_env)[1]] == ["error"]


def refusal(output: str) -> str:
    """The one line ``serve`` wrote: a JSON log entry at level error; its message."""
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    entry = json.loads(lines[0])
    assert entry["level"] == "error" and entry["logger"] == "tiergate.server", entry
    return str(entry["msg"])


def serve(routes: Path, env: dict[str, str], port: int, *args: str) -> subprocess.Popen[str]:
    """``tiergate serve`` on 127.0.0.1:``port``, its output (stdout and stderr) in one pipe."""
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "tiergate.cli", "serve", "--config", str(routes)),
            *("--host", "127.0.0.1", "--port", str(port), "--no-watch", *args),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**env, "PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        cwd=routes.parent,
    )


def test_a_second_workers_gateway_on_the_same_port_is_refused_and_the_first_keeps_its_traffic(
    tmp_path: Path, upstream_env: dict[str, str]
) -> None:
    """SO_REUSEPORT would let the second one's workers join the first one's port (and take its traffic):
    the second supervisor sees the port taken before it starts any worker, and says so."""
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    with Replica.start(routes, upstream_env, tmp_path / "gw.log", "--workers", "2", "--no-watch") as gw:
        first = wait_until(lambda: both_on(gw), timeout=60, what="two workers on one version")
        port = int(gw.url.rsplit(":", 1)[1])
        second = serve(routes, upstream_env, port, "--workers", "2")
        try:
            out, _ = second.communicate(timeout=30)
        finally:
            stop(second)
        assert second.returncode == 1, out
        assert refusal(out).startswith(f"cannot listen on 127.0.0.1:{port}: address already in use"), out
        assert "listening on" not in out

        def serving(_: int) -> int:
            with httpx.Client() as fresh:  # a new connection each time: the kernel picks a listener
                return int(fresh.get(gw.url + "/health").json()["workers"]["serving"])

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            assert set(pool.map(serving, range(100))) == {int(pid) for pid in first["workers"]}


def test_two_workers_gateways_started_at_once_on_one_port_one_serves_and_the_other_is_refused(
    tmp_path: Path, upstream_env: dict[str, str]
) -> None:
    """Until its first worker listens (seconds), a supervisor holds its port with a socket that does not
    listen yet; that socket must keep a second supervisor off the port all the same."""
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    pair = [serve(routes, upstream_env, port, "--workers", "2") for _ in range(2)]
    try:
        refused = wait_until(
            lambda: next((p for p in pair if p.poll() is not None), None), timeout=60, what="one of them to stop"
        )
        out, _ = refused.communicate(timeout=10)
        assert refused.returncode == 1, out
        assert refusal(out).startswith(f"cannot listen on 127.0.0.1:{port}: address already in use"), out
        (kept,) = [p for p in pair if p is not refused]

        def both_up() -> set[int] | None:
            try:
                workers = httpx.get(url + "/health", timeout=5).json()["workers"]
            except httpx.HTTPError:
                return None
            return {int(pid) for pid in workers["workers"]} if workers["count"] == 2 else None

        pids = wait_until(both_up, timeout=60, what="two workers serving")
        assert {parent(pid) for pid in pids} == {kept.pid}

        def serving(_: int) -> int:
            with httpx.Client() as fresh:  # a new connection each time: the kernel picks a listener
                return int(fresh.get(url + "/health").json()["workers"]["serving"])

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            assert set(pool.map(serving, range(100))) == pids
        assert kept.poll() is None
    finally:
        for proc in pair:
            stop(proc)


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate(timeout=10)


def parent(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))


def answered(url: str, tries: int) -> tuple[set[int], int]:
    """The workers that answered ``tries`` fresh connections, and how many connections got no answer (none
    in time, or reset: those that reached a dead worker's socket before the supervisor closed it)."""

    def one(_: int) -> int | None:
        try:
            with httpx.Client(timeout=3) as fresh:  # a new connection each time: the kernel picks a socket
                return int(fresh.get(url + "/health").json()["workers"]["serving"])
        except httpx.TransportError:
            return None

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        seen = list(pool.map(one, range(tries)))
    return {pid for pid in seen if pid is not None}, seen.count(None)


def test_a_worker_killed_outright_is_replaced_and_no_connection_waits_for_it(
    tmp_path: Path, upstream_env: dict[str, str]
) -> None:
    """The supervisor kept its copy of the dead worker's listening socket: about one new connection in
    three waited on it for ever, and nothing in the log said a worker had died."""
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    with Replica.start(routes, upstream_env, tmp_path / "gw.log", "--workers", "2", "--no-watch") as gw:
        first = wait_until(lambda: both_on(gw), timeout=60, what="two workers on one version")
        victim, survivor = (int(pid) for pid in first["workers"])
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: len(answered(gw.url, 20)[0] - {victim, survivor}) == 1, timeout=60, what="a new worker")
        pids, unanswered = answered(gw.url, 90)
        assert unanswered == 0, f"{unanswered} of 90 connections got no answer"
        assert survivor in pids and victim not in pids and len(pids) == 2
    assert f"tiergate worker {victim} stopped (exit code -9); a new one takes its place" in gw.output()


def test_workers_stop_when_their_supervisor_is_killed(tmp_path: Path, upstream_env: dict[str, str]) -> None:
    """Killed outright, the supervisor left its workers serving the port with nobody to restart them, and
    a new `tiergate serve` there could not bind it."""
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    with Replica.start(routes, upstream_env, tmp_path / "gw.log", "--workers", "2", "--no-watch") as gw:
        workers = [int(pid) for pid in wait_until(lambda: both_on(gw), timeout=60, what="two workers")["workers"]]
        gw.proc.kill()
        gw.proc.wait(timeout=10)
        try:
            wait_until(lambda: not any(Path(f"/proc/{p}").exists() for p in workers), timeout=30, what="workers gone")
        finally:  # a failure here must not leave them serving the port
            for pid in workers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
