"""Every ingress refuses a body that is not a JSON object with the same 400s, and says what is wrong."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from tiergate.errors import RequestError
from tiergate.protocols.anthropic import ingress as anthropic
from tiergate.protocols.openai.request import decode_chat, decode_completion
from tiergate.protocols.responses.request import decode as decode_responses

DECODERS: list[Callable[[bytes], Any]] = [  # chat, Responses, Messages, count_tokens
    decode_chat,
    decode_responses,
    lambda body: anthropic.decode(body, {}),
    anthropic.count_tokens,
]


@pytest.mark.parametrize("decode", DECODERS)
@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "the request body is empty; send a JSON object"),
        (b"  \n", "the request body is empty; send a JSON object"),
        (b'{"model": "auto", ', "the request body is not valid JSON: Input data was truncated"),
        # msgspec calls a high surrogate escape just before the closing quote "truncated"
        (
            b'{"model": "auto", "x": "\\ud800"}',
            "the request body is not valid JSON: an unpaired UTF-16 surrogate escape (\\ud800) at byte 24; "
            "strings must be valid Unicode",
        ),
        (
            b'{"model": "auto", "x": "\\uDBFF"}',
            "the request body is not valid JSON: an unpaired UTF-16 surrogate escape (\\uDBFF) at byte 24",
        ),
    ],
)
def test_empty_and_unparsable_bodies(decode: Callable[[bytes], Any], raw: bytes, message: str) -> None:
    with pytest.raises(RequestError) as info:
        decode(raw)
    assert info.value.status == 400 and info.value.code == "invalid_json"
    assert info.value.message.startswith(message)


def test_an_escaped_backslash_before_u_is_not_an_escape() -> None:
    """``\\\\ud800`` is a backslash and the text "ud800": a body cut short after it is truncated, nothing more."""
    with pytest.raises(RequestError) as info:
        decode_chat(b'{"messages": [{"role": "user", "content": "\\\\ud800 is a surrogate')
    assert info.value.message == "the request body is not valid JSON: Input data was truncated"
    with pytest.raises(RequestError) as info:
        decode_chat(b'{"messages": [{"role": "user", "content": "a\\\\\\ud800"}]}')
    assert "an unpaired UTF-16 surrogate escape (\\ud800) at byte 46" in info.value.message


def test_a_paired_surrogate_escape_is_text() -> None:
    request = decode_chat(b'{"messages": [{"role": "user", "content": "\\ud83d\\ude00"}]}')
    assert request.messages[0].text() == "\U0001f600"


#: Every field each decoder needs: the only thing wrong with these bodies is the invalid UTF-8.
WHOLE = b'"model": "auto", "max_tokens": 5, "prompt": "hi", "input": "hi", '


@pytest.mark.parametrize("decode", [*DECODERS, decode_completion])
@pytest.mark.parametrize(
    "raw",
    [
        b"{" + WHOLE + b'"messages": [{"role": "user", "content": "hi"}], "x": "\xc3\x28"}',
        b"{" + WHOLE + b'"messages": [{"role": "user", "content": "hi", "x": "\xc3\x28"}]}',
        b"{" + WHOLE + b'"messages": [{"role": "user", "content": "hi"}], "x": {"y": ["\xff"]}}',
    ],
)
def test_invalid_utf8_in_a_field_tiergate_does_not_read(decode: Callable[[bytes], Any], raw: bytes) -> None:
    """Decoding to a type skips an unknown field unread: invalid UTF-8 in one at the top of a chat body was a
    500 (a DecodeError on the way to ``extra``); deeper, or in a legacy completion, it passed unseen."""
    with pytest.raises(RequestError) as info:
        decode(raw)
    assert (info.value.status, info.value.code) == (400, "invalid_json")
    assert info.value.message.startswith("the request body is not valid JSON: ")


def test_a_number_out_of_range_in_an_unknown_chat_field_is_a_400() -> None:
    """Read only when it went to ``extra``: a 500."""
    with pytest.raises(RequestError) as info:
        decode_chat(b'{"model": "auto", "messages": [{"role": "user", "content": "hi"}], "x": 1e999}')
    assert (info.value.status, info.value.code) == (400, "invalid_json")
    assert info.value.message == "the request body is not valid JSON: Number out of range"


def test_utf8_text_in_an_unknown_field_is_kept() -> None:
    request = decode_chat('{"messages": [{"role": "user", "content": "é"}], "x": "ü"}'.encode())
    assert request.extra == {"x": "ü"}


@pytest.mark.parametrize("decode", DECODERS)
@pytest.mark.parametrize("raw", [b"[1, 2]", b"null", b' "hi"', b"3"])
def test_a_body_that_is_not_an_object(decode: Callable[[bytes], Any], raw: bytes) -> None:
    with pytest.raises(RequestError) as info:
        decode(raw)
    assert (info.value.status, info.value.code) == (400, "invalid_json")
    assert info.value.message == "the request body must be a JSON object"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("input", [None], "`input[0]` must be an object, got null"),
        ("tools", [None], "`tools[0]` must be an object, got null"),
    ],
)
def test_responses_name_a_null_as_null(field: str, value: Any, message: str) -> None:
    with pytest.raises(RequestError) as info:
        decode_responses(msgspec.json.encode({"model": "auto", "input": "hi", field: value}))
    assert info.value.message == message
