"""What the real Messages API refuses, checked by the fake Anthropic upstream before it answers.

The fields and shapes are those of the official SDK's ``MessageCreateParams`` (anthropic 2.16, beta
included) and of what Claude Code 2.1.332 sends (``safeguards``, a turn's own ``output_config``). The API
refuses any other field with a 400 naming it (``"foo: Extra inputs are not permitted"``), and refuses these
combinations (its documentation on extended thinking, and the errors its users report):

- ``thinking.budget_tokens`` below 1024, or not below ``max_tokens``;
- thinking with a forced tool (``tool_choice`` ``any`` or ``tool``): "Thinking may not be enabled when
  tool_choice forces tool use.";
- thinking with a ``temperature`` other than 1;
- ``temperature`` and ``top_p`` together (recent models);
- ``context_management`` without the ``context-management-2025-06-27`` beta;
- a ``thinking`` block in an assistant turn whose signature the API did not write (here: anything but
  ``SIGNATURE``, the one this fake signs with): "Invalid `signature` in `thinking` block".
- a tool call id outside ``^[a-zA-Z0-9_-]+$`` in ``tool_use.id`` or ``tool_result.tool_use_id``, or a
  ``tool_use.id`` an earlier block of the conversation has: "`tool_use` ids must be unique";
- thinking ``enabled`` (not ``adaptive``) while the last assistant turn calls a tool and does not begin
  with a thinking block;
- an ``output_config`` with an unknown ``effort`` or a ``format`` that is not ``{type: json_schema, schema}``;
- an empty turn (bar a final assistant one), an empty text block, a turn or ``system`` of nothing but
  whitespace text, and a final assistant turn whose text ends in whitespace (:func:`_empty_text`).

    problem = refusal(body, headers)      # None, or the 400's message
"""

from __future__ import annotations

import re
from typing import Any

TOP_LEVEL = frozenset(
    {
        "model",
        "max_tokens",
        "messages",
        "billing_policy",
        "cache_control",
        "compaction",
        "container",
        "context_management",
        "diagnostics",
        "fallback_credit_token",
        "fallbacks",
        "inference_geo",
        "mcp_servers",
        "metadata",
        "output_config",
        "output_format",
        "safeguards",
        "service_tier",
        "speed",
        "stop_sequences",
        "stream",
        "system",
        "temperature",
        "thinking",
        "thread",
        "tool_choice",
        "tools",
        "top_k",
        "top_p",
        "user_profile_id",
        "workspace_id",
    }
)
TURN = frozenset({"role", "content", "output_config"})
THINKING_TYPES = frozenset({"enabled", "disabled", "adaptive", "between_tools"})
EFFORTS = frozenset({"low", "medium", "high", "xhigh", "max"})
EDITS = frozenset({"clear_tool_uses_20250919", "clear_thinking_20251015", "compact_20260112"})
CONTEXT_MANAGEMENT_BETA = "context-management-2025-06-27"
MIN_BUDGET = 1024
#: The signature this fake gives its thinking blocks, and the only one it takes back.
SIGNATURE = "EqQBCgIYAhIM" + "fake" * 8


def refusal(body: Any, headers: dict[str, str]) -> str | None:
    """The message of the 400 the real API would answer ``body`` with, or None when it would take it."""
    if not isinstance(body, dict):
        return "body: Input should be an object"
    for key in body:
        if key not in TOP_LEVEL:
            return f"{key}: Extra inputs are not permitted"
    for key in ("model", "max_tokens", "messages"):
        if key not in body:
            return f"{key}: Field required"
    for i, turn in enumerate(body["messages"]):
        for key in turn:
            if key not in TURN:
                return f"messages.{i}.{key}: Extra inputs are not permitted"
    return (
        _empty_text(body)
        or _signatures(body["messages"])
        or _tool_ids(body["messages"])
        or _thinking_loop(body)
        or _thinking(body, headers)
        or _sampling(body)
        or _output_config(body.get("output_config"), "output_config")
        or _context_management(body, headers)
    )


def _empty_text(body: dict[str, Any]) -> str | None:
    """The API's words for empty and whitespace-only content; whitespace beside other content is taken
    (``[text "hi", text " "]``), and so is an empty final assistant turn (a prefill of nothing)."""
    if (problem := _blank(body.get("system"), "system")) is not None:
        return problem
    turns = body["messages"]
    empty = "all messages must have non-empty content except for the optional final assistant message"
    for i, turn in enumerate(turns):
        content = turn.get("content")
        final = turn.get("role") == "assistant" and i == len(turns) - 1
        if not content and not final:
            return f"messages.{i}: {empty}"
        if (problem := _blank(content, f"messages.{i}.content")) is not None:
            return problem
        last = content[-1] if isinstance(content, list) and content else {"type": "text", "text": content or ""}
        if final and last.get("type") == "text" and last["text"] != last["text"].rstrip():
            return "messages: final assistant content cannot end with trailing whitespace"
    return None


def _blank(content: Any, where: str) -> str | None:
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) and content else content or []
    for j, block in enumerate(blocks):
        if block.get("type") == "text" and not block.get("text"):
            return f"{where}.{j}.text: text content blocks must be non-empty"
    if blocks and all(block.get("type") == "text" and not block["text"].strip() for block in blocks):
        return f"{where}: text content blocks must contain non-whitespace text"
    return None


