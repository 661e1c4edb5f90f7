"""Ingress, a Messages client → tiergate: the client's body read into the internal request (kept whole as
``native``), and the ``count_tokens`` estimate."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import msgspec

from tiergate.errors import RequestError
from tiergate.protocols import extras
from tiergate.protocols.anthropic.body import (
    InBlock,
    InFormat,
    InRequest,
    InSource,
    InThinking,
    InTool,
    InToolChoice,
    check,
    custom,
)
from tiergate.protocols.anthropic.common import (
    ANSWER_TOOL,
    ANY_OBJECT,
    DIALECT,
    INTERLEAVED,
    PROTOCOL_HEADERS,
    THINKING_BUDGETS,
    encode_json,
)
from tiergate.protocols.anthropic.tools import anthropic_only, function_of
from tiergate.protocols.json_body import decode_object
from tiergate.protocols.openai.request import undeclared_tool
from tiergate.wire import (
    ChatRequest,
    ContentPart,
    FileData,
    FunctionCall,
    FunctionDef,
    ImageURL,
    Message,
    Native,
    StreamOptions,
    Tool,
    ToolCall,
    attachment_tokens,
    tokens_in,
)

_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$\.?(?P<path>[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"Object missing required field `(?P<field>[^`]+)`")


def decode(body: bytes, headers: Mapping[str, str]) -> ChatRequest:
    """A Messages request in the internal form, refused with a 400 naming the field where the API would
    refuse it. The parsed body and its protocol headers ride along as ``native``, so an Anthropic target
    gets the client's own body (:func:`native_body`).

    Thinking blocks are dropped (a local model cannot use them); a ``tool_result`` becomes a role ``tool``
    message; a ``system`` turn inside ``messages`` stays a system message in its place. A PDF ``document``
    (base64 or by URL) becomes a ``file`` part, which routing sends only to a target that reads documents;
    a plain-text or custom-content one is read as text. A document in an assistant turn is a 400, as the
    API answers it. Anthropic's own tool types and Files API references are read as :mod:`.tools` says:
    what only Anthropic serves rides in ``native.exclusive``, and routing sends it only to Anthropic.

        request = decode(await http_request.body(), http_request.headers)
    """
    return _request_of(decode_object(body), headers, counting=False)


def _request_of(parsed: dict[str, Any], headers: Mapping[str, str], *, counting: bool) -> ChatRequest:
    """:func:`decode` of a parsed body; ``counting`` (``count_tokens``) does not ask for ``max_tokens``."""
    try:
        req = msgspec.convert(parsed, InRequest)
    except msgspec.ValidationError as exc:
        raise _invalid(exc) from None
    check(req, counting=counting, interleaved=INTERLEAVED in headers.get("anthropic-beta", ""))
    fmt = (req.output_config.format if req.output_config else None) or req.output_format
    tools = _tools_of(req.tools or [])
    choice, parallel = _choice_of(req.tool_choice, [t.function.name for t in tools])
    return ChatRequest(
        messages=_messages_of(req),
        model=req.model,
        stream=req.stream,
        stream_options=StreamOptions(include_usage=True) if req.stream else None,
        tools=tools or None,
        tool_choice=choice if tools else None,
        parallel_tool_calls=parallel if tools else None,
        temperature=req.temperature,
        top_p=req.top_p,
        top_k=req.top_k,
        max_tokens=req.max_tokens,
        stop=list(req.stop_sequences) if req.stop_sequences else None,
        response_format=_response_format(fmt),
        user=req.metadata.user_id if req.metadata else None,
        reasoning_effort=_effort(req.thinking),
        native=Native(dialect=DIALECT, body=parsed, headers=_protocol_headers(headers), exclusive=_exclusive(req)),
        extra=extras.unmodelled(parsed, FIELDS),
    )


#: The fields of a Messages body tiergate reads. Every other (``min_p`` from a client that knows its local
#: server; ``context_management`` and the other Anthropic fields it does not translate) goes on in the client's
#: own body to an Anthropic target, and is the request's ``extra`` for the rest: each backend takes it as it
#: takes a chat body's (:mod:`tiergate.protocols.extras`), and ``x-tiergate-dropped-params`` names what a
#: target is not sent.
FIELDS = frozenset(InRequest.__struct_encode_fields__)


def _invalid(exc: msgspec.ValidationError) -> RequestError:
    """msgspec's ``Expected `int`, got `str` - at `$.max_tokens``` as ``max_tokens: Expected ...``."""
    match = _AT.fullmatch(str(exc))
    what, path = (match["what"], match["path"] or "") if match else (str(exc), "")
    if missing := _MISSING.fullmatch(what):
        path, what = ".".join(p for p in (path, missing["field"]) if p), "Field required"
    return RequestError(f"{path}: {what}" if path else what, param=path or None)


