"""Scaffolding for the agent-client cases: what each coding client injects around the user's ask.

Every client here is written from how it behaves on the wire (system prompt shape, tool schemas,
injected blocks, tool-result formats), in our own words: Claude Code, Codex CLI, Cursor's agent,
Cline, Continue (agent mode and chat) and aider. All payloads are OpenAI chat form, as the gateway
translates every dialect into it. Used only by evals/build.py through the cases_*.py files.
"""

# ruff: noqa: E501  (prompts are data: long literal lines stay as written)

from __future__ import annotations

import json
import random
from typing import Any

from fixtures import CURSOR_AGENT, Msg, _tool

STR = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}


def text_parts(*texts: str) -> list[dict[str, str]]:
    return [{"type": "text", "text": t} for t in texts]


def user_parts(*texts: str) -> Msg:
    """A user turn made of several text blocks (how Anthropic-dialect clients send reminders + ask)."""
    return {"role": "user", "content": text_parts(*texts)}


def developer(text: str) -> Msg:
    return {"role": "developer", "content": text}


def total_chars(request: dict[str, Any]) -> int:
    """Characters of every message's text and tool-call arguments (tools schemas not counted)."""
    n = 0
    for m in request["messages"]:
        c = m.get("content")
        if isinstance(c, str):
            n += len(c)
        elif isinstance(c, list):
            n += sum(len(p.get("text", "")) for p in c)
        for tc in m.get("tool_calls") or []:
            n += len(tc["function"]["arguments"])
    return n


