"""Agent-step signals on Claude Code's and Codex's own payloads (tests/agent_clients.py builds them)."""

from __future__ import annotations

import json

import msgspec

from tests.agent_clients import CLINE_ENV, ClaudeCode, Cline, Codex, cline_error, codex_output
from tiergate.rules.agent_steps import DEFAULT_MARKERS
from tiergate.rules.features import Features
from tiergate.wire import ChatRequest

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
EDIT = {"file_path": "/app/src/manager.py", "old_string": "tmp", "new_string": "result"}
EDITED = "The file /app/src/manager.py has been updated."
AGENT = ("agent.steps", "agent.failures_in_row", "agent.repeated_failure", "agent.tests_green")


PATCHED = "Success. Updated the following files:\nM src/helpers.py"


def agent(loop: ClaudeCode | Codex | Cline) -> tuple[object, ...]:
    f = loop.features()
    return tuple(f[name] for name in AGENT)


def test_a_green_run_before_a_new_ask_does_not_make_the_new_ask_a_report() -> None:
    """Claude Code: tests pass, the agent reports, and the person asks something new (with the reminder Claude
    Code adds to the turn). The new ask has no steps yet: only the report of the old one was left."""
    loop = ClaudeCode().user(REMINDER, "rename the helper").call("Edit", EDIT, EDITED)
    loop.bash("python -m pytest -q", PYTEST_GREEN)
    assert agent(loop) == (2, 0, 0, True)
    loop.said("All 42 tests pass.").user(f"Thanks. Now: {HARD}", REMINDER)
    f = loop.features()
    assert f["ask_text"] == f"Thanks. Now: {HARD}"
    assert agent(loop) == (0, 0, 0, False)


def test_codex_a_green_run_before_a_new_ask_is_not_this_asks_report() -> None:
    loop = Codex().user("rename the helper").patch(PATCH, codex_output(0, PATCHED))
    loop.exec("pytest -q", codex_output(0, PYTEST_GREEN))
    assert agent(loop) == (2, 0, 0, True)
    loop.said("All tests pass.").user(f"ok now {HARD}")
    assert agent(loop) == (0, 0, 0, False)


def test_failures_before_a_new_ask_are_not_this_asks_failures() -> None:
    """Two failed runs, then "never mind, just add a docstring": the new ask is not a stuck loop, by either
    count. The same call failing again after it still counts its failures before it towards
    `agent.repeated_failure`, across the conversation."""
    loop = ClaudeCode().user(HARD)
    loop.bash("python -m pytest", PYTEST_RED, error=True).bash("python -m pytest", PYTEST_RED, error=True)
    assert agent(loop) == (2, 2, 2, False)
    loop.said("The tests still fail.").user("never mind, leave it. just add a docstring to format_date")
    assert agent(loop) == (0, 0, 0, False)
    loop.bash("python -m pytest", PYTEST_RED, error=True)
    assert agent(loop) == (1, 1, 3, False)


def test_the_steps_since_the_ask_still_end_green() -> None:
    loop = ClaudeCode().user(HARD).bash("python -m pytest", PYTEST_RED, error=True)
    loop.said("Fixing.").user("try again").bash("python -m pytest", PYTEST_RED, error=True)
    loop.call("Edit", EDIT, EDITED).bash("python -m pytest", PYTEST_GREEN)
    assert agent(loop) == (3, 0, 2, True)


LEASE = (
    "two workers sometimes both process the same job after one of them has a long GC pause. our lease is in "
    "internal/lease/lease.go on top of etcd. make it safe"
)
GO_GREEN = "ok  \tgithub.com/acme/jobs/internal/lease\t0.412s"


def test_a_green_run_before_any_change_is_a_baseline_not_a_report() -> None:
    """The loop's first step a green run (the tests before any edit, or an old CI log read back), or the same command
    again: the work is still ahead. After an edit, the same green run leaves only the report."""
    baseline = ClaudeCode().user(LEASE).bash("go test ./internal/lease/...", GO_GREEN)
    assert agent(baseline) == (1, 0, 0, False)
    ci_log = "--- PASS: TestRecoverAfterCrash (0.02s)\nPASS\nok  \tgithub.com/acme/txn\t0.311s"
    read_back = Codex().user(LEASE).exec("cat ci/last-main-run.log | tail -5", codex_output(0, ci_log))
    assert agent(read_back) == (1, 0, 0, False)
    baseline.bash("go test ./internal/lease/...", GO_GREEN)
    assert agent(baseline) == (2, 0, 0, False)
    baseline.call("Edit", EDIT, EDITED).bash("go test ./internal/lease/...", GO_GREEN)
    assert agent(baseline) == (4, 0, 0, True)