def _tools_of(tools: list[InTool]) -> list[Tool]:
    """Every tool, so routing sees them all: the client's function tools as they are, Anthropic's client
    tools (``bash_20250124``...) as functions of their published schema, and those only Anthropic serves
    (``web_search_20250305``...) by name alone; a request carrying one of those goes only to an Anthropic
    target (:func:`_exclusive`), which gets the client's own ``tools``."""
    return [Tool(function=_function_of(t)) for t in tools]


def _function_of(tool: InTool) -> FunctionDef:
    if custom(tool):
        return FunctionDef(
            name=tool.name, description=tool.description, parameters=tool.input_schema, strict=tool.strict
        )
    kind = tool.type or ""
    name = tool.name or kind
    return function_of(kind, name) or FunctionDef(name=name, description=f"Anthropic's {kind}", parameters=ANY_OBJECT)


def _exclusive(req: InRequest) -> tuple[tuple[str, str], ...]:
    """What in the request only Anthropic serves, each as (where, why): a tool type with no translation
    for other models (a server tool, computer use), a Files API reference (its file lives in Anthropic's
    storage), a ``container_upload``, the MCP connector's ``mcp_servers`` (Anthropic calls them), and a
    block of a type tiergate does not read in a user turn or a tool result (:func:`_anthropics_in`)."""
    found = [
        (f"tools[{i}]", anthropic_only(t.type or ""))
        for i, t in enumerate(req.tools or [])
        if not custom(t) and function_of(t.type or "", t.name) is None
    ]
    if req.mcp_servers:
        found.append(("mcp_servers", "the MCP connector's servers, which Anthropic calls for the model"))
    for i, turn in enumerate(req.messages):
        known = _USER_BLOCKS if turn.role == "user" else None
        for j, block in enumerate(turn.content if isinstance(turn.content, list) else ()):
            found.extend(_anthropics_in(block, f"messages[{i}].content[{j}]", known))
    return tuple(found)


#: The block types a user turn holds that tiergate reads, or refuses there by name.
_USER_BLOCKS = frozenset(
    {"text", "image", "document", "search_result", "tool_result", "container_upload"}
    | {"tool_use", "thinking", "redacted_thinking"}
)
#: The block types a tool result's content holds that tiergate reads.
_RESULT_BLOCKS = frozenset({"text", "image", "document", "search_result"})


def _anthropics_in(block: InBlock, where: str, known: frozenset[str] | None) -> list[tuple[str, str]]:
    """What in a block only Anthropic reads: a Files API reference, a ``container_upload``, and, where
    ``known`` lists the types tiergate reads (a user turn, a tool result), a block of another type (``audio``,
    one the API added since): a translated request would lose it, and a model that never saw it would
    answer. An Anthropic target gets it in the client's own body, and the API judges it."""
    source = block.source
    if block.type in ("image", "document") and isinstance(source, InSource) and source.type == "file":
        return [(where, f"{block.type} '{source.file_id}' from the Files API, which only Anthropic can read")]
    if block.type == "container_upload":
        return [(where, f"a container_upload of '{block.file_id}', which only Anthropic's code execution reads")]
    if known is not None and block.type not in known:
        return [(where, f"'{block.type}' is a content block type tiergate has no translation of for other models")]
    if block.type == "tool_result" and isinstance(block.content, list):
        return [
            found
            for k, b in enumerate(block.content)
            for found in _anthropics_in(b, f"{where}.content[{k}]", _RESULT_BLOCKS)
        ]
    return []


