"""Read a YAML rule file once, keeping every node's position so problems can cite file:line:col.

``${VAR}`` and ``${VAR:-default}`` inside string values expand from the environment given (never from
keys: secrets are referenced by env var *name* and read only when a backend is built). A value that is
nothing but one reference takes the type its expansion reads as in YAML, so numbers and switches can
come from the environment too: ``timeout: ${CLASSIFIER_TIMEOUT:-30}`` is the number 30. A quoted
reference stays text, as any quoted YAML value does: ``eq: "${TEAM_ID}"`` compares with the string "42"
when ``TEAM_ID=42``. Any other
``${NAME`` (``${X:=d}``, ``${X-d}``, an unclosed ``${X``, a reference inside a default) is a problem, not
text, as is a reference with spaces inside its braces around a name in capitals (``${ OLLAMA_HOST }``); any
other ``${`` not followed by a name's first character (a regex's ``${[^}]*}``, ``${ count }``) is text.

Aliases are expanded into copies, so the values they expand to are counted first: a file whose aliases
nest into more than :data:`MAX_VALUES` values (a "billion laughs") is refused before anything is copied.

    source = YamlSource.parse(text, "routes.yaml", os.environ)
    source.data            # plain Python objects, env-expanded
    source.locate(("tiers", "local"))   # (line, col), 1-based

Every problem made here (:meth:`YamlSource.problem`: the loader's, the cross-reference checks', the graph
compiler's) is scrubbed of the keys the file names (tiergate.redact.written_secret_values): a message may
quote a value, and a key that landed in a typed field (``mode: ${ANTHROPIC_API_KEY}``) would otherwise be
shown by /health, the console and the reload log line. So is the password of any URL or libpq ``key=value``
string a reference expanded to (``mode: ${TIERGATE_REDIS_URL}``), whichever variable held it
(written_password_values: one that is an ordinary word is left, and one is taken only as a whole token).
"""

from __future__ import annotations

import dataclasses
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.reader import ReaderError

from tiergate.config.problems import ConfigError, Path, Problem, render_path
from tiergate.redact import Redactor, written_password_values, written_secret_values


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates as strings (``anthropic_version: 2023-06-01`` is a version, not a date) and
    refuses a key given twice in one mapping, which YAML would otherwise settle silently (the last wins)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[str, int] = {}
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.value == "<<":
                continue
            if key.value in first:
                raise ConstructorError(
                    None, None, f"duplicate key '{key.value}' (first at line {first[key.value]})", key.start_mark
                )
            first[key.value] = key.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """A tag's constructor that refuses its text (``!!float abc``, ``!!bool maybe``) is a problem at the
        value, not a traceback."""
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, KeyError, TypeError):
            kind = str(node.tag).rsplit(":", 1)[-1]
            raise ConstructorError(None, None, f"'{node.value}' cannot be read as {kind}", node.start_mark) from None


#: Scalars read as YAML 1.2's core schema reads them, as JSON Schema tools (check-jsonschema, editors) do:
#: YAML 1.1's `yes`/`no`/`on`/`off` switches, `0755` octals and `10:00` base-60 numbers (600) stay text,
#: and `1e5` is a number (1.1 wants `1.0e+5`). Dates stay text (the timestamp resolver is left out).
_CORE = {
    "tag:yaml.org,2002:bool": re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    "tag:yaml.org,2002:int": re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    "tag:yaml.org,2002:float": re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
}
_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag not in _CORE and tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _tag, _rx in _CORE.items():
    _Loader.add_implicit_resolver(_tag, _rx, list("-+0123456789.tTfF"))


def _core_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    """Decimal first: ``0755`` is 755 (YAML 1.1 read 493); then by its prefix (``0x1f``, ``0o17``, and
    ``0b1010`` under an explicit ``!!int``)."""
    value = str(loader.construct_scalar(node)).replace("_", "")
    for base in (10, 0):
        try:
            return int(value, base)
        except ValueError:
            continue
    raise ConstructorError(None, None, f"'{value}' is not an integer", node.start_mark)


_Loader.add_constructor("tag:yaml.org,2002:int", _core_int)


