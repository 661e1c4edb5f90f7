"""Run any ASGI app on 127.0.0.1 in a background thread, for the length of a test or module.

with serve(app) as base_url:
    httpx.get(base_url + "/health")
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import uvicorn


class ThreadedServer:
    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", lifespan="on", timeout_graceful_shutdown=1
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.host = host

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.005)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://{self.host}:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    server = ThreadedServer(app)
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


async def handled_before_chat(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> bool:
    """For raw ASGI test upstreams: answer lifespan and Ollama's start-up probe (any GET), and read
    the request body. True when nothing is left to do; False for a chat request the caller answers."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return True
    while (await receive()).get("more_body"):
        pass
    if scope["method"] == "GET":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"models": []}'})
        return True
    return False


class Disconnect(ConnectionAbortedError):
    """Raised by a fake's body after some bytes: the server closes the connection mid-body."""


async def cut_after(chunks: list[bytes]) -> AsyncIterator[bytes]:
    """A response body that sends ``chunks`` and then breaks the connection (no end of body)."""
    for chunk in chunks:
        yield chunk
    raise Disconnect("the fake upstream cuts the connection here")
