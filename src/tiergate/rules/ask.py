"""The user's actual ask: the last thing a person wrote, without what coding clients inject around it.

Agent clients wrap the developer's words in their own material: Claude Code adds ``<system-reminder>``
blocks and an ``<env>`` block, Codex an ``<environment_context>``, Cline ``<environment_details>`` on
every turn and its tool results as user text (``[read_file for 'x'] Result:``), Cursor ``<user_info>``
and attached files, aider and Continue whole files pasted before the question. Routing on all of that
would judge the client, not the task, so the learned scorer and the keyword rules read ``ask_text``:

- the last user message that is not a tool result (a role ``tool`` message, or a user message that is
  one in text form, per ``routing.ask.tool_result_patterns``), so an agent loop is judged by the task it
  was given rather than by the last file it read; inside such a tool result, only the person's reply
  (Cline's ``<feedback>``, per ``routing.ask.ask_tags``) is an ask;
- with the blocks of ``routing.ask.drop_tags`` removed, and each attached file (a fenced block named
  after a path, longer than ``attached_file_chars``) replaced by ``[file <path>]``.

The markers live in routes.yaml (``routing.ask``); the defaults cover the clients above.

    f["ask_text"]    # "why does this deadlock under load?"
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import msgspec

from tiergate.config.base import PositiveInt, Strict
from tiergate.rules.features import Features, clean_text, feature, raw_texts, window

DEFAULT_TAGS = [
    "system-reminder",
    "env",
    "environment_context",
    "environment_details",
    "user_info",
    "attached_files",
    "file_contents",
    "current_file",
    "open_files",
    "recently_viewed_files",
    "linter_errors",
    "git_status",
]
DEFAULT_TOOL_RESULTS = [
    # Cline: [read_file for 'src/a.py'] Result: (its tools are snake_case; a person's "[build] Result:" is not)
    r"^\[[A-Za-z][\w.:-]*_[\w.:-]*(?: for [^\]]*)?\] Result:",
    r"^<tool_result\b",
]
DEFAULT_ASK_TAGS = ["feedback", "answer", "user_message"]  # Cline wraps the user's reply in a tool result
DEFAULT_FILE_DUMPS = [
    r"^I have \*added these files to the chat\*",  # aider
    r"^Here are summaries of some files present in my git repository",  # aider's repo map
]


class AskConfig(Strict, frozen=True):
    """What counts as the user's actual ask (`ask_text`): the last message a person wrote, without the
    blocks coding clients inject. The learned scorer and keyword rules read it."""

    drop_tags: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_TAGS))
    """Tags whose whole `<tag>...</tag>` block a client injects (reminders, environment, attached files);
    left out of the ask."""
    tool_result_patterns: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_TOOL_RESULTS))
    """Regular expressions: a user message whose text starts with a match is a tool result in text form,
    not an ask."""
    ask_tags: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_ASK_TAGS))
    """Tags whose content is the person's own words inside a tool result (Cline's `<feedback>`): the ask is
    that content. In a message a person wrote, these tags are text like any other."""
    file_dump_patterns: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_FILE_DUMPS))
    """Regular expressions: a user message whose text starts with a match is files pasted by the client."""
    attached_file_chars: PositiveInt = 800
    """A fenced code block named after a file path (```python src/app.py) and longer than this is an
    attached file: it is replaced by `[file <path>]`."""


_TICKS = "```"
_PATHISH = re.compile(r"[\w.-]*[/\\][\w./\\-]+|[\w-]+\.[A-Za-z]{1,6}\b")


def _blocks(names: list[str]) -> re.Pattern[str] | None:
    r"""``<name ...>body</name>`` for any of ``names`` (any case); group 1 the name, group 2 the body, up to
    the first closing tag of that name. The body is written ``[^<]*(?:<(?!/\1\s*>)[^<]*)*`` rather than
    ``.*?``: the same match, but it skips text without a ``<`` in one step instead of trying the closing
    tag after every character (a 5,700-character system reminder: about 45 µs, now about 4)."""
    if not names:
        return None
    alternatives = "|".join(re.escape(name) for name in names)
    return re.compile(rf"<({alternatives})\b[^>]*>([^<]*(?:<(?!/\1\s*>)[^<]*)*)</\1\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class AskReader:
    """``routing.ask`` compiled once per load."""

    tags: re.Pattern[str] | None
    asks: re.Pattern[str] | None
    tool_results: tuple[re.Pattern[str], ...]
    file_dumps: tuple[re.Pattern[str], ...]
    attached_file_chars: int

    @classmethod
    def compile(cls, cfg: AskConfig) -> AskReader:
        return cls(
            _blocks(cfg.drop_tags),
            _blocks(cfg.ask_tags),
            tuple(re.compile(p) for p in cfg.tool_result_patterns),
            tuple(re.compile(p) for p in cfg.file_dump_patterns),
            cfg.attached_file_chars,
        )

    def is_injected(self, text: str) -> bool:
        """A user message that is a tool result or a file dump, not something a person asked."""
        head = text.lstrip()[:400]
        return any(p.search(head) for p in (*self.tool_results, *self.file_dumps))

    def said(self, text: str) -> str | None:
        """The person's own words inside a message (a ``<feedback>`` block), if it holds any."""
        found = self.asks.findall(text) if self.asks is not None else []
        words = "\n".join(body.strip() for _, body in found).strip()
        return words or None

    def clean(self, text: str) -> str:
        if self.tags is not None:
            text = self.tags.sub("", text)
        return self._attached_files(text).strip()

    def _attached_files(self, text: str) -> str:
        """Each fenced block named after a file path and longer than ``attached_file_chars`` becomes
        ``[file <path>]``. A block: a fence, an info string without backticks to the end of its line, a
        body, then a line that starts with a fence (which it takes). A fence with no line break after it,
        or no closing fence, ends the scan. Scanned with ``str.find``: a lazy regex cost about 20 µs on
        a 1,600-character ask with one block, on every request."""
        start = text.find(_TICKS)
        parts: list[str] = []
        done = 0
        while start >= 0:
            line_end = text.find("\n", start + len(_TICKS))
            if line_end < 0:
                break
            if text.find("`", start + len(_TICKS), line_end) >= 0:  # not an info string: try the next tick
                start = text.find(_TICKS, start + 1)
                continue
            close = text.find("\n" + _TICKS, line_end + 1)
            if close < 0:
                break
            if close - line_end - 1 > self.attached_file_chars:
                info = text[start + len(_TICKS) : line_end]
                path = next((w for w in info.split() if _PATHISH.fullmatch(w)), None)
                if path is not None:
                    parts += [text[done:start], f"[file {path}]"]
                    done = close + 1 + len(_TICKS)
            start = text.find(_TICKS, close + 1 + len(_TICKS))
        if not parts:
            return text
        parts.append(text[done:])
        return "".join(parts)


DEFAULT_READER = AskReader.compile(AskConfig())


def reader_of(f: Features) -> AskReader:
    reader: Any = f.settings.get("ask")
    return reader if isinstance(reader, AskReader) else DEFAULT_READER


def ask_index(f: Features) -> int | None:
    """The index of the message the ask is read from: the last user message a person wrote."""
    memo = f._memo
    if "_ask_index" not in memo:
        reader, texts = reader_of(f), raw_texts(f)
        found = None
        for i in range(len(f.messages) - 1, -1, -1):
            text = texts[i]
            if f.messages[i].role != "user":
                continue
            read = reader.said(text) if reader.is_injected(text) else reader.clean(text)
            if read:
                found = i
                memo["_ask_read"] = read
                break
        memo["_ask_index"] = found
    return memo["_ask_index"]  # type: ignore[no-any-return]


@feature("text", "The user's actual ask: the last message a person wrote, without client-injected blocks.")
def ask_text(f: Features) -> str:
    memo = f._memo
    if "_ask" not in memo:
        # the window is taken of the ask as read (blocks already left out), never of the raw message: a
        # window of that could cut an injected block's tags apart, or keep only the blocks around the ask
        read = memo["_ask_read"] if ask_index(f) is not None else ""
        memo["_ask"] = clean_text(window(read, f.scan_chars))
    return memo["_ask"]  # type: ignore[no-any-return]


def prose_of(ask: str) -> str:
    """The ask's own words: every fenced code block (pasted code, logs, diffs) becomes ``[code]``.

    A block runs from a fence to the end of its line, then to the next line that starts with a fence
    (which it takes), or to the end of the ask when none closes it. A fence with no line after it is
    left as it is. Scanned with ``str.find`` rather than a lazy regex: this runs on every request, cache
    hits included, and the regex cost about 0.2 ms on a 15,000-character ask."""
    start = ask.find(_TICKS)
    if start < 0:
        return ask.strip()
    parts: list[str] = []
    done = 0
    while start >= 0:
        line_end = ask.find("\n", start + len(_TICKS))
        if line_end < 0:
            break
        close = ask.find("\n" + _TICKS, line_end + 1)
        parts += [ask[done:start], " [code] "]
        if close < 0:
            done = len(ask)
            break
        done = close + 1 + len(_TICKS)
        start = ask.find(_TICKS, done)
    parts.append(ask[done:])
    return "".join(parts).strip()


@feature("text", "The user's ask with its fenced code blocks replaced by `[code]`: what the person wrote in words.")
def ask_prose(f: Features) -> str:
    return prose_of(f["ask_text"])


@feature("number", "Characters of the user's actual ask (`ask_text`).")
def ask_chars(f: Features) -> int:
    return len(f["ask_text"])
