"""Conversation stickiness through the real server: a session never moves down a tier."""

from __future__ import annotations

import httpx

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama

HARD = "Prove that this lock-free queue is linearizable under the C++ memory model, and find the ABA race"
EASY = "rename the variable q to queue in utils.py"


def test_follow_up_stays_on_the_sessions_tier(
    gateway: str, fake_anthropic: FakeAnthropic, fake_ollama: FakeOllama
) -> None:
    first = [{"role": "user", "content": HARD}]
    r1 = httpx.post(gateway + "/v1/chat/completions", json={"model": "auto", "messages": first})
    assert r1.status_code == 200 and r1.headers["x-tiergate-tier"] == "opus"
    follow = [*first, {"role": "assistant", "content": "Here is the proof."}, {"role": "user", "content": EASY}]
    dry = httpx.post(gateway + "/v1/route", json={"messages": follow}).json()
    assert dry["tier"] == "opus" and dry["sticky"] is True
    assert any("sticky" in reason for reason in dry["reasons"])
    r2 = httpx.post(gateway + "/v1/chat/completions", json={"model": "auto", "messages": follow})
    assert r2.status_code == 200 and r2.headers["x-tiergate-tier"] == "opus"
    assert not fake_ollama.requests
    fresh = httpx.post(gateway + "/v1/route", json={"messages": [{"role": "user", "content": EASY}]}).json()
    assert (fresh["tier"], fresh["sticky"]) == ("local", False)


def test_dry_run_does_not_start_a_session(gateway: str) -> None:
    first = httpx.post(gateway + "/v1/route", json={"messages": [{"role": "user", "content": HARD}]})
    assert first.status_code == 200 and first.json()["tier"] == "opus"
    follow = [
        {"role": "user", "content": HARD},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": EASY},
    ]
    d = httpx.post(gateway + "/v1/route", json={"messages": follow}).json()
    assert (d["tier"], d["sticky"]) == ("local", False)  # a session started by the dry run would hold opus
