"""The streamed answer: stream events → the documented Responses event sequence."""

from __future__ import annotations

from typing import Any, Literal

from tiergate.errors import TiergateError
from tiergate.protocols.estimate import answer_chars, reported_or_estimated
from tiergate.protocols.openai.reply import overflow_message
from tiergate.protocols.quiet import Quiet
from tiergate.protocols.responses.common import encode_json
from tiergate.protocols.responses.reasoning import wants_sealed, wants_summary
from tiergate.protocols.responses.reply import (
    ENDINGS,
    Envelope,
    Origin,
    call_item,
    failure_code,
    item_id,
    message_item,
    reasoning_item,
    tool_origins,
)
from tiergate.wire import (
    ChatRequest,
    Finish,
    Raw,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    Thinking,
    ToolCallArgs,
    ToolCallStart,
    Usage,
    UsageReport,
)

_Kind = Literal["message", "reasoning", "call"]


class _Open:
    """The output item being streamed: its text, summary or arguments so far."""

    __slots__ = ("call_id", "id", "index", "kind", "name", "origin", "parts", "sealed", "summary", "tool")

    def __init__(self, kind: _Kind, index: int, id: str, *, tool: int = -1, call_id: str = "", name: str = "") -> None:
        self.kind, self.index, self.id = kind, index, id
        self.tool, self.call_id, self.name = tool, call_id, name
        self.origin = Origin(False, None)
        self.parts: list[str] = []
        #: A reasoning item's signed thinking, and whether its summary part was opened.
        self.sealed: list[Thinking] = []
        self.summary = False


