"""``ask_text`` reads the developer's own words out of each coding client's payload shape."""

from __future__ import annotations

import json
import random
import re
from typing import Any

import msgspec
import pytest

from tests.agent_clients import ClaudeCode, aider
from tiergate.rules.ask import AskConfig, AskReader, BlockMarker, names_pattern, prose_of
from tiergate.rules.features import Features
from tiergate.wire import ChatRequest

ASK = "why does the retry loop in fetch_orders never stop when the server sends 503?"
FILE = "def fetch_orders(client):\n" + "    # retry until it works\n" * 60


def ask_of(*messages: dict[str, Any], reader: AskReader | None = None, **extra: Any) -> str:
    request = msgspec.convert({"messages": list(messages), **extra}, ChatRequest)
    settings = {"ask": reader} if reader else {}
    return str(Features.of(request, settings=settings)["ask_text"])


def user(*parts: str) -> dict[str, Any]:
    if len(parts) == 1:
        return {"role": "user", "content": parts[0]}
    return {"role": "user", "content": [{"type": "text", "text": p} for p in parts]}


def test_claude_code_reminders_and_env_are_left_out() -> None:
    """Claude Code: system reminders as separate text blocks; the loop's tool results come after."""
    reminder = "<system-reminder>\nAs you answer, CLAUDE.md says: use pytest, never unittest.\n</system-reminder>"
    got = ask_of(
        {"role": "system", "content": "You are Claude Code...\n<env>\nWorking directory: /srv/app\n</env>"},
        user(reminder, ASK, "<system-reminder>todo list is empty</system-reminder>"),
        {"role": "assistant", "tool_calls": [{"id": "t1", "function": {"name": "Read", "arguments": '{"p":"a.py"}'}}]},
        {"role": "tool", "tool_call_id": "t1", "content": "     1→" + FILE},
    )
    assert got == ASK


def test_codex_environment_context_is_left_out() -> None:
    got = ask_of(
        {"role": "developer", "content": "<user_instructions>AGENTS.md: run make lint</user_instructions>"},
        user("<environment_context>\n  <cwd>/repo</cwd>\n  <sandbox_mode>on</sandbox_mode>\n</environment_context>"),
        user(ASK),
    )
    assert got == ASK


def test_cursor_user_info_is_left_out_and_its_attached_file_read_with_the_ask() -> None:
    """Cursor's chat without `<user_query>`: the file the person attached is read as any attachment is (a long
    one as the file it is), before their words; the client's note of the OS is not read."""
    got = ask_of(
        user(
            "<user_info>\nThe user's OS version is linux.\n</user_info>",
            f"<attached_files>\n<file_contents>\n```py src/orders.py\n{FILE}\n```\n</file_contents>\n</attached_files>",
            ASK,
        )
    )
    assert got == f"[file src/orders.py]\n\n{ASK}"


def test_cursor_user_query_is_the_ask_among_its_additional_data() -> None:
    """Cursor's agent: `<additional_data>` (the open file, the cursor, a selection the person added) beside the
    person's words in `<user_query>`; of the client's data, only what the person attached is read with the query:
    a long selection as the file it is from."""
    turn = (
        "<additional_data>\nBelow are some potentially helpful/relevant pieces of information for figuring out to "
        "respond\n<current_file>\nPath: src/orders.py\nLine: 4\n</current_file>\n<manually_added_selection>\n"
        f"```python:src/orders.py\n{FILE}```\n</manually_added_selection>\n</additional_data>\n\n"
        f"<user_query>\n{ASK}\n</user_query>"
    )
    assert ask_of(user(turn)) == f"[file src/orders.py]\n\n{ASK}"
    assert ask_of(user(turn.replace("<manually_added_selection>", "<other_data>"))) == ASK


def test_cline_mentioned_files_after_its_task_are_left_out() -> None:
    """Cline reads each file an @-mention names into the first message, after the `<task>` block."""
    mentioned = "Fix @/src/orders.py"
    turn = f'<task>\n{mentioned}\n</task>\n\n<file_content path="src/orders.py">\n{FILE}\n</file_content>'
    assert ask_of(user(turn, "<environment_details>\n# Current Time\n11/3/2025\n</environment_details>")) == mentioned


def test_cline_tool_results_in_text_are_skipped_and_feedback_is_the_ask() -> None:
    env = "<environment_details>\n# VSCode Visible Files\nsrc/orders.py\n</environment_details>"
    task = user(f"<task>\n{ASK}\n</task>", env)
    result = user("[read_file for 'src/orders.py'] Result:", FILE, env)
    assert ask_of(task, {"role": "assistant", "content": "<read_file>...</read_file>"}, result) == ASK
    feedback = user(
        "[attempt_completion] Result:",
        "The user has provided feedback.\n<feedback>\nno, keep the backoff but cap it at 5 tries\n</feedback>",
        env,
    )
    assert ask_of(task, result, feedback) == "no, keep the backoff but cap it at 5 tries"


def test_aider_file_dumps_are_not_the_ask() -> None:
    got = ask_of(
        user(
            "I have *added these files to the chat* so you can go ahead and edit them.\n\norders.py\n```\n"
            + FILE
            + "```"
        ),
        {"role": "assistant", "content": "Ok, any changes I propose will be to those files."},
        user(ASK),
    )
    assert got == ASK


def test_continue_attached_file_is_named_and_a_short_snippet_kept() -> None:
    long_block = f"```python src/orders.py\n{FILE}\n```"
    short_block = "```python\nwhile True:\n    retry()\n```"
    got = ask_of(user(f"{long_block}\n\n{short_block}\n\n{ASK}"))
    assert got == f"[file src/orders.py]\n\n{short_block}\n\n{ASK}"
    # Continue's own shapes: an @-mentioned file (its path alone after the fence) before the words, a selection
    # (language, path, lines) where the person put it; a short selection is the code asked about, and stays
    selection = "```py src/orders.py (3-5)\n    while True:\n        retry()\n```"
    got = ask_of(user(f"```src/orders.py\n{FILE}\n```\n\n{ASK}\n\n{selection}\n"))
    assert got == f"[file src/orders.py]\n\n{ASK}\n\n{selection}"


def test_the_markers_come_from_routes_yaml() -> None:
    reader = AskReader.compile(AskConfig(drop_tags=["noise"], tool_result_patterns=[r"^RESULT:"]))
    assert ask_of(user(f"<noise>x</noise>{ASK}"), reader=reader) == ASK
    assert ask_of(user(ASK), user("RESULT: 3 rows"), reader=reader) == ASK
    assert ask_of(user(f"<system-reminder>kept now</system-reminder>{ASK}"), reader=reader).startswith(
        "<system-reminder>"
    )


def test_no_user_message_means_no_ask() -> None:
    assert ask_of({"role": "system", "content": "hi"}) == ""


def test_ask_prose_keeps_the_words_and_marks_the_code() -> None:
    ask = "this loops forever:\n```python\nwhile True:\n    retry()\n```\nwhy? and\n```\nunterminated paste"
    request = msgspec.convert({"messages": [user(ask)]}, ChatRequest)
    f = Features.of(request)
    assert f["ask_prose"] == "this loops forever:\n [code] \nwhy? and\n [code]"
    plain = Features.of(msgspec.convert({"messages": [user(ASK)]}, ChatRequest))
    assert plain["ask_prose"] == plain["ask_text"] == ASK  # no code: the same text, so the same cached vector


def test_prose_of_at_the_edges_of_a_fence() -> None:
    assert prose_of("see ```inline``` here") == "see ```inline``` here"  # no line after the fence: no block
    assert prose_of("a\n```\nx\n````\nb") == "a\n [code] `\nb"  # the closing fence is three backticks
    assert prose_of("a\n```\n```\nb\n```\nc") == "a\n [code] \nc"  # the fence's own line ends it
    assert prose_of("```js\nx\n```\n```\ny\n```tail") == "[code] \n [code] tail"
    assert prose_of("words then ```sh\nrm -rf build") == "words then  [code]"  # unclosed: code to the end