def _choice_of(choice: InToolChoice | None, declared: list[str]) -> tuple[str | dict[str, Any] | None, bool | None]:
    """(OpenAI ``tool_choice``, ``parallel_tool_calls``). A choice of a tool the request does not declare is
    a 400 naming it, as on chat: a model cannot be made to call it, and some servers answer as if no tool
    had been asked for."""
    if choice is None:
        return None, None
    parallel = False if choice.disable_parallel_tool_use else None
    if choice.type in ("auto", "none"):
        return choice.type, parallel
    if choice.type == "any":
        return "required", parallel
    if choice.type != "tool":
        expected = "'auto', 'any', 'tool' or 'none'"
        raise RequestError(f"tool_choice.type: expected {expected}, got '{choice.type}'", param="tool_choice.type")
    if not choice.name:
        raise RequestError("tool_choice.name: a tool choice of type 'tool' names the tool", param="tool_choice.name")
    if choice.name not in declared:
        raise undeclared_tool("tool_choice", f"`{choice.name}`, which `tools` does not declare", declared)
    return {"type": "function", "function": {"name": choice.name}}, parallel


def _effort(thinking: InThinking | None) -> str | None:
    """The effort a thinking request asks of a local model: ``enabled`` by its ``budget_tokens``, the level
    whose budget it reaches (:data:`THINKING_BUDGETS`: under 4,096 ``low``, under 16,384 ``medium``, else
    ``high``), ``adaptive`` ``medium``; ``disabled`` is ``none``, so a thinking model on Ollama is sent
    ``think: false`` rather than left to think by default."""
    if thinking is None:
        return None
    if thinking.type == "disabled":
        return "none"
    if thinking.type == "enabled" and thinking.budget_tokens is not None:
        budget, medium, high = thinking.budget_tokens, THINKING_BUDGETS["medium"], THINKING_BUDGETS["high"]
        return "low" if budget < (medium or 0) else "medium" if budget < (high or 0) else "high"
    return "medium" if thinking.type in ("enabled", "adaptive") else None


def _response_format(fmt: InFormat | None) -> dict[str, Any] | None:
    if fmt is None or fmt.type != "json_schema":
        return None
    schema = fmt.schema or dict(ANY_OBJECT)
    return {"type": "json_schema", "json_schema": {"name": ANSWER_TOOL, "schema": schema, "strict": True}}


def _protocol_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items() if name.lower() in PROTOCOL_HEADERS}


#: How Claude Code's attribution line opens: ``x-anthropic-billing-header: cc_version=2.1.88.1a1;
#: cc_entrypoint=cli; cch=…;``, the first system block. Only Anthropic's API reads it (a Claude target gets the
#: client's own body, line included); its hash changes from session to session, and from request to request,
#: so a local model would read it, and its prompt cache would miss from the first byte on.
BILLING = "x-anthropic-billing-header:"


def _system_of(system: str | list[InBlock] | None) -> str:
    """The system prompt a translated target reads: the client's, without Claude Code's attribution line
    (:data:`BILLING`), the first line of a string or of a block (a block of its own, or one a proxy merged
    with the prompt)."""
    if isinstance(system, list):
        blocks = []
        for block in system:
            text = _unattributed(block.text) if block.text else block.text
            if text == block.text:
                blocks.append(block)
            elif text and text.strip():  # the prompt a proxy merged into the attribution's block
                blocks.append(msgspec.structs.replace(block, text=text))
        return _joined(blocks)
    return _unattributed(system or "")


def _unattributed(text: str) -> str:
    """``text`` without its first line when that line is Claude Code's attribution (:data:`BILLING`)."""
    return text.lstrip().partition("\n")[2] if text.lstrip().startswith(BILLING) else text


