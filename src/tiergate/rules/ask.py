"""The user's actual ask: the last thing a person wrote, without what coding clients inject around it.

Agent clients wrap the developer's words in their own material: Claude Code adds ``<system-reminder>``
blocks, an ``<env>`` block, its hooks' output, the records of a bash-mode or slash command and of an
interrupted turn, and background tasks' notifications (a message of nothing else is no ask), Codex an
``<environment_context>``, Cline ``<environment_details>`` on every turn and its tool results as user text
(``[read_file for 'x'] Result:``), Cursor ``<user_info>`` and attached files, aider and Continue whole files
pasted before the question, OpenHands its workspace context and codecompanion the buffer as user messages
after the question, Copilot Chat its reminders around a ``<userRequest>``, Void its ``SELECTIONS`` after the
question and its text tool results (``<read_file_result>``), gptel its ``Request context:`` before it,
avante.nvim each message in ``<task>`` and its project's instructions file as a last user message after it.
Routing on all of that would judge the client, not the task, so the learned scorer and the keyword rules
read ``ask_text``:

- the last user message that is not a tool result (a role ``tool`` message, or a user message that is
  one in text form, per ``routing.ask.tool_result_patterns``), so an agent loop is judged by the task it
  was given rather than by the last file it read; inside such a tool result, only the person's reply
  (Cline's ``<feedback>``, per ``routing.ask.ask_tags``) is an ask, and in a role ``tool`` message only a
  reply the result opens with (Roo Code's and Kilo Code's native tool calls);
- in a message that opens with a ``routing.ask.task_tags`` block (avante's and Cline's ``<task>``), the
  message without the block's tags; after the last such message, a user message that begins with a line
  break and comes straight after the task or a tool result (avante's instructions file) is the client's own;
- in a message holding one of ``routing.ask.request_tags`` (Copilot Chat's ``<userRequest>``, Cursor's
  ``<user_query>``), that content, with the files and selections attached beside it
  (``routing.ask.attachment_tags``) as their code, or ``[file <path>]`` when long;
- otherwise with the blocks of ``routing.ask.blocks`` and of ``routing.ask.drop_tags``
  removed, and each attached file (a fenced block named after a path, longer than
  ``attached_file_chars``) replaced by ``[file <path>]``; a shorter one (a selection, a small file) is the
  code the ask is about, and stays.

After that message, a client may report a command it ran on its own for the model to fix (aider's failing lint
and test runs, ``routing.ask.report_patterns``): the last such report is read in its place, as the output it
shows, since the fix that failure needs is the work now. What a client says of the model's edit as the user
(aider's "I updated the files.", ``routing.ask.acknowledgement_patterns``) is no ask.

The markers live in routes.yaml (``routing.ask``); the defaults cover the clients above.

    f["ask_text"]    # "why does this deadlock under load?"
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import msgspec

from tiergate.config.base import PositiveInt, Strict
from tiergate.rules.features import Features, clean_text, count_file_references, feature, raw_texts, window

DEFAULT_TAGS = [
    "system-reminder",
    # Claude Code's own blocks: a hook's output (UserPromptSubmit), a command run in its bash mode (`!`) or a
    # local command and what it printed, a slash command's record (the prompt it expands to is sent beside
    # it, its arguments in it: "ARGUMENTS: ..." or in place of $ARGUMENTS), a background task's notification
    "user-prompt-submit-hook",
    "local-command-caveat",
    "bash-input",
    "bash-stdout",
    "bash-stderr",
    "bash-exit-code",
    "local-command-stdout",
    "local-command-stderr",
    "command-name",
    "command-message",
    "command-args",
    "task-notification",
    # Claude Code in an IDE: the file open in the editor, and its diagnostics (a selection is the person's: `blocks`)
    "ide_opened_file",
    "ide_diagnostics",
    "env",
    "environment_context",
    # Codex: a sub-agent's report, the record of an interrupted turn, a skill's instructions and a hook's prompt, each
    # a user message of its own (a command the person ran with `!`, <user_shell_command>, is theirs and stays)
    "subagent_notification",
    "turn_aborted",
    "skill",
    "hook_prompt",
    "environment_details",
    "user_info",
    "attached_files",
    "file_contents",
    "current_file",
    "open_files",
    "recently_viewed_files",
    "linter_errors",
    "git_status",
    "attachment",  # codecompanion: the buffer or file, as a user message after the question
    "attachments",  # Copilot Chat: around its <attachment>s (each read with the words: attachment_tags)
    # OpenHands: workspace context and triggered knowledge, a user message after the question
    "REPOSITORY_INFO",
    "REPOSITORY_INSTRUCTIONS",
    "RUNTIME_INFORMATION",
    "CONVERSATION_INSTRUCTIONS",
    "EXTRA_INFO",
    "SYSTEM_MESSAGE",  # Void: its system prompt, for a model without one, before the first message's words
    "todos",  # avante.nvim: its todo list, a user message of its own after the question
    # Cline: what an @-mention reads into the first message, after its <task>
    "file_content",
    "folder_content",
    "url_content",
    "workspace_diagnostics",
    "terminal_output",
]
DEFAULT_FILLERS = ["Ok, I understand."]  # avante.nvim, between two user messages on the OpenAI wire
DEFAULT_TOOL_RESULTS = [
    # Cline: [read_file for 'src/a.py'] Result: (its tools are snake_case; a person's "[build] Result:" is not).
    # The name up to its first "_" takes no "_", so a "[a____..." head is read once: "[\w.:-]*_[\w.:-]*" tried
    # every "_" as that one (3 ms for the 400 characters looked at, in every user message of a request)
    r"^\[[A-Za-z](?:[^\W_]|[.:-])*_[\w.:-]*(?: for [^\]]*)?\] Result:",
    r"^<tool_result\b",
    # Cline, Roo Code, Kilo Code: their own messages in the loop (new instructions come in <user_message>)
    r"^\[ERROR\] You did not use a tool in your previous response!",
    r"^\[TASK RESUMPTION\]",
    # aider: SEARCH/REPLACE blocks of the model's edit that failed to apply (editblock_coder.py)
    r"^# \d+ SEARCH/REPLACE blocks? failed to match!",
]
# aider: what it sends on its own after an edit, for the model to fix (base_coder.py, linter.py, prompts.py): a lint
# run's errors, and a failing test run's output (auto-test, /test; the run_output template, whole, so a person's own
# "I ran this command: ..." stays the ask)
DEFAULT_REPORTS = [
    r"^# Fix any errors below, if possible\.",
    r"^I ran this command:\n\n([^\n]*)\n\nAnd got this output:",
]
# aider: what it says as the user after it applied the model's edit (base_prompts.py: the commit it made, "I updated
# the files." without one, the edit it did not see), each its whole template
DEFAULT_ACKNOWLEDGEMENTS = [
    r"^I committed the changes with git hash \w+ & commit msg: ",
    r"^I updated the files\.\s*\Z",
    r"^I didn't see any properly formatted edits in your reply\?!\s*\Z",
]
DEFAULT_ASK_TAGS = ["feedback", "answer", "user_message"]  # Cline wraps the user's reply in a tool result
# The tools an agent asks the person a question with: Cline's, Roo Code's and Kilo Code's (the answer comes back in
# the tool's result, in <answer>)
DEFAULT_QUESTION_TOOLS = ["ask_followup_question"]
# What opens a tool result that carries the person's words after it: Claude Code's refused tool call, when the
# person typed how to go on instead (not its AskUserQuestion's "clarify" choice, whose words are its own); sent as
# an error result, which the Messages ingress opens with "error: ". Its words end where its note for its memory
# begins, when that is on
DEFAULT_REPLIES = [
    r"(?:error: )?The user doesn't want to proceed with this tool use\. The tool use was rejected\b[^\n]*?"
    r" To tell you how to proceed, the user said:\n(?!The user wants to clarify these questions)"
    r"(?P<words>(?s:.*?))(?:\n\nNote: The user's next message may contain a correction or preference\.|\Z)",
]
# What asks the person whether the assistant should do something, in the question its message closes with: an offer
# ("Want me to rewrite push()?", "Would you like me to add tests?", "Shall I apply it?"), not a question for facts
# ("Is it behind a load balancer?"), whose "no, ..." answer is still the earlier ask's
DEFAULT_OFFERS = [r"(?i)\b(?:want|like|need) me to\b", r"(?i)\b(?:shall|should) I\b"]
# What declines that offer in a person's short answer, for something of their own or nothing ("no, just fix the
# typo", "nah i'll do that. rename buf_", "no thanks", "don't, ..."); not "no problem, go ahead". An answer that
# changes how the work is done ("go ahead, but with a mutex instead", "use Redis instead") still wants it done, so
# "instead" alone declines nothing
DEFAULT_DECLINES = [
    r"(?i)^\W*(?:no|nope|nah)\b(?!\W+(?:problem|worries|need to ask)\b)",
    r"(?i)^\W*(?:not now|not yet|never ?mind|skip (?:it|that)|don'?t(?:\s*[,.;!]|\s+bother)|do not\s*[,.;!])",
]
# The person's words among a client's blocks: Copilot Chat's, Cursor's (beside its <additional_data>)
DEFAULT_REQUEST_TAGS = ["userRequest", "user_query"]
# The files and selections a person attached, beside their words in a request tag: Copilot Chat's <attachment> (the
# active selection, a #file), Cursor's @-mentioned file and added selection
DEFAULT_ATTACHMENT_TAGS = ["attachment", "file_contents", "manually_added_selection"]
# What a client wraps those attachments in: Copilot Chat's <attachments>, Cursor's <attached_files>
DEFAULT_ATTACHMENT_WRAPPERS = ["attachments", "attached_files"]
# The task a message opens with: avante.nvim's (each message the person sends, in agentic mode), Cline's, Roo
# Code's and Kilo Code's (before their environment and the files an @-mention reads in)
DEFAULT_TASK_TAGS = ["task"]
DEFAULT_BLOCKS: list[dict[str, Any]] = [
    # Claude Code: its marker of an interrupted turn ("[Request interrupted by user for tool use]"), before
    # the person's next words; and the caveat its earlier versions put before a bash-mode command's output
    {"start": r"\[Request interrupted by user", "end": r"\]"},
    {
        "start": r"Caveat: The messages below were generated by the user while running local commands\.",
        "end": r"unless the user explicitly asks you to\.",
    },
    # Claude Code after compacting the conversation: the summary of what came before, opening the first user
    # message (its own text block, the person's next words in another). It ends with the note on the recent
    # messages kept (or, from earlier versions, the instruction to go on), else it is the whole message
    {
        "start": r"This session is being continued from a previous conversation that ran out of context\.",
        "end": r"may already have happened in them\.|Pick up the last task as if the break never happened\."
        r"(?:\s*The messages after this summary[^\n]*)?"
        r"|Continue with the last task that you were asked to work on\.|\Z",
        "alone": True,  # a continuation with no new words: the summary is the task it goes on with
    },
    # Codex after compacting: the summary, a user message of its own after the person's messages it keeps
    {
        "start": r"Another language model started to solve this problem and produced a summary of its thinking",
        "end": r"\Z",
    },
    # OpenHands without a person to answer (headless, evaluation): its own reply whenever the agent stops to ask
    {
        "start": r"Please continue working on the task on whatever approach you think is suitable\.\n",
        "end": r"YOU SHOULD NEVER ASK FOR HUMAN HELP\.|\Z",
    },
    # Claude Code in an IDE: the lines the person selected, read with their words as the code they are about (the
    # client's words around them are not)
    {
        "start": r"<ide_selection>The user selected the lines \d+ to \d+ from [^\n]*?:\n",
        "end": r"(?:\n\nThis may or may not be related to the current task\.)?\s*</ide_selection>",
        "keep": True,
    },
    # Claude Code's check of a Bash command before it runs (its prefix, or command injection), as it sends it: the
    # policy spec and the instructions in the user message, then the command ("Command: ..."), which is the ask,
    # as it is when a client puts the spec in the system prompt
    {"start": r"<policy_spec>\n", "end": r"\n(?=Command: )"},
    # opencode: a message sent while the agent works, relayed inside a reminder (kept: the person's words)
    {
        "start": r"<system-reminder>\s*The user sent the following message:\n",
        "end": r"Please address this message and continue with your tasks\.\s*</system-reminder>",
        "keep": True,
    },
    # opencode: a file the person @-mentioned, read for them (the Read tool's output, new and old)
    {"start": r"Called the Read tool with the following input: \{[^\n{}]*\}\n<path>", "end": r"</content>"},
    {"start": r"Called the Read tool with the following input: \{[^\n{}]*\}\n<file>", "end": r"</file>"},
    # Zed's agent panel: the files, selections and threads attached to a message
    {"start": r"<context>\s*The following items were attached by the user\.", "end": r"</context>"},
    # Void: the files, selections and folders attached to a message, after the person's words to its end.
    # The line-start check comes after the leading literal (not `(?:\A|\n)` before it), so a search skips
    # to each "---" at C speed: the alternation made every request scan its message char by char, about
    # 1 ms per 100,000 characters.
    {"start": r"---(?<![^\n]---)\nSELECTIONS\n", "end": r"\Z"},
    # Void: a tool result for a model without native tool calls, a user message of its own, or the start of
    # the person's next one (after a refused or interrupted call); the group names the tool
    {"start": r"<([A-Za-z][\w-]*)_result>\n", "end": r"\n</[A-Za-z][\w-]*_result>", "tool_result": True},
    # Void's quick edit (Ctrl+K): the selection before the person's INSTRUCTIONS, the code around it after
    {"start": r"CURRENT SELECTION\n```[^\n]*\n<SELECTION>", "end": r"</SELECTION>\n```\s*INSTRUCTIONS\n"},
    {"start": r"\n<ABOVE>", "end": r"</BELOW>\s*Return only the completion block of code \(of the form[^)]*\)\."},
    # Void's Apply: the file the change is applied to (the change itself stays)
    {"start": r"ORIGINAL_FILE\n```[^\n]*\n", "end": r"\n```(?:(?=\n\nCHANGE\n)|\s*+\Z)"},
    # gptel with gptel-use-context 'user (or a model without a system prompt): the files and buffers added
    # to its context, before the person's words; it ends at the first bare closing fence (a file's opening one
    # follows its "`:\n") not followed by another "In file"/"In buffer" (possessive "\n++": a backtracking "\n+"
    # retried the look-ahead over every split of a run of line breaks, quadratic in its length)
    {"start": r"Request context:\n\nIn (?:file|buffer) `", "end": r"(?<!`:\n)\n```(?:\n++|\Z)(?!In (?:file|buffer) `)"},
    # aider with a model that takes its reminder in the user message (reminder: user): its edit format's rules
    # after the person's words, to the message's end (editblock, udiff and whole-file formats)
    # (only the message being sent carries them: the same message in a later turn's history does not)
    {"start": r"# \*SEARCH/REPLACE block\* Rules:\n", "end": r"\Z", "last_only": True},
    {"start": r"# File editing rules:\n\nReturn edits similar to unified diffs", "end": r"\Z", "last_only": True},
    {
        "start": r"To suggest changes to a file you MUST return the entire content of the updated file\.\n",
        "end": r"\Z",
        "last_only": True,
    },
]
DEFAULT_FILE_DUMPS = [
    r"^I have \*added these files to the chat\*",  # aider
    # aider, after the model named files it needs (prompts.added_files): its whole template, so a person's own
    # "I added these files to the chat: ..., redesign ..." stays the ask
    r"^I added these files to the chat: [^\n]*\n(?:Let me know if there are others we should add|If you need to)",
    r"^Here are summaries of some files present in my git repository",  # aider's repo map
]
# The user messages a client sends before the person's first, alike in every conversation (so not its opening,
# which its session is keyed on). aider: the example conversation of its edit format (coders/*_prompts.py
# example_messages: editblock and patch, whole, udiff), each matched whole, and the words that close it
# (base_coder.py); then what it says of the files it shares: the read-only ones, none in the chat yet (code,
# ask and help modes), the repo map in ask, architect and context modes, the files in context and help modes,
# and its images and PDFs
DEFAULT_PREAMBLES = [
    r"^Change get_factorial\(\) to use math\.factorial\s*\Z",
    r"^Refactor hello\(\) into its own file\.\s*\Z",
    r"^Change the greeting to be more casual\s*\Z",
    r"^Replace is_prime with a call to sympy\.\s*\Z",
    r"^I switched to a new code base\. Please don't consider the above files or try to edit them any longer\.",
    r"^Here are some READ ONLY files, provided for your reference\.\nDo not edit these files!",
    r"^I am not sharing (?:any files that you can edit yet|the full contents of any files with you yet"
    r"|any files with you)\.\s*\Z",
    r"^Don't try and edit any existing code without asking me to add the files to the chat!\n",
    r"^I am working with you on code in a git repository\.\nHere are summaries of some files present in my git",
    r"^These files have been \*added these files to the chat\*",
    r"^These are some files we have been discussing that we may want to edit after you answer my questions:",
    r"^(?:Image|PDF) file: ",
]


class BlockMarker(Strict, frozen=True):
    """A client's block, from a match of `start` to the first match of `end` after it."""

    start: str
    """Regular expression where the block opens. Each is searched once per block, so begin it with literal
    text: a pattern that can match anywhere is tried at every character."""
    end: str
    """Regular expression where the block closes: the first match after the start. With none, the block and
    any later one are left as they are."""
    keep: bool = False
    """Keep the text between start and end (stripped) in place of the block."""
    last_only: bool = False
    """The client adds the block to the message it sends only, not to the same message in the history of later
    turns (aider's edit-format rules): a conversation's opening, which its session is keyed on, is read without
    it. Other blocks stay in the opening: what they attach (a file, a selection) tells conversations apart."""
    alone: bool = False
    """A message that holds nothing else a person wrote is read as the block's text, not as no ask (Claude
    Code's summary after compacting, when it goes on with the task unasked: the summary is that task)."""
    tool_result: bool = False
    """The block is a tool result in text form (Void's `<run_command_result>`): a user message that opens with
    one is an agent step, read for failures and passes (the `agent.*` features); the words after it are still
    the ask. The start's first group, when it has one, names the tool, whose call the assistant's message
    before it ends with (`<run_command>...</run_command>`)."""


