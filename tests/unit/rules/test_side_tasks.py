"""The shipped ``client_side_task`` rule (routes.yaml) knows each client's own side requests by their system
prompt (Continue's title by its user message), and no coding prompt that only names a title or a commit
message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.agent_clients import ClaudeCode
from tests.helpers import graph, request
from tiergate.protocols.anthropic.ingress import decode
from tiergate.rules.features import Features

ROOT = Path(__file__).resolve().parents[3]
ASK = "Prove that this lock-free queue is linearizable under the C++ memory model, and find the ABA race"


def side_task_rule() -> str:
    """routes.yaml's rule and the keyword list it reads, alone: no learned head to load."""
    routing = yaml.safe_load((ROOT / "routes.yaml").read_text())["routing"]
    rule = next(r for r in routing["rules"] if r["name"] == "client_side_task")
    only = {"keywords": {"side_tasks": routing["keywords"]["side_tasks"]}, "rules": [rule]}
    return yaml.safe_dump({"routing": only})


RULE = graph(side_task_rule())


#: What a client's commit-message request sends as the user message: the diff (aider's "# Diffs:" then git's).
DIFF = (
    "# Diffs:\ndiff --git a/src/queue.cpp b/src/queue.cpp\n--- a/src/queue.cpp\n+++ b/src/queue.cpp\n"
    "@@ -10,3 +10,3 @@\n-  head.store(next, std::memory_order_relaxed);\n"
    "+  head.store(next, std::memory_order_release);\n"
)


def fires(system: str, user: str = ASK, **extra: Any) -> bool:
    req = request(messages=[{"role": "system", "content": system}, {"role": "user", "content": user}], **extra)
    return "client_side_task" in [s.name for s in RULE.phase1(Features.of(req)).signals]


SIDE_REQUESTS = {
    "aider, commit message": (
        "You are an expert software engineer that generates concise, one-line Git commit messages based on the "
        "provided diffs.\nReview the provided context and diffs which are about to be committed to a git repo."
    ),
    "aider, history summary": "*Briefly* summarize this partial conversation about programming.\nInclude less detail "
    "about older parts and more detail about the most recent messages.",
    "Claude Code, topic check": "Analyze if this message indicates a new conversation topic. If it does, extract a "
    "2-3 word title that captures the new topic. Format your response as a JSON object with two fields: "
    "'isNewTopic' (boolean) and 'title' (string, or null if isNewTopic is false).",
    "Claude Code, session title": "Generate a concise, sentence-case title (3-7 words) that captures the main topic "
    'or goal of this coding session. Return JSON with a single "title" field.',
    "Claude Code, conversation summary": "Summarize this coding conversation in under 50 characters.\nCapture the "
    "main task, key files, problems addressed, and current status.",
    "Copilot Chat, chat title": "You are an expert in crafting pithy titles for chatbot conversations. You are "
    "presented with a chat request, and you reply with a brief title that captures the main topic of that request.",
    "Copilot Chat, commit message": "You are an AI programming assistant, helping a software developer to come with "
    "the best git commit message for their code changes.",
    "Cursor, commit message": "You are an expert at writing Git commit messages. Generate a concise commit message "
    "for the staged changes below. Use the conventional commits format.",
    "opencode, title": "You are a title generator. You output ONLY a thread title. Nothing else.",
    "Claude Code, tool-call label": "Write a short summary label describing what these tool calls accomplished. "
    "Reply with the label only.",
    "chat UI, title": "Given the following chat, reply with a title for the chat that is 3-4 words in length.",
    "chat UI, titles": "You write short titles for chat conversations, eight words or fewer. Reply with the title "
    "only.",
    "Open WebUI, title": "Generate a concise, 3-5 word title with an emoji summarizing the chat history.",
}