def test_prose_of_agrees_with_the_pattern_it_replaced() -> None:
    """The scan replaced a lazy regex; the shipped head was trained on that regex's text, so the scan must
    give the same text for any mix of fences, backticks and line breaks."""
    pattern = re.compile(r"```[^\n]*\n.*?(?:\n```|\Z)", re.DOTALL)
    rng = random.Random(15)
    pieces = ["`", "``", "```", "````", "\n", "a", " ", "\n```", "```py\n", "x\n"]
    for _ in range(20_000):
        ask = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        assert prose_of(ask) == pattern.sub(" [code] ", ask).strip(), repr(ask)


def test_attached_files_agree_with_the_pattern_they_replaced() -> None:
    """The attached-file scan replaced a lazy regex; the shipped head was trained on that regex's text, so the
    scan must give the same text for any mix of fences, info strings, backticks and line breaks."""
    pattern = re.compile(r"```([^\n`]*)\n(.*?)\n```", re.DOTALL)
    reader = AskReader.compile(AskConfig(drop_tags=[], attached_file_chars=3))

    pathish = re.compile(r"[\w.-]*[/\\][\w./\\-]+|[\w-]+\.[A-Za-z]{1,6}\b")

    def attached(m: re.Match[str]) -> str:
        path = next((w for w in m.group(1).split() if pathish.fullmatch(w)), None)
        return m.group(0) if path is None or len(m.group(2)) <= 3 else f"[file {path}]"

    rng = random.Random(16)
    pieces = ["`", "``", "```", "````", "\n", "a", " ", "\n```", "```py src/a.py\n", "```a.go `x`\n", "abcd\n", "x.rs"]
    replaced = 0
    for _ in range(20_000):
        ask = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        expected = pattern.sub(attached, ask).strip()
        assert reader.clean(ask) == expected, repr(ask)
        replaced += "[file " in expected
    assert replaced > 1000  # the mixes do exercise the replacement


def test_tag_blocks_agree_with_the_pattern_they_replaced() -> None:
    """Dropped tags and the person's own words are found in one pass (tiergate.rules.ask.Blocks) instead of a
    lazy ``.*?``; the matches must be the same for any mix of opening, closing and near-miss tags. One change
    is meant: an opening tag's attributes end at the next ``<`` (``[^<>]*``)."""
    cfg = AskConfig(drop_tags=["env", "system-reminder"], ask_tags=["feedback"])
    reader = AskReader.compile(cfg)
    assert reader.tags is not None and reader.asks is not None
    flags = re.DOTALL | re.IGNORECASE
    tags = re.compile(r"<(env|system\-reminder)\b[^<>]*>.*?</\1\s*>", flags)
    asks = re.compile(r"<(feedback)\b[^<>]*>(.*?)</\1\s*>", flags)
    rng = random.Random(17)
    pieces = ["<", ">", "</", "<env>", "</env>", "</ENV >", "<env a='1'>", "<Env>", "</env", "< /env>", "</envx>"]
    pieces += ["<environment>", "<system-reminder>", "</system-reminder>", "<feedback>", "</Feedback>", "x", " ", "\n"]
    pieces += ["<env", "<feedback", "<SYSTEM-REMINDER a>"]
    dropped = said = 0
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        assert reader.tags.drop(text) == tags.sub("", text), repr(text)
        assert reader.asks.bodies(text) == [body for _, body in asks.findall(text)], repr(text)
        dropped += tags.search(text) is not None
        said += asks.search(text) is not None
    assert dropped > 2000 and said > 500  # the mixes do exercise both patterns


def test_a_message_longer_than_the_window_is_read_through_the_window() -> None:
    """The ask of a long message is its head and tail (`scan_chars`), cleaned; a short one is read whole."""
    middle = "MIDDLE " * 400
    long_ask = f"<system-reminder>injected</system-reminder>{ASK}\n{middle}\nthe end of the paste"
    request = msgspec.convert({"messages": [user(long_ask)]}, ChatRequest)
    windowed = Features.of(request, scan_chars=400)["ask_text"]
    assert windowed.startswith(ASK) and windowed.endswith("the end of the paste")
    assert "injected" not in windowed and len(windowed) == 400 + 1  # two halves and the line between
    whole = Features.of(request, scan_chars=16000)["ask_text"]
    assert whole.startswith(ASK) and "injected" not in whole and whole.count("MIDDLE") == 400


def test_long_injected_blocks_around_the_ask_leave_the_ask_whole() -> None:
    """The window is taken of the ask as read: a window of the raw message would keep only the two
    reminders' ends, and pair the first one's opening tag with the last one's closing tag."""
    before = f"<system-reminder>{'a tool list. ' * 1000}</system-reminder>"
    after = f"<system-reminder>{'the todo list. ' * 700}</system-reminder>"
    request = msgspec.convert({"messages": [user(before, ASK, after)]}, ChatRequest)
    assert len(before) + len(after) > 16000
    assert Features.of(request, scan_chars=16000)["ask_text"] == ASK


def test_ask_tags_are_a_persons_reply_only_inside_a_tool_result() -> None:
    """`<user_message>` or `<answer>` in what a person wrote is their text, not the whole of their ask;
    `<context>` is no client's block: a person's own wrapping stays in the ask."""
    for said in (
        f"{ASK} I tried logging the <user_message>ok</user_message> field.",
        f"{ASK} <answer>yes</answer>",
        f"<context>{ASK}</context> What is wrong here?",
    ):
        request = msgspec.convert({"messages": [user(said)]}, ChatRequest)
        assert Features.of(request)["ask_text"] == said
    pasted = "[build] Result: FAILED\nerror[E0502]: cannot borrow `self.cache` as mutable"
    request = msgspec.convert(
        {"messages": [user("hi"), {"role": "assistant", "content": "ok."}, user(pasted)]}, ChatRequest
    )
    assert Features.of(request)["ask_text"] == pasted  # a person's pasted log, not a Cline tool result
    reply = "[ask_followup_question for 'which db?'] Result:\n<answer>\npostgres, and keep it fast\n</answer>"
    request = msgspec.convert(
        {"messages": [user(ASK), {"role": "assistant", "content": "ok."}, user(reply)]}, ChatRequest
    )
    # the person's short answer to the agent's question, read with the ask it was asked about
    assert Features.of(request)["ask_text"] == f"{ASK}\n\npostgres, and keep it fast"


def test_roo_code_native_tool_results_carry_the_reply() -> None:
    """Roo Code and Kilo Code with native tool calls: the person's reply to `attempt_completion` or
    `ask_followup_question` is the tool result (a role `tool` message); the user message after it holds only
    `<environment_details>`. A result that only quotes such a tag further down (a file read) is no reply."""
    env = "<environment_details>\n# VSCode Visible Files\nsrc/orders.py\n</environment_details>"
    task = user(f"<task>\n{ASK}\n</task>", env)
    finish = {"id": "t1", "function": {"name": "attempt_completion", "arguments": "{}"}}
    done = {"role": "assistant", "tool_calls": [finish]}
    feedback = (
        "The user has provided feedback on the results. Consider their input to continue the task, and then "
        "attempt completion again.\n<feedback>\nno, keep the backoff but cap it at 5 tries\n</feedback>"
    )
    got = ask_of(task, done, {"role": "tool", "tool_call_id": "t1", "content": feedback}, user(env))
    assert got == "no, keep the backoff but cap it at 5 tries"
    answer = {"role": "tool", "tool_call_id": "t1", "content": "<user_message>\npostgres\n</user_message>"}
    assert ask_of(task, done, answer, user(env)) == "postgres"
    read = {"role": "tool", "tool_call_id": "t1", "content": FILE + "<Feedback>\nrendered\n</Feedback>"}
    assert ask_of(task, done, read, user(env)) == ASK


