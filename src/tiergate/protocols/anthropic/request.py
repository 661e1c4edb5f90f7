"""Egress, tiergate → an Anthropic upstream: the Messages request body, built from the internal request
(:func:`to_messages_body`) or passed on from a Messages client (:func:`native_body`)."""

from __future__ import annotations

import re
from typing import Any, Literal

from tiergate.errors import RequestError
from tiergate.protocols.anthropic.common import (
    ANSWER_DESCRIPTION,
    ANSWER_ROOM,
    ANSWER_TOOL,
    ANY_OBJECT,
    DATA_URL,
    EMPTY_SCHEMA,
    INTERLEAVED,
    MIN_THINKING_BUDGET,
    PROTOCOL_HEADERS,
    SIGNATURE_PREFIX,
    THINKING_BUDGETS,
    UNKNOWN_EFFORT_BUDGET,
    Block,
    tool_use_id,
)
from tiergate.protocols.stops import is_blank, split_stops
from tiergate.wire import (
    ChatRequest,
    ContentPart,
    FileData,
    Message,
    Native,
    ToolCall,
)


def to_messages_body(
    request: ChatRequest,
    model: str,
    *,
    default_max_tokens: int,
    stream: bool = False,
    thinking_supported: bool = False,
) -> Block:
    """The Messages request for ``request``; raises RequestError for what no Anthropic model could accept, and
    :class:`BlankLastMessage` for a conversation that ends in a blank user message, which another target may
    answer.

    ``max_tokens`` is mandatory upstream, so ``default_max_tokens`` stands in when the client sent none (the
    backend's, fitted to the target's window: :func:`tiergate.backends.anthropic.fitted_max_tokens`). Thinking
    never raises either: its budget is cut to fit under the client's limit, or to leave
    :data:`~tiergate.protocols.anthropic.common.ANSWER_ROOM` under tiergate's (:func:`_thinking_budget`).
    ``response_format`` becomes a forced answer tool (:func:`answer_tool_of`), or Anthropic's own
    ``output_config.format`` when the request brings tools of its own. ``reasoning_effort`` turns thinking
    on only where the binding says the target has it (``thinking_supported``); then an assistant message's
    signed thinking (``Message.thinking``) goes back at the head of its turn, as Anthropic wants it.

        body = to_messages_body(request, call.model, default_max_tokens=4096)
    """
    limit = request.output_limit()
    max_tokens = default_max_tokens if limit is None else limit
    budget = _thinking_budget(request, max_tokens, chosen=limit is None) if thinking_supported else None
    body: Block = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": _turns(request.messages, thinking=budget is not None),
    }
    if not body["messages"]:
        field = _conversation_field(request.messages)
        raise RequestError(
            f"{field}: every user and assistant message is empty or only whitespace, and Claude needs at least one"
            " with content",
            param=field,
        )
    system = _system(request.messages)
    if system:
        body["system"] = system
    sent, _ = split_stops(request.stop_list(), refuses=is_blank)  # the API refuses blank ones: emulated
    if sent:
        body["stop_sequences"] = sent
    body.update(_tools(request))
    body.update(_sampling(request) if budget is None else _thinking(budget))
    if request.user:
        body["metadata"] = {"user_id": request.user}
    if stream:
        body["stream"] = True
    return body


def _conversation_field(messages: list[Message]) -> str:
    """The client's own name for the body's conversation: ``input`` for a Responses body (its messages say
    where they came from, ``input[2].content``), ``messages`` for a chat or Messages body."""
    for i, message in enumerate(messages):
        if message.role not in ("system", "developer"):
            return re.split(r"[.\[]", message.where(i), maxsplit=1)[0]
    return "messages"


def answer_tool_of(request: ChatRequest) -> str | None:
    """The name of the forced tool that carries the structured answer, when :func:`to_messages_body` adds
    one (``response_format`` asks for JSON and the request has no tools of its own); else None. The reading
    side turns that tool's input back into the answer's text: pass it to :func:`from_message`,
    :func:`whole_answer` and :class:`StreamTranslator`.

        translator = StreamTranslator(name, url, answer_tool=answer_tool_of(request))
    """
    if request.tools:
        return None
    structured = _structured(request)
    return structured[0] if structured is not None else None


