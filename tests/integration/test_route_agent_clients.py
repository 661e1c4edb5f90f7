"""The dry run (``POST /v1/route``) on Claude Code's and Codex's own bodies, through their own dialects, with
the repository's routes.yaml and its learned head: what routing reads of an agent loop moves the tier.

No upstream is called by a dry run.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.agent_clients import AIDER_CONTEXT, Aider, ClaudeCode, Cline, Codex, cline_error, codex_output

HARD = (
    "Our websocket server deadlocks under load when two clients reconnect at the same time; the lock ordering "
    "between SessionManager and the broadcast queue looks wrong. Find the root cause and propose a redesign of "
    "the locking that avoids it without losing message ordering guarantees."
)
REMINDER = "<system-reminder>\nThis is a reminder that your todo list is currently empty.\n</system-reminder>"
GREEN = "collected 42 items\n\ntests/test_manager.py ..........          [100%]\n\n===== 42 passed in 3.02s ====="


def dry_run(gateway: str, dialect: str, body: dict[str, Any]) -> dict[str, Any]:
    r = httpx.post(f"{gateway}/v1/route?dialect={dialect}&classify=false", json=body)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def fired(d: dict[str, Any]) -> list[str]:
    return [s["name"] for s in d["signals"] if s["kind"] in ("rule", "escalation")]


def test_a_new_hard_ask_after_a_green_run_goes_to_opus(gateway: str) -> None:
    """The green run finished the last task; the person's new question is judged as a question."""
    loop = ClaudeCode().user(REMINDER, "rename the helper").bash("python -m pytest -q", GREEN)
    finished = dry_run(gateway, "anthropic", loop.body())
    loop.said("All 42 tests pass.").user(f"Thanks. Now: {HARD}", REMINDER)
    d = dry_run(gateway, "anthropic", loop.body())
    assert (finished["tier"], d["tier"]) == ("sonnet", "opus"), d["reasons"]
    assert "escalation" in fired(d)
    codex = Codex().user("rename the helper").exec("pytest -q", codex_output(0, GREEN))
    codex.said("All tests pass.").user(f"ok now {HARD}")
    assert dry_run(gateway, "responses", codex.body())["tier"] == "opus"


def test_a_codex_loop_refused_three_times_is_stuck_and_a_claude_code_read_is_not(gateway: str) -> None:
    """Codex's ``Exit code: 1`` header marks each refused patch; files Claude Code read are not failures."""
    patch = "*** Begin Patch\n*** Update File: src/a.ts\n@@\n-const tmp = 1\n+const result = 1\n*** End Patch\n"
    refused = codex_output(1, "apply_patch verification failed: Failed to find expected lines in /repo/src/a.ts")
    codex = Codex().user("rename tmp to result in src/a.ts")
    for _ in range(3):
        codex.patch(patch, refused)
    d = dry_run(gateway, "responses", codex.body())
    assert "agent_stuck" in fired(d), d["reasons"]
    source = ["def load(path):", '    print(f"error: could not parse {path}")', "    raise"]
    loop = ClaudeCode().user("rename tmp to result in src/loader.py")
    loop.read("/app/src/loader.py", source).read("/app/src/other.py", source)
    d = dry_run(gateway, "anthropic", loop.body())
    assert "agent_stuck" not in fired(d), d["reasons"]


def test_codexs_refused_apply_patch_as_its_custom_tools_output_is_a_stuck_loop(gateway: str) -> None:
    """Codex sends a refused patch as the custom tool's output alone, "apply_patch verification failed: ...", with no
    exit code around it: three of them in a row are a stuck loop."""
    patch = "*** Begin Patch\n*** Update File: cmd/serve.go\n@@\n-\tport := 8080\n+\tport := 9090\n*** End Patch"
    refused = "apply_patch verification failed: Failed to find expected lines in /home/dev/svc/cmd/serve.go:\n"
    refused += "\tport := 8080"
    codex = Codex().user("change the default port in cmd/serve.go from 8080 to 9090")
    for _ in range(3):
        codex.patch(patch, refused)
    d = dry_run(gateway, "responses", codex.body())
    assert d["read"]["agent"] == {"steps": 3, "failures_in_row": 3, "repeated_failure": 3, "tests_green": False}
    assert "agent_stuck" in fired(d), d["reasons"]