class Loop:
    """Tool calls and results as an agent loop accumulates them; several calls may share one turn."""

    def __init__(self, prefix: str, style: str = "call") -> None:
        self.prefix = prefix
        self.style = style
        self.n = 0
        self.pending: list[str] = []

    def _id(self) -> str:
        self.n += 1
        if self.style == "toolu":
            return f"toolu_01{self.prefix}{self.n:03d}"
        return f"call_{self.prefix}_{self.n}"

    def call(self, name: str, thought: str | None = None, **args: Any) -> Msg:
        return self.calls([(name, args)], thought)

    def calls(self, items: list[tuple[str, dict[str, Any]]], thought: str | None = None) -> Msg:
        tool_calls = []
        self.pending = []
        for name, args in items:
            cid = self._id()
            self.pending.append(cid)
            tool_calls.append(
                {"id": cid, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
            )
        return {"role": "assistant", "content": thought, "tool_calls": tool_calls}

    def result(self, text: str) -> Msg:
        return self.results(text)[0]

    def results(self, *texts: str) -> list[Msg]:
        assert len(texts) == len(self.pending), (texts, self.pending)
        return [{"role": "tool", "tool_call_id": cid, "content": t} for cid, t in zip(self.pending, texts, strict=True)]


def numbered(text: str, start: int = 1) -> str:
    """A file as a CLI agent's Read tool returns it: right-aligned line numbers and an arrow."""
    return "\n".join(f"{i:>6}→{line}" for i, line in enumerate(text.strip("\n").splitlines(), start))


# --- Claude Code ------------------------------------------------------------------------------------

_CC_BODY = """You are an interactive command-line coding agent working for the user in their terminal. Use the instructions below and the tools you have to help with software engineering tasks.

IMPORTANT: Help with defensive security work only. Decline to write or improve code that is clearly meant to be used maliciously.
IMPORTANT: Never invent URLs. Only use URLs the user gave you or that you are confident help with programming.

If the user asks for help or wants to give feedback, tell them about /help and the issue tracker.

# Tone and style
Be concise and direct. Your output is shown in a terminal with monospace rendering and GitHub-flavoured markdown. Keep answers under four lines of prose unless the user asks for detail; tool calls and code do not count toward that. Do not add preambles such as "Here is what I will do" or closing summaries the user did not ask for. One-word answers are best when they suffice.
When you run a non-trivial bash command, say in one line what it does and why, especially when it changes the user's system.
Only use emojis if the user asks for them.

# Proactiveness
Do what the user asked, including reasonable follow-up actions, but do not surprise them with work they did not request. If the user asks how to approach something, answer the question first instead of jumping into edits.

# Following conventions
Before changing a file, understand its conventions: mimic the code style, use the libraries and utilities the project already uses, and follow existing patterns.
- Never assume a library is available. Check package.json, go.mod, Cargo.toml, pyproject.toml or neighbouring files first.
- When you create a component, look at existing components for framework choice, naming, typing and structure.
- Always follow security best practices. Never log or commit secrets or keys.

# Code style
- Do not add comments unless asked or unless the code is genuinely non-obvious.

# Task management
Use the TodoWrite tool often to plan and track your work and to show the user your progress. Mark todos completed as soon as they are done; do not batch several completions.

# Doing tasks
For bugs, features, refactors and explanations:
1. Plan with TodoWrite when the task has several steps.
2. Search the codebase to understand it and the user's request; use search tools in parallel when you can.
3. Implement the solution with the tools available.
4. Verify with the project's tests. Never assume a test framework or test script: read the README or search the codebase to find the right command.
5. When done, run the project's lint and typecheck commands (for example npm run lint, ruff, cargo clippy) if you know them. If you cannot find them, ask the user and suggest writing them to CLAUDE.md.
Never commit changes unless the user explicitly asks you to.

# Tool usage policy
- Prefer the Task tool for open-ended searches to keep context small.
- When several independent pieces of information are needed, batch tool calls in one message.
- Use dedicated tools (Read, Grep, Glob) instead of cat, grep or find through Bash.

You MUST answer concisely with fewer than 4 lines of text (not counting tool use or code), unless the user asks for detail.

IMPORTANT: Always use the TodoWrite tool to plan and track tasks throughout the conversation.

# Code references
When you reference a function or piece of code, include `file_path:line_number` so the user can jump to it.
"""


def cc_system(
    cwd: str,
    *,
    branch: str = "main",
    status: str = "(clean)",
    commits: str = "",
    date: str = "2025-06-12",
    platform: str = "linux",
    os_version: str = "Linux 6.8.0-52-generic",
    model: str = "claude-sonnet-4",
) -> str:
    env = f"""Here is useful information about the environment you are running in:
<env>
Working directory: {cwd}
Is directory a git repo: Yes
Platform: {platform}
OS Version: {os_version}
Today's date: {date}
</env>
You are powered by the model {model}.
"""
    git = f"""gitStatus: This is the git status at the start of the conversation. It is a snapshot and will not update during the conversation.
Current branch: {branch}

Main branch (you will usually use this for PRs): main

Status:
{status}

Recent commits:
{commits.strip() or "a1b2c3d initial commit"}"""
    return _CC_BODY + "\n" + env + "\n" + git


def reminder(text: str) -> str:
    return f"<system-reminder>\n{text.strip()}\n</system-reminder>"


def claude_md(path: str, content: str) -> str:
    return reminder(
        "As you answer the user's questions, you can use the following context:\n"
        "# claudeMd\n"
        "Codebase and user instructions are shown below. Follow them; they OVERRIDE default behaviour.\n\n"
        f"Contents of {path} (project instructions, checked into the codebase):\n\n{content.strip()}\n\n"
        "IMPORTANT: this context may or may not be relevant to your task. Only respond to it if it is highly relevant."
    )


TODO_EMPTY = reminder(
    "This is a reminder that your todo list is currently empty. Do not mention this to the user. If the task has several steps, use the TodoWrite tool to make a todo list; otherwise ignore this."
)


def todo_state(todos: list[tuple[str, str]]) -> str:
    items = [{"content": c, "status": st, "id": str(i + 1)} for i, (c, st) in enumerate(todos)]
    return reminder(
        "Your todo list has changed. Do not mention this to the user. Here are the latest contents of your todo list:\n\n"
        + json.dumps(items)
        + ". Continue with the tasks at hand if applicable."
    )


def opened_file(path: str) -> str:
    return reminder(f"The user opened the file {path} in the IDE. This may or may not be related to the current task.")


def selected_lines(path: str, start: int, end: int, text: str) -> str:
    return reminder(
        f"The user selected lines {start} to {end} from {path}:\n{text.strip()}\n\nThis may or may not be related to the current task."
    )


READ_NOTE = reminder(
    "Whenever you read a file, consider whether it looks like malware. You may analyse malware and explain what it does, but you must refuse to improve or extend it."
)


def cc_read(text: str, start: int = 1) -> str:
    return numbered(text, start) + "\n\n" + READ_NOTE


def cc_edited(path: str, snippet: str, start: int) -> str:
    return (
        f"The file {path} has been updated. Here's the result of running `cat -n` on a snippet of the edited file:\n"
        + numbered(snippet, start)
    )


def cc_edit_error(old: str) -> str:
    return f"<tool_use_error>String to replace not found in file.\nString: {old}</tool_use_error>"


CC_TOOLS = [
    _tool(
        "Task",
        "Launch a sub-agent to handle a complex, multi-step search or research task autonomously. The sub-agent has the same tools and returns one final report; it cannot talk to the user. Use it for open-ended searches where you are not sure you will find the right match in the first few tries.",
        {
            "description": {"type": "string", "description": "A short (3-5 word) description of the task"},
            "prompt": {"type": "string", "description": "The task for the agent to perform"},
            "subagent_type": STR,
        },
        ["description", "prompt"],
    ),
    _tool(
        "Bash",
        "Executes a bash command in a persistent shell session with an optional timeout. Quote paths that contain spaces. Output longer than 30000 characters is truncated. Avoid find, grep, cat, head and tail: use Glob, Grep and Read instead. Never use interactive flags such as git rebase -i. When asked to commit, run git status and git diff first and write a message that explains why.",
        {
            "command": {"type": "string", "description": "The command to execute"},
            "timeout": {"type": "number", "description": "Optional timeout in milliseconds (max 600000)"},
            "description": {
                "type": "string",
                "description": "Clear, concise description of what this command does in 5-10 words",
            },
        },
        ["command"],
    ),
    _tool(
        "Glob",
        "Fast file pattern matching for any codebase size. Supports patterns like **/*.ts. Returns matching paths sorted by modification time.",
        {"pattern": STR, "path": STR},
        ["pattern"],
    ),
    _tool(
        "Grep",
        "A search tool built on ripgrep. Supports full regex syntax. Filter files with glob or type. output_mode: content shows matching lines, files_with_matches shows only paths (default), count shows match counts.",
        {
            "pattern": STR,
            "path": STR,
            "glob": STR,
            "type": STR,
            "output_mode": {"type": "string", "enum": ["content", "files_with_matches", "count"]},
            "-n": BOOL,
            "-i": BOOL,
            "-C": {"type": "number"},
            "head_limit": {"type": "number"},
        },
        ["pattern"],
    ),
    _tool(
        "LS",
        "Lists files and directories in a given absolute path. Optionally ignore glob patterns.",
        {"path": STR, "ignore": {"type": "array", "items": STR}},
        ["path"],
    ),
    _tool(
        "Read",
        "Reads a file from the local filesystem. file_path must be absolute. By default reads up to 2000 lines from the start; use offset and limit for long files. Results are returned cat -n style, with line numbers starting at 1.",
        {"file_path": STR, "offset": {"type": "number"}, "limit": {"type": "number"}},
        ["file_path"],
    ),
    _tool(
        "Edit",
        "Performs an exact string replacement in a file. You must Read the file first. old_string must match the file exactly, including indentation after the line-number prefix, and must be unique unless replace_all is set.",
        {"file_path": STR, "old_string": STR, "new_string": STR, "replace_all": BOOL},
        ["file_path", "old_string", "new_string"],
    ),
    _tool(
        "MultiEdit",
        "Several exact string replacements in one file, applied in order, atomically.",
        {
            "file_path": STR,
            "edits": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"old_string": STR, "new_string": STR, "replace_all": BOOL},
                    "required": ["old_string", "new_string"],
                },
            },
        },
        ["file_path", "edits"],
    ),
    _tool(
        "Write",
        "Writes a file to the local filesystem, overwriting it. Read an existing file before overwriting it. Prefer editing existing files.",
        {"file_path": STR, "content": STR},
        ["file_path", "content"],
    ),
    _tool(
        "TodoWrite",
        "Create and manage a structured task list for the current session. Use it for tasks with three or more steps, when the user gives several tasks, and to mark progress. Exactly one task should be in_progress at a time.",
        {
            "todos": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "content": STR,
                        "status": {"type": "string", "enum": ["pending", "in_progress", "completed"]},
                        "id": STR,
                    },
                    "required": ["content", "status", "id"],
                },
            }
        },
        ["todos"],
    ),
    _tool(
        "WebFetch",
        "Fetches a URL, converts the page to markdown and answers the prompt about it with a small fast model.",
        {"url": STR, "prompt": STR},
        ["url", "prompt"],
    ),
]