# --- what reads as a failed step ------------------------------------------------------------------------

PATCH = "*** Begin Patch\n*** Update File: src/utils/format.ts\n@@\n-const tmp = 1\n+const result = 1\n*** End Patch\n"
PATCH_REFUSED = "apply_patch verification failed: Failed to find expected lines in /repo/src/utils/format.ts"
GO_TEST = (
    "--- FAIL: TestReconnectOrdering (0.01s)\n    manager_test.go:88: got [1 3 2], want [1 2 3]\n"
    "FAIL\nFAIL\tgithub.com/dev/chat-server/session\t0.014s\nFAIL"
)
GO_BUILD = (
    "# github.com/dev/chat-server/session\nsession/manager.go:42:9: undefined: lockOrder\n"
    "session/manager.go:57:2: too many return values"
)


def test_codex_exit_code_header_marks_a_failed_step() -> None:
    """Codex's older header, ``Exit code: 1`` (apply_patch's and exec_command's), with nothing else to tell."""
    loop = Codex().user("rename tmp to result in src/utils/format.ts")
    for _ in range(3):
        loop.patch(PATCH, codex_output(1, PATCH_REFUSED))
    assert agent(loop) == (3, 3, 3, False)
    ok = Codex().user("rename tmp").patch(PATCH, codex_output(0, "Success. Updated the following files:\nM a.ts"))
    assert agent(ok) == (1, 0, 0, False)


def test_go_test_and_build_failures_are_failed_steps_by_their_own_lines() -> None:
    """Without any client's exit status: Go's FAIL lines, and a compiler's path:line:col: diagnostics."""
    for output in (GO_TEST, GO_BUILD):
        loop = Codex().user("make the session tests pass")
        for _ in range(3):
            loop.exec("go test ./session/...", output)
        assert agent(loop) == (3, 3, 3, False), output
    warned = Codex().user("build it").exec("go vet ./...", "session/manager.go:42:9: warning: unused result")
    assert agent(warned) == (1, 0, 0, False)


def test_claude_code_exit_code_line_marks_a_failed_step() -> None:
    """Claude Code's Bash output opens with ``Exit code 1`` (and the result is ``is_error``)."""
    loop = ClaudeCode().user("run the app").bash("python -m app.main", "Exit code 1\nboom", error=False)
    assert agent(loop) == (1, 1, 1, False)


def test_a_long_failed_result_keeps_its_is_error_flag() -> None:
    """A result marked ``is_error`` reads "error: ..." at its start; a traceback longer than the tail read
    must not lose it (three such results are a stuck loop)."""
    frames = "".join(f'  File "/app/src/mod{i}.py", line {i}, in f{i}\n    return f{i + 1}(x)\n' for i in range(200))
    traceback = frames + "RecursionError: maximum recursion depth exceeded"
    assert len(traceback) > 12000
    loop = ClaudeCode().user("rename tmp to result")
    for _ in range(3):
        loop.bash("python -m app.main", traceback, error=True)
    assert agent(loop) == (3, 3, 3, False)


def test_a_file_read_or_a_log_that_mentions_errors_is_not_a_failed_step() -> None:
    """Claude Code's Read of a source file that prints "error: ...", a grep for it, a git log line about
    failed retries, and the same file through Codex's shell: ordinary output, not failures."""
    source = ["def load(path):", "    try:", "        return parse(path)", "    except ValueError as e:"]
    source += ['        print(f"error: could not parse {path}: {e}")', "        raise"]
    loop = ClaudeCode().user("rename tmp to result").read("/app/src/loader0.py", source)
    loop.read("/app/src/loader1.py", source)
    assert agent(loop) == (2, 0, 0, False)
    grep = "src/a.py:3: log('error: bad input')\nsrc/b.py:9: raise SystemExit('error: no config')"
    loop = ClaudeCode().user("rename tmp to result").bash("grep -rn 'error:' src/", grep)
    loop.bash("git log --oneline -3", "a1b2c3d fix: handle 2 failed retries\n9f8e7d6 fix 3 errors in the parser")
    assert agent(loop) == (2, 0, 0, False)
    codex = Codex().user("rename tmp").exec("cat src/loader0.py", codex_output(0, "\n".join(source)))
    assert agent(codex) == (1, 0, 0, False)


