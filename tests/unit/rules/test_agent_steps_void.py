"""Void's XML tool mode: its tool results are user text, and count as agent steps as native ones do.

For a model without native tool calls, Void (voideditor/void) sends each tool result as a user message
``<name_result>\\n{content}\\n</name_result>``, joined with ``\\n\\n`` to the person's next message when that
follows it directly, and re-adds the call at the end of the assistant's message before it
(browser/convertToLLMMessageService.ts, ``prepareMessages_XML_tools``, lines 237-277 at 01a514fd: the
result at line 265, the call at line 250). The call is ``reParsedToolXMLString`` (common/prompt/prompts.ts):
``    <run_command>\\n<command>...</command>\\n    </run_command>``. With native tool calls the same
thread goes out as role ``tool`` messages with the same content (``prepareMessages_openai_tools``), so the
two shapes of one thread must read alike. A command's content is its output and ``(exit code N)``
(common/toolsService.ts, ``stringOfResult.run_command``); a refused call's is ``Tool call was rejected by the
user.`` (browser/chatThreadService.ts, ``toolErrMsgs``).
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from tiergate.rules.ask import AskConfig, AskReader, BlockMarker
from tiergate.rules.features import Features
from tiergate.wire import ChatRequest

ASK = "make the weekend test pass"
SYSTEM = {"role": "system", "content": "You are an expert coding agent whose job is to help the user develop."}
PYTEST_FAIL = "F.\nFAILED tests/test_dates.py::test_weekend - AssertionError\n1 failed, 1 passed in 0.12s"
PYTEST_GREEN = "..........\n10 passed in 0.40s"
REJECTED = "Tool call was rejected by the user."
AGENT = ("agent.steps", "agent.failures_in_row", "agent.repeated_failure", "agent.tests_green")


class Thread:
    """One Void chat thread, sent both ways: native tool calls, and the XML mode's user text."""

    def __init__(self) -> None:
        self.native: list[dict[str, Any]] = [SYSTEM, {"role": "user", "content": ASK}]
        self.xml: list[dict[str, Any]] = [SYSTEM, {"role": "user", "content": ASK}]

    def call(self, tool: str, params: dict[str, str], content: str, then: str | None = None) -> Thread:
        n = len(self.native)
        said = "I will run it."
        made = {"id": f"c{n}", "type": "function", "function": {"name": tool, "arguments": json.dumps(params)}}
        self.native += [
            {"role": "assistant", "content": said, "tool_calls": [made]},
            {"role": "tool", "tool_call_id": f"c{n}", "content": content},
        ]
        xml_params = "\n".join(f"<{k}>{v}</{k}>" for k, v in params.items())
        result = f"<{tool}_result>\n{content}\n</{tool}_result>"
        self.xml += [
            {"role": "assistant", "content": f"{said}\n\n    <{tool}>\n{xml_params}\n    </{tool}>"},
            {"role": "user", "content": result if then is None else f"{result}\n\n{then}"},
        ]
        if then is not None:
            self.native.append({"role": "user", "content": then})
        return self

    def run(self, command: str, output: str, exit_code: int) -> Thread:
        return self.call("run_command", {"command": command}, f"{output}\n(exit code {exit_code})")


def features(messages: list[dict[str, Any]], reader: AskReader | None = None) -> Features:
    settings = {"ask": reader} if reader else {}
    return Features.of(msgspec.convert({"messages": messages}, ChatRequest), settings=settings)


def both(thread: Thread) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    native, xml = features(thread.native), features(thread.xml)
    return tuple(native[name] for name in AGENT), tuple(xml[name] for name in AGENT)


def test_the_same_failing_command_again_is_stuck_in_text_mode_too() -> None:
    thread = (
        Thread()
        .run("pytest -q", PYTEST_FAIL, 1)
        .run("sed -i s/5/6/ dates.py", "", 0)
        .run("pytest -q", PYTEST_FAIL, 1)
        .run("pytest -q", PYTEST_FAIL, 1)
    )
    native, xml = both(thread)
    assert xml == native == (4, 2, 3, False)


