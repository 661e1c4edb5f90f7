"""An Ollama server as a backend: ``POST {base_url}/api/chat`` (``/api/generate`` for fill-in-the-middle).

The binding: the URL, the configured headers and ``keep_alive`` (``-1`` for a pinned target), the codec
(:mod:`tiergate.protocols.ollama`) and the one HTTP client. It also says which models the server holds in
memory (``residents``, ``GET /api/ps``) and unloads one (``unload``), for :mod:`tiergate.dispatch.switch`
and the ``target.<tier>.loaded`` feature (:mod:`tiergate.protocols.ollama_ps` is their wire). Failures of
the client are translated by :mod:`tiergate.backends.failures`, with a hint for the operator when the
server is not there at all.

    backend = OllamaBackend("ollama", OllamaBackendConfig(base_url="http://127.0.0.1:11434"))
    completion = await backend.complete(request, Call(model=target.model))
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import AsyncIterator, Iterable, Mapping
from urllib.parse import urlsplit

from msgspec.structs import force_setattr

from tiergate.backends.base import BackendConfigBase, Call, endpoint, retry_after, sent_hook
from tiergate.backends.failures import TRANSPORT_ERRORS, Where, transport_failure
from tiergate.backends.http import AiohttpClient, HttpClient, Request, Response
from tiergate.config.base import PositiveInt, Seconds
from tiergate.errors import UpstreamCapabilityError, UpstreamError, UpstreamProtocolError, UpstreamStatusError
from tiergate.protocols import ollama, ollama_ps
from tiergate.protocols.framing import Lines
from tiergate.protocols.ollama_ps import Resident
from tiergate.wire import ChatRequest, Completion, StreamEvent

PROBE_TIMEOUT = 2.0
"""Seconds a readiness probe (or an ``/api/ps``) may take: /ready must answer quickly even when Ollama does not."""
UNLOAD_TIMEOUT = 30.0
"""Seconds an unload may take: Ollama answers once the model's memory is freed."""
LOAD_TIMEOUT = 600.0
"""Seconds loading a pinned model may take: a large model read from disk on a slow machine."""


class OllamaBackendConfig(BackendConfigBase, tag="ollama", frozen=True):
    """An Ollama server (`/api/chat`, and `/api/generate` for autocomplete with a suffix)."""

    unmodelled = "ollama"
    fill_in_the_middle = True

    keep_alive: str | int | None = None
    """How long Ollama keeps the model loaded after a request (`10m`, `1h`, `-1` for ever), passed as
    `keep_alive` (a number, bare or quoted, as seconds); empty (`${OLLAMA_KEEP_ALIVE:-}`) sends none. A target's
    `pinned` sends `-1` instead. Default: Ollama's own (5m)."""
    max_loaded: PositiveInt | None = None
    """Most models this server may hold in memory at once. Before a call to a model that is not loaded,
    tiergate asks `/api/ps` and unloads the least recently used others (never a `pinned` one, nor one
    serving a request) so a small GPU never holds more; calls that need a switch wait for each other.
    With `state.redis_url`, the calls of every worker and replica count. Default: no limit (Ollama's own
    `OLLAMA_MAX_LOADED_MODELS` applies)."""
    loaded_ttl: Seconds = 5.0
    """Seconds an `/api/ps` answer is reused for the `target.<tier>.loaded` feature; a stale one is
    refreshed in the background, never on a request's path. Default: 5."""

    def __post_init__(self) -> None:
        if isinstance(self.keep_alive, str) and not _keep_alive_read(self.keep_alive):
            raise ValueError(
                f"keep_alive {self.keep_alive!r} is no duration Ollama reads, and it would refuse every request: "
                "write seconds (300, -1 for ever) or a number with units (10m, 1h, 1h30m)"
            )
        # `OLLAMA_HOST=0.0.0.0:11434` (how Ollama is told to listen everywhere) is a base_url too; one that
        # cannot be read stays as written, and the config check reports it at its line.
        if "://" not in self.base_url:
            with contextlib.suppress(ValueError):
                force_setattr(self, "base_url", ollama_host_url(self.base_url))

    def build(self, name: str, environ: Mapping[str, str]) -> OllamaBackend:
        return OllamaBackend(name, self)


#: What Ollama takes as ``keep_alive``: a number of seconds, or Go's duration (``10m``, ``1h30m``, ``-1s``).
_NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_DURATION = re.compile(rf"[-+]?(?:{_NUMBER}(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+")