class AskConfig(Strict, frozen=True):
    """What counts as the user's actual ask (`ask_text`): the last message a person wrote, without the
    blocks coding clients inject. The learned scorer and keyword rules read it."""

    drop_tags: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_TAGS))
    """Tags whose whole `<tag>...</tag>` block a client injects (reminders, environment, attached files);
    left out of the ask."""
    tool_result_patterns: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_TOOL_RESULTS))
    """Regular expressions: a user message whose text starts with a match is a tool result in text form,
    not an ask."""
    report_patterns: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_REPORTS))
    """Regular expressions: a user message whose text starts with a match is a client's report of a command it
    ran on its own after an edit, for the model to fix (aider's lint errors and failing test output). It is an
    agent step, read for failures like a tool result, and the last one after the person's last ask is the ask:
    the work now is the fix the failure needs, not the edit asked before it (a docstring whose tests then show a
    race). It is read without the words the pattern matches, which are the client's, but for what its first
    group matches (the command it ran). The steps since the person's ask still count (`agent.*`). The command
    names the call the report answers, for `agent.repeated_failure` (its first group, else the first line after
    the words the pattern matches: aider's `## Running: flake8 a.py`), and a report the client sends again in
    its next user message, word for word (aider adds a failing test run to the chat, then sends it again to be
    fixed), is one step."""
    acknowledgement_patterns: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_ACKNOWLEDGEMENTS))
    """Regular expressions: a user message whose text starts with a match is the client's own note on what it did
    with the model's answer (aider's "I updated the files." after applying an edit): neither the person's ask nor
    an agent step. Match the client's whole message, so a person's own words that open alike stay the ask."""
    ask_tags: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_ASK_TAGS))
    """Tags whose content is the person's own words inside a tool result (Cline's `<feedback>`): the ask is
    that content. In a message a person wrote, these tags are text like any other."""
    request_tags: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_REQUEST_TAGS))
    """Tags a client wraps the person's words in, among blocks of its own (Copilot Chat's `<userRequest>`): a
    user message holding one is read as that content, with the files and selections attached to it
    (`attachment_tags`), and nothing else of the client's."""
    attachment_tags: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_ATTACHMENT_TAGS))
    """Tags a client wraps a file or a selection in that the person attached to the words of a `request_tags` block
    (Copilot Chat's `<attachment>`, Cursor's `<file_contents>` and `<manually_added_selection>`): each is read with
    the words, in the message's order (before the words, in a message with no request tag), as its code
    (fenced), or as `[file <path>]` when that is longer than `attached_file_chars`, as any attached file is.
    "is this safe?" over a selection asks for the work that code
    needs. The client's own words in the block ("User's active selection:") are not read."""
    attachment_wrappers: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_ATTACHMENT_WRAPPERS))
    """Tags a client wraps the `attachment_tags` blocks in (Copilot Chat's `<attachments>`): in a message with no
    request tag, the attachments inside one are read, and those inside any other block the ask drops (a reminder,
    environment details) are not."""
    task_tags: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_TASK_TAGS))
    """Tags a client opens a person's message with (avante.nvim's and Cline's `<task>`): a user message that
    opens with such a block is read without the block's tags (the client's blocks after it are dropped as
    in any message). After the last such message, a user message that begins with a line break and comes
    straight after the task or a tool result is the client's own (avante's instructions file, sent after
    the question without a marker); any other is read as usual."""
    fillers: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_FILLERS))
    """Assistant messages a client inserts between two of its user messages (avante.nvim's `Ok, I
    understand.`), matched whole: they do not separate a task from the client's message after it."""
    blocks: list[BlockMarker] = msgspec.field(
        default_factory=lambda: [msgspec.convert(b, BlockMarker) for b in DEFAULT_BLOCKS]
    )
    """Blocks a client injects anywhere in a message, told from a person's text by more than a tag name
    (Zed's `<context>` of attached items): each is left out of the ask, or with `keep` replaced by the text
    between its start and end (a person's words a client relays inside its own block)."""
    file_dump_patterns: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_FILE_DUMPS))
    """Regular expressions: a user message whose text starts with a match is files pasted by the client."""
    attached_file_chars: PositiveInt = 800
    """A fenced code block named after a file path (```python src/app.py; Continue's attached file, ```src/app.py,
    and its selection, ```py src/app.py (3-9)) and longer than this is an attached file: it is replaced by
    `[file <path>]`. A shorter one stays in the ask: a selection or a small file is the code a terse ask is about
    ("look ok?" over an upload handler), and the work it asks for is judged by that code; a whole file would
    take most of what the encoder reads of the ask (its first and last tokens)."""
    reply_chars: Annotated[int, msgspec.Meta(ge=0)] = 80
    """A person's short answer to a question the assistant ended its message with ("Want me to make the
    change?" "go ahead"), at most this many characters (and eight words), without code and not a question
    itself, is read with the ask before it: the work it agrees to is that ask's, not its own few words. The
    learned scorer keeps the higher of that reading and the answer's alone. 0 reads the answer alone."""
    reply_patterns: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_REPLIES))
    """Regular expressions: a tool result that opens with a match carries the person's own words (Claude Code's
    refused tool call: "... To tell you how to proceed, the user said:" and what the person typed): the match's
    `words` group, or without one all that follows the match. Those words are the ask, as a `<feedback>`
    (`ask_tags`) in a tool result is, read as a message is (a reminder in them dropped)."""
    offer_patterns: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_OFFERS))
    """Regular expressions searched in the last sentence of the question an assistant's message ends with: a match
    makes it an offer of work ("Want me to rewrite push() and pop()?"), which a short answer may decline
    (`decline_patterns`)."""
    decline_patterns: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_DECLINES))
    """Regular expressions searched in a person's short answer to an offer (`offer_patterns`): a match declines it
    ("no, just fix the typo in the comment"), and the answer is read alone, not with the ask before it: the work
    offered is not wanted, and what the answer asks, if anything, is its own."""
    question_tools: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_QUESTION_TOOLS))
    """Tools an agent asks the person a question with (Cline's and Roo Code's `ask_followup_question`): the short
    answer in such a call's result (`ask_tags`, its `<answer>`), a role `tool` message or a client's text result
    (`[ask_followup_question for '...'] Result:`), is read with the ask before it, as an answer to a question the
    assistant asked in words is (`reply_chars`)."""
    preamble_patterns: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_PREAMBLES))
    """Regular expressions: a user message whose text starts with a match is one a client sends before the
    person's first in every conversation (aider's example conversation). Neither it nor a file dump is the
    conversation's opening, which its session (stickiness, escalation) is keyed on: the first user message
    that is neither is."""


