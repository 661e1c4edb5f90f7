"""Agent-step signals: stuck loops and finished ones, read from tool calls and results."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from tiergate.rules.features import Features
from tiergate.wire import ChatRequest


class Loop:
    def __init__(self, ask: str = "make the tests pass") -> None:
        self.messages: list[dict[str, Any]] = [{"role": "user", "content": ask}]
        self.n = 0

    def step(self, command: str, output: str) -> Loop:
        self.n += 1
        call = {"id": f"c{self.n}", "function": {"name": "Bash", "arguments": json.dumps({"command": command})}}
        self.messages += [
            {"role": "assistant", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": f"c{self.n}", "content": output},
        ]
        return self

    def features(self) -> Features:
        return Features.of(msgspec.convert({"messages": self.messages}, ChatRequest))


PYTEST_FAIL = "F.\nFAILED tests/test_dates.py::test_weekend - AssertionError\n1 failed, 1 passed in 0.12s"
PYTEST_GREEN = "..........\n10 passed in 0.40s"


def test_the_same_failing_command_again_and_again_is_stuck() -> None:
    f = (
        Loop()
        .step("pytest -q", PYTEST_FAIL)
        .step("sed -i s/5/6/ app.py", "")
        .step("pytest -q", PYTEST_FAIL)
        .step("pytest -q", PYTEST_FAIL)
        .features()
    )
    assert (f["agent.steps"], f["agent.repeated_failure"], f["agent.failures_in_row"]) == (4, 3, 2)
    assert f["agent.tests_green"] is False


def test_consecutive_edit_errors_count_in_a_row() -> None:
    loop = Loop().step("cat a.py", "x = 1")
    for _ in range(3):
        loop.step("edit", "Error: old_string not found in file")
    f = loop.features()
    assert (f["agent.failures_in_row"], f["agent.repeated_failure"]) == (3, 3)


def test_a_clean_test_run_last_means_only_the_report_is_left() -> None:
    f = Loop().step("pytest -q", PYTEST_FAIL).step("pytest -q", PYTEST_GREEN).features()
    assert f["agent.tests_green"] is True and f["agent.failures_in_row"] == 0
    cargo = Loop().step("cargo test", "test result: ok. 12 passed; 0 failed").features()
    assert cargo["agent.tests_green"] is True


def test_a_failure_marker_beats_a_pass_marker() -> None:
    f = Loop().step("pytest", "3 passed, 1 failed in 2s").features()
    assert f["agent.tests_green"] is False and f["agent.failures_in_row"] == 1


def test_no_tools_no_steps() -> None:
    f = Loop().features()
    assert (f["agent.steps"], f["agent.failures_in_row"], f["agent.repeated_failure"], f["agent.tests_green"]) == (
        0,
        0,
        0,
        False,
    )
