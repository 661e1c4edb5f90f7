"""Spend a replica counted while Redis was unreachable to it, and the replica stops before Redis returns: real
`tiergate serve` processes, one real Redis, one SQLite decision log in their shared folder.

Replica x reaches Redis through a proxy of the test's (:class:`SlowProxy`), y (and later z) directly. With
the proxy's replies slower than ``state.timeout``, x's link is down and x counts its requests on its own.

* x is stopped while Redis is merely slow to it: its last try waits longer than ``state.timeout``, so y
  reads all of x's spend.
* x is stopped while Redis does not answer it at all: x says what it leaves unshared; the next replica to
  start finds the shared total short of the decision log's and brings it up to it, on every replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_KEY
from tests.engines import free_port
from tests.fakes.anthropic import FakeAnthropic
from tests.integration.replicas import Replica, wait_until

ROUTES = """
backends:
  anthropic: {kind: anthropic, base_url: "${ANTHROPIC_BASE_URL}", api_key_env: ANTHROPIC_API_KEY}
tiers:
  sonnet: {targets: [{backend: anthropic, model: claude-sonnet-4-5, price: {input: 3.0, output: 15.0}}]}
routing:
  mode: fixed
  fixed_tier: sonnet
  band_tiers: {local: sonnet, claude: sonnet, ambiguous: sonnet}
  stickiness: {enabled: false}
retries: {attempts: 0}
budgets: {tiers: {sonnet: {daily_usd: 1000, on_exceed: reject}}}
state: {redis_url: "${TIERGATE_REDIS_URL}", prefix: "${TIERGATE_REDIS_PREFIX}", timeout: 0.25, retry_interval: 0.2}
server:
  decision_log: {path: decisions.db}
"""


class SlowProxy:
    """A TCP proxy to a port whose replies wait ``delay`` seconds each; :meth:`refuse` drops every connection
    and stops listening (Redis gone, as far as its clients can tell)."""

    def __init__(self, target: int) -> None:
        self.target, self.port, self.delay = target, free_port(), 0.0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.writers: set[asyncio.StreamWriter] = set()
        listen = asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.server = asyncio.run_coroutine_threadsafe(listen, self.loop).result()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target)
        self.writers |= {client_w, server_w}
        await asyncio.gather(self._pipe(client_r, server_w, slow=False), self._pipe(server_r, client_w, slow=True))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, slow: bool) -> None:
        try:
            while data := await reader.read(65536):
                if slow and self.delay:
                    await asyncio.sleep(self.delay)
                writer.write(data)
                await writer.drain()
        except (OSError, RuntimeError):
            pass
        finally:
            writer.close()

    def refuse(self) -> None:
        async def shut() -> None:
            self.server.close()
            for writer in self.writers:
                writer.close()
            for writer in self.writers:
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(shut(), self.loop).result(10)

    def close(self) -> None:
        self.refuse()

        async def cancel() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def proxy(redis_url: str) -> Iterator[SlowProxy]:
    one = SlowProxy(int(redis_url.rsplit(":", 1)[1].split("/")[0]))
    yield one
    one.close()


@pytest.fixture
def routes(tmp_path: Path) -> Path:
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES)
    return path


def env(fake_anthropic: FakeAnthropic, redis_url: str, redis_prefix: str) -> dict[str, str]:
    return {
        "ANTHROPIC_BASE_URL": fake_anthropic.url,  # type: ignore[attr-defined]
        "ANTHROPIC_API_KEY": TEST_KEY,
        "TIERGATE_REDIS_URL": redis_url,
        "TIERGATE_REDIS_PREFIX": redis_prefix,
    }


def ask(replica: Replica, times: int = 1) -> None:
    body = {"model": "sonnet", "messages": [{"role": "user", "content": "hi"}]}
    for _ in range(times):
        assert httpx.post(replica.url + "/v1/chat/completions", json=body, timeout=30).status_code == 200


def today(replica: Replica) -> float:
    return float(replica.health()["spend"]["tiers"]["sonnet"]["daily_usd"])


def logged(folder: Path) -> float:
    with contextlib.closing(sqlite3.connect(folder / "decisions.db")) as conn:
        return float(conn.execute("SELECT SUM(cost_usd) FROM decisions WHERE tier = 'sonnet'").fetchone()[0])


def cut_off(x: Replica, y: Replica, proxy: SlowProxy) -> float:
    """x serves one request with Redis reachable, then four with it too slow for x: what one request costs."""
    ask(x)
    one = wait_until(lambda: today(y), what="y to read x's first request")
    proxy.delay = 0.4  # longer than state.timeout: x's next sync times out and its link is down
    wait_until(lambda: x.health()["state"]["status"] == "down", what="x's link to go down")
    ask(x, 4)
    assert today(x) == pytest.approx(5 * one) and today(y) == pytest.approx(one)
    return one


def test_a_replica_stopped_while_redis_is_slow_to_it_shares_its_spend_as_it_stops(
    routes: Path,
    fake_anthropic: FakeAnthropic,
    redis_url: str,
    redis_prefix: str,
    proxy: SlowProxy,
    tmp_path: Path,
) -> None:
    through = redis_url.replace(redis_url.rsplit(":", 1)[1].split("/")[0], str(proxy.port))
    with (
        Replica.start(routes, env(fake_anthropic, through, redis_prefix), tmp_path / "x.log") as x,
        Replica.start(routes, env(fake_anthropic, redis_url, redis_prefix), tmp_path / "y.log") as y,
    ):
        one = cut_off(x, y, proxy)
        x.stop()
        assert "not in the shared budgets" not in x.output()
        wait_until(lambda: today(y) == pytest.approx(5 * one), what="y to read what x counted while cut off")
        assert logged(tmp_path) == pytest.approx(5 * one)


def test_spend_a_replica_could_not_share_as_it_stopped_is_brought_back_from_the_decision_log(
    routes: Path,
    fake_anthropic: FakeAnthropic,
    redis_url: str,
    redis_prefix: str,
    proxy: SlowProxy,
    tmp_path: Path,
) -> None:
    through = redis_url.replace(redis_url.rsplit(":", 1)[1].split("/")[0], str(proxy.port))
    direct = env(fake_anthropic, redis_url, redis_prefix)
    with (
        Replica.start(routes, env(fake_anthropic, through, redis_prefix), tmp_path / "x.log") as x,
        Replica.start(routes, direct, tmp_path / "y.log") as y,
    ):
        one = cut_off(x, y, proxy)
        proxy.refuse()  # Redis does not answer x at all as it stops
        x.stop()
        [line] = [line for line in x.output().splitlines() if "not in the shared budgets" in line]
        assert (
            f"did not answer as this process stopped: ${4 * one:.4f} of spend it counted this month (tier 'sonnet' "
            f"${4 * one:.4f}) is not in the shared budgets; a running process adds it from the decision log "
            "within 600 s, or a process that starts does" in line
        )
        assert today(y) == pytest.approx(one)
        assert logged(tmp_path) == pytest.approx(5 * one)
        with Replica.start(routes, direct, tmp_path / "z.log") as z:
            wait_until(lambda: today(z) == pytest.approx(5 * one), what="z to bring the total up to the log's")
            wait_until(lambda: today(y) == pytest.approx(5 * one), what="y to read the log's total")
            ask(y)
            wait_until(lambda: today(z) == pytest.approx(6 * one), what="z to read y's next request, once")
            assert "this month's shared spend was short of the decision log's" in z.output()