class StreamWriter:
    """Stream events -> the Responses SSE stream, in the order the API sends it (one writer per answer).

    ``response.created`` and ``response.in_progress``; then each output item in turn: reasoning as a
    summary when the client asked for one (``reasoning.summary``), and Claude's signed thinking as the done
    item's ``encrypted_content`` when it asked for ``reasoning.encrypted_content`` (:mod:`.reasoning`);
    text as one ``output_text`` part; each tool call with its argument deltas; every item closed by
    ``response.output_item.done`` (without which Codex prints nothing) before the next opens; then
    ``response.completed``, or ``response.incomplete`` when the output limit or a filter cut it. Every event
    has its ``event:`` line and a ``sequence_number``. No ``[DONE]``.

    The ``usage`` of ``response.completed`` (or ``.incomplete``) is the upstream's count; where it sent none,
    the estimate of the request and of what was written, marked ``"estimated": true`` (:mod:`.reply`); where it
    counted only the prompt (a partial report), that count with the estimate of what was written as its output,
    marked the same. ``usage`` stays the upstream's own final count, for the request record.

    Reasoning and text stream as they come. Tool calls are held until the answer's finish and then sent
    one after another, each whole: an OpenAI-compatible upstream may interleave the argument pieces of
    parallel calls, and an item cannot be reopened once done, so only the finish proves a call complete.
    (Codex runs a call at its ``output_item.done``, which therefore always carries all the arguments.)
    A freeform (``custom``) tool's input is sent in one delta: the model writes it as JSON, and only the
    whole JSON says where the text ends.

        writer = StreamWriter("resp_1", 1700000000, "qwen2.5-coder:7b", request=request)
        writer.start(); writer.event(TextDelta("Hi")); writer.event(Finish("stop")); writer.end()
    """

    def __init__(self, id: str, created: int, model: str, *, request: ChatRequest, quiet: Quiet | None = None) -> None:
        self.id = id
        self.usage: Usage | None = None
        self.finish: str | None = None
        self._report: UsageReport | None = None
        self._request = request
        self._envelope = Envelope(id, created, model, request)
        self.origins = tool_origins(request)
        self._seq = 0
        self._open: _Open | None = None
        self._output: list[dict[str, Any]] = []
        self._calls: dict[int, _Open] = {}  # tool index -> its call, held (unnumbered) until the finish
        self._quiet = quiet or Quiet()  # while calls are held, an event every ten quiet seconds
        self._sealing = wants_sealed(request)
        self._summarising = wants_summary(request)
        self._chars = 0  # of the answer, for the estimate when the upstream counts nothing

    def _frame(self, type: str, fields: dict[str, Any]) -> bytes:
        data = encode_json({"type": type, "sequence_number": self._seq, **fields})
        self._seq += 1
        self._quiet.wrote()
        return b"event: " + type.encode() + b"\ndata: " + data + b"\n\n"

    def start(self) -> bytes:
        response = self._envelope.response("in_progress", [], None)
        return self._frame("response.created", {"response": response}) + self._frame(
            "response.in_progress", {"response": response}
        )

    def event(self, event: StreamEvent) -> bytes | None:
        self._chars += answer_chars(event)
        if isinstance(event, TextDelta):
            return self._text(event.text) if event.text else None
        if isinstance(event, ReasoningDelta):
            out = self._reasoning(event.text) if event.text and self._summarising else None
            if event.sealed is not None and self._sealing:
                out = (out or b"") + self._seal(event.sealed) or None
            if out is None and self._quiet.due():  # thinking not shown: the client still hears from the stream
                out = self._keep_alive()
            return out
        if isinstance(event, ToolCallStart):
            return self._tool_start(event)
        if isinstance(event, ToolCallArgs):
            self._tool_args(event)  # held with its call; the client still hears from the stream
            return self._keep_alive() if self._quiet.due() else None
        if isinstance(event, Finish):
            self.finish = event.reason
            return self._close() + self._release_calls() or None
        if isinstance(event, UsageReport):
            self._report = event
            self.usage = None if event.partial else event.usage
            return None
        if isinstance(event, Raw):
            return None  # another dialect's own bytes; the translated events follow
        raise TypeError(f"unknown stream event {event!r}")

    def end(self) -> bytes:
        """Close the open item and send the held calls, then ``response.completed`` (or ``.incomplete``)
        with the whole output."""
        closing = self._close() + self._release_calls()
        status, incomplete = ENDINGS.get(self.finish, ("completed", None))
        usage, estimated = reported_or_estimated(self._report, self._request, self._chars)
        response = self._envelope.response(status, self._output, usage, estimated=estimated, incomplete=incomplete)
        return closing + self._frame(f"response.{status}", {"response": response})

    def error(self, exc: TiergateError) -> bytes:
        """``response.failed``: the output so far (the unfinished item and the held calls marked incomplete)
        and the error. The held calls are announced first (``output_item.added`` and their argument pieces,
        as the open item was), so the failed output lists no item the stream never named."""
        output = [*self._output, *([self._snapshot(self._open, "incomplete")] if self._open else [])]
        announced: list[bytes] = []
        for call in self._calls.values():
            announced.append(self._added(self._numbered(call, len(output))))
            announced.extend(self._argument_deltas(call))
            output.append(self._snapshot(call, "incomplete"))
        self._calls.clear()
        failed = {"code": failure_code(exc), "message": overflow_message(exc)}  # a full window in OpenAI's words
        response = self._envelope.response("failed", output, self.usage, error=failed)
        return b"".join(announced) + self._frame("response.failed", {"response": response})

    # --- items ---

    def _opening(self, kind: _Kind, prefix: str) -> tuple[_Open, bytes]:
        closing = self._close()
        index = len(self._output)
        item = self._open = _Open(kind, index, item_id(self.id, prefix, index))
        return item, closing + self._added(item)

    def _added(self, item: _Open) -> bytes:
        added = {"output_index": item.index, "item": self._snapshot(item, "in_progress")}
        return self._frame("response.output_item.added", added)

    def _at(self, item: _Open) -> dict[str, Any]:
        return {"item_id": item.id, "output_index": item.index}

    def _text(self, text: str) -> bytes:
        item, out = self._open, b""
        if item is None or item.kind != "message":
            item, out = self._opening("message", "msg")
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            out += self._frame("response.content_part.added", {**self._at(item), "content_index": 0, "part": part})
        item.parts.append(text)
        delta = {**self._at(item), "content_index": 0, "delta": text, "logprobs": []}
        return out + self._frame("response.output_text.delta", delta)

    def _reasoning(self, text: str) -> bytes:
        item, out = self._open, b""
        if item is None or item.kind != "reasoning":
            item, out = self._opening("reasoning", "rs")
        if not item.summary:
            item.summary = True
            part = {"type": "summary_text", "text": ""}
            out += self._frame(
                "response.reasoning_summary_part.added", {**self._at(item), "summary_index": 0, "part": part}
            )
        item.parts.append(text)
        delta = {**self._at(item), "summary_index": 0, "delta": text}
        return out + self._frame("response.reasoning_summary_text.delta", delta)

    def _seal(self, thinking: Thinking) -> bytes:
        """A thinking block, whole and signed, into the reasoning item (opened, without a summary, when its
        thinking had no text to show: redacted, or ``display: omitted``)."""
        item, out = self._open, b""
        if item is None or item.kind != "reasoning":
            item, out = self._opening("reasoning", "rs")
        item.sealed.append(thinking)
        return out

    def _tool_start(self, event: ToolCallStart) -> bytes | None:
        """Held until the finish (see the class docstring); the item before it is done now."""
        call = _Open("call", -1, "", tool=event.index, call_id=event.id, name=event.name)
        call.origin = self.origins.get(event.name, Origin(False, None))
        self._calls[event.index] = call
        return self._close() or None

    def _tool_args(self, event: ToolCallArgs) -> None:
        call = self._calls.get(event.index)
        if call is not None and event.arguments:  # a piece for a call never begun has nowhere to go
            call.parts.append(event.arguments)

    def _keep_alive(self) -> bytes:
        """``response.in_progress`` again, with the output so far: an event, because Codex's idle timer
        counts events and skips comment lines (the SDK merges the snapshot's items by their ids)."""
        return self._frame(
            "response.in_progress", {"response": self._envelope.response("in_progress", list(self._output), None)}
        )

    def _release_calls(self) -> bytes:
        """Each held call as a whole item, in the order the calls began, numbered after the output so far.
        The frames are joined once: adding each to the bytes so far copied them all again, so a call in 40,000
        argument pieces (or 20,000 calls) cost minutes."""
        out: list[bytes] = []
        for call in self._calls.values():
            out.append(self._added(self._numbered(call, len(self._output))))
            if not call.origin.custom and not "".join(call.parts).strip():
                call.parts = ["{}"]  # a call without arguments: Codex parses them as JSON, and "" is none
            out.extend(self._argument_deltas(call))
            out.append(self._done(call))
        self._calls.clear()
        return b"".join(out)

    def _argument_deltas(self, call: _Open) -> list[bytes]:
        """A function call's argument pieces as deltas; a freeform call's input goes whole at its done."""
        if call.origin.custom:
            return []
        at = self._at(call)
        return [self._frame("response.function_call_arguments.delta", {**at, "delta": piece}) for piece in call.parts]

    def _numbered(self, call: _Open, index: int) -> _Open:
        call.index, call.id = index, item_id(self.id, "ctc" if call.origin.custom else "fc", index)
        return call

    def _close(self) -> bytes:
        item, self._open = self._open, None
        return b"" if item is None else self._done(item)

    def _done(self, item: _Open) -> bytes:
        status = "incomplete" if self.finish in ENDINGS else "completed"
        done = self._snapshot(item, status)
        text = "".join(item.parts)
        at = self._at(item)
        if item.kind == "message":
            part = done["content"][0]
            out = self._frame("response.output_text.done", {**at, "content_index": 0, "text": text, "logprobs": []})
            out += self._frame("response.content_part.done", {**at, "content_index": 0, "part": part})
        elif item.kind == "reasoning" and item.summary:
            part = done["summary"][0]
            out = self._frame("response.reasoning_summary_text.done", {**at, "summary_index": 0, "text": text})
            out += self._frame("response.reasoning_summary_part.done", {**at, "summary_index": 0, "part": part})
        elif item.kind == "reasoning":
            out = b""
        elif item.origin.custom:
            out = self._frame("response.custom_tool_call_input.delta", {**at, "delta": done["input"]})
            out += self._frame("response.custom_tool_call_input.done", {**at, "input": done["input"]})
        else:
            out = self._frame("response.function_call_arguments.done", {**at, "name": item.name, "arguments": text})
        self._output.append(done)
        return out + self._frame("response.output_item.done", {"output_index": item.index, "item": done})

    def _snapshot(self, item: _Open, status: str) -> dict[str, Any]:
        """The item as sent: empty while ``in_progress``, whole once done."""
        text = None if status == "in_progress" else "".join(item.parts)
        if item.kind == "message":
            return message_item(item.id, text, status)
        if item.kind == "reasoning":
            return reasoning_item(item.id, text if item.summary else None, item.sealed if text is not None else ())
        return call_item(item.id, item.call_id, item.name, text or "", item.origin, status)
