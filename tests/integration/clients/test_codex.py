"""The real Codex CLI (``codex exec``) through the gateway, offline, against the fake upstreams.

Codex speaks OpenAI Responses only (``POST /v1/responses``, streamed, ``store: false``: the whole
conversation every turn) through a custom provider in its config.toml (runners.codex_config). One
tool-using turn is two model calls: the first answers with an ``exec_command`` function call, Codex runs
it in the working directory (sandboxed, ``-s workspace-write``), and the second call carries the
``function_call_output`` and gets the final message, which Codex prints alone on stdout. The provider's
retries are off, so each answer came from the gateway's stream at the first try.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import TEST_KEY, GatewayFactory
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import PARTIAL, Status, StreamError, Text, ToolCalls
from tests.integration.clients.conftest import CLIENT_KEY, Gateway, client_routes, tool_results
from tests.integration.clients.runners import CODEX, PINS, Run, codex_home, install_command, locate, run_codex

PROMPT = "Write the proof file"
COMMAND = "echo tiergate-ok > proof.txt && cat proof.txt"
EXEC = ("exec_command", {"cmd": COMMAND})
FINAL = "Done: proof.txt says tiergate-ok."


@pytest.fixture
def home() -> Iterator[Path]:
    with codex_home() as path:
        yield path


def codex(gateway: Gateway, tmp_path: Path, home: Path, model: str, key: str | None = None) -> Run:
    return run_codex(
        locate(CODEX),
        gateway.url,
        gateway.key if key is None else key,
        model,
        PROMPT,
        cwd=tmp_path / "work",
        home=tmp_path / "home",
        codex_home=home,
    )


def errors(run: Run) -> list[str]:
    """Codex's ``ERROR:`` lines on stderr (it prints the final one twice)."""
    return [line.removeprefix("ERROR: ") for line in run.stderr.splitlines() if line.startswith("ERROR: ")]


def test_one_tool_turn_on_the_local_tier(
    client_gateway: Gateway,
    fake_ollama: FakeOllama,
    fake_anthropic: FakeAnthropic,
    tmp_path: Path,
    home: Path,
) -> None:
    fake_ollama.replies.extend([ToolCalls([EXEC]), Text(FINAL, chunks=3)])
    run = codex(client_gateway, tmp_path, home, model="local")

    assert run.returncode == 0, run.describe()
    assert (tmp_path / "work" / "proof.txt").read_text() == "tiergate-ok\n"
    assert run.stdout == FINAL + "\n", run.describe()
    assert "succeeded" in run.stderr and COMMAND in run.stderr

    assert not fake_anthropic.requests
    first, second = (r.body for r in fake_ollama.requests)
    assert first["model"] == second["model"] == client_gateway.model("local")
    names = [tool["function"]["name"] for tool in first["tools"]]
    assert "exec_command" in names and "spawn_agent" in names  # Codex's namespace tools, flattened
    assert [m["content"] for m in first["messages"] if m["role"] == "user"][-1] == PROMPT
    (call,) = [m for m in second["messages"] if m["role"] == "assistant"]
    assert [c["function"] for c in call["tool_calls"]] == [{"name": "exec_command", "arguments": EXEC[1]}]
    (output,) = [m for m in second["messages"] if m["role"] == "tool"]
    assert output["tool_name"] == "exec_command"
    assert "Process exited with code 0" in output["content"]
    assert output["content"].endswith("Output:\ntiergate-ok\n")


def test_one_tool_turn_on_a_claude_tier(
    client_gateway: Gateway,
    fake_ollama: FakeOllama,
    fake_anthropic: FakeAnthropic,
    tmp_path: Path,
    home: Path,
) -> None:
    """``tiergate-auto`` is a name tiergate does not know: routed as auto; Codex's tools put it on sonnet."""
    fake_anthropic.replies.extend([ToolCalls([EXEC]), Text(FINAL, chunks=3)])
    run = codex(client_gateway, tmp_path, home, model="tiergate-auto")

    assert run.returncode == 0, run.describe()
    assert (tmp_path / "work" / "proof.txt").read_text() == "tiergate-ok\n"
    assert run.stdout == FINAL + "\n", run.describe()

    assert not fake_ollama.requests
    first, second = fake_anthropic.requests
    assert first.body["model"] == second.body["model"] == client_gateway.model("sonnet")
    assert first.headers["x-api-key"] == TEST_KEY
    assert "exec_command" in [tool["name"] for tool in first.body["tools"]]
    (assistant,) = [m for m in second.body["messages"] if m["role"] == "assistant"]
    (tool_use,) = [b for b in assistant["content"] if b["type"] == "tool_use"]
    assert (tool_use["name"], tool_use["input"]) == EXEC
    results = tool_results(second.body)
    assert len(results) == 1 and results[0]["tool_use_id"] == tool_use["id"]
    assert results[0]["content"].endswith("Output:\ntiergate-ok\n")


