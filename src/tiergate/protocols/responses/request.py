"""A Responses body → the internal chat request, statelessly (every server-side reference is a 400)."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from tiergate.errors import RequestError
from tiergate.protocols import extras
from tiergate.protocols.json_body import decode_object
from tiergate.protocols.openai.request import undeclared_tool
from tiergate.protocols.response_format import format_type, json_schema
from tiergate.protocols.responses.common import (
    CUSTOM_INPUT_SCHEMA,
    DIALECT,
    ROLES,
    STATELESS,
    encode_json,
    tool_lists,
)
from tiergate.protocols.responses.reasoning import unseal
from tiergate.wire import (
    PDF_DATA_URL,
    ChatRequest,
    ContentPart,
    FileData,
    FunctionCall,
    FunctionDef,
    ImageURL,
    Message,
    Native,
    StreamOptions,
    Thinking,
    Tool,
    ToolCall,
    only_allowed,
)


def decode(body: bytes) -> ChatRequest:
    """A Responses request as a chat request; a 400 naming the field (``input[3].call_id``) otherwise."""
    obj = decode_object(body)
    _refuse_state(obj)
    stream = _opt(obj, "stream", bool, "a boolean") or False
    max_tokens = _opt(obj, "max_output_tokens", int, "an integer")
    if max_tokens is not None and max_tokens < 1:
        raise RequestError(
            f"`max_output_tokens` must be at least 1, got {max_tokens}", param="max_output_tokens", code="invalid_value"
        )
    reasoning = _opt(obj, "reasoning", dict, "an object") or {}
    tools, hosted = _tools(tool_lists(obj))
    declared = [tool.function.name for tool in tools or ()]
    choice = _tool_choice(obj.get("tool_choice"), declared)
    if (allowed := _allowed_names(obj.get("tool_choice"), declared)) is not None:
        tools = only_allowed(tools, allowed)
    if choice == "required" and not tools:
        raise RequestError(
            "`tool_choice` requires a tool call, but the request has no function or custom `tools` to call"
            " (hosted tools run only at OpenAI, and tiergate leaves them out)",
            param="tool_choice",
            code="invalid_value",
        )
    request = ChatRequest(
        messages=_messages(obj),
        model=_opt(obj, "model", str, "a string"),
        stream=stream,
        stream_options=StreamOptions(include_usage=True) if stream else None,  # Responses always report usage
        tools=tools,
        tool_choice=choice if tools else None,  # no function tools left (hosted ones are dropped): no choice
        parallel_tool_calls=_opt(obj, "parallel_tool_calls", bool, "a boolean"),
        temperature=_number(obj, "temperature"),
        top_p=_number(obj, "top_p"),
        max_tokens=max_tokens,
        response_format=_response_format(obj.get("text")),
        user=_opt(obj, "user", str, "a string") or _opt(obj, "safety_identifier", str, "a string"),
        metadata=_opt(obj, "metadata", dict, "an object"),
        reasoning_effort=_opt(reasoning, "effort", str, "a string", where="reasoning."),
        native=Native(dialect=DIALECT, body=obj, unsent=hosted),
        extra=extras.unmodelled(obj, FIELDS),
    )
    if not any(m.role in ("user", "tool") for m in request.messages):
        raise RequestError(
            "`input` has no user turn: it needs at least one `user` message or tool output",
            param="input",
            code="invalid_request",
        )
    return request


#: The fields of a Responses body tiergate reads: into the chat request, to refuse them (server-side state, log
#: probabilities), or for itself (``store``: nothing is stored; ``include``; ``truncation``: never, so the answer
#: says ``disabled``; ``prompt_cache_key``: the conversation's id, which keeps it on its target;
#: ``stream_options``: the stream's own framing); and Codex's ``client_metadata``, its session's and turn's ids for
#: OpenAI's records, which ask nothing of the model (as ``metadata``, sent to no upstream). Every other is the
#: request's ``extra``, which each backend takes as it takes a chat body's (:mod:`tiergate.protocols.extras`:
#: ``min_p`` to a local server, as sent or as Ollama's ``options``), and ``x-tiergate-dropped-params`` names where
#: a target is not sent it.
FIELDS = frozenset(
    {
        *("model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "max_output_tokens"),
        *("temperature", "top_p", "text", "reasoning", "user", "safety_identifier", "metadata", "stream"),
        *("previous_response_id", "conversation", "prompt", "background", "n", "top_logprobs"),
        *("store", "include", "truncation", "prompt_cache_key", "stream_options", "client_metadata"),
    }
)


def _refuse_state(obj: dict[str, Any]) -> None:
    """Fields that need what tiergate does not keep, or that it cannot honour, are refused by name."""
    for name, what in (
        ("previous_response_id", "`previous_response_id` is not supported"),
        ("conversation", "`conversation` is not supported"),
        ("prompt", "stored prompts (`prompt`) are not supported"),
    ):
        if obj.get(name) is not None:
            raise RequestError(f"{what}: {STATELESS}", param=name, code="unsupported_parameter")
    if obj.get("background") is True:
        raise RequestError(
            "`background: true` is not supported: tiergate answers in the request (stream it instead)",
            param="background",
            code="unsupported_parameter",
        )
    if obj.get("n") not in (None, 1):
        raise RequestError("`n` other than 1 is not supported: send one request per answer", param="n")
    include = obj.get("include")
    if (isinstance(obj.get("top_logprobs"), int) and obj["top_logprobs"] > 0) or (
        isinstance(include, list) and LOGPROBS in include
    ):
        param = "include" if isinstance(include, list) and LOGPROBS in include else "top_logprobs"
        raise RequestError(
            f"`{param}` asks for log probabilities: tiergate does not return them; leave it out",
            param=param,
            code="unsupported_value",
        )


#: The ``include`` value that asks for the answer's log probabilities.
LOGPROBS = "message.output_text.logprobs"


def _opt(obj: dict[str, Any], name: str, type_: type[Any], what: str, *, where: str = "") -> Any:
    value = obj.get(name)
    # bool is an int in Python, never in JSON.
    if value is None or (isinstance(value, type_) and not (type_ is int and isinstance(value, bool))):
        return value
    param = where + name
    raise RequestError(f"`{param}` must be {what}, got {_kind(value)}", param=param, code="invalid_type")


def _number(obj: dict[str, Any], name: str) -> float | None:
    value = obj.get(name)
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    raise RequestError(f"`{name}` must be a number, got {_kind(value)}", param=name, code="invalid_type")


def _kind(value: Any) -> str:
    kinds = {bool: "a boolean", str: "a string", list: "an array", dict: "an object", type(None): "null"}
    return kinds.get(type(value), "a number")


def _string(obj: dict[str, Any], name: str, where: str, *, empty_ok: bool = False) -> str:
    value = obj.get(name)
    param = f"{where}.{name}"
    if not isinstance(value, str):
        shown = "missing" if value is None else _kind(value)
        raise RequestError(f"`{param}` must be a string, got {shown}", param=param, code="invalid_type")
    if not empty_ok and not value.strip():
        raise RequestError(f"`{param}` is empty", param=param, code="invalid_value")
    return value


# --- input items ---


def _messages(obj: dict[str, Any]) -> list[Message]:
    messages: list[Message] = []
    instructions = _opt(obj, "instructions", str, "a string")
    if instructions:
        messages.append(Message(role="system", content=instructions, at="instructions"))
    items = obj.get("input")
    if isinstance(items, str):
        messages.append(Message(role="user", content=items, at="input"))
        return messages
    if not isinstance(items, list):
        shown = "missing" if items is None else _kind(items)
        raise RequestError(f"`input` must be a string or an array of items, got {shown}", param="input")
    texts: dict[int, tuple[Message, list[str]]] = {}  # an assistant message's texts, joined once at the end
    thinking: list[Thinking] = []  # signed thinking read before the assistant message it belongs to
    for i, item in enumerate(items):
        count = len(messages)
        _item(messages, item, f"input[{i}]", texts, thinking)
        if len(messages) > count and messages[-1].role != "assistant":
            thinking.clear()  # its assistant items never came: nothing to carry it
    for message, pieces in texts.values():
        message.content = "\n".join(piece for piece in pieces if piece)
    return messages


def _item(
    messages: list[Message],
    item: Any,
    where: str,
    texts: dict[int, tuple[Message, list[str]]],
    thinking: list[Thinking],
) -> None:
    """One input item into ``messages``. Consecutive assistant items make one assistant message: its tool calls
    and texts are added to lists, never copied whole per item (100,000 calls in a row took 10 s that way).
    A reasoning item tiergate wrote gives that message Claude's signed thinking (:mod:`.reasoning`)."""
    if not isinstance(item, dict):
        raise RequestError(f"`{where}` must be an object, got {_kind(item)}", param=where, code="invalid_type")
    kind = item.get("type", "message" if "role" in item else None)
    if kind == "message":
        _message(messages, item, where, texts, thinking)
    elif kind == "reasoning":
        if (blocks := unseal(item.get("encrypted_content"))) is not None:
            if messages and messages[-1].role == "assistant":
                messages[-1].thinking = [*(messages[-1].thinking or ()), *blocks]
            else:
                thinking.extend(blocks)  # for the assistant message the next items open
    elif kind in ("function_call", "custom_tool_call"):
        call = _call(item, where)
        target = _assistant(messages, thinking)
        if target.tool_calls is None:
            target.tool_calls = [call]
        else:
            target.tool_calls.append(call)
    elif kind in ("function_call_output", "custom_tool_call_output"):
        call_id = _string(item, "call_id", where)
        messages.append(Message(role="tool", content=_output(item, where), tool_call_id=call_id, at=f"{where}.output"))
    elif kind == "item_reference":
        raise RequestError(f"`{where}` is an item_reference: {STATELESS}", param=where, code="unsupported_parameter")
    # additional_tools items declare tools (read with the top-level ones: tool_lists). Anything else (hosted
    # tools' calls, types newer than this code), and reasoning
    # that is not tiergate's (another provider's encrypted_content), is dropped: another model cannot use
    # it, and refusing it would break the client's whole session.