def _messages_of(req: InRequest) -> list[Message]:
    messages: list[Message] = []
    if system := _system_of(req.system):
        messages.append(Message(role="system", content=system, at="system"))
    for i, turn in enumerate(req.messages):
        count = len(messages)
        if turn.role == "user":
            messages.extend(_user(turn.content, i))
        elif turn.role == "assistant":
            messages.extend(_assistant(turn.content, i))
        elif text := _joined(turn.content):  # a mid-conversation system turn (Claude Code): kept in its place
            messages.append(Message(role="system", content=text))
        for message in messages[count:]:  # a tool result's own place is set where it is read
            message.at = message.at or f"messages[{i}].content"
    return messages


def _joined(content: str | list[InBlock] | None) -> str:
    """The text of a string or of blocks (``cache_control`` and other block fields ignored)."""
    if content is None or isinstance(content, str):
        return content or ""
    return "\n".join(text for block in content if (text := _text_of(block)))


def _text_of(block: InBlock) -> str:
    """The readable text of a block that is not an image or a PDF: its ``text``, a plain-text document's
    data, a custom-content document's text, or a search result's text blocks. Anything else has none.
    A document's ``title`` and ``context`` and a search result's ``title`` and ``source`` head the text,
    so a model reading it translated learns what Claude would (which file, where it came from)."""
    if block.text:
        return block.text
    source = block.source
    body = ""
    if isinstance(source, InSource) and source.type == "text" and source.data:
        body = source.data
    elif isinstance(source, InSource) and source.type == "content" and source.content:
        if isinstance(source.content, str):
            body = source.content
        else:
            body = "\n".join(t for b in source.content if b.type == "text" and (t := b.text))
    elif isinstance(block.content, list):
        body = "\n".join(t for b in block.content if b.type == "text" and (t := b.text))
    return _headed(block, body) if body else ""


def _headed(block: InBlock, body: str) -> str:
    """``body`` under its block's title, origin and context, one line each, when it has them."""
    origin = block.source if isinstance(block.source, str) else None
    head = [
        line
        for label, value in (("Title", block.title), ("Source", origin), ("Context", block.context))
        if value and (line := f"{label}: {value}")
    ]
    return "\n".join([*head, "", body]) if head else body


def _user(content: str | list[InBlock], i: int) -> list[Message]:
    """Tool results first, as role ``tool`` messages (OpenAI wants them right after the calls), then the
    user's own text, images and PDF documents. A turn with none of those, and nothing only Anthropic reads
    (:func:`_anthropics_in`), is a 400 naming it: a plain-text document with no text, say. Left out, the
    upstream would get no message at all, or a conversation ending on the assistant, taken for a prefill."""
    if isinstance(content, str):
        return [Message(role="user", content=content)]
    results: list[Message] = []
    parts: list[ContentPart] = []
    for j, block in enumerate(content):
        where = f"messages[{i}].content[{j}]"
        if block.type == "tool_result":
            results.append(_tool_result_of(block, where))
        elif (attached := _attachment(block, where)) is not None:
            parts.append(attached)
            if block.type == "document" and block.context:  # a PDF's title travels as its filename
                parts.append(ContentPart(type="text", text=f"Context: {block.context}"))
        elif block.type in ("tool_use", "thinking", "redacted_thinking"):
            raise RequestError(f"{where}.type: '{block.type}' belongs in an assistant turn", param=f"{where}.type")
        elif text := _text_of(block):
            parts.append(ContentPart(type="text", text=text))
    if not results and not parts and not _anthropics(content, i):
        kinds = ", ".join(sorted({f"'{block.type}'" for block in content}))
        raise RequestError(
            f"messages.{i}: user messages must have non-empty content; this turn's blocks ({kinds}) hold no text,"
            " image or PDF",
            param=f"messages[{i}].content",
        )
    return results + ([Message(role="user", content=parts)] if parts else [])


def _anthropics(content: list[InBlock], i: int) -> bool:
    """Whether a user turn holds a block only Anthropic reads."""
    return any(_anthropics_in(block, f"messages[{i}].content[{j}]", _USER_BLOCKS) for j, block in enumerate(content))


