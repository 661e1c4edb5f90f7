"""Agent-step signals on Claude Code's and Codex's own payloads (tests/agent_clients.py builds them)."""

from __future__ import annotations

from tests.agent_clients import ClaudeCode, Codex, codex_output

HARD = (
    "Our websocket server deadlocks under load when two clients reconnect at the same time; find the root "
    "cause and redesign the locking without losing message ordering."
)
REMINDER = "<system-reminder>\nThis is a reminder that your todo list is currently empty.\n</system-reminder>"
PYTEST_GREEN = "collected 42 items\n\ntests/test_manager.py ..........    [100%]\n\n===== 42 passed in 3.02s ====="
PYTEST_RED = (
    "Exit code 1\ncollected 42 items\n\ntests/test_manager.py ......F....\n"
    "FAILED tests/test_manager.py::test_reconnect_ordering - assert [1, 3, 2] == [1, 2, 3]\n"
    "===== 1 failed, 41 passed in 3.21s ====="
)
AGENT = ("agent.steps", "agent.failures_in_row", "agent.repeated_failure", "agent.tests_green")


def agent(loop: ClaudeCode | Codex) -> tuple[object, ...]:
    f = loop.features()
    return tuple(f[name] for name in AGENT)


def test_a_green_run_before_a_new_ask_does_not_make_the_new_ask_a_report() -> None:
    """Claude Code: tests pass, the agent reports, and the person asks something new (with the reminder Claude
    Code adds to the turn). The new ask has no steps yet: only the report of the old one was left."""
    loop = ClaudeCode().user(REMINDER, "rename the helper").bash("python -m pytest -q", PYTEST_GREEN)
    assert agent(loop) == (1, 0, 0, True)
    loop.said("All 42 tests pass.").user(f"Thanks. Now: {HARD}", REMINDER)
    f = loop.features()
    assert f["ask_text"] == f"Thanks. Now: {HARD}"
    assert agent(loop) == (0, 0, 0, False)


def test_codex_a_green_run_before_a_new_ask_is_not_this_asks_report() -> None:
    loop = Codex().user("rename the helper").exec("pytest -q", codex_output(0, PYTEST_GREEN))
    assert agent(loop) == (1, 0, 0, True)
    loop.said("All tests pass.").user(f"ok now {HARD}")
    assert agent(loop) == (0, 0, 0, False)


def test_failures_before_a_new_ask_are_not_this_asks_failures() -> None:
    """Two failed runs, then "never mind, just add a docstring": the new ask is not a stuck loop. The
    same failing call still counts towards `agent.repeated_failure`, across the conversation."""
    loop = ClaudeCode().user(HARD)
    loop.bash("python -m pytest", PYTEST_RED, error=True).bash("python -m pytest", PYTEST_RED, error=True)
    assert agent(loop) == (2, 2, 2, False)
    loop.said("The tests still fail.").user("never mind, leave it. just add a docstring to format_date")
    assert agent(loop) == (0, 0, 2, False)
    loop.bash("python -m pytest", PYTEST_RED, error=True)
    assert agent(loop) == (1, 1, 3, False)


def test_the_steps_since_the_ask_still_end_green() -> None:
    loop = ClaudeCode().user(HARD).bash("python -m pytest", PYTEST_RED, error=True)
    loop.said("Fixing.").user("try again").bash("python -m pytest", PYTEST_RED, error=True)
    loop.bash("python -m pytest", PYTEST_GREEN)
    assert agent(loop) == (2, 0, 2, True)