def _tools(request: ChatRequest) -> Block:
    """The request's tools and choice; a structured answer beside tools of the request's own is Anthropic's
    ``output_config.format``, and without them a forced answer tool (older models lack ``output_config``)."""
    structured = _structured(request)
    if request.tools:
        fields: Block = {
            "tools": [_tool(t.function.name, t.function.description, t.function.parameters) for t in request.tools]
        }
        if (choice := _tool_choice(request)) is not None:
            fields["tool_choice"] = choice
        if structured is not None:
            fields["output_config"] = {"format": {"type": "json_schema", "schema": structured[1]}}
        return fields
    if structured is None:
        return _tools_of_history(request.messages)
    name, schema = structured
    return {
        "tools": [{"name": name, "description": ANSWER_DESCRIPTION, "input_schema": schema}],
        "tool_choice": {"type": "tool", "name": name},
    }


def _tools_of_history(messages: list[Message]) -> Block:
    """A request with no tools whose history holds tool calls (a summary or compaction of an agent's
    conversation, which OpenAI's API takes): Anthropic refuses ``tool_use`` and ``tool_result`` blocks in a
    request that defines no tools, so the tools the history called are declared, each taking any object,
    and ``tool_choice: none`` keeps the model from calling them, as a request without tools cannot."""
    names = list(dict.fromkeys(call.function.name for m in messages for call in m.tool_calls or ()))
    if not names and not any(m.role in ("tool", "function") for m in messages):
        return {}
    names = names or [HISTORY_TOOL]
    return {
        "tools": [{"name": name, "description": HISTORY_DESCRIPTION, "input_schema": EMPTY_SCHEMA} for name in names],
        "tool_choice": {"type": "none"},
    }


#: The tool declared for a history with tool results but no calls (another client's, cut off).
HISTORY_TOOL = "tool"
HISTORY_DESCRIPTION = "Called earlier in this conversation; not offered in this request."


def _structured(request: ChatRequest) -> tuple[str, dict[str, Any]] | None:
    """(name, schema) of the JSON answer ``response_format`` asks for, or None for plain text."""
    fmt = request.response_format or {}
    if fmt.get("type") == "json_object":
        return ANSWER_TOOL, dict(ANY_OBJECT)
    if fmt.get("type") != "json_schema":
        return None
    spec = fmt.get("json_schema") or {}
    name = spec.get("name") or ANSWER_TOOL if isinstance(spec, dict) else None
    schema = spec.get("schema") or dict(ANY_OBJECT) if isinstance(spec, dict) else None
    if not isinstance(name, str) or not isinstance(schema, dict):
        param = "response_format.json_schema"
        raise RequestError(f"{param}: expected {{'name': <string>, 'schema': <object>}}", param=param)
    return name, schema


def _thinking(budget: int) -> Block:
    """Thinking on; the API refuses temperature/top_p with it (and wants max_tokens above the budget, which
    :func:`_thinking_budget` keeps it)."""
    return {"thinking": {"type": "enabled", "budget_tokens": budget}}


def _thinking_budget(request: ChatRequest, max_tokens: int, *, chosen: bool) -> int | None:
    """The thinking budget ``reasoning_effort`` asks for, cut to fit under ``max_tokens``, which is never
    raised: the client's own limit (the budget may take all but a token of it: the client asked for that much
    in all), or, ``chosen``, the one tiergate chose for a client that gave none, under which the budget leaves
    :data:`ANSWER_ROOM` for the answer. That one is the most the target's window holds beside the prompt
    (:func:`tiergate.backends.anthropic.fitted_max_tokens`) or its model writes: raised past it to hold the
    budget, the API refused a request that fits. None where the cut leaves less than the API's minimum, or
    where the API would refuse thinking: a forced tool (the client's, or the structured-answer tool), or a
    tool loop already under way whose assistant message carries no signed thinking (a loop is one assistant
    turn, and the API demands that its last assistant message begin with the thinking Claude wrote for it: a
    client that carried it back, such as Codex through Responses' ``encrypted_content``, keeps thinking on for
    the whole loop; one that did not, or whose calls another model made, loses it until the loop ends). A user
    message after the tool results does not end the loop: it joins their user turn, and the API still asks the
    last assistant message for its thinking)."""
    effort = request.effort()
    budget = None if effort is None else THINKING_BUDGETS.get(effort, UNKNOWN_EFFORT_BUDGET)
    if budget is not None:
        budget = min(budget, max_tokens - ANSWER_ROOM if chosen else max_tokens - 1)
    if budget is None or budget < MIN_THINKING_BUDGET or answer_tool_of(request) is not None:
        return None
    if request.tools and (request.tool_choice == "required" or isinstance(request.tool_choice, dict)):
        return None
    if _loop_without_signed_thinking(request.messages):
        return None
    return budget


