"""A dry run (``POST /v1/route``) for each rule the default routes.yaml expresses, and for the learned scorer.

Each case names the rule that must fire and the band/tier that must result, so editing routes.yaml in a
way that drops a rule fails here. Difficulty is the learned scorer's (the committed head, heads/default.json):
its cases are far from the cut-offs, so a retrained head that still routes sensibly keeps them. No upstream
is called by a dry run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, GatewayFactory, default_routes
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Text

TOOL = {"type": "function", "function": {"name": "read_file", "parameters": {"type": "object"}}}


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def tool_turn(call_id: str, command: str, output: str) -> list[dict[str, Any]]:
    call = {"id": call_id, "type": "function", "function": {"name": "bash", "arguments": json.dumps({"cmd": command})}}
    return [
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call_id, "content": output},
    ]


FAILING = "F\nFAILED tests/test_pool.py::test_drain - AssertionError\n1 failed in 0.3s"
GREEN = "........\n8 passed in 0.4s"
HARD = "Prove that this lock-free queue is linearizable under the C++ memory model, and find the ABA race"
# A redesign the head reads as local work in the language it was not trained on (the English reads opus).
GERMAN = (
    "Der Dienst blockiert unter Last, wenn zwei Worker die Konto- und Hauptbuchsperren in umgekehrter "
    "Reihenfolge erwerben; gestalte das Sperren so um, dass Überweisungen atomar sind und nie blockieren."
)
JAPANESE = (
    "負荷がかかると、二つのワーカーが口座と台帳のロックを逆順に取得してデッドロックします。"
    "送金がアトミックになり、決してデッドロックしないようにロック設計を見直してください。"
)
AIDER_COMMIT = (
    "You are an expert software engineer that generates concise, one-line Git commit messages based on the "
    "provided diffs.\nReview the provided context and diffs which are about to be committed to a git repo."
)
CHAT_TITLE = "Given the following chat, reply with a title for the chat that is 3-4 words in length."
SESSION_TITLE = (
    "Generate a concise, sentence-case title (3-7 words) that captures the main topic or goal of this coding "
    'session. Return JSON with a single "title" field.'
)
OTHER_TITLE = "You write short titles for chat conversations, eight words or fewer. Reply with the title only."

CASES: list[tuple[str, dict[str, Any], str, str, str]] = [
    # (case, body, signal that must fire, band, tier)
    ("tools", {"messages": [user("list the files")], "tools": [TOOL]}, "tools_present", "CLAUDE", "sonnet"),
    (
        "tool results",
        {"messages": [user("read it"), *tool_turn("c1", "cat a.py", "x = 1")]},
        "tool_results",
        "CLAUDE",
        "sonnet",
    ),
    ("long context", {"messages": [user("summarize:\n" + "word " * 7000)]}, "long_context", "CLAUDE", "sonnet"),
    (
        "agentic system prompt",
        {
            "messages": [
                {"role": "system", "content": "You are Cline. You have access to the following tools: <tools>"},
                user("hello"),
            ]
        },
        "agentic_system_prompt",
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
        {"messages": [user("rename the config loader across all modules")]},
        "multi_file_change",
        "CLAUDE",
        "sonnet",
    ),
    (
        "learned: a mechanical edit",
        {"messages": [user("add a docstring to def f(x): return x * 2")]},
        "learned",
        "LOCAL",
        "local",
    ),
    ("learned: a subtle proof", {"messages": [user(HARD)]}, "escalation", "CLAUDE", "opus"),
    ("an ask in German", {"messages": [user(GERMAN)]}, "unfamiliar_language", "AMBIGUOUS", "sonnet"),
    ("an ask in Japanese", {"messages": [user(JAPANESE)]}, "unfamiliar_language", "AMBIGUOUS", "sonnet"),
    (
        "a client's side request: aider's commit message for a diff of hard code",
        {"messages": [{"role": "system", "content": AIDER_COMMIT}, user(f"diff --git a/lockfree.cc\n+// {HARD}")]},
        "client_side_task",
        "LOCAL",
        "local",
    ),
    (
        "a client's side request: a title for a hard chat",
        {"messages": [{"role": "system", "content": CHAT_TITLE}, user(HARD)]},
        "client_side_task",
        "LOCAL",
        "local",
    ),
    (
        "a client's side request: titles in another client's words",
        {"messages": [{"role": "system", "content": OTHER_TITLE}, user(HARD), {"role": "user", "content": "Title?"}]},
        "client_side_task",
        "LOCAL",
        "local",
    ),
    (
        "a client's side request: Claude Code's session title",
        {"messages": [{"role": "system", "content": SESSION_TITLE}, user(HARD)]},
        "client_side_task",
        "LOCAL",
        "local",
    ),
    (
        "agent stuck",
        {
            "messages": [
                user("make the pool tests pass"),
                *tool_turn("c1", "pytest -q", FAILING),
                *tool_turn("c2", "pytest -q", FAILING),
                *tool_turn("c3", "pytest -q", FAILING),
            ],
            "tools": [TOOL],
        },
        "agent_stuck",
        "CLAUDE",
        "sonnet",
    ),
]


@pytest.mark.parametrize(("case", "body", "signal", "band", "tier"), CASES, ids=[c[0] for c in CASES])
def test_dry_run_for_each_rule(
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
    assert d["learned"]["available"] is True and d["learned"]["head"]
    assert d["targets"][0]["tier"] == tier
    assert not fake_ollama.requests and not fake_anthropic.requests


def test_the_decision_shows_the_learned_reading(gateway: str) -> None:
    d = httpx.post(gateway + "/v1/route?classify=false", json={"messages": [user(HARD)]}).json()
    learned = d["learned"]
    head = json.loads((ROOT / "heads" / "default.json").read_text())
    assert learned["encoders"] == [m["encoder"] for m in head["members"]]
    assert learned["p_opus"] <= learned["p_sonnet"] and learned["tier"] == "opus"
    assert 0 <= learned["unfamiliar"] < 0.3
    assert {"name": "learned", "kind": "scorer"}.items() <= next(
        s for s in d["signals"] if s["name"] == "learned"
    ).items()


def test_a_clean_test_run_keeps_a_finished_loop_off_opus(gateway: str) -> None:
    """The same hard task, once its tests pass after a fix and only the report is left, goes to sonnet, not
    opus."""
    fix = tool_turn("c2", "sed -i 's/Relaxed/Acquire/' src/lib.rs", "")
    loop = [user(HARD), *tool_turn("c1", "cargo test", FAILING), *fix, *tool_turn("c3", "cargo test", GREEN)]
    body = {"messages": loop, "tools": [TOOL]}
    d = httpx.post(gateway + "/v1/route?classify=false", json=body).json()
    assert (d["band"], d["tier"]) == ("CLAUDE", "sonnet"), d["reasons"]
    assert "escalation" not in [s["name"] for s in d["signals"]]
    stuck = httpx.post(gateway + "/v1/route?classify=false", json={"messages": loop[:3], "tools": [TOOL]}).json()
    assert stuck["tier"] == "opus"


def test_a_side_request_is_not_lifted_to_its_conversations_tier(gateway: str) -> None:
    """A title request opens with the conversation's first message; the conversation went to opus."""
    turn = httpx.post(gateway + "/v1/chat/completions", json={"model": "auto", "messages": [user(HARD)]})
    assert turn.status_code == 200 and turn.headers["x-tiergate-tier"] == "opus", turn.text
    title = {"messages": [{"role": "system", "content": CHAT_TITLE}, user(HARD)]}
    d = httpx.post(gateway + "/v1/route?classify=false", json=title).json()
    assert (d["tier"], d["sticky"]) == ("local", False), d["reasons"]
    assert d["reasons"][-1] == "rule 'client_side_task' keeps it out of the conversation's session"
    follow_up = {"messages": [user(HARD), {"role": "assistant", "content": "ok"}, user("now add a docstring")]}
    d = httpx.post(gateway + "/v1/route?classify=false", json=follow_up).json()
    assert (d["tier"], d["sticky"]) == ("opus", True), d["reasons"]