def test_different_commands_failing_in_a_row_are_not_one_repeated_failure() -> None:
    """The call is the ``<run_command>`` the assistant's message ends with, not the tool's name alone."""
    traceback = "Traceback (most recent call last):\n  File \"app.py\", line 3\nNameError: name 'x' is not defined"
    thread = (
        Thread()
        .run("python app.py", traceback, 1)
        .run("npm test", "npm ERR! Missing script: test", 1)
        .run("ls src/missing", "ls: cannot access 'src/missing': No such file or directory", 2)
    )
    native, xml = both(thread)
    assert xml == native == (3, 3, 1, False)


def test_a_clean_test_run_last_leaves_only_the_report_in_text_mode_too() -> None:
    thread = Thread().run("pytest -q", PYTEST_FAIL, 1).run("sed -i s/5/6/ dates.py", "", 0)
    thread.run("pytest -q", PYTEST_GREEN, 0)
    native, xml = both(thread)
    assert xml == native == (3, 0, 1, True)


def test_the_tool_result_is_not_the_ask_and_the_words_after_it_are() -> None:
    thread = Thread().run("pytest -q", PYTEST_FAIL, 1)
    assert features(thread.xml)["ask_text"] == ASK
    edit = {"uri": "/w/dates.py", "search_replace_blocks": "<<<<<<< ORIGINAL\n5\n=======\n6\n>>>>>>> UPDATED"}
    thread.call("edit_file", edit, REJECTED, then="cap it at 5 tries")
    native, xml = both(thread)
    assert xml == native == (0, 0, 0, False)  # the refused call answers a step before the new ask
    assert features(thread.xml)["ask_text"] == features(thread.native)["ask_text"] == "cap it at 5 tries"
    native, xml = both(thread.run("pytest -q", PYTEST_FAIL, 1))
    assert xml == native == (1, 1, 2, False)  # the run failing again counts its failure before the new ask


def test_only_a_message_that_opens_with_a_result_is_one() -> None:
    result = f"<run_command_result>\n{PYTEST_FAIL}\n(exit code 1)\n</run_command_result>"
    f = features([{"role": "user", "content": ASK}, {"role": "user", "content": f"\n{result}"}])
    assert (f["agent.steps"], f["agent.failures_in_row"], f["ask_text"]) == (1, 1, ASK)
    f = features([{"role": "user", "content": f"why does this fail?\n{result}"}])  # a person's paste
    assert (f["agent.steps"], f["agent.failures_in_row"], f["ask_text"]) == (0, 0, "why does this fail?")


def test_the_blocks_marked_tool_result_are_the_ones_read() -> None:
    """The markers are configuration (``routing.ask.blocks``): unmarked, Void's block is cut from the ask but
    is no step; marked, another client's block is one."""
    thread = Thread().run("pytest -q", PYTEST_FAIL, 1).run("pytest -q", PYTEST_FAIL, 1)
    unmarked = [BlockMarker(r"<([A-Za-z][\w-]*)_result>\n", r"\n</[A-Za-z][\w-]*_result>")]
    f = features(thread.xml, AskReader.compile(AskConfig(blocks=unmarked)))
    assert (f["agent.steps"], f["agent.repeated_failure"], f["ask_text"]) == (0, 0, ASK)
    other = [BlockMarker(r"<output>\n", r"\n</output>", tool_result=True)]
    said = {"role": "assistant", "content": "<shell>pytest -q</shell>"}
    result = {"role": "user", "content": f"<output>\n{PYTEST_FAIL}\n</output>"}
    f = features(
        [{"role": "user", "content": ASK}, said, result, said, result], AskReader.compile(AskConfig(blocks=other))
    )
    assert (f["agent.steps"], f["agent.repeated_failure"], f["ask_text"]) == (2, 2, ASK)