def _loop_without_signed_thinking(messages: list[Message]) -> bool:
    """Whether the last assistant message calls tools and carries no thinking Anthropic can verify."""
    caller = next((m for m in reversed(messages) if m.role == "assistant"), None)
    return caller is not None and bool(caller.tool_calls) and not _thinking_blocks(caller)


def _system(messages: list[Message]) -> str:
    """System and developer messages, wherever they appear, become the one top-level ``system``; blank ones
    (:func:`_has_text`) are left out."""
    return "\n\n".join(t for m in messages if m.role in ("system", "developer") and _has_text(t := m.text()))


class BlankLastMessage(RequestError):
    """A conversation that ends in a user message that is empty or only whitespace (``"content": "  "``),
    which OpenAI's API answers as a new turn. The Messages API refuses such a message, and left out (as a blank
    message elsewhere is), it leaves an assistant turn last: a prefill, which Claude continues, so the client
    would get the rest of its previous answer as a new one. A blank final assistant message after it changes
    nothing: the turn Claude would continue is still not one the client ended on. The request is fine (a local
    tier answers it as OpenAI's API does), so the backend raises it as an
    :class:`~tiergate.errors.UpstreamCapabilityError`, which falls back to the next target, and is the client's
    400 when none is left."""


def _turns(messages: list[Message], *, thinking: bool) -> list[Block]:
    """Alternating user/assistant turns: consecutive same-role messages merge, empty ones (and blank ones:
    :func:`_has_text`) vanish, and a final assistant turn (a prefill) loses the whitespace its text ends in,
    which the API refuses (:func:`_without_trailing_whitespace`). A blank user message after the last message
    sent is :class:`BlankLastMessage`: without it, an assistant turn would end what Claude is sent, a prefill
    the client did not write. With ``thinking`` on, assistant messages begin with their signed thinking; with it
    off, the API refuses thinking in a final assistant message, and needs none elsewhere, so none is sent."""
    turns: list[Block] = []
    blank: int | None = None  # the last user message left out since the last message sent
    for i, message in enumerate(messages):
        if message.role in ("system", "developer"):
            continue
        role, blocks = _turn_of(message, i)
        if thinking and role == "assistant" and blocks:
            blocks = _thinking_blocks(message) + blocks
        if not blocks:
            blank = i if role == "user" else blank
            continue
        blank = None
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:
        if turn["role"] == "user":
            turn["content"].sort(key=lambda block: block["type"] != "tool_result")
    if turns and turns[-1]["role"] == "assistant":
        if blank is not None:
            where = messages[blank].where(blank)
            raise BlankLastMessage(
                f"{where}: the conversation ends in a user message that is empty or only whitespace, which Claude"
                " does not take; without it Claude would go on with the assistant message before it instead of"
                " answering",
                param=where,
            )
        _without_trailing_whitespace(turns[-1]["content"])
    return _unique_tool_ids(turns)


def _has_text(text: str | None) -> bool:
    """Whether ``text`` is more than whitespace. The API refuses a text block, a turn and a ``system`` of
    nothing but whitespace ("text content blocks must contain non-whitespace text") as it refuses empty ones,
    which OpenAI's API takes: both are left out of what Claude is sent."""
    return text is not None and not is_blank(text)


def _without_trailing_whitespace(blocks: list[Block]) -> None:
    """A prefill's last text block without the whitespace it ends in: the API refuses "final assistant content
    cannot end with trailing whitespace" (the model goes on from where the text stops, and writes the space
    itself). The block is never left empty: a blank one is not sent (:func:`_has_text`)."""
    if blocks and blocks[-1]["type"] == "text":
        blocks[-1]["text"] = blocks[-1]["text"].rstrip()


