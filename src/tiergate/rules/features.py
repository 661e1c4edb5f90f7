"""Request features: named facts about a chat request that rules and scorers compare.

Each feature is one small function registered by name. :class:`Features` computes a feature the
first time a rule asks for it and remembers it, so a request pays only for the features its
compiled graph references. ``header.<name>`` and ``metadata.<key>`` are open families.

    f = Features.of(request, headers)
    f["total_chars"], f["header.x-client"], f["metadata.team"]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from msgspec import Meta

from tiergate.rules.keywords import SEPARATORS, KeywordMatcher
from tiergate.wire import ChatRequest, Message, attachment_tokens

FeatureFn = Callable[["Features"], Any]
FamilyFn = Callable[["Features", str], Any]


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    kind: str  # "number" | "bool" | "text" | "str"
    doc: str
    fn: FeatureFn
    #: Every value the feature can have, when that is a fixed set (``learned.tier``): a comparison with any
    #: other never matches, so it is reported.
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class FamilySpec:
    """An open family of features, ``<name>.<key>``: ``fn(features, key)`` reads one; ``check(key, tiers)``
    says what is wrong with a key (None when it is fine), given the file's tier names. ``typed``: every
    value is of ``kind`` (a header is always a string), so an operand of another type is reported; not
    so for ``metadata`` (whatever JSON the client sent) or ``target`` (numbers, and ``loaded``, a bool)."""

    name: str
    kind: str
    doc: str
    fn: FamilyFn
    check: Callable[[str, Collection[str]], str | None] | None = None
    typed: bool = False


FEATURES: dict[str, FeatureSpec] = {}
FAMILIES: dict[str, FamilySpec] = {}
#: Marks a routes.yaml field that names a feature (``Annotated[str, FEATURE_NAME]``): the schema offers every
#: registered feature there, read when it is rendered (a list taken when the field is defined would hold only
#: the features registered by then, which depends on which module was imported first).
FEATURE_NAME = Meta(extra={"examples": "features"})


def feature(
    kind: str, doc: str, name: str | None = None, values: tuple[str, ...] = ()
) -> Callable[[FeatureFn], FeatureFn]:
    """Register a feature under the function's name (or ``name``, e.g. ``agent.steps``); ``values``: all it
    can be, when that is a fixed set."""

    def register(fn: FeatureFn) -> FeatureFn:
        key = name or fn.__name__
        FEATURES[key] = FeatureSpec(key, kind, doc, fn, values)
        return fn

    return register


def family(
    name: str,
    kind: str,
    doc: str,
    check: Callable[[str, Collection[str]], str | None] | None = None,
    typed: bool = False,
) -> Callable[[FamilyFn], FamilyFn]:
    """Register an open family of features: ``<name>.<key>`` for any key ``check`` accepts."""

    def register(fn: FamilyFn) -> FamilyFn:
        FAMILIES[name] = FamilySpec(name, kind, doc, fn, check, typed)
        return fn

    return register


def is_known(name: str) -> bool:
    family, _, rest = name.partition(".")
    return name in FEATURES or (family in FAMILIES and bool(rest))


def kind_of(name: str) -> str:
    spec = FEATURES.get(name)
    if spec is not None:
        return spec.kind
    fam = FAMILIES.get(name.partition(".")[0])
    return fam.kind if fam is not None else "str"


def value_kind(name: str) -> str | None:
    """The kind every value of the feature has, or None when it may vary (``metadata.<key>``)."""
    spec = FEATURES.get(name)
    if spec is not None:
        return spec.kind
    fam = FAMILIES.get(name.partition(".")[0])
    return fam.kind if fam is not None and fam.typed else None


# Routing reads text with control characters (other than tab and newline) removed; the model
# still receives the message exactly as sent.


_CONTROL_TABLE = dict.fromkeys([*range(0, 9), *range(11, 32), 127])


def clean_text(text: str) -> str:
    return text.translate(_CONTROL_TABLE)


def window(text: str, scan_chars: int) -> str:
    """The first and last ``scan_chars / 2`` characters: where instructions sit in a long paste."""
    if len(text) <= scan_chars:
        return text
    half = scan_chars // 2
    return text[:half] + "\n" + text[-half:]


@dataclass
class Features:
    """``settings`` holds what a load compiled for its feature functions (``ask``: the ask reader,
    ``agent``: the agent-step markers, ``learned``: the learned scorer's probabilities)."""

    request: ChatRequest
    headers: Mapping[str, str] = field(default_factory=dict)
    scan_chars: int = 16000
    settings: Mapping[str, Any] = field(default_factory=dict)
    _memo: dict[Any, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        request: ChatRequest,
        headers: Mapping[str, str] | None = None,
        scan_chars: int = 16000,
        settings: Mapping[str, Any] | None = None,
    ) -> Features:
        return cls(request, {k.lower(): v for k, v in (headers or {}).items()}, scan_chars, settings or {})

    def __getitem__(self, name: str) -> Any:
        memo = self._memo
        if name in memo:
            return memo[name]
        spec = FEATURES.get(name)
        if spec is not None:
            value = spec.fn(self)
        else:
            prefix, _, key = name.partition(".")
            fam = FAMILIES.get(prefix)
            if fam is None or not key:
                raise KeyError(name)
            value = fam.fn(self, key)
        memo[name] = value
        return value

    def lower(self, name: str) -> str:
        """A text feature, lower-cased once per request for keyword matching."""
        key = "lower:" + name
        memo = self._memo
        if key not in memo:
            memo[key] = str(self[name]).lower()
        return memo[key]  # type: ignore[no-any-return]

    def keyword_hits(self, matcher: KeywordMatcher, name: str) -> tuple[str, ...]:
        """A keyword list's hits in a text feature, found once per request however many rules ask."""
        key = (id(matcher), name)
        memo = self._memo
        if key not in memo:
            memo[key] = matcher.hits(self, name)
        return memo[key]  # type: ignore[no-any-return]

    def words(self, name: str) -> frozenset[str]:
        """The distinct words of a text feature, lower-cased: single-word keywords are set lookups."""
        key = "words:" + name
        memo = self._memo
        if key not in memo:
            memo[key] = frozenset(self.lower(name).translate(SEPARATORS).split())
        return memo[key]  # type: ignore[no-any-return]

    @property
    def messages(self) -> list[Message]:
        return self.request.messages


def raw_texts(f: Features) -> list[str]:
    """Each message's text as sent; lengths are counted on this."""
    memo = f._memo
    if "_raw" not in memo:
        memo["_raw"] = [m.text() for m in f.messages]
    return memo["_raw"]  # type: ignore[no-any-return]


def _text(f: Features, i: int) -> str:
    """Message ``i``'s text as routing reads it: windowed to ``scan_chars`` and cleaned (once)."""
    key = ("_text", i)
    memo = f._memo
    if key not in memo:
        memo[key] = clean_text(window(raw_texts(f)[i], f.scan_chars))
    return memo[key]  # type: ignore[no-any-return]


def _texts_of(f: Features, roles: tuple[str, ...] | None = None) -> list[str]:
    return [_text(f, i) for i, m in enumerate(f.messages) if roles is None or m.role in roles]


def _last_user(f: Features) -> int | None:
    for i in range(len(f.messages) - 1, -1, -1):
        if f.messages[i].role == "user":
            return i
    return None


# --- counts ---------------------------------------------------------------------------------


@feature("number", "Messages in the request, of every role.")
def message_count(f: Features) -> int:
    return len(f.messages)


@feature("number", "Messages with role `user`.")
def user_turns(f: Features) -> int:
    return sum(1 for m in f.messages if m.role == "user")


@feature("number", "Messages with role `assistant`.")
def assistant_turns(f: Features) -> int:
    return sum(1 for m in f.messages if m.role == "assistant")


@feature(
    "number",
    "Characters of text across all messages (images, documents and assistant tool calls not counted: see"
    " `approx_tokens`).",
)
def total_chars(f: Features) -> int:
    return sum(len(t) for t in raw_texts(f))


@feature("number", "Characters of the last user message.")
def last_user_chars(f: Features) -> int:
    i = _last_user(f)
    return 0 if i is None else len(raw_texts(f)[i])


@feature("number", "Characters of system and developer messages.")
def system_chars(f: Features) -> int:
    return sum(len(t) for m, t in zip(f.messages, raw_texts(f), strict=True) if m.role in ("system", "developer"))


@feature(
    "number",
    "Approximate prompt tokens: characters of messages, their tool calls (names and arguments) and tool schemas"
    " divided by 4, plus 3,000 per PDF page and 1,600 per image.",
)
def approx_tokens(f: Features) -> int:
    tool_chars = sum(m.call_chars() for m in f.messages)  # an agent's earlier calls: a file written whole
    for tool in f.request.tools or ():
        fn = tool.function
        tool_chars += len(fn.name) + len(fn.description or "") + len(str(fn.parameters or ""))
    return (int(f["total_chars"]) + tool_chars) // 4 + attachment_tokens(f.messages)


@feature("number", "The output limit asked for (`max_completion_tokens` or `max_tokens`), 0 when absent.")
def max_tokens(f: Features) -> int:
    return f.request.output_limit() or 0


# --- presence -------------------------------------------------------------------------------


@feature("bool", "The request declares tools.")
def tools_present(f: Features) -> bool:
    return bool(f.request.tools)


@feature("number", "How many tools the request declares.")
def tool_count(f: Features) -> int:
    return len(f.request.tools or ())


@feature("bool", "The conversation holds tool results (role `tool`) or earlier assistant tool calls.")
def tool_results_present(f: Features) -> bool:
    return any(m.role in ("tool", "function") or m.tool_calls for m in f.messages)


@feature("bool", "Some message carries an image.")
def images_present(f: Features) -> bool:
    return f["image_count"] > 0  # type: ignore[no-any-return]


@feature("number", "Images across all messages.")
def image_count(f: Features) -> int:
    return sum(len(m.images()) for m in f.messages)


@feature("bool", "Some message carries a PDF document (only targets with `capabilities.documents` read one).")
def documents_present(f: Features) -> bool:
    return f["document_count"] > 0  # type: ignore[no-any-return]


@feature("number", "PDF documents across all messages (plain-text documents are read as text, not counted).")
def document_count(f: Features) -> int:
    return sum(len(m.documents()) for m in f.messages)


@feature("bool", "The client asked for a stream.")
def stream(f: Features) -> bool:
    return bool(f.request.stream)


# A fill-in-the-middle template in a completion's prompt, as an editor's autocomplete writes it for a model
# without a `suffix` field (Continue's templates): the prompt ends where the model writes the middle, after
# the prefix's marker, in CodeLlama's (<PRE> <SUF> <MID>), StarCoder's and Qwen's (<fim_prefix>,
# <|fim_prefix|> ... <|fim_middle|>) or DeepSeek's tokens (fim_begin ... fim_end, in full-width bars); or it
# opens with Codestral's [SUFFIX] and holds its [PREFIX].
_FIM_PREFIX = re.compile(r"<PRE>|<\|?fim_prefix\|?>|<[\uff5c|]fim\u2581begin[\uff5c|]>")
_FIM_MIDDLE = re.compile(r"(?:<MID>|<\|?fim_middle\|?>|<[\uff5c|]fim\u2581end[\uff5c|]>)\s*\Z")


@feature(
    "bool",
    "Fill-in-the-middle: a legacy completion with a `suffix`, or whose prompt is a fill-in-the-middle template"
    " (an editor's autocomplete).",
)
def fill_in_the_middle(f: Features) -> bool:
    if f.request.suffix is not None:
        return True
    if not f.request.continuation or not f.messages:
        return False
    prompt = raw_texts(f)[-1]
    if prompt.startswith("[SUFFIX]"):
        return "[PREFIX]" in prompt
    ends = _FIM_MIDDLE.search(prompt, max(0, len(prompt) - 64)) is not None
    return ends and _FIM_PREFIX.search(prompt) is not None


# --- content --------------------------------------------------------------------------------


@feature("number", "Fenced code blocks (```) across all messages (within each message's scan window).")
def code_blocks(f: Features) -> int:
    return sum(window(t, f.scan_chars).count("```") for t in raw_texts(f)) // 2


# Anchored on ".ext" so the scan jumps from dot to dot instead of trying every position.
_EXTENSION = re.compile(
    r"\.(?:py|pyi|js|jsx|ts|tsx|go|rs|java|kt|kts|c|h|cc|cpp|hpp|cs|rb|php|swift|scala|sql|sh|yaml|yml|toml"
    r"|json|md|html|css|scss|vue|svelte|lua|ex|exs|erl|hs|ml|tf|proto|gradle|dart|zig|r)(?![\w-]|\((?!\d))"
)
_PATH_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./@")


@feature(
    "number",
    "Distinct file paths named in the last user message (`src/app.py`, `@utils.ts`), not those a test runner's "
    "report lines or other pasted tool output name (a traceback's frames, compiler diagnostics, `git diff --stat`).",
)
def file_references(f: Features) -> int:
    return count_file_references(f["last_user_text"])


def count_file_references(text: str) -> int:
    """Distinct file paths named in ``text`` (``src/app.py``, ``@utils.ts``); not a method called in code
    (``r.json()``, ``df.to_sql(...)`` end in a ``(``; a traceback's ``main.py(12)`` is a file and its line),
    nor a file a test runner's report line or another tool's output names (:func:`_in_test_report`,
    :func:`_in_tool_output`)."""
    found: set[str] = set()
    last, last_start = -1, 0  # the previous match and where its path began: one walk back per path, not per match
    for m in _EXTENSION.finditer(text):
        start = m.start()
        while start > 0 and start > last and text[start - 1] in _PATH_CHARS:
            start -= 1
        if start == last:  # path characters all the way back to the previous match: the same path
            start = last_start
        last, last_start = m.start(), start
        if m.end() - start > 1024:  # no file's path is this long (and copying each would cost a pass apiece)
            continue
        name = text[start : m.end()].lstrip("@./")
        if name in found or not name or name.startswith(".") or name[0] == "-" or "." not in name:
            continue
        if name.split("/")[-1][0] == "." or _in_test_report(text, start, m.end()):
            continue
        if not _in_tool_output(text, start, m.end()):
            found.add(name)
    return len(found)


# A unified diff's lines as git and `diff -u` write them: a file's header, or a hunk's (`@@ -12,3 +12,4 @@`,
# which `git diff --no-prefix` and `diff -u` write too). Found from line start to line start, so the scan jumps
# from newline to newline: a long message costs a pass of the search, not a try at each character.
_DIFF_LINE = r"(?:diff --git |--- a/|\+\+\+ b/|@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@)"
_DIFF_AT_START = re.compile(_DIFF_LINE)
_DIFF_AFTER_NEWLINE = re.compile("\n" + _DIFF_LINE)


@feature(
    "bool",
    "The last user message carries a unified diff: a line opening with `diff --git `, `--- a/`, `+++ b/` or a hunk"
    " header (`@@ -12,3 +12,4 @@`), anywhere in the message (not only its scan window). What a client's commit-message"
    " request sends.",
)
def last_user_diff(f: Features) -> bool:
    i = _last_user(f)
    if i is None:
        return False
    text = raw_texts(f)[i]
    return _DIFF_AT_START.match(text) is not None or _DIFF_AFTER_NEWLINE.search(text) is not None


# A test runner's report line names a file it ran, not one to change: a status column and the file (Jest's
# "FAIL src/a.test.ts (5.2 s)", Vitest's "✓ src/a.test.ts (3 tests) 12ms", pytest's short summary "FAILED
# tests/a.py::test_x - assert ..."), a pytest node id and its outcome ("tests/a.py::test_x PASSED [ 10%]"), or
# pytest's progress line (the file, a dot or letter per test, the percentage). A person naming node ids to fix
# ("make tests/a.py::test_x pass") writes no outcome after them, and their files still count. Vitest's marks:
# check marks, crosses, its pointer and its skipped arrow.
_REPORT_STATUS = re.compile(
    r"[ \t]*(?:PASS(?:ED)?|FAIL(?:ED)?|ERROR|SKIPPED|XFAIL|XPASS|[\u2713\u2714\u2717\u2718\u00d7\u276f\u2193])[ \t]+"
)
_REPORT_TAIL = re.compile(r"::|(?:[ \t]+\([^()\n]{0,80}\)(?:[ \t]+[\d.]+ ?m?s)?| > [^\n]*)?[ \t]*(?:\n|\Z)")
# (a node id's name and parameters are bounded and possessive: "a.py::a.py::..." scanned to the end from every
# path, then backed off it char by char)
_NODE_OUTCOME = re.compile(
    r"::[^\s\[]{0,300}+(?:\[[^\]\n]{0,300}+\])?[ \t]+(?:PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b"
)
_PROGRESS = re.compile(r"[ \t]+[.FEsxX]+[ \t]*\[ *\d{1,3}%\][ \t]*(?:\n|\Z)")
#: The longest status column before a report line's file.
_STATUS_WIDTH = 12


def _in_test_report(text: str, start: int, end: int) -> bool:
    """The path at ``text[start:end]`` is where a test runner's report line names a file. Looked at around the
    path only (its line's start, at most :data:`_STATUS_WIDTH` characters back, and what follows it), so a
    long text costs no more per path; asked once per distinct path not yet counted."""
    low = max(0, start - _STATUS_WIDTH)
    newline = text.rfind("\n", low, start)
    line = newline + 1 if newline >= 0 else 0 if low == 0 else -1
    if line < 0:  # mid-line, past any status column: only a node id and its outcome
        return text.startswith("::", end) and _NODE_OUTCOME.match(text, end) is not None
    if line < start and _REPORT_STATUS.fullmatch(text, line, start) is not None:
        return _REPORT_TAIL.match(text, end) is not None
    if text.startswith("::", end):
        return _NODE_OUTCOME.match(text, end) is not None
    return line == start and _PROGRESS.match(text, end) is not None


# Where a tool's output names a file it reports on, not one to change: a line that opens with the file (or a
# traceback's `File "`, rustc's `-->`, a stack frame's `at ...(`) and goes on with its position (`:12`, `(3,5)`,
# `", line 12`) or a diffstat's bar (`| 12 ++--`), as compilers, linters, `grep -n`, tracebacks and `git diff
# --stat` write them; or a line that is a status label aligned to a column then the file alone (`git status`:
# "\tmodified:   a.py", "?? a.py"). A person's "it fails at main.py(12)" is not at a line's start, and a person's
# list of files ("- a.py") has no position after the file nor a label aligned before it: both still count.
_TOOL_HEAD = re.compile(r'[ \t]*(?:File "|--> |at (?:[^\n(]{0,200}\()?)?')
_TOOL_TAIL = re.compile(r'"?,? line \d|:\d|\(\d+(?:,\d+)?\)|[ \t]+\|[ \t]+(?:\d|Bin\b)')
_STATUS_HEAD = re.compile(
    r"[ \t]*[a-z]+(?: [a-z]+)?:(?: {2,}|\t)[ \t]*(?:\S+ -> )?|[MADRCU?!][ MADRCU?!] |[ ][MADRCU?!] "
)
_STATUS_TAIL = re.compile(r"(?: -> \S+)?[ \t]*(?:\n|\Z)")
#: The rest of a ``git diff --stat`` line after a file on it, a rename's too (``src/{a.py => b.py} | 4 ++--``,
#: ``old.py => new.py | 3 +``): its bar ends the line.
_STAT_TAIL = re.compile(r"[^\n|]{0,240}\|[ \t]+(?:\d+(?:[ \t]+[+-]*)?|Bin\b[^\n]*)[ \t]*(?:\n|\Z)")
#: The most characters a tool's output puts before the file on its line (a Java frame's class and method).
_TOOL_HEAD_WIDTH = 240


def _in_tool_output(text: str, start: int, end: int) -> bool:
    """The path at ``text[start:end]`` is where a tool's output line names a file (see :data:`_TOOL_HEAD`). Looked
    at around the path only (its line's start, at most :data:`_TOOL_HEAD_WIDTH` characters back, and what follows
    it), so a long text costs no more per path."""
    if _STAT_TAIL.match(text, end) is not None:
        return True
    low = max(0, start - _TOOL_HEAD_WIDTH)
    newline = text.rfind("\n", low, start)
    line = newline + 1 if newline >= 0 else 0 if low == 0 else -1
    if line < 0:
        return False
    if _TOOL_HEAD.fullmatch(text, line, start) is not None and _TOOL_TAIL.match(text, end) is not None:
        return True
    return _STATUS_HEAD.fullmatch(text, line, start) is not None and _STATUS_TAIL.match(text, end) is not None


@feature("text", "The last user message's text.")
def last_user_text(f: Features) -> str:
    i = _last_user(f)
    return "" if i is None else _text(f, i)


@feature("text", "All user messages' text, joined.")
def user_text(f: Features) -> str:
    return "\n".join(_texts_of(f, ("user",)))


@feature("text", "System and developer messages' text, joined.")
def system_text(f: Features) -> str:
    return "\n".join(_texts_of(f, ("system", "developer")))


@feature("text", "Every message's text, joined.")
def all_text(f: Features) -> str:
    return "\n".join(_texts_of(f))


@feature("str", "The `model` the client asked for (`auto` when absent).")
def requested_model(f: Features) -> str:
    return f.request.model or "auto"


@feature("str", "The non-standard body field `provider`, empty when absent.")
def provider(f: Features) -> str:
    return f.request.provider or ""


# --- open families ----------------------------------------------------------------------------


@family("header", "str", "a request header, lower-case name: `header.x-team`", typed=True)
def header(f: Features, key: str) -> str:
    return f.headers.get(key.lower(), "")


@family("metadata", "str", "a key of the body's `metadata` object: `metadata.project`")
def metadata(f: Features, key: str) -> Any:
    return (f.request.metadata or {}).get(key, "")
