"""Egress, tiergate → an OpenAI-compatible server (llama.cpp server, LM Studio, vLLM, OpenAI itself): the chat
request body, and the answer, its stream and error envelopes read back. Pure: bytes in, bytes out.

tiergate's internal form already is the OpenAI chat format, so the request needs little more than the
upstream's model id. The work is in reading back: tolerant where these servers differ harmlessly
(``reasoning`` vs ``reasoning_content``, parallel tool calls that all claim index 0, no ``[DONE]`` after a
finish), strict where a client would otherwise take a broken answer for a whole one (bad JSON, a stream
cut before its finish, a tool call ``tool_choice`` does not allow: :func:`call_rule`).

    body = chat_body(request, "qwen2.5-coder:7b", stream=True)
    reader = StreamReader("vllm", url, taken=conversation_ids(request))   # ids no answer's call may keep
    for line in lines.feed(chunk):
        events = reader.feed(line)            # reader.done after ``data: [DONE]``
    events = reader.close()                   # Finish (and UsageReport), or a protocol error if cut short
    completion = whole_answer("vllm", url, body, taken=conversation_ids(request))
    error = status_error("vllm", url, 429, body, retry_after=7.0)
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import msgspec

from tiergate.errors import (
    CONTEXT_NAMED,
    UpstreamCapabilityError,
    UpstreamProtocolError,
    UpstreamStatusError,
    exceeds_context,
    refuses_format,
)
from tiergate.protocols import extras, framing
from tiergate.protocols.openai import finishes
from tiergate.protocols.openai.call_ids import CallIds
from tiergate.protocols.overflow import too_long
from tiergate.protocols.tool_choice import CallRule
from tiergate.wire import (
    ChatRequest,
    Completion,
    Finish,
    FinishReason,
    FunctionCall,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallArgs,
    ToolCallStart,
    Usage,
    UsageReport,
)

#: Fields of the internal request that are tiergate's own, never an upstream's (``tiergate_extra``: the body's
#: parameters tiergate does not model, which go as :func:`~tiergate.protocols.extras.for_openai` says).
_TIERGATE_FIELDS = (
    "provider",
    "metadata",
    "native",
    "suffix",
    "max_completion_tokens",
    "tiergate_continuation",
    "tiergate_extra",
)
#: Fields refused at the edge when set (``check_chat``); their unset spellings (``logprobs: false``) stay here.
_REFUSED_FIELDS = ("logprobs", "top_logprobs", "logit_bias", "modalities", "audio", "functions", "function_call")
#: Every finish reason is read, whatever its case and whether known or not, by
#: :func:`~tiergate.protocols.openai.finishes.read`.
_ERROR_PREVIEW = 200
_encode = msgspec.json.Encoder().encode


# --- the request ----------------------------------------------------------------------------------


def chat_body(
    request: ChatRequest, model: str, *, stream: bool, thinking: bool = False, pass_params: Collection[str] = ()
) -> bytes:
    """The client's request as-is, minus tiergate's own fields, with the portable spellings.

    ``developer`` and ``max_completion_tokens`` are newer than several local servers' chat templates, so
    they go out as ``system`` and ``max_tokens``, which every compatible server accepts; the system messages
    the conversation opens with go as one (:func:`_one_system`). A tool message's
    images and documents (``file`` parts), which a chat tool message cannot carry, follow it in a ``user``
    message. A document goes as OpenAI's ``file`` part, ``{"file_data", "filename"}``: a backend sends one
    only after :func:`unsendable_document` found none it cannot send. A stream always asks for usage (the
    gateway reports it whether or not the client asked). ``reasoning_effort`` goes only to a target with
    ``capabilities.thinking`` (``thinking``), as documented: a server without reasoning may refuse it. ``none``
    (and ``off``, ``disabled``, ``false``; what a Messages client's ``thinking: disabled`` becomes) is sent to
    no server: vLLM refuses it (it takes low, medium and high); without it a server thinks as by default.
    Of the body's parameters tiergate does not model, the open servers' sampling parameters (``min_p``,
    ``repetition_penalty``) and those the backend's ``pass_params`` names go as sent, and no other
    (:func:`~tiergate.protocols.extras.for_openai`).
    """
    body: dict[str, Any] = msgspec.to_builtins(request)
    for name in (*_TIERGATE_FIELDS, *_REFUSED_FIELDS):
        body.pop(name, None)
    body.update(extras.for_openai(request.extra, pass_params))
    if not thinking or request.effort() == "none":
        body.pop("reasoning_effort", None)
    if (limit := request.output_limit()) is not None:
        body["max_tokens"] = limit
    for message in body["messages"]:
        if message.get("role") == "developer":
            message["role"] = "system"
        message.pop("tiergate_thinking", None)  # Claude's signed thinking: only Anthropic reads it
        message.pop("tiergate_at", None)  # tiergate's own
        for part in message["content"] if isinstance(message.get("content"), list) else ():
            if isinstance(file := part.get("file"), dict):
                file.pop("at", None)  # tiergate's own
        for call in message.get("tool_calls") or ():
            call.setdefault("type", "function")  # a default the internal form omits; OpenAI requires it
            function = call["function"]  # `arguments` is required too (llama.cpp, vLLM): "{}" for none
            if not function.get("arguments", "").strip():
                function["arguments"] = "{}"
    body["messages"] = _tool_images_apart(_one_system(body["messages"]))
    for tool in body.get("tools") or ():
        tool.setdefault("type", "function")
    body["model"] = model
    body["stream"] = stream
    if stream:
        body["stream_options"] = {"include_usage": True}
    else:
        body.pop("stream_options", None)
    return _encode(body)


def _one_system(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` with the system messages they open with as one, their texts joined by a blank line.

    A Responses client's ``instructions`` and its ``developer`` message (Codex sends both) arrive as two; the
    chat templates of Gemma and Mistral on llama.cpp and vLLM take a system message only as the first and
    refuse a second ("Conversation roles must alternate"). OpenAI reads them in the same order either way. A
    system message later in the conversation stays where it is: its place means something.
    """
    lead = 0
    while lead < len(messages) and messages[lead].get("role") == "system":
        lead += 1
    texts = [_text(m.get("content")) for m in messages[:lead]]
    if lead < 2 or any(text is None for text in texts):
        return messages
    return [{"role": "system", "content": "\n\n".join(t for t in texts if t)}, *messages[lead:]]


def _text(content: Any) -> str | None:
    """A system message's text, or None when it holds anything but text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in content):
        return "\n".join(str(p.get("text", "")) for p in content)  # as Message.text() and the servers join them
    return None


def unsendable_document(request: ChatRequest) -> str | None:
    """Why the chat API cannot be sent one of the request's documents, or None: it reads a PDF given as
    ``file_data`` only, not by URL (a document by URL is for a target that fetches it, such as Claude)."""
    for message in request.messages:
        for document in message.documents():
            if document.file_data is None:
                at = document.at or "messages"
                return f"{at}: {document.described()}, which the OpenAI chat API cannot take (only `file_data`)"
    return None


#: What a tool message's parts that are not text are called where a user message carries them instead.
_ATTACHED = {"image_url": "Images", "file": "Documents"}


def _tool_images_apart(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat tool messages carry only text, so a tool message keeps its text and its images and documents go
    into a ``user`` message right after the run of tool messages it is in, each call's introduced by a text
    part naming the call (``Images from tool call call_1:``, ``Documents from ...``, ``Images and documents
    from ...``)."""
    out: list[dict[str, Any]] = []
    images: list[dict[str, Any]] = []
    for message in messages:
        if message.get("role") not in ("tool", "function"):
            if images:
                out.append({"role": "user", "content": images})
                images = []
            out.append(message)
            continue
        content = message.get("content")
        attached = [p for p in content if p.get("type") in _ATTACHED] if isinstance(content, list) else []
        if isinstance(content, list) and attached:
            texts = [p["text"] for p in content if p.get("type") == "text" and p.get("text")]
            message["content"] = "\n".join(texts)
            call = message.get("tool_call_id") or message.get("name") or ""
            kinds = [name for kind, name in _ATTACHED.items() if any(p["type"] == kind for p in attached)]
            what = " and ".join(kinds).capitalize()
            images.append({"type": "text", "text": f"{what} from tool call {call}:"})
            images.extend(attached)
        out.append(message)
    if images:
        out.append({"role": "user", "content": images})
    return out


# --- what the upstream sends back (unknown fields ignored: servers add their own) ---------------------


class _Function(msgspec.Struct):
    name: str | None = None
    arguments: str | dict[str, Any] | None = None


class _ToolCall(msgspec.Struct):
    index: int | None = None
    id: str | None = None
    function: _Function | None = None


class _Message(msgspec.Struct):
    """Both ``choices[].message`` (whole answers) and ``choices[].delta`` (stream chunks)."""

    content: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    tool_calls: list[_ToolCall] | None = None

    def thinking(self) -> str | None:
        return self.reasoning_content or self.reasoning


class _Choice(msgspec.Struct):
    message: _Message | None = None
    delta: _Message | None = None
    finish_reason: str | None = None
    #: The stop string the answer ended on: vLLM's ``stop_reason`` (a token id when a stop token ended it),
    #: SGLang's ``matched_stop``. Any type is read, and only a string is kept.
    stop_reason: Any = None
    matched_stop: Any = None

    def stop_sequence(self) -> str | None:
        return next((s for s in (self.stop_reason, self.matched_stop) if isinstance(s, str) and s), None)


class _PromptDetails(msgspec.Struct):
    cached_tokens: int | None = None


class _CompletionDetails(msgspec.Struct):
    reasoning_tokens: int | None = None


class _Usage(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    #: OpenAI's prompt-cache reads, which ``prompt_tokens`` includes; servers without a cache omit it or
    #: send ``null``.
    prompt_tokens_details: _PromptDetails | None = None
    #: The reasoning tokens among ``completion_tokens``, where the server counts them apart.
    completion_tokens_details: _CompletionDetails | None = None


class _ErrorDetail(msgspec.Struct):
    message: str | None = None
    type: str | None = None
    code: int | str | None = None
    #: llama.cpp's figures beside its ``exceed_context_size_error``: the prompt's tokens and the window.
    n_prompt_tokens: int | None = None
    n_ctx: int | None = None


class _Payload(msgspec.Struct):
    """A ``chat.completion``, a ``chat.completion.chunk`` or an error body: one shape reads all three.

    vLLM's older error bodies put ``message``, ``type`` and ``code`` at the top level, as ``"object": "error"``
    (also as a stream event, before its ``[DONE]``); LM Studio sometimes sends ``{"error": "text"}``.
    """

    choices: list[_Choice] = []
    usage: _Usage | None = None
    error: _ErrorDetail | str | None = None
    object: str | None = None
    message: str | None = None
    type: str | None = None
    code: int | str | None = None

    def failed(self) -> bool:
        """The payload is an error, not an answer or a piece of one."""
        return self.error is not None or self.object == "error"


_decode_payload = msgspec.json.Decoder(_Payload).decode


# --- whole answers --------------------------------------------------------------------------------


def call_rule(request: ChatRequest) -> CallRule:
    """What the answer's tool calls are checked for: the server is sent ``tool_choice``, but not every one
    keeps to it (Ollama's ``/v1`` ignores it, a model without a tool grammar calls what it writes), so a
    call the request requires must be there, and each call be to the named tool."""
    return CallRule.of(request, why="the server did not keep to it")


def whole_answer(
    backend: str,
    url: str,
    body: bytes,
    *,
    taken: Collection[str] = frozenset(),
    asked: int | None = None,
    calls: CallRule | None = None,
) -> Completion:
    """A non-stream answer's body, read strictly: an error object in it is that error, and an answer without
    its ``finish_reason`` (cut off mid-generation) is a protocol error. ``taken``: the tool-call ids the
    conversation holds, which no call of the answer keeps (:mod:`~tiergate.protocols.openai.call_ids`);
    ``asked``: the request's ``max_tokens``, as :func:`status_error` takes it; ``calls``: what the answer's
    tool calls must be (:func:`call_rule`), refused as a capability the target lacks."""
    payload = _decoded(backend, url, body, "response body", asked)
    choice = payload.choices[0] if payload.choices else None
    message = choice.message if choice is not None else None
    if choice is None or message is None:
        raise _protocol(backend, url, "answer has no choices[0].message")
    if choice.finish_reason is None:  # a short answer must never pass for a whole one
        raise _protocol(backend, url, "the answer has no finish_reason: it is incomplete")
    reading = finishes.read(backend, choice.finish_reason)
    if reading == "failed":
        raise _protocol(backend, url, _failed_finish(choice.finish_reason))
    ids = CallIds(taken)
    tool_calls = [_whole_tool_call(tc, ids, backend, url) for tc in message.tool_calls or []]
    if calls is not None:
        for index, call in enumerate(tool_calls):
            calls.check(call.function.name, backend, url, index)
        if calls.required and not tool_calls:
            raise calls.missing(backend, url)
    finish = _finish_reason(reading, has_tool_calls=bool(tool_calls))
    return Completion(
        content=message.content,
        tool_calls=tool_calls,
        finish_reason=finish,
        usage=_usage(payload.usage),
        reasoning=message.thinking(),
        stop_sequence=choice.stop_sequence() if finish == "stop" else None,
    )


def reported_usage(body: bytes) -> Usage | None:
    """The usage of a body :func:`whole_answer` refused (an answer without its ``finish_reason``), if it has one."""
    try:
        return _usage(_decode_payload(body).usage)
    except msgspec.DecodeError:
        return None


def _whole_tool_call(tc: _ToolCall, ids: CallIds, backend: str, url: str) -> ToolCall:
    if tc.function is None or not tc.function.name:
        raise _protocol(backend, url, "tool call without a function name")
    arguments = tc.function.arguments
    if not isinstance(arguments, str):
        arguments = _encode(arguments or {}).decode()
    return ToolCall(id=ids.of(tc.id), function=FunctionCall(name=tc.function.name, arguments=arguments))


# --- streams ----------------------------------------------------------------------------------------


class StreamReader:
    """Reads a chat stream line by line (``data:`` lines; comments and ``event:`` lines are skipped) into
    stream events, numbering tool calls in the order they open.

    An event whose one ``data:`` line holds a whole value is read at once, so a server that leaves out the
    blank line between events is read too. SSE lets one event's data run over several ``data:`` lines
    (joined with line breaks): a first line cut short keeps the lines that follow, up to the event's end
    (a blank line, or the stream's), and they are read once, joined. Those lines together hold at most
    :data:`~tiergate.protocols.framing.MAX_UNIT_BYTES`, the cap of one line: an event is capped the same
    however it is framed, and one past it raises :class:`~tiergate.protocols.framing.TooLong`, as a line
    past it does.

    Upstream tool-call indexes are mapped, not trusted: some servers number every parallel call 0, so a new
    ``id`` under a known index opens a new call (an empty one is no id: TGI sends ``""`` with every piece of a
    call). Finish (and UsageReport) are held back until :meth:`close`, because OpenAI sends usage in a chunk
    after the one that carries ``finish_reason``; ``finished`` tells that it came.

    With ``calls`` (:func:`call_rule`), a tool call it does not allow raises as it opens; where it requires
    one, what comes before the first call is held and comes out with it, and :meth:`close` raises for an
    answer without one, with nothing said: the request falls back.

    How sure that the answer ended: a ``finish_reason`` is its end for most servers, but some set one on chunks
    before the end (older proxies and LiteLLM on every chunk, Open WebUI on its reasoning, ChatMock on a tool
    call's first chunk, before its arguments). The usage chunk, which servers send last (tiergate always asks
    for it), or ``[DONE]`` says the answer is :attr:`whole`, whatever the rest of the stream does; a finish alone
    lets the stream end there (:attr:`may_end`: a stall or a close at an event's end) only while no more of the
    answer has come after a finish (:attr:`early`).
    """

    def __init__(
        self,
        backend: str,
        url: str,
        *,
        taken: Collection[str] = frozenset(),
        asked: int | None = None,
        calls: CallRule | None = None,
    ) -> None:
        self._backend = backend
        self._url = url
        self._rule = calls
        self._held: list[StreamEvent] | None = [] if calls is not None and calls.required else None
        self._asked = asked  # the request's max_tokens: splits an overflow's total (status_error's ``asked``)
        self._ids = CallIds(taken)  # the conversation's tool-call ids are not given to a call again
        self._calls: dict[int | None, tuple[int, str | None]] = {}
        self._opened = 0
        self._finish: str | None = None
        self._stop: str | None = None
        self._usage: Usage | None = None
        #: A chunk with usage and no piece of the answer came after the finish: the server's last word.
        self._counted_after = False
        #: More of the answer came after a finish_reason: this server sets one before its answer's end.
        self.early = False
        #: The body stopped coming partway through a line or an event (:meth:`stopped`).
        self._midway = False
        #: True after ``data: [DONE]``: nothing after it is read.
        self.done = False
        #: The ``data:`` lines of an event whose JSON is not whole yet.
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._limit = framing.MAX_UNIT_BYTES  # read here, so a test may lower it

    def feed(self, line: bytes) -> list[StreamEvent]:
        if self.done:
            return []
        if not line.startswith(b"data:"):
            if self._pending and not line.strip():  # the event ended: its lines joined are its value
                return self._decode_pending()
            return []
        data = line[5:].strip()
        if self._pending and data == b"[DONE]":  # the end marker with no blank line before it
            events = self._decode_pending()
            self.done = True
            return events
        if self._pending:  # the rest of an event whose first line was cut short: read at its end
            self._pending.append(data)
            self._pending_bytes += len(data)
            if self._pending_bytes > self._limit:
                self._pending, self._pending_bytes = [], 0
                raise framing.TooLong("event", self._limit)
            return []
        if data == b"[DONE]":
            self.done = True
            return []
        try:
            payload = _decode_payload(data)
        except msgspec.DecodeError as exc:
            if "truncated" not in str(exc):
                raise _protocol(self._backend, self._url, f"invalid JSON in stream event: {exc}") from exc
            self._pending, self._pending_bytes = [data], len(data)
            return []
        failed = payload.failed()
        return self._read(_decoded(self._backend, self._url, data, "stream event", self._asked) if failed else payload)

    def _decode_pending(self) -> list[StreamEvent]:
        whole = b"\n".join(self._pending)
        self._pending, self._pending_bytes = [], 0
        return self._read(_decoded(self._backend, self._url, whole, "stream event", self._asked))

    def _read(self, payload: _Payload) -> list[StreamEvent]:
        finished = self._finish is not None
        if payload.usage is not None:
            self._usage = _usage(payload.usage)
        events: list[StreamEvent] = []
        for choice in payload.choices[:1]:
            if choice.delta is not None:
                self._delta(choice.delta, events)
            if events and choice.finish_reason is None:
                # more of the answer after a finish_reason: that one was not the end (Open WebUI sets one on
                # its reasoning chunks, older proxies on every chunk); the answer ends at the last one
                self._finish = self._stop = None
            if choice.finish_reason:
                self._finish = choice.finish_reason
                self._stop = choice.stop_sequence()
        if events:  # the answer goes on: a finish before this one was not its end, nor a count its last
            self.early = self.early or finished
            self._counted_after = False
        elif finished and payload.usage is not None:
            self._counted_after = True
        if self._held is not None:  # a call is required: nothing before the first one comes out alone
            if not self._opened:
                self._held += events
                return []
            events, self._held = self._held + events, None
        return events

    @property
    def finished(self) -> bool:
        """The chunk with the ``finish_reason`` came, and no more of the answer since: all that should follow is
        the usage chunk and ``[DONE]``."""
        return self._finish is not None

    @property
    def whole(self) -> bool:
        """The answer is whole, whatever the rest of the stream does (an error, a line that is not JSON, an event
        cut short): a ``finish_reason`` that ends it, not one that says its generation failed
        (:mod:`~tiergate.protocols.openai.finishes`), then the usage chunk, which servers send last, or ``[DONE]``.
        A finish alone is not enough: a server that sets one before its answer's end may be cut, or fail,
        mid-answer after it."""
        return self._ends_well() and (self._counted_after or self.done)

    @property
    def may_end(self) -> bool:
        """The stream may end here (stop coming, or close, at an event's end) with its answer whole: it is
        :attr:`whole`, or its finish came and this server has set none before the end of an answer (:attr:`early`;
        one that has may have more of it to send)."""
        return self.whole or (self._ends_well() and not self.early)

    def _ends_well(self) -> bool:
        return self._finish is not None and finishes.meaning(self._finish) != "failed"

    def stopped(self, *, midway: bool) -> None:
        """The rest of the body is not read: it stopped coming after the finish (a stall past the wait for its
        end, a broken connection), ``midway`` through a line or an event when ``midway``, or the line read last is
        refused after the whole answer. What was left unfinished is dropped; :meth:`close` says whether the answer
        is whole without it."""
        self._midway = midway or bool(self._pending)
        self._pending, self._pending_bytes = [], 0

    @property
    def counted(self) -> Usage | None:
        """The upstream's last count, None before any (most servers send it last, after the finish)."""
        return self._usage

    def close(self) -> list[StreamEvent]:
        """The answer is whole only with a ``finish_reason``, and one that is not a failure (``error``, ``abort``,
        any that names one: :mod:`~tiergate.protocols.openai.finishes`); ``[DONE]`` without one ends an answer cut
        short (as a whole answer whose choice has none).

        Without ``[DONE]`` (the body ended, or :meth:`stopped` coming), a finish is enough only while the stream
        :attr:`may_end`; and a body that stopped midway through an event needs the answer :attr:`whole`: that
        event may be more of it."""
        last = self._decode_pending() if self._pending else []  # the stream ended the event
        if self._finish is None:
            ended = "was closed (data: DONE) without a finish_reason" if self.done else "ended before finish"
            raise _protocol(self._backend, self._url, f"stream {ended}: the answer is incomplete")
        reading = finishes.read(self._backend, self._finish)
        if reading == "failed":
            raise _protocol(self._backend, self._url, _failed_finish(self._finish))
        if self._midway and not self.whole:
            why = "stopped midway through an event after a finish_reason, before the usage chunk that follows it"
            raise _protocol(self._backend, self._url, f"stream {why}: the answer may be incomplete")
        if not self.may_end:
            why = (
                "ended after a finish_reason without the usage chunk or [DONE], and its server set a finish_reason "
                "before the end of the answer"
            )
            raise _protocol(self._backend, self._url, f"stream {why}: the answer may be incomplete")
        if self._held is not None and self._rule is not None:  # the required call never came
            raise self._rule.missing(self._backend, self._url)
        finish = _finish_reason(reading, has_tool_calls=self._opened > 0)
        events: list[StreamEvent] = [*last, Finish(finish, self._stop if finish == "stop" else None)]
        if self._usage is not None:
            events.append(UsageReport(self._usage))
        return events

    def _delta(self, delta: _Message, events: list[StreamEvent]) -> None:
        if thinking := delta.thinking():
            events.append(ReasoningDelta(thinking))
        if delta.content:
            events.append(TextDelta(delta.content))
        for tc in delta.tool_calls or []:
            self._tool_call(tc, events)

    def _tool_call(self, tc: _ToolCall, events: list[StreamEvent]) -> None:
        function = tc.function or _Function()
        server_id = tc.id or None  # TGI sends `"id": ""` with every piece of a call: that is no id, not a new one
        known = self._calls.get(tc.index)
        opens = (server_id is not None and (known is None or known[1] != server_id)) or (
            known is None and bool(function.name)
        )
        if opens:
            if self._rule is not None and function.name:  # a name that comes later is not read anyway
                self._rule.check(function.name, self._backend, self._url, self._opened)
            own = self._opened
            self._opened += 1
            self._calls[tc.index] = (own, server_id)
            events.append(ToolCallStart(index=own, id=self._ids.of(server_id), name=function.name or ""))
        elif known is None:
            raise _protocol(self._backend, self._url, "tool call arguments before the call's id and name")
        own = self._calls[tc.index][0]
        arguments = function.arguments
        if isinstance(arguments, dict):
            arguments = _encode(arguments).decode()
        if arguments:
            events.append(ToolCallArgs(index=own, arguments=arguments))


# --- errors -------------------------------------------------------------------------------------------


def status_error(
    backend: str, url: str, status: int, body: bytes, *, retry_after: float | None = None, asked: int | None = None
) -> UpstreamStatusError:
    """The error for an error status, with the message from an OpenAI-shaped error body (else an excerpt).

    llama-cpp-python answers a ``json_schema`` response_format with a 500 naming it: the server is healthy,
    it just does not take that format, so that is an :class:`UpstreamCapabilityError` (another target, or
    ``json_object``, may do). So is a prompt over the model's context window (vLLM's "maximum context
    length", llama.cpp's ``exceed_context_size_error``): a target with a bigger window may take it. llama.cpp
    answered that with a 500 for a while; with no target left, the client is told 400, as for the others (a
    client told 500 retries the same prompt; Codex reads a 400's ``context_length_exceeded`` as a full window).
    ``asked``: the ``max_tokens`` the request sent, which splits a refusal's total into prompt and output
    (:func:`tiergate.protocols.overflow.figures`).
    """
    message, upstream_type, code = _error_message(body)
    if refuses_format(status, message):
        return UpstreamCapabilityError(backend, url, f"HTTP {status}: {message}", status=status)
    if exceeds_context(status, f"{message} {upstream_type or ''} {code or ''}"):
        prompt, window = _figures(body)
        detail = f"HTTP {status}: {message}"
        return too_long(
            backend, url, detail, status=status, upstream_type=upstream_type, prompt=prompt, window=window, asked=asked
        )
    return UpstreamStatusError(
        backend,
        url,
        f"HTTP {status}: {message}",
        status=status,
        retry_after=retry_after,
        upstream_type=upstream_type,
        code=code,
    )


def _decoded(backend: str, url: str, data: bytes, what: str, asked: int | None = None) -> _Payload:
    """The payload, or the error it carries inside a 200 (mid-stream, or a server that never sets a status):
    after the 200 the call may be generated already, so that error is ``started``. A prompt over the context
    window reported there (llama-server before its PR #16486, SGLang: the stream's first event) falls back as
    the same refusal does as a status (:func:`status_error`)."""
    try:
        payload = _decode_payload(data)
    except msgspec.DecodeError as exc:
        raise _protocol(backend, url, f"invalid JSON in {what}: {exc}") from exc
    if not payload.failed():
        return payload
    error = payload.error
    if isinstance(error, str):
        message, code, upstream_type = error, payload.code, None
    elif error is None:  # vLLM's older shape: {"object": "error", "message": ..., "code": 500}
        message, code, upstream_type = payload.message or "unknown error", payload.code, payload.type
    else:
        message, code, upstream_type = error.message or "unknown error", error.code, error.type
    status = code if isinstance(code, int) and 400 <= code <= 599 else 502
    text_code = code if isinstance(code, str) and code else None
    detail = f"error in answer: {message}"
    said = f"{message} {upstream_type or ''} {text_code or ''}"
    if exceeds_context(status, said) or CONTEXT_NAMED.search(said):  # named outright: whatever the code says
        prompt, window = _counted(error)
        raise too_long(
            backend,
            url,
            detail,
            status=status,
            upstream_type=upstream_type,
            started=True,
            prompt=prompt,
            window=window,
            asked=asked,
        )
    raise UpstreamStatusError(
        backend, url, detail, status=status, upstream_type=upstream_type, started=True, code=text_code
    )


def _figures(body: bytes) -> tuple[int | None, int | None]:
    """llama.cpp's ``n_prompt_tokens`` and ``n_ctx`` in an error body (its older message names neither)."""
    try:
        return _counted(_decode_payload(body).error)
    except msgspec.DecodeError:
        return None, None


def _counted(error: _ErrorDetail | str | None) -> tuple[int | None, int | None]:
    return (error.n_prompt_tokens, error.n_ctx) if isinstance(error, _ErrorDetail) else (None, None)


def _error_message(body: bytes) -> tuple[str, str | None, str | None]:
    """(message, ``error.type``, ``error.code``) of an error body; a code is kept only as OpenAI's text
    (``context_length_exceeded``), not vLLM's older numeric one (the status again)."""
    try:
        payload = _decode_payload(body)
    except msgspec.DecodeError:
        return body.decode("utf-8", "replace").strip()[:_ERROR_PREVIEW] or "no error message", None, None
    if isinstance(payload.error, _ErrorDetail) and payload.error.message:
        code = payload.error.code
        return payload.error.message, payload.error.type, code if isinstance(code, str) and code else None
    if isinstance(payload.error, str):
        return payload.error, None, None
    return payload.message or "no error message", None, None


def _failed_finish(raw: str) -> str:
    return f"the server ended the answer with finish_reason '{raw}': its generation failed, the answer is incomplete"


def _finish_reason(reading: FinishReason, *, has_tool_calls: bool) -> FinishReason:
    """The end the answer gets: what the server's reason means (:func:`~tiergate.protocols.openai.finishes.read`),
    its calls considered. A server that says ``stop`` (or any clean end) after tool calls meant ``tool_calls``,
    and one that says ``tool_calls`` without any (its tool parser failed, and the call stayed in the text) ended
    a text answer: ``stop``, so no client waits for a call that never came."""
    if reading == "stop" and has_tool_calls:
        return "tool_calls"
    return "stop" if reading == "tool_calls" and not has_tool_calls else reading


def _usage(raw: _Usage | None) -> Usage | None:
    if raw is None:
        return None
    prompt = raw.prompt_tokens or 0
    details = raw.prompt_tokens_details
    cached = min(prompt, (details.cached_tokens or 0) if details is not None else 0)
    completion = raw.completion_tokens or 0
    spent = raw.completion_tokens_details
    reasoning = min(completion, (spent.reasoning_tokens or 0) if spent is not None else 0)
    return Usage.of(prompt, completion, cached=max(0, cached), reasoning=max(0, reasoning))


def _protocol(backend: str, url: str, detail: str) -> UpstreamProtocolError:
    return UpstreamProtocolError(backend, url, detail, started=True)