#: The most values (mappings, sequences, keys and scalars) a file may expand to once its aliases are copied.
MAX_VALUES = 1_000_000
#: Line breaks as PyYAML counts them, so a position computed here agrees with its marks.
_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")


def line_col(text: str, index: int) -> tuple[int, int]:
    """The 1-based line and column of ``text[index]``."""
    line, start = 1, 0
    for m in _BREAK.finditer(text, 0, index):
        line, start = line + 1, m.end()
    return line, index - start + 1


def _reader_problem(exc: ReaderError, text: str, file: str) -> Problem:
    """A character YAML does not allow (ESC from a pasted coloured terminal line, NUL, BEL, ...)."""
    line, col = line_col(text, exc.position) if isinstance(exc.position, int) else (1, 1)
    code = exc.character if isinstance(exc.character, int) else ord(exc.character or "\0")
    kind = "control character" if unicodedata.category(chr(code)) == "Cc" else "character"
    return Problem((), f"{kind} U+{code:04X} is not allowed in YAML", file=file, line=line, col=col)


def _syntax_problem(exc: yaml.MarkedYAMLError, text: str, file: str) -> Problem:
    """Where the parser stopped, and where to look: the construct it was inside, or a quoted string that
    runs on over several lines, which is almost always a missing closing quote (the parser only notices
    many lines later, at the next quote)."""
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    reason = exc.problem or exc.context or "invalid YAML"
    quote = _runaway_quote(text, line)
    if quote is not None:
        start, end = quote
        return Problem(
            (),
            f"invalid YAML: the quoted string that opens here runs on to line {end}; is its closing quote "
            f"missing? (the parser then found: {reason}, at line {line}, column {col})",
            file=file,
            line=start.line + 1,
            col=start.column + 1,
        )
    within = exc.context_mark
    if exc.problem and exc.context and within is not None and within.line + 1 != line:
        reason += f" ({exc.context} that starts at line {within.line + 1}, column {within.column + 1})"
    if mark is not None and "flow" in (exc.context or "") and text[max(mark.index - 1, 0) : mark.index + 1] == "${":
        reason += f"; {FLOW_REFERENCE}"
    return Problem((), f"invalid YAML: {reason}", file=file, line=line, col=col)


#: Why ``{fail_max: ${N:-2}}`` cannot be read, and what works: a flow collection's plain values may not hold
#: braces, and a quoted reference stays text.
FLOW_REFERENCE = (
    "an unquoted ${...} cannot stand inside a flow mapping or list ({...}, [...]), and a quoted one stays text: "
    "to read a number or a switch from the environment, write that mapping in block style, one `key: ${...}` "
    "per line"
)


def _runaway_quote(text: str, stopped: int) -> tuple[yaml.Mark, int] | None:
    """The first quoted scalar before line ``stopped`` that spans lines: its start, and its last line."""
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.start_mark.line + 1 > stopped:
                return None
            quoted = isinstance(token, yaml.ScalarToken) and token.style in ('"', "'")
            if quoted and token.end_mark.line > token.start_mark.line:
                return token.start_mark, token.end_mark.line + 1
    except yaml.YAMLError:
        return None
    return None


#: A default's text: up to the closing brace, but not past another ``${`` (references do not nest: one
#: inside a default is malformed). So each ``${`` is read only up to the next one, and a line of many
#: unclosed ``${A:-`` is read in linear time, not again from each of them to its end.
_DEFAULT = r"(?:[^}$]|\$(?!\{))*"
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(" + _DEFAULT + r"))?\}")