def _unique_tool_ids(turns: list[Any]) -> list[Any]:
    """Anthropic refuses a history whose ``tool_use`` ids repeat ("tool_use ids must be unique"); a server that
    numbers its calls per answer (``functions.Bash:0``, ``tool_call_0``) repeats them on every turn, and a
    client (Claude Code) sends them back as it got them. Each repeat gets its own id (``_2``, ``_3``...), and the
    results after it that answer it follow it. Turns and blocks it changes are copies: a client's own body is
    never changed."""
    seen: dict[str, int] = {}
    latest: dict[str, str] = {}  # an id as written -> the id of its latest call
    taken = {block.get("id") for block in _blocks(turns) if block.get("type") == "tool_use"}
    unique: list[Any] = []
    for turn in turns:
        content = turn.get("content") if isinstance(turn, dict) else None
        if not isinstance(content, list):
            unique.append(turn)
            continue
        blocks: list[Any] = []
        for block in content:
            kind = block.get("type") if isinstance(block, dict) else None
            if kind == "tool_use" and isinstance(written := block.get("id"), str):
                seen[written] = count = seen.get(written, 0) + 1
                renamed = written
                if count > 1:
                    while (renamed := f"{written}_{count}") in taken:
                        count += 1
                    taken.add(renamed)
                    block = {**block, "id": renamed}
                latest[written] = renamed
            elif kind == "tool_result" and latest.get(block.get("tool_use_id"), block.get("tool_use_id")) != (
                answered := block.get("tool_use_id")
            ):
                block = {**block, "tool_use_id": latest[answered]}
            blocks.append(block)
        changed = any(new is not old for new, old in zip(blocks, content, strict=True))
        unique.append({**turn, "content": blocks} if changed else turn)
    return unique


def _blocks(turns: list[Any]) -> list[dict[str, Any]]:
    return [
        block
        for turn in turns
        if isinstance(turn, dict) and isinstance(turn.get("content"), list)
        for block in turn["content"]
        if isinstance(block, dict)
    ]


def _turn_of(message: Message, i: int) -> tuple[Literal["user", "assistant"], list[Block]]:
    if message.role in ("tool", "function"):
        return "user", [_tool_result(message, i)]
    if message.role == "assistant":
        calls = [_tool_use(call) for call in message.tool_calls or []]
        return "assistant", _content_blocks(message, i) + calls
    return "user", _content_blocks(message, i)


def _content_blocks(message: Message, i: int) -> list[Block]:
    """Text, image and file (PDF document) parts; the ingresses refuse every other part type. Blank text
    (:func:`_has_text`) is left out, as the API takes no empty text block."""
    if isinstance(message.content, str):
        return [{"type": "text", "text": message.content}] if _has_text(message.content) else []
    blocks: list[Block] = []
    for j, part in enumerate(message.content or []):
        if part.type == "text" and _has_text(part.text):
            blocks.append({"type": "text", "text": part.text})
        elif part.type == "image_url" and part.image_url is not None:
            blocks.append(_image(part, f"messages[{i}].content[{j}].image_url"))
        elif part.type == "file" and part.file is not None:
            blocks.append(_document(part.file, f"messages[{i}].content[{j}].file"))
    return blocks


def _thinking_blocks(message: Message) -> list[Block]:
    """The message's signed thinking as Anthropic wrote it: ``thinking`` blocks with their signatures,
    ``redacted_thinking`` with its data. A block tiergate signed itself (:data:`SIGNATURE_PREFIX`) or an
    unsigned one is left out: the API would refuse it."""
    blocks: list[Block] = []
    for t in message.thinking or ():
        if t.data:
            blocks.append({"type": "redacted_thinking", "data": t.data})
        elif t.signature and not t.signature.startswith(SIGNATURE_PREFIX):
            blocks.append({"type": "thinking", "thinking": t.thinking, "signature": t.signature})
    return blocks


def _image(part: ContentPart, param: str) -> Block:
    assert part.image_url is not None
    url = part.image_url.url
    if match := DATA_URL.fullmatch(url):
        source = {"type": "base64", "media_type": match["media"], "data": match["data"]}
        return {"type": "image", "source": source}
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise RequestError(f"{param}: an image must be a base64 data URL or an http(s) URL", param=param)


def _document(file: FileData, param: str) -> Block:
    """A ``document`` block: a PDF data URL as a base64 source, a URL as a url source; the file name, when
    there is one, as its ``title``."""
    if file.file_data is not None and (match := DATA_URL.fullmatch(file.file_data)):
        source = {"type": "base64", "media_type": match["media"], "data": match["data"]}
    elif file.file_url is not None:
        source = {"type": "url", "url": file.file_url}
    else:
        raise RequestError(f"{param}: a document must be a base64 data URL or a URL", param=param)
    block: Block = {"type": "document", "source": source}
    if file.filename:
        block["title"] = file.filename
    return block


def _tool_result(message: Message, i: int) -> Block:
    if not message.tool_call_id:
        param = f"messages[{i}].tool_call_id"
        raise RequestError(f"{param}: a tool message needs the id of the call it answers", param=param)
    block: Block = {"type": "tool_result", "tool_use_id": tool_use_id(message.tool_call_id)}
    if message.images() or message.documents():  # text, image and document blocks, in the message's order
        block["content"] = _content_blocks(message, i)
    elif text := message.text():
        block["content"] = text
    return block