CODING_PROMPTS = {
    "an HTML <title>": "You are a senior front-end developer. Every page the user shows you needs a unique <title> "
    "tag and a meta description; point out the pages that lack one.",
    "the title of the issue": "You are a coding assistant for our issue tracker. Read the title of the issue and "
    "its stack trace, then propose a fix with a failing test first.",
    "titles in the code": "You are a Django expert. The Article model has title and slug fields; keep titles "
    "unique per author when you change the models.",
    "a commit message convention": "You are a helpful coding assistant. Follow the repository's conventions and "
    "write clear commit messages.",
    # a commit message asked as part of an answer, not as the task
    "a team's prompt asking for one with each change": "You are the platform team's assistant. Be concise. When you "
    "suggest code changes, include a commit message for the changes in conventional-commit form.",
    "a person's rule in Continue": "<important_rules>\n  You are in chat mode.\n</important_rules>\n\n<rules>\nAlways "
    "end with a one-line commit message describing the changes.\n</rules>",
    # titles of something else than the conversation
    "titles of pages": "You are DocsBot for the platform handbook. Keep answers short. Use sentence-case titles for "
    "session pages and link to the runbook when relevant.",
    "titles of sessions in a handbook": "You are DocsBot. Use sentence-case titles for sessions in the handbook.",
    # a title the bot may be asked for, with why ("so it can ..."): not the prompt's own task
    "a thread's title for a FAQ": "You are DevBot, our Slack assistant. Engineers may ask you to suggest a title for "
    "the thread so it can go in the FAQ.",
    "diffs, then a commit message": "Show changes as unified diffs and add a commit message after them.",
}


#: A team's or a person's prompt asking, in a client's words, for a commit message with each answer. Only the
#: request tells it from a client's: a client asking for a commit message sends the changes, as a diff.
TEAM_COMMIT_PROMPTS = {
    "a team's prompt, when the work is done": "You are the platform team's assistant. Be concise. When you finish, "
    "write a short commit message for the changes.",
    "a fix, then its commit message": "When you propose a fix, write a short commit message for the changes at the "
    "end.",
}
CLIENT_COMMIT_PROMPTS = {name: prompt for name, prompt in SIDE_REQUESTS.items() if "commit" in name}


@pytest.mark.parametrize(
    "system",
    [*TEAM_COMMIT_PROMPTS.values(), *CLIENT_COMMIT_PROMPTS.values()],
    ids=[*TEAM_COMMIT_PROMPTS, *CLIENT_COMMIT_PROMPTS],
)
def test_a_commit_message_prompt_without_a_diff_to_describe_is_not_one(system: str) -> None:
    """A hard question under a team's "write a short commit message for the changes" went LOCAL as a client's
    commit request; a client's sends the diff, a question asked under the same words does not. (With a diff
    pasted under a team's prompt, the words and the diff are a client's: that request still reads as one.)"""
    assert not fires(system)


#: How clients frame the changes they send for a commit message.
DIFF_FRAMES = {
    "aider": DIFF,
    # Copilot Chat (prompts/node/git/gitCommitMessagePrompt.tsx): the file with line numbers, then its diff in a
    # fenced block, then a reminder
    "Copilot Chat": "# ORIGINAL CODE:\n```cpp\n// src/queue.cpp\n10 head.store(next, std::memory_order_relaxed);\n```"
    "\n# CODE CHANGES:\n```diff\n" + DIFF.removeprefix("# Diffs:\n") + "```\nNow generate a commit messages that "
    "describe the CODE CHANGES.",
    "git diff --no-prefix": "--- src/queue.cpp\n+++ src/queue.cpp\n@@ -10 +10 @@\n-  head.store(next);\n"
    "+  head.store(next, std::memory_order_release);\n",
}


@pytest.mark.parametrize("user", DIFF_FRAMES.values(), ids=DIFF_FRAMES.keys())
@pytest.mark.parametrize("system", CLIENT_COMMIT_PROMPTS.values(), ids=CLIENT_COMMIT_PROMPTS.keys())
def test_a_clients_commit_request_is_one_however_it_frames_the_diff(system: str, user: str) -> None:
    assert fires(system, user)


@pytest.mark.parametrize("system", CODING_PROMPTS.values(), ids=CODING_PROMPTS.keys())
def test_a_coding_prompt_is_not_one_when_the_person_pastes_a_diff_either(system: str) -> None:
    """A diff pasted for review under a team's prompt is no commit-message request: the diff alone does not make
    one, so the prompt still has to ask for the commit message as its task ("Show changes as unified diffs and
    add a commit message after them" asks for one with each answer)."""
    assert not fires(system, DIFF + "\nis this release ordering right?")


