"""Where an agent loop stands, from its tool calls and results: stuck, or done but for the report.

A loop that keeps failing (the same command, the same error, edit after edit refused) needs a
stronger model than the task's words suggest; a loop whose last step was a clean test run only has a
summary left to write. These features read the conversation's tool calls and results (role ``tool``
messages, and text tool results: Cline's user messages, aider's lint and test reports, Void's
``<name_result>`` blocks in its XML tool mode, per ``routing.ask``) against the markers in ``routing.agent``.
Nothing else a client sends as the user is a step: not the files aider re-sends between its reports, nor its
"I updated the files." (``routing.ask.acknowledgement_patterns``). A report names the call of the command it
ran, and aider's failing test run, sent twice (added to the chat, then sent as the fix it asks for), is one step.

- ``agent.steps``: tool results since the user's last ask;
- ``agent.failures_in_row``: failed tool results at the end of the conversation, in a row, since that ask;
- ``agent.repeated_failure``: the most times one tool call (same name and arguments) has failed, of the
  calls that failed since that ask (their failures before it counted too);
- ``agent.tests_green``: the last tool result since that ask is a clean test run (a pass marker, no
  failure marker), and the loop changed the code since that ask, before it (a call whose arguments carry new
  content, an edit tool, a shell command that writes files, aider's edit blocks: ``routing.agent.edit_*``): a
  green run before any change (the loop's first step, or after reads and searches only) is a baseline.

A loop's state is that of the task the person gave last. A green run before a new question does not make
the new question a report to write, and failures before "never mind, just add a docstring" do not make the
docstring a stuck loop; the same command failing again after it does count the failures before.

    {feature: agent.failures_in_row, gte: 2}    # stuck: score up
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from typing import Any

import msgspec
from cachetools import LRUCache

from tiergate.config.base import Strict
from tiergate.rules.ask import AskReader, ask_index, reader_of
from tiergate.rules.features import Features, feature, raw_texts

# Structure rather than words: a failure reads as a client's status line, a runner's summary or a tool's own
# error line, at the start of a line where the tool puts it, so a file a tool read (a `print(f"error: ...")`
# in it, a commit "handle 2 failed retries" in a log) is not a failed command.
DEFAULT_FAILURE = [
    # a non-zero exit as clients word it: Claude Code's "Exit code 1", Codex's "Exit code: 1" and "Process
    # exited with code 1", Void's "(exit code 1)", Go's "exit status 1", a JSON "exit_code": 1
    r"(?i:\bexit(?:ed)?(?: with)? (?:code|status):? ?[1-9]\d*)",
    r"\bexit_code\"?: ?[1-9]\d*",
    # a tool's own error line: a refused tool call (the Anthropic ingress words `is_error` as "error: "),
    # rustc's "error[E0425]:", git's "fatal:"
    r"^(?:error|fatal)(?:\[E\d+\])?:",
    # a compiler's or linter's diagnostic, path:line:col: message (Go's "a.go:42:9: undefined: x", gcc's
    # and clang's "error:", eslint's unix format; not a warning or a note), mypy's path:line: error, tsc's
    r"^[^\s:]+:\d+:\d+: (?!warning\b|note\b|info\b)\S",
    r"^[^\s:]+:\d+: (?:fatal )?error\b",
    r"^[^\s(]+\(\d+,\d+\): error\b",
    r"^Traceback \(most recent call last\)",
    # test runners: a count in a summary ("1 failed, 41 passed in 3.21s", "Found 3 errors in 2 files", cargo's
    # "2 failed;"), pytest's and unittest's FAILED lines, Go's "--- FAIL:" and "FAIL\tpkg", Jest's "FAIL a.test.ts"
    # ("in" then a time or a count: a commit "fix 3 errors in the parser" in a git log is no summary)
    # (a count that is a key's value, "passed=7 failed=0", is no summary: the 7 is passed's)
    r"(?<!=)\b[1-9]\d* (?:failed|errors?)\b(?=[,.;)]| in (?:\d|the same file)|\s+=|$)",
    # vitest's summary lines, "Test Files  1 failed (1)" and "Tests  1 failed | 6 passed (7)", and its " FAIL  path >
    # test" lines (a space before; Go's subtests indent "--- FAIL:")
    r"^ *Test(?:s| Files)  +[1-9]\d* failed\b",
    r"^(?: | *--- )?FAIL(?:ED)?\b",
    # mocha's "  1 failing", rspec's "3 examples, 1 failure", minitest's "3 runs, 5 assertions, 1 failures", dotnet
    # test's "Failed!  - Failed:     1, Passed:     6"
    r"^ *[1-9]\d* failing$",
    r"^\d+ examples?, [1-9]\d* failures?\b",
    r"^\d+ runs, \d+ assertions, [1-9]\d* failures\b",
    r"^Failed! +- Failed: +[1-9]",
    # a count of failures after another count, each a key's value ("passed=9 failed=1", Ansible's recap: not
    # code's "|| failed=1" nor "Summary(passed=3, failed=1)"); PHPUnit's "FAILURES!" and "ERRORS!" lines; CTest's
    # "67% tests passed, 1 tests failed out of 3"
    r"\b[a-z]+=\d+ +(?:failed|failures|errors)=[1-9]\d*\b",
    r"^(?:FAILURES|ERRORS)!$",
    r"^\d+% tests passed, [1-9]\d* tests? failed\b",
    # make's own line when a recipe failed ("make: *** [Makefile:12: check] Error 2"), after a runner's green summary,
    # or when it has no rule for a target (GNU make as make, gmake or mingw32-make)
    r"^(?:g|mingw32-)?make(?:\[\d+\])?: \*\*\* (?:.*\bError [1-9]\d*|No rule to make target\b.*)\r?$",
    # aider's report of edits it could not apply ("# 1 SEARCH/REPLACE block failed to match!")
    r"^# [1-9]\d* SEARCH/REPLACE blocks? failed to match!",
    r"\bFAILED(?= *\[| *$)",
    r"\btest result: FAILED\b",
    r"\bTests?:\s+\d+ failed",
    r"\bcommand not found\b",
    r"\bNo such file or directory\b",
    r"\bold_string (?:not found|was not found)\b",
    r"\bString to replace not found\b",
    # Codex's refused apply_patch, as its custom tool's output (no exit code around it)
    r"^apply_patch verification failed: ",
    # Cline's refused tool call (formatResponse.toolError, a refused replace_in_file's "...does not match
    # anything in the file" inside it), worded the same by Roo Code and Kilo Code in their XML tool mode and as
    # JSON in their native one; Roo's and Kilo's refused apply_diff, sent without that wrapper; a call missing
    # a parameter (all three)
    r"^The tool execution failed with the following error:",
    r'^\{"status":"error","message":"The tool execution failed"',
    r"^Unable to apply diff to file: ",
    r"^No sufficiently similar match found\b",
    r"^Missing value for required parameter '",
    r"\bpanicked at\b",
    r"\bSegmentation fault\b",
    r"\bBUILD FAILURE\b",
    r"^BUILD FAILED\b",
    r"\bnpm ERR!",
]
DEFAULT_PASS = [
    r"(?<!=)\b\d+ passed\b",
    r"\bAll tests passed\b",
    r"\btest result: ok\b",
    # go test's package line: its time or "(cached)", then what -cover adds ("coverage: 81.2% of statements")
    r"^ok\s+\S+\s+(?:[\d.]+s|\(cached\))(?:\s+coverage: [^\n]*)?$",
    # unittest's (and Django's) "Ran 52 tests in 0.598s", then "OK" or "OK (skipped=3)"; PHPUnit's "OK (12 tests,
    # 30 assertions)"
    r"^Ran [1-9]\d* tests? in [\d.]+s\n+OK(?: \([^)\n]*\))?$",
    r"\bOK \(\d+ tests?(?:, \d+ assertions?)?\)",
    # rspec's "5 examples, 0 failures", dotnet test's "Passed!  - Failed:     0, Passed:     6", CTest's "100% tests
    # passed, 0 tests failed out of 3"
    r"^\d+ examples?, 0 failures\b",
    r"^Passed! +- Failed: +0\b",
    r"^100% tests passed, 0 tests failed\b",
    r"\bTests:\s+\d+ passed",
    # mocha's "  5 passing (23ms)" (with a failure it prints "  1 failing" too, a failure marker); Maven's "BUILD
    # SUCCESS", Gradle's "BUILD SUCCESSFUL in 12s" (on a failure "BUILD FAILED in 3s", a failure marker)
    r"^ *[1-9]\d* passing \(\d+(?:\.\d+)? ?[a-z]+\)$",
    r"\bBUILD SUCCESS\b",
    r"^BUILD SUCCESSFUL in \d",
    r"\b0 failed\b",
]


# What changes the code the tests then pass on. Structure first: a call whose arguments carry new content (Claude
# Code's Edit, MultiEdit, Write and NotebookEdit; Cursor's edit_file; Continue's edit_existing_file; Roo Code's
# apply_diff; an editor's str_replace, create and insert), then a shell command's own words, then the tool's name.
DEFAULT_EDIT_ARGUMENTS = [
    "new_string",
    "new_str",
    "new_source",
    "file_text",
    "insert_text",
    "content",
    "contents",
    "code_edit",
    "edits",
    "changes",
    "diff",
    "patch",
]
# A tool named for a change, whatever its arguments say: Codex's apply_patch (its input the patch itself), Zed's
# edit_file (the new text streamed apart), Cline's write_to_file and replace_in_file, Void's rewrite_file. The name as
# words in snake case ("MultiEdit" reads "multi_edit"); a to-do list (Claude Code's TodoWrite) is no change.
DEFAULT_EDIT_TOOLS = [
    r"^(?!(?:\w*_)?todos?(?:_|$))(?:\w*_)?(?:edit|write|rewrite|patch|replace|create|delete|insert|move|rename)(?:_|$)",
]
# A shell command that changes files, read without its quoted words and heredoc bodies: a patch applied (Codex's
# apply_patch through its shell), an in-place edit (sed -i, perl -pi), a redirect into a file (not 2>&1, nor into
# /dev or /tmp or a log, text, output or patch file: a run's output kept), files moved, copied or removed, a package
# added or removed by name (not `npm install` or `pip install -e .`, which install what the project declares), a
# formatter's or linter's fix
DEFAULT_EDIT_COMMANDS = [
    r"\bapply_patch\b",
    r"\b(?:git\s+apply|patch\s+-p\d)\b",
    r"\b(?:sed|perl|ruby)(?:\s+[^\s|;&]+){0,6}?\s+-(?:[a-zA-Z]*i|-in-place)\b",
    r"(?<![<>&\d=-])>>?\s*(?!&|/dev/|/tmp/|[^\s|;&)]{0,200}\.(?:log|txt|out|patch|diff)\b)[^\s|;&)]",
    r"(?:^|[;&|(]\s*)(?:mv|cp|rm|touch|truncate|ln|chmod)\s",
    # a file written from a heredoc, whatever its name; tee into a file of the tree (not a log, /tmp or /dev)
    r"\bcat\s*>>?\s*[^\s|;&)<]+\s*<<",
    r"(?:^|[|;&(]\s*)tee\s+(?:-[a-z]+\s+)*(?!/dev/|/tmp/|[^\s|;&)]{0,200}\.(?:log|out)\b)[^\s|;&)-]",
    r"\bgit\s+(?:checkout|restore|mv|rm|reset|revert|cherry-pick|stash\s+(?:pop|apply))\b",
    # a package named after install/add (its flags first: --save-dev, -D, --upgrade; not -r file, -e path)
    r"\b(?:npm|pnpm|yarn|bun|pip3?|uv|poetry|cargo|go|gem|bundle|composer)\s+(?:(?:pip\s+)?"
    r"(?:install|add|remove|uninstall|get)(?:\s+-(?![rec]\b|-(?:requirement|editable|constraint)\b)[-\w=]+)*"
    r"\s+[A-Za-z@]|mod\s+tidy\b)",
    r"\s--(?:write|fix)\b|\bgofmt\s+-[a-z]*w|\b(?:cargo|go)\s+fmt\b",
]
# An assistant's reply that is itself the edit (aider's SEARCH/REPLACE blocks, its unified diffs): its client applies it
DEFAULT_EDIT_REPLIES = [r"^>>>>>>> REPLACE\s*$", r"^\+\+\+ \S[^\n]*\n@@"]


class AgentConfig(Strict, frozen=True):
    """How tool results read: a failure, or a clean test run. The `agent.*` features count them."""

    failure_patterns: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_FAILURE))
    """Regular expressions (multi-line: `^` is a line's start): a tool result matching one is a failed step.
    A result is read at its first 2,000 and last 8,000 characters (a client's status line opens it, a
    runner's summary ends it); a file's lines as a reading tool numbers them (Claude Code's Read) are not
    read. Anchor a marker to where a tool prints it, so a file or log that mentions an error is not one."""
    pass_patterns: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_PASS))
    """Regular expressions (multi-line): a tool result matching one, and no failure pattern, is a clean
    test run."""
    edit_arguments: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_EDIT_ARGUMENTS))
    """Names of a tool call's arguments that carry new content: a call with one (that did not fail) changed the
    code. A clean test run is the loop's finished work (`agent.tests_green`) only after such a change."""
    edit_tools: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_EDIT_TOOLS))
    """Regular expressions searched in a tool's name, as lower-case words joined by `_` (`MultiEdit` reads
    `multi_edit`): a call of such a tool changed the code, whatever its arguments (one that runs a command is read
    by `edit_commands`)."""
    edit_commands: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_EDIT_COMMANDS))
    """Regular expressions searched in a shell command (a call's `command` or `cmd`, Cline's `execute_command`),
    without its quoted words and heredoc bodies: a command matching one changed the code."""
    edit_replies: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_EDIT_REPLIES))
    """Regular expressions (multi-line) searched in the assistant's text: a reply matching one is an edit its
    client applies (aider's SEARCH/REPLACE blocks)."""


