"""A message of up to ``max_message_chars`` (2,000,000 by default) is read in about one pass.

The ask reader used to search for each unclosed tag's closing tag to the end of the message, and the file
reference count walked each path back once per extension in it: 4,000 unclosed ``<feedback>`` tags cost
2 s, and a 2 MB message of them would have held the event loop for hours. Each message below reached one
of those paths. They run in a child process with a deadline, so a regression fails instead of hanging the
suite; the deadline is far above the tens of milliseconds each costs (``bench/hostile_text.py`` prints them).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from bench.hostile_text import HEADS, UNITS

#: "a_b.py", "a_b.py/a_b.py", ...: the distinct paths up to 1,024 characters, 146 in each half of the window
REFERENCES = 292

ROOT = Path(__file__).resolve().parents[3]  # the child imports bench/ from here

CHILD = textwrap.dedent(
    """
    import sys
    from bench.hostile_text import request
    from tiergate.rules.features import FEATURES, Features

    unit, role = sys.argv[1], sys.argv[2]
    f = Features.of(request(unit * (1_900_000 // len(unit)), role))
    read = {name: f[name] for name in FEATURES if not name.startswith("learned.")}
    print(len(read["ask_text"]), read["file_references"])
    """
)


@pytest.mark.parametrize("role", ["user", "tool"])
@pytest.mark.parametrize("unit", UNITS)
def test_a_hostile_message_is_read_in_bounded_time(unit: str, role: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, unit, role], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    ask_chars, references = map(int, done.stdout.split())
    if role == "tool":
        assert ask_chars == len("run the tests")  # no reply opens the result: the task stays the ask
    else:
        assert ask_chars == 16_001  # nothing closes, so nothing is left out: the message, windowed to scan_chars
    assert references == (REFERENCES if unit == "a_b.py/" and role == "user" else 0)


HEADS_CHILD = textwrap.dedent(
    """
    import sys, time
    from bench.hostile_text import heads_request
    from tiergate.rules.features import FEATURES, Features

    f = Features.of(heads_request(sys.argv[1]))
    start = time.perf_counter()
    read = {name: f[name] for name in FEATURES if not name.startswith("learned.")}
    print(time.perf_counter() - start, len(read["ask_text"]), read["agent.steps"])
    """
)


@pytest.mark.parametrize("head", HEADS)
def test_many_messages_that_open_alike_are_read_in_bounded_time(head: str) -> None:
    """Each user message's first 400 characters are matched against the tool-result patterns, up to three times
    per request: one pattern took 3 ms on such a head, 6 s for a request of them. Timed in the child: now tens of
    milliseconds."""
    done = subprocess.run(
        [sys.executable, "-c", HEADS_CHILD, head], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    seconds, ask_chars, steps = done.stdout.split()
    assert float(seconds) < 1.0
    assert (int(ask_chars), int(steps)) == (len(head), 0)  # not a tool result: the last message is the ask


MOCHA_CHILD = textwrap.dedent(
    """
    import time
    from tiergate.rules.features import Features
    from tiergate.wire import ChatRequest, Message, ToolCall, FunctionCall

    messages = [Message(role="user", content="why is this flaky?")]
    for i in range(40):  # each result distinct: none is read from the cache of results read before
        call = ToolCall(id=f"c{i}", function=FunctionCall(name="Bash", arguments='{"command": "npm test"}'))
        messages += [
            Message(role="assistant", tool_calls=[call]),
            Message(role="tool", tool_call_id=f"c{i}", content=f"run {i}\\n  5 passing (" + "1" * 7950 + "x"),
        ]
    f = Features.of(ChatRequest(model="auto", messages=messages))
    start = time.perf_counter()
    green = f["agent.tests_green"]
    print(time.perf_counter() - start, green)
    """
)


def test_results_that_open_like_mochas_passing_line_are_read_in_bounded_time() -> None:
    """mocha's pass marker read its duration as `[\\d.]+ ?\\w+`: both take digits, so a line of them cost 0.2 s a
    result, and a request of 40 such results held the event loop 8 s. Timed in the child: now milliseconds."""
    done = subprocess.run([sys.executable, "-c", MOCHA_CHILD], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    seconds, green = done.stdout.split()
    assert float(seconds) < 1.0 and green == "False"