def test_runner_summaries_still_read_as_failed_or_green() -> None:
    outputs = {
        "===== 1 failed, 41 passed in 3.21s =====": (1, 1, 1, False),
        "tests/test_a.py::test_x FAILED                    [ 50%]": (1, 1, 1, False),
        "test result: FAILED. 3 passed; 1 failed; 0 ignored": (1, 1, 1, False),
        "FAIL src/a.test.ts\nTests:       1 failed, 4 passed, 5 total": (1, 1, 1, False),
        "Found 3 errors in 2 files (checked 10 source files)": (1, 1, 1, False),
        "Found 2 errors in the same file, starting at: src/a.ts:3": (1, 1, 1, False),
        "src/a.ts(3,5): error TS2304: Cannot find name 'x'.": (1, 1, 1, False),
        "src/a.py:12: error: Name 'x' is not defined  [name-defined]": (1, 1, 1, False),
        "error[E0425]: cannot find value `x` in this scope": (1, 1, 1, False),
        "===== 42 passed in 3.02s =====": (1, 0, 0, True),
        "test result: ok. 12 passed; 0 failed": (1, 0, 0, True),
    }
    for output, expected in outputs.items():
        loop = ClaudeCode().user("run the tests").call("Edit", EDIT, EDITED).bash("make test", output)
        steps, in_row, repeated, green = expected
        assert agent(loop) == (steps + 1, in_row, repeated, green), output


VITEST_RED = (
    " RUN  v2.1.4 /home/dev/web\n\n \u00d7 src/webhook.test.ts > concurrent duplicate deliveries credit once 31ms\n"
    " \u2713 src/webhook.test.ts > credits once\n\n Test Files  1 failed (1)\n      Tests  1 failed | 6 passed (7)\n"
    "   Duration  640ms"
)
VITEST_FAIL_LINE = (
    " FAIL  src/booking/reserve.test.ts > reserve > concurrent bookings never strand a seat\n"
    "AssertionError: expected [ 'A1', 'A3' ] to not include 'A1'"
)
MOCHA_RED = (
    "Command executed.\nOutput:\n\n  pagination\n    \u2713 returns the first page\n    1) returns the last page\n\n"
    "  1 passing (12ms)\n  1 failing\n\n  1) pagination\n       returns the last page:\n"
    "     AssertionError: expected 4 to equal 5"
)
RSPEC_RED = "..F\n\nFailures:\n\n  1) Cart totals with discounts\n\nFinished in 0.04 seconds\n3 examples, 1 failure"
MINITEST_RED = "Finished in 0.01s\n3 runs, 5 assertions, 1 failures, 0 errors, 0 skips"
DOTNET_RED = (
    "  Failed Web.Tests.CartTests.Totals [12 ms]\n\n"
    "Failed!  - Failed:     1, Passed:     6, Skipped:     0, Total:     7, Duration: 1 s - Web.Tests.dll (net8.0)"
)


def test_vitest_mocha_rspec_minitest_dotnet_and_codexs_refused_patch_read_as_failures() -> None:
    """vitest's "Tests  1 failed | 6 passed (7)" read green on its "6 passed"; its " FAIL  path > test" line, mocha's
    "1 failing", rspec's "1 failure", minitest's "1 failures", dotnet's "Failed!" and Codex's refused apply_patch (its
    custom tool's output, no exit code) read as nothing."""
    for output in (VITEST_RED, VITEST_FAIL_LINE, MOCHA_RED, RSPEC_RED, MINITEST_RED, DOTNET_RED, PATCH_REFUSED):
        assert DEFAULT_MARKERS.read(output) == (True, False), output
    loop = Codex().user("change the default port in cmd/serve.go from 8080 to 9090")
    for _ in range(3):
        loop.patch(PATCH, PATCH_REFUSED)
    assert agent(loop) == (3, 3, 3, False)


