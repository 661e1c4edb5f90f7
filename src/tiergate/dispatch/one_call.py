"""One tool call at most where the client asked for no parallel calls, whatever the upstream did.

``parallel_tool_calls: false`` (chat, Responses) and ``disable_parallel_tool_use: true`` (Messages) go to
every upstream, but not every one keeps them: Ollama has no such option, and some OpenAI-compatible
servers ignore it. An agent that asked for one call at a time may run only the first of several, or
break on the rest; so dispatch keeps the answer's first call and drops the others, for every backend and
every ingress. Claude keeps the setting itself, and a native answer (its own body or frames) is left as it
came.

    completion = first_call_only(completion)          # a whole answer
    events = first_call_stream(backend.stream(...))   # a stream: the other calls' events dropped
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

import msgspec

from tiergate.wire import ChatRequest, Completion, StreamEvent, ToolCallArgs, ToolCallStart


def one_call(request: ChatRequest) -> bool:
    """Whether the request allows at most one tool call."""
    return request.parallel_tool_calls is False and bool(request.tools)


def first_call_only(completion: Completion) -> Completion:
    if len(completion.tool_calls) < 2:
        return completion
    return msgspec.structs.replace(completion, tool_calls=completion.tool_calls[:1])


async def first_call_stream(events: AsyncIterator[StreamEvent]) -> AsyncGenerator[StreamEvent, None]:
    """``events`` without the start and arguments of any tool call after the first one opened. Each
    dropped event becomes an empty piece of the kept call's arguments: the writers send their keep-alive
    on a piece when the client has heard nothing for a while, and a long dropped call must not leave the
    client in silence (a proxy's idle timeout would close the stream)."""
    kept: int | None = None
    try:
        async for event in events:
            if isinstance(event, ToolCallStart):
                if kept is None:
                    kept = event.index
                elif event.index != kept:
                    yield ToolCallArgs(kept, "")
                    continue
            elif isinstance(event, ToolCallArgs) and kept is not None and event.index != kept:
                yield ToolCallArgs(kept, "")
                continue
            yield event
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