@dataclass
class YamlSource:
    file: str
    text: str
    root: yaml.Node | None
    data: Any
    #: Where an unquoted ``${...}`` read as a number or a switch, and the text it read: a field that takes
    #: text gets the text (``headers: {x-org: ${ORG_ID}}`` with ORG_ID=12345).
    coerced: dict[Path, str] = field(default_factory=dict)
    #: Where an unquoted ``${...}`` read as a number that is not finite: kept as text, as it may be text.
    not_finite: dict[Path, str] = field(default_factory=dict)
    #: Where a value held a ``${...}`` reference, in file order: a variant's ``kind`` must not (loader).
    references: list[Path] = field(default_factory=list)
    #: What each ``${...}`` read from the environment, and each value holding one expanded to: a password in
    #: one (a URL's, a ``key=value`` string's) is scrubbed from every problem, whatever field it landed in.
    expanded: list[str] = field(default_factory=list)
    #: Where a ``${NAME:-default}`` read its default, NAME being unset: the file's own text, which a problem may show.
    defaulted: dict[Path, str] = field(default_factory=dict)
    #: Takes the keys the file names out of every problem's message (see the module's docstring).
    scrub: Redactor = field(default_factory=Redactor)
    #: A ``${NAME}`` whose variable is unset, when that is the file's only problem here: the loader reports
    #: it, unless the key holding it is unknown, which is then the problem (``api_key: ${ANTHROPIC_API_KEY}``
    #: is a misplaced key, not a variable to set).
    unset: list[Problem] = field(default_factory=list)
    _unset_at: set[Path] = field(default_factory=set, repr=False)

    @classmethod
    def parse(cls, text: str, file: str, environ: Mapping[str, str]) -> YamlSource:
        loader: _Loader | None = None
        try:
            loader = _Loader(text)  # reads the whole text first: refuses a character YAML does not allow
            root = loader.get_single_node()
            too_big = _expansion_problem(root, file) if root is not None else None
            if too_big is not None:
                raise ConfigError([too_big])
            data = loader.construct_document(root) if root is not None else None
        except ReaderError as exc:
            raise ConfigError([_reader_problem(exc, text, file)]) from None
        except yaml.MarkedYAMLError as exc:
            raise ConfigError([_syntax_problem(exc, text, file)]) from None
        except yaml.YAMLError as exc:
            raise ConfigError([Problem((), f"invalid YAML: {exc}", file=file, line=1, col=1)]) from None
        except RecursionError:
            raise ConfigError([_too_deep(text, file)]) from None
        finally:
            if loader is not None:
                loader.dispose()
        source = cls(file=file, text=text, root=root, data=None)
        problems: list[Problem] = []
        source.data = source._expand(data, (), environ, problems)
        passwords = written_password_values(source.data, source.expanded)
        source.scrub = Redactor(written_secret_values(source.data, environ), passwords)
        problems = [dataclasses.replace(p, message=source.scrub(p.message)) for p in problems]
        if any(p.path not in source._unset_at for p in problems):
            raise ConfigError(problems)
        source.unset = problems
        return source

    def locate(self, path: Path) -> tuple[int, int]:
        """The line and column of the deepest node on ``path`` that exists in the file."""
        node = self.root
        if node is None:
            return (1, 1)
        best = node
        for part in path:
            child = _child(node, part)
            if child is None:
                break
            node = best = child
        return (best.start_mark.line + 1, best.start_mark.column + 1)

    def locate_key(self, path: Path) -> tuple[int, int]:
        """Like :meth:`locate`, but for a mapping key itself (``path[-1]``) rather than its value."""
        if not path:
            return self.locate(path)
        parent = self._node(path[:-1])
        if isinstance(parent, yaml.MappingNode):
            for key, _ in reversed(parent.value):  # the last: see _child
                if isinstance(key, yaml.ScalarNode) and key.value == path[-1]:
                    return (key.start_mark.line + 1, key.start_mark.column + 1)
        return self.locate(path)

    def problem(
        self, path: Path, message: str, severity: str = "error", key: bool = False, unwritten: str = ""
    ) -> Problem:
        """A problem at ``path``; ``unwritten`` is added when the value is not in the file (its default is wrong)."""
        line, col = self.locate_key(path) if key else self.locate(path)
        if path and self._node(path) is None and not key:
            message += f" (at {render_path(path)}, not written in the file: its default applies)" + unwritten
        return Problem(path, self.scrub(message), severity=severity, file=self.file, line=line, col=col)

    def _node(self, path: Path) -> yaml.Node | None:
        node = self.root
        for part in path:
            if node is None:
                return None
            node = _child(node, part)
        return node

    def _expand(self, value: Any, path: Path, environ: Mapping[str, str], problems: list[Problem]) -> Any:
        if isinstance(value, str):
            bad = _malformed(value)
            if bad is not None:
                problems.append(self.problem(path, f"malformed environment reference '{bad}': {_how(bad)}"))
                return value
            if _ENV.search(value) and (field := _env_name_field(path)) is not None:
                problems.append(
                    self.problem(
                        path,
                        f"{field} names an environment variable: write the variable's name itself, not a ${{...}}"
                        " reference, which puts its value (it may be a key) where the name belongs",
                    )
                )
                return value
            expanded = _ENV.sub(lambda m: self._env(m, path, environ, problems), value)
            if _ENV.search(value):
                self.references.append(path)
                self.expanded.append(expanded)
            if not _ENV.fullmatch(value) or self._quoted(path):
                return expanded
            read = _scalar(expanded)
            if isinstance(read, str):
                return read
            if isinstance(read, float) and not math.isfinite(read):  # `1e52077`: a commit hash, or too big
                self.not_finite[path] = expanded  # text; a field that wants a number says so (loader)
                return expanded
            self.coerced[path] = expanded  # the text, should the field take text (see loader.load_text)
            value = read
        if isinstance(value, float) and not math.isfinite(value):
            # .inf passes every `ge`/`gt` bound: an infinite weight made every score NaN, a timeout overflowed
            problems.append(self.problem(path, f"must be a finite number, got {value}"))
        if isinstance(value, dict):
            return {k: self._expand(v, (*path, k), environ, problems) for k, v in value.items()}
        if isinstance(value, list):
            return [self._expand(v, (*path, i), environ, problems) for i, v in enumerate(value)]
        return value

    def _quoted(self, path: Path) -> bool:
        """Whether the value at ``path`` is written in quotes: ``"${TEAM_ID}"`` stays a string."""
        node = self._node(path)
        return isinstance(node, yaml.ScalarNode) and node.style in ('"', "'")

    def in_flow(self, path: Path) -> bool:
        """Whether the value at ``path`` is written inside a flow mapping or list (``{...}``, ``[...]``)."""
        parent = self._node(path[:-1]) if path else None
        return isinstance(parent, yaml.CollectionNode) and bool(parent.flow_style)

    def whole_reference(self, path: Path) -> str | None:
        """The ``${...}`` written unquoted as the whole value at ``path`` (``${TIMEOUT:-8}``), or None."""
        node = self._node(path)
        whole = isinstance(node, yaml.ScalarNode) and not self._quoted(path) and _ENV.fullmatch(node.value)
        return node.value if whole and isinstance(node, yaml.ScalarNode) else None

    def quoted_reference(self, path: Path) -> bool:
        """Whether the value at ``path`` is one quoted reference (``"${TIMEOUT:-8}"``), which stays text."""
        node = self._node(path)
        return self._quoted(path) and isinstance(node, yaml.ScalarNode) and _ENV.fullmatch(node.value) is not None

    def _env(self, match: re.Match[str], path: Path, environ: Mapping[str, str], problems: list[Problem]) -> str:
        name, default = match.group(1), match.group(2)
        found = environ.get(name)
        if found:
            self.expanded.append(found)
            return found
        if default is not None:
            self.defaulted[path] = default
            return default
        problems.append(
            self.problem(path, f"environment variable {name} is not set (write ${{{name}:-default}} to give a default)")
        )
        self._unset_at.add(path)
        return ""


