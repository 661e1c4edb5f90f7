"""The one table from the HTTP client's exceptions to tiergate's errors (cf. httpx's ``map_httpcore_exceptions``).

Every backend sends its transport failures here, so the same failure reads the same on every backend,
and the one distinction resilience depends on is made in one place: did the upstream begin to answer?

- before a response head (refused, reset, a connect timeout, a kept-alive connection that closed
  unanswered, every connection busy, an answer whose status line is not HTTP's): ``UpstreamUnavailable``
  with ``kind`` ``connect`` or ``timeout``: retried, then fallback;
- after a status line that was HTTP's, bytes that break HTTP (a bad header, a chunk size that is no
  number, an invalid Content-Length), even when aiohttp read them together with that status line and
  failed before it returned the response: ``protocol`` and ``started``, never retried (the upstream may
  already be generating the answer, and another try may pay twice). aiohttp's types draw no other line:
  its C parser raises the same ``BadHttpMessage`` for a bad header and a bad chunk size, so only a
  ``BadStatusLine`` proves the upstream never began an HTTP answer;
- after the head (:class:`~tiergate.backends.http.BodyError`: the body was cut, or stalled past the time
  limit): the call may already be generated and billed, so the error is ``started`` and never retried on
  the same target; a cut body is ``protocol``. So is a stream line or event past the framing's cap
  (:class:`~tiergate.protocols.framing.TooLong`, raised while the body is read): an upstream that never
  ends a line fails as a malformed answer, not at a timeout after buffering all it sent. A whole body past
  the client's cap (:class:`~tiergate.backends.http.TooLarge`) fails the same way.

Secrets are not this module's concern: dispatch passes every upstream error through the rules'
``Redactor`` as it leaves the backend.

    try:
        async with client.send(request) as response: ...
    except TRANSPORT_ERRORS as exc:
        raise transport_failure(exc, Where(self.name, self.url, call.connect_timeout, call.total_timeout)) from exc
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from aiohttp.http_exceptions import BadStatusLine, HttpProcessingError

from tiergate.backends.http import BodyError, HttpError, PoolTimeout, TooLarge, Unsendable
from tiergate.errors import UpstreamError, UpstreamProtocolError, UpstreamUnavailable
from tiergate.protocols.framing import TooLong

#: What a call through the HTTP client (and the framing of its body) may raise besides tiergate's own
#: errors: catch these, and only these.
TRANSPORT_ERRORS = (HttpError, aiohttp.ClientError, OSError, TimeoutError, TooLong)


@dataclass(frozen=True)
class Where:
    """The call a failure belongs to: which backend, and the limits its messages quote."""

    backend: str
    url: str
    connect_timeout: float
    total_timeout: float
    #: Added to "connection refused": what the operator should check (Ollama: is it running?).
    refused_hint: str = ""


def transport_failure(exc: BaseException, where: Where) -> UpstreamError:
    """The tiergate error for one of :data:`TRANSPORT_ERRORS`."""
    if isinstance(exc, BodyError):
        return _after_head(exc.__cause__ or exc, where)
    name, url = where.backend, where.url
    if isinstance(exc, TooLong):
        detail = f"a stream {exc.unit} passed the {exc.limit}-byte cap before it ended"
        return UpstreamProtocolError(name, url, detail, started=True)
    if isinstance(exc, TooLarge):
        detail = f"the answer's body passed the {exc.limit}-byte cap before it ended"
        return UpstreamProtocolError(name, url, detail, started=True)
    if isinstance(exc, PoolTimeout):
        return _timeout(where, str(exc))
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return _timeout(where, f"no connection within {where.connect_timeout:g}s")
    if isinstance(exc, TimeoutError):
        return _timeout(where, f"no answer within {where.total_timeout:g}s")
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        return UpstreamUnavailable(name, url, f"the proxy refused the tunnel ({_reason(exc)})", kind="connect")
    if isinstance(exc, aiohttp.ClientConnectorError | ConnectionRefusedError):
        what = "connection refused" if _refused(exc) else f"cannot connect ({_reason(exc)})"
        hint = f"; {where.refused_hint}" if where.refused_hint else ""
        return UpstreamUnavailable(name, url, what + hint, kind="connect")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        # No head came: the request never got an answer, so another try cannot pay twice.
        return UpstreamUnavailable(name, url, f"the connection closed unanswered ({_reason(exc)})", kind="connect")
    if isinstance(exc, aiohttp.ClientResponseError):  # aiohttp could not parse the answer
        if _after_status_line(exc):
            return UpstreamProtocolError(name, url, _broke_http(exc), started=True)
        return UpstreamUnavailable(name, url, f"the answer is not HTTP ({_reason(exc)})", kind="connect")
    if isinstance(exc, Unsendable | aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return UpstreamUnavailable(name, url, f"the request cannot be sent ({_reason(exc)})", kind="config")
    return UpstreamUnavailable(name, url, f"connection failed ({_reason(exc)})", kind="connect")


def _after_head(cause: BaseException, where: Where) -> UpstreamError:
    name, url = where.backend, where.url
    if isinstance(cause, TimeoutError):
        return _timeout(where, f"no more of the answer within {where.total_timeout:g}s", started=True)
    if _undecodable(cause):
        return UpstreamProtocolError(name, url, f"undecodable body ({_reason(cause)})", started=True)
    if isinstance(cause, HttpProcessingError):  # aiohttp's parser, reading the body, as it raised it
        return UpstreamProtocolError(name, url, _broke_http(cause), started=True)
    return UpstreamProtocolError(name, url, f"the answer was cut short ({_reason(cause)})", started=True)


def _timeout(where: Where, detail: str, *, started: bool = False) -> UpstreamUnavailable:
    return UpstreamUnavailable(where.backend, where.url, detail, kind="timeout", status=504, started=started)


def _refused(exc: BaseException | None) -> bool:
    """Somewhere in the chain of causes (or aiohttp's ``os_error``), the peer refused the connection."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, ConnectionRefusedError):
            return True
        if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, ConnectionRefusedError):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _after_status_line(exc: BaseException) -> bool:
    """aiohttp's parser failed on an answer whose status line it had read as HTTP.

    aiohttp wraps the parser's error twice (``ClientResponseError`` from a plain ``HttpProcessingError`` from
    the parser's own); the innermost says where it failed. Only ``BadStatusLine`` is raised before a status
    line was read, by both of aiohttp's parsers (the C one and the Python one, ``AIOHTTP_NO_EXTENSIONS``).
    """
    parsed: BaseException | None = None
    cause: BaseException | None = exc
    seen = 0
    while cause is not None and seen < 8:
        if isinstance(cause, HttpProcessingError):
            parsed = cause
        cause, seen = cause.__cause__, seen + 1
    return parsed is not None and not isinstance(parsed, BadStatusLine)


def _broke_http(exc: BaseException) -> str:
    return f"the answer broke HTTP after its status line ({_reason(exc)})"


def _undecodable(exc: BaseException) -> bool:
    """aiohttp reports a body it cannot decompress as a payload error that names the content-encoding."""
    return isinstance(exc, aiohttp.ClientPayloadError) and "content-encoding" in str(exc).lower()


def _reason(exc: BaseException) -> str:
    """The first line of what ``exc`` says (a response or parser error's own message: their ``str`` adds the
    URL, or the status aiohttp's parser would answer with)."""
    said = exc.message if isinstance(exc, aiohttp.ClientResponseError | HttpProcessingError) else str(exc)
    text = said.strip()
    return text.splitlines()[0] if text else type(exc).__name__
