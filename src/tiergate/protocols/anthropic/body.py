"""A Messages body as a client sends it (the fields tiergate reads), and what the Messages API refuses in it
before generating, refused by :func:`check` the same way on every tier: a translated request would
otherwise be answered where Claude would refuse it, or lose what the API would have refused."""

from __future__ import annotations

from typing import Any

import msgspec

from tiergate.errors import RequestError
from tiergate.protocols.anthropic.common import MIN_THINKING_BUDGET
from tiergate.protocols.stops import is_blank


class InSource(msgspec.Struct):
    type: str = ""
    media_type: str | None = None
    data: str | None = None
    url: str | None = None
    file_id: str | None = None  # a Files API reference's
    content: str | list[InBlock] | None = None  # a custom-content document's


class InBlock(msgspec.Struct):
    """One content block as a client sends it; fields of kinds tiergate does not read are ignored."""

    type: str
    text: str | None = None
    source: InSource | str | None = None  # a search_result's source is a string
    id: str | None = None
    name: str | None = None
    input: Any = None
    tool_use_id: str | None = None
    content: str | list[InBlock] | dict[str, Any] | None = None
    is_error: bool | None = None
    title: str | None = None
    context: str | None = None  # a document's note about itself
    file_id: str | None = None  # a container_upload's


class InMessage(msgspec.Struct):
    role: str
    content: str | list[InBlock]


class InTool(msgspec.Struct):
    name: str = ""
    description: str | None = None
    input_schema: dict[str, Any] | None = None
    type: str | None = None
    strict: bool | None = None  # structured outputs: the call's input matches the schema exactly


class InToolChoice(msgspec.Struct):
    type: str
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class InMetadata(msgspec.Struct):
    user_id: str | None = None


class InThinking(msgspec.Struct):
    type: str
    budget_tokens: int | None = None  # ``enabled``'s
    display: str | None = None  # "omitted": thinking blocks come back empty but signed (reply.py reads it)


class InFormat(msgspec.Struct):
    type: str
    schema: dict[str, Any] | None = None


class InOutputConfig(msgspec.Struct):
    format: InFormat | None = None