REFUSED = (
    "The user doesn't want to proceed with this tool use. The tool use was rejected (eg. if it was a file edit, the "
    "new_string was NOT written to the file)."
)


def test_claude_codes_refused_call_carries_the_words_the_person_typed() -> None:
    """The person refuses an edit and types how to go on: Claude Code sends their words in the refused call's
    result (an error result, which the Messages ingress opens with "error: "). A refusal without words, or its
    question tool's "clarify" choice, has none: the task stays the ask."""
    edit = {"id": "t1", "function": {"name": "Edit", "arguments": "{}"}}
    called = {"role": "assistant", "tool_calls": [edit]}
    words = "no, fix the overdraft race in withdraw() instead"
    said = f"{REFUSED} To tell you how to proceed, the user said:\n{words}"
    note = (
        "\n\nNote: The user's next message may contain a correction or preference. Pay close attention — if they "
        "explain what went wrong or how they'd prefer you to work, consider saving that to memory for future sessions."
    )
    reminder = "\n<system-reminder>\nThe user opened src/bank.py in the IDE.\n</system-reminder>"
    for result in (said, f"error: {said}", f"error: {said}{note}", f"{said}{reminder}"):
        assert ask_of(user(ASK), called, {"role": "tool", "tool_call_id": "t1", "content": result}) == words
    stop = f"error: {REFUSED} STOP what you are doing and wait for the user to tell you how to proceed."
    clarify = (
        f"error: {REFUSED} To tell you how to proceed, the user said:\nThe user wants to clarify these questions.\n"
        "    This means they may have additional information, context or questions for you."
    )
    quoted = f"     1\tdocs = (\n     2\t{said}\n     3\t)"  # a file that quotes it is no reply
    for result in (stop, clarify, quoted):
        assert ask_of(user(ASK), called, {"role": "tool", "tool_call_id": "t1", "content": result}) == ASK


def test_a_reply_patterns_words_group_that_took_no_part_reads_all_after_the_match() -> None:
    """A `words` group in one branch of a pattern, the other branch matching: the group is None, which the
    reader took for text (a TypeError on every request with such a tool result)."""
    reader = AskReader.compile(AskConfig(reply_patterns=[r"(?:Rejected:(?P<words>.*)|Cancelled\.)"]))
    called = {"role": "assistant", "tool_calls": [{"id": "t1", "function": {"name": "Edit", "arguments": "{}"}}]}
    for result, words in (("Cancelled. use pathlib instead", "use pathlib instead"), ("Rejected: no", "no")):
        got = ask_of(user(ASK), called, {"role": "tool", "tool_call_id": "t1", "content": result}, reader=reader)
        assert got == words


def test_cline_family_loop_messages_are_not_the_ask() -> None:
    """Cline, Roo Code, Kilo Code: the no-tool-use error and the task-resumption notice are the client's; only
    the new instructions a resumption carries (`<user_message>`) are the person's."""
    env = "<environment_details>\n# Current Mode\nACT MODE\n</environment_details>"
    task = user(f"<task>\n{ASK}\n</task>", env)
    said = {"role": "assistant", "content": "I will look at fetch_orders."}
    no_tool = (
        "[ERROR] You did not use a tool in your previous response! Please retry with a tool use.\n\n"
        "# Reminder: Instructions for Tool Use\n..."
    )
    assert ask_of(task, said, user(no_tool, env)) == ASK
    resumed = (
        "[TASK RESUMPTION] This task was interrupted 2 hours ago. It may or may not be complete, so please reassess "
        "the task context."
    )
    assert ask_of(task, said, user(resumed, env)) == ASK
    more = f"{resumed}\n\nNew instructions for task continuation:\n<user_message>\nalso log each retry\n</user_message>"
    assert ask_of(task, said, user(more, env)) == "also log each retry"


def test_copilot_user_request_is_the_ask() -> None:
    """Copilot Chat's agent prompt: attachments, context, editor and repository blocks and reminders around the
    person's `<userRequest>`."""
    turn = (
        '<attachments>\n<attachment id="orders.py" filePath="/w/src/orders.py">\n'
        + FILE
        + "\n</attachment>\n</attachments>\n<context>\nThe current date is November 3, 2025.\n</context>\n"
        "<editorContext>\nThe user's current file is /w/src/orders.py. \n</editorContext>\n<reminderInstructions>\n"
        "You are an agent - you must keep going until the user's query is completely resolved.\n"
        f"</reminderInstructions>\n<userRequest>\n{ASK}\n</userRequest>"
    )
    workspace = user("<environment_info>\nThe user's current OS is: Linux\n</environment_info>")
    system = {"role": "system", "content": "You are an expert AI programming assistant"}
    assert ask_of(system, workspace, user(turn)) == f"[file /w/src/orders.py]\n\n{ASK}"


#: A selection as Copilot Chat attaches it (its ``CodeSelection``: the reference's description, the excerpt's
#: place, the code fenced with the file's path as a comment) and a whole file in agent mode (``filePath``).
SELECTION = "def retry(call):\n    while True:\n        if call().status != 503:\n            return\n"


def copilot(attached: str, words: str, path: str = "/w/src/orders.py") -> dict[str, Any]:
    return user(
        f'<attachments>\n<attachment id="orders.py" filePath="{path}">\n{attached}\n</attachment>\n</attachments>\n'
        "<context>\nThe current date is November 3, 2025.\n</context>\n<reminderInstructions>\nWhen using the "
        "insert_edit_into_file tool, avoid repeating existing code.\n</reminderInstructions>\n"
        f"<userRequest>\n{words}\n</userRequest>"
    )


def test_copilots_attached_selection_is_read_with_the_request() -> None:
    """Copilot Chat's "User's active selection" (or a #selection) is the code a terse request is about: "is this
    safe?" over two snippets is two asks. The client's words around the code are not the ask; a whole file is
    read as the file it is, as Continue's is."""
    selected = (
        "User's active selection:\nExcerpt from orders.py, lines 3 to 6:\n```python\n# filepath: /w/src/orders.py\n"
        f"{SELECTION}```"
    )
    code = f"```python\n# filepath: /w/src/orders.py\n{SELECTION}```"
    assert ask_of(copilot(selected, "is this safe?")) == f"{code}\n\nis this safe?"
    other = selected.replace("!= 503", "== 200")
    assert ask_of(copilot(other, "is this safe?")) != ask_of(copilot(selected, "is this safe?"))
    whole = f"```python\n{FILE}\n```"
    assert ask_of(copilot(whole, "/explain")) == "[file /w/src/orders.py]\n\n/explain"
    # in agent mode a file may be attached by its path alone
    named = user(
        f'<attachments>\n<attachment id="a.py" filePath="/w/a.py" />\n</attachments>\n<userRequest>{ASK}</userRequest>'
    )
    assert ask_of(named) == f"[file /w/a.py]\n\n{ASK}"


def test_attachments_without_a_request_tag_are_read_before_the_words() -> None:
    """Copilot Chat without `<userRequest>` (the person's words after its attachments): the selection is the
    code "is this safe?" is about, read as it is with the tag, and no empty `<attachments>` is left in the
    ask. A message of attachments alone (codecompanion's buffer after the question) has no words: the
    question before it is the ask."""
    selected = f"```python\n{SELECTION}```"
    tagged = copilot(selected, "is this safe?")
    untagged = user(
        f'<attachments>\n<attachment id="orders.py" filePath="/w/src/orders.py">\n{selected}\n</attachment>\n'
        "</attachments>\nis this safe?"
    )
    assert ask_of(untagged) == ask_of(tagged) == f"{selected}\n\nis this safe?"
    buffer = user(f'<attachment filepath="/w/src/orders.py">\n{selected}\n</attachment>')
    assert ask_of(user(ASK), buffer) == ASK
    # a selection whose tag is no dropped tag is read once, as its code
    cursor = user(f'<manually_added_selection path="a.py">\n{SELECTION}</manually_added_selection>\nis this safe?')
    assert ask_of(cursor) == f"```\n{SELECTION}```\n\nis this safe?"