_TICKS = "```"
_PATHISH = re.compile(r"[\w.-]*[/\\][\w./\\-]+|[\w-]+\.[A-Za-z]{1,6}\b")
#: An attribute's value in a client's tag (``filePath="/w/src/a.py"``), read for the path it may name.
_ATTRIBUTE = re.compile(r"\b\w+=\"([^\"]*)\"")
#: What separates the words of a fence's info string, for the path in it (```python:src/a.py,
#: ```path=src/a.ts, lines=1-9).
_INFO_SPLIT = re.compile(r"[\s,:=]+")


@dataclass(frozen=True)
class Blocks:
    r"""``<name ...>body</name>`` for any of ``names`` (any case), the body up to the first closing tag of
    that name, found in one pass over the text.

    A regex (``<(a|b)\b[^>]*>(.*?)</\1>``) does the same, but an opening tag with no closing one after it
    sends its search to the end of the text, once per such tag: 4,000 unclosed ``<feedback>`` tags took
    2 s, and a message may hold 2,000,000 characters. Here the closing tag of a name is searched once from
    each opening tag that is taken; a name found without one is not searched for again (no later opening
    tag of it can close either), so the text is read about once."""

    opening: re.Pattern[str]
    closing: dict[str, re.Pattern[str]]

    @classmethod
    def of(cls, names: list[str]) -> Blocks | None:
        if not names:
            return None
        # [^<>]*: an opening tag's attributes end at the next '<', so a '<name' without '>' costs its own length
        opening = re.compile(rf"<({names_pattern(names)})\b[^<>]*>", re.IGNORECASE)
        closing = {name.lower(): re.compile(rf"</{re.escape(name)}\s*>", re.IGNORECASE) for name in names}
        return cls(opening, closing)

    def spans(self, text: str) -> list[tuple[int, int, int, int]]:
        """(start, body start, body end, end) of each block, left to right, none inside another; a self-closing
        tag is a block with an empty body."""
        found: list[tuple[int, int, int, int]] = []
        unclosed: set[str] = set()
        at = 0
        while (m := self.opening.search(text, at)) is not None:
            if text.endswith("/>", 0, m.end()):  # <attachment filePath="a.py" />: a block with no body
                found.append((m.start(), m.end(), m.end(), m.end()))
                at = m.end()
                continue
            name = m.group(1).lower()
            end = None if name in unclosed else self.closing[name].search(text, m.end())
            if end is None:
                unclosed.add(name)
                at = m.end()
                if len(unclosed) == len(self.closing):
                    break
                continue
            found.append((m.start(), m.end(), end.start(), end.end()))
            at = end.end()
        return found

    def bodies(self, text: str) -> list[str]:
        return [text[b:e] for _, b, e, _ in self.spans(text)]

    def drop(self, text: str) -> str:
        spans = self.spans(text)
        if not spans:
            return text
        parts, done = [], 0
        for start, _, _, end in spans:
            parts.append(text[done:start])
            done = end
        parts.append(text[done:])
        return "".join(parts)