@dataclass(frozen=True)
class Edits:
    """What reads as a change to the code (``routing.agent.edit_*``): a tool call, a shell command, a reply."""

    arguments: frozenset[str]
    tools: re.Pattern[str] | None
    commands: re.Pattern[str] | None
    replies: re.Pattern[str] | None

    @classmethod
    def compile(cls, cfg: AgentConfig) -> Edits:
        return cls(
            frozenset(cfg.edit_arguments),
            _any_of(cfg.edit_tools),
            _any_of(cfg.edit_commands),
            _any_of(cfg.edit_replies),
        )

    def call(self, name: str, arguments: str) -> bool:
        """A tool call, by its name and its arguments as sent, that changes the code: one whose arguments carry
        new content; else, when it runs a command (``command``, ``cmd``: Claude Code's Bash, Codex's shell and
        exec_command, Cursor's run_terminal_cmd, an editor's ``view``), the command; else its name."""
        try:
            value = _decode_arguments.decode(arguments) if arguments.lstrip().startswith("{") else None
        except (msgspec.DecodeError, RecursionError):
            value = None
        if isinstance(value, dict):
            names_a_file = not _PATH_ARGUMENTS.isdisjoint(value)
            if names_a_file and not self.arguments.isdisjoint(value):
                return True
            command = value.get("command", value.get("cmd"))
            if isinstance(command, list) and all(isinstance(word, str) for word in command):
                # Codex's argv: ["bash", "-lc", "script"] runs the script
                command = command[-1] if len(command) >= 3 and command[-2] in ("-c", "-lc") else " ".join(command)
            if isinstance(command, str):
                return self.command(command)
            # a tool named for a change acts on a file it names, or is a patch, which names its files inside (an MCP
            # server's create_issue or a chat tool's send_message with its `content` changes no code)
            return (names_a_file or "patch" in name.lower()) and self.named(name)
        return self.named(name)  # arguments that are no object: Codex's apply_patch takes the patch itself

    def named(self, name: str) -> bool:
        words = re.sub(r"\W+", "_", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)).lower()
        return self.tools is not None and self.tools.search(words) is not None

    def command(self, command: str) -> bool:
        if self.commands is None:
            return False
        opened = command.find("<<")
        if opened >= 0 and (body := command.find("\n", opened)) >= 0:
            command = command[:body]  # a heredoc's body is the file or script it feeds, not the command
        return self.commands.search(_QUOTED.sub("''", command[:COMMAND_CHARS])) is not None

    def text_call(self, call: str) -> bool:
        """A tool call in text: Cline's ``[replace_in_file for 'path'] Result:`` (a command in the place of the path
        for ``execute_command``), or an XML call as the assistant wrote it (Void's ``<edit_file>``, its
        parameters as elements)."""
        if (cline := _CLINE_CALL.match(call)) is not None:
            return self.named(cline[1]) or (cline[2] is not None and self.command(cline[2]))
        if (xml := _XML_TAG.match(call)) is not None:
            if not self.arguments.isdisjoint(_XML_TAG.findall(call, xml.end())):
                return True
            if (command := _XML_COMMAND.search(call, xml.end())) is not None:
                return self.command(command[1])
            return self.named(xml[1])
        return False

    def reply(self, text: str) -> bool:
        """An assistant's reply that is an edit its client applies (aider's SEARCH/REPLACE blocks)."""
        return self.replies is not None and self.replies.search(text) is not None


