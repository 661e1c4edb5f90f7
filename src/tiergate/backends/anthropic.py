"""The Anthropic Messages API (``POST {base_url}/v1/messages``) as a backend.

The binding: the URL, the key and version headers, the codec (:mod:`tiergate.protocols.anthropic`) and the
one HTTP client. Two ways out:

- translated: the internal request becomes a Messages body (:func:`~tiergate.protocols.anthropic.to_messages_body`;
  a structured answer rides on a forced tool, ``reasoning_effort`` turns thinking on where the target has
  it, and a request without an output limit gets the largest ``max_tokens`` that fits: :func:`fitted_max_tokens`,
  asked once more with the room the API names when it refuses that as over the window: :func:`refitted_max_tokens`;
  the sampling parameters the body cannot carry are named on ``call.left_out``), and the answer is read back into
  the internal form;
- native: a request that came in as a Messages body (``request.native``, dialect ``anthropic``) goes out as
  that body, only ``model`` changed (:func:`~tiergate.protocols.anthropic.native_body`), with the client's
  ``anthropic-version`` and ``anthropic-beta``. Each upstream stream event is passed on as it came, as a
  :class:`~tiergate.wire.Raw` event before the translated events of that frame (``answering`` once a content
  block has started: the stream's first token, even when it translates to nothing, as a thinking block whose
  text is hidden does); a whole answer carries the upstream's body as ``Completion.native``. Dispatch's
  checks and usage read the translated events either way. An ``error`` event is the one frame never passed
  on as it came: it is raised as an error, which dispatch scrubs of secrets (an upstream may echo the key)
  before the ingress writes it in its own shape.

A stream's answer is whole at ``message_delta``, which says why it stopped and holds the final usage; all that
follows is ``message_stop``, which Anthropic sends at once. It is waited for :data:`AFTER_STOP` seconds at most
(half the target's ``idle`` when that is shorter), and a stall, the body's end or a broken connection in that
time ends the stream as the whole answer it is: the backend makes the ``message_stop`` itself (a pass-through
client gets it as a frame like the upstream's), and the usage is ``message_delta``'s. So does an event there
that the translator refuses (an ``error`` event in place of ``message_stop``, a ``message_stop`` cut short or
not JSON), logged by its kind (:mod:`tiergate.backends.after_answer`). Before ``message_delta``, each of them
is an error as ever: the answer may have been cut mid-generation.

The API key is read once, from the environment variable the config names; a missing key is reported by
:meth:`AnthropicBackend.missing` and fails each call before any byte goes on the wire.

    backend = AnthropicBackend("claude", config.backends["claude"], os.environ)
    completion = await backend.complete(request, Call(model=target.model))
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from typing import Any, NamedTuple

import msgspec

from tiergate.backends.after_answer import ended_whole
from tiergate.backends.base import BackendConfigBase, Call, endpoint, retry_after, secret_from_env, sent_hook
from tiergate.backends.failures import TRANSPORT_ERRORS, Where, transport_failure
from tiergate.backends.http import AiohttpClient, HttpClient, Request, Response, next_chunk
from tiergate.config.base import EnvName, PositiveInt
from tiergate.errors import (
    CONTEXT_LENGTH_EXCEEDED,
    UpstreamCapabilityError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamUnavailable,
)
from tiergate.protocols.anthropic import (
    DIALECT,
    MESSAGE_STOP,
    BlankLastMessage,
    StreamTranslator,
    answer_tool_of,
    left_out,
    native_body,
    native_headers,
    reported_usage,
    status_error,
    to_messages_body,
    whole_answer,
)
from tiergate.protocols.estimate import output_room
from tiergate.protocols.framing import SseEvents, sse_fields
from tiergate.protocols.stops import cut_completion, is_blank, split_stops, stop_emulated, unemulable
from tiergate.redact import DEFAULT_ANTHROPIC_KEY_ENV
from tiergate.wire import ALIVE, ChatRequest, Completion, Raw, StreamEvent

_encode = msgspec.json.Encoder().encode
#: The least ``max_tokens`` sent for a client that gave no output limit (the former fixed default): less would
#: cut most answers short; a prompt that leaves less room in its window is the upstream's to refuse.
MIN_FITTED_MAX_TOKENS = 4096
#: Tokens kept back from the room a refusal names when the request is asked again (:func:`refitted_max_tokens`):
#: the count is the API's own, of the same prompt, so a little suffices.
REFIT_MARGIN = 256
#: The least ``max_tokens`` a refused request is asked again with: less room is the overflow it was.
MIN_REFITTED_MAX_TOKENS = 1024
#: The most seconds ``message_stop`` is waited for once ``message_delta`` said why the answer stopped. Read at
#: each wait, so a test may lower it.
AFTER_STOP = 2.0


class AnthropicBackendConfig(BackendConfigBase, tag="anthropic", frozen=True):
    """The Anthropic Messages API (`POST {base_url}/v1/messages`)."""

    native = DIALECT
    caps_output = True
    key_env_example = DEFAULT_ANTHROPIC_KEY_ENV

    api_key_env: EnvName = DEFAULT_ANTHROPIC_KEY_ENV
    """Name of the environment variable holding the API key (the key itself never goes in this file)."""
    anthropic_version: str = "2023-06-01"
    """The `anthropic-version` header sent with every call; quote it, or YAML reads 2023-06-01 as a date."""
    default_max_tokens: PositiveInt = 32000
    """The most `max_tokens` sent when the client gives no output limit (the Messages API requires one; Codex
    and many chat clients send none). What is sent is the largest limit that fits: this, or the target's
    `capabilities.max_output` when that is smaller, cut to the room the target's `context_window` leaves
    beside the prompt's estimated tokens (with a third of them again, and 1024, for the estimate's error),
    and never below 4096 (or this, when smaller): a prompt that leaves less gets that. A window that cannot
    hold both is the API's to refuse, and a refusal that names room for at least 1024 beside the prompt as
    Claude counted it (dense text counts higher than the estimate) is asked once more with that room, less
    256. A thinking budget is cut to fit under what is sent, never the reverse. Default: 32000, which every
    Claude model from Sonnet 3.7 on writes; set `max_output` on a target whose model writes less (Claude 3.5
    Haiku: 8192), and raise this for longer answers from a model that writes more (Sonnet 4.5: 64000)."""

    def build(self, name: str, environ: Mapping[str, str]) -> AnthropicBackend:
        return AnthropicBackend(name, self, environ)


class _Outgoing(NamedTuple):
    """One call's request and how to read its answer."""

    request: Request
    native: bool
    answer_tool: str | None
    emulated_stops: list[str]
    #: The request again with another ``max_tokens`` in place of the one tiergate chose (the client gave no
    #: limit); None where the client's own limit, or its own Messages body, went out.
    refit: Callable[[int], Request] | None = None


