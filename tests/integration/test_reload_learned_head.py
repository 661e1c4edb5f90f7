"""Through the real gateway: a reload to a learned head that cannot be used is refused like a broken rule file
(422, file:line, /health's rules.last_error) while the serving head scores, and that head keeps scoring. Started
on a broken head, the gateway takes whatever a reload names, as before."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, GatewayFactory, default_routes

HEAD = ROOT / "heads" / "default.json"
ASK = {"model": "auto", "messages": [{"role": "user", "content": "rename foo to bar"}]}


def routes_naming(head: str) -> str:
    return default_routes().replace(f"head: {HEAD}", f"head: {head}")


def version_of(text: str, head: bytes | None) -> str:
    """The rules' version: the rule file's text, then the bytes of the head it names (when there is one)."""
    return hashlib.sha256(text.encode() + (b"" if head is None else b"\0head\0" + head)).hexdigest()[:12]


def head_version(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:12]


def short_head() -> bytes:
    """The shipped head with member 0's weights cut to 10: its encoder gives 256 dimensions."""
    head = json.loads(HEAD.read_text())
    for part in ("sonnet", "opus"):
        head["members"][0][part]["weights"] = head["members"][0][part]["weights"][:10]
    return json.dumps(head).encode()


def learned(base: str) -> dict[str, Any]:
    r = httpx.post(base + "/v1/route", json=ASK, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["learned"]  # type: ignore[no-any-return]


def health(base: str) -> dict[str, Any]:
    return httpx.get(base + "/health", timeout=10).json()  # type: ignore[no-any-return]


@pytest.fixture
def heads(tmp_path: Path) -> Path:
    folder = tmp_path / "heads"
    folder.mkdir()
    (folder / "mine.json").write_bytes(HEAD.read_bytes())
    return folder


def test_an_admin_reload_to_a_missing_head_is_refused_and_the_old_head_keeps_scoring(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path, heads: Path
) -> None:
    rules_file = tmp_path / "routes.yaml"
    good_text = routes_naming("heads/mine.json")
    rules_file.write_text(good_text)
    base = gateway_for(rules_file, upstream_env)
    good, head = version_of(good_text, HEAD.read_bytes()), head_version(HEAD.read_bytes())
    assert learned(base)["available"] is True and learned(base)["head"] == head
    broken = routes_naming("heads/gone.json")
    rules_file.write_text(broken)
    r = httpx.post(base + "/admin/reload", timeout=30)
    assert r.status_code == 422
    line = next(i + 1 for i, text in enumerate(broken.splitlines()) if "head: heads/gone.json" in text)
    problem = {
        "file": str(rules_file),
        "line": line,
        "col": broken.splitlines()[line - 1].index("heads/gone.json") + 1,
        "path": "$.routing.learned.head",
        "severity": "error",
        "message": f"learned head 'heads/gone.json' cannot be used: learned head {heads.resolve() / 'gone.json'}: "
        f"cannot read it (No such file or directory); the last good rules keep serving with head {head}",
    }
    assert r.json() == {"ok": False, "version": good, "changed": False, "problems": [problem], "pending_restart": []}
    after = learned(base)
    assert after["available"] is True and after["head"] == head and after["p_sonnet"] is not None
    status = health(base)
    assert status["learned"] == {"available": True, "reason": None, "head": head}
    assert status["rules"]["status"] == "error" and status["rules"]["version"] == good
    assert status["rules"]["last_error"] == [problem]
    # The head the file names arrives: the same reload is taken.
    (heads / "gone.json").write_bytes(HEAD.read_bytes())
    r = httpx.post(base + "/admin/reload", timeout=30)
    assert r.status_code == 200 and r.json()["changed"] is True
    assert health(base)["rules"]["status"] == "ok" and learned(base)["available"] is True


def test_a_head_rewritten_with_weights_not_matching_its_encoder_is_refused_by_the_watcher(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path, heads: Path
) -> None:
    """``tiergate train --write`` leaving a head the encoders do not fit: routes.yaml's text is unchanged."""
    rules_file = tmp_path / "routes.yaml"
    text = routes_naming("heads/mine.json")
    rules_file.write_text(text)
    base = gateway_for(rules_file, upstream_env, watch=True)
    head = head_version(HEAD.read_bytes())
    (heads / "mine.json").write_bytes(short_head())
    deadline = time.monotonic() + 5
    while (rules := health(base)["rules"])["status"] != "error":
        assert time.monotonic() < deadline, "the broken head was not noticed"
        time.sleep(0.02)
    (problem,) = rules["last_error"]
    assert problem["path"] == "$.routing.learned.head" and problem["file"] == str(rules_file)
    assert problem["message"].startswith("learned head 'heads/mine.json' cannot be used: learned head ")
    assert "member 0" in problem["message"] and "has 10 weights" in problem["message"]
    assert problem["message"].endswith(f"the last good rules keep serving with head {head}")
    assert rules["version"] == version_of(text, HEAD.read_bytes())
    assert health(base)["learned"] == {"available": True, "reason": None, "head": head}
    after = learned(base)
    assert after["available"] is True and after["head"] == head
    retrained = HEAD.read_text().replace('"l2": 0.3', '"l2": 0.31', 1).encode()  # another good head
    (heads / "mine.json").write_bytes(retrained)
    deadline = time.monotonic() + 5
    while health(base)["rules"]["version"] != version_of(text, retrained):
        assert time.monotonic() < deadline, "the fixed head was not taken"
        time.sleep(0.02)
    assert health(base)["rules"]["status"] == "ok" and learned(base)["head"] == head_version(retrained)


def test_started_on_a_missing_head_a_reload_takes_another_broken_head_then_a_good_one(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path, heads: Path
) -> None:
    rules_file = tmp_path / "routes.yaml"
    rules_file.write_text(routes_naming("heads/gone.json"))
    base = gateway_for(rules_file, upstream_env)  # starts: the scorer is unavailable and says why
    at_start = learned(base)
    assert at_start["available"] is False and "cannot read it" in at_start["reason"]
    assert health(base)["learned"]["available"] is False
    (heads / "short.json").write_bytes(short_head())
    short = routes_naming("heads/short.json")
    rules_file.write_text(short)
    r = httpx.post(base + "/admin/reload", timeout=30)
    assert r.status_code == 200 and r.json() == {
        "ok": True,
        "version": version_of(short, short_head()),
        "changed": True,
        "problems": [],
        "pending_restart": [],
    }
    status = health(base)
    assert status["rules"]["status"] == "ok" and status["learned"]["available"] is False
    assert "has 10 weights" in status["learned"]["reason"]
    rules_file.write_text(routes_naming("heads/mine.json"))
    r = httpx.post(base + "/admin/reload", timeout=30)
    assert r.status_code == 200 and r.json()["changed"] is True
    head = head_version(HEAD.read_bytes())
    assert health(base)["learned"] == {"available": True, "reason": None, "head": head}
    assert learned(base)["available"] is True
