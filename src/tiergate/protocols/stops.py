"""Stop sequences an upstream refuses, emulated on tiergate's side.

Anthropic's API rejects stop sequences made only of whitespace (``"\\n\\n"``, ``" "``) with a 400, while
OpenAI clients send them routinely (Continue's single-line autocomplete stops at ``"\\n"``). Such
sequences are not sent; tiergate cuts the answer at the first one instead, ends it with
``finish_reason: "stop"`` exactly as the upstream would have, and stops reading the stream there. A stream cut
so reports the prompt the upstream had counted, and an estimate of its output.

    sent, emulated = split_stops(["\\n\\n", "END"], refuses=is_blank)     # (["END"], ["\\n\\n"])
    text = cut_at_stop("a\\n\\nb", emulated)                             # "a"
    scanner = StopScanner(emulated); scanner.feed("a\\n"); scanner.feed("\\nb")  # ("a", True)
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence

import msgspec

from tiergate.wire import Completion, Finish, StreamEvent, TextDelta, Usage, UsageReport

#: Most distinct stop sequences tiergate emulates, and their longest: each text piece of the answer is searched
#: for every one (and up to the longest, less one, is held back), so 80,000 of them cost 12 s on a 2,000-piece
#: answer. Clients send a few short ones (``"\n"``, ``"\n\n"``, ``"\r\n\r\n"``; OpenAI's API takes four).
MAX_EMULATED = 16
MAX_EMULATED_CHARS = 64


def is_blank(stop: str) -> bool:
    return not stop.strip()


def unemulable(stops: Sequence[str]) -> str | None:
    """Why these stop sequences (the ones to emulate) are more than tiergate emulates, or None."""
    distinct = set(stops)
    if len(distinct) > MAX_EMULATED:
        return (
            f"{len(distinct)} whitespace-only stop sequences, which the Anthropic API refuses: tiergate emulates "
            f"at most {MAX_EMULATED}"
        )
    longest = max(map(len, distinct), default=0)
    if longest > MAX_EMULATED_CHARS:
        return (
            f"a whitespace-only stop sequence of {longest} characters, which the Anthropic API refuses: tiergate "
            f"emulates them up to {MAX_EMULATED_CHARS}"
        )
    return None


def split_stops(stops: Sequence[str], refuses: Callable[[str], bool]) -> tuple[list[str], list[str]]:
    """(the stops to send upstream, the ones tiergate must emulate)."""
    sent = [s for s in stops if s and not refuses(s)]
    emulated = [s for s in stops if s and refuses(s)]
    return sent, emulated


def cut_at_stop(text: str, stops: Sequence[str]) -> str | None:
    """``text`` up to the earliest stop sequence, or None when it holds none."""
    found = [i for i in (text.find(s) for s in stops) if i >= 0]
    return text[: min(found)] if found else None


class StopScanner:
    """Finds emulated stop sequences across a stream's text pieces.

    ``feed`` returns the text that may be passed on now and whether a stop was reached. Up to
    ``longest - 1`` characters are held back, because a stop may begin at the end of one piece and
    end in the next; ``flush`` gives them back when the text ends without a stop (a tool call or the
    finish follows).
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = list(dict.fromkeys(s for s in stops if s))
        self._hold = max((len(s) for s in self._stops), default=1) - 1
        self._pending = ""

    def feed(self, text: str) -> tuple[str, bool]:
        buffered = self._pending + text
        cut = cut_at_stop(buffered, self._stops)
        if cut is not None:
            self._pending = ""
            return cut, True
        keep = min(self._hold, len(buffered))
        ready, self._pending = buffered[: len(buffered) - keep], buffered[len(buffered) - keep :]
        return ready, False

    def flush(self) -> str:
        pending, self._pending = self._pending, ""
        return pending


def cut_completion(completion: Completion, stops: Sequence[str]) -> Completion:
    """A whole answer cut at its first emulated stop (tool calls after it were never reached)."""
    if not stops or completion.content is None:
        return completion
    cut = cut_at_stop(completion.content, stops)
    if cut is None:
        return completion
    return msgspec.structs.replace(completion, content=cut, tool_calls=[], finish_reason="stop")


async def stop_emulated(
    events: AsyncIterator[StreamEvent], stops: Sequence[str], counted: Callable[[], Usage | None] = lambda: None
) -> AsyncIterator[StreamEvent]:
    """A stream cut at its first emulated stop: the text before it, then ``Finish("stop")`` and the usage: the
    upstream's report if one came, else what ``counted`` says it had counted by then (Claude's ``message_start``:
    the prompt, cache reads apart) as a partial report, which writers top up with the estimate of the output
    (:class:`~tiergate.wire.UsageReport`). The rest of the upstream's stream is not read (closing this closes
    it): the output it would count is the part tiergate cut. Without a stop every event keeps its place: text
    held back while a stop could still begin comes out before the next event that is not text (a tool call,
    the finish); only the usage report waits, to go last."""
    if not stops:
        async for event in events:
            yield event
        return
    scanner = StopScanner(stops)
    usage: UsageReport | None = None
    async with contextlib.aclosing(events):  # type: ignore[type-var]
        async for event in events:
            if isinstance(event, TextDelta):
                text, stopped = scanner.feed(event.text)
                if text:
                    yield TextDelta(text)
                if stopped:
                    yield Finish("stop")
                    if usage is None and (so_far := counted()) is not None:
                        usage = UsageReport(so_far, partial=True)
                    if usage is not None:
                        yield usage
                    return
                continue
            if isinstance(event, UsageReport):  # held: it goes last, after whichever finish comes
                usage = event
                continue
            if rest := scanner.flush():  # the text held back ends here: it goes before what follows it
                yield TextDelta(rest)
            yield event
    if usage is not None:
        yield usage