def _message(
    messages: list[Message],
    item: dict[str, Any],
    where: str,
    texts: dict[int, tuple[Message, list[str]]],
    thinking: list[Thinking],
) -> None:
    role = item.get("role")
    if role not in ROLES:
        param = f"{where}.role"
        raise RequestError(f"`{param}` must be one of {', '.join(ROLES)}, got {role!r}", param=param)
    content = _content(item.get("content"), f"{where}.content")
    if role != "user" and not isinstance(content, str) and (files := [p.file for p in content if p.file]):
        at = files[0].at or where
        raise RequestError(
            f"`{at}`: an `input_file` belongs in a `user` message (or a tool's output), not a `{role}` one",
            param=at,
            code="unsupported_content",
        )
    if role != "assistant":
        messages.append(Message(role=role, content=content, at=f"{where}.content"))
        return
    text = content if isinstance(content, str) else "\n".join(p.text or "" for p in content)
    target = _assistant(messages, thinking)
    target.at = target.at or f"{where}.content"
    texts.setdefault(id(target), (target, []))[1].append(text)


def _assistant(messages: list[Message], thinking: list[Thinking]) -> Message:
    """The assistant message to add to: the last one if it is the assistant's, else a new one, which takes
    the ``thinking`` read before it."""
    if messages and messages[-1].role == "assistant":
        return messages[-1]
    messages.append(Message(role="assistant", thinking=list(thinking) or None))
    thinking.clear()
    return messages[-1]


