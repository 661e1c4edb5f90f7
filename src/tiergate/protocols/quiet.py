"""Keep-alives while a stream writer holds what it has been sent.

Writers that translate tool calls hold each call's argument pieces until the answer ends (only whole
arguments can be checked). A long call from a slow local model can take minutes, and for all that time
the client would get no byte: proxies and clients' idle watchdogs close such a stream. A writer asks
:class:`Quiet` on each piece it holds, and writes its dialect's keep-alive (Anthropic's ``ping`` event,
``response.in_progress`` again for Responses: Codex's idle timer counts events, not comment lines) when
nothing has gone out for ``every`` seconds.

    quiet = Quiet()
    quiet.wrote()                       # whenever the writer returns bytes
    if quiet.due(): return PING         # on a piece it holds
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: Seconds without a byte to the client before a held piece sends a keep-alive.
KEEP_ALIVE_SECONDS = 10.0


class Quiet:
    """How long a stream has gone without a byte to its client."""

    __slots__ = ("_clock", "_every", "_last")

    def __init__(self, every: float = KEEP_ALIVE_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._every = every
        self._clock = clock
        self._last = clock()

    def wrote(self) -> None:
        self._last = self._clock()

    def due(self) -> bool:
        """True (and counted as written) when ``every`` seconds have passed since the last byte."""
        now = self._clock()
        if now - self._last < self._every:
            return False
        self._last = now
        return True