def _assistant(content: str | list[InBlock], i: int) -> list[Message]:
    """Text and tool calls; thinking is dropped (only the model that wrote it can use it). A document or an
    image is a 400, as the API itself answers it, on every path: no model wrote one, and a translated turn
    would lose it."""
    if isinstance(content, str):
        return [Message(role="assistant", content=content)] if content else []
    texts: list[str] = []
    calls: list[ToolCall] = []
    for j, block in enumerate(content):
        where = f"messages[{i}].content[{j}]"
        if block.type == "tool_use":
            calls.append(_tool_call_of(block, where))
        elif block.type == "tool_result":
            raise RequestError(f"{where}.type: 'tool_result' belongs in a user turn", param=f"{where}.type")
        elif block.type in ("document", "image"):
            raise RequestError(
                f"{where}.type: '{block.type}' blocks are not permitted within assistant turns; send the"
                f" {block.type} in a user turn",
                param=f"{where}.type",
            )
        elif block.type not in ("thinking", "redacted_thinking") and (text := _text_of(block)):
            texts.append(text)
    if not texts and not calls:
        return []
    return [Message(role="assistant", content="\n".join(texts) if texts else None, tool_calls=calls or None)]


def _tool_call_of(block: InBlock, where: str) -> ToolCall:
    if not block.id or not block.name:
        field = "id" if not block.id else "name"
        raise RequestError(f"{where}.{field}: a tool_use block needs an id and a name", param=f"{where}.{field}")
    arguments = json.dumps(block.input if block.input is not None else {})
    return ToolCall(id=block.id, function=FunctionCall(name=block.name, arguments=arguments))


def _tool_result_of(block: InBlock, where: str) -> Message:
    """Its text, then its images (Claude Code's Read of a PNG) and PDF documents (its Read of a PDF) as parts
    after the text, in their order. A failed result says so in words, ``error: ...``, which the agent-step
    markers (``routing.agent.failure_patterns``) read as a failure."""
    if not block.tool_use_id:
        param = f"{where}.tool_use_id"
        raise RequestError(f"{param}: a tool_result names the tool_use it answers", param=param)
    content = block.content
    attached: list[ContentPart] = []
    if isinstance(content, list):
        attached = [a for k, b in enumerate(content) if (a := _attachment(b, f"{where}.content[{k}]")) is not None]
        text = "\n".join(t for b in content if b.type != "image" and (t := _text_of(b)))
    else:
        text = content if isinstance(content, str) else ""
    if block.is_error:
        text = f"error: {text}"
    at = f"{where}.content"
    if not attached:
        return Message(role="tool", tool_call_id=block.tool_use_id, content=text, at=at)
    parts = [ContentPart(type="text", text=text), *attached] if text else attached
    return Message(role="tool", tool_call_id=block.tool_use_id, content=parts, at=at)


def _attachment(block: InBlock, where: str) -> ContentPart | None:
    """An image or a PDF document as the part that carries it; None for a block that is read as text, and
    for a Files API reference (``source.type: file``), which only an Anthropic target reads, from the
    client's own body (:func:`_exclusive`)."""
    if _file_reference(block, where):
        return None
    if block.type == "image":
        return ContentPart(type="image_url", image_url=ImageURL(url=_image_url(block, where)))
    if block.type == "document":
        return _document(block, where)
    return None


def _file_reference(block: InBlock, where: str) -> bool:
    """Whether an image or document block refers to a Files API file (``file_id``)."""
    source = block.source
    if block.type not in ("image", "document") or not isinstance(source, InSource) or source.type != "file":
        return False
    if not source.file_id:
        param = f"{where}.source.file_id"
        raise RequestError(f"{param}: a file source names the file_id of an uploaded file", param=param)
    return True


