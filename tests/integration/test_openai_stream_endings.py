"""How an OpenAI-compatible server's answer ends, behind the real gateway: the finish reasons that say the
generation failed (vLLM's ``error``, vLLM's and SGLang's ``abort``), vLLM's older error event, an answer
whose finish chunk came before the server stalled or broke the connection, what follows it (whole once the usage
chunk came after the finish), and the servers that set a finish before their answer's end, whose answer a failure
after a finish may have cut.

The upstream is a tiny ASGI app sending the exact bytes a test gives it, then ending its body as told: closed,
left open (a stall, until the gateway hangs up) or cut (the connection breaks before the chunked body's end).
Tier ``local`` falls back to an Ollama tier, ``rescue``; ``idle`` is 1 s, so the wait for what follows a
finish chunk (half of it) is 0.5 s.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.ollama import FakeOllama
from tests.fakes.scripts import Text
from tests.fakes.server import Disconnect, handled_before_chat, serve

ROUTES = """
version: 1
backends:
  vllm: {kind: openai, base_url: "${VLLM_URL}/v1"}
  ollama: {kind: ollama, base_url: "${OLLAMA_HOST}"}
tiers:
  local: {targets: [{backend: vllm, model: vllm-model}]}
  rescue: {targets: [{backend: ollama, model: qwen-rescue}]}