#: The arguments by which an editing tool names the file it changes (Claude Code's file_path and notebook_path,
#: Cursor's target_file, Continue's filepath, an editor's and Cline's path): a call with new content and none of
#: these changes no file.
_PATH_ARGUMENTS = frozenset(
    {"path", "file_path", "filepath", "filePath", "file", "filename", "target_file", "notebook_path", "absolute_path"}
    | {"uri"}
)
#: Characters of a shell command read for a change: its commands open it (a long one is a script's body).
COMMAND_CHARS = 4000
_decode_arguments = msgspec.json.Decoder()
_QUOTED = re.compile(r"'[^'\n]*'|\"(?:[^\"\\\n]|\\.)*\"")
_CLINE_CALL = re.compile(r"\[([\w.:-]+)(?: for '(.*)')?\] Result:")
_XML_TAG = re.compile(r"<([\w-]+)>")
_XML_COMMAND = re.compile(r"<command>(.*?)</command>", re.DOTALL)


@dataclass(frozen=True)
class AgentMarkers:
    """``routing.agent`` compiled once per load."""

    failure: re.Pattern[str] | None
    passed: re.Pattern[str] | None
    edits: Edits = field(default_factory=lambda: DEFAULT_EDITS)
    #: (failed, green) by a digest of the part of a result read. An agent loop resends every earlier result
    #: with each step, and reading one costs about 0.3 µs a character (3 ms for a 10,000-character log): a
    #: loop at its 40th step would pay 120 ms a request for results it read before. One per load, so a
    #: reload with new markers reads afresh.
    _read: LRUCache[bytes, tuple[bool, bool]] = field(
        default_factory=lambda: LRUCache(READ_CACHE), compare=False, hash=False, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, hash=False, repr=False)

    @classmethod
    def compile(cls, cfg: AgentConfig) -> AgentMarkers:
        return cls(_any_of(cfg.failure_patterns), _any_of(cfg.pass_patterns), Edits.compile(cfg))

    def read(self, text: str) -> tuple[bool, bool]:
        """(failed, green) of one tool result, from its first 2,000 and last 8,000 characters: a client's
        status line opens a result (Claude Code's ``Exit code 1``, Codex's header, the ``error: `` a refused
        call's ``is_error`` becomes), a runner's summary ends it. The failure patterns are searched once (they
        cost about 0.3 µs a character), the pass patterns only when none matched, and a long result's
        reading is remembered (an agent loop resends it with every later step). A file's contents as a
        reading tool numbers them (Claude Code's Read, ``cat -n``) are neither."""
        if _LISTING.match(text) is not None:
            return False, False
        if (structured := _structured(text)) is not None:
            output, exit_code = structured
            failed, green = self.read(output)
            return failed or bool(exit_code), green and not exit_code
        read = text if len(text) <= HEAD + TAIL else text[:HEAD] + "\n" + text[-TAIL:]
        if len(read) < CACHED_FROM:
            return self._search(read)
        key = hashlib.blake2b(read.encode(errors="surrogatepass"), digest_size=16).digest()
        with self._lock:
            known = self._read.get(key)
        if known is None:
            known = self._search(read)
            with self._lock:
                self._read[key] = known
        return known

    def _search(self, read: str) -> tuple[bool, bool]:
        failed = self.failure is not None and self.failure.search(read) is not None
        return failed, not failed and self.passed is not None and self.passed.search(read) is not None

    def failed(self, text: str) -> bool:
        return self.read(text)[0]

    def green(self, text: str) -> bool:
        return self.read(text)[1]


