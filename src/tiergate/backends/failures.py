"""The one table from the HTTP client's exceptions to tiergate's errors (cf. httpx's ``map_httpcore_exceptions``).

Every backend sends its transport failures here, so the same failure reads the same on every backend,
and the one distinction resilience depends on is made in one place: did the upstream begin to answer?

- before a response head (refused, reset, a connect timeout, a kept-alive connection that closed
  unanswered): ``UpstreamUnavailable`` with ``kind`` ``connect`` or ``timeout``: retried, then fallback;
- after it (``http11.AfterHead``: the body was cut, or stalled past the read timeout): the call may
  already be generated and billed, so the error is ``started`` and never retried on the same target;
  a cut body is ``protocol``.

Secrets are not this module's concern: dispatch passes every upstream error through the rules'
``Redactor`` as it leaves the backend.

    except httpx.HTTPError as exc:
        raise transport_failure(exc, Where(self.name, self.url, call.connect_timeout, call.total_timeout)) from exc
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from tiergate.backends.http11 import AfterHead, BodyCut
from tiergate.errors import UpstreamError, UpstreamProtocolError, UpstreamUnavailable


@dataclass(frozen=True)
class Where:
    """The call a failure belongs to: which backend, and the limits its messages quote."""

    backend: str
    url: str
    connect_timeout: float
    total_timeout: float
    #: Added to "connection refused": what the operator should check (Ollama: is it running?).
    refused_hint: str = ""
    max_connections: int | None = None


def transport_failure(exc: BaseException, where: Where) -> UpstreamError:
    """The tiergate error for one of the HTTP client's exceptions (or Python's own timeout/connection errors)."""
    name, url = where.backend, where.url
    started = isinstance(exc, AfterHead)
    if isinstance(exc, BodyCut):
        return UpstreamProtocolError(name, url, f"the answer was cut short ({_reason(exc)})", started=True)
    if isinstance(exc, httpx.ConnectTimeout):
        return _timeout(where, f"no connection within {where.connect_timeout:g}s")
    if isinstance(exc, httpx.PoolTimeout):
        busy = f"all {where.max_connections} connections" if where.max_connections else "every connection"
        return _timeout(where, f"{busy} stayed busy for {where.total_timeout:g}s")
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        what = "no more of the answer" if started else "no answer"
        return _timeout(where, f"{what} within {where.total_timeout:g}s", started=started)
    if isinstance(exc, httpx.ConnectError | ConnectionError):
        what = "connection refused" if _refused(exc) else f"cannot connect ({_reason(exc)})"
        hint = f"; {where.refused_hint}" if where.refused_hint else ""
        return UpstreamUnavailable(name, url, what + hint, kind="connect")
    if isinstance(exc, httpx.RemoteProtocolError):
        # No head came: the request never got an answer, so another try cannot pay twice.
        return UpstreamUnavailable(name, url, f"the connection closed unanswered ({_reason(exc)})", kind="connect")
    if isinstance(exc, httpx.DecodingError):
        return UpstreamProtocolError(name, url, f"undecodable body ({_reason(exc)})", started=True)
    if isinstance(exc, httpx.TransportError):
        return UpstreamUnavailable(name, url, f"connection failed ({_reason(exc)})", kind="connect", started=started)
    return UpstreamProtocolError(name, url, f"unreadable answer ({_reason(exc)})", started=True)


def _timeout(where: Where, detail: str, *, started: bool = False) -> UpstreamUnavailable:
    return UpstreamUnavailable(where.backend, where.url, detail, kind="timeout", status=504, started=started)


def _refused(exc: BaseException | None) -> bool:
    """Somewhere in the chain of causes, the peer refused the connection."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, ConnectionRefusedError):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