@dataclass(frozen=True)
class AskReader:
    """``routing.ask`` compiled once per load."""

    tags: Blocks | None
    asks: Blocks | None
    tool_results: tuple[re.Pattern[str], ...]
    file_dumps: tuple[re.Pattern[str], ...]
    attached_file_chars: int
    requests: Blocks | None = None
    attachments: Blocks | None = None
    #: attachment_tags and attachment_wrappers, lower-cased: the dropped blocks attachments are read from
    holders: frozenset[str] = frozenset()
    tasks: re.Pattern[str] | None = None
    task_ends: dict[str, re.Pattern[str]] = field(default_factory=dict)
    fillers: frozenset[str] = frozenset()
    blocks: tuple[tuple[re.Pattern[str], re.Pattern[str], bool, bool], ...] = ()  # start, end, keep, alone
    results: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = ()
    preambles: tuple[re.Pattern[str], ...] = ()  # file_dump_patterns and preamble_patterns, as one where they can
    reply_chars: int = 80
    reports: tuple[re.Pattern[str], ...] = ()
    acknowledgements: tuple[re.Pattern[str], ...] = ()
    question_tools: frozenset[str] = frozenset()
    offers: tuple[re.Pattern[str], ...] = ()
    declines: tuple[re.Pattern[str], ...] = ()
    replies: tuple[re.Pattern[str], ...] = ()
    appended: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = ()  # the last_only blocks
    block_starts: re.Pattern[str] | None = None  # every block's start as one, where they join: see clean

    @classmethod
    def compile(cls, cfg: AskConfig) -> AskReader:
        return cls(
            Blocks.of(cfg.drop_tags),
            Blocks.of(cfg.ask_tags),
            tuple(re.compile(p) for p in cfg.tool_result_patterns),
            tuple(re.compile(p) for p in cfg.file_dump_patterns),
            cfg.attached_file_chars,
            Blocks.of(cfg.request_tags),
            Blocks.of(cfg.attachment_tags),
            frozenset(t.lower() for t in (*cfg.attachment_tags, *cfg.attachment_wrappers)),
            _opening(cfg.task_tags),
            {t.lower(): re.compile(rf"</{re.escape(t)}\s*>", re.IGNORECASE) for t in cfg.task_tags},
            frozenset(f.strip() for f in cfg.fillers),
            tuple((re.compile(b.start), re.compile(b.end), b.keep, b.alone) for b in cfg.blocks),
            tuple((re.compile(b.start), re.compile(b.end)) for b in cfg.blocks if b.tool_result),
            preambles=_any_of([*cfg.file_dump_patterns, *cfg.preamble_patterns]),
            appended=tuple((re.compile(b.start), re.compile(b.end)) for b in cfg.blocks if b.last_only),
            reply_chars=cfg.reply_chars,
            question_tools=frozenset(cfg.question_tools),
            offers=tuple(re.compile(p) for p in cfg.offer_patterns),
            declines=tuple(re.compile(p) for p in cfg.decline_patterns),
            replies=tuple(re.compile(p) for p in cfg.reply_patterns),
            reports=_any_of(cfg.report_patterns),
            acknowledgements=_any_of(cfg.acknowledgement_patterns),
            block_starts=_joined([b.start for b in cfg.blocks]),
        )

    def task(self, text: str) -> str | None:
        """The message without the ``task_tags`` block's tags it opens with (after blank space), if it closes."""
        m = self.tasks.match(text) if self.tasks is not None else None
        if m is None:
            return None
        end = self.task_ends[m.group(1).lower()].search(text, m.end())
        return text[m.end() : end.start()] + "\n" + text[end.end() :] if end is not None else None

    def is_injected(self, text: str) -> bool:
        """A user message that is a tool result, a client's report, a file dump or a client's acknowledgement, not
        something a person asked."""
        head = text.lstrip()[:400]
        kinds = (self.tool_results, self.reports, self.file_dumps, self.acknowledgements)
        return any(p.search(head) for patterns in kinds for p in patterns)

    def is_tool_result(self, text: str) -> bool:
        """A user message that is a tool result in text form (``tool_result_patterns``): an agent step."""
        head = text.lstrip()[:400]
        return any(p.search(head) for p in self.tool_results)

    def report_call(self, text: str) -> str | None:
        """The command a client's report (``report_patterns``) says it ran: the pattern's first group, else the
        first line after the words it matched (aider's lint report: ``## Running: flake8 a.py``); None when the
        message is no report. It names the call the report answers, so one command failing again is told from
        another, and a report of any command is not the same call as every other."""
        body = text.lstrip()
        head = body[:400]
        for p in self.reports:
            if (m := p.search(head)) is not None:
                ran = (m.group(1) or "").strip() if p.groups else ""
                after = (line.strip() for line in body[m.end() :].splitlines() if line.strip())
                return (ran or next(after, "") or m.group().strip())[:200]
        return None

    def report(self, text: str) -> str | None:
        """A client's report of a command it ran for the model to fix (``report_patterns``), as the ask: the
        message without the client's words the pattern matched ("I ran this command: ... And got this output:")
        but for its first group's (the command), so what is read is the command and what it printed, as a lint
        run's report reads. None when the message is no report."""
        body = text.lstrip()
        head = body[:400]
        for p in self.reports:
            if (m := p.search(head)) is not None:
                ran = (m.group(1) or "").strip() if p.groups else ""
                return self.clean("\n\n".join(part for part in (ran, body[m.end() :].strip()) if part))
        return None

    def is_preamble(self, text: str) -> bool:
        """A user message the client sends before the person's first (``preamble_patterns``) or a file dump: not
        the opening of a conversation."""
        head = text.lstrip()[:400]
        return any(p.search(head) for p in self.preambles)

    def without_appended(self, text: str) -> str:
        """``text`` without the ``last_only`` blocks, stripped: a message as it reads in every turn, whether or
        not the client added them this time (aider appends its edit format's rules to the message it sends, not
        to the same message in the next turn's history)."""
        for start, end in self.appended:
            text = _cut(text, start, end, False)
        return text.strip()

    def result_block(self, text: str) -> tuple[str, str] | None:
        """(tool, output) of the tool result block a user message opens with (``blocks`` marked
        ``tool_result``): the tool as the start's first group names it (else the start itself), and the text
        between start and end. Tried at the message's start only: one match attempt on a person's message."""
        at = len(text) - len(text.lstrip())
        for start, end in self.results:
            if (m := start.match(text, at)) is not None and (e := end.search(text, m.end())) is not None:
                tool = m.group(1) if start.groups and m.group(1) else m.group().strip()
                return tool, text[m.end() : e.start()]
        return None

    def said(self, text: str) -> str | None:
        """The person's own words inside a message (a ``<feedback>`` block), if it holds any."""
        found = self.asks.bodies(text) if self.asks is not None else []
        words = "\n".join(body.strip() for body in found).strip()
        return words or None

    def replied(self, text: str) -> str | None:
        """The person's reply in a tool result of a native tool call (Roo Code's ``<feedback>`` after
        ``attempt_completion``, its ``<user_message>`` answer to ``ask_followup_question``; the words after a
        ``reply_patterns`` opening, Claude Code's refused call): only a reply the result opens with, within its
        first 400 characters, so a file read that holds such a tag is not one."""
        at = len(text) - len(text.lstrip())
        for reply in self.replies:
            if (m := reply.match(text, at)) is not None:
                words = m.group("words") if "words" in reply.groupindex else None
                words = text[m.end() :] if words is None else words  # a group that took no part: all after it
                return self.clean(words) or None
        opened = self.asks.opening.search(text) if self.asks is not None else None
        if opened is None or opened.start() - (len(text) - len(text.lstrip())) > 400:
            return None
        return self.said(text)

    def read(self, text: str) -> str:
        """A message a person sent, as the ask: the content of its request tag, with what the person attached to it,
        when it holds one, else the message without injected blocks, after what the person attached to it (a
        client that sends its attachments without a request tag: the words are the rest of the message). A
        message of attachments alone is no ask: it has no words."""
        found = self.requests.spans(text) if self.requests is not None else []
        words = self.clean("\n".join(text[body:end] for _, body, end, _ in found)) if found else ""
        if words:
            attached = self.attachments.spans(text) if self.attachments is not None else []
            at = found[0][0]
        else:
            attached = self._loose_attachments(text)
            rest = "".join(text[done:start] for done, start in _gaps(attached, len(text)))
            words, at = self.clean(rest), len(text)
            if not words:
                return words
        if not attached:
            return words
        parts = [(start, self._attachment(text[start:body], text[body:end])) for start, body, end, _ in attached]
        parts.append((at, words))
        return "\n\n".join(part for _, part in sorted(parts) if part)

    def _loose_attachments(self, text: str) -> list[tuple[int, int, int, int]]:
        """The attachments of a message without a request tag that the message itself holds: not those inside a
        block the ask drops (a reminder, environment details, a client's ``blocks``) other than an attachment's own
        or its wrapper's (``attachment_wrappers``)."""
        attached = self.attachments.spans(text) if self.attachments is not None else []
        if not attached or self.tags is None:
            return attached
        dropped = self.tags.spans(text)
        walls = [(start, end) for start, _, _, end in dropped if self._tag_at(text, start) not in self.holders]
        walls += self._block_spans(text)
        return _outside(attached, walls)

    def _tag_at(self, text: str, at: int) -> str:
        """The name of the dropped tag that opens at ``at``, lower-cased."""
        m = self.tags.opening.match(text, at) if self.tags is not None else None
        return m.group(1).lower() if m is not None else ""

    def _block_spans(self, text: str) -> list[tuple[int, int]]:
        """Where each of the ``blocks`` is in ``text``, from its start's match to its end's."""
        if self.block_starts is not None and self.block_starts.search(text) is None:
            return []
        return [(m.start(), e.end()) for start, end, _, _ in self.blocks for m, e in _found(text, start, end)]

    def _attachment(self, opening: str, body: str) -> str:
        """A file or selection attached beside a request tag, as the ask reads it: its code, fenced (the fenced
        blocks it holds, or its text in a fence of its own), without the client's words around it; or
        ``[file <path>]`` when the code is longer than ``attached_file_chars``, the path from the tag's attributes
        (``filePath="..."``) or the fence's info string (```` ```path=src/a.ts, lines=1-9 ````)."""
        first = body.find(_TICKS)
        if first >= 0:
            last = body.rfind("\n" + _TICKS)
            close = body.find("\n", last + 1 + len(_TICKS)) if last > first else -1
            code = body[first : close if close >= 0 else len(body)].strip()
        else:
            code = f"{_TICKS}\n{body.strip()}\n{_TICKS}" if body.strip() else ""
        if code and len(code) <= self.attached_file_chars:
            return code
        info = body[first + len(_TICKS) : body.find("\n", first)] if first >= 0 else ""
        named = [*_ATTRIBUTE.findall(opening), *_INFO_SPLIT.split(info)]
        paths = [w for w in named if _PATHISH.fullmatch(w)]  # a path with its folders before a bare name (`id`)
        path = next((w for w in paths if "/" in w or "\\" in w), paths[0] if paths else None)
        return f"[file {path}]" if path is not None else ("[file]" if code else "")

    def clean(self, text: str, alone: bool = False) -> str:
        """``text`` without the client's blocks; with ``alone``, the ``alone`` blocks' text kept."""
        raw = text
        if self.block_starts is None or self.block_starts.search(text) is not None:
            for start, end, keep, stands in self.blocks:
                text = _cut(text, start, end, keep or (alone and stands))
        if self.tags is not None:
            text = self.tags.drop(text)
        cleaned = self._attached_files(text).strip()
        if not cleaned and not alone and any(stands and start.search(raw) for start, _, _, stands in self.blocks):
            return self.clean(raw, alone=True)
        return cleaned

    def _attached_files(self, text: str) -> str:
        """Each fenced block named after a file path and longer than ``attached_file_chars`` becomes
        ``[file <path>]``. A block: a fence, an info string without backticks to the end of its line, a
        body, then a line that starts with a fence (which it takes). A fence with no line break after it,
        or no closing fence, ends the scan. Scanned with ``str.find``: a lazy regex cost about 20 µs on
        a 1,600-character ask with one block, on every request."""
        start = text.find(_TICKS)
        parts: list[str] = []
        done = 0
        line_end = -1
        while start >= 0:
            if line_end <= start:  # the same line's end serves every tick on it: one search per line
                line_end = text.find("\n", start + len(_TICKS))
            if line_end < 0:
                break
            if text.find("`", start + len(_TICKS), line_end) >= 0:  # not an info string: try the next tick
                start = text.find(_TICKS, start + 1)
                continue
            close = text.find("\n" + _TICKS, line_end + 1)
            if close < 0:
                break
            if close - line_end - 1 > self.attached_file_chars:
                info = text[start + len(_TICKS) : line_end]
                path = next((w for w in info.split() if _PATHISH.fullmatch(w)), None)
                if path is not None:
                    parts += [text[done:start], f"[file {path}]"]
                    done = close + 1 + len(_TICKS)
            start = text.find(_TICKS, close + 1 + len(_TICKS))
        if not parts:
            return text
        parts.append(text[done:])
        return "".join(parts)


