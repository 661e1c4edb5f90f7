"""UpstreamClient: the httpx.AsyncClient subset the backends use, against a real server on loopback."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from importlib.metadata import version
from typing import Any

import httpx
import pytest

from tests.fakes.server import serve
from tiergate.backends.client import UpstreamClient

Receive = Callable[[], Awaitable[Any]]
Send = Callable[..., Awaitable[None]]


async def echo(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Answers with the request it got: method, path, headers (in order, repeats kept) and body."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    seen = {
        "method": scope["method"],
        "path": scope["path"],
        "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
        "body": body.decode(),
    }
    status = 503 if scope["path"] == "/fail" else 200
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    if scope["path"] == "/lines":
        await send({"type": "http.response.body", "body": b"one\n", "more_body": True})
        await send({"type": "http.response.body", "body": b"two\n"})
        return
    await send({"type": "http.response.body", "body": json.dumps(seen).encode()})


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve(echo) as base:
        yield base


def names(seen: dict[str, Any]) -> list[str]:
    return [name for name, _ in seen["headers"]]


@pytest.mark.asyncio
async def test_post_sends_the_body_and_the_default_headers_once(url: str) -> None:
    client = UpstreamClient()
    try:
        response = await client.post(
            url + "/v1/chat", content=b'{"a":1}', headers={"x-api-key": "k"}, timeout=httpx.Timeout(10, connect=5)
        )
    finally:
        await client.aclose()
    seen = response.json()
    assert (seen["method"], seen["path"], seen["body"]) == ("POST", "/v1/chat", '{"a":1}')
    headers = dict(seen["headers"])
    assert headers["user-agent"] == f"tiergate/{version('tiergate')}"
    assert headers["accept"] == "*/*"
    assert headers["accept-encoding"] == "gzip, deflate"
    assert headers["x-api-key"] == "k"
    assert headers["content-length"] == "7"
    assert sorted(names(seen)) == sorted(set(names(seen)))  # nothing sent twice
    assert response.request.url == httpx.URL(url + "/v1/chat")


@pytest.mark.asyncio
async def test_a_configured_header_replaces_the_default_whatever_its_case(url: str) -> None:
    client = UpstreamClient()
    try:
        configured = {"User-Agent": "team-gateway/2", "Accept": "application/json"}
        response = await client.get(url + "/", headers=configured, timeout=10)
    finally:
        await client.aclose()
    seen = response.json()
    assert [v for k, v in seen["headers"] if k == "user-agent"] == ["team-gateway/2"]
    assert [v for k, v in seen["headers"] if k == "accept"] == ["application/json"]
    assert seen["method"] == "GET"
    assert "content-length" not in names(seen)


@pytest.mark.asyncio
async def test_an_error_status_is_returned_with_its_body_read(url: str) -> None:
    client = UpstreamClient()
    try:
        response = await client.post(url + "/fail", content=b"x", headers={}, timeout=10)
    finally:
        await client.aclose()
    assert response.status_code == 503
    assert response.is_error
    assert response.json()["path"] == "/fail"


@pytest.mark.asyncio
async def test_stream_yields_lines_and_returns_the_connection_for_the_next_call(url: str) -> None:
    client = UpstreamClient(max_connections=1)
    try:
        async with client.stream("POST", url + "/lines", content=b"{}", headers={}, timeout=10) as response:
            assert response.status_code == 200
            assert [line async for line in response.aiter_lines()] == ["one", "two"]
        # One connection allowed: the next call gets it only if the stream gave it back.
        again = await client.post(url + "/after", content=b"", headers={}, timeout=httpx.Timeout(10, pool=2))
    finally:
        await client.aclose()
    assert again.json()["path"] == "/after"


@pytest.mark.asyncio
async def test_a_stream_left_early_frees_its_slot(url: str) -> None:
    client = UpstreamClient(max_connections=1)
    try:
        with pytest.raises(RuntimeError, match="stop reading"):
            async with client.stream("POST", url + "/lines", content=b"{}", headers={}, timeout=10) as response:
                async for _ in response.aiter_lines():
                    raise RuntimeError("stop reading")
        again = await client.get(url + "/after", headers={}, timeout=httpx.Timeout(10, pool=2))
    finally:
        await client.aclose()
    assert again.status_code == 200