def test_attachments_inside_a_block_the_ask_drops_stay_out_of_it() -> None:
    """An attachment a reminder or the environment details carry, or one inside a client's ``blocks``, is the
    client's: only those the message holds itself, or in their wrapper, are read with the words."""
    for text in (
        f'<system-reminder>In mail.xml:\n<attachment name="a.pdf">JVBERi0x</attachment>\n</system-reminder>\n{ASK}',
        f"{ASK}\n<environment_details>\n<file_contents>\nBLOB\n</file_contents>\n</environment_details>",
        f"{ASK}\n<context>\nThe following items were attached by the user.\n<attachment>BLOB</attachment>\n</context>",
    ):
        assert ask_of(user(text)) == ASK, text


def test_cursors_attached_file_is_read_with_the_query() -> None:
    """Cursor's @-mentioned file (``<file_contents>``, fenced or not) beside its ``<user_query>``: a small one is
    the code asked about, a large one the file named."""
    small = "export const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));"
    turn = (
        "<additional_data>\nBelow are some potentially helpful/relevant pieces of information\n<attached_files>\n"
        f"<file_contents>\n```path=src/util/clamp.ts, lines=1-1\n{small}\n```\n</file_contents>\n</attached_files>\n"
        "</additional_data>\n\n<user_query>\nis this ok?\n</user_query>"
    )
    assert ask_of(user(turn)) == f"```path=src/util/clamp.ts, lines=1-1\n{small}\n```\n\nis this ok?"
    unfenced = (
        f'<attached_files>\n<file_contents path="crawler/ratelimit.py">\n{FILE}</file_contents>\n</attached_files>'
    )
    assert ask_of(user(f"{unfenced}\n<user_query>\n{ASK}\n</user_query>")) == f"[file crawler/ratelimit.py]\n\n{ASK}"
    unfenced_small = unfenced.replace(FILE, small)
    assert ask_of(user(f"{unfenced_small}\n<user_query>\n{ASK}\n</user_query>")) == f"```\n{small}\n```\n\n{ASK}"


def test_context_sent_after_the_ask_is_left_out() -> None:
    """OpenHands sends its workspace context (and knowledge triggered by a keyword) as a user message after the
    person's; codecompanion sends the buffer a `#{buffer}` names the same way."""
    workspace = (
        "\n\n<REPOSITORY_INFO>\nAt the user's request, repository acme/shop has been cloned to /workspace/shop.\n"
        "</REPOSITORY_INFO>\n<RUNTIME_INFORMATION>\nToday's date is 2025-11-03 (UTC).\n</RUNTIME_INFORMATION>"
    )
    assert ask_of(user(ASK), user(workspace)) == ASK
    knowledge = (
        '\n\n<EXTRA_INFO>\nThe following information has been included based on a keyword match for "git".\n'
        "</EXTRA_INFO>"
    )
    assert ask_of(user(ASK), user(knowledge)) == ASK
    buffer = (
        '<attachment filepath="/w/src/orders.py" buffer_number="7">User\'s current visible code in a file (including '
        f"line numbers). This should be the main focus:\n````python\n1:  {FILE}\n````\n</attachment>"
    )
    mentioned = f"{ASK} (file `src/orders.py` (with buffer number: 7))"
    assert ask_of(user(mentioned), user(buffer)) == mentioned


def test_blocks_drop_a_clients_block_or_keep_the_words_it_relays() -> None:
    """opencode relays a message sent while the agent works inside a `<system-reminder>`: the words are the ask;
    a file the person @-mentioned, read for them, is not. Zed's agent panel attaches files, selections and
    threads in a `<context>` that opens with its own sentence; a person's own `<context>` stays
    (test_ask_tags_are_a_persons_reply_only_inside_a_tool_result)."""
    relayed = (
        "<system-reminder>\nThe user sent the following message:\nalso cap the retries at 5\n\n"
        "Please address this message and continue with your tasks.\n</system-reminder>"
    )
    read = {"role": "tool", "tool_call_id": "t1", "content": FILE}
    call = {"role": "assistant", "tool_calls": [{"id": "t1", "function": {"name": "read", "arguments": "{}"}}]}
    assert ask_of(user(ASK), call, read, user(relayed)) == "also cap the retries at 5"
    mentioned = user(
        f"{ASK} @src/orders.py",
        'Called the Read tool with the following input: {"filePath":"/w/src/orders.py"}',
        f"<path>/w/src/orders.py</path>\n<type>file</type>\n<content>\n1: {FILE}\n(End of file)\n</content>",
    )
    assert ask_of(mentioned) == f"{ASK} @src/orders.py"
    zed = user(
        ASK,
        "[@orders.py](file:///w/src/orders.py)",
        "<context>\nThe following items were attached by the user. "
        "They are up-to-date and don't need to be re-read.\n\n",
        f"<files>\n```py /w/src/orders.py\n{FILE[:300]}\n```\n</files>\n",
        "</context>",
    )
    assert ask_of(zed) == f"{ASK}\n[@orders.py](file:///w/src/orders.py)"
    blocks = [BlockMarker("<noise>", "</noise>"), BlockMarker(r"\[said ", r"\]", keep=True)]
    reader = AskReader.compile(AskConfig(blocks=blocks, request_tags=["q"]))
    assert ask_of(user(f"<noise>x\ny</noise>{ASK} [said now]"), reader=reader) == f"{ASK} now"
    assert ask_of(user(f"preamble <q>{ASK}</q> tail"), reader=reader) == ASK


def test_void_selections_tool_results_and_system_prompt_are_left_out() -> None:
    """Void (voideditor/void): the files, selections and folders a person attached follow their words after
    ``---`` and ``SELECTIONS`` (common/prompt/prompts.ts, ``chat_userMessageContent``); for a model without a
    system role its system prompt opens the first user message in ``<SYSTEM_MESSAGE>``, and for one without
    native tool calls each tool result is a user message ``<name_result>``, joined to the person's next
    message when that follows it directly (browser/convertToLLMMessageService.ts)."""
    selections = (
        f"/w/src/orders.py:\n```python\n{FILE}\n```\n\n/w/src/retry.py (lines 3:9):\n```python\n"
        "    while True:\n        retry()\n```\n\n/w/src/ folder structure:```\nsrc/\n├── orders.py\n```"
    )
    assert ask_of(user(f"{ASK}\n---\nSELECTIONS\n{selections}")) == ASK
    assert ask_of(user(f"{ASK}\n---\nSELECTIONS\n/w/src/orders.py\n/w/src/retry.py (lines 3:9)")) == ASK
    assert ask_of(user(ASK), {"role": "assistant", "content": "ok."}, user(f"---\nSELECTIONS\n{selections}")) == ASK
    # Only a "---" that opens a line: one inside a line is the person's own text
    assert ask_of(user(f"{ASK} ---\nSELECTIONS\nstays")) == f"{ASK} ---\nSELECTIONS\nstays"
    system = (
        "<SYSTEM_MESSAGE>\nYou are an expert coding agent whose job is to help the user develop, run, and make "
        "changes to their codebase.\n<system_info>\n- linux\n</system_info>\n<files_overview>\n"
        + "src/orders.py\n" * 200
        + "</files_overview>\n</SYSTEM_MESSAGE>\n"
    )
    assert ask_of(user(system + ASK)) == ASK
    task = user(system + ASK)
    call = {
        "role": "assistant",
        "content": "I will read it.\n\n    <read_file>\n<uri>/w/src/orders.py</uri>\n    </read_file>",
    }
    result = user(f"<read_file_result>\n{FILE}\n</read_file_result>")
    assert ask_of(task, call, result) == ASK
    edit = {"role": "assistant", "content": "    <edit_file>\n<uri>/w/src/orders.py</uri>\n    </edit_file>"}
    refused = user("<edit_file_result>\nTool call was rejected by the user.\n</edit_file_result>\n\ncap it at 5 tries")
    assert ask_of(task, call, result, edit, refused) == "cap it at 5 tries"


