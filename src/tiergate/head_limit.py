"""Bounds on a request's head, in size and in time: past either, the connection ends.

httptools (llhttp) hands uvicorn a request's URL and header lines whatever their size, so a peer that sends
one header of hundreds of megabytes costs that much memory before anything of tiergate (auth included)
sees the request. This protocol is uvicorn's httptools one (written against uvicorn 0.55, httptools 0.9)
that counts the head as it is parsed and refuses it once it passes the limit:

- **what is counted:** the URL, and each header line as sent (name, value, ``": "`` and CRLF), from the
  first byte of a request to the end of its headers; each request on a keep-alive connection anew;
- **what the parser holds unreported:** httptools keeps a header line to itself until it ends, so a line
  that never ends is counted by the reads in which no part of the head was reported (not the one where it
  began: it may hold the end of the previous request). The refusal comes within two socket reads (256 KiB
  each) past the limit, whatever the peer sends;
- **the refusal:** a 431 with ``connection: close``, then the writing side is shut; what the peer still
  sends is read and dropped (not kept) for up to ``LINGER`` seconds, so a client still writing its
  request reads the answer instead of a reset.

The limit is uvicorn's ``h11_max_incomplete_event_size``, the bound h11 puts on the same head, so the two
implementations agree whichever uvicorn runs (``tiergate.workers.server_config`` sets it).

uvicorn's ``timeout_keep_alive`` closes a connection idle after a response, but its timer starts only
there, and any byte stops it: a connection that never sent a request, or stopped within its head, stayed
open for good (an open file each, and no key needed). Here the same number of seconds bounds the wait for a
whole head, from the connection's opening and from each request's end, once both its response is sent and
its body is in (never while a request is served, nor while the body of one answered early, a 401 or a 413
before the body was read, is still arriving: that client reads its answer once its upload ends): a
connection that sent nothing by then is closed, one within a head is answered ``408`` and closed as after
a 431. A head that comes whole in time is served as before.

A body that stops arriving is bounded too: ``BODY_WAIT`` seconds (nginx's ``client_body_timeout``) without a
byte of it, while the server is reading it, answers ``408`` and closes the connection, and the app reading the
body is told the client went away. Time the server does not read is not counted: its buffer is full until the
app reads it, a response is being sent, or the request waits behind an earlier one of the connection still
being answered (a pipelined one, whose answer may only follow that one's). A body still arriving after its
request was answered is dropped with the connection, without a second answer.

    uvicorn.Config(app, http="tiergate.head_limit:HeadLimitProtocol", h11_max_incomplete_event_size=65536)
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

#: Seconds a refused connection still reads (and drops) what its peer sends before it is closed.
LINGER = 2.0
#: Seconds a request's body may go without a byte while the server reads it (nginx's ``client_body_timeout``).
BODY_WAIT = 60.0

log = logging.getLogger("tiergate.server")


#: What this protocol overrides or calls of uvicorn's: checked before it is used (:func:`fits`), because
#: uvicorn is not pinned and these are its internals.
_USES = (
    "connection_made",
    "connection_lost",
    "data_received",
    "on_message_begin",
    "on_url",
    "on_header",
    "on_headers_complete",
    "on_message_complete",
    "on_response_complete",
    "send_400_response",
)


def fits() -> bool:
    """Whether the installed uvicorn still has what this protocol builds on."""
    return all(callable(getattr(HttpToolsProtocol, name, None)) for name in _USES) and {408, 431} <= STATUS_LINE.keys()


class _HeadTooLarge(Exception):
    """Stops the parser from a callback. Never escapes: httptools wraps it in ``HttpParserCallbackError``,
    and uvicorn logs that as an invalid request and answers it with ``send_400_response``, which answers
    431 here instead."""


class HeadLimitProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with each request's head counted and bounded, and waited for a bounded time
    (see above)."""

    def __init__(self, config: Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._limit: int = config.h11_max_incomplete_event_size or 16 * 1024  # h11's own default
        self._head = 0  # bytes of this request's head reported by the parser
        self._unreported = 0  # bytes fed since the parser last reported any, while it reads a head
        self._began = False  # a request began during this feed
        self._in_head = False
        self._in_body = False  # the head of the last request came, and its body has not ended
        self._refused = False
        self._wait: float = config.timeout_keep_alive
        self._waiting: asyncio.TimerHandle | None = None  # the bound on the wait for a head or a body, while it runs
        self._heard = 0.0  # loop time of the last bytes read

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # dropped: the answer is sent, and the connection ends when the peer stops or LINGER runs out
        self._heard = self.loop.time()
        head, self._began = self._head, False
        super().data_received(data)
        if self._refused or not self._in_head or self.transport.is_closing():
            return
        reported = self._began or self._head != head
        self._unreported = 0 if reported else self._unreported + len(data)
        if self._head + self._unreported > self._limit:
            self._refuse()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head = 0
        self._in_head = self._began = True

    # These run once per header of every request: counted inline, and the base called without super()'s lookup.
    def on_url(self, url: bytes) -> None:
        self._head += len(url)
        if self._head > self._limit:
            raise _HeadTooLarge
        HttpToolsProtocol.on_url(self, url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head += len(name) + len(value) + 4  # as sent: "name: value\r\n"
        if self._head > self._limit:
            raise _HeadTooLarge
        HttpToolsProtocol.on_header(self, name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._in_body = True
        self._stop_waiting()
        super().on_headers_complete()
        self._await_body()  # stopped at once when the request has no body (on_message_complete, same read)

    def on_message_complete(self) -> None:
        self._in_body = False
        self._stop_waiting()  # the body's bound
        super().on_message_complete()
        if self.cycle is not None and self.cycle.response_complete and not self.transport.is_closing():
            self._await_head()  # answered before its body was read: the next head is awaited from the body's end

    def on_response_complete(self) -> None:
        idle = not self.pipeline  # else the next request, whose head is in, is served now
        super().on_response_complete()
        if idle and not self._in_body and not self.transport.is_closing():
            self._await_head()
        elif not idle and self._in_body and not self.transport.is_closing():
            self._heard = self.loop.time()  # a pipelined request's turn: its body is read from now, for a whole wait
            self._await_body()

    def _await_head(self) -> None:
        self._stop_waiting()
        self._waiting = self.loop.call_later(self._wait, self._head_late)

    def _await_body(self, wait: float | None = None) -> None:
        self._stop_waiting()
        self._waiting = self.loop.call_later(BODY_WAIT if wait is None else wait, self._body_late)

    def _stop_waiting(self) -> None:
        if self._waiting is not None:
            self._waiting.cancel()
            self._waiting = None

    def _head_late(self) -> None:
        self._waiting = None
        if self.transport.is_closing() or self._refused:
            return
        if not self._in_head:  # nothing of a request came: closed as uvicorn closes an idle keep-alive connection
            self.transport.close()
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        log.info("request head from %s not complete within %g s: answered 408 and closed", client, self._wait)
        self._answer_and_close(408, f"request timeout: the request head did not arrive within {self._wait:g} s\n")

    def _body_late(self) -> None:
        self._waiting = None
        if self.transport.is_closing() or self._refused or not self._in_body:
            return
        now, cycle = self.loop.time(), self.cycle
        sending = cycle is not None and cycle.response_started and not cycle.response_complete
        # a request pipelined behind one still answered waits its turn (``pipeline``): its answer, a 408 too, may
        # go only after that one; and its body is not being read, though an app listening for a disconnect
        # while it answers the first resumes reading
        if getattr(self.flow, "read_paused", False) or sending or self.pipeline:
            self._heard = now  # the server is not reading: the peer is not waited for
        if (quiet := now - self._heard) < BODY_WAIT:
            self._await_body(BODY_WAIT - quiet)
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        if cycle is not None and cycle.response_complete:  # answered early: no second answer, the rest is dropped
            log.info("request body from %s stopped for %g s after its answer: closed", client, BODY_WAIT)
            self.transport.close()
            return
        log.info("request body from %s stopped for %g s: answered 408 and closed", client, BODY_WAIT)
        if cycle is not None:  # the app reading the body hears the client is gone, and what it sends is dropped
            cycle.disconnected = True
            cycle.message_event.set()
        self._answer_and_close(408, f"request timeout: the request body stopped arriving for {BODY_WAIT:g} s\n")

    def send_400_response(self, msg: str) -> None:
        if self._head > self._limit:
            self._refuse()
        else:
            super().send_400_response(msg)

    def _refuse(self) -> None:
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        log.warning("request head from %s is over %d bytes: answered 431 and closed", client, self._limit)
        if self.cycle is not None and not self.cycle.response_complete:
            self._refused = True
            self.transport.close()  # a pipelined request: no answer can go ahead of the one being sent
            return
        too_large = f"request header fields too large: the URL and headers are over {self._limit} bytes\n"
        self._answer_and_close(431, too_large)

    def _answer_and_close(self, status: int, text: str) -> None:
        """``status`` with ``text``, ``connection: close``; then the writing side is shut, and what the peer still
        sends is dropped until it stops or ``LINGER`` runs out."""
        self._refused = True
        self._stop_waiting()
        body = text.encode()
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: text/plain; charset=utf-8\r\n",
                b"content-length: " + str(len(body)).encode() + b"\r\n",
                b"connection: close\r\n\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        asyncio.get_running_loop().call_later(LINGER, self.transport.close)