class AnthropicBackend:
    probe_reaches = False

    def __init__(
        self,
        name: str,
        cfg: AnthropicBackendConfig,
        environ: Mapping[str, str],
        *,
        client: HttpClient | None = None,
    ) -> None:
        self.name = name
        self.url = cfg.base_url.rstrip("/")
        self._cfg = cfg
        self._key = secret_from_env(cfg.api_key_env, environ)
        self._headers = {name.lower(): value for name, value in cfg.headers.items()}
        self._client = client or AiohttpClient(cfg.max_connections)

    def missing(self) -> str | None:
        return None if self._key else self._unset()

    def _unset(self) -> str:
        """What a call without the key fails with: the words ``missing`` reports (and the dry run skips with)."""
        return f"environment variable {self._cfg.api_key_env} is not set"

    async def probe(self) -> str | None:
        """Anthropic has no free health endpoint; a configured key is as far as a cheap check can go."""
        return self.missing()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def complete(self, request: ChatRequest, call: Call) -> Completion:
        out = self._outgoing(request, call, stream=False)
        try:
            async with self._answered(out) as response:
                body = await response.read()
        except TRANSPORT_ERRORS as exc:
            raise transport_failure(exc, self._where(call)) from exc
        try:
            completion = whole_answer(self.name, self.url, body, answer_tool=out.answer_tool)
        except UpstreamError:
            if call.billed is not None:
                call.billed.add(reported_usage(body))
            raise
        if out.native:
            return msgspec.structs.replace(completion, native=body)
        return cut_completion(completion, out.emulated_stops)

    def stream(self, request: ChatRequest, call: Call) -> AsyncIterator[StreamEvent]:
        out = self._outgoing(request, call, stream=True)
        translator = StreamTranslator(self.name, self.url, answer_tool=out.answer_tool)
        events = self._events(out, call, translator)
        if out.native:
            return events
        return stop_emulated(events, out.emulated_stops, counted=lambda: translator.counted)

    async def _events(self, out: _Outgoing, call: Call, translator: StreamTranslator) -> AsyncIterator[StreamEvent]:
        try:
            async with (
                self._answered(out) as response,
                contextlib.aclosing(self._frames(response, translator, call)) as frames,
            ):
                async for frame in frames:
                    # read before the frame is passed on: a frame the translator refuses (a
                    # message_stop without a stop_reason) must not reach a pass-through client
                    name, events = _translated(translator, frame)
                    if name is None:  # refused after the whole answer: its own message_stop ends it
                        name, frame = "message_stop", MESSAGE_STOP
                    if out.native and name != "error":
                        yield Raw(DIALECT, frame, translator.answering)
                    elif not events:  # a ping, a block's start: not silence, for the idle bound (and
                        yield Raw(ALIVE, b"")  # no first token: a translated stream's is its first event)
                    for event in events:
                        yield event
            if not translator.done:
                raise UpstreamProtocolError(self.name, self.url, "stream ended before message_stop", started=True)
        except TRANSPORT_ERRORS as exc:
            raise transport_failure(exc, self._where(call)) from exc
        finally:
            if not translator.done and call.billed is not None:  # broken, cut short, timed out or closed
                call.billed.add(translator.counted)

    @contextlib.asynccontextmanager
    async def _answered(self, out: _Outgoing) -> AsyncIterator[Response]:
        """The response to ``out``, once its status says it answers. The API's refusal of the ``max_tokens``
        tiergate chose as passing the window beside the prompt is asked once more, with what the refusal says
        fits (:func:`refitted_max_tokens`): the prompt's estimate, which chose it, counts 4 characters a token,
        and dense text (Chinese, base64, minified code) runs nearer one. The client sent no limit, so it has
        none to lower, and the same request answered under the former fixed 4096. The refused request cost
        nothing, and the one call is what dispatch (its breaker, its bill) sees."""
        async with self._client.send(out.request) as response:
            again = await self._refused(response, out)
            if again is None:
                yield response
                return
        async with self._client.send(again) as response:
            await self._raise_for_status(response)
            yield response

    async def _refused(self, response: Response, out: _Outgoing) -> Request | None:
        """None for an answer; the request to send again for a refusal :meth:`_answered` asks again; else
        the status's error, raised."""
        try:
            await self._raise_for_status(response)
        except UpstreamCapabilityError as exc:
            room = refitted_max_tokens(exc)
            if out.refit is None or room is None:
                raise
            return out.refit(room)
        return None

    async def _frames(
        self, response: Response, translator: StreamTranslator, call: Call
    ) -> AsyncGenerator[bytes, None]:
        """The body's stream events, each through the blank line that ends it, until the one that makes
        ``translator`` done. Once the answer is whole (:attr:`~StreamTranslator.stopped`: ``message_delta`` came),
        ``message_stop`` is waited for :data:`AFTER_STOP` seconds at most (half the call's ``idle_timeout`` when
        that is shorter); a stall past that, the body's end or a broken connection before it is answered with
        :data:`~tiergate.protocols.anthropic.MESSAGE_STOP`, made here."""
        sse = SseEvents()
        chunks = aiter(response.chunks())
        until: float | None = None  # on the loop's clock: when the wait for message_stop ends
        while True:
            if not translator.stopped:
                until = None
            elif until is None:
                until = asyncio.get_running_loop().time() + min(AFTER_STOP, call.idle_timeout / 2)
            try:
                frames = sse.feed(await next_chunk(chunks, until))
            except StopAsyncIteration:
                if rest := sse.rest().strip():  # a last event the upstream did not end, or one the end cut short
                    yield rest + b"\n\n"
                if translator.stopped:
                    yield MESSAGE_STOP
                return
            except TRANSPORT_ERRORS:
                if until is None:
                    raise
                yield MESSAGE_STOP
                return
            for frame in frames:
                yield frame
                if translator.done:
                    await response.drain()
                    return

    def _outgoing(self, request: ChatRequest, call: Call, *, stream: bool) -> _Outgoing:
        """The request to send and how to read its answer; nothing touches the network here."""
        if self._key is None:
            raise UpstreamUnavailable(self.name, self.url, self._unset(), kind="config")
        headers = {
            **self._headers,
            "x-api-key": self._key,
            "anthropic-version": self._cfg.anthropic_version,
            "content-type": "application/json",
            "accept": "text/event-stream" if stream else "application/json",
        }

        def post(body: Any) -> Request:
            hook = sent_hook(call, stream=stream)
            return Request(
                "POST", self._messages, headers, _encode(body), call.connect_timeout, call.total_timeout, stream, hook
            )

        native = request.native if request.native is not None and request.native.dialect == DIALECT else None
        if native is not None:
            for name, value in native_headers(native).items():
                headers[name] = _merged_betas(headers.get(name), value) if name == "anthropic-beta" else value
            body = native_body(native, call.model, stream=stream, max_output=call.max_output)
            return _Outgoing(post(body), True, None, [])

        request = request.output_capped(call.max_output)  # a client's limit above what the model writes

        def translated(max_tokens: int) -> Request:
            body = to_messages_body(
                request, call.model, default_max_tokens=max_tokens, stream=stream, thinking_supported=call.thinking
            )
            if call.left_out is not None:
                call.left_out[:] = left_out(request, body)
            return post(body)

        default = self._cfg.default_max_tokens  # the client's own limit goes out where it gave one
        chosen = request.output_limit() is None
        if chosen:
            default = fitted_max_tokens(request, call, default)
        try:
            sent = translated(default)
        except BlankLastMessage as exc:  # another target answers it as the client means: no call here
            raise UpstreamCapabilityError(self.name, self.url, exc.message, param=exc.param) from exc
        emulated = split_stops(request.stop_list(), refuses=is_blank)[1]
        if (why := unemulable(emulated)) is not None:  # another target may take them as they are
            raise UpstreamCapabilityError(self.name, self.url, why)
        return _Outgoing(sent, False, answer_tool_of(request), emulated, translated if chosen else None)

    @property
    def _messages(self) -> str:
        return endpoint(self.url, "/v1/messages")

    async def _raise_for_status(self, response: Response) -> None:
        if response.ok:
            return
        body = await response.read()
        wait = retry_after(response.headers)
        raise status_error(self.name, self.url, response.status, body, retry_after=wait)

    def _where(self, call: Call) -> Where:
        return Where(self.name, self.url, call.connect_timeout, call.total_timeout)


