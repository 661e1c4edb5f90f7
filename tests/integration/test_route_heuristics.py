"""A dry run (``POST /v1/route``) for each heuristic the default routes.yaml expresses.

Each case names the rule or scorer that must fire and the band/tier that must result, so editing
routes.yaml in a way that drops a heuristic fails here. No upstream is called by a dry run.

LOCAL needs positive evidence of a simple task: brevity alone no longer claims it (see
``test_brevity_alone_does_not_claim_local``), and difficulty signals are scorers.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Text

TOOL = {"type": "function", "function": {"name": "read_file", "parameters": {"type": "object"}}}


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def conversation(turns: int) -> list[dict[str, str]]:
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}"} for i in range(turns)]


CODE = "```python\ndef handler(event):\n    return process(event)\n```\n"
MIXED = [
    {"role": "user", "content": "Here is our worker pool: src/pool.py and src/queue.py\n" + CODE + "x" * 3000},
    {"role": "assistant", "content": "I see the pool uses a shared queue." + "y" * 1500},
    {
        "role": "user",
        "content": "It gets slow when the queue is long; can you take a look at the worker loop?\n" + CODE + "z" * 2500,
    },
]

CASES: list[tuple[str, dict[str, Any], str, str, str]] = [
    # (case, body, signal that must fire, band, tier)
    ("tools", {"messages": [user("list files")], "tools": [TOOL]}, "tools_present", "CLAUDE", "sonnet"),
    (
        "tool results",
        {
            "messages": [
                user("read it"),
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": "{}"}}
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "file body"},
            ]
        },
        "tool_results",
        "CLAUDE",
        "sonnet",
    ),
    ("long context", {"messages": [user("summarize:\n" + "word " * 7000)]}, "long_context", "CLAUDE", "sonnet"),
    ("many turns", {"messages": conversation(17)}, "long_conversation", "CLAUDE", "sonnet"),
    (
        "agentic system prompt",
        {
            "messages": [
                {
                    "role": "system",
                    "content": "You are Cursor, an AI coding assistant. You have access to the following tools.",
                },
                user("fix it"),
            ]
        },
        "agentic_system_prompt",
        "CLAUDE",
        "sonnet",
    ),
    (
        "deep reasoning",
        {"messages": [user("Plan the migration of our architecture to event sourcing")]},
        "deep_reasoning",
        "CLAUDE",
        "sonnet",
    ),
    (
        "many files",
        {"messages": [user("Update a.py, b.py, c.ts, d.go, e.rs and f.java to the new logger")]},
        "many_files",
        "CLAUDE",
        "sonnet",
    ),
    (
        "multi-file change",
        {"messages": [user("Rename the config loader across all modules")]},
        "multi_file_change",
        "CLAUDE",
        "sonnet",
    ),
    (
        "opus keywords",
        {"messages": [user("Do a security audit of the auth architecture and threat model")]},
        "escalation",
        "CLAUDE",
        "opus",
    ),
    (
        # short AND a simple task ("what does", "regex"): brevity alone is not enough, see below
        "single short message",
        {"messages": [user("What does this regex do: ^a+$")]},
        "single_short_message",
        "LOCAL",
        "local",
    ),
    (
        "simple task",
        {"messages": [user("Add docstring to this function: def f(x): return x * 2")]},
        "simple_task",
        "LOCAL",
        "local",
    ),
    (
        "short system prompt",
        {"messages": [{"role": "system", "content": "Be brief."}, user("format this json: {a:1}")]},
        "short_system_prompt",
        "LOCAL",
        "local",
    ),
    (
        "single-file simple edit",
        {"messages": [user("In utils.py, rename parse to parse_line")]},
        "single_file_simple_edit",
        "LOCAL",
        "local",
    ),
    ("mixed signals", {"messages": MIXED}, "context_size", "AMBIGUOUS", "sonnet"),
]


@pytest.mark.parametrize(("case", "body", "signal", "band", "tier"), CASES, ids=[c[0] for c in CASES])
def test_dry_run_for_each_heuristic(
    gateway: str,
    fake_ollama: FakeOllama,
    fake_anthropic: FakeAnthropic,
    case: str,
    body: dict[str, Any],
    signal: str,
    band: str,
    tier: str,
) -> None:
    r = httpx.post(gateway + "/v1/route?classify=false", json={"model": "auto", **body})
    assert r.status_code == 200, r.text
    d = r.json()
    assert (d["band"], d["tier"]) == (band, tier), d["reasons"]
    assert signal in [s["name"] for s in d["signals"]]
    assert d["phase"] == "heuristic"
    assert d["rules_version"] and d["decision_id"].startswith("dec_")
    assert d["targets"][0]["tier"] == tier
    assert not fake_ollama.requests and not fake_anthropic.requests


@pytest.mark.parametrize("text", ["hello there", "fix it", "why is this wrong?"])
def test_brevity_alone_does_not_claim_local(gateway: str, text: str) -> None:
    """A short single message with no sign of a simple task is AMBIGUOUS, not LOCAL."""
    d = httpx.post(gateway + "/v1/route?classify=false", json={"messages": [user(text)]}).json()
    names = [s["name"] for s in d["signals"]]
    assert "single_short_message" in names and "no_simple_evidence" in names
    assert (d["band"], d["tier"]) == ("AMBIGUOUS", "sonnet"), d["reasons"]


# (case, last user message, difficulty scorer that must contribute, tier or None for "not local")
DIFFICULT: list[tuple[str, str, str, str | None]] = [
    ("proof", "prove this lock-free queue is linearizable", "proofs", "opus"),
    (
        "distributed failure",
        "why does this Raft follower lose committed entries after a leader change?",
        "distributed_failures",
        "opus",
    ),
    ("concurrency", "is this seqlock safe? readers sometimes see torn values", "concurrency", "opus"),
    (
        "security review",
        "our JWT check accepts tokens signed with the public key as an HMAC secret; is that "
        "exploitable by an attacker?",
        "security_review",
        "opus",
    ),
    (
        "performance investigation",
        "p99 latency regressed after the upgrade and the flame graph shows lock contention",
        "performance_investigation",
        None,
    ),
    ("nondeterministic failure", "the test is flaky and only fails under load", "nondeterministic_failure", None),
    (
        "multi-file invariants",
        "migrate the balance column with a dual-write so the invariant must hold across services",
        "multi_file_invariants",
        None,
    ),
]


@pytest.mark.parametrize(("case", "text", "scorer", "tier"), DIFFICULT, ids=[c[0] for c in DIFFICULT])
def test_difficulty_signals_are_scorers(gateway: str, case: str, text: str, scorer: str, tier: str | None) -> None:
    """Short hard requests: a difficulty scorer lifts them out of LOCAL; the strongest go to opus."""
    d = httpx.post(gateway + "/v1/route?classify=false", json={"messages": [user(text)]}).json()
    fired = {s["name"]: s for s in d["signals"]}
    assert fired[scorer]["kind"] == "scorer" and fired[scorer]["contribution"] > 0
    assert d["band"] != "LOCAL" and d["tier"] != "local", d["reasons"]
    if tier is not None:
        assert d["tier"] == tier, d["reasons"]


def test_ambiguous_without_classifier_says_where_it_went(gateway: str, fake_ollama: FakeOllama) -> None:
    d = httpx.post(gateway + "/v1/route?classify=false", json={"messages": MIXED}).json()
    assert d["band"] == "AMBIGUOUS"
    assert d["reasons"][-1] == "ambiguous; classifier skipped: band_tiers.ambiguous sends it to sonnet"
    assert d["classifier"] == {"model": "qwen2.5:1.5b", "outcome": "skipped"}
    assert not fake_ollama.requests


def test_ambiguous_asks_the_classifier(gateway: str, fake_ollama: FakeOllama) -> None:
    fake_ollama.replies.append(Text('{"tier": "local", "reason": "a routine stall in one module"}', chunks=1))
    d = httpx.post(gateway + "/v1/route", json={"messages": MIXED}).json()
    assert (d["band"], d["phase"], d["tier"]) == ("AMBIGUOUS", "llm_classifier", "local")
    assert d["classifier"]["outcome"] == "ok" and d["classifier"]["reason"] == "a routine stall in one module"
    assert d["cache_hit"] is False
    (sent,) = fake_ollama.requests
    assert sent.body["model"] == "qwen2.5:1.5b"
    assert sent.body["format"]["properties"]["tier"]["enum"] == ["local", "sonnet", "opus"]
    again = httpx.post(gateway + "/v1/route", json={"messages": MIXED}).json()
    assert again["cache_hit"] is True and again["tier"] == "local" and len(fake_ollama.requests) == 1


def test_classifier_failure_falls_back_to_phase1_guess(gateway: str, fake_ollama: FakeOllama) -> None:
    fake_ollama.replies.append(Text("not json at all", chunks=1))
    d = httpx.post(gateway + "/v1/route", json={"messages": MIXED}).json()
    assert (d["phase"], d["tier"]) == ("fallback", "sonnet")
    assert d["classifier"]["outcome"] == "invalid"
    assert d["reasons"][-1] == "classifier invalid: using phase 1's guess sonnet"


def test_decision_shape(gateway: str) -> None:
    d = httpx.post(gateway + "/v1/route", json={"messages": [user("rename x")]}).json()
    assert set(d) >= {
        "decision_id",
        "tier",
        "provider",
        "model",
        "band",
        "phase",
        "score",
        "confidence",
        "reasons",
        "signals",
        "targets",
        "cache_hit",
        "rules_version",
        "elapsed_us",
    }
    assert d["provider"] == "ollama" and d["model"] == "qwen2.5-coder:7b"
    assert d["targets"] == [
        {"tier": "local", "backend": "ollama", "model": "qwen2.5-coder:7b", "breaker": "closed", "skipped": None},
        {"tier": "sonnet", "backend": "anthropic", "model": "claude-sonnet-4-5", "breaker": "closed", "skipped": None},
    ]
    assert d["cache_hit"] is False


@pytest.mark.parametrize(
    ("body", "tier", "model"),
    [
        ({"model": "opus"}, "opus", "claude-opus-4-1"),
        ({"model": "claude-sonnet-4-5"}, "sonnet", "claude-sonnet-4-5"),
        ({"model": "qwen"}, "local", "qwen2.5-coder:7b"),
        ({"provider": "anthropic"}, "sonnet", "claude-sonnet-4-5"),
        ({"provider": "local", "tools": [TOOL]}, "local", "qwen2.5-coder:7b"),
    ],
)
def test_explicit_overrides(gateway: str, body: dict[str, Any], tier: str, model: str) -> None:
    d = httpx.post(gateway + "/v1/route", json={"messages": [user("anything")], **body}).json()
    assert (d["phase"], d["tier"], d["model"]) == ("explicit", tier, model)


def test_route_rejects_bad_bodies_in_openai_shape(gateway: str) -> None:
    r = httpx.post(gateway + "/v1/route", json={"messages": [{"role": "user", "content": 5}]})
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error" and err["param"] == "messages[0].content"
