"""Claude Code's, Codex's and aider's request bodies, as their own ingress decodes them: the shapes routing reads.

    loop = ClaudeCode().user(ASK).bash("pytest -q", "Exit code 1\\n...", error=True)
    loop.features()["agent.failures_in_row"]

Claude Code (2.1) sends `/v1/messages`: each user turn a list of blocks (its reminders, the person's words,
the tool results of the turn before), a failed tool's result marked ``is_error``, a Bash failure's output
opening with ``Exit code N``, a Read's as ``cat -n`` lines. Codex (0.171) sends `/v1/responses`: input
items, ``exec_command`` calls whose output opens with its header (``Exit code: N`` / ``Wall time:`` /
``Output:``, or the newer ``Chunk ID:`` / ``Process exited with code N``), and ``apply_patch`` as a custom
tool call. aider sends OpenAI chat messages: its repo map and the files in the chat come first (``aider``), or,
as its runs were captured, before the turn it sends, its notes on each edit between (``Aider``). Cline (3.x, on
an OpenAI-compatible provider) sends OpenAI chat messages with its own XML tool protocol: its task in
``<task>``, ``<environment_details>`` after each turn's text, each tool call as the assistant's XML and its
result as the next user message (``[replace_in_file for 'a.ts'] Result:``, a refused call's error wrapped in
``The tool execution failed with the following error:``).
"""

from __future__ import annotations

import json
from typing import Any

from tiergate.api.dialects import DIALECTS
from tiergate.rules.features import Features

#: aider's messages, as its coders send them on the OpenAI wire (aider/coders/base_prompts.py, prompts.py,
#: editblock_prompts.py, linter.py, editblock_coder.py): the repo map and the files in the chat first.
AIDER_SYSTEM = "Act as an expert software developer.\nAlways use best practices when coding.\n"
AIDER_CONTEXT: list[dict[str, Any]] = [
    {"role": "system", "content": AIDER_SYSTEM},
    {
        "role": "user",
        "content": "Here are summaries of some files present in my git repository.\nDo not propose changes to these "
        "files, treat them as *read-only*.\n\nsrc/mod0.py:\n⋮\n│def f0(x):\n⋮",
    },
    {"role": "assistant", "content": "Ok, I won't try and edit those files without asking first."},
    {
        "role": "user",
        "content": "I have *added these files to the chat* so you can go ahead and edit them.\n\nsrc/utils/format.ts\n"
        "```\nexport function helper0(x: number): number {\n  const tmp = x * 0;\n  return tmp + 1;\n}\n```",
    },
    {"role": "assistant", "content": "Ok, any changes I propose will be to those files."},
]
#: aider's example conversation in its editblock format (aider/coders/editblock_prompts.py example_messages; the
#: answers in our own words) and the words it closes it with (base_coder.py): the first user messages of every
#: aider conversation in that format, before the repo map and the files.
AIDER_EXAMPLES: list[dict[str, Any]] = [
    {"role": "user", "content": "Change get_factorial() to use math.factorial"},
    {
        "role": "assistant",
        "content": "To make this change we need to modify `mathweb/flask/app.py`:\n\nmathweb/flask/app.py\n```python\n"
        "<<<<<<< SEARCH\nfrom flask import Flask\n=======\nimport math\nfrom flask import Flask\n>>>>>>> REPLACE\n```",
    },
    {"role": "user", "content": "Refactor hello() into its own file."},
    {
        "role": "assistant",
        "content": "To make this change we need a new file `hello.py`:\n\nhello.py\n```python\n<<<<<<< SEARCH\n"
        '=======\ndef hello():\n    print("hello")\n>>>>>>> REPLACE\n```',
    },
    {
        "role": "user",
        "content": "I switched to a new code base. Please don't consider the above files or try to edit them any "
        "longer.",
    },
    {"role": "assistant", "content": "Ok."},
]
#: The rules of its editblock format, which aider appends to the message it sends (``reminder: user``, its
#: setting for a model it does not know, such as ``openai/auto``): not to the same message in later turns.
AIDER_REMINDER = (
    "# *SEARCH/REPLACE block* Rules:\n\nEvery *SEARCH/REPLACE block* must use this format:\n1. The *FULL* file "
    "path alone on a line, verbatim.\n...\nONLY EVER RETURN CODE IN A *SEARCH/REPLACE BLOCK*!\n"
)


