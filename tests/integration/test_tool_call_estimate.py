"""An agent's earlier tool calls count toward the request's estimated tokens: the real gateway, the fake Ollama.

An agent turn whose history holds a file the model wrote whole (a ``write_file`` call with 120,000
characters of arguments) sends those characters again. Left out of the estimate, the request read as a few
dozen tokens: the context-window check sent it to an 8k local model (Ollama truncates silently), and an
upstream that reported no usage was charged for the few dozen.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import GatewayFactory
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Text

ROUTES = """
backends:
  ollama: {{kind: ollama, base_url: "{ollama}"}}
tiers:
  local: {{targets: [{{backend: ollama, model: qwen-small, capabilities: {{tools: true, context_window: 8192}}}}]}}
  big:
    targets:
      - backend: ollama
        model: qwen-big
        capabilities: {{tools: true, context_window: 200000}}
        price: {{input: 1, output: 2}}
fallbacks: {{local: [big]}}
retries: {{attempts: 0}}
routing: {{mode: fixed, fixed_tier: local, stickiness: {{enabled: false}}}}
"""
ARGUMENTS = json.dumps({"path": "big.py", "content": "x = 1\n" * 20_000})  # 120,000 characters of content
MESSAGES: list[dict[str, Any]] = [
    {"role": "user", "content": "write big.py"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "call_1", "function": {"name": "write_file", "arguments": ARGUMENTS}}],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "ok"},
    {"role": "user", "content": "now run it"},
]
#: the messages' text and the call's name and arguments
CHARS = len("write big.py") + len("write_file") + len(ARGUMENTS) + len("ok") + len("now run it")
PROMPT = (CHARS + 3) // 4  # the usage estimate rounds up; routing's approx_tokens, CHARS // 4, down
ANSWER = "a" * 22  # 6 tokens, rounded up


def logged(db: Path) -> tuple[Any, ...]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if db.exists():
            with sqlite3.connect(db) as conn:
                row = conn.execute("SELECT tier, prompt_tokens, cost_usd FROM decisions").fetchone()
            if row is not None:
                return tuple(row)
        time.sleep(0.02)
    raise AssertionError("no decision row")


def test_a_long_earlier_tool_call_skips_a_small_context_and_is_charged(
    tmp_path: Path, fake_ollama: FakeOllama, gateway_for: GatewayFactory
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES.format(ollama=fake_ollama.url))  # type: ignore[attr-defined]
    base = gateway_for(routes, {})
    fake_ollama.replies.append(Text(ANSWER, counted=False))  # no eval counts: the estimate is charged

    answer = httpx.post(base + "/v1/chat/completions", json={"model": "local", "messages": MESSAGES}, timeout=10)

    assert answer.status_code == 200, answer.text
    assert answer.headers["x-tiergate-model"] == "qwen-big"
    assert [r.body["model"] for r in fake_ollama.requests] == ["qwen-big"]
    assert answer.json()["usage"] == {
        "prompt_tokens": PROMPT,
        "completion_tokens": 6,
        "total_tokens": PROMPT + 6,
        "estimated": True,
    }
    assert logged(tmp_path / "tiergate-decisions.db") == ("big", None, (PROMPT * 1 + 6 * 2) / 1e6)
    route = httpx.post(base + "/v1/route", json={"model": "local", "messages": MESSAGES}).json()
    assert route["targets"][0]["skipped"] == f"context window 8192 < ~{CHARS // 4} tokens"
