"""What an OpenAI-compatible server's ``finish_reason`` means: one of tiergate's ends, or a failed generation.

Servers and the gateways before them name their ends their own way, in their own case: OpenAI's ``stop``, TGI's
``eos_token``, a Bedrock gateway's ``end_turn`` and ``tool_use``, a Gemini one's ``STOP`` and ``MAX_TOKENS``. The
names known are read from :data:`_KNOWN`, whatever their case. Any other is read by what it says
(:data:`_WORDS`): one that names a failure (``server_error``) is a failed generation, one that names a limit
(``max_length_reached``) a length cut, and the rest a clean end, which is what a server most often means by a
name of its own (``end_of_text``, ``done``). Each such reason is logged once per backend, with how it was read,
so an operator sees a server whose words tiergate guessed at.

    meaning("END_TURN")                       # "stop": a clean end (tool_calls when the answer holds calls)
    meaning("insufficient_system_resource")   # "failed": what came is a broken answer, never a whole one
    reading = read("bedrock", raw)            # meaning(raw), and a warning the first time raw is unknown
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Literal

from tiergate.wire import FinishReason

log = logging.getLogger("tiergate.backends")

#: One of tiergate's ends, or ``failed``: the generation failed and the answer is incomplete.
Reading = FinishReason | Literal["failed"]

#: The finish reasons tiergate knows, lower-cased, each read as the end it means.
_KNOWN: dict[str, Reading] = {
    # OpenAI's own, and the names servers and gateways give a clean end: Anthropic's (a Bedrock gateway's
    # ``end_turn``, ``stop_sequence``), TGI's ``eos_token``, Together's ``eos``, some gateways' ``end``.
    **dict.fromkeys(("stop", "end_turn", "end", "stop_sequence", "eos_token", "eos"), "stop"),
    # vLLM's repetition detection ended a model that was looping: the answer is all it will write (a degenerate
    # one), not cut short by a limit a client could raise, and asking again would loop and be billed again.
    "repetition": "stop",
    # A limit cut the answer: OpenAI's, Anthropic's ``max_tokens``, Gemini's ``MAX_TOKENS``, Responses'
    # ``max_output_tokens``, and Mistral's ``model_length`` (the model's context window ended the answer).
    **dict.fromkeys(("length", "max_tokens", "max_output_tokens", "model_length"), "length"),
    **dict.fromkeys(("tool_calls", "tool_use", "function_call"), "tool_calls"),
    "content_filter": "content_filter",
    # The generation failed: vLLM's ``error`` (the engine failed the request; Mistral's says the same), ``abort``
    # (vLLM and SGLang: the request was aborted, by the server or its scheduler), DeepSeek's
    # ``insufficient_system_resource`` (the request was interrupted for want of capacity).
    **dict.fromkeys(("error", "abort", "insufficient_system_resource"), "failed"),
}
#: The known names that say the generation failed.
FAILED = frozenset(name for name, reading in _KNOWN.items() if reading == "failed")
#: An unknown reason's words, in order: the first it contains says what it means; with none, it is a clean end.
#: A failure comes first, so a reason that names both (``context_length_error``) is no answer at all.
#: A limit's words, not a bare ``token``: ``stop_token`` and ``eos_token_id`` name a clean end. A filter's words
#: (Gemini's ``SAFETY``, ``RECITATION``, ``PROHIBITED_CONTENT``, ``SPII``; a ``refusal``) are a content filter's end.
_WORDS: tuple[tuple[tuple[str, ...], Reading], ...] = (
    (("error", "abort", "fail", "interrupt"), "failed"),
    (("length", "max_", "truncat", "context"), "length"),
    (("safety", "recitation", "refusal", "filter", "blocklist", "prohibited", "spii"), "content_filter"),
)
_SAID = {
    "stop": "a clean end",
    "length": "a length cut",
    "content_filter": "a content filter's end",
    "failed": "a failed generation",
}
#: How a reason is quoted in the log: a name of letters and underscores (as every server's reasons are), never a
#: long text an upstream could fill, nor one with digits or dashes, which an echoed key has (``sk-...``): the log
#: is written here, where no redactor is at hand.
_NAME = re.compile(r"[A-Za-z][A-Za-z_]{0,63}")


def meaning(raw: str) -> Reading:
    """The end ``raw`` says, known (:data:`_KNOWN`) or read by its words (:data:`_WORDS`)."""
    name = raw.strip().lower()
    if (known := _KNOWN.get(name)) is not None:
        return known
    return next((reading for words, reading in _WORDS if any(word in name for word in words)), "stop")


def read(backend: str, raw: str) -> Reading:
    """:func:`meaning`, and a warning the first time ``backend`` sends ``raw`` and it is not a known name."""
    reading = meaning(raw)
    if raw.strip().lower() not in _KNOWN:
        _notice(backend, f"'{raw}'" if _NAME.fullmatch(raw) else f"of {len(raw)} characters that is no name", reading)
    return reading


@functools.lru_cache(maxsize=256)
def _notice(backend: str, quoted: str, reading: Reading) -> None:
    """Logs once per backend and reason: cached, the call does nothing again while it is among the last 256 (each
    a name of 64 characters at most, or a length)."""
    log.warning(
        "backend '%s' ended an answer with a finish_reason %s, which tiergate does not know: read as %s",
        backend,
        quoted,
        _SAID.get(reading, reading),
    )