#: The longest tag name :func:`names_pattern` puts in its tree.
TREE_DEPTH = 200


def names_pattern(names: list[str]) -> str:
    """A regex for any of ``names`` (any case) as a tree of their shared beginnings: ``env(?:ironment)?``
    where a list would be ``env|environment``. The regex engine tries a list's names one by one at each
    place a tag may start; the tree tries each letter once. Where a longer name goes on from a shorter one,
    the longer is tried first. It halves the scan of a message made of '<' (8 MB: 1.5 s, now 0.7 s). A name
    over :data:`TREE_DEPTH` characters (the tree is built by recursion) makes it a list, longest first."""
    if any(len(n) > TREE_DEPTH for n in names):
        return "|".join(re.escape(n) for n in sorted({n.lower() for n in names}, key=len, reverse=True))
    tree: dict[str, Any] = {}
    for name in {n.lower() for n in names}:
        node = tree
        for ch in name:
            node = node.setdefault(ch, {})
        node[""] = {}

    def branch(node: dict[str, Any]) -> str:
        ways = [re.escape(ch) + branch(child) for ch, child in sorted(node.items()) if ch]
        if not ways:
            return ""
        body = ways[0] if len(ways) == 1 else "(?:" + "|".join(ways) + ")"
        return f"(?:{body})?" if "" in node else body

    return branch(tree)


