"""Problems found in a rule file, and the error that carries them.

A Problem names a path inside the file (``("tiers", "local", "targets", 0, "backend")``); the loader
fills in the line and column from the YAML it parsed, so every message reads ``file:line:col: ...``.

    raise ConfigError([Problem(("fallbacks", "local"), "unknown tier 'sonet'; did you mean 'sonnet'?")])
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from tiergate.errors import OperatorError

PathPart = str | int
Path = tuple[PathPart, ...]


@dataclass(frozen=True)
class Problem:
    path: Path
    message: str
    severity: str = "error"
    file: str = "<routes>"
    line: int = 0
    col: int = 0

    def render(self) -> str:
        """``file:line:col: message``; ``file: message`` for a problem of the whole file (line 0: it cannot
        be read, say), which has no place in it to point at."""
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        where = f"{self.file}:{self.line}:{self.col}" if self.line else self.file
        return f"{where}: {prefix}{self.message}"

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "path": render_path(self.path),
            "severity": self.severity,
            "message": self.message,
        }


@dataclass
class ConfigError(OperatorError):
    """A rule file that cannot be served. ``problems`` holds at least one error."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(p.render() for p in self.problems)


def render_path(path: Path) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`` ; did you mean 'x'?`` or an empty string; appended to an "unknown ..." message. A choice that
    differs only in case comes first (``band: claude`` for ``CLAUDE``: difflib alone sees no likeness)."""
    close = closest(name, choices)
    return f"; did you mean '{close}'?" if close is not None else ""


def closest(name: str, choices: Iterable[str]) -> str | None:
    """The choice :func:`did_you_mean` suggests for ``name``, or None."""
    options = list(choices)
    same = [c for c in options if c.lower() == name.lower() and c != name]
    close = same or difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return close[0] if close else None