#: Characters of a tool result read for its status (at its start) and its summary (at its end).
HEAD, TAIL = 2000, 8000
#: Tool results remembered per load, and the length from which a result's reading is remembered (a shorter
#: one is read faster than its digest is made).
READ_CACHE: int = 4096
CACHED_FROM: int = 256
#: A file's lines as a reading tool numbers them: Claude Code's Read ("     1\tdef f():", or "1→"), ``cat -n``,
#: OpenHands' view; two such lines open the result (one line might be a command's own output).
_LISTING = re.compile(r" *\d+(?:\t|→)[^\n]*\n *\d+(?:\t|→)")


#: Codex's structured shell result: ``{"output": "...", "metadata": {"exit_code": 0, "duration_seconds": 1.2}}``.
#: Inside the JSON a line break is the two characters ``\n``, so a marker anchored to a line's start (Go's
#: ``ok  pkg  0.2s``) or after a word's end (``\n24 passed``) would never match: the output is read decoded.
_STRUCTURED = re.compile(r'\s*\{\s*"(?:output|metadata)"\s*:')
_decode_structured = msgspec.json.Decoder()


def _structured(text: str) -> tuple[str, int | None] | None:
    """A Codex structured shell result's output and exit code (None when it gives none), or None when
    ``text`` is no such result."""
    if _STRUCTURED.match(text) is None:
        return None
    try:
        value = _decode_structured.decode(text)
    except (msgspec.DecodeError, RecursionError):
        return None  # cut, not JSON after all, or nested past what a decoder follows: read as text
    if not isinstance(value, dict) or not isinstance(output := value.get("output"), str):
        return None
    metadata = value.get("metadata")
    code = metadata.get("exit_code") if isinstance(metadata, dict) else None
    return output, code if isinstance(code, int) and not isinstance(code, bool) else None


