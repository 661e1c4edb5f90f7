"""What an upstream's stream or a client's body of many small pieces costs: about one pass, whatever the count.

Each case once did a pass over everything so far per piece: buffering an unfinished line or event (an
upstream's 4 MB line in 1 KB pieces took 6 s, an event 35 s), writing held tool calls (a call in 40,000
argument pieces took 50 s through the Responses writer, 20,000 calls 70 s through the Messages one), and
merging a Responses body's consecutive assistant items (100,000 calls in a row took 10 s). Each runs in a
child process that times itself: the budget is far above what each costs now (tens of milliseconds) and
far below what it cost.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

#: Seconds a case may take in its child (its imports not counted).
BUDGET = 4.0

CASES = {
    "lines": """
        from tiergate.protocols.framing import Lines
        lines, piece = Lines(), b"a" * 1024
        start = time.perf_counter()
        for _ in range(4096):
            assert lines.feed(piece) == []
        assert lines.feed(b"\\nnext") == [piece * 4096]
    """,
    "events": """
        from tiergate.protocols.framing import SseEvents
        events, piece = SseEvents(), b"a" * 1024
        start = time.perf_counter()
        for _ in range(4096):
            assert events.feed(piece) == []
        assert events.feed(b"\\r\\n\\r\\nnext") == [piece * 4096 + b"\\r\\n\\r\\n"]
    """,
    "responses_pieces": """
        from tiergate.protocols.responses import StreamWriter
        writer = StreamWriter("resp_1", 1, "m", request=request)
        writer.start()
        writer.event(ToolCallStart(0, "call_1", "f"))
        start = time.perf_counter()
        for _ in range(40_000):
            writer.event(ToolCallArgs(0, "ab"))
        out = writer.event(Finish("tool_calls")) or b""
        assert out.count(b"event: response.function_call_arguments.delta") == 40_000
    """,
    "responses_calls": """
        from tiergate.protocols.responses import StreamWriter
        writer = StreamWriter("resp_1", 1, "m", request=request)
        writer.start()
        start = time.perf_counter()
        for i in range(20_000):
            writer.event(ToolCallStart(i, f"call_{i}", "f"))
            writer.event(ToolCallArgs(i, "{}"))
        assert (writer.event(Finish("tool_calls")) or b"").count(b"event: response.output_item.done") == 20_000
    """,
    "messages_calls": """
        from tiergate.protocols.anthropic import StreamWriter
        writer = StreamWriter("msg_1", "m", request=request)
        writer.start()
        start = time.perf_counter()
        for i in range(20_000):
            writer.event(ToolCallStart(i, f"call_{i}", "f"))
            writer.event(ToolCallArgs(i, "{}"))
        writer.event(Finish("tool_calls"))
        assert writer.end().count(b"event: content_block_stop") == 20_000
    """,
    "responses_items": """
        import json
        from tiergate.protocols.responses import decode
        calls = [{"type": "function_call", "call_id": f"c{i}", "name": "f", "arguments": "{}"} for i in range(100_000)]
        said = [{"role": "assistant", "content": "x" * 20} for _ in range(100_000)]
        body = json.dumps({"input": [{"role": "user", "content": "go"}, *calls, *said]}).encode()
        start = time.perf_counter()
        turn = decode(body).messages[1]
        assert len(turn.tool_calls) == 100_000 and len(turn.content) == 100_000 * 21 - 1
    """,
}

CHILD = """
import sys, time
import msgspec
from tiergate.wire import ChatRequest, Finish, ToolCallArgs, ToolCallStart
tool = {"type": "function", "function": {"name": "f"}}
request = msgspec.convert({"messages": [{"role": "user", "content": "go"}], "tools": [tool]}, ChatRequest)
"""


@pytest.mark.parametrize("case", CASES)
def test_many_pieces_cost_about_one_pass(case: str) -> None:
    code = CHILD + textwrap.dedent(CASES[case]) + "print(time.perf_counter() - start)\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) < BUDGET