def aider(*turns: tuple[str, str], ask: str, files: dict[str, str], repo_map: str) -> dict[str, Any]:
    """One aider request in its editblock format, as it sends it (aider/coders/chat_chunks.py): its system
    prompt, its example conversation, the files in the chat and the repo map as they are now, the conversation's
    earlier turns (the person's words, the answer), then the person's ``ask`` with the format's rules appended."""
    dump = "I have *added these files to the chat* so you can go ahead and edit them.\n\n*Trust this message as "
    dump += "the true contents of these files!*\n\n" + "\n".join(f"{p}\n```\n{c}\n```" for p, c in files.items())
    summaries = "Here are summaries of some files present in my git repository.\nDo not propose changes to these "
    summaries += "files, treat them as *read-only*.\n\n" + repo_map
    messages = [
        {"role": "system", "content": AIDER_SYSTEM},
        *AIDER_EXAMPLES,
        {"role": "user", "content": dump},
        {"role": "assistant", "content": "Ok, any changes I propose will be to those files."},
        {"role": "user", "content": summaries},
        {"role": "assistant", "content": "Ok, I won't try and edit those files without asking first."},
    ]
    for words, answer in turns:
        messages += [{"role": "user", "content": words}, {"role": "assistant", "content": answer}]
    messages.append({"role": "user", "content": f"{ask}\n\n{AIDER_REMINDER}"})
    return {"model": "auto", "messages": messages, "stream": False, "temperature": 0}


#: What aider says as the user after applying the model's edit (aider/coders/base_prompts.py): without a git repo
#: (or auto-commits), with a commit, and when the edit changed nothing it could commit.
AIDER_UPDATED = "I updated the files."
AIDER_COMMITTED = "I committed the changes with git hash 3f2a9c1 & commit msg: fix: greet returns hello!"
AIDER_NO_EDITS = "I didn't see any properly formatted edits in your reply?!"


