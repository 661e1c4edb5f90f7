"""A learned head that cannot be used, through the real gateway (tiergate.server.build): decisions still come
back (200) with ``learned.available`` false and the reason, and ``/health`` shows the scorer's state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, default_routes
from tests.fakes.server import ThreadedServer
from tiergate.server import build


def serve(tmp_path: Path, environ: dict[str, str], head: dict[str, object]) -> Iterator[str]:
    (tmp_path / "head.json").write_text(json.dumps(head))
    routes = tmp_path / "routes.yaml"
    routes.write_text(default_routes().replace(str(ROOT / "heads" / "default.json"), str(tmp_path / "head.json")))
    server = ThreadedServer(build(routes, environ=environ, watch=False))
    try:
        yield server.start()
    finally:
        server.stop()


def default_head() -> dict[str, object]:
    head: dict[str, object] = json.loads((ROOT / "heads" / "default.json").read_text())
    return head


@pytest.fixture
def short_head(tmp_path: Path, upstream_env: dict[str, str]) -> Iterator[str]:
    """The repository's head with member 0's weights cut to 10: its encoder gives 256 dimensions."""
    head = default_head()
    member = head["members"][0]  # type: ignore[index]
    for part in ("sonnet", "opus"):
        member[part]["weights"] = member[part]["weights"][:10]
    yield from serve(tmp_path, upstream_env, head)


@pytest.fixture
def good_head(tmp_path: Path, upstream_env: dict[str, str]) -> Iterator[str]:
    yield from serve(tmp_path, upstream_env, default_head())


def test_a_head_of_the_wrong_dimension_is_unavailable_not_a_500(short_head: str) -> None:
    for text in ("rename foo to bar", "design a distributed lock service"):
        body = {"model": "auto", "messages": [{"role": "user", "content": text}]}
        r = httpx.post(short_head + "/v1/route", json=body, timeout=30)
        assert r.status_code == 200, r.text
        learned = r.json()["learned"]
        assert learned["available"] is False
        assert "member 0" in learned["reason"] and "has 10 weights" in learned["reason"]
        assert "256-dimensional" in learned["reason"]
        assert any("rules read learned.available as false" in reason for reason in r.json()["reasons"])
    health = httpx.get(short_head + "/health", timeout=10).json()
    assert health["learned"]["available"] is False and health["learned"]["head"] is None
    assert "has 10 weights" in health["learned"]["reason"]


def test_health_shows_a_usable_head_and_its_version(good_head: str) -> None:
    body = {"model": "auto", "messages": [{"role": "user", "content": "rename foo to bar"}]}
    decided = httpx.post(good_head + "/v1/route", json=body, timeout=30).json()["learned"]
    assert decided["available"] is True
    health = httpx.get(good_head + "/health", timeout=10).json()
    assert health["learned"] == {"available": True, "reason": None, "head": decided["head"]}