def fitted_max_tokens(request: ChatRequest, call: Call, configured: int) -> int:
    """The ``max_tokens`` for ``request``, whose client gave no output limit: ``configured`` (the backend's
    ``default_max_tokens``) or the target's ``max_output`` when smaller, cut to the room the target's context
    window leaves the answer (:func:`~tiergate.protocols.estimate.output_room`), but not below
    :data:`MIN_FITTED_MAX_TOKENS` (nor the cap, when that is smaller): less would cut most answers short, and
    a window that cannot hold the prompt and that much is the upstream's to refuse (asked again where the
    refusal names room: :func:`refitted_max_tokens`; else the overflow path: a bigger window, else the
    client's "context length exceeded"). Without a known window, the cap.

        fitted_max_tokens(request, Call(model=m, context_window=200_000, max_output=64_000), 32_000)
    """
    cap = configured if call.max_output is None else min(configured, call.max_output)
    if call.context_window is None:
        return cap
    return min(cap, max(MIN_FITTED_MAX_TOKENS, output_room(request, call.context_window)))


def refitted_max_tokens(refusal: UpstreamCapabilityError) -> int | None:
    """The ``max_tokens`` to ask again with after the API refused the one tiergate chose as over the window
    beside the prompt ("input length and `max_tokens` exceed context limit: P + O > M"): the window less the
    prompt, as the API counted them, less :data:`REFIT_MARGIN`. None for any other refusal (a prompt that
    alone passes the window: "prompt is too long"), or where that leaves less than
    :data:`MIN_REFITTED_MAX_TOKENS`: the refusal then stands, and takes the overflow's way (a bigger window,
    else the client's "context length exceeded").

        refitted_max_tokens(refusal)   # 200000 - 176015 - 256 = 23729 for "176015 + 32000 > 200000"
    """
    over = refusal.overflow
    if refusal.code != CONTEXT_LENGTH_EXCEEDED or over is None or over.prompt > over.window:
        return None
    room = over.window - over.prompt - REFIT_MARGIN
    return room if room >= MIN_REFITTED_MAX_TOKENS else None


def _merged_betas(configured: str | None, client: str) -> str:
    """The configured ``anthropic-beta`` flags and the client's, each once, configured first."""
    flags = [f.strip() for f in f"{configured or ''},{client}".split(",") if f.strip()]
    return ",".join(dict.fromkeys(flags))


def _translated(translator: StreamTranslator, frame: bytes) -> tuple[str | None, list[StreamEvent]]:
    """The frame's event name and the events it translates to. A frame the translator refuses once
    ``message_delta`` made the answer whole (an ``error`` event in place of ``message_stop``, named or a bare
    ``data:`` line as a proxy may send it; a ``message_stop`` the body's end cut short, or one that is not JSON)
    cuts nothing of it: None for its name, and the answer ends whole (:mod:`~tiergate.backends.after_answer`)."""
    name, data = sse_fields(frame)
    whole = translator.stopped
    try:
        return name, translator.feed(name, data) if data else []
    except UpstreamError as failure:
        if not whole:
            raise
        ended_whole(failure, "message_delta")
        return None, translator.feed(*sse_fields(MESSAGE_STOP))
