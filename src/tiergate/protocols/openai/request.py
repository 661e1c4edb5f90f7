"""OpenAI chat and legacy completion request bodies → the internal request, with the checks every upstream
would make anyway (a 400 naming the field, before any upstream call).

    request = decode_chat(await http_request.body())
    legacy, request = decode_completion(body)
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from tiergate.errors import RequestError
from tiergate.protocols import extras
from tiergate.protocols.json_body import check_not_empty, check_utf8, decode_object, not_json, opens_an_object
from tiergate.protocols.response_format import format_type, json_schema
from tiergate.wire import PDF_DATA_URL, ChatRequest, CompletionRequest, ContentPart, Message, only_allowed

T = TypeVar("T")
_AT = re.compile(r"^(.*?)(?: - at `\$\.?([^`]*)`)?$", re.S)
#: msgspec's words for a required field left out; its name is the error's ``param``.
_MISSING = re.compile(r"Object missing required field `([^`]+)`")
#: The content parts tiergate carries (a ``file`` only to a target that reads documents): the rest
#: (``input_audio``, ...) would be lost on the way.
_PARTS = ("text", "image_url", "file")


def decode_json(body: bytes, type_: type[T]) -> T:
    """``body`` as ``type_``, or a 400 naming the field that is wrong."""
    check_not_empty(body)
    if not opens_an_object(body):
        decode_object(body)  # raises: not JSON, or not an object, said as every ingress says it
    try:
        decoded = msgspec.json.decode(body, type=type_)
    except msgspec.ValidationError as exc:
        m = _AT.match(str(exc))
        message, param = (m.group(1), m.group(2)) if m else (str(exc), None)
        where = f" at `{param}`" if param else ""
        if (missing := _MISSING.fullmatch(message)) is not None:  # the param is the field that is missing
            param = f"{param}.{missing.group(1)}" if param else missing.group(1)
        raise RequestError(f"invalid request: {message}{where}", param=param or None, code="invalid_request") from None
    except msgspec.DecodeError as exc:
        raise not_json(body, exc) from None
    check_utf8(body)
    return decoded


class _Modelled(ChatRequest, forbid_unknown_fields=True):
    """A chat body with only the fields tiergate models, the common one: decoded in one pass. A body with any
    other field stops at it (``Object contains unknown field``) and is read again by :func:`_with_extras`,
    so only such a body pays for a second pass."""


#: The body's names for the fields tiergate models; every other is an extra (``min_p``).
_MODELLED = frozenset(ChatRequest.__struct_encode_fields__)
_UNKNOWN = "Object contains unknown field"
_top_level = msgspec.json.Decoder(dict[str, msgspec.Raw])


def decode_chat(body: bytes) -> ChatRequest:
    """A chat body as the internal request, its parameters tiergate does not model kept as they came
    (``extra``, for the backends that take them: :mod:`tiergate.protocols.extras`)."""
    try:
        request: ChatRequest = decode_json(body, _Modelled)
        request.extra = None  # a body's own `tiergate_extra` is never taken
    except RequestError as exc:
        if not exc.message.startswith(f"invalid request: {_UNKNOWN}") or exc.param is not None:
            raise
        request = _with_extras(body)
    request.continuation = False  # the completions decoder's, never a chat body's
    request.native = None  # an ingress codec's (a Messages body's own), never a chat body's
    if not request.messages:
        raise RequestError("`messages` must hold at least one message", param="messages", code="invalid_request")
    for i, m in enumerate(request.messages):
        if m.content is None and m.role in ("system", "developer", "user"):
            raise RequestError(
                f"`messages[{i}].content` is missing: a `{m.role}` message needs content",
                param=f"messages[{i}].content",
                code="invalid_value",
            )
        if m.role == "tool" and not m.tool_call_id:
            raise RequestError(
                f"messages[{i}] has role `tool` but no `tool_call_id`", param=f"messages[{i}].tool_call_id"
            )
    _refusals_as_text(request.messages)
    check_chat(request)
    _plain_tool_choice(request)
    return request


def _with_extras(body: bytes) -> ChatRequest:
    """A body holding fields tiergate does not model: the request, and those fields (``extra``)."""
    request = decode_json(body, ChatRequest)
    fields = _top_level.decode(body)  # an object (decode_json said so): each field's value unread
    unread = extras.unmodelled(fields, _MODELLED) or {}
    try:  # read now, and only now: a number out of range (1e999) was a 500
        request.extra = {name: msgspec.json.decode(value) for name, value in unread.items()}
    except msgspec.DecodeError as exc:
        raise not_json(body, exc) from None
    # OpenAI's successor to `user` (the end user, for abuse monitoring): read as `user`, as the Responses
    # ingress reads it, so each backend is sent it where it takes one (Claude's metadata.user_id)
    if isinstance(safety := request.extra.get("safety_identifier"), str):
        del request.extra["safety_identifier"]
        request.user = request.user or safety
    return request


def _refusals_as_text(messages: list[Message]) -> None:
    """An assistant message's ``refusal`` parts (the SDK's ``ChatCompletionContentPartRefusalParam``, sent
    back in the history) are what the model said: read as its text."""
    for message in messages:
        if message.role != "assistant" or not isinstance(message.content, list):
            continue
        for part in message.content:
            if part.type == "refusal":
                part.type, part.text, part.refusal = "text", part.refusal or "", None


def check_chat(request: ChatRequest) -> None:
    """Refuse at the edge what every upstream would refuse, before any upstream call: 400 naming the field.

    One choice (``n`` 1 or absent); no ``logprobs``, ``top_logprobs`` or ``logit_bias`` (tiergate cannot
    honour them); a positive output limit; a ``response_format`` OpenAI takes; at least one user (or tool)
    turn; named tools and tool calls; content parts that are ``text``, ``image_url`` or ``file`` (tiergate
    forwards no other kind, and never drops one silently); images that are images; files that are PDFs in
    ``file_data`` (each is told where it is, for the 400 routing gives when no target reads documents).
    (Whitespace-only stop sequences are valid here: the Anthropic backend emulates them.)
    """
    if request.n is not None and request.n != 1:
        raise RequestError(
            f"`n` is {request.n}: tiergate returns one choice per request; send n separate requests instead",
            param="n",
            code="unsupported_value",
        )
    refused = [
        ("logprobs", request.logprobs is True, "tiergate does not return log probabilities"),
        ("top_logprobs", bool(request.top_logprobs), "tiergate does not return log probabilities"),
        ("logit_bias", bool(request.logit_bias), "token ids differ between the models tiergate routes to"),
    ]
    for name, asked, why in refused:
        if asked:
            raise RequestError(f"`{name}` is set: {why}; leave it out", param=name, code="unsupported_value")
    _refuse_audio_and_functions(request)
    _check_response_format(request.response_format)
    for name in ("max_tokens", "max_completion_tokens"):
        value = getattr(request, name)
        if value is not None and value < 1:
            raise RequestError(f"`{name}` must be at least 1, got {value}", param=name, code="invalid_value")
    if not any(m.role in ("user", "tool", "function") for m in request.messages):
        raise RequestError(
            "`messages` has no user turn: a conversation needs at least one message with role `user`",
            param="messages",
            code="invalid_request",
        )
    for i, tool in enumerate(request.tools or ()):
        if not tool.function.name.strip():
            param = f"tools[{i}].function.name"
            raise RequestError(f"`{param}` is empty: every tool needs a name", param=param, code="invalid_value")
    for i, message in enumerate(request.messages):
        for j, call in enumerate(message.tool_calls or ()):
            if not call.function.name.strip():
                param = f"messages[{i}].tool_calls[{j}].function.name"
                raise RequestError(f"`{param}` is empty: a tool call names its tool", param=param, code="invalid_value")
        if isinstance(message.content, list):
            for j, part in enumerate(message.content):
                _check_part(part, f"messages[{i}].content[{j}]")
                if part.type == "file" and message.role not in ("user", "tool", "function"):
                    param = f"messages[{i}].content[{j}]"
                    raise RequestError(
                        f"`{param}`: a `file` part belongs in a `user` message, not a `{message.role}` one",
                        param=param,
                        code="unsupported_content",
                    )


def _refuse_audio_and_functions(request: ChatRequest) -> None:
    """Audio output, and legacy function calling (``functions``, ``function_call``, an assistant's
    ``function_call``, a ``function`` message), are 400s naming the field: tiergate answers in text and
    carries tools as ``tools`` / ``tool_calls`` / ``tool`` messages, and an answer that silently lacks
    what was asked for is worse than a refusal."""
    if any(kind != "text" for kind in request.modalities or ()) or request.audio is not None:
        param = "audio" if request.audio is not None else "modalities"
        raise RequestError(
            f'`{param}`: tiergate answers in text only; leave out `audio` and send `modalities: ["text"]`',
            param=param,
            code="unsupported_value",
        )
    legacy = "legacy function calling is not carried: send `tools`, `tool_choice`, `tool_calls` and `tool` messages"
    for name in ("functions", "function_call"):
        if getattr(request, name) is not None:
            raise RequestError(f"`{name}` is set: {legacy}", param=name, code="unsupported_value")
    for i, message in enumerate(request.messages):
        if message.role == "function" or message.function_call is not None:
            param = f"messages[{i}].role" if message.role == "function" else f"messages[{i}].function_call"
            raise RequestError(f"`{param}`: {legacy}", param=param, code="unsupported_value")


def _check_response_format(fmt: dict[str, Any] | None) -> None:
    """A ``response_format`` of a type OpenAI knows, and a ``json_schema`` one with its ``json_schema`` (named; a
    schema, if any, an object), checked as the Responses ingress checks ``text.format``. It goes on as sent.

        {"type": "json_schema"}   # → 400: `response_format.json_schema` is missing: it must be an object
    """
    if fmt is not None and format_type(fmt.get("type"), "response_format.type") == "json_schema":
        json_schema(fmt.get("json_schema"), "response_format.json_schema")


def _plain_tool_choice(request: ChatRequest) -> None:
    """An ``allowed_tools`` or ``custom`` tool choice made the plain one every backend reads, once, here: an
    ``allowed_tools`` choice keeps only the tools it lists (as the Responses ingress does) and becomes its
    mode, ``auto`` or ``required``; a ``custom`` one names the function tool of that name, since chat's
    ``tools`` are function tools only. A choice naming a tool ``tools`` does not declare is a 400 naming it, and
    so is ``required`` with no ``tools`` (every backend answered it in plain text).

        {"type": "allowed_tools", "allowed_tools": {"mode": "required", "tools": [{"type": "function",
         "function": {"name": "get_weather"}}]}}       # → tools [get_weather], tool_choice "required"
        {"type": "custom", "custom": {"name": "get_weather"}}
                                    # → {"type": "function", "function": {"name": "get_weather"}}
    """
    choice = request.tool_choice
    declared = [tool.function.name for tool in request.tools or ()]
    if isinstance(choice, str):
        if choice not in ("none", "auto", "required"):
            raise RequestError(
                f"`tool_choice` must be none, auto, required or an object naming a tool, got {choice!r}",
                param="tool_choice",
                code="invalid_value",
            )
        if choice == "required" and not declared:  # no call could be made: the answer would be plain text
            raise RequestError(
                "`tool_choice` requires a tool call, but the request has no `tools` to call",
                param="tool_choice",
                code="invalid_value",
            )
        return
    if isinstance(choice, dict) and choice.get("type") == "function":
        _named_tool(choice, "tool_choice", declared)
        return
    if not isinstance(choice, dict) or choice.get("type") not in ("allowed_tools", "custom"):
        return
    if choice["type"] == "custom":
        name = _named_tool(choice, "tool_choice", declared)
        request.tool_choice = {"type": "function", "function": {"name": name}}
        return
    where = "tool_choice.allowed_tools"
    allowed = choice.get("allowed_tools")
    if not isinstance(allowed, dict):
        raise RequestError(
            f"`{where}` must be an object with `mode` and `tools`, got {_kind(allowed)}",
            param=where,
            code="invalid_type",
        )
    mode, listed = allowed.get("mode"), allowed.get("tools")
    if mode not in ("auto", "required"):
        param = f"{where}.mode"
        got = "missing" if mode is None else repr(mode)
        raise RequestError(f"`{param}` must be auto or required, got {got}", param=param, code="invalid_value")
    if not isinstance(listed, list) or not listed:
        param, empty = f"{where}.tools", isinstance(listed, list)
        raise RequestError(
            f"`{param}` must list the tools the model may call, got {'an empty array' if empty else _kind(listed)}",
            param=param,
            code="invalid_value" if empty else "invalid_type",
        )
    names = {_named_tool(entry, f"{where}.tools[{i}]", declared) for i, entry in enumerate(listed)}
    request.tools, request.tool_choice = only_allowed(request.tools, names), mode


def _named_tool(entry: Any, where: str, declared: list[str]) -> str:
    """The tool a choice names, ``{"type": "function", "function": {"name": ...}}`` or its ``custom`` twin,
    which must be one of the request's ``tools`` (``declared``)."""
    if not isinstance(entry, dict):
        raise RequestError(f"`{where}` must be an object, got {_kind(entry)}", param=where, code="invalid_type")
    kind = entry.get("type")
    if kind not in ("function", "custom"):
        param = f"{where}.type"
        got = "missing" if kind is None else repr(kind)
        raise RequestError(f"`{param}` must be function or custom, got {got}", param=param, code="invalid_value")
    inner = entry.get(kind)
    name = inner.get("name") if isinstance(inner, dict) else None
    if not isinstance(name, str) or not name.strip():
        param = f"{where}.{kind}.name"
        raise RequestError(f"`{param}` must be the name of one of `tools`", param=param, code="invalid_value")
    if name in declared:
        return name
    if kind == "custom":
        what = f"the custom tool `{name}`: chat tools are function tools, and `tools` declares no function `{name}`"
    else:
        what = f"`{name}`, which `tools` does not declare"
    raise undeclared_tool(where, what, declared)


