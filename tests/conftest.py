"""Shared fixtures: fake upstreams on loopback, and the real gateway served in front of them.

The fakes live for the whole session (cheap to reset, slow-ish to start); each test gets them
reset. ``gateway_for`` serves the real app on 127.0.0.1 with any rule file and environment.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_compat import FakeOpenAI
from tests.fakes.server import ThreadedServer, serve

pytest_plugins = ["tests.engines"]  # real redis-server and PostgreSQL, for the shared-state tests

ROOT = Path(__file__).resolve().parents[1]
TEST_KEY = "sk-ant-test-SECRET-4f1c2b9e7d"


DECISION_LOG_LINE = '  decision_log: {url: "${TIERGATE_DECISION_LOG_URL:-}"}\n'


def default_routes(*, decision_log: str | None = None) -> str:
    """The repository's routes.yaml, to be written elsewhere: its learned head named by an absolute path, and
    ``server.decision_log`` replaced by ``decision_log`` (a YAML flow mapping) when given."""
    text = (ROOT / "routes.yaml").read_text()
    text = text.replace("head: heads/default.json", f"head: {ROOT / 'heads' / 'default.json'}")
    if decision_log is not None:
        assert DECISION_LOG_LINE in text, "routes.yaml's server.decision_log line moved: update DECISION_LOG_LINE"
        text = text.replace(DECISION_LOG_LINE, f"  decision_log: {decision_log}\n")
    return text


def with_bands(routes: str, bands: str) -> str:
    """``routes`` with its one-line ``bands: {...}`` replaced by ``bands`` (whatever `tiergate train` wrote)."""
    text, n = re.subn(r"^  bands: \{[^}\n]*\}", "  " + bands, routes, count=1, flags=re.MULTILINE)
    assert n == 1, "the rule file has no one-line `  bands: {...}`"
    return text


@pytest.fixture(scope="session")
def _ollama() -> Iterator[FakeOllama]:
    fake = FakeOllama()
    with serve(fake.app) as url:
        fake.url = url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture(scope="session")
def _anthropic() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic()
    with serve(fake.app) as url:
        fake.url = url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture(scope="session")
def _openai_upstream() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    with serve(fake.app) as url:
        fake.url = url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture
def fake_ollama(_ollama: FakeOllama) -> FakeOllama:
    _ollama.queue.reset()
    return _ollama


@pytest.fixture
def fake_anthropic(_anthropic: FakeAnthropic) -> FakeAnthropic:
    _anthropic.queue.reset()
    return _anthropic


@pytest.fixture
def fake_openai(_openai_upstream: FakeOpenAI) -> FakeOpenAI:
    _openai_upstream.queue.reset()
    return _openai_upstream


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


GatewayFactory = Callable[..., str]


@pytest.fixture
def gateway_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GatewayFactory]:
    """Serve the real gateway: ``gateway_for(config_path, environ) -> base_url``.

    The working directory is the test's tmp_path, so relative paths (the decision log) land there.
    """
    from tiergate.server import build

    monkeypatch.chdir(tmp_path)
    servers: list[ThreadedServer] = []

    def start(config: Path, environ: dict[str, str], **kw: Any) -> str:
        server = ThreadedServer(build(config, environ=environ, watch=kw.pop("watch", False), **kw))
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def upstream_env(fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic) -> dict[str, str]:
    return {
        "OLLAMA_HOST": fake_ollama.url,  # type: ignore[attr-defined]
        "ANTHROPIC_BASE_URL": fake_anthropic.url,  # type: ignore[attr-defined]
        "ANTHROPIC_API_KEY": TEST_KEY,
    }


@pytest.fixture
def gateway(gateway_for: GatewayFactory, upstream_env: dict[str, str]) -> str:
    """The gateway on the repository's own routes.yaml, in front of the fake upstreams."""
    return gateway_for(ROOT / "routes.yaml", upstream_env)


@pytest.fixture
def client(gateway: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=gateway + "/v1", api_key="sk-client-unused", max_retries=0, timeout=30
    ) as sdk:  # closed: an unclosed socket is a ResourceWarning in a later test
        yield sdk
