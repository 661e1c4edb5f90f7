"""A request body's JSON, refused the same way on every ingress: an empty body, JSON that does not parse,
and a body that is not an object each get a 400 that says which.

    obj = decode_object(body)                  # a dict, or RequestError
    raise not_json(body, exc) from None        # after msgspec.DecodeError, decoding to a type
    check_utf8(body)                           # after decoding to a type, which skips unknown fields unread
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from tiergate.errors import RequestError

EMPTY = "the request body is empty; send a JSON object"
#: A high surrogate escape with no low one after it: msgspec's "truncated" (which points the person at the
#: wrong end of their body). Searched for as literal text (a leading look-behind would be tried at every
#: byte); only after an odd run of backslashes is it an escape.
_UNPAIRED = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})")


def _unpaired(body: bytes, looked_at: int = 1000) -> re.Match[bytes] | None:
    """The first unpaired high surrogate escape among the first ``looked_at`` candidates (a hint for the
    message only: a body of nothing but escaped backslashes must not cost a loop per candidate)."""
    for n, m in enumerate(_UNPAIRED.finditer(body)):
        if n == looked_at:
            break
        k = m.start()
        while k and body[k - 1] == 0x5C:  # the backslashes before this one
            k -= 1
        if (m.start() - k) % 2 == 0:
            return m
    return None


#: Matched at a body's start: no copy of the body, as ``strip()`` would make on every request.
_BLANK = re.compile(rb"\s*\Z")
_OBJECT = re.compile(rb"\s*\{")


def check_not_empty(body: bytes) -> None:
    if _BLANK.match(body):
        raise RequestError(EMPTY, code="invalid_json")


def opens_an_object(body: bytes) -> bool:
    return _OBJECT.match(body) is not None


def check_utf8(body: bytes) -> None:
    """A 400 for a body that is not UTF-8 (JSON is, RFC 8259 8.1). msgspec checks the strings it reads, but
    decoding to a type skips an unknown field unread: invalid UTF-8 there was a 500 on the way to ``extra``,
    or dropped unseen in a legacy completion, where the ingresses that read every field refused it."""
    if body.isascii():
        return
    try:
        body.decode()
    except UnicodeDecodeError as exc:
        reason = f"invalid UTF-8 at byte {exc.start}; send the body as UTF-8"
        raise RequestError(f"the request body is not valid JSON: {reason}", code="invalid_json") from None


def not_json(body: bytes, exc: msgspec.DecodeError) -> RequestError:
    """The 400 for a body msgspec could not parse, with the real cause where msgspec's message misleads."""
    reason = str(exc)
    if reason == "Input data was truncated" and (m := _unpaired(body)) is not None:
        escape = m.group().decode("ascii")
        reason = f"an unpaired UTF-16 surrogate escape ({escape}) at byte {m.start()}; strings must be valid Unicode"
    return RequestError(f"the request body is not valid JSON: {reason}", code="invalid_json")


def decode_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400 saying why not."""
    check_not_empty(body)
    try:
        parsed = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise not_json(body, exc) from None
    if not isinstance(parsed, dict):
        raise RequestError("the request body must be a JSON object", code="invalid_json")
    return parsed