def undeclared_tool(
    where: str, what: str, declared: list[str], none: str = "the request has no `tools`"
) -> RequestError:
    """The 400 for a tool choice at ``where`` naming ``what``, a tool the request does not declare, followed by
    the tools it does (``declared``) or ``none``. The chat and Responses ingresses both answer with it, as
    OpenAI answers both (``Tool choice 'function' not found in 'tools' parameter``), but naming the tool:

        raise undeclared_tool("tool_choice", "`nope`, which `tools` does not declare", ["get_weather"])
    """
    listing = f"it declares {', '.join(declared)}" if declared else none
    return RequestError(f"`{where}` names {what} ({listing})", param=where, code="invalid_value")


def _kind(value: Any) -> str:
    if value is None:
        return "missing"
    return {bool: "a boolean", str: "a string", list: "an array", dict: "an object"}.get(type(value), "a number")


def _check_part(part: ContentPart, where: str) -> None:
    if part.type not in _PARTS:
        raise RequestError(
            f"`{where}.type` is `{part.type}`: tiergate forwards only `text`, `image_url` and `file` content"
            " parts (send a file's contents as `text`)",
            param=f"{where}.type",
            code="unsupported_content",
        )
    if part.type == "image_url":
        if part.image_url is None:
            param = f"{where}.image_url"
            raise RequestError(f"`{param}` is missing: the part has no image", param=param, code="invalid_image")
        _check_image(part.image_url.url, f"{where}.image_url.url")
    if part.type == "file":
        _check_file(part, where)


