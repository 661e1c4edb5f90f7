"""Bound what one request may make the gateway read, parse and route: ``server.input_limits``.

Checked in the order that costs least first, each against the *live* rules (a reload applies at once):

1. ``max_body_bytes`` — the announced ``content-length``, then the bytes actually read (a chunked body
   announces nothing): 413.
2. ``max_json_depth`` — nesting of ``[`` and ``{`` outside strings, scanned on the raw bytes before
   decoding, so a hostile body never reaches the decoder's recursion: 400.
3. ``max_messages`` and ``max_message_chars`` on the decoded request: 400, naming the message.

Litestar's own ``request_max_body_size`` is fixed when the app is built, so the app sets a high ceiling
and the live limit is enforced here.

    body = await read_json(request, limits)
    chat = decode_chat(body)
    check_messages(chat, limits)
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from litestar import Request

from tiergate.config.model import InputLimits
from tiergate.errors import RequestError
from tiergate.wire import ChatRequest, Message

_ESCAPE = re.compile(rb"\\.", re.S)
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


async def read_json(request: Request[Any, Any, Any], limits: InputLimits) -> bytes:
    """The whole body, refused with 413 as soon as it is known to be over ``max_body_bytes``, and with
    400 when it nests too deep; decoding it is the caller's job."""
    limit = limits.max_body_bytes
    announced = request.content_length
    if announced is not None and announced > limit:
        raise _too_large(f"the request body is {announced} bytes; the limit is", limit)
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise _too_large("the request body is over the limit of", limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    check_depth(body, limits.max_json_depth)
    return body


def check_depth(body: bytes, limit: int) -> None:
    """400 when JSON arrays and objects nest deeper than ``limit``."""
    if json_depth(body, limit) > limit:
        raise RequestError(
            f"the request JSON nests deeper than {limit} levels (server.input_limits.max_json_depth)",
            code="json_too_deep",
        )


def json_depth(body: bytes, limit: int = 0) -> int:
    """The deepest nesting of ``[``/``{`` outside strings; linear, and C-speed throughout.

    Escapes are dropped first, so every ``"`` left opens or closes a string and splitting on it puts
    string contents at the odd positions. Returns early (with a value <= ``limit``) when there are too
    few brackets to exceed ``limit``.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return 0
    outside = b"".join(_ESCAPE.sub(b"", body).split(b'"')[0::2])
    steps = outside.translate(_STEPS, _NOT_BRACKETS)
    if not steps:
        return 0
    return int(np.cumsum(np.frombuffer(steps, dtype=np.int8), dtype=np.int32).max())


def check_messages(chat: ChatRequest, limits: InputLimits, *, prompt: bool = False) -> None:
    """400 for too many messages, or one message with too many characters.

    ``prompt`` names the legacy completion's ``prompt`` (its only message) in the error instead.
    """
    count = len(chat.messages)
    if count > limits.max_messages:
        raise RequestError(
            f"the request has {count} messages; the limit is {limits.max_messages} (server.input_limits.max_messages)",
            param="messages",
            code="too_many_messages",
        )
    for i, message in enumerate(chat.messages):
        chars = message_chars(message)
        if chars > limits.max_message_chars:
            param = "prompt" if prompt else message.where(i)
            where = "the prompt" if prompt else param.removesuffix(".content")
            raise RequestError(
                f"{where} has {chars} characters; the limit is {limits.max_message_chars} per message "
                "(server.input_limits.max_message_chars)",
                param=param,
                code="message_too_long",
            )


def message_chars(message: Message) -> int:
    """Characters of text in a message: its content's text and its tool calls' arguments.

    Images are not counted here: ``max_body_bytes`` bounds them.
    """
    content = message.content
    chars = len(content) if isinstance(content, str) else sum(len(p.text) for p in content or () if p.text)
    for call in message.tool_calls or ():
        chars += len(call.function.arguments)
    return chars


def _too_large(what: str, limit: int) -> RequestError:
    return RequestError(
        f"{what} {limit} bytes (server.input_limits.max_body_bytes)",
        code="request_too_large",
        status=413,
    )