#: What starts an attempted reference: ``${`` and a name's first character, or a whole reference with spaces
#: inside its braces around a name written as environment variables are (capitals, digits, ``_``:
#: ``${ OLLAMA_HOST }``, as templating languages write one). Any other ``${`` is text: a regex's
#: ``${[^}]*}`` for a template literal, or ``${ count }`` in a description or a prompt quoting one.
_ATTEMPT = re.compile(r"\$\{(?:[A-Za-z_]|\s+[A-Z_][A-Z0-9_]*\s*(?::-" + _DEFAULT + r")?\})")


def _malformed(value: str) -> str | None:
    """The first attempted ``${NAME...`` in ``value`` that is not ``${NAME}`` or ``${NAME:-default}`` (a
    default holding another reference included: references do not nest, so ``${A:-${B}}`` is no
    reference, and its ``${A`` an attempt before the ``${B}``), or None."""
    pos = 0
    for m in _ENV.finditer(value):
        if (attempt := _ATTEMPT.search(value, pos, m.start())) is not None:
            return _reference_at(value, attempt.start())
        pos = m.end()
    attempt = _ATTEMPT.search(value, pos)
    return _reference_at(value, attempt.start()) if attempt is not None else None


def _how(bad: str) -> str:
    """How to write the reference ``bad`` meant: itself without the spaces around its name and its default,
    when that is one."""
    name, colon, default = bad[2:-1].partition(":-")
    unspaced = "${" + name.strip() + colon + default.strip() + "}"
    if bad.endswith("}") and unspaced != bad and _ENV.fullmatch(unspaced):
        return f"no spaces inside the braces: write {unspaced}"
    return "use ${NAME} or ${NAME:-default}"