def test_void_quick_edit_and_apply_read_the_instructions_not_the_code() -> None:
    """Void's quick edit (Ctrl+K) sends the selection, the person's INSTRUCTIONS and up to 20,000 characters of
    code on each side (``ctrlKStream_userMessage``); Apply sends the whole file with the change to make
    (``rewriteCode_userMessage``, ``searchReplaceGivenDescription_userMessage``), all in
    common/prompt/prompts.ts."""
    quick = (
        "CURRENT SELECTION\n```python\n<SELECTION>    while True:\n        retry()</SELECTION>\n```\n\n"
        f"INSTRUCTIONS\ncap the retries at 5\n\n<ABOVE>{FILE}</ABOVE>\n<BELOW>{FILE}</BELOW>\n\n"
        "Return only the completion block of code (of the form ```python\n<SELECTION>...new code</SELECTION>\n```)."
    )
    system = {"role": "system", "content": "You are a FIM (fill-in-the-middle) coding assistant."}
    assert ask_of(system, user(quick)) == "cap the retries at 5"
    change = "// ... existing code ...\n    for _ in range(5):\n        retry()\n// ... existing code ..."
    rewrite = (
        f"ORIGINAL_FILE\n```python\n{FILE}\n```\n\nCHANGE\n```\n{change}\n```\n\nINSTRUCTIONS\nPlease finish writing "
        "the new file by applying the change to the original file. Return ONLY the completion of the file, without "
        "any explanation."
    )
    got = ask_of(user(rewrite))
    assert got.startswith(f"CHANGE\n```\n{change}\n```") and "retry until it works" not in got
    assert ask_of(user(f"DIFF\n{change}\n\nORIGINAL_FILE\n```\n{FILE}\n```")) == f"DIFF\n{change}"


def test_gptel_context_in_the_prompt_is_left_out_and_its_turns_read_as_they_are() -> None:
    """gptel (karthink/gptel) puts the buffers and files added to its context in the system prompt by default;
    with ``gptel-use-context`` set to ``user`` (or a model without a system prompt) they come before the
    person's words as ``Request context:`` and ``In file `x`:`` / ``In buffer `x`:`` fences (gptel-context.el,
    ``gptel-context--string``; ``gptel--insert-file-string`` in gptel-request.el). Its chat turns and the
    person's rewrite instructions (gptel-rewrite.el: region, the client's question, the instructions) are
    sent as written, and tool results are role ``tool`` messages (gptel-openai.el)."""
    context = (
        f"Request context:\n\nIn file `~/w/src/orders.py`:\n\n```\n{FILE}\n```\n\n\n"
        "In buffer `retry.py`:\n\n```python\n... (Line 3)\n    while True:\n        retry()\n...\n```"
    )
    assert ask_of(user(f"{context}\n\n{ASK}")) == ASK
    assert ask_of(user(f"\n{context}\n\n{ASK}")) == ASK  # gptel 0.9.9: inserted before the prompt in its buffer
    mine = f"In file `orders.py`:\n\n```\n{FILE[:200]}\n```\n\n{ASK}"
    assert ask_of(user(mine)) == mine  # a person's own paste, without gptel's "Request context:" header
    system = {
        "role": "system",
        "content": "You are a large language model living in Emacs and a helpful assistant. Respond concisely.",
    }
    chat = [system, user("what does fetch_orders return?"), {"role": "assistant", "content": "A list."}, user(ASK)]
    assert ask_of(*chat) == ASK
    rewrite = [
        {
            "role": "system",
            "content": "You are a python programmer.  Follow my instructions and refactor python code I provide.",
        },
        user(FILE),
        {"role": "assistant", "content": "What is the required change?  I will generate only the final replacement."},
        user("cap the retries at 5"),
    ]
    assert ask_of(*rewrite) == "cap the retries at 5"


AVANTE_MD = (
    "\n### Your Role\n\nYou are an expert senior engineer on the billing service. Prioritise security and "
    "correctness: payments, ledgers and refunds must never double count.\n\n### Conventions\n- pytest, no mocks"
)


def test_avante_task_is_the_ask_and_its_instructions_file_after_it_is_not() -> None:
    """avante.nvim in agentic mode (lua/avante/llm.lua, ``generate_prompts``): its selected files, code,
    diagnostics and memory are user messages of their own, then the history, where each message the person
    sent is ``<task>...</task>``, then the project's ``avante.md`` as the last user message, with no marker
    (``"\\n" .. instructions``). On the OpenAI wire an assistant ``Ok, I understand.`` sits between two user
    messages; agent steps are native tool calls."""
    selected = user(
        f'<selected_files>\n<file path="src/orders.py" language="python">\n{FILE}\n</file>\n</selected_files>'
    )
    understood = {"role": "assistant", "content": "Ok, I understand."}
    task = user(f"<task>{ASK}</task>")
    instructions = user(AVANTE_MD)
    # Anthropic wire: the messages one for one
    assert ask_of(selected, task, instructions) == ASK
    # OpenAI wire, after a tool step, and with the `<todos>` message some versions add last
    call = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "view", "arguments": '{"path": "src/orders.py"}'}}
        ],
    }
    result = {"role": "tool", "tool_call_id": "c1", "content": FILE}
    todos = user("<todos>\n1. [ ] read orders.py\n</todos>")
    assert ask_of(selected, understood, task, call, result, instructions, understood, todos) == ASK
    # the filler between the task and the instructions file, with no tool step: a marker from routes.yaml
    assert ask_of(selected, understood, task, understood, instructions) == ASK
    unfilled = AskReader.compile(AskConfig(fillers=[]))
    assert ask_of(selected, understood, task, understood, instructions, reader=unfilled) == AVANTE_MD.strip()
    # the person's next message is the next task
    assert (
        ask_of(task, {"role": "assistant", "content": "done"}, user("<task>now cap it at 5 tries</task>"), instructions)
        == "now cap it at 5 tries"
    )
    # its legacy XML prompt: the question is the last message, read as it is, with its `<question>` tags
    assert ask_of(selected, understood, user(f"<question>{ASK}</question>")) == f"<question>{ASK}</question>"


def test_a_task_block_is_read_only_where_a_client_puts_it() -> None:
    """A `<task>` block is the ask only when it opens the message (Cline's first message: the task, then its
    environment and the files an @-mention reads in), and after it only a message that begins with a line
    break (avante's instructions file) is the client's: a person's follow-up, or a `<task>` tag inside their
    text or a pasted file, is read as usual."""
    files = f'\n\n<file_content path="src/orders.py">\n{FILE}\n</file_content>'
    env = "<environment_details>\n# Current Time\n11/3/2025\n</environment_details>"
    cline = user(f"<task>\n{ASK}\n</task>{files}", env)
    assert ask_of(cline) == ASK
    later = "and log each attempt"
    assert ask_of(cline, {"role": "assistant", "content": "ok"}, user(later)) == later
    # a prompt written with XML tags, then a plain follow-up
    assert (
        ask_of(user("<task>Summarise this repo</task>"), {"role": "assistant", "content": "..."}, user(later)) == later
    )
    quoted = f"what does <task>{ASK}</task> mean here?"
    assert ask_of(user(quoted)) == quoted
    assert ask_of(user(quoted), {"role": "assistant", "content": "ok."}, user(later)) == later
    pasted = "```md prompts/review.md\n<task>Review the diff</task>\n```\nwhy does this prompt fail?"
    assert ask_of(user(pasted)) == pasted
    # what a person writes after the block stays; a follow-up that begins with a line break, after a reply,
    # is a person's (a Python triple-quoted string), not avante's instructions file
    xml = "<task>Summarise the log</task>\n<log>\nE: timeout\n</log>\nFocus on the retry part."
    assert ask_of(user(xml)) == "Summarise the log\n\n<log>\nE: timeout\n</log>\nFocus on the retry part."
    typed = '\n"""\nWhy does this docstring break the parser?\n"""'
    assert ask_of(user(xml), {"role": "assistant", "content": "It retries twice."}, user(typed)) == typed.strip()
    # the tags come from routes.yaml: none, and the last message is read as it is
    reader = AskReader.compile(AskConfig(task_tags=[]))
    assert ask_of(user(f"<task>{ASK}</task>"), user(AVANTE_MD), reader=reader) == AVANTE_MD.strip()
    # an unclosed tag is not a block
    assert ask_of(user(f"<task>{ASK}"), user(later)) == later