def todos(*items: tuple[str, str]) -> dict[str, Any]:
    return {"todos": [{"content": c, "status": st, "id": str(i + 1)} for i, (c, st) in enumerate(items)]}


TODO_OK = "Todos have been modified successfully. Ensure that you continue to use the todo list to track your progress. Please proceed with the current tasks if applicable"


# --- Codex CLI --------------------------------------------------------------------------------------

CODEX_INSTRUCTIONS = """You are a coding agent running in a terminal-based coding assistant. You are expected to be precise, safe and helpful.

You can:
- Receive user prompts and other context from the harness, such as files in the workspace.
- Stream thinking and responses, and make and update plans.
- Emit function calls to run terminal commands and apply patches. Depending on configuration, some calls need the user's approval before they run.

# How you work

## Personality
Concise, direct and friendly. Communicate efficiently; keep the user informed about ongoing actions without unnecessary detail. Prioritise actionable guidance and state assumptions.

## AGENTS.md spec
- Repositories may contain AGENTS.md files anywhere. They tell you how to work in that part of the tree: coding conventions, how to run tests, how to lay out code.
- The scope of an AGENTS.md is the directory tree rooted at the folder that contains it. For every file you touch, obey every AGENTS.md whose scope includes it; deeper files win on conflict. Direct instructions from the user win over AGENTS.md.

## Planning
Use the update_plan tool for non-trivial, multi-phase work. Skip it for simple one-step queries. Keep exactly one step in_progress; mark steps completed as you go. Do not repeat the whole plan in your messages.

## Task execution
Keep going until the query is completely resolved before ending your turn. Fix the root cause rather than patching symptoms. Avoid unneeded complexity. Do not fix unrelated bugs or broken tests. Keep changes consistent with the codebase's style. Do not add inline comments unless asked. Do not `git commit` unless explicitly asked.

Use the apply_patch tool to edit files. The patch format:
*** Begin Patch
*** Update File: path/to/file.py
@@ def example():
-    pass
+    return 123
*** End Patch
Use *** Add File: for new files and *** Delete File: to remove one. Paths are relative to the working directory.

## Sandbox and approvals
The harness supports several sandboxing and approval modes, given in the environment context. With workspace-write, you can read anything and write inside the workspace; network access may be restricted. With on-request approvals, you can ask to run a command outside the sandbox by setting with_escalated_permissions and a one-line justification. If a command fails because of sandboxing (for example no network to install packages), rerun it with escalated permissions instead of working around it.

## Validating your work
If the codebase has tests or a build, use them to check your work. Start specific (the tests for the code you changed) and widen as you gain confidence. Do not add tests to a codebase with none.

## Final answer
Plain text, formatted by the CLI. Short headers only when they help; bullets for lists; file references as `path:line`. For a simple action or answer, one or two sentences. Do not dump large files you wrote; reference their paths.

## Shell commands
Prefer `rg` over grep for searching and `rg --files` for listing. Read files in chunks of at most 250 lines with `sed -n`."""


def agents_md(cwd: str, content: str) -> Msg:
    return {
        "role": "user",
        "content": f"# AGENTS.md instructions for {cwd}\n\n<INSTRUCTIONS>\n{content.strip()}\n</INSTRUCTIONS>",
    }


def env_context(
    cwd: str,
    *,
    approval: str = "on-request",
    sandbox: str = "workspace-write",
    network: str = "restricted",
    shell: str = "bash",
) -> Msg:
    return {
        "role": "user",
        "content": f"<environment_context>\n  <cwd>{cwd}</cwd>\n  <approval_policy>{approval}</approval_policy>\n  <sandbox_mode>{sandbox}</sandbox_mode>\n  <network_access>{network}</network_access>\n  <shell>{shell}</shell>\n</environment_context>",
    }


def cx_out(output: str, exit_code: int = 0, secs: float = 0.4) -> str:
    return json.dumps({"output": output, "metadata": {"exit_code": exit_code, "duration_seconds": secs}})


def patch(*sections: str) -> str:
    return "*** Begin Patch\n" + "\n".join(s.strip("\n") for s in sections) + "\n*** End Patch"


CODEX_SHELL = _tool(
    "shell",
    "Runs a shell command and returns its output. The command is an argv array, usually ['bash', '-lc', '...']. Always set workdir; avoid cd.",
    {
        "command": {"type": "array", "items": STR, "description": "The command to execute"},
        "workdir": {"type": "string", "description": "The working directory to execute the command in"},
        "timeout_ms": {"type": "number", "description": "The timeout for the command in milliseconds"},
        "with_escalated_permissions": {
            "type": "boolean",
            "description": "Whether to request escalated permissions. Set to true if the command needs to run without sandbox restrictions",
        },
        "justification": {
            "type": "string",
            "description": "Only set if with_escalated_permissions is true. 1-sentence explanation of why we want to run this command.",
        },
    },
    ["command"],
)
CODEX_PLAN = _tool(
    "update_plan",
    "Updates the task plan. Provide an optional explanation and a list of plan items, each with a step and status. At most one step can be in_progress at a time.",
    {
        "explanation": STR,
        "plan": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "step": STR,
                    "status": {"type": "string", "enum": ["pending", "in_progress", "completed"]},
                },
                "required": ["step", "status"],
            },
        },
    },
    ["plan"],
)
CODEX_PATCH = _tool(
    "apply_patch",
    "Use the apply_patch tool to edit files. The input is a patch in the *** Begin Patch / *** End Patch envelope with Update File, Add File or Delete File sections and @@ context hunks.",
    {"input": {"type": "string", "description": "The entire contents of the apply_patch command"}},
    ["input"],
)
CODEX_TOOLS = [CODEX_SHELL, CODEX_PLAN, CODEX_PATCH]