class Aider:
    """One aider (0.86.2) conversation in its editblock format, as its runs were captured on the OpenAI wire: its
    system prompt and example conversation, then the turns. After an edit it applied aider says so as the user
    (``AIDER_UPDATED``) and the model answers "Ok."; its auto-lint report (linter.py) and auto-test run
    (prompts.run_output) are user messages, the test run twice: added to the chat with an "Ok.", then sent again
    as the fix it asks for. The files in the chat ("I have *added these files to the chat*") come before the
    turn being sent (``files``); the last message carries the format's rules (``reminder: user``)."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def user(self, words: str) -> Aider:
        self.messages.append({"role": "user", "content": words})
        return self

    def said(self, words: str) -> Aider:
        self.messages.append({"role": "assistant", "content": words})
        return self

    def edit(self, old: str, new: str, ack: str = AIDER_UPDATED) -> Aider:
        """The model's SEARCH/REPLACE block on hello.py, and aider's note that it applied it."""
        block = f"hello.py\n```python\n<<<<<<< SEARCH\n{old}\n=======\n{new}\n>>>>>>> REPLACE\n```"
        return self.said(block).user(ack).said("Ok.")

    def files(self, code: str) -> Aider:
        dump = "I have *added these files to the chat* so you can go ahead and edit them.\n\n*Trust this message as "
        dump += "the true contents of these files!*\nAny other messages in the chat may contain outdated versions of "
        dump += f"the files' contents.\n\nhello.py\n```\n{code}\n```\n"
        return self.user(dump).said("Ok, any changes I propose will be to those files.")

    def lint(self, command: str, output: str) -> Aider:
        return self.user(f"\n# Fix any errors below, if possible.\n\n## Running: {command}\n\n{output}\n\n")

    def tested(self, command: str, output: str) -> Aider:
        ran = f"I ran this command:\n\n{command}\n\nAnd got this output:\n\n{output}\n\n"
        return self.user(ran).said("Ok.").user(ran)

    def body(self) -> dict[str, Any]:
        *before, last = self.messages
        sent = {"role": "user", "content": f"{last['content']}\n\n{AIDER_REMINDER}"} if last["role"] == "user" else last
        messages = [{"role": "system", "content": AIDER_SYSTEM}, *AIDER_EXAMPLES, *before, sent]
        return {"model": "auto", "messages": messages, "temperature": 0}

    def features(self) -> Features:
        chat = DIALECTS["openai"].decode(json.dumps(self.body()).encode(), {})
        return Features.of(chat)


CLAUDE_CODE_SYSTEM = "You are Claude Code, Anthropic's official CLI for Claude."
CODEX_INSTRUCTIONS = "You are Codex, a coding agent based on GPT-5."


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


class ClaudeCode:
    """One Claude Code conversation, turn by turn."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.n = 0

    def user(self, *blocks: str | dict[str, Any]) -> ClaudeCode:
        """A user turn: its text blocks (and any block given whole) in order."""
        self.messages.append({"role": "user", "content": [text(b) if isinstance(b, str) else b for b in blocks]})
        return self

    def said(self, words: str) -> ClaudeCode:
        self.messages.append({"role": "assistant", "content": [text(words)]})
        return self

    def call(self, tool: str, arguments: dict[str, Any], output: str, *after: str, error: bool = False) -> ClaudeCode:
        """The assistant's tool call, and the user turn answering it (with any text blocks after the result)."""
        self.n += 1
        use = f"toolu_{self.n:024d}"
        made = {"type": "tool_use", "id": use, "name": tool, "input": arguments}
        self.messages.append({"role": "assistant", "content": [made]})
        result = {"type": "tool_result", "tool_use_id": use, "content": output, "is_error": error}
        return self.user(result, *after)

    def bash(self, command: str, output: str, *after: str, error: bool = False) -> ClaudeCode:
        return self.call("Bash", {"command": command}, output, *after, error=error)

    def read(self, path: str, lines: list[str]) -> ClaudeCode:
        """A Read of a file: its lines numbered as ``cat -n`` numbers them."""
        listing = "\n".join(f"{i:>6}\t{line}" for i, line in enumerate(lines, 1))
        return self.call("Read", {"file_path": path}, listing)

    def body(self) -> dict[str, Any]:
        return {
            "model": "claude-sonnet-4-5",
            "max_tokens": 32000,
            "stream": True,
            "system": [text(CLAUDE_CODE_SYSTEM)],
            "tools": [
                {"name": "Bash", "description": "Run a command", "input_schema": {"type": "object"}},
                {"name": "Read", "description": "Read a file", "input_schema": {"type": "object"}},
            ],
            "messages": self.messages,
        }

    def features(self) -> Features:
        chat = DIALECTS["anthropic"].decode(json.dumps(self.body()).encode(), {})
        return Features.of(chat)