def _document(block: InBlock, where: str) -> ContentPart | None:
    """A PDF, base64 or by URL, as a ``file`` part that remembers ``where`` it was (for the 400 that names it
    when no target reads documents); None for a plain-text or custom-content document, read as text
    (:func:`_text_of`). Sources the API has no such document for are a 400."""
    source = block.source
    if not isinstance(source, InSource):
        raise RequestError(f"{where}.source: a document block needs a source", param=f"{where}.source")
    if source.type in ("text", "content"):
        return None
    if source.type == "base64":
        if source.media_type != "application/pdf":
            param = f"{where}.source.media_type"
            got = source.media_type or ""
            raise RequestError(f"{param}: a base64 document must be 'application/pdf', got '{got}'", param=param)
        if not source.data:
            raise RequestError(f"{where}.source.data: the document data is missing", param=f"{where}.source.data")
        file = FileData(file_data=f"data:application/pdf;base64,{source.data}", filename=block.title, at=where)
    elif source.type == "url":
        if not source.url:
            raise RequestError(f"{where}.source.url: a url document needs its URL", param=f"{where}.source.url")
        file = FileData(file_url=source.url, filename=block.title, at=where)
    else:
        param = f"{where}.source.type"
        expected = "'base64', 'url', 'text', 'content' or 'file'"
        raise RequestError(f"{param}: a document source must be {expected}, got '{source.type}'", param=param)
    return ContentPart(type="file", file=file)


def _image_url(block: InBlock, where: str) -> str:
    """A base64 source as a data URL, a url source as it is."""
    source = block.source
    if not isinstance(source, InSource):
        raise RequestError(f"{where}.source: an image block needs a source", param=f"{where}.source")
    if source.type == "base64":
        media = source.media_type or ""
        if not media.startswith("image/"):
            param = f"{where}.source.media_type"
            raise RequestError(f"{param}: expected an image media type, got '{media}'", param=param)
        if not source.data:
            raise RequestError(f"{where}.source.data: the image data is missing", param=f"{where}.source.data")
        return f"data:{media};base64,{source.data}"
    if source.type == "url" and source.url:
        if source.url.startswith("data:") and not source.url.startswith("data:image/"):
            param = f"{where}.source.url"
            raise RequestError(f"{param}: a data URL in an image block must hold an image", param=param)
        return source.url
    param = f"{where}.source.type"
    raise RequestError(f"{param}: an image source must be 'base64', 'url' or 'file', got '{source.type}'", param=param)


def count_tokens(body: bytes) -> dict[str, int]:
    """``/v1/messages/count_tokens``: an estimate, not the model's tokenizer: the characters of the
    system prompt, the messages' text (a plain-text or custom-content document's too) and the tool
    definitions, divided by 4, and each PDF document's pages at 3,000 tokens a page
    (:meth:`~tiergate.wire.FileData.estimated_tokens`) and each image at 1,600. A body ``/v1/messages``
    would refuse is refused the same way (a 400 naming the field), except that counting needs no
    ``max_tokens``.

        count_tokens(b'{"model": "m", "messages": [{"role": "user", "content": "abcd"}]}')   # {"input_tokens": 1}
    """
    parsed = decode_object(body)
    request = _request_of(parsed, {}, counting=True)
    tools = parsed.get("tools")
    chars = _chars(parsed.get("system")) + _chars(parsed.get("messages"))
    chars += sum(len(encode_json(tool)) for tool in tools) if isinstance(tools, list) else 0
    return {"input_tokens": tokens_in(chars) + attachment_tokens(request.messages)}


_UNCOUNTED = frozenset({"type", "role", "id", "tool_use_id", "signature", "source", "cache_control", "data"})


def _chars(value: Any) -> int:
    """Characters of the text in a Messages value: every string, less ids, types, image and PDF data; a
    plain-text document's data is its text."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return sum(_chars(item) for item in value)
    if isinstance(value, dict):
        return sum(_chars(item) for key, item in value.items() if key not in _UNCOUNTED) + _document_text(value)
    return 0


def _document_text(block: dict[str, Any]) -> int:
    """Characters of a plain-text or custom-content document's source, which ``_UNCOUNTED`` skips."""
    source = block.get("source") if block.get("type") == "document" else None
    if not isinstance(source, dict):
        return 0
    if source.get("type") == "text" and isinstance(data := source.get("data"), str):
        return len(data)
    return _chars(source.get("content")) if source.get("type") == "content" else 0