def test_names_pattern_matches_each_name_in_any_case_and_nothing_else() -> None:
    names = ["env", "environment_context", "environment_details", "Todos", "system-reminder", "env-x"]
    pattern = re.compile(names_pattern(names), re.IGNORECASE)
    for name in names:
        assert pattern.fullmatch(name) and pattern.fullmatch(name.upper()) and pattern.fullmatch(name.lower())
    for other in ["en", "environment", "environment_", "todo", "system-", "environment_contexts", ""]:
        assert pattern.fullmatch(other) is None, other
    # a longer name that goes on from a shorter one is the one taken
    opening = re.compile(rf"<({names_pattern(names)})\b[^<>]*>", re.IGNORECASE)
    assert [m.group(1) for m in opening.finditer("<env-x a=1> <ENV> <environment_details>")] == [
        "env-x",
        "ENV",
        "environment_details",
    ]


def test_a_tag_name_too_long_for_the_tree_still_makes_a_pattern() -> None:
    """The tree is built by recursion: a 1,000-character name was a RecursionError at load."""
    names = ["a" * 1000, "env"]
    reader = AskReader.compile(AskConfig(drop_tags=names))
    assert reader.read(f"<{'a' * 1000}>x</{'a' * 1000}>keep <ENV>y</env>") == "keep"


def test_a_message_of_angle_brackets_reads_as_itself() -> None:
    reader = AskReader.compile(AskConfig())
    for text in ["<" * 50_000, "<t" * 25_000, "<todos" * 10_000]:
        assert reader.read(text) == text
    assert reader.read("<" * 1000 + "<todos>plan</todos>fix it") == "<" * 1000 + "fix it"


# --- a short answer to the assistant's question: the work is the ask before it -----------------------

HARD = "our upload handler joins the archive's member names onto the target directory: is that exploitable?"
OFFER = "Yes: a member named ../../etc/cron.d/x escapes it (zip slip). Want me to make the change?"


def test_a_short_answer_to_the_assistants_question_is_read_with_the_ask_before_it() -> None:
    """ "go ahead" alone reads as trivial work; what it agrees to is the ask the question followed."""
    got = ask_of(user(HARD), {"role": "assistant", "content": OFFER}, user("go ahead"))
    assert got == HARD + "\n\ngo ahead"
    bold = ask_of(user(HARD), {"role": "assistant", "content": "Yes. **Want me to make the change?**"}, user("yes"))
    assert bold == HARD + "\n\nyes"
    fullwidth = ask_of(user(HARD), {"role": "assistant", "content": "要我修改吗\uff1f"}, user("好的"))
    assert fullwidth == HARD + "\n\n好的"


def test_claude_codes_and_aiders_short_answers_are_read_with_the_task() -> None:
    """As each client sends them: Claude Code's text blocks (a reminder beside the answer), aider's answer with its
    edit format's rules appended and its own messages before the conversation."""
    reminder = "<system-reminder>todo list is empty</system-reminder>"
    claude = ClaudeCode().user(HARD).said(OFFER).user(reminder, "ok do it")
    assert claude.features()["ask_text"] == HARD + "\n\nok do it"
    body = aider((HARD, OFFER), ask="go ahead", files={"app/upload.py": "def save(z): ..."}, repo_map="app/x.py")
    assert ask_of(*body["messages"]) == HARD + "\n\ngo ahead"


@pytest.mark.parametrize(
    ("said", "answer"),
    [
        ("Done: the member names are checked against the target directory now.", "go ahead"),  # no question
        (OFFER, "go ahead, and also log every rejected member name with the archive's id and the user who sent it"),
        (OFFER, "like this?\n```py\nos.path.commonpath([t, p]) == t\n```"),  # code of its own
        ("Anything else?", "is our JWT check open to algorithm confusion?"),  # a question of its own
        ("Anything else?", "find the race in our epoll reactor that drops wakeups"),  # more than a few words
        ("Run it as:\n```sql\nSELECT id FROM users WHERE name = ?\n```", "thanks"),  # code ends in "?"
        ("The pattern is `(:\\d+)?`", "thanks"),
        ("Call it as `input('Continue?')`", "thanks"),
    ],
)
def test_other_follow_ups_are_read_alone(said: str, answer: str) -> None:
    assert ask_of(user(HARD), {"role": "assistant", "content": said}, user(answer)) == answer.strip()


#: Continue's chat mode, as it sends a conversation: its rules as the system prompt, a question over a pasted block
CONTINUE_RULES = (
    "<important_rules>\n  You are in chat mode.\n\n  If the user asks to make changes to files offer that they can use "
    "the Apply Button on the code block, or switch to Agent Mode to make the suggested updates automatically.\n"
    "</important_rules>"
)
RING = (
    "is this ring buffer correct on ARM? producer and consumer on different cores\n\n```cpp\nvoid push(T v) {\n"
    "  auto t = tail_.load(std::memory_order_relaxed);\n  buf_[t % N] = v;  // writte the slot\n"
    "  tail_.store(t + 1, std::memory_order_relaxed);\n}\n```"
)
RING_OFFER = (
    "No. With relaxed stores the consumer can observe the new `tail_` before the slot's contents on ARM: the store to "
    "`tail_` must be `memory_order_release` and the consumer's load of it `memory_order_acquire`. Want me to rewrite "
    "push() and pop() with the correct orderings?"
)


@pytest.mark.parametrize(
    "answer",
    [
        "no, just fix the typo in the comment",
        "nah i'll do that. rename buf_ to slots_",
        "no thanks. add a doc comment to pop",
        "nope",
        "don't, I'll do it myself",
        "not now",
    ],
)
def test_an_answer_that_declines_the_assistants_offer_is_read_alone(answer: str) -> None:
    """ "no, just fix the typo in the comment" after "Want me to rewrite push() and pop()...?" was read with the
    memory-ordering question before it (opus): the offered work is declined, and the answer asks its own."""
    offer = {"role": "assistant", "content": RING_OFFER}
    continue_chat = ask_of({"role": "system", "content": CONTINUE_RULES}, user(RING), offer, user(answer))
    assert continue_chat == answer
    reminder = "<system-reminder>todo list is empty</system-reminder>"
    claude = ClaudeCode().user(RING).said(RING_OFFER).user(reminder, answer)
    assert claude.features()["ask_text"] == answer


