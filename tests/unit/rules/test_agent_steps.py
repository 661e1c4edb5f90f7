"""Agent-step signals: stuck loops and finished ones, read from tool calls and results."""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec

from tiergate.rules.agent_steps import DEFAULT_MARKERS, AgentMarkers
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
    f = (
        Loop()
        .step("pytest -q", PYTEST_FAIL)
        .step("sed -i s/5/6/ app.py", "")
        .step("pytest -q", PYTEST_GREEN)
        .features()
    )
    assert f["agent.tests_green"] is True and f["agent.failures_in_row"] == 0
    cargo = Loop().step("sed -i s/5/6/ src/lib.rs", "").step("cargo test", "test result: ok. 12 passed; 0 failed")
    assert cargo.features()["agent.tests_green"] is True


def test_a_failure_marker_beats_a_pass_marker() -> None:
    f = Loop().step("pytest", "3 passed, 1 failed in 2s").features()
    assert f["agent.tests_green"] is False and f["agent.failures_in_row"] == 1


def codex(output: str, exit_code: int | None, **more: Any) -> str:
    """A shell result as Codex sends it (structured): the output JSON-encoded, its line breaks as ``\\n``."""
    metadata = {} if exit_code is None else {"exit_code": exit_code, "duration_seconds": 0.4}
    return json.dumps({"output": output, "metadata": metadata, **more})


def test_codexs_structured_shell_results_are_read_as_their_output_and_exit_code() -> None:
    """Inside the JSON, ``ok  pkg  0.2s`` was no line of its own and ``\\n24 passed`` no word: a green run read
    as nothing, and the report step of a finished task went a tier up."""
    go = "ok  \tgithub.com/acme/ledger\t0.214s\nok  \tgithub.com/acme/ledger/store\t0.031s"
    assert DEFAULT_MARKERS.read(codex(go, 0)) == (False, True)
    assert DEFAULT_MARKERS.read(codex("collected 24 items\n\n24 passed in 3.10s", 0)) == (False, True)
    assert DEFAULT_MARKERS.read(codex("24 passed in 3.10s", None)) == (False, True)  # no exit code given
    assert DEFAULT_MARKERS.read(codex("--- FAIL: TestTransfer (0.00s)\nFAIL\tgithub.com/acme/ledger", 1)) == (
        True,
        False,
    )
    assert DEFAULT_MARKERS.read(codex("24 passed in 3.10s", 2)) == (True, False)  # the exit code says it failed
    assert DEFAULT_MARKERS.read(codex("", 0)) == (False, False)
    assert DEFAULT_MARKERS.read('{"output": "24 passed in 3.1') == (False, True)  # cut JSON: read as text
    assert DEFAULT_MARKERS.read('{"answer": "\\n24 passed"}') == (False, False)  # other JSON: as before
    deep = '{"output": "24 passed", "metadata": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert DEFAULT_MARKERS.read(deep) == (False, True)  # nested past a decoder's depth: read as text, no 500
    f = (
        Loop("fix the overdraft check")
        .step("apply_patch", codex("Done!", 0))
        .step("go test ./...", codex(go, 0))
        .features()
    )
    assert f["agent.tests_green"] is True and f["agent.failures_in_row"] == 0


def test_no_tools_no_steps() -> None:
    f = Loop().features()
    assert (f["agent.steps"], f["agent.failures_in_row"], f["agent.repeated_failure"], f["agent.tests_green"]) == (
        0,
        0,
        0,
        False,
    )


class Counting:
    """A compiled pattern that counts its searches."""

    def __init__(self, pattern: re.Pattern[str] | None) -> None:
        assert pattern is not None
        self.pattern, self.searches = pattern, 0

    def search(self, text: str) -> re.Match[str] | None:
        self.searches += 1
        return self.pattern.search(text)


def test_each_tool_result_is_searched_for_failures_once() -> None:
    """The failure patterns cost about 1 µs a character of a result's tail: read once per result, and the pass
    patterns only for a result with no failure in it."""
    failure, passed = Counting(DEFAULT_MARKERS.failure), Counting(DEFAULT_MARKERS.passed)
    markers: Any = AgentMarkers(failure, passed)  # type: ignore[arg-type]
    loop = Loop().step("pytest -q", PYTEST_FAIL).step("sed -i s/5/6/ a.py", "").step("pytest -q", PYTEST_GREEN)
    request = msgspec.convert({"messages": loop.messages}, ChatRequest)
    f = Features.of(request, settings={"agent": markers})
    assert (f["agent.failures_in_row"], f["agent.repeated_failure"], f["agent.tests_green"]) == (0, 1, True)
    assert (failure.searches, passed.searches) == (3, 2)


def test_a_long_result_an_agent_loop_resends_is_read_once_per_load() -> None:
    """Every step of a loop resends the results before it: a long one (a build log) is read once, and each
    later request takes its reading from the cache; markers compiled by another load read it afresh."""
    log = "building module\n" * 600
    failing, green = log + PYTEST_FAIL, log + PYTEST_GREEN
    failure, passed = Counting(DEFAULT_MARKERS.failure), Counting(DEFAULT_MARKERS.passed)
    markers: Any = AgentMarkers(failure, passed)  # type: ignore[arg-type]
    first = Loop().step("pytest -q", failing)
    second = Loop().step("pytest -q", failing).step("sed -i s/5/6/ app.py", "").step("pytest -q", green)
    for loop, expected in ((first, (1, 1, False)), (second, (0, 1, True)), (second, (0, 1, True))):
        request = msgspec.convert({"messages": loop.messages}, ChatRequest)
        f = Features.of(request, settings={"agent": markers})
        assert (f["agent.failures_in_row"], f["agent.repeated_failure"], f["agent.tests_green"]) == expected
    # two distinct long results, each searched once for failures, the pass patterns only for the green one; the edit's
    # short result, not remembered, is read with each of the two requests that hold it
    assert (failure.searches, passed.searches) == (2 + 2, 1 + 2)
    reloaded = AgentMarkers(Counting(DEFAULT_MARKERS.failure), Counting(DEFAULT_MARKERS.passed))  # type: ignore[arg-type]
    assert reloaded.read(failing) == (True, False) and reloaded.failure.searches == 1  # type: ignore[union-attr]


def test_steps_count_from_the_last_ask_tool_results_in_text_too() -> None:
    """Cline's tool results are user text; a new ask restarts the count."""
    result = "[execute_command for 'pytest'] Result:\n" + PYTEST_FAIL
    said = {"role": "assistant", "content": "<execute_command>pytest</execute_command>"}
    loop = Loop()
    loop.messages += [said, {"role": "user", "content": result}, said, {"role": "user", "content": result}]
    assert loop.features()["agent.steps"] == 2
    loop.messages += [
        {"role": "user", "content": "now fix the weekend case"},
        said,
        {"role": "user", "content": result},
    ]
    f = loop.features()
    assert (f["agent.steps"], f["agent.repeated_failure"]) == (1, 3)