def _content(content: Any, where: str) -> str | list[ContentPart]:
    """A string stays a string, and so do parts that are all text (joined); images and files keep a part
    list."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        shown = "missing" if content is None else _kind(content)
        raise RequestError(f"`{where}` must be a string or an array of parts, got {shown}", param=where)
    parts = [_part(part, f"{where}[{j}]") for j, part in enumerate(content)]
    if all(p.type == "text" for p in parts):
        return "\n".join(p.text or "" for p in parts)
    return parts


def _part(part: Any, where: str) -> ContentPart:
    if not isinstance(part, dict):
        raise RequestError(f"`{where}` must be an object, got {_kind(part)}", param=where, code="invalid_type")
    kind = part.get("type")
    if kind in ("input_text", "output_text", "text"):
        return ContentPart(type="text", text=_string(part, "text", where, empty_ok=True))
    if kind == "refusal":
        return ContentPart(type="text", text=_string(part, "refusal", where, empty_ok=True))
    if kind == "input_image":
        url = part.get("image_url")
        if not isinstance(url, str):
            raise RequestError(
                f"`{where}.image_url` must be an http(s) or data: URL (images by `file_id` need OpenAI's file "
                "storage, which tiergate does not have)",
                param=f"{where}.image_url",
                code="invalid_image",
            )
        _check_image(url, f"{where}.image_url")
        detail = part.get("detail")
        return ContentPart(type="image_url", image_url=ImageURL(url, detail if isinstance(detail, str) else None))
    if kind == "input_file":
        return ContentPart(type="file", file=_file(part, where))
    # Audio and newer part types: nothing a chat backend can take, and dropping one would answer without it.
    raise RequestError(
        f"`{where}.type` is `{kind}`: tiergate forwards only `input_text`, `output_text`, `input_image` and"
        " `input_file` parts",
        param=f"{where}.type",
        code="unsupported_content",
    )


#: Extensions of files that are surely not PDFs (text, code, data, office, web pages, images, archives).
#: A ``file_url`` (or its ``filename``) ending in one is refused; a URL that names no type, or one not
#: listed here (a download link, ``/pdf/2401.00001``), goes on to Claude, which fetches it.
_NOT_PDF = frozenset(
    {
        ".txt",
        ".text",
        ".md",
        ".markdown",
        ".rst",
        ".tex",
        ".log",
        ".csv",
        ".tsv",
        ".json",
        ".jsonl",
        ".xml",
        ".yaml",
        ".yml",
        ".toml",
        ".ini",
        ".html",
        ".htm",
        ".xhtml",
        ".doc",
        ".docx",
        ".odt",
        ".rtf",
        ".pages",
        ".xls",
        ".xlsx",
        ".ods",
        ".numbers",
        ".ppt",
        ".pptx",
        ".odp",
        ".key",
        ".epub",
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".webp",
        ".svg",
        ".bmp",
        ".tif",
        ".tiff",
        ".heic",
        ".mp3",
        ".wav",
        ".mp4",
        ".mov",
        ".zip",
        ".gz",
        ".tgz",
        ".tar",
        ".7z",
        ".rar",
        ".py",
        ".js",
        ".ts",
        ".java",
        ".c",
        ".h",
        ".cpp",
        ".cs",
        ".go",
        ".rs",
        ".rb",
        ".sh",
        ".css",
        ".sql",
    }
)


def _file(part: dict[str, Any], where: str) -> FileData:
    """An ``input_file``: a PDF as a base64 data URL (``file_data``) or by URL (``file_url``), which routing
    sends only to a target that reads documents. Other file types (OpenAI extracts their text; tiergate
    cannot) and files by ``file_id`` (OpenAI's file storage) are a 400: a ``file_data`` of another media
    type, and a ``file_url`` whose path or ``filename`` ends in a type that is surely not a PDF
    (:data:`_NOT_PDF`); Claude, the one target that fetches a URL, reads only PDFs that way."""
    filename = part.get("filename") if isinstance(part.get("filename"), str) else None
    data, url = part.get("file_data"), part.get("file_url")
    if isinstance(data, str):
        if not data.startswith(PDF_DATA_URL):
            raise RequestError(
                f"`{where}.file_data` must be a PDF as {PDF_DATA_URL}... (tiergate carries no other file type;"
                " send a text file's contents as `input_text`)",
                param=f"{where}.file_data",
                code="unsupported_content",
            )
        return FileData(file_data=data, filename=filename, at=where)
    if isinstance(url, str):
        if not url.startswith(("http://", "https://")):
            param = f"{where}.file_url"
            raise RequestError(f"`{param}` must be an http(s) URL", param=param, code="invalid_value")
        for field, name in (("file_url", urlsplit(url).path), ("filename", filename or "")):
            if (suffix := PurePosixPath(name).suffix.lower()) in _NOT_PDF:
                param = f"{where}.{field}"
                raise RequestError(
                    f"`{param}` names a `{suffix}` file: tiergate carries only PDF documents (OpenAI extracts"
                    " other files' text; tiergate cannot): send its text as `input_text`",
                    param=param,
                    code="unsupported_content",
                )
        return FileData(file_url=url, filename=filename, at=where)
    raise RequestError(
        f"`{where}` needs `file_data` or `file_url` (files by `file_id` need OpenAI's file storage, which tiergate"
        " does not have)",
        param=where,
        code="unsupported_content",
    )


def _check_image(url: str, param: str) -> None:
    if url.startswith(("http://", "https://")):
        return
    media = url[len("data:") :].split(",", 1)[0].split(";", 1)[0].strip().lower() if url.startswith("data:") else ""
    if not media.startswith("image/") or "," not in url:
        raise RequestError(
            f"`{param}` must be an http(s) URL or a data:image/... URL", param=param, code="invalid_image"
        )


def _call(item: dict[str, Any], where: str) -> ToolCall:
    call_id = _string(item, "call_id", where)
    name = _string(item, "name", where)  # a namespaced call keeps its bare name: the tools were flattened
    if item.get("type") == "custom_tool_call":
        arguments = encode_json({"input": _string(item, "input", where, empty_ok=True)}).decode()
    else:
        arguments = _string(item, "arguments", where, empty_ok=True) if "arguments" in item else "{}"
    return ToolCall(id=call_id, function=FunctionCall(name=name, arguments=arguments))


def _output(item: dict[str, Any], where: str) -> str | list[ContentPart]:
    """A tool's output: a string, or its parts (text joined into a string; images, such as Codex's
    ``view_image`` sends, and PDF files kept as parts)."""
    output = item.get("output")
    param = f"{where}.output"
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        parts: list[ContentPart] = []
        for j, part in enumerate(output):
            parts.append(_part(part, f"{param}[{j}]"))
        if all(p.type == "text" for p in parts):
            return "\n".join(p.text or "" for p in parts)
        return parts
    shown = "missing" if output is None else _kind(output)
    raise RequestError(f"`{param}` must be a string or an array of parts, got {shown}", param=param)


# --- tools and options ---


def _tools(lists: list[tuple[str, Any]]) -> tuple[list[Tool] | None, tuple[str, ...]]:
    """The function and custom tools of every list the request declares (:func:`tool_lists`), namespaces
    flattened; a name declared twice keeps its first declaration. And the hosted tools left out, each named by
    its list and its type (``tools[web_search]``, ``input[2].tools[mcp]``), once: only OpenAI runs them, so the
    model is not offered them, and ``x-tiergate-dropped-params`` says so (Codex sends ``web_search`` always)."""
    out: list[Tool] = []
    hosted: list[str] = []
    for field, tools in lists:
        if not isinstance(tools, list):
            raise RequestError(f"`{field}` must be an array, got {_kind(tools)}", param=field, code="invalid_type")
        for i, tool in enumerate(tools):
            where = f"{field}[{i}]"
            if isinstance(tool, dict) and tool.get("type") == "namespace":
                inner = tool.get("tools")
                if not isinstance(inner, list):
                    raise RequestError(f"`{where}.tools` must be an array", param=f"{where}.tools", code="invalid_type")
                for j, raw in enumerate(inner):
                    _add_tool(out, hosted, raw, f"{where}.tools", j)
            else:
                _add_tool(out, hosted, tool, field, i)
    unique = {t.function.name: t for t in reversed(out)}
    return [t for t in out if unique[t.function.name] is t] or None, tuple(dict.fromkeys(hosted))


def _add_tool(out: list[Tool], hosted: list[str], tool: Any, field: str, i: int) -> None:
    """``tool``, the ``i``-th of the list at ``field``, onto ``out`` as a function, or its name onto ``hosted``."""
    if (converted := _tool(tool, f"{field}[{i}]")) is not None:
        out.append(converted)
    else:
        kind = tool.get("type")
        hosted.append(f"{field}[{kind if isinstance(kind, str) and kind else i}]")


def _tool(tool: Any, where: str) -> Tool | None:
    if not isinstance(tool, dict):
        raise RequestError(f"`{where}` must be an object, got {_kind(tool)}", param=where, code="invalid_type")
    kind = tool.get("type")
    if kind not in ("function", "custom"):
        return None  # hosted tools (web_search, file_search, tool_search, mcp, ...) run only at OpenAI
    name = _string(tool, "name", where)
    description = _opt(tool, "description", str, "a string", where=f"{where}.")
    if kind == "custom":
        return Tool(FunctionDef(name, _custom_description(description, tool.get("format")), CUSTOM_INPUT_SCHEMA))
    parameters = _opt(tool, "parameters", dict, "an object", where=f"{where}.")
    strict = _opt(tool, "strict", bool, "a boolean", where=f"{where}.")
    return Tool(FunctionDef(name, description, parameters, strict))


def _custom_description(description: str | None, format: Any) -> str:
    """A freeform tool's description, told the call is JSON now (and the grammar, which was not in the text)."""
    how = 'Call it with {"input": "<the text>"}.'
    if isinstance(format, dict) and format.get("type") == "grammar" and isinstance(format.get("definition"), str):
        syntax = format.get("syntax") if isinstance(format.get("syntax"), str) else "the"
        how += f" The text must follow this {syntax} grammar:\n{format['definition']}"
    return f"{description}\n\n{how}" if description else how