def test_files_and_logs_that_name_the_new_summaries_are_not_failed_steps() -> None:
    """The new markers stay where the runners print them: a line that quotes them mid-sentence, a source file with
    an indented FAIL constant, or a summary with none failed is no failed step."""
    for output in (
        "docs/ci.md:12: when vitest prints Tests  1 failed | 6 passed the job stops",
        "    FAIL = 'fail'\n    PASS = 'pass'",
        "a1b2c3d fix: mocha reported 2 failing on CI\n9f8e7d6 rspec: 3 examples, 1 failure was flaky",
        " Test Files  2 passed (2)\n      Tests  7 passed (7)",
        "3 examples, 0 failures",
        "  7 passing (20ms)",
        "Passed!  - Failed:     0, Passed:     7, Skipped:     0, Total:     7",
        "note: apply_patch verification failed: is what Codex prints",
    ):
        assert DEFAULT_MARKERS.read(output)[0] is False, output


SEARCH = "------- SEARCH\n    const retries = 3;\n=======\n    const retries = opts.retries ?? 3;\n+++++++ REPLACE"
NO_MATCH = (
    "The SEARCH block:\n    const retries = 3;\n...does not match anything in the file.\n\nThis is likely because "
    "the SEARCH block content doesn't match exactly with what's in the file, or if you used multiple SEARCH/REPLACE "
    "blocks they may not have been in the order they appear in the file.\n\nThe file was reverted to its original "
    'state:\n\n<file_content path="src/net/fetch.ts">\nexport async function fetchJson(url: string) {\n'
    "\tconst retries = 3;\n</file_content>"
)


def test_cline_refusing_the_same_edit_three_times_is_stuck() -> None:
    """Cline's refused replace_in_file (its SEARCH block matches nothing: tabs, not spaces) comes back as a user
    message wrapped in "The tool execution failed with the following error:": three are a stuck loop."""
    loop = Cline("make the retry count in fetchJson configurable via an options arg")
    for _ in range(3):
        loop.call("replace_in_file", {"path": "src/net/fetch.ts", "diff": SEARCH}, cline_error(NO_MATCH))
    assert agent(loop) == (3, 3, 3, False)
    missing = "Missing value for required parameter 'diff'. Please retry with complete response."
    assert agent(Cline("rename tmp").call("replace_in_file", {"path": "a.ts"}, missing)) == (1, 1, 1, False)
    # a file read that holds the words, and an edit Cline saved, are not failures
    read = "export const msg = 'The tool execution failed with the following error:'\n"
    saved = "The content was successfully saved to src/net/fetch.ts."
    ok = Cline("rename tmp").call("read_file", {"path": "src/msg.ts"}, read)
    assert agent(ok.call("replace_in_file", {"path": "src/net/fetch.ts", "diff": SEARCH}, saved)) == (2, 0, 0, False)


def test_roo_codes_refused_edits_are_failed_steps_in_both_its_tool_modes() -> None:
    """Roo Code (and Kilo Code): a refused apply_diff's own result in its XML mode, and a refused call's JSON in
    its native tool calls (a role ``tool`` message)."""
    unable = "Unable to apply diff to file: /w/src/a.ts\n\n<error_details>\nNo sufficiently similar match found"
    fuzzy = "<error_details>\nNo sufficiently similar match found at line: 3 (88% similar, needs 100%)"
    for output in (unable, fuzzy):
        loop = Cline("rename tmp to result in src/a.ts")
        for _ in range(3):
            loop.call("apply_diff", {"path": "src/a.ts", "diff": SEARCH}, output)
        assert agent(loop) == (3, 3, 3, False), output
    refused = '{"status":"error","message":"The tool execution failed","error":"Search block not found"}'
    loop = Cline("rename tmp to result in src/a.ts")
    for n in range(2):
        call = {"id": f"call_{n}", "type": "function", "function": {"name": "apply_diff", "arguments": "{}"}}
        loop.messages += [
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": f"call_{n}", "content": refused},
        ]
    assert agent(loop) == (2, 2, 2, False)