def _keep_alive_read(value: str) -> bool:
    """Whether Ollama reads ``value`` as it is sent (:func:`tiergate.protocols.ollama_ps.keep_alive`): a number of
    seconds, bare or quoted (``"300"``, ``"1e3"``), which is sent as a number; or Go's duration, spaces and all;
    or nothing (``""``: none is sent)."""
    if value == "":
        return True
    try:
        return math.isfinite(float(value))
    except ValueError:
        return _DURATION.fullmatch(value) is not None


DEFAULT_PORT = 11434
#: Addresses a server listens on to mean "every interface"; a client reaches the server at loopback.
UNSPECIFIED = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}


def ollama_host_url(host: str) -> str:
    """A scheme-less ``OLLAMA_HOST`` value as the URL Ollama's own clients connect to.

    As the ollama Python client's ``_parse_host``: no scheme means ``http`` and port 11434, an empty host
    means 127.0.0.1, a path is kept without its trailing slash. As Ollama's ``ConnectableHost``, the
    listen-everywhere addresses 0.0.0.0 and :: are reached at loopback. A URL with a scheme is returned
    unchanged; a port that is not a number from 0 to 65535 raises ValueError.

        ollama_host_url("0.0.0.0:11434")   # "http://127.0.0.1:11434"
        ollama_host_url("gpu-box")         # "http://gpu-box:11434"
    """
    if "://" in host:
        return host
    hostport, _, path = host.strip().partition("/")
    split = urlsplit(f"http://{hostport}")
    name = split.hostname or "127.0.0.1"
    port = split.port or DEFAULT_PORT  # ValueError for "host:abc" or "host:99999"
    name = UNSPECIFIED.get(name, f"[{name}]" if ":" in name else name)
    path = path.strip("/")
    return f"http://{name}:{port}/{path}" if path else f"http://{name}:{port}"


