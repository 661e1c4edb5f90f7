"""The real Codex CLI keeps Claude thinking through a tool loop: it asks for
``reasoning.encrypted_content``, keeps the reasoning item tiergate wrote, and sends it back with the
function call, so the second step has thinking on and begins with the first step's signed thinking. The
fake Anthropic refuses (400) a loop step without it (``loop_thinking``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.anthropic import THINKING, FakeAnthropic
from tests.fakes.anthropic_checks import SIGNATURE
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Text, ToolCalls
from tests.integration.clients.conftest import Gateway
from tests.integration.clients.runners import CODEX, codex_home, locate, run_codex

COMMAND = "echo tiergate-ok > proof.txt && cat proof.txt"
FINAL = "Done: proof.txt says tiergate-ok."


@pytest.fixture
def strict(_anthropic: FakeAnthropic) -> Iterator[FakeAnthropic]:
    _anthropic.queue.reset()
    _anthropic.loop_thinking = True
    yield _anthropic
    _anthropic.loop_thinking = False


def test_a_codex_tool_loop_on_sonnet_thinks_on_both_steps(
    client_gateway: Gateway, strict: FakeAnthropic, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    strict.replies.extend([ToolCalls([("exec_command", {"cmd": COMMAND})]), Text(FINAL, chunks=2)])
    with codex_home() as home:
        run = run_codex(
            locate(CODEX),
            client_gateway.url,
            client_gateway.key,
            "tiergate-auto",
            "Write the proof file",
            cwd=tmp_path / "work",
            home=tmp_path / "home",
            codex_home=home,
            config='model_reasoning_effort = "medium"',
        )
    assert run.returncode == 0, run.describe()
    assert run.stdout == FINAL + "\n", run.describe()
    first, second = (r.body for r in strict.requests)
    assert first["thinking"]["type"] == second["thinking"]["type"] == "enabled"
    (assistant,) = [m for m in second["messages"] if m["role"] == "assistant"]
    assert assistant["content"][0] == {"type": "thinking", "thinking": THINKING, "signature": SIGNATURE}
    assert [b["type"] for b in assistant["content"][1:]] == ["tool_use"]
    assert not fake_ollama.requests