fallbacks: {local: [rescue]}
routing: {mode: fixed, fixed_tier: local, stickiness: {enabled: false}}
timeouts: {connect: 2, first_token: 3, idle: 1, total: 10}
retries: {attempts: 0}
"""
RESCUED = "Rescued by the fallback."
ANSWER = "The answer is: first half of the code, and then"
USAGE = {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21}
Ending = Literal["close", "stall", "cut"]


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> bytes:
    """One ``data:`` event of a chat stream; ``choices`` is empty without a delta and a finish (the usage chunk)."""
    choices = [{"index": 0, "delta": delta or {}, "finish_reason": finish}] if delta is not None or finish else []
    body = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": choices, **extra}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


START = chunk({"role": "assistant", "content": ""})
TEXT = chunk({"content": ANSWER})
DONE = b"data: [DONE]\n\n"


@dataclass
class Scripted:
    """An upstream answering every chat request with ``pieces`` (a stream) or ``whole`` (a JSON body), then
    ending the body as ``ending`` says. ``hung_up`` is set when the gateway closes a connection left open."""

    pieces: list[bytes | float] = field(default_factory=list)  # a number: seconds to wait before the next piece
    whole: dict[str, Any] | None = None
    ending: Ending = "close"
    calls: int = 0
    hung_up: threading.Event = field(default_factory=threading.Event)

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if await handled_before_chat(scope, receive, send):
            return
        self.calls += 1
        if self.whole is not None:
            head = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": head})
            await send({"type": "http.response.body", "body": json.dumps(self.whole).encode()})
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        for piece in self.pieces:
            if isinstance(piece, float):
                await asyncio.sleep(piece)
                continue
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        if self.ending == "cut":
            raise Disconnect("the upstream breaks the connection after its finish chunk")
        if self.ending == "stall":
            while (await receive())["type"] != "http.disconnect":
                pass
            self.hung_up.set()
            return
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def upstream() -> Iterator[tuple[Scripted, str]]:
    fake = Scripted()
    with serve(fake) as url:
        yield fake, url


@pytest.fixture
def rescue(fake_ollama: FakeOllama) -> FakeOllama:
    fake_ollama.queue.default = Text(RESCUED, chunks=2)
    return fake_ollama


@pytest.fixture
def gateway(tmp_path: Path, gateway_for: GatewayFactory, upstream: tuple[Scripted, str], rescue: FakeOllama) -> str:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    return gateway_for(routes, {"VLLM_URL": upstream[1], "OLLAMA_HOST": rescue.url})  # type: ignore[attr-defined]


def chat(base: str, *, stream: bool) -> tuple[httpx.Response, float]:
    body = {"model": "local", "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    if stream:
        body["stream_options"] = {"include_usage": True}
    began = time.monotonic()
    r = httpx.post(base + "/v1/chat/completions", json=body, timeout=30)
    return r, time.monotonic() - began


def responses(base: str, **fields: Any) -> list[dict[str, Any]]:
    """The events of a Responses stream (Codex's ingress) for ``input: hi``."""
    body = {"model": "local", "input": "hi", "stream": True, **fields}
    r = httpx.post(base + "/v1/responses", json=body, timeout=30)
    return [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: ")]


def frames(raw: str) -> list[Any]:
    return [block if block == "data: [DONE]" else json.loads(block[6:]) for block in raw.strip().split("\n\n")]


def said(got: list[Any]) -> str:
    return "".join(
        f["choices"][0]["delta"].get("content") or "" for f in got if isinstance(f, dict) and f.get("choices")
    )


def finishes(got: list[Any]) -> list[str]:
    """The finish reasons the stream's chunks carried."""
    reasons = [f["choices"][0]["finish_reason"] for f in got if isinstance(f, dict) and f.get("choices")]
    return [reason for reason in reasons if reason is not None]


def logged_failure(tmp_path: Path) -> str | None:
    """The decision log's ``error_kind`` of the one request (None: it succeeded), once written (after the answer)."""
    deadline = time.monotonic() + 5
    while True:
        with sqlite3.connect(tmp_path / "tiergate-decisions.db") as conn:
            rows = conn.execute("SELECT error_kind FROM decisions").fetchall()
        if rows or time.monotonic() > deadline:
            assert len(rows) == 1, rows
            return None if rows[0][0] is None else str(rows[0][0])
        time.sleep(0.02)


def failed_finish(url: str, reason: str) -> str:
    why = f"the server ended the answer with finish_reason '{reason}': its generation failed, the answer is incomplete"
    return f"backend 'vllm' at {url}/v1: {why}"


# --- finish reasons that say the generation failed ---------------------------------------------------------------


@pytest.mark.parametrize("reason", ["error", "abort"])
def test_a_failed_finish_after_the_first_token_ends_the_stream_in_an_error(
    tmp_path: Path, gateway: str, upstream: tuple[Scripted, str], rescue: FakeOllama, reason: str
) -> None:
    fake, url = upstream
    fake.pieces = [START, TEXT, chunk({}, reason), chunk(usage=USAGE), DONE]
    r, _ = chat(gateway, stream=True)
    got = frames(r.text)
    assert r.status_code == 200
    assert said(got) == ANSWER
    assert finishes(got) == [], "no finish chunk: the answer is not whole"
    assert got[-1] == {
        "error": {"message": failed_finish(url, reason), "type": "upstream_error", "param": None, "code": None}
    }
    assert logged_failure(tmp_path) == "protocol"
    assert not rescue.requests


@pytest.mark.parametrize("reason", ["error", "abort"])
def test_a_failed_finish_before_the_first_token_falls_back(
    gateway: str, upstream: tuple[Scripted, str], rescue: FakeOllama, reason: str
) -> None:
    fake, _ = upstream
    fake.pieces = [START, chunk({}, reason), chunk(usage=USAGE), DONE]
    r, _ = chat(gateway, stream=True)
    got = frames(r.text)
    assert r.headers["x-tiergate-attempts"] == "local/vllm-model:protocol, rescue/qwen-rescue:ok"
    assert (said(got), finishes(got)[-1], got[-1]) == (RESCUED, "stop", "data: [DONE]")


@pytest.mark.parametrize("reason", ["error", "abort"])
def test_a_whole_answer_with_a_failed_finish_falls_back(
    gateway: str, upstream: tuple[Scripted, str], rescue: FakeOllama, reason: str
) -> None:
    fake, _ = upstream
    message = {"role": "assistant", "content": ANSWER}
    fake.whole = {"object": "chat.completion", "choices": [{"index": 0, "message": message, "finish_reason": reason}]}
    r, _ = chat(gateway, stream=False)
    assert r.status_code == 200, r.text
    assert r.headers["x-tiergate-attempts"] == "local/vllm-model:protocol, rescue/qwen-rescue:ok"
    assert r.json()["choices"][0]["message"]["content"] == RESCUED


@pytest.mark.parametrize("stream", [True, False])
def test_a_repetition_finish_is_a_whole_answer_that_stopped(
    gateway: str, upstream: tuple[Scripted, str], rescue: FakeOllama, stream: bool
) -> None:
    """vLLM ends a model caught looping with ``repetition``: all it will say, a stop, not a failure to retry."""
    fake, _ = upstream
    fake.pieces = [START, TEXT, chunk({}, "repetition"), chunk(usage=USAGE), DONE]
    message = {"role": "assistant", "content": ANSWER}
    fake.whole = None if stream else {"choices": [{"index": 0, "message": message, "finish_reason": "repetition"}]}
    r, _ = chat(gateway, stream=stream)
    assert r.headers["x-tiergate-attempts"] == "local/vllm-model:ok"
    if stream:
        got = frames(r.text)
        assert (said(got), finishes(got)[-1], got[-1]) == (ANSWER, "stop", "data: [DONE]")
    else:
        choice = r.json()["choices"][0]
        assert (choice["message"]["content"], choice["finish_reason"]) == (ANSWER, "stop")
    assert not rescue.requests


# --- vLLM's older error event: {"object": "error", ...} ------------------------------------------------------------

VLLM_ERROR = (
    b'data: {"object": "error", "message": "CUDA out of memory", "type": "InternalServerError", "param": null, '
    b'"code": 500}\n\n'
)


def test_vllms_older_error_event_after_the_first_token_is_that_error(
    gateway: str, upstream: tuple[Scripted, str], rescue: FakeOllama
) -> None:
    fake, url = upstream
    fake.pieces = [START, TEXT, VLLM_ERROR, DONE]
    r, _ = chat(gateway, stream=True)
    got = frames(r.text)
    assert said(got) == ANSWER
    message = f"backend 'vllm' at {url}/v1: error in answer: CUDA out of memory"
    assert got[-1] == {"error": {"message": message, "type": "upstream_error", "param": None, "code": None}}
    assert not rescue.requests


def test_vllms_older_error_event_before_the_first_token_falls_back(
    gateway: str, upstream: tuple[Scripted, str], rescue: FakeOllama
) -> None:
    fake, _ = upstream
    fake.pieces = [START, VLLM_ERROR, DONE]
    r, _ = chat(gateway, stream=True)
    assert r.headers["x-tiergate-attempts"] == "local/vllm-model:http_500, rescue/qwen-rescue:ok"
    assert said(frames(r.text)) == RESCUED


# --- after the finish chunk: a stall or a broken connection ---------------------------------------------------------


@pytest.mark.parametrize("left", [b"", b"data: [DON"], ids=["at an event's end", "midway through [DONE]"])
@pytest.mark.parametrize("ending", ["stall", "cut"])
def test_an_answer_whose_finish_came_is_whole_when_the_stream_then_stalls_or_breaks(
    tmp_path: Path, gateway: str, upstream: tuple[Scripted, str], rescue: FakeOllama, ending: Ending, left: bytes
) -> None:
    """The finish chunk and the usage chunk came, then no ``[DONE]`` (or half of it): the server stalled (the idle
    bound failed the answer) or broke the connection ("the answer was cut short"), and the client paid for a
    whole answer it was told had failed."""
    fake, _ = upstream
    fake.pieces, fake.ending = [START, TEXT, chunk({}, "stop"), chunk(usage=USAGE), left], ending
    r, took = chat(gateway, stream=True)
    got = frames(r.text)
    assert (said(got), finishes(got), got[-1]) == (ANSWER, ["stop"], "data: [DONE]")
    assert got[-2]["usage"] == USAGE, "the upstream's own count"
    assert logged_failure(tmp_path) is None
    assert took < 1.0, f"waited {took:.2f}s for what follows the finish (0.5 s at most, half of idle)"
    assert fake.calls == 1 and not rescue.requests
    if ending == "stall":
        assert fake.hung_up.wait(5), "the stalled connection is dropped"


LATE_ERROR = b'data: {"error": {"message": "late boom", "type": "server_error"}}\n\n'
#: What a server sent after its finish chunk and its usage chunk, in place of ``[DONE]``: the kind the log names
#: it by. The usage chunk, which servers send last, says the answer ended; a finish alone does not (see
#: ``CUT_AFTER_A_FINISH``).
AFTER_FINISH: dict[str, tuple[list[bytes], str]] = {
    "an error event": ([LATE_ERROR, DONE], "an error event (server_error)"),
    "half a second usage chunk, then the end": ([chunk(usage=USAGE)[:-30]], "a malformed event"),
    "half the [DONE], then the end": ([b"data: [DON"], "a malformed event"),
    "an event that is not JSON": ([b"data: {oops}\n\n", DONE], "a malformed event"),
}


@pytest.mark.parametrize("after", AFTER_FINISH)
def test_an_answer_whose_finish_came_is_whole_whatever_event_follows(
    tmp_path: Path,
    gateway: str,
    upstream: tuple[Scripted, str],
    rescue: FakeOllama,
    caplog: pytest.LogCaptureFixture,
    after: str,
) -> None:
    """The client got the whole answer and then an error (which Codex asks again for, and pays again), and the
    target's breaker counted a good answer as a failure. What came is logged by its kind, never its message."""
    fake, _ = upstream
    pieces, kind = AFTER_FINISH[after]
    fake.pieces = [START, TEXT, chunk({}, "stop"), chunk(usage=USAGE), *pieces]
    caplog.set_level("WARNING", logger="tiergate.backends")
    r, _ = chat(gateway, stream=True)
    got = frames(r.text)
    assert (said(got), finishes(got), got[-1]) == (ANSWER, ["stop"], "data: [DONE]")
    assert got[-2]["usage"] == USAGE, "the upstream's own count"
    assert logged_failure(tmp_path) is None
    assert fake.calls == 1 and not rescue.requests
    assert [r.getMessage() for r in caplog.records if r.name == "tiergate.backends"] == [
        f"{kind} came after the whole answer (its usage chunk): the answer ends whole"
    ]


@pytest.mark.parametrize("after", AFTER_FINISH)
def test_a_responses_stream_whose_finish_came_completes_whatever_event_follows(
    gateway: str, upstream: tuple[Scripted, str], rescue: FakeOllama, after: str
) -> None:
    """Codex's ingress: ``response.failed`` with a ``server_error``, which it retries, for an answer it had."""
    fake, _ = upstream
    fake.pieces = [START, TEXT, chunk({}, "stop"), chunk(usage=USAGE), *AFTER_FINISH[after][0]]
    final = responses(gateway)[-1]
    assert final["type"] == "response.completed", final
    assert final["response"]["status"] == "completed"
    texts = [part["text"] for item in final["response"]["output"] for part in item.get("content") or []]
    assert texts == [ANSWER]
    assert fake.calls == 1 and not rescue.requests


def test_an_error_event_after_a_failed_finish_is_still_an_error(
    tmp_path: Path, gateway: str, upstream: tuple[Scripted, str], rescue: FakeOllama, caplog: pytest.LogCaptureFixture
) -> None:
    """``abort`` says the generation failed: no answer is whole there, so nothing after it is waved through."""
    fake, _ = upstream
    fake.pieces = [START, TEXT, chunk({}, "abort"), LATE_ERROR, DONE]
    caplog.set_level("WARNING", logger="tiergate.backends")
    r, _ = chat(gateway, stream=True)
    got = frames(r.text)
    assert said(got) == ANSWER and finishes(got) == [] and "error" in got[-1]
    assert logged_failure(tmp_path) is not None
    assert not [r for r in caplog.records if r.name == "tiergate.backends"]


def test_answers_whose_finish_came_open_no_breaker_when_an_error_follows(
    tmp_path: Path, gateway_for: GatewayFactory, upstream: tuple[Scripted, str], rescue: FakeOllama
) -> None:
    """Two whole answers, each with an error event after its finish, opened a breaker that opens at two failures."""
    fake, url = upstream
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES + "breakers: {fail_max: 2, reset_timeout: 600}\n")
    gateway = gateway_for(routes, {"VLLM_URL": url, "OLLAMA_HOST": rescue.url})  # type: ignore[attr-defined]
    fake.pieces = [START, TEXT, chunk({}, "stop"), chunk(usage=USAGE), LATE_ERROR, DONE]
    for _ in range(3):
        r, _ = chat(gateway, stream=True)
        assert said(frames(r.text)) == ANSWER
    assert fake.calls == 3 and not rescue.requests
    assert httpx.get(gateway + "/health", timeout=5).json()["breakers"]["vllm/vllm-model"] == "closed"


def test_a_finish_reason_before_the_end_of_the_answer_does_not_cut_it(
    tmp_path: Path, gateway: str, upstream: tuple[Scripted, str], rescue: FakeOllama
) -> None:
    """Open WebUI sets a finish_reason on its reasoning chunks; the answer that follows, in pieces 0.3 s apart,
    outlasts the 0.5 s wait for what follows a finish. Reading that first finish as the end cut the answer after
    its first pieces and sent it as whole."""
    fake, _ = upstream
    parts = [chunk({"content": f"part{i} "}) for i in range(4)]
    fake.pieces = [START, chunk({"reasoning_content": "thinking..."}, "stop")]
    for part in parts:
        fake.pieces += [0.3, part]
    fake.pieces += [chunk({}, "stop"), chunk(usage=USAGE), DONE]
    r, _ = chat(gateway, stream=True)
    got = frames(r.text)
    assert (said(got), finishes(got), got[-1]) == ("part0 part1 part2 part3 ", ["stop"], "data: [DONE]")
    assert got[-2]["usage"] == USAGE
    assert logged_failure(tmp_path) is None and fake.calls == 1 and not rescue.requests


def test_a_finish_reason_on_every_chunk_does_not_cut_the_answer(
    tmp_path: Path, gateway: str, upstream: tuple[Scripted, str], rescue: FakeOllama
) -> None:
    """Older proxies set a finish_reason on every chunk, each with its piece of the answer: the wait for what
    follows a finish starts again at each piece, so the answer is read to its end."""
    fake, _ = upstream
    fake.pieces = [START]
    for i in range(4):
        fake.pieces += [0.3, chunk({"content": f"part{i} "}, "stop")]
    fake.pieces += [chunk(usage=USAGE), DONE]
    r, _ = chat(gateway, stream=True)
    got = frames(r.text)
    assert (said(got), finishes(got), got[-1]) == ("part0 part1 part2 part3 ", ["stop"], "data: [DONE]")
    assert got[-2]["usage"] == USAGE
    assert logged_failure(tmp_path) is None and fake.calls == 1 and not rescue.requests


def test_a_finish_reason_on_every_chunk_does_not_cut_the_answer_at_a_pause(
    tmp_path: Path, gateway: str, upstream: tuple[Scripted, str], rescue: FakeOllama
) -> None:
    """Once a server has set a finish_reason on a chunk before its answer's end, its finish is no end: a pause
    longer than the wait for what follows a finish (0.5 s) is one within the answer, bounded by ``idle`` (1 s).
    The short wait cut the answer at the pause, and sent its first two pieces as whole."""
    fake, _ = upstream
    fake.pieces = [START, chunk({"content": "part0 "}, "stop"), 0.1, chunk({"content": "part1 "}, "stop"), 0.8]
    fake.pieces += [chunk({"content": "part2 "}, "stop"), chunk(usage=USAGE), DONE]
    r, _ = chat(gateway, stream=True)
    got = frames(r.text)
    assert (said(got), finishes(got), got[-1]) == ("part0 part1 part2 ", ["stop"], "data: [DONE]")
    assert logged_failure(tmp_path) is None and fake.calls == 1 and not rescue.requests


@pytest.mark.parametrize("every_chunk", [False, True], ids=["on its reasoning", "on every chunk"])
def test_a_finish_set_early_does_not_cut_an_answer_held_for_its_forced_tool_call(
    tmp_path: Path, gateway: str, upstream: tuple[Scripted, str], rescue: FakeOllama, every_chunk: bool
) -> None:
    """What comes before a forced tool call is held until the call (it comes out with it), so no event reaches
    the stream's reader while the model reasons: a finish set on its reasoning must still not start the short
    wait that ends an answer, or a pause in the reasoning cut the answer before its call."""
    fake, _ = upstream
    fake.pieces = [START, chunk({"reasoning_content": "thinking"}, "stop")]
    for i in range(4):
        fake.pieces += [0.3, chunk({"reasoning_content": f" step{i}"}, "stop" if every_chunk else None)]
    call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    fake.pieces += [chunk({"tool_calls": [call]}), chunk({}, "tool_calls"), chunk(usage=USAGE), DONE]
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    body = {"model": "local", "stream": True, "messages": [{"role": "user", "content": "weather?"}]}
    r = httpx.post(
        gateway + "/v1/chat/completions", json={**body, "tools": [tool], "tool_choice": "required"}, timeout=30
    )
    got = frames(r.text)
    deltas = [f["choices"][0]["delta"] for f in got[:-1] if f["choices"]]
    names = [c["function"]["name"] for d in deltas for c in d.get("tool_calls") or [] if c["function"].get("name")]
    assert (r.status_code, names, finishes(got), got[-1]) == (200, ["get_weather"], ["tool_calls"], "data: [DONE]")
    assert logged_failure(tmp_path) is None and fake.calls == 1 and not rescue.requests


def test_an_answer_whose_server_sets_a_finish_early_is_whole_once_its_usage_chunk_came(
    tmp_path: Path, gateway: str, upstream: tuple[Scripted, str], rescue: FakeOllama, caplog: pytest.LogCaptureFixture
) -> None:
    """The usage chunk, which servers send last, says the answer ended even where a finish does not."""
    fake, _ = upstream
    fake.pieces = [START, chunk({"content": "part0 "}, "stop"), chunk({"content": "part1 "}, "stop")]
    fake.pieces += [chunk(usage=USAGE), LATE_ERROR, DONE]
    caplog.set_level("WARNING", logger="tiergate.backends")
    r, _ = chat(gateway, stream=True)
    got = frames(r.text)
    assert (said(got), finishes(got), got[-1]) == ("part0 part1 ", ["stop"], "data: [DONE]")
    assert got[-2]["usage"] == USAGE
    assert logged_failure(tmp_path) is None and fake.calls == 1 and not rescue.requests
    assert [r.getMessage() for r in caplog.records if r.name == "tiergate.backends"] == [
        "an error event (server_error) came after the whole answer (its usage chunk): the answer ends whole"
    ]


STEP = "Step 1 of 3 done. "
#: A tool call's first piece, with its id and name (ChatMock sets ``tool_calls`` on it), and its arguments.
CALL = {"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "write_file", "arguments": ""}}]}
ARGS = {"tool_calls": [{"index": 0, "function": {"arguments": '{"path": "a.py", "content": "print(1)"}'}}]}
CALL_FINISHED = chunk(CALL, "tool_calls")
EVERY_CHUNK = [chunk({"content": "part0 "}, "stop"), chunk({"content": "part1 "}, "stop")]
#: Answers a finish_reason came in, and that failed, or were cut, before the usage chunk that says the answer
#: ended: what came after the stream's START, how the body then ends, and the text the client got. Some servers
#: set a finish before the answer's end (on every chunk: older proxies, LiteLLM on Gemini; on a call's first
#: piece: ChatMock): what failed may be the rest of the answer, so the client is told it failed, as before the
#: finish, never given a cut answer as whole (an agent would run a tool with half its arguments).
CUT_AFTER_A_FINISH: dict[str, tuple[list[bytes | float], Ending, str]] = {
    "an error event after the finish chunk": ([TEXT, chunk({}, "stop"), LATE_ERROR, DONE], "close", ANSWER),
    "half the usage chunk, then the end": ([TEXT, chunk({}, "stop"), chunk(usage=USAGE)[:-30]], "close", ANSWER),
    "an error event after a text chunk's finish": ([chunk({"content": STEP}, "stop"), LATE_ERROR, DONE], "close", STEP),
    "the next text chunk cut by the body's end": (
        [chunk({"content": STEP}, "stop"), chunk({"content": "and the rest of it"})[:-25]],
        "close",
        STEP,
    ),
    "a call's arguments cut by the body's end": ([CALL_FINISHED, chunk(ARGS)[:-30]], "close", ""),
    "a call's arguments cut by a stall": ([CALL_FINISHED, chunk(ARGS)[:-30]], "stall", ""),
    "a call's arguments cut by a broken connection": ([CALL_FINISHED, chunk(ARGS)[:-30]], "cut", ""),
    "an error event after a finish on every chunk": (
        [CALL_FINISHED, chunk(ARGS, "tool_calls"), LATE_ERROR, DONE],
        "close",
        "",
    ),
    "the end after a finish on every chunk": (EVERY_CHUNK, "close", "part0 part1 "),
    "a stall after a finish on every chunk": (EVERY_CHUNK, "stall", "part0 part1 "),
    "a broken connection after a finish on every chunk": (EVERY_CHUNK, "cut", "part0 part1 "),
}


@pytest.mark.parametrize("case", CUT_AFTER_A_FINISH)
def test_an_answer_a_finish_came_in_still_fails_when_it_fails_before_its_usage_chunk(
    tmp_path: Path,
    gateway: str,
    upstream: tuple[Scripted, str],
    rescue: FakeOllama,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    fake, _ = upstream
    pieces, fake.ending, text = CUT_AFTER_A_FINISH[case]
    fake.pieces = [START, *pieces]
    caplog.set_level("WARNING", logger="tiergate.backends")
    r, _ = chat(gateway, stream=True)
    got = frames(r.text)
    assert said(got) == text
    assert finishes(got) == [] and "data: [DONE]" not in got, "no finish: the answer is not whole"
    assert set(got[-1]) == {"error"}, got[-1]
    assert logged_failure(tmp_path) is not None
    assert not [r for r in caplog.records if r.name == "tiergate.backends"], "nothing ended whole"


@pytest.mark.parametrize("case", CUT_AFTER_A_FINISH)
def test_a_responses_stream_a_finish_came_in_still_fails_when_it_fails_before_its_usage_chunk(
    gateway: str, upstream: tuple[Scripted, str], rescue: FakeOllama, case: str
) -> None:
    """Codex ran ``write_file`` with the arguments ``{}`` (the call's arguments never came) or half of them,
    from a ``response.completed``."""
    fake, _ = upstream
    pieces, fake.ending, _ = CUT_AFTER_A_FINISH[case]
    fake.pieces = [START, *pieces]
    events = responses(gateway, tools=[{"type": "function", "name": "write_file", "parameters": {"type": "object"}}])
    names = [event["type"] for event in events]
    assert names[-1] == "response.failed" and "response.completed" not in names, names


def test_an_answer_whose_usage_never_came_reports_the_estimate(
    gateway: str, upstream: tuple[Scripted, str], rescue: FakeOllama
) -> None:
    fake, _ = upstream
    fake.pieces, fake.ending = [START, TEXT, chunk({}, "length")], "stall"
    r, _ = chat(gateway, stream=True)
    got = frames(r.text)
    assert (said(got), finishes(got), got[-1]) == (ANSWER, ["length"], "data: [DONE]")
    usage = got[-2]["usage"]
    assert usage["estimated"] is True, usage
    assert usage["completion_tokens"] == -(-len(ANSWER) // 4)


def test_a_stream_that_stalls_before_its_finish_still_fails(
    gateway: str, upstream: tuple[Scripted, str], rescue: FakeOllama
) -> None:
    fake, url = upstream
    fake.pieces, fake.ending = [START, TEXT], "stall"
    r, _ = chat(gateway, stream=True)
    got = frames(r.text)
    assert said(got) == ANSWER and "data: [DONE]" not in got
    message = f"backend 'vllm' at {url}/v1: no data for 1s mid-stream (timeouts.idle)"
    assert got[-1]["error"]["message"] == message
