"""The backend seam: one Protocol, one implementation per file.

A backend is a thin binding: its upstream's URL and auth headers, a codec from :mod:`tiergate.protocols`
(the wire format, both ways, without I/O) and the one injected HTTP client
(:class:`~tiergate.backends.http.HttpClient`). It raises only :class:`~tiergate.errors.UpstreamError`
subclasses: the client's exceptions are translated by :mod:`tiergate.backends.failures`, so nothing above
it catches foreign errors.

Backends do not enforce first-token or idle timeouts, retries or breakers: dispatch wraps every
backend the same way. They do use ``call.connect_timeout`` and bound a whole call by ``call.total_timeout``
(a stream's body is bounded by its reader, which leaves out the time its client takes to read).

    backend = build_backend("ollama", config.backends["ollama"], os.environ)
    completion = await backend.complete(request, Call(model="qwen2.5-coder:7b"))
    async for event in backend.stream(request, call): ...
"""

from __future__ import annotations

import datetime
import email.utils
import functools
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import ClassVar, Literal, Protocol

import msgspec
import yarl

from tiergate.config.base import PositiveInt, Strict
from tiergate.wire import ChatRequest, Completion, StreamEvent, Usage


class Billed:
    """What the upstream counted for calls that ended without a whole answer after its success status: a stream
    broken, cut or timed out before its finish, an answer that could not be read. The upstream may have billed
    those tokens, so dispatch charges them to the attempt it falls back from. Backends add the count they had
    read (Anthropic's ``message_start``, a usage chunk) as such a call ends; a stream that never got a 200 adds
    nothing.

    A whole (non-stream) answer is different: its upstream sends nothing until it has generated the answer,
    and goes on generating (and billing) when tiergate stops waiting, at a timeout or when the client leaves.
    Its request tells :meth:`sent` when its head goes out; dispatch then charges such a call the estimate
    of its prompt (:meth:`abandon`, marked ``estimated``), as a stream cut before its count is charged.

        billed = Billed()
        await backend.complete(request, Call(model=target.model, billed=billed))   # raises; billed.usage
    """

    __slots__ = ("estimated", "sends", "usage")

    def __init__(self) -> None:
        self.usage: Usage | None = None
        #: Some of ``usage`` is an estimate (:meth:`abandon`).
        self.estimated = False
        #: Requests whose head went out (whole answers only: see :func:`sent_hook`).
        self.sends = 0

    def sent(self) -> None:
        """A whole answer's request went out: its upstream is at work on it from now on."""
        self.sends += 1

    def abandon(self, since: int, estimate: Callable[[], Usage]) -> None:
        """A whole answer's call was given up (timed out, or its client left) with no count read: when a request
        went out since ``sends`` was ``since``, its upstream bills an answer nobody reads, and ``estimate`` (the
        prompt's) is charged for it, marked estimated. A call that never got its request out adds nothing."""
        if self.sends > since:
            self.add(estimate())
            self.estimated = True

    def add(self, usage: Usage | None) -> None:
        if usage is None or not (usage.prompt_tokens or usage.completion_tokens):
            return
        if (was := self.usage) is not None:
            usage = Usage.of(
                was.prompt_tokens + usage.prompt_tokens,
                was.completion_tokens + usage.completion_tokens,
                cached=was.cached_tokens + usage.cached_tokens,
                cache_write=was.cache_write_tokens + usage.cache_write_tokens,
            )
        self.usage = usage