@pytest.mark.parametrize(("name", "system"), SIDE_REQUESTS.items(), ids=SIDE_REQUESTS.keys())
def test_each_clients_side_request_is_one(name: str, system: str) -> None:
    assert fires(system, DIFF if "commit" in name else ASK)


@pytest.mark.parametrize("system", CODING_PROMPTS.values(), ids=CODING_PROMPTS.keys())
def test_a_coding_prompt_that_names_a_title_is_not_one(system: str) -> None:
    assert not fires(system)


def test_a_side_request_with_tools_or_a_long_prompt_is_not_one() -> None:
    title = SIDE_REQUESTS["chat UI, title"]
    tool = {"type": "function", "function": {"name": "read_file", "parameters": {"type": "object"}}}
    assert not fires(title, tools=[tool])
    assert not fires(title + " Be concise." * 200)


#: Continue's ChatDescriber (core/util/chatDescriber.ts): its prompt, then the chat's first message without
#: its code blocks, as the only (user) message.
CONTINUE_TITLE = (
    "Given the following... please reply with a title for the chat that is 3-4 words in length, all words used "
    "should be directly related to the content of the chat, avoid using verbs unless they are directly related to "
    "the content of the chat, no additional text or explanation, you don't need ending punctuation.\n\n"
)


#: Side requests whose task is the user message itself, with no system prompt.
USER_SIDE_REQUESTS = {
    "Zed, title": "Generate a concise 3-7 word title for this conversation, omitting punctuation. Go straight to "
    "the title, without any preamble and prefix like `Here's a concise suggestion:...` or `Title:`\n\n" + ASK,
    "Open WebUI, title": "### Task:\nGenerate a concise, 3-5 word title with an emoji summarizing the chat "
    "history.\n### Guidelines:\n- Keep it short.\n### Chat History:\n<chat_history>\nUSER: "
    + ASK
    + "\n</chat_history>",
    "Open WebUI, tags": "### Task:\nGenerate 1-3 broad tags categorizing the main themes of the chat history.\n"
    '### Output:\nJSON format: { "tags": ["tag1"] }\n### Chat History:\n<chat_history>\nUSER: '
    + ASK
    + "\n</chat_history>",
}


@pytest.mark.parametrize("text", USER_SIDE_REQUESTS.values(), ids=USER_SIDE_REQUESTS.keys())
def test_a_side_request_in_the_user_message_is_one(text: str) -> None:
    req = request(messages=[{"role": "user", "content": text}])
    assert "client_side_task" in [s.name for s in RULE.phase1(Features.of(req)).signals]


def test_a_person_asking_about_titles_in_their_own_words_is_not_a_side_request() -> None:
    for text in (
        ASK + "\n\nGenerate a title for the chat page component too.",  # not at the start
        "### Task: fix the race\nThe chat history screen drops messages when two arrive at once.",  # no history quoted
        "Write a function that sets the title of the chat window when a new message arrives",
        "Create a React component that renders the title bar for the chat app",
        "Generate a migration that adds a title column to the chat sessions table",
    ):
        req = request(messages=[{"role": "user", "content": text}])
        assert "client_side_task" not in [s.name for s in RULE.phase1(Features.of(req)).signals], text


def test_continues_title_request_is_one_by_its_user_message() -> None:
    titled = request(messages=[{"role": "user", "content": CONTINUE_TITLE + ASK}])
    assert "client_side_task" in [s.name for s in RULE.phase1(Features.of(titled)).signals]
    quoted = ASK + "\n\nGiven the following... please reply with a title"  # not at the start: a person's words
    asked = request(messages=[{"role": "user", "content": quoted}])
    assert "client_side_task" not in [s.name for s in RULE.phase1(Features.of(asked)).signals]


