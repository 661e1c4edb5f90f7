"""Agent-step signals on aider's own loop (tests/agent_clients.py's ``Aider``, the shapes of aider 0.86.2's requests
as captured on the OpenAI wire): its auto-lint and auto-test reports are the steps, and nothing else it says."""

from __future__ import annotations

from tests.agent_clients import AIDER_COMMITTED, AIDER_NO_EDITS, AIDER_UPDATED, Aider

AGENT = ("agent.steps", "agent.failures_in_row", "agent.repeated_failure", "agent.tests_green")
ASK = "change greet to return hello"
HI, HELLO, HELLO_BANG = 'def greet():\n    return "hi"', 'def greet():\n    return "hello"', '    return "hello!"'
CODE = 'def greet():\n    return "hello!"\n\n\ndef add(a, b):\n    return a + b'
LINT = "/work/repo/lint.sh hello.py"
TEST = "/work/repo/test.sh"
RED = "FAILED test_hello.py::test_greet - AssertionError: assert 'hello!' == 'hello!!'\n1 failed in 0.01s"


def lint_output(error: str, line: str) -> str:
    """A lint run's errors as aider reports them (linter.py): the errors, then the lines they point at."""
    return (
        f"hello.py:2:12: {error}\n\n## See relevant line below marked with █.\n\nhello.py:\n  1│def greet():\n"
        f"  2█{line}\n  3│\n  4│\n  5│def add(a, b):\n...⋮..."
    )


def agent(loop: Aider) -> tuple[object, ...]:
    f = loop.features()
    return tuple(f[name] for name in AGENT)


def two_failing_lint_runs(ack: str = AIDER_UPDATED) -> Aider:
    """aider's auto-lint failing after the edit asked for, and again after the model's fix: its acknowledgement of
    each edit and the files in the chat between the runs."""
    loop = Aider().user(ASK).edit(HI, HELLO, ack)
    loop.lint(LINT, lint_output("E225 missing whitespace around operator", '    return "hello"'))
    loop.edit('    return "hello"', HELLO_BANG, ack).files(CODE)
    return loop.lint(LINT, lint_output("E226 missing whitespace around arithmetic operator", HELLO_BANG))


def test_two_failing_lint_runs_in_a_row_are_two_failures_in_a_row() -> None:
    """The files aider re-sends between the runs are no step (no tool result, and no passing one), and its
    "I updated the files." no ask: the steps count from the person's words, both runs failed, in a row."""
    f = two_failing_lint_runs().features()
    assert tuple(f[name] for name in AGENT) == (2, 2, 2, False)
    assert f["ask_text"] == f"## Running: {LINT}\n\n" + lint_output(
        "E226 missing whitespace around arithmetic operator", HELLO_BANG
    )


def test_aiders_acknowledgements_of_an_edit_are_not_the_persons_ask() -> None:
    """Whatever aider says of the edit it applied (a commit, or no commit, or none it could see), the person's
    ask is still where the steps count from."""
    for ack in (AIDER_UPDATED, AIDER_COMMITTED, AIDER_NO_EDITS):
        assert agent(two_failing_lint_runs(ack)) == (2, 2, 2, False), ack
        loop = Aider().user(ASK).edit(HI, HELLO, ack).user("and make add cast to int")
        assert loop.features()["ask_text"] == "and make add cast to int"
        f = Aider().user(ASK).edit(HI, HELLO, ack).said("Done.").features()
        assert f["ask_text"] == ASK, ack


def test_a_persons_words_that_open_like_an_acknowledgement_stay_the_ask() -> None:
    own = "I updated the files. Now make add() reject strings with a TypeError"
    f = Aider().user(ASK).edit(HI, HELLO).user(own).features()
    assert f["ask_text"] == own


def test_a_failing_test_run_aider_sends_twice_is_one_failed_step() -> None:
    """aider adds the failing run to the chat and sends it again as the fix it asks for: one run, one step, so
    one failing run is no stuck loop. A second failing run after the model's fix is a second step."""
    once = Aider().user(ASK).edit(HI, HELLO).files(CODE).tested(TEST, RED)
    f = once.features()
    assert tuple(f[name] for name in AGENT) == (1, 1, 1, False)
    assert f["ask_text"] == f"{TEST}\n\n{RED}"
    twice = once.edit('    return "hello"', HELLO_BANG).tested(TEST, RED)
    assert agent(twice) == (2, 2, 2, False)


def test_each_report_is_a_call_of_the_command_it_ran() -> None:
    """Lint runs of two files are two calls, not one repeated failure because both open with aider's words; a
    lint run then a test run neither."""
    loop = Aider().user("rename greet to welcome everywhere").edit(HI, HELLO)
    loop.lint("flake8 hello.py", lint_output("F821 undefined name 'greet'", '    return "hello"'))
    loop.edit('    return "hello"', HELLO_BANG).lint("flake8 main.py", "main.py:3:1: F821 undefined name 'greet'")
    assert agent(loop) == (2, 2, 1, False)
    loop.edit("greet()", "welcome()").tested(TEST, RED)
    assert agent(loop) == (3, 3, 1, False)


def test_a_new_ask_after_aiders_failing_runs_is_no_stuck_loop() -> None:
    """aider's auto-test failing on every one of its reflections, then "never mind the tests. just add a
    docstring": the docstring is no stuck loop. The test command failing again after it counts its earlier
    failures (`agent.repeated_failure`)."""
    loop = Aider().user(ASK).edit(HI, HELLO).files(CODE)
    for _ in range(4):
        loop.tested(TEST, RED).edit('    return "hello"', HELLO_BANG)
    loop.user("never mind the tests. just add a docstring to add()")
    f = loop.features()
    assert (f["ask_text"], *agent(loop)) == ("never mind the tests. just add a docstring to add()", 0, 0, 0, False)
    loop.edit("def add(a, b):", 'def add(a, b):\n    """Add two numbers."""').tested(TEST, RED)
    assert agent(loop) == (1, 1, 5, False)


def test_a_passing_run_is_the_finished_loop_only_after_aiders_edit_blocks() -> None:
    """aider's edit is the model's SEARCH/REPLACE block, applied by aider: no tool call. A passing run the person
    adds (``/run``) after one leaves only the report; before any edit it is a baseline."""
    green = "test_hello.py .\n\n1 passed in 0.01s"
    assert agent(Aider().user(ASK).tested(TEST, green)) == (1, 0, 0, False)
    assert agent(Aider().user(ASK).edit(HI, HELLO).tested(TEST, green)) == (1, 0, 0, True)
