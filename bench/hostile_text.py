"""What reading a hostile message costs: every request feature (the learned scorer's aside) of one user or
tool message of ~1.9 MB made of one repeated piece that once sent a scan to the end of the text for each
repeat (an unclosed tag, a client block with no end, fences on one line, a path of ever more extensions),
and of 2,000 user messages (``max_messages``) that each open with a head once costly to tell from a tool
result (only the first 400 characters are looked at, so one message cannot be made to cost more).

    OMP_NUM_THREADS=1 taskset -c 1 python bench/hostile_text.py [--chars 1900000]
"""

from __future__ import annotations

import argparse
import time

import msgspec

from tiergate.rules.features import FEATURES, Features
from tiergate.wire import ChatRequest

#: Pieces that, repeated, once sent a scan to the end of the text per repeat (tests/unit/rules/test_hostile_text.py).
UNITS = [
    "<feedback>",  # an ask tag never closed (inside a tool result: a reply is looked for)
    "<feedback x",  # an opening tag never finished
    "<environment_details>",  # a dropped tag never closed
    "<system-reminder> The user sent the following message:\nx",  # a client block never closed
    "<context>The following items were attached by the user.",
    "Called the Read tool with the following input: {",
    "```a`",  # fences on one line, none an info string
    "a_b.py/",  # one path of ever more extensions
]

#: Message openings that a tool-result pattern once read in time quadratic in the 400 characters it looks at
#: (3 ms a message), in every user message of a request (tests/unit/rules/test_hostile_text.py).
HEADS = [
    "[a" + "_" * 398,  # almost Cline's "[read_file for 'x'] Result:": "_" after "_", never a "]"
]
#: Messages of a request (``server.input_limits.max_messages``).
MESSAGES = 2000


def request(text: str, role: str) -> ChatRequest:
    call = {"id": "c", "type": "function", "function": {"name": "bash", "arguments": "{}"}}
    if role == "tool":
        messages = [
            {"role": "user", "content": "run the tests"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c", "content": text},
        ]
    else:
        messages = [{"role": "user", "content": text}]
    return msgspec.convert({"messages": messages}, ChatRequest)


def heads_request(head: str) -> ChatRequest:
    return msgspec.convert({"messages": [{"role": "user", "content": head}] * MESSAGES}, ChatRequest)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chars", type=int, default=1_900_000)
    args = parser.parse_args()
    names = [name for name in FEATURES if not name.startswith("learned.")]
    print(f"every feature of one {args.chars:,}-character message, ms")
    print(f"{'repeated piece':<62} {'user':>8} {'tool':>8}")
    for unit in UNITS:
        row = []
        for role in ("user", "tool"):
            req = request(unit * (args.chars // len(unit)), role)
            start = time.perf_counter()
            f = Features.of(req)
            for name in names:
                f[name]
            row.append((time.perf_counter() - start) * 1000)
        print(f"{unit!r:<62} {row[0]:8.1f} {row[1]:8.1f}")
    print(f"\nevery feature of {MESSAGES:,} user messages that open alike, ms")
    for head in HEADS:
        start = time.perf_counter()
        f = Features.of(heads_request(head))
        for name in names:
            f[name]
        print(f"{head[:40]!r:<62} {(time.perf_counter() - start) * 1000:8.1f}")


if __name__ == "__main__":
    main()