@pytest.mark.parametrize(
    ("said", "answer"),
    [
        (RING_OFFER, "yes please"),
        (RING_OFFER, "go ahead"),
        (RING_OFFER, "no problem, go ahead"),
        (RING_OFFER, "yes, but with seq_cst instead"),  # agrees, and changes how
        (RING_OFFER.replace("Want me to rewrite", "Should I rewrite"), "ok"),
        # agrees, and changes how: the offered work is still wanted
        (RING_OFFER, "go ahead, but with seq_cst instead"),
        (RING_OFFER, "please do, with acq_rel instead of relaxed"),
        (RING_OFFER, "use a mutex instead"),
        (RING_OFFER, "no need to ask, just do it"),
        # a question for facts, not an offer: "no" answers it, and the work is still the ask before it
        ("Which compiler? Is this built with -fno-strict-aliasing?", "no, plain -O2"),
        ("Depends on the consumer. Is pop() called from more than one thread?", "nope, single consumer"),
    ],
)
def test_an_answer_that_agrees_or_answers_a_question_for_facts_is_read_with_the_ask(said: str, answer: str) -> None:
    assert ask_of(user(RING), {"role": "assistant", "content": said}, user(answer)) == RING + "\n\n" + answer


@pytest.mark.parametrize(
    "offer",
    [
        RING_OFFER.replace("Want me to rewrite", "Should I rewrite"),
        RING_OFFER.replace("Want me to rewrite", "Done reviewing, so should I rewrite"),
        RING_OFFER.replace("Want me to rewrite", "Okay, shall I rewrite"),
    ],
)
def test_a_should_i_or_shall_i_offer_declined_is_read_alone(offer: str) -> None:
    assert ask_of(user(RING), {"role": "assistant", "content": offer}, user("no, just fix the typo")) == (
        "no, just fix the typo"
    )


def test_with_no_offer_patterns_a_decline_is_read_with_the_ask_before_it() -> None:
    off = AskReader.compile(AskConfig(offer_patterns=[]))
    declined = ask_of(user(RING), {"role": "assistant", "content": RING_OFFER}, user("nope"), reader=off)
    assert declined == RING + "\n\nnope"


def test_an_answer_after_a_tool_call_or_with_reply_chars_0_is_read_alone() -> None:
    call = {"id": "t1", "function": {"name": "Read", "arguments": '{"p":"a.py"}'}}
    asked = {"role": "assistant", "content": "Shall I read it?", "tool_calls": [call]}
    tool = {"role": "tool", "tool_call_id": "t1", "content": FILE}
    assert ask_of(user(HARD), asked, tool, user("go ahead")) == "go ahead"
    off = AskReader.compile(AskConfig(reply_chars=0))
    assert ask_of(user(HARD), {"role": "assistant", "content": OFFER}, user("go ahead"), reader=off) == "go ahead"


EXACTLY_ONCE = (
    "our order events are sometimes applied twice by the inventory service after a consumer crash. make the pipeline "
    "exactly-once from order placement to stock decrement"
)
BROKER = "Which message broker does the inventory service consume from?"


def test_a_short_answer_to_a_question_asked_as_a_tool_call_is_read_with_the_task() -> None:
    """Cline's ask_followup_question in its XML mode (the answer in a text tool result), and Roo Code's native one
    (a role tool message): "Kafka" alone replaced the exactly-once redesign as the ask."""
    cline = ask_of(
        {"role": "system", "content": "You are Cline, a highly skilled software engineer."},
        user(f"<task>\n{EXACTLY_ONCE}\n</task>"),
        {
            "role": "assistant",
            "content": f"<ask_followup_question>\n<question>{BROKER}</question>\n</ask_followup_question>",
        },
        user(f"[ask_followup_question for '{BROKER}'] Result:\n<answer>\nKafka\n</answer>"),
    )
    assert cline == EXACTLY_ONCE + "\n\nKafka"
    call = {"id": "q1", "function": {"name": "ask_followup_question", "arguments": json.dumps({"question": BROKER})}}
    roo = ask_of(
        user(f"<task>\n{EXACTLY_ONCE}\n</task>"),
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "q1", "content": "<answer>\nKafka\n</answer>"},
    )
    assert roo == EXACTLY_ONCE + "\n\nKafka"


def test_an_answer_in_another_tools_result_or_a_long_one_is_read_alone() -> None:
    """Feedback after attempt_completion is new work of its own; a long answer is an ask of its own; a tool not in
    question_tools asks nothing."""
    done = (
        "[attempt_completion] Result:\nThe user has provided feedback on the results.\n<feedback>\nuse Go\n</feedback>"
    )
    assert ask_of(user(f"<task>\n{EXACTLY_ONCE}\n</task>"), {"role": "assistant", "content": "Done."}, user(done)) == (
        "use Go"
    )
    long = "Kafka, but also make the stock service's consumer idempotent on the order id and add a dedupe table"
    answer = f"[ask_followup_question for '{BROKER}'] Result:\n<answer>\n{long}\n</answer>"
    assert ask_of(user(f"<task>\n{EXACTLY_ONCE}\n</task>"), {"role": "assistant", "content": "?"}, user(answer)) == long
    off = AskReader.compile(AskConfig(question_tools=[]))
    kafka = f"[ask_followup_question for '{BROKER}'] Result:\n<answer>\nKafka\n</answer>"
    assert ask_of(
        user(f"<task>\n{EXACTLY_ONCE}\n</task>"), {"role": "assistant", "content": "?"}, user(kafka), reader=off
    ) == ("Kafka")


RESERVE = "Fix the inventory reservation so the sum across warehouses never exceeds the global cap. Postgres."
#: OpenHands' reply when the agent stops to ask and no person is there (fake_user_response_fn)
OPENHANDS_CONTINUE = (
    "Please continue working on the task on whatever approach you think is suitable.\nIf you think you have solved "
    "the task, please first send your answer to user through message and then finish the interaction.\nIMPORTANT: YOU "
    "SHOULD NEVER ASK FOR HUMAN HELP.\n"
)
#: Codex's summary after compacting (its summary prefix, then the summary)
CODEX_SUMMARY = (
    "Another language model started to solve this problem and produced a summary of its thinking process. You also "
    "have access to the state of the tools that were used by that language model. Use this to build on the work that "
    "has already been done and avoid duplicating work. Here is the summary produced by the other language model, use "
    "the information in this summary to assist with your own analysis:\nRead oncall/service.py and tests. No edits "
    "yet. Next: pick a fix and run the tests."
)


def test_openhands_auto_continue_and_codexs_summary_are_not_the_ask() -> None:
    asked = {"role": "assistant", "content": "Should I use SERIALIZABLE or a lock row per SKU?"}
    assert ask_of(user(RESERVE), asked, user(OPENHANDS_CONTINUE)) == RESERVE
    assert ask_of(user(RESERVE), user(CODEX_SUMMARY)) == RESERVE
    # a person's own "please continue" is theirs: their answer to the question, read with the task
    assert (
        ask_of(user(RESERVE), asked, user("Please continue, use a lock row"))
        == f"{RESERVE}\n\nPlease continue, use a lock row"
    )


def test_codexs_and_claude_codes_injected_blocks_are_not_the_ask() -> None:
    """Codex's sub-agent report, interrupted turn, skill and hook prompt; Claude Code's opened-file note and
    diagnostics: the client's. A command the person ran in Codex (`!`) is theirs; a selection in Claude Code's IDE
    is the code the ask is about."""
    report = '{"agent_id":"019a","status":"completed","message":"Found 3."}'
    notified = f"<subagent_notification>\n{report}\n</subagent_notification>"
    for injected in (
        notified,
        "<turn_aborted>\nThe user interrupted the previous turn.\n</turn_aborted>",
        "<skill>\n<name>pdf</name>\n<path>/home/dev/.codex/skills/pdf/SKILL.md</path>\nUse pdftotext.\n</skill>",
        "<hook_prompt>\nRun the linter before you finish.\n</hook_prompt>",
    ):
        assert ask_of(user(RESERVE), {"role": "assistant", "content": "Looking."}, user(injected)) == RESERVE, injected
    shell = "<user_shell_command>\n<command>\npytest -q\n</command>\n</user_shell_command>"
    assert ask_of(user(RESERVE), {"role": "assistant", "content": "Looking."}, user(shell)) == shell
    opened = (
        "<ide_opened_file>The user opened the file /home/dev/proj/src/consensus/raft_log.go in the IDE. This may or "
        "may not be related to the current task.</ide_opened_file>"
    )
    comment = "add a comment above the struct saying what it is"
    assert ClaudeCode().user(opened, comment).features()["ask_text"] == comment
    diagnostics = "<ide_diagnostics>raft_log.go:12:2: unused variable</ide_diagnostics>"
    assert ClaudeCode().user(diagnostics, comment).features()["ask_text"] == comment
    selected = (
        "<ide_selection>The user selected the lines 3 to 4 from /home/dev/proj/src/log.go:\ntype Log struct {\n\t"
        "entries []Entry\n\nThis may or may not be related to the current task.</ide_selection>"
    )
    assert ClaudeCode().user(selected, comment).features()["ask_text"] == (
        f"type Log struct {{\n\tentries []Entry\n{comment}"
    )