def test_many_files_counts_the_files_the_person_named_not_a_clients_reminder() -> None:
    """The shipped ``many_files`` rule read ``file_references`` of the whole last message: Claude Code's
    ``<system-reminder>`` naming six open files sent "rename foo to bar" to CLAUDE. It reads the ask's."""
    routing = yaml.safe_load((ROOT / "routes.yaml").read_text())["routing"]
    rule = next(r for r in routing["rules"] if r["name"] == "many_files")
    many = graph(yaml.safe_dump({"routing": {"rules": [rule]}}))
    files = " ".join(f"src/mod{i}.py" for i in range(6))
    reminder = f"<system-reminder>\nThe user opened {files} in the IDE.\n</system-reminder>\nrename foo to bar"
    f = Features.of(request(messages=[{"role": "user", "content": reminder}]))
    assert (f["file_references"], f["ask_file_references"], f["ask_text"]) == (6, 0, "rename foo to bar")
    assert "many_files" not in [s.name for s in many.phase1(f).signals]
    named = Features.of(request(messages=[{"role": "user", "content": f"move the config loading out of {files}"}]))
    assert named["ask_file_references"] == 6 and "many_files" in [s.name for s in many.phase1(named).signals]


def shipped_rule(name: str, *keywords: str) -> Any:
    routing = yaml.safe_load((ROOT / "routes.yaml").read_text())["routing"]
    rule = next(r for r in routing["rules"] if r["name"] == name)
    only = {"keywords": {k: routing["keywords"][k] for k in keywords}, "rules": [rule]}
    return graph(yaml.safe_dump({"routing": only}))


def test_many_files_does_not_count_method_calls_or_pasted_code_as_files() -> None:
    """Six ``r.json()`` calls in a pasted snippet made "rename these variables" a many-files change; paths
    named in words or on a code block's opening line still count."""
    many = shipped_rule("many_files")
    calls = "\n".join(f"const d{i} = await r{i}.json();" for i in range(6))
    for ask in (
        f"rename the variables:\n{calls}",
        "add braces:\n```c\n" + "".join(f'#include "m{i}.h"\n' for i in range(6)) + "```",
    ):
        f = Features.of(request(messages=[{"role": "user", "content": ask}]))
        assert f["ask_file_references"] == 0, ask
        assert "many_files" not in [s.name for s in many.phase1(f).signals]
    traceback = Features.of(request(messages=[{"role": "user", "content": "it fails at main.py(12), utils.py(3)"}]))
    assert traceback["ask_file_references"] == 2  # a file and its line, as tracebacks and compilers write them
    blocks = "".join(f"```python src/m{i}.py\nx = {i}\n```\n" for i in range(6))
    named = Features.of(
        request(messages=[{"role": "user", "content": blocks + "move the logging setup into one module"}])
    )
    assert named["ask_file_references"] == 6 and "many_files" in [s.name for s in many.phase1(named).signals]


PYTEST_V = "".join(f"tests/test_{c}.py::test_ok PASSED\n" for c in "abcdef") + "tests/test_g.py::test_x FAILED\n"


def test_many_files_does_not_count_the_files_a_pasted_test_report_ran() -> None:
    """Seven unfenced pytest -v lines and "which test failed?" made a many-files change (CLAUDE): a runner's
    report line names a file it ran. pytest's outcomes, short summary and progress lines, Jest's and Vitest's
    file lines, through Claude Code's body and a plain chat one; a person naming node ids to fix still names
    their files."""
    many = shipped_rule("many_files")
    reports = [
        PYTEST_V,
        "".join(f"tests/test_{c}.py::test_ok[1-2] PASSED          [ {i}%]\n" for i, c in enumerate("abcdefg")),
        "".join(f"FAILED tests/test_{c}.py::test_x - AssertionError: assert 1 == 2\n" for c in "abcdefg"),
        "".join(f"tests/test_{c}.py ..F.                 [ {i * 10}%]\n" for i, c in enumerate("abcdefg")),
        "".join(f"PASS src/{c}.test.ts\n FAIL  src/{c}/cache.test.ts (5.2 s)\n" for c in "abcdefg"),
        "".join(
            f" \u2713 src/{c}.test.ts (3 tests) 12ms\n   \u00d7 src/{c}.test.ts > cache > expires 5ms\n"
            for c in "abcdefg"
        ),
    ]
    for report in reports:
        for f in (
            Features.of(request(messages=[{"role": "user", "content": report + "\nwhich test failed?"}])),
            ClaudeCode().user(report + "\nwhich test failed?").features(),
        ):
            assert (f["ask_file_references"], f["file_references"]) == (0, 0), report
            assert "many_files" not in [s.name for s in many.phase1(f).signals]
    named = "make these pass: " + ", ".join(f"tests/test_{c}.py::test_x" for c in "abcdef")
    f = Features.of(request(messages=[{"role": "user", "content": named}]))
    assert f["ask_file_references"] == 6 and "many_files" in [s.name for s in many.phase1(f).signals]
    listed = "".join(f"PASS src/{c}.ts to the logger\n" for c in "abcdef")  # a status word, then the person's words
    assert Features.of(request(messages=[{"role": "user", "content": listed}]))["ask_file_references"] == 6