def _any_of(patterns: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.MULTILINE) if patterns else None


DEFAULT_EDITS: Edits = Edits.compile(AgentConfig())
DEFAULT_MARKERS = AgentMarkers.compile(AgentConfig())


@dataclass(frozen=True)
class Step:
    """One tool result: which call it answers (name and arguments, when known), whether it failed, whether it is
    a clean test run, whether it changed the code (a call that did, and did not fail), and the index of its
    message."""

    call: str
    failed: bool
    green: bool
    at: int
    changed: bool = False


def steps(f: Features) -> list[Step]:
    """The conversation's tool results in order, read once per request."""
    memo = f._memo
    if "_steps" in memo:
        return memo["_steps"]  # type: ignore[no-any-return]
    markers: Any = f.settings.get("agent")
    markers = markers if isinstance(markers, AgentMarkers) else DEFAULT_MARKERS
    edits: Edits = markers.edits
    reader, texts = reader_of(f), raw_texts(f)
    calls: dict[str, tuple[str, bool]] = {}
    found: list[Step] = []
    edited: list[int] = []
    said = ""
    for at, (message, text) in enumerate(zip(f.messages, texts, strict=True)):
        for made in message.tool_calls or ():
            name, arguments = made.function.name, made.function.arguments
            calls[made.id] = f"{name}({arguments})", edits.call(name, arguments)
        if message.role == "assistant":
            said = text
            if not f.request.tools and edits.reply(text):  # an agent with tools edits by calls; a diff is prose
                edited.append(at)
        if message.role in ("tool", "function"):
            answered, changes = calls.get(message.tool_call_id or "", ("", False))
            if not answered:
                answered = message.name or "?"
                changes = edits.named(answered)
        elif message.role != "user":
            continue
        elif (ran := reader.report_call(text)) is not None:
            if _resent(f, reader, texts, at):
                continue
            answered, changes = ran, False  # a command the client ran on its own: its tests, its linter
        elif reader.is_tool_result(text):
            answered = text.lstrip().split("\n", 1)[0][:200]
            changes = edits.text_call(answered)
        elif (block := reader.result_block(text)) is not None:
            answered, text = _xml_call(block[0], said), block[1]
            changes = edits.text_call(answered)
        else:
            continue  # the person's words, or the client's files and notes between steps: no tool result
        failed, green = markers.read(text)
        found.append(Step(answered, failed, green, at, changes and not failed))
        if changes and not failed:
            edited.append(at)
    memo["_steps"], memo["_edited"] = found, edited
    return found


