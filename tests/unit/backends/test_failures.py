"""The one translation table: a failure before the response head may be retried, one after it never."""

from __future__ import annotations

import httpx
import pytest

from tiergate.backends.anthropic import whole_answer
from tiergate.backends.failures import Where, transport_failure
from tiergate.backends.http11 import BodyCut, BodyTimeout
from tiergate.errors import UpstreamProtocolError, UpstreamStatusError, UpstreamUnavailable

WHERE = Where("up", "http://up.test", 2.0, 30.0, "is it running?", 8)


def refused() -> httpx.ConnectError:
    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except ConnectionRefusedError as cause:
        try:
            raise httpx.ConnectError("cannot connect") from cause
        except httpx.ConnectError as exc:
            return exc


@pytest.mark.parametrize(
    ("exc", "kind", "retryable", "detail"),
    [
        (refused(), "connect", True, "connection refused; is it running?"),
        (httpx.ConnectTimeout("slow"), "timeout", True, "no connection within 2s"),
        (httpx.PoolTimeout("busy"), "timeout", True, "all 8 connections stayed busy for 30s"),
        (httpx.ReadTimeout("slow"), "timeout", True, "no answer within 30s"),
        (
            httpx.RemoteProtocolError("closed"),
            "connect",
            True,
            "the connection closed unanswered (closed)",
        ),
        (BodyCut("peer closed mid-body"), "protocol", False, "the answer was cut short (peer closed mid-body)"),
        (BodyTimeout("stalled"), "timeout", False, "no more of the answer within 30s"),
        (httpx.DecodingError("bad gzip"), "protocol", False, "undecodable body (bad gzip)"),
    ],
)
def test_the_table(exc: Exception, kind: str, retryable: bool, detail: str) -> None:
    error = transport_failure(exc, WHERE)
    assert (error.kind, error.retryable, error.detail) == (kind, retryable, detail)
    assert error.message == f"backend 'up' at http://up.test: {detail}"
    assert error.started == isinstance(exc, BodyCut | BodyTimeout | httpx.DecodingError)


@pytest.mark.parametrize(
    ("body", "error", "status", "detail"),
    [
        (
            b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
            UpstreamStatusError,
            529,
            "Overloaded",
        ),
        (b'{"type":"error","error":{"type":"rate_limit_error","message":"slow"}}', UpstreamStatusError, 429, "slow"),
        (b'{"type":"error","error":{"type":"api_error","message":"boom"}}', UpstreamStatusError, 500, "boom"),
        (b'{"type":"error","error":{"type":"brand_new_error","message":"?"}}', UpstreamStatusError, 502, "?"),
        (b"{}", UpstreamProtocolError, 502, "the answer is not a message (no type)"),
        (b'{"type":"completion"}', UpstreamProtocolError, 502, "the answer is not a message (type 'completion')"),
        (
            b'{"type":"message","content":[{"type":"text","text":"Hel"}],"stop_reason":null}',
            UpstreamProtocolError,
            502,
            "the answer has no stop_reason: it is incomplete",
        ),
    ],
)
def test_an_anthropic_200_that_is_not_a_whole_message_is_an_error(
    body: bytes, error: type[Exception], status: int, detail: str
) -> None:
    with pytest.raises(error) as info:
        whole_answer("claude", "http://claude.test", body)
    assert isinstance(info.value, UpstreamStatusError | UpstreamProtocolError)
    assert (info.value.status, info.value.detail, info.value.started) == (status, detail, True)
    assert not info.value.retryable  # the upstream answered: never the same target again
    assert isinstance(info.value, UpstreamUnavailable) is False