DIFFSTAT = (
    " catalog/api.py                 | 12 +++++---\n catalog/export.py              | 41 ++++++++++++++++++++\n"
    " catalog/templates/export.html  | 18 +++++++++\n tests/test_export.py           | 27 +++++++++++++\n"
    " README.md                      |  4 ++\n pyproject.toml                 |  1 +\n"
    " docs/export.md                 | 22 +++++++++++\n 7 files changed, 121 insertions(+), 4 deletions(-)"
)
TRACEBACK = (
    "Traceback (most recent call last):\n"
    + "".join(f'  File "/srv/app/shop/m{i}.py", line {i + 10}, in run\n    step_{i}()\n' for i in range(7))
    + "KeyError: 'SKU-1182'"
)
GIT_STATUS = (
    'On branch feat/csv-export\nChanges to be committed:\n  (use "git restore --staged <file>..." to unstage)\n'
    "\tmodified:   catalog/api.py\n\tmodified:   catalog/export.py\n\tnew file:   catalog/templates/export.html\n"
    "\trenamed:    tests/old.py -> tests/test_export.py\n\tmodified:   README.md\n\tdeleted:    setup.py\n"
    "\tnew file:   docs/export.md"
)


@pytest.mark.parametrize(
    "output",
    [
        DIFFSTAT,
        "".join(f" src/{{m{i}.py => n{i}.py}} | {i + 1} ++--\n" for i in range(4)) + " 4 files changed\n",  # renames
        "".join(f" old{i}.py => new{i}.py | 3 +\n" for i in range(4)) + " 4 files changed\n",  # renamed at the top
        TRACEBACK,
        GIT_STATUS,
        "".join(f" M src/m{i}.py\n" for i in range(4)) + "?? notes.md\nA  docs/x.md\n",  # git status --short
        "".join(f"src/m{i}.c:12:5: error: 'x' undeclared\n" for i in range(7)),  # gcc, clang, go vet, mypy, ruff
        "".join(f"error[E0308]: mismatched types\n  --> src/m{i}.rs:3:5\n" for i in range(7)),  # rustc
        "".join(f"src/m{i}.ts(3,5): error TS2322: not assignable\n" for i in range(7)),  # tsc
        "".join(f"\tat com.acme.M{i}.run(M{i}.java:12)\n" for i in range(7)),  # a JVM stack trace
        "".join(f"    at handler (/srv/app/m{i}.js:12:5)\n" for i in range(7)),  # Node's
    ],
)
def test_many_files_does_not_count_the_files_pasted_tool_output_names(output: str) -> None:
    """ "sort these lines by the number of changed lines" over an unfenced `git diff --stat` of seven files was a
    many-files change (CLAUDE) though the head read it local: the files a tool's output reports on are not files
    the person named. Unfenced, in a plain chat and in Claude Code's body."""
    many = shipped_rule("many_files")
    for f in (
        Features.of(request(messages=[{"role": "user", "content": "sort these lines by size\n\n" + output}])),
        ClaudeCode().user("write a one line commit message for this\n" + output).features(),
    ):
        assert (f["ask_file_references"], f["file_references"]) == (0, 0), output
        assert "many_files" not in [s.name for s in many.phase1(f).signals]


