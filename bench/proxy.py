"""Proxy overhead: what tiergate adds between a client and a fast OpenAI-compatible upstream.

Starts ``bench/mock_upstream.py`` and ``tiergate serve`` as two processes on loopback, then drives
the same request at both, so the difference is tiergate's own cost:

1. latency added to a whole (non-stream) answer, at 1, 32 and 256 clients, as p50/p99 of
   "through the gateway" minus p50/p99 of "straight to the mock", and the same at 32 clients behind
   an upstream that takes 100 ms, each client pausing 0..200 ms between requests (a team's traffic:
   the gateway is busy but not saturated);
2. throughput at 1, 32 and 256 concurrent clients (closed loop: each client sends its next request
   when the last one is answered, so once the gateway's CPU is saturated the latency is queueing:
   clients / throughput), through the gateway and straight to the mock, and the gateway's CPU time
   per request (user + system, from /proc: the figure least disturbed by other load on the machine);
3. time to the first content chunk of a stream (TTFT), 200 sequential streams each way;
4. buffering: the mock sends content chunks 50 ms apart, and every chunk must reach the client on
   its own, about 50 ms after the previous one.

The gateway runs the repo's routes.yaml routing section (rules, scorers, bands: every request is
routed as ``model: auto`` through phase 1) with every tier pointed at the mock and no classifier.
Load comes from wrk when it is installed (``apt-get install wrk``), else from a Python asyncio
generator, which competes with the gateway for CPU and so overstates the cost. On a machine with two
or more CPUs the gateway is pinned to CPU 1 and the mock and wrk to CPU 0 (``taskset``), as a gateway
would have its own core in production; ``--no-pin`` lets all three float (the README gives both).
Each load run starts after ``--settle`` seconds of quiet. A run takes about
90 s. The exit status is non-zero only when the benchmark itself fails (a process does not start,
requests error); targets missed are reported as FAIL in the text.

    python bench/proxy.py                        # table on stdout
    python bench/proxy.py --json results.json    # also write every figure as JSON
    python bench/proxy.py --log-levels warning   # skip the second pass with info-level request logs

Scaling out (``--workers`` and/or ``--shared-state``) runs a shorter comparison instead: for each
gateway configuration (1 and N worker processes; without and with state in a real ``redis-server``
started on loopback) the added p50/p99 at 1 and 32 clients, the 32-client throughput, and the gateway's
CPU per request (summed over the supervisor and its workers). Nothing is pinned there, so that a second
worker has a second core (the mock and wrk share the two cores with it, as they would not in
production). Every target of the rules gets generous rpm and concurrency limits in every
configuration, so the shared-state runs pay for what a team's gateway would: a sticky-session
script and a limit script per request, not only the session. The load repeats one conversation, so
after its first turn the session is answered from memory, and with limits this far from full the
limit is taken ahead of Redis's answer (``state.limits_ahead``): both scripts go out batched with
other requests' without the request waiting, except a take that finds 8 of its key's takes still
unanswered, which waits and carries the queued ones along (``bench/redis_calls.py`` counts this).

    python bench/proxy.py --workers 1,2                  # throughput and latency, 1 vs 2 workers
    python bench/proxy.py --workers 1 --shared-state     # the cost of Redis on the hot path
    python bench/proxy.py --workers 1,2 --shared-state --rounds 5   # every configuration 5 times in turn

On a shared or virtual machine one run of each configuration is at the mercy of whatever else the
host did during it: the same configuration has moved by 15% between runs here. ``--rounds N`` runs
the whole sequence N times, interleaved, so a slow spell falls on every configuration alike; each
round gets its own table, and a target is judged on the median of its per-round figures, with how
many rounds met it beside.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import json
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
MOCK = Path(__file__).resolve().with_name("mock_upstream.py")
HOST = "127.0.0.1"
CHAT = "/v1/chat/completions"

# The targets, in milliseconds.
TARGET_ADDED_P50_MS = 1.0
TARGET_ADDED_P99_32_MS = 5.0
TARGET_TTFT_ADDED_MS = 1.0

PROMPT = "rename foo to bar in this snippet"  # a short, simple edit: phase 1 routes it LOCAL


def chat_body(*, stream: bool = False, marker: str = "") -> bytes:
    """The request every measurement sends, byte for byte the same to the mock and to the gateway."""
    body: dict[str, Any] = {
        "model": "auto",
        "messages": [{"role": "user", "content": f"{PROMPT} {marker}".strip()}],
    }
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return json.dumps(body, separators=(",", ":")).encode()


# --- the processes --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def write_routes(
    directory: Path,
    mock_url: str,
    source: Path,
    decision_log: bool = False,
    *,
    redis_url: str | None = None,
    limits: bool = False,
    name: str = "routes.yaml",
) -> Path:
    """The repo's routing section with every tier's targets replaced by one target on the mock.

    Tier limits go too (the default local tier allows 2 concurrent requests, which would measure the
    limiter, not the proxy); the classifier goes because it would call a model. The decision log is
    off unless asked for (``--decision-log``): it is a feature's cost, not the proxy's.
    """
    original = yaml.safe_load(source.read_text())
    routing = dict(original.get("routing", {}))
    routing.pop("classifier", None)
    caps = {"tools": True, "vision": True, "context_window": 200_000}
    target_limits = {"limits": {"rpm": 10_000_000, "concurrency": 10_000}} if limits else {}
    tiers = {
        tier: {"targets": [{"backend": "mock", "model": f"mock-{tier}", "capabilities": caps, **target_limits}]}
        for tier in original["tiers"]
    }
    config: dict[str, Any] = {
        "version": 1,
        "backends": {"mock": {"kind": "openai", "base_url": mock_url}},
        "tiers": tiers,
        "fallbacks": original.get("fallbacks", {}),
        "routing": routing,
        "server": {"decision_log": {"enabled": decision_log, "path": str(directory / "decisions.db")}},
    }
    for key in ("timeouts", "retries", "breakers"):
        if key in original:
            config[key] = original[key]
    if redis_url is not None:
        config["state"] = {"redis_url": redis_url, "prefix": "bench"}
    path = directory / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    url: str

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process and its children so far (a supervisor's workers): a
        cost figure that other load on the machine does not inflate the way it inflates latency."""
        return sum(_cpu(pid) for pid in _tree(self.popen.pid))

    def tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return ""


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _cpu(pid: int) -> float:
    try:
        fields = _stat(pid)
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree(root: int) -> list[int]:
    """``root`` and every process below it (from /proc: each stat names its parent)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                parents[int(entry.name)] = int(_stat(int(entry.name))[1])
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def set_cpus(procs: list[Proc], cpus: set[int]) -> None:
    """Move every thread of every process under ``procs`` to ``cpus`` (a running process, unlike taskset)."""
    for proc in procs:
        for pid in _tree(proc.popen.pid):
            with contextlib.suppress(OSError):
                for task in Path(f"/proc/{pid}/task").iterdir():
                    with contextlib.suppress(OSError):
                        os.sched_setaffinity(int(task.name), cpus)


def _pinned(cmd: list[str], cpu: str | None) -> list[str]:
    return ["taskset", "-c", cpu, *cmd] if cpu is not None else cmd


def start_mock(workdir: Path, chunks: int, cpu: str | None) -> Proc:
    port = free_port()
    log = workdir / "mock.log"
    cmd = [sys.executable, str(MOCK), "--host", HOST, "--port", str(port), "--chunks", str(chunks)]
    with log.open("wb") as out:
        popen = subprocess.Popen(_pinned(cmd, cpu), stdout=out, stderr=subprocess.STDOUT)
    proc = Proc("mock upstream", popen, log, f"http://{HOST}:{port}")
    _wait_ready(proc, "/v1/models")
    return proc


def start_gateway(
    workdir: Path, routes: Path, python: str, log_level: str, cpu: str | None, *, workers: int = 1, label: str = ""
) -> Proc:
    port = free_port()
    label = label or f"{log_level} logs"
    log = workdir / f"gateway-{label.replace(' ', '-').replace(',', '')}.log"
    cmd = [python, "-m", "tiergate.cli", "serve", "--config", str(routes), "--host", HOST, "--port", str(port)]
    cmd += ["--log-level", log_level, "--no-watch"] + (["--workers", str(workers)] if workers != 1 else [])
    with log.open("wb") as out:
        popen = subprocess.Popen(_pinned(cmd, cpu), stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
    proc = Proc(f"gateway ({label})", popen, log, f"http://{HOST}:{port}")
    _wait_ready(proc, "/health", timeout=90.0)
    if workers > 1:  # every worker up: each writes its entry once its app has started
        deadline = time.monotonic() + 90
        while json.loads(http_once(proc.url, "GET", "/health", b"")[1])["workers"]["count"] < workers:
            if time.monotonic() > deadline:
                raise BenchError(f"{proc.name}: not all {workers} workers started:\n{proc.tail()}")
            time.sleep(0.1)
    return proc


def start_redis(workdir: Path) -> Proc:
    """A throwaway redis-server on loopback (``apt-get install redis-server``), no persistence."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise BenchError("--shared-state needs redis-server (apt-get install redis-server)")
    port = free_port()
    log = workdir / "redis.log"
    cmd = [binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no", "--dir", str(workdir)]
    with log.open("wb") as out:
        popen = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    proc = Proc("redis-server", popen, log, f"redis://{HOST}:{port}/0")
    deadline = time.monotonic() + 10
    while True:
        with socket.socket() as probe:
            if probe.connect_ex((HOST, port)) == 0:
                return proc
        if popen.poll() is not None or time.monotonic() > deadline:
            raise BenchError(f"redis-server did not start:\n{proc.tail()}")
        time.sleep(0.05)


def _wait_ready(proc: Proc, path: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise BenchError(f"{proc.name} exited with status {proc.popen.returncode}:\n{proc.tail()}")
        with contextlib.suppress(OSError):
            status, _ = http_once(proc.url, "GET", path, b"")
            if status == 200:
                return
        time.sleep(0.05)
    proc.stop()
    raise BenchError(f"{proc.name} did not answer GET {path} within {timeout:g}s:\n{proc.tail()}")


class BenchError(Exception):
    """The benchmark could not measure (a process failed, requests errored): exit status 1."""


# --- a minimal HTTP/1.1 client (so client cost is the same, and small, on both paths) ------------


def _request_bytes(method: str, path: str, body: bytes) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nhost: {HOST}\r\ncontent-type: application/json\r\n"
    head += f"content-length: {len(body)}\r\n\r\n"
    return head.encode() + body


class ResponseReader:
    """Incremental response parser (content-length or chunked); ``feed`` returns body pieces."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.status = 0
        self.done = False
        self._head = False
        self._chunked = False
        self._left = 0

    def feed(self, data: bytes) -> list[bytes]:
        self.buffer += data
        pieces: list[bytes] = []
        if not self._head:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return pieces
            head = bytes(self.buffer[:end]).lower()
            del self.buffer[: end + 4]
            self._head = True
            self.status = int(head[9:12])
            self._chunked = b"transfer-encoding: chunked" in head
            length = re.search(rb"content-length:\s*(\d+)", head)
            self._left = int(length.group(1)) if length else 0
            if not self._chunked and self._left == 0:
                self.done = True
        if self._chunked:
            while not self.done:
                eol = self.buffer.find(b"\r\n")
                if eol < 0:
                    break
                size = int(bytes(self.buffer[:eol]).split(b";")[0], 16)
                if len(self.buffer) < eol + 2 + size + 2:
                    break
                if size:
                    pieces.append(bytes(self.buffer[eol + 2 : eol + 2 + size]))
                else:
                    self.done = True
                del self.buffer[: eol + 4 + size]
        elif self.buffer and not self.done:
            take = bytes(self.buffer[: self._left])
            del self.buffer[: len(take)]
            self._left -= len(take)
            pieces.append(take)
            self.done = self._left == 0
        return pieces


def http_once(base_url: str, method: str, path: str, body: bytes) -> tuple[int, bytes]:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(_request_bytes(method, path, body))
        reader, out = ResponseReader(), bytearray()
        while not reader.done:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("connection closed mid-response")
            out += b"".join(reader.feed(data))
        return reader.status, bytes(out)


class StreamClient:
    """One keep-alive connection that times each content-carrying SSE event of a streamed answer."""

    def __init__(self, base_url: str) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        self.sock.close()

    def stream(self, body: bytes) -> tuple[list[float], bool]:
        """Seconds from sending to each content event's arrival, and whether ``[DONE]`` came."""
        request = _request_bytes("POST", CHAT, body)
        reader, pending, arrivals, done = ResponseReader(), b"", [], False
        started = time.perf_counter()
        self.sock.sendall(request)
        while not reader.done:
            data = self.sock.recv(65536)
            now = time.perf_counter() - started
            if not data:
                raise BenchError("the server closed the connection mid-stream")
            for piece in reader.feed(data):
                pending += piece
                *events, pending = pending.split(b"\n\n")
                for event in events:
                    if event == b"data: [DONE]":
                        done = True
                    elif b'"content":"' in event and b'"content":""' not in event:
                        arrivals.append(now)
        if reader.status != 200:
            raise BenchError(f"stream answered HTTP {reader.status}")
        return arrivals, done


# --- load: wrk, or a Python fallback --------------------------------------------------------


@dataclass
class Load:
    connections: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    cpu_ms: float = 0.0  # CPU time the server process spent per request (user + system)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


_WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[{body}]==]
{delay}
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {{"requests":%d,"duration_us":%d,"p50":%d,"p99":%d,"max":%d,"errors":%d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def wrk_load(
    url: str, body: bytes, connections: int, seconds: float, workdir: Path, cpu: str | None, think_ms: int = 0
) -> Load:
    script = workdir / "post.lua"
    delay = f"function delay() return math.random(0, {think_ms}) end" if think_ms else ""
    script.write_text(_WRK_SCRIPT.format(body=body.decode(), delay=delay))
    cmd = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url + CHAT,
    ]
    out = subprocess.run(_pinned(cmd, cpu), capture_output=True, text=True, check=False)
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if out.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({out.returncode}): {out.stdout}{out.stderr}")
    r = json.loads(line.removeprefix("WRKJSON "))
    return Load(
        connections,
        r["requests"],
        r["duration_us"] / 1e6,
        r["p50"] / 1000,
        r["p99"] / 1000,
        r["max"] / 1000,
        r["errors"],
    )


def python_load(url: str, body: bytes, connections: int, seconds: float, think_ms: int = 0) -> Load:
    return asyncio.run(_python_load(url, body, connections, seconds, think_ms))


async def _python_load(url: str, body: bytes, connections: int, seconds: float, think_ms: int) -> Load:
    host, port = url.removeprefix("http://").split(":")
    request = _request_bytes("POST", CHAT, body)
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                writer.write(request)
                response = ResponseReader()
                while not response.done:
                    data = await reader.read(65536)
                    if not data:
                        raise BenchError("the server closed a keep-alive connection")
                    response.feed(data)
                latencies.append(time.perf_counter() - started)
                errors += response.status != 200
                if think_ms:
                    await asyncio.sleep(random.uniform(0, think_ms) / 1000)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    p50, p99 = np.percentile(ms, [50, 99]) if len(ms) else (0.0, 0.0)
    return Load(connections, len(ms), elapsed, float(p50), float(p99), float(ms.max(initial=0.0)), errors)


# --- the measurements -----------------------------------------------------------------------


@dataclass
class Settings:
    seconds: float
    warmup: float
    streams: int
    paced_streams: int
    pace_ms: int
    slow_ms: int
    think_ms: int
    chunks: int
    use_wrk: bool
    workdir: Path
    client_cpu: str | None
    settle: float = 3.0
    repeat: int = 3


def load(settings: Settings, server: Proc, body: bytes, connections: int, think_ms: int = 0) -> Load:
    """Closed-loop load: each client sends its next request when the last is answered (after a random
    think time of 0..think_ms, which keeps clients from marching in step behind a fixed-delay upstream)."""

    def run(seconds: float) -> Load:
        if settings.use_wrk:
            return wrk_load(server.url, body, connections, seconds, settings.workdir, settings.client_cpu, think_ms)
        return python_load(server.url, body, connections, seconds, think_ms)

    # Back-to-back runs that each open up to 256 fresh loopback connections saw 1-4 s stalls (TCP
    # retransmissions: RetransSegs and PAWSOldAck rose in /proc/net/netstat) in whichever run came
    # next; a few seconds of quiet between runs avoids them.
    time.sleep(settings.settle)
    if settings.warmup > 0:
        run(settings.warmup)  # opens the gateway's upstream connections, warms caches
    cpu = server.cpu_seconds()
    result = run(settings.seconds)
    if result.requests == 0 or result.errors > result.requests * 0.01:
        raise BenchError(
            f"{server.name} at {connections} clients: {result.errors} errors in {result.requests} requests"
        )
    result.cpu_ms = (server.cpu_seconds() - cpu) * 1000 / result.requests
    return result


@dataclass
class Streams:
    ttft_p50_ms: float
    ttft_p99_ms: float
    n: int
    cpu_ms: float = 0.0  # server CPU per streamed answer (20 content chunks)


def ttft(settings: Settings, server: Proc) -> Streams:
    client = StreamClient(server.url)
    body = chat_body(stream=True)
    samples: list[float] = []
    try:
        for i in range(settings.streams + 20):
            if i == 20:  # the first few warm the connection and caches
                cpu = server.cpu_seconds()
            arrivals, done = client.stream(body)
            if len(arrivals) != settings.chunks or not done:
                raise BenchError(
                    f"{server.name}: stream had {len(arrivals)} of {settings.chunks} content chunks, [DONE]={done}"
                )
            if i >= 20:
                samples.append(arrivals[0] * 1000)
    finally:
        client.close()
    p50, p99 = np.percentile(samples, [50, 99])
    cpu_ms = (server.cpu_seconds() - cpu) * 1000 / len(samples)
    return Streams(float(p50), float(p99), len(samples), cpu_ms)


@dataclass
class Pacing:
    pace_ms: int
    intervals: int
    min_gap_ms: float
    max_gap_ms: float
    max_deviation_ms: float
    held: int  # chunks that arrived less than half a pace after the previous one: buffered


def pacing(settings: Settings, server: Proc) -> Pacing:
    url = server.url
    client = StreamClient(url)
    body = chat_body(stream=True, marker=f"[[paced-{settings.pace_ms}]]")
    gaps: list[float] = []
    try:
        for _ in range(settings.paced_streams):
            arrivals, done = client.stream(body)
            if len(arrivals) != settings.chunks or not done:
                raise BenchError(f"{url}: paced stream had {len(arrivals)} of {settings.chunks} chunks")
            gaps += [(b - a) * 1000 for a, b in itertools.pairwise(arrivals)]
    finally:
        client.close()
    pace = settings.pace_ms
    return Pacing(
        pace_ms=pace,
        intervals=len(gaps),
        min_gap_ms=min(gaps),
        max_gap_ms=max(gaps),
        max_deviation_ms=max(abs(g - pace) for g in gaps),
        held=sum(g < pace / 2 for g in gaps),
    )


@dataclass
class Pass:
    """Everything measured through one gateway process (one log level)."""

    log_level: str
    latency: dict[int, Load] = field(default_factory=dict)  # fast upstream, by clients
    slow: Load | None = None  # 32 clients thinking 0..think_ms between requests, upstream answering after slow_ms
    streams: Streams | None = None
    pacing: Pacing | None = None


def measure(settings: Settings, server: Proc, label: str, concurrency: list[int]) -> Pass:
    result = Pass(label)
    fast = chat_body()
    for c in concurrency:
        if c == 1:  # the p50 target: the median of several runs, so one noisy moment does not decide it
            result.latency[c] = _median_run([load(settings, server, fast, c) for _ in range(settings.repeat)])
        else:
            result.latency[c] = load(settings, server, fast, c)
        print(f"  {label:<20} {c:>4} clients  {result.latency[c].rps:>8.0f} req/s", file=sys.stderr)
    if settings.slow_ms > 0:
        slow = chat_body(marker=f"[[delay-{settings.slow_ms}]]")
        result.slow = load(settings, server, slow, 32, think_ms=settings.think_ms)
    result.streams = _median_run([ttft(settings, server) for _ in range(settings.repeat)])
    result.pacing = pacing(settings, server)
    return result


R = TypeVar("R", Load, Streams)


def _median_run(runs: list[R]) -> R:
    """The run whose p50 is the median of the runs' p50s."""
    ordered = sorted(runs, key=lambda r: r.p50_ms if isinstance(r, Load) else r.ttft_p50_ms)
    return ordered[len(ordered) // 2]


def check_answers(mock: Proc, gateway: Proc) -> None:
    """One request each way before any load: the bench must not time error pages."""
    for proc in (mock, gateway):
        status, body = http_once(proc.url, "POST", CHAT, chat_body())
        if status != 200 or b"Hello from the mock." not in body:
            raise BenchError(f"{proc.name} answered {status}: {body[:300]!r}")


# --- report ---------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(direct: Pass, passes: list[Pass], settings: Settings, env: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    lines: list[str] = []
    out: dict[str, Any] = {"environment": env, "direct": _asdict(direct), "gateway": {}, "targets": {}}
    w = lines.append
    w(
        f"tiergate proxy benchmark: {env['cpus']} CPUs, Python {env['python']}, load from {env['load']}, "
        f"{settings.seconds:g} s per run; 1-client and TTFT figures are the median of {settings.repeat} runs"
    )
    w(
        f"gateway: uvloop {'yes' if env['uvloop'] else 'no'}, httptools {'yes' if env['httptools'] else 'no'}; "
        f"pinned {'yes' if env['pinned'] else 'no'}; machine {env['idle_before_percent']:.0f}% idle before the run"
    )
    for p in passes:
        name = p.log_level
        out["gateway"][name] = _asdict(p)
        w("")
        w(f"gateway with log level {name}")
        head = f"{'direct p50/p99 ms':>20}{'gateway p50/p99 ms':>22}{'added p50/p99 ms':>20}"
        w(f"  {'non-stream, fast upstream':<30}{head}")
        for c in sorted(p.latency):
            d, g = direct.latency[c], p.latency[c]
            w(
                f"  {f'{c} client(s)':<30}{_pair(d.p50_ms, d.p99_ms):>20}{_pair(g.p50_ms, g.p99_ms):>22}"
                f"{_pair(g.p50_ms - d.p50_ms, g.p99_ms - d.p99_ms):>20}"
            )
        if p.slow and direct.slow:
            d, g = direct.slow, p.slow
            w(
                f"  {f'32 clients, upstream {settings.slow_ms} ms*':<30}{_pair(d.p50_ms, d.p99_ms):>20}"
                f"{_pair(g.p50_ms, g.p99_ms):>22}{_pair(g.p50_ms - d.p50_ms, g.p99_ms - d.p99_ms):>20}"
            )
        if p.slow and direct.slow:
            w(
                f"  * each client thinks 0..{settings.think_ms} ms (uniform) between requests; "
                f"gateway {p.slow.rps:.0f} req/s"
            )
        w(f"  {'throughput req/s':<30}" + "".join(f"{f'{c} clients':>14}" for c in sorted(p.latency)))
        w(f"  {'  direct':<30}" + "".join(f"{direct.latency[c].rps:>14.0f}" for c in sorted(p.latency)))
        w(f"  {'  gateway':<30}" + "".join(f"{p.latency[c].rps:>14.0f}" for c in sorted(p.latency)))
        w(f"  {'gateway CPU ms per request':<30}" + "".join(f"{p.latency[c].cpu_ms:>14.3f}" for c in sorted(p.latency)))
        if p.streams and direct.streams:
            ds, gs = direct.streams, p.streams
            w(
                f"  {f'stream TTFT ({gs.n} sequential)':<30}{_pair(ds.ttft_p50_ms, ds.ttft_p99_ms):>20}"
                f"{_pair(gs.ttft_p50_ms, gs.ttft_p99_ms):>22}"
                f"{_pair(gs.ttft_p50_ms - ds.ttft_p50_ms, gs.ttft_p99_ms - ds.ttft_p99_ms):>20}"
            )
            w(f"  {'gateway CPU ms per stream':<30}{gs.cpu_ms:>20.3f}   ({settings.chunks} content chunks each)")
        if p.pacing and direct.pacing:
            dp, gp = direct.pacing, p.pacing
            w(
                f"  chunks sent {gp.pace_ms} ms apart: {gp.intervals} gaps seen through the gateway, "
                f"{gp.min_gap_ms:.1f}..{gp.max_gap_ms:.1f} ms, max deviation {gp.max_deviation_ms:.2f} ms "
                f"(direct {dp.max_deviation_ms:.2f} ms); chunks held back: {gp.held}"
            )
        targets = _targets(direct, p, settings.slow_ms)
        out["targets"][name] = targets
        w("  targets")
        for k, (ok, value) in targets.items():
            w(f"    {verdict(ok)}  {k}: {value}")
    return "\n".join(lines), out


def _targets(direct: Pass, p: Pass, slow_ms: int) -> dict[str, tuple[bool, str]]:
    t: dict[str, tuple[bool, str]] = {}
    if 1 in p.latency:
        added = p.latency[1].p50_ms - direct.latency[1].p50_ms
        t[f"added p50 <= {TARGET_ADDED_P50_MS:g} ms at 1 client"] = (added <= TARGET_ADDED_P50_MS, f"{added:.2f} ms")
    if 32 in p.latency:
        added = p.latency[32].p99_ms - direct.latency[32].p99_ms
        floor = 32 / p.latency[32].rps * 1000 if p.latency[32].rps else 0.0
        t[f"added p99 <= {TARGET_ADDED_P99_32_MS:g} ms at 32 clients, fast upstream (gateway saturated)"] = (
            added <= TARGET_ADDED_P99_32_MS,
            f"{added:.2f} ms (closed loop at saturation: every request waits behind the other 31, "
            f"mean latency = 32 / throughput = {floor:.1f} ms)",
        )
    if p.slow and direct.slow:
        added = p.slow.p99_ms - direct.slow.p99_ms
        t[f"added p99 <= {TARGET_ADDED_P99_32_MS:g} ms at 32 clients, upstream {slow_ms} ms"] = (
            added <= TARGET_ADDED_P99_32_MS,
            f"{added:.2f} ms",
        )
    if p.streams and direct.streams:
        added = p.streams.ttft_p50_ms - direct.streams.ttft_p50_ms
        t[f"TTFT added p50 <= {TARGET_TTFT_ADDED_MS:g} ms"] = (added <= TARGET_TTFT_ADDED_MS, f"{added:.2f} ms")
    if p.pacing:
        t["no chunk buffered"] = (p.pacing.held == 0, f"{p.pacing.held} held")
    return t


def _pair(a: float, b: float) -> str:
    return f"{a:.2f} / {b:.2f}"


def _asdict(p: Pass) -> dict[str, Any]:
    d = asdict(p)
    for c, result in p.latency.items():
        d["latency"][c]["rps"] = round(result.rps, 1)
    return d


def environment(python: str, use_wrk: bool, pin: bool, idle: float) -> dict[str, Any]:
    probe = "import importlib.util as u; print(bool(u.find_spec('uvloop')), bool(u.find_spec('httptools')))"
    uvloop, httptools = subprocess.run([python, "-c", probe], capture_output=True, text=True).stdout.split()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    cpu = next((x.split(":", 1)[1].strip() for x in _cpuinfo() if x.startswith("model name")), platform.processor())
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("\n")[0] if use_wrk else ""
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "uvloop": uvloop == "True",
        "httptools": httptools == "True",
        "load": " ".join(wrk.split()[:2]) if use_wrk else "a Python asyncio generator",
        "pinned": pin,
        "idle_before_percent": round(idle, 1),
        "commit": commit.stdout.strip(),
    }


def machine_idle(seconds: float = 1.0) -> float:
    """Percent of all CPUs idle over ``seconds`` (from /proc/stat); 100 where it cannot be read."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in (_read("/proc/stat").split("\n", 1)[0].split()[1:] or ["0"])]
        return sum(fields), sum(fields[3:5])  # idle + iowait

    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return 100.0 * (idle1 - idle0) / (total1 - total0) if total1 > total0 else 100.0


def _cpuinfo() -> list[str]:
    return _read("/proc/cpuinfo").splitlines()


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


# --- scaling out: workers and shared state ----------------------------------------------------


@dataclass
class Config:
    workers: int
    redis: bool

    @property
    def label(self) -> str:
        return f"{self.workers} worker{'s' if self.workers > 1 else ''}, " + (
            "state in Redis" if self.redis else "state in process"
        )


def scale_configs(workers: list[int], shared_state: bool) -> list[Config]:
    configs = [Config(n, False) for n in workers]
    if shared_state:
        configs += [Config(n, True) for n in workers]
    return configs


def scale_out(args: argparse.Namespace, settings: Settings, workers: list[int]) -> tuple[str, dict[str, Any]]:
    """Direct, then each configuration: 1 and 32 clients on the fast upstream, 32 on the slow one. With
    ``--rounds N`` the whole sequence runs N times, so a slow spell of the machine falls on every
    configuration alike rather than on whichever ran during it."""
    configs = scale_configs(workers, args.shared_state)
    procs: list[Proc] = []
    rounds: list[Round] = []
    with running(procs):
        mock = start_mock(settings.workdir, args.chunks, None)
        procs.append(mock)
        redis = start_redis(settings.workdir) if args.shared_state else None
        if redis is not None:
            procs.append(redis)
        for i in range(args.rounds):
            if args.rounds > 1:
                print(f"round {i + 1} of {args.rounds}", file=sys.stderr)
            print("measuring straight to the mock", file=sys.stderr)
            direct = scale_measure(settings, mock, "direct", [p for p in procs if p is not mock], server_cpu=0)
            results: dict[str, Pass] = {}
            for config in configs:
                results[config.label] = scale_config(args, settings, config, procs, mock, redis)
            rounds.append(Round(direct, results))
    return scale_report(rounds, configs, settings)


def scale_config(
    args: argparse.Namespace, settings: Settings, config: Config, procs: list[Proc], mock: Proc, redis: Proc | None
) -> Pass:
    """Start one gateway configuration, measure it, stop it."""
    routes = write_routes(
        settings.workdir,
        mock.url + "/v1",
        args.routes,
        args.decision_log,
        redis_url=redis.url if config.redis and redis is not None else None,
        limits=True,
        name=f"routes-{config.workers}-{int(config.redis)}.yaml",
    )
    level = args.log_levels.split(",")[0]
    gateway = start_gateway(
        settings.workdir, routes, args.python, level, None, workers=config.workers, label=config.label
    )
    procs.append(gateway)
    check_answers(mock, gateway)
    if config.redis:
        state = json.loads(http_once(gateway.url, "GET", "/health", b"")[1])["state"]
        if state["status"] != "ok":
            raise BenchError(f"{gateway.name}: shared state is {state}")
    print(f"measuring through the gateway ({config.label})", file=sys.stderr)
    others = [p for p in procs if p is not gateway]
    try:
        return scale_measure(settings, gateway, config.label, others)
    finally:
        gateway.stop()
        procs.remove(gateway)


def scale_measure(
    settings: Settings, server: Proc, label: str, others: list[Proc] | None = None, server_cpu: int = 1
) -> Pass:
    """1 client pinned as in the main benchmark (the gateway on CPU 1; the mock, Redis and the load on
    CPU 0), so that the cost of Redis is not lost in the scheduler moving processes between CPUs; then 32
    clients with nothing pinned, so that a second worker has a second CPU."""
    result = Pass(label)
    fast = chat_body()
    every = {*range(os.cpu_count() or 1)}
    pin = others is not None and len(every) >= 2
    if pin:
        set_cpus([server], {server_cpu})
        set_cpus(others or [], {0})
    one = dataclasses.replace(settings, client_cpu="0") if pin else settings
    result.latency[1] = _median_run([load(one, server, fast, 1) for _ in range(settings.repeat)])
    if pin:
        set_cpus([server, *(others or [])], every)
    result.latency[32] = load(settings, server, fast, 32)
    print(f"  {label:<36} 32 clients {result.latency[32].rps:>8.0f} req/s", file=sys.stderr)
    if settings.slow_ms > 0:
        slow = chat_body(marker=f"[[delay-{settings.slow_ms}]]")
        result.slow = load(settings, server, slow, 32, think_ms=settings.think_ms)
    return result


@dataclass
class Round:
    """One pass over every configuration: the direct figures and each configuration's."""

    direct: Pass
    results: dict[str, Pass]


def scale_report(rounds: list[Round], configs: list[Config], settings: Settings) -> tuple[str, dict[str, Any]]:
    lines: list[str] = []
    w = lines.append
    w(
        f"tiergate scale-out benchmark: {os.cpu_count()} CPUs, load from {'wrk' if settings.use_wrk else 'Python'}, "
        f"1 client pinned (gateway on CPU 1, the rest on CPU 0), 32 clients not pinned, "
        f"{settings.seconds:g} s per run, "
        f"1-client figures the median of {settings.repeat} runs"
        + (f", {len(rounds)} rounds of every configuration in turn" if len(rounds) > 1 else "")
    )
    out: dict[str, Any] = {"rounds": []}
    per_round: list[dict[str, float]] = []
    for i, r in enumerate(rounds):
        if len(rounds) > 1:
            w(f"  round {i + 1}")
        w(_scale_table(r, configs, settings, out["rounds"]))
        per_round.append(scale_targets(r, configs))
    w(
        "  targets"
        + (" (the median of the rounds decides; each round's figure in parentheses)" if len(rounds) > 1 else "")
    )
    for key in dict.fromkeys(k for f in per_round for k in f):
        text, bound = _target(key)
        seen = [f[key] for f in per_round if key in f]
        mid = statistics.median(seen)
        ok = mid >= bound if key == "workers_ratio" else mid <= bound
        detail = ""
        if len(seen) > 1:
            met = sum(1 for v in seen if (v >= bound if key == "workers_ratio" else v <= bound))
            detail = f" ({', '.join(f'{v:.2f}' for v in seen)}; met in {met} of {len(seen)} rounds)"
        unit = " x" if key == "workers_ratio" else " ms"
        w(f"    {verdict(ok)}  {text}: {mid:.2f}{unit}{detail}")
        out[key] = mid
        out[f"{key}_rounds"] = seen
    # the first round's tables keep their old place in the JSON, for scripts that read one round
    out["direct"] = out["rounds"][0]["direct"]
    out["configs"] = out["rounds"][0]["configs"]
    return "\n".join(lines), out


def _target(key: str) -> tuple[str, float]:
    """What a figure of :func:`scale_targets` is held to, in words, and its bound."""
    if key == "workers_ratio":
        return "2 workers >= 1.6 x one worker's throughput at 32 clients", 1.6
    n = key.rsplit("_", 1)[1]
    return f"shared state adds <= 0.3 ms p50 (1 client, {n} worker(s))", 0.3


def scale_targets(r: Round, configs: list[Config]) -> dict[str, float]:
    """The figures the targets are about, from one round."""
    by = {(c.workers, c.redis): r.results[c.label] for c in configs}
    found: dict[str, float] = {}
    if (1, False) in by and (2, False) in by:
        found["workers_ratio"] = by[(2, False)].latency[32].rps / by[(1, False)].latency[32].rps
    for n in sorted({c.workers for c in configs}):
        if (n, False) in by and (n, True) in by:
            found[f"redis_cost_p50_ms_{n}"] = by[(n, True)].latency[1].p50_ms - by[(n, False)].latency[1].p50_ms
    return found


def _scale_table(r: Round, configs: list[Config], settings: Settings, out: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    w = lines.append
    head = f"{'added p50/p99 1 client':>24}{'added p50/p99 32 clients':>26}{'req/s 32':>10}{'CPU ms/req':>12}"
    slow_head = f"{f'added p50/p99 32c, {settings.slow_ms} ms':>28}" if settings.slow_ms else ""
    w(f"  {'configuration':<36}{head}{slow_head}")
    direct = r.direct
    d1, d32 = direct.latency[1], direct.latency[32]
    w(
        f"  {'direct to the mock':<36}{_pair(d1.p50_ms, d1.p99_ms):>24}{_pair(d32.p50_ms, d32.p99_ms):>26}"
        f"{d32.rps:>10.0f}{'':>12}" + (f"{_pair(direct.slow.p50_ms, direct.slow.p99_ms):>28}" if direct.slow else "")
    )
    figures: dict[str, Any] = {"direct": _asdict(direct), "configs": {}}
    for config in configs:
        p = r.results[config.label]
        g1, g32 = p.latency[1], p.latency[32]
        slow = ""
        if p.slow and direct.slow:
            slow = f"{_pair(p.slow.p50_ms - direct.slow.p50_ms, p.slow.p99_ms - direct.slow.p99_ms):>28}"
        w(
            f"  {config.label:<36}{_pair(g1.p50_ms - d1.p50_ms, g1.p99_ms - d1.p99_ms):>24}"
            f"{_pair(g32.p50_ms - d32.p50_ms, g32.p99_ms - d32.p99_ms):>26}{g32.rps:>10.0f}{g32.cpu_ms:>12.3f}{slow}"
        )
        figures["configs"][config.label] = _asdict(p)
    out.append(figures)
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------------


@contextlib.contextmanager
def running(procs: list[Proc]) -> Iterator[None]:
    try:
        yield
    finally:
        for proc in reversed(procs):
            proc.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="length of each load run")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured load before each run; 0 skips")
    parser.add_argument("--clients", default="1,32,256", help="concurrency levels, comma-separated")
    parser.add_argument("--streams", type=int, default=200, help="sequential streams for TTFT")
    parser.add_argument("--paced-streams", type=int, default=3, help="streams for the buffering check")
    parser.add_argument("--pace-ms", type=int, default=50)
    parser.add_argument("--slow-ms", type=int, default=100, help="upstream delay for the 32-client run; 0 skips")
    parser.add_argument("--think-ms", type=int, default=200, help="client think time, 0..N ms, in that run")
    parser.add_argument("--chunks", type=int, default=20, help="content chunks per streamed answer")
    parser.add_argument("--log-levels", default="warning,info", help="one gateway pass per level")
    parser.add_argument("--routes", type=Path, default=ROOT / "routes.yaml", help="whose routing section to use")
    parser.add_argument("--python", default=sys.executable, help="interpreter that runs the gateway")
    parser.add_argument("--no-wrk", action="store_true", help="use the Python load generator even if wrk exists")
    parser.add_argument(
        "--no-pin", dest="pin", action="store_false", help="let the gateway, mock and wrk float over every CPU"
    )
    parser.add_argument(
        "--decision-log", action="store_true", help="keep the SQLite decision log on (the default rules have it on)"
    )
    parser.add_argument("--settle", type=float, default=3.0, help="seconds of quiet before each load run")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the 1-client and TTFT measurements (median)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--workers", default=None, help="scale-out comparison: worker counts to compare, e.g. 1,2 (see above)"
    )
    parser.add_argument(
        "--shared-state", action="store_true", help="scale-out comparison: each configuration again with Redis"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="scale-out comparison: run every configuration this many times in turn"
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    use_wrk = not args.no_wrk and shutil.which("wrk") is not None
    scale = args.workers is not None or args.shared_state
    # The scale-out comparison pins nothing: every process it starts inherits this one's CPU affinity, so
    # pinning this process there would put the workers, wrk, the mock and Redis on one CPU.
    pin = not scale and args.pin and shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
    client_cpu, gateway_cpu = ("0", "1") if pin else (None, None)
    if client_cpu is not None:  # this process drives the streams: keep it off the gateway's CPU too
        os.sched_setaffinity(0, {int(client_cpu)})
    concurrency = [int(c) for c in args.clients.split(",")]
    idle = machine_idle()  # other work on the machine skews every figure: say how much there was
    if idle < 80:
        print(f"warning: the machine is only {idle:.0f}% idle before the run; figures will be worse", file=sys.stderr)
    if not use_wrk:
        print("wrk not found: using the Python load generator (it competes for CPU)", file=sys.stderr)
    if scale:
        return _scale_main(args, use_wrk, idle)
    with tempfile.TemporaryDirectory(prefix="tiergate-bench-") as tmp:
        workdir = Path(tmp)
        settings = Settings(
            args.seconds,
            args.warmup,
            args.streams,
            args.paced_streams,
            args.pace_ms,
            args.slow_ms,
            args.think_ms,
            args.chunks,
            use_wrk,
            workdir,
            client_cpu,
            args.settle,
            args.repeat,
        )
        procs: list[Proc] = []
        try:
            with running(procs):
                mock = start_mock(workdir, args.chunks, client_cpu)
                procs.append(mock)
                routes = write_routes(workdir, mock.url + "/v1", args.routes, args.decision_log)
                print("measuring straight to the mock", file=sys.stderr)
                direct = measure(settings, mock, "direct", concurrency)
                passes: list[Pass] = []
                for level in args.log_levels.split(","):
                    gateway = start_gateway(workdir, routes, args.python, level, gateway_cpu)
                    procs.append(gateway)
                    check_answers(mock, gateway)
                    print(f"measuring through the gateway ({level} logs)", file=sys.stderr)
                    passes.append(measure(settings, gateway, level, concurrency))
                    gateway.stop()
        except (BenchError, OSError) as exc:  # OSError: a process or wrk could not be started
            print(f"bench/proxy.py: {exc}", file=sys.stderr)
            return 1
    env = environment(args.python, use_wrk, pin, idle)
    text, figures = report(direct, passes, settings, env)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    return 0


def _scale_main(args: argparse.Namespace, use_wrk: bool, idle: float) -> int:
    workers = [int(n) for n in (args.workers or "1").split(",")]
    with tempfile.TemporaryDirectory(prefix="tiergate-bench-") as tmp:
        settings = Settings(
            args.seconds,
            args.warmup,
            args.streams,
            args.paced_streams,
            args.pace_ms,
            args.slow_ms,
            args.think_ms,
            args.chunks,
            use_wrk,
            Path(tmp),
            None,
            args.settle,
            args.repeat,
        )
        try:
            text, figures = scale_out(args, settings, workers)
        except (BenchError, OSError) as exc:
            print(f"bench/proxy.py: {exc}", file=sys.stderr)
            return 1
    figures["environment"] = environment(args.python, use_wrk, False, idle)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
