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
