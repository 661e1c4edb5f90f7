"""Conversation stickiness through the real server: a session never moves down a tier."""

from __future__ import annotations

from typing import Any

import httpx

from tests.agent_clients import aider
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


def route(gateway: str, body: dict[str, Any]) -> tuple[str, bool, list[str]]:
    d = httpx.post(gateway + "/v1/route?classify=false", json=body).json()
    return d["tier"], d["sticky"], d["reasons"]


def test_two_aider_conversations_in_one_repository_are_two_sessions(
    gateway: str, fake_anthropic: FakeAnthropic, fake_ollama: FakeOllama
) -> None:
    """aider sends no conversation id, and opens every conversation with its own example conversation, then
    the files in the chat and the repo map: one session for them all held every aider request of the key on
    opus after one opus question. Each is now keyed on the person's first words: its later turns (the files
    edited, the map grown, the edit rules no longer appended to those words) stay on its session, another
    conversation does not."""
    files = {"queue.py": "class Queue:\n    def pop(self):\n        return self.items.pop(0)\n"}
    repo_map = "queue.py:\n│class Queue:\n│    def pop(self):\n"
    hard = aider(ask=HARD, files=files, repo_map=repo_map)
    band = "(local < 0.19, claude >= 0.269)"
    hard_reasons = [f"score 0.842 is in band CLAUDE {band}", "escalation condition holds: CLAUDE goes to opus"]
    assert route(gateway, hard) == ("opus", False, hard_reasons)
    r = httpx.post(gateway + "/v1/chat/completions", json=hard)
    assert r.status_code == 200 and r.headers["x-tiergate-tier"] == "opus"
    docstring, dates = "add a docstring to format_date", {"dates.py": "def format_date(d): ..."}
    other = aider(ask=docstring, files=dates, repo_map=repo_map)
    assert route(gateway, other) == ("local", False, [f"score 0.102 is in band LOCAL {band}"])
    edited = {"queue.py": files["queue.py"].replace("pop(0)", "popleft()"), **dates}
    later = aider((HARD, "Here is the proof."), ask=docstring, files=edited, repo_map=repo_map + "dates.py:\n")
    assert route(gateway, later) == (
        "opus",
        True,
        [f"score 0.102 is in band LOCAL {band}", "sticky: session already on opus; not moving down to local"],
    )
    r = httpx.post(gateway + "/v1/chat/completions", json=later)
    assert r.status_code == 200 and r.headers["x-tiergate-tier"] == "opus"
    assert not fake_ollama.requests
