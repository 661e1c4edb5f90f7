"""Capability probes: one small real request per capability, judged by what comes back.

- **tools** — a ``get_weather(city)`` tool and a question that needs it: ok when the answer calls that tool
  with JSON-object arguments naming the city;
- **vision** — a 16x16 red PNG as a data URL and "what colour is this image?": ok when the answer says red
  (a server that refuses images, or a model that cannot see, fails);
- **json_mode** — ``response_format: {"type": "json_object"}`` and a request for an object: ok when the
  answer parses as a JSON object with the asked keys.

A server's refusal (an error status) is a failed probe with the server's message, not a crash: that is
exactly what routing needs to know. Small models fail some probes that larger ones pass; the profile
records what this model did on this server, and routes.yaml can still say otherwise.

    results = await run_probes(backend, call)      # {"tools": Probe(ok=..., detail=...), ...}
"""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import time
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

from tiergate.backends.base import Backend, Call
from tiergate.errors import UpstreamError
from tiergate.profile.file import Probe
from tiergate.wire import ChatRequest, Completion, ContentPart, FunctionDef, ImageURL, Message, Tool

WEATHER = Tool(
    function=FunctionDef(
        name="get_weather",
        description="Get the current weather for a city.",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    )
)


def red_png(size: int = 16) -> bytes:
    """A solid red RGB PNG, built by hand (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _ask(text: str, **extra: Any) -> ChatRequest:
    return ChatRequest(messages=[Message(role="user", content=text)], max_tokens=96, temperature=0.0, **extra)


def tools_request() -> ChatRequest:
    return _ask("What is the weather in Paris right now? Use the get_weather tool.", tools=[WEATHER])


def judge_tools(answer: Completion) -> tuple[bool, str]:
    if not answer.tool_calls:
        return False, f"answered with text, no tool call: {(answer.content or '')[:80]!r}"
    call = answer.tool_calls[0]
    if call.function.name != WEATHER.function.name:
        return False, f"called '{call.function.name}', not get_weather"
    try:
        args = json.loads(call.function.arguments or "{}")
    except ValueError:
        return False, f"arguments are not JSON: {call.function.arguments[:80]!r}"
    if not isinstance(args, dict) or "paris" not in str(args.get("city", "")).lower():
        return False, f"arguments do not name the city: {call.function.arguments[:80]!r}"
    return True, f"called get_weather({call.function.arguments})"


def vision_request() -> ChatRequest:
    url = "data:image/png;base64," + base64.b64encode(red_png()).decode()
    parts = [
        ContentPart(type="text", text="What colour is this image? Answer with one word."),
        ContentPart(type="image_url", image_url=ImageURL(url=url)),
    ]
    return ChatRequest(messages=[Message(role="user", content=parts)], max_tokens=16, temperature=0.0)


def judge_vision(answer: Completion) -> tuple[bool, str]:
    text = (answer.content or "").strip()
    return "red" in text.lower(), f"answered {text[:80]!r} for a red image"


def json_request() -> ChatRequest:
    return _ask(
        'Reply with a JSON object with the keys "name" and "age" for a person called Ada who is 36.',
        response_format={"type": "json_object"},
    )


def judge_json(answer: Completion) -> tuple[bool, str]:
    text = (answer.content or "").strip()
    try:
        value = json.loads(text)
    except ValueError:
        return False, f"not JSON: {text[:80]!r}"
    if not isinstance(value, dict) or not {"name", "age"} <= set(value):
        return False, f"JSON, but not the object asked for: {text[:80]!r}"
    return True, f"a JSON object: {text[:80]}"


PROBES: dict[str, tuple[Callable[[], ChatRequest], Callable[[Completion], tuple[bool, str]]]] = {
    "tools": (tools_request, judge_tools),
    "vision": (vision_request, judge_vision),
    "json_mode": (json_request, judge_json),
}


async def probe(
    backend: Backend,
    call: Call,
    build: Callable[[], ChatRequest],
    judge: Callable[[Completion], tuple[bool, str]],
    clock: Callable[[], float] = time.perf_counter,
) -> Probe:
    start = clock()

    def took() -> float:
        return round((clock() - start) * 1000, 3)

    answer: Awaitable[Completion] = backend.complete(build(), call)
    try:
        async with asyncio.timeout(call.total_timeout):
            completion = await answer
    except UpstreamError as exc:
        return Probe(ok=False, detail=f"refused: {exc.message[:300]}", elapsed_ms=took())
    except TimeoutError:
        return Probe(ok=False, detail=f"no answer within {call.total_timeout:g}s", elapsed_ms=took())
    ok, detail = judge(completion)
    return Probe(ok=ok, detail=detail, elapsed_ms=took())


async def run_probes(backend: Backend, call: Call) -> dict[str, Probe]:
    return {name: await probe(backend, call, build, judge) for name, (build, judge) in PROBES.items()}