ACT_MODE = "[The user has switched to ACT MODE, so you may now proceed with the task.]"
PLAN = "<plan_mode_respond>\n<response>\nPublish tail_ with release.\n</response>\n</plan_mode_respond>"


def test_clines_switch_to_act_mode_is_a_tool_result_and_only_the_persons_message_is_the_ask() -> None:
    """Cline answers its plan_mode_respond with the switch notice (PlanModeRespondHandler): without words the
    task is still the ask, with words only they are (its <user_message>), in its XML mode and its native one."""
    task = "consumers of our SPSC ring sometimes read garbage on the ARM build"
    words = "\n\nThe user also provided the following message when switching to ACT MODE:\n"
    words += "<user_message>\ngo ahead\n</user_message>"
    for result, ask in ((ACT_MODE, task), (ACT_MODE + words, "go ahead")):
        loop = Cline(task)
        loop.messages.append({"role": "assistant", "content": PLAN})
        assert loop.user("[plan_mode_respond] Result:", result, CLINE_ENV).features()["ask_text"] == ask
        native = Cline(task)
        call = {"id": "call_1", "type": "function", "function": {"name": "plan_mode_respond", "arguments": "{}"}}
        native.messages += [
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": result},
        ]
        assert native.user(CLINE_ENV).features()["ask_text"] == ask


def test_unittest_phpunit_rspec_dotnet_and_ctest_green_runs_are_clean_and_a_key_value_count_no_failure() -> None:
    """The green summaries of more runners read as clean test runs (a hard task's loop read as unfinished when its
    runner was not pytest, go, jest, vitest, cargo or maven); "passed=7 failed=0" read as a failure on "7 failed"."""
    for output in (
        "......\n----------------------------------------------------------------------\nRan 52 tests in 0.598s\n\nOK",
        "Ran 52 tests in 0.598s\n\nOK (skipped=3)",
        "PHPUnit 10.5.2 by Sebastian Bergmann and contributors.\n\n............  12 / 12 (100%)\n\n"
        "OK (12 tests, 30 assertions)",
        "Finished in 0.42 seconds (files took 1.1 seconds to load)\n5 examples, 0 failures",
        "Passed!  - Failed:     0, Passed:     6, Skipped:     0, Total:     6, Duration: 1 s - Web.Tests.dll (net8.0)",
        "1/3 Test #1: parse ....   Passed    0.01 sec\n\n100% tests passed, 0 tests failed out of 3",
        "<summary passed=7 failed=0 />\n7 passed",
    ):
        assert DEFAULT_MARKERS.read(output) == (False, True), output
    for output in ("Ran 2 tests in 0.01s\n\nFAILED (failures=1)", "print('OK')\nOK", "OK (skipped=3)"):
        assert DEFAULT_MARKERS.read(output)[1] is False, output
    # their red runs, and a count written as a key's value, are failures; a log line quoting a summary is neither
    for output in (
        "<summary passed=6 failed=1 />\n6 passed",
        "Results: tests=10 passed=9 failed=1",
        "Tests: 12, Assertions: 30, Failures: 1.\n\nFAILURES!",
        "67% tests passed, 1 tests failed out of 3",
        "100% tests passed, 0 tests failed out of 3\n\nmake: *** [Makefile:12: check] Error 2",
    ):
        assert DEFAULT_MARKERS.read(output) == (True, False), output
    assert DEFAULT_MARKERS.read("a1b2c3d ci: 100% tests passed on linux") == (False, False)
    # make's failed recipe and missing rule, as make, gmake or mingw32-make, with Windows line ends too
    for output in (
        "make: *** No rule to make target 'tset'.  Stop.",
        "make[1]: *** No rule to make target 'lib.o', needed by 'all'.  Stop.",
        "5 passed in 0.2s\ngmake: *** [Makefile:12: check] Error 2",
        "5 passed in 0.2s\r\nmake: *** [Makefile:12: check] Error 2\r\n",
        "web01 : ok=3    changed=0    unreachable=0    failed=1    skipped=0",
    ):
        assert DEFAULT_MARKERS.read(output) == (True, False), output