def test_many_files_still_counts_the_files_a_person_lists_or_names_with_a_line() -> None:
    many = shipped_rule("many_files")
    for said in (
        "move the logging setup out of these:\n" + "".join(f"- src/m{i}.py\n" for i in range(6)),
        "move the logging setup out of these:\n" + "".join(f"  src/m{i}.py\n" for i in range(6)),
        "the bug is in src/a.py:12, src/b.py:30, c.py:4, d.py:5, e.py:6 and f.py:7",
        DIFFSTAT + "\n\nnow split catalog/export.py, catalog/api.py, tests/a.py, b.py, c.py and docs/d.md",
    ):
        f = Features.of(request(messages=[{"role": "user", "content": said}]))
        assert f["ask_file_references"] == 6 and "many_files" in [s.name for s in many.phase1(f).signals], said


def test_multi_file_change_reads_the_persons_words_not_the_code_they_pasted() -> None:
    rule = shipped_rule("multi_file_change", "multi_file")
    pasted = "add type hints:\n```python\ndef walk(root):\n    # walk every file under root\n    ...\n```"
    f = Features.of(request(messages=[{"role": "user", "content": pasted}]))
    assert "multi_file_change" not in [s.name for s in rule.phase1(f).signals]
    said = Features.of(request(messages=[{"role": "user", "content": "rename the loader in every file"}]))
    assert "multi_file_change" in [s.name for s in rule.phase1(said).signals]


#: Continue's chat-mode system message (core/llm/defaultSystemMessages.ts) names Agent Mode only to point the
#: person at it; its agent-mode message says the mode it is in.
CONTINUE_CHAT = (
    "<important_rules>\n  You are in chat mode.\n\n  If the user asks to make changes to files offer that they can "
    "use the Apply Button on the code block, or switch to Agent Mode to make the suggested updates automatically."
    "\n</important_rules>"
)


def test_continues_chat_mode_is_not_an_agentic_system_prompt_its_agent_mode_is() -> None:
    rule = shipped_rule("agentic_system_prompt", "agentic_markers")
    for system, agentic in (
        (CONTINUE_CHAT, False),
        ("<important_rules>\n  You are in agent mode.\n</important_rules>", True),
    ):
        req = request(messages=[{"role": "system", "content": system}, {"role": "user", "content": "format this"}])
        assert ("agentic_system_prompt" in [s.name for s in rule.phase1(Features.of(req)).signals]) is agentic


FIXTURES = ROOT / "tests" / "unit" / "protocols" / "fixtures"


def test_claude_codes_session_title_is_one_under_its_long_system_prompt() -> None:
    """Claude Code asks for a session's title with its own system prompt (about 3,300 characters, "You are
    Claude Code" among them, trimmed in the captured fixture) and the session's opening inside ``<session>``:
    the system prompt's length kept it from the rule, and it went to sonnet as an agentic prompt."""
    captured = json.loads((FIXTURES / "anthropic-claude-code-2.1.332-title.json").read_text())
    body = captured["body"]
    body["system"][2]["text"] += " Keep it short." * 180  # the length it has as Claude Code sends it
    req = decode(json.dumps(body).encode(), {})
    f = Features.of(req)
    assert f["system_chars"] > 2000 and f["tools_present"] is False
    assert "client_side_task" in [s.name for s in RULE.phase1(f).signals]
    # with Claude Code's `language` setting, the instruction names the language
    said = body["messages"][0]["content"][0]
    said["text"] = said["text"].split("Write the title")[0] + (
        "Write the title in Japanese. Keep technical terms and code identifiers in their original form."
    )
    in_japanese = Features.of(decode(json.dumps(body).encode(), {}))
    assert "client_side_task" in [s.name for s in RULE.phase1(in_japanese).signals]
    # a person's message that quotes the template's tag is not one
    quoted = request(messages=[{"role": "user", "content": "what does <session> mean in this template?"}])
    assert "client_side_task" not in [s.name for s in RULE.phase1(Features.of(quoted)).signals]


def test_a_clients_template_in_the_user_message_is_one_whatever_the_system_prompt() -> None:
    long_system = "You are a helpful assistant for the platform team. " * 60
    text = USER_SIDE_REQUESTS["Zed, title"]
    req = request(messages=[{"role": "system", "content": long_system}, {"role": "user", "content": text}])
    assert "client_side_task" in [s.name for s in RULE.phase1(Features.of(req)).signals]