# --- Claude Code's summary after compacting: not the person's ask ------------------------------------

#: As Claude Code 2.1.332 opens the first user message after compacting (its own text block), the summary cut.
COMPACTED = (
    "This session is being continued from a previous conversation that ran out of context. The summary below "
    "covers the earlier portion of the conversation.\n\n<system-reminder>\n<tools-used-before-summary>"
    "</tools-used-before-summary>\n</system-reminder>\nSummary:\n1. Primary Request: rename slugify to make_slug in "
    "utils/strings.py. 2. Pending: none.\n\nIf you need specific details from before compaction (like exact code "
    "snippets, error messages, or content you generated), read the full transcript at: /home/dev/.claude/projects/"
    "-srv-app/b00dd86a.jsonl\n\nContinue the conversation from where it left off without asking the user any "
    "further questions. Resume directly — do not acknowledge the summary, do not recap what was happening, do not "
    'preface with "I\'ll continue" or similar. Pick up the last task as if the break never happened.\n\nThe '
    "messages after this summary are the most recent messages from before compaction, kept verbatim. The summary "
    "was written without seeing them, so something it says has not happened yet may already have happened in "
    "them.\n"
)
#: Earlier versions: the summary, then the instruction to go on, as a message of its own.
COMPACTED_EARLIER = (
    "This session is being continued from a previous conversation that ran out of context. The conversation is "
    "summarized below:\nAnalysis:\nThe user asked for a lock-free ring buffer; I wrote it and its tests.\n\nPlease "
    "continue the conversation from where we left it off without asking the user any further questions. Continue "
    "with the last task that you were asked to work on."
)


def test_claude_codes_summary_after_compacting_is_not_the_ask() -> None:
    """Read as the ask, the summary of a long session judged a "thanks" after it as the session's hardest work
    (opus), and stickiness then held the compacted session there."""
    reminder = (
        "<system-reminder>\nAttribution for git commits: end them with a Co-Authored-By line.\n</system-reminder>"
    )
    assert ClaudeCode().user(reminder, COMPACTED, "now also update the README mention").features()["ask_text"] == (
        "now also update the README mention"
    )
    earlier = ClaudeCode().user(COMPACTED_EARLIER).said("Continuing.").user("thanks")
    assert earlier.features()["ask_text"] == "thanks"


def test_claude_codes_summary_alone_is_the_task_it_goes_on_with() -> None:
    """After compacting on its own, Claude Code goes on with the task unasked: the summary is that task (read
    as no ask, a lease split-brain fix in progress fell to the tool floor)."""
    summary = (
        "The conversation is summarized below:\nAnalysis:\nThe user asked for a lock-free ring buffer; I wrote it "
        "and its tests."
    )
    assert ClaudeCode().user(COMPACTED_EARLIER).features()["ask_text"] == (
        summary + "\n\nPlease continue the conversation from where we left it off without asking the user any further "
        "questions."
    )
    reminder = "<system-reminder>todo list is empty</system-reminder>"
    unmarked = COMPACTED_EARLIER.split("\n\nPlease continue")[0]
    assert ClaudeCode().user(reminder, unmarked).features()["ask_text"] == summary
    # a summary of no known ending runs to the message's end: the words after it are read with it, not lost
    asked = ClaudeCode().user(unmarked, "why does it drop items?").features()["ask_text"]
    assert asked == summary + "\nwhy does it drop items?"


def test_blocks_are_found_by_one_search_where_their_starts_join_and_by_each_where_they_cannot() -> None:
    """A message in which no block starts is read by one search of every start at once. A start that refers
    to its own group (or sets a global flag) cannot join the others, and each block is then searched alone:
    the blocks cut are the same either way."""
    joined = [BlockMarker("<noise>", "</noise>"), BlockMarker(r"\[said ", r"\]", keep=True)]
    backref = [BlockMarker(r"<(\w+)>(?=.*</\1>)", r"</\w+>"), BlockMarker(r"\[said ", r"\]", keep=True)]
    flagged = [BlockMarker("(?i)<noise>", "</noise>"), BlockMarker(r"\[said ", r"\]", keep=True)]
    readers = [AskReader.compile(AskConfig(blocks=b)) for b in (joined, backref, flagged)]
    starts = [r.block_starts.pattern if r.block_starts is not None else None for r in readers]
    assert starts == [r"(?:<noise>)|(?:\[said )", None, None]
    for text in (f"<noise>x\ny</noise>{ASK} [said now]", f"<NOISE>x</NOISE>{ASK}", ASK, f"{ASK} <b>y</a>"):
        want = "".join(re.split(r"<noise>.*?</noise>", text, flags=re.S)).replace("[said now]", "now").strip()
        assert readers[0].clean(text) == want
    assert readers[1].clean(f"<noise>x</noise>{ASK} [said now]") == f"{ASK} now"
    assert readers[1].clean(f"{ASK} <b>y</a> [said it]") == f"{ASK} <b>y</a> it"
    assert readers[2].clean(f"<NOISE>x</noise>{ASK} [said now]") == f"{ASK} now"


def test_a_block_whose_start_and_end_match_nothing_ends_the_read() -> None:
    """A block whose start and end may both match an empty text at one place read that place again forever,
    every request hanging its worker and growing without bound."""
    # the whole message is one block; then every stretch up to a word's letter is one (the spaces, "<", ">")
    for start, end, read in ((r"(?:<ctx>)?", r"$", ""), (r"(?:<x>)?", r"(?=\w)|$", "fixthebugxnow")):
        reader = AskReader.compile(AskConfig(blocks=[BlockMarker(start, end)]))
        assert reader.clean("fix the bug <x>now") == read
    kept = AskReader.compile(AskConfig(blocks=[BlockMarker(r"\[?", r"\]?", keep=True)]))
    assert kept.clean("[said now] and more") == "said now and more"


def test_attachments_are_told_from_walls_in_one_pass_as_each_against_every_wall_told_them() -> None:
    """The attachments outside every dropped block, found in one pass over both (a check of each against every
    block took 90 s on a 2 MB message): the same as that check, for random layouts, where blocks that overlap
    count as the one stretch they cover together."""
    from tiergate.rules.ask import _outside

    rng = random.Random(7)
    for _ in range(2000):
        cuts = sorted(rng.sample(range(200), 2 * rng.randint(0, 8)))
        spans = [(a, a + 1, b - 1, b) for a, b in zip(cuts[::2], cuts[1::2], strict=True)]
        walls = [(a, a + rng.randint(0, 60)) for a in (rng.randrange(200) for _ in range(rng.randint(0, 6)))]
        stretches: list[tuple[int, int]] = []
        for start, end in sorted(walls):
            if stretches and start <= stretches[-1][1]:
                stretches[-1] = (stretches[-1][0], max(stretches[-1][1], end))
            else:
                stretches.append((start, end))
        each = [span for span in spans if not any(s <= span[0] and span[3] <= e for s, e in stretches)]
        assert _outside(spans, walls) == each, (spans, walls)
