"""A fast OpenAI-compatible upstream for the proxy benchmark: a raw asyncio HTTP/1.1 server.

It answers in microseconds, so whatever latency a client sees through tiergate beyond what it sees
calling this server directly is tiergate's own. No framework and no JSON parsing: answers are
precomputed bytes, and the request body is only searched for two markers.

- ``POST /v1/chat/completions``: a fixed small ``chat.completion``; with ``"stream":true`` a fixed
  SSE stream (a role chunk, ``--chunks`` content chunks, a finish chunk, a usage chunk, ``[DONE]``).
- A marker ``[[paced-<ms>]]`` anywhere in the body (say, in the user message, which every gateway
  forwards untouched) spaces the content chunks ``<ms>`` milliseconds apart (the buffering check);
  ``[[delay-<ms>]]`` delays the whole answer (a slow upstream).
- ``GET /v1/models``: one model.

    python bench/mock_upstream.py --port 9100            # prints "ready <port>" once listening
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import signal

CREATED = 1_700_000_000
_MARKER = re.compile(rb"\[\[(paced|delay)-(\d+)\]\]")
_STREAM = re.compile(rb'"stream"\s*:\s*true')


def _response(status: str, content_type: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n\r\n"
    return head.encode() + body


def _chunk(data: bytes) -> bytes:
    """One HTTP/1.1 chunk (transfer-encoding: chunked)."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def _event(obj: object) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def _stream_chunk(delta: dict[str, str], finish: str | None = None) -> bytes:
    return _event(
        {
            "id": "chatcmpl-mock",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": "mock",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
    )


COMPLETION = _response(
    "200 OK",
    "application/json",
    json.dumps(
        {
            "id": "chatcmpl-mock",
            "object": "chat.completion",
            "created": CREATED,
            "model": "mock",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hello from the mock."},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
        },
        separators=(",", ":"),
    ).encode(),
)
MODELS = _response(
    "200 OK",
    "application/json",
    b'{"object":"list","data":[{"id":"mock","object":"model","created":1700000000,"owned_by":"bench"}]}',
)
NOT_FOUND = _response(
    "404 Not Found", "application/json", b'{"error":{"message":"not found","type":"invalid_request_error"}}'
)
STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)
STREAM_END = b"0\r\n\r\n"


class Shapes:
    """The precomputed stream pieces for a given number of content chunks."""

    def __init__(self, chunks: int) -> None:
        self.opening = _chunk(_stream_chunk({"role": "assistant", "content": ""}))
        self.contents = [_chunk(_stream_chunk({"content": f"tok{i} "})) for i in range(chunks)]
        usage = {"prompt_tokens": 12, "completion_tokens": chunks, "total_tokens": 12 + chunks}
        tail = _stream_chunk({}, "stop") + _event(
            {
                "id": "chatcmpl-mock",
                "object": "chat.completion.chunk",
                "created": CREATED,
                "model": "mock",
                "choices": [],
                "usage": usage,
            }
        )
        self.closing = _chunk(tail) + _chunk(b"data: [DONE]\n\n") + STREAM_END
        self.whole = STREAM_HEAD + self.opening + b"".join(self.contents) + self.closing


class Upstream(asyncio.Protocol):
    """One keep-alive connection. Requests are answered in order; a paced answer holds the next."""

    def __init__(self, shapes: Shapes) -> None:
        self.shapes = shapes
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.busy:
            self._answer_ready()

    def _answer_ready(self) -> None:
        while self.transport is not None and not self.busy:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            length = 0
            at = head.find(b"content-length:")
            if at >= 0:
                stop = head.find(b"\r\n", at)
                length = int(head[at + 15 : stop if stop >= 0 else len(head)])
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            self._route(head, body)

    def _route(self, head: bytes, body: bytes) -> None:
        assert self.transport is not None
        if head.startswith(b"post /v1/chat/completions"):
            marker = _MARKER.search(body)
            stream = _STREAM.search(body) is not None
            if marker is None:
                self.transport.write(self.shapes.whole if stream else COMPLETION)
                return
            kind, ms = marker.group(1), int(marker.group(2)) / 1000
            self.busy = True
            asyncio.get_running_loop().create_task(self._slow(kind == b"paced", ms, stream))
        elif head.startswith(b"get /v1/models"):
            self.transport.write(MODELS)
        else:
            self.transport.write(NOT_FOUND)

    async def _slow(self, paced: bool, seconds: float, stream: bool) -> None:
        try:
            if not paced:
                await asyncio.sleep(seconds)
                self._write(self.shapes.whole if stream else COMPLETION)
            elif not stream:
                self._write(COMPLETION)
            else:
                self._write(STREAM_HEAD + self.shapes.opening)
                for piece in self.shapes.contents:
                    await asyncio.sleep(seconds)
                    self._write(piece)
                self._write(self.shapes.closing)
        finally:
            self.busy = False
        self._answer_ready()

    def _write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)


async def serve(host: str, port: int, chunks: int) -> None:
    shapes = Shapes(chunks)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Upstream(shapes), host, port, backlog=2048, reuse_address=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bound = server.sockets[0].getsockname()[1]
    print(f"ready {bound}", flush=True)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100, help="0 picks a free port (printed on stdout)")
    parser.add_argument("--chunks", type=int, default=20, help="content chunks per streamed answer")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.chunks))


if __name__ == "__main__":
    main()