def test_claude_codes_topic_check_through_the_messages_dialect_goes_local(gateway: str) -> None:
    """As Claude Code sends it: its small model, system blocks, the user's (hard) message."""
    body = {
        "model": "claude-3-5-haiku-20241022",
        "max_tokens": 512,
        "system": [
            {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
            {
                "type": "text",
                "text": "Analyze if this message indicates a new conversation topic. If it does, extract a 2-3 word "
                "title that captures the new topic. Format your response as a JSON object with two fields: "
                "'isNewTopic' (boolean) and 'title' (string, or null if isNewTopic is false).",
            },
        ],
        "messages": [{"role": "user", "content": [{"type": "text", "text": HARD}]}],
    }
    d = httpx.post(gateway + "/v1/route?dialect=anthropic&classify=false", json=body).json()
    assert (d["band"], d["tier"], d["sticky"]) == ("LOCAL", "local", False), d["reasons"]
    assert "client_side_task" in [s["name"] for s in d["signals"]]
    assert "agentic_system_prompt" in [s["name"] for s in d["signals"]]  # it matches too, but comes later


def test_an_editors_autocomplete_goes_local_whatever_the_code(gateway: str) -> None:
    """Continue's autocomplete with model auto: fill-in-the-middle over hard code is still a local job."""
    body = {
        "model": "auto",
        "prompt": f"# {HARD}\nclass LockFreeQueue:\n    def push(self, item):\n        ",
        "suffix": "\n\n    def pop(self):\n        pass\n",
        "max_tokens": 64,
        "stop": ["\n\n"],
    }
    d = httpx.post(gateway + "/v1/route?dialect=completions&classify=false", json=body).json()
    assert (d["band"], d["tier"], d["sticky"]) == ("LOCAL", "local", False), d["reasons"]
    assert "autocomplete" in [s["name"] for s in d["signals"]]
    del body["suffix"]  # a plain completion of the same text is judged by the head
    d = httpx.post(gateway + "/v1/route?dialect=completions&classify=false", json=body).json()
    assert "autocomplete" not in [s["name"] for s in d["signals"]] and d["tier"] != "local", d["reasons"]


def test_an_autocomplete_in_a_fim_template_goes_local_however_long(gateway: str) -> None:
    """Continue's autocomplete for a model without a `suffix` field writes its template into the prompt: over
    30,000 characters of file before the cursor is still a keystroke's completion, not a long context."""
    prefix = "".join(f"def handler_{i}(req):\n    return process(req, {i})\n" for i in range(700))
    codellama = f"<PRE> {prefix} <SUF>\n    return x\n <MID>"
    qwen = f"<|fim_prefix|>{prefix}<|fim_suffix|><|fim_middle|>"
    for prompt in (codellama, qwen):
        body = {"model": "auto", "prompt": prompt, "max_tokens": 64, "stream": True}
        d = httpx.post(gateway + "/v1/route?dialect=completions&classify=false", json=body).json()
        assert (d["band"], d["tier"], d["sticky"]) == ("LOCAL", "local", False), d["reasons"]
        assert {"autocomplete", "long_context"} <= {s["name"] for s in d["signals"]}


def test_a_long_agent_prompt_that_mentions_commit_messages_is_not_a_side_request(gateway: str) -> None:
    prompt = "You are an interactive CLI tool. When the user asks, write clear commit messages. " + "Be concise. " * 200
    body = {"messages": [{"role": "system", "content": prompt}, user(HARD)]}
    d = httpx.post(gateway + "/v1/route?classify=false", json=body).json()
    assert "client_side_task" not in [s["name"] for s in d["signals"]]
    assert d["tier"] == "opus", d["reasons"]


TEAM_COMMIT = (
    "You are the platform team's assistant. Be concise. When you finish, write a short commit message for the changes."
)
DESIGN = (
    "Our ledger service runs in two regions and both accept transfers. Design how we keep account balances from "
    "going negative without a cross-region lock on every transfer, and say what we give up when the regions partition."
)
#: The user message of aider's commit request (under its prompt, AIDER_COMMIT): "# Diffs:", then `git diff`.
AIDER_DIFFS = (
    "# Diffs:\ndiff --git a/ledger/transfer.py b/ledger/transfer.py\nindex 3c1d2e4..9a8b7f6 100644\n"
    "--- a/ledger/transfer.py\n+++ b/ledger/transfer.py\n@@ -41,7 +41,7 @@ def transfer(src, dst, amount):\n"
    "     with db.transaction():\n-        src.balance -= amount\n+        src.debit(amount)\n"
    "         dst.balance += amount\n"
)


def test_a_team_prompt_asking_for_a_commit_message_leaves_a_design_question_to_the_head(gateway: str) -> None:
    """The team's prompt asks for a commit message in a client's words; without the changes a client sends with
    its commit request, the question under it is the team's work (it went LOCAL as a side request)."""
    body = {"messages": [{"role": "system", "content": TEAM_COMMIT}, user(DESIGN)]}
    d = httpx.post(gateway + "/v1/route?classify=false", json=body).json()
    assert "client_side_task" not in [s["name"] for s in d["signals"]]
    assert (d["band"], d["tier"]) == ("CLAUDE", "opus"), d["reasons"]
    aider = {"messages": [{"role": "system", "content": AIDER_COMMIT}, user(AIDER_DIFFS)]}
    d = httpx.post(gateway + "/v1/route?classify=false", json=aider).json()
    assert (d["band"], d["tier"], d["sticky"]) == ("LOCAL", "local", False), d["reasons"]
    assert "client_side_task" in [s["name"] for s in d["signals"]]
    assert d["reasons"][-1] == "rule 'client_side_task' keeps it out of the conversation's session"


def test_the_ask_not_the_clients_wrapping_is_read(gateway: str) -> None:
    """Claude Code-style reminders around a trivial ask do not make it look hard."""
    reminder = (
        "<system-reminder>\n"
        + "Consider concurrency, security and distributed invariants. " * 20
        + "\n</system-reminder>"
    )
    wrapped = {
        "role": "user",
        "content": [
            {"type": "text", "text": reminder},
            {"type": "text", "text": "add a docstring to def f(x): return x * 2"},
        ],
    }
    d = httpx.post(gateway + "/v1/route?classify=false", json={"messages": [wrapped]}).json()
    assert d["tier"] == "local", d["reasons"]


# --- without the learned scorer, and the AMBIGUOUS band --------------------------------------------


def routes_variant(
    tmp_path: Path, *, head: str | None = None, ambiguous_word: str | None = None, opus_cutoff: float | None = None
) -> Path:
    """The default routes.yaml, with another head file, a rule that puts a marker word in AMBIGUOUS, or another
    opus cut-off."""
    text = default_routes()
    if head is not None:
        text = text.replace(f"head: {ROOT / 'heads' / 'default.json'}", f"head: {head}")
    if opus_cutoff is not None:
        assert "cutoffs: {sonnet: 0.19, opus: 0.15}" in text
        text = text.replace("cutoffs: {sonnet: 0.19, opus: 0.15}", f"cutoffs: {{sonnet: 0.19, opus: {opus_cutoff}}}")
    if ambiguous_word is not None:
        when = f"{{feature: ask_text, contains_any: [{ambiguous_word}]}}"
        rule = f"    - name: marker\n      when: {when}\n      then: {{band: AMBIGUOUS}}\n"
        text = text.replace("  rules:\n", "  rules:\n" + rule, 1)
    path = tmp_path / "routes.yaml"
    path.write_text(text)
    return path


def test_without_a_usable_head_requests_go_to_the_classifier_or_sonnet_and_say_why(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING", logger="tiergate.learned")
    base = gateway_for(routes_variant(tmp_path, head="heads/missing.json"), upstream_env)
    warnings = [r.getMessage() for r in caplog.records if r.name == "tiergate.learned"]
    assert len(warnings) == 1 and "heads/missing.json" in warnings[0] and "cannot read it" in warnings[0]
    d = httpx.post(base + "/v1/route?classify=false", json={"messages": [user("rename x to y")]}).json()
    assert (d["band"], d["tier"]) == ("AMBIGUOUS", "sonnet")
    assert d["learned"]["available"] is False and "heads/missing.json" in d["learned"]["reason"]
    assert any("learned scorer unavailable" in r for r in d["reasons"])
    assert "learned_unavailable" in [s["name"] for s in d["signals"]]
    assert httpx.get(base + "/health").json()["status"] == "ok"


def test_the_heads_opus_reading_is_never_local_under_the_band_edge(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path
) -> None:
    """An opus cut-off under the local band's edge: an ask whose P(opus) reaches it while its P(>= sonnet) stays
    under the edge is the head's opus, and goes there, not to the local band its score alone would give."""
    base = gateway_for(routes_variant(tmp_path, opus_cutoff=0.001), upstream_env)
    d = httpx.post(
        base + "/v1/route?classify=false", json={"messages": [user("add a docstring to def f(x): return x * 2")]}
    ).json()
    assert d["learned"]["p_sonnet"] < 0.19 and d["learned"]["p_opus"] >= 0.001, d["learned"]
    assert (d["band"], d["tier"]) == ("CLAUDE", "opus"), d["reasons"]
    assert "learned_opus" in [s["name"] for s in d["signals"]]


def test_ambiguous_without_classifier_says_where_it_went(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    base = gateway_for(routes_variant(tmp_path, ambiguous_word="hmm"), upstream_env)
    d = httpx.post(base + "/v1/route?classify=false", json={"messages": [user("hmm, fix the loop")]}).json()
    assert d["band"] == "AMBIGUOUS"
    assert d["reasons"][-1] == "ambiguous; classifier skipped: band_tiers.ambiguous sends it to sonnet"
    assert d["classifier"] == {"model": "qwen2.5:1.5b", "outcome": "skipped"}
    assert not fake_ollama.requests


def test_ambiguous_asks_the_classifier_which_may_go_one_tier_down(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    base = gateway_for(routes_variant(tmp_path, ambiguous_word="hmm"), upstream_env)
    answer = '{"reason": "a routine loop fix", "tier": "local", "confidence": 0.9}'
    fake_ollama.replies.append(Text(answer, chunks=1))
    body = {"messages": [user("hmm, fix the loop")]}
    d = httpx.post(base + "/v1/route", json=body).json()
    assert (d["band"], d["phase"], d["tier"]) == ("AMBIGUOUS", "llm_classifier", "local"), d["reasons"]
    assert d["classifier"]["outcome"] == "ok" and d["classifier"]["reason"] == "a routine loop fix"
    (sent,) = fake_ollama.requests
    assert sent.body["model"] == "qwen2.5:1.5b"
    assert list(sent.body["format"]["properties"]) == ["reason", "tier", "confidence"]
    again = httpx.post(base + "/v1/route", json=body).json()
    assert again["cache_hit"] is True and again["tier"] == "local" and len(fake_ollama.requests) == 1


def test_classifier_failure_falls_back_to_phase1_guess(
    gateway_for: GatewayFactory, upstream_env: dict[str, str], tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    base = gateway_for(routes_variant(tmp_path, ambiguous_word="hmm"), upstream_env)
    fake_ollama.replies.append(Text("not json at all", chunks=1))
    d = httpx.post(base + "/v1/route", json={"messages": [user("hmm, what now")]}).json()
    assert (d["phase"], d["tier"]) == ("fallback", "sonnet")
    assert d["classifier"]["outcome"] == "invalid"
    assert d["reasons"][-1] == "classifier invalid: using phase 1's guess sonnet"


# --- the decision and explicit choices ---------------------------------------------------------------


def test_decision_shape(gateway: str) -> None:
    d = httpx.post(gateway + "/v1/route", json={"messages": [user("rename x to y")]}).json()
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
        "learned",
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
        ({"model": "qwen2.5-coder:7b"}, "local", "qwen2.5-coder:7b"),  # a model id no explicit.models pattern matches
        ({"model": "qwen"}, "local", "qwen2.5-coder:7b"),
        ({"provider": "anthropic"}, "sonnet", "claude-sonnet-4-5"),
        ({"provider": "local", "tools": [TOOL]}, "local", "qwen2.5-coder:7b"),
    ],
)
def test_explicit_overrides(gateway: str, body: dict[str, Any], tier: str, model: str) -> None:
    d = httpx.post(gateway + "/v1/route", json={"messages": [user("anything")], **body}).json()
    assert (d["phase"], d["tier"], d["model"]) == ("explicit", tier, model)
    assert d["learned"] is None  # an explicit choice is not scored


def test_a_claude_name_is_routed_even_where_a_target_serves_it(gateway: str) -> None:
    """routes.yaml's "claude-*": auto comes before the sonnet target's model id, claude-sonnet-4-5."""
    d = httpx.post(gateway + "/v1/route", json={"messages": [user("rename foo to bar")], "model": "claude-sonnet-4-5"})
    assert d.json()["phase"] != "explicit" and d.json()["tier"] == "local"
    assert d.json()["reasons"][0] == "model 'claude-sonnet-4-5' matches 'claude-sonnet-*'; routed as auto"


def test_route_rejects_bad_bodies_in_openai_shape(gateway: str) -> None:
    r = httpx.post(gateway + "/v1/route", json={"messages": [{"role": "user", "content": 5}]})
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error" and err["param"] == "messages[0].content"


def test_classify_that_is_not_true_or_false_is_a_400_naming_it(gateway: str) -> None:
    """As the console's dry run says it; Litestar's own answer was "Validation failed" with no param."""
    refused = httpx.post(gateway + "/v1/route?classify=maybe", json={"messages": [user("rename x to y")]})
    assert refused.status_code == 400
    assert refused.json()["error"] == {
        "message": "`classify` must be true or false",
        "type": "invalid_request_error",
        "param": "classify",
        "code": "invalid_value",
    }