class Call(msgspec.Struct, frozen=True):
    """One call to one target: its model id, its time limits and what the target's model can do."""

    model: str
    connect_timeout: float = 5.0
    total_timeout: float = 600.0
    #: The target's ``timeouts.idle``, which dispatch holds a stream to: a backend that waits on its own for the
    #: end of a stream whose answer is whole waits less than this.
    idle_timeout: float = 60.0
    #: The target's ``capabilities.thinking``: ``reasoning_effort`` may turn the model's thinking on.
    thinking: bool = False
    #: The target's ``pinned``: an Ollama backend keeps the model loaded (``keep_alive: -1``).
    pinned: bool = False
    #: The target's ``capabilities.context_window``: an Ollama backend runs the model with this window
    #: (``options.num_ctx``), one value per target so Ollama never reloads the model between requests; an
    #: Anthropic backend fits the ``max_tokens`` it sends for a client that gave none in it, beside the prompt.
    context_window: int | None = None
    #: The target's ``capabilities.max_output``: the most an Anthropic backend sends as ``max_tokens``, for a
    #: client that gave no output limit or one that gave more.
    max_output: int | None = None
    #: Where the backend reports the upstream's count when the call ends without a whole answer (dispatch's
    #: calls only).
    billed: Billed | None = None
    #: Where the backend names the parameters of the request that tiergate models and its body leaves out, as
    #: ``x-tiergate-dropped-params`` names them (an Anthropic body's ``top_p`` beside ``temperature``): replaced
    #: by each body it builds, so the one last sent counts (dispatch's calls only).
    left_out: list[str] | None = None


class Backend(Protocol):
    name: str
    url: str
    #: Whether :meth:`probe` reaches the server (False: it checks the configuration only).
    probe_reaches: bool

    def missing(self) -> str | None:
        """What this backend lacks to be called at all (e.g. an unset key variable), or None."""
        ...

    async def complete(self, request: ChatRequest, call: Call) -> Completion: ...

    def stream(self, request: ChatRequest, call: Call) -> AsyncIterator[StreamEvent]:
        """Events in order; ends after exactly one Finish (and an optional UsageReport)."""
        ...

    async def probe(self) -> str | None:
        """A cheap reachability check for /ready: None when reachable, else why not."""
        ...

    async def aclose(self) -> None: ...


#: Which of the parameters tiergate does not model a kind of backend is sent (``BackendConfigBase.unmodelled``).
Unmodelled = Literal["openai", "ollama", "none"]


class BackendConfigBase(Strict, tag_field="kind", frozen=True):
    """A named connection to a model server; `kind` selects which of the variants applies.

    Each kind is one module of this package: its config Struct (a subclass of this, with its ``tag``)
    builds its backend; :mod:`tiergate.backends.registry` finds it.
    """

    base_url: str
    """Where the backend listens, e.g. `http://127.0.0.1:11434`: an `http://` or `https://` URL. An
    `ollama` backend also takes a value as `OLLAMA_HOST` does (`0.0.0.0:11434` is `http://127.0.0.1:11434`,
    `gpu-box` is `http://gpu-box:11434`). `${VAR}` and `${VAR:-default}` expand from the environment. A query
    (`?api-version=2024-10-21`) is sent with every call, after the endpoint's path; credentials
    (`http://user:${PW}@host`) go as HTTP Basic auth, in the Authorization header, so not beside `api_key_env`
    (`openai`) or an `Authorization` in `headers` (the file is refused). A `#`, `/`, `?` or `@` in them is
    percent-encoded (`%23`, `%2F`, `%3F`, `%40`): unencoded, it ends the host part, and the file is refused
    (or, where what is left still reads as a URL, warned about)."""
    headers: dict[str, str] = {}
    """Extra HTTP headers sent with every request to this backend (values may use `${VAR}`)."""
    max_connections: PositiveInt = 100
    """Most concurrent HTTP connections to this backend."""
    description: str | None = None
    """Free text for people reading the file."""

    # What the rest of tiergate needs to know of a kind, said by the kind (a new kind sets those that differ).
    keeps_strict: ClassVar[bool] = False
    """Sends a tool's ``strict`` as the client wrote it (the OpenAI wire); else ``x-tiergate-dropped-params``
    names ``tools[].strict``."""
    unmodelled: ClassVar[Unmodelled] = "none"
    """Which of the parameters tiergate does not model it is sent (:func:`tiergate.protocols.extras.dropped`):
    ``openai``, the open servers' sampling ones and ``pass_params``; ``ollama``, Ollama's options; ``none``."""
    fill_in_the_middle: ClassVar[bool] = False
    """Takes a legacy completion's ``suffix`` (Ollama's ``/api/generate``); other kinds would drop it."""
    native: ClassVar[str | None] = None
    """The client dialect it takes natively (``anthropic``: a Messages client's own body)."""
    caps_output: ClassVar[bool] = False
    """Lowers an output limit above the model's ``capabilities.max_output`` to it (the API refuses more)."""
    key_env_example: ClassVar[str] = "OPENAI_API_KEY"
    """The variable name a refused ``api_key_env`` value is told to write instead."""

    def build(self, name: str, environ: Mapping[str, str]) -> Backend:
        """The backend this config describes; keys are read from ``environ`` here and nowhere else."""
        raise NotImplementedError

    def sent_params(self) -> frozenset[str]:
        """The parameters it is sent beyond those of :attr:`unmodelled` (an ``openai`` backend's ``pass_params``)."""
        return frozenset()

    def authorization(self) -> str | None:
        """What of this config sets the Authorization header, as a refusal of credentials in ``base_url`` names
        it, or None."""
        named = next((h for h in self.headers if h.lower() == "authorization"), None)
        return f"headers.{named} sets it too" if named is not None else None


