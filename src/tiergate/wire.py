"""The OpenAI chat format, which is also tiergate's internal lingua franca.

Requests are decoded once at the edge into :class:`ChatRequest`; every backend translates from it and
back into :class:`Completion` (non-stream) or a sequence of :mod:`stream events <tiergate.wire>`.
Unknown request fields are ignored by the structs; the chat decoder keeps those of a chat body in
``ChatRequest.extra``, for the backends that take them (:mod:`tiergate.protocols.extras`).

    request = msgspec.json.decode(body, type=ChatRequest)
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Collection
from typing import Any, Literal

import msgspec

from tiergate.pdf_pages import page_count

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


class Lenient(msgspec.Struct, omit_defaults=True):
    """Request-side structs: unknown fields are accepted and dropped."""


class ImageURL(Lenient):
    url: str
    detail: str | None = None


#: How a document's ``file_data`` begins: a PDF, the one document type tiergate carries (OpenAI's chat API
#: reads PDFs only, and an Anthropic base64 document is one).
PDF_DATA_URL = "data:application/pdf;base64,"
#: Tokens a PDF page counts for before an upstream has counted it. Anthropic reads each page as its text
#: (1,500-3,000 tokens a page, its docs say) and as an image of it; the top of that range, so that routing
#: by context window errs toward the larger window.
DOCUMENT_PAGE_TOKENS = 3000
#: Bytes of PDF that count as a page when it shows neither a page tree nor a page object, even in its
#: object streams (ones zlib alone cannot read, an encrypted PDF): a text-heavy page of a typical PDF.
DOCUMENT_PAGE_BYTES = 25_000
#: Tokens an image counts for before an upstream has counted it: Claude scales an image to about 1.15
#: megapixels at most and counts (width x height) / 750 tokens, so about 1,600 at most; the most, since
#: tiergate does not read the image's size, so that routing by context window errs toward the larger window.
IMAGE_TOKENS = 1600


class FileData(Lenient):
    """A document: OpenAI chat's ``file`` part, a PDF as a base64 data URL in ``file_data``
    (``data:application/pdf;base64,...``), or tiergate's own ``file_url`` for a document by URL (an
    Anthropic ``url`` source, a Responses ``file_url``), which OpenAI chat has no field for. Only a target
    with ``capabilities.documents`` is sent one; ``at`` is where the client's body holds it
    (``messages[2].content[0]``), for the error that names it, and is never sent upstream.

        ContentPart(type="file", file=FileData(file_data="data:application/pdf;base64,JVBERi0x", filename="a.pdf"))
    """

    file_data: str | None = None
    filename: str | None = None
    file_id: str | None = None
    file_url: str | None = None
    at: str | None = None

    def described(self) -> str:
        """What the document is, for an error: ``a PDF document`` or ``a document by URL``."""
        return "a document by URL" if self.file_url is not None else "a PDF document"

    def estimated_tokens(self) -> int:
        """Input tokens the document counts for before an upstream has counted them: its pages times
        :data:`DOCUMENT_PAGE_TOKENS`. The pages are the page tree's ``/Count``, else the page objects
        (``/Type /Page``), in the PDF's plain bytes or its compressed object streams
        (:func:`~tiergate.pdf_pages.page_count`); where neither shows, one per :data:`DOCUMENT_PAGE_BYTES`.
        A document by URL, which tiergate never sees, counts as one page.

            FileData(file_data=PDF_DATA_URL + base64_of_a_3_page_pdf).estimated_tokens()   # 9000
        """
        if self.file_data is None:
            return DOCUMENT_PAGE_TOKENS
        return DOCUMENT_PAGE_TOKENS * _pdf_pages(self.file_data)


@functools.lru_cache(maxsize=4)
def _pdf_pages(file_data: str) -> int:
    """The pages of a PDF data URL (at least one). Decoding and searching a large PDF takes tens of
    milliseconds, and a request asks for its estimate more than once (routing's ``approx_tokens``, then the
    usage estimate): the last few documents' counts are kept, keyed by the string itself."""
    data = file_data.partition(",")[2]
    try:
        pdf = base64.b64decode(data)
    except (binascii.Error, ValueError):
        pdf = b""
    return max(1, page_count(pdf) or -(-(len(data) * 3 // 4) // DOCUMENT_PAGE_BYTES))


class ContentPart(Lenient):
    type: str
    text: str | None = None
    #: An assistant ``refusal`` part's text (OpenAI chat): the chat ingress reads it as text.
    refusal: str | None = None
    image_url: ImageURL | None = None
    file: FileData | None = None


class FunctionCall(Lenient):
    name: str
    arguments: str = ""

    def arguments_object(self) -> dict[str, Any]:
        """The arguments as the object Anthropic's ``input`` and Ollama's ``arguments`` are: ``{}`` for
        none, and text that is not a JSON object (a weak model's broken JSON, kept in an agent's history)
        wrapped as ``{"arguments": <the text>}`` rather than refused, so the session can go on."""
        if not self.arguments.strip():
            return {}
        try:
            parsed = json.loads(self.arguments)
        except (json.JSONDecodeError, RecursionError):
            parsed = None
        return parsed if isinstance(parsed, dict) else {"arguments": self.arguments}


class ToolCall(Lenient):
    id: str
    function: FunctionCall
    type: str = "function"


class Thinking(msgspec.Struct, frozen=True, omit_defaults=True):
    """One of Claude's thinking blocks as Anthropic signed it: ``thinking`` with its ``signature``, or a
    ``redacted_thinking`` block's encrypted ``data``. Anthropic wants the thinking of a tool loop's
    assistant turn back unchanged when thinking is on, and only Anthropic can verify it; so it is carried
    from the answer (``Completion.thinking``, a :class:`ReasoningDelta`'s ``sealed``) to a client that can
    hold it (the Responses ingress: a reasoning item's ``encrypted_content``) and back onto the assistant
    message (``Message.thinking``). Every other backend ignores it.

        Thinking(thinking="Let me see.", signature="EqQBCgIYAhIM...")
        Thinking(data="EmwKAhgBEgy3va3pzix...")      # redacted_thinking
    """

    thinking: str = ""
    signature: str = ""
    data: str | None = None


class Message(Lenient):
    role: Role
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    #: Legacy function calling's assistant call, read only to be refused (``check_chat``).
    function_call: Any = None
    #: An assistant message's signed thinking, in the order Claude wrote it: set by an ingress that
    #: carried it back (the Responses ``reasoning`` items tiergate wrote); only the Anthropic backend sends it.
    #: Named apart on the wire, so that a chat client's own ``thinking`` (Ollama-style text) stays ignored.
    thinking: list[Thinking] | None = msgspec.field(default=None, name="tiergate_thinking")
    #: Where the client's body holds this message's content (``input[3].content``, ``system``), set by an
    #: ingress whose messages are not the body's ``messages[i]`` one for one, for the errors that name it;
    #: never sent upstream.
    at: str | None = msgspec.field(default=None, name="tiergate_at")

    def where(self, i: int) -> str:
        """The client's name for this message's content, the ``i``-th of the request's messages."""
        return self.at or f"messages[{i}].content"

    def text(self) -> str:
        """The message's text parts joined; images, documents and other parts are left out."""
        if isinstance(self.content, str):
            return self.content
        if not self.content:
            return ""
        return "\n".join(p.text for p in self.content if p.type == "text" and p.text)

    def call_chars(self) -> int:
        """Characters of the message's tool calls, names and arguments: an agent's earlier calls (a file written
        whole) are input its next request sends again, which :meth:`text` leaves out."""
        return sum(len(call.function.name) + len(call.function.arguments) for call in self.tool_calls or ())

    def images(self) -> list[str]:
        if not isinstance(self.content, list):
            return []
        return [p.image_url.url for p in self.content if p.type == "image_url" and p.image_url is not None]

    def documents(self) -> list[FileData]:
        """The message's ``file`` parts (PDFs), which only a target with ``capabilities.documents`` reads."""
        if not isinstance(self.content, list):
            return []
        return [p.file for p in self.content if p.type == "file" and p.file is not None]


class FunctionDef(Lenient):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(Lenient):
    function: FunctionDef
    type: str = "function"


def only_allowed(tools: list[Tool] | None, names: Collection[str]) -> list[Tool] | None:
    """The tools an ``allowed_tools`` tool choice (chat's or Responses') lets the model call, in the request's
    order, or None when none is left. Its mode (``auto``, ``required``) then becomes the plain ``tool_choice``,
    so that no backend needs to know the shape: an ingress narrows the tools once, with this.

        request.tools, request.tool_choice = only_allowed(request.tools, {"get_weather"}), "required"
    """
    return [tool for tool in tools or () if tool.function.name in names] or None


class StreamOptions(Lenient):
    include_usage: bool | None = False

    def __post_init__(self) -> None:
        if self.include_usage is None:  # null is the SDK's "not set"
            self.include_usage = False


class Native(msgspec.Struct, frozen=True):
    """The client's own body in its own dialect, kept beside the internal form. A backend speaking that
    dialect sends it natively (only ``model`` changes, unknown fields kept); every other backend
    translates the internal form. ``headers`` are the dialect's protocol headers worth passing on
    (``anthropic-beta``, ``anthropic-version``)."""

    dialect: str
    body: dict[str, Any]
    headers: dict[str, str] = {}
    #: What in the body only a backend speaking ``dialect`` can serve, each as (where, why): an Anthropic
    #: server tool, a Files API reference. Routing sends such a request only to a target of that dialect
    #: (:attr:`tiergate.engine.targets.Target.native`); the internal form leaves it out.
    exclusive: tuple[tuple[str, str], ...] = ()
    #: What of the body the internal form leaves out for every target that does not speak ``dialect``, each
    #: named as ``x-tiergate-dropped-params`` names it: a Responses body's hosted tools (``tools[web_search]``),
    #: which only OpenAI runs.
    unsent: tuple[str, ...] = ()


class ChatRequest(Lenient):
    messages: list[Message]
    model: str | None = None
    #: ``null`` reads as false, as the openai SDK types it (``Optional[Literal[False]]``).
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    tools: list[Tool] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    temperature: float | None = None
    top_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    response_format: dict[str, Any] | None = None
    user: str | None = None
    metadata: dict[str, Any] | None = None
    provider: str | None = None
    n: int | None = None
    reasoning_effort: str | None = None
    #: Sample from the ``top_k`` likeliest tokens: Anthropic's, Ollama's and most local servers' (not OpenAI's).
    top_k: int | None = None
    #: Read only to be refused (tiergate returns no log probabilities, and a bias is per tokenizer):
    #: see ``check_chat``.
    logprobs: bool | None = None
    top_logprobs: int | None = None
    logit_bias: dict[str, float] | None = None
    #: Read only to be refused: tiergate answers in text (``check_chat``).
    modalities: list[str] | None = None
    audio: dict[str, Any] | None = None
    #: Legacy function calling, read only to be refused with a pointer to ``tools`` (``check_chat``).
    functions: list[Any] | None = None
    function_call: str | dict[str, Any] | None = None
    #: Fill-in-the-middle: the text after the cursor (legacy completions' ``suffix``).
    suffix: str | None = None
    #: A legacy completion: the prompt is text to continue, not a chat turn to answer (Ollama's raw
    #: ``/api/generate``). Set by the completions decoder only; the chat decoder clears it.
    continuation: bool = msgspec.field(default=False, name="tiergate_continuation")
    #: Set by an ingress codec, never read from an OpenAI body (its decoder clears it).
    native: Native | None = None
    #: The chat body's parameters tiergate does not model (``min_p``, ``store``), as sent: what each backend
    #: takes of them is :mod:`tiergate.protocols.extras`. Set by the chat decoder only, never read from a body.
    extra: dict[str, Any] | None = msgspec.field(default=None, name="tiergate_extra")

    def __post_init__(self) -> None:
        if self.stream is None:
            self.stream = False

    def effort(self) -> str | None:
        """``reasoning_effort`` as the backends read it: lower case, None when unset or blank, and ``none``
        for the ways of saying off (``off``, ``disabled``, ``false``)."""
        effort = (self.reasoning_effort or "").strip().lower()
        if not effort:
            return None
        return "none" if effort in ("off", "disabled", "false") else effort

    def output_limit(self) -> int | None:
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens

    def output_capped(self, most: int | None) -> ChatRequest:
        """This request with its output limit lowered to ``most`` (the most a target's model writes) where it
        asks for more; itself otherwise. The client's limit is an upper bound, and the model stops at its
        own anyway, so a model that writes less serves it rather than refusing it.

            request.output_capped(call.max_output)   # max_tokens 100000 -> 64000 on Claude Sonnet 4.5
        """
        limit = self.output_limit()
        if most is None or limit is None or limit <= most:
            return self
        return msgspec.structs.replace(self, max_tokens=most, max_completion_tokens=None)

    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    def wants_usage(self) -> bool:
        return self.stream_options is not None and bool(self.stream_options.include_usage)

    def estimated_tokens(self) -> int:
        """Input tokens before an upstream has counted them: characters / 4 of the messages' text, their tool
        calls (:meth:`Message.call_chars`) and the tool definitions, each PDF document's pages
        (:meth:`FileData.estimated_tokens`) and each image (:data:`IMAGE_TOKENS`)."""
        chars = sum(len(m.text()) + m.call_chars() for m in self.messages)
        chars += sum(len(msgspec.json.encode(tool)) for tool in self.tools or [])
        return tokens_in(chars) + attachment_tokens(self.messages)


def attachment_tokens(messages: list[Message]) -> int:
    """Input tokens of the messages' PDF documents (:meth:`FileData.estimated_tokens`) and images
    (:data:`IMAGE_TOKENS` each)."""
    return sum(
        sum(document.estimated_tokens() for document in message.documents()) + IMAGE_TOKENS * len(message.images())
        for message in messages
    )


def tokens_in(chars: int) -> int:
    """Tokens in ``chars`` characters of text, estimated where nothing counted them: characters / 4, rounded
    up (English and code run 3-5 characters a token)."""
    return (chars + 3) // 4


class CompletionRequest(Lenient):
    """Legacy ``/v1/completions`` (Continue autocomplete)."""

    prompt: str | list[str]
    n: int | None = None
    model: str | None = None
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    suffix: str | None = None
    metadata: dict[str, Any] | None = None
    provider: str | None = None
    #: Read only to be refused (tiergate cannot honour them): see ``decode_completion``.
    echo: bool | None = None
    logprobs: int | None = None
    best_of: int | None = None

    def __post_init__(self) -> None:
        if self.stream is None:
            self.stream = False


# --- what backends produce ------------------------------------------------------------------


class Usage(msgspec.Struct):
    """Token counts of one answer, with OpenAI's meaning: ``prompt_tokens`` counts every input token,
    including the prompt-cache reads (``cached_tokens``) and writes (``cache_write_tokens``), which are
    kept apart only so they can be priced (and reported) apart.

        Usage.of(10010, 20, cached=10000)   # 10 uncached prompt tokens, 10000 read from the cache
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    #: Prompt tokens read from the upstream's prompt cache (part of ``prompt_tokens``).
    cached_tokens: int = 0
    #: Prompt tokens written to the upstream's prompt cache (part of ``prompt_tokens``).
    cache_write_tokens: int = 0
    #: Completion tokens the model spent reasoning (part of ``completion_tokens``), where the upstream counts
    #: them apart (an OpenAI-compatible server's ``completion_tokens_details``); 0 where it does not.
    reasoning_tokens: int = 0

    @classmethod
    def of(cls, prompt: int, completion: int, *, cached: int = 0, cache_write: int = 0, reasoning: int = 0) -> Usage:
        return cls(prompt, completion, prompt + completion, cached, cache_write, reasoning)

    @property
    def uncached_prompt_tokens(self) -> int:
        """Prompt tokens neither read from nor written to a prompt cache."""
        return max(0, self.prompt_tokens - self.cached_tokens - self.cache_write_tokens)


FinishReason = Literal["stop", "length", "tool_calls", "content_filter"]


class Completion(msgspec.Struct):
    """A whole answer from a backend, before it is wrapped as a ``chat.completion``.

    ``native`` is the upstream's own body when the request went out natively in the ingress's dialect;
    that ingress returns it as it came."""

    content: str | None
    tool_calls: list[ToolCall] = []
    finish_reason: FinishReason = "stop"
    usage: Usage | None = None
    reasoning: str | None = None
    native: bytes | None = None
    #: Claude's thinking blocks as Anthropic signed them (``reasoning`` is their text, for reading).
    thinking: list[Thinking] = []
    #: The stop sequence the answer ended on, where the upstream says which (vLLM, SGLang).
    stop_sequence: str | None = None

    def chars(self) -> int:
        """Characters the answer holds (text, reasoning, tool names and arguments): what an estimate of its
        output tokens counts when the upstream gave none."""
        written = len(self.content or "") + len(self.reasoning or "")
        return written + sum(len(c.function.name) + len(c.function.arguments) for c in self.tool_calls)


class TextDelta(msgspec.Struct, tag="text"):
    text: str


class ReasoningDelta(msgspec.Struct, tag="reasoning"):
    """A piece of the model's reasoning. When one of Claude's thinking blocks ends, a delta without text
    carries the whole block as Anthropic signed it (``sealed``); writers that show only text skip it.

        ReasoningDelta("", sealed=Thinking(thinking="Let me see.", signature="EqQB..."))
    """

    text: str
    sealed: Thinking | None = None


class ToolCallStart(msgspec.Struct, tag="tool_start"):
    """Opens tool call ``index`` (0, 1, ... in the order the calls appear)."""

    index: int
    id: str
    name: str


class ToolCallArgs(msgspec.Struct, tag="tool_args"):
    index: int
    arguments: str


class Finish(msgspec.Struct, tag="finish"):
    reason: FinishReason
    #: The stop sequence the answer ended on, where the upstream says which (vLLM, SGLang).
    stop_sequence: str | None = None


class UsageReport(msgspec.Struct, tag="usage"):
    """The upstream's count of the answer, after its finish.

    ``partial``: the count the upstream had made when tiergate closed its stream at an emulated stop
    (:mod:`tiergate.protocols.stops`), from the stream's start (Claude's ``message_start``): the prompt and its
    cache reads and writes are counted, the output is not yet (Claude says 1). Writers show the prompt as
    counted and at least the estimate of what they wrote as output, marked estimated
    (:func:`~tiergate.protocols.estimate.topped_up`); it is not the upstream's final count, which a record keeps.
    """

    usage: Usage
    partial: bool = False


class Raw(msgspec.Struct, tag="raw"):
    """One event of the upstream's own stream, as it came (``frame``: the bytes of one SSE event), when the
    request went out natively. The ingress of the same dialect writes it as it came; every other writer
    skips it, reading the translated events that follow it instead.

    ``answering``: the answer has begun by this frame (a content block has started: Anthropic's
    ``content_block_*``, ``message_delta``), though it may translate to nothing (a thinking block whose
    text is hidden, a server tool's block). Such a frame is the stream's first token: it stops the
    ``first_token`` clock and commits the request to its upstream. The frames before it (``message_start``,
    a keep-alive ``ping``) are neither: an upstream that only pings has not begun to answer."""

    dialect: str
    frame: bytes
    answering: bool = False


#: The dialect of a :class:`Raw` that only says the upstream is alive (an Anthropic ``ping``, or another frame
#: that translates to nothing, on a translated stream): no writer writes it, but the stream's ``idle`` bound
#: sees it, as it sees a passed-through frame. It is never a first token (``answering`` false).
ALIVE = "alive"


StreamEvent = TextDelta | ReasoningDelta | ToolCallStart | ToolCallArgs | Finish | UsageReport | Raw
