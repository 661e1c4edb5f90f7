"""The ids an OpenAI-compatible server's tool calls get on their way to the client: unique in the conversation.

Servers name calls their own way, and not all of them uniquely. TGI numbers an answer's calls ``"0"``,
``"1"``; some vLLM tool parsers write ``functions.get_weather:0``, the same in every turn; a test server
(or a proxy) may answer ``call_fake0`` each time. Handed on as they came, the second turn's call has the id
of the first turn's, which the client already holds: Claude Code then reads the new call as the old one
(its result already given), shows it as interrupted, and the session loops. So a call keeps the server's
id only when that id is long enough to be random and is not one the request's conversation already holds
(an assistant turn's call, a tool result's ``tool_call_id``: what the client sent back) nor one an earlier
call of the same answer got; any other gets ``call_<24 hex digits>``.

    ids = CallIds(conversation_ids(request))   # once per upstream call
    ids.of("call_fake0")                       # "call_fake0", or a new id if the conversation holds it
"""

from __future__ import annotations

import secrets
from collections.abc import Collection

from tiergate.wire import ChatRequest

#: The shortest server tool-call id kept: ids this long are random (vLLM's ``chatcmpl-tool-<hex>``, OpenAI's
#: ``call_<24>``, llama.cpp's 32 characters, Ollama's ``call_<8>``, the 9 a Mistral chat template requires).
UNIQUE_ID = 8


def conversation_ids(request: ChatRequest) -> frozenset[str]:
    """Every tool-call id the request's messages hold: its assistant turns' calls, and the ids its tool
    results answer (a client may send a result whose call it dropped from the history)."""
    ids: set[str] = set()
    for message in request.messages:
        ids.update(call.id for call in message.tool_calls or ())
        if message.tool_call_id:
            ids.add(message.tool_call_id)
    return frozenset(ids)


class CallIds:
    """The ids of one answer's calls; ``taken``: the ids the conversation holds (:func:`conversation_ids`)."""

    def __init__(self, taken: Collection[str] = frozenset()) -> None:
        self._taken = taken
        self._given: set[str] = set()

    def of(self, server_id: str | None) -> str:
        """The id the next call gets: the server's when it is long enough to be unique and neither the
        conversation nor this answer has it yet, else a new one."""
        given = server_id
        if given is None or len(given) < UNIQUE_ID or given in self._taken or given in self._given:
            given = new_call_id()
        self._given.add(given)
        return given


def new_call_id() -> str:
    return f"call_{secrets.token_hex(12)}"