def sent_hook(call: Call, *, stream: bool) -> Callable[[], None] | None:
    """What a backend's request calls when its head goes out (``Request.sent``): a whole answer's
    ``call.billed`` (:meth:`Billed.sent`). A stream's upstream stops when tiergate closes it, so it has none."""
    return call.billed.sent if call.billed is not None and not stream else None


def retry_after(headers: Mapping[str, str], now: Callable[[], float] = time.time) -> float | None:
    """Seconds an upstream asked us to wait: ``retry-after-ms`` (finer) wins over ``retry-after``, which is a
    number of seconds or an HTTP-date (RFC 9110: ``Wed, 21 Oct 2026 07:28:00 GMT``), read against ``now``; a
    date already past asks for no wait. Negatives, non-finite numbers and what is neither are ignored.
    """
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name, "")
        try:
            seconds = float(value) * scale
        except ValueError:
            seconds = _until(value, now) if name == "retry-after" else math.nan
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    return None


def _until(date: str, now: Callable[[], float]) -> float:
    """Seconds from ``now`` to an HTTP-date (0 when past), or NaN when ``date`` is none."""
    try:
        when = email.utils.parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError):
        return math.nan
    if when.tzinfo is None:  # an asctime date, which RFC 9110 reads as UTC
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, when.timestamp() - now())


def secret_from_env(env_name: str | None, environ: Mapping[str, str]) -> str | None:
    if not env_name:
        return None
    value = environ.get(env_name, "").strip()
    return value or None


@functools.lru_cache(maxsize=256)
def endpoint(base_url: str, path: str) -> str:
    """The URL of ``path`` (``/chat/completions``) on the server at ``base_url``: ``path`` added to the end of
    ``base_url``'s path, and its query kept.

    A base URL may carry a query every call must send (Azure's ``?api-version=2024-10-21``, a proxy's
    ``?token=...``); added to the end of the whole string, the path landed in the query
    (``/v1?token=t/chat/completions``) and every call went to ``/v1``. A URL yarl cannot read is joined as
    text: the call fails as it would have, in the HTTP client, where its failure is reported.

        endpoint("https://h/openai/v1/?api-version=2024-10-21", "/chat/completions")
        # "https://h/openai/v1/chat/completions?api-version=2024-10-21"
    """
    try:
        url = yarl.URL(base_url)
        return str(url.with_path(url.raw_path.rstrip("/") + path, encoded=True, keep_query=True))
    except (ValueError, TypeError):
        return base_url.rstrip("/") + path