def test_codexs_summary_and_sub_agent_report_and_claude_codes_opened_file_are_not_the_ask(gateway: str) -> None:
    """Through their own dialects: Codex's summary after compacting and a sub-agent's report, user messages after the
    person's, and Claude Code's note of the file open in the IDE, a text block before the person's words."""
    ask = "doctors can both go off call at the same time. fix the bug in oncall/service.py (postgres, repeatable read)"
    summary = (
        "Another language model started to solve this problem and produced a summary of its thinking process. You also "
        "have access to the state of the tools that were used by that language model. Use this to build on the work "
        "that has already been done and avoid duplicating work. Here is the summary produced by the other language "
        "model, use the information in this summary to assist with your own analysis:\nRead service.py. No edits."
    )
    codex = Codex().user(ask).user(summary).exec("sed -n 1,40p oncall/service.py", codex_output(0, "def f(): ..."))
    assert dry_run(gateway, "responses", codex.body())["read"]["ask"] == ask
    report = '{"agent_id":"019a-explorer","status":"completed","message":"Found 3 producers of outbox rows."}'
    codex = Codex().user(ask).exec("rg -n outbox", codex_output(0, "relay/relay.go:12:func Run()"))
    codex.user(f"<subagent_notification>\n{report}\n</subagent_notification>")
    assert dry_run(gateway, "responses", codex.body())["read"]["ask"] == ask
    opened = (
        "<ide_opened_file>The user opened the file /home/dev/proj/src/consensus/raft_log.go in the IDE. This may or "
        "may not be related to the current task.</ide_opened_file>"
    )
    comment = "add a comment above the struct saying what it is"
    d = dry_run(gateway, "anthropic", ClaudeCode().user(opened, comment).body())
    assert d["read"]["ask"] == comment and d["tier"] != "opus", d["reasons"]


def test_a_cline_loop_refused_three_times_is_stuck(gateway: str) -> None:
    """Cline's refused replace_in_file, its error wrapped in "The tool execution failed with the following
    error:", three times over: the loop is stuck."""
    search = "------- SEARCH\n    const retries = 3;\n=======\n    const retries = opts.retries ?? 3;\n+++++++ REPLACE"
    refused = cline_error("The SEARCH block:\n    const retries = 3;\n...does not match anything in the file.")
    loop = Cline("make the retry count in fetchJson configurable via an options arg")
    for _ in range(3):
        loop.call("replace_in_file", {"path": "src/net/fetch.ts", "diff": search}, refused)
    d = dry_run(gateway, "openai", loop.body())
    assert "agent_stuck" in fired(d), d["reasons"]
    assert d["read"]["agent"] == {"steps": 3, "failures_in_row": 3, "repeated_failure": 3, "tests_green": False}


def test_claude_codes_own_blocks_around_a_trivial_ask_do_not_lift_it(gateway: str) -> None:
    """A hook's project context after the ask, or a bash-mode run naming forty test files before it: the
    ask is a docstring, so neither opus nor the many-files rule."""
    hook = (
        "<user-prompt-submit-hook>Project context (auto-injected): this repo implements a distributed lock "
        "service with Raft consensus; all changes must preserve linearizability across the cluster and be "
        "checked against the TLA+ spec in spec/Lock.tla, spec/Raft.tla and spec/Session.tla."
        "</user-prompt-submit-hook>"
    )
    d = dry_run(gateway, "anthropic", ClaudeCode().user("add a docstring to format_date", hook).body())
    assert d["tier"] == "sonnet" and "escalation" not in fired(d), d["reasons"]
    passed = "".join(f"tests/test_mod{i}.py::test_case PASSED\n" for i in range(41)) + "==== 41 passed in 12.0s ===="
    bash_mode = ClaudeCode().user(
        "<bash-input>pytest -v</bash-input>",
        f"<bash-stdout>{passed}</bash-stdout><bash-stderr></bash-stderr>",
        "add a docstring to format_date",
    )
    d = dry_run(gateway, "anthropic", bash_mode.body())
    assert "many_files" not in fired(d), d["reasons"]


def test_aider_hard_ask_is_read_past_its_files_added_message(gateway: str) -> None:
    """aider's own "I added these files to the chat" after the person's hard question is not the question."""
    added = "I added these files to the chat: src/session/manager.py, src/broadcast/queue.py\n"
    added += "Let me know if there are others we should add."
    messages = [
        *AIDER_CONTEXT,
        {"role": "user", "content": HARD},
        {"role": "assistant", "content": "I need src/session/manager.py and src/broadcast/queue.py. Please add them."},
        {"role": "user", "content": added},
    ]
    d = dry_run(gateway, "openai", {"model": "auto", "messages": messages})
    assert d["tier"] == "opus", d["reasons"]


def test_aiders_lint_loop_failing_twice_is_stuck_and_one_failing_test_run_is_not(gateway: str) -> None:
    """aider's auto-lint failing after the edit and again after the fix, with its "I updated the files." after
    each edit and the files it re-sends between the runs: two failures in a row. One failing test run, which aider
    sends twice, is one failure; and "never mind the tests" after four is a new ask, no stuck loop."""
    hi, hello, fixed = 'def greet():\n    return "hi"', 'def greet():\n    return "hello"', '    return "hello!"'
    code = 'def greet():\n    return "hello!"\n\n\ndef add(a, b):\n    return a + b'
    lint = Aider().user("change greet to return hello").edit(hi, hello)
    lint.lint("flake8 hello.py", "hello.py:2:12: E225 missing whitespace around operator")
    lint.edit('    return "hello"', fixed).files(code).lint("flake8 hello.py", "hello.py:2:12: E225 missing whitespace")
    d = dry_run(gateway, "openai", lint.body())
    assert d["read"]["agent"] == {"steps": 2, "failures_in_row": 2, "repeated_failure": 2, "tests_green": False}
    assert "agent_stuck" in fired(d), d["reasons"]
    red = "FAILED test_hello.py::test_greet - AssertionError: assert 'hello!' == 'hello!!'\n1 failed in 0.01s"
    test = Aider().user("change greet to return hello").edit(hi, hello).files(code).tested("./test.sh", red)
    d = dry_run(gateway, "openai", test.body())
    assert d["read"]["agent"] == {"steps": 1, "failures_in_row": 1, "repeated_failure": 1, "tests_green": False}
    assert "agent_stuck" not in fired(d), d["reasons"]
    for _ in range(3):
        test.edit('    return "hello"', fixed).tested("./test.sh", red)
    test.edit('    return "hello"', fixed).user("never mind the tests. just add a docstring to add()")
    d = dry_run(gateway, "openai", test.body())
    assert d["read"]["agent"] == {"steps": 0, "failures_in_row": 0, "repeated_failure": 0, "tests_green": False}
    assert "agent_stuck" not in fired(d), d["reasons"]