def test_code_and_logs_that_set_a_failed_count_are_no_failed_step() -> None:
    """A count of failures is read as a key's value only in a line of such counts, as runners print them: code that
    sets one, a diff, a grep hit or a parametrized test's id is no failed step."""
    for output in (
        'for t in tests/*.sh; do\n  sh "$t" || failed=1\ndone\nexit $failed',
        "@@ -3,3 +3,4 @@\n+  sh $t || failed=1",
        "src/report.py:41:        return Result(errors=2, warnings=0)",
        "assert Summary(passed=3, failed=1).ok is False",
        '{"note": "retry policy: failed=1 then back off"}',
    ):
        assert DEFAULT_MARKERS.read(output) == (False, False), output
    assert DEFAULT_MARKERS.read("test_retry[failed=1] PASSED\n===== 4 passed in 0.1s =====") == (False, True)


def test_aiders_search_replace_blocks_that_failed_to_match_are_failed_steps() -> None:
    """aider's report of an edit it could not apply is a step; sent twice, a stuck loop."""
    failed = (
        "# 1 SEARCH/REPLACE block failed to match!\n\n## SearchReplaceNoExactMatch: This SEARCH block failed to "
        "exactly match lines in src/orders.py\n<<<<<<< SEARCH\n    retries = 3\n=======\n    retries = 5\n"
        ">>>>>>> REPLACE"
    )
    assert DEFAULT_MARKERS.read(failed) == (True, False)
    assert DEFAULT_MARKERS.read("docs: # 1 SEARCH/REPLACE block failed to match! is what aider prints")[0] is False


# --- a green run is the loop's finished work only after a change -------------------------------------------------

FLAKY = "TestSnapshotConsistent fails maybe 1/50 on the arm64 CI runner, never on amd64. figure out why"
SERIES = ["func (s *Series) Add(v float64) {", "\ti := s.n", "\t*(*uint64)(unsafe.Pointer(&s.n)) = i + 1", "}"]
RACE_GREEN = "ok  \tgithub.com/acme/metricsd/internal/series\t14.022s"
SERIES_PATCH = (
    "*** Begin Patch\n*** Update File: internal/series/series.go\n@@\n-\ti := s.n\n+\ti := s.n.Load()\n*** End Patch\n"
)


def test_a_green_run_after_reads_and_searches_only_is_a_baseline_not_a_report() -> None:
    """Claude Code read the file (or searched) and ran the race test, which passed: nothing changed yet, so the
    hard task is still ahead. `agent.tests_green` read it as the finished loop and held the task back from opus."""
    read = ClaudeCode().user(REMINDER, FLAKY).read("/home/mika/src/metricsd/internal/series/series.go", SERIES)
    read.bash("go test -race -count=200 ./internal/series/", RACE_GREEN)
    assert agent(read) == (2, 0, 0, False)
    grep = ClaudeCode().user(FLAKY).call("Grep", {"pattern": "func \\(s \\*Series\\)"}, "Found 1 file")
    grep.bash("sed -n '1,45p' internal/series/series.go | cat -A", "func (s *Series) Add(v float64) {$")
    grep.call("TodoWrite", {"todos": [{"content": "Reproduce", "status": "done", "activeForm": "Reproducing"}]}, "ok")
    grep.bash("go test -race -count=200 ./internal/series/ 2>&1 | tail -5 > /dev/null; echo done", RACE_GREEN)
    grep.bash("go test -race -count=200 ./internal/series/", RACE_GREEN)
    assert agent(grep) == (5, 0, 0, False)
    # an edit refused is no change either; the edit made, the same run leaves only the report
    read.call("Edit", EDIT, "<tool_use_error>String to replace not found in file.</tool_use_error>", error=True)
    read.bash("go test -race -count=200 ./internal/series/", RACE_GREEN)
    assert agent(read)[3] is False
    read.call("Edit", EDIT, EDITED).bash("go test -race -count=200 ./internal/series/", RACE_GREEN)
    assert agent(read) == (6, 0, 1, True)
    for write in (
        ClaudeCode().user(FLAKY).call("Write", {"file_path": "/app/a.go", "content": "package a\n"}, EDITED),
        ClaudeCode().user(FLAKY).bash("sed -i 's/i := s.n/i := s.n.Load()/' internal/series/series.go", ""),
        ClaudeCode().user(FLAKY).bash("cat > internal/series/fix.go <<'EOF'\npackage series\nEOF", ""),
    ):
        assert agent(write.bash("go test ./internal/series/", RACE_GREEN))[3] is True


