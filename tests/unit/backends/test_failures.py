"""The one translation table: a failure before the response head may be retried, one after it never, nor one
after a status line that was HTTP's.

The exceptions are built as aiohttp raises them; tests/unit/backends/test_http.py shows which one each real
failure on a socket raises."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey
from aiohttp.http_exceptions import (
    BadHttpMessage,
    BadStatusLine,
    HttpProcessingError,
    InvalidHeader,
    TransferEncodingError,
)

from tiergate.backends.failures import TRANSPORT_ERRORS, Where, transport_failure
from tiergate.backends.http import BodyError, PoolTimeout, Unsendable
from tiergate.errors import UpstreamProtocolError, UpstreamUnavailable

WHERE = Where("up", "http://up.test", 2.0, 30.0, "is it running?")
KEY = ConnectionKey("up.test", 80, False, True, None, None, None)


def after_head(cause: BaseException) -> BodyError:
    """A body error as the client raises it: ``from`` the error reading the body."""
    try:
        raise BodyError(str(cause)) from cause
    except BodyError as exc:
        return exc


def unparsed(parser_error: HttpProcessingError) -> aiohttp.ClientResponseError:
    """aiohttp's parser failing before the response was returned, wrapped twice as aiohttp wraps it."""
    copied = HttpProcessingError(code=parser_error.code, message=parser_error.message)
    copied.__cause__ = parser_error
    failed = aiohttp.ClientResponseError(None, (), status=copied.code, message=copied.message)  # type: ignore[arg-type]
    failed.__cause__ = copied
    return failed


@pytest.mark.parametrize(
    ("exc", "kind", "retryable", "detail"),
    [
        (
            aiohttp.ClientConnectorError(KEY, ConnectionRefusedError(111, "Connect call failed")),
            "connect",
            True,
            "connection refused; is it running?",
        ),
        (
            aiohttp.ClientConnectorError(KEY, OSError(113, "No route to host")),
            "connect",
            True,
            "cannot connect (Cannot connect to host up.test:80 ssl:default [No route to host]); is it running?",
        ),
        (aiohttp.ConnectionTimeoutError("slow"), "timeout", True, "no connection within 2s"),
        (
            PoolTimeout("all 8 connections stayed busy for 30s"),
            "timeout",
            True,
            "all 8 connections stayed busy for 30s",
        ),
        (TimeoutError(), "timeout", True, "no answer within 30s"),
        (aiohttp.SocketTimeoutError("read"), "timeout", True, "no answer within 30s"),
        (
            aiohttp.ServerDisconnectedError(),
            "connect",
            True,
            "the connection closed unanswered (Server disconnected)",
        ),
        (
            aiohttp.ClientOSError(104, "Connection reset by peer"),
            "connect",
            True,
            "connection failed ([Errno 104] Connection reset by peer)",
        ),
        (
            aiohttp.ClientResponseError(None, (), status=400, message="Invalid status line"),  # type: ignore[arg-type]
            "connect",
            True,
            "the answer is not HTTP (Invalid status line)",
        ),
        (
            unparsed(BadStatusLine(error="Bad status line:\n  Expected HTTP/, RTSP/ or ICE/:\n\n  b'SSH-2.0'")),
            "connect",
            True,
            "the answer is not HTTP (Bad status line:)",
        ),
        (  # the C parser: a chunk size that is no number, read with the status line
            unparsed(BadHttpMessage("Invalid character in chunk size:\n\n  b'ZZZZ'\n    ^")),
            "protocol",
            False,
            "the answer broke HTTP after its status line (Invalid character in chunk size:)",
        ),
        (  # the Python parser: the same bytes
            unparsed(TransferEncodingError("ZZZZ\r")),
            "protocol",
            False,
            "the answer broke HTTP after its status line (ZZZZ)",
        ),
        (
            unparsed(InvalidHeader(b"not a header")),
            "protocol",
            False,
            "the answer broke HTTP after its status line (Invalid HTTP header: b'not a header')",
        ),
        (  # the Python parser, the same bytes after the head came
            after_head(TransferEncodingError("ZZZZ\r")),
            "protocol",
            False,
            "the answer broke HTTP after its status line (ZZZZ)",
        ),
        (
            Unsendable("Newline or carriage return detected in headers"),
            "config",
            False,
            "the request cannot be sent (Newline or carriage return detected in headers)",
        ),
        (
            after_head(aiohttp.ClientPayloadError("Response payload is not completed")),
            "protocol",
            False,
            "the answer was cut short (Response payload is not completed)",
        ),
        (after_head(aiohttp.SocketTimeoutError("read")), "timeout", False, "no more of the answer within 30s"),
        (after_head(TimeoutError()), "timeout", False, "no more of the answer within 30s"),
        (
            after_head(aiohttp.ClientPayloadError("400, message='Can not decode content-encoding: gzip'")),
            "protocol",
            False,
            "undecodable body (400, message='Can not decode content-encoding: gzip')",
        ),
    ],
)
def test_the_table(exc: Exception, kind: str, retryable: bool, detail: str) -> None:
    assert isinstance(exc, TRANSPORT_ERRORS)

    error = transport_failure(exc, WHERE)

    assert (error.kind, error.retryable, error.detail) == (kind, retryable, detail)
    assert error.message == f"backend 'up' at http://up.test: {detail}"
    assert error.started == (isinstance(exc, BodyError) or kind == "protocol")
    assert isinstance(error, UpstreamProtocolError if kind == "protocol" else UpstreamUnavailable)
    assert error.status == {"timeout": 504, "protocol": 502}.get(kind, 503)


def test_a_proxy_that_refuses_the_tunnel() -> None:
    refused = aiohttp.ClientHttpProxyError(None, (), status=407, message="Proxy Authentication Required")  # type: ignore[arg-type]

    error = transport_failure(refused, WHERE)

    assert (error.kind, error.retryable) == ("connect", True)
    assert error.detail == "the proxy refused the tunnel (Proxy Authentication Required)"
