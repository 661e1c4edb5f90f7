"""The OpenAI Responses API (``POST /v1/responses``) as an ingress dialect, both ways, with no I/O.

Codex speaks only this dialect. tiergate serves it **statelessly**: the client sends the whole
conversation every turn (Codex does: ``store: false``, never ``previous_response_id``). So every field
that points at server-side state (``previous_response_id``, ``conversation``, ``prompt``,
``item_reference`` items) is a 400 naming that field. ``store: true`` is accepted but nothing is stored,
and the answer says ``store: false``.

The request becomes a chat request (:mod:`tiergate.wire`) that any backend can serve:

- ``instructions`` is a leading system message; ``developer`` items stay developer messages.
- Consecutive assistant items (a message, function calls) merge into one assistant message with
  ``tool_calls``, as the chat format expects. Text after a call in the same run moves before it.
- Tools that only OpenAI can run (``web_search``, ``file_search``, ``tool_search``, ``mcp``, ...) are
  dropped, and named (``native.unsent``) for ``x-tiergate-dropped-params``; the Response's ``tools`` still
  echoes the request's, as OpenAI's does. ``namespace`` tools are flattened into their functions under their
  bare names. A ``custom`` (freeform) tool, such as Codex's ``apply_patch``, becomes a function taking
  ``{"input": <text>}``. An ``additional_tools`` input item declares tools as the top-level ``tools`` does
  (Codex puts them there for a model name in its own catalogue).
- Fields the decoder does not read (:data:`~.request.FIELDS`), such as a local server's ``min_p``, are the
  request's ``extra``, taken by each backend as a chat body's are (:mod:`tiergate.protocols.extras`).
- ``reasoning`` items are dropped: their ``encrypted_content`` can be read only by the model that wrote it.
  The exception is tiergate's own (:mod:`.reasoning`): asked for ``reasoning.encrypted_content``, tiergate
  writes Claude's signed thinking there, and reads it back onto the assistant message it came with, so a
  tool loop on a Claude tier keeps thinking on every step.

The answer goes back in the client's own terms: a call to a namespaced tool carries its ``namespace``,
and a call to a custom tool is a ``custom_tool_call`` whose ``input`` is the text the model put in
``input``. Both are looked up in the client's ``tools``, kept on the request as ``native.body``.

    request = decode(body)
    payload = whole(completion, id="resp_1", created=1700000000, model="qwen2.5-coder:7b", request=request)
"""

from tiergate.protocols.responses.common import CUSTOM_INPUT_SCHEMA, DIALECT
from tiergate.protocols.responses.reply import error_body, failure_code, item_id, whole
from tiergate.protocols.responses.request import decode
from tiergate.protocols.responses.stream import StreamWriter

__all__ = ["CUSTOM_INPUT_SCHEMA", "DIALECT", "StreamWriter", "decode", "error_body", "failure_code", "item_id", "whole"]