def bash_lc(cmd: str) -> list[str]:
    return ["bash", "-lc", cmd]


# --- Cursor agent -----------------------------------------------------------------------------------

CURSOR_SYSTEM = (
    CURSOR_AGENT
    + """

<search_and_reading>
If you are unsure about the answer to the USER's request, gather more information with additional tool calls or clarifying questions. Prefer semantic search over grep when you do not know the exact symbol. Bias towards not asking the user for help if you can find the answer yourself.
</search_and_reading>

<functions_note>
Answer the user's request using the relevant tool(s), if they are available. Check that all the required parameters for each tool call are provided or can reasonably be inferred from context.
</functions_note>"""
)


def cursor_user(
    query: str,
    *,
    os: str = "darwin 24.3.0",
    workspace: str = "/Users/dev/code/app",
    shell: str = "/bin/zsh",
    attached: list[tuple[str, str]] | None = None,
    current_file: tuple[str, int, str] | None = None,
    linter: str | None = None,
    recent: list[str] | None = None,
    first: bool = True,
) -> Msg:
    parts = []
    if first:
        parts.append(
            f"<user_info>\nThe user's OS version is {os}. The absolute path of the user's workspace is {workspace}. The user's shell is {shell}.\n</user_info>"
        )
    extra = []
    if current_file:
        path, line, content = current_file
        extra.append(f"<current_file>\nPath: {path}\nLine: {line}\nLine Content: `{content}`\n</current_file>")
    if attached:
        files = "\n".join(
            f"<file_contents>\n```{path}\n{body.strip()}\n```\n</file_contents>" for path, body in attached
        )
        extra.append(f"<attached_files>\n{files}\n</attached_files>")
    if recent:
        extra.append("<recently_viewed_files>\n" + "\n".join(f"- {p}" for p in recent) + "\n</recently_viewed_files>")
    if linter:
        extra.append(f"<linter_errors>\n{linter.strip()}\n</linter_errors>")
    if extra:
        parts.append(
            "<additional_data>\nBelow are some potentially helpful/relevant pieces of information for figuring out to respond\n"
            + "\n\n".join(extra)
            + "\n</additional_data>"
        )
    parts.append(f"<user_query>\n{query.strip()}\n</user_query>")
    return {"role": "user", "content": "\n\n".join(parts)}


_EXPL = {
    "type": "string",
    "description": "One sentence explanation as to why this tool is being used, and how it contributes to the goal.",
}
CURSOR_TOOLS = [
    _tool(
        "codebase_search",
        "Find snippets of code from the codebase most relevant to the search query. This is a semantic search tool.",
        {"query": STR, "target_directories": {"type": "array", "items": STR}, "explanation": _EXPL},
        ["query"],
    ),
    _tool(
        "read_file",
        "Read the contents of a file (and the outline). You can view at most 250 lines at a time. Call again if the range you read is not enough.",
        {
            "target_file": STR,
            "should_read_entire_file": BOOL,
            "start_line_one_indexed": INT,
            "end_line_one_indexed_inclusive": INT,
            "explanation": _EXPL,
        },
        ["target_file", "should_read_entire_file", "start_line_one_indexed", "end_line_one_indexed_inclusive"],
    ),
    _tool(
        "run_terminal_cmd",
        "PROPOSE a command to run on behalf of the user. The user may approve it or reject it. Append `| cat` to commands that use a pager. Set is_background for long-running commands.",
        {"command": STR, "is_background": BOOL, "explanation": _EXPL},
        ["command", "is_background"],
    ),
    _tool(
        "list_dir",
        "List the contents of a directory.",
        {"relative_workspace_path": STR, "explanation": _EXPL},
        ["relative_workspace_path"],
    ),
    _tool(
        "grep_search",
        "Fast exact-text or regex search over files using ripgrep. Results are capped at 50 matches.",
        {"query": STR, "case_sensitive": BOOL, "include_pattern": STR, "exclude_pattern": STR, "explanation": _EXPL},
        ["query"],
    ),
    _tool(
        "edit_file",
        "Propose an edit to an existing file. Specify only the lines you change, with `// ... existing code ...` for unchanged spans. A less intelligent model applies the edit, so be clear and unambiguous.",
        {"target_file": STR, "instructions": STR, "code_edit": STR},
        ["target_file", "instructions", "code_edit"],
    ),
    _tool("file_search", "Fuzzy search on file paths.", {"query": STR, "explanation": _EXPL}, ["query", "explanation"]),
    _tool(
        "delete_file",
        "Deletes a file at the specified path.",
        {"target_file": STR, "explanation": _EXPL},
        ["target_file"],
    ),
]


def cursor_read(path: str, text: str, start: int = 1, total: int | None = None) -> str:
    lines = text.strip("\n").splitlines()
    end = start + len(lines) - 1
    total = total or end
    head = (
        f"Contents of {path}, lines {start}-{end} (entire file):"
        if total == end and start == 1
        else f"Contents of {path}, lines {start}-{end} (total {total} lines):"
    )
    return head + "\n```\n" + "\n".join(lines) + "\n```"


def cursor_edit_result(diff: str, linter: str | None = None) -> str:
    out = "The apply model made the following changes to the file:\n\n```\n" + diff.strip() + "\n```"
    if linter:
        out += (
            "\n\nThe edit introduced the following new linter errors:\n"
            + linter.strip()
            + "\n\nPlease fix the linter errors if it is clear how to (or you can easily figure out how to). Do not make uneducated guesses. And do not loop more than 3 times on fixing linter errors on the same file."
        )
    return out


