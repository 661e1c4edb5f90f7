"""The ingress seam: a dialect is a codec, the path it is served on, and the id prefix of its answers.

Every dialect decodes its clients' bodies into the internal :class:`~tiergate.wire.ChatRequest`, so the
rules, dispatch and every backend serve it the same way; it writes the answer, the stream and every
error back in its own shapes. :func:`tiergate.api.serve.serve` takes a dialect; :mod:`tiergate.api.ingress`
turns each into its route.

    class MyDialect(Dialect): ...     # one module of tiergate.api.dialects, exporting DIALECT
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from tiergate.errors import TiergateError
from tiergate.wire import ChatRequest, Completion, StreamEvent, Usage

#: The ask in every dialect's example body.
ASK = "refactor the session handling in auth.py to use the new token store"


class Writer(Protocol):
    """A stream's bytes, event by event. ``usage`` and ``finish`` are read for the request record."""

    @property
    def usage(self) -> Usage | None: ...

    @property
    def finish(self) -> str | None: ...

    def start(self) -> bytes: ...

    def event(self, event: StreamEvent) -> bytes | None: ...

    def end(self) -> bytes: ...

    def error(self, exc: TiergateError) -> bytes:
        """The stream's last bytes when it fails after it started (the status line was already sent)."""
        ...


class Dialect(Protocol):
    """One wire format clients speak to tiergate."""

    name: str
    """Matches ``Native.dialect`` and ``Raw.dialect``: a backend speaking it may pass the body through."""
    endpoint: str
    """The request record's and the metrics' ``endpoint`` label."""
    path: str
    """Where it is served; every path under it answers errors in this dialect's shape."""
    client_header: str | None
    """A header this dialect's SDKs send on every call (``anthropic-version``): on a path no dialect owns
    (``/v1/models``), a client that sends it gets its errors in this dialect's shape."""
    id_prefix: str
    """Starts every answer id (``chatcmpl-``, ``msg_``, ...)."""
    prompt_only: bool
    """The body is one prompt, not a conversation (error messages name ``prompt``)."""
    label: str
    """What a person picks it by (the console's dry-run box)."""
    example: dict[str, Any]
    """A small request body in this dialect (the console's dry-run box starts from it)."""

    def decode(self, body: bytes, headers: Mapping[str, str]) -> ChatRequest:
        """The client's body as the internal request, or a ``RequestError`` naming the field."""
        ...

    def whole(self, completion: Completion, *, id: str, created: int, model: str, request: ChatRequest) -> Any:
        """The non-stream answer as JSON-encodable data."""
        ...

    def writer(self, *, id: str, created: int, model: str, request: ChatRequest, native: bool) -> Writer:
        """The stream writer; ``native``: the upstream answers in this dialect's own frames (``Raw``)."""
        ...

    def error_body(self, exc: TiergateError) -> dict[str, Any]: ...