def _check_file(part: ContentPart, where: str) -> None:
    """A PDF as a base64 data URL, as OpenAI's chat API takes it; an uploaded file's id needs OpenAI's file
    storage, which tiergate does not have."""
    file = part.file
    if file is None or (file.file_data is None and file.file_id is None):
        param = f"{where}.file.file_data"
        raise RequestError(f"`{param}` is missing: the part has no file", param=param, code="invalid_file")
    if file.file_data is None:
        param = f"{where}.file.file_id"
        raise RequestError(
            f"`{param}`: files by id need OpenAI's file storage, which tiergate does not have; send the PDF as"
            f" `file_data` ({PDF_DATA_URL}...)",
            param=param,
            code="unsupported_content",
        )
    if not file.file_data.startswith(PDF_DATA_URL):
        param = f"{where}.file.file_data"
        header = file.file_data[len("data:") :].split(",", 1)[0] if file.file_data.startswith("data:") else ""
        media = header.split(";", 1)[0]
        got = f"a data: URL of {media}" if media else "not a data: URL"
        raise RequestError(
            f"`{param}` is {got}: a `file` part carries a PDF as {PDF_DATA_URL}... (send a text file's"
            " contents as `text`)",
            param=param,
            code="unsupported_content",
        )
    file.file_url = None  # tiergate's own field, never a client's
    file.at = where