def _tool_use(call: ToolCall) -> Block:
    """Anthropic wants the arguments as an object; text that is not one goes as ``{"arguments": <text>}``."""
    arguments = call.function.arguments_object()
    return {"type": "tool_use", "id": tool_use_id(call.id), "name": call.function.name, "input": arguments}


def _tool(name: str, description: str | None, parameters: dict[str, Any] | None) -> Block:
    tool: Block = {"name": name}
    if description:
        tool["description"] = description
    tool["input_schema"] = parameters or EMPTY_SCHEMA
    return tool


def _tool_choice(request: ChatRequest) -> Block | None:
    """OpenAI's choice, plus ``parallel_tool_calls: false``, which Anthropic keeps inside ``tool_choice``."""
    choice = request.tool_choice
    if choice is None:
        result: Block | None = {"type": "auto"} if request.parallel_tool_calls is False else None
    elif choice == "auto":
        result = {"type": "auto"}
    elif choice == "required":
        result = {"type": "any"}
    elif choice == "none":
        return {"type": "none"}
    elif isinstance(choice, dict) and isinstance(name := (choice.get("function") or {}).get("name"), str):
        result = {"type": "tool", "name": name}
    else:
        expected = '\'auto\', \'required\', \'none\' or {"type": "function", "function": {"name": ...}}'
        raise RequestError(f"tool_choice: expected {expected}", param="tool_choice")
    if result is not None and request.parallel_tool_calls is False:
        result["disable_parallel_tool_use"] = True
    return result


def _sampling(request: ChatRequest) -> Block:
    """Recent models refuse ``temperature`` and ``top_p`` together; temperature is the one clients mean.
    ``top_k`` goes beside either (thinking refuses all three: :func:`_thinking`). OpenAI's temperature runs
    0-2 and Anthropic's 0-1: above 1 is sent as 1, the most random Claude goes, rather than refused there
    for a request another tier would have taken."""
    found: Block = {"top_k": request.top_k} if request.top_k is not None else {}
    if request.temperature is not None:
        return {"temperature": min(request.temperature, 1.0), **found}
    if request.top_p is not None:
        return {"top_p": request.top_p, **found}
    return found


def left_out(request: ChatRequest, body: Block) -> list[str]:
    """The sampling parameters of ``request`` that ``body`` (its :func:`to_messages_body`) does not carry, as
    ``x-tiergate-dropped-params`` names them: ``top_p`` beside ``temperature`` (:func:`_sampling`), all three
    with thinking on (:func:`_thinking`), and those the Messages API has no field for (``seed``, the penalties).

        left_out(request, body)   # temperature, top_p and seed asked, thinking off: ["top_p", "seed"]
    """
    asked = {
        "temperature": request.temperature,
        "top_p": request.top_p,
        "top_k": request.top_k,
        "seed": request.seed,
        "presence_penalty": request.presence_penalty,
        "frequency_penalty": request.frequency_penalty,
    }
    return [
        name for name, value in asked.items() if value is not None and name not in body and value != _NEUTRAL.get(name)
    ]


#: Values that ask for nothing, so leaving them out changes nothing: no penalty, the whole distribution, and
#: Claude's own default temperature (the one thinking runs at). Clients send them as defaults on every request
#: (``presence_penalty: 0``, ``top_p: 1``); naming them would name something on every request.
_NEUTRAL: dict[str, float] = {"presence_penalty": 0, "frequency_penalty": 0, "top_p": 1, "temperature": 1}


# === egress: a Messages client's own body, passed through ========================================