def _tool_choice(choice: Any, declared: list[str]) -> str | dict[str, Any] | None:
    modes = ("auto", "none", "required")
    if choice is None or (isinstance(choice, str) and choice in modes):
        return choice
    if isinstance(choice, dict):
        kind, mode = choice.get("type"), choice.get("mode")
        if kind in ("function", "custom"):
            return {"type": "function", "function": {"name": _declared(choice, kind, "tool_choice", declared)}}
        if kind == "allowed_tools" and isinstance(mode, str) and mode in modes:
            return mode  # the tools it lists are applied to the request's tools (_allowed_names)
        shown = f"the hosted tool `{kind}`" if isinstance(kind, str) and kind else "a tool without a `type`"
        raise RequestError(
            f"`tool_choice` forces {shown}, which runs only at OpenAI: tiergate leaves hosted tools out"
            " (an answer without the forced call would look like it)",
            param="tool_choice",
            code="unsupported_value",
        )
    raise RequestError(
        f"`tool_choice` must be auto, none, required or a tool object, got {choice!r}", param="tool_choice"
    )


def _allowed_names(choice: Any, declared: list[str]) -> set[str] | None:
    """The names of the function and custom tools an ``allowed_tools`` choice lists, each one the request
    declares (hosted ones, dropped with their tools, name none), or None for any other choice."""
    if not isinstance(choice, dict) or choice.get("type") != "allowed_tools":
        return None
    listed = choice.get("tools")
    if not isinstance(listed, list):
        raise RequestError(
            f"`tool_choice.tools` must be an array, got {_kind(listed)}", param="tool_choice.tools", code="invalid_type"
        )
    names: set[str] = set()
    for i, entry in enumerate(listed):
        where = f"tool_choice.tools[{i}]"
        if not isinstance(entry, dict):
            raise RequestError(f"`{where}` must be an object, got {_kind(entry)}", param=where, code="invalid_type")
        if (kind := entry.get("type")) in ("function", "custom"):
            names.add(_declared(entry, kind, where, declared))
    return names