def test_a_wrong_client_key_fails_at_once_naming_the_status(
    client_gateway: Gateway, fake_anthropic: FakeAnthropic, tmp_path: Path, home: Path
) -> None:
    run = codex(client_gateway, tmp_path, home, model="tiergate-auto", key="sk-not-a-team-key")
    assert run.returncode == 1, run.describe()
    assert run.stdout == ""
    url = f"{client_gateway.url}/v1/responses"
    assert errors(run)[-1].startswith(f"unexpected status 401 Unauthorized: invalid API key, url: {url}, request id: ")
    assert not fake_anthropic.requests


def test_an_overloaded_upstream_is_an_error_naming_the_backend(
    client_gateway: Gateway, fake_anthropic: FakeAnthropic, tmp_path: Path, home: Path
) -> None:
    fake_anthropic.queue.default = Status(529, "Overloaded")
    run = codex(client_gateway, tmp_path, home, model="tiergate-auto")
    assert run.returncode == 1, run.describe()
    assert run.stdout == ""
    backend = f"backend 'anthropic' at {fake_anthropic.url}"  # type: ignore[attr-defined]
    assert errors(run)[-1].startswith(f"unexpected status 529 <unknown status code>: {backend}: Overloaded, url: ")


def test_a_prompt_no_target_can_hold_is_a_full_context_window(
    tmp_path: Path, home: Path, gateway_for: GatewayFactory, upstream_env: dict[str, str], fake_ollama: FakeOllama
) -> None:
    """tiergate's own refusal before any call (Codex's first turn, about 10k tokens of instructions and tool
    schemas, against a local window of 4096 with nowhere to fall back) reads as a full context window."""
    routes = client_routes(tmp_path / "decisions.db")
    routes["tiers"]["local"]["targets"][0]["capabilities"]["context_window"] = 4096
    routes["fallbacks"] = {}
    path = tmp_path / "routes.yaml"
    path.write_text(yaml.safe_dump(routes, sort_keys=False))
    gateway = Gateway(gateway_for(path, {**upstream_env, "TIERGATE_KEYS": CLIENT_KEY}), CLIENT_KEY, routes)
    run = codex(gateway, tmp_path, home, model="local")
    assert run.returncode == 1, run.describe()
    assert run.stdout == ""
    assert errors(run)[-1] == (
        "Codex ran out of room in the model's context window. Start a new thread or clear earlier history before"
        " retrying."
    ), run.describe()
    assert not fake_ollama.requests


def test_an_upstream_failing_mid_answer_is_an_error_not_a_short_answer(
    client_gateway: Gateway, fake_anthropic: FakeAnthropic, tmp_path: Path, home: Path
) -> None:
    """Text reaches Codex, then the upstream fails: the Responses stream ends in ``response.failed``
    (no ``response.completed``), and Codex reports it instead of printing the partial text."""
    fake_anthropic.replies.append(StreamError(after_events=5, message="Overloaded"))
    run = codex(client_gateway, tmp_path, home, model="tiergate-auto")
    assert run.returncode == 1, run.describe()
    assert run.stdout == "" and PARTIAL[:8] not in run.stderr
    backend = f"backend 'anthropic' at {fake_anthropic.url}"  # type: ignore[attr-defined]
    assert errors(run)[-1] == f"stream disconnected before completion: {backend}: Overloaded"
    assert len(fake_anthropic.requests) == 1


def test_a_missing_client_fails_with_the_command_that_installs_it(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception) as caught:
        locate(CODEX, tmp_path / "nowhere")
    message = str(caught.value)
    assert message.startswith(f"@openai/codex@{PINS['@openai/codex']} is not installed in {tmp_path / 'nowhere'}: ")
    assert message.endswith(install_command(tmp_path / "nowhere"))


def test_another_version_fails_with_the_command_that_installs_the_pinned_one(tmp_path: Path) -> None:
    package = tmp_path / "node_modules" / "@openai" / "codex"
    package.mkdir(parents=True)
    (package / "package.json").write_text('{"name": "@openai/codex", "version": "0.1.0"}')
    (tmp_path / "node_modules" / ".bin").mkdir()
    (tmp_path / "node_modules" / ".bin" / "codex").write_text("")
    with pytest.raises(pytest.fail.Exception) as caught:
        locate(CODEX, tmp_path)
    pin = PINS["@openai/codex"]
    assert str(
        caught.value
    ) == f"@openai/codex 0.1.0 is installed in {tmp_path}, the tests pin {pin}: " + install_command(tmp_path)


def test_a_catalogue_model_names_tools_reach_claude(
    client_gateway: Gateway,
    fake_ollama: FakeOllama,
    fake_anthropic: FakeAnthropic,
    tmp_path: Path,
    home: Path,
) -> None:
    """With a model name in its own catalogue Codex sends no top-level ``tools``: they come in an
    ``additional_tools`` input item, which tiergate once dropped, leaving Claude an agent without tools."""
    fake_anthropic.replies.append(Text(FINAL, chunks=2))
    run = codex(client_gateway, tmp_path, home, model="gpt-6.2-sol")

    assert run.returncode == 0, run.describe()
    assert run.stdout == FINAL + "\n", run.describe()
    (sent,) = fake_anthropic.requests
    names = [tool["name"] for tool in sent.body["tools"]]
    assert "exec" in names and len(names) >= 3, names
    assert not fake_ollama.requests