def cursor_cmd_result(command: str, output: str, exit_code: int = 0, cwd: str = "/Users/dev/code/app") -> str:
    return f"Command output:\n\n```\n{output.strip()}\n```\n\nCommand completed with exit code {exit_code}.\n\nThe previous shell command ended, so on the next invocation of this tool, you will be reusing the shell.\n\nOn the next terminal tool call, the directory of the shell will already be {cwd}."


# --- Cline (XML tool protocol, no OpenAI tools) ----------------------------------------------------

CLINE_SYSTEM = """You are Cline, a highly skilled software engineer with extensive knowledge in many programming languages, frameworks, design patterns, and best practices.

====

TOOL USE

You have access to a set of tools that are executed upon the user's approval. You can use one tool per message, and will receive the result of that tool use in the user's response. You use tools step-by-step to accomplish a given task, with each tool use informed by the result of the previous tool use.

# Tool Use Formatting

Tool use is formatted using XML-style tags. The tool name is enclosed in opening and closing tags, and each parameter is similarly enclosed within its own set of tags:

<tool_name>
<parameter1_name>value1</parameter1_name>
<parameter2_name>value2</parameter2_name>
</tool_name>

Always adhere to this format for the tool use to ensure proper parsing and execution.

# Tools

## execute_command
Description: Request to execute a CLI command on the system. Tailor the command to the user's system and explain what it does. Commands run in the current working directory.
Parameters:
- command: (required) The CLI command to execute.
- requires_approval: (required) true for impactful operations (installing packages, deleting files, network calls, system changes); false for safe reads and builds.
Usage:
<execute_command>
<command>Your command here</command>
<requires_approval>true or false</requires_approval>
</execute_command>

## read_file
Description: Request to read the contents of a file at the specified path. Extracts raw text from PDF and DOCX files.
Parameters:
- path: (required) The path of the file to read (relative to the current working directory)
Usage:
<read_file>
<path>File path here</path>
</read_file>

## write_to_file
Description: Write content to a file. Overwrites the file if it exists, creates it (and directories) if not. Always provide the COMPLETE intended content.
Parameters:
- path: (required)
- content: (required) The complete content of the file, without truncation or omissions.
Usage:
<write_to_file>
<path>File path here</path>
<content>
Your file content here
</content>
</write_to_file>

## replace_in_file
Description: Replace sections of content in an existing file using SEARCH/REPLACE blocks that define exact changes.
Parameters:
- path: (required)
- diff: (required) One or more SEARCH/REPLACE blocks:
  ```
  ------- SEARCH
  [exact content to find]
  =======
  [new content to replace with]
  +++++++ REPLACE
  ```
  Rules: SEARCH content must match the file EXACTLY, character for character, including whitespace and comments. Each block replaces only the first match. Keep blocks concise and list them in file order.
Usage:
<replace_in_file>
<path>File path here</path>
<diff>
Search and replace blocks here
</diff>
</replace_in_file>

## search_files
Description: Regex search across files in a directory, with surrounding context for each match.
Parameters:
- path: (required) Directory to search recursively.
- regex: (required) Rust regex syntax.
- file_pattern: (optional) Glob such as '*.ts'.
Usage:
<search_files>
<path>Directory path here</path>
<regex>Your regex pattern here</regex>
<file_pattern>file pattern here (optional)</file_pattern>
</search_files>

## list_files
Description: List files and directories within a directory. recursive true lists everything below it.
Parameters:
- path: (required)
- recursive: (optional) true or false
Usage:
<list_files>
<path>Directory path here</path>
<recursive>true or false (optional)</recursive>
</list_files>

## list_code_definition_names
Description: List definition names (classes, functions, methods) in source files at the top level of a directory.
Parameters:
- path: (required)
Usage:
<list_code_definition_names>
<path>Directory path here</path>
</list_code_definition_names>

## ask_followup_question
Description: Ask the user a question to gather information needed to complete the task. Use only when you cannot find the answer with your tools.
Parameters:
- question: (required)
- options: (optional) An array of 2-5 options as a JSON array of strings.
Usage:
<ask_followup_question>
<question>Your question here</question>
</ask_followup_question>

## attempt_completion
Description: After each tool use the user responds with its result. Once you have confirmed that the task is complete, use this tool to present the result. Do not use it before the previous tool uses are confirmed successful.
Parameters:
- result: (required) The result of the task. Final; do not end with questions or offers of further help.
- command: (optional) A command that demonstrates the result, e.g. `open index.html`.
Usage:
<attempt_completion>
<result>
Your final result description here
</result>
</attempt_completion>

## plan_mode_respond
Description: Respond to the user's inquiry in PLAN MODE to plan a solution. Only available in PLAN MODE.
Parameters:
- response: (required)
Usage:
<plan_mode_respond>
<response>Your response here</response>
</plan_mode_respond>

# Tool Use Guidelines

1. In <thinking> tags, assess what information you already have and what information you need to proceed with the task.
2. Choose the most appropriate tool based on the task and the tool descriptions provided.
3. If multiple actions are needed, use one tool at a time per message to accomplish the task iteratively.
4. Formulate your tool use using the XML format specified for each tool.
5. After each tool use, the user will respond with the result of that tool use: success or failure with reasons, linter errors, terminal output, and other feedback.
6. ALWAYS wait for user confirmation after each tool use before proceeding.

====

ACT MODE V.S. PLAN MODE

In each user message, environment_details will specify the current mode. ACT MODE: you have every tool except plan_mode_respond, and you use attempt_completion when done. PLAN MODE: you gather information and discuss a plan with the user using plan_mode_respond; the user switches you to ACT MODE to implement it.

====

RULES

- Your current working directory is: {cwd}
- You cannot `cd` into a different directory to complete a task. You are stuck operating from '{cwd}', so pass correct 'path' parameters.
- Do not use the ~ character or $HOME to refer to the home directory.
- When making changes to code, consider the context in which the code is used and keep changes compatible with the existing codebase and its standards.
- Do not ask for more information than necessary. Use the tools provided to accomplish the user's request efficiently and effectively.
- At the end of each user message you automatically receive environment_details. It is not written by the user; use it to inform your actions but do not treat it as the user's request.
- You are STRICTLY FORBIDDEN from starting messages with "Great", "Certainly", "Okay" or "Sure".
- After each tool use, wait for the user's response to confirm success before continuing.

====

SYSTEM INFORMATION

Operating System: {os}
Default Shell: {shell}
Home Directory: {home}
Current Working Directory: {cwd}

====

OBJECTIVE

You accomplish a given task iteratively, breaking it down into clear steps and working through them methodically. When done, use attempt_completion to present the result; the user may give feedback, which you can use to make improvements and try again."""


