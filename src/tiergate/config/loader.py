"""Turn a rule file into a strict :class:`RoutesConfig`, or a ConfigError citing file:line:col.

loaded = load_file(Path("routes.yaml"), os.environ)
loaded.config.tiers["local"]
loaded.version          # short hash of the file's bytes: the rules_version of every decision
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import msgspec
import msgspec.inspect as mi
import yaml

from tiergate.backends.base import BackendConfigBase
from tiergate.backends.registry import BACKEND_KINDS
from tiergate.config.model import RoutesConfig
from tiergate.config.problems import ConfigError, Path, Problem, closest, did_you_mean
from tiergate.config.profiles import apply_profiles
from tiergate.config.semantic import check, learned_weights_path
from tiergate.config.source import FLOW_REFERENCE, YamlSource, line_col
from tiergate.profile.file import Profile
from tiergate.redact import DEFAULT_ADMIN_KEY_ENV, ENV_NAME


@dataclass(frozen=True)
class LoadedConfig:
    config: RoutesConfig
    source: YamlSource
    version: str
    warnings: tuple[Problem, ...] = ()
    #: The ``tiergate profile`` files targets name, by (tier, index of the target in it).
    profiles: Mapping[tuple[str, int], Profile] = field(default_factory=dict)


def load_file(path: FsPath | str, environ: Mapping[str, str] | None = None) -> LoadedConfig:
    path = FsPath(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([Problem((), f"cannot read rule file: {exc.strerror}", file=str(path))]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([_not_utf8(raw, exc, str(path))]) from None
    return load_text(text, str(path), environ)


def _not_utf8(raw: bytes, exc: UnicodeDecodeError, file: str) -> Problem:
    """Where the first byte that is not UTF-8 is: the bytes before it decode, so its line and column do too."""
    before = raw[: exc.start].decode("utf-8")
    line, col = line_col(before, len(before))
    byte = raw[exc.start]
    return Problem(
        (), f"not UTF-8: byte 0x{byte:02x} ({exc.reason}); save the file as UTF-8", file=file, line=line, col=col
    )


def load_text(text: str, file: str = "<routes>", environ: Mapping[str, str] | None = None) -> LoadedConfig:
    source = YamlSource.parse(text, file, os.environ if environ is None else environ)
    if not isinstance(source.data, dict):
        raise ConfigError([source.problem((), "the rule file must be a mapping with `backends` and `tiers`")])
    if source.unset:
        raise ConfigError(_unset(source))
    referenced = _referenced_tags(source)
    if referenced:
        raise ConfigError(referenced)
    config = _convert(source)
    problems = check(config, source)
    config, profiles = apply_profiles(config, source, problems)
    config = _weights_from_rule_file(config, file)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ConfigError(problems)
    version = _version(text, config, file)
    return LoadedConfig(config, source, version, tuple(p for p in problems if p.severity != "error"), profiles)


#: What YAML 1.1 read as a switch or a number and YAML 1.2 reads as text: `yes`, `off`, `10:00`, `1_000`.
_YAML11 = re.compile(
    r"(?i:y|n|yes|no|on|off)|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?_[0-9_]*"
)
#: msgspec's refusal of a number or a switch where the field takes text (``str``, ``str | null``, ...).
_WANTS_TEXT = re.compile(r"Expected `[^`]*\bstr\b[^`]*`, got `(?:int|float|bool)`")


#: msgspec's refusal of a number written with a point or an exponent where the field takes a whole number.
_WANTS_INT = re.compile(r"Expected `[^`]*\bint\b[^`]*`, got `float`")


#: The most key and type problems one run reports.
MAX_PROBLEMS = 50
#: What a value msgspec refuses is replaced with when it cannot simply be left out (a required field), so the
#: decode goes on to the fields after it; the first its field takes is used.
_PLACEHOLDERS: tuple[Any, ...] = ("x", 1, True, None, [], {})


def _convert(source: YamlSource) -> RoutesConfig:
    """The file's tree as the config. msgspec names one bad field at a time, so each of these is one retry:

    - an unquoted ``${...}`` that read as a number or a switch, where the field takes text, is given its
      text back;
    - a whole number written as a float (``fail_max: 5.0``, ``max_body_bytes: 1e6``), where the field takes
      an integer, is that integer, as JSON Schema's ``integer`` (and so an editor) reads it;
    - any other refusal is a problem, and what it names is set aside in a working copy (:func:`_set_aside`)
      so the decode goes on: one run reports every key and type problem, in file order, up to
      :data:`MAX_PROBLEMS`, or up to one that cannot be set aside (the file's ``tiers`` missing). A refusal
      that may come of a change made to set one aside (a comparison left without its operator once its
      misspelt ``gtt`` is dropped) is set aside in turn, and not reported: it is not in the file.

    A list item set aside is taken out of the copy's list, so the items after it move up; ``kept`` maps
    them back, and every path here but the copy's own is the file's (:func:`_in_file`)."""
    work = source.data
    kept: Kept = {}
    fixed: set[Path] = set()
    found: list[Problem] = []
    #: Where a key was dropped, an item taken out or a value left out or replaced, in the file.
    changed: list[Path] = []
    #: The fields unknown keys were taken for (``modle`` for ``model``): the field is not missing too.
    meant: set[Path] = set()
    while len(changed) < 4 * MAX_PROBLEMS:
        try:
            config = msgspec.convert(work, RoutesConfig)
        except msgspec.ValidationError as exc:
            message, refused, key = _refusal(str(exc), work)
            path = _in_file(refused, kept)
            value = _whole(path, source, message) if not key and path not in fixed else None
            if value is not None:
                fixed.add(path)
                work = _replaced(work, refused, value)
                source.data = _replaced(source.data, path, value)
                continue
            missing = _MISSING.fullmatch(message)
            ours = any(_about(message, path, at) for at in changed)  # not the file's: set aside, not reported
            if not ours and (missing is None or (*path, missing.group(1)) not in meant):
                found.append(_problem_from_validation(message, path, key, source))
                if len(found) == MAX_PROBLEMS:
                    break
            unknown = _UNKNOWN.fullmatch(message)
            if unknown and (field := closest(unknown.group(1), _fields_at(path, source.data))) is not None:
                meant.add((*path, field))
            aside = _set_aside(work, message, refused, key, kept)
            if aside is None:
                break
            work, at, kept = aside
            changed.append(at)
        else:
            if not found:
                return config
            break
    unique = {p.render(): p for p in found}.values()
    raise ConfigError(sorted(unique, key=lambda p: (p.line, p.col)))


#: For each list of the file that items were taken out of in the working copy (by its path in the file), the
#: file's index of each item the copy's list still holds, in order.
Kept = Mapping[Path, tuple[int, ...]]


def _in_file(path: Path, kept: Kept) -> Path:
    """``path`` in the working copy as the path of the same value in the file."""
    parts: list[str | int] = []
    for part in path:
        indices = kept.get(tuple(parts))
        if indices is not None and isinstance(part, int) and 0 <= part < len(indices):
            part = indices[part]
        parts.append(part)
    return tuple(parts)


#: How the problem of an unknown key starts.
_UNKNOWN_KEY = "unknown key '"
_UNKNOWN = re.compile(r"Object contains unknown field `(.+)`")
_MISSING = re.compile(r"Object missing required field `(.+)`")


def _refusal(error: str, data: Any) -> tuple[str, Path, bool]:
    """msgspec's ``error`` as its message, the path it names (mapping keys found in ``data``), and whether
    it is about a mapping key rather than a value."""
    m = _AT.match(error)
    assert m is not None
    path = parse_path(m.group("path") or "$")
    if ANY_KEY in path:
        path = _resolve_keys(path, data, error)
    return m.group("msg"), path, bool(m.group("key"))


def _about(message: str, path: Path, at: Path) -> bool:
    """Whether a refusal (``message`` at ``path``) may be of a change at ``at`` (a key dropped, a value left
    out or replaced): it is at or under ``at``, or at what holds ``at`` (a required field missing, a list left
    empty, a check of the whole mapping such as "an action needs one of ..."), unless it is of another key
    there, unknown or missing, which no change at ``at`` makes."""
    if path[: len(at)] == at:
        return True
    if at[: len(path)] != path or _UNKNOWN.fullmatch(message):
        return False
    missing = _MISSING.fullmatch(message)
    return missing is None or (*path, missing.group(1)) == at


def _set_aside(data: Any, message: str, path: Path, key: bool, kept: Kept) -> tuple[Any, Path, Kept] | None:
    """A copy of ``data`` without what msgspec refused (``message`` at ``path``, both of the copy), where it
    changed in the file, and the copy's ``kept``; None when no change lets the decode go on past it.

    An unknown key, or a key that is not a string, is dropped. A missing field is given a placeholder; a wrong
    value is taken out of its list or left out, or replaced by a placeholder or (in a list) by another item of
    its list, or else the value holding it is, and so on outwards: a change is kept only if the decode then
    refuses nothing it may have caused (:func:`_about`). The changes are made and tried one at a time, and
    the first that lets the decode go on is kept."""
    here = _get(data, list(path))
    unknown = _UNKNOWN.fullmatch(message)
    if unknown and isinstance(here, dict):
        return _without(data, path, unknown.group(1)), _in_file((*path, unknown.group(1)), kept), kept
    if key and isinstance(here, dict):
        only_text = {k: v for k, v in here.items() if isinstance(k, str)}
        return _replaced(data, path, only_text), _in_file((*path, ANY_KEY), kept), kept
    missing = _MISSING.fullmatch(message)
    starts = [(*path, missing.group(1))] if missing else []
    starts += [path[:i] for i in range(len(path), 0, -1)]
    for at in starts:
        holder = _get(data, list(at[:-1]))
        if not isinstance(holder, (dict, list)) or ANY_KEY in at:
            continue
        where = _in_file(at, kept)
        for candidate, then_kept in _changes(data, at, holder, kept):
            try:
                msgspec.convert(candidate, RoutesConfig)
            except msgspec.ValidationError as exc:
                then, refused, _ = _refusal(str(exc), candidate)
                if _about(then, _in_file(refused, then_kept), where):
                    continue
            return candidate, where, then_kept
    return None


#: How many other items of its list a list item is replaced by in turn, when taking it out is refused (the
#: list would be too short): one good item is enough, and trying every item of a long list is quadratic.
_SIBLINGS = 3


def _changes(data: Any, at: Path, holder: Any, kept: Kept) -> Iterator[tuple[Any, Kept]]:
    """The copies of ``data`` to try, each changed at ``at`` (of the copy; ``holder`` is what holds it), with
    its ``kept``: made one at a time, as most are never tried."""
    where = _in_file(at, kept)
    outside = {k: v for k, v in kept.items() if k[: len(where)] != where}  # of the lists the copy still holds
    if isinstance(holder, dict) and at[-1] in holder:
        yield _without(data, at[:-1], at[-1]), outside
    if isinstance(holder, list) and isinstance(at[-1], int):
        index, items = at[-1], where[:-1]
        indices = kept.get(items, tuple(range(len(holder))))
        rest = {**outside, items: indices[:index] + indices[index + 1 :]}
        yield _replaced(data, at[:-1], holder[:index] + holder[index + 1 :]), rest
    for value in _placeholders(at, data):
        yield _replaced(data, at, value), outside
    if isinstance(holder, list):
        others = (item for i, item in enumerate(holder) if i != at[-1])
        for item in itertools.islice(others, _SIBLINGS):
            yield _replaced(data, at, item), outside


def _without(data: Any, path: Path, key: Any) -> Any:
    """A copy of ``data`` whose mapping at ``path`` has no ``key``."""
    mapping = _get(data, list(path))
    return _replaced(data, path, {k: v for k, v in mapping.items() if k != key})


def _placeholders(path: Path, data: Any) -> list[Any]:
    """Values to try at ``path``: the field's own choices first when it has a fixed set, then any type."""
    found = _info_at(path, data)
    info = found[0] if found is not None else None
    members = info.types if isinstance(info, mi.UnionType) else (info,)
    choices = [v for t in members if isinstance(t, mi.LiteralType) for v in t.values]
    return [*choices, *_PLACEHOLDERS]


def _unset(source: YamlSource) -> list[Problem]:
    """The file's unset variables, each at its value, and its key and type problems, in file order. One inside
    the value of an unknown key is that key's problem instead (``api_key: "${ANTHROPIC_API_KEY}"`` is the key
    in the wrong field, and setting the variable would not make the file good); a problem of the value an unset
    variable left empty is not listed, as setting the variable may mend it."""
    try:
        _convert(source)
        found: list[Problem] = []
    except ConfigError as exc:
        found = list(exc.problems)
    unknown = [p for p in found if p.message.startswith(_UNKNOWN_KEY)]
    listed = [next((k for k in unknown if p.path[: len(k.path)] == k.path), p) for p in source.unset]
    listed += [p for p in found if not any(p.path[: len(u.path)] == u.path for u in source.unset)]
    unique = {p.render(): p for p in listed}.values()
    return sorted(unique, key=lambda p: (p.line, p.col))


def _whole(path: Path, source: YamlSource, message: str) -> str | int | None:
    """What the value at ``path`` is read as instead, on msgspec's ``message``: a coerced reference's text,
    an integral float's integer; None when the refusal stands."""
    text = source.coerced.get(path)
    if text is not None and _WANTS_TEXT.fullmatch(message):
        return text
    value = _get(source.data, list(path))
    if isinstance(value, float) and value.is_integer() and _WANTS_INT.fullmatch(message):
        return int(value)
    return None


def _referenced_tags(source: YamlSource) -> list[Problem]:
    """A variant's ``kind`` (a backend's, a transform's) written as ``${...}``: the JSON Schema and editors
    pick the variant's fields by its literal name, so the loader takes only that too."""
    problems = []
    for path in source.references:
        if not path or not isinstance(path[-1], str):
            continue
        found = _info_at(path[:-1], source.data)
        info = found[0] if found is not None else None
        members = info.types if isinstance(info, mi.UnionType) else (info,)
        tags = [t.tag for t in members if isinstance(t, mi.StructType) and t.tag_field == path[-1]]
        if tags:
            choices = ", ".join(sorted(str(t) for t in tags))
            problems.append(
                source.problem(
                    path,
                    f"`{path[-1]}` selects the variant and is written literally (one of {choices}): "
                    "a ${...} reference is not accepted here",
                )
            )
    return problems


def _replaced(data: Any, path: Path, value: Any) -> Any:
    """A copy of ``data`` with ``value`` at ``path`` (a mapping's key added when it has none)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        return {**data, head: _replaced(data[head], rest, value) if rest else value}
    copy = list(data)
    copy[head] = _replaced(data[head], rest, value)  # type: ignore[index]
    return copy


def _weights_from_rule_file(config: RoutesConfig, file: str) -> RoutesConfig:
    """``routing.learned.weights_dir`` as an absolute path, read like ``head``: from the rule file's directory
    (``~`` expanded), so the gateway finds the same weights whatever directory it was started from. An empty
    value (``${TIERGATE_WEIGHTS:-}`` with the variable unset) is no directory: the default places are searched."""
    learned = config.routing.learned
    if learned is None or learned.weights_dir is None:
        return config
    where = str(learned_weights_path(file, learned.weights_dir)) if learned.weights_dir.strip() else None
    routing = msgspec.structs.replace(config.routing, learned=msgspec.structs.replace(learned, weights_dir=where))
    return msgspec.structs.replace(config, routing=routing)


def _version(text: str, config: RoutesConfig, file: str) -> str:
    """The rules' version: the file's text and the learned head it names, so a new head with the same cut-offs
    (``tiergate train --write``, or a head file replaced by hand) is a new version that a reload installs."""
    digest = hashlib.sha256(text.encode())
    if config.routing.learned is not None:
        head = FsPath(file).resolve().parent / config.routing.learned.head
        with contextlib.suppress(OSError):  # a missing head is a warning (config.semantic), not a version
            digest.update(b"\0head\0" + head.read_bytes())
    return digest.hexdigest()[:12]


#: msgspec's "message - at `$.path`", or "message - at `key` in `$.path`" for a mapping key of the wrong type.
_AT = re.compile(r"^(?P<msg>.*?)(?: - at (?P<key>`key` in )?`(?P<path>\$[^`]*)`)?$", re.S)
_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\[(\.\.\.)\]")
#: msgspec writes a mapping key as ``[...]``; the loader finds the real key afterwards.
ANY_KEY = "[...]"
STR_TAG = "tag:yaml.org,2002:str"
MERGE_TAG = "tag:yaml.org,2002:merge"
_READS = {"int": "a number", "float": "a number", "bool": "a boolean", "null": "null"}


def parse_path(text: str) -> Path:
    parts: list[str | int] = []
    for m in _PART.finditer(text[1:]):
        if m.group(1) is not None:
            parts.append(m.group(1))
        elif m.group(2) is not None:
            parts.append(int(m.group(2)))
        else:
            parts.append(ANY_KEY)
    return tuple(parts)


def _resolve_keys(path: Path, data: Any, error: str) -> Path:
    """Replace each ``[...]`` with the mapping key whose entry alone reproduces ``error``.

    msgspec stops at the first bad entry, so exactly one key of the mapping gives the same error.
    """
    resolved = list(path)
    for i, part in enumerate(resolved):
        if part != ANY_KEY:
            continue
        mapping = _get(data, resolved[:i])
        if not isinstance(mapping, dict):
            break
        for key in mapping:
            try:
                msgspec.convert(_narrowed(data, resolved[:i], key), RoutesConfig)
            except msgspec.ValidationError as exc:
                if str(exc) == error:
                    resolved[i] = key
                    break
    return tuple(resolved)


def _get(data: Any, path: list[str | int]) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _narrowed(data: Any, path: list[str | int], key: str) -> Any:
    """A copy of ``data`` where the mapping at ``path`` holds only ``key``."""
    return _replaced(data, tuple(path), {key: _get(data, path)[key]})


def _problem_from_validation(message: str, path: Path, key: bool, source: YamlSource) -> Problem:
    """msgspec's refusal (``message`` at ``path`` of the file, about a mapping key if ``key``) as a problem."""
    if key:
        return _key_problem(message, path, source)
    unknown = _UNKNOWN.fullmatch(message)
    if unknown:
        name = unknown.group(1)
        fields = _fields_at(path, source.data)
        return source.problem(
            (*path, name), f"{_UNKNOWN_KEY}{name}' at {_where(path)}{did_you_mean(name, fields)}", key=True
        )
    if message == _NOT_A_NAME and path:
        return source.problem(path, _env_name_problem(path, source.data))
    missing = _MISSING.fullmatch(message)
    if missing:
        return source.problem(path, f"missing required key '{missing.group(1)}' at {_where(path)}")
    invalid = re.match(r"Invalid value '(.+)'", message)
    if invalid and path:
        tags = _tags_at(path[:-1], source.data)
        if tags:
            hint = did_you_mean(invalid.group(1), tags)
            return source.problem(
                path, f"unknown {path[-1]} '{invalid.group(1)}' (one of {', '.join(sorted(tags))}){hint}"
            )
    enum = re.match(r"Invalid enum value (.+)", message)
    if enum and (written := source.whole_reference(path)) and path in source.defaulted:
        said = f"Invalid enum value '{source.defaulted[path]}' (the default of {written}, its variable unset or empty)"
        return source.problem(path, f"{said} at {_where(path)}{_choices('', path, source.data)}")
    if enum and (written := source.whole_reference(path)):  # the value may be a secret in the wrong variable
        said = f"Invalid enum value (what {written} expands to, from the environment; not shown)"
        return source.problem(path, f"{said} at {_where(path)}{_choices('', path, source.data)}")
    if enum:
        return source.problem(path, f"{message} at {_where(path)}{_choices(enum.group(1), path, source.data)}")
    if message == "Expected `array` of length >= 1":
        return source.problem(path, f"{_where(path)} is an empty list: it needs at least one item")
    if message.startswith("Expected `str` matching regex '\\\\S'"):
        return source.problem(path, f"{_where(path)} is blank: a keyword needs at least one character besides spaces")
    if _WANTS_INT.fullmatch(message) and isinstance(value := _get(source.data, list(path)), float):
        return source.problem(path, f"{message} at {_where(path)} ({value:g} is not a whole number)")
    if message.endswith("got `str`") and path in source.not_finite:
        return source.problem(path, f"must be a finite number, got {source.not_finite[path]}")
    if message.endswith("got `str`") and source.quoted_reference(path) and source.in_flow(path):
        message += f" ({FLOW_REFERENCE})"
    elif message.endswith("got `str`") and source.quoted_reference(path):
        message += " (a quoted ${...} stays text: write it without quotes to read a number or a switch)"
    elif message.endswith("got `str`") and (written := source.whole_reference(path)) and path in source.defaulted:
        message += f" ('{source.defaulted[path]}': the default of {written}, its variable unset or empty)"
    elif message.endswith("got `str`") and (written := source.whole_reference(path)):
        message += f" (what {written} expands to, from the environment; not shown)"
    elif message.endswith("got `str`") and _YAML11.fullmatch(value := str(_get(source.data, list(path)))):
        message += (
            f" ('{value}' is text: routes.yaml is read as YAML 1.2, where a number is written as in JSON and a "
            "switch is true or false)"
        )
    return source.problem(path, f"{message} at {_where(path)}")


#: msgspec's refusal of a ``*_env`` field that holds no variable's name (tiergate.config.base.EnvName).
_NOT_A_NAME = f"Expected `str` matching regex '^{ENV_NAME.pattern}$'"
#: A variable to name as the example, by field.
_EXAMPLE_NAMES = {"admin_key_env": DEFAULT_ADMIN_KEY_ENV, "keys_env": "TIERGATE_KEYS"}


def _env_name_problem(path: Path, data: Any) -> str:
    """Why a ``*_env`` value is refused, without the value: it is most likely the key itself."""
    field = next(part for part in reversed(path) if isinstance(part, str))
    backend = _get(data, list(path[:-1]))
    kind = backend.get("kind") if isinstance(backend, dict) else None
    config = next((k for k in BACKEND_KINDS if k.__struct_config__.tag == kind), BackendConfigBase)
    example = _EXAMPLE_NAMES.get(field, config.key_env_example)
    return (
        f"{field} names an environment variable (letters, digits, _); this value is not a name (not shown: "
        f"it may be a key) — write the variable's name, e.g. {example}, not its value or ${{{example}}}"
    )


def _choices(given: str, path: Path, data: Any) -> str:
    """`` (one of a, b, c); did you mean 'b'?`` for a value outside a fixed set of choices."""
    found = _info_at(path, data)
    info = found[0] if found is not None else None
    if isinstance(info, mi.UnionType):
        info = next((t for t in info.types if isinstance(t, mi.LiteralType)), None)
    if not isinstance(info, mi.LiteralType):
        return ""
    values = [str(v) for v in info.values]
    if len(values) == 1:
        return f" (the only value is {values[0]})"
    hint = did_you_mean(given[1:-1], values) if given.startswith("'") and given.endswith("'") else ""
    return f" (one of {', '.join(values)}){hint}"


def _key_problem(message: str, path: Path, source: YamlSource) -> Problem:
    """A mapping key of the wrong type (``1: [sonnet]`` under ``fallbacks``), at the key itself."""
    parent = source._node(path)
    line, col = source.locate(path)
    written = ""
    if isinstance(parent, yaml.MappingNode):
        for key, _ in parent.value:
            if isinstance(key, yaml.ScalarNode) and key.tag in (STR_TAG, MERGE_TAG):
                continue
            line, col = key.start_mark.line + 1, key.start_mark.column + 1
            if isinstance(key, yaml.ScalarNode):
                reads = _READS.get(key.tag.rsplit(":", 1)[-1], key.tag)
                written = f": {key.value} reads as {reads}; quote it ('{key.value}') to make it a string"
            break
    if message.startswith("Expected `str`"):
        where = "the top level" if not path else _where(path).removeprefix("$.")
        text = f"keys under {where} must be strings{written}"
    else:
        text = f"{message} for a key at {_where(path)}"
    return Problem(path, source.scrub(text), file=source.file, line=line, col=col)


def _where(path: Path) -> str:
    from tiergate.config.problems import render_path

    return render_path(path)


def _descend(info: Any, part: str | int, data: Any) -> Any:
    if isinstance(info, mi.UnionType):
        structs = [t for t in info.types if isinstance(t, mi.StructType)]
        if len(structs) > 1 and isinstance(data, dict):
            for t in structs:
                if t.tag is not None and data.get(t.tag_field) == t.tag:
                    info = t
                    break
            else:
                return None
        else:
            candidates = [t for t in info.types if not isinstance(t, mi.NoneType)]
            info = (
                candidates[0]
                if len(candidates) == 1
                else next((t for t in candidates if isinstance(t, (mi.StructType, mi.ListType, mi.DictType))), None)
            )
    if isinstance(info, mi.StructType) and isinstance(part, str):
        for f in info.fields:
            if f.encode_name == part:
                return f.type
        return None
    if isinstance(info, mi.ListType) and isinstance(part, int):
        return info.item_type
    if isinstance(info, mi.DictType):
        return info.value_type
    return None


def _info_at(path: Path, data: Any) -> Any:
    info: Any = mi.type_info(RoutesConfig)
    for part in path:
        info = _descend(info, part, data)
        if info is None:
            return None
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            data = None
    return info, data


def _fields_at(path: Path, data: Any) -> list[str]:
    found = _info_at(path, data)
    if found is None:
        return []
    info, here = found
    if isinstance(info, mi.UnionType):
        info = _descend(info, "", here) if isinstance(here, dict) else None
        if info is None:
            found_structs = [t for t in found[0].types if isinstance(t, mi.StructType)]
            info = next((t for t in found_structs if here and here.get(t.tag_field) == t.tag), None)
    if isinstance(info, mi.StructType):
        return [f.encode_name for f in info.fields]
    return []


def _tags_at(path: Path, data: Any) -> list[str]:
    found = _info_at(path, data)
    if found is None:
        return []
    info, _ = found
    if isinstance(info, mi.UnionType):
        return [str(t.tag) for t in info.types if isinstance(t, mi.StructType) and t.tag is not None]
    return []