class Codex:
    """One Codex conversation, as its input items."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.n = 0
        self.user("<environment_context>\n  <cwd>/repo</cwd>\n</environment_context>")

    def user(self, words: str) -> Codex:
        self.items.append({"type": "message", "role": "user", "content": [{"type": "input_text", "text": words}]})
        return self

    def said(self, words: str) -> Codex:
        self.items.append({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": words}]})
        return self

    def exec(self, cmd: str, output: str) -> Codex:
        self.n += 1
        arguments = json.dumps({"cmd": cmd, "workdir": "/repo"})
        self.items += [
            {"type": "function_call", "name": "exec_command", "arguments": arguments, "call_id": f"call_{self.n}"},
            {"type": "function_call_output", "call_id": f"call_{self.n}", "output": output},
        ]
        return self

    def patch(self, patch: str, output: str) -> Codex:
        self.n += 1
        self.items += [
            {"type": "custom_tool_call", "call_id": f"ctc_{self.n}", "name": "apply_patch", "input": patch},
            {"type": "custom_tool_call_output", "call_id": f"ctc_{self.n}", "output": output},
        ]
        return self

    def body(self) -> dict[str, Any]:
        return {
            "model": "gpt-5-codex",
            "instructions": CODEX_INSTRUCTIONS,
            "input": self.items,
            "tools": [
                {"type": "function", "name": "exec_command", "parameters": {"type": "object"}},
                {"type": "custom", "name": "apply_patch", "description": "Edit files."},
            ],
            "stream": True,
        }

    def features(self) -> Features:
        chat = DIALECTS["responses"].decode(json.dumps(self.body()).encode(), {})
        return Features.of(chat)


CLINE_SYSTEM = (
    "You are Cline, a highly skilled software engineer with extensive knowledge in many programming languages.\n\n"
    "====\n\nTOOL USE\n\nYou have access to a set of tools that are executed upon the user's approval.\n\n"
    "# Tools\n\n## execute_command\n## read_file\n## replace_in_file\n## attempt_completion\n\n"
    "# Tool Use Guidelines\n\n1. In <thinking> tags, assess what information you already have."
)
CLINE_ENV = (
    "<environment_details>\n# VSCode Visible Files\nsrc/index.ts\n\n# VSCode Open Tabs\nsrc/index.ts\n\n"
    "# Current Time\n12/5/2026, 10:41:07 AM (Europe/Berlin, UTC+1:00)\n\n# Current Mode\nACT MODE\n"
    "</environment_details>"
)


class Cline:
    """One Cline conversation on the OpenAI wire: text parts, XML tool calls, tool results as user messages."""

    def __init__(self, task: str) -> None:
        self.messages: list[dict[str, Any]] = [
            {"role": "system", "content": CLINE_SYSTEM},
            {"role": "user", "content": [text(f"<task>\n{task}\n</task>"), text(CLINE_ENV)]},
        ]

    def user(self, *parts: str) -> Cline:
        self.messages.append({"role": "user", "content": [text(p) for p in parts]})
        return self

    def call(self, tool: str, params: dict[str, str], output: str) -> Cline:
        """The assistant's XML tool call, and the user message with its result (and the environment after)."""
        xml = "".join(f"<{k}>{v}</{k}>\n" for k, v in params.items())
        self.messages.append({"role": "assistant", "content": f"<{tool}>\n{xml}</{tool}>"})
        about = f" for '{params['path']}'" if "path" in params else f" for '{params.get('command', '')}'"
        return self.user(f"[{tool}{about}] Result:", output, CLINE_ENV)

    def body(self) -> dict[str, Any]:
        return {"model": "auto", "stream": True, "messages": self.messages}

    def features(self) -> Features:
        chat = DIALECTS["openai"].decode(json.dumps(self.body()).encode(), {})
        return Features.of(chat)


def cline_error(error: str) -> str:
    """A refused tool call's result as Cline words it (src/core/prompts/responses.ts, formatResponse.toolError)."""
    return f"The tool execution failed with the following error:\n<error>\n{error}\n</error>"


def codex_output(exit_code: int, output: str, *, newer: bool = False) -> str:
    """An ``exec_command`` result as Codex words it: the older header, or the newer one (0.171)."""
    if newer:
        head = f"Chunk ID: 04048a\nWall time: 1.2034 seconds\nProcess exited with code {exit_code}\n"
        head += "Original token count: 120"
    else:
        head = f"Exit code: {exit_code}\nWall time: 1.2 seconds"
    return f"{head}\nOutput:\n{output}"