class InRequest(msgspec.Struct):
    """The fields of a Messages body tiergate reads; the rest stays in ``native`` for a passthrough."""

    model: str
    messages: list[InMessage]
    max_tokens: int | None = None
    system: str | list[InBlock] | None = None
    tools: list[InTool] | None = None
    tool_choice: InToolChoice | None = None
    stop_sequences: list[str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    metadata: InMetadata | None = None
    stream: bool = False
    thinking: InThinking | None = None
    output_config: InOutputConfig | None = None
    #: The structured-outputs beta's spelling of ``output_config.format``, which the API still takes.
    output_format: InFormat | None = None
    #: The MCP connector's servers, which Anthropic calls on the model's behalf: read only to route to it.
    mcp_servers: list[Any] | None = None


def check(req: InRequest, *, counting: bool, interleaved: bool = False) -> None:
    """What the Messages API refuses before generating, refused here the same way. ``interleaved``: the
    request is under the interleaved-thinking beta, where a thinking budget may pass ``max_tokens``."""
    if req.max_tokens is None and not counting:
        raise RequestError("max_tokens: Field required", param="max_tokens")
    if req.max_tokens is not None and req.max_tokens < 1:
        raise RequestError(f"max_tokens: must be at least 1, got {req.max_tokens}", param="max_tokens")
    for i, turn in enumerate(req.messages):
        if turn.role not in ("user", "assistant", "system"):
            param = f"messages[{i}].role"
            raise RequestError(f"{param}: expected 'user', 'assistant' or 'system', got '{turn.role}'", param=param)
    _check_text(req.system, "system")
    _check_empty(req.messages)
    if not any(m.role == "user" for m in req.messages):
        raise RequestError("messages: a conversation needs at least one user turn", param="messages")
    for i, stop in enumerate(req.stop_sequences or []):
        if is_blank(stop):
            param = f"stop_sequences[{i}]"
            raise RequestError(f"{param}: a stop sequence must contain non-whitespace characters", param=param)
    _check_tools(req)
    _check_tool_inputs(req.messages)
    _check_sampling(req)
    _check_thinking(req.thinking, None if interleaved else req.max_tokens)


def _check_sampling(req: InRequest) -> None:
    """``temperature`` and ``top_p`` from 0 to 1, ``top_k`` from 0, as the API takes them: out of range, a local
    tier was sent them as they came (Ollama samples with a temperature of 5) and Claude refused them."""
    for name, value in (("temperature", req.temperature), ("top_p", req.top_p)):
        if value is not None and not 0 <= value <= 1:
            raise RequestError(f"{name}: range: 0..1", param=name)
    if req.top_k is not None and req.top_k < 0:
        raise RequestError("top_k: Input should be greater than or equal to 0", param="top_k")


def _check_tool_inputs(turns: list[InMessage]) -> None:
    """A ``tool_use`` block's ``input`` is the call's arguments, an object: another value (a string) was
    wrapped into one for a local tier, and refused by Claude."""
    for i, turn in enumerate(turns):
        for j, block in enumerate(turn.content if isinstance(turn.content, list) else ()):
            if block.type == "tool_use" and not isinstance(block.input, dict):
                what = "Field required" if block.input is None else "Input should be a valid dictionary"
                param = f"messages[{i}].content[{j}].input"
                raise RequestError(f"messages.{i}.content.{j}.tool_use.input: {what}", param=param)


def _check_tools(req: InRequest) -> None:
    """A function tool needs a name and an ``input_schema``; a ``tool_choice`` of ``auto`` or ``any`` needs
    tools (one of ``tool`` names its tool, checked where it is read; ``none`` is taken)."""
    for i, tool in enumerate(req.tools or []):
        if custom(tool) and not tool.name:
            raise RequestError(f"tools[{i}].name: a tool needs a name", param=f"tools[{i}].name")
        if custom(tool) and tool.input_schema is None:
            raise RequestError(f"tools[{i}].input_schema: Field required", param=f"tools[{i}].input_schema")
    if req.tool_choice is not None and req.tool_choice.type in ("auto", "any") and not req.tools:
        message = "tool_choice may only be specified while providing tools"
        raise RequestError(f"tool_choice: {message}", param="tool_choice")


def _check_thinking(thinking: InThinking | None, max_tokens: int | None) -> None:
    """Thinking ``enabled`` needs a ``budget_tokens`` of at least 1024, below ``max_tokens`` (None: nothing to
    compare it with, as in ``count_tokens`` or under the interleaved-thinking beta, where the budget spans
    the turn's tool calls and may pass ``max_tokens``). The client's budget is its own: tiergate
    cuts only the budgets it chooses itself (a ``reasoning_effort`` sent to Claude)."""
    if thinking is None or thinking.type != "enabled":
        return
    budget = thinking.budget_tokens
    if budget is None:
        raise RequestError("thinking.enabled.budget_tokens: Field required", param="thinking.budget_tokens")
    if budget < MIN_THINKING_BUDGET:
        raise RequestError(
            f"thinking.enabled.budget_tokens: Input should be greater than or equal to {MIN_THINKING_BUDGET}",
            param="thinking.budget_tokens",
        )
    if max_tokens is not None and budget >= max_tokens:
        raise RequestError("`max_tokens` must be greater than `thinking.budget_tokens`.", param="max_tokens")


def _check_empty(turns: list[InMessage]) -> None:
    """Empty turns, empty text blocks and turns of whitespace alone, refused as the API refuses them: a
    translated request would otherwise lose the turn (an empty user turn left Ollama with no message at
    all), or be answered on a local tier and refused once the conversation reaches Claude. A final
    assistant turn (a prefill) may be empty, but its text may not end in whitespace."""
    last = len(turns) - 1
    for i, turn in enumerate(turns):
        if turn.role == "system":
            continue
        prefill = turn.role == "assistant" and i == last
        if not turn.content and not prefill:
            raise RequestError(
                f"messages.{i}: all messages must have non-empty content except for the optional final"
                " assistant message",
                param=f"messages[{i}].content",
            )
        _check_text(turn.content, f"messages[{i}].content")
        if prefill and _ends_in_whitespace(turn.content):
            param = f"messages[{i}].content"
            raise RequestError(f"{param}: final assistant content cannot end with trailing whitespace", param=param)


def _check_text(content: str | list[InBlock] | None, where: str) -> None:
    """A text block must hold text, and content (a turn's, ``system``) of nothing but whitespace text is
    refused; whitespace beside other content is not (the API takes ``[text "hi", text " "]``)."""
    if isinstance(content, str):
        if content and not content.strip():
            raise RequestError(f"{where}: text content blocks must contain non-whitespace text", param=where)
        return
    for j, block in enumerate(content or ()):
        if block.type == "text" and not block.text:
            param = f"{where}[{j}].text"
            raise RequestError(f"{param}: text content blocks must be non-empty", param=param)
    if content and all(block.type == "text" and not (block.text or "").strip() for block in content):
        raise RequestError(f"{where}: text content blocks must contain non-whitespace text", param=where)


def _ends_in_whitespace(content: str | list[InBlock]) -> bool:
    """Whether a prefill's text ends in whitespace: the API refuses it (the model would continue after it)."""
    if isinstance(content, list):
        content = (content[-1].text or "") if content and content[-1].type == "text" else ""
    return content != content.rstrip()


def custom(tool: InTool) -> bool:
    """A function tool of the client's own; the typed ones are Anthropic's (:mod:`.tools`)."""
    return tool.type in (None, "custom")