def test_a_run_kept_in_a_log_a_project_install_or_a_tool_without_a_file_is_no_change() -> None:
    """Writing a run's output to a log or /tmp, `npm install` and `pip install -e .` (what the project declares),
    `mkdir`, an MCP server's create_issue and a chat tool's `content`, and a diff an agent with tools shows in its
    words read as changes to the code: a green run after them held a hard task back from opus."""
    for earlier in (
        "pytest -q 2>&1 | tee test.log",
        "pytest -q > /tmp/out.txt; tail -3 /tmp/out.txt",
        "git diff > /tmp/x.patch",
        "git diff > fix.patch",
        "git log -p -3 > /dev/stdout",
        "npm install",
        "pip install -e .",
        "pip install -r requirements.txt",
        "mkdir -p .cache",
    ):
        loop = ClaudeCode().user(FLAKY).bash(earlier, "")
        assert agent(loop.bash("go test ./internal/series/", RACE_GREEN))[3] is False, earlier
    for tool, arguments in (
        ("mcp__github__create_issue", {"title": "flaky race", "body": "seen on arm64"}),
        ("send_message", {"content": "looking at it"}),
    ):
        loop = ClaudeCode().user(FLAKY).call(tool, arguments, "ok")
        assert agent(loop.bash("go test ./internal/series/", RACE_GREEN))[3] is False, tool
    diff = "--- a/series.go\n+++ b/series.go\n@@ -14 +14 @@\n-\ti := s.n\n+\ti := s.n.Load()"
    shown = f"Something like:\n```diff\n{diff}\n```"
    loop = ClaudeCode().user(FLAKY).said(shown).bash("go test ./internal/series/", RACE_GREEN)
    assert agent(loop)[3] is False
    # what does change it still counts: a package added by name, a write into the tree, a file tool with content
    for changed in (
        "npm install lodash",
        "pip install requests",
        "echo 'x = 1' >> internal/series/x.go",
        "npm install --save-dev jest",
        "yarn add -D typescript",
        "pip install --upgrade requests",
        "echo 'package x' | tee -a internal/series/x.go",
        "touch internal/series/x.go",
        "cat > CMakeLists.txt <<'EOF'\nproject(series)\nEOF",
    ):
        loop = ClaudeCode().user(FLAKY).bash(changed, "")
        assert agent(loop.bash("go test ./internal/series/", RACE_GREEN))[3] is True, changed
    for tool, arguments in (
        ("write_file", {"path": "internal/series/x.go", "content": "package x"}),
        ("edit", {"filePath": "internal/series/x.go", "oldString": "a", "newString": "b"}),  # opencode's
        ("replace_string_in_file", {"filePath": "internal/series/x.go", "oldString": "a", "newString": "b"}),
        ("create_file", {"filePath": "internal/series/x.go", "content": "package x"}),  # Copilot's
    ):
        loop = ClaudeCode().user(FLAKY).call(tool, arguments, "ok")
        assert agent(loop.bash("go test ./internal/series/", RACE_GREEN))[3] is True, tool