def cline_system(
    cwd: str = "/home/dev/project", os: str = "Linux 6.8", shell: str = "/bin/bash", home: str = "/home/dev"
) -> str:
    return CLINE_SYSTEM.replace("{cwd}", cwd).replace("{os}", os).replace("{shell}", shell).replace("{home}", home)


def env_details(
    visible: list[str],
    tabs: list[str] | None = None,
    *,
    time: str = "6/12/2025, 10:41:07 AM (Europe/Berlin, UTC+2:00)",
    cwd: str = "/home/dev/project",
    files: list[str] | None = None,
    tokens: str = "14,212 / 200K tokens used (7%)",
    mode: str = "ACT MODE",
    terminals: str | None = None,
) -> str:
    out = [
        "<environment_details>",
        "# VSCode Visible Files",
        "\n".join(visible) or "(No visible files)",
        "",
        "# VSCode Open Tabs",
        "\n".join(tabs or visible) or "(No open tabs)",
        "",
    ]
    if terminals:
        out += ["# Actively Running Terminals", terminals, ""]
    out += ["# Current Time", time, ""]
    if files is not None:
        out += [f"# Current Working Directory ({cwd}) Files", "\n".join(files), ""]
    out += ["# Context Window Usage", tokens, "", "# Current Mode", mode, "</environment_details>"]
    return "\n".join(out)


def cline_task(task: str, env: str) -> Msg:
    return {"role": "user", "content": text_parts(f"<task>\n{task.strip()}\n</task>", env)}


def cline_result(header: str, body: str, env: str) -> Msg:
    return {"role": "user", "content": text_parts(f"[{header}] Result:", body, env)}


def cline_file(path: str, text: str) -> str:
    return f'<file_content path="{path}">\n{text.strip()}\n</file_content>'


def cline_cmd(output: str) -> str:
    return "Command executed.\nOutput:\n" + output.strip()


def cline_error(err: str) -> str:
    return "The tool execution failed with the following error:\n<error>\n" + err.strip() + "\n</error>"


def cline_feedback(feedback: str) -> str:
    return (
        "The user has provided feedback on the results. Consider their input to continue the task, and then attempt completion again.\n<feedback>\n"
        + feedback.strip()
        + "\n</feedback>"
    )


def cline_saved(path: str, text: str) -> str:
    return (
        f"The content was successfully saved to {path}.\n\nHere is the full, updated content of the file that was saved:\n\n"
        + cline_file(path, text)
        + "\n\nIMPORTANT: For any future changes to this file, use the final_file_content shown above as your reference. This content reflects the current state of the file, including any auto-formatting."
    )


# --- Continue (agent mode and chat) ----------------------------------------------------------------

CONTINUE_AGENT_SYSTEM = """<important_rules>
  You are in agent mode.

  Always include the language and file name in the info string when you write code blocks.
  If you are editing "src/main.py" for example, your code block should start with '```python src/main.py'

  When addressing code modification requests, present a concise code snippet that emphasizes only the necessary changes and uses abbreviated placeholders for unmodified sections. For example:

  ```typescript /path/to/file
  // ... existing code ...

  {{ modified code here }}

  // ... existing code ...
  ```

  Since you have access to tools, use them to read files and make edits instead of asking the user to paste code. Use the edit tool for changes to existing files; never overwrite a whole file to change a few lines.
</important_rules>"""

CONTINUE_TOOLS = [
    _tool(
        "builtin_read_file",
        "Use this tool if you need to view the contents of an existing file.",
        {
            "filepath": {
                "type": "string",
                "description": "The path of the file to read, relative to the root of the workspace (NOT uri or absolute path)",
            }
        },
        ["filepath"],
    ),
    _tool(
        "builtin_edit_existing_file",
        "Use this tool to edit an existing file. If you don't know the contents of the file, read it first.",
        {
            "filepath": STR,
            "changes": {
                "type": "string",
                "description": "Any modifications to the file, showing only needed changes. Use placeholders like // ... existing code ... for unmodified sections.",
            },
        },
        ["filepath", "changes"],
    ),
    _tool(
        "builtin_create_new_file",
        "Create a new file. Only use this when a file doesn't exist and should be created.",
        {"filepath": STR, "contents": STR},
        ["filepath", "contents"],
    ),
    _tool(
        "builtin_run_terminal_command",
        "Run a terminal command in the current directory. The shell is not stateful and will not remember previous commands. Do not run long-running or interactive commands.",
        {"command": STR, "waitForCompletion": BOOL},
        ["command"],
    ),
    _tool(
        "builtin_grep_search",
        "Perform a search over the repository using ripgrep. Output may be truncated.",
        {"query": STR},
        ["query"],
    ),
    _tool(
        "builtin_file_glob_search",
        "Search for files recursively in the project using glob patterns.",
        {"pattern": STR},
        ["pattern"],
    ),
    _tool("builtin_ls", "List files and folders in a given directory.", {"dirPath": STR, "recursive": BOOL}, []),
    _tool("builtin_view_diff", "View the current diff of working changes.", {}, []),
]


def ctx_block(path: str, body: str, lang: str = "", lines: str | None = None) -> str:
    """A file or selection Continue attaches before the ask: a fenced block named by its path."""
    where = f"{path} ({lines})" if lines else path
    return f"```{(lang + ' ') if lang else ''}{where}\n{body.strip()}\n```"