def edited(f: Features) -> list[int]:
    """The indices of the messages where the loop changed the code: a tool result of a call that did (and did not
    fail), an assistant's reply that is an edit its client applies."""
    steps(f)
    return f._memo["_edited"]  # type: ignore[no-any-return]


def _resent(f: Features, reader: AskReader, texts: list[str], at: int) -> bool:
    """The report at message ``at`` repeats the user message before it (past the assistant's answers) word for
    word, but for the blocks a client appends to the message it sends: aider adds a failing test run to the
    chat, then sends it again as the fix it asks for. One run is one step; counted twice, one failing run read
    as two in a row."""
    before = at - 1
    while before >= 0 and f.messages[before].role == "assistant":
        before -= 1
    if before < 0 or f.messages[before].role != "user":
        return False
    return reader.without_appended(texts[before]) == reader.without_appended(texts[at])


def _xml_call(tool: str, said: str) -> str:
    """The XML tool call a text tool result answers: the ``<tool>`` element the assistant's message before it
    ends with, arguments and all, so one command failing again is told from another (Void re-adds the call
    there: ``<run_command>`` holding ``<command>pytest</command>``); else the tool's name alone."""
    opened = said.rfind(f"<{tool}>")
    return said[opened:].strip() if opened >= 0 else tool