def _declared(entry: dict[str, Any], kind: str, where: str, declared: list[str]) -> str:
    """The name of the function or custom tool a choice names, which must be one of the request's (``declared``):
    passed on, another would reach Claude as a tool it refuses and Ollama as no tool at all, so it is a 400
    naming it, as on chat.

        {"type": "function", "name": "nope"}   # → 400: `tool_choice` names the function `nope`, which ...
    """
    name = _string(entry, "name", where)
    if name in declared:
        return name
    what = f"the {'function' if kind == 'function' else 'custom tool'} `{name}`, which `tools` does not declare"
    raise undeclared_tool(where, what, declared, none="the request has no function or custom `tools`")


def _response_format(text: Any) -> dict[str, Any] | None:
    """``text.format`` as the internal ``response_format``, checked as chat's is
    (:mod:`tiergate.protocols.response_format`);
    a format with no type is text, and one with no name is named ``response``."""
    if text is None:
        return None
    if not isinstance(text, dict):
        raise RequestError(f"`text` must be an object, got {_kind(text)}", param="text", code="invalid_type")
    fmt = _opt(text, "format", dict, "an object", where="text.")
    if fmt is None or fmt.get("type") is None:
        return None
    kind = format_type(fmt["type"], "text.format.type")
    if kind != "json_schema":
        return None if kind == "text" else {"type": kind}
    spec = json_schema(fmt, "text.format", default_name="response", schema_required=True)
    return {"type": "json_schema", "json_schema": spec}
