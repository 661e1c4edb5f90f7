"""Claude's signed thinking, carried by a Responses client in a reasoning item's ``encrypted_content``.

With thinking on, Anthropic wants the thinking of a tool loop's assistant turn back on every step of the
loop, unchanged and with its signature. Codex keeps no state for tiergate, but it does keep each
reasoning item's ``encrypted_content`` when it asks for it (``store: false``, ``include:
["reasoning.encrypted_content"]``) and sends the item back before the function calls it came with. So
when the client asks, tiergate writes Claude's thinking blocks there, and reads them back onto the
assistant message (``Message.thinking``) that the Anthropic backend turns into the turn's thinking:

    tiergate.thinking.v1:<base64url of the JSON list of blocks>

Each block is ``{"thinking": ..., "signature": ...}``, or ``{"data": ...}`` for a ``redacted_thinking``
one. Nothing in it is secret (the thinking, whose text the summary already shows, and Anthropic's
signatures), and nothing is encrypted: the field's name is the API's. Only Anthropic can verify the
signatures, so altered thinking is refused there, as it would be from any client. Content that does
not read back as this (another provider's, cut or altered) carries no thinking: that step goes without,
as if the item were not there.

    content = seal([Thinking(thinking="Plan.", signature="EqQB...")])
    unseal(content)      # [Thinking(thinking="Plan.", signature="EqQB...")]
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

import msgspec

from tiergate.protocols.responses.common import DIALECT, encode_json
from tiergate.wire import ChatRequest, Thinking

#: Starts every ``encrypted_content`` tiergate writes; the version names the encoding after it.
PREFIX = "tiergate.thinking.v1:"
#: What a Responses client puts in ``include`` to be given ``encrypted_content``.
INCLUDE = "reasoning.encrypted_content"

_decode_blocks = msgspec.json.Decoder(list[Thinking]).decode


def wants_sealed(request: ChatRequest) -> bool:
    """Whether the client asked for reasoning items' ``encrypted_content`` (``include``)."""
    native = request.native
    include = native.body.get("include") if native is not None and native.dialect == DIALECT else None
    return isinstance(include, list) and INCLUDE in include


def wants_summary(request: ChatRequest) -> bool:
    """Whether the reasoning's text is shown as its item's summary: a Responses client asks for one with
    ``reasoning.summary`` (``auto``, ``concise`` or ``detailed``), and without it OpenAI's reasoning items
    carry an empty summary. Requests of another dialect written out as a Response show it."""
    native = request.native
    if native is None or native.dialect != DIALECT:
        return True
    reasoning = native.body.get("reasoning")
    return isinstance(reasoning, dict) and isinstance(reasoning.get("summary"), str) and bool(reasoning["summary"])


def seal(blocks: Sequence[Thinking]) -> str:
    """The ``encrypted_content`` that carries ``blocks``."""
    return PREFIX + base64.urlsafe_b64encode(encode_json(list(blocks))).decode()


def unseal(content: Any) -> list[Thinking] | None:
    """The thinking blocks :func:`seal` wrote into ``content``, or None for anything else: none at all,
    another provider's content, or content that does not decode to signed blocks."""
    if not isinstance(content, str) or not content.startswith(PREFIX):
        return None
    try:
        blocks = _decode_blocks(base64.urlsafe_b64decode(content[len(PREFIX) :].encode()))
    except (binascii.Error, ValueError, msgspec.DecodeError):  # ValueError: non-ASCII in the base64
        return None
    if not blocks or not all(_signed(block) for block in blocks):
        return None
    return blocks


def _signed(block: Thinking) -> bool:
    """A thinking block with its signature, or a redacted one with its data (never both)."""
    if block.data is not None:
        return bool(block.data) and not block.thinking and not block.signature
    return bool(block.signature)