def test_codex_cline_cursor_and_zed_green_runs_count_after_their_own_edits_only() -> None:
    """Each client's way of changing the code: Codex's apply_patch (its own tool, or through its shell), Cline's
    replace_in_file, Cursor's edit_file (new content in its arguments), Zed's edit_file (the text streamed apart)."""
    codex = Codex().user(FLAKY).exec("rg -n 'func (s \\*Series)' internal/series/series.go", codex_output(0, "14:"))
    codex.exec("sed -n 1,45p internal/series/series.go", codex_output(0, "\n".join(SERIES)))
    codex.exec("go test -race -count=200 ./internal/series/", codex_output(0, RACE_GREEN))
    assert agent(codex) == (3, 0, 0, False)
    codex.patch(SERIES_PATCH, PATCHED).exec("go test -race -count=200 ./internal/series/", codex_output(0, RACE_GREEN))
    assert agent(codex) == (5, 0, 0, True)
    shell = Codex().user(FLAKY).exec(f"apply_patch <<'EOF'\n{SERIES_PATCH}EOF", codex_output(0, PATCHED))
    assert agent(shell.exec("go test ./internal/series/", codex_output(0, RACE_GREEN)))[3] is True

    cline = Cline(FLAKY).call("read_file", {"path": "internal/series/series.go"}, "\n".join(SERIES))
    cline.call("execute_command", {"command": "go test -race ./internal/series/"}, RACE_GREEN)
    assert agent(cline)[3] is False
    diff = "------- SEARCH\n\ti := s.n\n=======\n\ti := s.n.Load()\n+++++++ REPLACE"
    cline.call("replace_in_file", {"path": "internal/series/series.go", "diff": diff}, "The content was saved.")
    cline.call("execute_command", {"command": "go test -race ./internal/series/"}, RACE_GREEN)
    assert agent(cline)[3] is True

    def openai(*calls: tuple[str, dict[str, object], str]) -> tuple[object, ...]:
        messages: list[dict[str, object]] = [{"role": "user", "content": FLAKY}]
        for n, (name, arguments, output) in enumerate(calls):
            call = {"id": f"c{n}", "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
            messages.append({"role": "assistant", "tool_calls": [call]})
            messages.append({"role": "tool", "tool_call_id": f"c{n}", "content": output})
        f = Features.of(msgspec.convert({"messages": messages}, ChatRequest))
        return tuple(f[name] for name in AGENT)

    run = ("run_terminal_cmd", {"command": "go test -race ./internal/series/", "is_background": False}, RACE_GREEN)
    cursor_read = ("read_file", {"target_file": "internal/series/series.go", "should_read_entire_file": True}, "...")
    cursor_edit = ("edit_file", {"target_file": "internal/series/series.go", "code_edit": "i := s.n.Load()"}, "ok")
    zed_edit = ("edit_file", {"path": "metricsd/internal/series/series.go", "mode": "edit"}, "")
    assert openai(cursor_read, run)[3] is False
    assert openai(cursor_read, cursor_edit, run)[3] is True
    assert openai(zed_edit, run)[3] is True
    view = ("str_replace_based_edit_tool", {"command": "view", "path": "/repo/internal/series/series.go"}, "...")
    assert openai(view, run)[3] is False  # an editor's view changes nothing


def test_go_cover_cached_mocha_and_gradle_clean_runs_are_green_and_their_failures_are_not() -> None:
    """`go test -cover` puts the coverage after the time, a package tested before reads "(cached)", mocha counts
    "5 passing", Gradle says "BUILD SUCCESSFUL": none read green, so a finished loop's report step went to opus."""
    green = [
        "ok  \tgithub.com/acme/bank/internal/ledger\t0.412s\tcoverage: 81.2% of statements\n",
        "ok  \tgithub.com/acme/bank/internal/ledger\t(cached)\nok  \tgithub.com/acme/bank/internal/api\t(cached)\n",
        "?   \tgithub.com/acme/bank/cmd/bankd\t[no test files]\nok  \tgithub.com/acme/bank/internal/api\t(cached)\n",
        "  formatPrice\n    ✔ rounds half up\n\n  5 passing (23ms)\n",
        "  5 passing (2s)\n  1 pending\n",
        "> Task :test\n\nBUILD SUCCESSFUL in 12s\n4 actionable tasks: 2 executed, 2 up-to-date\n",
    ]
    for output in green:
        assert DEFAULT_MARKERS.read(output) == (False, True), output
    failed = [
        "ok  \tgithub.com/acme/bank/internal/api\t0.2s\tcoverage: 50.0% of statements\n--- FAIL: TestX (0.00s)\n"
        "FAIL\tgithub.com/acme/bank/internal/ledger\t0.3s\n",
        "  5 passing (23ms)\n  1 failing\n\n  1) formatPrice\n       rounds half up:\n     AssertionError\n",
        "> Task :compileJava\n\nFAILURE: Build failed with an exception.\n\nBUILD FAILED in 3s\n",
    ]
    for output in failed:
        assert DEFAULT_MARKERS.read(output) == (True, False), output
    # no tests ran, or words in a file: no clean run
    for output in ("ok  \tgithub.com/acme/x\t0.01s [no tests to run]\n", "the 3 passing grades are B, C and D\n"):
        assert DEFAULT_MARKERS.read(output) == (False, False), output