def test_the_dry_run_shows_the_ask_and_the_agent_steps_the_rules_read(gateway: str) -> None:
    """An operator sees why: the ask routing read (not Claude Code's reminder around it) and the loop's state.
    A long ask shows its first and last 200 characters."""
    edit = {"file_path": "/app/src/helpers.py", "old_string": "tmp", "new_string": "result"}
    loop = ClaudeCode().user(REMINDER, "rename the helper").call("Edit", edit, "The file has been updated.")
    loop.bash("python -m pytest -q", GREEN)
    read = dry_run(gateway, "anthropic", loop.body())["read"]
    agent = {"steps": 2, "failures_in_row": 0, "repeated_failure": 0, "tests_green": True}
    assert read == {"ask": "rename the helper", "ask_chars": 17, "agent": agent}
    long = "why " + "x" * 600 + " now?"
    read = dry_run(gateway, "openai", {"messages": [{"role": "user", "content": long}]})["read"]
    assert read["ask"] == long[:200] + " … " + long[-200:] and read["ask_chars"] == len(long)


FLAKY = "TestSnapshotConsistent fails maybe 1/50 on the arm64 CI runner, never on amd64. figure out why"
RACE_GREEN = "ok  \tgithub.com/acme/metricsd/internal/series\t14.022s"
SERIES = ["func (s *Series) Add(v float64) {", "\ti := s.n", "\t*(*uint64)(unsafe.Pointer(&s.n)) = i + 1", "}"]


def test_a_hard_task_whose_race_test_passes_before_any_change_still_goes_to_opus(gateway: str) -> None:
    """Claude Code read the file, then ran the race test, which passed: nothing is fixed yet, and the task goes to
    opus as it does with no steps. After the fix, the same green run leaves only the report (sonnet)."""
    loop = ClaudeCode().user(REMINDER, FLAKY).read("/home/mika/src/metricsd/internal/series/series.go", SERIES)
    loop.bash("go test -race -count=200 ./internal/series/", RACE_GREEN)
    d = dry_run(gateway, "anthropic", loop.body())
    assert d["read"]["agent"] == {"steps": 2, "failures_in_row": 0, "repeated_failure": 0, "tests_green": False}
    assert (d["tier"], "escalation" in fired(d)) == ("opus", True), d["reasons"]
    path = "/home/mika/src/metricsd/internal/series/series.go"
    fix = {"file_path": path, "old_string": "i := s.n", "new_string": "i := s.n.Load()"}
    loop.call("Edit", fix, "The file has been updated.").bash("go test -race -count=200 ./internal/series/", RACE_GREEN)
    d = dry_run(gateway, "anthropic", loop.body())
    assert (d["read"]["agent"]["tests_green"], d["tier"]) == (True, "sonnet"), d["reasons"]


def test_a_codex_report_step_after_go_test_cover_passes_is_no_opus_task(gateway: str) -> None:
    """`go test -cover` prints the coverage after each package's time: the clean run read as nothing, and the report
    step of a finished fix went to opus."""
    covered = (
        "ok  \tgithub.com/acme/bank/internal/ledger\t0.412s\tcoverage: 81.2% of statements\n"
        "ok  \tgithub.com/acme/bank/internal/api\t1.020s\tcoverage: 64.0% of statements\n"
    )
    patch = "*** Begin Patch\n*** Update File: internal/ledger/transfer.go\n@@\n-\tbal, err := s.balance(ctx, from)\n"
    patch += "+\tbal, err := s.balanceForUpdate(ctx, tx, from)\n*** End Patch\n"
    codex = Codex().user(
        "the transfer handler can double-spend under concurrent requests for the same account (we saw it in prod). "
        "fix it, keep the api the same, add a test that runs 50 concurrent transfers"
    )
    codex.patch(patch, "Success. Updated the following files:\nM internal/ledger/transfer.go")
    codex.exec("go test -cover ./...", codex_output(0, covered))
    d = dry_run(gateway, "responses", codex.body())
    assert d["read"]["agent"] == {"steps": 2, "failures_in_row": 0, "repeated_failure": 0, "tests_green": True}
    assert d["tier"] == "sonnet", d["reasons"]
