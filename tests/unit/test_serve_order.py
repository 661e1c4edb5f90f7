"""``tiergate serve`` binds its address before it builds the app: on a taken port it stops at once, without
loading the rules, the backends and the encoders first. ``build`` is replaced to record whether it ran."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from tiergate import server


def test_a_taken_port_stops_serve_before_the_app_is_built(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    built: list[Path] = []

    def build(config: Path, **_: Any) -> Any:
        built.append(config)
        raise AssertionError("built the app before binding")

    monkeypatch.setattr(server, "build", build)
    with socket.socket() as taken:  # as another gateway's socket is: SO_REUSEADDR, listening
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert server.run(tmp_path / "routes.yaml", "127.0.0.1", port, watch=False) == 1
    assert built == []


def test_broken_rules_release_the_address(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Bound first, then the rules refused: serve exits 2 and the port is free again."""
    config = tmp_path / "routes.yaml"
    config.write_text("tiers: {local: {targets: [{backend: nowhere, model: m}]}}\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert server.run(config, "127.0.0.1", port, watch=False) == 2
    with socket.socket() as again:  # would fail with EADDRINUSE if serve had left its socket open
        again.bind(("127.0.0.1", port))