class OllamaBackend:
    probe_reaches = True

    def __init__(self, name: str, cfg: OllamaBackendConfig, *, client: HttpClient | None = None) -> None:
        self.name = name
        self.url = cfg.base_url.rstrip("/")
        self._cfg = cfg
        self._headers = {name.lower(): value for name, value in cfg.headers.items()}
        self._headers["content-type"] = "application/json"
        self._client = client or AiohttpClient(cfg.max_connections)
        self._keep_alive = ollama_ps.keep_alive(cfg.keep_alive)

    def missing(self) -> str | None:
        return None

    async def complete(self, request: ChatRequest, call: Call) -> Completion:
        """The whole answer; one without the tool call the request requires, or with a call to another tool
        than the one ``tool_choice`` names, is refused (it falls back)."""
        sent = self._request(request, call, stream=False)
        try:
            async with self._client.send(sent) as response:
                await self._raise_for_status(response, call.model)
                body = await response.read()
        except TRANSPORT_ERRORS as exc:
            raise transport_failure(exc, self._where(call.connect_timeout, call.total_timeout)) from exc
        try:
            return ollama.whole_answer(self.name, self.url, body, calls=ollama.call_rule(request))
        except UpstreamError:
            if call.billed is not None:
                call.billed.add(ollama.reported_usage(body))
            raise

    async def stream(self, request: ChatRequest, call: Call) -> AsyncIterator[StreamEvent]:
        """The answer's events. When the request requires a tool call, nothing comes out before the model's
        first call (then what it said before comes with it), and a stream without one is refused; the wait
        for that first call counts toward ``timeouts.first_token``, since the client has no byte yet. A call
        to another tool than the one named is refused as it comes."""
        sent = self._request(request, call, stream=True)
        reader = ollama.StreamReader(self.name, self.url, calls=ollama.call_rule(request))
        lines = Lines()
        try:
            async with self._client.send(sent) as response:
                await self._raise_for_status(response, call.model)
                async for chunk in response.chunks():
                    for line in lines.feed(chunk):
                        for event in reader.feed(line):
                            yield event
                        if reader.done:
                            await response.drain()
                            return
                for event in reader.feed(lines.rest()):
                    yield event
        except TRANSPORT_ERRORS as exc:
            raise transport_failure(exc, self._where(call.connect_timeout, call.total_timeout)) from exc
        finally:
            if not reader.done and call.billed is not None:  # refused, broken, cut short, timed out or closed
                call.billed.add(reader.counted)
        if not reader.done:
            raise UpstreamProtocolError(self.name, self.url, "stream ended before done", started=True)

    async def probe(self) -> str | None:
        probe = Request("GET", endpoint(self.url, "/api/version"), self._headers, None, PROBE_TIMEOUT, PROBE_TIMEOUT)
        try:
            async with self._client.send(probe) as response:
                if not response.ok:
                    await self._raise_for_status(response, None)
        except TRANSPORT_ERRORS as exc:
            return transport_failure(exc, self._where(PROBE_TIMEOUT, PROBE_TIMEOUT)).detail
        except UpstreamStatusError as exc:
            return exc.detail
        return None

    async def aclose(self) -> None:
        await self._client.aclose()

    async def missing_models(self, models: Iterable[str]) -> list[str]:
        """Which of ``models`` the server has not pulled (``GET /api/tags``); none when it cannot tell. A
        request for one answers 404 and falls back to a paid tier, every time, with nothing else to show it."""
        tags = Request("GET", self.url + "/api/tags", self._headers, None, PROBE_TIMEOUT, PROBE_TIMEOUT)
        try:
            async with self._client.send(tags) as response:
                if not response.ok:
                    return []
                body = await response.read()
        except TRANSPORT_ERRORS:
            return []
        try:
            listed = ollama_ps.decode_ps(self.name, self.url, body)  # /api/tags lists models as /api/ps does
        except UpstreamError:
            return []
        pulled = {ollama_ps.tagged(entry.name) for entry in listed}
        return [model for model in dict.fromkeys(models) if ollama_ps.tagged(model) not in pulled]

    async def residents(self) -> list[Resident]:
        """The models in the server's memory now (``GET /api/ps``); raises an UpstreamError."""
        ps = Request("GET", endpoint(self.url, ollama_ps.PS), self._headers, None, PROBE_TIMEOUT, PROBE_TIMEOUT)
        try:
            async with self._client.send(ps) as response:
                await self._raise_for_status(response, None)
                body = await response.read()
        except TRANSPORT_ERRORS as exc:
            raise transport_failure(exc, self._where(PROBE_TIMEOUT, PROBE_TIMEOUT)) from exc
        return ollama_ps.decode_ps(self.name, self.url, body)

    async def unload(self, model: str) -> None:
        """Ask the server to drop ``model`` from memory now; raises an UpstreamError."""
        await self._memory(model, *ollama_ps.unload(model), UNLOAD_TIMEOUT)

    async def pin(self, model: str, num_ctx: int | None = None) -> None:
        """Ask the server to load ``model`` and keep it (a pinned target, ahead of its first call), with the
        context window its calls send, so the first call does not load it again."""
        await self._memory(model, *ollama_ps.load(model, num_ctx), LOAD_TIMEOUT)

    async def _memory(self, model: str, path: str, body: bytes, seconds: float) -> None:
        sent = Request("POST", endpoint(self.url, path), self._headers, body, PROBE_TIMEOUT, seconds)
        try:
            async with self._client.send(sent) as response:
                await self._raise_for_status(response, model)
                await response.read()
        except TRANSPORT_ERRORS as exc:
            raise transport_failure(exc, self._where(PROBE_TIMEOUT, seconds)) from exc

    @property
    def max_loaded(self) -> int | None:
        return self._cfg.max_loaded

    @property
    def loaded_ttl(self) -> float:
        return self._cfg.loaded_ttl

    def _request(self, request: ChatRequest, call: Call, *, stream: bool) -> Request:
        """The call's request; an image URL (which Ollama cannot fetch) is a capability this target lacks,
        so the request falls back to the next target, and no byte goes upstream."""
        keep_alive = ollama_ps.FOREVER if call.pinned else self._keep_alive
        try:
            path, body = ollama.encode(
                request,
                call.model,
                stream=stream,
                keep_alive=keep_alive,
                num_ctx=call.context_window,
                thinking=call.thinking,
            )
        except ollama.ImageURLRefused as exc:
            raise UpstreamCapabilityError(self.name, self.url, exc.message, param=exc.param) from exc
        url = endpoint(self.url, path)
        sent = sent_hook(call, stream=stream)
        return Request("POST", url, self._headers, body, call.connect_timeout, call.total_timeout, stream, sent)

    async def _raise_for_status(self, response: Response, model: str | None) -> None:
        if response.ok:
            return
        body = await response.read()
        wait = retry_after(response.headers)
        raise ollama.status_error(self.name, self.url, response.status, body, model=model, retry_after=wait)

    def _where(self, connect: float, total: float) -> Where:
        hint = f"is Ollama running? (set OLLAMA_HOST or edit backends.{self.name}.base_url)"
        return Where(self.name, self.url, connect, total, hint)
