"""OpenAI-compatible upstreams (llama.cpp server, LM Studio, vLLM, OpenAI itself): ``POST {base_url}/chat/completions``.

The binding: the URL, the bearer key, the codec (:mod:`tiergate.protocols.openai.upstream`) and the one
HTTP client. Failures of the client are translated by :mod:`tiergate.backends.failures`. The server is sent
``tool_choice`` but may not keep to it, so the answer's tool calls are checked against it
(:func:`~tiergate.protocols.openai.upstream.call_rule`), as an Ollama backend's are.

A stream's answer ends at the chunk with its ``finish_reason``; all that may follow is the usage chunk
(``stream_options.include_usage``) and ``data: [DONE]``, which servers send at once. They are waited for
:data:`AFTER_FINISH` seconds at most (half the target's ``idle`` when that is shorter), and a stall or a
broken connection in that time, at an event's end, ends the stream as the whole answer it is. Not for a
server that has set a ``finish_reason`` before the end of its answer (older proxies on every chunk): its
finish is no end, so nothing shortens the wait after it, and a close before its usage chunk or ``[DONE]``
fails (:attr:`StreamReader.may_end`). Once the usage chunk came after the finish, the answer is whole
whatever follows: an event that is no part of an answer (an error, one the body's end or a stall cut short,
one that is not JSON) ends it, logged by its kind (:mod:`tiergate.backends.after_answer`). Before it, such an
event may be the rest of an answer a server cut short after a finish it sets early, and fails the stream as
ever. The usage is the upstream's last count; without one, the gateway's estimate is reported, marked so
(``"estimated": true``), as for a server that counts nothing. A ``finish_reason`` that says the generation
failed (``error``, ``abort``) makes no answer whole: what follows it changes nothing of that failure.

    backend = OpenAIBackend("vllm", cfg, os.environ)
    async for event in backend.stream(request, Call(model=target.model)): ...
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping
from typing import Annotated

from msgspec import Meta

from tiergate.backends.after_answer import ended_whole
from tiergate.backends.base import BackendConfigBase, Call, endpoint, retry_after, secret_from_env, sent_hook
from tiergate.backends.failures import TRANSPORT_ERRORS, Where, transport_failure
from tiergate.backends.http import AiohttpClient, HttpClient, Request, Response, next_chunk
from tiergate.config.base import EnvName
from tiergate.errors import UpstreamCapabilityError, UpstreamError, UpstreamStatusError, UpstreamUnavailable
from tiergate.protocols import extras
from tiergate.protocols.framing import Lines, TooLong
from tiergate.protocols.openai.call_ids import conversation_ids
from tiergate.protocols.openai.upstream import (
    StreamReader,
    call_rule,
    chat_body,
    reported_usage,
    status_error,
    unsendable_document,
    whole_answer,
)
from tiergate.wire import ALIVE, ChatRequest, Completion, Raw, StreamEvent

#: A chat body's parameter, by its name (``ignore_eos``): letters, digits and underscores, not a digit first.
#: Checked by :meth:`OpenAIBackendConfig.__post_init__`, whose refusal says what the field holds (msgspec's
#: own would quote the pattern); the schema states it for editors.
_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ParamName = Annotated[str, Meta(extra_json_schema={"pattern": f"^{_PARAM_NAME.pattern}$"})]
#: The body's names for the fields tiergate reads itself: never an extra to pass on.
_MODELLED = frozenset(ChatRequest.__struct_encode_fields__)

PROBE_TIMEOUT = 2.0
#: The most seconds the rest of a stream (its usage chunk, ``[DONE]``) is waited for once its finish chunk came.
#: Read at each wait, so a test may lower it.
AFTER_FINISH = 2.0


class OpenAIBackendConfig(BackendConfigBase, tag="openai", frozen=True):
    """An OpenAI-compatible server (llama.cpp server, LM Studio, vLLM, OpenAI): `POST
    {base_url}/chat/completions`, so `base_url` includes `/v1`."""

    keeps_strict = True
    unmodelled = "openai"

    api_key_env: EnvName | None = None
    """Name of the environment variable holding a bearer token, sent as `Authorization: Bearer ...`.
    Default: none (no Authorization header)."""
    pass_params: list[ParamName] = []
    """Chat parameters tiergate does not model that this server is sent as the client sent them (with the
    openai SDK's `extra_body`), besides the open servers' sampling parameters it always gets (`min_p`,
    `repetition_penalty`, `chat_template_kwargs` with only its thinking switches; the list is in the README):
    your server's own sampling parameters (`[top_n_sigma]`), OpenAI's `store` and `verbosity`, or
    `chat_template_kwargs` to send all of its keys. Every other is not sent, and is named in
    the answer's `x-tiergate-dropped-params` header. Name only parameters that change nothing of what
    tiergate decided: which model answers, how many tokens it may write, what it costs. A parameter
    tiergate reads itself (`max_tokens`, `metadata`) or its own (`tiergate_*`) is refused. Default: none."""

    def __post_init__(self) -> None:
        for name in self.pass_params:
            if not _PARAM_NAME.fullmatch(name):
                raise ValueError(
                    f"pass_params holds {name!r}, which is not a parameter's name (letters, digits and _, as the "
                    "chat body spells it: `ignore_eos`): write the name alone, its value comes from the client"
                )
            if name.startswith(extras.OWN_PREFIX):
                raise ValueError(f"`{name}` in pass_params is tiergate's own, never sent upstream: remove it")
            if name in _MODELLED:
                raise ValueError(
                    f"`{name}` in pass_params is a parameter tiergate reads itself and sends as each backend "
                    "takes it, not one to pass on as sent: remove it"
                )

    def build(self, name: str, environ: Mapping[str, str]) -> OpenAIBackend:
        return OpenAIBackend(name, self, environ)

    def sent_params(self) -> frozenset[str]:
        return frozenset(self.pass_params)

    def authorization(self) -> str | None:
        if self.api_key_env:
            return f"api_key_env ({self.api_key_env}) sends it as a bearer token"
        return super().authorization()


class OpenAIBackend:
    """One upstream speaking ``POST {base_url}/chat/completions``; ``base_url`` includes ``/v1``."""

    probe_reaches = True

    def __init__(
        self,
        name: str,
        cfg: OpenAIBackendConfig,
        environ: Mapping[str, str],
        *,
        client: HttpClient | None = None,
    ) -> None:
        self.name = name
        self.url = cfg.base_url.rstrip("/")
        self._key_env = cfg.api_key_env
        self._key = secret_from_env(cfg.api_key_env, environ)
        self._headers = _headers(cfg.headers, self._key)
        self._accepting = {
            accept: {**self._headers, "accept": accept} for accept in ("application/json", "text/event-stream")
        }
        self._client = client or AiohttpClient(cfg.max_connections)
        self._pass_params = frozenset(cfg.pass_params)

    def missing(self) -> str | None:
        if self._key_env and self._key is None:
            return f"environment variable {self._key_env} (api_key_env) is not set"
        return None

    async def complete(self, request: ChatRequest, call: Call) -> Completion:
        sent = self._request(self._body(request, call, stream=False), "application/json", call)
        try:
            async with self._client.send(sent) as response:
                await self._raise_for_status(response, request)
                body = await response.read()
        except TRANSPORT_ERRORS as exc:
            raise transport_failure(exc, self._where(call)) from exc
        try:
            return whole_answer(
                self.name,
                self.url,
                body,
                taken=conversation_ids(request),
                asked=request.output_limit(),
                calls=call_rule(request),
            )
        except UpstreamError:
            if call.billed is not None:
                call.billed.add(reported_usage(body))
            raise

    async def stream(self, request: ChatRequest, call: Call) -> AsyncIterator[StreamEvent]:
        sent = self._request(self._body(request, call, stream=True), "text/event-stream", call)
        reader = StreamReader(
            self.name, self.url, taken=conversation_ids(request), asked=request.output_limit(), calls=call_rule(request)
        )
        ended = False
        try:
            async with self._client.send(sent) as response:
                await self._raise_for_status(response, request)
                async for event in self._read(response, reader, call):
                    yield event
            closing, ended = reader.close(), True
        except TRANSPORT_ERRORS as exc:
            raise transport_failure(exc, self._where(call)) from exc
        finally:
            if not ended and call.billed is not None:  # broken, cut short, timed out or closed
                call.billed.add(reader.counted)
        for event in closing:
            yield event

    async def _read(self, response: Response, reader: StreamReader, call: Call) -> AsyncIterator[StreamEvent]:
        """The events of the body's lines. Once the stream :attr:`~StreamReader.may_end`, a stall past the wait for
        its end, a broken connection or a unit past the cap stops the reading (:meth:`StreamReader.stopped`); so
        does, once the answer is :attr:`~StreamReader.whole`, an event in place of ``[DONE]`` that is no part of an
        answer (an error, one cut short by the body's end, one that is not JSON;
        :mod:`~tiergate.backends.after_answer`). :meth:`StreamReader.close` says whether the answer is whole."""
        lines = Lines()
        chunks = aiter(response.chunks())
        until: float | None = None  # on the loop's clock: when the wait for what follows the finish ends
        while True:
            if until is None and reader.may_end:
                yield Raw(ALIVE, b"")  # the answer may end here: the stream's idle bound starts again here
                until = asyncio.get_running_loop().time() + min(AFTER_FINISH, call.idle_timeout / 2)
            ended = False
            try:
                pieces = lines.feed(await next_chunk(chunks, until))
            except StopAsyncIteration:  # the body's end ends the line, and the event, it left unfinished
                pieces, ended = [lines.rest(), b""], True
            except TRANSPORT_ERRORS:
                if until is None:
                    raise
                reader.stopped(midway=_midway(lines))
                return
            more = False
            for line in pieces:
                events = _fed(reader, line)
                if events is None:
                    reader.stopped(midway=True)
                    return
                for event in events:
                    more = True
                    yield event
            if ended:
                return
            if more or not reader.may_end:
                # more of the answer after a finish_reason: that one was not the end (Open WebUI sets one on its
                # reasoning chunks, older proxies on every chunk), so the wait starts again after this; the reader
                # says so even when it holds what came (what comes before a forced tool call comes out with it)
                until = None
            if reader.done:
                await response.drain()
                return

    async def probe(self) -> str | None:
        if (reason := self.missing()) is not None:
            return reason
        probe = Request("GET", endpoint(self.url, "/models"), self._headers, None, PROBE_TIMEOUT, PROBE_TIMEOUT)
        try:
            async with self._client.send(probe) as response:
                status = response.status
        except TRANSPORT_ERRORS as exc:
            return transport_failure(exc, Where(self.name, self.url, PROBE_TIMEOUT, PROBE_TIMEOUT)).detail
        return None if 200 <= status < 300 else f"GET /models answered HTTP {status}"

    async def aclose(self) -> None:
        await self._client.aclose()

    def _body(self, request: ChatRequest, call: Call, *, stream: bool) -> bytes:
        """A document the chat API cannot take (by URL) skips this target without a call, as a capability
        it lacks: the next target (Claude fetches URLs) may take it."""
        if (why := unsendable_document(request)) is not None:
            raise UpstreamCapabilityError(self.name, self.url, why)
        return chat_body(request, call.model, stream=stream, thinking=call.thinking, pass_params=self._pass_params)

    def _request(self, body: bytes, accept: str, call: Call) -> Request:
        """Fails before any network call when the key is missing: the call would only earn a 401."""
        if (reason := self.missing()) is not None:
            raise UpstreamUnavailable(self.name, self.url, reason, kind="config")
        headers = self._accepting[accept]
        url, stream = endpoint(self.url, "/chat/completions"), accept == "text/event-stream"
        sent = sent_hook(call, stream=stream)
        return Request("POST", url, headers, body, call.connect_timeout, call.total_timeout, stream, sent)

    async def _raise_for_status(self, response: Response, request: ChatRequest) -> None:
        if response.ok:
            return
        body = await response.read()
        raise self._status_error(response, body, request)

    def _status_error(self, response: Response, body: bytes, request: ChatRequest) -> UpstreamStatusError:
        """``request``'s ``max_tokens``, as sent, reads a refusal of the window that names only a total."""
        wait = retry_after(response.headers)
        asked = request.output_limit()
        return status_error(self.name, self.url, response.status, body, retry_after=wait, asked=asked)

    def _where(self, call: Call) -> Where:
        return Where(self.name, self.url, call.connect_timeout, call.total_timeout)


def _fed(reader: StreamReader, line: bytes) -> list[StreamEvent] | None:
    """The events of ``line``; None for a line the reader refuses once the answer is whole (its usage chunk came
    after its finish): before that, the line may be the rest of an answer a server cut short after a finish it
    set too early, and what it raised is the stream's failure."""
    whole = reader.whole
    try:
        return reader.feed(line)
    except (UpstreamError, TooLong) as failure:
        if not whole:
            raise
        ended_whole(failure, "usage chunk")
        return None


def _midway(lines: Lines) -> bool:
    """The body stopped partway through a line (one past the cap counts: it never ended)."""
    try:
        return bool(lines.rest().strip())
    except TooLong:
        return True


def _headers(configured: Mapping[str, str], key: str | None) -> dict[str, str]:
    headers = {name.lower(): value for name, value in configured.items()}
    headers["content-type"] = "application/json"
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    return headers