def _opening(tags: list[str]) -> re.Pattern[str] | None:
    """``<tag>`` of any of ``tags`` at a message's start, after blank space."""
    if not tags:
        return None
    return re.compile(rf"\s*<({names_pattern(tags)})>", re.IGNORECASE)


def _outside(spans: list[tuple[int, int, int, int]], walls: list[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """``spans`` (left to right) but those inside ``walls``, in one pass over both: the walls as the stretches they
    cover together (a span across two walls that overlap is inside them), then each span against the stretch it
    starts in. A check of every span against every wall took 90 s on a 2 MB message of 54,000 of each."""
    covered: list[list[int]] = []
    for start, end in sorted(walls):
        if covered and start <= covered[-1][1]:
            covered[-1][1] = max(covered[-1][1], end)
        else:
            covered.append([start, end])
    kept, i = [], 0
    for span in spans:
        while i < len(covered) and covered[i][1] < span[0]:  # stretches that end before it: none holds a later one
            i += 1
        if not (i < len(covered) and covered[i][0] <= span[0] and span[3] <= covered[i][1]):
            kept.append(span)
    return kept


def _gaps(spans: list[tuple[int, int, int, int]], stop: int, begin: int = 0) -> list[tuple[int, int]]:
    """The stretches of a text from ``begin`` to ``stop`` outside ``spans`` (left to right, none inside another)."""
    gaps, done = [], begin
    for start, _, _, end in spans:
        gaps.append((done, start))
        done = end
    gaps.append((done, stop))
    return gaps


def _found(text: str, start: re.Pattern[str], end: re.Pattern[str]) -> Iterator[tuple[re.Match[str], re.Match[str]]]:
    """Each block in ``text``, left to right, as the matches of its start and of the first end after it. A start
    with no end after it ends the scan, since no later start has one either; a block that matched nothing (start
    and end both empty at one place) is passed, so the next may start after it."""
    at = 0
    while at <= len(text) and (m := start.search(text, at)) is not None and (e := end.search(text, m.end())):
        yield m, e
        at = e.end() if e.end() > m.start() else e.end() + 1


def _cut(text: str, start: re.Pattern[str], end: re.Pattern[str], keep: bool) -> str:
    """``text`` without each block from a match of ``start`` to the first match of ``end`` after it (with
    ``keep``, the text between them stays), in one pass (:func:`_found`)."""
    parts: list[str] = []
    done = 0
    for m, e in _found(text, start, end):
        parts += [text[done : m.start()], text[m.end() : e.start()].strip() if keep else ""]
        done = e.end()
    if not parts:
        return text
    parts.append(text[done:])
    return "".join(parts)


#: What a pattern that refers to its own groups contains: joined with others, its numbers would name theirs.
_GROUP_REFERENCE = re.compile(r"\\[1-9]|\\g<|\(\?P=|\(\?\(")


def _joined(patterns: list[str]) -> re.Pattern[str] | None:
    """``patterns`` as one regex that finds where any of them matches, or None where they cannot be joined
    (a reference to a group, a global flag). A message in which none starts is read by one search, not
    one per block: twenty searches of a 100,000-character message cost 0.5 ms, the one 0.2 ms."""
    if not patterns or any(_GROUP_REFERENCE.search(p) for p in patterns):
        return None
    try:
        return re.compile("|".join(f"(?:{p})" for p in patterns))
    except re.error:  # a global flag, "(?i)...", is allowed only at the start of the whole; a name twice
        return None


def _any_of(patterns: list[str]) -> tuple[re.Pattern[str], ...]:
    """``patterns`` as one regex: one search of a message rather than one per pattern (aider opens with six
    messages of its own, and 15 searches of each cost 9 µs a request). Each apart where one has a group or a
    flag of its own, which would clash in one."""
    compiled = tuple(re.compile(p) for p in patterns)
    if not compiled or any(p.groups for p in compiled):
        return compiled
    try:
        return (re.compile("|".join(f"(?:{p})" for p in patterns)),)
    except re.error:  # a global flag, "(?i)...", is allowed only at the start of the whole
        return compiled


DEFAULT_READER = AskReader.compile(AskConfig())


def reader_of(f: Features) -> AskReader:
    reader: Any = f.settings.get("ask")
    return reader if isinstance(reader, AskReader) else DEFAULT_READER


def ask_index(f: Features) -> int | None:
    """The index of the last user message a person wrote (or the tool result that carries their reply), which
    the ask is read from, and the agent's steps are counted after. A client's report after it (aider's failing
    test run, ``report_patterns``) is read as the ask in its place."""
    memo = f._memo
    if "_ask_index" not in memo:
        reader, texts = reader_of(f), raw_texts(f)
        task = _last_task(f, reader, texts)
        found, read = _ask_before(f, reader, texts, task, len(f.messages))
        if (reported := _last_report(f, reader, texts, found)) is not None:
            read = reported  # a failure the client reports after the ask is the work now; the steps count from the ask
        # the work a short "go ahead" agrees to is the ask before the question it answers
        elif (
            found is not None
            and read is not None
            and _answers_a_question(f, reader, texts, found, read)
            and (earlier := _ask_before(f, reader, texts, task, found - 1)[1]) is not None
        ):
            memo["_ask_alone"] = read
            read = earlier + "\n\n" + read
        memo["_ask_index"] = found
        memo["_ask_read"] = read
    return memo["_ask_index"]  # type: ignore[no-any-return]


def _ask_before(
    f: Features, reader: AskReader, texts: list[str], task: tuple[int | None, str], end: int
) -> tuple[int | None, str | None]:
    """The last message before ``end`` a person's ask is read from, and the ask as read."""
    task_at, body = task
    for i in range(end - 1, -1, -1):
        text, role = texts[i], f.messages[i].role
        if role in ("tool", "function"):
            read = reader.replied(text)
        elif role != "user":
            continue
        elif reader.is_injected(text):
            read = reader.said(text)
        elif i == task_at:
            read = reader.clean(body)
        elif task_at is not None and i > task_at and text.startswith("\n") and _after_step(f, reader, i, task_at):
            continue  # the client's own message after the person's (avante's instructions file)
        else:
            read = reader.read(text)
        if read:
            return i, read
    return None, None


def _last_report(f: Features, reader: AskReader, texts: list[str], ask: int | None) -> str | None:
    """The last of the client's reports (``report_patterns``) after message ``ask``, as read: aider's failing test
    run after the edit the person asked for."""
    if not reader.reports:
        return None
    for i in range(len(texts) - 1, -1 if ask is None else ask, -1):
        if f.messages[i].role == "user" and (reported := reader.report(texts[i])) is not None:
            return reported or None
    return None


#: The most words a short answer has ("yes please, both", "ok, write it in Go"); a longer one is an ask of its own.
REPLY_WORDS = 8


def alone_texts(f: Features) -> dict[str, str] | None:
    """When the ask is a short answer read with the ask before it, the answer read alone, as the features that
    hold the ask (``ask_text``, ``ask_prose``) would read it: the learned scorer takes whichever reading asks
    more, so the earlier ask can raise a "go ahead", never lower a short new ask."""
    ask_index(f)
    alone = f._memo.get("_ask_alone")
    if alone is None:
        return None
    text = clean_text(window(alone, f.scan_chars))
    return {"ask_text": text, "ask_prose": prose_of(text)}


def _answers_a_question(f: Features, reader: AskReader, texts: list[str], i: int, read: str) -> bool:
    """Message ``i``, read as ``read``, is a person's short answer (``reply_chars``, at most :data:`REPLY_WORDS`
    words, no code, not a question of its own) to the assistant's message just before it, which ends with a
    question and calls no tool, or to a question the assistant asked with one of ``question_tools`` (the answer in
    that call's result). "is our JWT check open to algorithm confusion?" after "Anything else?" is a new ask, read
    alone; so is an answer that declines the assistant's offer (:func:`_declines`)."""
    words = read.strip()
    if (
        len(words) > reader.reply_chars
        or len(words.split()) > REPLY_WORDS
        or _TICKS in words
        or words.endswith(("?", "\uff1f"))
        or i == 0
    ):
        return False
    message = f.messages[i]
    if message.role in ("tool", "function"):  # Roo Code's native ask_followup_question
        return _tool_called(f, i, message.tool_call_id) in reader.question_tools
    if message.role != "user":
        return False
    if (named := _TEXT_RESULT.match(texts[i])) is not None:  # Cline's "[ask_followup_question for '...'] Result:"
        return named.group(1) in reader.question_tools
    before = f.messages[i - 1]
    # the question may close inside markdown emphasis or quotes: "**Want me to make the change?**"
    asked = texts[i - 1].rstrip().rstrip(_CLOSERS)
    if before.role != "assistant" or before.tool_calls or not asked.endswith(("?", "\uff1f")):
        return False
    return not _declines(reader, asked, words)


#: Where the question an assistant's message closes with begins: after the sentence or line before it.
_SENTENCE_END = re.compile(r"[.!?\n]\s+(?=\S)")
#: The most characters of the assistant's message looked at for that question.
_QUESTION_CHARS = 400


def _declines(reader: AskReader, asked: str, answer: str) -> bool:
    """``answer`` declines the offer the assistant's message ``asked`` closes with: a question that offers work
    (``offer_patterns``: "Want me to rewrite push() and pop()?") answered "no, just fix the typo in the comment"
    (``decline_patterns``). The offered work is not the ask; the answer is, alone. "no, it runs on ECS" after "Is it
    on Kubernetes?" answers a question for facts, and is read with the ask before it."""
    if not reader.offers or not reader.declines:
        return False
    tail = asked[-_QUESTION_CHARS:-1]
    ends = [m.end() for m in _SENTENCE_END.finditer(tail)]
    question = tail[ends[-1] if ends else 0 :].lstrip(_CLOSERS + "#>-")
    return any(p.search(question) for p in reader.offers) and any(p.search(answer) for p in reader.declines)


#: The tool a client's text tool result names: Cline's ``[ask_followup_question for '...'] Result:``.
_TEXT_RESULT = re.compile(r"\s*\[([\w.:-]+)(?: for [^\]\n]*)?\] Result:")


def _tool_called(f: Features, i: int, call_id: str | None) -> str | None:
    """The name of the tool call a role ``tool`` message ``i`` answers: the call of that id in the assistant's message
    before it (after any other results of the same message's calls)."""
    for j in range(i - 1, -1, -1):
        message = f.messages[j]
        if message.role == "assistant":
            return next((made.function.name for made in message.tool_calls or () if made.id == call_id), None)
    return None


#: What may close a prose sentence after its question mark: emphasis, double quotes, spaces. Not a backtick, a
#: bracket or a single quote: a code block or inline code that ends in "?" (SQL's placeholder, a regex) asks
#: nothing.
_CLOSERS = '*_~"\u201d\u2019 \t\n'


def _after_step(f: Features, reader: AskReader, i: int, task_at: int) -> bool:
    """Message ``i`` comes straight after the task or a tool result (a client's filler between aside)."""
    j = i - 1
    if j > task_at and f.messages[j].role == "assistant" and raw_texts(f)[j].strip() in reader.fillers:
        j -= 1
    return j == task_at or f.messages[j].role in ("tool", "function")


def _last_task(f: Features, reader: AskReader, texts: list[str]) -> tuple[int | None, str]:
    """The last user message that opens with a ``task_tags`` block, and that message without the block's tags."""
    if reader.tasks is None:
        return None, ""
    for i in range(len(texts) - 1, -1, -1):
        if f.messages[i].role == "user" and (body := reader.task(texts[i])) is not None:
            return i, body
    return None, ""


@feature("text", "The user's actual ask: the last message a person wrote, without client-injected blocks.")
def ask_text(f: Features) -> str:
    memo = f._memo
    if "_ask" not in memo:
        # the window is taken of the ask as read (blocks already left out), never of the raw message: a
        # window of that could cut an injected block's tags apart, or keep only the blocks around the ask
        ask_index(f)
        read = memo["_ask_read"] or ""
        memo["_ask"] = clean_text(window(read, f.scan_chars))
    return memo["_ask"]  # type: ignore[no-any-return]


def prose_of(ask: str) -> str:
    """The ask's own words: every fenced code block (pasted code, logs, diffs) becomes ``[code]``.

    A block runs from a fence to the end of its line, then to the next line that starts with a fence
    (which it takes), or to the end of the ask when none closes it. A fence with no line after it is
    left as it is. Scanned with ``str.find`` rather than a lazy regex: this runs on every request, cache
    hits included, and the regex cost about 0.2 ms on a 15,000-character ask."""
    start = ask.find(_TICKS)
    if start < 0:
        return ask.strip()
    parts: list[str] = []
    done = 0
    while start >= 0:
        line_end = ask.find("\n", start + len(_TICKS))
        if line_end < 0:
            break
        close = ask.find("\n" + _TICKS, line_end + 1)
        parts += [ask[done:start], " [code] "]
        if close < 0:
            done = len(ask)
            break
        done = close + 1 + len(_TICKS)
        start = ask.find(_TICKS, done)
    parts.append(ask[done:])
    return "".join(parts).strip()


@feature("text", "The user's ask with its fenced code blocks replaced by `[code]`: what the person wrote in words.")
def ask_prose(f: Features) -> str:
    return prose_of(f["ask_text"])


@feature(
    "number",
    "Distinct file paths named in the user's actual ask: in its words (`ask_prose`) and its code blocks' opening "
    "lines (```python src/app.py), not inside pasted code, blocks a client injected, a test runner's report lines "
    '(`tests/a.py::test_x PASSED`, `FAIL src/a.test.ts`) or other pasted tool output (`File "a.py", line 3`).',
)
def ask_file_references(f: Features) -> int:
    # inside pasted code, `r.json`, `self.c` and `#include "net.h"` read as paths: six of them made a rename
    # of six variables a many-files change
    fences = "\n".join(_FENCE_LINE.findall(f["ask_text"]))
    return count_file_references(f["ask_prose"] + "\n" + fences)


_FENCE_LINE = re.compile(r"^```[^\n]*", re.MULTILINE)


@feature("number", "Characters of the user's actual ask (`ask_text`).")
def ask_chars(f: Features) -> int:
    return len(f["ask_text"])