def _check_image(url: str, param: str) -> None:
    if url.startswith(("http://", "https://")):
        return
    if not url.startswith("data:"):
        raise RequestError(f"`{param}` must be an http(s) URL or a data: URL", param=param, code="invalid_image")
    media = url[len("data:") :].split(",", 1)[0].split(";", 1)[0].strip().lower()
    if not media.startswith("image/") or "," not in url:
        shown = media or "no media type"
        raise RequestError(
            f"`{param}` is a data: URL of {shown}, not an image (data:image/png;base64,...)",
            param=param,
            code="invalid_image",
        )


def decode_completion(body: bytes) -> tuple[CompletionRequest, ChatRequest]:
    """A legacy completion request, and the chat request that serves it."""
    legacy = decode_json(body, CompletionRequest)
    _refuse_unsupported(legacy)
    prompt = legacy.prompt if isinstance(legacy.prompt, str) else "".join(legacy.prompt)
    chat = ChatRequest(
        messages=[Message(role="user", content=prompt)],
        model=legacy.model,
        stream=legacy.stream,
        stream_options=legacy.stream_options,
        max_tokens=legacy.max_tokens,
        temperature=legacy.temperature,
        top_p=legacy.top_p,
        stop=legacy.stop,
        seed=legacy.seed,
        n=legacy.n,
        suffix=legacy.suffix,
        continuation=True,
        metadata=legacy.metadata,
        provider=legacy.provider,
    )
    check_chat(chat)
    return legacy, chat


def _refuse_unsupported(legacy: CompletionRequest) -> None:
    """What a legacy completion can ask and tiergate cannot honour is a 400 naming the field, as ``n`` is,
    never an answer that silently lacks it: a batch of prompts (one choice each), ``echo``, ``logprobs``,
    ``best_of``."""
    if isinstance(legacy.prompt, list) and len(legacy.prompt) > 1:
        raise RequestError(
            f"`prompt` is a list of {len(legacy.prompt)} prompts: tiergate completes one prompt per request;"
            " send one request per prompt",
            param="prompt",
            code="unsupported_value",
        )
    refused = [
        ("echo", legacy.echo is True, "tiergate does not echo the prompt back"),
        ("logprobs", legacy.logprobs is not None, "tiergate does not return log probabilities"),
        ("best_of", legacy.best_of is not None and legacy.best_of > 1, "tiergate generates one completion"),
    ]
    for name, asked, why in refused:
        if asked:
            value = getattr(legacy, name)
            shown = "true" if value is True else value
            raise RequestError(f"`{name}` is {shown}: {why}; leave it out", param=name, code="unsupported_value")
