"""The Anthropic Messages wire format (``POST /v1/messages``), both directions, without I/O.

One module per concern: :mod:`.common` (constants, error types, signatures), :mod:`.request` and
:mod:`.answer` (egress), :mod:`.ingress`, :mod:`.tools` (Anthropic's own tool types) and :mod:`.reply`
(ingress).

Egress, tiergate → an Anthropic upstream: :func:`to_messages_body` turns the internal
:class:`~tiergate.wire.ChatRequest` into a Messages body (:func:`left_out` names the sampling parameters it
could not carry), or :func:`native_body` passes a Messages client's own body on, only the model changed;
:func:`whole_answer` / :func:`from_message` and :class:`StreamTranslator` read the answer back into a
``Completion`` or stream events, and :func:`status_error` an error status's envelope.

Ingress, a Messages client → tiergate: :func:`decode` reads the client's body into the internal form
(keeping the body itself as ``native``); :func:`whole`, :class:`StreamWriter` and :func:`error_body` write
the answer, the stream and errors in Anthropic's shapes; :func:`count_tokens` answers
``/v1/messages/count_tokens``.

Thinking signatures: a thinking block tiergate writes (a local model's reasoning) is signed
``SIGNATURE_PREFIX + hash``. Anthropic cannot verify such a signature and refuses it, so
:func:`native_body` removes those blocks before a body goes to Anthropic; blocks Anthropic signed go back
untouched.

    request = decode(body, headers)                       # ingress
    body = to_messages_body(request, "claude-x", default_max_tokens=4096)   # egress
"""

from tiergate.protocols.anthropic.answer import (
    AnthropicMessage,
    StreamTranslator,
    UpstreamEvent,
    UsageTotals,
    error_in_answer,
    from_message,
    reported_usage,
    status_error,
    whole_answer,
)
from tiergate.protocols.anthropic.common import (
    ANSWER_DESCRIPTION,
    ANSWER_ROOM,
    ANSWER_TOOL,
    DATA_URL,
    DIALECT,
    ERROR_STATUS,
    MESSAGE_STOP,
    PING,
    PROTOCOL_HEADERS,
    SIGNATURE_PREFIX,
    THINKING_BUDGETS,
    Block,
    error_type,
    finish_reason,
    signature,
    sse,
)
from tiergate.protocols.anthropic.ingress import (
    count_tokens,
    decode,
)
from tiergate.protocols.anthropic.reply import (
    StreamWriter,
    error_body,
    whole,
)
from tiergate.protocols.anthropic.request import (
    BlankLastMessage,
    answer_tool_of,
    left_out,
    native_body,
    native_headers,
    to_messages_body,
)

__all__ = [
    "ANSWER_DESCRIPTION",
    "ANSWER_ROOM",
    "ANSWER_TOOL",
    "DATA_URL",
    "DIALECT",
    "ERROR_STATUS",
    "MESSAGE_STOP",
    "PING",
    "PROTOCOL_HEADERS",
    "SIGNATURE_PREFIX",
    "THINKING_BUDGETS",
    "AnthropicMessage",
    "BlankLastMessage",
    "Block",
    "StreamTranslator",
    "StreamWriter",
    "UpstreamEvent",
    "UsageTotals",
    "answer_tool_of",
    "count_tokens",
    "decode",
    "error_body",
    "error_in_answer",
    "error_type",
    "finish_reason",
    "from_message",
    "left_out",
    "native_body",
    "native_headers",
    "reported_usage",
    "signature",
    "sse",
    "status_error",
    "to_messages_body",
    "whole",
    "whole_answer",
]