def _signatures(messages: list[Any]) -> str | None:
    for i, turn in enumerate(messages):
        content = turn.get("content")
        if turn.get("role") != "assistant" or not isinstance(content, list):
            continue
        for j, block in enumerate(content):
            if isinstance(block, dict) and block.get("type") == "thinking" and block.get("signature") != SIGNATURE:
                return f"messages.{i}.content.{j}: Invalid `signature` in `thinking` block"
    return None


_TOOL_ID = re.compile(r"[a-zA-Z0-9_-]+")


def _tool_ids(messages: list[Any]) -> str | None:
    used: set[str] = set()
    for i, turn in enumerate(messages):
        content = turn.get("content")
        for j, block in enumerate(content if isinstance(content, list) else []):
            key = {"tool_use": "id", "tool_result": "tool_use_id"}.get(block.get("type"), "")
            if key and not _TOOL_ID.fullmatch(str(block.get(key))):
                kind = block["type"]
                return f"messages.{i}.content.{j}.{kind}.{key}: String should match pattern '^[a-zA-Z0-9_-]+$'"
            if key == "id":
                if block[key] in used:
                    return f"messages.{i}.content.{j}: `tool_use` ids must be unique"
                used.add(block[key])
    return None


def _thinking_loop(body: dict[str, Any]) -> str | None:
    assistant = [(i, t) for i, t in enumerate(body["messages"]) if t.get("role") == "assistant"]
    thinking = body.get("thinking")
    if not isinstance(thinking, dict) or thinking.get("type") != "enabled" or not assistant:
        return None
    i, last = assistant[-1]
    content = last.get("content")
    if not isinstance(content, list) or not any(b.get("type") == "tool_use" for b in content):
        return None
    if content[0].get("type") in ("thinking", "redacted_thinking"):
        return None
    found = content[0].get("type")
    return (
        f"messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{found}`. When"
        " `thinking` is enabled, a final `assistant` message must start with a thinking block"
    )


def unthinking_loop(body: dict[str, Any]) -> str | None:
    """For a fake that stands for a Claude whose tool loops must think throughout (``FakeAnthropic(
    loop_thinking=True)``): a step of a tool loop (the last turn opens with a ``tool_result``) without
    thinking on, or whose last assistant turn does not begin with a signed thinking block."""
    turns = body["messages"]
    content = turns[-1].get("content") if turns else None
    if not isinstance(content, list) or not content or content[0].get("type") != "tool_result":
        return None
    if not thinking_on(body):
        return "this fake wants thinking on for every step of a tool loop"
    assistant = next((t for t in reversed(turns) if t.get("role") == "assistant"), {})
    first = (assistant.get("content") or [{}])[0]
    if first.get("type") != "thinking" or first.get("signature") != SIGNATURE:
        return "this fake wants the loop's assistant turn to begin with its signed thinking block"
    return None


def thinking_on(body: dict[str, Any]) -> bool:
    thinking = body.get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")


def _thinking(body: dict[str, Any], headers: dict[str, str]) -> str | None:
    """Under the interleaved-thinking beta the budget spans a turn's tool calls, and may pass ``max_tokens``."""
    thinking = body.get("thinking")
    if thinking is None:
        return None
    if not isinstance(thinking, dict) or thinking.get("type") not in THINKING_TYPES:
        return f"thinking.type: Input should be one of {', '.join(sorted(THINKING_TYPES))}"
    if thinking["type"] == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int):
            return "thinking.enabled.budget_tokens: Field required"
        if budget < MIN_BUDGET:
            return f"thinking.enabled.budget_tokens: Input should be greater than or equal to {MIN_BUDGET}"
        if budget >= body["max_tokens"] and "interleaved-thinking" not in headers.get("anthropic-beta", ""):
            return "`max_tokens` must be greater than `thinking.budget_tokens`"
    if not thinking_on(body):
        return None
    if (body.get("tool_choice") or {}).get("type") in ("any", "tool"):
        return "Thinking may not be enabled when tool_choice forces tool use."
    if body.get("temperature", 1) != 1:
        return "`temperature` may only be set to 1 when thinking is enabled."
    return None


def _sampling(body: dict[str, Any]) -> str | None:
    if "temperature" in body and "top_p" in body:
        return "`temperature` and `top_p` cannot both be specified for this model. Please use only one."
    return None


def _output_config(config: Any, where: str) -> str | None:
    if config is None:
        return None
    if not isinstance(config, dict):
        return f"{where}: Input should be an object"
    for key in config:
        if key not in ("effort", "format"):
            return f"{where}.{key}: Extra inputs are not permitted"
    if "effort" in config and config["effort"] not in EFFORTS:
        return f"{where}.effort: Input should be one of {', '.join(sorted(EFFORTS))}"
    fmt = config.get("format")
    if fmt is not None and (
        not isinstance(fmt, dict) or fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), dict)
    ):
        return f"{where}.format: expected {{'type': 'json_schema', 'schema': {{...}}}}"
    return None


def _context_management(body: dict[str, Any], headers: dict[str, str]) -> str | None:
    config = body.get("context_management")
    if config is None:
        return None
    betas = {b.strip() for b in headers.get("anthropic-beta", "").split(",")}
    if CONTEXT_MANAGEMENT_BETA not in betas:
        return f"context_management: requires the anthropic-beta header {CONTEXT_MANAGEMENT_BETA}"
    for i, edit in enumerate(config.get("edits") or []):
        if not isinstance(edit, dict) or edit.get("type") not in EDITS:
            return f"context_management.edits.{i}.type: Input should be one of {', '.join(sorted(EDITS))}"
    return None
