"""What the Responses request and answer sides share."""

from __future__ import annotations

from typing import Any

import msgspec

DIALECT = "responses"

#: The function schema a freeform (``custom``) tool gets on chat backends.
CUSTOM_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"input": {"type": "string"}},
    "required": ["input"],
}

encode_json = msgspec.json.Encoder().encode
STATELESS = "tiergate is stateless: send the whole conversation in `input` (with `store: false`)"
ROLES = ("user", "assistant", "system", "developer")


def tool_lists(body: dict[str, Any]) -> list[tuple[str, Any]]:
    """Where the request declares tools, each as (its field's name, the list): the top-level ``tools``, then
    the ``tools`` of each ``additional_tools`` input item. Codex declares its tools there, and none at the
    top, when its model is a name in its own catalogue."""
    found: list[tuple[str, Any]] = [("tools", body["tools"])] if body.get("tools") is not None else []
    items = body.get("input")
    for i, item in enumerate(items if isinstance(items, list) else ()):
        if isinstance(item, dict) and item.get("type") == "additional_tools" and item.get("tools") is not None:
            found.append((f"input[{i}].tools", item["tools"]))
    return found