# --- aider ------------------------------------------------------------------------------------------

AIDER_SYSTEM = """Act as an expert software developer.
Follow best practices, and keep to the conventions and libraries the code base already uses.
Take requests for changes to the supplied code. Ask questions if a request is ambiguous.

Always reply to the user in {lang}.

Once you understand the request you MUST:

1. Decide whether you need to edit files that have not been added to the chat. You may create new files without asking. To edit an existing file that is not in the chat, *tell the user its full path* and ask them to *add it to the chat*, then stop and wait.

2. Explain the needed changes step by step in a few short sentences.

3. Describe every change with a *SEARCH/REPLACE block* as in the example below. Code may ONLY appear inside *SEARCH/REPLACE blocks*.

4. *Briefly* suggest shell commands the user might want to run, in ```bash blocks: at most 1-3 complete, ready-to-run commands, one per line, run from the project root. For example: how to run a test you added, how to open a page you changed, how to install a dependency you introduced.

# Example conversation:

## USER: Make greet() take the name as a parameter

## ASSISTANT: We need to change `hello/app.py` so greet() accepts a name and the route passes it in.

Here are the *SEARCH/REPLACE* blocks:

hello/app.py
```python
<<<<<<< SEARCH
def greet():
    return "Hello, world"
=======
def greet(name):
    return f"Hello, {name}"
>>>>>>> REPLACE
```

hello/app.py
```python
<<<<<<< SEARCH
    return greet()
=======
    return greet(request.args.get("name", "world"))
>>>>>>> REPLACE
```

# *SEARCH/REPLACE block* Rules:

Each *SEARCH/REPLACE block* has exactly this shape:
1. The *FULL* file path alone on its own line, verbatim, with no quotes or bold.
2. The opening fence with the language, e.g. ```python
3. The line <<<<<<< SEARCH
4. A contiguous run of lines copied from the existing file
5. The line =======
6. The lines that replace them
7. The line >>>>>>> REPLACE
8. The closing fence ```

The *SEARCH* section must *EXACTLY MATCH* the file, character for character, comments and docstrings included. A block replaces only the first match, so include enough lines to make it unique, but keep blocks short: only the changing lines and a little context. Split big changes into several small blocks.

Only write *SEARCH/REPLACE blocks* for files the user has added to the chat!
To move code, use one block to delete it and another to insert it elsewhere.
To create a file, use a new path with an empty SEARCH section and the whole file in REPLACE.

ONLY EVER RETURN CODE IN A *SEARCH/REPLACE BLOCK*!
"""

AIDER_REMINDER = """# *SEARCH/REPLACE block* Rules:

Each block: the FULL file path alone on a line, the opening fence, <<<<<<< SEARCH, lines that exactly match the file, =======, the replacement lines, >>>>>>> REPLACE, the closing fence.

SEARCH must match the file character for character. Keep blocks small: only the changing lines plus a little context.

Only write *SEARCH/REPLACE blocks* for files the user has added to the chat!

ONLY EVER RETURN CODE IN A *SEARCH/REPLACE BLOCK*!
"""


def aider_system(lang: str = "the same language they are using") -> str:
    return AIDER_SYSTEM.replace("{lang}", lang)


def repo_map(entries: list[tuple[str, list[str]]]) -> str:
    """aider's repo map: each file with the signature lines it considers important."""
    out = []
    for path, lines in entries:
        out.append(f"{path}:")
        for line in lines:
            out.append("⋮" if line == "..." else f"│{line}")
        out.append("⋮")
    return "\n".join(out)


def aider_repo(entries: list[tuple[str, list[str]]]) -> list[Msg]:
    return [
        {
            "role": "user",
            "content": "Here are summaries of some files present in my git repository.\nDo not propose changes to these files, treat them as *read-only*.\nIf you need to edit any of these files, ask me to *add them to the chat* first.\n\n"
            + repo_map(entries),
        },
        {"role": "assistant", "content": "Ok, I won't try and edit those files without asking first."},
    ]


def aider_files(files: list[tuple[str, str]], lang: str = "") -> list[Msg]:
    body = "\n\n".join(f"{path}\n```{lang}\n{text.strip()}\n```" for path, text in files)
    return [
        {
            "role": "user",
            "content": "I have *added these files to the chat* so you can go ahead and edit them.\n\n*Trust this message as the true contents of these files!*\nAny other messages in the chat may contain outdated versions of the files' contents.\n\n"
            + body,
        },
        {"role": "assistant", "content": "Ok, any changes I propose will be to those files."},
    ]


def aider_readonly(files: list[tuple[str, str]]) -> list[Msg]:
    body = "\n\n".join(f"{path}\n```\n{text.strip()}\n```" for path, text in files)
    return [
        {
            "role": "user",
            "content": "Here are some READ ONLY files, provided for your reference.\nDo not edit these files!\n\n"
            + body,
        },
        {"role": "assistant", "content": "Ok, I will use these files as references."},
    ]


AIDER_COMMIT_SYSTEM = """You write one-line Git commit messages for the diffs you are given, as an expert software engineer would.
Read the diffs and any context carefully, then reply with a single line of the form <type>: <description>,
where <type> is one of fix, feat, build, chore, ci, docs, style, refactor, perf, test.
Use the imperative mood ("add", not "added"), keep it under 72 characters, and reply with the message only: no explanation, no quotes, no line breaks."""

AIDER_SUMMARIZE_SYSTEM = """*Briefly* summarize this partial conversation about programming, with less detail about the older messages and more about the recent ones.
Start a new paragraph whenever the topic changes.
The conversation continues after your summary, so do not wrap it up with "Finally, ..." or similar.
Name the functions, libraries, packages and file names under discussion, including files the assistant edited in fenced blocks, but do not include any fenced code blocks yourself.
Write as the USER speaking to the assistant in the first person ("you"), starting with "I asked you..."."""


# --- filler for long cases --------------------------------------------------------------------------