def native_body(native: Native, model: str, *, stream: bool, max_output: int | None = None) -> Block:
    """The client's own Messages body for an Anthropic upstream: only ``model`` (and ``stream``) change,
    so every field tiergate does not know (``context_management``, ``output_config``, ``thinking``,
    ``safeguards``, ``defer_loading`` on tools...) goes on as sent. A ``max_tokens`` above ``max_output``
    (the target's ``capabilities.max_output``: the most its model writes) is lowered to it (:func:`_capped`).

    Thinking blocks that Anthropic did not sign (tiergate's own, or unsigned) are removed from assistant
    turns: the API refuses a signature it cannot verify. An assistant turn left empty is removed too (the
    API refuses empty content and empty text blocks, and joins the same-role turns around it).

    With ``thinking: {type: enabled}`` (not ``adaptive``, where the model may skip thinking), the API
    wants the last assistant turn of a tool loop to begin with its thinking. When that turn came from
    another model (a local tier made the tool call), thinking is off for this request rather than
    refused. Tool call ids other servers made are rewritten as Anthropic accepts them
    (:func:`tool_use_id`), the same way in ``tool_use`` and ``tool_result``, and made unique where they
    repeat (:func:`_unique_tool_ids`).
    ``native.body`` itself is not changed.

        body = native_body(request.native, call.model, stream=True)
    """
    body = dict(native.body)
    body["model"] = model
    body["stream"] = stream
    if isinstance(messages := body.get("messages"), list):
        body["messages"] = turns = _unique_tool_ids(_verifiable_turns(messages))
        thinking = body.get("thinking")
        if isinstance(thinking, dict) and thinking.get("type") == "enabled" and _loop_without_thinking(turns):
            del body["thinking"]
    return _capped(body, max_output, interleaved=INTERLEAVED in native.headers.get("anthropic-beta", ""))


def _capped(body: Block, max_output: int | None, *, interleaved: bool) -> Block:
    """``body`` with its ``max_tokens`` lowered to ``max_output`` where it asks for more: the client's limit is
    an upper bound the model never reaches, and the API refuses a limit above what the model writes (with
    ``model: auto`` the client cannot know which model that is). A thinking budget the lower limit no longer
    holds (the API wants it below ``max_tokens``, except under the interleaved-thinking beta) is cut to leave
    :data:`ANSWER_ROOM` for the answer, as under a limit tiergate chose; with less than the API's minimum
    left, thinking is off."""
    limit = body.get("max_tokens")
    if max_output is None or not isinstance(limit, int) or limit <= max_output:
        return body
    body["max_tokens"] = max_output
    thinking = body.get("thinking")
    budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
    if isinstance(thinking, dict) and isinstance(budget, int) and budget >= max_output and not interleaved:
        if max_output - ANSWER_ROOM < MIN_THINKING_BUDGET:
            del body["thinking"]
        else:
            body["thinking"] = {**thinking, "budget_tokens": max_output - ANSWER_ROOM}
    return body


def native_headers(native: Native) -> dict[str, str]:
    """The client's ``anthropic-version`` and ``anthropic-beta``, to send with :func:`native_body`."""
    return {name: value for name, value in native.headers.items() if name in PROTOCOL_HEADERS}


def _verifiable_turns(messages: list[Any]) -> list[Any]:
    turns: list[Any] = []
    for turn in messages:
        content = turn.get("content") if isinstance(turn, dict) else None
        if isinstance(content, list) and any(_rewritten(block) for block in content):
            kept = [_with_tool_id(block) for block in content if not _dropped(block, turn.get("role"))]
            if not kept:
                continue
            turn = {**turn, "content": kept}
        turns.append(turn)
    return turns


def _loop_without_thinking(turns: list[Any]) -> bool:
    """Whether the last assistant turn calls a tool and does not begin with a thinking block."""
    last = next((t for t in reversed(turns) if isinstance(t, dict) and t.get("role") == "assistant"), None)
    content = last.get("content") if last is not None else None
    if not isinstance(content, list) or not content:
        return False
    calls = any(isinstance(b, dict) and b.get("type") == "tool_use" for b in content)
    first = content[0].get("type") if isinstance(content[0], dict) else None
    return calls and first not in ("thinking", "redacted_thinking")


def _rewritten(block: Any) -> bool:
    return _unverifiable(block) or _with_tool_id(block) is not block


def _dropped(block: Any, role: Any) -> bool:
    return role == "assistant" and _unverifiable(block)


def _with_tool_id(block: Any) -> Any:
    """``block`` with its tool call id as Anthropic accepts it (the same object when it already is)."""
    if not isinstance(block, dict):
        return block
    key = {"tool_use": "id", "tool_result": "tool_use_id"}.get(block.get("type"))  # type: ignore[arg-type]
    value = block.get(key) if key else None
    if not isinstance(value, str) or tool_use_id(value) == value:
        return block
    return {**block, key: tool_use_id(value)}


def _unverifiable(block: Any) -> bool:
    if not isinstance(block, dict) or block.get("type") != "thinking":
        return False
    sig = block.get("signature")
    return not isinstance(sig, str) or not sig or sig.startswith(SIGNATURE_PREFIX)