def since_ask(f: Features) -> list[Step]:
    """The tool results after the user's last ask (all of them when no message reads as one)."""
    ask = ask_index(f)
    return [step for step in steps(f) if ask is None or step.at > ask]


@feature("number", "Tool results since the user's last ask.", name="agent.steps")
def agent_steps(f: Features) -> int:
    return len(since_ask(f))


@feature(
    "number",
    "Failed tool results at the end of the conversation, in a row, since the user's last ask.",
    name="agent.failures_in_row",
)
def failures_in_row(f: Features) -> int:
    count = 0
    for step in reversed(since_ask(f)):
        if not step.failed:
            break
        count += 1
    return count


@feature(
    "number",
    "The most times one tool call (same name and arguments) failed, of the calls that failed since the user's last "
    "ask, their failures before it counted too.",
    name="agent.repeated_failure",
)
def repeated_failure(f: Features) -> int:
    failing = {step.call for step in since_ask(f) if step.failed}
    counts: dict[str, int] = {}
    for step in steps(f):
        if step.failed and step.call in failing:
            counts[step.call] = counts.get(step.call, 0) + 1
    return max(counts.values(), default=0)


@feature(
    "bool",
    "The last tool result since the user's last ask is a clean test run, after a step since that ask changed the "
    "code (an edit, a patch, a file written): only the report is left.",
    name="agent.tests_green",
)
def tests_green(f: Features) -> bool:
    # a green run before any change (the loop's first step, or after reads, searches and the same command) is a
    # baseline, or an old CI log read back: the work is still ahead, and the task's words judge it
    found = since_ask(f)
    if not found or not found[-1].green:
        return False
    ask, last = ask_index(f), found[-1].at
    return any((ask is None or ask < at) and at < last for at in edited(f))
