"""One real gateway for the client tests (stopped after the last one), in front of the session's fake
Ollama and Anthropic.

It serves the repository's routes.yaml with a team's two usual edits: client keys required
(``TIERGATE_KEYS``), and Claude Code's haiku pick honoured as the local tier (``"claude-haiku-*":
local`` in ``routing.explicit.models``). Every other Claude name, and Codex's ``tiergate-auto``, is
routed as auto; the clients declare tools, so the default rules send them to sonnet.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, TEST_KEY
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.server import ThreadedServer
from tiergate.server import build

CLIENT_KEY = "team-key-7c1d0e5a93b2"


@dataclass(frozen=True)
class Gateway:
    url: str
    key: str
    routes: dict[str, Any]

    def model(self, tier: str) -> str:
        """The model id routes.yaml gives the tier's first target."""
        model: str = self.routes["tiers"][tier]["targets"][0]["model"]
        return model


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``tool_result`` blocks of an Anthropic request body's user turns."""
    turns = [m["content"] for m in body["messages"] if m["role"] == "user" and isinstance(m["content"], list)]
    return [block for content in turns for block in content if block["type"] == "tool_result"]


def client_routes(decision_log: Path) -> dict[str, Any]:
    routes: dict[str, Any] = yaml.safe_load((ROOT / "routes.yaml").read_text())
    routes["routing"]["learned"]["head"] = str(ROOT / routes["routing"]["learned"]["head"])
    models = routes["routing"]["explicit"]["models"]
    assert models["claude-haiku-*"] == "auto", "routes.yaml changed: revisit the client tests' routing"
    models["claude-haiku-*"] = "local"
    routes["server"]["decision_log"] = {"path": str(decision_log)}
    return routes


@pytest.fixture(scope="package")
def client_gateway(
    tmp_path_factory: pytest.TempPathFactory, _ollama: FakeOllama, _anthropic: FakeAnthropic
) -> Iterator[Gateway]:
    folder = tmp_path_factory.mktemp("clients-gateway")
    routes = client_routes(folder / "decisions.db")
    path = folder / "routes.yaml"
    path.write_text(yaml.safe_dump(routes, sort_keys=False))
    environ = {
        "OLLAMA_HOST": _ollama.url,  # type: ignore[attr-defined]
        "ANTHROPIC_BASE_URL": _anthropic.url,  # type: ignore[attr-defined]
        "ANTHROPIC_API_KEY": TEST_KEY,
        "TIERGATE_KEYS": CLIENT_KEY,
    }
    server = ThreadedServer(build(path, environ=environ, watch=False))
    yield Gateway(server.start(), CLIENT_KEY, routes)
    server.stop()