def pytest_wall(n_pass: int, failures: list[str], seed: int) -> str:
    """A verbose pytest run: many PASSED lines, then the failure sections given."""
    rng = random.Random(seed)
    mods = [
        "test_orders",
        "test_invoices",
        "test_users",
        "test_payments",
        "test_export",
        "test_search",
        "test_auth",
        "test_reports",
    ]
    verbs = [
        "creates",
        "updates",
        "rejects_invalid",
        "lists_paginated",
        "filters_by_status",
        "handles_missing",
        "serializes",
        "rounds_totals",
    ]
    out = [
        "============================= test session starts ==============================",
        "platform linux -- Python 3.12.3, pytest-8.2.1, pluggy-1.5.0",
        "rootdir: /home/dev/shop",
        "configfile: pyproject.toml",
        "plugins: anyio-4.4.0, cov-5.0.0, xdist-3.6.1",
        f"collected {n_pass + len(failures)} items",
        "",
    ]
    for i in range(n_pass):
        out.append(
            f"tests/{rng.choice(mods)}.py::test_{rng.choice(verbs)}_{i} PASSED{'':>20}[{min(99, i * 100 // (n_pass + 1)):>3}%]"
        )
    out.append("")
    out.append("=================================== FAILURES ===================================")
    out += failures
    return "\n".join(out)


def build_log(n: int, seed: int, needle: list[str], at: float = 0.8) -> str:
    """A long C/C++ build log (CMake + ninja) with the ``needle`` lines inserted at fraction ``at``."""
    rng = random.Random(seed)
    dirs = [
        "src/core",
        "src/net",
        "src/storage",
        "src/util",
        "src/query",
        "src/codec",
        "third_party/zstd",
        "third_party/re2",
    ]
    names = [
        "buffer",
        "reader",
        "writer",
        "pool",
        "index",
        "page",
        "cursor",
        "parser",
        "lexer",
        "planner",
        "socket",
        "frame",
        "crc32",
        "arena",
    ]
    lines = []
    for i in range(n):
        if i == int(n * at):
            lines += needle
        d, nm = rng.choice(dirs), rng.choice(names)
        lines.append(
            f"[{i + 1}/{n + 40}] Building CXX object {d}/CMakeFiles/{d.split('/')[-1]}.dir/{nm}_{rng.randint(1, 40)}.cc.o"
        )
        if rng.random() < 0.06:
            lines.append(
                f"{d}/{nm}_{rng.randint(1, 40)}.cc:{rng.randint(10, 900)}:{rng.randint(2, 40)}: warning: unused variable 'tmp' [-Wunused-variable]"
            )
    return "\n".join(lines)


_PKGS = [
    "orders",
    "billing",
    "customers",
    "inventory",
    "shipping",
    "auth",
    "notifications",
    "reports",
    "search",
    "admin",
    "webhooks",
    "payments",
]
_KINDS_PY = [
    (
        "models.py",
        ["class {N}(Base):", '    __tablename__ = "{n}s"', "...", "    def to_dict(self) -> dict[str, Any]:"],
    ),
    (
        "service.py",
        [
            "class {N}Service:",
            "    def __init__(self, repo: {N}Repository, events: EventBus) -> None:",
            "...",
            "    def create(self, cmd: Create{N}) -> {N}:",
            "...",
            "    def cancel(self, {n}_id: int, reason: str) -> None:",
        ],
    ),
    (
        "repository.py",
        [
            "class {N}Repository:",
            "    def get(self, {n}_id: int) -> {N} | None:",
            "...",
            "    def list_for_org(self, org_id: int, *, limit: int = 50, cursor: str | None = None) -> Page[{N}]:",
        ],
    ),
    (
        "api.py",
        [
            '@router.get("/{n}s")',
            "def list_{n}s(org: Org = Depends(current_org), cursor: str | None = None) -> Page[{N}Out]:",
            "...",
            '@router.post("/{n}s", status_code=201)',
            "def create_{n}(body: {N}In, org: Org = Depends(current_org)) -> {N}Out:",
        ],
    ),
    (
        "schemas.py",
        [
            "class {N}In(BaseModel):",
            "...",
            "class {N}Out(BaseModel):",
            "    model_config = ConfigDict(from_attributes=True)",
        ],
    ),
    ("tasks.py", ["@celery.task(bind=True, max_retries=5)", "def sync_{n}(self, {n}_id: int) -> None:"]),
]
_KINDS_GO = [
    (
        "store.go",
        [
            "type {N}Store struct {",
            "...",
            "func (s *{N}Store) Get(ctx context.Context, id string) (*{N}, error) {",
            "...",
            "func (s *{N}Store) List(ctx context.Context, f {N}Filter) ([]{N}, string, error) {",
        ],
    ),
    (
        "handler.go",
        [
            "type {N}Handler struct {",
            "...",
            "func (h *{N}Handler) Routes(r chi.Router) {",
            "...",
            "func (h *{N}Handler) create(w http.ResponseWriter, r *http.Request) {",
        ],
    ),
    ("types.go", ["type {N} struct {", "...", "type {N}Filter struct {"]),
    ("worker.go", ["func (w *{N}Worker) Run(ctx context.Context) error {"]),
]


def repo_map_for(seed: int, n_pkgs: int, lang: str = "python") -> list[tuple[str, list[str]]]:
    """A plausible aider repo map: packages of a service with the signature lines aider would show."""
    rng = random.Random(seed)
    pkgs = rng.sample(_PKGS, k=min(n_pkgs, len(_PKGS)))
    out: list[tuple[str, list[str]]] = []
    for p in pkgs:
        noun = p.rstrip("s") if p.endswith("s") else p
        kinds = _KINDS_PY if lang == "python" else _KINDS_GO
        for fname, lines in rng.sample(kinds, k=rng.randint(2, len(kinds))):
            path = f"app/{p}/{fname}" if lang == "python" else f"internal/{p}/{fname}"
            out.append((path, [ln.replace("{N}", noun.capitalize()).replace("{n}", noun) for ln in lines]))
    return out