def _reference_at(value: str, start: int) -> str:
    """The text of the reference opening at ``value[start]``: to its matching brace, or to the end."""
    depth = 0
    end = len(value)
    for i in range(start + 1, len(value)):
        if value[i] == "{":
            depth += 1
        elif value[i] == "}":
            depth -= 1
            if depth == 0:
                end = i + 1
                break
    text = value[start:end]
    return text if len(text) <= 80 else text[:77] + "..."


class _Recursive(Exception):
    def __init__(self, node: yaml.Node) -> None:
        self.node = node


def _expansion_problem(root: yaml.Node, file: str) -> Problem | None:
    """A problem when the document, its aliases copied, holds more than MAX_VALUES values or refers to
    itself; counted on the composed nodes, where an alias is one shared node, so this is linear in the file."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def children(node: yaml.Node) -> list[yaml.Node]:
        if isinstance(node, yaml.MappingNode):
            return [n for pair in node.value for n in pair]
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        return []

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise _Recursive(node)
        active.add(key)
        total = 1 + sum(size(child) for child in children(node))
        active.discard(key)
        sizes[key] = total
        return total

    try:
        if size(root) <= MAX_VALUES:
            return None
    except _Recursive as exc:
        mark = exc.node.start_mark
        message = "an alias refers to the value that holds it (a recursive alias cannot be expanded)"
        return Problem((), message, file=file, line=mark.line + 1, col=mark.column + 1)
    node = root  # the innermost value that alone expands past the bound
    while True:
        bigger = next((child for child in children(node) if sizes[id(child)] > MAX_VALUES), None)
        if bigger is None:
            break
        node = bigger
    mark = node.start_mark
    message = f"aliases expand to more than {MAX_VALUES:,} values here (each use of an alias is a full copy)"
    return Problem((), message, file=file, line=mark.line + 1, col=mark.column + 1)


def _too_deep(text: str, file: str) -> Problem:
    """Collections nested deeper than the composer can follow: the first event past a generous depth."""
    depth, line, col = 0, 1, 1
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth == 200:
                    mark = event.start_mark
                    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
                    break
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        pass
    return Problem((), "invalid YAML: mappings and lists nest too deeply", file=file, line=line, col=col)


def _scalar(text: str) -> Any:
    """A number or a boolean when the text reads as one in YAML; the text itself otherwise."""
    try:
        value = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, bool | int | float) else text


def _env_name_field(path: Path) -> str | None:
    """The ``*_env`` field (``api_key_env``, ``keys_env``, ``admin_key_env``) that ``path`` is, or is an item
    of: it holds a variable's name, never a value."""
    for part in path[-2:]:
        if isinstance(part, str) and part.endswith("_env"):
            return part
    return None


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    """The value node at ``part``. A mapping's last pair of that key is the one its data holds: a merge key
    (``<<: *defaults``) puts the merged pairs first and the mapping's own after them, which override them."""
    if isinstance(node, yaml.MappingNode):
        for key, value in reversed(node.value):
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return value  # type: ignore[no-any-return]
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part]  # type: ignore[no-any-return]
    return None
