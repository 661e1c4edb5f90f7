"""The real Claude Code CLI (``claude -p``, headless) through the gateway, offline, against the fake upstreams.

Claude Code speaks Anthropic Messages (``POST /v1/messages?beta=true``, streamed) with its own model
names and a dozen tools. One tool-using turn is two model calls: the first answers with a Bash
``tool_use``, Claude Code runs the command in the working directory, and the second call carries the
``tool_result`` and gets the final text. Claude Code's retries and its non-streaming re-ask are off
(runners.CLAUDE_OFFLINE), so every answer here came from the stream the gateway sent, at the first try.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_KEY
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import PARTIAL, Status, StreamError, Text, ToolCalls
from tests.integration.clients.conftest import Gateway, tool_results
from tests.integration.clients.runners import CLAUDE_CODE, PINS, Run, install_command, locate, run_claude

PROMPT = "Write the proof file"
COMMAND = "echo tiergate-ok > proof.txt && cat proof.txt"
BASH = ("Bash", {"command": COMMAND, "description": "Write the proof file"})
FINAL = "Done: proof.txt says tiergate-ok."
#: Claude Code asks for 32000 to 128000 output tokens, which no 32k-context local target can promise;
#: capped, its request fits the local tier's context window (docs/clients.md).
LOCAL_OUTPUT_CAP = {"CLAUDE_CODE_MAX_OUTPUT_TOKENS": "8192"}


def claude(gateway: Gateway, tmp_path: Path, *args: str, key: str | None = None, **kw: Any) -> Run:
    return run_claude(
        locate(CLAUDE_CODE),
        gateway.url,
        gateway.key if key is None else key,
        PROMPT,
        cwd=tmp_path / "work",
        home=tmp_path / "home",
        args=["--allowedTools", "Bash", *args],
        **kw,
    )


def test_one_tool_turn_on_the_local_tier(
    client_gateway: Gateway, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    fake_ollama.replies.extend([ToolCalls([BASH]), Text(FINAL, chunks=3)])
    run = claude(client_gateway, tmp_path, "--model", "haiku", extra_env=LOCAL_OUTPUT_CAP)

    assert run.returncode == 0, run.describe()
    assert (tmp_path / "work" / "proof.txt").read_text() == "tiergate-ok\n"
    result = run.result
    assert (result["type"], result["subtype"], result["is_error"]) == ("result", "success", False)
    assert result["result"] == FINAL and result["num_turns"] == 2
    assert result["permission_denials"] == []

    assert not fake_anthropic.requests
    first, second = (r.body for r in fake_ollama.requests)
    assert first["model"] == second["model"] == client_gateway.model("local")
    assert first["options"]["num_predict"] == 8192
    assert "Bash" in [tool["function"]["name"] for tool in first["tools"]]
    assert PROMPT in [m for m in first["messages"] if m["role"] == "user"][-1]["content"]
    (call,) = [m for m in second["messages"] if m["role"] == "assistant"]
    assert [c["function"] for c in call["tool_calls"]] == [{"name": "Bash", "arguments": BASH[1]}]
    outputs = [m for m in second["messages"] if m["role"] == "tool"]
    assert outputs == [{"role": "tool", "content": "tiergate-ok", "tool_name": "Bash"}]


def test_one_tool_turn_on_a_claude_tier(
    client_gateway: Gateway, fake_ollama: FakeOllama, fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    """Claude Code's own model name (claude-opus-5-5) is routed as auto; its tools put it on sonnet."""
    fake_anthropic.replies.extend([ToolCalls([BASH], text="Writing it."), Text(FINAL, chunks=3)])
    run = claude(client_gateway, tmp_path)

    assert run.returncode == 0, run.describe()
    assert (tmp_path / "work" / "proof.txt").read_text() == "tiergate-ok\n"
    result = run.result
    assert (result["is_error"], result["result"], result["num_turns"]) == (False, FINAL, 2)

    assert not fake_ollama.requests
    first, second = fake_anthropic.requests
    assert first.body["model"] == second.body["model"] == client_gateway.model("sonnet")
    assert first.headers["x-api-key"] == second.headers["x-api-key"] == TEST_KEY  # the gateway's, not the client's
    assert "Bash" in [tool["name"] for tool in first.body["tools"]]
    (assistant,) = [m for m in second.body["messages"] if m["role"] == "assistant"]
    # Claude Code echoes the whole answer back; a thinking block, when the upstream sent one, comes first.
    answer = [b for b in assistant["content"] if b["type"] != "thinking"]
    assert [b["type"] for b in answer] == ["text", "tool_use"]
    assert answer[0]["text"] == "Writing it."
    tool_use = answer[1]
    assert (tool_use["name"], tool_use["input"]) == BASH
    results = tool_results(second.body)
    assert len(results) == 1
    assert (results[0]["tool_use_id"], results[0]["content"]) == (tool_use["id"], "tiergate-ok")


def test_a_wrong_client_key_fails_at_once_naming_authentication(
    client_gateway: Gateway, fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    run = claude(client_gateway, tmp_path, key="sk-ant-not-a-team-key")
    assert run.returncode == 1, run.describe()
    result = run.result
    assert result["is_error"] is True and result["api_error_status"] == 401
    assert result["result"] == "Failed to authenticate. API Error: 401 invalid API key"
    assert not fake_anthropic.requests
    assert not (tmp_path / "work" / "proof.txt").exists()


def test_an_overloaded_upstream_is_an_error_naming_the_backend(
    client_gateway: Gateway, fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    fake_anthropic.queue.default = Status(529, "Overloaded")
    run = claude(client_gateway, tmp_path)
    assert run.returncode == 1, run.describe()
    result = run.result
    assert result["is_error"] is True and result["api_error_status"] == 529
    backend = f"backend 'anthropic' at {fake_anthropic.url}"  # type: ignore[attr-defined]
    assert result["result"].startswith(f"API Error: 529 {backend}: Overloaded. "), run.describe()
    assert result["result"].endswith(f"check your inference gateway ({client_gateway.url.removeprefix('http://')}).")


def test_an_upstream_failing_mid_answer_is_an_error_not_a_short_answer(
    client_gateway: Gateway, fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    """Two text deltas reach Claude Code, then the upstream fails: the Messages stream ends in an
    ``error`` event (no ``message_stop``), and Claude Code reports it instead of the partial text."""
    fake_anthropic.replies.append(StreamError(after_events=5, message="Overloaded"))
    run = claude(client_gateway, tmp_path)
    assert run.returncode == 1, run.describe()
    result = run.result
    backend = f"backend 'anthropic' at {fake_anthropic.url}"  # type: ignore[attr-defined]
    assert (result["is_error"], result["result"]) == (True, f"API Error: {backend}: Overloaded")
    assert PARTIAL[:8] not in run.stdout
    assert len(fake_anthropic.requests) == 1  # an answer that started is never asked again


def test_a_missing_client_fails_with_the_command_that_installs_it(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception) as caught:
        locate(CLAUDE_CODE, tmp_path / "nowhere")
    outcome = str(caught.value)
    assert outcome.startswith(f"@anthropic-ai/claude-code@{PINS['@anthropic-ai/claude-code']} is not installed in ")
    assert outcome.endswith(install_command(tmp_path / "nowhere"))
    assert "@anthropic-ai/claude-code@2.1.332 @openai/codex@0.171.0" in outcome and "make clients" in outcome
